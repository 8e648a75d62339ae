// SPDX-License-Identifier: MIT
/*
 * clock.c - the datapath's clock (clock.h), and lwIP's: lwIP runs NO_SYS
 * and asks sys_now() for the time its timers are measured in.
 */
#include "clock.h"

#include <time.h>

#include "lwip/sys.h"

/* lwIP NO_SYS: our clock. */
u32_t sys_now(void)
{
	return (u32_t)now_ms();
}

uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

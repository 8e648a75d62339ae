/* SPDX-License-Identifier: MIT */
/*
 * clock.h - the datapath's clock: monotonic milliseconds, for every
 * deadline (flows, the resolver, reassembly) and for lwIP (sys_now()).
 */
#ifndef ISLO_CLOCK_H
#define ISLO_CLOCK_H

#include <stdint.h>

uint64_t now_ms(void);

#endif

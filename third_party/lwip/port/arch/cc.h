/* SPDX-License-Identifier: MIT */
/* arch/cc.h - lwIP's compiler/platform glue for Linux + gcc/clang. */
#ifndef ISLO_ARCH_CC_H
#define ISLO_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>
#include <errno.h>
#include <sys/time.h>

#define LWIP_ERRNO_INCLUDE <errno.h>
#define LWIP_ERRNO_STDINCLUDE 1
#define LWIP_TIMEVAL_PRIVATE 0
#define LWIP_RAND() ((u32_t)random())

#define LWIP_PLATFORM_DIAG(x) do { printf x; } while (0)
/* An lwIP assertion is a bug in lwIP or in how we drive it: stop loudly. */
#define LWIP_PLATFORM_ASSERT(x) do { \
	fprintf(stderr, "islo-net: lwIP assertion \"%s\" failed at %s:%d\n", \
		x, __FILE__, __LINE__); \
	abort(); \
} while (0)

#endif

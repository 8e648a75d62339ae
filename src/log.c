// SPDX-License-Identifier: MIT
/* log.c - operator diagnostics on stderr (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ratelimit.h"

int log_verbosity = LOG_WARN;

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "islo-net: %s%s\n", prefix, buf);
}

void logmsg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap;

	if ((int)lvl > log_verbosity)
		return;
	va_start(ap, fmt);
	vlog(prefix[lvl], fmt, ap);
	va_end(ap);
}

void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("error: ", fmt, ap);
	va_end(ap);
	exit(125);
}

void log_sandbox(const char *fmt, ...)
{
	static struct ratelimit rl;
	va_list ap;

	if (!ratelimit_ok(&rl, (uint64_t)time(NULL) * 1000, 5) ||
	    log_verbosity < LOG_INFO)
		return;
	va_start(ap, fmt);
	vlog("sandbox: ", fmt, ap);
	va_end(ap);
}

char *log_escape(const char *in, size_t len, char *out, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0, i;

	if (size < 8) {
		if (size)
			out[0] = '\0';
		return out;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		size_t need = (c >= 0x20 && c < 0x7f && c != '\\') ? 1 : 4;

		if (o + need + 4 > size) {
			if (size >= 4) {
				o = o + 3 < size ? o : size - 4;
				out[o++] = '.'; out[o++] = '.'; out[o++] = '.';
			}
			break;
		}
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\'; out[o++] = 'x';
			out[o++] = hex[c >> 4]; out[o++] = hex[c & 15];
		}
	}
	out[o < size ? o : size - 1] = '\0';
	return out;
}

/* SPDX-License-Identifier: MIT */
/*
 * unit.h - a tiny unit-test harness.
 *
 * TEST(name) { ... } registers a test at load time; CHECK(cond) records a
 * failure (with file:line) and carries on; REQUIRE(cond) stops the test.
 * The runner (tests/unit/main.c) runs all tests, or one with --run NAME, and
 * lists them with --list so pytest can report each as its own case.
 */
#ifndef ISLO_UNIT_H
#define ISLO_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

void unit_register(struct unit_test *t);
extern int unit_failures;

#define TEST(n)                                                            \
	static void test_##n(void);                                        \
	static struct unit_test unit_##n = { #n, test_##n, NULL };         \
	__attribute__((constructor)) static void reg_##n(void)             \
	{                                                                  \
		unit_register(&unit_##n);                                  \
	}                                                                  \
	static void test_##n(void)

#define CHECK(c)                                                           \
	do {                                                               \
		if (!(c)) {                                                \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",       \
				__FILE__, __LINE__, #c);                   \
			unit_failures++;                                   \
		}                                                          \
	} while (0)

#define REQUIRE(c)                                                         \
	do {                                                               \
		if (!(c)) {                                                \
			fprintf(stderr, "%s:%d: REQUIRE failed: %s\n",     \
				__FILE__, __LINE__, #c);                   \
			unit_failures++;                                   \
			return;                                            \
		}                                                          \
	} while (0)

#define CHECK_STR(a, b)                                                    \
	do {                                                               \
		const char *a_ = (a), *b_ = (b);                           \
		if (!a_ || !b_ || strcmp(a_, b_)) {                        \
			fprintf(stderr, "%s:%d: \"%s\" != \"%s\"\n",       \
				__FILE__, __LINE__, a_ ? a_ : "(null)",    \
				b_ ? b_ : "(null)");                       \
			unit_failures++;                                   \
		}                                                          \
	} while (0)

#endif

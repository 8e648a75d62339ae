// SPDX-License-Identifier: MIT
/* main.c - unit-test runner: all tests, --list, or --run NAME. */
#include "unit.h"

#include <stdlib.h>

static struct unit_test *head, **tail = &head;
int unit_failures;

void unit_register(struct unit_test *t)
{
	*tail = t;
	tail = &t->next;
}

static int run_one(struct unit_test *t)
{
	int before = unit_failures;

	t->fn();
	printf("%s %s\n", unit_failures == before ? "PASS" : "FAIL", t->name);
	return unit_failures == before;
}

int main(int argc, char **argv)
{
	struct unit_test *t;
	int pass = 0, fail = 0;

	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (t = head; t; t = t->next)
			printf("%s\n", t->name);
		return 0;
	}
	for (t = head; t; t = t->next) {
		if (argc == 3 && !strcmp(argv[1], "--run") && strcmp(argv[2], t->name))
			continue;
		if (run_one(t))
			pass++;
		else
			fail++;
	}
	if (argc == 3 && pass + fail == 0) {
		fprintf(stderr, "no such test: %s\n", argv[2]);
		return 2;
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

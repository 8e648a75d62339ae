// SPDX-License-Identifier: MIT
/*
 * outcome.c - the outcomes' names (outcome.h), as the audit log and the
 * metrics write them.
 */
#include "outcome.h"

const char *act_name(int act)
{
	static const char *const names[ACT_N] = { "allow", "deny", "intercept",
						  "error" };

	return act >= 0 && act < ACT_N ? names[act] : "?";
}

// SPDX-License-Identifier: GPL-2.0-only
/* `crux check`: the kernel features crux relies on (kfeat.h), one line each. */
#define LOG_PREFIX "check: "
#include <argp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "cmd.h"
#include "kfeat.h"
#include "log.h"
#include "util.h"

static const char check_doc[] =
	"Print each kernel feature crux relies on and whether this kernel has it.\v"
	"Exit status 0 when every required feature is present, 1 otherwise. Optional "
	"features have a fallback.\n\n"
	"EXAMPLES:\n"
	"  crux check              the feature table\n"
	"  crux check -q && crux track -d\n";

static error_t check_parse(int key, char *arg, struct argp_state *state)
{
	bool *quiet = state->input;

	switch (key) {
	case 'q':
		*quiet = true;
		break;
	case ARGP_KEY_ARG:
		pr_err("unexpected argument '%s'", arg);
		argp_usage(state);
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int cmd_check(int argc, char **argv)
{
	static const struct argp_option options[] = {
		{ "quiet", 'q', NULL, 0, "Print nothing; only the exit status", 0 },
		{},
	};
	const struct argp argp = { options, check_parse, NULL, check_doc, NULL, NULL, NULL };
	const struct kfeat *k;
	bool quiet = false;
	size_t i;

	if (argp_parse(&argp, argc, argv, 0, NULL, &quiet))
		return EXIT_USAGE;
	k = kfeat_get();
	for (i = 0; i < kfeat_nr_rows && !quiet; i++)
		printf("%-17s %-8s %s\n", kfeat_rows[i].name,
		       kfeat_has(k, &kfeat_rows[i]) ? "yes" :
		       kfeat_rows[i].required	    ? "MISSING" :
						      "no",
		       kfeat_rows[i].what);
	if (!kfeat_required_ok(k)) {
		if (!quiet)
			pr_err("a required kernel feature is missing: crux track and crux dump "
			       "cannot work here");
		return 1;
	}
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/* `crux`: dispatch to the subcommand; each one parses its own options. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "track", cmd_track,
	  "keep the live unix socket map (BPF), pinned under /sys/fs/bpf/crux" },
	{ "dump", cmd_dump, "checkpoint a process tree into an image directory" },
	{ "pre-dump", cmd_pre_dump, "copy a running tree's memory ahead of a dump (incremental)" },
	{ "restore", cmd_restore, "restore a process tree from an image directory" },
	{ "check", cmd_check, "report the kernel features crux relies on" },
	{ "show", cmd_show, "print a human summary of an image directory" },
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "Usage: crux COMMAND [OPTION...]\n\n"
		     "Checkpoint/restore of Linux process trees, with a live BPF map of unix "
		     "sockets.\n\nCommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\n'crux COMMAND --help' describes each command's options.\n"
		     "\nEXAMPLES:\n"
		     "  crux track -d                      start the tracker in the background\n"
		     "  crux dump -t 1234 -D /tmp/img      checkpoint pid 1234 and its children\n"
		     "  crux restore -D /tmp/img           bring them back\n");
}

int main(int argc, char **argv)
{
	static char prog[32];
	size_t i;

	log_init("crux");
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("crux 0.1\n");
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name))
			continue;
		/* argp names the program after argv[0]: "Usage: crux dump", not "dump" */
		snprintf(prog, sizeof(prog), "crux %s", commands[i].name);
		argv[1] = prog;
		return commands[i].fn(argc - 1, argv + 1);
	}
	pr_err("unknown command '%s' (try 'crux --help')", argv[1]);
	return EXIT_USAGE;
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Subcommands of `crux`. Each parses its own options (argp) and returns the process exit
 * status: 0 success, 1 operation failed, 64 usage.
 */
#ifndef CRUX_CMD_H
#define CRUX_CMD_H

#define EXIT_USAGE 64

int cmd_track(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_pre_dump(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_show(int argc, char **argv);

#endif /* CRUX_CMD_H */

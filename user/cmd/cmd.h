/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Subcommands of `crux`. Each parses its own options (argp) and returns the process exit
 * status: 0 success, 1 operation failed, 64 usage.
 */
#ifndef CRUX_CMD_H
#define CRUX_CMD_H

#include <stdbool.h>

#define EXIT_USAGE 64

int cmd_track(int argc, char **argv);
int cmd_dump(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_show(int argc, char **argv);

struct outfmt;
struct FileEntry;
/* show_evloop.c: print an event-loop kind's file entry; false if f is not one. */
bool show_evloop_file(struct outfmt *o, const struct FileEntry *f);

#endif /* CRUX_CMD_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unix socket kind is three files, because together they would pass 1000 lines:
 * unix.c (the dump half and the kind's entry in fd_kinds[]), unix_restore.c (the restore
 * half) and unix_show.c (its part of `crux show`). Only these files include this header.
 */
#ifndef CRUX_FD_UNIX_H
#define CRUX_FD_UNIX_H

#include "fd.h"

struct rst_set;
struct fd_show;
struct FileEntry;

extern const struct fd_kind fd_unix;

int unix_load(struct rst_set *set);
void unix_validate(struct rst_set *set);
int unix_create(struct rst_set *set);
void unix_abort(struct rst_set *set);
void unix_release(struct rst_set *set);
int unix_show(struct fd_show *s, enum fd_show_step step, const struct FileEntry *f);

#endif /* CRUX_FD_UNIX_H */

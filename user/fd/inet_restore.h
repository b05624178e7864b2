/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The fd kinds fd_inet (inet.c, inet_restore.c, inet_show.c) and fd_netlink (netlink.c):
 * the restore half of IPv4/IPv6 sockets, and their `crux show` hook.
 */
#ifndef CRUX_INET_RESTORE_H
#define CRUX_INET_RESTORE_H

#include "fd.h"

struct rst_set;

extern const struct fd_kind fd_inet, fd_netlink;

int rst_inet_load(struct rst_set *set);
void rst_inet_validate(struct rst_set *set);
int rst_inet_create(struct rst_set *set);
/* Every task rebuilt: remove the network lock of external connections. */
int rst_inet_finish(struct rst_set *set);
void rst_inet_free(struct rst_set *set);
/* `crux show`: a socket's addresses and state */
int inet_show(struct fd_show *s, enum fd_show_step step, const struct FileEntry *f);

#endif /* CRUX_INET_RESTORE_H */

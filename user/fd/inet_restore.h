/* SPDX-License-Identifier: GPL-2.0-only */
/* The restore half of IPv4/IPv6 sockets (inet_restore.c) and of netlink sockets. */
#ifndef CRUX_INET_RESTORE_H
#define CRUX_INET_RESTORE_H

struct rst_set;

int rst_inet_load(struct rst_set *set);
void rst_inet_validate(struct rst_set *set);
int rst_inet_create(struct rst_set *set);
/* Every task rebuilt: remove the network lock of external connections. */
void rst_inet_finish(struct rst_set *set);
void rst_inet_free(struct rst_set *set);

int rst_netlink_create(struct rst_set *set);

#endif /* CRUX_INET_RESTORE_H */

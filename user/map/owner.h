/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The owner a record shows, made true at read time. The map records who created, connected
 * or accepted a socket (or first held it), and its comm then; after a fork the owner may
 * close its copy while a child keeps it, and a process may rename itself. Before a record
 * is shown its owner is checked to still hold the socket (the pid-filtered tree iterator:
 * one pass per owner, cached), its comm read now; an owner that no longer holds it is
 * replaced by a process that does, or by 0 (unknown) when none is found.
 */
#ifndef CRUX_OWNER_H
#define CRUX_OWNER_H

#include <stdbool.h>

#include "abi.h"

struct owner_cache;
struct treeiter;

/* ti may be NULL (no iterator: /proc is read instead). */
struct owner_cache *owner_cache__new(struct treeiter *ti);
void owner_cache__free(struct owner_cache *c);

/*
 * Make s->owner_tgid and s->owner_comm current. resolve: look for another holder when the
 * recorded one let go (a walk of every /proc/PID/fd, at most OWNER_RESOLVE_MAX per cache);
 * otherwise the owner becomes 0 (unknown).
 */
void owner_fix(struct owner_cache *c, struct crux_sock *s, bool resolve);

#endif /* CRUX_OWNER_H */

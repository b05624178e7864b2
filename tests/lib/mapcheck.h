/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Comparing the live map with the kernel's own view (sock_diag): pure logic over a
 * sock_diag table and an array of map records, so the comparison itself is unit-tested.
 * Compared per socket: type, state, effective peer, bound name.
 *
 * Effective peer, the same vocabulary on both sides:
 *   NONE    no peer pointer            kernel: no UNIX_DIAG_PEER   map: peer_ino 0, no flags
 *   LIVE    a live peer socket, ino    kernel: UNIX_DIAG_PEER ino  map: peer_ino whose record
 *                                                                   still has sk == peer_sk
 *   EMBRYO  queued on listener, ino    kernel: our inode among the map: CRUX_SK_EMBRYO +
 *                                              listener's icons         listener_ino (which
 *                                                                   has a record)
 *   DEAD    peer released              kernel: UNIX_DIAG_PEER 0    map: CRUX_SK_DEAD, a
 *                                                                   peer_ino with no record,
 *                                                                   or an embryo whose
 *                                                                   listener has none
 */
#ifndef CRUX_MAPCHECK_H
#define CRUX_MAPCHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "abi.h"
#include "sockdiag.h"

enum mapcheck_peer_kind {
	MC_PEER_NONE,
	MC_PEER_LIVE,
	MC_PEER_EMBRYO,
	MC_PEER_DEAD,
};

struct mapcheck_peer {
	enum mapcheck_peer_kind kind;
	__u64 ino; /* LIVE: the peer; EMBRYO: the listener */
};

struct mapcheck_result {
	unsigned kernel; /* sockets in scope the kernel has */
	unsigned map; /* sockets in scope the map has */
	unsigned agree; /* in both, every field equal */
	unsigned missing; /* kernel only */
	unsigned stale; /* map only */
	unsigned wrong; /* in both, some field differs */
};

static inline unsigned mapcheck_disagreements(const struct mapcheck_result *r)
{
	return r->missing + r->stale + r->wrong;
}

void mapcheck_kernel_peer(const struct sockdiag_table *t, const struct sockdiag_unix *s,
			  struct mapcheck_peer *ret);
/* recs must be sorted by mapcheck_sort() */
void mapcheck_map_peer(const struct crux_sock *recs, size_t n, const struct crux_sock *r,
		       struct mapcheck_peer *ret);
/*
 * Records read exactly from the kernel at call time (the dumper's tree iterator), not from
 * the live map: peer_ino and CRUX_SK_EMBRYO are taken as they are, nothing is resolved
 * against other records (the peer may belong to another process). Default: off.
 */
void mapcheck_set_exact_records(bool exact);
void mapcheck_sort(struct crux_sock *recs, size_t n);
const struct crux_sock *mapcheck_find(const struct crux_sock *recs, size_t n, __u64 ino);

/*
 * Compare. Scope: the inodes inos[0..ninos) (closed ones included: they must be gone from
 * both), or, with inos NULL, every socket of the table's netns (kernel side) and every
 * record whose netns_cookie is the table's (map side). recs is sorted in place. Each
 * disagreement is printed as a TAP diagnostic starting with label (at most `verbose` of
 * them; the rest are only counted). Returns the number of disagreements.
 */
unsigned mapcheck_compare(const struct sockdiag_table *t, struct crux_sock *recs, size_t n,
			  const __u64 *inos, size_t ninos, const char *label, unsigned verbose,
			  struct mapcheck_result *ret);

#endif /* CRUX_MAPCHECK_H */

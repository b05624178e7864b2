/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Reading the live unix socket map: what the rest of crux (crux-map, dump) uses.
 * A library-style module: it logs at debug level at most; callers report failures.
 *
 * Two sources behind one handle:
 *  - live: the maps `crux track` pinned under a pin dir (default CRUX_PIN_ROOT);
 *  - snapshot: without a tracker, a one-shot kernel snapshot (the seed iterators loaded
 *    privately into an unpinned map). sockmap__is_live() tells which; callers say so.
 */
#ifndef CRUX_SOCKMAP_H
#define CRUX_SOCKMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "abi.h"

struct sockmap;

/*
 * Open the pinned state under pin_dir (NULL: CRUX_PIN_ROOT).
 * -ENOENT: no tracker state there; -EPROTO: pinned by a crux of another ABI version
 * (*ret_abi_version, if non-NULL, gets the pinned version); -ENODEV: bpffs not mounted.
 */
int sockmap__open(const char *pin_dir, struct sockmap **ret, __u32 *ret_abi_version);
/* A one-shot snapshot of every unix socket on the host (all netns with a process in them). */
int sockmap__snapshot(struct sockmap **ret);
/* sockmap__open(), else sockmap__snapshot() when there is no pinned state (-ENOENT). */
int sockmap__open_any(const char *pin_dir, struct sockmap **ret);
void sockmap__close(struct sockmap *m);
bool sockmap__is_live(const struct sockmap *m);

/* -ENOENT if the inode is not in the map. */
int sockmap__lookup(struct sockmap *m, __u64 ino, struct crux_sock *ret);
/* The connect() address recorded for ino: -ENOENT if none. */
int sockmap__lookup_conn(struct sockmap *m, __u64 ino, struct crux_conn *ret);
/* Every record (batch lookups, never get_next_key under writers). *ret is malloc'ed. */
int sockmap__list(struct sockmap *m, struct crux_sock **ret, size_t *ret_n);
/*
 * The reverse direction: records whose peer_ino (or, for embryos, listener_ino) is one of
 * inos[0..n) and whose own inode is not: outside clients of inside servers and outside
 * connections queued on inside listeners. *ret is malloc'ed.
 */
int sockmap__list_inbound(struct sockmap *m, const __u64 *inos, size_t n, struct crux_sock **ret,
			  size_t *ret_n);
/*
 * The owner of socket ino as the map knows it (creator, connector, acceptor or first
 * holder): *ret_tgid and, if ret_comm is non-NULL, its NUL-terminated comm
 * (CRUX_COMM_LEN bytes). -ENOENT if the inode is not in the map, -ESRCH if no owner is
 * known (a socket seen only by the per-netns pass, e.g. in flight).
 */
int sockmap__owner(struct sockmap *m, __u64 ino, __u32 *ret_tgid, char *ret_comm);
/* stats[CRUX_ST__MAX], see enum crux_stat. */
int sockmap__stats(struct sockmap *m, __u64 *stats);
/*
 * Look again at the sockets a drop left while other references remained (the recheck map)
 * and forget the ones that are gone: a few ms at most, run by sockmap__open and by the
 * tracker every CRUX_RECHECK_MS. -ENOENT without a tracker's recheck link.
 */
int sockmap__recheck(struct sockmap *m);
/*
 * Run a reconcile pass now (live state only: uses the pinned iterator links): every live
 * socket is refreshed, entries not refreshed are swept. strict = no generation of grace.
 */
int sockmap__reconcile(struct sockmap *m, bool strict, __u64 *ret_swept);

/*
 * true when a map write failed (map full, stats[CRUX_ST_UPSERT_FAIL] > 0): the map misses
 * sockets; callers must say so and fall back (sock_diag, the tree iterator).
 */
bool sockmap__incomplete(struct sockmap *m);

/*
 * Helpers for crux track and diagnostics. sockmap_pin_dir_check(): 0 if pin_dir exists on
 * a bpffs, -ENOENT if it does not exist but its parent is on one, -ENODEV if not on bpffs.
 */
int sockmap_pin_dir_check(const char *pin_dir);

#endif /* CRUX_SOCKMAP_H */

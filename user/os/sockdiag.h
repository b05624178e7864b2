/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * NETLINK_SOCK_DIAG queries for AF_UNIX sockets: the kernel's own view of every unix
 * socket of one network namespace (type, state, peer, bound name, VFS inode, queue
 * lengths, pending connections of listeners). The BPF tests take it as ground truth; the
 * dumper and crux-map use it as a fallback and a cross-check of the live map.
 * Library-style: logs at debug level at most, returns 0 or -errno.
 */
#ifndef CRUX_SOCKDIAG_H
#define CRUX_SOCKDIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* What to ask for: UDIAG_SHOW_* bits of <linux/unix_diag.h>. */
#define SOCKDIAG_SHOW_DEFAULT 0x0d /* NAME | PEER | ICONS */

struct sockdiag_unix {
	__u32 ino;
	__u8 type;	    /* SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET */
	__u8 state;	    /* TCP_ESTABLISHED, TCP_CLOSE, TCP_LISTEN ... */
	__u8 has_peer;	    /* the socket has a peer pointer (peer_ino 0: embryo or released) */
	__u8 has_vfs;	    /* bound to a filesystem path: vfs_ino/vfs_dev are valid */
	__u32 peer_ino;
	__u32 vfs_ino;
	__u32 vfs_dev;
	__u32 rqlen;	    /* listener: pending connections; others: bytes of the first skb */
	__u32 wqlen;	    /* listener: backlog; others: bytes queued for sending */
	__u32 n_icons;	    /* listener: connections waiting in accept() */
	__u32 *icons;	    /* the inodes of their clients (malloc'ed, n_icons entries) */
	__u16 name_len;	    /* bytes of name; abstract names start with NUL; 0: unbound */
	__u8 shutdown;	    /* RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2 */
	__u8 has_rqlen;
	char name[108];
};

/* One dump, sorted by inode. */
struct sockdiag_table {
	struct sockdiag_unix *socks;
	size_t n;
	__u64 netns_cookie; /* SO_NETNS_COOKIE of the namespace dumped, 0 if unknown */
};

/*
 * Dump every unix socket of a network namespace: netns_fd (an open /proc/PID/ns/net) or -1
 * for the caller's own. show is a UDIAG_SHOW_* mask; *ret is freed with sockdiag_table__free.
 */
int sockdiag_dump_unix(int netns_fd, __u32 show, struct sockdiag_table **ret);
void sockdiag_table__free(struct sockdiag_table *t);
/* Binary search by inode; NULL when the table has no such socket. */
const struct sockdiag_unix *sockdiag_table_find(const struct sockdiag_table *t, __u32 ino);
/*
 * The listener a not-yet-accepted client is queued on (the client's inode is among a
 * listener's icons): the listener's inode, or 0. Needs UDIAG_SHOW_ICONS in the dump.
 */
__u32 sockdiag_table_embryo_listener(const struct sockdiag_table *t, __u32 client_ino);

/*
 * Ask for one socket of the caller's namespace by inode. -ENOENT if the kernel has none.
 * ret->icons is malloc'ed: release with sockdiag_unix_clear().
 */
int sockdiag_query_unix(__u32 ino, __u32 show, struct sockdiag_unix *ret);
void sockdiag_unix_clear(struct sockdiag_unix *s);

#endif /* CRUX_SOCKDIAG_H */

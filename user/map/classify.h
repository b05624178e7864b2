/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Classification of a process tree's unix sockets: internal, external, unconnected,
 * listening, peer-dead, and the outside sockets that point into the tree (inbound).
 * The one place where the external-socket rule lives (DESIGN.md "The rule it enforces"):
 * `crux dump` and `crux-map external` both call classify_tree(), so they reach the same
 * verdict. Pure logic: no syscalls, no logging; the caller supplies the sockets and a
 * lookup for outside records (the live map, or whatever stands in for it).
 */
#ifndef CRUX_CLASSIFY_H
#define CRUX_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>

#include "abi.h"

enum classify_class {
	CLASSIFY_INTERNAL = 0, /* peer (or the listener an embryo waits on) is in the tree */
	CLASSIFY_EXTERNAL, /* peer is held only outside the tree */
	CLASSIFY_UNCONNECTED, /* no peer: unconnected, or a datagram server */
	CLASSIFY_LISTENING, /* a listener (its queued outside clients are inbound) */
	CLASSIFY_PEER_DEAD, /* the peer was released (or the listener it waited on) */
	CLASSIFY_INBOUND, /* an outside socket whose peer/listener is in the tree */
};

enum classify_action {
	CLASSIFY_ACT_INTERNAL = 0, /* dumped and restored within the image */
	CLASSIFY_ACT_RECONNECT_DGRAM, /* restore connect()s a new dgram socket to the peer's name */
	CLASSIFY_ACT_RECONNECT_STREAM, /* restore opens a new connection to the peer's listener */
	CLASSIFY_ACT_REFUSE, /* the dump must fail */
	CLASSIFY_ACT_REPORT, /* outside socket, not dumped: a warning with its owner */
};

/*
 * One unix socket fd of the tree. sk is the tree's own record of the socket, with the
 * meaning struct crux_sock gives its fields (peer_ino/peer_sk, CRUX_SK_EMBRYO +
 * listener_ino, CRUX_SK_DEAD, name/name_len); owner_tgid/owner_comm are ignored.
 */
struct classify_sock {
	__u32 pid;
	__s32 fd;
	char comm[CRUX_COMM_LEN];
	struct crux_sock sk;
};

/* Outside records, by inode. Each returns 0 and fills *ret, or -ENOENT. */
struct classify_lookup {
	int (*sock)(void *ctx, __u64 ino, struct crux_sock *ret);
	int (*conn)(void *ctx, __u64 ino, struct crux_conn *ret); /* may be NULL */
	void *ctx;
};

struct classify_policy {
	bool ext_unix_sk; /* --ext-unix-sk given (with or without a list) */
	const __u64 *inos; /* --ext-unix-sk=INO,...: inside inodes accepted whatever their type */
	size_t n_inos;
	/*
	 * The tree's records come from the kernel (the dumper's tree iterator): a non-zero
	 * peer_ino is a live socket, so a map miss is a map fault and refused. When false
	 * (records read from the map itself, as crux-map does), a miss means the peer died
	 * after the record was written.
	 */
	bool peer_ino_is_live;
};

#define CLASSIFY_MSG_MAX 1024

struct classify_result {
	/* The socket classified: a copy of the tree socket; for INBOUND, the outside record
	 * (pid = owner_tgid, fd = -1, comm = owner_comm). */
	struct classify_sock self;
	enum classify_class cls;
	enum classify_action action;
	bool external_like; /* EXTERNAL, or the refused unknown-peer case: ext_unix_sk applies */
	bool ext_unix_sk; /* plain --ext-unix-sk accepts it */
	bool ext_unix_sk_ino; /* --ext-unix-sk=<self ino> accepts it */
	bool accepted; /* accepted under the given policy (non-external: always) */
	bool opt_ext_unix_sk; /* the policy had --ext-unix-sk */
	bool opt_listed; /* the policy listed this socket's inode */
	/* The other end: the peer, the listener an embryo waits on, or for INBOUND the inside
	 * socket it points to. has_peer false when unknown. */
	bool has_peer;
	bool peer_inside;
	struct crux_sock peer;
	__u32 peer_pid; /* tree pid holding the peer when peer_inside, else peer.owner_tgid */
	__s32 peer_fd; /* its fd when peer_inside, else -1 */
	char peer_comm[CRUX_COMM_LEN];
	/* The address restore connects to (RECONNECT_*): the connect() address recorded by
	 * the map when there is one, else the peer's bound name. Binary: (addr, addr_len). */
	__u16 addr_len;
	char addr[CRUX_CONN_PATH_MAX];
	/* Why plain --ext-unix-sk would not accept it (external), or what an INBOUND socket
	 * will meet; NULL otherwise. A static sentence without subject. */
	const char *reason;
};

struct classify_report {
	struct classify_result *res; /* the tree's sockets in input order, then INBOUND ones */
	size_t n;
	size_t n_tree; /* res[0..n_tree) are the tree's sockets */
	size_t count[CLASSIFY_INBOUND + 1];
	size_t n_refused;
	size_t n_unused_inos; /* policy inodes that matched no external socket */
	__u64 *unused_inos;
};

/*
 * Classify socks[0..n) (the tree) and inbound[0..n_inbound) (outside records whose
 * peer_ino or, for embryos, listener_ino is a tree inode; records that merely mirror a
 * tree socket's external peer are folded into that socket's result). 0 or -ENOMEM.
 */
int classify_tree(const struct classify_sock *socks, size_t n, const struct crux_sock *inbound,
		  size_t n_inbound, const struct classify_lookup *lk,
		  const struct classify_policy *pol, struct classify_report **ret);
void classify_report__free(struct classify_report *r);

/*
 * Whether an outside socket other than s's own peer can point at s: a listener (clients
 * queued on it), a datagram socket with a name (connect()/sendto() need one) or without a
 * peer. A connected stream socket or an unnamed connected datagram socket can only be
 * pointed at by its peer, which its own result covers; so an inbound query needs only
 * the sockets this accepts (the one miss: an unnamed dgram socketpair end that connected
 * elsewhere later, still the target of its old partner).
 */
bool classify_may_be_targeted(const struct crux_sock *s);

/*
 * The one-line message for a result: for a refusal the actionable text (our pid/fd/inode,
 * type, the peer's inode, name and owner, CRIU's key phrase, the option that would accept
 * it or why none would); for an accepted external the reconnect plan; for INBOUND the
 * warning. Returns the length the full text needs, like snprintf.
 */
size_t classify_format_msg(const struct classify_result *r, char *buf, size_t sz);

const char *classify_class_name(enum classify_class c);
const char *classify_action_name(enum classify_action a);
/*
 * The significant length of a unix name: the kernel counts a path name's terminating NUL
 * (and bind() callers may pass more), abstract names are taken as they are.
 */
size_t classify_name_len(const char *name, size_t len);
/* "stream", "dgram", "seqpacket", or NULL for an unknown type. */
const char *classify_type_name(__u16 type);

#endif /* CRUX_CLASSIFY_H */

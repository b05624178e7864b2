/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The record ABI shared by the BPF programs and userspace: fixed-width types only,
 * explicit padding, sizes asserted on the userspace side. Any layout change bumps
 * CRUX_ABI_VERSION; readers refuse pinned state of another version (abi_info map).
 */
#ifndef CRUX_ABI_H
#define CRUX_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define CRUX_ABI_VERSION 3

#define CRUX_SUN_PATH_MAX 108	/* sizeof(sockaddr_un.sun_path) */
#define CRUX_COMM_LEN 16	/* TASK_COMM_LEN */
#define CRUX_CONN_PATH_MAX 256	/* connect() address resolved against the cwd */
#define CRUX_MAP_MAX_SOCKS 524288

#define CRUX_PIN_ROOT "/sys/fs/bpf/crux"

/* struct crux_sock.flags */
enum crux_sock_flags {
	CRUX_SK_SEEDED = 1 << 0, /* first seen by a seed/reconcile pass, not by an event */
	CRUX_SK_EMBRYO = 1 << 1, /* peer is a not-yet-accepted connection of listener_ino */
	CRUX_SK_DEAD = 1 << 2,	 /* peer was released; peer_ino is 0 */
};

/*
 * The live map: HASH keyed by socket inode (__u64), one entry per live unix socket.
 * Inode numbers are 32-bit and recycled: sk/peer_sk (kernel addresses, identity only)
 * tell a recycled inode from the original.
 */
struct crux_sock {
	__u64 ino;
	__u64 sk;
	__u64 peer_ino;	    /* 0: no peer, embryo peer (see listener_ino) or dead peer */
	__u64 peer_sk;
	__u64 listener_ino; /* CRUX_SK_EMBRYO: the listener our peer is queued on */
	__u64 netns_cookie;
	__u32 owner_tgid;   /* creator, connector or acceptor; first holder when seeded */
	__u32 gen;	    /* reconcile generation of the last refresh */
	__u16 type;	    /* SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5 */
	__u8 state;	    /* TCP_ESTABLISHED 1, TCP_CLOSE 7, TCP_LISTEN 10 ... */
	__u8 flags;	    /* enum crux_sock_flags */
	__u16 name_len; /* bytes of name; abstract names start with NUL; path names end
			       with the NUL the kernel stores (as sock_diag reports them) */
	__u16 __pad0;
	char owner_comm[CRUX_COMM_LEN];
	char name[CRUX_SUN_PATH_MAX];
	__u32 __pad1;
};

/*
 * conn_addr map: HASH keyed by socket inode. The address a task passed to connect(),
 * made absolute against its cwd at connect time: the name a restore reconnects to even
 * if the server later renames or unlinks its file. Abstract names are kept as given.
 */
struct crux_conn {
	__u64 sk;	/* identity, as in crux_sock */
	__u16 len;	/* bytes in path */
	__u8 relative;	/* the task passed a relative path; path is cwd + "/" + it */
	__u8 truncated; /* cwd walk hit its depth/size bound: path is a best effort */
	__u32 __pad0;
	char path[CRUX_CONN_PATH_MAX];
};

/*
 * recheck map: LRU_HASH keyed by socket inode. A socket one of whose references was dropped
 * while others remained (fork, dup, SCM_RIGHTS): if the other holders drop theirs at the
 * same moment, each sees the other's reference and no event sees the release. The recheck
 * iterator (bpf/crux_iter.bpf.c iter_recheck, run by the tracker every few ms and by every
 * reader first) forgets the ones whose socket is gone, by inode: no full reconcile.
 */
struct crux_recheck {
	__u64 sk; /* identity, as in crux_sock */
	__u64 peer_ino;
};

/* stats map: ARRAY of __u64, index = enum crux_stat. */
enum crux_stat {
	CRUX_ST_GEN = 0, /* current reconcile generation */
	CRUX_ST_RECONCILE_TIME, /* CLOCK_REALTIME ns of the last completed reconcile */
	CRUX_ST_RECONCILE_SWEPT, /* stale entries removed by the last reconcile */
	CRUX_ST_UPSERTS, /* successful map writes */
	CRUX_ST_UPSERT_FAIL, /* map write failed (map full): answers are incomplete */
	CRUX_ST_FORGETS, /* entries deleted on the last release */
	CRUX_ST_SHARED_CLOSE, /* close of one of several references */
	CRUX_ST_EVENTS_LOST, /* watch ringbuf full */
	CRUX_ST_TRACKER_PID, /* pid of the running `crux track`, 0 if none */
	CRUX_ST_WATCHERS, /* > 0: event programs publish to the events ringbuf */
	CRUX_ST_RECONCILES, /* completed reconcile passes since the state was pinned */
	CRUX_ST_SEEN_FAIL, /* fd-walk sighting map full: a release left to reconcile */
	CRUX_ST_RECONCILE_NS, /* how long the last completed reconcile took, ns */
	CRUX_ST_TRACKER_START, /* CLOCK_REALTIME ns the running tracker started, 0 if none */
	CRUX_ST_RECHECKED, /* releases no event saw, found by the recheck program */
	CRUX_ST__MAX = 16,
};

/* abi_info map: ARRAY, one entry. */
struct crux_abi_info {
	__u32 version;	/* CRUX_ABI_VERSION of the loader */
	__u32 sock_size; /* sizeof(struct crux_sock) */
};

/* events ringbuf (crux-map watch) */
enum crux_event_kind {
	CRUX_EV_SOCKET = 1,
	CRUX_EV_SOCKETPAIR,
	CRUX_EV_BIND,
	CRUX_EV_LISTEN,
	CRUX_EV_CONNECT,
	CRUX_EV_ACCEPT,
	CRUX_EV_CLOSE, /* last reference released */
};

struct crux_event {
	__u64 ts_ns; /* bpf_ktime_get_ns() */
	__u64 ino;
	__u64 peer_ino;
	__u32 tgid;
	__u16 kind; /* enum crux_event_kind */
	__u16 type;
	__u16 name_len;
	__u8 state;
	__u8 __pad0[5];
	char comm[CRUX_COMM_LEN];
	char name[CRUX_SUN_PATH_MAX];
	__u32 __pad1;
};

/*
 * Tree iterator record (user/treeiter.c, bpf/crux_iter.bpf.c iter_task_file_tree): one per
 * unix-socket fd of the filtered process, read exactly from the kernel at dump time.
 */
struct crux_fd_rec {
	__u64 ino;
	__u64 sk;
	__u64 peer_ino; /* 0: none, embryo (listener_ino) or dead (CRUX_SK_DEAD) */
	__u64 peer_sk;
	__u64 listener_ino; /* CRUX_SK_EMBRYO: the listener our peer is queued on */
	__u64 netns_cookie;
	__u32 tgid;
	__s32 fd;
	__u16 type;
	__u8 state;
	__u8 flags; /* CRUX_SK_EMBRYO | CRUX_SK_DEAD */
	__u16 name_len;
	__u16 peer_name_len;
	char name[CRUX_SUN_PATH_MAX];
	char peer_name[CRUX_SUN_PATH_MAX]; /* the peer's bound name (dgram reconnect target) */
	__u8 shutdown; /* sk_shutdown: RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2 */
	__u8 __pad[3];
	__u32 max_backlog; /* a listener's listen() backlog */
};

/* Most connections the tree iterator lists for one listener (the default somaxconn). */
#define CRUX_MAX_ICONS 4096

/*
 * One connection waiting in the accept queue of a listener of the filtered process, in
 * queue order (bpf/crux_iter.bpf.c iter_task_file_icons): sock_diag's UDIAG_SHOW_ICONS,
 * without its by-inode lookup that walks the whole host table.
 */
struct crux_icon_rec {
	__u64 listener_ino;
	__u64 client_ino; /* the connecting socket (0: it was closed since) */
	__u32 tgid;
	__s32 fd;
	__u32 idx; /* position in the queue */
	__u32 qlen; /* the queue's length: more than listed when capped */
};

/* Most messages the tree iterator walks in one stream socket's receive queue. */
#define CRUX_MAX_FDMSG_WALK 65536

/*
 * A message carrying fds (SCM_RIGHTS) in the receive queue of a stream unix socket of the
 * filtered process (bpf/crux_iter.bpf.c iter_task_file_fdmsgs): where it starts, counted
 * as SO_PEEK_OFF counts, since a stream peek glues it to the bytes written before it.
 */
struct crux_fdmsg_rec {
	__u64 ino;
	__u64 off; /* bytes queued before it */
	__u32 len;
	__s32 fd;
};

/* What a struct crux_file_ref describes. */
enum crux_file_kind {
	CRUX_FILE_OTHER = 0,
	CRUX_FILE_PIPE, /* a pipe or FIFO end: pipe_readers/pipe_writers are set */
	CRUX_FILE_SOCKET,
};

/*
 * File reference record (user/treeiter.c, bpf/crux_iter.bpf.c iter_task_file_refs): one per
 * fd of the filtered process. refs counts every reference to the open file description
 * (fds in any table, in-flight SCM_RIGHTS, and the iterator's own while it visits): the
 * dumper compares it with the fds it knows of to find a description also held outside.
 */
struct crux_file_ref {
	__u64 file; /* the struct file: identity of the open file description */
	__u64 ino;
	__u64 refs;
	__u32 tgid;
	__s32 fd;
	__u32 pipe_readers; /* files open for reading on the pipe (all holders) */
	__u32 pipe_writers;
	__u16 kind; /* enum crux_file_kind */
	__u16 mode; /* f_mode & (FMODE_READ | FMODE_WRITE) */
	__u32 poll_refs; /* of refs: held by tgid's threads asleep in poll()/select() on it */
};

#ifndef __VMLINUX_H__
_Static_assert(sizeof(struct crux_sock) == 192, "crux_sock layout");
_Static_assert(sizeof(struct crux_conn) == 272, "crux_conn layout");
_Static_assert(sizeof(struct crux_abi_info) == 8, "crux_abi_info layout");
_Static_assert(sizeof(struct crux_event) == 168, "crux_event layout");
_Static_assert(sizeof(struct crux_fd_rec) == 288, "crux_fd_rec layout");
_Static_assert(sizeof(struct crux_file_ref) == 48, "crux_file_ref layout");
_Static_assert(sizeof(struct crux_icon_rec) == 32, "crux_icon_rec layout");
_Static_assert(sizeof(struct crux_recheck) == 16, "crux_recheck layout");
_Static_assert(sizeof(struct crux_fdmsg_rec) == 24, "crux_fdmsg_rec layout");
#endif

#endif /* CRUX_ABI_H */

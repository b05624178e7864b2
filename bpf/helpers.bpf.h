/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The live map's building blocks, shared by the event programs and the seed/reconcile
 * iterators: fd -> file -> unix sock resolution, refresh() (the idempotent upsert of a
 * socket's complete current state) and forget() (the last reference is going away).
 */
#ifndef CRUX_HELPERS_BPF_H
#define CRUX_HELPERS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "abi.h"
#include "core_fixes.bpf.h"
#include "maps.bpf.h"

#define AF_UNIX 1
#define SOCKFS_MAGIC 0x534F434B
#define SUN_FAMILY_LEN 2 /* unix_address.len counts sa_family_t too */

static __always_inline void st_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline __u64 st_get(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	return v ? *v : 0;
}

static __always_inline __u32 cur_gen(void)
{
	return (__u32)st_get(CRUX_ST_GEN);
}

/*
 * The pointer stored at a kernel address, by a direct load (a fault reads 0): a variable
 * offset on a BTF pointer is refused, and a bpf_probe_read_kernel() call costs more than
 * the rest of a non-socket close(). llist_node is one pointer at offset 0 on every kernel.
 */
static __always_inline __u64 kread_ptr(__u64 addr)
{
	return (__u64)btf_view(addr, struct llist_node)->next;
}

/* The file at fd in the current task's table, or NULL. Every close() on the host comes here. */
static __always_inline struct file *cur_fd_file(int fd)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct fdtable *fdt = t->files->fdt;

	if (!fdt || fd < 0 || (unsigned int)fd >= fdt->max_fds)
		return NULL;
	return (struct file *)kread_ptr((__u64)fdt->fd + (__u64)(unsigned int)fd * sizeof(void *));
}

/*
 * &socket_file_ops, learnt from the first socket file seen (static data is not in this
 * kernel's kallsyms): from then on a non-socket file costs one load of its f_op.
 */
static __u64 sock_fops;

/*
 * The unix sock behind a file (any kernel address), or NULL. Until sock_fops is known, the
 * superblock magic and the socket's back pointer to its file stand in for the f_op test,
 * so an O_PATH fd of a socket file (whose private_data is not a struct socket) is not
 * misread.
 */
static __always_inline struct sock *file_unix_sk(struct file *file)
{
	struct file *f = btf_view(file, struct file);
	__u64 fops = sock_fops;
	struct socket *so;
	struct sock *sk;

	if (!f)
		return NULL;
	if (fops) {
		if ((__u64)f->f_op != fops)
			return NULL;
		so = btf_view(f->private_data, struct socket);
	} else {
		if (f->f_inode->i_sb->s_magic != SOCKFS_MAGIC)
			return NULL;
		so = btf_view(f->private_data, struct socket);
		if ((__u64)so->file != (__u64)file)
			return NULL;
		sock_fops = (__u64)f->f_op;
	}
	sk = so->sk;
	if (!sk || sk->__sk_common.skc_family != AF_UNIX)
		return NULL;
	return sk;
}

static __always_inline struct sock *cur_fd_unix_sk(int fd)
{
	return file_unix_sk(cur_fd_file(fd));
}

static __always_inline struct sock *unix_peer(struct sock *sk)
{
	return btf_view(sk, struct unix_sock)->peer;
}

/* Bound name of sk into name[CRUX_SUN_PATH_MAX]; returns its length (0: unbound). */
static __always_inline __u16 unix_name(struct sock *sk, char *name)
{
	struct unix_address *addr = btf_view(sk, struct unix_sock)->addr;
	int alen;
	__u64 len; /* 64-bit: a u32 copy would hide the bound from the verifier */

	if (!addr)
		return 0;
	alen = addr->len;
	if (alen <= SUN_FAMILY_LEN)
		return 0;
	len = alen - SUN_FAMILY_LEN;
	/* barriers: clang would otherwise pass the unclamped register to the helper */
	barrier_var(len);
	if (len > CRUX_SUN_PATH_MAX)
		len = CRUX_SUN_PATH_MAX;
	barrier_var(len);
	if (bpf_probe_read_kernel(name, len, &addr->name[0].sun_path))
		return 0;
	return len;
}

static __always_inline __u8 sk_state(struct sock *sk)
{
	/* volatile: each call is a fresh load, never merged with an earlier one */
	return *(volatile __u8 *)&btf_view(sk, struct sock)->__sk_common.skc_state;
}

/*
 * sk's peer: its address, inode and, when the inode reads 0, whether it is an embryo
 * queued on a listener (CRUX_SK_EMBRYO, *listener_ino) or a released socket (CRUX_SK_DEAD).
 * Both read ino 0, so the listener is tested positively: accept clears it, and a dead
 * listener reads ino 0 too.
 *
 * A released socket is TCP_CLOSE (unix_release_sock); an embryo stays TCP_ESTABLISHED
 * while queued. When its listener closes, the listener's queue purge releases the embryo
 * (TCP_CLOSE) but leaves its ->listener pointing at memory soon freed and reused by any
 * other sock: so ->listener is followed only while the embryo is ESTABLISHED, and that
 * state is read again after the listener's inode. The purge closes the embryo before the
 * listener can be freed, so a second ESTABLISHED read means the listener read was of the
 * live listener. (The peer itself cannot be reused: sk holds a reference on it.)
 */
static __always_inline __u8 read_peer(struct sock *sk, __u64 *peer_sk, __u64 *peer_ino,
				      __u64 *listener_ino)
{
	struct sock *peer = unix_peer(sk);

	*peer_sk = (__u64)peer;
	*peer_ino = sk_ino(peer);
	*listener_ino = 0;
	if (!peer || *peer_ino)
		return 0;
	if (sk_state(peer) != TCP_ESTABLISHED)
		return CRUX_SK_DEAD;
	*listener_ino = sk_ino(unix_listener(peer));
	barrier();
	if (sk_state(peer) != TCP_ESTABLISHED)
		*listener_ino = 0;
	return *listener_ino ? CRUX_SK_EMBRYO : CRUX_SK_DEAD;
}

/* Publish an event for `crux-map watch`, only while someone watches. */
static __always_inline void emit(__u16 kind, __u64 ino, const struct crux_sock *v)
{
	struct crux_event *e;

	if (!st_get(CRUX_ST_WATCHERS))
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		st_add(CRUX_ST_EVENTS_LOST, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->ts_ns = bpf_ktime_get_ns();
	e->ino = ino;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->kind = kind;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	if (v) {
		e->peer_ino = v->peer_ino;
		e->type = v->type;
		e->state = v->state;
		e->name_len = v->name_len;
		__builtin_memcpy(e->name, v->name, sizeof(e->name));
	}
	bpf_ringbuf_submit(e, 0);
}

/*
 * Re-read the complete current state of sk and upsert it: events and seed passes may run
 * in any order, each write is the truth of its moment. owner: the task to credit (its
 * tgid/comm), or NULL to keep the recorded owner of the same socket. seeded: found by a
 * seed/reconcile pass (sticky for the socket's lifetime). known_only: update the record
 * only if the map still has it (see refresh_peer()). Returns the scratch record.
 */
static __always_inline struct crux_sock *refresh_sk(struct sock *sk, struct task_struct *owner,
						    bool seeded, bool known_only)
{
	__u32 zero = 0;
	struct crux_sock *v = bpf_map_lookup_elem(&rec_buf, &zero), *old;
	__u64 ino = sk_ino(sk);
	struct sock *s;

	if (!v || !ino)
		return NULL;
	__builtin_memset(v, 0, sizeof(*v));
	v->ino = ino;
	v->sk = (__u64)sk;
	v->flags = read_peer(sk, &v->peer_sk, &v->peer_ino, &v->listener_ino);
	s = btf_view(sk, struct sock);
	v->type = s->sk_type;
	v->state = s->__sk_common.skc_state;
	v->netns_cookie = s->__sk_common.skc_net.net->net_cookie;
	v->name_len = unix_name(sk, v->name);
	v->gen = cur_gen();

	old = bpf_map_lookup_elem(&peers, &ino);
	if (old && old->sk != (__u64)sk)
		old = NULL; /* a recycled inode number: another socket's stale entry */
	if (known_only && !old)
		return NULL;
	if (old ? (old->flags & CRUX_SK_SEEDED) : seeded)
		v->flags |= CRUX_SK_SEEDED;
	if (owner) {
		v->owner_tgid = btf_view(owner, struct task_struct)->tgid;
		bpf_probe_read_kernel_str(v->owner_comm, sizeof(v->owner_comm), &owner->comm);
	} else if (old) {
		v->owner_tgid = old->owner_tgid;
		__builtin_memcpy(v->owner_comm, old->owner_comm, sizeof(v->owner_comm));
	}
	if (bpf_map_update_elem(&peers, &ino, v, known_only ? BPF_EXIST : BPF_ANY)) {
		/* known_only: forgotten meanwhile, which is no failure */
		if (!known_only)
			st_add(CRUX_ST_UPSERT_FAIL, 1);
		return NULL;
	}
	st_add(CRUX_ST_UPSERTS, 1);
	return v;
}

static __always_inline struct crux_sock *refresh(struct sock *sk, struct task_struct *owner,
						 bool seeded)
{
	return refresh_sk(sk, owner, seeded, false);
}

/*
 * The peer of the socket an event is about (a connect's target, an accepted client), which
 * another task may be closing at this very moment: its close forgot it at sys_enter_close,
 * and its release is still to come. An upsert would bring back a record of a socket about
 * to go, stale until the next reconcile; so the peer is only updated while the map has it,
 * the test and the write being one step (BPF_EXIST). A socket the map does not know yet is
 * left to its own events and the seed.
 */
static __always_inline void refresh_peer(struct sock *sk)
{
	refresh_sk(sk, NULL, false, true);
}

/*
 * The socket (ino, sk) loses its last reference: drop its entries, and tell a stream peer
 * that still points at it that its peer is dead (the kernel keeps that pointer).
 */
static __always_inline void forget_ino(__u64 ino, __u64 sk, __u64 peer_ino)
{
	struct crux_sock *v, *pv;

	if (!ino || !(v = bpf_map_lookup_elem(&peers, &ino)))
		return;
	if (v->sk != sk)
		return; /* another socket now owns this inode number: leave it to reconcile */
	bpf_map_delete_elem(&peers, &ino);
	bpf_map_delete_elem(&conn_addr, &ino);
	bpf_map_delete_elem(&recheck, &ino);
	st_add(CRUX_ST_FORGETS, 1);
	if (peer_ino && (pv = bpf_map_lookup_elem(&peers, &peer_ino)) && pv->peer_sk == sk) {
		pv->peer_ino = 0;
		pv->flags = (pv->flags & ~CRUX_SK_EMBRYO) | CRUX_SK_DEAD;
	}
	emit(CRUX_EV_CLOSE, ino, NULL);
}

/*
 * A reference to sk's file is dropped while others remain: if they go at the same moment,
 * no event sees the release. The recheck iterator looks at it again.
 */
static __always_inline void recheck_later(struct sock *sk)
{
	struct crux_recheck r = { .sk = (__u64)sk, .peer_ino = sk_ino(unix_peer(sk)) };
	__u64 ino = sk_ino(sk);

	if (ino)
		bpf_map_update_elem(&recheck, &ino, &r, BPF_ANY);
}

static __always_inline void forget(struct sock *sk)
{
	forget_ino(sk_ino(sk), (__u64)sk, sk_ino(unix_peer(sk)));
}

#endif /* CRUX_HELPERS_BPF_H */

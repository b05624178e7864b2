// SPDX-License-Identifier: GPL-2.0-only
/*
 * Iterators over the kernel's own tables.
 *
 * Seed and reconcile are one code path: iter_task_file_seed visits every fd of every task
 * (all netns; the first holder becomes the owner), iter_unix_seed every unix socket of the
 * netns the iterator fd was created in (userspace setns()es into each). Both refresh() into
 * the `peers` map and never write seq output: iter/unix seq output loses records when a
 * read() stops inside a bucket batch. Each refresh stamps the current generation; the
 * reconcile then sweeps what no pass stamped.
 *
 * iter_task_file_tree is the dumper's exact view of one process (attached with a pid
 * filter): one struct crux_fd_rec per unix socket fd, as seq output (a few records per
 * task, read in full by one reader: nothing to lose). iter_task_file_refs, attached the
 * same way, gives one struct crux_file_ref per fd: how many references its open file has,
 * so the dumper can tell a pipe or socket also held outside the tree. iter_task_file_icons
 * lists the connections waiting in the accept queue of each listener; iter_task_file_fdmsgs
 * where each message carrying fds starts in a stream socket's receive queue.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "helpers.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Scratch for the tree iterator's records. Not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crux_fd_rec);
} tree_buf SEC(".maps");

static __always_inline struct sock *iter_file_unix_sk(struct file *file)
{
	struct socket *so = bpf_sock_from_file(file);
	struct sock *sk;

	if (!so)
		return NULL;
	sk = so->sk;
	if (!sk || sk->__sk_common.skc_family != AF_UNIX)
		return NULL;
	return sk;
}

SEC("iter/task_file")
int iter_task_file_seed(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct crux_sock *v;
	struct sock *sk;
	__u64 ino;

	if (!file || !task || !(sk = iter_file_unix_sk(file)))
		return 0;
	ino = sk_ino(sk);
	v = bpf_map_lookup_elem(&peers, &ino);
	/* one refresh per socket and pass, however many fds share it */
	if (v && v->sk == (__u64)sk && v->gen == cur_gen()) {
		if (!v->owner_tgid) {
			v->owner_tgid = task->tgid;
			bpf_probe_read_kernel_str(v->owner_comm, sizeof(v->owner_comm), task->comm);
		}
		return 0;
	}
	/* keep the recorded owner; a socket first seen here is credited to this holder */
	if (v && v->sk == (__u64)sk && v->owner_tgid)
		refresh(sk, NULL, true);
	else
		refresh(sk, task, true);
	return 0;
}

SEC("iter/unix")
int iter_unix_seed(struct bpf_iter__unix *ctx)
{
	struct unix_sock *u = ctx->unix_sk;

	if (!u || !sk_ino(&u->sk))
		return 0; /* embryo: no inode yet; its client's entry names the listener */
	refresh(&u->sk, NULL, true);
	return 0;
}

/*
 * One candidate of the recheck map (include/abi.h struct crux_recheck): a socket whose
 * release no event may have seen. Gone: forget it now, by inode. Alive: keep it.
 */
static long recheck_one(struct bpf_map *map, __u64 *key, struct crux_recheck *r, void *data)
{
	__u64 ino = *key, sk = r->sk;
	struct socket *so = NULL;
	__u64 now = 0;

	bpf_probe_read_kernel(&so, sizeof(so), &((struct sock *)sk)->sk_socket);
	if (so)
		now = sk_ino((struct sock *)sk);
	if (so && now == ino)
		return 0; /* still the socket of this inode, not released (sock_orphan clears it) */
	if (bpf_map_lookup_elem(&peers, &ino))
		st_add(CRUX_ST_RECHECKED, 1);
	forget_ino(ino, sk, r->peer_ino);
	bpf_map_delete_elem(&recheck, key);
	return 0;
}

/*
 * Run with BPF_PROG_RUN (never attached): the tracker every few ms, each reader first.
 * iter/bpf_map_elem would do, but this machine refuses to load it (EPERM).
 */
SEC("raw_tp/crux_recheck")
int recheck_run(void *ctx)
{
	bpf_for_each_map_elem(&recheck, recheck_one, NULL, 0);
	return 0;
}

SEC("iter/task_file")
int iter_task_file_tree(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct crux_fd_rec *r;
	struct sock *sk, *peer;
	__u32 zero = 0;

	if (!file || !task || !(sk = iter_file_unix_sk(file)))
		return 0;
	r = bpf_map_lookup_elem(&tree_buf, &zero);
	if (!r)
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	r->tgid = task->tgid;
	r->fd = ctx->fd;
	r->ino = sk_ino(sk);
	r->sk = (__u64)sk;
	r->flags = read_peer(sk, &r->peer_sk, &r->peer_ino, &r->listener_ino);
	peer = (struct sock *)r->peer_sk;
	r->type = sk->sk_type;
	r->state = sk->__sk_common.skc_state;
	r->shutdown = sk->sk_shutdown;
	r->max_backlog = sk->sk_max_ack_backlog;
	r->netns_cookie = sk->__sk_common.skc_net.net->net_cookie;
	r->name_len = unix_name(sk, r->name);
	if (peer)
		r->peer_name_len = unix_name(peer, r->peer_name);
	bpf_seq_write(ctx->meta->seq, r, sizeof(*r));
	return 0;
}

#define S_IFMT 00170000
#define S_IFIFO 0010000
#define FMODE_READ 0x1
#define FMODE_WRITE 0x2

/*
 * fs/select.c's wake function: a wait queue entry with it is the wait.entry of a struct
 * poll_table_entry, which holds a reference to its filp (get_file() before it is queued,
 * fput() after it is dequeued) for as long as a poll()/select() sleeps. Weak: without
 * kallsyms no poll reference is recognised, and each looks held outside (a refusal, never
 * a hidden holder).
 */
extern const void pollwake __ksym __weak;

/* Most waiters looked at on one wait queue; beyond, the rest look held outside. */
#define POLL_WALK_MAX 1024

struct poll_walk {
	__u64 head; /* &wait_queue_head.head: the list's end */
	__u64 next;
	__u64 file;
	__u32 tgid;
	__u32 n; /* poll references of tgid's threads on file */
};

static long poll_step(__u32 idx, void *data)
{
	struct poll_walk *w = data;
	struct poll_table_entry *e;
	struct wait_queue_entry *q;
	struct poll_wqueues *pwq;

	if (!w->next || w->next == w->head)
		return 1;
	q = btf_view(w->next - bpf_core_field_offset(struct wait_queue_entry, entry),
		     struct wait_queue_entry);
	w->next = (__u64)btf_view(w->next, struct list_head)->next;
	if (!&pollwake || (__u64)q->func != (__u64)&pollwake)
		return 0;
	e = btf_view((__u64)q - bpf_core_field_offset(struct poll_table_entry, wait),
		     struct poll_table_entry);
	if ((__u64)e->filp != w->file || !q->private)
		return 0;
	/* pollwake's private is the sleeper's struct poll_wqueues */
	pwq = btf_view(q->private, struct poll_wqueues);
	if (pwq->polling_task && btf_view(pwq->polling_task, struct task_struct)->tgid == w->tgid)
		w->n++;
	return 0;
}

static __always_inline __u32 poll_refs_on(wait_queue_head_t *wq, struct file *file, __u32 tgid)
{
	struct poll_walk w = { .file = (__u64)file, .tgid = tgid };

	if (!wq)
		return 0;
	w.head = (__u64)&wq->head;
	w.next = (__u64)btf_view(wq, struct wait_queue_head)->head.next;
	bpf_loop(POLL_WALK_MAX, poll_step, &w, 0);
	return w.n;
}

/*
 * References to file held by the threads of tgid sleeping in poll()/select() on it: each
 * poll_table_entry of theirs on the file's wait queues (a pipe's two, a socket's one).
 * Counted only if the file's count did not move during the walk; a count that moved
 * gives 0, so a poll reference may look held outside (a refusal), never the reverse.
 */
static __always_inline __u32 poll_refs(struct file *file, __u16 kind, long refs, __u32 tgid)
{
	struct pipe_inode_info *pipe;
	struct socket *so;
	__u32 n = 0;

	if (kind == CRUX_FILE_PIPE) {
		pipe = btf_view(file->private_data, struct pipe_inode_info);
		n = poll_refs_on(&pipe->rd_wait, file, tgid);
		n += poll_refs_on(&pipe->wr_wait, file, tgid);
	} else if (kind == CRUX_FILE_SOCKET) {
		so = btf_view(file->private_data, struct socket);
		n = poll_refs_on(&so->wq.wait, file, tgid);
	}
	return file_refs(file) == refs ? n : 0;
}

SEC("iter/task_file")
int iter_task_file_refs(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct crux_file_ref r = {};
	struct inode *inode;

	if (!file || !task)
		return 0;
	r.file = (__u64)file;
	r.tgid = task->tgid;
	r.fd = ctx->fd;
	r.refs = file_refs(file);
	r.mode = file->f_mode & (FMODE_READ | FMODE_WRITE);
	inode = file->f_inode;
	if (inode) {
		r.ino = inode->i_ino;
		if ((inode->i_mode & S_IFMT) == S_IFIFO) {
			struct pipe_inode_info *pipe = file->private_data;

			r.kind = CRUX_FILE_PIPE;
			r.pipe_readers = BPF_CORE_READ(pipe, readers);
			r.pipe_writers = BPF_CORE_READ(pipe, writers);
		} else if (bpf_sock_from_file(file)) {
			r.kind = CRUX_FILE_SOCKET;
		}
	}
	if (r.kind != CRUX_FILE_OTHER)
		r.poll_refs = poll_refs(file, r.kind, (long)r.refs, r.tgid);
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

/* The walk of one accept queue, carried through bpf_loop. */
struct icon_walk {
	struct seq_file *seq;
	__u64 head; /* &sk_receive_queue: the list's end */
	__u64 skb; /* the next skb to visit */
	struct crux_icon_rec r;
};

static long icon_step(__u32 idx, void *data)
{
	struct icon_walk *w = data;
	struct sk_buff *v;

	if (!w->skb || w->skb == w->head)
		return 1;
	v = btf_view(w->skb, struct sk_buff);
	/* each queued skb carries the embryo (skb->sk), whose peer is the connecting socket */
	w->r.client_ino = sk_ino(unix_peer(v->sk));
	w->r.idx = idx;
	bpf_seq_write(w->seq, &w->r, sizeof(w->r));
	w->skb = (__u64)v->next;
	return 0;
}

/*
 * Read without the queue's lock, as the task is frozen: a client connecting meanwhile may or
 * may not be listed, as with a dump a moment earlier or later. bpf_loop: a plain bounded
 * loop of CRUX_MAX_ICONS steps exceeds the verifier's budget.
 */
SEC("iter/task_file")
int iter_task_file_icons(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct icon_walk w = {};
	struct sock *sk;

	if (!file || !task || !(sk = iter_file_unix_sk(file)) || sk_state(sk) != TCP_LISTEN)
		return 0;
	w.seq = ctx->meta->seq;
	w.head = (__u64)&sk->sk_receive_queue;
	w.skb = (__u64)btf_view(w.head, struct sk_buff_head)->next;
	w.r.listener_ino = sk_ino(sk);
	w.r.tgid = task->tgid;
	w.r.fd = ctx->fd;
	w.r.qlen = sk->sk_receive_queue.qlen;
	bpf_loop(CRUX_MAX_ICONS, icon_step, &w, 0);
	return 0;
}

/* The walk of one stream socket's receive queue, carried through bpf_loop. */
struct fdmsg_walk {
	struct seq_file *seq;
	__u64 head;
	__u64 skb;
	struct crux_fdmsg_rec r;
};

static long fdmsg_step(__u32 idx, void *data)
{
	struct fdmsg_walk *w = data;
	struct unix_skb_parms cb;
	struct sk_buff *v;
	__u32 len;

	if (!w->skb || w->skb == w->head)
		return 1;
	v = btf_view(w->skb, struct sk_buff);
	if (bpf_probe_read_kernel(&cb, sizeof(cb), v->cb))
		return 1;
	/* what a reader already took of a partly read skb is not in the queue any more */
	len = v->len - cb.consumed;
	if (cb.fp) {
		w->r.len = len;
		bpf_seq_write(w->seq, &w->r, sizeof(w->r));
	}
	w->r.off += len;
	w->skb = (__u64)v->next;
	return 0;
}

/* Read without the queue's lock, as the task is frozen (the dumper's own copies too). */
SEC("iter/task_file")
int iter_task_file_fdmsgs(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	struct fdmsg_walk w = {};
	struct sock *sk;

	if (!file || !task || !(sk = iter_file_unix_sk(file)) || sk->sk_type != SOCK_STREAM ||
	    sk_state(sk) == TCP_LISTEN)
		return 0;
	w.seq = ctx->meta->seq;
	w.head = (__u64)&sk->sk_receive_queue;
	w.skb = (__u64)btf_view(w.head, struct sk_buff_head)->next;
	w.r.ino = sk_ino(sk);
	w.r.fd = ctx->fd;
	bpf_loop(CRUX_MAX_FDMSG_WALK, fdmsg_step, &w, 0);
	return 0;
}

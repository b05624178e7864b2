// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live unix socket map: event programs that keep `peers` (and `conn_addr`) current.
 *
 * No tracepoint fires when a unix socket is released, so releases are inferred from the
 * file refcount where an fd is dropped (close, dup2/dup3 onto an fd, close_range, exec's
 * close-on-exec, process exit): the fd holding the only reference takes the socket with
 * it. Paths no hook sees (SCM_RIGHTS purged in flight, a last fput in another thread,
 * io_uring) are corrected by the reconcile pass (crux_iter.bpf.c). Every state change is
 * recorded by refresh(), which re-reads the whole socket: events, seeds and reconciles may
 * interleave in any order.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "abi.h"
#include "helpers.bpf.h"
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define CLOSE_RANGE_UNSHARE (1U << 1)
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#define AF_UNSPEC 0

/* What a syscall's entry learnt for its exit, per thread. */
struct call {
	__u64 sk;
	__u64 old_peer;
	__u64 old_peer_ino;
	__u64 uaddr; /* connect: user sockaddr */
	__u32 addrlen;
	__u32 __pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32); /* tid */
	__type(value, struct call);
} calls SEC(".maps");

/* fd-table walks: sightings of one file in one walk (dup'ed fds of a dying table). */
struct seen_key {
	__u64 file;
	__u64 walk;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct seen_key);
	__type(value, __u64);
} walkseen SEC(".maps");

/*
 * Sockets an execve is about to close (close-on-exec, last reference), per tgid, until the
 * exec succeeds. Keyed by tgid so an exec costs one lookup, not a map walk; sockets past
 * EXEC_PEND_MAX are left to reconcile.
 */
#define EXEC_PEND_MAX 16

struct exec_pend {
	__u32 n;
	__u32 __pad;
	__u64 ino[EXEC_PEND_MAX];
	__u64 sk[EXEC_PEND_MAX];
	__u64 peer_ino[EXEC_PEND_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* tgid */
	__type(value, struct exec_pend);
} exec_pend SEC(".maps");

static const struct exec_pend exec_pend_empty;

/* connect() address assembly: cwd components are written backwards into cwd[]. */
#define CWD_AREA 512 /* bytes of cwd kept; deeper paths are marked truncated */
#define CWD_DEPTH 32 /* dentries walked */
#define NAME_MASK 255 /* NAME_MAX */

struct conn_scratch {
	struct crux_conn c;
	char upath[CRUX_SUN_PATH_MAX + 8];
	char cwd[CWD_AREA + NAME_MASK + 1];
	char out[CRUX_CONN_PATH_MAX + CRUX_SUN_PATH_MAX + 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct conn_scratch);
} conn_buf SEC(".maps");

static __always_inline __u32 cur_tid(void)
{
	return (__u32)bpf_get_current_pid_tgid();
}

static __always_inline struct task_struct *cur_task(void)
{
	return (struct task_struct *)bpf_get_current_task();
}

/* ---- releases ---------------------------------------------------------------------- */

/* fd is being dropped: the socket goes if this was the only reference to its file. */
static __always_inline void fd_dropping(struct file *f)
{
	struct sock *sk = file_unix_sk(f);

	if (!sk)
		return;
	if (file_refs(f) == 1) {
		forget(sk);
	} else {
		st_add(CRUX_ST_SHARED_CLOSE, 1); /* fork/dup/SCM_RIGHTS: a later drop sees it */
		recheck_later(sk); /* unless both drop at once */
	}
}

struct walk {
	struct file **arr;
	unsigned long *open;
	unsigned long *cloexec; /* exec walk: only close-on-exec fds */
	__u64 bits;
	__u64 id;
	__u32 first_word;
	__u32 base;
	__u32 lo;
	__u32 hi;
	__u32 tgid;
	__u32 exec;
};

static __always_inline void stash_exec(struct sock *sk, __u32 tgid)
{
	struct exec_pend *p = bpf_map_lookup_elem(&exec_pend, &tgid);
	__u32 i;

	if (!p) {
		bpf_map_update_elem(&exec_pend, &tgid, &exec_pend_empty, BPF_NOEXIST);
		p = bpf_map_lookup_elem(&exec_pend, &tgid);
		if (!p)
			return;
	}
	i = p->n;
	if (i >= EXEC_PEND_MAX) {
		st_add(CRUX_ST_SEEN_FAIL, 1); /* left to reconcile */
		return;
	}
	p->ino[i] = sk_ino(sk);
	p->sk[i] = (__u64)sk;
	p->peer_ino[i] = sk_ino(unix_peer(sk));
	p->n = i + 1;
}

static long walk_bit(__u32 b, void *ctx)
{
	struct walk *c = ctx;
	struct file *f = NULL;
	struct seen_key k;
	struct sock *sk;
	__u64 one = 1, *n;
	__u32 fd;
	long refs;

	if (!c->bits)
		return 1; /* the rest of the word is empty */
	if (!(c->bits & (1ULL << (b & 63))))
		return 0;
	c->bits &= ~(1ULL << (b & 63));
	fd = c->base + b;
	if (fd < c->lo || fd > c->hi)
		return 0;
	bpf_probe_read_kernel(&f, sizeof(f), &c->arr[fd]);
	sk = file_unix_sk(f);
	if (!sk)
		return 0;
	refs = file_refs(f);
	if (refs != 1) {
		/* dup'ed fds: the socket goes only if every reference sits in this walk */
		k.file = (__u64)f;
		k.walk = c->id;
		n = bpf_map_lookup_elem(&walkseen, &k);
		if (!n) {
			if (bpf_map_update_elem(&walkseen, &k, &one, BPF_NOEXIST))
				st_add(CRUX_ST_SEEN_FAIL, 1);
			if (!c->exec)
				recheck_later(sk); /* another holder may drop it at once */
			return 0;
		}
		if (++*n != (__u64)refs)
			return 0;
		bpf_map_delete_elem(&walkseen, &k);
	}
	if (c->exec)
		stash_exec(sk, c->tgid);
	else
		forget(sk);
	return 0;
}

static long walk_word(__u32 i, void *ctx)
{
	struct walk *c = ctx;
	__u64 bits = 0, ce = 0;
	__u32 w = c->first_word + i;

	c->base = w * 64;
	if (c->base > c->hi)
		return 1;
	bpf_probe_read_kernel(&bits, sizeof(bits), &c->open[w]);
	if (c->cloexec) {
		bpf_probe_read_kernel(&ce, sizeof(ce), &c->cloexec[w]);
		bits &= ce;
	}
	c->bits = bits;
	if (bits)
		bpf_loop(64, walk_bit, c, 0);
	return 0;
}

/* Nested bpf_loop (words, then bits): a plain bounded loop exceeds the verifier's budget. */
static __always_inline void walk_fds(struct files_struct *files, __u32 lo, __u32 hi, bool exec,
				     __u32 tgid)
{
	struct fdtable *fdt = BPF_CORE_READ(files, fdt);
	struct walk c = {};
	__u32 max;

	if (!fdt)
		return;
	max = BPF_CORE_READ(fdt, max_fds);
	if (!max || lo >= max)
		return;
	if (hi >= max)
		hi = max - 1;
	c.arr = BPF_CORE_READ(fdt, fd);
	c.open = BPF_CORE_READ(fdt, open_fds);
	c.cloexec = exec ? BPF_CORE_READ(fdt, close_on_exec) : NULL;
	c.id = bpf_ktime_get_ns() ^ ((__u64)bpf_get_current_pid_tgid() << 40);
	c.lo = lo;
	c.hi = hi;
	c.first_word = lo / 64;
	c.tgid = tgid;
	c.exec = exec;
	bpf_loop(hi / 64 - lo / 64 + 1, walk_word, &c, 0);
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	fd_dropping(cur_fd_file((int)ctx->args[0]));
	return 0;
}

/* dup2/dup3 close newfd first, unless oldfd is invalid or equal to it. */
static __always_inline void dup_onto(int oldfd, int newfd)
{
	if (oldfd == newfd || !cur_fd_file(oldfd))
		return;
	fd_dropping(cur_fd_file(newfd));
}

SEC("tracepoint/syscalls/sys_enter_dup2")
int tp_sys_enter_dup2(struct trace_event_raw_sys_enter *ctx)
{
	dup_onto((int)ctx->args[0], (int)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_dup3")
int tp_sys_enter_dup3(struct trace_event_raw_sys_enter *ctx)
{
	dup_onto((int)ctx->args[0], (int)ctx->args[1]);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close_range")
int tp_sys_enter_close_range(struct trace_event_raw_sys_enter *ctx)
{
	__u32 lo = ctx->args[0], hi = ctx->args[1], flags = ctx->args[2];
	struct files_struct *files = BPF_CORE_READ(cur_task(), files);

	if (flags & CLOSE_RANGE_CLOEXEC)
		return 0; /* only marks fds */
	/* UNSHARE on a shared table closes in a private copy: other holders keep the files */
	if ((flags & CLOSE_RANGE_UNSHARE) && BPF_CORE_READ(files, count.counter) != 1)
		return 0;
	if (lo <= hi)
		walk_fds(files, lo, hi, false, 0);
	return 0;
}

/* The fd table is still attached here (exit_files() runs later); only its last user closes. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(tp_btf_sched_process_exit, struct task_struct *p)
{
	struct files_struct *files = p->files;

	if (!files || files->count.counter != 1)
		return 0;
	walk_fds(files, 0, 0xffffffff, false, 0);
	return 0;
}

/*
 * execve: close-on-exec fds holding the last reference are stashed at entry and forgotten
 * once the exec succeeded (sched_process_exec runs after do_close_on_exec). A shared fd
 * table (files->count > 1) is left to reconcile.
 */
static __always_inline void exec_enter(void)
{
	struct task_struct *t = cur_task();
	struct files_struct *files = BPF_CORE_READ(t, files);

	if (!files || BPF_CORE_READ(files, count.counter) != 1)
		return;
	walk_fds(files, 0, 0xffffffff, true, bpf_get_current_pid_tgid() >> 32);
}

SEC("tracepoint/syscalls/sys_enter_execve")
int tp_sys_enter_execve(struct trace_event_raw_sys_enter *ctx)
{
	exec_enter();
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_execveat")
int tp_sys_enter_execveat(struct trace_event_raw_sys_enter *ctx)
{
	exec_enter();
	return 0;
}

/* The exec succeeded: its close-on-exec fds are closed (do_close_on_exec ran before). */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(tp_btf_sched_process_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid, i;
	struct exec_pend *pend = bpf_map_lookup_elem(&exec_pend, &tgid);

	if (!pend)
		return 0;
	for (i = 0; i < EXEC_PEND_MAX && i < pend->n; i++)
		forget_ino(pend->ino[i], pend->sk[i], pend->peer_ino[i]);
	bpf_map_delete_elem(&exec_pend, &tgid);
	return 0;
}

/* A failed exec keeps its fds: drop the stash. */
static __always_inline void exec_exit(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;

	if (ret < 0)
		bpf_map_delete_elem(&exec_pend, &tgid);
}

SEC("tracepoint/syscalls/sys_exit_execve")
int tp_sys_exit_execve(struct trace_event_raw_sys_exit *ctx)
{
	exec_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_execveat")
int tp_sys_exit_execveat(struct trace_event_raw_sys_exit *ctx)
{
	exec_exit(ctx->ret);
	return 0;
}

/* ---- creation and state changes --------------------------------------------------- */

static __always_inline void refresh_fd(int fd, __u16 kind)
{
	struct sock *sk = cur_fd_unix_sk(fd);
	struct crux_sock *v;

	if (!sk)
		return;
	v = refresh(sk, cur_task(), false);
	if (v)
		emit(kind, v->ino, v);
}

SEC("tracepoint/syscalls/sys_exit_socket")
int tp_sys_exit_socket(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret >= 0)
		refresh_fd(ctx->ret, CRUX_EV_SOCKET);
	return 0;
}

/*
 * The syscall's own arguments, from the registers saved at entry (unchanged at exit): an
 * exit hook needs no entry hook and no per-thread map to learn them.
 */
static __always_inline struct pt_regs *syscall_regs(void)
{
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* socketpair(domain, type, protocol, int sv[2]) */
SEC("tracepoint/syscalls/sys_exit_socketpair")
int tp_sys_exit_socketpair(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;
	int sv[2];

	if (ctx->ret != 0)
		return 0;
	regs = syscall_regs();
	if (PT_REGS_PARM1_SYSCALL(regs) != AF_UNIX ||
	    bpf_probe_read_user(sv, sizeof(sv), (void *)PT_REGS_PARM4_SYSCALL(regs)))
		return 0;
	refresh_fd(sv[0], CRUX_EV_SOCKETPAIR);
	refresh_fd(sv[1], CRUX_EV_SOCKETPAIR);
	return 0;
}

/* bind/listen/connect: the fd is resolved at entry (pinned for the call), refreshed at exit. */
static __always_inline void stash_sk(int fd, __u64 uaddr, __u32 addrlen)
{
	struct sock *sk = cur_fd_unix_sk(fd);
	struct call c = {};
	__u32 tid = cur_tid();

	if (!sk)
		return;
	c.sk = (__u64)sk;
	c.old_peer = (__u64)unix_peer(sk);
	c.old_peer_ino = sk_ino((struct sock *)c.old_peer);
	c.uaddr = uaddr;
	c.addrlen = addrlen;
	bpf_map_update_elem(&calls, &tid, &c, BPF_ANY);
}

static __always_inline int take_call(struct call *ret)
{
	__u32 tid = cur_tid();
	struct call *c = bpf_map_lookup_elem(&calls, &tid);

	if (!c)
		return -1;
	*ret = *c;
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_bind")
int tp_sys_enter_bind(struct trace_event_raw_sys_enter *ctx)
{
	stash_sk(ctx->args[0], 0, 0);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_listen")
int tp_sys_enter_listen(struct trace_event_raw_sys_enter *ctx)
{
	stash_sk(ctx->args[0], 0, 0);
	return 0;
}

static __always_inline void refresh_stashed(long ret, __u16 kind)
{
	struct crux_sock *v;
	struct call c;

	if (take_call(&c) || ret != 0)
		return;
	v = refresh((struct sock *)c.sk, cur_task(), false);
	if (v)
		emit(kind, v->ino, v);
}

SEC("tracepoint/syscalls/sys_exit_bind")
int tp_sys_exit_bind(struct trace_event_raw_sys_exit *ctx)
{
	refresh_stashed(ctx->ret, CRUX_EV_BIND);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_listen")
int tp_sys_exit_listen(struct trace_event_raw_sys_exit *ctx)
{
	refresh_stashed(ctx->ret, CRUX_EV_LISTEN);
	return 0;
}

/* ---- connect() addresses ------------------------------------------------------------ */

struct cwd_walk {
	struct dentry *d;
	struct vfsmount *mnt;
	struct dentry *root_d;
	struct vfsmount *root_mnt;
	__u32 pos; /* start of the text in cwd[], which ends at CWD_AREA */
	__u32 done;
	__u32 truncated;
};

/*
 * One step up from c->d: a mount crossing or one path component prepended. Locals only in
 * BPF_CORE_READ: a field of our own struct inside it would become a CO-RE relocation.
 */
static long cwd_step(__u32 i, void *ctx)
{
	struct cwd_walk *c = ctx;
	struct dentry *d = c->d, *parent;
	struct vfsmount *mnt = c->mnt;
	__u32 zero = 0;
	__u64 len, pos = c->pos;
	struct conn_scratch *s = bpf_map_lookup_elem(&conn_buf, &zero);
	struct mount *m, *mp;
	const unsigned char *name;

	if (!s)
		return 1;
	if (d == c->root_d && mnt == c->root_mnt) {
		c->done = 1;
		return 1;
	}
	if (d == BPF_CORE_READ(mnt, mnt_root)) {
		m = (void *)mnt - bpf_core_field_offset(struct mount, mnt);
		mp = BPF_CORE_READ(m, mnt_parent);
		if (mp == m) { /* the root of the mount namespace */
			c->done = 1;
			return 1;
		}
		c->d = BPF_CORE_READ(m, mnt_mountpoint);
		c->mnt = (void *)mp + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	parent = BPF_CORE_READ(d, d_parent);
	if (parent == d) { /* the root of a detached tree */
		c->done = 1;
		return 1;
	}
	len = BPF_CORE_READ(d, d_name.len);
	name = BPF_CORE_READ(d, d_name.name);
	barrier_var(len);
	if (len > NAME_MASK)
		len = NAME_MASK;
	barrier_var(len);
	if (len + 1 > pos) {
		c->truncated = 1;
		return 1;
	}
	pos -= len;
	bpf_probe_read_kernel(&s->cwd[pos & (CWD_AREA - 1)], len, name);
	pos -= 1;
	s->cwd[pos & (CWD_AREA - 1)] = '/';
	c->pos = pos;
	c->d = parent;
	return 0;
}

/*
 * Record the address of a successful connect() on socket ino, made absolute against the
 * task's cwd when relative (no ./.. folding: the kernel resolved it the same way).
 */
static void record_conn(__u64 ino, __u64 sk, __u64 uaddr, __u32 addrlen)
{
	struct fs_struct *fs = BPF_CORE_READ(cur_task(), fs);
	struct cwd_walk w = {};
	struct conn_scratch *s;
	__u64 ulen, clen, total;
	__u32 zero = 0;
	__u16 family = 0;
	long n;

	if (addrlen <= SUN_FAMILY_LEN ||
	    bpf_probe_read_user(&family, sizeof(family), (void *)uaddr) || family != AF_UNIX) {
		bpf_map_delete_elem(&conn_addr, &ino); /* AF_UNSPEC: dgram disconnect */
		return;
	}
	s = bpf_map_lookup_elem(&conn_buf, &zero);
	if (!s)
		return;
	__builtin_memset(&s->c, 0, sizeof(s->c));
	s->c.sk = sk;
	ulen = addrlen - SUN_FAMILY_LEN;
	/* barriers around each clamp: clang would pass the unclamped register on */
	barrier_var(ulen);
	if (ulen > CRUX_SUN_PATH_MAX)
		ulen = CRUX_SUN_PATH_MAX;
	barrier_var(ulen);
	if (bpf_probe_read_user(s->upath, ulen, (void *)(uaddr + SUN_FAMILY_LEN)))
		return;
	if (s->upath[0] == '\0') { /* abstract: binary, as given */
		bpf_probe_read_kernel(s->c.path, ulen, s->upath);
		s->c.len = ulen;
		bpf_map_update_elem(&conn_addr, &ino, &s->c, BPF_ANY);
		return;
	}
	/* a path ends at its NUL or at addrlen */
	s->upath[ulen] = '\0';
	n = bpf_probe_read_kernel_str(s->out, CRUX_SUN_PATH_MAX + 1, s->upath);
	ulen = n > 0 ? n - 1 : 0;
	barrier_var(ulen);
	if (ulen > CRUX_SUN_PATH_MAX)
		ulen = CRUX_SUN_PATH_MAX;
	barrier_var(ulen);
	if (s->upath[0] == '/') {
		bpf_probe_read_kernel(s->c.path, ulen, s->upath);
		s->c.len = ulen;
		bpf_map_update_elem(&conn_addr, &ino, &s->c, BPF_ANY);
		return;
	}
	if (!fs)
		return;
	w.d = BPF_CORE_READ(fs, pwd.dentry);
	w.mnt = BPF_CORE_READ(fs, pwd.mnt);
	w.root_d = BPF_CORE_READ(fs, root.dentry);
	w.root_mnt = BPF_CORE_READ(fs, root.mnt);
	w.pos = CWD_AREA;
	bpf_loop(CWD_DEPTH, cwd_step, &w, 0);
	s->c.relative = 1;
	s->c.truncated = w.truncated || !w.done;

	/* out = cwd + "/" + relative path */
	clen = CWD_AREA - (w.pos & (CWD_AREA - 1));
	if (w.pos >= CWD_AREA)
		clen = 0;
	barrier_var(clen);
	if (clen > CRUX_CONN_PATH_MAX - 1) {
		clen = CRUX_CONN_PATH_MAX - 1;
		s->c.truncated = 1;
	}
	barrier_var(clen);
	bpf_probe_read_kernel(s->out, clen, &s->cwd[w.pos & (CWD_AREA - 1)]);
	s->out[clen] = '/';
	bpf_probe_read_kernel(&s->out[clen + 1], ulen, s->upath);
	total = clen + 1 + ulen;
	if (total > CRUX_CONN_PATH_MAX) {
		total = CRUX_CONN_PATH_MAX;
		s->c.truncated = 1;
	}
	bpf_probe_read_kernel(s->c.path, sizeof(s->c.path), s->out);
	s->c.len = total;
	bpf_map_update_elem(&conn_addr, &ino, &s->c, BPF_ANY);
}

SEC("tracepoint/syscalls/sys_enter_connect")
int tp_sys_enter_connect(struct trace_event_raw_sys_enter *ctx)
{
	stash_sk(ctx->args[0], ctx->args[1], ctx->args[2]);
	return 0;
}

/*
 * A connect changes three sockets: ours, the new peer (a dgram connect moves the server
 * to ESTABLISHED) and the old peer of a dgram reconnect (may drop back to CLOSE).
 */
SEC("tracepoint/syscalls/sys_exit_connect")
int tp_sys_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	struct sock *sk, *peer, *old;
	struct crux_sock *v, *ov;
	__u64 ino;
	struct call c;

	if (take_call(&c) || ctx->ret != 0)
		return 0;
	sk = (struct sock *)c.sk;
	v = refresh(sk, cur_task(), false);
	if (!v)
		return 0;
	ino = v->ino;
	emit(CRUX_EV_CONNECT, ino, v);
	peer = unix_peer(sk);
	if (peer)
		refresh_peer(peer);
	/* the old peer may be freed by now: refresh it only if it is still the socket we knew */
	old = (struct sock *)c.old_peer;
	if (old && old != peer && c.old_peer_ino && sk_ino(old) == c.old_peer_ino &&
	    (ov = bpf_map_lookup_elem(&peers, &c.old_peer_ino)) && ov->sk == c.old_peer)
		refresh_peer(old);
	record_conn(ino, c.sk, c.uaddr, c.addrlen);
	return 0;
}

/*
 * A send on a connected dgram socket whose peer died fails with ECONNREFUSED and the
 * kernel disconnects the sender (unix_dgram_sendmsg: peer NULL, TCP_CLOSE). Only the exit
 * tells, and every send on the host comes through: the first test is the return value,
 * the fd is read from the syscall's saved registers (first argument) only on a refusal.
 * A sendmmsg that sent some datagrams before the refusal returns their count (fewer than
 * vlen, its third argument) and keeps the error in sk_err: refreshed too. write()/writev()
 * on such a socket disconnect it the same way; hooking every write on the host is not
 * worth it, so those are left to reconcile.
 */
#define ECONNREFUSED 111

static __always_inline void send_refused(void)
{
	struct sock *sk = cur_fd_unix_sk((int)PT_REGS_PARM1_SYSCALL(syscall_regs()));
	struct crux_sock *v;

	if (!sk)
		return;
	/* the recorded owner stays: the sender may hold a copy (crux dump's probe sends one) */
	v = refresh(sk, NULL, false);
	if (v)
		emit(CRUX_EV_CONNECT, v->ino, v);
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int tp_sys_exit_sendto(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret != -ECONNREFUSED)
		return 0;
	send_refused();
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int tp_sys_exit_sendmsg(struct trace_event_raw_sys_exit *ctx)
{
	if (ctx->ret != -ECONNREFUSED)
		return 0;
	send_refused();
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int tp_sys_exit_sendmmsg(struct trace_event_raw_sys_exit *ctx)
{
	struct pt_regs *regs;

	if (ctx->ret != -ECONNREFUSED) {
		if (ctx->ret <= 0)
			return 0;
		regs = syscall_regs();
		if ((unsigned long)ctx->ret >= (unsigned int)PT_REGS_PARM3_SYSCALL(regs))
			return 0;
	}
	send_refused();
	return 0;
}

/* accept: the new socket, and its peer (the client), which now has a real peer inode. */
static __always_inline void accepted(long fd)
{
	struct sock *sk, *peer;
	struct crux_sock *v;

	if (fd < 0 || !(sk = cur_fd_unix_sk(fd)))
		return;
	v = refresh(sk, cur_task(), false);
	if (v)
		emit(CRUX_EV_ACCEPT, v->ino, v);
	peer = unix_peer(sk);
	if (peer)
		refresh_peer(peer);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_sys_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_sys_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	accepted(ctx->ret);
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unix sockets: the kernel's exact view of each tree socket (sock_diag by inode: type,
 * state, peer, name, shutdown, queue lengths, a listener's pending connections), the
 * self-containment verdict of classify.h over the outside sockets mapsrc.h knows (the
 * live map, else sock_diag and /proc: the source crux-map reads too), then files.img
 * entries (with CRIU's extern peer entries), crux-ext.img for accepted externals and
 * sk-queues.img for receive queues (unix_queue.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <linux/unix_diag.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "classify.h"
#include "dumpctx.h"
#include "fd.h"
#include "fd_unix.h"
#include "img.h"
#include "log.h"
#include "mapsrc.h"
#include "sockdiag.h"
#include "treeiter.h"
#include "util.h"
#include "crux_ext.pb-c.h"
#include "fdinfo.pb-c.h"
#include "sk_packet.pb-c.h"
#include "sk_unix.pb-c.h"

/* <linux/un.h> would clash with <sys/un.h> */
#ifndef SIOCUNIXFILE
#define SIOCUNIXFILE (SIOCPROTOPRIVATE + 0)
#endif

#define SHOW_ALL \
	(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN)
#define TCP_ESTABLISHED_ 1
#define TCP_LISTEN_ 10
#define USK_EXTERN 1
static struct dump_unix *state(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_unix);

	if (!slot)
		return NULL;
	if (!*slot)
		*slot = calloc(1, sizeof(struct dump_unix));
	return *slot;
}

/* The state collect() made, or NULL: no unix socket in the tree. */
static struct dump_unix *state_get(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_unix);

	return slot ? *slot : NULL;
}

static bool unix_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st->st_mode) && p->family == AF_UNIX;
}

static void name_fmt(const char *name, size_t len, char *out, size_t sz)
{
	if (!len)
		snprintf(out, sz, "(unbound)");
	else
		unix_name_format(name, len, out, sz);
}

/* sock_diag reports a path name with the NUL bind() added: keep the path bytes only. */
static void strip_nul(struct sockdiag_unix *d)
{
	if (d->name_len && d->name[0])
		d->name_len = (__u16)strnlen(d->name, d->name_len);
}

static int unix_collect(struct dump_ctx *ctx, struct dump_fd *f)
{
	struct dump_unix *u = state(ctx);
	struct usk *s;

	if (!u)
		return -ENOMEM;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 32;
		struct usk *nv = realloc(u->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		u->v = nv;
		u->cap = cap;
	}
	s = &u->v[u->n++];
	memset(s, 0, sizeof(*s));
	s->fdi = (size_t)(f - ctx->fds);
	s->d.ino = (__u32)f->st.st_ino;
	return 0;
}

static void diag_to_sock(const struct sockdiag_unix *d, struct crux_sock *s)
{
	memset(s, 0, sizeof(*s));
	s->ino = d->ino;
	s->peer_ino = d->peer_ino;
	s->type = d->type;
	s->state = d->state;
	s->name_len = d->name_len;
	memcpy(s->name, d->name, MIN((size_t)d->name_len, sizeof(s->name)));
}

/* classify's lookups: the source's answer, path names without bind()'s NUL. */
static int lookup_sock(void *arg, __u64 ino, struct crux_sock *ret)
{
	int err = mapsrc_lookup(arg, ino, ret);

	if (!err && ret->name_len && ret->name[0])
		ret->name_len = (__u16)strnlen(ret->name, ret->name_len);
	return err;
}

static int lookup_conn(void *arg, __u64 ino, struct crux_conn *ret)
{
	return mapsrc_lookup_conn(arg, ino, ret);
}

static struct usk *find_usk(struct dump_unix *u, uint32_t ino)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (u->v[i].d.ino == ino)
			return &u->v[i];
	return NULL;
}

/*
 * A connected stream/seqpacket socket whose peer has inode 0 is a client whose connection
 * waits in a listener's accept queue (the embryo has no inode): find that listener.
 */
static int resolve_embryo(struct dump_unix *u, struct usk *s)
{
	size_t i, j;

	if (!s->d.has_peer || s->d.peer_ino || s->d.state != TCP_ESTABLISHED_ ||
	    s->d.type == SOCK_DGRAM)
		return 0;
	for (i = 0; i < u->n; i++)
		for (j = 0; j < u->v[i].d.n_icons; j++)
			if (u->v[i].d.icons[j] == s->d.ino) {
				s->listener_ino = u->v[i].d.ino;
				return 0;
			}
	s->listener_ino = mapsrc_embryo_listener(u->src, s->d.ino);
	return 0;
}

/*
 * Outside sockets pointing into the tree (peers, or clients queued on our listeners). Only
 * listeners and datagram sockets an outsider can address can be pointed at
 * (classify_may_be_targeted, the rule crux-map external uses too): a tree without any skips
 * the host-wide pass, which costs seconds at 200k sockets.
 */
static int collect_inbound(struct dump_ctx *ctx, struct dump_unix *u,
			   const struct classify_sock *cs, struct crux_sock **ret, size_t *ret_n)
{
	_cleanup_free_ __u64 *inos = NULL;
	size_t i, nc = 0;
	int err;

	inos = calloc(u->n + 1, sizeof(*inos));
	if (!inos)
		return -ENOMEM;
	for (i = 0; i < u->n; i++)
		if (classify_may_be_targeted(&cs[i].sk))
			inos[nc++] = u->v[i].d.ino;
	if (!nc) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	err = mapsrc_list_inbound(u->src, inos, nc, ret, ret_n);
	if (err)
		return pr_err_ret(err, "cannot list the sockets pointing into the tree: %s",
				  strerror(-err));
	return 0;
}

/*
 * A name bound relative to its process's cwd: the socket's own file (SIOCUNIXFILE) says
 * where it is, as crux sees it; the directory is what precedes the name. *ret malloc'ed.
 */
static int relative_dir(int sk, const char *name, char **ret)
{
	_cleanup_close_ int pfd = ioctl(sk, SIOCUNIXFILE);
	_cleanup_free_ char *link = NULL;
	char what[32];
	size_t ll, nl = strlen(name);
	int err;

	if (pfd < 0)
		return -errno;
	snprintf(what, sizeof(what), "fd/%d", pfd);
	err = proc_readlink(getpid(), what, &link);
	if (err)
		return err;
	ll = strlen(link);
	if (ll > 10 && !strcmp(link + ll - 10, " (deleted)"))
		ll -= 10;
	if (ll <= nl + 1 || strncmp(link + ll - nl, name, nl) || link[ll - nl - 1] != '/')
		return -ENOENT;
	*ret = strndup(link, ll - nl - 1 ? ll - nl - 1 : 1);
	return *ret ? 0 : -ENOMEM;
}

static int check_name(struct dump_ctx *ctx, struct usk *s)
{
	const struct dump_fd *f = &ctx->fds[s->fdi];
	char path[PATH_MAX], d[96];

	if (!s->d.name_len || s->d.name[0] == 0)
		return 0; /* unbound or abstract */
	/* a server-side accepted socket carries its listener's name: not its own file */
	if (s->d.state == TCP_ESTABLISHED_ && s->d.type != SOCK_DGRAM)
		return 0;
	memcpy(path, s->d.name, s->d.name_len);
	path[s->d.name_len] = 0;
	if (path[0] != '/') {
		int err = relative_dir(f->stolen, path, &s->name_dir);

		if (err)
			return pr_err_ret(err,
					  "%s: unix socket %u is bound to the relative path '%s': "
					  "cannot tell the directory it was bound in: %s",
					  dump_fd_desc(ctx, f, d, sizeof(d)), s->d.ino, path,
					  strerror(-err));
		if (snprintf(path, sizeof(path), "%s/%.*s", s->name_dir, (int)s->d.name_len,
			     s->d.name) >= (int)sizeof(path))
			return pr_err_ret(-ENAMETOOLONG, "unix socket %u: %s/%.*s is too long",
					  s->d.ino, s->name_dir, (int)s->d.name_len, s->d.name);
	}
	if (stat(path, &s->name_st) || !s->d.has_vfs || s->name_st.st_ino != s->d.vfs_ino) {
		s->deleted = true;
		return 0;
	}
	s->has_name_st = true;
	return 0;
}

/* States crux cannot restore: refused before anything is written. */
static int check_state(struct dump_ctx *ctx, struct usk *s)
{
	const struct dump_fd *f = &ctx->fds[s->fdi];
	char d[96];

	dump_fd_desc(ctx, f, d, sizeof(d));
	if (s->d.type != SOCK_STREAM && s->d.type != SOCK_DGRAM && s->d.type != SOCK_SEQPACKET)
		return pr_err_ret(-EOPNOTSUPP, "%s: unix socket %u has type %u: not supported", d,
				  s->d.ino, s->d.type);
	if (s->listener_ino && s->d.wqlen)
		return pr_err_ret(-EOPNOTSUPP,
				  "%s: unix socket %u wrote %u bytes into a connection that "
				  "listener %u has not accepted yet: those bytes cannot be read "
				  "without accepting it; not supported",
				  d, s->d.ino, s->d.wqlen, s->listener_ino);
	return 0;
}

static int report(struct dump_ctx *ctx, struct dump_unix *u)
{
	char msg[CLASSIFY_MSG_MAX];
	int failed = 0;
	size_t i;

	for (i = 0; i < u->rep->n; i++) {
		const struct classify_result *r = &u->rep->res[i];

		if (i < u->rep->n_tree)
			u->v[i].res = r;
		switch (r->cls) {
		case CLASSIFY_INTERNAL:
			u->nr_internal++;
			continue;
		case CLASSIFY_INBOUND:
			u->nr_inbound++;
			classify_format_msg(r, msg, sizeof(msg));
			pr_warn("%s", msg);
			continue;
		case CLASSIFY_EXTERNAL:
			u->nr_external++;
			break;
		default:
			u->nr_other++;
			if (r->action != CLASSIFY_ACT_REFUSE)
				continue;
		}
		classify_format_msg(r, msg, sizeof(msg));
		if (r->action == CLASSIFY_ACT_REFUSE) {
			pr_err("%s", msg);
			failed = -EXDEV;
		} else {
			pr_info("%s", msg);
		}
	}
	return failed;
}

/*
 * The facts the tree iterator read from the kernel (shutdown included), and what it does
 * not carry, without sock_diag (a query by inode walks the whole host table: 20-45 ms per
 * socket at 200k sockets): queue length by SIOCOUTQ, the bound file by SIOCUNIXFILE.
 */
static void facts_from_rec(struct usk *s)
{
	s->d.type = (__u8)s->rec.type;
	s->d.state = s->rec.state;
	s->d.peer_ino = (__u32)s->rec.peer_ino;
	s->d.has_peer = s->rec.peer_ino || (s->rec.flags & CRUX_SK_EMBRYO);
	s->d.name_len = MIN(s->rec.name_len, (__u16)sizeof(s->d.name));
	memcpy(s->d.name, s->rec.name, s->d.name_len);
	s->d.shutdown = s->rec.shutdown;
	strip_nul(&s->d);
}

/* One socket's facts from sock_diag (listener backlog, or what probing cannot tell). */
static int facts_from_diag(struct dump_ctx *ctx, struct usk *s)
{
	struct sockdiag_unix d;
	char desc[96];
	int err;

	err = sockdiag_query_unix(s->d.ino, SHOW_ALL, &d);
	if (err)
		return pr_err_ret(err, "%s: sock_diag has no unix socket %u: %s",
				  dump_fd_desc(ctx, &ctx->fds[s->fdi], desc, sizeof(desc)),
				  s->d.ino, strerror(-err));
	strip_nul(&d);
	if (s->has_rec && (d.peer_ino != s->d.peer_ino || d.type != s->d.type))
		pr_warn("unix socket %u: the tree iterator (peer %u, type %u) and sock_diag (peer "
			"%u, type %u) disagree",
			s->d.ino, s->d.peer_ino, s->d.type, d.peer_ino, d.type);
	sockdiag_unix_clear(&s->d);
	s->d = d;
	return 0;
}

static void facts_vfs(struct usk *s, int fd)
{
	struct stat st;
	int pfd;

	if (!s->d.name_len || !s->d.name[0])
		return;
	pfd = ioctl(fd, SIOCUNIXFILE);
	if (pfd < 0)
		return;
	if (!fstat(pfd, &st)) {
		s->d.has_vfs = 1;
		s->d.vfs_ino = (__u32)st.st_ino;
		s->d.vfs_dev = (__u32)st.st_dev;
	}
	close(pfd);
}

static int fill_facts(struct dump_ctx *ctx, struct dump_unix *u)
{
	size_t i;
	int err, outq;

	for (i = 0; i < u->n; i++) {
		struct usk *s = &u->v[i];
		int fd = ctx->fds[s->fdi].stolen;

		if (!s->has_rec || (s->rec.state == TCP_LISTEN_ && !s->has_icons)) {
			/* no tree iterator, or a listener whose accept queue it did not list */
			err = facts_from_diag(ctx, s);
			if (err)
				return err;
			if (!s->has_rec)
				err = resolve_embryo(u, s);
			if (err)
				return err;
			continue;
		}
		facts_from_rec(s);
		if (s->rec.state == TCP_LISTEN_) {
			/* as sock_diag gives a listener's: queue length and listen() backlog */
			s->d.has_rqlen = 1;
			s->d.rqlen = s->d.n_icons;
			s->d.wqlen = s->rec.max_backlog;
		} else if (ioctl(fd, SIOCOUTQ, &outq) == 0) {
			s->d.wqlen = (__u32)outq;
		}
		facts_vfs(s, fd);
	}
	return 0;
}

/*
 * Where owners and inbound sockets come from: the live map of `crux track`; without one,
 * a one-shot sock_diag snapshot plus a /proc scan for owners (faster here than loading the
 * BPF seed iterators for a single dump).
 */
static int open_map(struct dump_ctx *ctx, struct dump_unix *u)
{
	__u32 abi = 0;
	int err;

	if (ctx->opts->no_map) {
		pr_info("--no-map: outside sockets looked up with a one-shot sock_diag snapshot");
		return mapsrc__open_diag(dump_outside_tree, ctx, &u->src);
	}
	err = mapsrc__open_live(ctx->opts->pin_dir, &u->src, &abi);
	if (err == -ENOENT)
		pr_info("crux track is not running: outside sockets looked up with a one-shot "
			"sock_diag snapshot");
	else if (err == -EPROTO)
		pr_warn("the live map was pinned by a crux of ABI %u (this one: %u): ignored, "
			"using a one-shot sock_diag snapshot",
			abi, CRUX_ABI_VERSION);
	else if (err)
		pr_warn("cannot open the live map (%s): using a one-shot sock_diag snapshot",
			strerror(-err));
	if (err)
		return mapsrc__open_diag(dump_outside_tree, ctx, &u->src);
	pr_debug("using the live map of crux track");
	if (mapsrc_incomplete(u->src))
		pr_warn("the live map is incomplete (it filled up): its answers may miss sockets");
	return 0;
}

/*
 * Listeners' accept queues from the tree iterator: the clients' inodes into d.icons. Records
 * come per fd; the primary fd's are taken. A queue longer than the iterator lists is left
 * to sock_diag (has_icons cleared).
 */
static int attach_icons(struct dump_ctx *ctx, struct dump_unix *u, const struct crux_icon_rec *v,
			size_t n)
{
	size_t i, j, k;

	for (i = 0; i < n; i = j) {
		struct usk *s = find_usk(u, (uint32_t)v[i].listener_ino);

		for (j = i; j < n && v[j].listener_ino == v[i].listener_ino && v[j].fd == v[i].fd;)
			j++;
		if (!s || !s->has_icons || ctx->fds[s->fdi].fd != v[i].fd ||
		    ctx->fds[s->fdi].pid != (pid_t)v[i].tgid)
			continue;
		if (v[i].qlen != j - i) {
			s->has_icons = false;
			continue;
		}
		s->d.icons = malloc((j - i) * sizeof(*s->d.icons));
		if (!s->d.icons)
			return -ENOMEM;
		for (k = i; k < j; k++)
			s->d.icons[k - i] = (uint32_t)v[k].client_ino;
		s->d.n_icons = (__u32)(j - i);
	}
	return 0;
}

/* The tree iterator's exact records, attached to each tree socket by inode. */
static int attach_tree_records(struct dump_ctx *ctx, struct dump_unix *u)
{
	struct treeiter *ti = dump_treeiter(ctx);
	size_t i, j, n;
	int err;

	if (!ti)
		return 0;
	for (i = 0; i < ctx->tree.n; i++) {
		_cleanup_free_ struct crux_fd_rec *recs = NULL;
		_cleanup_free_ struct crux_icon_rec *icons = NULL;
		pid_t pid = ctx->tree.tasks[i].pid;

		err = treeiter__unix_fds(ti, pid, &recs, &n);
		if (err) {
			pr_warn("tree iterator failed on pid %d (%s): using sock_diag's view", pid,
				strerror(-err));
			continue;
		}
		for (j = 0; j < n; j++) {
			struct usk *s = find_usk(u, (uint32_t)recs[j].ino);

			if (s && !s->has_rec) {
				s->rec = recs[j];
				s->has_rec = true;
			}
		}
		/* without its accept queue a listener asks sock_diag, as before */
		if (treeiter__icons(ti, pid, &icons, &n))
			continue;
		/* an empty queue lists nothing: this task's listeners start known-empty */
		for (j = 0; j < u->n; j++) {
			struct usk *s = &u->v[j];

			if (ctx->fds[s->fdi].pid == pid && s->has_rec &&
			    s->rec.state == TCP_LISTEN_)
				s->has_icons = true;
		}
		err = attach_icons(ctx, u, icons, n);
		if (err)
			return err;
	}
	return 0;
}

/* Two exact kernel views, and the map: any disagreement is a bug worth reporting. */
static void cross_check(struct dump_ctx *ctx, struct dump_unix *u, struct usk *s)
{
	struct crux_sock m;

	if (mapsrc_kind(u->src) != MAPSRC_LIVE)
		return;
	if (mapsrc_lookup(u->src, s->d.ino, &m)) {
		pr_warn("unix socket %u of pid %d is missing from the live map", s->d.ino,
			ctx->fds[s->fdi].pid);
		return;
	}
	if (m.peer_ino != s->d.peer_ino || m.type != s->d.type)
		pr_warn("unix socket %u: the live map says peer %llu type %u, the kernel says "
			"peer %u type %u",
			s->d.ino, (unsigned long long)m.peer_ino, m.type, s->d.peer_ino, s->d.type);
}

static void to_classify_sock(struct dump_ctx *ctx, struct usk *s, struct classify_sock *c)
{
	const struct dump_fd *f = &ctx->fds[s->fdi];

	c->pid = (__u32)f->pid;
	c->fd = f->fd;
	memcpy(c->comm, dump_comm(ctx, f->pid), sizeof(c->comm));
	diag_to_sock(&s->d, &c->sk);
	if (s->has_rec) {
		c->sk.sk = s->rec.sk;
		c->sk.peer_ino = s->rec.peer_ino;
		c->sk.peer_sk = s->rec.peer_sk;
		c->sk.type = s->rec.type;
		c->sk.state = s->rec.state;
		c->sk.flags = s->rec.flags & (CRUX_SK_EMBRYO | CRUX_SK_DEAD);
		if (s->rec.flags & CRUX_SK_EMBRYO)
			s->listener_ino = (uint32_t)s->rec.listener_ino;
	} else if (s->d.state == TCP_ESTABLISHED_ && s->d.type != SOCK_DGRAM && !s->d.peer_ino &&
		   !s->listener_ino) {
		c->sk.flags |= CRUX_SK_DEAD;
	}
	if (s->listener_ino) {
		c->sk.flags |= CRUX_SK_EMBRYO;
		c->sk.listener_ino = s->listener_ino;
	}
}

static int classify_all(struct dump_ctx *ctx, struct dump_unix *u, struct classify_sock *cs)
{
	struct classify_lookup lk = { .sock = lookup_sock, .conn = lookup_conn, .ctx = u->src };
	struct classify_policy pol = {
		.ext_unix_sk = ctx->opts->ext_unix_sk,
		.inos = (const __u64 *)ctx->opts->ext_inos,
		.n_inos = ctx->opts->n_ext_inos,
		.peer_ino_is_live = true,
	};
	_cleanup_free_ struct crux_sock *inbound = NULL;
	size_t i, n_in = 0;
	int err, failed = 0;

	for (i = 0; i < u->n; i++) {
		struct usk *s = &u->v[i];

		to_classify_sock(ctx, s, &cs[i]);
		cross_check(ctx, u, s);
		err = check_state(ctx, s);
		if (!err)
			err = check_name(ctx, s);
		if (err == -ENOMEM)
			return err;
		if (err && !failed)
			failed = err;
	}
	err = collect_inbound(ctx, u, cs, &inbound, &n_in);
	if (err)
		return err;
	err = classify_tree(cs, u->n, inbound, n_in, &lk, &pol, &u->rep);
	if (err)
		return pr_err_ret(err, "cannot classify the tree's sockets: %s", strerror(-err));
	err = report(ctx, u);
	return failed ? failed : err;
}

static int unix_check(struct dump_ctx *ctx)
{
	struct dump_unix *u = state_get(ctx);
	struct classify_sock *cs;
	int err;

	if (!u || !u->n)
		return 0;
	err = open_map(ctx, u);
	if (!err)
		err = attach_tree_records(ctx, u);
	if (!err)
		err = fill_facts(ctx, u);
	if (err)
		return err;
	cs = calloc(u->n, sizeof(*cs));
	err = cs ? classify_all(ctx, u, cs) : -ENOMEM;
	free(cs);
	if (err == -EXDEV)
		pr_err("External socket is used: the dump was refused (every external socket of "
		       "the tree is listed above)");
	return err;
}

/* ---- writing ---- */

static void fill_opts(int sk, SkOptsEntry *o)
{
	int v = 0;
	struct timeval tv;
	socklen_t l;

	l = sizeof(v);
	if (!getsockopt(sk, SOL_SOCKET, SO_SNDBUF, &v, &l))
		o->so_sndbuf = (uint32_t)v;
	l = sizeof(v);
	if (!getsockopt(sk, SOL_SOCKET, SO_RCVBUF, &v, &l))
		o->so_rcvbuf = (uint32_t)v;
	l = sizeof(tv);
	if (!getsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &tv, &l))
		o->so_snd_tmo_sec = (uint64_t)tv.tv_sec, o->so_snd_tmo_usec = (uint64_t)tv.tv_usec;
	l = sizeof(tv);
	if (!getsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, &l))
		o->so_rcv_tmo_sec = (uint64_t)tv.tv_sec, o->so_rcv_tmo_usec = (uint64_t)tv.tv_usec;
	l = sizeof(v);
	if (!getsockopt(sk, SOL_SOCKET, SO_PASSCRED, &v, &l)) {
		o->has_so_passcred = true;
		o->so_passcred = v != 0;
	}
	l = sizeof(v);
	if (!getsockopt(sk, SOL_SOCKET, SO_PASSSEC, &v, &l)) {
		o->has_so_passsec = true;
		o->so_passsec = v != 0;
	}
}

static int write_usk(struct dump_ctx *ctx, struct usk *s)
{
	const struct dump_fd *f = &ctx->fds[s->fdi];
	FileEntry fe = FILE_ENTRY__INIT;
	UnixSkEntry e = UNIX_SK_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	FilePermsEntry perms = FILE_PERMS_ENTRY__INIT;

	e.id = f->file_id;
	e.ino = s->d.ino;
	e.type = s->d.type;
	e.state = s->d.state;
	e.flags = f->fi.flags;
	e.uflags = 0;
	e.backlog = s->d.wqlen;
	/* a pending client's peer is the listener it waits on (CRIU's convention) */
	e.peer = s->listener_ino ? s->listener_ino : s->d.peer_ino;
	e.fown = &fown;
	fill_opts(f->stolen, &opts);
	e.opts = &opts;
	e.name.data = (uint8_t *)s->d.name;
	e.name.len = s->d.name_len;
	if (s->d.shutdown) {
		e.has_shutdown = true;
		e.shutdown = (SkShutdown)s->d.shutdown;
	}
	e.name_dir = s->name_dir;
	if (s->deleted) {
		e.has_deleted = true;
		e.deleted = true;
	} else if (s->has_name_st) {
		perms.mode = s->name_st.st_mode;
		perms.uid = s->name_st.st_uid;
		perms.gid = s->name_st.st_gid;
		e.file_perms = &perms;
	}
	fe.type = FD_TYPES__UNIXSK;
	fe.id = f->file_id;
	fe.usk = &e;
	return dump_write_file_entry(ctx, &fe);
}

/* CRIU's extern entry for an outside peer: what restore connects to. */
static int write_extern_peer(struct dump_ctx *ctx, const struct classify_result *r)
{
	FileEntry fe = FILE_ENTRY__INIT;
	UnixSkEntry e = UNIX_SK_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;

	e.id = dump_new_id(ctx);
	e.ino = (uint32_t)r->peer.ino;
	e.type = r->peer.type ? r->peer.type : SOCK_DGRAM;
	e.state = TCP_LISTEN_;
	e.uflags = USK_EXTERN;
	e.peer = 0;
	e.fown = &fown;
	e.opts = &opts;
	e.name.data = (uint8_t *)r->peer.name;
	e.name.len = r->peer.name_len;
	fe.type = FD_TYPES__UNIXSK;
	fe.id = e.id;
	fe.usk = &e;
	return dump_write_file_entry(ctx, &fe);
}

static int write_ext(struct dump_ctx *ctx, struct img *img, struct usk *s)
{
	const struct classify_result *r = s->res;
	const struct dump_fd *f = &ctx->fds[s->fdi];
	CruxExtEntry e = CRUX_EXT_ENTRY__INIT;
	int err;

	err = write_extern_peer(ctx, r);
	if (err)
		return err;
	e.has_ino = e.has_file_id = e.has_owner_pid = e.has_owner_fd = e.has_type = true;
	e.has_peer_ino = e.has_peer_name = e.has_addr = e.has_policy = true;
	e.ino = s->d.ino;
	e.file_id = f->file_id;
	e.owner_pid = (uint32_t)f->pid;
	e.owner_fd = (uint32_t)f->fd;
	e.type = s->d.type;
	e.peer_ino = (uint32_t)r->peer.ino;
	e.peer_name.data = (uint8_t *)r->peer.name;
	e.peer_name.len = r->peer.name_len;
	e.addr.data = (uint8_t *)r->addr;
	e.addr.len = r->addr_len;
	e.policy = r->action == CLASSIFY_ACT_RECONNECT_DGRAM ?
			   CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_DGRAM :
			   CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_STREAM;
	if (r->peer_pid) {
		e.has_peer_owner_pid = true;
		e.peer_owner_pid = r->peer_pid;
		e.peer_owner_comm = (char *)r->peer_comm;
	}
	err = img_write_one(img, &e.base);
	if (err)
		return pr_err_ret(err, "cannot write crux-ext.img: %s", img_error());
	return 0;
}

static int unix_write(struct dump_ctx *ctx)
{
	struct dump_unix *u = state_get(ctx);
	struct img *ext = NULL, *q = NULL;
	size_t i;
	int err;

	err = img__open(ctx->dirfd, IMG_CRUX_EXT, 0, IMG_WRITE, &ext);
	if (!err)
		err = img__open(ctx->dirfd, IMG_SK_QUEUES, 0, IMG_WRITE, &q);
	if (err) {
		pr_err("cannot create an image: %s", img_error());
		goto out;
	}
	for (i = 0; u && i < u->n && !err; i++) {
		struct usk *s = &u->v[i];
		char nm[256];

		err = write_usk(ctx, s);
		if (!err && s->res && s->res->cls == CLASSIFY_EXTERNAL && s->res->accepted)
			err = write_ext(ctx, ext, s);
		if (!err)
			err = unix_write_queue(ctx, q, s);
		name_fmt(s->d.name, s->d.name_len, nm, sizeof(nm));
		pr_debug("unix %u type %u state %u peer %u name %s: %zu queued message(s)",
			 s->d.ino, s->d.type, s->d.state, s->d.peer_ino, nm, s->nq);
	}
	if (!err) {
		err = img__close(TAKE_PTR(ext));
		if (!err)
			err = img__close(TAKE_PTR(q));
		if (err)
			pr_err("cannot write an image: %s", img_error());
	}
out:
	img__close(ext);
	img__close(q);
	return err;
}

static void unix_cleanup(struct dump_ctx *ctx)
{
	struct dump_unix *u = state_get(ctx);
	size_t i, j;

	if (!u)
		return;
	for (i = 0; i < u->n; i++) {
		sockdiag_unix_clear(&u->v[i].d);
		free(u->v[i].name_dir);
		for (j = 0; j < u->v[i].nq; j++) {
			free(u->v[i].q[j].data);
			free(u->v[i].q[j].rights);
		}
		free(u->v[i].q);
	}
	free(u->v);
	mapsrc__close(u->src);
	classify_report__free(u->rep);
	free(u);
	*dump_kstate(ctx, &fd_unix) = NULL;
}

static int unix_harvest(struct dump_ctx *ctx)
{
	return unix_read_queues(ctx, state_get(ctx));
}

static void unix_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	struct dump_unix *u = state_get(ctx);

	snprintf(buf, size, ", unix sockets %zu internal / %zu external / %zu inbound",
		 u ? u->nr_internal : 0, u ? u->nr_external : 0, u ? u->nr_inbound : 0);
}

const struct fd_kind fd_unix = {
	.name = "unix",
	.fd_type = FD_TYPES__UNIXSK,
	.match = unix_match,
	.collect = unix_collect,
	.harvest = unix_harvest,
	.check = unix_check,
	.write = unix_write,
	.summary = unix_summary,
	.cleanup = unix_cleanup,
	.load = unix_load,
	.validate = unix_validate,
	.create = unix_create,
	.abort = unix_abort,
	.release = unix_release,
	.show = unix_show,
};

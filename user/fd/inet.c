// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv4/IPv6 sockets, the dump half: TCP (unbound, bound, listening, established through
 * TCP_REPAIR), UDP and UDP-lite (bound, connected, with their queued datagrams), ICMP
 * datagram sockets. Everything is read on the stolen copy of the frozen task's socket;
 * what is changed there to read it (SO_PEEK_OFF, repair mode) is put back, except repair
 * mode on a connection whose task is killed: its copy is then closed in repair mode, so
 * the close sends nothing to the peer (no FIN, no reset) and leaves no TIME_WAIT behind.
 * An established connection whose other end is outside the tree is external: refused
 * unless --tcp-established, and then its traffic is dropped by an nftables table until the
 * restore (netlock.c).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "fd.h"
#include "img.h"
#include "inet.h"
#include "inet_restore.h"
#include "log.h"
#include "netlock.h"
#include "tcp_repair.h"
#include "util.h"
#include "crux_inet.pb-c.h"
#include "fdinfo.pb-c.h"
#include "sk_inet.pb-c.h"
#include "tcp_stream.pb-c.h"

#define DGRAM_MAX 65536
#define QUEUE_MAX_DGRAMS 65536

struct dgram {
	struct inet_ep from;
	uint32_t len;
	void *data;
};

/* One tree socket (its primary fd). */
struct isk {
	size_t fdi;
	uint32_t ino;
	int family, type, proto, state;
	struct inet_ep src, dst;
	bool connected;
	uint32_t backlog, accq; /* listener: max and current accept queue */
	int peer; /* established TCP: index of the other end in the tree, -1 if outside */
	bool icmp_queued; /* an ICMP socket with an echo reply waiting: refused */
	bool repair; /* repair mode is on on the stolen copy */
	struct tcp_conn conn;
	struct dgram *q;
	size_t nq;
	CruxSockopt *opts;
	size_t nopts;
	char cong[16]; /* TCP_CONGESTION when it differs from a fresh socket's, else "" */
};

struct dump_inet {
	struct isk *v;
	size_t n, cap;
	struct netlock *lock;
	size_t nr_internal, nr_external; /* established TCP connections */
};

static struct dump_inet *state(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_inet);

	if (!slot)
		return NULL;
	if (!*slot)
		*slot = calloc(1, sizeof(struct dump_inet));
	return *slot;
}

/* The state collect() made, or NULL: no inet socket in the tree. */
static struct dump_inet *state_get(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_inet);

	return slot ? *slot : NULL;
}

static bool inet_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st->st_mode) && (p->family == AF_INET || p->family == AF_INET6);
}

static const char *sk_desc(struct dump_ctx *ctx, const struct isk *s, char *buf, size_t sz)
{
	char d[96], a[64];

	dump_fd_desc(ctx, &ctx->fds[s->fdi], d, sizeof(d));
	snprintf(buf, sz, "%s: %s socket ino %u at %s", d, inet_proto_name(s->proto), s->ino,
		 inet_ep_text(&s->src, a, sizeof(a)));
	return buf;
}

static int gint(int sk, int level, int name, int *ret)
{
	socklen_t l = sizeof(*ret);

	*ret = 0;
	return getsockopt(sk, level, name, ret, &l) ? -errno : 0;
}

/* The generic options that differ from a fresh socket of the same kind. */
static int read_opts(struct isk *s, int sk)
{
	_cleanup_close_ int fresh = socket(s->family, s->type | SOCK_CLOEXEC, s->proto);
	size_t i;

	if (fresh < 0)
		return -errno;
	if (s->proto == IPPROTO_TCP) {
		char def[16] = "";
		socklen_t l = sizeof(s->cong) - 1, dl = sizeof(def) - 1;

		if (getsockopt(sk, SOL_TCP, TCP_CONGESTION, s->cong, &l) ||
		    getsockopt(fresh, SOL_TCP, TCP_CONGESTION, def, &dl) || !strcmp(s->cong, def))
			s->cong[0] = '\0';
	}
	s->opts = calloc(inet_nr_opts, sizeof(*s->opts));
	if (!s->opts)
		return -ENOMEM;
	for (i = 0; i < inet_nr_opts; i++) {
		const struct inet_opt *o = &inet_opts[i];
		int v, def;

		if ((o->dgram_only && s->type != SOCK_DGRAM) || gint(sk, o->level, o->name, &v) ||
		    gint(fresh, o->level, o->name, &def) || v == def)
			continue;
		crux_sockopt__init(&s->opts[s->nopts]);
		s->opts[s->nopts].has_level = s->opts[s->nopts].has_name = true;
		s->opts[s->nopts].has_val = true;
		s->opts[s->nopts].level = (uint32_t)o->level;
		s->opts[s->nopts].name = (uint32_t)o->name;
		s->opts[s->nopts++].val = v;
		pr_debug("inet %u: %s = %d (fresh socket: %d)", s->ino, o->text, v, def);
	}
	return 0;
}

/* Each datagram with its sender, the peek offset moving past it. */
static int peek_all(struct dump_ctx *ctx, struct isk *s, int sk)
{
	_cleanup_free_ char *buf = malloc(DGRAM_MAX);
	char d[160];
	int err = 0;

	if (!buf)
		return -ENOMEM;
	while (s->nq < QUEUE_MAX_DGRAMS) {
		struct sockaddr_storage from;
		struct iovec iov = { buf, DGRAM_MAX };
		struct msghdr mh = { .msg_name = &from,
				     .msg_namelen = sizeof(from),
				     .msg_iov = &iov,
				     .msg_iovlen = 1 };
		ssize_t n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
		struct dgram *q;

		if (n < 0) {
			if (errno != EAGAIN)
				err = pr_perror_ret("%s: cannot read its queue",
						    sk_desc(ctx, s, d, sizeof(d)));
			break;
		}
		if (n > DGRAM_MAX) {
			err = pr_err_ret(-EMSGSIZE,
					 "%s: a queued datagram of %zd bytes is larger "
					 "than crux reads (%d)",
					 sk_desc(ctx, s, d, sizeof(d)), n, DGRAM_MAX);
			break;
		}
		q = realloc(s->q, (s->nq + 1) * sizeof(*q));
		if (!q || !(q[s->nq].data = malloc((size_t)n ?: 1))) {
			if (q)
				s->q = q;
			err = -ENOMEM;
			break;
		}
		s->q = q;
		memcpy(q[s->nq].data, buf, (size_t)n);
		q[s->nq].len = (uint32_t)n;
		inet_ep_from_sa(&from, &q[s->nq].from);
		s->nq++;
	}
	return err;
}

/* Datagrams peeked from offset 0; the socket's own offset is put back. */
static int read_dgrams(struct dump_ctx *ctx, struct isk *s, int sk)
{
	int old = -1, zero = 0, err;
	char d[160];

	gint(sk, SOL_SOCKET, SO_PEEK_OFF, &old);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)))
		return pr_perror_ret("%s: cannot set SO_PEEK_OFF", sk_desc(ctx, s, d, sizeof(d)));
	err = peek_all(ctx, s, sk);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &old, sizeof(old)) && !err)
		err = pr_perror_ret("%s: cannot put SO_PEEK_OFF back",
				    sk_desc(ctx, s, d, sizeof(d)));
	return err;
}

static int read_addrs(struct isk *s, int sk)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (getsockname(sk, (struct sockaddr *)&ss, &l))
		return -errno;
	inet_ep_from_sa(&ss, &s->src);
	l = sizeof(ss);
	memset(&ss, 0, sizeof(ss));
	if (!getpeername(sk, (struct sockaddr *)&ss, &l)) {
		s->connected = true;
		inet_ep_from_sa(&ss, &s->dst);
	} else if (errno != ENOTCONN) {
		return -errno;
	} else {
		s->dst.family = s->family;
	}
	return 0;
}

static int tcp_facts(struct dump_ctx *ctx, struct isk *s, int sk)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);
	char d[160];

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(sk, IPPROTO_TCP, TCP_INFO, &ti, &l))
		return pr_perror_ret("%s: cannot read TCP_INFO", sk_desc(ctx, s, d, sizeof(d)));
	s->state = ti.tcpi_state;
	if (s->state == TCP_LISTEN) {
		/* a listener's TCP_INFO: unacked is the accept queue, sacked its maximum */
		s->accq = ti.tcpi_unacked;
		s->backlog = ti.tcpi_sacked;
	}
	switch (s->state) {
	case TCP_CLOSE:
	case TCP_LISTEN:
	case TCP_ESTABLISHED:
		return 0;
	case TCP_SYN_SENT:
		return pr_err_ret(-EOPNOTSUPP,
				  "%s: a connect() to %s is in progress (SYN_SENT): "
				  "not supported; dump once it is established",
				  sk_desc(ctx, s, d, sizeof(d)),
				  inet_ep_text(&s->dst, (char[64]){ 0 }, 64));
	default:
		return pr_err_ret(-EOPNOTSUPP,
				  "%s: TCP connection in state %u (closing: FIN_WAIT, "
				  "CLOSE_WAIT, LAST_ACK, CLOSING...) is not supported; dump once "
				  "the application has closed it",
				  sk_desc(ctx, s, d, sizeof(d)), s->state);
	}
}

static int inet_collect(struct dump_ctx *ctx, struct dump_fd *f)
{
	struct dump_inet *u = state(ctx);
	int sk = f->stolen, err;
	struct isk *s;
	char d[160];

	if (!u)
		return -ENOMEM;
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct isk *v = realloc(u->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		u->v = v;
		u->cap = cap;
	}
	s = &u->v[u->n];
	memset(s, 0, sizeof(*s));
	s->fdi = (size_t)(f - ctx->fds);
	s->ino = (uint32_t)f->st.st_ino;
	s->peer = -1;
	if (gint(sk, SOL_SOCKET, SO_DOMAIN, &s->family) ||
	    gint(sk, SOL_SOCKET, SO_TYPE, &s->type) ||
	    gint(sk, SOL_SOCKET, SO_PROTOCOL, &s->proto) || read_addrs(s, sk))
		return pr_perror_ret("%s: cannot read socket %s",
				     dump_fd_desc(ctx, f, d, sizeof(d)), f->link);
	u->n++;
	if (s->type == SOCK_RAW)
		return pr_err_ret(-EOPNOTSUPP,
				  "%s: %s is a raw IP socket (protocol %d): raw "
				  "sockets are not supported",
				  dump_fd_desc(ctx, f, d, sizeof(d)), f->link, s->proto);
	if (s->type == SOCK_STREAM && s->proto == IPPROTO_TCP)
		err = tcp_facts(ctx, s, sk);
	else if (s->type == SOCK_DGRAM && (s->proto == IPPROTO_UDP || s->proto == IPPROTO_UDPLITE ||
					   s->proto == IPPROTO_ICMP || s->proto == IPPROTO_ICMPV6))
		err = 0, s->state = s->connected ? TCP_ESTABLISHED : TCP_CLOSE;
	else
		return pr_err_ret(-EOPNOTSUPP,
				  "%s: %s is an IP socket of type %d protocol %d: not "
				  "supported (TCP, UDP, UDP-lite and ICMP datagram are)",
				  dump_fd_desc(ctx, f, d, sizeof(d)), f->link, s->type, s->proto);
	if (!err)
		err = read_opts(s, sk);
	if (!err && (s->proto == IPPROTO_UDP || s->proto == IPPROTO_UDPLITE))
		err = read_dgrams(ctx, s, sk);
	else if (!err && s->type == SOCK_DGRAM && recv(sk, d, 1, MSG_PEEK | MSG_DONTWAIT) >= 0)
		s->icmp_queued = true; /* refused by check(), which says why */
	return err;
}

/* ---- the self-containment check ---- */

static int find_peer(struct dump_inet *u, size_t i)
{
	size_t j;

	for (j = 0; j < u->n; j++)
		if (j != i && u->v[j].state == TCP_ESTABLISHED && u->v[j].proto == IPPROTO_TCP &&
		    inet_ep_equal(&u->v[j].src, &u->v[i].dst) &&
		    inet_ep_equal(&u->v[j].dst, &u->v[i].src))
			return (int)j;
	return -1;
}

static int check_one(struct dump_ctx *ctx, struct dump_inet *u, size_t i)
{
	struct isk *s = &u->v[i];
	char d[160], a[64];

	if (s->state == TCP_LISTEN && s->accq)
		return pr_err_ret(
			-EOPNOTSUPP,
			"%s: listener with %u connection(s) waiting in its "
			"accept queue: not supported (crux restores established connections, "
			"not ones not yet accepted); dump once they are accepted",
			sk_desc(ctx, s, d, sizeof(d)), s->accq);
	if (s->icmp_queued)
		return pr_err_ret(-EOPNOTSUPP,
				  "%s: echo replies are queued on an ICMP socket: "
				  "restore cannot queue them again; dump once they are read",
				  sk_desc(ctx, s, d, sizeof(d)));
	if (s->proto != IPPROTO_TCP || s->state != TCP_ESTABLISHED)
		return 0;
	s->peer = find_peer(u, i);
	if (s->peer >= 0) {
		u->nr_internal++;
		return 0;
	}
	u->nr_external++;
	if (ctx->opts->tcp_established) {
		pr_warn("%s is connected to %s outside the dumped tree. Accepted by "
			"--tcp-established: its traffic is locked until restore, which rebuilds "
			"the connection in repair mode",
			sk_desc(ctx, s, d, sizeof(d)), inet_ep_text(&s->dst, a, sizeof(a)));
		return 0;
	}
	return pr_err_ret(
		-EXDEV,
		"%s is connected to %s outside the dumped tree. Connected "
		"TCP socket found: consider using --tcp-established (dump and restore) "
		"to checkpoint the connection in repair mode; its peer sees nothing as long "
		"as the restore happens before it times out",
		sk_desc(ctx, s, d, sizeof(d)), inet_ep_text(&s->dst, a, sizeof(a)));
}

static int inet_check(struct dump_ctx *ctx)
{
	struct dump_inet *u = state_get(ctx);
	size_t i;
	int err, failed = 0;

	for (i = 0; u && i < u->n; i++) {
		err = check_one(ctx, u, i);
		if (err && !failed)
			failed = err;
	}
	return failed;
}

/* ---- writing ---- */

static void so_int(int sk, int name, uint32_t *out, protobuf_c_boolean *has)
{
	int v;

	if (gint(sk, SOL_SOCKET, name, &v))
		return;
	*out = (uint32_t)v;
	if (has)
		*has = true;
}

static void so_bool(int sk, int level, int name, protobuf_c_boolean *out, protobuf_c_boolean *has)
{
	int v;

	if (gint(sk, level, name, &v))
		return;
	*out = v != 0;
	*has = true;
}

/* A classic BPF filter as CRIU keeps it: one fixed64 per sock_filter instruction. */
static int read_filter(int sk, SkOptsEntry *o, uint64_t **ret)
{
	socklen_t n = 0;
	uint64_t *f;

	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, NULL, &n) || !n)
		return 0;
	f = calloc(n, sizeof(*f));
	if (!f)
		return -ENOMEM;
	if (getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, f, &n)) {
		free(f);
		return -errno;
	}
	o->n_so_filter = n;
	o->so_filter = f;
	*ret = f;
	return 0;
}

static void fill_opts(const struct isk *s, int sk, SkOptsEntry *o, char *dev, size_t devsz)
{
	struct timeval tv;
	socklen_t l;

	so_int(sk, SO_SNDBUF, &o->so_sndbuf, NULL);
	so_int(sk, SO_RCVBUF, &o->so_rcvbuf, NULL);
	l = sizeof(tv);
	if (!getsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &tv, &l))
		o->so_snd_tmo_sec = (uint64_t)tv.tv_sec, o->so_snd_tmo_usec = (uint64_t)tv.tv_usec;
	l = sizeof(tv);
	if (!getsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &tv, &l))
		o->so_rcv_tmo_sec = (uint64_t)tv.tv_sec, o->so_rcv_tmo_usec = (uint64_t)tv.tv_usec;
	so_bool(sk, SOL_SOCKET, SO_REUSEADDR, &o->reuseaddr, &o->has_reuseaddr);
	so_bool(sk, SOL_SOCKET, SO_REUSEPORT, &o->so_reuseport, &o->has_so_reuseport);
	so_bool(sk, SOL_SOCKET, SO_KEEPALIVE, &o->so_keepalive, &o->has_so_keepalive);
	so_int(sk, SO_PRIORITY, &o->so_priority, &o->has_so_priority);
	so_int(sk, SO_MARK, &o->so_mark, &o->has_so_mark);
	l = (socklen_t)devsz;
	if (!getsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) && l > 0 && dev[0])
		o->so_bound_dev = dev;
	if (s->proto == IPPROTO_TCP) {
		int v;

		if (!gint(sk, SOL_TCP, TCP_KEEPCNT, &v))
			o->has_tcp_keepcnt = true, o->tcp_keepcnt = (uint32_t)v;
		if (!gint(sk, SOL_TCP, TCP_KEEPIDLE, &v))
			o->has_tcp_keepidle = true, o->tcp_keepidle = (uint32_t)v;
		if (!gint(sk, SOL_TCP, TCP_KEEPINTVL, &v))
			o->has_tcp_keepintvl = true, o->tcp_keepintvl = (uint32_t)v;
	}
}

static int write_isk(struct dump_ctx *ctx, const struct isk *s)
{
	const struct dump_fd *f = &ctx->fds[s->fdi];
	FileEntry fe = FILE_ENTRY__INIT;
	InetSkEntry e = INET_SK_ENTRY__INIT;
	FownEntry fown = FOWN_ENTRY__INIT;
	SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
	_cleanup_free_ uint64_t *filter = NULL;
	char dev[64] = "";
	int v6only, err;

	e.id = f->file_id;
	e.ino = s->ino;
	e.family = (uint32_t)s->family;
	e.type = (uint32_t)s->type;
	e.proto = (uint32_t)s->proto;
	e.state = (uint32_t)s->state;
	e.src_port = s->src.port;
	e.dst_port = s->connected ? s->dst.port : 0;
	e.flags = f->fi.flags;
	e.backlog = s->backlog;
	e.n_src_addr = inet_ep_words(&s->src);
	e.src_addr = (uint32_t *)s->src.addr;
	e.n_dst_addr = inet_ep_words(&s->src);
	e.dst_addr = (uint32_t *)s->dst.addr;
	e.fown = &fown;
	fill_opts(s, f->stolen, &opts, dev, sizeof(dev) - 1);
	err = read_filter(f->stolen, &opts, &filter);
	if (err)
		return pr_err_ret(err, "inet socket %u: cannot read its BPF filter: %s", s->ino,
				  strerror(-err));
	e.opts = &opts;
	if (s->family == AF_INET6 && !gint(f->stolen, SOL_IPV6, IPV6_V6ONLY, &v6only)) {
		e.has_v6only = true;
		e.v6only = v6only != 0;
	}
	fe.type = FD_TYPES__INETSK;
	fe.id = f->file_id;
	fe.isk = &e;
	return dump_write_file_entry(ctx, &fe);
}

static int write_extra(struct dump_ctx *ctx, struct dump_inet *u, struct img *img,
		       const struct isk *s)
{
	CruxInetEntry e = CRUX_INET_ENTRY__INIT;
	_cleanup_free_ CruxSockopt **opts = calloc(s->nopts + 1, sizeof(*opts));
	struct linger lg = { 0 };
	socklen_t l = sizeof(lg);
	size_t i;

	if (!opts)
		return -ENOMEM;
	e.has_id = true;
	e.id = ctx->fds[s->fdi].file_id;
	if (!getsockopt(ctx->fds[s->fdi].stolen, SOL_SOCKET, SO_LINGER, &lg, &l) && lg.l_onoff) {
		e.has_linger_on = e.has_linger_sec = true;
		e.linger_on = true;
		e.linger_sec = (uint32_t)lg.l_linger;
	}
	if (s->state == TCP_ESTABLISHED && s->proto == IPPROTO_TCP && s->peer < 0) {
		e.has_external = true;
		e.external = true;
		if (u->lock)
			e.lock_table = (char *)netlock_name(u->lock);
	}
	e.has_n_dgrams = true;
	e.n_dgrams = (uint32_t)s->nq;
	if (s->cong[0])
		e.congestion = (char *)s->cong;
	for (i = 0; i < s->nopts; i++)
		opts[i] = &s->opts[i];
	e.n_opts = s->nopts;
	e.opts = opts;
	return img_write_one(img, &e.base);
}

static int write_dgrams(struct img *img, const struct dump_fd *f, const struct isk *s)
{
	size_t i;
	int err = 0;

	for (i = 0; i < s->nq && !err; i++) {
		CruxDgramEntry e = CRUX_DGRAM_ENTRY__INIT;

		e.has_id_for = e.has_length = e.has_family = e.has_src_port = true;
		e.id_for = f->file_id;
		e.length = s->q[i].len;
		e.family = (uint32_t)s->q[i].from.family;
		e.n_src_addr = inet_ep_words(&s->q[i].from);
		e.src_addr = (uint32_t *)s->q[i].from.addr;
		e.src_port = s->q[i].from.port;
		err = img_write_one(img, &e.base);
		if (!err)
			err = img_write_payload(img, s->q[i].data, s->q[i].len);
	}
	return err;
}

/* Repair mode on the stolen copy, the connection read; repair stays on until cleanup. */
static int read_stream(struct dump_ctx *ctx, struct isk *s)
{
	int sk = ctx->fds[s->fdi].stolen, err;
	char d[160];

	err = tcp_repair_on(sk);
	if (err)
		return pr_err_ret(err, "%s: cannot enter TCP repair mode: %s",
				  sk_desc(ctx, s, d, sizeof(d)), strerror(-err));
	s->repair = true;
	err = tcp_repair_read(sk, &s->conn);
	if (err)
		return pr_err_ret(err, "%s: cannot read the connection in repair mode: %s",
				  sk_desc(ctx, s, d, sizeof(d)), strerror(-err));
	return 0;
}

static int write_stream(struct dump_ctx *ctx, const struct isk *s)
{
	const struct tcp_conn *c = &s->conn;
	TcpStreamEntry e = TCP_STREAM_ENTRY__INIT;
	struct img *img = NULL;
	int err;

	e.inq_len = c->inq_len;
	e.inq_seq = c->inq_seq;
	e.outq_len = c->outq_len;
	e.outq_seq = c->outq_seq;
	e.opt_mask = c->opt_mask;
	e.snd_wscale = c->snd_wscale;
	e.mss_clamp = c->mss_clamp;
	e.has_rcv_wscale = e.has_timestamp = e.has_unsq_len = true;
	e.rcv_wscale = c->rcv_wscale;
	e.timestamp = c->timestamp;
	e.unsq_len = c->unsq_len;
	if (c->has_win) {
		e.has_snd_wl1 = e.has_snd_wnd = e.has_max_window = true;
		e.has_rcv_wnd = e.has_rcv_wup = true;
		e.snd_wl1 = c->snd_wl1;
		e.snd_wnd = c->snd_wnd;
		e.max_window = c->max_window;
		e.rcv_wnd = c->rcv_wnd;
		e.rcv_wup = c->rcv_wup;
	}
	err = img__open(ctx->dirfd, IMG_TCP_STREAM, s->ino, IMG_WRITE, &img);
	if (!err)
		err = img_write_one(img, &e.base);
	if (!err && c->inq_len)
		err = img_write_payload(img, c->inq, c->inq_len);
	if (!err && c->outq_len)
		err = img_write_payload(img, c->outq, c->outq_len);
	if (!err)
		err = img__close(TAKE_PTR(img));
	img__close(img);
	if (err)
		return pr_err_ret(err, "cannot write tcp-stream-%u.img: %s", s->ino, img_error());
	return 0;
}

/* Lock the traffic of every external connection before any of them can be closed. */
static int lock_external(struct dump_ctx *ctx, struct dump_inet *u)
{
	struct netlock_conn *c = calloc(u->n + 1, sizeof(*c));
	size_t i, n = 0;
	int err;

	if (!c)
		return -ENOMEM;
	for (i = 0; i < u->n; i++)
		if (u->v[i].proto == IPPROTO_TCP && u->v[i].state == TCP_ESTABLISHED &&
		    u->v[i].peer < 0) {
			c[n].src = u->v[i].src;
			c[n++].dst = u->v[i].dst;
		}
	err = n && !ctx->opts->leave_running ? netlock__new(ctx->opts->pid, c, n, &u->lock) : 0;
	free(c);
	return err;
}

static int inet_write(struct dump_ctx *ctx)
{
	struct dump_inet *u = state_get(ctx);
	struct img *extra = NULL, *dg = NULL;
	size_t i;
	int err;

	if (!u || !u->n)
		return 0;
	for (i = 0, err = 0; i < u->n && !err; i++)
		if (u->v[i].proto == IPPROTO_TCP && u->v[i].state == TCP_ESTABLISHED)
			err = read_stream(ctx, &u->v[i]);
	if (!err)
		err = lock_external(ctx, u);
	if (err)
		return err;
	err = img__open(ctx->dirfd, IMG_CRUX_INET, 0, IMG_WRITE, &extra);
	if (!err)
		err = img__open(ctx->dirfd, IMG_CRUX_DGRAM, 0, IMG_WRITE, &dg);
	for (i = 0; i < u->n && !err; i++) {
		const struct isk *s = &u->v[i];

		err = write_isk(ctx, s);
		if (!err)
			err = write_extra(ctx, u, extra, s);
		if (!err)
			err = write_dgrams(dg, &ctx->fds[s->fdi], s);
		if (!err && s->repair)
			err = write_stream(ctx, s);
	}
	if (!err)
		err = img__close(TAKE_PTR(extra));
	if (!err)
		err = img__close(TAKE_PTR(dg));
	img__close(extra);
	img__close(dg);
	if (err && img_error()[0])
		pr_err("cannot write the inet socket images: %s", img_error());
	return err;
}

/*
 * A killed tree: its sockets close when crux drops its copies, still in repair mode, so
 * the close is silent. Otherwise (a failed dump, --leave-running) repair mode is left
 * without the window probe: the connection goes on as if nothing had happened.
 */
static void inet_cleanup(struct dump_ctx *ctx)
{
	struct dump_inet *u = state_get(ctx);
	size_t i, j;

	if (!u)
		return;
	for (i = 0; i < u->n; i++) {
		struct isk *s = &u->v[i];

		if (s->repair && !ctx->killed)
			tcp_repair_off(ctx->fds[s->fdi].stolen, false);
		tcp_conn_clear(&s->conn);
		for (j = 0; j < s->nq; j++)
			free(s->q[j].data);
		free(s->q);
		free(s->opts);
	}
	if (u->lock && ctx->killed)
		netlock_report(u->lock);
	else
		netlock__remove(u->lock);
	netlock__free(u->lock);
	free(u->v);
	free(u);
	*dump_kstate(ctx, &fd_inet) = NULL;
}

static void inet_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	struct dump_inet *u = state_get(ctx);

	if (u && u->n)
		snprintf(buf, size,
			 ", inet sockets %zu (TCP connections %zu internal / %zu external)", u->n,
			 u->nr_internal, u->nr_external);
}

const struct fd_kind fd_inet = {
	.name = "inet",
	.fd_type = FD_TYPES__INETSK,
	.steal = true,
	.match = inet_match,
	.collect = inet_collect,
	.check = inet_check,
	.write = inet_write,
	.summary = inet_summary,
	.cleanup = inet_cleanup,
	.load = rst_inet_load,
	.validate = rst_inet_validate,
	.create = rst_inet_create,
	.finish = rst_inet_finish,
	.release = rst_inet_free,
	.show = inet_show,
};

// SPDX-License-Identifier: GPL-2.0-only
/*
 * IPv4/IPv6 sockets, the restore half. The controller creates every socket: options that
 * bind() depends on first, then bind (a TCP socket binds in repair mode, so a port held by
 * the TIME_WAIT leftovers of the dumped tree's old connections does not refuse it), listen;
 * queued datagrams are sent again from their sender's address by a temporary socket before
 * a UDP socket is connected (a connected socket would drop them); an established TCP
 * connection is rebuilt in repair mode, listeners first, and leaves repair mode only once
 * every socket exists (the two ends of an internal connection are both in the image).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "img.h"
#include "inet.h"
#include "inet_restore.h"
#include "log.h"
#include "netlock.h"
#include "pb.h"
#include "rstctx.h"
#include "tcp_repair.h"
#include "util.h"
#include "crux_inet.pb-c.h"
#include "fdinfo.pb-c.h"
#include "sk_inet.pb-c.h"
#include "tcp_stream.pb-c.h"

struct rdgram {
	CruxDgramEntry *e;
	void *data;
};

struct rinet {
	struct rst_file *f;
	const InetSkEntry *e;
	const CruxInetEntry *x; /* NULL if the image has none */
	struct rdgram *q;
	size_t nq;
	struct tcp_conn conn; /* established TCP */
	bool repair;
};

struct rst_inet {
	struct rinet *v;
	size_t n;
	CruxInetEntry **xs;
	size_t nxs;
};

static const char rst_inet_key; /* rst_kstate() */

static struct rst_inet *istate(const struct rst_set *set)
{
	return rst_kstate_get(set, &rst_inet_key);
}

static bool is_established_tcp(const InetSkEntry *e)
{
	return e->proto == IPPROTO_TCP && e->state == TCP_ESTABLISHED;
}

static void ep_of(const InetSkEntry *e, bool dst, struct inet_ep *ep)
{
	size_t n = dst ? e->n_dst_addr : e->n_src_addr;

	memset(ep, 0, sizeof(*ep));
	ep->family = (int)e->family;
	memcpy(ep->addr, dst ? e->dst_addr : e->src_addr, MIN(n, 4) * 4);
	ep->port = (uint16_t)(dst ? e->dst_port : e->src_port);
}

static const char *desc(const struct rinet *r, char *buf, size_t sz)
{
	struct inet_ep ep;
	char a[64];

	ep_of(r->e, false, &ep);
	snprintf(buf, sz, "%s socket ino %u at %s", inet_proto_name((int)r->e->proto), r->e->ino,
		 inet_ep_text(&ep, a, sizeof(a)));
	return buf;
}

/* ---- loading ---- */

static int load_all(struct rst_set *set, enum img_type t, unsigned long key, bool payload,
		    void ***ret, size_t *ret_n, void ***ret_data)
{
	struct img *img = NULL;
	void **arr = NULL, **data = NULL, *msg;
	size_t n = 0;
	int err;

	err = img__open(imgdir_fd(set->dir), t, key, IMG_READ, &img);
	if (err == -ENOENT)
		return 0;
	while (!err && (err = img_read_one(img, img_type_desc(t), &msg)) == 1) {
		size_t len = 0;
		void **a = realloc(arr, (n + 1) * sizeof(*a));
		void **d = a ? realloc(data, (n + 1) * sizeof(*d)) : NULL;

		if (a)
			arr = a;
		if (d)
			data = d;
		if (!a || !d) {
			pb_free(msg);
			err = -ENOMEM;
			break;
		}
		arr[n] = msg;
		data[n++] = NULL;
		err = 0;
		if (!payload)
			continue;
		len = t == IMG_CRUX_DGRAM ? ((CruxDgramEntry *)msg)->length :
					    ((TcpStreamEntry *)msg)->inq_len +
						    (size_t)((TcpStreamEntry *)msg)->outq_len;
		if (len > img_remaining(img)) {
			err = -EBADMSG;
			break;
		}
		data[n - 1] = malloc(len ?: 1);
		err = data[n - 1] ? img_read_payload(img, data[n - 1], len) : -ENOMEM;
	}
	if (err < 0)
		pr_err("image %s: %s", imgdir_path(set->dir),
		       img_error()[0] ? img_error() : strerror(-err));
	img__close(img);
	*ret = arr;
	*ret_n = n;
	if (ret_data)
		*ret_data = data;
	else
		free(data);
	return err < 0 ? err : 0;
}

static int load_stream(struct rst_set *set, struct rinet *r)
{
	void **m = NULL, **d = NULL;
	size_t n = 0;
	int err;

	err = load_all(set, IMG_TCP_STREAM, r->e->ino, true, &m, &n, &d);
	if (!err && n != 1) {
		pr_err("image %s: tcp-stream-%u.img is missing or holds %zu messages; the "
		       "established connection of socket ino %u cannot be restored",
		       imgdir_path(set->dir), r->e->ino, n, r->e->ino);
		err = -EBADMSG;
	}
	if (!err) {
		const TcpStreamEntry *t = m[0];
		struct tcp_conn *c = &r->conn;

		c->inq_len = t->inq_len;
		c->inq_seq = t->inq_seq;
		c->outq_len = t->outq_len;
		c->outq_seq = t->outq_seq;
		c->unsq_len = t->unsq_len;
		c->opt_mask = t->opt_mask;
		c->snd_wscale = t->snd_wscale;
		c->rcv_wscale = t->rcv_wscale;
		c->mss_clamp = t->mss_clamp;
		c->timestamp = t->timestamp;
		c->has_win = t->has_snd_wl1 && t->has_rcv_wup;
		c->snd_wl1 = t->snd_wl1;
		c->snd_wnd = t->snd_wnd;
		c->max_window = t->max_window;
		c->rcv_wnd = t->rcv_wnd;
		c->rcv_wup = t->rcv_wup;
		if (c->unsq_len > c->outq_len)
			err = -EBADMSG;
		c->inq = d[0];
		c->outq = c->outq_len ? malloc(c->outq_len) : NULL;
		if (c->outq)
			memcpy(c->outq, (char *)d[0] + c->inq_len, c->outq_len);
		else if (c->outq_len)
			err = -ENOMEM;
		d[0] = NULL;
	}
	while (n)
		pb_free(m[--n]);
	free(m);
	free(d);
	return err;
}

int rst_inet_load(struct rst_set *set)
{
	struct rst_inet *in = calloc(1, sizeof(*in));
	void **slot = rst_kstate(set, &rst_inet_key);
	void **dg = NULL, **dd = NULL;
	size_t i, j, ndg = 0;
	int err;

	if (!in || !slot) {
		free(in);
		return -ENOMEM;
	}
	*slot = in;
	in->v = calloc(set->n_files + 1, sizeof(*in->v));
	if (!in->v)
		return -ENOMEM;
	err = load_all(set, IMG_CRUX_INET, 0, false, (void ***)&in->xs, &in->nxs, NULL);
	if (!err)
		err = load_all(set, IMG_CRUX_DGRAM, 0, true, &dg, &ndg, &dd);
	for (i = 0; !err && i < set->n_files; i++) {
		struct rinet *r = &in->v[in->n];

		if (!set->files[i].fe->isk)
			continue;
		r->f = &set->files[i];
		r->e = r->f->fe->isk;
		in->n++;
		for (j = 0; j < in->nxs; j++)
			if (in->xs[j]->id == r->e->id)
				r->x = in->xs[j];
		for (j = 0; j < ndg; j++) {
			if (!dg[j] || ((CruxDgramEntry *)dg[j])->id_for != r->e->id)
				continue;
			r->q = realloc(r->q, (r->nq + 1) * sizeof(*r->q));
			if (!r->q)
				return -ENOMEM;
			r->q[r->nq].e = dg[j];
			r->q[r->nq++].data = dd[j];
			dg[j] = NULL;
		}
		if (is_established_tcp(r->e))
			err = load_stream(set, r);
	}
	for (j = 0; j < ndg; j++)
		if (dg[j]) {
			pb_free(dg[j]);
			free(dd[j]);
		}
	free(dg);
	free(dd);
	return err;
}

void rst_inet_validate(struct rst_set *set)
{
	const struct rst_inet *in = istate(set);
	char d[128], a[64];
	size_t i;

	for (i = 0; in && i < in->n; i++) {
		const struct rinet *r = &in->v[i];
		struct inet_ep dst;

		if (!r->x || !r->x->external || set->opts->tcp_established)
			continue;
		ep_of(r->e, true, &dst);
		rst_problem(
			set,
			"External TCP connection found in image: %s was connected to %s outside "
			"the dumped tree. Consider using the --tcp-established option to restore "
			"it in repair mode",
			desc(r, d, sizeof(d)), inet_ep_text(&dst, a, sizeof(a)));
	}
}

/* ---- creating ---- */

static int sint(int fd, int level, int name, int v)
{
	return setsockopt(fd, level, name, &v, sizeof(v)) ? -errno : 0;
}

/* The generic options, in image order. */
static int set_generic(const struct rinet *r, int fd)
{
	size_t i;
	char d[128];
	int err;

	for (i = 0; r->x && i < r->x->n_opts; i++) {
		const CruxSockopt *o = r->x->opts[i];

		err = sint(fd, (int)o->level, (int)o->name, o->val);
		if (err)
			return pr_err_ret(err, "%s: cannot set option %u:%u to %d: %s",
					  desc(r, d, sizeof(d)), o->level, o->name, o->val,
					  strerror(-err));
	}
	return 0;
}

/* Options before bind(): CRIU's sk_opts, v6only. */
static int set_opts(const struct rinet *r, int fd)
{
	const SkOptsEntry *o = r->e->opts;
	struct timeval tv;
	int err = 0;
	if (r->e->has_v6only && (err = sint(fd, SOL_IPV6, IPV6_V6ONLY, r->e->v6only)))
		return err;
	/* the kernel doubles what it is given (and reports the doubled value) */
	if (o->so_sndbuf && (err = sint(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)o->so_sndbuf / 2)))
		return err;
	if (o->so_rcvbuf && (err = sint(fd, SOL_SOCKET, SO_RCVBUFFORCE, (int)o->so_rcvbuf / 2)))
		return err;
	tv = (struct timeval){ (time_t)o->so_snd_tmo_sec, (suseconds_t)o->so_snd_tmo_usec };
	if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
		return -errno;
	tv = (struct timeval){ (time_t)o->so_rcv_tmo_sec, (suseconds_t)o->so_rcv_tmo_usec };
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return -errno;
	/* in repair mode it would end the forced reuse: set when repair mode ends */
	if (o->has_reuseaddr && !r->repair &&
	    (err = sint(fd, SOL_SOCKET, SO_REUSEADDR, o->reuseaddr)))
		return err;
	if (o->has_so_reuseport && (err = sint(fd, SOL_SOCKET, SO_REUSEPORT, o->so_reuseport)))
		return err;
	if (o->has_so_keepalive && (err = sint(fd, SOL_SOCKET, SO_KEEPALIVE, o->so_keepalive)))
		return err;
	if (o->has_tcp_keepcnt && (err = sint(fd, SOL_TCP, TCP_KEEPCNT, (int)o->tcp_keepcnt)))
		return err;
	if (o->has_tcp_keepidle && (err = sint(fd, SOL_TCP, TCP_KEEPIDLE, (int)o->tcp_keepidle)))
		return err;
	if (o->has_tcp_keepintvl && (err = sint(fd, SOL_TCP, TCP_KEEPINTVL, (int)o->tcp_keepintvl)))
		return err;
	if (o->has_so_priority && (err = sint(fd, SOL_SOCKET, SO_PRIORITY, (int)o->so_priority)))
		return err;
	if (o->has_so_mark && o->so_mark && (err = sint(fd, SOL_SOCKET, SO_MARK, (int)o->so_mark)))
		return err;
	if (o->so_bound_dev && o->so_bound_dev[0] &&
	    setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->so_bound_dev,
		       (socklen_t)strlen(o->so_bound_dev)))
		return -errno;
	if (r->x && r->x->congestion &&
	    setsockopt(fd, SOL_TCP, TCP_CONGESTION, r->x->congestion,
		       (socklen_t)strlen(r->x->congestion)))
		return -errno;
	if (r->x && r->x->linger_on) {
		struct linger lg = { 1, (int)r->x->linger_sec };

		if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)))
			return -errno;
	}
	return 0;
}

static int attach_filter(const struct rinet *r, int fd)
{
	const SkOptsEntry *o = r->e->opts;
	struct sock_fprog prog;

	if (!o->n_so_filter)
		return 0;
	prog.len = (unsigned short)o->n_so_filter;
	prog.filter = (struct sock_filter *)o->so_filter;
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) ? -errno : 0;
}

static bool ep_any(const struct inet_ep *ep)
{
	static const uint32_t zero[4];

	return !ep->port && !memcmp(ep->addr, zero, inet_ep_words(ep) * 4);
}

/* bind() as dumped; a TCP socket binds in repair mode (forced reuse), then leaves it. */
static int bind_as_dumped(const struct rinet *r, int fd)
{
	struct sockaddr_storage ss;
	struct inet_ep ep;
	socklen_t l;
	int err, reuse = r->e->opts->has_reuseaddr && r->e->opts->reuseaddr;

	ep_of(r->e, false, &ep);
	if (ep_any(&ep))
		return 0;
	l = inet_ep_to_sa(&ep, &ss);
	if (r->e->proto != IPPROTO_TCP) {
		/* a queued datagram's temporary sender may need the same address */
		err = sint(fd, SOL_SOCKET, SO_REUSEADDR, 1);
		if (!err && bind(fd, (struct sockaddr *)&ss, l))
			err = -errno;
		return err;
	}
	if (r->repair)
		return bind(fd, (struct sockaddr *)&ss, l) ? -errno : 0;
	err = tcp_repair_on(fd);
	if (!err && bind(fd, (struct sockaddr *)&ss, l))
		err = -errno;
	if (!err)
		err = tcp_repair_off(fd, false);
	/* leaving repair mode clears SO_REUSEADDR */
	if (!err)
		err = sint(fd, SOL_SOCKET, SO_REUSEADDR, reuse);
	return err;
}

static int connect_repaired(struct rinet *r, int fd)
{
	struct sockaddr_storage ss;
	struct inet_ep ep;
	socklen_t l;
	int err;

	err = tcp_repair_seqs(fd, &r->conn);
	if (err)
		return err;
	ep_of(r->e, true, &ep);
	l = inet_ep_to_sa(&ep, &ss);
	if (connect(fd, (struct sockaddr *)&ss, l))
		return -errno;
	/*
	 * Room for both queues whatever the socket's own sizes: the dumped send queue held
	 * its bytes with the kernel's per-skb overhead, which a refill counts again. The
	 * dumped sizes are set back once the queues are in (finish_one()).
	 */
	err = sint(fd, SOL_SOCKET, SO_SNDBUFFORCE,
		   (int)MAX(r->e->opts->so_sndbuf / 2, r->conn.outq_len * 2 + (64u << 10)));
	if (!err)
		err = sint(fd, SOL_SOCKET, SO_RCVBUFFORCE,
			   (int)MAX(r->e->opts->so_rcvbuf / 2, r->conn.inq_len * 2 + (64u << 10)));
	return err ?: tcp_repair_fill(fd, &r->conn);
}

static int create_one(struct rst_set *set, struct rinet *r)
{
	_cleanup_close_ int fd = -1;
	char d[128];
	int err;

	fd = socket((int)r->e->family, (int)r->e->type | SOCK_CLOEXEC, (int)r->e->proto);
	if (fd < 0)
		return pr_perror_ret("%s: cannot create it", desc(r, d, sizeof(d)));
	r->repair = is_established_tcp(r->e);
	err = r->repair ? tcp_repair_on(fd) : 0;
	if (!err && (err = set_generic(r, fd)))
		return err;
	if (!err)
		err = set_opts(r, fd);
	if (!err)
		err = attach_filter(r, fd);
	if (err)
		return pr_err_ret(err, "%s: cannot set its options: %s", desc(r, d, sizeof(d)),
				  strerror(-err));
	err = bind_as_dumped(r, fd);
	if (err)
		return pr_err_ret(err, "%s: cannot bind it: %s", desc(r, d, sizeof(d)),
				  strerror(-err));
	if (r->e->state == TCP_LISTEN && listen(fd, (int)r->e->backlog))
		return pr_perror_ret("%s: cannot listen", desc(r, d, sizeof(d)));
	if (r->repair && (err = connect_repaired(r, fd)))
		return pr_err_ret(err, "%s: cannot rebuild its connection in repair mode: %s",
				  desc(r, d, sizeof(d)), strerror(-err));
	err = rst_park_fd(set, &fd);
	if (err)
		return pr_err_ret(err, "%s: cannot park it: %s", desc(r, d, sizeof(d)),
				  strerror(-err));
	r->f->ctl_fd = TAKE_FD(fd);
	return 0;
}

/* Each queued datagram, sent again from its sender's address to the socket's own. */
static int refill(const struct rinet *r)
{
	struct sockaddr_storage to, from;
	struct inet_ep dst, src;
	socklen_t tl, fl;
	size_t i;
	char d[128];

	ep_of(r->e, false, &dst);
	if (ep_any(&dst) || !memcmp(dst.addr, (uint32_t[4]){ 0 }, inet_ep_words(&dst) * 4)) {
		/* bound to the wildcard address: loopback reaches it */
		if (dst.family == AF_INET)
			dst.addr[0] = htonl(INADDR_LOOPBACK);
		else
			memcpy(dst.addr, &in6addr_loopback, 16);
	}
	tl = inet_ep_to_sa(&dst, &to);
	for (i = 0; i < r->nq; i++) {
		_cleanup_close_ int t =
			socket((int)r->e->family, SOCK_DGRAM | SOCK_CLOEXEC, (int)r->e->proto);
		const CruxDgramEntry *e = r->q[i].e;

		memset(&src, 0, sizeof(src));
		src.family = (int)r->e->family;
		src.port = (uint16_t)e->src_port;
		memcpy(src.addr, e->src_addr, MIN(e->n_src_addr, 4) * 4);
		fl = inet_ep_to_sa(&src, &from);
		if (t < 0 || sint(t, SOL_SOCKET, SO_REUSEADDR, 1) ||
		    sint(t, r->e->family == AF_INET ? SOL_IP : SOL_IPV6,
			 r->e->family == AF_INET ? IP_FREEBIND : IPV6_FREEBIND, 1) ||
		    bind(t, (struct sockaddr *)&from, fl) ||
		    sendto(t, r->q[i].data, e->length, 0, (struct sockaddr *)&to, tl) !=
			    (ssize_t)e->length)
			return pr_perror_ret("%s: cannot queue datagram %zu of %zu again",
					     desc(r, d, sizeof(d)), i + 1, r->nq);
	}
	return 0;
}

static int connect_dgram(const struct rinet *r)
{
	struct sockaddr_storage ss;
	struct inet_ep ep;
	socklen_t l;
	char d[128];
	int fd = r->f->ctl_fd;

	if (r->e->proto != IPPROTO_TCP && r->e->state == TCP_ESTABLISHED) {
		ep_of(r->e, true, &ep);
		l = inet_ep_to_sa(&ep, &ss);
		if (connect(fd, (struct sockaddr *)&ss, l))
			return pr_perror_ret("%s: cannot connect it", desc(r, d, sizeof(d)));
	}
	if (r->e->proto != IPPROTO_TCP &&
	    sint(fd, SOL_SOCKET, SO_REUSEADDR, r->e->opts->has_reuseaddr && r->e->opts->reuseaddr))
		return -errno;
	return 0;
}

/* Every socket exists: repaired connections leave repair mode, flags as dumped. */
static int finish_one(struct rinet *r)
{
	char d[128];
	int err = 0, fd = r->f->ctl_fd;

	if (r->repair) {
		const SkOptsEntry *o = r->e->opts;

		err = tcp_repair_finish(fd, &r->conn);
		if (!err)
			err = sint(fd, SOL_SOCKET, SO_REUSEADDR, o->has_reuseaddr && o->reuseaddr);
		if (!err && o->so_sndbuf)
			err = sint(fd, SOL_SOCKET, SO_SNDBUFFORCE, (int)o->so_sndbuf / 2);
		if (!err && o->so_rcvbuf)
			err = sint(fd, SOL_SOCKET, SO_RCVBUFFORCE, (int)o->so_rcvbuf / 2);
		if (err)
			return pr_err_ret(err, "%s: cannot leave repair mode: %s",
					  desc(r, d, sizeof(d)), strerror(-err));
		r->repair = false;
	}
	if (fcntl(fd, F_SETFL, (int)(r->e->flags & O_NONBLOCK)))
		return -errno;
	return 0;
}

int rst_inet_create(struct rst_set *set)
{
	struct rst_inet *in = istate(set);
	size_t i;
	int pass, err = 0;

	/* listeners and unconnected sockets before repaired connections on their ports */
	for (pass = 0; in && pass < 2; pass++)
		for (i = 0; i < in->n && !err; i++)
			if (in->v[i].f->pid && is_established_tcp(in->v[i].e) == (pass == 1))
				err = create_one(set, &in->v[i]);
	for (i = 0; in && i < in->n && !err; i++)
		if (in->v[i].f->ctl_fd >= 0 && in->v[i].nq)
			err = refill(&in->v[i]);
	for (i = 0; in && i < in->n && !err; i++)
		if (in->v[i].f->ctl_fd >= 0)
			err = connect_dgram(&in->v[i]);
	for (i = 0; in && i < in->n && !err; i++)
		if (in->v[i].f->ctl_fd >= 0)
			err = finish_one(&in->v[i]);
	return err;
}

int rst_inet_finish(struct rst_set *set)
{
	struct rst_inet *in = istate(set);
	size_t i, j;

	for (i = 0; in && i < in->nxs; i++) {
		const char *t = in->xs[i]->lock_table;

		for (j = 0; t && j < i; j++)
			if (in->xs[j]->lock_table && !strcmp(in->xs[j]->lock_table, t))
				t = NULL;
		if (t && !netlock_unlock(t))
			pr_info("removed the network lock (nftables table inet %s)", t);
	}
	return 0; /* a lock that could not be removed is said, with the command to remove it */
}

void rst_inet_free(struct rst_set *set)
{
	struct rst_inet *in = istate(set);
	size_t i, j;

	if (!in)
		return;
	for (i = 0; i < in->n; i++) {
		for (j = 0; j < in->v[i].nq; j++) {
			pb_free(in->v[i].q[j].e);
			free(in->v[i].q[j].data);
		}
		free(in->v[i].q);
		tcp_conn_clear(&in->v[i].conn);
	}
	for (i = 0; i < in->nxs; i++)
		pb_free(in->xs[i]);
	free(in->xs);
	free(in->v);
	free(in);
	*rst_kstate(set, &rst_inet_key) = NULL;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Netlink sockets, both halves: protocol, port id, multicast groups (the whole bitmap,
 * NETLINK_LIST_MEMBERSHIPS), destination, and the socket flags an application sets with
 * SOL_NETLINK options. A message waiting in the receive queue (a reply not read yet, an
 * event) is refused by name: it could not be queued again, and a reply the application
 * waits for would never come. The restore binds the same port id, so the kernel and the
 * peers that address it (a reply to a request, a unicast event) still reach it.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "fd.h"
#include "img.h"
#include "inet_restore.h"
#include "log.h"
#include "pb.h"
#include "rstctx.h"
#include "util.h"
#include "crux_inet.pb-c.h"
#include "fdinfo.pb-c.h"
#include "sk_netlink.pb-c.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define NL_GROUP_WORDS 32 /* 1024 groups */

/* SOL_NETLINK flags an application sets: crux-netlink.img carries the ones set */
static const int nl_flags[] = {
	NETLINK_PKTINFO, NETLINK_BROADCAST_ERROR, NETLINK_NO_ENOBUFS,	  NETLINK_LISTEN_ALL_NSID,
	NETLINK_CAP_ACK, NETLINK_EXT_ACK,	  NETLINK_GET_STRICT_CHK,
};

static const char *proto_name(uint32_t p)
{
	static const char *const names[] = {
		[NETLINK_ROUTE] = "NETLINK_ROUTE",
		[NETLINK_SOCK_DIAG] = "NETLINK_SOCK_DIAG",
		[NETLINK_AUDIT] = "NETLINK_AUDIT",
		[NETLINK_KOBJECT_UEVENT] = "NETLINK_KOBJECT_UEVENT",
		[NETLINK_GENERIC] = "NETLINK_GENERIC",
		[NETLINK_NETFILTER] = "NETLINK_NETFILTER",
		[NETLINK_CONNECTOR] = "NETLINK_CONNECTOR",
		[NETLINK_SELINUX] = "NETLINK_SELINUX",
	};

	return p < ARRAY_SIZE(names) && names[p] ? names[p] : "netlink";
}

struct nlsk {
	size_t fdi;
	NetlinkSkEntry e;
	uint32_t groups[NL_GROUP_WORDS];
	CruxSockopt opts[ARRAY_SIZE(nl_flags)];
	CruxSockopt *optp[ARRAY_SIZE(nl_flags)];
	size_t nopts;
};

struct dump_netlink {
	struct nlsk *v;
	size_t n;
};

static struct dump_netlink *state_get(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_netlink);

	return slot ? *slot : NULL;
}

static bool netlink_match(const struct fd_probe *p)
{
	return S_ISSOCK(p->st->st_mode) && p->family == AF_NETLINK;
}

static int nl_read(struct dump_ctx *ctx, struct dump_fd *f, struct nlsk *s)
{
	struct sockaddr_nl a = { 0 };
	socklen_t l = sizeof(a);
	int sk = f->stolen, v = 0;
	size_t i, n;
	char d[96];

	netlink_sk_entry__init(&s->e);
	l = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_PROTOCOL, &v, &l))
		return pr_perror_ret("%s: cannot read the protocol of %s",
				     dump_fd_desc(ctx, f, d, sizeof(d)), f->link);
	s->e.protocol = (uint32_t)v;
	l = sizeof(a);
	if (getsockname(sk, (struct sockaddr *)&a, &l))
		return pr_perror_ret("%s: cannot read the address of %s",
				     dump_fd_desc(ctx, f, d, sizeof(d)), f->link);
	s->e.portid = a.nl_pid;
	l = sizeof(s->groups);
	if (getsockopt(sk, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, s->groups, &l))
		return pr_perror_ret("%s: cannot list the groups of %s",
				     dump_fd_desc(ctx, f, d, sizeof(d)), f->link);
	n = MIN(l / 4, (socklen_t)NL_GROUP_WORDS);
	while (n && !s->groups[n - 1])
		n--;
	s->e.n_groups = n;
	s->e.groups = s->groups;
	s->e.state = 7; /* TCP_CLOSE: unconnected */
	l = sizeof(a);
	memset(&a, 0, sizeof(a));
	if (!getpeername(sk, (struct sockaddr *)&a, &l) && (a.nl_pid || a.nl_groups)) {
		s->e.state = 1;
		s->e.dst_portid = a.nl_pid;
		s->e.dst_group = a.nl_groups;
	}
	s->e.flags = f->fi.flags;
	for (i = 0; i < ARRAY_SIZE(nl_flags); i++) {
		CruxSockopt *o = &s->opts[s->nopts];

		l = sizeof(v);
		if (getsockopt(sk, SOL_NETLINK, nl_flags[i], &v, &l) || !v)
			continue;
		crux_sockopt__init(o);
		o->has_level = o->has_name = o->has_val = true;
		o->level = SOL_NETLINK;
		o->name = (uint32_t)nl_flags[i];
		o->val = v;
		s->optp[s->nopts++] = o;
	}
	return 0;
}

static int netlink_collect(struct dump_ctx *ctx, struct dump_fd *f)
{
	void **slot = dump_kstate(ctx, &fd_netlink);
	struct dump_netlink *u = slot ? *slot : NULL;
	struct nlsk *s;
	char d[96], b;
	ssize_t q;
	int err;

	if (!slot || (!u && !(u = *slot = calloc(1, sizeof(*u)))))
		return -ENOMEM;
	s = realloc(u->v, (u->n + 1) * sizeof(*s));
	if (!s)
		return -ENOMEM;
	u->v = s;
	s = &u->v[u->n];
	memset(s, 0, sizeof(*s));
	s->fdi = (size_t)(f - ctx->fds);
	err = nl_read(ctx, f, s);
	if (err)
		return err;
	u->n++;
	q = recv(f->stolen, &b, 1, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
	if (q >= 0)
		return pr_err_ret(
			-EOPNOTSUPP,
			"%s: %s socket %s (port id %u) has a message of %zd bytes waiting "
			"in its receive queue (a reply or an event not read yet): queued "
			"netlink messages cannot be restored; dump once it is read",
			dump_fd_desc(ctx, f, d, sizeof(d)), proto_name(s->e.protocol), f->link,
			s->e.portid, q);
	return 0;
}

static int write_flags(struct img *img, struct nlsk *s)
{
	CruxInetEntry x = CRUX_INET_ENTRY__INIT;

	x.has_id = true;
	x.id = s->e.id;
	x.n_opts = s->nopts;
	x.opts = s->optp;
	return img_write_one(img, &x.base);
}

static int netlink_write(struct dump_ctx *ctx)
{
	struct dump_netlink *u = state_get(ctx);
	struct img *img = NULL;
	size_t i;
	int err = 0;

	if (!u || !u->n)
		return 0;
	err = img__open(ctx->dirfd, IMG_CRUX_NETLINK, 0, IMG_WRITE, &img);
	for (i = 0; i < u->n && !err; i++) {
		struct nlsk *s = &u->v[i];
		const struct dump_fd *f = &ctx->fds[s->fdi];
		FileEntry fe = FILE_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;
		SkOptsEntry opts = SK_OPTS_ENTRY__INIT;
		int v;
		socklen_t l = sizeof(v);

		if (!getsockopt(f->stolen, SOL_SOCKET, SO_SNDBUF, &v, &l))
			opts.so_sndbuf = (uint32_t)v;
		l = sizeof(v);
		if (!getsockopt(f->stolen, SOL_SOCKET, SO_RCVBUF, &v, &l))
			opts.so_rcvbuf = (uint32_t)v;
		s->e.id = f->file_id;
		s->e.ino = (uint32_t)f->st.st_ino;
		s->e.fown = &fown;
		s->e.opts = &opts;
		fe.type = FD_TYPES__NETLINKSK;
		fe.id = f->file_id;
		fe.nlsk = &s->e;
		err = dump_write_file_entry(ctx, &fe);
		s->e.fown = NULL;
		s->e.opts = NULL;
		if (!err)
			err = write_flags(img, s);
	}
	if (!err)
		err = img__close(TAKE_PTR(img));
	img__close(img);
	if (err && img_error()[0])
		pr_err("cannot write crux-netlink.img: %s", img_error());
	return err;
}

static void netlink_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	struct dump_netlink *u = state_get(ctx);

	if (u && u->n)
		snprintf(buf, size, ", netlink sockets %zu", u->n);
}

static void netlink_cleanup(struct dump_ctx *ctx)
{
	struct dump_netlink *u = state_get(ctx);

	if (!u)
		return;
	free(u->v);
	free(u);
	*dump_kstate(ctx, &fd_netlink) = NULL;
}

/* ---- restore ---- */

#undef LOG_PREFIX
#define LOG_PREFIX "restore: "

static int nl_create(struct rst_set *set, struct rst_file *f, const CruxInetEntry *x)
{
	const NetlinkSkEntry *e = f->fe->nlsk;
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, (int)e->protocol);
	size_t i;
	int v, err;

	if (fd < 0)
		return pr_perror_ret("%s socket ino %u: cannot create it", proto_name(e->protocol),
				     e->ino);
	for (i = 0; x && i < x->n_opts; i++) {
		v = x->opts[i]->val;
		if (setsockopt(fd, (int)x->opts[i]->level, (int)x->opts[i]->name, &v, sizeof(v)))
			return pr_perror_ret("netlink socket ino %u: cannot set option %u", e->ino,
					     x->opts[i]->name);
	}
	if (e->opts->so_sndbuf)
		v = (int)e->opts->so_sndbuf / 2,
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	if (e->opts->so_rcvbuf)
		v = (int)e->opts->so_rcvbuf / 2,
		setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &v, sizeof(v));
	a.nl_pid = e->portid;
	if (e->portid && bind(fd, (struct sockaddr *)&a, sizeof(a)))
		return pr_perror_ret("%s socket ino %u: cannot bind port id %u",
				     proto_name(e->protocol), e->ino, e->portid);
	for (i = 0; i < e->n_groups * 32; i++) {
		v = (int)i + 1;
		if ((e->groups[i / 32] & (1u << (i % 32))) &&
		    setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &v, sizeof(v)))
			return pr_perror_ret("%s socket ino %u: cannot join group %d",
					     proto_name(e->protocol), e->ino, v);
	}
	if (e->state == 1) {
		struct sockaddr_nl d = { .nl_family = AF_NETLINK,
					 .nl_pid = e->dst_portid,
					 .nl_groups = e->dst_group };

		if (connect(fd, (struct sockaddr *)&d, sizeof(d)))
			return pr_perror_ret("netlink socket ino %u: cannot connect", e->ino);
	}
	if (fcntl(fd, F_SETFL, (int)(e->flags & O_NONBLOCK)))
		return -errno;
	err = rst_park_fd(set, &fd);
	if (err)
		return err;
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

/* crux-netlink.img: one crux_inet_entry (its SOL_NETLINK options) per socket */
static int load_flags(struct rst_set *set, CruxInetEntry ***ret, size_t *ret_n)
{
	struct img *img = NULL;
	void *msg;
	int err;

	err = img__open(imgdir_fd(set->dir), IMG_CRUX_NETLINK, 0, IMG_READ, &img);
	if (err == -ENOENT)
		return 0;
	while (!err && (err = img_read_one(img, &crux_inet_entry__descriptor, &msg)) == 1) {
		CruxInetEntry **v = realloc(*ret, (*ret_n + 1) * sizeof(*v));

		if (!v) {
			pb_free(msg);
			err = -ENOMEM;
			break;
		}
		*ret = v;
		v[(*ret_n)++] = msg;
		err = 0;
	}
	if (err < 0)
		pr_err("image %s: %s", imgdir_path(set->dir), img_error());
	img__close(img);
	return err < 0 ? err : 0;
}

static int netlink_create(struct rst_set *set)
{
	CruxInetEntry **xs = NULL;
	size_t i, j, n = 0;
	int err;

	err = load_flags(set, &xs, &n);
	for (i = 0; !err && i < set->n_files; i++) {
		const CruxInetEntry *x = NULL;

		if (!set->files[i].fe->nlsk || !set->files[i].pid)
			continue;
		for (j = 0; j < n; j++)
			if (xs[j]->id == set->files[i].fe->id)
				x = xs[j];
		err = nl_create(set, &set->files[i], x);
	}
	for (j = 0; j < n; j++)
		pb_free(xs[j]);
	free(xs);
	return err;
}

const struct fd_kind fd_netlink = {
	.name = "netlink",
	.fd_type = FD_TYPES__NETLINKSK,
	.steal = true,
	.match = netlink_match,
	.collect = netlink_collect,
	.write = netlink_write,
	.summary = netlink_summary,
	.cleanup = netlink_cleanup,
	.create = netlink_create,
	.show = inet_show,
};

// SPDX-License-Identifier: GPL-2.0-only
/*
 * NETLINK_SOCK_DIAG for AF_UNIX: one request, a stream of unix_diag_msg replies each
 * followed by UNIX_DIAG_* attributes. The netlink socket answers for the network namespace
 * it was created in, so a dump of another namespace creates it there (setns and back).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#define LOG_PREFIX "sockdiag: "
#include "log.h"
#include "sockdiag.h"
#include "util.h"

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71
#endif

/* Large enough for any dump skb the kernel builds (it sizes them from our last read). */
#define SOCKDIAG_BUF_SIZE (64 * 1024)

static __u64 sockdiag_netns_cookie(int fd)
{
	__u64 cookie = 0;
	socklen_t len = sizeof(cookie);

	if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len))
		return 0;
	return cookie;
}

/* A NETLINK_SOCK_DIAG socket in netns_fd's namespace (-1: ours). */
static int sockdiag_open(int netns_fd)
{
	_cleanup_close_ int self = -1;
	int fd, err;

	if (netns_fd < 0) {
		fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
		return fd < 0 ? -errno : fd;
	}
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	if (setns(netns_fd, CLONE_NEWNET))
		return -errno;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	err = fd < 0 ? -errno : 0;
	if (setns(self, CLONE_NEWNET)) {
		/* Stuck in the other namespace: nothing sane to continue with. */
		pr_debug("cannot return to the original netns: errno %d", errno);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	return err ? err : fd;
}

static int sockdiag_send(int fd, __u32 ino, __u32 show, bool dump)
{
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0),
			.nlmsg_seq = 1,
		},
		.req = {
			.sdiag_family = AF_UNIX,
			.udiag_states = ~0u,
			.udiag_ino = ino,
			.udiag_show = show,
			/* no cookie: an exact query by inode alone */
			.udiag_cookie = { ~0u, ~0u },
		},
	};
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (sendto(fd, &msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

void sockdiag_unix_clear(struct sockdiag_unix *s)
{
	if (!s)
		return;
	free(s->icons);
	s->icons = NULL;
	s->n_icons = 0;
}

static int sockdiag_parse_attr(struct sockdiag_unix *s, const struct nlattr *a)
{
	const void *data = (const char *)a + NLA_HDRLEN;
	size_t len = a->nla_len - NLA_HDRLEN;

	switch (a->nla_type & NLA_TYPE_MASK) {
	case UNIX_DIAG_NAME:
		s->name_len = MIN(len, sizeof(s->name));
		memcpy(s->name, data, s->name_len);
		break;
	case UNIX_DIAG_VFS:
		if (len >= sizeof(struct unix_diag_vfs)) {
			const struct unix_diag_vfs *v = data;

			s->has_vfs = 1;
			s->vfs_ino = v->udiag_vfs_ino;
			s->vfs_dev = v->udiag_vfs_dev;
		}
		break;
	case UNIX_DIAG_PEER:
		if (len >= sizeof(__u32)) {
			s->has_peer = 1;
			memcpy(&s->peer_ino, data, sizeof(__u32));
		}
		break;
	case UNIX_DIAG_ICONS:
		free(s->icons);
		s->n_icons = len / sizeof(__u32);
		s->icons = NULL;
		if (s->n_icons) {
			s->icons = malloc(s->n_icons * sizeof(__u32));
			if (!s->icons)
				return -ENOMEM;
			memcpy(s->icons, data, s->n_icons * sizeof(__u32));
		}
		break;
	case UNIX_DIAG_RQLEN:
		if (len >= sizeof(struct unix_diag_rqlen)) {
			const struct unix_diag_rqlen *q = data;

			s->has_rqlen = 1;
			s->rqlen = q->udiag_rqueue;
			s->wqlen = q->udiag_wqueue;
		}
		break;
	case UNIX_DIAG_SHUTDOWN:
		if (len >= 1)
			s->shutdown = *(const __u8 *)data;
		break;
	}
	return 0;
}

/* One unix_diag_msg and its attributes into *s (zeroed first). */
static int sockdiag_parse_msg(const struct nlmsghdr *h, struct sockdiag_unix *s)
{
	const struct unix_diag_msg *m = NLMSG_DATA(h);
	const struct nlattr *a;
	size_t left;
	int err;

	if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	memset(s, 0, sizeof(*s));
	s->ino = m->udiag_ino;
	s->type = m->udiag_type;
	s->state = m->udiag_state;
	left = h->nlmsg_len - NLMSG_LENGTH(sizeof(*m));
	a = (const struct nlattr *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));
	while (left >= NLA_HDRLEN && a->nla_len >= NLA_HDRLEN && a->nla_len <= left) {
		err = sockdiag_parse_attr(s, a);
		if (err) {
			sockdiag_unix_clear(s);
			return err;
		}
		if ((size_t)NLA_ALIGN(a->nla_len) >= left)
			break;
		left -= (size_t)NLA_ALIGN(a->nla_len);
		a = (const struct nlattr *)((const char *)a + NLA_ALIGN(a->nla_len));
	}
	return 0;
}

typedef int (*sockdiag_cb)(const struct sockdiag_unix *s, void *arg);

/*
 * Read replies until NLMSG_DONE (dump) or the first answer (query); cb takes ownership
 * of each record's icons. Returns the number of records or -errno.
 */
static int sockdiag_recv(int fd, bool dump, sockdiag_cb cb, void *arg)
{
	_cleanup_free_ char *buf = malloc(SOCKDIAG_BUF_SIZE);
	int count = 0, err;

	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = SOCKDIAG_BUF_SIZE };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		const struct nlmsghdr *h;
		ssize_t n = recvmsg(fd, &mh, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0 || (mh.msg_flags & MSG_TRUNC))
			return -EMSGSIZE;
		for (h = (const struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			struct sockdiag_unix s;

			if (h->nlmsg_type == NLMSG_DONE)
				return count;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);

				if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EBADMSG;
				if (e->error == 0 && !dump)
					return count;
				pr_debug("netlink error %d", e->error);
				return e->error ? e->error : -EBADMSG;
			}
			if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
				continue;
			err = sockdiag_parse_msg(h, &s);
			if (err)
				return err;
			err = cb(&s, arg);
			if (err) {
				sockdiag_unix_clear(&s);
				return err;
			}
			count++;
			if (!dump)
				return count;
		}
	}
}

static int sockdiag_table_add(const struct sockdiag_unix *s, void *arg)
{
	struct sockdiag_table *t = arg;

	/* capacity is 64, then doubles: grow when n reaches a power of two >= 64 */
	if (t->n == 0 || (t->n >= 64 && (t->n & (t->n - 1)) == 0)) {
		size_t cap = t->n ? t->n * 2 : 64;
		struct sockdiag_unix *p = realloc(t->socks, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->socks = p;
	}
	t->socks[t->n++] = *s;
	return 0;
}

static int sockdiag_cmp_ino(const void *a, const void *b)
{
	const struct sockdiag_unix *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

void sockdiag_table__free(struct sockdiag_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++)
		free(t->socks[i].icons);
	free(t->socks);
	free(t);
}

int sockdiag_dump_unix(int netns_fd, __u32 show, struct sockdiag_table **ret)
{
	_cleanup_close_ int fd = sockdiag_open(netns_fd);
	struct sockdiag_table *t;
	int err;

	if (fd < 0)
		return fd;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->netns_cookie = sockdiag_netns_cookie(fd);
	err = sockdiag_send(fd, 0, show, true);
	if (!err)
		err = sockdiag_recv(fd, true, sockdiag_table_add, t);
	if (err < 0) {
		pr_debug("unix dump failed: %d", err);
		sockdiag_table__free(t);
		return err;
	}
	if (t->n)
		qsort(t->socks, t->n, sizeof(*t->socks), sockdiag_cmp_ino);
	*ret = t;
	return 0;
}

const struct sockdiag_unix *sockdiag_table_find(const struct sockdiag_table *t, __u32 ino)
{
	struct sockdiag_unix key = { .ino = ino };

	if (!t || !t->n)
		return NULL;
	return bsearch(&key, t->socks, t->n, sizeof(*t->socks), sockdiag_cmp_ino);
}

__u32 sockdiag_table_embryo_listener(const struct sockdiag_table *t, __u32 client_ino)
{
	size_t i, j;

	if (!t || !client_ino)
		return 0;
	for (i = 0; i < t->n; i++)
		for (j = 0; j < t->socks[i].n_icons; j++)
			if (t->socks[i].icons[j] == client_ino)
				return t->socks[i].ino;
	return 0;
}

static int sockdiag_take_one(const struct sockdiag_unix *s, void *arg)
{
	*(struct sockdiag_unix *)arg = *s;
	return 0;
}

int sockdiag_query_unix(__u32 ino, __u32 show, struct sockdiag_unix *ret)
{
	_cleanup_close_ int fd = sockdiag_open(-1);
	struct sockdiag_unix s;
	int err;

	if (fd < 0)
		return fd;
	if (!ino)
		return -EINVAL;
	err = sockdiag_send(fd, ino, show, false);
	if (!err)
		err = sockdiag_recv(fd, false, sockdiag_take_one, &s);
	if (err < 0)
		return err;
	if (err == 0)
		return -ENOENT;
	*ret = s;
	return 0;
}

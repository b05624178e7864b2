// SPDX-License-Identifier: GPL-2.0-only
/*
 * The external-socket rule (DESIGN.md "The rule it enforces", CRIU's __dump_external_socket
 * order: exception list, then the option, then the peer's type, then its name), applied to
 * a tree's unix sockets, plus the other direction CRIU cannot see: outside sockets whose
 * peer or listener is inside the tree. Pure logic; see classify.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "util.h"

#define TCP_ESTABLISHED_ 1
#define TCP_LISTEN_ 10
#define SOCK_DGRAM_ 2

static const char *const class_names[] = {
	[CLASSIFY_INTERNAL] = "internal",	[CLASSIFY_EXTERNAL] = "external",
	[CLASSIFY_UNCONNECTED] = "unconnected", [CLASSIFY_LISTENING] = "listening",
	[CLASSIFY_PEER_DEAD] = "peer-dead",	[CLASSIFY_INBOUND] = "inbound",
};

static const char *const action_names[] = {
	[CLASSIFY_ACT_INTERNAL] = "internal",
	[CLASSIFY_ACT_RECONNECT_DGRAM] = "reconnect-dgram-by-name",
	[CLASSIFY_ACT_RECONNECT_STREAM] = "reconnect-stream-new-connection",
	[CLASSIFY_ACT_REFUSE] = "refuse",
	[CLASSIFY_ACT_REPORT] = "report",
};

/* Reasons: why plain --ext-unix-sk does not accept a socket (one sentence, no subject). */
static const char REASON_STREAM[] =
	"a stream connection cannot be split: restore can only open a new connection to the "
	"peer's listener, so the server sees a new client and the data in flight and the state "
	"it kept for this connection are lost; only --ext-unix-sk=INO naming this socket "
	"accepts that";
static const char REASON_NAMELESS[] =
	"the peer has no name (a socketpair or an unbound socket), so restore has nothing to "
	"reconnect to; no option accepts it";
static const char REASON_UNKNOWN[] =
	"the peer is alive in the kernel but missing from the live map, so its name and owner "
	"are unknown; no option accepts it until the map knows it (check crux-map stats, let "
	"the tracker reconcile, retry)";
static const char REASON_INBOUND_DGRAM[] =
	"it sends to a socket inside the tree: after a restore elsewhere it keeps a dead peer "
	"and its datagrams are lost";
static const char REASON_INBOUND_EMBRYO[] =
	"it waits in the queue of a listener inside the tree: the restored listener starts "
	"with an empty queue and this connection is dropped";
static const char REASON_INBOUND_OTHER[] =
	"its peer is inside the tree: after a restore elsewhere it is left talking to a dead "
	"socket";

const char *classify_class_name(enum classify_class c)
{
	if ((unsigned int)c >= ARRAY_SIZE(class_names))
		return "?";
	return class_names[c];
}

const char *classify_action_name(enum classify_action a)
{
	if ((unsigned int)a >= ARRAY_SIZE(action_names))
		return "?";
	return action_names[a];
}

const char *classify_type_name(__u16 type)
{
	switch (type) {
	case 1:
		return "stream";
	case 2:
		return "dgram";
	case 5:
		return "seqpacket";
	}
	return NULL;
}

size_t classify_name_len(const char *name, size_t len)
{
	if (!len || name[0] == '\0')
		return len;
	return strnlen(name, len);
}

bool classify_may_be_targeted(const struct crux_sock *s)
{
	if (s->state == TCP_LISTEN_)
		return true;
	if (s->type != SOCK_DGRAM_)
		return false;
	return s->name_len || (!s->peer_ino && !(s->flags & CRUX_SK_DEAD));
}

/* Sorted inode index of the tree, so every "is it inside?" is a binary search. */
struct ino_idx {
	__u64 ino;
	size_t i;
};

static int ino_idx_cmp(const void *a, const void *b)
{
	const struct ino_idx *x = a, *y = b;

	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* The first tree socket with this inode, or -1. */
static long tree_find(const struct ino_idx *idx, size_t n, __u64 ino)
{
	size_t lo = 0, hi = n;

	if (!ino)
		return -1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (idx[mid].ino < ino)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && idx[lo].ino == ino ? (long)idx[lo].i : -1;
}

static bool policy_lists(const struct classify_policy *pol, __u64 ino)
{
	size_t i;

	for (i = 0; pol && i < pol->n_inos; i++)
		if (pol->inos[i] == ino)
			return true;
	return false;
}

static void set_peer_inside(struct classify_result *r, const struct classify_sock *p)
{
	r->has_peer = true;
	r->peer_inside = true;
	r->peer = p->sk;
	r->peer_pid = p->pid;
	r->peer_fd = p->fd;
	memcpy(r->peer_comm, p->comm, sizeof(r->peer_comm));
}

static void set_peer_outside(struct classify_result *r, const struct crux_sock *p)
{
	r->has_peer = true;
	r->peer = *p;
	r->peer_pid = p->owner_tgid;
	r->peer_fd = -1;
	memcpy(r->peer_comm, p->owner_comm, sizeof(r->peer_comm));
}

/* Where restore would connect: the recorded connect() address, else the peer's name. */
static void pick_addr(struct classify_result *r, const struct classify_lookup *lk)
{
	struct crux_conn c;
	size_t len;

	if (lk && lk->conn && lk->conn(lk->ctx, r->self.sk.ino, &c) == 0 &&
	    (!c.sk || !r->self.sk.sk || c.sk == r->self.sk.sk) && !c.truncated && c.len) {
		len = classify_name_len(c.path, MIN((size_t)c.len, sizeof(c.path)));
		memcpy(r->addr, c.path, len);
		r->addr_len = (__u16)len;
		return;
	}
	len = classify_name_len(r->peer.name, MIN((size_t)r->peer.name_len, sizeof(r->peer.name)));
	memcpy(r->addr, r->peer.name, len);
	r->addr_len = (__u16)len;
}

/* The rule, for a socket whose peer is outside (r->peer known unless unknown_peer). */
static void decide_external(struct classify_result *r, const struct classify_policy *pol,
			    const struct classify_lookup *lk, bool unknown_peer)
{
	bool listed = policy_lists(pol, r->self.sk.ino);
	bool named, dgram = r->self.sk.type == SOCK_DGRAM_;

	r->external_like = true;
	r->opt_ext_unix_sk = pol && pol->ext_unix_sk;
	r->opt_listed = listed;
	if (unknown_peer) {
		r->reason = REASON_UNKNOWN;
	} else {
		pick_addr(r, lk);
		named = r->peer.name_len > 0 || r->addr_len > 0;
		if (!named) {
			r->reason = REASON_NAMELESS;
		} else if (dgram) {
			r->ext_unix_sk = true;
			r->ext_unix_sk_ino = true;
		} else {
			r->reason = REASON_STREAM;
			r->ext_unix_sk_ino = true;
		}
	}
	if ((r->ext_unix_sk && r->opt_ext_unix_sk) || (r->ext_unix_sk_ino && listed)) {
		r->accepted = true;
		r->action = dgram ? CLASSIFY_ACT_RECONNECT_DGRAM : CLASSIFY_ACT_RECONNECT_STREAM;
	} else {
		r->accepted = false;
		r->action = CLASSIFY_ACT_REFUSE;
	}
}

static void classify_one(struct classify_result *r, const struct classify_sock *socks,
			 const struct ino_idx *idx, size_t n, const struct classify_lookup *lk,
			 const struct classify_policy *pol)
{
	const struct crux_sock *s = &r->self.sk;
	struct crux_sock p;
	long in;

	r->cls = CLASSIFY_UNCONNECTED;
	r->action = CLASSIFY_ACT_INTERNAL;
	r->accepted = true;
	r->peer_fd = -1;
	if (s->state == TCP_LISTEN_) {
		r->cls = CLASSIFY_LISTENING;
		return;
	}
	if (s->flags & CRUX_SK_EMBRYO) {
		/* our peer is an embryo queued on listener_ino: the listener is the other end */
		in = tree_find(idx, n, s->listener_ino);
		if (in >= 0) {
			r->cls = CLASSIFY_INTERNAL;
			set_peer_inside(r, &socks[in]);
		} else if (lk && lk->sock(lk->ctx, s->listener_ino, &p) == 0 &&
			   p.state == TCP_LISTEN_) {
			r->cls = CLASSIFY_EXTERNAL;
			set_peer_outside(r, &p);
			decide_external(r, pol, lk, false);
		} else {
			r->cls = CLASSIFY_PEER_DEAD;
		}
		return;
	}
	if (s->flags & CRUX_SK_DEAD) {
		r->cls = CLASSIFY_PEER_DEAD;
		return;
	}
	if (!s->peer_ino)
		return;
	in = tree_find(idx, n, s->peer_ino);
	if (in >= 0) {
		r->cls = CLASSIFY_INTERNAL;
		set_peer_inside(r, &socks[in]);
		return;
	}
	if (lk && lk->sock(lk->ctx, s->peer_ino, &p) == 0 &&
	    (!s->peer_sk || !p.sk || p.sk == s->peer_sk)) {
		r->cls = CLASSIFY_EXTERNAL;
		set_peer_outside(r, &p);
		decide_external(r, pol, lk, false);
	} else if (pol && pol->peer_ino_is_live) {
		r->cls = CLASSIFY_EXTERNAL;
		r->peer.ino = s->peer_ino;
		decide_external(r, pol, lk, true);
	} else {
		/* the map kept peer_ino after the peer was released (dgram server died) */
		r->cls = CLASSIFY_PEER_DEAD;
	}
}

/* An outside record pointing into the tree; false if it only mirrors a tree result. */
static bool classify_inbound(struct classify_result *r, const struct crux_sock *o,
			     const struct classify_sock *socks, const struct ino_idx *idx, size_t n,
			     const struct classify_result *tree)
{
	long in;

	if (tree_find(idx, n, o->ino) >= 0)
		return false; /* held inside too: it is a tree socket */
	if (o->flags & CRUX_SK_EMBRYO)
		in = tree_find(idx, n, o->listener_ino);
	else
		in = tree_find(idx, n, o->peer_ino);
	if (in < 0)
		return false;
	/* the tree socket's own result already reports this pair as external */
	if (tree[in].cls == CLASSIFY_EXTERNAL && tree[in].peer.ino == o->ino)
		return false;
	memset(r, 0, sizeof(*r));
	r->self.pid = o->owner_tgid;
	r->self.fd = -1;
	memcpy(r->self.comm, o->owner_comm, sizeof(r->self.comm));
	r->self.sk = *o;
	r->cls = CLASSIFY_INBOUND;
	r->action = CLASSIFY_ACT_REPORT;
	r->accepted = true;
	set_peer_inside(r, &socks[in]);
	if (o->flags & CRUX_SK_EMBRYO)
		r->reason = REASON_INBOUND_EMBRYO;
	else if (o->type == SOCK_DGRAM_)
		r->reason = REASON_INBOUND_DGRAM;
	else
		r->reason = REASON_INBOUND_OTHER;
	return true;
}

static int collect_unused(struct classify_report *rep, const struct classify_policy *pol)
{
	size_t i, j;

	if (!pol || !pol->n_inos)
		return 0;
	rep->unused_inos = calloc(pol->n_inos, sizeof(*rep->unused_inos));
	if (!rep->unused_inos)
		return -ENOMEM;
	for (i = 0; i < pol->n_inos; i++) {
		bool used = false;

		for (j = 0; j < rep->n_tree && !used; j++)
			used = rep->res[j].external_like && rep->res[j].self.sk.ino == pol->inos[i];
		if (!used)
			rep->unused_inos[rep->n_unused_inos++] = pol->inos[i];
	}
	return 0;
}

int classify_tree(const struct classify_sock *socks, size_t n, const struct crux_sock *inbound,
		  size_t n_inbound, const struct classify_lookup *lk,
		  const struct classify_policy *pol, struct classify_report **ret)
{
	_cleanup_free_ struct ino_idx *idx = calloc(n ? n : 1, sizeof(*idx));
	struct classify_report *rep = calloc(1, sizeof(*rep));
	size_t i;

	if (!idx || !rep)
		goto out_nomem;
	rep->res = calloc(n + n_inbound ? n + n_inbound : 1, sizeof(*rep->res));
	if (!rep->res)
		goto out_nomem;
	for (i = 0; i < n; i++)
		idx[i] = (struct ino_idx){ .ino = socks[i].sk.ino, .i = i };
	qsort(idx, n, sizeof(*idx), ino_idx_cmp);

	for (i = 0; i < n; i++) {
		struct classify_result *r = &rep->res[i];

		r->self = socks[i];
		classify_one(r, socks, idx, n, lk, pol);
	}
	rep->n = rep->n_tree = n;
	for (i = 0; i < n_inbound; i++)
		if (classify_inbound(&rep->res[rep->n], &inbound[i], socks, idx, n, rep->res))
			rep->n++;
	for (i = 0; i < rep->n; i++) {
		rep->count[rep->res[i].cls]++;
		if (rep->res[i].action == CLASSIFY_ACT_REFUSE)
			rep->n_refused++;
	}
	if (collect_unused(rep, pol))
		goto out_nomem;
	*ret = rep;
	return 0;

out_nomem:
	classify_report__free(rep);
	return -ENOMEM;
}

void classify_report__free(struct classify_report *r)
{
	if (!r)
		return;
	free(r->res);
	free(r->unused_inos);
	free(r);
}

/* snprintf that appends and keeps counting past the end of the buffer. */
struct msgbuf {
	char *buf;
	size_t sz, len;
};

static void __attribute__((format(printf, 2, 3))) mb_add(struct msgbuf *mb, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(mb->len < mb->sz ? mb->buf + mb->len : NULL,
		      mb->len < mb->sz ? mb->sz - mb->len : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		mb->len += (size_t)k;
}

static void mb_name(struct msgbuf *mb, const char *name, size_t len)
{
	char text[4 * CRUX_CONN_PATH_MAX + 1];

	len = classify_name_len(name, len);
	if (!len) {
		mb_add(mb, "(no name)");
		return;
	}
	unix_name_format(name, len, text, sizeof(text));
	/* abstract names already carry their '@'; paths are quoted */
	if (name[0] == '\0')
		mb_add(mb, "%s", text);
	else
		mb_add(mb, "\"%s\"", text);
}

static void mb_type(struct msgbuf *mb, __u16 type)
{
	const char *t = classify_type_name(type);

	if (t)
		mb_add(mb, "%s", t);
	else
		mb_add(mb, "type-%u", type);
}

static void mb_subject(struct msgbuf *mb, const struct classify_result *r)
{
	const struct crux_sock *s = &r->self.sk;

	mb_add(mb, "pid %u (%.*s) fd %d: ", r->self.pid, CRUX_COMM_LEN, r->self.comm, r->self.fd);
	mb_type(mb, s->type);
	mb_add(mb, " socket ino %llu", (unsigned long long)s->ino);
	if (s->name_len) {
		mb_add(mb, " bound to ");
		mb_name(mb, s->name, s->name_len);
	}
}

static void mb_peer(struct msgbuf *mb, const struct classify_result *r)
{
	bool embryo = r->self.sk.flags & CRUX_SK_EMBRYO;

	if (!r->has_peer) {
		mb_add(mb, " is connected to ino %llu, which the live map does not know.",
		       (unsigned long long)r->peer.ino);
		return;
	}
	mb_add(mb,
	       embryo ? " is queued (not yet accepted) on listener ino %llu " :
			" is connected to ino %llu ",
	       (unsigned long long)r->peer.ino);
	mb_name(mb, r->peer.name, r->peer.name_len);
	if (r->peer_pid)
		mb_add(mb, " of pid %u (%.*s)", r->peer_pid, CRUX_COMM_LEN, r->peer_comm);
	else
		mb_add(mb, " of an unknown owner");
	mb_add(mb, ", outside the dumped tree.");
}

static void format_external(struct msgbuf *mb, const struct classify_result *r)
{
	bool dgram = r->self.sk.type == SOCK_DGRAM_;

	if (r->accepted) {
		mb_add(mb, " Accepted by --ext-unix-sk");
		if (r->opt_listed)
			mb_add(mb, "=%llu", (unsigned long long)r->self.sk.ino);
		mb_add(mb, ": restore %s ",
		       dgram ? "connects a new datagram socket to" : "opens a new connection to");
		mb_name(mb, r->addr, r->addr_len);
		mb_add(mb, dgram ? "." :
				   "; in-flight data and server-side state are not carried over.");
		return;
	}
	if (!r->opt_ext_unix_sk)
		mb_add(mb, " External socket is used. Consider using --ext-unix-sk option.");
	if (r->ext_unix_sk) {
		mb_add(mb, " With it, restore connects a new datagram socket to ");
		mb_name(mb, r->addr, r->addr_len);
		mb_add(mb, ".");
	} else if (r->reason == REASON_STREAM) {
		mb_add(mb, " Can't dump half of stream unix connection: restore could only open a "
			   "new connection to ");
		mb_name(mb, r->addr, r->addr_len);
		mb_add(mb,
		       ", so the server would see a new client, and the data in flight and the "
		       "state it kept for this connection would be lost. If the application "
		       "copes with that, pass --ext-unix-sk=%llu.",
		       (unsigned long long)r->self.sk.ino);
	} else if (r->reason == REASON_NAMELESS) {
		mb_add(mb, " Can't dump name-less external socket: %s.", r->reason);
	} else {
		mb_add(mb, " Can't dump external socket: %s.", r->reason);
	}
}

static void format_inbound(struct msgbuf *mb, const struct classify_result *r)
{
	mb_add(mb, "outside pid %u (%.*s): ", r->self.pid, CRUX_COMM_LEN, r->self.comm);
	mb_type(mb, r->self.sk.type);
	mb_add(mb, " socket ino %llu points at ino %llu ", (unsigned long long)r->self.sk.ino,
	       (unsigned long long)r->peer.ino);
	mb_name(mb, r->peer.name, r->peer.name_len);
	mb_add(mb, " of pid %u (%.*s) fd %d in the tree: %s.", r->peer_pid, CRUX_COMM_LEN,
	       r->peer_comm, r->peer_fd, r->reason);
}

size_t classify_format_msg(const struct classify_result *r, char *buf, size_t sz)
{
	struct msgbuf mb = { .buf = buf, .sz = sz };

	if (sz)
		buf[0] = '\0';
	if (r->cls == CLASSIFY_INBOUND) {
		format_inbound(&mb, r);
		return mb.len;
	}
	mb_subject(&mb, r);
	switch (r->cls) {
	case CLASSIFY_EXTERNAL:
		mb_peer(&mb, r);
		format_external(&mb, r);
		break;
	case CLASSIFY_INTERNAL:
		mb_add(&mb, " is connected to ino %llu of pid %u fd %d, inside the tree.",
		       (unsigned long long)r->peer.ino, r->peer_pid, r->peer_fd);
		break;
	case CLASSIFY_PEER_DEAD:
		mb_add(&mb, " lost its peer (released); it is dumped without one.");
		break;
	case CLASSIFY_LISTENING:
		mb_add(&mb, " is listening.");
		break;
	default:
		mb_add(&mb, " is not connected.");
		break;
	}
	return mb.len;
}

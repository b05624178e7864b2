// SPDX-License-Identifier: GPL-2.0-only
/*
 * crux-map: admin queries over the live unix socket map (ls, peers, external, who, watch,
 * stats); the command line is in crux_map/args.c. Every listing goes through the sockprint printer (table or JSON); `external`
 * classifies with classify_tree(), the code `crux dump` uses, so both reach one verdict.
 */
#include <argp.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#define LOG_PREFIX ""
#include "classify.h"
#include "crux_map/args.h"
#include "cmd.h"
#include "log.h"
#include "mapsrc.h"
#include "metrics.h"
#include "outfmt.h"
#include "shared.h"
#include "sockprint.h"
#include "util.h"

/* ---- ls ---- */

static int sock_cmp(const void *a, const void *b)
{
	const struct crux_sock *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static int ino_cmp(const void *a, const void *b)
{
	const __u64 *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

static const struct crux_sock *find_rec(const struct crux_sock *v, size_t n, __u64 ino)
{
	struct crux_sock key = { .ino = ino };

	return ino ? bsearch(&key, v, n, sizeof(key), sock_cmp) : NULL;
}

/* The record's peer, resolved against the list: NULL if it has none or it died. */
static const struct crux_sock *live_peer(const struct crux_sock *s, const struct crux_sock *v,
					 size_t n)
{
	const struct crux_sock *p;

	if (s->flags & CRUX_SK_EMBRYO)
		return find_rec(v, n, s->listener_ino);
	if (s->flags & CRUX_SK_DEAD)
		return NULL;
	p = find_rec(v, n, s->peer_ino);
	if (p && s->peer_sk && p->sk && p->sk != s->peer_sk)
		return NULL; /* recycled inode */
	return p;
}

static bool name_matches(const struct crux_sock *s, const char *want, bool prefix)
{
	char text[4 * CRUX_SUN_PATH_MAX + 1];
	size_t wl = strlen(want);

	if (!s->name_len)
		return false;
	unix_name_format(s->name,
			 classify_name_len(s->name, MIN((size_t)s->name_len, sizeof(s->name))),
			 text, sizeof(text));
	return prefix ? !strncmp(text, want, wl) : !strcmp(text, want);
}

static bool ino_listed(const struct mapsrc_proc *p, __u64 ino)
{
	size_t i;

	for (i = 0; p && i < p->n_fds; i++)
		if (p->fds[i].ino == ino)
			return true;
	return false;
}

static bool ls_keep(const struct opts *o, const struct crux_sock *s, const struct sockrow *row,
		    const struct mapsrc_proc *pidp)
{
	if (o->f_pid && !ino_listed(pidp, s->ino))
		return false;
	if (o->f_comm && strncmp(s->owner_comm, o->f_comm, CRUX_COMM_LEN))
		return false;
	if (o->f_name && !name_matches(s, o->f_name, true))
		return false;
	if (o->f_type && s->type != o->f_type)
		return false;
	if (o->f_state && strcmp(row->state, o->f_state))
		return false;
	if (o->f_netns && s->netns_cookie != o->f_netns)
		return false;
	return true;
}

/* A row for record s, its peer resolved against the sorted list (unless -n). */
static void row_for(struct sockrow *row, const struct crux_sock *s, const struct crux_sock *v,
		    size_t n, bool numeric)
{
	const struct crux_sock *p;

	sockprint_row_from_sock(row, s);
	if (numeric)
		return;
	p = live_peer(s, v, n);
	row->state = sockprint_state(s, p != NULL);
	row->peer = p ? p->ino : 0;
	if (p) {
		row->peer_name.bytes = p->name;
		row->peer_name.len = MIN((size_t)p->name_len, sizeof(p->name));
		row->peer_pid = p->owner_tgid;
		row->peer_comm = p->owner_comm[0] ? p->owner_comm : NULL;
	}
}

static int cmd_ls(const struct opts *o, struct mapsrc *src)
{
	static const enum sp_col cols[] = { SP_INO,  SP_TYPE,	   SP_STATE, SP_NAME,
					    SP_PEER, SP_PEER_NAME, SP_PID,   SP_COMM };
	_cleanup_free_ struct crux_sock *v = NULL;
	struct mapsrc_proc pidp = { 0 };
	struct sockprint *pr;
	size_t n = 0, i;
	int err;

	err = mapsrc_list(src, &v, &n);
	if (err) {
		pr_err("cannot read the socket map: %s", strerror(-err));
		return err;
	}
	if (o->f_pid) {
		err = mapsrc_proc(src, o->f_pid, &pidp);
		if (err) {
			pr_err("--pid %d: no such process", o->f_pid);
			return err;
		}
	}
	qsort(v, n, sizeof(*v), sock_cmp);
	pr = sockprint__new(stdout, o->json, !o->no_header, cols, ARRAY_SIZE(cols));
	if (!pr) {
		mapsrc_proc_clear(&pidp);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct sockrow row;

		row_for(&row, &v[i], v, n, o->numeric);
		if (!ls_keep(o, &v[i], &row, &pidp))
			continue;
		if (o->f_pid) {
			/* the map's owner is the creator; this process holds it too */
			row.pid = (__u32)pidp.pid;
			row.comm = pidp.comm;
		}
		sockprint_row(pr, &row);
	}
	sockprint__free(pr);
	mapsrc_proc_clear(&pidp);
	return 0;
}

/* ---- peers ---- */

/* Processes read once per command: peer fd lookups hit /proc once per owner. */
struct proc_cache {
	struct mapsrc_proc *procs;
	size_t n;
	struct mapsrc *src;
};

static int cache_fd(struct proc_cache *c, pid_t pid, __u64 ino)
{
	struct mapsrc_proc *p = NULL, *tmp;
	size_t i;

	if (!pid)
		return -ENOENT;
	for (i = 0; i < c->n && !p; i++)
		if (c->procs[i].pid == pid)
			p = &c->procs[i];
	if (!p) {
		tmp = realloc(c->procs, (c->n + 1) * sizeof(*tmp));
		if (!tmp)
			return -ENOMEM;
		c->procs = tmp;
		p = &c->procs[c->n++];
		if (mapsrc_proc(c->src, pid, p)) {
			memset(p, 0, sizeof(*p));
			p->pid = pid; /* gone: remember that */
		}
	}
	for (i = 0; i < p->n_fds; i++)
		if (p->fds[i].ino == ino)
			return p->fds[i].fd;
	return -ENOENT;
}

static void row_set_peer(struct sockrow *row, const struct crux_sock *p, struct proc_cache *c)
{
	row->peer = p->ino;
	row->peer_name.bytes = p->name;
	row->peer_name.len = MIN((size_t)p->name_len, sizeof(p->name));
	row->peer_pid = p->owner_tgid;
	row->peer_comm = p->owner_comm[0] ? p->owner_comm : NULL;
	row->peer_fd = cache_fd(c, (pid_t)p->owner_tgid, p->ino);
}

/* The socket's other end from the map: the peer, or the listener an embryo waits on. */
static int peer_of(struct mapsrc *src, const struct crux_sock *s, struct crux_sock *p)
{
	if (s->flags & CRUX_SK_EMBRYO)
		return mapsrc_lookup(src, s->listener_ino, p);
	if ((s->flags & CRUX_SK_DEAD) || !s->peer_ino)
		return -ENOENT;
	if (mapsrc_lookup(src, s->peer_ino, p))
		return -ENOENT;
	return s->peer_sk && p->sk && p->sk != s->peer_sk ? -ENOENT : 0;
}

static void peers_one(struct sockprint *pr, struct mapsrc *src, const struct mapsrc_proc *proc,
		      const struct mapsrc_fd *fd, const struct crux_sock *s,
		      const struct crux_sock *in, size_t n_in, struct proc_cache *c, bool numeric)
{
	struct crux_sock p;
	struct sockrow row;
	bool alive = !numeric && peer_of(src, s, &p) == 0;
	size_t i, clients = 0;

	sockprint_row_from_sock(&row, s);
	row.pid = (__u32)proc->pid;
	row.comm = proc->comm;
	row.fd = fd->fd;
	if (!numeric) {
		row.state = sockprint_state(s, alive);
		row.peer = 0;
	}
	if (alive)
		row_set_peer(&row, &p, c);
	/* no peer of its own: a server, whose clients are the other ends (one row each) */
	for (i = 0; !alive && !numeric && i < n_in; i++) {
		__u64 t = in[i].flags & CRUX_SK_EMBRYO ? in[i].listener_ino : in[i].peer_ino;

		if (t != s->ino)
			continue;
		row_set_peer(&row, &in[i], c);
		sockprint_row(pr, &row);
		clients++;
	}
	if (!clients)
		sockprint_row(pr, &row);
}

static int cmd_peers(const struct opts *o, struct mapsrc *src, pid_t pid)
{
	static const enum sp_col cols[] = { SP_FD,   SP_INO,	  SP_TYPE,	SP_STATE,  SP_NAME,
					    SP_PEER, SP_PEER_PID, SP_PEER_COMM, SP_PEER_FD };
	struct proc_cache cache = { .src = src };
	_cleanup_free_ struct crux_sock *in = NULL;
	_cleanup_free_ __u64 *inos = NULL;
	struct mapsrc_proc proc;
	struct sockprint *pr;
	size_t i, n_in = 0;
	int err;

	err = mapsrc_proc(src, pid, &proc);
	if (err) {
		pr_err("no process %d (%s)", pid, strerror(-err));
		return err;
	}
	inos = calloc(proc.n_fds + 1, sizeof(*inos));
	pr = sockprint__new(stdout, o->json, !o->no_header, cols, ARRAY_SIZE(cols));
	if (!inos || !pr) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < proc.n_fds; i++)
		inos[i] = proc.fds[i].ino;
	err = mapsrc_list_inbound(src, inos, proc.n_fds, &in, &n_in);
	if (err) {
		pr_err("cannot read the socket map: %s", strerror(-err));
		goto out;
	}
	for (i = 0; i < proc.n_fds; i++) {
		struct crux_sock s;

		if (mapsrc_lookup(src, proc.fds[i].ino, &s))
			continue; /* not a unix socket */
		peers_one(pr, src, &proc, &proc.fds[i], &s, in, n_in, &cache, o->numeric);
	}
out:
	sockprint__free(pr);
	mapsrc_procs_free(cache.procs, cache.n);
	mapsrc_proc_clear(&proc);
	return err;
}

/* ---- external ---- */

struct tree {
	struct mapsrc_proc *procs;
	size_t n_procs;
	struct classify_sock *socks;
	size_t n;
	size_t n_unknown; /* socket fds the map does not know */
};

static void tree_free(struct tree *t)
{
	mapsrc_procs_free(t->procs, t->n_procs);
	free(t->socks);
}

/* PID and descendants, their socket fds and the map's record of each. */
static int tree_read(struct mapsrc *src, pid_t pid, struct tree *t)
{
	size_t i, j, total = 0;
	int err;

	memset(t, 0, sizeof(*t));
	err = mapsrc_tree(src, pid, &t->procs, &t->n_procs);
	if (err)
		return err;
	for (i = 0; i < t->n_procs; i++)
		total += t->procs[i].n_fds;
	t->socks = calloc(total + 1, sizeof(*t->socks));
	if (!t->socks)
		return -ENOMEM;
	for (i = 0; i < t->n_procs; i++) {
		const struct mapsrc_proc *p = &t->procs[i];

		for (j = 0; j < p->n_fds; j++) {
			struct classify_sock *c = &t->socks[t->n];

			if (mapsrc_lookup(src, p->fds[j].ino, &c->sk)) {
				t->n_unknown++;
				continue;
			}
			c->pid = (__u32)p->pid;
			c->fd = p->fds[j].fd;
			memcpy(c->comm, p->comm, sizeof(c->comm));
			t->n++;
		}
	}
	return 0;
}

static void row_for_result(struct sockrow *row, const struct classify_result *r)
{
	sockprint_row_from_sock(row, &r->self.sk);
	row->pid = r->self.pid;
	row->comm = r->self.comm[0] ? r->self.comm : NULL;
	row->fd = r->self.fd;
	row->state = sockprint_state(&r->self.sk, r->cls != CLASSIFY_PEER_DEAD);
	row->cls = classify_class_name(r->cls);
	row->action = classify_action_name(r->action);
	row->ext = r->external_like ? r->ext_unix_sk : -1;
	row->reason = r->reason;
	row->peer = r->has_peer || r->external_like ? r->peer.ino : 0;
	if (r->has_peer) {
		row->peer_name.bytes = r->peer.name;
		row->peer_name.len = MIN((size_t)r->peer.name_len, sizeof(r->peer.name));
		row->peer_pid = r->peer_pid;
		row->peer_comm = r->peer_comm[0] ? r->peer_comm : NULL;
		row->peer_fd = r->peer_fd;
	}
}

/* JSON only: the pipe ends and sockets also held outside the tree. */
static void shared_print_json(struct outfmt *of, const struct shared_end *v, size_t n)
{
	size_t i;

	outfmt_open(of, "shared", '[');
	for (i = 0; i < n; i++) {
		outfmt_open(of, NULL, '{');
		outfmt_int(of, "pid", NULL, v[i].pid);
		outfmt_int(of, "fd", NULL, v[i].fd);
		outfmt_uint(of, "ino", NULL, v[i].ino);
		outfmt_str(of, "kind", NULL, v[i].socket ? "socket" : "pipe");
		outfmt_str(of, "end", NULL, v[i].socket ? NULL : v[i].pipe_read ? "read" : "write");
		outfmt_int(of, "holder_pid", NULL, v[i].holder);
		outfmt_str(of, "holder_comm", NULL, v[i].holder ? v[i].holder_comm : NULL);
		outfmt_close(of);
	}
	outfmt_close(of);
}

/* The comm of a tree process, for the messages. */
static const char *tree_comm(const struct tree *t, pid_t pid)
{
	size_t i;

	for (i = 0; i < t->n_procs; i++)
		if (t->procs[i].pid == pid)
			return t->procs[i].comm;
	return "?";
}

static void external_print(const struct opts *o, pid_t pid, const struct classify_report *rep,
			   const struct tree *t, const struct shared_end *shared, size_t n_shared)
{
	size_t n_refused = rep->n_refused + n_shared;
	static const enum sp_col cols[] = { SP_PID,	 SP_FD,	       SP_INO,	   SP_TYPE,
					    SP_CLASS,	 SP_EXT,       SP_PEER,	   SP_PEER_NAME,
					    SP_PEER_PID, SP_PEER_COMM, SP_PEER_FD, SP_ACTION,
					    SP_REASON };
	/* the table shows the first nine; JSON carries them all */
	struct outfmt *of = outfmt__new(stdout, o->json);
	struct sockprint *pr = NULL;
	char msg[CLASSIFY_MSG_MAX];
	size_t i;

	if (of) {
		outfmt_open(of, NULL, '{');
		outfmt_int(of, "pid", NULL, pid);
		outfmt_str(of, "verdict", NULL, n_refused ? "refused" : "ok");
		outfmt_uint(of, "refused", NULL, n_refused);
		pr = sockprint__new_in(of, "sockets", !o->no_header, cols,
				       o->json ? ARRAY_SIZE(cols) : 9);
	}
	if (!pr) {
		outfmt__free(of);
		return;
	}
	for (i = 0; i < rep->n; i++) {
		struct sockrow row;

		row_for_result(&row, &rep->res[i]);
		sockprint_row(pr, &row);
	}
	sockprint__free(pr);
	/* only when there is one: a recorded snapshot (not checked) answers the same */
	if (o->json && n_shared)
		shared_print_json(of, shared, n_shared);
	outfmt__free(of);
	if (o->json)
		return;
	for (i = 0; i < rep->n; i++) {
		const struct classify_result *r = &rep->res[i];

		if (!r->external_like && r->cls != CLASSIFY_INBOUND)
			continue;
		classify_format_msg(r, msg, sizeof(msg));
		printf("%s: %s\n",
		       r->cls == CLASSIFY_INBOUND ? "inbound" :
		       r->accepted		  ? "accepted" :
						    "refused",
		       msg);
	}
	for (i = 0; i < n_shared; i++) {
		shared_format(&shared[i], tree_comm(t, shared[i].pid), msg, sizeof(msg));
		printf("refused: %s\n", msg);
	}
	if (n_refused)
		printf("verdict: crux dump -t %d would be refused: %zu %s above\n", pid, n_refused,
		       n_shared ? (n_refused == 1 ? "refusal" : "refusals") :
				  (n_refused == 1 ? "socket" : "sockets"));
	else
		printf("verdict: crux dump -t %d would accept every socket (%zu inbound "
		       "warning%s)\n",
		       pid, rep->count[CLASSIFY_INBOUND],
		       rep->count[CLASSIFY_INBOUND] == 1 ? "" : "s");
	for (i = 0; i < rep->n_unused_inos; i++)
		printf("note: --ext-unix-sk=%llu names no external socket of this tree\n",
		       (unsigned long long)rep->unused_inos[i]);
}

/* Pipe ends and sockets of the tree also held outside it (a dump refuses them too). */
static void tree_shared(struct mapsrc *src, const struct tree *t, struct shared_end **ret,
			size_t *ret_n)
{
	_cleanup_free_ pid_t *pids = calloc(t->n_procs + 1, sizeof(*pids));
	struct treeiter *ti = mapsrc_treeiter(src);
	size_t i;
	int err = -ENOMEM;

	if (!ti)
		err = -EOPNOTSUPP;
	else if (pids) {
		for (i = 0; i < t->n_procs; i++)
			pids[i] = t->procs[i].pid;
		err = shared_find(ti, pids, t->n_procs, ret, ret_n);
	}
	if (err)
		pr_warn("cannot check for pipes and sockets also held outside the tree: %s",
			strerror(-err));
}

static int cmd_external(const struct opts *o, struct mapsrc *src, pid_t pid)
{
	struct classify_policy pol = { .ext_unix_sk = o->ext_unix_sk,
				       .inos = o->ext_inos,
				       .n_inos = o->n_ext_inos };
	_cleanup_free_ struct crux_sock *in = NULL;
	struct classify_report *rep = NULL;
	struct shared_end *shared = NULL;
	bool full_pass = false;
	struct classify_lookup lk;
	size_t n_in = 0, n_shared = 0;
	struct tree t;
	int err;

	err = tree_read(src, pid, &t);
	if (err == -ESRCH)
		pr_err("no process %d", pid);
	else if (err)
		pr_err("cannot read the process tree of %d: %s", pid, strerror(-err));
	if (!err)
		err = mapsrc_tree_inbound(src, t.socks, t.n, &in, &n_in, &full_pass);
	if (!err) {
		mapsrc_classify_lookup(src, &lk);
		err = classify_tree(t.socks, t.n, in, n_in, &lk, &pol, &rep);
	}
	/* a recorded snapshot has no processes to count references in */
	if (!err && mapsrc_kind(src) != MAPSRC_FILE)
		tree_shared(src, &t, &shared, &n_shared);
	if (!err) {
		if (t.n_unknown)
			pr_debug("%zu socket fds of the tree are not unix sockets the map knows",
				 t.n_unknown);
		if (full_pass)
			pr_debug("a datagram socket of the tree may have outside clients: read the "
				 "whole map to find them");
		external_print(o, pid, rep, &t, shared, n_shared);
	}
	free(shared);
	classify_report__free(rep);
	tree_free(&t);
	return err;
}

/* ---- who ---- */

static const char *who_role(const struct crux_sock *s)
{
	if (s->state == 10)
		return "listening";
	if (s->type != 2 && (s->peer_ino || (s->flags & CRUX_SK_EMBRYO)))
		return "accepted"; /* an accepted socket carries its listener's name */
	return "bound";
}

static int cmd_who(const struct opts *o, struct mapsrc *src)
{
	static const enum sp_col cols[] = { SP_ROLE, SP_INO, SP_TYPE, SP_STATE,
					    SP_PEER, SP_PID, SP_COMM };
	_cleanup_free_ struct crux_sock *v = NULL;
	_cleanup_free_ __u64 *bound = NULL;
	size_t n = 0, nb = 0, i, pass;
	struct sockprint *pr;
	int err;

	err = mapsrc_list(src, &v, &n);
	if (err) {
		pr_err("cannot read the socket map: %s", strerror(-err));
		return err;
	}
	qsort(v, n, sizeof(*v), sock_cmp);
	bound = calloc(n + 1, sizeof(*bound));
	pr = sockprint__new(stdout, o->json, !o->no_header, cols, ARRAY_SIZE(cols));
	if (!bound || !pr) {
		sockprint__free(pr);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (name_matches(&v[i], o->operand, false))
			bound[nb++] = v[i].ino; /* v is sorted: so is bound */
	/* first who is bound to the name, then who is connected to one of those */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < n; i++) {
			const struct crux_sock *s = &v[i];
			__u64 t = s->flags & CRUX_SK_EMBRYO ? s->listener_ino : s->peer_ino;
			bool is_bound = bsearch(&s->ino, bound, nb, sizeof(*bound), ino_cmp);
			struct sockrow row;

			if (pass == 0 && !is_bound)
				continue;
			if (pass == 1 &&
			    (is_bound || !t || !bsearch(&t, bound, nb, sizeof(*bound), ino_cmp)))
				continue;
			row_for(&row, s, v, n, o->numeric);
			row.role = pass == 0		     ? who_role(s) :
				   s->flags & CRUX_SK_EMBRYO ? "queued" :
							       "connected";
			sockprint_row(pr, &row);
		}
	}
	sockprint__free(pr);
	if (!nb)
		pr_info("no unix socket is bound to '%s'", o->operand);
	return 0;
}

/* ---- stats ---- */

static const char *const stat_names[CRUX_ST__MAX] = {
	[CRUX_ST_GEN] = "generation",
	[CRUX_ST_RECONCILE_TIME] = "last_reconcile",
	[CRUX_ST_RECONCILE_SWEPT] = "reconcile_swept",
	[CRUX_ST_UPSERTS] = "upserts",
	[CRUX_ST_UPSERT_FAIL] = "upsert_failures",
	[CRUX_ST_FORGETS] = "forgets",
	[CRUX_ST_SHARED_CLOSE] = "shared_closes",
	[CRUX_ST_EVENTS_LOST] = "events_lost",
	[CRUX_ST_TRACKER_PID] = "tracker_pid",
	[CRUX_ST_WATCHERS] = "watchers",
	[CRUX_ST_RECONCILES] = "reconciles",
	[CRUX_ST_SEEN_FAIL] = "seen_failures",
	[CRUX_ST_RECONCILE_NS] = "reconcile_ns",
	[CRUX_ST_TRACKER_START] = "tracker_start",
};

static const char *source_name(enum mapsrc_kind k)
{
	return k == MAPSRC_LIVE ? "live" : k == MAPSRC_KERNEL ? "kernel-snapshot" : "file";
}

/* The text format of a "name value" line: the name padded as every stats line. */
static const char *stat_fmt(char *buf, size_t sz, const char *name, const char *conv)
{
	snprintf(buf, sz, "%-18s %s\n", name, conv);
	return buf;
}

static void stats_print_time(struct outfmt *of, __u64 ns)
{
	char buf[64] = "never", fmt[64];
	time_t t = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (ns && gmtime_r(&t, &tm))
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	outfmt_uint(of, "last_reconcile", NULL, ns);
	outfmt_str(of, "last_reconcile_utc", stat_fmt(fmt, sizeof(fmt), "last_reconcile", "%s"),
		   buf);
}

static void stats_print(const struct opts *o, struct mapsrc *src, size_t n, const __u64 *st)
{
	struct outfmt *of = outfmt__new(stdout, o->json);
	char fmt[64], other[16];
	size_t i;

	if (!of)
		return;
	outfmt_open(of, NULL, '{');
	outfmt_str(of, "source", stat_fmt(fmt, sizeof(fmt), "source", "%s"),
		   source_name(mapsrc_kind(src)));
	outfmt_uint(of, "entries", stat_fmt(fmt, sizeof(fmt), "entries", "%llu"), n);
	for (i = 0; i < CRUX_ST__MAX; i++) {
		const char *name = stat_names[i];

		if (i == CRUX_ST_RECONCILE_TIME) {
			stats_print_time(of, st[i]);
			continue;
		}
		if (!name) {
			if (!st[i])
				continue; /* an index this crux-map does not know, unused */
			snprintf(other, sizeof(other), "stat_%zu", i);
			name = other;
		}
		outfmt_uint(of, name, stat_fmt(fmt, sizeof(fmt), name, "%llu"), st[i]);
	}
	outfmt__free(of);
}

/* The registered tracker runs (a pid of a recorded snapshot means nothing here). */
static bool tracker_up(struct mapsrc *src, const __u64 *st)
{
	__u64 pid = st[CRUX_ST_TRACKER_PID];

	if (mapsrc_kind(src) != MAPSRC_LIVE || !pid || pid > INT32_MAX)
		return false;
	return !kill((pid_t)pid, 0) || errno == EPERM;
}

static int cmd_stats(const struct opts *o, struct mapsrc *src)
{
	_cleanup_free_ struct crux_sock *v = NULL;
	__u64 st[CRUX_ST__MAX] = { 0 };
	struct timespec now;
	size_t n = 0;
	int err;

	err = mapsrc_list(src, &v, &n);
	if (!err)
		err = mapsrc_stats(src, st);
	if (err) {
		pr_err("cannot read the socket map: %s", strerror(-err));
		return err;
	}
	if (!o->prometheus) {
		stats_print(o, src, n, st);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	metrics_print(stdout, &(struct metrics_in){
				      .socks = v,
				      .n = n,
				      .stats = st,
				      .abi_version = CRUX_ABI_VERSION,
				      .live = mapsrc_kind(src) == MAPSRC_LIVE,
				      .tracker_up = tracker_up(src, st),
				      .now_ns = now.tv_sec * 1000000000ULL + now.tv_nsec,
			      });
	return 0;
}

/* ---- watch ---- */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	stop = 1;
}

static int on_event(void *ctx, void *data, size_t size)
{
	const struct opts *o = ctx;

	if (size >= sizeof(struct crux_event))
		sockprint_event(stdout, data, o->json);
	fflush(stdout);
	return 0;
}

static int cmd_watch(const struct opts *o, struct mapsrc *src)
{
	struct ring_buffer *rb = NULL;
	int ev_fd, err;

	err = mapsrc_watch_begin(src, &ev_fd);
	if (err == -ENOTSUP) {
		pr_err("watch needs a running tracker: start 'crux track' (pin dir %s)",
		       o->pin_dir ? o->pin_dir : CRUX_PIN_ROOT);
		return err;
	}
	if (err) {
		pr_err("cannot open the tracker's events: %s", strerror(-err));
		return err;
	}
	rb = ring_buffer__new(ev_fd, on_event, (void *)o, NULL);
	if (!rb) {
		err = -errno;
		pr_err("cannot map the events ring buffer: %s", strerror(-err));
		goto out;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pr_info("watching unix socket events (Ctrl-C stops)");
	if (!o->json && !o->no_header)
		sockprint_event_header(stdout);
	fflush(stdout);
	while (!stop) {
		err = ring_buffer__poll(rb, 200);
		if (err == -EINTR) {
			err = 0;
			break;
		}
		if (err < 0) {
			pr_err("reading events: %s", strerror(-err));
			break;
		}
		err = 0;
	}
	ring_buffer__free(rb);
out:
	mapsrc_watch_end(src);
	return err;
}

/* ---- record (tests) ---- */

static int cmd_record(struct mapsrc *src, char **pids_s, size_t n)
{
	_cleanup_free_ pid_t *pids = calloc(n + 1, sizeof(*pids));
	size_t i;
	int err;

	if (!pids)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (parse_pid(pids_s[i], &pids[i]))
			return pr_err_ret(-EINVAL, "'%s' is not a process id", pids_s[i]);
	err = mapsrc_write_snapshot(src, stdout, pids, n);
	if (err)
		pr_err("cannot record a snapshot: %s", strerror(-err));
	return err;
}

/* ---- main ---- */

static int open_source(const struct opts *o, struct mapsrc **src)
{
	const char *file = getenv("CRUX_MAP_SNAPSHOT");
	const char *dir = o->pin_dir ? o->pin_dir : CRUX_PIN_ROOT;
	int err;

	err = mapsrc__open(o->pin_dir, file && *file ? file : NULL, src);
	if (err == -EPROTO) {
		pr_err("the state under %s was pinned by a crux of another ABI "
		       "version (this one: %d): restart 'crux track'",
		       dir, CRUX_ABI_VERSION);
		return err;
	}
	if (err && file) {
		pr_err("cannot read snapshot file %s: %s", file, strerror(-err));
		return err;
	}
	if (err && geteuid() != 0) {
		/* the kernel says EACCES or EPERM depending on where it stopped us */
		pr_err("crux-map must run as root: the tracker's state under %s is root-only "
		       "(mode 0700) and reading BPF maps needs CAP_BPF (%s)",
		       dir, strerror(-err));
		return err;
	}
	if (err) {
		pr_err("cannot read the unix socket map (%s): %s; crux-map needs "
		       "root and bpffs (tools/setup.sh)",
		       dir, strerror(-err));
		return err;
	}
	if (mapsrc_kind(*src) == MAPSRC_KERNEL)
		pr_info("no tracker running (no state under %s): answers come from a one-shot "
			"kernel snapshot",
			dir);
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	struct mapsrc *src = NULL;
	pid_t pid = 0;
	int err;

	log_init("crux-map");
	libbpf_set_print(NULL);
	err = crux_map_parse(argc, argv, &o, &pid);
	if (err)
		return err;
	err = open_source(&o, &src);
	if (!err) {
		switch (o.cmd) {
		case CMD_LS:
			err = cmd_ls(&o, src);
			break;
		case CMD_PEERS:
			err = cmd_peers(&o, src, pid);
			break;
		case CMD_EXTERNAL:
			err = cmd_external(&o, src, pid);
			break;
		case CMD_WHO:
			err = cmd_who(&o, src);
			break;
		case CMD_WATCH:
			err = cmd_watch(&o, src);
			break;
		case CMD_STATS:
			err = cmd_stats(&o, src);
			break;
		case CMD_RECORD:
			err = cmd_record(src, o.operands, o.n_operands);
			break;
		}
	}
	mapsrc__close(src);
	free(o.ext_inos);
	return err ? 1 : 0;
}

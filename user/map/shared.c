// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared pipe ends and sockets: see include/shared.h.
 *
 * The kernel counts every reference to an open file description. A pid-filtered iterator
 * reads that count for each fd of each process (bpf/crux_iter.bpf.c iter_task_file_refs);
 * the fds of the set and the caller's own account for some of it, and the rest is held
 * elsewhere: an fd table outside the set, or an SCM_RIGHTS message in flight. A pipe end
 * reopened through /proc/PID/fd is another description of the same end: the pipe's reader
 * and writer counts show it. A thread of the set asleep in poll()/select() holds one more
 * reference per polled file (the iterator counts them); a frozen tree has none.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "shared: "
#include "log.h"
#include "proc.h"
#include "netsk.h"
#include "shared.h"
#include "treeiter.h"
#include "util.h"

/* A holder nobody can be found for may be a transient reference: measure again after this. */
#define SHARED_RECHECK_US 20000

/* Every fd of the tree (or of crux), sorted by open file description. */
struct refset {
	struct crux_file_ref *v;
	size_t n, cap;
};

/* A pipe end or socket of the set with references beyond it, before holders are named. */
struct shared_ref {
	const struct crux_file_ref *r; /* an fd of the set on it */
	bool pipe_read; /* a pipe's read end (else its write end or a socket) */
};

static int cmp_file(const void *a, const void *b)
{
	const struct crux_file_ref *x = a, *y = b;

	return x->file < y->file ? -1 : x->file > y->file;
}

static int refset_add_task(struct treeiter *ti, pid_t pid, struct refset *s)
{
	_cleanup_free_ struct crux_file_ref *recs = NULL;
	size_t n;
	int err;

	err = treeiter__file_refs(ti, pid, &recs, &n);
	if (err)
		return err;
	if (s->n + n > s->cap) {
		size_t cap = s->n + n + 64;
		struct crux_file_ref *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->cap = cap;
	}
	if (n)
		memcpy(&s->v[s->n], recs, n * sizeof(*recs));
	s->n += n;
	return 0;
}

/* How many fds of s are on file (s sorted). */
static unsigned int refset_count(const struct refset *s, uint64_t file)
{
	struct crux_file_ref key = { .file = file };
	const struct crux_file_ref *r;
	unsigned int n = 0;

	r = s->n ? bsearch(&key, s->v, s->n, sizeof(key), cmp_file) : NULL;
	if (!r)
		return 0;
	while (r > s->v && r[-1].file == file)
		r--;
	for (; r < s->v + s->n && r->file == file; r++)
		n++;
	return n;
}

/*
 * crux's own fds, and the references one visit of the iterator adds (it holds the file it
 * shows): read off a fresh pipe that crux alone holds, once.
 */
static int measure_self(struct treeiter *ti, struct refset *self, long *ret_bias)
{
	int p[2], err;
	size_t i;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	err = refset_add_task(ti, getpid(), self);
	*ret_bias = -1;
	for (i = 0; !err && i < self->n; i++)
		if (self->v[i].fd == p[0])
			*ret_bias = (long)self->v[i].refs - 1;
	close(p[0]);
	close(p[1]);
	if (!err && *ret_bias < 0)
		err = -ENOENT;
	qsort(self->v, self->n, sizeof(self->v[0]), cmp_file);
	return err;
}

/* Distinct descriptions the tree has on pipe ino, open for reading (or writing). */
static unsigned int tree_pipe_files(const struct refset *tree, uint64_t ino, bool rd)
{
	unsigned int n = 0;
	size_t i;

	for (i = 0; i < tree->n; i++) {
		const struct crux_file_ref *r = &tree->v[i];

		if (r->kind != CRUX_FILE_PIPE || r->ino != ino || !(r->mode & (rd ? 1 : 2)))
			continue;
		if (i && tree->v[i - 1].file == r->file)
			continue;
		n++;
	}
	return n;
}

/*
 * The set lacks one end of the pipe and something else holds it: an external pipe, which
 * the dumper refuses in its own words (the other end is outside); not reported again here.
 */
static bool external_pipe(const struct refset *tree, const struct crux_file_ref *r)
{
	return (r->pipe_readers && !tree_pipe_files(tree, r->ino, true)) ||
	       (r->pipe_writers && !tree_pipe_files(tree, r->ino, false));
}

static int add_end(struct shared_ref **v, size_t *n, const struct crux_file_ref *r, bool rd)
{
	struct shared_ref *nv;
	size_t i;

	for (i = 0; i < *n; i++)
		if ((*v)[i].r->ino == r->ino && (*v)[i].pipe_read == rd)
			return 0;
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	nv[*n].r = r;
	nv[*n].pipe_read = rd;
	*v = nv;
	(*n)++;
	return 0;
}

/*
 * References to the file of v[0..n) held by the set's own sleeping poll()/select() calls:
 * each process's count, once (every fd of a process on the file reports the same waits).
 */
static unsigned int group_poll_refs(const struct crux_file_ref *v, size_t n)
{
	unsigned int sum = 0;
	size_t i, j;

	for (i = 0; i < n; i++) {
		unsigned int most = v[i].poll_refs;

		for (j = 0; j < i && v[j].tgid != v[i].tgid; j++)
			;
		if (j < i)
			continue; /* this process was counted at its first fd */
		for (j = i + 1; j < n; j++)
			if (v[j].tgid == v[i].tgid && v[j].poll_refs < most)
				most = v[j].poll_refs; /* visits disagree: believe the fewest */
		sum += most;
	}
	return sum;
}

/* The tree's pipe ends and sockets that have references beyond the tree and crux. */
static int find_shared(const struct refset *tree, const struct refset *self, long bias,
		       struct shared_ref **ret, size_t *ret_n)
{
	size_t i, j;
	int err = 0;

	for (i = 0; !err && i < tree->n; i = j) {
		const struct crux_file_ref *r = &tree->v[i];
		unsigned int held = 0;
		uint64_t refs = 0;
		bool rd = r->kind == CRUX_FILE_PIPE && (r->mode & 1);

		for (j = i; j < tree->n && tree->v[j].file == r->file; j++) {
			held++;
			refs = tree->v[j].refs > refs ? tree->v[j].refs : refs;
		}
		if (r->kind != CRUX_FILE_PIPE && r->kind != CRUX_FILE_SOCKET)
			continue;
		if (r->kind == CRUX_FILE_PIPE && external_pipe(tree, r))
			continue;
		held += refset_count(self, r->file) + group_poll_refs(r, j - i);
		if ((long)refs - bias > (long)held)
			err = add_end(ret, ret_n, r, rd);
		if (err || r->kind != CRUX_FILE_PIPE)
			continue;
		/* another description of this end, opened through /proc/PID/fd */
		if (rd && r->pipe_readers > tree_pipe_files(tree, r->ino, true))
			err = add_end(ret, ret_n, r, true);
		else if (!rd && r->pipe_writers > tree_pipe_files(tree, r->ino, false))
			err = add_end(ret, ret_n, r, false);
	}
	return err;
}

static int measure(struct treeiter *ti, const pid_t *pids, size_t n, struct refset *tree,
		   struct refset *self, struct shared_ref **ret, size_t *ret_n)
{
	long bias = 0;
	size_t i;
	int err;

	for (i = 0; i < n; i++) {
		err = refset_add_task(ti, pids[i], tree);
		if (err) {
			pr_debug("pid %d: cannot count the references to its files: %s", pids[i],
				 strerror(-err));
			return err;
		}
	}
	qsort(tree->v, tree->n, sizeof(tree->v[0]), cmp_file);
	err = measure_self(ti, self, &bias);
	if (err) {
		pr_debug("cannot count the references to our own files: %s", strerror(-err));
		return err;
	}
	return find_shared(tree, self, bias, ret, ret_n);
}

struct pid_set {
	const pid_t *pids;
	size_t n;
};

static bool outside_set(pid_t pid, void *arg)
{
	const struct pid_set *set = arg;
	size_t i;

	if (pid == getpid())
		return false;
	for (i = 0; i < set->n; i++)
		if (set->pids[i] == pid)
			return false;
	return true;
}

/* Name an outside holder of each; false if one of them has none. */
static bool name_holders(const struct shared_ref *refs, size_t n, struct pid_set *set,
			 struct shared_end *ends)
{
	bool all = true;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct crux_file_ref *r = refs[i].r;
		struct shared_end *e = &ends[i];
		char link[48];

		memset(e, 0, sizeof(*e));
		e->pid = (pid_t)r->tgid;
		e->fd = r->fd;
		e->ino = r->ino;
		e->socket = r->kind == CRUX_FILE_SOCKET;
		e->pipe_read = refs[i].pipe_read;
		snprintf(link, sizeof(link), "%s:[%llu]", e->socket ? "socket" : "pipe",
			 (unsigned long long)e->ino);
		e->holder = proc_find_fd_holder(link, outside_set, set, e->holder_comm);
		all = all && e->holder;
	}
	return all;
}

int shared_find(struct treeiter *ti, const pid_t *pids, size_t n, struct shared_end **ret,
		size_t *ret_n)
{
	struct pid_set set = { pids, n };
	struct refset tree = { 0 }, self = { 0 };
	_cleanup_free_ struct shared_ref *refs = NULL;
	_cleanup_free_ struct shared_end *ends = NULL;
	uint64_t t0 = now_ns();
	size_t nr = 0;
	int err = 0, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		tree.n = self.n = nr = 0;
		err = measure(ti, pids, n, &tree, &self, &refs, &nr);
		if (err || !nr)
			break;
		free(ends);
		ends = calloc(nr, sizeof(*ends));
		if (!ends) {
			err = -ENOMEM;
			break;
		}
		/* a reference nobody holds may be someone reading /proc/PID/fdinfo: look again */
		if (name_holders(refs, nr, &set, ends))
			break;
		usleep(SHARED_RECHECK_US);
	}
	pr_debug("%zu fds of %zu processes checked for outside holders in %.1f ms: %zu shared",
		 tree.n, n, (double)(now_ns() - t0) / 1e6, err ? 0 : nr);
	free(tree.v);
	free(self.v);
	if (err)
		return err;
	*ret_n = nr;
	*ret = nr ? TAKE_PTR(ends) : NULL;
	return 0;
}

/* "unix socket socket:[N]", or the kind /proc/PID/net lists it under ("TCP socket ...") */
static void socket_kind(const struct shared_end *e, char *buf, size_t size)
{
	struct netsk_table t;
	const struct netsk *s;

	if (!netsk_read(e->pid, &t)) {
		s = netsk_find(&t, e->ino);
		snprintf(buf, size, "%s socket socket:[%llu]", s ? s->kind : "unix",
			 (unsigned long long)e->ino);
		netsk_table_free(&t);
		return;
	}
	snprintf(buf, size, "unix socket socket:[%llu]", (unsigned long long)e->ino);
}

void shared_format(const struct shared_end *e, const char *comm, char *buf, size_t size)
{
	const char *kind = e->socket ? "socket" : "pipe";
	char what[80];

	if (e->socket)
		socket_kind(e, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "the %s end of pipe:[%llu]",
			 e->pipe_read ? "read" : "write", (unsigned long long)e->ino);
	if (!e->holder)
		snprintf(
			buf, size,
			"shared %s: pid %d (%s) fd %d holds %s, which is also referenced outside "
			"the dumped tree by no process crux can see (an fd in flight in a unix "
			"socket queue, sent with SCM_RIGHTS and not received yet?). A restore "
			"would recreate it for the tree alone: let it be received or dropped, then "
			"dump again",
			kind, e->pid, comm, e->fd, what);
	else
		snprintf(
			buf, size,
			"shared %s: pid %d (%s) fd %d holds %s, which pid %d (%s) outside the "
			"dumped tree also holds. A restore would recreate it for the tree alone. A "
			"dump must be self-contained: dump a tree that includes pid %d, or close it "
			"in pid %d first",
			kind, e->pid, comm, e->fd, what, e->holder, e->holder_comm, e->holder,
			e->holder);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipes and sockets held inside the tree *and* outside it. The peer checks see a pipe end or
 * socket whose other side is outside; they cannot see the same end held by both: a parent
 * that forked the tree and kept its copy of a pipe's write end, a socket passed out with
 * SCM_RIGHTS. A restore would recreate that end for the tree alone, and what the outside
 * holder writes would no longer reach it: refused, like any external connection.
 *
 * The kernel counts every reference to an open file description. The tree iterator reads
 * that count for each fd of each task (bpf/crux_iter.bpf.c iter_task_file_refs); the fds of
 * the tree and crux's own copies (pidfd_getfd) account for some of it, and the rest is held
 * elsewhere. A pipe end reopened through /proc/PID/fd is a second description of the same
 * end: the pipe's reader and writer counts show it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "log.h"
#include "treeiter.h"
#include "util.h"

/* A holder nobody can be found for may be a transient reference: measure again after this. */
#define SHARED_RECHECK_US 20000

/* Every fd of the tree (or of crux), sorted by open file description. */
struct refset {
	struct crux_file_ref *v;
	size_t n, cap;
};

/* One end of the tree's use of a pipe or socket that is held outside it. */
struct shared_end {
	const struct crux_file_ref *r; /* a tree fd on it */
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

static int add_end(struct shared_end **v, size_t *n, const struct crux_file_ref *r, bool rd)
{
	struct shared_end *nv;
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

/* The tree's pipe ends and sockets that have references beyond the tree and crux. */
static int find_shared(const struct refset *tree, const struct refset *self, long bias,
		       struct shared_end **ret, size_t *ret_n)
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
		held += refset_count(self, r->file);
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

static int measure(struct dump_ctx *ctx, struct treeiter *ti, struct refset *tree,
		   struct refset *self, struct shared_end **ret, size_t *ret_n)
{
	long bias = 0;
	size_t i;
	int err;

	for (i = 0; i < ctx->tree.n; i++) {
		err = refset_add_task(ti, ctx->tree.tasks[i].pid, tree);
		if (err)
			return pr_err_ret(err,
					  "pid %d: cannot count the references to its files: %s",
					  ctx->tree.tasks[i].pid, strerror(-err));
	}
	qsort(tree->v, tree->n, sizeof(tree->v[0]), cmp_file);
	err = measure_self(ti, self, &bias);
	if (err)
		return pr_err_ret(err, "cannot count the references to crux's own files: %s",
				  strerror(-err));
	return find_shared(tree, self, bias, ret, ret_n);
}

static struct dump_fd *find_fd(struct dump_ctx *ctx, pid_t pid, int fd)
{
	size_t i;

	for (i = 0; i < ctx->n_fds; i++)
		if (ctx->fds[i].pid == pid && ctx->fds[i].fd == fd)
			return &ctx->fds[i];
	return NULL;
}

static void report(struct dump_ctx *ctx, const struct shared_end *e, pid_t holder, const char *comm)
{
	const struct crux_file_ref *r = e->r;
	const struct dump_fd *f = find_fd(ctx, (pid_t)r->tgid, r->fd);
	bool sock = r->kind == CRUX_FILE_SOCKET;
	char d[96], what[80], link[48];

	if (f)
		dump_fd_desc(ctx, f, d, sizeof(d));
	else
		snprintf(d, sizeof(d), "pid %u fd %d", r->tgid, r->fd);
	snprintf(link, sizeof(link), "%s:[%llu]", sock ? "socket" : "pipe",
		 (unsigned long long)r->ino);
	if (sock)
		snprintf(what, sizeof(what), "unix socket %s", link);
	else
		snprintf(what, sizeof(what), "the %s end of %s", e->pipe_read ? "read" : "write",
			 link);
	if (!holder) {
		pr_err("shared %s: %s holds %s, which is also referenced outside the dumped "
		       "tree by no process crux can see (an fd in flight in a unix socket queue, "
		       "sent with SCM_RIGHTS and not received yet?). A restore would recreate it "
		       "for the tree alone: let it be received or dropped, then dump again",
		       sock ? "socket" : "pipe", d, what);
		return;
	}
	pr_err("shared %s: %s holds %s, which pid %d (%s) outside the dumped tree also holds. "
	       "A restore would recreate it for the tree alone. A dump must be self-contained: "
	       "dump a tree that includes pid %d, or close it in pid %d first",
	       sock ? "socket" : "pipe", d, what, holder, comm, holder, holder);
}

/* The outside holders of every shared end; false if one of them cannot be found. */
static bool all_holders_found(struct dump_ctx *ctx, const struct shared_end *v, size_t n,
			      pid_t *holders, char (*comms)[16])
{
	bool all = true;
	size_t i;

	for (i = 0; i < n; i++) {
		char link[48];

		snprintf(link, sizeof(link), "%s:[%llu]",
			 v[i].r->kind == CRUX_FILE_SOCKET ? "socket" : "pipe",
			 (unsigned long long)v[i].r->ino);
		holders[i] = dump_find_outside_holder(ctx, link, comms[i]);
		all = all && holders[i];
	}
	return all;
}

int dump_check_shared(struct dump_ctx *ctx)
{
	struct refset tree = { 0 }, self = { 0 };
	_cleanup_free_ struct shared_end *ends = NULL;
	_cleanup_free_ pid_t *holders = NULL;
	_cleanup_free_ char(*comms)[16] = NULL;
	struct treeiter *ti = dump_treeiter(ctx);
	uint64_t t0 = now_ns();
	size_t i, n = 0;
	int err = 0, attempt;

	if (!ti)
		return 0;
	for (attempt = 0; attempt < 2; attempt++) {
		tree.n = self.n = n = 0;
		err = measure(ctx, ti, &tree, &self, &ends, &n);
		if (err || !n)
			break;
		free(holders);
		free(comms);
		holders = calloc(n, sizeof(*holders));
		comms = calloc(n, sizeof(*comms));
		if (!holders || !comms) {
			err = -ENOMEM;
			break;
		}
		/* a reference nobody holds may be someone reading /proc/PID/fdinfo: look again */
		if (all_holders_found(ctx, ends, n, holders, comms))
			break;
		usleep(SHARED_RECHECK_US);
	}
	for (i = 0; !err && i < n; i++)
		report(ctx, &ends[i], holders[i], comms[i]);
	if (!err && n)
		err = -EXDEV;
	pr_debug("%zu fds of the tree checked for outside holders in %.1f ms", tree.n,
		 (double)(now_ns() - t0) / 1e6);
	free(tree.v);
	free(self.v);
	return err;
}

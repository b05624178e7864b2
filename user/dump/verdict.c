// SPDX-License-Identifier: GPL-2.0-only
/* The dump's per-fd refusals, reached on a running tree: see verdict.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_PREFIX "verdict: "
#include "fd.h"
#include "log.h"
#include "proc.h"
#include "pstree.h"
#include "util.h"
#include "verdict.h"

extern const struct fd_kind fd_pipe;

/* A pipe end of the tree: its first fd names it in a refusal. */
struct pipe_end {
	uint64_t ino;
	bool rd;
	pid_t pid;
	int fd;
	const char *comm;
};

struct verdict {
	const struct verdict_proc *procs;
	size_t n_procs;
	char **msgs;
	size_t n_msgs;
	struct pipe_end *ends;
	size_t n_ends;
};

static int add_msg(struct verdict *v, const char *msg)
{
	char **nv = realloc(v->msgs, (v->n_msgs + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	v->msgs = nv;
	nv[v->n_msgs] = strdup(msg);
	if (!nv[v->n_msgs])
		return -ENOMEM;
	v->n_msgs++;
	return 0;
}

static int add_end(struct verdict *v, const struct pipe_end *e)
{
	struct pipe_end *nv;
	size_t i;

	for (i = 0; i < v->n_ends; i++)
		if (v->ends[i].ino == e->ino && v->ends[i].rd == e->rd)
			return 0;
	nv = realloc(v->ends, (v->n_ends + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	v->ends = nv;
	nv[v->n_ends++] = *e;
	return 0;
}

/* One fd: its kind as the dump decides it; a pipe end is remembered. -ENOENT: it closed. */
static int check_fd(struct verdict *v, const struct verdict_proc *p, int pidfd, int fd)
{
	_cleanup_free_ char *link = NULL;
	struct proc_fdinfo fi;
	char what[32], path[64], desc[96], why[512];
	const struct fd_kind *kind = NULL;
	struct pipe_end e;
	struct stat st;
	int k;

	snprintf(what, sizeof(what), "fd/%d", fd);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, fd);
	k = proc_readlink(p->pid, what, &link);
	if (k)
		return k;
	if (stat(path, &st))
		return -errno;
	snprintf(desc, sizeof(desc), "pid %d (%s) fd %d", p->pid, p->comm, fd);
	k = fd_kind_of(desc, link, &st, pidfd, fd, NULL, &kind, why, sizeof(why));
	if (k == -EOPNOTSUPP)
		return add_msg(v, why);
	if (k < 0) {
		pr_debug("%s", why);
		return k;
	}
	if (kind != &fd_pipe)
		return 0;
	k = proc_parse_fdinfo(p->pid, fd, &fi);
	if (k)
		return k;
	e = (struct pipe_end){ st.st_ino, (fi.flags & O_ACCMODE) == O_RDONLY, p->pid, fd, p->comm };
	return add_end(v, &e);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? -1 : x > y;
}

static int check_proc(struct verdict *v, const struct verdict_proc *p)
{
	_cleanup_close_ int pidfd = pidfd_open(p->pid, 0);
	_cleanup_free_ int *fds = NULL;
	const char *why = NULL;
	char msg[512];
	size_t i, n;
	int err;

	if (pidfd < 0)
		return -errno;
	/* the freeze's own checks, in the dump's words */
	if (pstree_check_task(p->pid, &why) && why) {
		snprintf(msg, sizeof(msg), "cannot dump pid %d: task %d %s", v->procs[0].pid,
			 p->pid, why);
		return add_msg(v, msg);
	}
	err = proc_list_fds(p->pid, &fds, &n);
	for (i = 0; !err && i < n; i++) {
		if (p->n_unix && bsearch(&fds[i], p->unix_fds, p->n_unix, sizeof(int), cmp_int))
			continue; /* a unix socket: FD_KIND_UNIX */
		err = check_fd(v, p, pidfd, fds[i]);
		if (err == -ENOENT || err == -EBADF)
			err = 0; /* closed since it was listed */
	}
	return err;
}

static bool outside(pid_t pid, void *arg)
{
	const struct verdict *v = arg;
	size_t i;

	if (pid == getpid())
		return false;
	for (i = 0; i < v->n_procs; i++)
		if (v->procs[i].pid == pid)
			return false;
	return true;
}

static bool have_end(const struct verdict *v, uint64_t ino, bool rd)
{
	size_t i;

	for (i = 0; i < v->n_ends; i++)
		if (v->ends[i].ino == ino && v->ends[i].rd == rd)
			return true;
	return false;
}

/* As the dump's pipes_check: one end in the tree, the other held outside it. */
static int check_pipes(struct verdict *v)
{
	char link[48], comm[PROC_COMM_LEN], desc[96], msg[512];
	size_t i;
	int err = 0;

	for (i = 0; !err && i < v->n_ends; i++) {
		const struct pipe_end *e = &v->ends[i];
		pid_t holder;

		if (have_end(v, e->ino, !e->rd))
			continue;
		snprintf(link, sizeof(link), "pipe:[%llu]", (unsigned long long)e->ino);
		holder = proc_find_fd_holder(link, outside, v, comm);
		if (!holder)
			continue; /* nobody holds the other end: dumped as it is */
		snprintf(desc, sizeof(desc), "pid %d (%s) fd %d", e->pid, e->comm, e->fd);
		fd_external_pipe_msg(desc, e->ino, e->rd, holder, comm, msg, sizeof(msg));
		err = add_msg(v, msg);
	}
	return err;
}

int verdict_fds(const struct verdict_proc *procs, size_t n, char ***ret, size_t *ret_n)
{
	struct verdict v = { .procs = procs, .n_procs = n };
	size_t i;
	int err = 0;

	for (i = 0; !err && i < n; i++) {
		err = check_proc(&v, &procs[i]);
		if (err == -ESRCH || err == -ENOENT)
			err = 0; /* exited meanwhile: the dump would not see it either */
	}
	if (!err)
		err = check_pipes(&v);
	free(v.ends);
	if (err) {
		verdict_msgs_free(v.msgs, v.n_msgs);
		return err;
	}
	*ret = v.msgs;
	*ret_n = v.n_msgs;
	return 0;
}

void verdict_msgs_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The fd tables of the frozen tree: every fd of every task, open file descriptions shared
 * between fds found with kcmp(KCMP_FILE), each handed to the first kind of fd_kinds[] that
 * claims it (user/fd/); then fdinfo-<pid>.img per task. An fd no kind claims is refused
 * here by what it is, all of them in one run, and so are pipe ends and sockets that a
 * process outside the tree holds too (shared.h). This file never names a kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "fd.h"
#include "img.h"
#include "log.h"
#include "shared.h"
#include "util.h"
#include "fdinfo.pb-c.h"

static int kcmp_file(pid_t p1, int fd1, pid_t p2, int fd2)
{
	return (int)syscall(SYS_kcmp, p1, p2, KCMP_FILE, fd1, fd2);
}

static struct dump_fd *fd_add(struct dump_ctx *ctx)
{
	struct dump_fd *f;

	if (ctx->n_fds == ctx->cap_fds) {
		size_t cap = ctx->cap_fds ? ctx->cap_fds * 2 : 64;

		f = realloc(ctx->fds, cap * sizeof(*f));
		if (!f)
			return NULL;
		ctx->fds = f;
		ctx->cap_fds = cap;
	}
	f = &ctx->fds[ctx->n_fds++];
	memset(f, 0, sizeof(*f));
	f->stolen = -1;
	return f;
}

/* Share the file id of an earlier fd on the same open file description, if any. */
static void fd_dedup(struct dump_ctx *ctx, struct dump_fd *f)
{
	size_t i;

	for (i = 0; i + 1 < ctx->n_fds; i++) {
		struct dump_fd *o = &ctx->fds[i];

		if (!o->primary || o->st.st_dev != f->st.st_dev || o->st.st_ino != f->st.st_ino)
			continue;
		if (kcmp_file(o->pid, o->fd, f->pid, f->fd) == 0) {
			f->file_id = o->file_id;
			return;
		}
	}
	f->primary = true;
	f->file_id = dump_new_id(ctx);
}

/* The first kind of the table that claims f, or a refusal naming what it is (fd.h). */
static int fd_kind(struct dump_ctx *ctx, struct dump_fd *f, int pidfd)
{
	char d[96], why[512];
	int err;

	dump_fd_desc(ctx, f, d, sizeof(d));
	err = fd_kind_of(d, f->link, &f->st, pidfd, f->fd, &f->stolen, &f->kind, why, sizeof(why));
	if (err)
		return pr_err_ret(err, "%s", why);
	return 0;
}

static int collect_fd(struct dump_ctx *ctx, struct pstree_task *t, int fd)
{
	struct dump_fd *f = fd_add(ctx);
	char what[32], path[64];
	int err;

	if (!f)
		return -ENOMEM;
	f->pid = t->pid;
	f->fd = fd;
	snprintf(what, sizeof(what), "fd/%d", fd);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
	err = proc_readlink(t->pid, what, &f->link);
	if (err)
		return pr_err_ret(err, "pid %d fd %d: cannot read it: %s", t->pid, fd,
				  strerror(-err));
	if (stat(path, &f->st))
		return pr_perror_ret("pid %d fd %d: cannot stat %s", t->pid, fd, f->link);
	err = proc_parse_fdinfo(t->pid, fd, &f->fi);
	if (err)
		return pr_err_ret(err, "pid %d fd %d: cannot read its fdinfo", t->pid, fd);
	f->fd_flags = (f->fi.flags & O_CLOEXEC) ? FD_CLOEXEC : 0;
	f->fi.flags &= ~O_CLOEXEC;
	err = fd_kind(ctx, f, t->pidfd);
	if (!err)
		err = dump_guard_fd(ctx, f); /* a terminal: no kind restores it yet */
	if (err)
		return err;
	fd_dedup(ctx, f);
	if (!f->primary && f->stolen >= 0) {
		close(f->stolen);
		f->stolen = -1;
	}
	if (!f->primary)
		return 0;
	if (f->kind->steal && f->stolen < 0) {
		f->stolen = pidfd_getfd(t->pidfd, fd, 0);
		if (f->stolen < 0)
			return pr_perror_ret("pid %d fd %d: cannot take a copy of %s", t->pid, fd,
					     f->link);
	}
	return f->kind->collect ? f->kind->collect(ctx, f) : 0;
}

/*
 * A file outside every fd table (ctx->add_fileless): collected as an fd of crux's own,
 * fd being crux's copy, so that kcmp() finds it again in a task or among earlier ones.
 */
static int add_fileless(struct dump_ctx *ctx, int fd, uint32_t *ret_id)
{
	char what[32], path[64];
	struct dump_fd *f;
	size_t idx;
	int err;

	f = fd_add(ctx);
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	idx = (size_t)(f - ctx->fds);
	f->pid = getpid();
	f->fd = fd;
	f->stolen = fd;
	f->inflight = true;
	snprintf(what, sizeof(what), "fd/%d", fd);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = proc_readlink(f->pid, what, &f->link);
	if (err)
		return pr_err_ret(err, "a file in flight: cannot read it: %s", strerror(-err));
	if (fstat(fd, &f->st))
		return pr_perror_ret("a file in flight (%s): cannot stat it", f->link);
	err = proc_parse_fdinfo(f->pid, fd, &f->fi);
	if (err)
		return pr_err_ret(err, "a file in flight (%s): cannot read its fdinfo", f->link);
	f->fi.flags &= ~O_CLOEXEC;
	err = fd_kind(ctx, f, -1);
	if (err)
		return err;
	fd_dedup(ctx, f);
	*ret_id = f->file_id;
	if (!f->primary) {
		close(f->stolen);
		f->stolen = -1;
		return 0;
	}
	f = &ctx->fds[idx];
	return f->kind->collect ? f->kind->collect(ctx, f) : 0;
}

/* Files reachable only through other files, until no kind finds a new one. */
static int harvest(struct dump_ctx *ctx)
{
	const struct fd_kind *k;
	size_t i, before;
	int err;

	do {
		before = ctx->n_fds;
		fd_for_each_kind(i, k) {
			err = k->harvest ? k->harvest(ctx) : 0;
			if (err)
				return err;
		}
	} while (ctx->n_fds != before);
	return 0;
}

int dump_fds_collect(struct dump_ctx *ctx)
{
	size_t i, j, n;
	int err, failed = 0;

	ctx->add_fileless = add_fileless;

	for (i = 0; i < ctx->tree.n; i++) {
		_cleanup_free_ int *fds = NULL;

		if (ctx->tree.tasks[i].zombie)
			continue; /* its files were closed when it exited */
		err = proc_list_fds(ctx->tree.tasks[i].pid, &fds, &n);
		if (err)
			return pr_err_ret(err, "pid %d: cannot list its fds: %s",
					  ctx->tree.tasks[i].pid, strerror(-err));
		for (j = 0; j < n; j++) {
			err = collect_fd(ctx, &ctx->tree.tasks[i], fds[j]);
			if (err == -ENOMEM)
				return err;
			if (err && !failed)
				failed = err;
		}
	}
	return failed ? failed : harvest(ctx);
}

int dump_fds_check(struct dump_ctx *ctx)
{
	const struct fd_kind *k;
	int err, failed = 0;
	size_t i;

	/* every kind reports all its offenders before the dump fails */
	fd_for_each_kind(i, k) {
		if (!k->check)
			continue;
		err = k->check(ctx);
		if (err && !failed)
			failed = err;
	}
	return failed;
}

/*
 * A reference no process holds, on a file the dump found in flight: the message holding
 * it is dumped with it (the count cannot tell two messages from one: any in flight will do).
 */
static bool in_flight(struct dump_ctx *ctx, const struct shared_end *e)
{
	size_t i;

	if (e->holder)
		return false;
	for (i = 0; i < ctx->n_fds; i++) {
		const struct dump_fd *f = &ctx->fds[i];

		if (f->inflight && f->st.st_ino == e->ino &&
		    (e->socket ? S_ISSOCK(f->st.st_mode) :
				 S_ISFIFO(f->st.st_mode) &&
					 ((f->fi.flags & O_ACCMODE) == O_RDONLY) == e->pipe_read))
			return true;
	}
	return false;
}

int dump_check_shared(struct dump_ctx *ctx)
{
	struct treeiter *ti = dump_treeiter(ctx);
	_cleanup_free_ struct shared_end *ends = NULL;
	_cleanup_free_ pid_t *pids = NULL;
	char msg[512];
	size_t i, n = 0;
	int err;

	if (!ti)
		return 0;
	pids = calloc(ctx->tree.n, sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (i = 0; i < ctx->tree.n; i++)
		pids[i] = ctx->tree.tasks[i].pid;
	err = shared_find(ti, pids, ctx->tree.n, &ends, &n);
	if (err)
		return pr_err_ret(err, "cannot count the references to the tree's files: %s",
				  strerror(-err));
	for (i = 0; i < n; i++) {
		if (in_flight(ctx, &ends[i]))
			continue;
		shared_format(&ends[i], dump_comm(ctx, ends[i].pid), msg, sizeof(msg));
		pr_err("%s", msg);
		err = -EXDEV;
	}
	return err;
}

static int write_fdinfo(struct dump_ctx *ctx, pid_t pid)
{
	struct img *img = NULL;
	size_t i;
	int err;

	err = img__open(ctx->dirfd, IMG_FDINFO, (unsigned long)pid, IMG_WRITE, &img);
	for (i = 0; !err && i < ctx->n_fds; i++) {
		FdinfoEntry e = FDINFO_ENTRY__INIT;
		if (ctx->fds[i].pid != pid)
			continue;
		e.id = ctx->fds[i].file_id;
		e.flags = ctx->fds[i].fd_flags;
		e.type = (FdTypes)ctx->fds[i].kind->fd_type;
		e.fd = (uint32_t)ctx->fds[i].fd;
		err = img_write_one(img, &e.base);
	}
	if (!err)
		err = img__close(TAKE_PTR(img));
	img__close(img);
	if (err)
		return pr_err_ret(err, "pid %d: cannot write its fd table: %s", pid, img_error());
	return 0;
}

int dump_fds_write(struct dump_ctx *ctx)
{
	const struct fd_kind *k;
	size_t i;
	int err;

	fd_for_each_kind(i, k) {
		err = k->write ? k->write(ctx) : 0;
		if (err)
			return err;
	}
	for (i = 0; i < ctx->tree.n; i++) {
		err = write_fdinfo(ctx, ctx->tree.tasks[i].pid);
		if (err)
			return err;
	}
	return 0;
}

void dump_fds_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	const struct fd_kind *k;
	size_t i, len;

	buf[0] = '\0';
	fd_for_each_kind(i, k) {
		len = strlen(buf);
		if (k->summary && len < size)
			k->summary(ctx, buf + len, size - len);
	}
}

void dump_fds_cleanup(struct dump_ctx *ctx)
{
	const struct fd_kind *k;
	size_t i;

	fd_for_each_kind(i, k)
		if (k->cleanup)
			k->cleanup(ctx);
	for (i = 0; i < ctx->n_fds; i++) {
		free(ctx->fds[i].link);
		if (ctx->fds[i].stolen >= 0)
			close(ctx->fds[i].stolen);
	}
	free(ctx->fds);
	ctx->fds = NULL;
	ctx->n_fds = 0;
}

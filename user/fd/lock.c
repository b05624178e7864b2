// SPDX-License-Identifier: GPL-2.0-only
/*
 * File locks of the frozen tree (dump half): POSIX (fcntl F_SETLK), OFD (F_OFD_SETLK) and
 * flock() locks, read from the "lock:" lines of /proc/PID/fdinfo/N. The kernel lists there
 * the locks taken through that open file description: a flock or OFD lock on every fd of
 * the description (it is the owner), a POSIX lock on the fds of its owner's table that
 * share the file it was taken through. Each lock is written once to file-lock.img (CRIU's
 * file_lock_entry) with the task and fd to take it back through. Leases, delegations and
 * any kind not listed are refused by name; a lock held by a process outside the tree on a
 * file the tree has open is reported (it stays where it is).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "lock.h"
#include "log.h"
#include "util.h"
#include "file_lock.pb-c.h"

static FILE *fdinfo_open(pid_t pid, int fd)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	return fopen(path, "re");
}

static void read_comm(pid_t pid, char *buf, size_t size)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f && fgets(buf, (int)size, f))
		buf[strcspn(buf, "\n")] = '\0';
	if (f)
		fclose(f);
}

struct dump_lock {
	struct lock_line l;
	pid_t pid; /* the task and fd it is taken back through */
	int fd;
	uint32_t file_id;
	bool matched; /* against /proc/locks, by lock_check() */
};

struct dump_locks {
	struct dump_lock *v;
	size_t n, cap;
};

static const char *const kind_names[] = {
	[LOCK_KIND_POSIX] = "POSIX",
	[LOCK_KIND_FLOCK] = "FLOCK",
	[LOCK_KIND_OFD] = "OFDLCK",
};

const char *lock_kind_name(unsigned int flag)
{
	return flag < ARRAY_SIZE(kind_names) && kind_names[flag] ? kind_names[flag] : "?";
}

/*
 * One line of /proc/locks or of fdinfo's "lock:" (after the "lock:" tag):
 *   "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 EOF" (blocked waiters: "1: -> POSIX ...").
 * 0, -ENOENT for a blocked waiter, or -EOPNOTSUPP with ret->kind_text naming the kind.
 */
int lock_parse_line(const char *line, struct lock_line *ret)
{
	char kind[16] = "", mode[16] = "", type[16] = "", end[32] = "";
	unsigned int maj, min;
	unsigned long long ino;
	long long start, last;
	int pid, n;

	memset(ret, 0, sizeof(*ret));
	if (sscanf(line, "%*d: %15s", kind) != 1)
		return -EINVAL;
	if (!strcmp(kind, "->"))
		return -ENOENT;
	snprintf(ret->kind_text, sizeof(ret->kind_text), "%s", kind);
	n = sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu %lld %31s", kind, mode, type, &pid,
		   &maj, &min, &ino, &start, end);
	if (!strcmp(kind, "POSIX"))
		ret->flag = LOCK_KIND_POSIX;
	else if (!strcmp(kind, "FLOCK"))
		ret->flag = LOCK_KIND_FLOCK;
	else if (!strcmp(kind, "OFDLCK"))
		ret->flag = LOCK_KIND_OFD;
	else
		return -EOPNOTSUPP; /* LEASE, DELEG, ACCESS, UNKNOWN */
	if (n != 9)
		return -EINVAL;
	snprintf(ret->kind_text, sizeof(ret->kind_text), "%s %s %s", kind, mode, type);
	if (strcmp(mode, "ADVISORY"))
		return -EOPNOTSUPP;
	if (!strcmp(type, "READ"))
		ret->type = F_RDLCK;
	else if (!strcmp(type, "WRITE"))
		ret->type = F_WRLCK;
	else
		return -EOPNOTSUPP;
	ret->pid = pid;
	ret->dev = makedev(maj, min);
	ret->ino = ino;
	ret->start = start;
	/* the kernel prints the last byte; struct flock wants a length, 0 for "to EOF" */
	if (!strcmp(end, "EOF"))
		ret->len = 0;
	else if (sscanf(end, "%lld", &last) == 1 && last >= start)
		ret->len = last - start + 1;
	else
		return -EINVAL;
	return 0;
}

/* The same lock seen through another fd (or another task sharing the description). */
static bool same_lock(const struct dump_lock *a, const struct lock_line *l, uint32_t file_id)
{
	if (a->l.flag != l->flag || a->l.type != l->type || a->l.start != l->start ||
	    a->l.len != l->len || a->l.ino != l->ino || a->l.dev != l->dev)
		return false;
	/* POSIX: owned by a task's table (its pid); flock/OFD: by the description */
	return l->flag == LOCK_KIND_POSIX ? a->l.pid == l->pid : a->file_id == file_id;
}

static int lock_add(struct dump_ctx *ctx, const struct dump_fd *f, const struct lock_line *l)
{
	struct dump_locks *s = ctx->locks_state;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (same_lock(&s->v[i], l, f->file_id))
			return 0;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct dump_lock *nv = realloc(s->v, cap * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		s->v = nv;
		s->cap = cap;
	}
	s->v[s->n++] =
		(struct dump_lock){ .l = *l, .pid = f->pid, .fd = f->fd, .file_id = f->file_id };
	return 0;
}

static int fd_locks(struct dump_ctx *ctx, const struct dump_fd *f)
{
	_cleanup_fclose_ FILE *in = fdinfo_open(f->pid, f->fd);
	char line[256], d[96];
	struct lock_line l;
	int err, failed = 0;

	if (!in)
		return dump_errno_ret("pid %d fd %d: cannot read its fdinfo", f->pid, f->fd);
	while (fgets(line, sizeof(line), in)) {
		if (strncmp(line, "lock:", 5))
			continue;
		line[strcspn(line, "\n")] = '\0';
		err = lock_parse_line(line + 5, &l);
		if (err == -ENOENT)
			continue;
		dump_fd_desc(ctx, f, d, sizeof(d));
		if (err == -EOPNOTSUPP) {
			pr_err("file lock: %s (%s) holds a %s lock: only advisory POSIX, OFD and "
			       "flock() read/write locks can be restored (leases and delegations "
			       "cannot); release it before the dump",
			       d, f->link, l.kind_text);
			failed = -EOPNOTSUPP;
			continue;
		}
		if (err)
			return pr_err_ret(-EIO, "%s: cannot parse its fdinfo lock line '%s'", d,
					  line);
		if (f->kind != DUMP_FD_REG) {
			pr_err("file lock: %s holds a %s lock on %s: locks are restored on "
			       "regular files and directories only",
			       d, l.kind_text, f->link);
			failed = -EOPNOTSUPP;
			continue;
		}
		err = lock_add(ctx, f, &l);
		if (err)
			return err;
	}
	return failed;
}

int dump_locks_collect(struct dump_ctx *ctx)
{
	size_t i;
	int err, failed = 0;

	ctx->locks_state = calloc(1, sizeof(*ctx->locks_state));
	if (!ctx->locks_state)
		return -ENOMEM;
	for (i = 0; i < ctx->n_fds; i++) {
		err = fd_locks(ctx, &ctx->fds[i]);
		if (err == -ENOMEM)
			return err;
		if (err && !failed)
			failed = err;
	}
	return failed;
}

/* A /proc/locks entry that is one of the tree's own locks. */
static bool lock_is_ours(struct dump_locks *s, const struct lock_line *l)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct dump_lock *o = &s->v[i];

		if (o->matched || o->l.flag != l->flag || o->l.ino != l->ino ||
		    o->l.dev != l->dev || o->l.type != l->type || o->l.start != l->start ||
		    o->l.len != l->len || (l->flag != LOCK_KIND_OFD && o->l.pid != l->pid))
			continue;
		o->matched = true;
		return true;
	}
	return false;
}

/* A tree fd open on the inode of l (regular files only), or NULL. */
static const struct dump_fd *tree_file(struct dump_ctx *ctx, const struct lock_line *l)
{
	size_t i;

	for (i = 0; i < ctx->n_fds; i++) {
		const struct dump_fd *f = &ctx->fds[i];

		if (f->kind == DUMP_FD_REG && f->st.st_ino == l->ino && f->st.st_dev == l->dev)
			return f;
	}
	return NULL;
}

static void report_outside(struct dump_ctx *ctx, const struct dump_fd *f, const struct lock_line *l)
{
	char comm[64] = "?", d[96];

	dump_fd_desc(ctx, f, d, sizeof(d));
	if (l->pid > 0 && !pstree_find(&ctx->tree, l->pid)) {
		read_comm(l->pid, comm, sizeof(comm));
		pr_warn("file lock: pid %d (%s) outside the dumped tree holds a %s lock on %s, "
			"which %s has open; it stays with pid %d: after a restore the tree gets "
			"back only its own locks, and only if they do not conflict with it",
			l->pid, comm, l->kind_text, f->link, d, l->pid);
		return;
	}
	pr_warn("file lock: a process outside the dumped tree holds a %s lock on %s, which %s "
		"has open (an OFD lock has no pid: see /proc/locks); it stays where it is",
		l->kind_text, f->link, d);
}

int dump_locks_check(struct dump_ctx *ctx)
{
	struct dump_locks *s = ctx->locks_state;
	FILE *in;
	struct lock_line l;
	char line[256];

	if (!s)
		return 0;
	in = fopen("/proc/locks", "re");
	if (!in) {
		pr_warn("cannot read /proc/locks (%s): locks held outside the tree on its files "
			"are not reported",
			strerror(errno));
		return 0;
	}
	while (fgets(line, sizeof(line), in)) {
		const struct dump_fd *f;

		if (lock_parse_line(line, &l) == -ENOENT)
			continue;
		f = tree_file(ctx, &l);
		if (!f || lock_is_ours(s, &l))
			continue;
		report_outside(ctx, f, &l);
	}
	fclose(in);
	return 0;
}

int dump_locks_write(struct dump_ctx *ctx)
{
	struct dump_locks *s = ctx->locks_state;
	struct img *img = NULL;
	size_t i;
	int err;

	err = img__open(ctx->dirfd, IMG_FILE_LOCKS, 0, IMG_WRITE, &img);
	for (i = 0; !err && s && i < s->n; i++) {
		FileLockEntry e = FILE_LOCK_ENTRY__INIT;

		e.flag = s->v[i].l.flag;
		e.type = (uint32_t)s->v[i].l.type;
		e.pid = s->v[i].pid;
		e.fd = s->v[i].fd;
		e.start = s->v[i].l.start;
		e.len = s->v[i].l.len;
		err = img_write_one(img, &e.base);
	}
	if (!err)
		err = img__close(TAKE_PTR(img));
	img__close(img);
	if (err)
		return pr_err_ret(err, "cannot write file-lock.img: %s", img_error());
	ctx->nr_locks = s ? s->n : 0;
	return 0;
}

void dump_locks_cleanup(struct dump_ctx *ctx)
{
	if (!ctx->locks_state)
		return;
	free(ctx->locks_state->v);
	free(ctx->locks_state);
	ctx->locks_state = NULL;
}

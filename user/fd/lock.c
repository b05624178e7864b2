// SPDX-License-Identifier: GPL-2.0-only
/*
 * File locks, a pseudo-kind (it claims no fd; last in fd_kinds[]). Dump: POSIX (fcntl F_SETLK), OFD (F_OFD_SETLK) and
 * flock() locks, read from the "lock:" lines of /proc/PID/fdinfo/N. The kernel lists there
 * the locks taken through that open file description: a flock or OFD lock on every fd of
 * the description (it is the owner), a POSIX lock on the fds of its owner's table that
 * share the file it was taken through. Each lock is written once to file-lock.img (CRIU's
 * file_lock_entry) with the task and fd to take it back through. Leases, delegations and
 * any kind not listed are refused by name; a lock held by a process outside the tree on a
 * file the tree has open is reported (it stays where it is).
 * Restore: a flock() or OFD lock belongs to the open file description, so the controller
 * takes it on the description it created (create, after the other kinds'). A POSIX lock
 * belongs to the process (its fd table), and the kernel drops it when that process closes
 * any fd of the file: the restore driver has the task take it itself by an injected
 * fcntl(F_SETLK) once its memory is rebuilt (mapping a file opens and closes it there).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "fd.h"
#include "img.h"
#include "inject.h"
#include "lock.h"
#include "log.h"
#include "pb.h"
#include "rstctx.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "file_lock.pb-c.h"

extern const struct fd_kind fd_reg, fd_lock;

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

static struct dump_locks *locks_state(struct dump_ctx *ctx)
{
	return kstate_get(ctx->kstate, &fd_lock);
}

static const struct dump_fd *primary_of(struct dump_ctx *ctx, const struct dump_fd *f)
{
	size_t i;

	for (i = 0; i < ctx->n_fds; i++)
		if (ctx->fds[i].primary && ctx->fds[i].file_id == f->file_id)
			return &ctx->fds[i];
	return f;
}

static int lock_add(struct dump_ctx *ctx, const struct dump_fd *f, const struct lock_line *l)
{
	struct dump_locks *s = locks_state(ctx);
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
	if (l->flag != LOCK_KIND_POSIX)
		f = primary_of(ctx, f); /* the description's first holder: restore takes it there */
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
		return pr_perror_ret("pid %d fd %d: cannot read its fdinfo", f->pid, f->fd);
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
		if (f->kind != &fd_reg) {
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

static int locks_collect(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_lock);
	size_t i;
	int err, failed = 0;

	if (!slot)
		return -ENOMEM;
	*slot = calloc(1, sizeof(struct dump_locks));
	if (!*slot)
		return -ENOMEM;
	for (i = 0; i < ctx->n_fds; i++) {
		/* a file in flight that a task holds too: its copy is closed, the task's is read */
		if (ctx->fds[i].inflight && ctx->fds[i].stolen < 0)
			continue;
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

		if (f->kind == &fd_reg && f->st.st_ino == l->ino && f->st.st_dev == l->dev)
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

/*
 * Every fd of the tree is known (a lock is listed on each fd it is held through): the
 * tree's locks, refusing kinds a restore cannot take back; then the locks others hold on
 * the tree's files, from /proc/locks.
 */
static int locks_check(struct dump_ctx *ctx)
{
	struct dump_locks *s;
	FILE *in;
	struct lock_line l;
	char line[256];
	int err = locks_collect(ctx);

	s = locks_state(ctx);
	if (err || !s)
		return err;
	in = fopen("/proc/locks", "re");
	if (!in) {
		pr_pwarn("cannot read /proc/locks: locks held outside the tree on its files are "
			 "not reported");
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

static int locks_write(struct dump_ctx *ctx)
{
	struct dump_locks *s = locks_state(ctx);
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
	return 0;
}

static void locks_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	struct dump_locks *s = locks_state(ctx);

	if (s && s->n)
		snprintf(buf, size, ", %zu file lock%s", s->n, s->n == 1 ? "" : "s");
}

static void locks_cleanup(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_lock);
	struct dump_locks *s = slot ? *slot : NULL;

	if (!s)
		return;
	free(s->v);
	free(s);
	*slot = NULL;
}

/* ---- restore ---- */

#undef LOG_PREFIX
#define LOG_PREFIX "restore: "

#define SCR_LOCK 0

/* file-lock.img, kept by the lock kind during a restore */
struct rst_locks {
	FileLockEntry **v;
	size_t n;
};

static struct rst_locks *locks_of(const struct rst_set *set)
{
	static struct rst_locks none;
	struct rst_locks *l = rst_kstate_get(set, &fd_lock);

	return l ? l : &none;
}

/*
 * The file a lock is held through: the description whose first holder is (pid, fd), which
 * is where the dump records a flock or OFD lock; a POSIX lock's fd may be another (NULL).
 */
static const struct rst_file *lock_file(const struct rst_set *set, const FileLockEntry *e)
{
	size_t i;

	for (i = 0; i < set->n_files; i++)
		if (set->files[i].pid == e->pid && (int32_t)set->files[i].fd == e->fd)
			return &set->files[i];
	return NULL;
}

static const char *lock_path(const struct rst_file *f)
{
	return f && f->fe->reg ? f->fe->reg->name : "its file";
}

static const char *type_name(const FileLockEntry *e)
{
	if (e->flag == LOCK_KIND_FLOCK)
		return e->type == F_WRLCK ? "exclusive" : "shared";
	return e->type == F_WRLCK ? "write" : "read";
}

int rst_locks_load(struct rst_set *set)
{
	void **slot = rst_kstate(set, &fd_lock);
	struct rst_locks *l = calloc(1, sizeof(*l));

	if (!slot || !l) {
		free(l);
		return -ENOMEM;
	}
	*slot = l;
	return rst_read_all(set, IMG_FILE_LOCKS, 0, &file_lock_entry__descriptor, true,
			    (void ***)&l->v, &l->n);
}

void rst_locks_release(struct rst_set *set)
{
	void **slot = rst_kstate(set, &fd_lock);
	struct rst_locks *l = slot ? *slot : NULL;
	size_t i;

	if (!l)
		return;
	for (i = 0; i < l->n; i++)
		pb_free(l->v[i]);
	free(l->v);
	free(l);
	*slot = NULL;
}

void rst_locks_check(struct rst_set *set)
{
	const struct rst_locks *l = locks_of(set);
	size_t i;

	for (i = 0; i < l->n; i++) {
		const FileLockEntry *e = l->v[i];
		const struct rst_file *f = lock_file(set, e);

		if (e->flag != LOCK_KIND_POSIX && e->flag != LOCK_KIND_FLOCK &&
		    e->flag != LOCK_KIND_OFD) {
			rst_problem(set,
				    "file-lock.img: lock %zu of pid %d fd %d is of kind %u: only "
				    "POSIX, flock() and OFD locks can be restored",
				    i, e->pid, e->fd, e->flag);
		} else if (e->type != F_RDLCK && e->type != F_WRLCK) {
			rst_problem(set, "file-lock.img: lock %zu of pid %d fd %d has type %u", i,
				    e->pid, e->fd, e->type);
		} else if (e->flag != LOCK_KIND_POSIX && (!f || f->fe->type != FD_TYPES__REG)) {
			rst_problem(
				set,
				"file-lock.img: the %s lock of pid %d fd %d: no regular file at "
				"that fd in the image",
				lock_kind_name(e->flag), e->pid, e->fd);
		}
	}
}

static void holder_name(pid_t pid, char *buf, size_t size)
{
	char path[64], comm[32] = "?";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f && fgets(comm, sizeof(comm), f))
		comm[strcspn(comm, "\n")] = '\0';
	if (f)
		fclose(f);
	snprintf(buf, size, "%s (pid %d)", comm, pid);
}

/* Who holds a lock that conflicts with e on path now, for the message ("" if unknown). */
static void conflict_desc(const char *path, const FileLockEntry *e, char *buf, size_t size)
{
	struct flock fl = {
		.l_type = (short)e->type, .l_whence = SEEK_SET, .l_start = e->start, .l_len = e->len
	};
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char comm[64] = "?";

	buf[0] = '\0';
	if (e->flag == LOCK_KIND_FLOCK || fd < 0 || fcntl(fd, F_GETLK, &fl) || fl.l_type == F_UNLCK)
		return;
	if (fl.l_pid > 0)
		holder_name(fl.l_pid, comm, sizeof(comm));
	snprintf(buf, size, ": %s holds a conflicting lock on it (see /proc/locks)",
		 fl.l_pid > 0 ? comm : "an OFD lock of another process");
}

static int lock_failed(const FileLockEntry *e, const struct rst_file *f, int err)
{
	char why[160];

	conflict_desc(lock_path(f), e, why, sizeof(why));
	return pr_err_ret(err,
			  "pid %d fd %d: cannot take back its %s %s lock on %s (bytes %lld, "
			  "length %lld): %s%s",
			  e->pid, e->fd, lock_kind_name(e->flag), type_name(e), lock_path(f),
			  (long long)e->start, (long long)e->len, strerror(-err), why);
}

int rst_locks_shared(struct rst_set *set)
{
	const struct rst_locks *l = locks_of(set);
	size_t i;
	int r;

	for (i = 0; i < l->n; i++) {
		const FileLockEntry *e = l->v[i];
		const struct rst_file *f = lock_file(set, e);
		struct flock fl = { .l_type = (short)e->type,
				    .l_whence = SEEK_SET,
				    .l_start = e->start,
				    .l_len = e->len };

		if (e->flag == LOCK_KIND_POSIX)
			continue;
		if (!f || f->ctl_fd < 0)
			return -EBADF;
		if (e->flag == LOCK_KIND_FLOCK)
			r = flock(f->ctl_fd, (e->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else
			r = fcntl(f->ctl_fd, F_OFD_SETLK, &fl);
		if (r)
			return lock_failed(e, f, -errno);
	}
	return 0;
}

int rst_locks_posix(const struct rst_set *set, pid_t pid, struct inj *inj)
{
	const struct rst_locks *l = locks_of(set);
	size_t i;
	long r;

	for (i = 0; i < l->n; i++) {
		const FileLockEntry *e = l->v[i];
		struct flock fl = { .l_type = (short)e->type,
				    .l_whence = SEEK_SET,
				    .l_start = e->start,
				    .l_len = e->len };
		uint64_t p;

		if (e->flag != LOCK_KIND_POSIX || e->pid != pid)
			continue;
		p = inj_scratch_put(inj, SCR_LOCK, &fl, sizeof(fl));
		if (!p)
			return -EFAULT;
		r = inj_sys3(inj, SYS_fcntl, e->fd, F_SETLK, p);
		if (r < 0)
			return lock_failed(e, lock_file(set, e), (int)r);
	}
	return 0;
}

/*
 * Locks are not a kind of file: this entry claims no fd (no match), and runs after every
 * other kind (last in fd_kinds[]): its check sees every fd and file id, its create the
 * descriptions the other kinds made.
 */
const struct fd_kind fd_lock = {
	.name = "lock",
	.fd_type = UINT32_MAX, /* no file_entry is ever of this kind */
	.check = locks_check,
	.write = locks_write,
	.summary = locks_summary,
	.cleanup = locks_cleanup,
	.load = rst_locks_load,
	.validate = rst_locks_check,
	.create = rst_locks_shared,
	.release = rst_locks_release,
};

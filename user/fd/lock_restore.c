// SPDX-License-Identifier: GPL-2.0-only
/*
 * File locks (restore half). A flock() or OFD lock belongs to the open file description:
 * the controller takes it on the description it created, before the tasks inherit it. A
 * POSIX lock belongs to the process that takes it (its fd table), and the kernel drops it
 * when that process closes any fd of the file: the restored task takes it itself, by an
 * injected fcntl(F_SETLK) once its memory is rebuilt (the mapping of a file opens and
 * closes it in the task, which would drop a lock taken earlier), before it runs again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "lock.h"
#include "log.h"
#include "restore.h"
#include "util.h"

#include "fdinfo.pb-c.h"
#include "file_lock.pb-c.h"

#define SCR_LOCK 0

static const struct rst_fd *lock_fd(const struct rst_set *set, const FileLockEntry *e)
{
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		const struct rst_task *t = &set->tasks[i];

		if (t->pid != e->pid)
			continue;
		for (j = 0; j < t->n_fds; j++)
			if ((int32_t)t->fds[j].fd == e->fd)
				return &t->fds[j];
	}
	return NULL;
}

static const char *lock_path(const struct rst_fd *d)
{
	return d && d->file->fe->reg ? d->file->fe->reg->name : "?";
}

static const char *type_name(const FileLockEntry *e)
{
	if (e->flag == LOCK_KIND_FLOCK)
		return e->type == F_WRLCK ? "exclusive" : "shared";
	return e->type == F_WRLCK ? "write" : "read";
}

void rst_locks_check(struct rst_set *set)
{
	size_t i;

	for (i = 0; i < set->n_locks; i++) {
		const FileLockEntry *e = set->locks[i];
		const struct rst_fd *d = lock_fd(set, e);

		if (e->flag != LOCK_KIND_POSIX && e->flag != LOCK_KIND_FLOCK &&
		    e->flag != LOCK_KIND_OFD) {
			pr_err("file-lock.img: lock %zu of pid %d fd %d is of kind %u: only POSIX, "
			       "flock() and OFD locks can be restored",
			       i, e->pid, e->fd, e->flag);
			set->problems++;
		} else if (e->type != F_RDLCK && e->type != F_WRLCK) {
			pr_err("file-lock.img: lock %zu of pid %d fd %d has type %u", i, e->pid,
			       e->fd, e->type);
			set->problems++;
		} else if (!d || d->file->fe->type != FD_TYPES__REG) {
			pr_err("file-lock.img: the %s lock of pid %d fd %d: no regular file at that "
			       "fd in the image",
			       lock_kind_name(e->flag), e->pid, e->fd);
			set->problems++;
		}
	}
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
		rst_pid_holder(fl.l_pid, comm, sizeof(comm));
	snprintf(buf, size, ": %s holds a conflicting lock on it (see /proc/locks)",
		 fl.l_pid > 0 ? comm : "an OFD lock of another process");
}

static int lock_failed(const FileLockEntry *e, const struct rst_fd *d, int err)
{
	char why[160];

	conflict_desc(lock_path(d), e, why, sizeof(why));
	return pr_err_ret(err,
			  "pid %d fd %d: cannot take back its %s %s lock on %s (bytes %lld, "
			  "length %lld): %s%s",
			  e->pid, e->fd, lock_kind_name(e->flag), type_name(e), lock_path(d),
			  (long long)e->start, (long long)e->len, strerror(-err), why);
}

int rst_locks_shared(struct rst_set *set)
{
	size_t i;
	int r;

	for (i = 0; i < set->n_locks; i++) {
		const FileLockEntry *e = set->locks[i];
		const struct rst_fd *d = lock_fd(set, e);
		struct flock fl = { .l_type = (short)e->type,
				    .l_whence = SEEK_SET,
				    .l_start = e->start,
				    .l_len = e->len };

		if (e->flag == LOCK_KIND_POSIX)
			continue;
		if (!d || d->file->ctl_fd < 0)
			return -EBADF;
		if (e->flag == LOCK_KIND_FLOCK)
			r = flock(d->file->ctl_fd,
				  (e->type == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB);
		else
			r = fcntl(d->file->ctl_fd, F_OFD_SETLK, &fl);
		if (r)
			return lock_failed(e, d, -errno);
	}
	return 0;
}

int rst_locks_posix(struct rst_set *set, struct rst_task *t)
{
	size_t i;
	long r;

	for (i = 0; i < set->n_locks; i++) {
		const FileLockEntry *e = set->locks[i];
		struct flock fl = { .l_type = (short)e->type,
				    .l_whence = SEEK_SET,
				    .l_start = e->start,
				    .l_len = e->len };
		uint64_t p;

		if (e->flag != LOCK_KIND_POSIX || e->pid != t->pid)
			continue;
		p = inj_scratch_put(&t->inj, SCR_LOCK, &fl, sizeof(fl));
		if (!p)
			return -EFAULT;
		r = inj_sys3(&t->inj, SYS_fcntl, e->fd, F_SETLK, p);
		if (r < 0)
			return lock_failed(e, lock_fd(set, e), (int)r);
	}
	return 0;
}

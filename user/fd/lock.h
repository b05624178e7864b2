/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File locks (lock.c, the lock pseudo-kind: dump and restore halves). Kinds as CRIU's
 * file_lock_entry.flag: POSIX 1, FLOCK 2, OFD 4; type F_RDLCK or F_WRLCK.
 */
#ifndef CRUX_LOCK_H
#define CRUX_LOCK_H

#include <stdint.h>
#include <sys/types.h>

enum {
	LOCK_KIND_POSIX = 1,
	LOCK_KIND_FLOCK = 2,
	LOCK_KIND_OFD = 4,
};

/* One parsed line of /proc/locks, or of a "lock:" line of /proc/PID/fdinfo/N. */
struct lock_line {
	unsigned int flag; /* LOCK_KIND_* */
	int type; /* F_RDLCK, F_WRLCK */
	pid_t pid; /* -1 for OFD locks */
	dev_t dev;
	uint64_t ino;
	int64_t start, len; /* len 0: to the end of the file */
	char kind_text[48]; /* "POSIX ADVISORY WRITE", "LEASE", ... for messages */
};

/* 0, -ENOENT (a blocked waiter, "->"), -EOPNOTSUPP (kind_text names it) or -EINVAL. */
int lock_parse_line(const char *line, struct lock_line *ret);
/* "POSIX", "FLOCK", "OFDLCK" */
const char *lock_kind_name(unsigned int flag);

/* The restore half (lock.c), in fd_lock's table entry, and for the restore driver: */
struct rst_set;
struct inj;
int rst_locks_load(struct rst_set *set);
void rst_locks_check(struct rst_set *set);
int rst_locks_shared(struct rst_set *set);
void rst_locks_release(struct rst_set *set);
/*
 * The POSIX locks task pid owns, taken by fcntl(F_SETLK) injected in it (inj) once its
 * memory is rebuilt: mapping a file opens and closes it in the task, which would drop a
 * POSIX lock taken before. Called by the restore driver (restore_task.c).
 */
int rst_locks_posix(const struct rst_set *set, pid_t pid, struct inj *inj);

#endif /* CRUX_LOCK_H */

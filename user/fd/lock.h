/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * File locks (lock.c: dump half, lock_restore.c: restore half). Kinds as CRIU's
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

#endif /* CRUX_LOCK_H */

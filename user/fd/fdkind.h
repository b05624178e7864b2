/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which kind of open file an fd is, as `crux dump` handles it, or why a dump refuses it:
 * one decision for `crux dump` and `crux-map external`, so both reach the same verdict for
 * every fd of a tree. Library-style: no logging; the refusal text goes to the caller.
 */
#ifndef CRUX_FDKIND_H
#define CRUX_FDKIND_H

#include <stddef.h>
#include <sys/types.h>

enum fdkind {
	FDKIND_REG = 0, /* regular files, directories, character devices by path */
	FDKIND_PIPE,
	FDKIND_UNIX,
	FDKIND_EVENTFD,
	FDKIND_SIGNALFD,
	FDKIND_TIMERFD,
	FDKIND_INOTIFY,
	FDKIND_FANOTIFY,
	FDKIND_EPOLL,
	FDKIND__MAX,
};

/*
 * The kind of an fd from its /proc/PID/fd link and st_mode; for a socket, sock_family is its
 * SO_DOMAIN (the caller reads it on a copy of the fd). 0 and *ret_kind, or -EOPNOTSUPP and
 * the refusal in why ("named FIFO /x is not supported yet"), to print after "pid P (comm)
 * fd F: ".
 */
int fdkind_of(const char *link, mode_t mode, int sock_family, enum fdkind *ret_kind, char *why,
	      size_t size);

/* Every fd of pid that a dump would refuse by kind: cb(arg, fd, why) for each; how many. */
int fdkind_refusals(pid_t pid, void (*cb)(void *arg, int fd, const char *why), void *arg);

#endif /* CRUX_FDKIND_H */

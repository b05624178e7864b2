// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kind of each fd (fdkind.h): the anon-inode kinds by the name /proc shows for them,
 * sockets by family, the rest by file type. Adding a kind crux dumps is one line here.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdkind.h"
#include "proc.h"
#include "util.h"

static const struct {
	const char *link;
	enum fdkind kind;
} anon_kinds[] = {
	{ "anon_inode:[eventfd]", FDKIND_EVENTFD },   { "anon_inode:[signalfd]", FDKIND_SIGNALFD },
	{ "anon_inode:[timerfd]", FDKIND_TIMERFD },   { "anon_inode:inotify", FDKIND_INOTIFY },
	{ "anon_inode:[fanotify]", FDKIND_FANOTIFY }, { "anon_inode:[eventpoll]", FDKIND_EPOLL },
};

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* Fill why with a refusal about link and evaluate to -EOPNOTSUPP. */
#define refuse(why, size, fmt, link) (snprintf(why, size, fmt, link), -EOPNOTSUPP)

int fdkind_of(const char *link, mode_t mode, int sock_family, enum fdkind *ret_kind, char *why,
	      size_t size)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(anon_kinds); i++) {
		if (!strcmp(link, anon_kinds[i].link)) {
			*ret_kind = anon_kinds[i].kind;
			return 0;
		}
	}
	switch (mode & S_IFMT) {
	case S_IFSOCK:
		if (sock_family != AF_UNIX) {
			snprintf(why, size,
				 "%s is a socket of family %d: only unix sockets are supported",
				 link, sock_family);
			return -EOPNOTSUPP;
		}
		*ret_kind = FDKIND_UNIX;
		return 0;
	case S_IFIFO:
		if (strncmp(link, "pipe:", 5))
			return refuse(why, size, "named FIFO %s is not supported yet", link);
		*ret_kind = FDKIND_PIPE;
		return 0;
	case S_IFREG:
	case S_IFDIR:
	case S_IFCHR:
		if (link[0] != '/')
			return refuse(
				why, size,
				"%s has no path (memfd or anonymous inode): not supported yet",
				link);
		if (ends_with(link, " (deleted)"))
			return refuse(
				why, size,
				"file %s is deleted: deleted files are not supported (keep the "
				"file or close it before the dump)",
				link);
		*ret_kind = FDKIND_REG;
		return 0;
	default:
		return refuse(why, size,
			      "%s (an anonymous inode, block device or other special file) is not "
			      "supported yet",
			      link);
	}
}

/* SO_DOMAIN of pid's fd, read on a copy; -1 if it cannot be read. */
static int sock_family(int pidfd, int fd)
{
	_cleanup_close_ int copy = pidfd_getfd(pidfd, fd, 0);
	socklen_t l = sizeof(int);
	int dom = -1;

	if (copy < 0 || getsockopt(copy, SOL_SOCKET, SO_DOMAIN, &dom, &l))
		return -1;
	return dom;
}

int fdkind_refusals(pid_t pid, void (*cb)(void *arg, int fd, const char *why), void *arg)
{
	_cleanup_close_ int pidfd = pidfd_open(pid, 0);
	_cleanup_free_ int *fds = NULL;
	size_t n, i;
	int count = 0, err;

	err = proc_list_fds(pid, &fds, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		_cleanup_free_ char *link = NULL;
		char what[32], path[64], why[512];
		enum fdkind k;
		struct stat st;

		snprintf(what, sizeof(what), "fd/%d", fds[i]);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fds[i]);
		if (proc_readlink(pid, what, &link) || stat(path, &st))
			continue; /* closed meanwhile */
		if (!fdkind_of(link, st.st_mode,
			       S_ISSOCK(st.st_mode) ? sock_family(pidfd, fds[i]) : 0, &k, why,
			       sizeof(why)))
			continue;
		cb(arg, fds[i], why);
		count++;
	}
	return count;
}

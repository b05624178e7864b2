// SPDX-License-Identifier: GPL-2.0-only
/* Which kind an fd is, or why crux refuses it: see kind.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kind.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* "desc: cannot <what> link: <errno>" */
static int errno_why(char *why, size_t size, const char *what, const char *desc, const char *link)
{
	int err = -errno;

	snprintf(why, size, "%s: cannot %s %s: %s", desc, what, link, strerror(-err));
	return err;
}

static int socket_kind(const char *desc, const char *link, int pidfd, int fd, int *stolen,
		       char *why, size_t size)
{
	int s, dom = 0, err = FD_KIND_UNIX;
	socklen_t l = sizeof(dom);

	s = pidfd_getfd(pidfd, fd, 0);
	if (s < 0)
		return errno_why(why, size, "take a copy of", desc, link);
	if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &dom, &l))
		err = errno_why(why, size, "read the family of", desc, link);
	else if (dom != AF_UNIX) {
		snprintf(why, size,
			 "%s: %s is a socket of family %d: only unix sockets are supported", desc,
			 link, dom);
		err = -EOPNOTSUPP;
	}
	if (stolen && err >= 0)
		*stolen = s;
	else
		close(s);
	return err;
}

int fd_kind_of(const char *desc, const char *link, const struct stat *st, int pidfd, int fd,
	       int *stolen, char *why, size_t size)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFSOCK:
		return socket_kind(desc, link, pidfd, fd, stolen, why, size);
	case S_IFIFO:
		if (!strncmp(link, "pipe:", 5))
			return FD_KIND_PIPE;
		snprintf(why, size, "%s: named FIFO %s is not supported yet", desc, link);
		return -EOPNOTSUPP;
	case S_IFREG:
	case S_IFDIR:
	case S_IFCHR:
		if (link[0] != '/') {
			snprintf(why, size,
				 "%s: %s has no path (memfd or anonymous inode): not supported yet",
				 desc, link);
			return -EOPNOTSUPP;
		}
		if (ends_with(link, " (deleted)")) {
			snprintf(
				why, size,
				"%s: file %s is deleted: deleted files are not supported (keep the "
				"file or close it before the dump)",
				desc, link);
			return -EOPNOTSUPP;
		}
		return FD_KIND_REG;
	default:
		snprintf(why, size,
			 "%s: %s (an anonymous inode, block device or other special file) is not "
			 "supported yet",
			 desc, link);
		return -EOPNOTSUPP;
	}
}

void fd_external_pipe_msg(const char *desc, uint64_t ino, bool rd, pid_t holder, const char *comm,
			  char *buf, size_t size)
{
	snprintf(buf, size,
		 "external pipe: %s holds the %s end of pipe:[%llu]; its %s end is held by pid "
		 "%d (%s) outside the dumped tree. A dump must be self-contained: dump a tree that "
		 "includes pid %d, or close the pipe in the tree first",
		 desc, rd ? "read" : "write", (unsigned long long)ino, rd ? "write" : "read",
		 holder, comm, holder);
}

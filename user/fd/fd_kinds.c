// SPDX-License-Identifier: GPL-2.0-only
/*
 * The table of fd kinds, in the order the dump driver asks them whether an fd is theirs:
 * a kind that claims a subset of another's fds comes before it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fd.h"
#include "proc.h"
#include "util.h"
#include "kstate.h"

#include "evloop.h"

extern const struct fd_kind fd_reg, fd_pipe, fd_unix, fd_inet, fd_netlink, fd_eventfd, fd_signalfd,
	fd_timerfd, fd_inotify, fd_fanotify, fd_epoll, fd_lock;

const struct fd_kind *const fd_kinds[] = {
	&fd_reg,      &fd_pipe,	   &fd_unix,	&fd_inet,     &fd_netlink, &fd_eventfd,
	&fd_signalfd, &fd_timerfd, &fd_inotify, &fd_fanotify, &fd_epoll, /* its check() pins targets of every kind above */
	&fd_lock, /* not a file kind: the locks held on the others' files, after them */
	&fd_cruxfds, /* last: closes crux-fds.img after timerfd and epoll wrote to it */
};

const size_t fd_nr_kinds = sizeof(fd_kinds) / sizeof(fd_kinds[0]);

_Static_assert(sizeof(fd_kinds) / sizeof(fd_kinds[0]) <= KSTATE_MAX,
	       "every kind needs a private state slot: raise KSTATE_MAX");

const struct fd_kind *fd_kind_by_type(uint32_t t)
{
	size_t i;

	for (i = 0; i < fd_nr_kinds; i++)
		if (fd_kinds[i]->fd_type == t)
			return fd_kinds[i];
	return NULL;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* What an fd is, for the refusal of an fd no kind claims. */
static void describe(const struct stat *st, const char *link, int family, char *buf, size_t size)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFSOCK:
		if (family == AF_PACKET)
			snprintf(buf, size, "a packet socket (AF_PACKET)");
		else
			snprintf(buf, size, "a socket of family %d", family);
		return;
	case S_IFIFO:
		snprintf(buf, size, "%s", strncmp(link, "pipe:", 5) ? "a named FIFO" : "a pipe");
		return;
	case S_IFREG:
	case S_IFDIR:
	case S_IFCHR:
		if (link[0] != '/')
			snprintf(buf, size, "a file without a path (memfd or anonymous inode)");
		else if (ends_with(link, " (deleted)"))
			snprintf(buf, size,
				 "a deleted file (keep the file or close it before "
				 "the dump)");
		else
			snprintf(buf, size, "a file");
		return;
	default:
		snprintf(buf, size, "an anonymous inode, block device or other special file");
	}
}

/* "desc: cannot <what> link: <errno>" */
static int errno_why(char *why, size_t size, const char *what, const char *desc, const char *link)
{
	int err = -errno;

	snprintf(why, size, "%s: cannot %s %s: %s", desc, what, link, strerror(-err));
	return err;
}

int fd_kind_of(const char *desc, const char *link, const struct stat *st, int pidfd, int fd,
	       int *stolen, const struct fd_kind **ret, char *why, size_t size)
{
	struct fd_probe p = { .st = st, .link = link, .family = -1 };
	socklen_t l = sizeof(p.family);
	char what[96];
	int s = -1, err = -EOPNOTSUPP;
	bool own = true; /* s was taken here */
	size_t i;

	if (S_ISSOCK(st->st_mode)) {
		/* the family is only known from the socket itself (a fileless one comes stolen) */
		own = !stolen || *stolen < 0;
		s = own ? pidfd_getfd(pidfd, fd, 0) : *stolen;
		if (s < 0)
			return errno_why(why, size, "take a copy of", desc, link);
		if (getsockopt(s, SOL_SOCKET, SO_DOMAIN, &p.family, &l)) {
			err = errno_why(why, size, "read the family of", desc, link);
			if (own)
				close(s);
			return err;
		}
	}
	for (i = 0; i < fd_nr_kinds; i++) {
		if (fd_kinds[i]->match && fd_kinds[i]->match(&p)) {
			*ret = fd_kinds[i];
			err = 0;
			break;
		}
	}
	if (err) {
		describe(st, link, p.family, what, sizeof(what));
		snprintf(why, size, "%s: %s is %s: not supported yet", desc, link, what);
	}
	/* a copy taken here goes to the caller, or is closed; a given one stays the caller's */
	if (own && s >= 0 && stolen && !err)
		*stolen = s;
	else if (own && s >= 0)
		close(s);
	return err;
}

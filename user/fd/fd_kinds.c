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

extern const struct fd_kind fd_reg, fd_pipe, fd_unix, fd_eventfd, fd_signalfd, fd_timerfd,
	fd_inotify, fd_fanotify, fd_epoll, fd_lock;

const struct fd_kind *const fd_kinds[] = {
	&fd_reg,     &fd_pipe,	  &fd_unix,	&fd_eventfd, &fd_signalfd,
	&fd_timerfd, &fd_inotify, &fd_fanotify, &fd_epoll, /* its check() pins targets of every kind above */
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
static void describe(const struct fd_probe *p, char *buf, size_t size)
{
	switch (p->st->st_mode & S_IFMT) {
	case S_IFSOCK:
		snprintf(buf, size, "a socket of family %d", p->family);
		return;
	case S_IFIFO:
		snprintf(buf, size, "%s", strncmp(p->link, "pipe:", 5) ? "a named FIFO" : "a pipe");
		return;
	case S_IFREG:
	case S_IFDIR:
	case S_IFCHR:
		if (p->link[0] != '/')
			snprintf(buf, size, "a file without a path (memfd or anonymous inode)");
		else if (ends_with(p->link, " (deleted)"))
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

int fd_kind_find(const struct fd_probe *p, const struct fd_kind **ret, char *why, size_t size)
{
	char what[96];
	size_t i;

	for (i = 0; i < fd_nr_kinds; i++) {
		if (fd_kinds[i]->match && fd_kinds[i]->match(p)) {
			*ret = fd_kinds[i];
			return 0;
		}
	}
	describe(p, what, sizeof(what));
	snprintf(why, size, "%s is %s: not supported yet", p->link, what);
	return -EOPNOTSUPP;
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

int fd_kind_refusals(pid_t pid, void (*cb)(void *arg, int fd, const char *why), void *arg)
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
		const struct fd_kind *k;
		struct stat st;
		struct fd_probe p = { .st = &st, .family = -1 };

		snprintf(what, sizeof(what), "fd/%d", fds[i]);
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fds[i]);
		if (proc_readlink(pid, what, &link) || stat(path, &st))
			continue; /* closed meanwhile */
		p.link = link;
		if (S_ISSOCK(st.st_mode))
			p.family = sock_family(pidfd, fds[i]);
		if (!fd_kind_find(&p, &k, why, sizeof(why)))
			continue;
		cb(arg, fds[i], why);
		count++;
	}
	return count;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The holder of a tree's tracking uffds between dumps (see trackmem.h): a daemon forked by
 * `crux dump`, serving the fds once over a seqpacket socket, then exiting. It also exits
 * when the tree's root exits, so it never outlives what it tracks.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "trackmem: "
#include "log.h"
#include "trackmem.h"
#include "util.h"

#define HOLD_MAGIC 0x43525854u /* "TXRC" */
#define HOLD_MAX 4096

struct hold_head {
	uint32_t magic;
	uint32_t n;
	uint64_t gen;
};

struct hold_item {
	int32_t pid;
	uint32_t pad;
	uint64_t starttime;
};

int tm_starttime(pid_t pid, uint64_t *ret)
{
	char path[64], buf[1024], *p;
	unsigned long long st;
	ssize_t n;
	int fd, i;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
	if (!p)
		return -EIO;
	/* after ") " comes field 3; field 22 is 19 fields further */
	for (i = 0, p++; i < 19 && p; i++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &st) != 1)
		return -EIO;
	*ret = st;
	return 0;
}

static void sock_path(pid_t root, uint64_t start, struct sockaddr_un *sa, socklen_t *len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	snprintf(sa->sun_path, sizeof(sa->sun_path), TM_RUN_DIR "/trackmem-%d-%llu.sock", root,
		 (unsigned long long)start);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(sa->sun_path) + 1);
}

static int recv_item(int s, struct tm_held *h)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct hold_item it;
	struct iovec iov = { &it, sizeof(it) };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t n = recvmsg(s, &m, MSG_CMSG_CLOEXEC);

	if (n < 0)
		return -errno;
	c = CMSG_FIRSTHDR(&m);
	if (n != sizeof(it) || !c || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int))) {
		if (c && c->cmsg_type == SCM_RIGHTS)
			close(*(int *)CMSG_DATA(c));
		return -EPROTO;
	}
	memcpy(&h->uffd, CMSG_DATA(c), sizeof(int));
	h->pid = it.pid;
	h->starttime = it.starttime;
	return 0;
}

static int take_from(int s, uint64_t *ret_gen, struct tm_held **ret, size_t *ret_n)
{
	struct hold_head hd;
	struct tm_held *v;
	size_t i;
	int err = 0;

	if (send(s, "T", 1, MSG_NOSIGNAL) != 1)
		return -errno;
	if (recv(s, &hd, sizeof(hd), 0) != sizeof(hd) || hd.magic != HOLD_MAGIC || hd.n > HOLD_MAX)
		return -EPROTO;
	v = calloc(hd.n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < hd.n; i++) {
		err = recv_item(s, &v[i]);
		if (err)
			break;
	}
	if (err) {
		while (i--)
			close(v[i].uffd);
		free(v);
		return err;
	}
	*ret_gen = hd.gen;
	*ret = v;
	*ret_n = hd.n;
	return 0;
}

int tm_holder_take(pid_t root, uint64_t root_start, uint64_t *ret_gen, struct tm_held **ret,
		   size_t *ret_n)
{
	struct sockaddr_un sa;
	socklen_t len;
	_cleanup_close_ int s = -1;

	*ret_n = 0;
	*ret = NULL;
	*ret_gen = 0;
	sock_path(root, root_start, &sa, &len);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (connect(s, (struct sockaddr *)&sa, len)) {
		if (errno == ECONNREFUSED) /* a holder that was killed: its name is stale */
			unlink(sa.sun_path);
		return errno == ENOENT || errno == ECONNREFUSED ? 0 : -errno;
	}
	return take_from(s, ret_gen, ret, ret_n);
}

/* ---- the holder itself ---- */

static int send_item(int s, const struct tm_held *h)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct hold_item it = { .pid = h->pid, .starttime = h->starttime };
	struct iovec iov = { &it, sizeof(it) };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &h->uffd, sizeof(int));
	return sendmsg(s, &m, MSG_NOSIGNAL) == sizeof(it) ? 0 : -EIO;
}

/* Serve one taker; true once the fds are handed over (the holder's job is done). */
static bool serve(int ls, const char *path, uint64_t gen, const struct tm_held *held, size_t n)
{
	struct hold_head hd = { HOLD_MAGIC, (uint32_t)n, gen };
	struct ucred cr;
	socklen_t cl = sizeof(cr);
	char cmd = 0;
	size_t i;
	int s = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

	if (s < 0)
		return false;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl) || cr.uid != geteuid() ||
	    recv(s, &cmd, 1, 0) != 1 || cmd != 'T') {
		close(s);
		return false;
	}
	unlink(path); /* from now on the taker owns the tracking */
	if (send(s, &hd, sizeof(hd), MSG_NOSIGNAL) == sizeof(hd))
		for (i = 0; i < n && !send_item(s, &held[i]); i++)
			;
	close(s);
	return true;
}

static void holder_main(int ls, const char *path, pid_t root, uint64_t root_start, uint64_t gen,
			const struct tm_held *held, size_t n)
{
	struct pollfd p[2];
	uint64_t st = 0;

	p[0] = (struct pollfd){ .fd = ls, .events = POLLIN };
	p[1] = (struct pollfd){ .fd = (int)pidfd_open(root, 0), .events = POLLIN };
	/* the root gone (or already replaced by another process): nothing left to hold */
	if (p[1].fd < 0 || tm_starttime(root, &st) || st != root_start)
		goto out;
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		if ((p[0].revents & POLLIN) && serve(ls, path, gen, held, n))
			_exit(0);
	}
out:
	unlink(path);
	_exit(0);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* Keep only 0-2 (on /dev/null) and keep[0..n): the holder must hold nothing else open. */
static void close_others(int *keep, size_t n)
{
	int nul = open("/dev/null", O_RDWR), lo = 3;
	size_t i;

	if (nul >= 0) {
		dup2(nul, 0), dup2(nul, 1), dup2(nul, 2);
		if (nul > 2)
			close(nul);
	}
	qsort(keep, n, sizeof(*keep), cmp_int);
	for (i = 0; i < n; i++) {
		if (keep[i] > lo)
			close_range((unsigned)lo, (unsigned)keep[i] - 1, 0);
		lo = MAX(lo, keep[i] + 1);
	}
	close_range((unsigned)lo, ~0U, 0);
}

static int bind_listen(pid_t root, uint64_t root_start, struct sockaddr_un *sa)
{
	socklen_t len;
	int s;

	sock_path(root, root_start, sa, &len);
	if (mkdir(TM_RUN_DIR, 0700) && errno != EEXIST)
		return -errno;
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	unlink(sa->sun_path); /* a stale name of a holder that was killed */
	if (bind(s, (struct sockaddr *)sa, len) || listen(s, 4)) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

/* The grandchild: becomes the holder; reports its pid (or -errno) on the pipe. */
static void holder_child(int wfd, pid_t root, uint64_t root_start, uint64_t gen,
			 const struct tm_held *held, size_t n)
{
	_cleanup_free_ int *keep = calloc(n + 2, sizeof(*keep));
	struct sockaddr_un sa;
	int32_t msg;
	size_t i;
	int ls;

	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_NAME, "crux-trackmem");
	ls = keep ? bind_listen(root, root_start, &sa) : -ENOMEM;
	msg = ls < 0 ? ls : (int32_t)getpid();
	if (write(wfd, &msg, sizeof(msg)) != sizeof(msg) || ls < 0)
		_exit(1);
	for (i = 0; i < n; i++)
		keep[i] = held[i].uffd;
	keep[n] = ls;
	close_others(keep, n + 1);
	holder_main(ls, sa.sun_path, root, root_start, gen, held, n);
}

int tm_holder_spawn(pid_t root, uint64_t root_start, uint64_t gen, const struct tm_held *held,
		    size_t n, pid_t *ret_pid)
{
	int p[2], status;
	int32_t msg = -EIO;
	pid_t c;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	c = fork();
	if (c < 0) {
		close(p[0]), close(p[1]);
		return -errno;
	}
	if (c == 0) {
		close(p[0]);
		setsid();
		/* double fork: the holder is nobody's child but init's, crux need not reap it */
		if (fork() == 0)
			holder_child(p[1], root, root_start, gen, held, n);
		_exit(0);
	}
	close(p[1]);
	waitpid(c, &status, 0);
	if (read(p[0], &msg, sizeof(msg)) != sizeof(msg))
		msg = -EIO;
	close(p[0]);
	if (msg < 0)
		return msg;
	*ret_pid = msg;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/* The restore guard: see restore_guard.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "fault.h"
#include "log.h"
#include "restore_guard.h"
#include "util.h"

#define GUARD_MAX 4096 /* records the guard keeps */

enum { REC_TASK = 1, REC_NAME, REC_COMMIT };

struct guard_rec {
	uint32_t type;
	int32_t sock_type; /* REC_NAME: SOCK_STREAM... */
	char path[108];
};

struct guard_state {
	int pidfds[GUARD_MAX];
	struct guard_rec names[GUARD_MAX];
	size_t n_pidfds, n_names;
};

/* Nothing listens or receives at the name: the socket behind it is closed (or none is). */
static bool name_stale(const struct guard_rec *r)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, r->sock_type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), rc;

	if (fd < 0)
		return false;
	memcpy(a.sun_path, r->path, sizeof(r->path));
	rc = connect(fd, (struct sockaddr *)&a, sizeof(a));
	rc = rc < 0 && errno == ECONNREFUSED;
	close(fd);
	return rc;
}

static void guard_cleanup(struct guard_state *s)
{
	struct pollfd p;
	struct stat st;
	size_t i;

	for (i = 0; i < s->n_pidfds; i++)
		syscall(SYS_pidfd_send_signal, s->pidfds[i], SIGKILL, NULL, 0);
	/* gone for real, with their sockets closed, before the names are looked at */
	for (i = 0; i < s->n_pidfds; i++) {
		p.fd = s->pidfds[i];
		p.events = POLLIN;
		poll(&p, 1, 2000);
	}
	/*
	 * The record came before bind(): the name may be crux's socket (closed now that crux
	 * and the tasks are dead) or, if crux died before its bind(), a stale socket file it
	 * was about to replace anyway. A live socket there is someone else's: kept.
	 */
	for (i = 0; i < s->n_names; i++) {
		int tries;

		/* a task forked before crux told us about it dies of PTRACE_O_EXITKILL: wait */
		for (tries = 0; tries < 100; tries++) {
			if (lstat(s->names[i].path, &st) || !S_ISSOCK(st.st_mode))
				break;
			if (name_stale(&s->names[i])) {
				unlink(s->names[i].path);
				break;
			}
			usleep(10000);
		}
	}
}

/* One record (a pidfd may ride along); 1 on a record, 0 at EOF. */
static int guard_recv(int fd, struct guard_rec *r, int *ret_fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = r, .iov_len = sizeof(*r) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cb.b,
			     .msg_controllen = sizeof(cb.b) };
	struct cmsghdr *c;
	ssize_t n;

	do
		n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	*ret_fd = -1;
	c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
	return 1;
}

static void __attribute__((noreturn)) guard_main(int fd)
{
	static struct guard_state s;
	struct guard_rec r;
	int pidfd;

	prctl(PR_SET_NAME, "crux-guard");
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while (guard_recv(fd, &r, &pidfd)) {
		if (r.type == REC_COMMIT)
			_exit(0);
		if (r.type == REC_TASK && pidfd >= 0 && s.n_pidfds < GUARD_MAX)
			s.pidfds[s.n_pidfds++] = pidfd;
		else if (r.type == REC_NAME && s.n_names < GUARD_MAX)
			s.names[s.n_names++] = r;
	}
	guard_cleanup(&s); /* EOF without a commit: crux died, or failed */
	_exit(0);
}

static int guard_fork(struct rst_guard *g)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv))
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (!pid) {
		close(sv[0]);
		guard_main(sv[1]);
	}
	close(sv[1]);
	g->fd = sv[0];
	g->pid = pid;
	return 0;
}

int rst_guard_start(struct rst_guard *g, bool (*taken)(pid_t pid, void *arg), void *arg)
{
	int err, i;

	for (i = 0; i < 8; i++) {
		err = guard_fork(g);
		if (err)
			return err;
		if (!taken(g->pid, arg))
			return 0;
		rst_guard_commit(g); /* it holds a pid the image needs: another one */
	}
	return -EBUSY;
}

static int guard_send(struct rst_guard *g, const struct guard_rec *r, int pass_fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = (void *)r, .iov_len = sizeof(*r) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (g->fd < 0)
		return 0;
	if (pass_fd >= 0) {
		memset(&cb, 0, sizeof(cb));
		mh.msg_control = cb.b;
		mh.msg_controllen = sizeof(cb.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	fault_point();
	if (sendmsg(g->fd, &mh, MSG_NOSIGNAL) < 0)
		return -errno;
	return 0;
}

int rst_guard_task(struct rst_guard *g, pid_t pid)
{
	struct guard_rec r = { .type = REC_TASK };
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0), err;

	if (pidfd < 0)
		return -errno;
	err = guard_send(g, &r, pidfd);
	close(pidfd);
	return err;
}

int rst_guard_name(struct rst_guard *g, const char *path, int sock_type)
{
	struct guard_rec r = { .type = REC_NAME, .sock_type = sock_type };

	if (strlen(path) >= sizeof(r.path))
		return -ENAMETOOLONG;
	memcpy(r.path, path, strlen(path) + 1);
	return guard_send(g, &r, -1);
}

static void guard_end(struct rst_guard *g, bool commit)
{
	struct guard_rec r = { .type = REC_COMMIT };
	int st;

	if (g->fd < 0)
		return;
	if (commit)
		guard_send(g, &r, -1);
	close(g->fd);
	g->fd = -1;
	while (waitpid(g->pid, &st, 0) < 0 && errno == EINTR)
		;
}

void rst_guard_commit(struct rst_guard *g)
{
	guard_end(g, true);
}

void rst_guard_abort(struct rst_guard *g)
{
	guard_end(g, false);
}

// SPDX-License-Identifier: GPL-2.0-only
/* Holder processes and unix socket topologies for tests (see topo.h). */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "topo.h"

static int sys_close_range(unsigned int lo, unsigned int hi)
{
	if (lo > hi)
		return 0;
	return close_range(lo, hi, 0) ? -errno : 0;
}

/* Close every fd >= 3 except a and b. */
static void topo_close_others(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	sys_close_range(3, lo - 1);
	sys_close_range(lo + 1, hi - 1);
	sys_close_range(hi + 1, ~0U);
}

static ssize_t topo_full_io(int fd, void *buf, size_t len, bool wr)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = wr ? write(fd, (char *)buf + done, len - done)
			       : read(fd, (char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return done;
		done += n;
	}
	return done;
}

int topo_proc_start(struct topo_proc *p, topo_fn fn, void *arg, bool inherit)
{
	int cmd[2], rep[2];
	pid_t parent = getpid(), pid;

	if (pipe2(cmd, O_CLOEXEC))
		return -errno;
	if (pipe2(rep, O_CLOEXEC)) {
		int err = -errno;

		close(cmd[0]);
		close(cmd[1]);
		return err;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		int err = -errno;

		close(cmd[0]);
		close(cmd[1]);
		close(rep[0]);
		close(rep[1]);
		return err;
	}
	if (pid == 0) {
		struct topo_child c = { .cmd_fd = cmd[0], .rep_fd = rep[1] };

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		close(cmd[1]);
		close(rep[0]);
		if (!inherit)
			topo_close_others(c.cmd_fd, c.rep_fd);
		_exit(fn(&c, arg));
	}
	close(cmd[0]);
	close(rep[1]);
	p->pid = pid;
	p->cmd_fd = cmd[1];
	p->rep_fd = rep[0];
	return 0;
}

int topo_recv(struct topo_proc *p, __u64 *vals, size_t max)
{
	__u32 n;
	ssize_t r = topo_full_io(p->rep_fd, &n, sizeof(n), false);

	if (r < 0)
		return r;
	if (r != sizeof(n))
		return -EPIPE; /* the holder died before reporting */
	if (n > max)
		return -E2BIG;
	r = topo_full_io(p->rep_fd, vals, n * sizeof(*vals), false);
	if (r < 0)
		return r;
	return r == (ssize_t)(n * sizeof(*vals)) ? (int)n : -EPIPE;
}

int topo_send_cmd(struct topo_proc *p, char cmd)
{
	ssize_t r = topo_full_io(p->cmd_fd, &cmd, 1, true);

	return r < 0 ? (int)r : 0;
}

int topo_cmd(struct topo_proc *p, char cmd, __u64 *vals, size_t max)
{
	int err = topo_send_cmd(p, cmd);

	return err ? err : topo_recv(p, vals, max);
}

int topo_proc_finish(struct topo_proc *p)
{
	int status;

	if (p->pid <= 0)
		return -ECHILD;
	close(p->cmd_fd);
	close(p->rep_fd);
	p->cmd_fd = p->rep_fd = -1;
	while (waitpid(p->pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	p->pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void topo_proc_kill(struct topo_proc *p)
{
	if (p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	topo_proc_finish(p);
}

int topo_report(struct topo_child *c, const __u64 *vals, size_t n)
{
	__u32 cnt = n;
	ssize_t r = topo_full_io(c->rep_fd, &cnt, sizeof(cnt), true);

	if (r >= 0 && n)
		r = topo_full_io(c->rep_fd, (void *)vals, n * sizeof(*vals), true);
	return r < 0 ? (int)r : 0;
}

int topo_wait_cmd(struct topo_child *c)
{
	char cmd;
	ssize_t r = topo_full_io(c->cmd_fd, &cmd, 1, false);

	return r == 1 ? (unsigned char)cmd : -1;
}

__u64 topo_ino(int fd)
{
	struct stat st;

	if (fstat(fd, &st))
		return 0;
	return st.st_ino;
}

socklen_t topo_addr(struct sockaddr_un *sa, const char *name, size_t len)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (len > sizeof(sa->sun_path))
		len = sizeof(sa->sun_path);
	memcpy(sa->sun_path, name, len);
	return offsetof(struct sockaddr_un, sun_path) + len;
}

int topo_bound(int type, const char *name, size_t len, int backlog)
{
	struct sockaddr_un sa;
	socklen_t alen = topo_addr(&sa, name, len);
	int fd = socket(AF_UNIX, type, 0), err;

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, alen) || (backlog > 0 && listen(fd, backlog))) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int topo_connected(int type, const char *name, size_t len)
{
	struct sockaddr_un sa;
	socklen_t alen = topo_addr(&sa, name, len);
	int fd = socket(AF_UNIX, type, 0), err;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, alen)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static char topo_dir[64];

const char *topo_path(char *buf, size_t size, const char *tag)
{
	if (!topo_dir[0]) {
		snprintf(topo_dir, sizeof(topo_dir), "/tmp/crux-topo-XXXXXX");
		if (!mkdtemp(topo_dir)) {
			topo_dir[0] = 0;
			return NULL;
		}
	}
	snprintf(buf, size, "%s/%s", topo_dir, tag);
	return buf;
}

static int topo_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

void topo_path_cleanup(void)
{
	if (topo_dir[0])
		nftw(topo_dir, topo_rm, 16, FTW_DEPTH | FTW_PHYS);
	topo_dir[0] = 0;
}

/* Room for 64 fds in one SCM_RIGHTS message, aligned for cmsghdr. */
union topo_cmsg {
	char buf[CMSG_SPACE(sizeof(int) * 64)];
	struct cmsghdr align;
};

int topo_send_fds(int sock, const int *fds, int n)
{
	char data = 'F';
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union topo_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	if (n <= 0 || n > 64)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	mh.msg_control = u.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

int topo_recv_fds(int sock, int *fds, int max)
{
	char data;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union topo_cmsg u;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int n = 0;

	if (max <= 0 || max > 64)
		return -EINVAL;
	mh.msg_control = u.buf;
	mh.msg_controllen = CMSG_SPACE(sizeof(int) * max);
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (n > max)
			n = max;
		memcpy(fds, CMSG_DATA(cm), sizeof(int) * n);
	}
	return n;
}

long topo_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	return (long)rl.rlim_cur;
}

static int topo_spread_body(struct topo_child *c, void *arg)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	int pairs = *(int *)arg, i, sv[2];
	__u64 made;

	topo_raise_nofile();
	for (i = 0; i < pairs; i++)
		if (socketpair(AF_UNIX, types[i % 3], 0, sv))
			break;
	made = i;
	topo_report(c, &made, 1);
	while (topo_wait_cmd(c) >= 0)
		;
	return 0;
}

int topo_spread(struct topo_proc *procs, int nprocs, int pairs)
{
	int i, err;
	__u64 made;

	memset(procs, 0, sizeof(*procs) * nprocs);
	for (i = 0; i < nprocs; i++) {
		err = topo_proc_start(&procs[i], topo_spread_body, &pairs, false);
		if (err)
			goto out_stop;
	}
	for (i = 0; i < nprocs; i++) {
		err = topo_recv(&procs[i], &made, 1);
		if (err < 0)
			goto out_stop;
		if ((int)made != pairs) {
			err = -EMFILE;
			goto out_stop;
		}
	}
	return 0;
out_stop:
	topo_spread_stop(procs, nprocs);
	return err;
}

void topo_spread_stop(struct topo_proc *procs, int nprocs)
{
	int i;

	for (i = 0; i < nprocs; i++)
		topo_proc_kill(&procs[i]);
}

int topo_set_add(struct topo_set *s, __u64 ino)
{
	if (!ino)
		return -EINVAL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 32;
		__u64 *p = realloc(s->inos, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->inos = p;
		s->cap = cap;
	}
	s->inos[s->n++] = ino;
	return 0;
}

__u64 topo_set_add_fd(struct topo_set *s, int fd)
{
	__u64 ino = fd >= 0 ? topo_ino(fd) : 0;

	return ino && topo_set_add(s, ino) == 0 ? ino : 0;
}

void topo_set_free(struct topo_set *s)
{
	free(s->inos);
	s->inos = NULL;
	s->n = s->cap = 0;
}

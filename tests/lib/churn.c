// SPDX-License-Identifier: GPL-2.0-only
/* Random unix socket churn (see churn.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "churn.h"
#include "util.h"

#define CHURN_SLOTS 160
#define CHURN_NAMES 24 /* abstract names shared by all workers: binds collide on purpose */
/* Protocol pipes and carriers live up here, out of reach of the churn's close_range/dup2. */
#define CHURN_HIGH_FD 1000

struct churn {
	int fds[CHURN_SLOTS];
	int n;
	bool no_scm;
	bool fork_close;
	int carrier[2]; /* fds are passed over these only; never passed themselves */
	unsigned seed;
};

static const int churn_types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };

static unsigned churn_rand(struct churn *c, unsigned n)
{
	return (unsigned)rand_r(&c->seed) % n;
}

static void churn_add(struct churn *c, int fd)
{
	if (fd < 0)
		return;
	if (c->n == CHURN_SLOTS) {
		close(fd);
		return;
	}
	c->fds[c->n++] = fd;
}

static int churn_take(struct churn *c, unsigned i)
{
	int fd = c->fds[i];

	c->fds[i] = c->fds[--c->n];
	return fd;
}

static int churn_pick(struct churn *c)
{
	return c->n ? c->fds[churn_rand(c, c->n)] : -1;
}

static socklen_t churn_name(struct churn *c, struct sockaddr_un *sa)
{
	char name[32];
	int len = snprintf(name, sizeof(name), "%ccrux-churn-%u", 0, churn_rand(c, CHURN_NAMES));

	return topo_addr(sa, name, len);
}

static int churn_type(struct churn *c)
{
	return churn_types[churn_rand(c, 3)] | SOCK_NONBLOCK;
}

static void churn_forget_fd(struct churn *c, int fd)
{
	int i;

	for (i = 0; i < c->n; i++)
		if (c->fds[i] == fd) {
			churn_take(c, i);
			return;
		}
}

static void churn_pass(struct churn *c)
{
	int fd = churn_pick(c), got = -1;
	char b;

	if (fd < 0 || topo_send_fds(c->carrier[0], &fd, 1))
		return;
	if (churn_rand(c, 2)) { /* the sender lets go of its copy */
		churn_forget_fd(c, fd);
		close(fd);
	}
	switch (churn_rand(c, 4)) {
	case 0: /* received with its fd */
	case 1:
		if (topo_recv_fds(c->carrier[1], &got, 1) == 1)
			churn_add(c, got);
		break;
	case 2: /* a plain read: the kernel drops the passed file */
		if (read(c->carrier[1], &b, 1) < 0)
			return;
		break;
	default: /* left in flight: maybe purged with the carrier later */
		break;
	}
}

/* Move an fd up to CHURN_HIGH_FD or above. */
static int churn_high(int fd)
{
	int hi;

	if (fd < 0)
		return fd;
	hi = fcntl(fd, F_DUPFD_CLOEXEC, CHURN_HIGH_FD);
	close(fd);
	return hi;
}

/* Replace the carriers: whatever is in flight is purged with the old queue. */
static int churn_new_carrier(struct churn *c)
{
	int sv[2];

	if (c->carrier[0] >= 0) {
		close(c->carrier[0]);
		close(c->carrier[1]);
	}
	c->carrier[0] = c->carrier[1] = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv))
		return -errno;
	c->carrier[0] = churn_high(sv[0]);
	c->carrier[1] = churn_high(sv[1]);
	return c->carrier[0] < 0 || c->carrier[1] < 0 ? -EMFILE : 0;
}

static void churn_fork(struct churn *c)
{
	pid_t pid = fork();
	int i;

	if (pid == 0) {
		/* the child closes some inherited sockets, dups one, and exits */
		for (i = 0; i < c->n; i += 2)
			close(c->fds[i]);
		if (c->n > 1 && dup(c->fds[1]) < 0)
			_exit(1);
		_exit(0);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/*
 * The pattern no single event sees: the child's exit and the parent's close drop their
 * references at the same moment, each seeing the other's. Children are reaped later.
 */
static void churn_fork_close(struct churn *c)
{
	int sv[2];
	pid_t pid;

	(void)c;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return;
	pid = fork();
	if (pid == 0)
		_exit(0);
	close(sv[0]);
	close(sv[1]);
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

static void churn_close_range(struct churn *c)
{
	int fd = churn_pick(c), i;

	if (fd < 0)
		return;
	if (close_range(fd, fd + 3, 0))
		return;
	for (i = 0; i < c->n;)
		if (c->fds[i] >= fd && c->fds[i] <= fd + 3)
			churn_take(c, i);
		else
			i++;
}

static void churn_one(struct churn *c)
{
	struct sockaddr_un sa;
	socklen_t alen;
	int sv[2], fd, type;
	unsigned op = churn_rand(c, 100);

	if (c->n >= CHURN_SLOTS - 4)
		op = 40; /* full: close something */
	if (op < 12) {
		if (!socketpair(AF_UNIX, churn_type(c), 0, sv)) {
			churn_add(c, sv[0]);
			churn_add(c, sv[1]);
		}
	} else if (op < 18) {
		churn_add(c, socket(AF_UNIX, churn_type(c), 0));
	} else if (op < 24) { /* bind a shared abstract name, listen if it can */
		type = churn_type(c);
		fd = socket(AF_UNIX, type, 0);
		alen = churn_name(c, &sa);
		if (fd >= 0 && !bind(fd, (struct sockaddr *)&sa, alen) &&
		    (type & ~SOCK_NONBLOCK) != SOCK_DGRAM)
			listen(fd, 4);
		churn_add(c, fd);
	} else if (op < 34) { /* connect, new or existing socket */
		fd = churn_rand(c, 2) ? churn_pick(c) : -1;
		if (fd < 0) {
			fd = socket(AF_UNIX, churn_type(c), 0);
			churn_add(c, fd);
		}
		alen = churn_name(c, &sa);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, alen) < 0)
			return;
	} else if (op < 40) {
		fd = churn_pick(c);
		if (fd >= 0)
			churn_add(c, accept4(fd, NULL, NULL, SOCK_NONBLOCK));
	} else if (op < 62) {
		if (c->n)
			close(churn_take(c, churn_rand(c, c->n)));
	} else if (op < 68) {
		fd = churn_pick(c);
		if (fd >= 0)
			churn_add(c, dup(fd));
	} else if (op < 73) { /* dup2 over another slot */
		if (c->n >= 2) {
			unsigned i = churn_rand(c, c->n);
			int over = c->fds[(i + 1) % c->n];

			if (dup2(c->fds[i], over) < 0)
				return;
		}
	} else if (op < 76) {
		churn_close_range(c);
	} else if (op < 86) {
		if (!c->no_scm)
			churn_pass(c);
	} else if (op < 88) {
		if (!c->no_scm)
			churn_new_carrier(c);
	} else if (op < 96) { /* data: sendto a name or send on a connected socket */
		fd = churn_pick(c);
		alen = churn_name(c, &sa);
		if (fd >= 0 && sendto(fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL,
				      churn_rand(c, 2) ? NULL : (struct sockaddr *)&sa,
				      churn_rand(c, 2) ? 0 : alen) < 0)
			return;
	} else if (op < 99) {
		fd = churn_pick(c);
		if (fd >= 0)
			shutdown(fd, churn_rand(c, 3));
	} else {
		churn_fork(c);
	}
}

static int churn_body(struct topo_child *ch, void *arg)
{
	const struct churn_cfg *cfg = arg;
	struct churn c = { .seed = cfg->seed,
			   .no_scm = cfg->no_scm,
			   .fork_close = cfg->fork_close,
			   .carrier = { -1, -1 } };
	__u64 rep[2];
	unsigned i;

	signal(SIGPIPE, SIG_IGN); /* a send to a closed peer is part of the churn */
	if (topo_raise_nofile() < CHURN_HIGH_FD + 200)
		return 2;
	ch->cmd_fd = churn_high(ch->cmd_fd);
	ch->rep_fd = churn_high(ch->rep_fd);
	if (ch->cmd_fd < 0 || ch->rep_fd < 0 || churn_new_carrier(&c))
		return 2;
	do {
		for (i = 1; i <= cfg->ops; i++) {
			if (c.fork_close && churn_rand(&c, 2))
				churn_fork_close(&c);
			else
				churn_one(&c);
			if (cfg->report_every && i % cfg->report_every == 0 && i != cfg->ops) {
				rep[0] = i;
				topo_report(ch, rep, 1);
			}
		}
		rep[0] = cfg->ops;
		rep[1] = 1;
		topo_report(ch, rep, 2);
	} while (topo_wait_cmd(ch) == CHURN_CMD_AGAIN);
	while (topo_wait_cmd(ch) >= 0)
		;
	return 0;
}

int churn_start(struct topo_proc *procs, int n, const struct churn_cfg *cfg)
{
	struct churn_cfg mine = *cfg;
	int i, err;

	memset(procs, 0, sizeof(*procs) * n);
	for (i = 0; i < n; i++) {
		mine.seed = cfg->seed + i; /* fork copies it: each worker has its own */
		err = topo_proc_start(&procs[i], churn_body, &mine, false);
		if (err) {
			while (i--)
				topo_proc_kill(&procs[i]);
			return err;
		}
	}
	return 0;
}

int churn_again(struct topo_proc *procs, int n)
{
	int i, err;

	for (i = 0; i < n; i++) {
		err = topo_send_cmd(&procs[i], CHURN_CMD_AGAIN);
		if (err)
			return err;
	}
	return 0;
}

int churn_wait_progress(struct topo_proc *procs, int n)
{
	__u64 rep[2];
	int i, r;

	for (i = 0; i < n; i++) {
		r = topo_recv(&procs[i], rep, 2);
		if (r < 0)
			return r;
	}
	return 0;
}

long churn_wait_done(struct topo_proc *procs, int n, const struct churn_cfg *cfg)
{
	long total = 0;
	__u64 rep[2];
	int i, r;

	for (i = 0; i < n; i++) {
		do {
			r = topo_recv(&procs[i], rep, 2);
			if (r < 0)
				return r;
		} while (r != 2);
		total += rep[0];
	}
	return total;
}

static unsigned churn_env_u32(const char *name, unsigned def)
{
	const char *s = getenv(name);
	uint32_t v;

	if (s && parse_u32(s, 1, UINT32_MAX, &v) == 0)
		return v;
	return def;
}

void churn_cfg_from_env(struct churn_cfg *cfg, unsigned def_ops, bool halfway)
{
	cfg->ops = churn_env_u32("CRUX_CHURN_OPS", def_ops);
	cfg->seed = churn_env_u32("CRUX_CHURN_SEED", (unsigned)time(NULL) ^ (unsigned)getpid());
	cfg->report_every = halfway ? cfg->ops / 2 : 0;
	cfg->no_scm = false;
}

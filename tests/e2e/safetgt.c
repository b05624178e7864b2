// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the crash-safety tests (dump_crash.t, restore_crash.t): a parent and two
 * children that never stop talking. The parent plays ping-pong with child A over a stream
 * socketpair (each reply must be the request + 1), child B writes a sequence into a pipe
 * the parent reads (no gap, no repeat) and the parent sends B datagrams over a second
 * socketpair. Every syscall goes through chk(), which puts a tag in xmm15 and rbx-like
 * callee-saved state around it and checks it afterwards: a task resumed with foreign
 * registers or FPU state notices. Any mismatch writes DIR/bad and exits 1. The parent
 * rewrites DIR/progress ("ping N pipe M dgram K") every 64 rounds, and holds a listener
 * bound to DIR/lsn (a socket file a restore binds again).
 *   safetgt DIR
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char dir[256];
static uint64_t seq;

static void bad(const char *what, uint64_t a, uint64_t b)
{
	char path[300], msg[200];
	int fd, n;

	snprintf(path, sizeof(path), "%s/bad", dir);
	n = snprintf(msg, sizeof(msg), "pid %d: %s: %llu != %llu\n", getpid(), what,
		     (unsigned long long)a, (unsigned long long)b);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644);
	if (fd >= 0 && write(fd, msg, (size_t)n) < 0)
		n = 0;
	_exit(1);
}

/* A raw syscall with a tag in xmm15 across it: the kernel preserves xmm15, so must crux. */
static long chk(long nr, long a, long b, long c)
{
	uint64_t tag = ++seq * 0x9E3779B97F4A7C15ULL, out;
	long ret;

	asm volatile("movq %[tag], %%xmm15\n\t"
		     "syscall\n\t"
		     "movq %%xmm15, %[out]\n\t"
		     : "=a"(ret), [out] "=&r"(out)
		     : "a"(nr), "D"(a), "S"(b), "d"(c), [tag] "r"(tag)
		     : "rcx", "r11", "memory", "xmm15");
	if (out != tag)
		bad("xmm15 changed across a syscall", out, tag);
	return ret;
}

static void xfer(int fd, void *buf, size_t len, bool wr)
{
	long n;

	do
		n = chk(wr ? SYS_write : SYS_read, fd, (long)buf, (long)len);
	while (n == -EINTR);
	if (n == 0)
		_exit(0); /* the other end is gone: the test is over */
	if (n != (long)len)
		bad(wr ? "short write" : "short read", (uint64_t)n, len);
}

static void child_a(int s)
{
	uint64_t v;

	for (;;) {
		xfer(s, &v, sizeof(v), false);
		v++;
		xfer(s, &v, sizeof(v), true);
	}
}

static void child_b(int p, int d)
{
	uint64_t v = 0, want = 0;

	for (;;) {
		xfer(p, &v, sizeof(v), true);
		v++;
		xfer(d, &want, sizeof(want), false); /* paced by the parent's datagrams */
	}
}

static void progress(uint64_t ping, uint64_t pipe_n, uint64_t dgram)
{
	char path[300], msg[128];
	int fd, n;

	snprintf(path, sizeof(path), "%s/progress", dir);
	n = snprintf(msg, sizeof(msg), "ping %llu pipe %llu dgram %llu\n", (unsigned long long)ping,
		     (unsigned long long)pipe_n, (unsigned long long)dgram);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0 || write(fd, msg, (size_t)n) != n)
		bad("cannot write progress", 0, 0);
	close(fd);
}

static void listener(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	if (strlen(dir) + 5 > sizeof(a.sun_path))
		bad("DIR too long for a socket name", strlen(dir), sizeof(a.sun_path) - 5);
	memcpy(a.sun_path, dir, strlen(dir));
	memcpy(a.sun_path + strlen(dir), "/lsn", 5);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 4))
		bad("cannot bind DIR/lsn", 0, 0);
}

int main(int argc, char **argv)
{
	int sa[2], sb[2], p[2];
	uint64_t ping = 0, v, pipe_want = 0, dgram = 0;
	struct timespec ts = { 0, 1000000 };
	char path[300];

	if (argc < 2)
		return 64;
	snprintf(dir, sizeof(dir), "%s", argv[1]);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sa) || socketpair(AF_UNIX, SOCK_DGRAM, 0, sb) ||
	    pipe(p))
		return 1;
	if (!fork()) {
		close(sa[0]);
		child_a(sa[1]);
	}
	if (!fork()) {
		close(p[0]);
		child_b(p[1], sb[1]);
	}
	close(sa[1]);
	close(p[1]);
	close(sb[1]);
	listener();
	snprintf(path, sizeof(path), "%s/ready", dir);
	progress(0, 0, 0);
	close(open(path, O_WRONLY | O_CREAT, 0644));
	for (;;) {
		v = ping;
		xfer(sa[0], &v, sizeof(v), true);
		xfer(sa[0], &v, sizeof(v), false);
		if (v != ping + 1)
			bad("ping-pong reply", v, ping + 1);
		ping++;
		xfer(sb[0], &dgram, sizeof(dgram), true);
		dgram++;
		xfer(p[0], &v, sizeof(v), false);
		if (v != pipe_want)
			bad("pipe sequence", v, pipe_want);
		pipe_want++;
		if (!(ping % 64))
			progress(ping, pipe_want, dgram);
		nanosleep(&ts, NULL);
	}
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo_client LOGD_PATH: the client tree of `make demo`. The parent connects a datagram
 * socket to the logd at LOGD_PATH and makes a socketpair with a child. Every half second it
 * pings the child over the pair, waits for the answer, and logs both to logd:
 *   client 1234: tick 7, pair answered pong 7 from 1235
 * After a dump and restore the counter continues and the same pair still answers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

static void child(int fd)
{
	char buf[64], out[96];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf) - 1)) > 0) {
		unsigned long tick;

		buf[n] = '\0';
		if (sscanf(buf, "ping %lu", &tick) != 1)
			continue;
		n = snprintf(out, sizeof(out), "pong %lu from %d", tick, (int)getpid());
		if (write(fd, out, (size_t)n) != n)
			break;
	}
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec half = { 0, 500 * 1000 * 1000 };
	unsigned long tick;
	int logd, pair[2];
	pid_t pid;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		dprintf(2, "usage: demo_client LOGD_PATH\n");
		return 64;
	}
	/* a service owns its fds: nothing inherited from the shell that started it */
	syscall(SYS_close_range, 3, ~0U, 0);
	strcpy(sa.sun_path, argv[1]);
	logd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (logd < 0 || connect(logd, (struct sockaddr *)&sa, sizeof(sa))) {
		dprintf(2, "demo_client: connect %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair)) {
		dprintf(2, "demo_client: socketpair: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pair[0]);
		close(logd);
		child(pair[1]);
	}
	close(pair[1]);
	for (tick = 1;; tick++) {
		char buf[96], msg[200];
		ssize_t n;
		int len;

		len = snprintf(buf, sizeof(buf), "ping %lu", tick);
		if (write(pair[0], buf, (size_t)len) != len)
			return 1;
		n = read(pair[0], buf, sizeof(buf) - 1);
		if (n <= 0)
			return 1;
		buf[n] = '\0';
		len = snprintf(msg, sizeof(msg), "client %d: tick %lu, pair answered %s",
			       (int)getpid(), tick, buf);
		send(logd, msg, (size_t)len, 0); /* logd may be restarting: keep counting */
		nanosleep(&half, NULL);
	}
}

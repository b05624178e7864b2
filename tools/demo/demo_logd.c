// SPDX-License-Identifier: GPL-2.0-only
/*
 * demo_logd PATH: a logd-style datagram server for `make demo`. It binds PATH and prints
 * every datagram it receives, one line each, with the time since it started.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/close_range.h>
#include <sys/syscall.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec t0, t;
	char buf[512];
	int s;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		dprintf(2, "usage: demo_logd PATH\n");
		return 64;
	}
	/* a service owns its fds: nothing inherited from the shell that started it */
	syscall(SYS_close_range, 3, ~0U, 0);
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa))) {
		dprintf(2, "demo_logd: bind %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		ssize_t n = recv(s, buf, sizeof(buf) - 1, 0);

		if (n < 0)
			continue;
		buf[n] = '\0';
		clock_gettime(CLOCK_MONOTONIC, &t);
		printf("logd %6.2fs | %s\n",
		       (double)(t.tv_sec - t0.tv_sec) + (t.tv_nsec - t0.tv_nsec) / 1e9, buf);
	}
}

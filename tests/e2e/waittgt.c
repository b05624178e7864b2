// SPDX-License-Identifier: GPL-2.0-only
/*
 * A process asleep on a unix socket, the way idle daemons wait: the kernel holds one more
 * reference to each file a poll()/select() sleeps on, which crux-map must tell from a
 * holder outside the tree. Usage: waittgt MODE DIR [shared]
 *
 *   select | poll | ppoll | epoll | read   the main thread waits on one end of a socketpair
 *   thread-poll                            a second thread waits in poll(), main in pause()
 *   tcp                                    poll() on a listening TCP socket (loopback)
 *
 * With "shared" the waiter is a child and the parent keeps the socket too: the child's tree
 * has a real outside holder (the parent) that a poll reference must not hide. DIR/ready is
 * created once the waiter is about to sleep, holding the waiter's pid.
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *mode;
static int sk;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void wait_on(void)
{
	struct pollfd p = { .fd = sk, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN };
	fd_set r;
	char c;
	int ep;

	if (!strcmp(mode, "select")) {
		FD_ZERO(&r);
		FD_SET(sk, &r);
		select(sk + 1, &r, NULL, NULL, NULL);
	} else if (!strcmp(mode, "poll") || !strcmp(mode, "thread-poll") || !strcmp(mode, "tcp")) {
		poll(&p, 1, -1);
	} else if (!strcmp(mode, "ppoll")) {
		ppoll(&p, 1, NULL, NULL);
	} else if (!strcmp(mode, "epoll")) {
		ep = epoll_create1(0);
		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, sk, &ev))
			die("epoll");
		epoll_wait(ep, &ev, 1, -1);
	} else if (!strcmp(mode, "read")) {
		if (read(sk, &c, 1) < 0)
			die("read");
	}
}

static void *thread_main(void *arg)
{
	(void)arg;
	wait_on();
	return NULL;
}

static void ready(const char *dir)
{
	char tmp[4096], path[4096];
	FILE *f;

	/* written aside, then renamed: the test never reads a half-written pid */
	snprintf(tmp, sizeof(tmp), "%s/ready.tmp", dir);
	snprintf(path, sizeof(path), "%s/ready", dir);
	f = fopen(tmp, "w");
	if (!f)
		die("ready");
	fprintf(f, "%d\n", getpid());
	fclose(f);
	if (rename(tmp, path))
		die("rename");
}

int main(int argc, char **argv)
{
	pthread_t th;
	int sp[2];

	close_range(3, ~0U, 0); /* nothing inherited from the caller looks shared */
	if (argc < 3) {
		fprintf(stderr, "usage: waittgt MODE DIR [shared]\n");
		return 64;
	}
	mode = argv[1];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
		die("socketpair");
	sk = sp[0];
	if (!strcmp(mode, "tcp")) {
		struct sockaddr_in a = { .sin_family = AF_INET,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		sk = socket(AF_INET, SOCK_STREAM, 0);
		if (sk < 0 || bind(sk, (struct sockaddr *)&a, sizeof(a)) || listen(sk, 1))
			die("tcp");
	}
	if (argc > 3 && !strcmp(argv[3], "shared")) {
		pid_t c = fork();

		if (c < 0)
			die("fork");
		if (c > 0) {
			for (;;)
				pause(); /* the parent keeps both ends: an outside holder */
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
	}
	if (!strcmp(mode, "thread-poll")) {
		if (pthread_create(&th, NULL, thread_main, NULL))
			die("thread");
		ready(argv[2]);
		for (;;)
			pause();
	}
	ready(argv[2]);
	wait_on();
	return 0;
}

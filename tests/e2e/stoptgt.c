// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of the job-control stop e2e test (not a test itself: no test_ prefix): a root and
 * two children that all count, so that a test can stop any of them (kill -STOP) and see
 * which ones run after a dump and after a restore.
 *
 *   stoptgt tree DIR
 *
 * The root writes DIR/counter, child N (1, 2) DIR/counter-N (every 2 ms) and its pid into
 * DIR/pid-N; DIR/ready appears once every counter exists. On SIGUSR1 the root passes SIGUSR1 to its children, which check
 * that their parent is still the root and exit 0; the root exits 0 if both did (or prints
 * "stoptgt: FAIL ..." to stderr and exits 1).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NR_CHILDREN 2

static char dir[256];
static volatile sig_atomic_t verify_now;

static void die(const char *what)
{
	dprintf(2, "stoptgt: setup: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void on_usr1(int sig)
{
	(void)sig;
	verify_now = 1;
}

static int open_counter(int idx)
{
	char p[300];
	int fd;

	if (idx) {
		snprintf(p, sizeof(p), "%s/pid-%d", dir, idx);
		fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0 || dprintf(fd, "%d\n", getpid()) < 0)
			die(p);
		close(fd);
	}
	if (idx)
		snprintf(p, sizeof(p), "%s/counter-%d", dir, idx);
	else
		snprintf(p, sizeof(p), "%s/counter", dir);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		die(p);
	return fd;
}

/* Count into fd until SIGUSR1; the first value is written before returning the first time. */
static void count(int fd)
{
	unsigned long counter = 0;

	while (!verify_now) {
		char b[32];
		int n = snprintf(b, sizeof(b), "%lu\n", ++counter);

		if (pwrite(fd, b, (size_t)n, 0) != n)
			die("counter");
		usleep(2000);
	}
}

static int wait_counters(void)
{
	char p[300];
	struct stat st;
	int i, tries;

	for (tries = 0; tries < 500; tries++) {
		for (i = 1; i <= NR_CHILDREN; i++) {
			snprintf(p, sizeof(p), "%s/counter-%d", dir, i);
			if (stat(p, &st) || !st.st_size)
				break;
		}
		if (i > NR_CHILDREN)
			return 0;
		usleep(10000);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	pid_t root = getpid(), kids[NR_CHILDREN];
	char p[300];
	int fd, i, st, failures = 0;

	if (argc < 3 || strcmp(argv[1], "tree")) {
		dprintf(2, "usage: stoptgt tree DIR\n");
		return 64;
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	close_range(3, ~0U, 0); /* hold nothing of whoever started us beyond stdio */
	snprintf(dir, sizeof(dir), "%s", argv[2]);
	sigaction(SIGUSR1, &sa, NULL);
	fd = open_counter(0);
	for (i = 0; i < NR_CHILDREN; i++) {
		kids[i] = fork();
		if (kids[i] < 0)
			die("fork");
		if (kids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(fd);
			count(open_counter(i + 1));
			if (getppid() != root) {
				dprintf(2, "stoptgt: FAIL child %d: parent %d, want %d\n", getpid(),
					getppid(), root);
				_exit(1);
			}
			_exit(0);
		}
	}
	if (wait_counters())
		die("children did not start counting");
	snprintf(p, sizeof(p), "%s/ready", dir);
	close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
	count(fd);
	for (i = 0; i < NR_CHILDREN; i++)
		kill(kids[i], SIGUSR1);
	for (i = 0; i < NR_CHILDREN; i++) {
		st = -1;
		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			dprintf(2, "stoptgt: FAIL child %d: wait status %#x\n", kids[i], st);
			failures++;
		}
	}
	return failures ? 1 : 0;
}

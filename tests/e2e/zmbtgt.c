// SPDX-License-Identifier: GPL-2.0-only
/*
 * A parent with two zombie children, for restore_zombie.t: one exited with status 7, one
 * was killed by SIGTERM; neither is reaped until SIGUSR1. Counts into DIR/counter; on
 * SIGUSR1 it reaps both and exits 0 if waitpid() reports each as it ended.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	pid_t exited, killed;
	unsigned long n = 0;
	char buf[64];
	int st, bad = 0;

	if (argc != 2)
		return 2;
	sigaction(SIGUSR1, &sa, NULL);
	exited = fork();
	if (exited == 0)
		_exit(7);
	killed = fork();
	if (killed == 0) {
		for (;;)
			pause();
	}
	kill(killed, SIGTERM);
	/* both are zombies before we say ready: waitid with WNOWAIT leaves them so */
	for (int i = 0; i < 2; i++) {
		siginfo_t si;

		if (waitid(P_PID, i ? (id_t)killed : (id_t)exited, &si, WEXITED | WNOWAIT))
			return 2;
	}
	snprintf(buf, sizeof(buf), "%d %d\n", exited, killed);
	write_file(argv[1], "kids", buf);
	write_file(argv[1], "ready", "");
	while (!check_now) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		snprintf(buf, sizeof(buf), "%lu\n", ++n);
		write_file(argv[1], "counter", buf);
		nanosleep(&ts, NULL);
	}
	if (waitpid(exited, &st, WNOHANG) != exited || !WIFEXITED(st) || WEXITSTATUS(st) != 7) {
		fprintf(stderr, "child %d: wait status %#x, want exit 7\n", exited, st);
		bad = 1;
	}
	if (waitpid(killed, &st, WNOHANG) != killed || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGTERM) {
		fprintf(stderr, "child %d: wait status %#x, want SIGTERM\n", killed, st);
		bad = 1;
	}
	return bad;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * A master and NW forked workers sharing MIB MiB of shared anonymous memory, every page
 * written, for tools/bench/bench_shmem.sh: shmbig DIR MIB NW. Workers sleep; the master
 * writes DIR/ready once all exist, then counts into DIR/counter. Each task dies with its
 * parent.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

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
	struct timespec ts = { 0, 50 * 1000 * 1000 };
	unsigned long size, i, n = 0;
	char *p, buf[32];
	int nw, w;

	if (argc != 4)
		return 2;
	size = strtoul(argv[2], NULL, 0) << 20;
	nw = atoi(argv[3]);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 2;
	for (i = 0; i < size; i += 4096)
		p[i] = (char)(i >> 12);
	for (w = 0; w < nw; w++) {
		if (fork() == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				nanosleep(&ts, NULL);
		}
	}
	write_file(argv[1], "ready", "");
	for (;;) {
		snprintf(buf, sizeof(buf), "%lu\n", ++n);
		write_file(argv[1], "counter", buf);
		nanosleep(&ts, NULL);
	}
}

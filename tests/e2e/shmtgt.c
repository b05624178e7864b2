// SPDX-License-Identifier: GPL-2.0-only
/*
 * A master and two forked workers sharing anonymous memory, for restore_shmem.t: a 16 MiB
 * MAP_SHARED|MAP_ANONYMOUS region (a pattern in its first 4 MiB, one page at 12 MiB, the
 * rest never touched) and a one-page region only the master and worker 1 share (mapped
 * after worker 0 was forked). Counts into DIR/counter. On SIGUSR1 the master checks, from
 * inside: the pattern is intact, the untouched part is still holes (SEEK_DATA on its own
 * map_files), each region is one object for every task (same inode, shown as "/dev/zero
 * (deleted)"), and a write by the master is seen by each worker, which answers through the
 * same memory. Exit 0 when all holds.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BIG (16UL << 20)
#define PAT (4UL << 20)
#define LONE (12UL << 20)
#define PG 4096UL
#define NW 2

struct ctl {
	volatile unsigned long ping, pong[NW], quit;
	volatile unsigned long ino[NW], small_ino;
};

static volatile sig_atomic_t check_now;

static void on_usr1(int sig)
{
	(void)sig;
	check_now = 1;
}

static void nap(void)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };

	nanosleep(&ts, NULL);
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

static unsigned long ino_of(void *p, size_t len)
{
	char path[128];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)p,
		 (unsigned long)p + len);
	return stat(path, &st) ? 0 : (unsigned long)st.st_ino;
}

/* Worker i: answer every ping (read in the big region) with a pong in its slot. */
static void worker(int i, char *big, char *small)
{
	struct ctl *c = (struct ctl *)(big + BIG - PG);

	while (!c->quit) {
		c->ino[i] = ino_of(big, BIG);
		if (small)
			c->small_ino = ino_of(small, PG);
		c->pong[i] = c->ping + (small ? (unsigned char)small[100] : 0);
		nap();
	}
	_exit(0);
}

static int maps_says_dev_zero(void *p)
{
	char line[512], want[64];
	FILE *f = fopen("/proc/self/maps", "re");
	int found = 0;

	snprintf(want, sizeof(want), "%lx-", (unsigned long)p);
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)) && strstr(line, "/dev/zero (deleted)"))
			found = 1;
	if (f)
		fclose(f);
	return found;
}

static int check(char *big, char *small, pid_t *kids)
{
	struct ctl *c = (struct ctl *)(big + BIG - PG);
	char path[128];
	unsigned long i, bad = 0, tries;
	int fd;
	off_t d;

	for (i = 0; i < PAT; i++)
		if (big[i] != (char)(i * 7 + 3))
			bad++;
	if (bad || big[LONE] != 'L')
		fprintf(stderr, "pattern: %lu bytes wrong, lone page %#x\n", bad, big[LONE]);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)big,
		 (unsigned long)big + BIG);
	fd = open(path, O_RDONLY);
	d = fd < 0 ? -2 : lseek(fd, PAT, SEEK_DATA);
	if (d != (off_t)LONE) {
		fprintf(stderr, "after the pattern, data at %lld, want the lone page at %lu\n",
			(long long)d, LONE);
		bad++;
	}
	d = fd < 0 ? -2 : lseek(fd, LONE + PG, SEEK_DATA);
	if (d != (off_t)(BIG - PG)) {
		fprintf(stderr, "after the lone page, data at %lld, want the ctl page\n",
			(long long)d);
		bad++;
	}
	/* the workers write them again, as they see them now */
	c->ino[0] = c->ino[1] = c->small_ino = 0;
	for (tries = 0; tries < 500 && !(c->ino[0] && c->ino[1] && c->small_ino); tries++)
		nap();
	if (c->ino[0] != ino_of(big, BIG) || c->ino[1] != ino_of(big, BIG) ||
	    c->small_ino != ino_of(small, PG)) {
		fprintf(stderr, "inodes: workers %lu %lu, master %lu; small %lu vs %lu\n",
			c->ino[0], c->ino[1], ino_of(big, BIG), c->small_ino, ino_of(small, PG));
		bad++;
	}
	if (!maps_says_dev_zero(big) || !maps_says_dev_zero(small)) {
		fprintf(stderr, "maps does not show /dev/zero (deleted)\n");
		bad++;
	}
	small[100] = 9;
	c->ping = 1000;
	for (tries = 0; tries < 500 && (c->pong[0] != 1000 || c->pong[1] != 1009); tries++)
		nap();
	if (c->pong[0] != 1000 || c->pong[1] != 1009) {
		fprintf(stderr, "pongs %lu %lu, want 1000 1009\n", c->pong[0], c->pong[1]);
		bad++;
	}
	c->quit = 1;
	for (i = 0; i < NW; i++) {
		int st;

		if (waitpid(kids[i], &st, 0) != kids[i] || !WIFEXITED(st) || WEXITSTATUS(st)) {
			fprintf(stderr, "worker %lu did not exit 0\n", i);
			bad++;
		}
	}
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	char *big, *small, buf[64];
	pid_t kids[NW];
	unsigned long n = 0, i;

	if (argc != 2)
		return 2;
	sigaction(SIGUSR1, &sa, NULL);
	big = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (big == MAP_FAILED)
		return 2;
	for (i = 0; i < PAT; i++)
		big[i] = (char)(i * 7 + 3);
	big[LONE] = 'L';
	kids[0] = fork();
	if (kids[0] == 0)
		worker(0, big, NULL);
	small = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (small == MAP_FAILED)
		return 2;
	kids[1] = fork();
	if (kids[1] == 0)
		worker(1, big, small);
	while (!((struct ctl *)(big + BIG - PG))->ino[1] ||
	       !((struct ctl *)(big + BIG - PG))->ino[0])
		nap();
	write_file(argv[1], "ready", "");
	while (!check_now) {
		snprintf(buf, sizeof(buf), "%lu\n", ++n);
		write_file(argv[1], "counter", buf);
		nap();
	}
	return check(big, small, kids);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Target of trackmem.t: memory that changes between incremental dumps, checked from inside.
 *   memtgt DIR [thread]
 * On each SIGUSR1 it takes the next step (writes a pattern into some pages of every region,
 * and changes its mappings: step 1 maps B, 2 grows B, 3 shrinks A, 4 unmaps B and moves D),
 * then writes "step K sum S" into DIR/state, S the FNV-1a of every region.
 * On SIGUSR2 it writes "check sum S" into DIR/check (with "thread ok"/"thread BAD" when a
 * writer thread runs). With "thread", a thread writes an ever-growing counter into the pages
 * of region T, one after the other: a snapshot is consistent when page j holds the last
 * counter value written to it before the one in `last`.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PG 4096UL
#define A_PAGES 256
#define D_PAGES 8
#define T_PAGES 512

static char *dir;
static char *A, *B, *D, *Dto, *T;
static size_t a_pages = A_PAGES, b_pages;
static char data_arr[64 * 1024]; /* .bss */
static volatile sig_atomic_t go, check;
static atomic_int stop, parked;
static volatile uint64_t last; /* the thread's counter, written after each page */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 0x100000001b3ULL;
	return h;
}

static uint64_t sum(void)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fnv(h, A, a_pages * PG);
	if (B)
		h = fnv(h, B, b_pages * PG);
	h = fnv(h, D, D_PAGES * PG);
	return fnv(h, data_arr, sizeof(data_arr));
}

static void put(const char *name, const char *text)
{
	char path[512], tmp[520];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		exit(3);
	fputs(text, f);
	fclose(f);
	rename(tmp, path);
}

static void pattern(char *p, size_t pages, int k)
{
	size_t i;

	for (i = 0; i < pages; i++)
		if (i % (size_t)(k + 2) == 0)
			memset(p + i * PG + (size_t)k * 8, 'a' + k, 64);
}

static void change_maps(int k)
{
	switch (k) {
	case 1: /* new mapping: 16 pages with room above to grow in place */
		B = mmap(NULL, 64 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		munmap(B + 16 * PG, 48 * PG);
		b_pages = 16;
		break;
	case 2: /* grown */
		B = mremap(B, 16 * PG, 32 * PG, MREMAP_MAYMOVE);
		b_pages = 32;
		break;
	case 3: /* shrunk */
		munmap(A + (A_PAGES - 64) * PG, 64 * PG);
		a_pages = A_PAGES - 64;
		break;
	case 4: /* unmapped, and moved */
		munmap(B, b_pages * PG);
		B = NULL;
		D = mremap(D, D_PAGES * PG, D_PAGES * PG, MREMAP_MAYMOVE | MREMAP_FIXED, Dto);
		break;
	}
	if (B == MAP_FAILED || D == MAP_FAILED)
		exit(4);
}

static void step(int k)
{
	char text[128];

	change_maps(k);
	pattern(A, a_pages, k);
	if (B)
		pattern(B, b_pages, k);
	pattern(D, D_PAGES, k);
	pattern(data_arr, sizeof(data_arr) / PG, k);
	snprintf(text, sizeof(text), "step %d sum %016llx\n", k, (unsigned long long)sum());
	put("state", text);
}

/* Page j of T must hold the last value n <= last with n % T_PAGES == j. */
static int thread_consistent(void)
{
	uint64_t n = last, j;

	for (j = 0; j < T_PAGES; j++) {
		uint64_t v, want = n >= j ? n - (n - j) % T_PAGES : 0;

		memcpy(&v, T + j * PG, sizeof(v));
		if (v != want)
			return 0;
	}
	return 1;
}

static void *writer(void *arg)
{
	uint64_t n;

	(void)arg;
	for (n = 1;; n++) {
		if (atomic_load(&stop)) {
			atomic_store(&parked, 1);
			while (atomic_load(&stop))
				;
			atomic_store(&parked, 0);
		}
		memcpy(T + (n % T_PAGES) * PG, &n, sizeof(n));
		last = n;
		/* slow enough that a dump finds pages both written and not since the last */
		usleep(200);
	}
	return NULL;
}

static void on_usr1(int s)
{
	(void)s;
	go = 1;
}

static void on_usr2(int s)
{
	(void)s;
	check = 1;
}

static void do_check(int threaded)
{
	char text[160];
	int good = 1;

	if (threaded) {
		atomic_store(&stop, 1);
		while (!atomic_load(&parked))
			;
		good = thread_consistent();
		atomic_store(&stop, 0);
	}
	snprintf(text, sizeof(text), "check sum %016llx%s\n", (unsigned long long)sum(),
		 threaded ? (good ? " thread ok" : " thread BAD") : "");
	put("check", text);
}

int main(int argc, char **argv)
{
	int k = 0, threaded = argc > 2 && !strcmp(argv[2], "thread");
	pthread_t th;

	if (argc < 2)
		return 2;
	dir = argv[1];
	A = mmap(NULL, A_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	D = mmap(NULL, D_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	Dto = mmap(NULL, D_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	T = mmap(NULL, T_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (A == MAP_FAILED || D == MAP_FAILED || Dto == MAP_FAILED || T == MAP_FAILED)
		return 2;
	signal(SIGUSR1, on_usr1);
	signal(SIGUSR2, on_usr2);
	if (threaded && pthread_create(&th, NULL, writer, NULL))
		return 2;
	step(0);
	for (;;) {
		usleep(2000);
		if (go) {
			go = 0;
			step(++k);
		}
		if (check) {
			check = 0;
			do_check(threaded);
		}
	}
}

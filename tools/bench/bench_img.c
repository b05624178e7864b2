// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench_img: the image layer's cost against plain syscalls measured in the same run
 * (medians of 7 rounds, files in a temporary directory, page cache warm):
 *   pages   64 MiB through img_write_payload()/img_read_payload() in 4 KiB pieces, against
 *           write()/read() of the same pieces;
 *   msgs    100,000 fdinfo_entry messages through img_write_one()/img_read_one(), against
 *           packing each one and write()ing it unbuffered, and read()ing length and
 *           message then unpacking (what a naive writer and reader do).
 * A ratio below 1 means the image layer is faster than the baseline.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "img.h"
#include "pb.h"
#include "util.h"

#include "fdinfo.pb-c.h"

#define ROUNDS 7
#define PAGES (16 * 1024) /* 64 MiB */
#define PAGE 4096
#define MSGS 100000

static char dir[] = "/tmp/crux-bench-img-XXXXXX";
static int dfd;
static uint8_t page[PAGE];

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median(uint64_t *v)
{
	qsort(v, ROUNDS, sizeof(*v), cmp_u64);
	return v[ROUNDS / 2];
}

static void die(const char *what)
{
	printf("bench_img: %s failed: %s %s\n", what, strerror(errno), img_error());
	exit(1);
}

static uint64_t pages_img(bool rd)
{
	struct img *img;
	uint64_t t0;
	int i, err = 0;

	if (!rd)
		unlinkat(dfd, "pages-1.img", 0);
	if (img__open(dfd, IMG_PAGES, 1, rd ? IMG_READ : IMG_WRITE, &img))
		die("img__open");
	t0 = now_ns();
	for (i = 0; !err && i < PAGES; i++)
		err = rd ? img_read_payload(img, page, PAGE) : img_write_payload(img, page, PAGE);
	if (img__close(img))
		err = -EIO;
	if (err)
		die("pages via img");
	return now_ns() - t0;
}

static uint64_t pages_raw(bool rd)
{
	int fd = openat(dfd, "raw.img", rd ? O_RDONLY : O_WRONLY | O_CREAT | O_TRUNC, 0600);
	uint64_t t0 = now_ns();
	int i;

	if (fd < 0)
		die("open raw");
	for (i = 0; i < PAGES; i++)
		if ((rd ? read(fd, page, PAGE) : write(fd, page, PAGE)) != PAGE)
			die("raw page I/O");
	close(fd);
	return now_ns() - t0;
}

static void fill(FdinfoEntry *e, int i)
{
	e->fd = i;
	e->id = i + 1;
	e->type = FD_TYPES__UNIXSK;
	e->flags = 1;
}

static uint64_t msgs_img(bool rd)
{
	FdinfoEntry e = FDINFO_ENTRY__INIT;
	struct img *img;
	void *msg;
	uint64_t t0;
	int i, err = 0;

	if (!rd)
		unlinkat(dfd, "fdinfo-1.img", 0);
	if (img__open(dfd, IMG_FDINFO, 1, rd ? IMG_READ : IMG_WRITE, &img))
		die("img__open");
	t0 = now_ns();
	for (i = 0; !err && i < MSGS; i++) {
		if (rd) {
			err = img_read_one(img, &fdinfo_entry__descriptor, &msg) == 1 ? 0 : -EIO;
			pb_free(msg);
		} else {
			fill(&e, i);
			err = img_write_one(img, &e.base);
		}
	}
	if (img__close(img))
		err = -EIO;
	if (err)
		die("messages via img");
	return now_ns() - t0;
}

/* The naive writer: pack, then one write() for the length and one for the message. */
static uint64_t msgs_raw(void)
{
	int fd = openat(dfd, "raw.img", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	FdinfoEntry e = FDINFO_ENTRY__INIT;
	uint8_t buf[64];
	uint64_t t0 = now_ns();
	uint32_t len;
	int i;

	if (fd < 0)
		die("open raw");
	for (i = 0; i < MSGS; i++) {
		fill(&e, i);
		len = pb_pack(&e.base, buf);
		if (write(fd, &len, 4) != 4 || write(fd, buf, len) != len)
			die("raw message write");
	}
	close(fd);
	return now_ns() - t0;
}

/* The naive reader: read() the length, read() the message, unpack. */
static uint64_t msgs_raw_read(void)
{
	int fd = openat(dfd, "raw.img", O_RDONLY);
	uint64_t t0 = now_ns();
	uint8_t buf[64];
	uint32_t len;
	void *msg;
	int i;

	if (fd < 0)
		die("open raw");
	for (i = 0; i < MSGS; i++) {
		if (read(fd, &len, 4) != 4 || len > sizeof(buf) || read(fd, buf, len) != len ||
		    pb_unpack(&fdinfo_entry__descriptor, buf, len, &msg))
			die("raw message read");
		pb_free(msg);
	}
	close(fd);
	return now_ns() - t0;
}

static void row(const char *what, uint64_t img, uint64_t base, const char *base_what, double n,
		const char *unit)
{
	printf("%-14s %10.1f %-8s %10.1f %-8s %-22s %6.2fx\n", what, img / n, unit, base / n, unit,
	       base_what, (double)img / base);
}

int main(void)
{
	uint64_t wi[ROUNDS], wr[ROUNDS], ri[ROUNDS], rr[ROUNDS];
	uint64_t mi[ROUNDS], mr[ROUNDS], mri[ROUNDS], mrr[ROUNDS];
	int k;

	if (!mkdtemp(dir) || (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		die("mkdtemp");
	memset(page, 0x5a, sizeof(page));
	for (k = 0; k < ROUNDS; k++) {
		wi[k] = pages_img(false);
		wr[k] = pages_raw(false);
		ri[k] = pages_img(true);
		rr[k] = pages_raw(true);
		mi[k] = msgs_img(false);
		mri[k] = msgs_img(true);
		mr[k] = msgs_raw();
		mrr[k] = msgs_raw_read();
	}
	printf("%-14s %19s %19s %-22s %7s\n", "", "img", "baseline", "", "ratio");
	row("pages write", median(wi), median(wr), "write() per page", 1e6, "ms/64MiB");
	row("pages read", median(ri), median(rr), "read() per page", 1e6, "ms/64MiB");
	row("msgs write", median(mi), median(mr), "pack + 2 write()", MSGS, "ns/msg");
	row("msgs read", median(mri), median(mrr), "2 read() + unpack", MSGS, "ns/msg");
	unlinkat(dfd, "pages-1.img", 0);
	unlinkat(dfd, "fdinfo-1.img", 0);
	unlinkat(dfd, "raw.img", 0);
	close(dfd);
	rmdir(dir);
	return 0;
}

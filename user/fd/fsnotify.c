// SPDX-License-Identifier: GPL-2.0-only
/*
 * File handles of watched inodes (see fsnotify.h): parsed from fdinfo at dump, reopened
 * with open_by_handle_at() at restore. Library-style: logs nothing, returns -errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsnotify.h"
#include "util.h"
#include "fsnotify.pb-c.h"

#define FH_MAX 128 /* MAX_HANDLE_SZ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int fsn_parse_handle(const char *line, FhEntry *e)
{
	unsigned char raw[FH_MAX] = { 0 };
	const char *p = strstr(line, "fhandle-bytes:");
	unsigned int bytes, type, i;
	size_t words;

	if (!p || sscanf(p, "fhandle-bytes:%x fhandle-type:%x", &bytes, &type) != 2)
		return -EINVAL;
	p = strstr(p, "f_handle:");
	if (!p || bytes > FH_MAX)
		return -EINVAL;
	p += 9;
	for (i = 0; i < bytes; i++) {
		int hi = hexval(p[2 * i]), lo = hi < 0 ? -1 : hexval(p[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		raw[i] = (unsigned char)(hi << 4 | lo);
	}
	/* CRIU keeps the handle as u64 words in memory order */
	words = (bytes + 7) / 8;
	e->handle = calloc(words ? words : 1, sizeof(uint64_t));
	if (!e->handle)
		return -ENOMEM;
	memcpy(e->handle, raw, words * 8);
	e->n_handle = words;
	e->bytes = bytes;
	e->type = type;
	return 0;
}

/* A directory fd (not O_PATH: open_by_handle_at refuses those) on a mount of the filesystem with device s_dev (kernel encoding). */
static int open_mount(uint32_t s_dev)
{
	unsigned int maj = s_dev >> 20, min = s_dev & 0xfffff, ma, mi;
	char line[4096], root[2048], mnt[2048];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	int fd = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*u %*u %u:%u %2047s %2047s", &ma, &mi, root, mnt) != 4)
			continue;
		if (ma != maj || mi != min)
			continue;
		fd = open(mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		/* a mount of the filesystem's root can reach every inode of it */
		if (fd >= 0 && !strcmp(root, "/"))
			return fd;
		if (fd >= 0)
			close(fd);
	}
	return fd;
}

int fsn_open_handle(const FhEntry *e, uint32_t s_dev)
{
	union {
		struct file_handle h;
		char buf[sizeof(struct file_handle) + FH_MAX];
	} u = { 0 };
	struct file_handle *fh = &u.h;
	_cleanup_close_ int mfd = -1;
	int fd;

	if (e->bytes > FH_MAX || e->n_handle * 8 < e->bytes)
		return -EINVAL;
	fh->handle_bytes = e->bytes;
	fh->handle_type = (int)e->type;
	memcpy(fh->f_handle, e->handle, e->bytes);
	mfd = open_mount(s_dev);
	if (mfd < 0)
		return mfd;
	fd = open_by_handle_at(mfd, fh, O_PATH | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

char *fsn_mount_path(uint32_t mnt_id)
{
	char line[4096], mnt[2048];
	_cleanup_fclose_ FILE *f = fopen("/proc/self/mountinfo", "re");
	unsigned int id;

	if (!f)
		return NULL;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%u %*u %*u:%*u %*s %2047s", &id, mnt) == 2 && id == mnt_id)
			return strdup(mnt);
	return NULL;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target over the image loader, validator and `crux show` (issue #9). One input is
 * a set of image files: records of [u8 kind][u32 key LE][u32 length LE][bytes], the kind
 * picking the file name (core-<key>.img, files.img...). The harness writes them through
 * imgdir (so inventory.img lists their true sizes and checksums and the checks pass: the
 * parsers behind them get the bytes), unless the set holds a raw inventory.img, which then
 * replaces the written one (the inventory and checksum checks get those bytes). Then it runs
 * `crux show`, `crux show -j` and the restore loader (rst_load: every image read and
 * cross-checked; nothing is created) over the directory.
 *   make fuzz FUZZ_SECONDS=60      run it; make check replays tests/fuzz/corpus/
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd.h"
#include "img.h"
#include "log.h"
#include "restore.h"

#include "inventory.pb-c.h"

static const char *const kinds[] = {
	"pstree.img",
	"core-%u.img",
	"ids-%u.img",
	"fs-%u.img",
	"mm-%u.img",
	"pagemap-%u.img",
	"pages-%u.img",
	"fdinfo-%u.img",
	"files.img",
	"sk-queues.img",
	"pipes-data.img",
	"crux/crux-ext.img",
	"crux/crux-task-%u.img",
	"inventory.img",
};
#define KIND_INVENTORY 13

static char base[64], dir[96];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(base, sizeof(base), "/tmp/crux-fuzz-XXXXXX");
	if (!mkdtemp(base))
		abort();
	snprintf(dir, sizeof(dir), "%s/img", base);
	log_init("crux");
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

static void rm_dir(void)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char p[400];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' || de->d_name[1] > '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put(int dfd, const char *name, const uint8_t *p, size_t n)
{
	int fd;

	if (strchr(name, '/'))
		mkdirat(dfd, "crux", 0700); /* crux's own images are in crux/ */
	fd = openat(dfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

/* Write the records into a committed image directory; 0 or -1. */
static int build(const uint8_t *data, size_t size)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	const uint8_t *raw_inv = NULL;
	size_t raw_len = 0;
	struct imgdir *d;
	uint32_t root = 1;
	char name[64];
	int dfd;

	if (imgdir__create(dir, &d))
		return -1;
	dfd = imgdir_fd(d);
	while (size >= 9) {
		unsigned int kind = data[0] % (sizeof(kinds) / sizeof(kinds[0]));
		uint32_t key = le32(data + 1), len = le32(data + 5);

		data += 9;
		size -= 9;
		if (len > size)
			len = (uint32_t)size;
		if (kind == KIND_INVENTORY) {
			raw_inv = data;
			raw_len = len;
		} else {
			if (kind == 0 || root == 1)
				root = key ? key : 1;
			snprintf(name, sizeof(name), kinds[kind], key);
			put(dfd, name, data, len);
		}
		data += len;
		size -= len;
	}
	ids.vm_id = ids.files_id = ids.fs_id = ids.sighand_id = root;
	inv.img_version = IMG_VERSION;
	inv.has_fdinfo_per_id = inv.fdinfo_per_id = true;
	inv.root_ids = &ids;
	if (imgdir__commit(d, &inv)) {
		imgdir__abort(d);
		return -1;
	}
	imgdir__close(d);
	if (raw_inv) {
		snprintf(name, sizeof(name), "%s/inventory.img", dir);
		unlink(name);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		put(dfd, "inventory.img", raw_inv, raw_len);
		close(dfd);
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *show[] = { "show", dir, NULL }, *show_j[] = { "show", "-j", dir, NULL };
	struct rst_opts o = { .dir = dir };
	struct rst_set *set = NULL;

	rm_dir();
	if (build(data, size))
		return 0;
	cmd_show(2, show);
	cmd_show(3, show_j);
	if (!rst_load(&o, &set))
		rst_set_free(set);
	rm_dir();
	return 0;
}

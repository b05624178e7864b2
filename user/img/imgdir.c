// SPDX-License-Identifier: GPL-2.0-only
/*
 * Image directories (img.h). A dump writes into a temporary directory beside the one asked
 * for, named .<name>.crux-<pid>.tmp, and renames it into place once inventory.img is in:
 * a dump killed at any point leaves no partial image under the name asked for, and its
 * temporary directory is recognisable (the next dump into the same parent, or
 * tools/cleanup.sh, removes those whose crux pid is dead). inventory.img lists every other
 * file with its size and crc32; imgdir__open() checks them all before anything is read.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define LOG_PREFIX "img: "
#include "fault.h"
#include "img.h"
#include "img_int.h"
#include "log.h"
#include "pb.h"
#include "util.h"

#include "inventory.pb-c.h"

#define INVENTORY_TMP ".inventory.img.tmp"
#define TMP_TAG ".crux-"
#define SUM_BUF (256u << 10)

struct imgdir {
	int fd;
	char *path; /* the name asked for */
	char *tmp; /* writing: the temporary directory renamed to path at commit */
	bool writing; /* from imgdir__create(), until commit */
	InventoryEntry *inv;
};

static void imgdir_free(struct imgdir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	pb_free(d->inv);
	free(d->path);
	free(d->tmp);
	free(d);
}

static int imgdir_new(const char *path, struct imgdir **ret)
{
	struct imgdir *d = calloc(1, sizeof(*d));

	if (!d || !(d->path = strdup(path))) {
		free(d);
		return img_fail(-ENOMEM, "%s: out of memory", path);
	}
	d->fd = -1;
	*ret = d;
	return 0;
}

/* 1 if the directory open at fd has entries besides . and .., 0 if not, or -errno. */
static int dir_has_entries(int fd)
{
	struct dirent *de;
	int dfd, found = 0;
	DIR *dir;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return -errno;
	}
	while (!found && (de = readdir(dir)))
		found = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(dir);
	return found;
}

static void dir_remove_all(int fd, const char *what);

/* crux's own subdirectory of an image directory, emptied and removed; 0 or -errno. */
static int remove_subdir(int fd, const char *what)
{
	int sub = openat(fd, IMG_CRUX_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (sub < 0)
		return -errno;
	dir_remove_all(sub, what);
	close(sub);
	return unlinkat(fd, IMG_CRUX_DIR, AT_REMOVEDIR) ? -errno : 0;
}

/* Unlink every entry of the directory at fd, crux's own subdirectory (one level) too. */
static void dir_remove_all(int fd, const char *what)
{
	struct dirent *de;
	int dfd;
	DIR *dir;

	dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	dir = fdopendir(dfd);
	if (!dir) {
		close(dfd);
		return;
	}
	while ((de = readdir(dir))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (!strcmp(de->d_name, IMG_CRUX_DIR) && remove_subdir(fd, what) == 0)
			continue;
		if (unlinkat(fd, de->d_name, 0) < 0)
			pr_pdebug("%s: cannot remove %s", what, de->d_name);
	}
	closedir(dir);
}

/* The pid in a temporary directory's name (".NAME.crux-PID.tmp"), or 0 if it is none. */
static pid_t tmp_owner(const char *name)
{
	const char *tag = strstr(name, TMP_TAG), *end;
	uint32_t pid;
	char num[16];
	size_t n;

	if (name[0] != '.' || !tag)
		return 0;
	while (strstr(tag + 1, TMP_TAG))
		tag = strstr(tag + 1, TMP_TAG);
	tag += strlen(TMP_TAG);
	end = strstr(tag, ".tmp");
	if (!end || end[4] || (n = (size_t)(end - tag)) == 0 || n >= sizeof(num))
		return 0;
	memcpy(num, tag, n);
	num[n] = 0;
	return parse_u32(num, 1, INT32_MAX, &pid) ? 0 : (pid_t)pid;
}

int imgdir_sweep_stale(const char *parent)
{
	_cleanup_close_ int pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *de;
	int n = 0, dfd;
	DIR *dir;

	if (pfd < 0)
		return -errno;
	dfd = dup(pfd);
	dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	while ((de = readdir(dir))) {
		pid_t pid = tmp_owner(de->d_name);
		int fd;

		if (!pid || !(kill(pid, 0) < 0 && errno == ESRCH))
			continue; /* not ours, or its crux still runs */
		fd = openat(pfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		dir_remove_all(fd, de->d_name);
		close(fd);
		if (!unlinkat(pfd, de->d_name, AT_REMOVEDIR))
			n++;
	}
	closedir(dir);
	return n;
}

/* The temporary directory beside path: .<base>.crux-<pid>.tmp; it sweeps stale ones first. */
static int make_tmp(struct imgdir *d, mode_t mode)
{
	_cleanup_free_ char *c1 = strdup(d->path), *c2 = strdup(d->path);
	const char *parent, *base;
	int n;

	if (!c1 || !c2)
		return img_fail(-ENOMEM, "%s: out of memory", d->path);
	parent = dirname(c1);
	base = basename(c2);
	if (!strcmp(base, "/") || !strcmp(base, ".") || !strcmp(base, ".."))
		return img_fail(-EINVAL, "image directory %s: name a directory, such as /tmp/img",
				d->path);
	n = imgdir_sweep_stale(parent);
	if (n > 0)
		pr_debug("%s: removed %d temporary director%s of killed dumps", parent, n,
			 n == 1 ? "y" : "ies");
	if (asprintf(&d->tmp, "%s/.%s" TMP_TAG "%d.tmp", parent, base, getpid()) < 0) {
		d->tmp = NULL;
		return img_fail(-ENOMEM, "%s: out of memory", d->path);
	}
	if (mkdir(d->tmp, 0700) < 0)
		return img_fail(-errno, "cannot create image directory %s: %s", d->tmp,
				strerror(errno));
	if (mode && chmod(d->tmp, mode) < 0)
		pr_pdebug("%s: chmod", d->tmp);
	return 0;
}

/* An existing path must be an empty directory: the commit renames over it. */
static int check_existing(const char *path, mode_t *ret_mode)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	int err;

	*ret_mode = 0;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 :
					 img_fail(-errno, "cannot use image directory %s: %s", path,
						  strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return img_fail(-ENOTDIR, "image directory %s exists and is not a directory", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return img_fail(-errno, "cannot open image directory %s: %s", path,
				strerror(errno));
	err = dir_has_entries(fd);
	if (err > 0)
		return img_fail(-EEXIST,
				"image directory %s is not empty: dump into a new directory "
				"(or remove the old image first)",
				path);
	if (err < 0)
		return img_fail(err, "cannot list image directory %s: %s", path, strerror(-err));
	*ret_mode = st.st_mode & 07777;
	return 0;
}

int imgdir__create(const char *path, struct imgdir **ret)
{
	struct imgdir *d;
	mode_t mode;
	int err;

	if (!*path)
		return img_fail(-EINVAL, "empty image directory name: give one, such as /tmp/img");
	err = check_existing(path, &mode);
	if (err)
		return err;
	err = imgdir_new(path, &d);
	if (err)
		return err;
	d->writing = true;
	err = make_tmp(d, mode);
	if (err)
		goto out_free;
	d->fd = open(d->tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		err = img_fail(-errno, "cannot open image directory %s: %s", d->tmp,
			       strerror(errno));
		rmdir(d->tmp);
		goto out_free;
	}
	*ret = d;
	return 0;

out_free:
	imgdir_free(d);
	return err;
}

/* Size and crc32 of the file name under dirfd. */
static int file_sum(int dirfd, const char *name, uint64_t *ret_size, uint32_t *ret_crc)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	_cleanup_free_ uint8_t *buf = malloc(SUM_BUF);
	uLong crc = crc32(0, Z_NULL, 0);
	uint64_t size = 0;
	ssize_t n;

	if (fd < 0 || !buf)
		return fd < 0 ? -errno : -ENOMEM;
	while ((n = read(fd, buf, SUM_BUF)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		size += (uint64_t)n;
	}
	if (n < 0)
		return -errno;
	*ret_size = size;
	*ret_crc = (uint32_t)crc;
	return 0;
}

struct sums {
	CruxImageSum *e;
	CruxImageSum **p;
	char **names;
	size_t n, cap;
};

static void sums_free(struct sums *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
	free(s->e);
	free(s->p);
}

static int sums_add(struct sums *s, int dirfd, const char *name)
{
	CruxImageSum init = CRUX_IMAGE_SUM__INIT;

	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 32;
		CruxImageSum *e = realloc(s->e, cap * sizeof(*e));
		char **names;

		if (!e)
			return -ENOMEM;
		s->e = e;
		names = realloc(s->names, cap * sizeof(*names));
		if (!names)
			return -ENOMEM;
		s->names = names;
		s->cap = cap;
	}
	s->e[s->n] = init;
	s->names[s->n] = strdup(name);
	if (!s->names[s->n])
		return -ENOMEM;
	s->n++;
	return file_sum(dirfd, name, &s->e[s->n - 1].size, &s->e[s->n - 1].crc32);
}

/* The names of crux's own subdirectory, as "crux/NAME", one by one to fn; 0 or its error. */
static int sub_each(int fd, int (*fn)(void *arg, const char *name), void *arg)
{
	int dfd = openat(fd, IMG_CRUX_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	struct dirent *de;
	char name[300];

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return -errno;
	}
	while (!err && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s/%s", IMG_CRUX_DIR, de->d_name);
		err = fn(arg, name);
	}
	closedir(dir);
	return err;
}

struct sums_arg {
	struct imgdir *d;
	struct sums *s;
};

static int sums_add_sub(void *arg, const char *name)
{
	struct sums_arg *a = arg;

	return sums_add(a->s, a->d->fd, name);
}

/* Every file written so far, for the inventory. */
static int sums_collect(struct imgdir *d, struct sums *s)
{
	struct dirent *de;
	int dfd, err = 0;
	DIR *dir;
	size_t i;

	dfd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return img_fail(-errno, "%s: cannot list it: %s", d->tmp, strerror(errno));
	}
	while (!err && (de = readdir(dir))) {
		if (de->d_name[0] == '.')
			continue; /* ., .. and the inventory's temporary name */
		if (de->d_type == DT_LNK && !strcmp(de->d_name, "parent"))
			continue; /* an incremental dump's link to its parent image, not a file */
		if (!strcmp(de->d_name, IMG_CRUX_DIR))
			err = sub_each(d->fd, sums_add_sub, &(struct sums_arg){ d, s });
		else
			err = sums_add(s, d->fd, de->d_name);
		if (err)
			img_fail(err, "%s/%s: cannot checksum it: %s", d->tmp, de->d_name,
				 strerror(-err));
	}
	closedir(dir);
	if (err)
		return err;
	s->p = calloc(s->n + 1, sizeof(*s->p));
	if (!s->p)
		return img_fail(-ENOMEM, "%s: out of memory", d->tmp);
	for (i = 0; i < s->n; i++) {
		s->e[i].name = s->names[i];
		s->p[i] = &s->e[i];
	}
	return 0;
}

static int write_inventory(struct imgdir *d, const InventoryEntry *inv)
{
	struct img *img;
	int err, close_err;

	err = img_open_name(d->fd, IMG_INVENTORY, INVENTORY_TMP, IMG_WRITE, &img);
	if (err)
		return err;
	err = img_write_one(img, &inv->base);
	close_err = img__close(img);
	if (!err)
		err = close_err;
	fault_point();
	if (!err && renameat(d->fd, INVENTORY_TMP, d->fd, "inventory.img") < 0)
		err = img_fail(-errno, "%s: cannot rename %s to inventory.img: %s", d->tmp,
			       INVENTORY_TMP, strerror(errno));
	if (err)
		unlinkat(d->fd, INVENTORY_TMP, 0);
	return err;
}

int imgdir__commit(struct imgdir *d, const InventoryEntry *inv)
{
	InventoryEntry with_sums = *inv;
	struct sums s = { 0 };
	int err;

	if (!d->writing)
		return img_fail(-EINVAL, "%s: not an image directory being written", d->path);
	if (inv->img_version != IMG_VERSION)
		return img_fail(-EINVAL, "%s: inventory with image version %u (crux writes %u)",
				d->path, inv->img_version, IMG_VERSION);
	/*
	 * inventory.img appears by rename, after every other file was written and closed, then
	 * the whole directory by rename: a dump that dies before leaves only its temporary
	 * directory. (Power-loss durability is not a goal: no fsync, as CRIU.)
	 */
	err = sums_collect(d, &s);
	if (!err) {
		with_sums.n_crux_images = s.n;
		with_sums.crux_images = s.p;
		err = write_inventory(d, &with_sums);
	}
	sums_free(&s);
	if (err)
		return err;
	fault_point();
	if (rename(d->tmp, d->path) < 0)
		return img_fail(-errno, "cannot rename %s to %s: %s", d->tmp, d->path,
				strerror(errno));
	d->writing = false;
	return 0;
}

void imgdir__abort(struct imgdir *d)
{
	if (!d)
		return;
	if (d->writing) {
		/* inventory.img first, so no half-removed image ever looks complete. */
		unlinkat(d->fd, "inventory.img", 0);
		dir_remove_all(d->fd, d->tmp);
		if (rmdir(d->tmp) < 0)
			pr_pdebug("cannot remove %s", d->tmp);
	}
	imgdir_free(d);
}

static bool has_crux_task(int fd)
{
	struct dirent *de;
	bool found = false;
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return false;
	}
	while (!found && (de = readdir(dir)))
		found = !strncmp(de->d_name, "crux-task-", 10);
	closedir(dir);
	return found;
}

/* A file of the directory, or of crux's own subdirectory: nothing else (no "..", no "/"). */
static bool listed_name_ok(const char *name)
{
	const char *sl = strchr(name, '/');
	size_t pl = strlen(IMG_CRUX_DIR);

	if (!sl)
		return true;
	return (size_t)(sl - name) == pl && !strncmp(name, IMG_CRUX_DIR, pl) &&
	       !strchr(sl + 1, '/') && sl[1] && sl[1] != '.';
}

static int verify_one(struct imgdir *d, const CruxImageSum *e)
{
	uint64_t size;
	uint32_t crc;
	int err;

	if (!e->name[0] || e->name[0] == '.' || !listed_name_ok(e->name) || strlen(e->name) > 255)
		return img_fail(-EBADMSG, "%s/inventory.img: bad file name '%.64s' in its list",
				d->path, e->name);
	err = file_sum(d->fd, e->name, &size, &crc);
	if (err == -ENOENT)
		return img_fail(-EBADMSG, "image %s: %s is missing (inventory.img lists it)",
				d->path, e->name);
	if (err)
		return img_fail(err, "image %s: cannot read %s: %s", d->path, e->name,
				strerror(-err));
	if (size != e->size)
		return img_fail(-EBADMSG,
				"image %s: %s is truncated or was changed: %llu bytes, "
				"inventory.img records %llu; dump again",
				d->path, e->name, (unsigned long long)size,
				(unsigned long long)e->size);
	if (crc != e->crc32)
		return img_fail(-EBADMSG,
				"image %s: %s is corrupt: crc32 %08x, inventory.img records %08x; "
				"dump again",
				d->path, e->name, crc, e->crc32);
	return 0;
}

/* name is one of the files inventory.img lists, or the refusal. */
static int check_listed(void *arg, const char *name)
{
	struct imgdir *d = arg;
	size_t i;

	for (i = 0; i < d->inv->n_crux_images; i++)
		if (!strcmp(d->inv->crux_images[i]->name, name))
			return 0;
	return img_fail(-EBADMSG,
			"image %s: %s is not listed in inventory.img: the image was changed after "
			"the dump; remove it or dump again",
			d->path, name);
}

/* Every file of the directory but inventory.img is in the list: nothing added after. */
static int verify_unlisted(struct imgdir *d)
{
	const InventoryEntry *inv = d->inv;
	struct dirent *de;
	int dfd = openat(d->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC), err = 0;
	DIR *dir = dfd >= 0 ? fdopendir(dfd) : NULL;
	size_t i;

	if (!dir) {
		if (dfd >= 0)
			close(dfd);
		return img_fail(-errno, "image %s: cannot list it: %s", d->path, strerror(errno));
	}
	while (!err && (de = readdir(dir))) {
		/* parent: an incremental dump's link to its parent image, checked as an image */
		if (de->d_name[0] == '.' || !strcmp(de->d_name, "inventory.img") ||
		    !strcmp(de->d_name, "parent"))
			continue;
		if (!strcmp(de->d_name, IMG_CRUX_DIR)) {
			err = sub_each(d->fd, check_listed, d);
			continue;
		}
		for (i = 0; i < inv->n_crux_images; i++)
			if (!strcmp(inv->crux_images[i]->name, de->d_name))
				break;
		if (i == inv->n_crux_images)
			err = img_fail(-EBADMSG,
				       "image %s: %s is not listed in inventory.img: the image was "
				       "changed after the dump; remove it or dump again",
				       d->path, de->d_name);
	}
	closedir(dir);
	return err;
}

static int imgdir_verify(struct imgdir *d)
{
	size_t i;
	int err;

	if (!d->inv->n_crux_images) {
		if (!has_crux_task(d->fd))
			return img_fail(
				-EPROTONOSUPPORT,
				"image %s is a CRIU image (no crux checksums in its "
				"inventory.img, no crux-task-*.img): crux restores only the "
				"images it wrote; it cannot restore a CRIU image's FPU state, "
				"vDSO or namespaces: use criu restore",
				d->path);
		return img_fail(-EPROTONOSUPPORT,
				"image %s has no checksums in inventory.img (written by an older "
				"crux): dump again",
				d->path);
	}
	for (i = 0; i < d->inv->n_crux_images; i++) {
		err = verify_one(d, d->inv->crux_images[i]);
		if (err)
			return err;
	}
	return verify_unlisted(d);
}

static int imgdir_read_inventory(struct imgdir *d)
{
	struct img *img;
	void *msg = NULL;
	int err;

	err = img__open(d->fd, IMG_INVENTORY, 0, IMG_READ, &img);
	if (err == -ENOENT)
		return img_fail(
			-ENODATA,
			"image directory %s is incomplete: no inventory.img (the dump that "
			"wrote it did not finish, or this is not an image directory); dump again",
			d->path);
	if (err)
		return err;
	err = img_read_one(img, &inventory_entry__descriptor, &msg);
	if (err == 1 && img_remaining(img))
		err = img_fail(-EBADMSG, "%s/inventory.img: bytes after its inventory_entry",
			       d->path);
	img__close(img);
	if (err == 0)
		return img_fail(-EBADMSG, "%s/inventory.img: no inventory_entry after the magic",
				d->path);
	d->inv = msg;
	if (err < 0)
		return err;
	if (d->inv->img_version != IMG_VERSION)
		return img_fail(-EBADMSG,
				"%s/inventory.img: image version %u, crux reads version %u",
				d->path, d->inv->img_version, IMG_VERSION);
	return imgdir_verify(d);
}

int imgdir__open(const char *path, struct imgdir **ret)
{
	struct imgdir *d;
	int err;

	if (!*path)
		return img_fail(-EINVAL, "empty image directory name: give one, such as /tmp/img");
	err = imgdir_new(path, &d);
	if (err)
		return err;
	d->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->fd < 0) {
		err = img_fail(-errno, "cannot open image directory %s: %s", path, strerror(errno));
		goto out_free;
	}
	err = imgdir_read_inventory(d);
	if (err)
		goto out_free;
	*ret = d;
	return 0;

out_free:
	imgdir_free(d);
	return err;
}

void imgdir__close(struct imgdir *d)
{
	imgdir__abort(d);
}

int imgdir_fd(const struct imgdir *d)
{
	return d->fd;
}

const char *imgdir_path(const struct imgdir *d)
{
	return d->path;
}

const struct InventoryEntry *imgdir_inventory(const struct imgdir *d)
{
	return d->inv;
}

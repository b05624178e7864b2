// SPDX-License-Identifier: GPL-2.0-only
/*
 * Services of the restore set for the driver and the fd kinds: reading images (a corrupt
 * one refused with its name and offset), files by id, parking fds, kinds' private state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "img.h"
#include "log.h"
#include "pb.h"
#include "rstctx.h"
#include "fdinfo.pb-c.h"

void **rst_kstate(struct rst_set *set, const void *key)
{
	return kstate_slot(set->kstate, key);
}

void *rst_kstate_get(const struct rst_set *set, const void *key)
{
	return kstate_get(set->kstate, key);
}

struct rst_file *rst_file_by_id(const struct rst_set *set, uint32_t id)
{
	size_t lo = 0, hi = set->n_files;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t v = set->files[mid].fe->id;

		if (v == id)
			return &set->files[mid];
		if (v < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int rst_park_fd(struct rst_set *set, int *fd)
{
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, (int)set->max_fd + 1);

	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

void rst_file_holder(const struct rst_file *f, char *buf, size_t size)
{
	if (f->pid)
		snprintf(buf, size, "pid %d fd %u", f->pid, f->fd);
	else
		snprintf(buf, size, "no task");
}

int rst_img_fail(const struct rst_set *set, int err, const char *what)
{
	const char *why = img_error();

	if (why && *why)
		pr_err("image %s: %s", imgdir_path(set->dir), why);
	else
		pr_err("image %s: cannot read %s: %s", imgdir_path(set->dir), what, strerror(-err));
	return err;
}

int rst_grow(void **arr, size_t n, size_t *cap, size_t elem)
{
	void *p;

	if (n < *cap)
		return 0;
	*cap = *cap ? 2 * *cap : 16;
	p = realloc(*arr, *cap * elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	return 0;
}

int rst_read_all(struct rst_set *set, enum img_type t, unsigned long key,
		 const ProtobufCMessageDescriptor *desc, bool missing_ok, void ***ret,
		 size_t *ret_n)
{
	struct img *img = NULL;
	void **arr = NULL, *msg;
	size_t n = 0, cap = 0;
	char name[64];
	int err;

	img_name(t, key, name, sizeof(name));
	err = img__open(imgdir_fd(set->dir), t, key, IMG_READ, &img);
	if (err == -ENOENT && missing_ok) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (err)
		return rst_img_fail(set, err, name);
	while ((err = img_read_one(img, desc, &msg)) == 1) {
		if (rst_grow((void **)&arr, n, &cap, sizeof(*arr))) {
			pb_free(msg);
			err = -ENOMEM;
			break;
		}
		arr[n++] = msg;
	}
	if (err < 0) {
		rst_img_fail(set, err, name);
		while (n)
			pb_free(arr[--n]);
		free(arr);
		img__close(img);
		return err;
	}
	img__close(img);
	*ret = arr;
	*ret_n = n;
	return 0;
}

int rst_read_blobs(struct rst_set *set, enum img_type t,
		   const char *(*take)(const void *msg, struct rst_blob *b), struct rst_blob **ret,
		   size_t *ret_n)
{
	const ProtobufCMessageDescriptor *desc = img_type_desc(t);
	struct rst_blob *arr = NULL;
	struct img *img = NULL;
	size_t n = 0, cap = 0;
	const char *refused;
	char name[64];
	void *msg;
	int err;

	img_name(t, 0, name, sizeof(name));
	err = img__open(imgdir_fd(set->dir), t, 0, IMG_READ, &img);
	if (err == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (err)
		return rst_img_fail(set, err, name);
	while ((err = img_read_one(img, desc, &msg)) == 1) {
		struct rst_blob b = { 0 };

		refused = take(msg, &b);
		pb_free(msg);
		if (refused) {
			free(b.rights);
			err = -EOPNOTSUPP;
			pr_err("image %s: %s: %s at offset %llu", imgdir_path(set->dir), name,
			       refused, (unsigned long long)img_offset(img));
			break;
		}
		if (b.len > img_remaining(img)) {
			err = -EBADMSG;
			pr_err("image %s: %s: payload of %zu bytes at offset %llu runs past the end "
			       "of the file (truncated image?)",
			       imgdir_path(set->dir), name, b.len,
			       (unsigned long long)img_offset(img));
			break;
		}
		b.data = malloc(b.len ? b.len : 1);
		if (!b.data || rst_grow((void **)&arr, n, &cap, sizeof(*arr))) {
			free(b.data);
			free(b.rights);
			err = -ENOMEM;
			break;
		}
		err = img_read_payload(img, b.data, b.len);
		arr[n++] = b;
		if (err) {
			rst_img_fail(set, err, name);
			break;
		}
	}
	if (err < 0 && err != -EBADMSG && err != -EOPNOTSUPP)
		rst_img_fail(set, err, name);
	img__close(img);
	if (err < 0) {
		rst_blobs_free(arr, n);
		return err;
	}
	*ret = arr;
	*ret_n = n;
	return 0;
}

void rst_blobs_free(struct rst_blob *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(b[i].data);
		free(b[i].rights);
	}
	free(b);
}

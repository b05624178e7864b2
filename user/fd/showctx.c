// SPDX-License-Identifier: GPL-2.0-only
/*
 * Services of `crux show` for the command and the fd kinds' show hooks: reading an image
 * whole, files by id, problems kept for later, queue sums, kinds' private state.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "show: "
#include "img.h"
#include "log.h"
#include "outfmt.h"
#include "pb.h"
#include "showctx.h"
#include "fdinfo.pb-c.h"

void **show_kstate(struct fd_show *s, const void *key)
{
	return kstate_slot(s->kstate, key);
}

void *show_kstate_get(const struct fd_show *s, const void *key)
{
	return kstate_get(s->kstate, key);
}

void show_msgs_free(void **arr, size_t n)
{
	while (n)
		pb_free(arr[--n]);
	free(arr);
}

int show_load_fail(int err)
{
	const char *why = img_error();

	if (err == -ENOMEM)
		pr_err("out of memory");
	else
		pr_err("%s", *why ? why : strerror(-err));
	return err;
}

int show_load(struct fd_show *s, enum img_type t, unsigned long key, bool optional,
	      show_payload_fn payload, void ***ret, size_t *ret_n)
{
	const ProtobufCMessageDescriptor *desc = img_type_desc(t);
	void **arr = NULL, **tmp, *msg;
	struct img *img = NULL;
	size_t n = 0, cap = 0;
	int err;

	err = img__open(s->dfd, t, key, IMG_READ, &img);
	if (err == -ENOENT && optional) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (err)
		return show_load_fail(err);
	while ((err = img_read_one(img, desc, &msg)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp) {
				pb_free(msg);
				err = -ENOMEM;
				break;
			}
			arr = tmp;
		}
		arr[n++] = msg;
		err = payload ? img_skip_payload(img, payload(msg)) : 0;
		if (err)
			break;
	}
	img__close(img);
	if (err < 0) {
		show_msgs_free(arr, n);
		return show_load_fail(err);
	}
	*ret = arr;
	*ret_n = n;
	return 0;
}

/*
 * Queues come in queue order, one socket's (or pipe's) entries together: merge into the last
 * sum when the id repeats; show_qsum_sort() merges what was not adjacent.
 */
int show_qsum_add(struct qsum **arr, size_t *n, size_t *cap, uint32_t id, uint64_t bytes,
		  uint32_t fds)
{
	struct qsum *tmp, *last = *n ? &(*arr)[*n - 1] : NULL;

	if (last && last->id == id) {
		last->count++;
		last->bytes += bytes;
		last->fds += fds;
		return 0;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		tmp = realloc(*arr, *cap * sizeof(**arr));
		if (!tmp)
			return pr_err_ret(-ENOMEM, "out of memory");
		*arr = tmp;
	}
	(*arr)[(*n)++] = (struct qsum){ .id = id, .count = 1, .bytes = bytes, .fds = fds };
	return 0;
}

static int cmp_qsum(const void *a, const void *b)
{
	const struct qsum *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

void show_qsum_sort(struct qsum *arr, size_t *n)
{
	size_t i, out = 0;

	if (!*n)
		return;
	qsort(arr, *n, sizeof(*arr), cmp_qsum);
	for (i = 1; i < *n; i++) {
		if (arr[i].id == arr[out].id) {
			arr[out].count += arr[i].count;
			arr[out].bytes += arr[i].bytes;
			arr[out].fds += arr[i].fds;
		} else {
			arr[++out] = arr[i];
		}
	}
	*n = out + 1;
}

const struct qsum *show_qsum_find(const struct qsum *arr, size_t n, uint32_t id)
{
	struct qsum key = { .id = id };

	return n ? bsearch(&key, arr, n, sizeof(*arr), cmp_qsum) : NULL;
}

static int cmp_file(const void *a, const void *b)
{
	const FileEntry *fa = *(FileEntry *const *)a, *fb = *(FileEntry *const *)b;

	return fa->id < fb->id ? -1 : fa->id > fb->id;
}

const struct FileEntry *show_file_find(const struct fd_show *s, uint32_t id)
{
	FileEntry key = FILE_ENTRY__INIT, *kp = &key, **hit;

	key.id = id;
	/* bsearch() on a NULL array is undefined, even for 0 elements (files.img cut to magic) */
	hit = s->n_files ? bsearch(&kp, s->files, s->n_files, sizeof(*s->files), cmp_file) : NULL;
	return hit ? *hit : NULL;
}

void show_problem(struct fd_show *s, const char *fmt, ...)
{
	char buf[512], **tmp;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->nr_problems++;
	tmp = realloc(s->problems, (s->n_problems + 1) * sizeof(*tmp));
	if (tmp)
		s->problems = tmp;
	/* Out of memory: not listed, still counted (the exit status says it). */
	if (tmp && (tmp[s->n_problems] = strdup(buf)))
		s->n_problems++;
}

void show_flush_problems(struct fd_show *s)
{
	size_t i;

	if (outfmt_json(s->o))
		return;
	for (i = 0; i < s->n_problems; i++) {
		outfmt_text(s->o, "  !! %s\n", s->problems[i]);
		free(s->problems[i]);
	}
	s->n_problems = 0;
}

int show_load_files(struct fd_show *s)
{
	int err;

	err = show_load(s, IMG_FILES, 0, true, NULL, (void ***)&s->files, &s->n_files);
	if (!err && s->n_files)
		qsort(s->files, s->n_files, sizeof(*s->files), cmp_file);
	return err;
}

void show_out_queue(struct fd_show *s, const struct qsum *q, const char *unit)
{
	if (!q)
		return;
	outfmt_uint(s->o, "queued_bytes", ", %llu bytes queued", q->bytes);
	outfmt_uint(s->o, "queued_count", " in %llu ", q->count);
	outfmt_text(s->o, "%s%s", unit, q->count == 1 ? "" : "s");
	if (q->fds) {
		outfmt_uint(s->o, "passed_fds", " carrying %llu fd", q->fds);
		outfmt_text(s->o, "%s", q->fds == 1 ? "" : "s");
	}
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What `crux show` (user/cmd/show.c) shares with the fd kinds' show hooks: the image
 * directory, the printer (text and JSON through outfmt), files.img by id, the problems
 * found so far, per-id queue sums, each kind's state. Reads images, changes nothing.
 */
#ifndef CRUX_SHOWCTX_H
#define CRUX_SHOWCTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "img.h"
#include "kstate.h"

struct FileEntry;
struct fd_kind;
struct outfmt;

struct fd_show {
	int dfd; /* the image directory */
	struct outfmt *o;
	struct FileEntry **files; /* sorted by id */
	size_t n_files;
	char **problems; /* not yet printed */
	size_t n_problems;
	int nr_problems;
	struct kstate kstate[KSTATE_MAX]; /* each kind's private state */
};

/* Queued data per id (a receiving socket's file id, a pipe id). */
struct qsum {
	uint32_t id;
	uint32_t count;
	uint64_t bytes;
	uint32_t fds; /* passed with SCM_RIGHTS */
};

/* How many raw payload bytes follow msg in its image. */
typedef uint32_t (*show_payload_fn)(const void *msg);

/*
 * Every message of one image; payload() says how many raw bytes follow each one. A missing
 * optional image reads as empty. A damaged one is logged with its name and offset.
 */
int show_load(struct fd_show *s, enum img_type t, unsigned long key, bool optional,
	      show_payload_fn payload, void ***ret, size_t *ret_n);
/* Log a damaged or unreadable image once (img_error() names it and the offset); err. */
int show_load_fail(int err);
void show_msgs_free(void **arr, size_t n);
/*
 * A dangling reference or an inconsistency: kept, and printed after the current task (text,
 * lines marked "!!") or in the "problems" array (JSON); it makes the exit status 1.
 */
void show_problem(struct fd_show *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void show_flush_problems(struct fd_show *s);
/* files.img, sorted by id (a missing one reads as empty). */
int show_load_files(struct fd_show *s);
const struct FileEntry *show_file_find(const struct fd_show *s, uint32_t id);

/* Sums in image order: one id's entries merge; show_qsum_sort() merges the rest. */
int show_qsum_add(struct qsum **arr, size_t *n, size_t *cap, uint32_t id, uint64_t bytes,
		  uint32_t fds);
void show_qsum_sort(struct qsum *arr, size_t *n);
const struct qsum *show_qsum_find(const struct qsum *arr, size_t n, uint32_t id);
/* ", 12 bytes queued in 2 <unit>s[ carrying N fds]"; nothing for NULL. */
void show_out_queue(struct fd_show *s, const struct qsum *q, const char *unit);

/* The slot of a kind's private state by its key (kstate.h); NULL if all are taken. */
void **show_kstate(struct fd_show *s, const void *key);
void *show_kstate_get(const struct fd_show *s, const void *key);

#endif /* CRUX_SHOWCTX_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The unix socket kind is four files, because together they would pass 1000 lines:
 * unix.c (the dump half and the kind's entry in fd_kinds[]), unix_queue.c (the dump of
 * receive queues and of the fds in flight in them), unix_restore.c (the restore half) and
 * unix_show.c (its part of `crux show`). Only these files include this header.
 */
#ifndef CRUX_FD_UNIX_H
#define CRUX_FD_UNIX_H

#include "fd.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "abi.h"
#include "sockdiag.h"

struct rst_set;
struct fd_show;
struct FileEntry;
struct dump_ctx;
struct img;
struct mapsrc;
struct classify_report;
struct classify_result;

/* ---- the dump half's state (unix.c, unix_queue.c) ---- */
struct usk_packet {
	uint32_t len;
	char *data;
	uint32_t *rights; /* file ids of the fds in flight it carries (SCM_RIGHTS) */
	uint32_t n_rights;
};

/* One tree socket (one per inode: its primary fd). */
struct usk {
	size_t fdi; /* index into ctx->fds */
	struct sockdiag_unix d;
	uint32_t listener_ino; /* pending client: the listener it waits on */
	bool deleted; /* bound path unlinked or replaced */
	struct stat name_st; /* of the bound path when not deleted */
	bool has_name_st;
	char *name_dir; /* a relative name: the directory it was bound in (crux's view) */
	struct crux_fd_rec rec; /* the tree iterator's record (has_rec) */
	bool has_rec;
	bool has_icons; /* a listener whose accept queue the tree iterator listed (d.icons) */
	struct usk_packet *q; /* receive queue */
	size_t nq;
	const struct classify_result *res;
};

struct dump_unix {
	struct usk *v;
	size_t n, cap;
	size_t n_read; /* v[0..n_read) had their queue read (harvest) */
	struct mapsrc *src; /* outside sockets: the live map, else sock_diag and /proc */
	struct classify_report *rep;
	size_t nr_internal, nr_external, nr_inbound, nr_other; /* summary */
};

/* unix_queue.c: the receive queues not read yet, with the fds in flight they carry */
int unix_read_queues(struct dump_ctx *ctx, struct dump_unix *u);
int unix_write_queue(struct dump_ctx *ctx, struct img *img, struct usk *s);

/* The kernel's limit of fds in one SCM_RIGHTS message (SCM_MAX_FD). */
#define SCM_MAX_FDS 253

struct rst_blob;
struct msghdr;
/* unix_queue.c, restore: one sk_packet_entry as a blob (rst_read_blobs' take) */
const char *unix_take_packet(const void *msg, struct rst_blob *b);
/* Every file a queued message carries must be in files.img: it is marked inflight. */
int unix_mark_inflight(struct rst_set *set, const struct rst_blob *packets, size_t n);
/* The controller's fds of the files b carries, as mh's control message (buf: SCM_MAX_FDS). */
int unix_rights_cmsg(const struct rst_set *set, const struct rst_blob *b, struct msghdr *mh,
		     void *buf);

extern const struct fd_kind fd_unix;

int unix_load(struct rst_set *set);
void unix_validate(struct rst_set *set);
int unix_create(struct rst_set *set);
void unix_abort(struct rst_set *set);
void unix_release(struct rst_set *set);
int unix_show(struct fd_show *s, enum fd_show_step step, const struct FileEntry *f);

#endif /* CRUX_FD_UNIX_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the event-loop fd kinds (eventfd.c, signalfd.c, timerfd.c, epoll.c, inotify.c,
 * fanotify.c) share: their fdinfo text, crux-fds.img (what CRIU's entries have no field
 * for: epoll target file ids, the dump time of absolute realtime timers), the unread-event
 * rule of inotify and fanotify, and their lines in `crux show`.
 */
#ifndef CRUX_EVLOOP_H
#define CRUX_EVLOOP_H

#include <stddef.h>
#include <stdint.h>

#include "fd.h"

struct dump_ctx;
struct fd_kind;
struct dump_fd;
struct rst_set;
struct CruxFdEntry;

/* The whole text of /proc/PID/fdinfo/FD of f (free it); 0 or -errno (logged). */
int evl_fdinfo_text(struct dump_ctx *ctx, const struct dump_fd *f, char **ret);
/* A fown_entry (FownEntry *) with every field 0: F_SETOWN is not carried for these kinds. */
void evl_fown_zero(void *fown_entry);
/*
 * Unread bytes in an inotify/fanotify group's queue: restore cannot recreate them. Warned
 * about (and counted in *count, for the summary), or refused with --inotify-strict.
 */
int evl_notify_queue(struct dump_ctx *ctx, const struct dump_fd *f, const char *kind,
		     size_t *count);
/*
 * The inotify and fanotify kinds' check, summary and cleanup ops: every group of kind k
 * through evl_notify_queue(), the count of those that lost events kept in k's state slot,
 * and ", N <k->name> queues of unread events NOT restored" when there were any.
 */
int evl_notify_check(struct dump_ctx *ctx, const struct fd_kind *k);
void evl_notify_summary(struct dump_ctx *ctx, const struct fd_kind *k, char *buf, size_t size);
void evl_notify_cleanup(struct dump_ctx *ctx, const struct fd_kind *k);

/* Append a crux_fd_entry (CruxFdEntry *) to crux-fds.img, created on first use. */
int evl_cruxfds_write(struct dump_ctx *ctx, const void *crux_fd_entry);
/* The crux-fds.img record of file id, or NULL (loaded by the fd_cruxfds kind). */
const struct CruxFdEntry *evl_cruxfds_get(const struct rst_set *set, uint32_t id);

/* The show hook of every event-loop kind: one line per file. */
int evl_show(struct fd_show *s, enum fd_show_step step, const struct FileEntry *f);

/*
 * crux-fds.img as a kind of its own, last in fd_kinds[]: it claims no fd; its write()
 * closes the image the kinds before it appended to, its load() reads it for them.
 */
extern const struct fd_kind fd_cruxfds;

#endif /* CRUX_EVLOOP_H */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Shared by the event-loop kinds (evloop.h): fdinfo text, crux-fds.img (written by the
 * kinds, closed and read back by the fd_cruxfds pseudo-kind), unread fsnotify events, and
 * the `crux show` line of each kind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "evloop.h"
#include "fd.h"
#include "img.h"
#include "log.h"
#include "outfmt.h"
#include "pb.h"
#include "rstctx.h"
#include "showctx.h"
#include "util.h"
#include "crux_fds.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"

int evl_fdinfo_text(struct dump_ctx *ctx, const struct dump_fd *f, char **ret)
{
	char what[32], d[96];
	int err;

	snprintf(what, sizeof(what), "fdinfo/%d", f->fd);
	err = proc_read_text(f->pid, what, ret);
	if (err)
		return pr_err_ret(err, "%s: cannot read its fdinfo: %s",
				  dump_fd_desc(ctx, f, d, sizeof(d)), strerror(-err));
	return 0;
}

void evl_fown_zero(void *fown_entry)
{
	fown_entry__init(fown_entry);
}

int evl_notify_queue(struct dump_ctx *ctx, const struct dump_fd *f, const char *kind, size_t *count)
{
	const struct pstree_task *t = pstree_find(&ctx->tree, f->pid);
	_cleanup_close_ int fd = t ? pidfd_getfd(t->pidfd, f->fd, 0) : -1;
	char d[96];
	int n = 0;

	dump_fd_desc(ctx, f, d, sizeof(d));
	if (fd < 0)
		return pr_perror_ret("%s: cannot take a copy of its %s fd", d, kind);
	if (ioctl(fd, FIONREAD, &n))
		return pr_perror_ret("%s: cannot count the unread events of its %s fd", d, kind);
	if (!n)
		return 0;
	if (ctx->opts->inotify_strict)
		return pr_err_ret(
			-EBUSY,
			"%s: %s group has %d bytes of unread events, which restore cannot "
			"recreate; refused by --inotify-strict (let the process read them, "
			"or dump without --inotify-strict to drop them with a warning)",
			d, kind, n);
	pr_warn("%s: %s group has %d bytes of unread events: they are not restored (the restored "
		"group starts with an empty queue; --inotify-strict refuses this)",
		d, kind, n);
	(*count)++;
	return 0;
}

/* How many groups of kind k lost unread events (for the summary), in k's state slot. */
static size_t *notify_count(struct dump_ctx *ctx, const struct fd_kind *k)
{
	void **slot = dump_kstate(ctx, k);

	if (slot && !*slot)
		*slot = calloc(1, sizeof(size_t));
	return slot ? *slot : NULL;
}

int evl_notify_check(struct dump_ctx *ctx, const struct fd_kind *k)
{
	size_t *count = notify_count(ctx, k);
	size_t i;
	int err, failed = 0;

	if (!count)
		return -ENOMEM;
	for (i = 0; i < ctx->n_fds; i++) {
		if (ctx->fds[i].kind != k || !ctx->fds[i].primary)
			continue;
		err = evl_notify_queue(ctx, &ctx->fds[i], k->name, count);
		if (err && !failed)
			failed = err;
	}
	return failed;
}

void evl_notify_summary(struct dump_ctx *ctx, const struct fd_kind *k, char *buf, size_t size)
{
	size_t *n = notify_count(ctx, k);

	if (n && *n)
		snprintf(buf, size, ", %zu %s queue%s of unread events NOT restored", *n, k->name,
			 *n == 1 ? "" : "s");
}

void evl_notify_cleanup(struct dump_ctx *ctx, const struct fd_kind *k)
{
	void **slot = dump_kstate(ctx, k);

	if (slot)
		free(TAKE_PTR(*slot));
}

/* ---- crux-fds.img ---- */

int evl_cruxfds_write(struct dump_ctx *ctx, const void *crux_fd_entry)
{
	void **slot = dump_kstate(ctx, &fd_cruxfds);
	int err = 0;

	if (!slot)
		return -ENOMEM;
	if (!*slot)
		err = img__open(ctx->dirfd, IMG_CRUX_FDS, 0, IMG_WRITE, (struct img **)slot);
	if (!err)
		err = img_write_one(*slot, (const ProtobufCMessage *)crux_fd_entry);
	if (err)
		return pr_err_ret(err, "cannot write crux-fds.img: %s", img_error());
	return 0;
}

/* After every kind that appends to it (it is last in fd_kinds[]): flush and close. */
static int cruxfds_write(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_cruxfds);
	int err;

	if (!slot || !*slot)
		return 0;
	err = img__close(TAKE_PTR(*slot));
	if (err)
		return pr_err_ret(err, "cannot write crux-fds.img: %s", img_error());
	return 0;
}

static void cruxfds_cleanup(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_cruxfds);

	if (slot)
		img__close(TAKE_PTR(*slot));
}

struct cruxfds {
	CruxFdEntry **v;
	size_t n;
};

/* Each record names a file of files.img; epoll targets' numbers raise max_fd (the epoll
 * helper dup2()s targets to them, below the parked objects). */
static int cruxfds_load(struct rst_set *set)
{
	void **slot = rst_kstate(set, &fd_cruxfds);
	struct cruxfds *c;
	size_t i, j;
	int err;

	if (!slot || !(*slot = c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	err = rst_read_all(set, IMG_CRUX_FDS, 0, &crux_fd_entry__descriptor, true, (void ***)&c->v,
			   &c->n);
	for (i = 0; !err && i < c->n; i++) {
		if (!rst_file_by_id(set, c->v[i]->id)) {
			pr_err("image %s: crux-fds.img names file id %u, which files.img does not "
			       "hold",
			       imgdir_path(set->dir), c->v[i]->id);
			return -EBADMSG;
		}
		for (j = 0; j < c->v[i]->n_targets; j++)
			set->max_fd = MAX(set->max_fd, c->v[i]->targets[j]->tfd);
	}
	return err;
}

static void cruxfds_release(struct rst_set *set)
{
	void **slot = rst_kstate(set, &fd_cruxfds);
	struct cruxfds *c = slot ? *slot : NULL;
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++)
		pb_free(c->v[i]);
	free(c->v);
	free(c);
	*slot = NULL;
}

const struct CruxFdEntry *evl_cruxfds_get(const struct rst_set *set, uint32_t id)
{
	const struct cruxfds *c = rst_kstate_get(set, &fd_cruxfds);
	size_t i;

	for (i = 0; c && i < c->n; i++)
		if (c->v[i]->id == id)
			return c->v[i];
	return NULL;
}

const struct fd_kind fd_cruxfds = {
	.name = "crux-fds",
	.fd_type = UINT32_MAX, /* no file of files.img is of this kind */
	.write = cruxfds_write,
	.cleanup = cruxfds_cleanup,
	.load = cruxfds_load,
	.release = cruxfds_release,
};

/* ---- crux show ---- */

static void show_epoll(struct outfmt *o, const EventpollFileEntry *e)
{
	size_t i;

	outfmt_uint(o, "targets", "epoll, %llu targets:", e->n_tfd);
	outfmt_open(o, "tfd", '[');
	for (i = 0; i < e->n_tfd; i++) {
		outfmt_open(o, NULL, '{');
		outfmt_uint(o, "fd", " fd %llu", e->tfd[i]->tfd);
		outfmt_uint(o, "events", " events %#llx", e->tfd[i]->events);
		outfmt_uint(o, "data", " data %#llx", e->tfd[i]->data);
		outfmt_close(o);
		outfmt_text(o, i + 1 < e->n_tfd ? "," : "");
	}
	outfmt_close(o);
}

static void show_timerfd(struct outfmt *o, const TimerfdEntry *t)
{
	outfmt_uint(o, "clockid", "timerfd clock %llu", t->clockid);
	outfmt_uint(o, "left_ns", " left %llu ns", t->vsec * 1000000000ull + t->vnsec);
	outfmt_uint(o, "interval_ns", " interval %llu ns", t->isec * 1000000000ull + t->insec);
	outfmt_uint(o, "ticks", " ticks %llu", t->ticks);
	outfmt_bool(o, "abstime", " abstime", t->settime_flags & 1);
}

static void show_inotify(struct outfmt *o, const InotifyFileEntry *e)
{
	size_t i;

	outfmt_uint(o, "watches", "inotify, %llu watches:", e->n_wd);
	outfmt_open(o, "wd", '[');
	for (i = 0; i < e->n_wd; i++) {
		outfmt_open(o, NULL, '{');
		outfmt_uint(o, "wd", " wd %llu", e->wd[i]->wd);
		outfmt_uint(o, "ino", " ino %llu", e->wd[i]->i_ino);
		outfmt_uint(o, "mask", " mask %#llx", e->wd[i]->mask);
		outfmt_close(o);
	}
	outfmt_close(o);
}

int evl_show(struct fd_show *s, enum fd_show_step step, const FileEntry *f)
{
	struct outfmt *o = s->o;

	if (step != FD_SHOW_FILE || !f)
		return 0;
	if (f->efd) {
		outfmt_uint(o, "counter", "eventfd count %llu", f->efd->counter);
		outfmt_bool(o, "semaphore", " semaphore", f->efd->flags & 1);
	} else if (f->sgfd) {
		outfmt_uint(o, "sigmask", "signalfd mask %#llx", f->sgfd->sigmask);
	} else if (f->tfd) {
		show_timerfd(o, f->tfd);
	} else if (f->epfd) {
		show_epoll(o, f->epfd);
	} else if (f->ify) {
		show_inotify(o, f->ify);
	} else if (f->ffy) {
		outfmt_uint(o, "flags", "fanotify flags %#llx", f->ffy->faflags);
		outfmt_uint(o, "marks", ", %llu marks", f->ffy->n_mark);
	}
	return 0;
}

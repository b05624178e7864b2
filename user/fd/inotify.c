// SPDX-License-Identifier: GPL-2.0-only
/*
 * inotify: the group's flags and every watch (wd, mask with IN_ONESHOT/IN_EXCL_UNLINK,
 * inode as a file handle) from /proc/PID/fdinfo. Events queued and not read yet cannot be
 * recreated: the dump warns and counts them in its summary, or refuses with
 * --inotify-strict (dump_notify_queue()).
 *
 * Restore: inotify_init1, then each watch, in wd order, on the inode reopened with
 * open_by_handle_at(). Watch descriptors are allocated cyclically, so a watch that comes
 * out with a lower wd than dumped is removed and added again until the numbers match; the
 * IN_IGNORED events those removals queue are read off before any task sees the group.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#define LOG_PREFIX "inotify: "
#include "dumpctx.h"
#include "evloop.h"
#include "fd.h"
#include "fsnotify.h"
#include "log.h"
#include "rstctx.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"
#include "fsnotify.pb-c.h"

extern const struct fd_kind fd_inotify;

static bool ify_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:inotify");
}

static void ify_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	evl_notify_summary(ctx, &fd_inotify, buf, size);
}

static void ify_cleanup(struct dump_ctx *ctx)
{
	evl_notify_cleanup(ctx, &fd_inotify);
}

static int inotify_check(struct dump_ctx *ctx)
{
	return evl_notify_check(ctx, &fd_inotify);
}

static void free_wds(InotifyWdEntry **v, size_t n)
{
	while (n--) {
		free(v[n]->f_handle->handle);
		free(v[n]->f_handle);
		free(v[n]);
	}
	free(v);
}

static int parse_wd(const char *line, InotifyWdEntry **ret)
{
	InotifyWdEntry *w = calloc(1, sizeof(*w));
	FhEntry *fh = calloc(1, sizeof(*fh));
	unsigned long long ino;
	int err = -EINVAL;

	if (!w || !fh) {
		free(w);
		free(fh);
		return -ENOMEM;
	}
	inotify_wd_entry__init(w);
	fh_entry__init(fh);
	w->f_handle = fh;
	if (sscanf(line, "inotify wd:%x ino:%llx sdev:%x mask:%x ignored_mask:%x", &w->wd, &ino,
		   &w->s_dev, &w->mask, &w->ignored_mask) == 5)
		err = fsn_parse_handle(line, fh);
	if (err) {
		free(fh->handle);
		free(fh);
		free(w);
		return err;
	}
	w->i_ino = ino;
	*ret = w;
	return 0;
}

static int write_one(struct dump_ctx *ctx, const struct dump_fd *f)
{
	FileEntry fe = FILE_ENTRY__INIT;
	InotifyFileEntry e = INOTIFY_FILE_ENTRY__INIT;
	_cleanup_free_ char *text = NULL;
	InotifyWdEntry **v = NULL, **nv;
	size_t n = 0;
	const char *p;
	FownEntry fown;
	char d[96];
	int err;

	err = evl_fdinfo_text(ctx, f, &text);
	for (p = text; !err && (p = strstr(p, "inotify wd:")); p++) {
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			err = -ENOMEM;
			break;
		}
		v = nv;
		err = parse_wd(p, &v[n]);
		if (!err)
			v[n++]->id = f->file_id;
		else if (err == -EINVAL)
			pr_err("%s: cannot parse its inotify watch \"%.80s\"",
			       dump_fd_desc(ctx, f, d, sizeof(d)), p);
	}
	if (!err) {
		evl_fown_zero(&fown);
		e.id = f->file_id;
		e.flags = f->fi.flags;
		e.fown = &fown;
		e.n_wd = n;
		e.wd = v;
		fe.type = FD_TYPES__INOTIFY;
		fe.id = f->file_id;
		fe.ify = &e;
		err = dump_write_file_entry(ctx, &fe);
	}
	free_wds(v, n);
	return err;
}

static int inotify_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		if (ctx->fds[i].kind != &fd_inotify || !ctx->fds[i].primary)
			continue;
		err = write_one(ctx, &ctx->fds[i]);
		if (err)
			return err;
	}
	return 0;
}

static int cmp_wd(const void *a, const void *b)
{
	const InotifyWdEntry *x = *(InotifyWdEntry *const *)a, *y = *(InotifyWdEntry *const *)b;

	return (x->wd > y->wd) - (x->wd < y->wd);
}

/* Add watch w so that it gets its dumped wd; *removed counts watches taken off again. */
static int add_watch(int ifd, const InotifyWdEntry *w, uint32_t id, size_t *removed)
{
	_cleanup_close_ int fd = fsn_open_handle(w->f_handle, w->s_dev);
	char path[64];
	int wd;

	if (fd < 0)
		return pr_err_ret(fd,
				  "file id %u: cannot reopen the inode %llu of watch %u by its "
				  "file handle: %s (was it deleted?)",
				  id, (unsigned long long)w->i_ino, w->wd, strerror(-fd));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	for (;;) {
		wd = inotify_add_watch(ifd, path, w->mask);
		if (wd < 0)
			return pr_perror_ret("file id %u: cannot add watch %u (mask %#x)", id,
					     w->wd, w->mask);
		if ((uint32_t)wd >= w->wd)
			break;
		inotify_rm_watch(ifd, wd);
		(*removed)++;
	}
	if ((uint32_t)wd != w->wd)
		return pr_err_ret(-EEXIST,
				  "file id %u: watch %u came back as %d (two watches on "
				  "one inode?)",
				  id, w->wd, wd);
	return 0;
}

static int ify_open(struct rst_set *set, struct rst_file *f)
{
	InotifyFileEntry *e = f->fe->ify;
	_cleanup_close_ int fd = -1;
	size_t i, removed = 0;
	char buf[4096];
	int err;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return pr_perror_ret("file id %u: cannot create an inotify group", e->id);
	qsort(e->wd, e->n_wd, sizeof(*e->wd), cmp_wd);
	for (i = 0; i < e->n_wd; i++) {
		err = add_watch(fd, e->wd[i], e->id, &removed);
		if (err)
			return err;
	}
	while (removed && read(fd, buf, sizeof(buf)) > 0)
		; /* the IN_IGNORED events of the watches removed above */
	if (!(e->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, 0))
		return pr_perror_ret("file id %u: cannot clear O_NONBLOCK", e->id);
	err = rst_park_fd(set, &fd);
	if (err)
		return pr_err_ret(err, "cannot park an inotify fd: %s", strerror(-err));
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

static int ify_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		if (set->files[i].fe->type != FD_TYPES__INOTIFY || !set->files[i].fe->ify)
			continue;
		err = ify_open(set, &set->files[i]);
		if (err)
			return err;
	}
	return 0;
}

const struct fd_kind fd_inotify = {
	.name = "inotify",
	.fd_type = FD_TYPES__INOTIFY,
	.match = ify_match,
	.check = inotify_check,
	.write = inotify_write,
	.summary = ify_summary,
	.cleanup = ify_cleanup,
	.create = ify_create,
	.show = evl_show,
};

// SPDX-License-Identifier: GPL-2.0-only
/*
 * fanotify: the group's init flags and event flags, and its inode marks (by file handle)
 * and mount marks (by mount point), from /proc/PID/fdinfo. Filesystem marks have no field
 * in CRIU's image and are refused. Unread events are handled as inotify's are (warned and
 * counted, or refused with --inotify-strict). Restore: fanotify_init, fanotify_mark.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <unistd.h>

#define LOG_PREFIX "fanotify: "
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

#ifndef FAN_MARK_EVICTABLE
#define FAN_MARK_EVICTABLE 0x00000200
#endif
#ifndef FAN_MARK_IGNORE
#define FAN_MARK_IGNORE 0x00000400
#endif

extern const struct fd_kind fd_fanotify;

static bool ffy_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[fanotify]");
}

static void ffy_summary(struct dump_ctx *ctx, char *buf, size_t size)
{
	evl_notify_summary(ctx, &fd_fanotify, buf, size);
}

static void ffy_cleanup(struct dump_ctx *ctx)
{
	evl_notify_cleanup(ctx, &fd_fanotify);
}

static int fanotify_check(struct dump_ctx *ctx)
{
	return evl_notify_check(ctx, &fd_fanotify);
}

static void free_mark(FanotifyMarkEntry *m)
{
	if (!m)
		return;
	if (m->ie) {
		free(m->ie->f_handle->handle);
		free(m->ie->f_handle);
		free(m->ie);
	}
	if (m->me) {
		free(m->me->path);
		free(m->me);
	}
	free(m);
}

static int parse_inode(const char *line, FanotifyMarkEntry *m)
{
	unsigned long long ino;
	int err;

	m->ie = calloc(1, sizeof(*m->ie));
	if (!m->ie)
		return -ENOMEM;
	fanotify_inode_mark_entry__init(m->ie);
	m->ie->f_handle = calloc(1, sizeof(FhEntry));
	if (!m->ie->f_handle)
		return -ENOMEM;
	fh_entry__init(m->ie->f_handle);
	if (sscanf(line, "fanotify ino:%llx sdev:%x mflags:%x mask:%x ignored_mask:%x", &ino,
		   &m->s_dev, &m->mflags, &m->mask, &m->ignored_mask) != 5)
		return -EINVAL;
	m->ie->i_ino = ino;
	m->type = MARK_TYPE__INODE;
	err = fsn_parse_handle(line, m->ie->f_handle);
	return err;
}

static int parse_mount(const char *line, FanotifyMarkEntry *m)
{
	m->me = calloc(1, sizeof(*m->me));
	if (!m->me)
		return -ENOMEM;
	fanotify_mount_mark_entry__init(m->me);
	if (sscanf(line, "fanotify mnt_id:%x mflags:%x mask:%x ignored_mask:%x", &m->me->mnt_id,
		   &m->mflags, &m->mask, &m->ignored_mask) != 4)
		return -EINVAL;
	m->type = MARK_TYPE__MOUNT;
	m->me->path = fsn_mount_path(m->me->mnt_id);
	return m->me->path ? 0 : -ENOENT;
}

static int parse_mark(const char *line, uint32_t id, FanotifyMarkEntry **ret)
{
	FanotifyMarkEntry *m = calloc(1, sizeof(*m));
	int err;

	if (!m)
		return -ENOMEM;
	fanotify_mark_entry__init(m);
	m->id = id;
	if (!strncmp(line, "fanotify ino:", 13))
		err = parse_inode(line, m);
	else if (!strncmp(line, "fanotify mnt_id:", 16))
		err = parse_mount(line, m);
	else
		err = -EOPNOTSUPP; /* a filesystem (FAN_MARK_FILESYSTEM) mark */
	if (err) {
		free_mark(m);
		return err;
	}
	*ret = m;
	return 0;
}

static int parse_marks(struct dump_ctx *ctx, const struct dump_fd *f, const char *text,
		       FanotifyMarkEntry ***ret, size_t *ret_n)
{
	FanotifyMarkEntry **v = NULL, **nv;
	const char *p = text;
	size_t n = 0;
	char d[96];
	int err = 0;

	while (!err && (p = strstr(p, "\nfanotify "))) {
		p++;
		if (!strncmp(p, "fanotify flags:", 15))
			continue;
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (!nv) {
			err = -ENOMEM;
			break;
		}
		v = nv;
		err = parse_mark(p, f->file_id, &v[n]);
		if (!err)
			n++;
	}
	if (err && err != -ENOMEM)
		pr_err("%s: fanotify mark \"%.60s\" %s", dump_fd_desc(ctx, f, d, sizeof(d)), p,
		       err == -EOPNOTSUPP ? "is a filesystem mark: not supported yet" :
					    "cannot be read");
	*ret = v;
	*ret_n = n;
	return err;
}

static int write_one(struct dump_ctx *ctx, const struct dump_fd *f)
{
	FileEntry fe = FILE_ENTRY__INIT;
	FanotifyFileEntry e = FANOTIFY_FILE_ENTRY__INIT;
	_cleanup_free_ char *text = NULL;
	FanotifyMarkEntry **v = NULL;
	const char *p;
	size_t n = 0;
	FownEntry fown;
	char d[96];
	int err;

	err = evl_fdinfo_text(ctx, f, &text);
	if (err)
		return err;
	p = strstr(text, "fanotify flags:");
	if (!p || sscanf(p, "fanotify flags:%x event-flags:%x", &e.faflags, &e.evflags) != 2)
		return pr_err_ret(-EINVAL, "%s: cannot parse its fanotify fdinfo",
				  dump_fd_desc(ctx, f, d, sizeof(d)));
	err = parse_marks(ctx, f, text, &v, &n);
	if (!err) {
		evl_fown_zero(&fown);
		e.id = f->file_id;
		e.flags = f->fi.flags;
		e.fown = &fown;
		e.n_mark = n;
		e.mark = v;
		fe.type = FD_TYPES__FANOTIFY;
		fe.id = f->file_id;
		fe.ffy = &e;
		err = dump_write_file_entry(ctx, &fe);
	}
	while (n--)
		free_mark(v[n]);
	free(v);
	return err;
}

static int fanotify_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		if (ctx->fds[i].kind != &fd_fanotify || !ctx->fds[i].primary)
			continue;
		err = write_one(ctx, &ctx->fds[i]);
		if (err)
			return err;
	}
	return 0;
}

/* The mask, then the ignored mask, of one mark on path. */
static int mark_path(int ffd, const FanotifyMarkEntry *m, unsigned int where, const char *path)
{
	unsigned int ign = (m->mflags & FAN_MARK_IGNORE) ? FAN_MARK_IGNORE : FAN_MARK_IGNORED_MASK;

	if (m->mask && fanotify_mark(ffd, FAN_MARK_ADD | where | (m->mflags & FAN_MARK_EVICTABLE),
				     m->mask, AT_FDCWD, path))
		return -errno;
	if (m->ignored_mask &&
	    fanotify_mark(ffd,
			  FAN_MARK_ADD | where | ign | (m->mflags & FAN_MARK_IGNORED_SURV_MODIFY),
			  m->ignored_mask, AT_FDCWD, path))
		return -errno;
	return 0;
}

static int add_mark(int ffd, const FanotifyMarkEntry *m, uint32_t id)
{
	_cleanup_close_ int fd = -1;
	char path[64];
	int err;

	if (m->type == MARK_TYPE__MOUNT && m->me && m->me->path) {
		err = mark_path(ffd, m, FAN_MARK_MOUNT, m->me->path);
		if (err)
			return pr_err_ret(err, "file id %u: cannot mark mount %s: %s", id,
					  m->me->path, strerror(-err));
		return 0;
	}
	if (m->type != MARK_TYPE__INODE || !m->ie)
		return pr_err_ret(-EBADMSG, "file id %u: fanotify mark of unknown type %d", id,
				  m->type);
	fd = fsn_open_handle(m->ie->f_handle, m->s_dev);
	if (fd < 0)
		return pr_err_ret(fd, "file id %u: cannot reopen inode %llu by its file handle: %s",
				  id, (unsigned long long)m->ie->i_ino, strerror(-fd));
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	err = mark_path(ffd, m, 0, path);
	if (err)
		return pr_err_ret(err, "file id %u: cannot mark inode %llu: %s", id,
				  (unsigned long long)m->ie->i_ino, strerror(-err));
	return 0;
}

static int ffy_open(struct rst_set *set, struct rst_file *f)
{
	const FanotifyFileEntry *e = f->fe->ffy;
	unsigned int flags = (e->faflags & ~(FAN_CLOEXEC | FAN_NONBLOCK)) | FAN_CLOEXEC |
			     (e->flags & O_NONBLOCK ? FAN_NONBLOCK : 0);
	_cleanup_close_ int fd = -1;
	size_t i;
	int err;

	fd = fanotify_init(flags, e->evflags);
	if (fd < 0)
		return pr_perror_ret("file id %u: cannot create a fanotify group (flags %#x): "
				     "",
				     e->id, flags);
	for (i = 0; i < e->n_mark; i++) {
		err = add_mark(fd, e->mark[i], e->id);
		if (err)
			return err;
	}
	err = rst_park_fd(set, &fd);
	if (err)
		return pr_err_ret(err, "cannot park a fanotify fd: %s", strerror(-err));
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

static int ffy_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		if (set->files[i].fe->type != FD_TYPES__FANOTIFY || !set->files[i].fe->ffy)
			continue;
		err = ffy_open(set, &set->files[i]);
		if (err)
			return err;
	}
	return 0;
}

const struct fd_kind fd_fanotify = {
	.name = "fanotify",
	.fd_type = FD_TYPES__FANOTIFY,
	.match = ffy_match,
	.check = fanotify_check,
	.write = fanotify_write,
	.summary = ffy_summary,
	.cleanup = ffy_cleanup,
	.create = ffy_create,
	.show = evl_show,
};

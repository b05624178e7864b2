// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipes: each end is a file description (pipe_entry, pipe_id = the pipe's inode); the
 * buffered bytes are copied with tee() from the read end, so nothing is consumed.
 * Self-containment: an end held by a process outside the tree while the tree lacks that end
 * is an external pipe and refused, naming both sides. An end that nobody holds any more
 * (the writer closed) is not external: restore recreates the pipe and closes it again.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "log.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "pipe.pb-c.h"
#include "pipe_data.pb-c.h"

struct pipe_rec {
	uint64_t ino;
	struct dump_fd *rd; /* primary fd of the read end in the tree, or NULL */
	struct dump_fd *wr;
};

struct dump_pipes {
	struct pipe_rec *v;
	size_t n, cap;
};

static bool is_read_end(const struct dump_fd *f)
{
	return (f->fi.flags & O_ACCMODE) == O_RDONLY;
}

static struct pipe_rec *pipe_rec_get(struct dump_pipes *p, uint64_t ino)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->v[i].ino == ino)
			return &p->v[i];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 16;
		struct pipe_rec *nv = realloc(p->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		p->v = nv;
		p->cap = cap;
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	p->v[p->n].ino = ino;
	return &p->v[p->n++];
}

static int pipes_collect(struct dump_ctx *ctx, struct dump_fd *f)
{
	struct pipe_rec *r;

	if (!ctx->pipes_state) {
		ctx->pipes_state = calloc(1, sizeof(*ctx->pipes_state));
		if (!ctx->pipes_state)
			return -ENOMEM;
	}
	r = pipe_rec_get(ctx->pipes_state, f->st.st_ino);
	if (!r)
		return -ENOMEM;
	/* a second description of the same end (reopened via /proc) keeps the first */
	if (is_read_end(f) && !r->rd)
		r->rd = f;
	else if (!is_read_end(f) && !r->wr)
		r->wr = f;
	return 0;
}

/*
 * fds are stored in a growing array; collect() keeps pointers, so re-resolve them by
 * (pid, fd) once collection is over.
 */
static struct dump_fd *refind(struct dump_ctx *ctx, uint64_t ino, bool rd)
{
	size_t i;

	for (i = 0; i < ctx->n_fds; i++) {
		struct dump_fd *f = &ctx->fds[i];

		if (f->kind == DUMP_FD_PIPE && f->primary && f->st.st_ino == ino &&
		    is_read_end(f) == rd)
			return f;
	}
	return NULL;
}

static int pipes_check(struct dump_ctx *ctx)
{
	struct dump_pipes *p = ctx->pipes_state;
	int failed = 0;
	size_t i;

	for (i = 0; p && i < p->n; i++) {
		struct pipe_rec *r = &p->v[i];
		struct dump_fd *ours;
		char link[64], comm[16], d[96], msg[512];
		pid_t holder;

		r->rd = refind(ctx, r->ino, true);
		r->wr = refind(ctx, r->ino, false);
		if (r->rd && r->wr)
			continue;
		ours = r->rd ? r->rd : r->wr;
		snprintf(link, sizeof(link), "pipe:[%llu]", (unsigned long long)r->ino);
		holder = dump_find_outside_holder(ctx, link, comm);
		if (!holder) {
			pr_info("%s: pipe %s has no %s end any more; dumped as it is",
				dump_fd_desc(ctx, ours, d, sizeof(d)), link,
				r->rd ? "write" : "read");
			continue;
		}
		fd_external_pipe_msg(dump_fd_desc(ctx, ours, d, sizeof(d)), r->ino, r->rd, holder,
				     comm, msg, sizeof(msg));
		pr_err("%s", msg);
		failed = -EXDEV;
	}
	return failed;
}

/* tee() the buffered bytes of the read end into our own pipe, then read them from it. */
static int pipe_peek(int rd, char **ret_buf, size_t *ret_len, int *ret_size)
{
	_cleanup_close_ int p0 = -1, p1 = -1;
	int p[2], size;
	ssize_t n, got;
	char *buf;

	size = fcntl(rd, F_GETPIPE_SZ);
	if (size < 0)
		return -errno;
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
		return -errno;
	p0 = p[0], p1 = p[1];
	if (fcntl(p1, F_SETPIPE_SZ, size) < 0)
		return -errno;
	n = tee(rd, p1, (size_t)size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN)
		return -errno;
	if (n < 0)
		n = 0;
	buf = malloc((size_t)n + 1);
	if (!buf)
		return -ENOMEM;
	got = n ? read(p0, buf, (size_t)n) : 0;
	if (got != n) {
		free(buf);
		return -EIO;
	}
	*ret_buf = buf;
	*ret_len = (size_t)n;
	*ret_size = size;
	return 0;
}

static int write_pipe_data(struct dump_ctx *ctx, struct img *img, struct pipe_rec *r)
{
	PipeDataEntry e = PIPE_DATA_ENTRY__INIT;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	int size = 0, err;

	if (!r->rd)
		return 0;
	err = pipe_peek(r->rd->stolen, &buf, &len, &size);
	if (err)
		return pr_err_ret(err, "pipe:[%llu]: cannot copy its buffered data: %s",
				  (unsigned long long)r->ino, strerror(-err));
	if (!len)
		return 0;
	e.pipe_id = (uint32_t)r->ino;
	e.bytes = (uint32_t)len;
	e.has_size = true;
	e.size = (uint32_t)size;
	err = img_write_one(img, &e.base);
	if (!err)
		err = img_write_payload(img, buf, len);
	if (err)
		return pr_err_ret(err, "cannot write pipes-data.img: %s", img_error());
	return 0;
}

static int pipes_write(struct dump_ctx *ctx)
{
	struct dump_pipes *p = ctx->pipes_state;
	struct img *img = NULL;
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		struct dump_fd *f = &ctx->fds[i];
		FileEntry fe = FILE_ENTRY__INIT;
		PipeEntry pe = PIPE_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;

		if (f->kind != DUMP_FD_PIPE || !f->primary)
			continue;
		pe.id = f->file_id;
		pe.pipe_id = (uint32_t)f->st.st_ino;
		pe.flags = f->fi.flags;
		pe.fown = &fown;
		fe.type = FD_TYPES__PIPE;
		fe.id = f->file_id;
		fe.pipe = &pe;
		err = dump_write_file_entry(ctx, &fe);
		if (err)
			return err;
	}
	err = img__open(ctx->dirfd, IMG_PIPES_DATA, 0, IMG_WRITE, &img);
	if (err)
		return pr_err_ret(err, "cannot create pipes-data.img: %s", img_error());
	for (i = 0; !err && p && i < p->n; i++)
		err = write_pipe_data(ctx, img, &p->v[i]);
	if (!err) {
		err = img__close(TAKE_PTR(img));
		if (err)
			pr_err("cannot write pipes-data.img: %s", img_error());
	}
	img__close(img);
	return err;
}

static void pipes_cleanup(struct dump_ctx *ctx)
{
	if (!ctx->pipes_state)
		return;
	free(ctx->pipes_state->v);
	free(ctx->pipes_state);
	ctx->pipes_state = NULL;
}

const struct dump_fd_ops dump_pipes_ops = {
	.name = "pipe",
	.collect = pipes_collect,
	.check = pipes_check,
	.write = pipes_write,
	.cleanup = pipes_cleanup,
};

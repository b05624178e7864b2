// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipes: each end is a file description (pipe_entry, pipe_id = the pipe's inode); the
 * buffered bytes are copied with tee() from the read end, so nothing is consumed.
 * Self-containment: an end held by a process outside the tree while the tree lacks that end
 * is an external pipe and refused, naming both sides. An end that nobody holds any more
 * (the writer closed) is not external: restore recreates the pipe and closes it again.
 * Restore: one pipe2() per dumped pipe inode, its capacity as dumped, the bytes that were
 * queued in it written back before any task runs, then each end's status flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "fd.h"
#include "img.h"
#include "log.h"
#include "outfmt.h"
#include "rstctx.h"
#include "showctx.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "pipe.pb-c.h"
#include "pipe_data.pb-c.h"

/* What pipe() gives (16 pages); a pipe of another size gets a pipes-data.img entry. */
#define PIPE_DEFAULT_SIZE 65536

struct pipe_rec {
	uint64_t ino;
	struct dump_fd *rd; /* primary fd of the read end in the tree, or NULL */
	struct dump_fd *wr;
	int size; /* F_GETPIPE_SZ, read by pipes_check() */
};

struct dump_pipes {
	struct pipe_rec *v;
	size_t n, cap;
};

extern const struct fd_kind fd_pipe;

static bool pipe_match(const struct fd_probe *p)
{
	return S_ISFIFO(p->st->st_mode) && !strncmp(p->link, "pipe:", 5);
}

static struct dump_pipes *pipes_state(struct dump_ctx *ctx)
{
	void **slot = dump_kstate(ctx, &fd_pipe);

	return slot ? *slot : NULL;
}

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
	void **slot = dump_kstate(ctx, &fd_pipe);
	struct pipe_rec *r;

	if (!slot)
		return -ENOMEM;
	if (!*slot) {
		*slot = calloc(1, sizeof(struct dump_pipes));
		if (!*slot)
			return -ENOMEM;
	}
	r = pipe_rec_get(*slot, f->st.st_ino);
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

		if (f->kind == &fd_pipe && f->primary && f->st.st_ino == ino &&
		    is_read_end(f) == rd)
			return f;
	}
	return NULL;
}

/* The largest size an unprivileged F_SETPIPE_SZ may ask for (CAP_SYS_RESOURCE lifts it). */
static long pipe_max_size(void)
{
	char buf[32] = "";
	FILE *f = fopen("/proc/sys/fs/pipe-max-size", "re");
	long v = 0;

	if (f && fgets(buf, sizeof(buf), f))
		sscanf(buf, "%ld", &v);
	if (f)
		fclose(f);
	return v > 0 ? v : LONG_MAX;
}

/*
 * The pipe's size, from either end; a size restore could not set back (above
 * pipe-max-size, which root without CAP_SYS_RESOURCE may not exceed) is refused now.
 */
static int pipe_size_check(struct dump_ctx *ctx, struct pipe_rec *r)
{
	struct dump_fd *f = r->rd ? r->rd : r->wr;
	long max = pipe_max_size();
	char d[96];

	r->size = f ? fcntl(f->stolen, F_GETPIPE_SZ) : -1;
	if (r->size <= 0 || r->size <= max)
		return 0;
	pr_err("pipe size: %s holds pipe:[%llu] of %d bytes, above /proc/sys/fs/pipe-max-size "
	       "(%ld): a restore without CAP_SYS_RESOURCE cannot make it that large. Raise "
	       "pipe-max-size to %d or more, or shrink the pipe",
	       dump_fd_desc(ctx, f, d, sizeof(d)), (unsigned long long)r->ino, r->size, max,
	       r->size);
	return -EOPNOTSUPP;
}

static int pipes_check(struct dump_ctx *ctx)
{
	struct dump_pipes *p = pipes_state(ctx);
	int failed = 0;
	size_t i;

	for (i = 0; p && i < p->n; i++) {
		struct pipe_rec *r = &p->v[i];
		struct dump_fd *ours;
		char link[64], comm[16], d[96];
		pid_t holder;

		r->rd = refind(ctx, r->ino, true);
		r->wr = refind(ctx, r->ino, false);
		if (pipe_size_check(ctx, r))
			failed = -EOPNOTSUPP;
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
		pr_err("external pipe: %s holds the %s end of %s; its %s end is held by pid %d "
		       "(%s) outside the dumped tree. A dump must be self-contained: dump a tree "
		       "that includes pid %d, or close the pipe in the tree first",
		       dump_fd_desc(ctx, ours, d, sizeof(d)), r->rd ? "read" : "write", link,
		       r->rd ? "write" : "read", holder, comm, holder);
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

	err = r->rd ? pipe_peek(r->rd->stolen, &buf, &len, &size) : 0;
	if (err)
		return pr_err_ret(err, "pipe:[%llu]: cannot copy its buffered data: %s",
				  (unsigned long long)r->ino, strerror(-err));
	size = r->size > 0 ? r->size : size;
	/* an entry for data, and for a size other than the default a new pipe gets */
	if (!len && (size <= 0 || size == PIPE_DEFAULT_SIZE))
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
	struct dump_pipes *p = pipes_state(ctx);
	struct img *img = NULL;
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		struct dump_fd *f = &ctx->fds[i];
		FileEntry fe = FILE_ENTRY__INIT;
		PipeEntry pe = PIPE_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;

		if (f->kind != &fd_pipe || !f->primary)
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
	struct dump_pipes *p = pipes_state(ctx);

	if (!p)
		return;
	free(p->v);
	free(p);
	*dump_kstate(ctx, &fd_pipe) = NULL;
}

/* ---- restore half: messages say "restore: " ---- */
#undef LOG_PREFIX
#define LOG_PREFIX "restore: "

/* The buffered bytes of each dumped pipe (pipes-data.img), loaded before anything runs. */
struct rst_pipes {
	struct rst_blob *data;
	size_t n;
};

static const char *take_pipe_data(const void *msg, struct rst_blob *b)
{
	const PipeDataEntry *p = msg;

	b->id = p->pipe_id;
	b->len = p->bytes;
	b->extra = p->has_size ? p->size : 0;
	return NULL;
}

static int pipe_load(struct rst_set *set)
{
	void **slot = rst_kstate(set, &fd_pipe);
	struct rst_pipes *p;
	int err;

	if (!slot)
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	*slot = p;
	err = rst_read_blobs(set, IMG_PIPES_DATA, take_pipe_data, &p->data, &p->n);
	return err;
}

static void pipe_release(struct rst_set *set)
{
	struct rst_pipes *p = rst_kstate_get(set, &fd_pipe);

	if (!p)
		return;
	rst_blobs_free(p->data, p->n);
	free(p);
	*rst_kstate(set, &fd_pipe) = NULL;
}

static const struct rst_blob *pipe_data(const struct rst_set *set, uint32_t pipe_id)
{
	const struct rst_pipes *p = rst_kstate_get(set, &fd_pipe);
	size_t i;

	for (i = 0; p && i < p->n; i++)
		if (p->data[i].id == pipe_id)
			return &p->data[i];
	return NULL;
}

static int fill_pipe(int wfd, const struct rst_blob *d, uint32_t pipe_id)
{
	const char *p = d->data;
	size_t left = d->len;

	if (d->extra && fcntl(wfd, F_SETPIPE_SZ, (int)d->extra) < 0)
		return pr_perror_ret("pipe %u: cannot set its size to %u bytes (raise "
				     "/proc/sys/fs/pipe-max-size?)",
				     pipe_id, d->extra);
	/* Non-blocking: a dump can't hold more than the pipe takes, but never hang on it. */
	if (fcntl(wfd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	while (left) {
		ssize_t n = write(wfd, p, left);

		if (n < 0)
			return pr_perror_ret("pipe %u: cannot put back %zu queued bytes", pipe_id,
					     d->len);
		p += n;
		left -= n;
	}
	return 0;
}

/* Give each file entry of this pipe its end, with the dumped status flags. */
static int reopen_end(struct rst_set *set, int end_fd, int end)
{
	char path[64];
	int fd, err;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", end_fd);
	fd = open(path, (end ? O_WRONLY : O_RDONLY) | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = rst_park_fd(set, &fd);
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

static int assign_ends(struct rst_set *set, uint32_t pipe_id, int p[2])
{
	bool given[2] = { false, false };
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i];
		const PipeEntry *pe = f->fe->pipe;
		int end, fd;

		if (f->fe->type != FD_TYPES__PIPE || !pe || pe->pipe_id != pipe_id)
			continue;
		end = (pe->flags & O_ACCMODE) == O_WRONLY ? 1 : 0;
		/* a second description of the same end (reopened through /proc) gets its own
		 * flags: open the end again rather than share one description */
		fd = given[end] ? reopen_end(set, p[end], end) :
				  fcntl(p[end], F_DUPFD_CLOEXEC, (int)set->max_fd + 1);
		if (fd < 0)
			return fd == -1 ? -errno : fd;
		given[end] = true;
		f->ctl_fd = fd;
		if (fcntl(fd, F_SETFL, (int)(pe->flags & (O_NONBLOCK | O_DIRECT))) < 0) {
			err = -errno;
			pr_err("pipe %u: cannot set flags %#x: %s", pipe_id, pe->flags,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

static int pipe_create(struct rst_set *set)
{
	size_t i, j;
	int err;

	for (i = 0; i < set->n_files; i++) {
		const PipeEntry *pe = set->files[i].fe->pipe;
		const struct rst_blob *d;
		bool seen = false;
		int p[2];

		if (set->files[i].fe->type != FD_TYPES__PIPE || !pe)
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = set->files[j].fe->pipe &&
			       set->files[j].fe->pipe->pipe_id == pe->pipe_id;
		if (seen)
			continue;
		if (pipe2(p, O_CLOEXEC))
			return pr_perror_ret("cannot create pipe %u", pe->pipe_id);
		d = pipe_data(set, pe->pipe_id);
		err = d ? fill_pipe(p[1], d, pe->pipe_id) : 0;
		if (!err)
			err = assign_ends(set, pe->pipe_id, p);
		close(p[0]);
		close(p[1]);
		if (err)
			return err;
	}
	return 0;
}

/* ---- crux show: each read end with the bytes queued in its pipe ---- */
struct show_pipes {
	struct qsum *q; /* per pipe id */
	size_t n, cap;
};

static uint32_t pipe_payload(const void *msg)
{
	return ((const PipeDataEntry *)msg)->bytes;
}

static int pipe_show_load(struct fd_show *s)
{
	void **slot = show_kstate(s, &fd_pipe), **msgs = NULL;
	struct show_pipes *p;
	size_t n = 0, i;
	int err;

	if (!slot || !(*slot = p = calloc(1, sizeof(*p))))
		return pr_err_ret(-ENOMEM, "out of memory");
	err = show_load(s, IMG_PIPES_DATA, 0, true, pipe_payload, &msgs, &n);
	for (i = 0; !err && i < n; i++)
		err = show_qsum_add(&p->q, &p->n, &p->cap, ((PipeDataEntry *)msgs[i])->pipe_id,
				    ((PipeDataEntry *)msgs[i])->bytes, 0);
	show_msgs_free(msgs, n);
	show_qsum_sort(p->q, &p->n);
	return err;
}

static int pipe_show(struct fd_show *s, enum fd_show_step step, const FileEntry *f)
{
	struct show_pipes *p = show_kstate_get(s, &fd_pipe);
	uint64_t bytes = 0;
	size_t i;
	bool wr;

	if (step == FD_SHOW_LOAD)
		return pipe_show_load(s);
	if (!p)
		return 0;
	switch (step) {
	case FD_SHOW_FILE:
		if (!f->pipe)
			break;
		wr = (f->pipe->flags & O_ACCMODE) == O_WRONLY;
		outfmt_uint(s->o, "pipe_id", "pipe[%llu]", f->pipe->pipe_id);
		outfmt_str(s->o, "end", " %s end", wr ? "write" : "read");
		if (!wr)
			show_out_queue(s, show_qsum_find(p->q, p->n, f->pipe->pipe_id), "chunk");
		break;
	case FD_SHOW_TOTALS:
		for (i = 0; i < p->n; i++)
			bytes += p->q[i].bytes;
		outfmt_uint(s->o, "pipe_bytes", ", %llu bytes in pipes", bytes);
		break;
	case FD_SHOW_FREE:
		free(p->q);
		free(p);
		*show_kstate(s, &fd_pipe) = NULL;
		break;
	default:
		break;
	}
	return 0;
}

const struct fd_kind fd_pipe = {
	.name = "pipe",
	.fd_type = FD_TYPES__PIPE,
	.steal = true, /* the buffered bytes are tee()d from a copy of the read end */
	.match = pipe_match,
	.collect = pipes_collect,
	.check = pipes_check,
	.write = pipes_write,
	.cleanup = pipes_cleanup,
	.load = pipe_load,
	.create = pipe_create,
	.release = pipe_release,
	.show = pipe_show,
};

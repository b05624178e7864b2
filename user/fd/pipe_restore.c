// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pipes: one pipe2() per dumped pipe inode, its capacity as dumped, the bytes that were
 * queued in it written back before any task runs, then each end's status flags.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "fdinfo.pb-c.h"

static const struct rst_blob *pipe_data(const struct rst_set *set, uint32_t pipe_id)
{
	size_t i;

	for (i = 0; i < set->n_pipe_data; i++)
		if (set->pipe_data[i].id == pipe_id)
			return &set->pipe_data[i];
	return NULL;
}

static int fill_pipe(int wfd, const struct rst_blob *d, uint32_t pipe_id)
{
	const char *p = d->data;
	size_t left = d->len;

	if (d->extra && fcntl(wfd, F_SETPIPE_SZ, (int)d->extra) < 0)
		return pr_err_ret(-errno,
				  "pipe %u: cannot set its size to %u bytes: %s (raise "
				  "/proc/sys/fs/pipe-max-size?)",
				  pipe_id, d->extra, strerror(errno));
	/* Non-blocking: a dump can't hold more than the pipe takes, but never hang on it. */
	if (fcntl(wfd, F_SETFL, O_NONBLOCK) < 0)
		return -errno;
	while (left) {
		ssize_t n = write(wfd, p, left);

		if (n < 0)
			return pr_err_ret(-errno, "pipe %u: cannot put back %zu queued bytes: %s",
					  pipe_id, d->len, strerror(errno));
		p += n;
		left -= n;
	}
	return 0;
}

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

/* Give each file entry of this pipe its end, with the dumped status flags. */
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

int rst_pipes_create(struct rst_set *set)
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
			seen = set->files[j].fe->pipe && set->files[j].fe->pipe->pipe_id == pe->pipe_id;
		if (seen)
			continue;
		if (pipe2(p, O_CLOEXEC))
			return pr_err_ret(-errno, "cannot create pipe %u: %s", pe->pipe_id,
					  strerror(errno));
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

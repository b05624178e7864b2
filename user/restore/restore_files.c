// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's half of the fd restore, walking the table of fd kinds (fd.h) without
 * naming any: every open file description of files.img is created once, here, parked
 * above every dumped fd number; the tasks inherit them when they are forked and dup2 them
 * to their dumped numbers (restore_tree.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "fd.h"
#include "log.h"
#include "restore.h"
#include "util.h"

#include "fdinfo.pb-c.h"

int rst_files_load(struct rst_set *set)
{
	const struct fd_kind *k;
	size_t i;
	int err;

	fd_for_each_kind(i, k) {
		err = k->load ? k->load(set) : 0;
		if (err)
			return err;
	}
	return 0;
}

void rst_files_validate(struct rst_set *set)
{
	const struct fd_kind *k;
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++) {
		const struct rst_task *t = &set->tasks[i];

		for (j = 0; j < t->n_fds; j++) {
			const struct rst_fd *d = &t->fds[j];

			k = fd_kind_by_type(d->file->fe->type);
			if (!k || !k->create)
				rst_problem(set,
					    "pid %d fd %u: file type %d cannot be restored yet",
					    t->pid, d->fd, d->file->fe->type);
		}
	}
	fd_for_each_kind(i, k)
		if (k->validate)
			k->validate(set);
}

int rst_files_create(struct rst_set *set)
{
	const struct fd_kind *k;
	size_t i;
	int err;

	fd_for_each_kind(i, k) {
		err = k->create ? k->create(set) : 0;
		if (err)
			return err;
	}
	/* files that refer to other files (epoll targets) once every file exists */
	fd_for_each_kind(i, k) {
		err = k->post_create ? k->post_create(set) : 0;
		if (err)
			return err;
	}
	return 0;
}

void rst_files_close(struct rst_set *set)
{
	size_t i;

	for (i = 0; i < set->n_files; i++) {
		if (set->files[i].ctl_fd >= 0)
			close(set->files[i].ctl_fd);
		set->files[i].ctl_fd = -1;
	}
}

int rst_files_in_task(const struct rst_set *set, const struct rst_task *t)
{
	const struct fd_kind *k;
	size_t i;
	int err;

	fd_for_each_kind(i, k) {
		err = k->in_task ? k->in_task(set, t->pid, t->fds, t->n_fds) : 0;
		if (err)
			return err;
	}
	return 0;
}

int rst_files_finish(struct rst_set *set)
{
	const struct fd_kind *k;
	size_t i;
	int err;

	fd_for_each_kind(i, k) {
		err = k->finish ? k->finish(set) : 0;
		if (err)
			return err;
	}
	return 0;
}

void rst_files_abort(struct rst_set *set)
{
	const struct fd_kind *k;
	size_t i;

	fd_for_each_kind(i, k)
		if (k->abort)
			k->abort(set);
}

void rst_files_release(struct rst_set *set)
{
	const struct fd_kind *k;
	size_t i;

	fd_for_each_kind(i, k)
		if (k->release)
			k->release(set);
}

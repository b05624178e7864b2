// SPDX-License-Identifier: GPL-2.0-only
/*
 * The controller's half of the fd restore: every open file description of files.img is
 * created once, here, parked above every dumped fd number; the tasks inherit them when
 * they are forked and dup2 them to their dumped numbers (restore_tree.c). Regular files
 * are reopened at their offset and flags; pipes and unix sockets have their own files.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "inet_restore.h"
#include "restore.h"
#include "util.h"

#include "fdinfo.pb-c.h"

/* Flags that describe how a file was created, not how it is open. */
#define OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)

int rst_park_fd(struct rst_set *set, int *fd)
{
	int nfd = fcntl(*fd, F_DUPFD_CLOEXEC, (int)set->max_fd + 1);

	if (nfd < 0)
		return -errno;
	close(*fd);
	*fd = nfd;
	return 0;
}

int rst_reg_open(struct rst_set *set, struct rst_file *f)
{
	const RegFileEntry *r = f->fe->reg;
	_cleanup_close_ int fd = -1;
	int err;

	fd = open(r->name, (int)(r->flags & ~OPEN_ONLY_FLAGS) | O_CLOEXEC);
	if (fd < 0)
		return pr_err_ret(-errno, "cannot reopen %s (file id %u): %s", r->name, r->id,
				  strerror(errno));
	if (r->pos && lseek(fd, (off_t)r->pos, SEEK_SET) < 0 && errno != ESPIPE)
		return pr_err_ret(-errno, "cannot seek %s to offset %llu: %s", r->name,
				  (unsigned long long)r->pos, strerror(errno));
	err = rst_park_fd(set, &fd);
	if (err) {
		pr_err("cannot park the fd of %s: %s", r->name, strerror(-err));
		return err;
	}
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

int rst_files_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i];

		if (f->fe->type != FD_TYPES__REG || !f->fe->reg)
			continue;
		/* Only files some task holds open: cwd, exe and mappings are opened later. */
		if (!rst_file_in_use(set, f))
			continue;
		err = rst_reg_open(set, f);
		if (err)
			return err;
	}
	err = rst_pipes_create(set);
	if (!err)
		err = rst_unix_create(set);
	if (!err)
		err = rst_inet_create(set);
	if (!err)
		err = rst_netlink_create(set);
	return err;
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

bool rst_file_in_use(const struct rst_set *set, const struct rst_file *f)
{
	size_t i, j;

	for (i = 0; i < set->n_tasks; i++)
		for (j = 0; j < set->tasks[i].n_fds; j++)
			if (set->tasks[i].fds[j].file == f)
				return true;
	return false;
}

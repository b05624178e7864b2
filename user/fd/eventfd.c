// SPDX-License-Identifier: GPL-2.0-only
/*
 * eventfd: the counter and EFD_SEMAPHORE from /proc/PID/fdinfo (eventfd-count,
 * eventfd-semaphore), O_NONBLOCK from the file's flags. An eventfd is always O_RDWR, so
 * file_entry.efd.flags carries EFD_SEMAPHORE (bit 0) where the access mode would be.
 * Restore: eventfd(counter, flags) in the controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define LOG_PREFIX "eventfd: "
#include "dumpctx.h"
#include "evloop.h"
#include "fd.h"
#include "log.h"
#include "rstctx.h"
#include "util.h"
#include "eventfd.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"

extern const struct fd_kind fd_eventfd;

static bool efd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[eventfd]");
}

static int parse(struct dump_ctx *ctx, const struct dump_fd *f, uint64_t *count, bool *sem)
{
	_cleanup_free_ char *text = NULL;
	unsigned long long v;
	unsigned int sem_u = 0;
	const char *p;
	char d[96];
	int err = evl_fdinfo_text(ctx, f, &text);

	if (err)
		return err;
	p = strstr(text, "eventfd-count:");
	if (!p)
		return pr_err_ret(-EINVAL, "%s: no eventfd-count in its fdinfo",
				  dump_fd_desc(ctx, f, d, sizeof(d)));
	if (sscanf(p, "eventfd-count: %llx", &v) != 1)
		return pr_err_ret(-EINVAL, "%s: cannot parse eventfd-count in its fdinfo",
				  dump_fd_desc(ctx, f, d, sizeof(d)));
	*count = v;
	p = strstr(text, "eventfd-semaphore:");
	/* kernels before 6.6 do not show it: refuse rather than guess */
	if (!p || sscanf(p, "eventfd-semaphore: %u", &sem_u) != 1)
		return pr_err_ret(
			-EOPNOTSUPP,
			"%s: this kernel does not show eventfd-semaphore in fdinfo (Linux "
			"6.6+): cannot tell EFD_SEMAPHORE",
			dump_fd_desc(ctx, f, d, sizeof(d)));
	*sem = sem_u != 0;
	return 0;
}

static int efd_dump_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		const struct dump_fd *f = &ctx->fds[i];
		FileEntry fe = FILE_ENTRY__INIT;
		EventfdFileEntry e = EVENTFD_FILE_ENTRY__INIT;
		FownEntry fown;
		bool sem = false;

		if (f->kind != &fd_eventfd || !f->primary)
			continue;
		err = parse(ctx, f, &e.counter, &sem);
		if (err)
			return err;
		evl_fown_zero(&fown);
		e.id = f->file_id;
		e.flags = (f->fi.flags & ~(uint32_t)O_ACCMODE) | (sem ? EFD_SEMAPHORE : 0);
		e.fown = &fown;
		fe.type = FD_TYPES__EVENTFD;
		fe.id = f->file_id;
		fe.efd = &e;
		err = dump_write_file_entry(ctx, &fe);
		if (err)
			return err;
	}
	return 0;
}

static int efd_open(struct rst_set *set, struct rst_file *f)
{
	const EventfdFileEntry *e = f->fe->efd;
	_cleanup_close_ int fd = -1;
	int err;

	/* created empty and non-blocking: a write() adds any 64-bit count without blocking */
	fd = eventfd(0, (int)(e->flags & EFD_SEMAPHORE) | EFD_NONBLOCK | EFD_CLOEXEC);
	if (fd < 0)
		return pr_perror_ret("file id %u: cannot create the eventfd", e->id);
	if (e->counter && write(fd, &e->counter, sizeof(e->counter)) != sizeof(e->counter))
		return pr_perror_ret("file id %u: cannot set the eventfd counter to %llu", e->id,
				     (unsigned long long)e->counter);
	if (!(e->flags & O_NONBLOCK) && fcntl(fd, F_SETFL, 0))
		return pr_perror_ret("file id %u: cannot clear O_NONBLOCK", e->id);
	err = rst_park_fd(set, &fd);
	if (err)
		return pr_err_ret(err, "cannot park an eventfd: %s", strerror(-err));
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

static int efd_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		if (set->files[i].fe->type != FD_TYPES__EVENTFD || !set->files[i].fe->efd)
			continue;
		err = efd_open(set, &set->files[i]);
		if (err)
			return err;
	}
	return 0;
}

const struct fd_kind fd_eventfd = {
	.name = "eventfd",
	.fd_type = FD_TYPES__EVENTFD,
	.match = efd_match,
	.write = efd_dump_write,
	.create = efd_create,
	.show = evl_show,
};

// SPDX-License-Identifier: GPL-2.0-only
/*
 * signalfd: the set of signals it accepts (fdinfo "sigmask", the user's mask) and
 * O_NONBLOCK. Pending signals belong to the task and are restored with it; the signalfd
 * only reads them. Restore: signalfd4(-1, mask) in the controller.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LOG_PREFIX "signalfd: "
#include "dumpctx.h"
#include "evloop.h"
#include "fd.h"
#include "log.h"
#include "rstctx.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"
#include "signalfd.pb-c.h"

extern const struct fd_kind fd_signalfd;

static bool sfd_match(const struct fd_probe *p)
{
	return !strcmp(p->link, "anon_inode:[signalfd]");
}

static int signalfd_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		const struct dump_fd *f = &ctx->fds[i];
		FileEntry fe = FILE_ENTRY__INIT;
		SignalfdEntry e = SIGNALFD_ENTRY__INIT;
		_cleanup_free_ char *text = NULL;
		unsigned long long mask;
		FownEntry fown;
		const char *p;
		char d[96];

		if (f->kind != &fd_signalfd || !f->primary)
			continue;
		err = evl_fdinfo_text(ctx, f, &text);
		if (err)
			return err;
		p = strstr(text, "sigmask:");
		if (!p || sscanf(p, "sigmask: %llx", &mask) != 1)
			return pr_err_ret(-EINVAL, "%s: no sigmask in its fdinfo",
					  dump_fd_desc(ctx, f, d, sizeof(d)));
		evl_fown_zero(&fown);
		e.id = f->file_id;
		e.flags = f->fi.flags;
		e.fown = &fown;
		e.sigmask = mask;
		fe.type = FD_TYPES__SIGNALFD;
		fe.id = f->file_id;
		fe.sgfd = &e;
		err = dump_write_file_entry(ctx, &fe);
		if (err)
			return err;
	}
	return 0;
}

static int sfd_open(struct rst_set *set, struct rst_file *f)
{
	const SignalfdEntry *e = f->fe->sgfd;
	uint64_t mask = e->sigmask;
	int fd, err;

	/* the kernel's sigset is 8 bytes here; glibc's sigset_t is 128 */
	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			  (e->flags & O_NONBLOCK ? SFD_NONBLOCK : 0) | SFD_CLOEXEC);
	if (fd < 0)
		return pr_perror_ret("file id %u: cannot create the signalfd (mask %#llx)", e->id,
				     (unsigned long long)mask);
	err = rst_park_fd(set, &fd);
	if (err) {
		close(fd);
		return pr_err_ret(err, "cannot park a signalfd: %s", strerror(-err));
	}
	f->ctl_fd = fd;
	return 0;
}

static int sfd_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		if (set->files[i].fe->type != FD_TYPES__SIGNALFD || !set->files[i].fe->sgfd)
			continue;
		err = sfd_open(set, &set->files[i]);
		if (err)
			return err;
	}
	return 0;
}

const struct fd_kind fd_signalfd = {
	.name = "signalfd",
	.fd_type = FD_TYPES__SIGNALFD,
	.match = sfd_match,
	.write = signalfd_write,
	.create = sfd_create,
	.show = evl_show,
};

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
#include "dump.h"
#include "log.h"
#include "restore.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "fown.pb-c.h"
#include "signalfd.pb-c.h"

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

		if (f->kind != DUMP_FD_SIGNALFD || !f->primary)
			continue;
		err = dump_fdinfo_text(ctx, f, &text);
		if (err)
			return err;
		p = strstr(text, "sigmask:");
		if (!p || sscanf(p, "sigmask: %llx", &mask) != 1)
			return pr_err_ret(-EINVAL, "%s: no sigmask in its fdinfo",
					  dump_fd_desc(ctx, f, d, sizeof(d)));
		dump_fown_zero(&fown);
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

const struct dump_fd_ops dump_signalfd_ops = {
	.name = "signalfd",
	.write = signalfd_write,
};

int rst_signalfd_open(struct rst_set *set, struct rst_file *f)
{
	const SignalfdEntry *e = f->fe->sgfd;
	uint64_t mask = e->sigmask;
	int fd, err;

	/* the kernel's sigset is 8 bytes here; glibc's sigset_t is 128 */
	fd = (int)syscall(SYS_signalfd4, -1, &mask, sizeof(mask),
			  (e->flags & O_NONBLOCK ? SFD_NONBLOCK : 0) | SFD_CLOEXEC);
	if (fd < 0)
		return pr_err_ret(-errno, "file id %u: cannot create the signalfd (mask %#llx): %s",
				  e->id, (unsigned long long)mask, strerror(errno));
	err = rst_park_fd(set, &fd);
	if (err) {
		close(fd);
		return pr_err_ret(err, "cannot park a signalfd: %s", strerror(-err));
	}
	f->ctl_fd = fd;
	return 0;
}

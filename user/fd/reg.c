// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regular files, directories and character devices (/dev/null, ttys...): dumped by path,
 * with their status flags and offset. Deleted files and files without a path were already
 * refused by dump_fds.c.
 */
#include <errno.h>
#include <string.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "log.h"
#include "fdinfo.pb-c.h"
#include "regfile.pb-c.h"

static int files_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		struct dump_fd *f = &ctx->fds[i];
		FileEntry fe = FILE_ENTRY__INIT;
		RegFileEntry reg = REG_FILE_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;

		if (f->kind != DUMP_FD_REG || !f->primary)
			continue;
		reg.id = f->file_id;
		reg.flags = f->fi.flags;
		reg.pos = f->fi.pos;
		reg.fown = &fown;
		reg.name = f->link;
		reg.has_mnt_id = true;
		reg.mnt_id = f->fi.mnt_id;
		reg.has_mode = true;
		reg.mode = f->st.st_mode;
		if (S_ISREG(f->st.st_mode)) {
			reg.has_size = true;
			reg.size = (uint64_t)f->st.st_size;
		}
		fe.type = FD_TYPES__REG;
		fe.id = f->file_id;
		fe.reg = &reg;
		err = dump_write_file_entry(ctx, &fe);
		if (err)
			return err;
	}
	return 0;
}

const struct dump_fd_ops dump_files_ops = {
	.name = "file",
	.write = files_write,
};

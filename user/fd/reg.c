// SPDX-License-Identifier: GPL-2.0-only
/*
 * Regular files, directories and character devices (/dev/null, ttys...): dumped by path,
 * with their status flags and offset; reopened by path at restore. Deleted files and files
 * without a path are not matched (the dump driver refuses them by what they are).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dumpctx.h"
#include "fd.h"
#include "log.h"
#include "outfmt.h"
#include "rstctx.h"
#include "showctx.h"
#include "util.h"
#include "fdinfo.pb-c.h"
#include "regfile.pb-c.h"

extern const struct fd_kind fd_reg;

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

/* A file reopened by its path: it must have one, and it must still be there. */
static bool reg_match(const struct fd_probe *p)
{
	switch (p->st->st_mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFCHR:
		return p->link[0] == '/' && !ends_with(p->link, " (deleted)");
	default:
		return false;
	}
}

static int files_write(struct dump_ctx *ctx)
{
	size_t i;
	int err;

	for (i = 0; i < ctx->n_fds; i++) {
		struct dump_fd *f = &ctx->fds[i];
		FileEntry fe = FILE_ENTRY__INIT;
		RegFileEntry reg = REG_FILE_ENTRY__INIT;
		FownEntry fown = FOWN_ENTRY__INIT;

		if (f->kind != &fd_reg || !f->primary)
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

/* ---- restore half: messages say "restore: " ---- */
#undef LOG_PREFIX
#define LOG_PREFIX "restore: "

/* Flags that describe how a file was created, not how it is open. */
#define OPEN_ONLY_FLAGS (O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY)

/* The files some task holds must still be there (cwd, exe, mappings: restore_validate.c). */
static void reg_validate(struct rst_set *set)
{
	struct stat st;
	size_t i;

	for (i = 0; i < set->n_files; i++) {
		const struct rst_file *f = &set->files[i];
		const RegFileEntry *r = f->fe->reg;

		if (f->fe->type != FD_TYPES__REG || !r || (!f->pid && !f->inflight))
			continue;
		if (stat(r->name, &st))
			rst_problem(set, "pid %d: file %s: %s; put it back before restoring",
				    f->pid, r->name, strerror(errno));
	}
}

static int reg_open(struct rst_set *set, struct rst_file *f)
{
	const RegFileEntry *r = f->fe->reg;
	_cleanup_close_ int fd = -1;
	int err;

	fd = open(r->name, (int)(r->flags & ~OPEN_ONLY_FLAGS) | O_CLOEXEC);
	if (fd < 0)
		return pr_perror_ret("cannot reopen %s (file id %u)", r->name, r->id);
	if (r->pos && lseek(fd, (off_t)r->pos, SEEK_SET) < 0 && errno != ESPIPE)
		return pr_perror_ret("cannot seek %s to offset %llu", r->name,
				     (unsigned long long)r->pos);
	err = rst_park_fd(set, &fd);
	if (err) {
		pr_err("cannot park the fd of %s: %s", r->name, strerror(-err));
		return err;
	}
	f->ctl_fd = TAKE_FD(fd);
	return 0;
}

static int reg_create(struct rst_set *set)
{
	size_t i;
	int err;

	for (i = 0; i < set->n_files; i++) {
		struct rst_file *f = &set->files[i];

		if (f->fe->type != FD_TYPES__REG || !f->fe->reg)
			continue;
		/* Files some task holds or a message carries: cwd, exe, mappings come later. */
		if (!f->pid && !f->inflight)
			continue;
		err = reg_open(set, f);
		if (err)
			return err;
	}
	return 0;
}

/* ---- crux show ---- */
static int reg_show(struct fd_show *s, enum fd_show_step step, const FileEntry *f)
{
	if (step != FD_SHOW_FILE)
		return 0;
	if (!f->reg) {
		outfmt_text(s->o, "REG.%u", f->id);
		return 0;
	}
	outfmt_str(s->o, "path", "%s", f->reg->name);
	if (f->reg->pos || outfmt_json(s->o))
		outfmt_uint(s->o, "pos", " pos %llu", f->reg->pos);
	return 0;
}

const struct fd_kind fd_reg = {
	.name = "file",
	.fd_type = FD_TYPES__REG,
	.match = reg_match,
	.write = files_write,
	.validate = reg_validate,
	.create = reg_create,
	.show = reg_show,
};

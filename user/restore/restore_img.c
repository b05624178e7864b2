// SPDX-License-Identifier: GPL-2.0-only
/*
 * Load a whole image directory into memory before anything is created, so that a corrupt
 * or truncated file is refused (with its name and byte offset) while nothing has changed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* task_core_entry.task_state of a zombie (CRIU's TASK_DEAD) */
#define TASK_STATE_DEAD 2

#define LOG_PREFIX "restore: "
#include "img.h"
#include "log.h"
#include "pb.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"
#include "seccomp.pb-c.h"
#include "crux_task.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "mm.pb-c.h"
#include "pstree.pb-c.h"

/* Exactly one message. */
static int read_one(struct rst_set *set, enum img_type t, unsigned long key,
		    const ProtobufCMessageDescriptor *desc, bool missing_ok, void **ret)
{
	void **arr;
	size_t n, i;
	char name[64];
	int err;

	err = rst_read_all(set, t, key, desc, missing_ok, &arr, &n);
	if (err)
		return err;
	if (n == 1 || (n == 0 && missing_ok)) {
		*ret = n ? arr[0] : NULL;
		free(arr);
		return 0;
	}
	for (i = 0; i < n; i++)
		pb_free(arr[i]);
	free(arr);
	img_name(t, key, name, sizeof(name));
	pr_err("image %s: %s holds %zu messages, expected one", imgdir_path(set->dir), name, n);
	return -EBADMSG;
}

static int cmp_file(const void *a, const void *b)
{
	const struct rst_file *x = a, *y = b;

	return x->fe->id < y->fe->id ? -1 : x->fe->id > y->fe->id;
}

const char *rst_reg_name(const struct rst_set *set, uint32_t id)
{
	struct rst_file *f = rst_file_by_id(set, id);

	return f && f->fe->reg ? f->fe->reg->name : NULL;
}

static int load_files(struct rst_set *set)
{
	void **arr;
	size_t n, i;
	int err;

	err = rst_read_all(set, IMG_FILES, 0, &file_entry__descriptor, false, &arr, &n);
	if (err)
		return err;
	set->files = calloc(n ? n : 1, sizeof(*set->files));
	if (!set->files) {
		for (i = 0; i < n; i++)
			pb_free(arr[i]);
		free(arr);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		set->files[i].fe = arr[i];
		set->files[i].ctl_fd = -1;
	}
	set->n_files = n;
	free(arr);
	qsort(set->files, n, sizeof(*set->files), cmp_file);
	for (i = 1; i < n; i++)
		if (set->files[i].fe->id == set->files[i - 1].fe->id) {
			pr_err("image %s: files.img holds file id %u twice", imgdir_path(set->dir),
			       set->files[i].fe->id);
			return -EBADMSG;
		}
	return 0;
}

static int load_fds(struct rst_set *set, struct rst_task *t, uint32_t files_id)
{
	void **arr;
	size_t n, i;
	int err;

	err = rst_read_all(set, IMG_FDINFO, files_id, &fdinfo_entry__descriptor, false, &arr, &n);
	if (err)
		return err;
	t->fds = calloc(n ? n : 1, sizeof(*t->fds));
	for (i = 0; i < n && t->fds; i++) {
		FdinfoEntry *e = arr[i];

		t->fds[i].fd = e->fd;
		t->fds[i].cloexec = e->flags & FD_CLOEXEC;
		t->fds[i].file = rst_file_by_id(set, e->id);
		if (t->fds[i].file && !t->fds[i].file->pid) {
			t->fds[i].file->pid = t->pid;
			t->fds[i].file->fd = e->fd;
		}
		if (!t->fds[i].file && !err) {
			pr_err("image %s: fdinfo-%u.img: fd %u of pid %d refers to file id %u, "
			       "which files.img does not hold",
			       imgdir_path(set->dir), files_id, e->fd, t->pid, e->id);
			err = -EBADMSG;
		}
		set->max_fd = MAX(set->max_fd, e->fd);
	}
	for (i = 0; i < n; i++)
		pb_free(arr[i]);
	free(arr);
	if (!t->fds)
		return -ENOMEM;
	t->n_fds = n;
	return err;
}

/* core-<tid>.img of every thread but the leader: registers and thread_core. */
static int load_threads(struct rst_set *set, struct rst_task *t)
{
	size_t j;
	int err;

	for (j = 0; j < t->n_threads; j++) {
		struct rst_thread *th = &t->threads[j];

		err = read_one(set, IMG_CORE, th->tid, &core_entry__descriptor, false,
			       (void **)&th->core);
		if (err)
			return err;
		if (!th->core->thread_info || !th->core->thread_info->gpregs) {
			pr_err("image %s: core-%d.img (thread of pid %d) has no registers",
			       imgdir_path(set->dir), th->tid, t->pid);
			return -EBADMSG;
		}
	}
	return 0;
}

/* A zombie has its core (the wait status) and nothing else; never the root, no threads. */
static int load_zombie(struct rst_set *set, struct rst_task *t)
{
	if (t->parent < 0 || t->n_threads) {
		pr_err("image %s: pid %d is a zombie %s", imgdir_path(set->dir), t->pid,
		       t->parent < 0 ? "at the root of the tree" : "with threads");
		return -EBADMSG;
	}
	t->zombie = true;
	return 0;
}

static int load_task(struct rst_set *set, struct rst_task *t)
{
	TaskKobjIdsEntry *ids = NULL;
	int err;

	err = read_one(set, IMG_CORE, t->pid, &core_entry__descriptor, false, (void **)&t->core);
	if (!err && t->core->tc && t->core->tc->task_state == TASK_STATE_DEAD)
		return load_zombie(set, t);
	if (!err && (!t->core->thread_info || !t->core->tc || !t->core->thread_info->gpregs)) {
		pr_err("image %s: core-%d.img has no registers or no task core",
		       imgdir_path(set->dir), t->pid);
		err = -EBADMSG;
	}
	if (!err)
		err = read_one(set, IMG_MM, t->pid, &mm_entry__descriptor, false, (void **)&t->mm);
	if (!err)
		err = read_one(set, IMG_FS, t->pid, &fs_entry__descriptor, false, (void **)&t->fs);
	if (!err)
		err = load_threads(set, t);
	if (!err)
		err = read_one(set, IMG_CRUX_TASK, t->pid, &crux_task_entry__descriptor, true,
			       (void **)&t->crux);
	if (!err)
		err = read_one(set, IMG_IDS, t->pid, &task_kobj_ids_entry__descriptor, false,
			       (void **)&ids);
	if (!err)
		err = load_fds(set, t, ids->files_id);
	pb_free(ids);
	if (!err)
		err = rst_chain_pages(set, t);
	return err;
}

/* pstree_entry.threads: the leader first (as CRIU writes it), then the other threads. */
static int take_threads(struct rst_set *set, struct rst_task *t, const PstreeEntry *p)
{
	size_t j;

	if (p->n_threads && p->threads[0] != p->pid) {
		pr_err("image %s: pstree.img: the first thread of pid %d is %u, not the leader",
		       imgdir_path(set->dir), t->pid, p->threads[0]);
		return -EBADMSG;
	}
	if (p->n_threads < 2)
		return 0;
	t->threads = calloc(p->n_threads - 1, sizeof(*t->threads));
	if (!t->threads)
		return -ENOMEM;
	for (j = 1; j < p->n_threads; j++)
		t->threads[t->n_threads++].tid = (pid_t)p->threads[j];
	return 0;
}

static int load_tree(struct rst_set *set)
{
	void **arr;
	size_t n, i, j;
	int err;

	err = rst_read_all(set, IMG_PSTREE, 0, &pstree_entry__descriptor, false, &arr, &n);
	if (err)
		return err;
	set->tasks = calloc(n ? n : 1, sizeof(*set->tasks));
	for (i = 0; i < n && set->tasks; i++) {
		PstreeEntry *p = arr[i];
		struct rst_task *t = &set->tasks[i];

		t->pid = p->pid;
		t->ppid = p->ppid;
		t->pgid = p->pgid;
		t->sid = p->sid;
		t->parent = -1;
		if (!err)
			err = take_threads(set, t, p);
		for (j = 0; j < i; j++)
			if (set->tasks[j].pid == t->ppid)
				t->parent = j;
		if (i > 0 && t->parent < 0 && !err) {
			pr_err("image %s: pstree.img: pid %d comes before its parent %d or has "
			       "none in the image",
			       imgdir_path(set->dir), t->pid, t->ppid);
			err = -EBADMSG;
		}
	}
	set->n_tasks = set->tasks ? n : 0;
	for (i = 0; i < n; i++)
		pb_free(arr[i]);
	free(arr);
	if (!set->tasks)
		return -ENOMEM;
	if (!err && n == 0) {
		pr_err("image %s: pstree.img lists no task", imgdir_path(set->dir));
		err = -EBADMSG;
	}
	return err;
}

/* seccomp.img, when some thread runs under filters: every chain checked now. */
static int load_seccomp(struct rst_set *set)
{
	size_t i, j;
	int err;

	err = read_one(set, IMG_SECCOMP, 0, &seccomp_entry__descriptor, true,
		       (void **)&set->seccomp);
	for (i = 0; !err && i < set->n_tasks; i++) {
		const struct rst_task *t = &set->tasks[i];

		err = rst_seccomp_validate(set, t->core, t->pid);
		for (j = 0; !err && j < t->n_threads; j++)
			err = rst_seccomp_validate(set, t->threads[j].core, t->threads[j].tid);
	}
	return err;
}

int rst_load(const struct rst_opts *opts, struct rst_set **ret)
{
	struct rst_set *set = calloc(1, sizeof(*set));
	size_t i;
	int err;

	if (!set)
		return -ENOMEM;
	set->guard.fd = -1; /* started by do_restore() */
	set->opts = opts;
	err = imgdir__open(opts->dir, &set->dir);
	if (err) {
		if (err == -ENODATA)
			pr_err("image %s is incomplete (no inventory.img: the dump did not finish); "
			       "dump again",
			       opts->dir);
		else
			pr_err("%s", img_error()); /* names the directory and the file */
		free(set);
		return err;
	}
	err = rst_chain_open(set);
	if (!err)
		err = load_files(set);
	if (!err)
		err = load_tree(set);
	for (i = 0; !err && i < set->n_tasks; i++)
		err = load_task(set, &set->tasks[i]);
	if (!err)
		err = load_seccomp(set);
	if (!err)
		err = rst_files_load(set);
	if (err) {
		rst_set_free(set);
		return err;
	}
	*ret = set;
	return 0;
}

void rst_set_free(struct rst_set *set)
{
	size_t i, j;

	if (!set)
		return;
	for (i = 0; i < set->n_tasks; i++) {
		struct rst_task *t = &set->tasks[i];

		pb_free(t->core);
		pb_free(t->mm);
		pb_free(t->fs);
		pb_free(t->crux);
		for (j = 0; j < t->n_threads; j++)
			pb_free(t->threads[j].core);
		free(t->threads);
		free(t->fds);
		free(t->runs);
	}
	rst_chain_close(set);
	free(set->tasks);
	rst_files_release(set);
	for (i = 0; i < set->n_files; i++)
		pb_free(set->files[i].fe);
	free(set->files);
	pb_free(set->seccomp);
	imgdir__close(set->dir);
	free(set);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * `crux show DIR`: a human summary of an image set. It decodes every image kind, crux's own
 * crux-*.img included: the tree (pstree, core, crux-task), per task its ids, fs, memory
 * (mm, pagemap, pages) and fds (fdinfo -> files), the queues (sk-queues, pipes-data) and the
 * external unix sockets (crux-ext). A reference that leads nowhere (a file id missing from
 * files.img, a pages file of the wrong size) is printed as a problem and makes the exit
 * status 1; a damaged file stops the command with its name and byte offset.
 */
#include <argp.h>
#include <dirent.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "show: "
#include "cmd.h"
#include "fd.h"
#include "img.h"
#include "log.h"
#include "outfmt.h"
#include "pb.h"
#include "showctx.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_task.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"

#define PAGE_SIZE_ 4096u
#define PE_PARENT 1u
#define PE_PRESENT 4u

struct show_opts {
	const char *dir;
	bool json;
};

struct show {
	struct fd_show fs; /* the image, the printer, files.img, problems: the kinds see this */
	PstreeEntry **tasks;
	size_t n_tasks;
	uint64_t nr_threads, nr_fds, nr_vmas, nr_pages;
};

/* The single message of a per-task image (core, ids, fs, mm, crux-task). */
static int load_one(struct show *s, enum img_type t, unsigned long key, bool optional, void **ret)
{
	void **arr;
	size_t n;
	int err;

	err = show_load(&s->fs, t, key, optional, NULL, &arr, &n);
	if (err)
		return err;
	*ret = n ? arr[0] : NULL;
	while (n > 1)
		pb_free(arr[--n]);
	free(arr);
	if (!*ret && !optional) {
		char name[64];

		img_name(t, key, name, sizeof(name));
		return pr_err_ret(-EBADMSG, "%s: no message after the magic", name);
	}
	return 0;
}

/* Run every kind's show hook for one step (fd.h); the first failure stops it. */
static int kinds_show(struct show *s, enum fd_show_step step)
{
	const struct fd_kind *k;
	size_t i;
	int err;

	fd_for_each_kind(i, k) {
		err = k->show ? k->show(&s->fs, step, NULL) : 0;
		if (err)
			return err;
	}
	return 0;
}

/* The images every task refers to: the tree, files, and each kind's own images. */
static int load_shared(struct show *s)
{
	int err;

	err = show_load(&s->fs, IMG_PSTREE, 0, false, NULL, (void ***)&s->tasks, &s->n_tasks);
	err = err ?: show_load_files(&s->fs);
	return err ?: kinds_show(s, FD_SHOW_LOAD);
}

static const char *path_of(struct show *s, uint32_t id, const char *what)
{
	const FileEntry *f = show_file_find(&s->fs, id);

	if (f && f->reg)
		return f->reg->name;
	show_problem(&s->fs, "%s: file id %u is not a regular file in files.img", what, id);
	return NULL;
}

static void out_file(struct show *s, const FileEntry *f)
{
	const char *type = pb_enum_name(&fd_types__descriptor, f->type);
	const struct fd_kind *k = fd_kind_by_type(f->type);

	outfmt_str(s->fs.o, "type", NULL, type);
	outfmt_uint(s->fs.o, "file_id", NULL, f->id);
	if (k && k->show)
		k->show(&s->fs, FD_SHOW_FILE, f);
	else
		outfmt_text(s->fs.o, "%s.%u", type ?: "type?", f->id);
}

static int show_fds(struct show *s, uint32_t files_id)
{
	FdinfoEntry **fds;
	const FileEntry *f;
	size_t n, i;
	int err;

	err = show_load(&s->fs, IMG_FDINFO, files_id, false, NULL, (void ***)&fds, &n);
	if (err)
		return err;
	outfmt_open(s->fs.o, "fds", '[');
	for (i = 0; i < n; i++) {
		f = show_file_find(&s->fs, fds[i]->id);
		if (!f) {
			show_problem(&s->fs, "fd %u: file id %u is missing from files.img",
				     fds[i]->fd, fds[i]->id);
			continue;
		}
		s->nr_fds++;
		outfmt_open(s->fs.o, NULL, '{');
		outfmt_uint(s->fs.o, "fd", "  fd %-6llu", fds[i]->fd);
		out_file(s, f);
		outfmt_bool(s->fs.o, "cloexec", " (cloexec)", fds[i]->flags & 1);
		outfmt_text(s->fs.o, "\n");
		outfmt_close(s->fs.o);
	}
	outfmt_close(s->fs.o);
	show_msgs_free((void **)fds, n);
	return 0;
}

/* pagemap-<pid>.img: a head naming pages-<id>.img, then the runs of dumped pages. */
static int show_pages(struct show *s, uint32_t pid)
{
	uint64_t present = 0, parent = 0, runs = 0, nr;
	PagemapHead *head = NULL;
	PagemapEntry *e;
	struct img *img = NULL;
	char name[64];
	struct stat st;
	int err;

	err = img__open(s->fs.dfd, IMG_PAGEMAP, pid, IMG_READ, &img);
	if (!err)
		err = img_read_one(img, &pagemap_head__descriptor, (void **)&head);
	if (err == 0) {
		img__close(img);
		return pr_err_ret(-EBADMSG, "pagemap-%u.img: no pagemap_head", pid);
	}
	while (err == 1 &&
	       (err = img_read_one(img, &pagemap_entry__descriptor, (void **)&e)) == 1) {
		nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;
		runs++;
		if (!e->has_flags || (e->flags & PE_PRESENT))
			present += nr;
		else if (e->flags & PE_PARENT)
			parent += nr;
		pb_free(e);
	}
	img__close(img);
	if (err < 0) {
		pb_free(head);
		return show_load_fail(err);
	}
	s->nr_pages += present;
	img_name(IMG_PAGES, head->pages_id, name, sizeof(name));
	outfmt_open(s->fs.o, "pages", '{');
	outfmt_uint(s->fs.o, "present", "  pages    %llu", present);
	outfmt_uint(s->fs.o, "runs", " in %llu ", runs);
	outfmt_text(s->fs.o, "run%s", runs == 1 ? "" : "s");
	if (parent) /* an incremental dump: the rest is in the parent image */
		outfmt_uint(s->fs.o, "in_parent", ", %llu in the parent image", parent);
	outfmt_str(s->fs.o, "file", ", %s\n", name);
	outfmt_close(s->fs.o);
	if (fstatat(s->fs.dfd, name, &st, 0) < 0)
		show_problem(&s->fs, "%s is missing", name);
	else if ((uint64_t)st.st_size != present * PAGE_SIZE_)
		show_problem(&s->fs, "%s holds %lld bytes, the pagemap says %llu pages", name,
			     (long long)st.st_size, (unsigned long long)present);
	pb_free(head);
	return 0;
}

static int show_mm(struct show *s, uint32_t pid)
{
	MmEntry *mm;
	int err;

	err = load_one(s, IMG_MM, pid, false, (void **)&mm);
	if (err)
		return err;
	s->nr_vmas += mm->n_vmas;
	outfmt_open(s->fs.o, "mm", '{');
	outfmt_uint(s->fs.o, "vmas", "  mm       %llu vmas", mm->n_vmas);
	outfmt_str(s->fs.o, "exe", ", exe %s", path_of(s, mm->exe_file_id, "exe"));
	outfmt_uint(s->fs.o, "start_brk", ", brk 0x%llx", mm->mm_start_brk);
	outfmt_uint(s->fs.o, "brk", "-0x%llx\n", mm->mm_brk);
	outfmt_close(s->fs.o);
	pb_free(mm);
	return show_pages(s, pid);
}

static const char *task_state(uint32_t state)
{
	switch (state) {
	case 1:
		return "alive";
	case 2:
		return "zombie";
	case 3:
		return "stopped";
	}
	return "state?";
}

static void out_thread(struct show *s, uint32_t tid, const CoreEntry *core, const CruxTaskEntry *ct)
{
	const UserX86RegsEntry *r = core->thread_info ? core->thread_info->gpregs : NULL;
	size_t j;

	outfmt_open(s->fs.o, NULL, '{');
	outfmt_uint(s->fs.o, "tid", "  thread   %llu", tid);
	if (core->thread_core && core->thread_core->comm)
		outfmt_str(s->fs.o, "comm", " (%s)", core->thread_core->comm);
	if (r) {
		outfmt_uint(s->fs.o, "ip", " ip 0x%llx", r->ip);
		outfmt_uint(s->fs.o, "sp", " sp 0x%llx", r->sp);
	} else {
		show_problem(&s->fs, "core-%u.img has no x86 registers", tid);
	}
	for (j = 0; ct && j < ct->n_threads; j++)
		if (ct->threads[j]->tid == tid && ct->threads[j]->has_xsave)
			outfmt_uint(s->fs.o, "xsave_bytes", ", xsave %llu bytes",
				    ct->threads[j]->xsave.len);
	outfmt_text(s->fs.o, "\n");
	outfmt_close(s->fs.o);
}

/* One line per thread: registers from core-<tid>.img, the xsave size from crux-task. */
static int show_threads(struct show *s, const PstreeEntry *t, const CruxTaskEntry *ct)
{
	CoreEntry *core;
	size_t i;
	int err;

	outfmt_open(s->fs.o, "threads", '[');
	for (i = 0; i < t->n_threads; i++) {
		err = load_one(s, IMG_CORE, t->threads[i], false, (void **)&core);
		if (err)
			return err;
		s->nr_threads++;
		out_thread(s, t->threads[i], core, ct);
		pb_free(core);
	}
	outfmt_close(s->fs.o);
	return 0;
}

static int show_task_head(struct show *s, const PstreeEntry *t, bool *ret_zombie)
{
	CoreEntry *core;
	int err;

	err = load_one(s, IMG_CORE, t->pid, false, (void **)&core);
	if (err)
		return err;
	outfmt_uint(s->fs.o, "pid", "task %llu", t->pid);
	if (core->tc)
		outfmt_str(s->fs.o, "comm", " (%s)", core->tc->comm);
	outfmt_uint(s->fs.o, "ppid", " ppid %llu", t->ppid);
	outfmt_uint(s->fs.o, "pgid", " pgid %llu", t->pgid);
	outfmt_uint(s->fs.o, "sid", " sid %llu", t->sid);
	if (core->tc) {
		outfmt_str(s->fs.o, "state", ", %s", task_state(core->tc->task_state));
		*ret_zombie = core->tc->task_state == 2;
		if (*ret_zombie)
			outfmt_uint(s->fs.o, "exit_code", " wait status %#llx",
				    core->tc->exit_code);
		outfmt_uint(s->fs.o, "sigactions", ", %llu sigactions", core->tc->n_sigactions);
		if (core->thread_core && core->thread_core->has_seccomp_mode &&
		    core->thread_core->seccomp_mode)
			outfmt_str(s->fs.o, "seccomp", ", seccomp %s",
				   core->thread_core->seccomp_mode == SECCOMP_MODE__strict ?
					   "strict" :
					   "filter");
	} else {
		show_problem(&s->fs, "core-%u.img: the leader's core has no task core (tc)",
			     t->pid);
	}
	outfmt_text(s->fs.o, "\n");
	pb_free(core);
	return 0;
}

static void out_ids_fs(struct show *s, const TaskKobjIdsEntry *ids, const FsEntry *fs)
{
	outfmt_open(s->fs.o, "ids", '{');
	outfmt_uint(s->fs.o, "vm", "  ids      vm %llu", ids->vm_id);
	outfmt_uint(s->fs.o, "files", " files %llu", ids->files_id);
	outfmt_uint(s->fs.o, "fs", " fs %llu", ids->fs_id);
	outfmt_uint(s->fs.o, "sighand", " sighand %llu\n", ids->sighand_id);
	outfmt_close(s->fs.o);
	outfmt_open(s->fs.o, "fs", '{');
	outfmt_str(s->fs.o, "cwd", "  fs       cwd %s", path_of(s, fs->cwd_id, "cwd"));
	outfmt_str(s->fs.o, "root", " root %s", path_of(s, fs->root_id, "root"));
	if (fs->has_umask)
		outfmt_uint(s->fs.o, "umask", " umask %04llo", fs->umask);
	outfmt_text(s->fs.o, "\n");
	outfmt_close(s->fs.o);
}

static int show_task(struct show *s, const PstreeEntry *t)
{
	TaskKobjIdsEntry *ids = NULL;
	CruxTaskEntry *ct = NULL;
	FsEntry *fs = NULL;
	bool zombie = false;
	int err;

	outfmt_open(s->fs.o, NULL, '{');
	err = show_task_head(s, t, &zombie);
	if (!err && zombie) {
		/* nothing but its wait status was left to dump */
		outfmt_close(s->fs.o);
		show_flush_problems(&s->fs);
		return 0;
	}
	err = err ?: load_one(s, IMG_CRUX_TASK, t->pid, true, (void **)&ct);
	err = err ?: show_threads(s, t, ct);
	err = err ?: load_one(s, IMG_IDS, t->pid, false, (void **)&ids);
	err = err ?: load_one(s, IMG_FS, t->pid, false, (void **)&fs);
	if (!err)
		out_ids_fs(s, ids, fs);
	err = err ?: show_mm(s, t->pid);
	err = err ?: show_fds(s, ids->files_id);
	outfmt_close(s->fs.o);
	show_flush_problems(&s->fs);
	pb_free(ids);
	pb_free(fs);
	pb_free(ct);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The `parent` link of an incremental dump (CRIU's layout). */
static void show_parent(struct show *s)
{
	char link[512];
	ssize_t n = readlinkat(s->fs.dfd, "parent", link, sizeof(link) - 1);

	if (n <= 0)
		return;
	link[n] = 0;
	outfmt_str(s->fs.o, "parent", "parent   %s (incremental: restore reads the chain)\n", link);
}

/* Files that are no image kind crux knows (e.g. CRIU's stats-dump): named, not decoded. */
static void show_others(struct show *s)
{
	char **names = NULL, **tmp;
	size_t n = 0, i;
	enum img_type t;
	unsigned long key;
	struct dirent *de;
	DIR *dir = NULL;
	int fd;

	fd = openat(s->fs.dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && !(dir = fdopendir(fd)))
		close(fd);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || !img_parse_name(de->d_name, &t, &key) ||
		    !strcmp(de->d_name, "parent") || !strcmp(de->d_name, IMG_CRUX_DIR))
			continue;
		tmp = realloc(names, (n + 1) * sizeof(*names));
		if (tmp)
			names = tmp;
		if (!tmp || !(tmp[n] = strdup(de->d_name)))
			break;
		n++;
	}
	if (dir)
		closedir(dir);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);
	show_parent(s);
	outfmt_open(s->fs.o, "other_files", '[');
	for (i = 0; i < n; i++) {
		outfmt_str(s->fs.o, NULL, i ? ", %s" : "not decoded: %s", names[i]);
		free(names[i]);
	}
	outfmt_close(s->fs.o);
	if (n)
		outfmt_text(s->fs.o, "\n");
	free(names);
}

static void show_totals(struct show *s)
{
	outfmt_open(s->fs.o, "total", '{');
	outfmt_uint(s->fs.o, "tasks", "total: %llu task", s->n_tasks);
	outfmt_text(s->fs.o, "%s", s->n_tasks == 1 ? "" : "s");
	outfmt_uint(s->fs.o, "threads", ", %llu threads", s->nr_threads);
	outfmt_uint(s->fs.o, "fds", ", %llu fds", s->nr_fds);
	outfmt_uint(s->fs.o, "vmas", ", %llu vmas", s->nr_vmas);
	outfmt_uint(s->fs.o, "pages", ", %llu pages", s->nr_pages);
	kinds_show(s, FD_SHOW_TOTALS);
	outfmt_text(s->fs.o, "\n");
	outfmt_close(s->fs.o);
}

static void show_free(struct show *s)
{
	size_t i;

	kinds_show(s, FD_SHOW_FREE);
	show_msgs_free((void **)s->tasks, s->n_tasks);
	show_msgs_free((void **)s->fs.files, s->fs.n_files);
	for (i = 0; i < s->fs.n_problems; i++)
		free(s->fs.problems[i]);
	free(s->fs.problems);
	outfmt__free(s->fs.o);
}

static int show_body(struct show *s, struct imgdir *d)
{
	const InventoryEntry *inv = imgdir_inventory(d);
	size_t i;
	int err;

	outfmt_open(s->fs.o, NULL, '{');
	outfmt_str(s->fs.o, "dir", "image %s", imgdir_path(d));
	outfmt_uint(s->fs.o, "img_version", ": images v%llu", inv->img_version);
	outfmt_uint(s->fs.o, "nr_tasks", ", %llu task", s->n_tasks);
	outfmt_text(s->fs.o, "%s", s->n_tasks == 1 ? "" : "s");
	outfmt_uint(s->fs.o, "nr_files", ", %llu files\n", s->fs.n_files);
	outfmt_open(s->fs.o, "tasks", '[');
	for (i = 0, err = 0; !err && i < s->n_tasks; i++)
		err = show_task(s, s->tasks[i]);
	outfmt_close(s->fs.o);
	if (err)
		return err;
	err = kinds_show(s, FD_SHOW_RECORDS);
	if (err)
		return err;
	show_others(s);
	show_totals(s);
	outfmt_open(s->fs.o, "problems", '[');
	for (i = 0; i < s->fs.n_problems; i++)
		outfmt_str(s->fs.o, NULL, NULL, s->fs.problems[i]);
	outfmt_close(s->fs.o);
	show_flush_problems(&s->fs);
	return 0;
}

static int show_image(struct imgdir *d, bool json)
{
	struct show s = { .fs.dfd = imgdir_fd(d) };
	int err;

	err = load_shared(&s);
	if (err) {
		show_free(&s);
		return 1;
	}
	s.fs.o = outfmt__new(stdout, json);
	if (!s.fs.o) {
		show_free(&s);
		pr_err("out of memory");
		return 1;
	}
	err = show_body(&s, d);
	if (!err && s.fs.nr_problems)
		pr_err("%s: %d problem%s found (%s)", imgdir_path(d), s.fs.nr_problems,
		       s.fs.nr_problems == 1 ? "" : "s", json ? "\"problems\"" : "lines marked !!");
	show_free(&s);
	return err || s.fs.nr_problems ? 1 : 0;
}

static const char doc[] =
	"Print a human summary of a crux image directory: the tasks, their threads, memory and "
	"file descriptors, unix sockets with their peers (external ones with the policy restore "
	"will apply), queued data, and crux's own records. Decodes every image kind; a damaged "
	"file is reported with its name and byte offset. Exit status 1 if anything in the image "
	"does not resolve (lines marked !!)."
	"\vEXAMPLES:\n"
	"  crux show /tmp/img        summarize what 'crux dump -D /tmp/img' wrote\n"
	"  crux show -j /tmp/img | jq '.tasks[].fds[] | select(.external)'\n"
	"                            the fds with an external unix peer\n"
	"  crit x /tmp/img fds       the fds as CRIU's crit prints them\n";

static const char args_doc[] = "DIR";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct show_opts *o = state->input;

	switch (key) {
	case 'j':
		o->json = true;
		return 0;
	case ARGP_KEY_ARG:
		if (o->dir) {
			pr_err("one image directory at a time (got '%s' and '%s')", o->dir, arg);
			argp_usage(state);
		}
		o->dir = arg;
		return 0;
	case ARGP_KEY_END:
		if (!o->dir) {
			pr_err("which image directory? (crux show DIR)");
			argp_usage(state);
		}
		return 0;
	}
	return ARGP_ERR_UNKNOWN;
}

int cmd_show(int argc, char **argv)
{
	static const struct argp_option options[] = {
		{ "json", 'j', NULL, 0, "print JSON (the same facts, machine-readable)", 0 },
		{ 0 },
	};
	static const struct argp argp = { options, parse_opt, args_doc, doc, NULL, NULL, NULL };
	struct show_opts o = { 0 };
	struct imgdir *d;
	int rc;

	if (argp_parse(&argp, argc, argv, 0, NULL, &o))
		return EXIT_USAGE;
	if (imgdir__open(o.dir, &d)) {
		pr_err("%s", img_error());
		return 1;
	}
	rc = show_image(d, o.json);
	imgdir__close(d);
	return rc;
}

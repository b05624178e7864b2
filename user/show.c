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
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define LOG_PREFIX "show: "
#include "cmd.h"
#include "img.h"
#include "log.h"
#include "pb.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_ext.pb-c.h"
#include "crux_task.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pipe_data.pb-c.h"
#include "pstree.pb-c.h"
#include "sk_packet.pb-c.h"

#define PAGE_SIZE_ 4096u
#define USK_EXTERN 1u
#define PE_PRESENT 4u

struct show_opts {
	const char *dir;
};

/* Queued data per receiving socket (file id) or per pipe (pipe id). */
struct qsum {
	uint32_t id;
	uint32_t count;
	uint64_t bytes;
};

struct show {
	int dfd;
	PstreeEntry **tasks;
	size_t n_tasks;
	FileEntry **files; /* sorted by id */
	size_t n_files;
	CruxExtEntry **ext;
	size_t n_ext;
	struct qsum *skq, *pipeq;
	size_t n_skq, n_pipeq;
	int problems;
	uint64_t nr_threads, nr_fds, nr_vmas, nr_pages, nr_unix, nr_external;
};

static void msgs_free(void **arr, size_t n)
{
	while (n)
		pb_free(arr[--n]);
	free(arr);
}

/* A damaged or unreadable image: say which and where (img_error() carries both). */
static int load_fail(int err)
{
	const char *why = img_error();

	if (err == -ENOMEM)
		pr_err("out of memory");
	else
		pr_err("%s", *why ? why : strerror(-err));
	return err;
}

typedef uint32_t (*payload_fn)(const void *msg);

/*
 * Every message of one image; payload() says how many raw bytes follow each one. A missing
 * optional image reads as empty.
 */
static int load(struct show *s, enum img_type t, unsigned long key, bool optional,
		payload_fn payload, void ***ret, size_t *ret_n)
{
	const ProtobufCMessageDescriptor *desc = img_type_desc(t);
	void **arr = NULL, **tmp, *msg;
	struct img *img = NULL;
	size_t n = 0, cap = 0;
	int err;

	err = img__open(s->dfd, t, key, IMG_READ, &img);
	if (err == -ENOENT && optional) {
		*ret = NULL;
		*ret_n = 0;
		return 0;
	}
	if (err)
		return load_fail(err);
	while ((err = img_read_one(img, desc, &msg)) == 1) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			tmp = realloc(arr, cap * sizeof(*arr));
			if (!tmp) {
				pb_free(msg);
				err = -ENOMEM;
				break;
			}
			arr = tmp;
		}
		arr[n++] = msg;
		err = payload ? img_skip_payload(img, payload(msg)) : 0;
		if (err)
			break;
	}
	img__close(img);
	if (err < 0) {
		msgs_free(arr, n);
		return load_fail(err);
	}
	*ret = arr;
	*ret_n = n;
	return 0;
}

/* The single message of a per-task image (core, ids, fs, mm, crux-task). */
static int load_one(struct show *s, enum img_type t, unsigned long key, bool optional, void **ret)
{
	void **arr;
	size_t n;
	int err;

	err = load(s, t, key, optional, NULL, &arr, &n);
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

static uint32_t sk_payload(const void *msg)
{
	return ((const SkPacketEntry *)msg)->length;
}

static uint32_t pipe_payload(const void *msg)
{
	return ((const PipeDataEntry *)msg)->bytes;
}

static int qsum_add(struct qsum **arr, size_t *n, uint32_t id, uint64_t bytes)
{
	struct qsum *tmp;
	size_t i;

	for (i = 0; i < *n; i++) {
		if ((*arr)[i].id == id) {
			(*arr)[i].count++;
			(*arr)[i].bytes += bytes;
			return 0;
		}
	}
	tmp = realloc(*arr, (*n + 1) * sizeof(**arr));
	if (!tmp)
		return pr_err_ret(-ENOMEM, "out of memory");
	*arr = tmp;
	tmp[(*n)++] = (struct qsum){ .id = id, .count = 1, .bytes = bytes };
	return 0;
}

static const struct qsum *qsum_find(const struct qsum *arr, size_t n, uint32_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (arr[i].id == id)
			return &arr[i];
	return NULL;
}

static int cmp_file(const void *a, const void *b)
{
	const FileEntry *fa = *(FileEntry *const *)a, *fb = *(FileEntry *const *)b;

	return fa->id < fb->id ? -1 : fa->id > fb->id;
}

static const FileEntry *file_find(const struct show *s, uint32_t id)
{
	FileEntry key = FILE_ENTRY__INIT, *kp = &key, **hit;

	key.id = id;
	hit = bsearch(&kp, s->files, s->n_files, sizeof(*s->files), cmp_file);
	return hit ? *hit : NULL;
}

/* The images every task refers to: the tree, files, queues and external records. */
static int load_shared(struct show *s)
{
	void **skq = NULL, **pipes = NULL;
	size_t n_skq = 0, n_pipes = 0, i;
	int err;

	err = load(s, IMG_PSTREE, 0, false, NULL, (void ***)&s->tasks, &s->n_tasks);
	err = err ?: load(s, IMG_FILES, 0, true, NULL, (void ***)&s->files, &s->n_files);
	err = err ?: load(s, IMG_CRUX_EXT, 0, true, NULL, (void ***)&s->ext, &s->n_ext);
	err = err ?: load(s, IMG_SK_QUEUES, 0, true, sk_payload, &skq, &n_skq);
	err = err ?: load(s, IMG_PIPES_DATA, 0, true, pipe_payload, &pipes, &n_pipes);
	if (s->n_files)
		qsort(s->files, s->n_files, sizeof(*s->files), cmp_file);
	for (i = 0; !err && i < n_skq; i++)
		err = qsum_add(&s->skq, &s->n_skq, ((SkPacketEntry *)skq[i])->id_for,
			       ((SkPacketEntry *)skq[i])->length);
	for (i = 0; !err && i < n_pipes; i++)
		err = qsum_add(&s->pipeq, &s->n_pipeq, ((PipeDataEntry *)pipes[i])->pipe_id,
			       ((PipeDataEntry *)pipes[i])->bytes);
	msgs_free(skq, n_skq);
	msgs_free(pipes, n_pipes);
	return err;
}

static void problem(struct show *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Problems are part of the summary (stdout), marked so that they stand out. */
static void problem(struct show *s, const char *fmt, ...)
{
	va_list ap;

	printf("  !! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	s->problems++;
}

static const char *path_of(struct show *s, uint32_t id, const char *what)
{
	const FileEntry *f = file_find(s, id);

	if (f && f->reg)
		return f->reg->name;
	problem(s, "%s: file id %u is not a regular file in files.img", what, id);
	return "?";
}

static const char *sock_type(uint32_t type)
{
	switch (type) {
	case 1:
		return "stream";
	case 2:
		return "dgram";
	case 5:
		return "seqpacket";
	}
	return "type?";
}

static const char *sock_state(uint32_t state)
{
	switch (state) {
	case 1:
		return "established";
	case 7:
		return "unconnected";
	case 10:
		return "listening";
	}
	return "state?";
}

static const char *policy_name(CruxExtPolicy p)
{
	switch (p) {
	case CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_DGRAM:
		return "reconnect-dgram";
	case CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_STREAM:
		return "reconnect-stream";
	default:
		return "none";
	}
}

static void print_name(const ProtobufCBinaryData *name)
{
	char buf[256];

	if (!name->len)
		return;
	unix_name_format(name->data, name->len, buf, sizeof(buf));
	printf(" %s", buf);
}

static const CruxExtEntry *ext_find(const struct show *s, uint32_t ino)
{
	size_t i;

	for (i = 0; i < s->n_ext; i++)
		if (s->ext[i]->ino == ino)
			return s->ext[i];
	return NULL;
}

static void print_queue(const struct qsum *q, const char *unit)
{
	if (q)
		printf(", %llu bytes queued in %u %s%s", (unsigned long long)q->bytes, q->count,
		       unit, q->count == 1 ? "" : "s");
}

static void print_unix(struct show *s, const FileEntry *f)
{
	const UnixSkEntry *u = f->usk;
	const FileEntry *peer = NULL;
	const CruxExtEntry *x;
	size_t i;

	s->nr_unix++;
	printf("unix[%u (%u)]", u->ino, u->peer);
	print_name(&u->name);
	printf(" %s %s", sock_type(u->type), sock_state(u->state));
	if (u->state == 10)
		printf(" backlog %u", u->backlog);
	print_queue(qsum_find(s->skq, s->n_skq, f->id), "packet");
	for (i = 0; u->peer && !peer && i < s->n_files; i++)
		if (s->files[i]->usk && s->files[i]->usk->ino == u->peer)
			peer = s->files[i];
	if (!peer || !(peer->usk->uflags & USK_EXTERN))
		return;
	s->nr_external++;
	printf(", external peer");
	print_name(&peer->usk->name);
	x = ext_find(s, u->ino);
	if (x)
		printf(" (%s pid %u), %s", x->peer_owner_comm ?: "?", x->peer_owner_pid,
		       policy_name(x->policy));
}

static void print_file(struct show *s, const FileEntry *f)
{
	const char *type = pb_enum_name(&fd_types__descriptor, f->type);

	if (f->reg) {
		printf("%s", f->reg->name);
		if (f->reg->pos)
			printf(" pos %llu", (unsigned long long)f->reg->pos);
	} else if (f->pipe) {
		printf("pipe[%u] %s", f->pipe->pipe_id,
		       (f->pipe->flags & O_ACCMODE) == O_WRONLY ? "write end" : "read end");
		if ((f->pipe->flags & O_ACCMODE) != O_WRONLY)
			print_queue(qsum_find(s->pipeq, s->n_pipeq, f->pipe->pipe_id), "chunk");
	} else if (f->usk) {
		print_unix(s, f);
	} else {
		printf("%s.%u", type ?: "type?", f->id);
	}
}

static int show_fds(struct show *s, uint32_t files_id)
{
	FdinfoEntry **fds;
	const FileEntry *f;
	size_t n, i;
	int err;

	err = load(s, IMG_FDINFO, files_id, false, NULL, (void ***)&fds, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		f = file_find(s, fds[i]->id);
		if (!f) {
			problem(s, "fd %u: file id %u is missing from files.img", fds[i]->fd,
				fds[i]->id);
			continue;
		}
		s->nr_fds++;
		printf("  fd %-6u", fds[i]->fd);
		print_file(s, f);
		printf("%s\n", fds[i]->flags & 1 ? " (cloexec)" : "");
	}
	msgs_free((void **)fds, n);
	return 0;
}

/* pagemap-<pid>.img: a head naming pages-<id>.img, then the runs of dumped pages. */
static int show_pages(struct show *s, uint32_t pid)
{
	uint64_t present = 0, runs = 0, nr;
	PagemapHead *head = NULL;
	PagemapEntry *e;
	struct img *img = NULL;
	char name[64];
	struct stat st;
	int err;

	err = img__open(s->dfd, IMG_PAGEMAP, pid, IMG_READ, &img);
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
		pb_free(e);
	}
	img__close(img);
	if (err < 0) {
		pb_free(head);
		return load_fail(err);
	}
	s->nr_pages += present;
	img_name(IMG_PAGES, head->pages_id, name, sizeof(name));
	printf("  pages    %llu in %llu run%s, %s\n", (unsigned long long)present,
	       (unsigned long long)runs, runs == 1 ? "" : "s", name);
	if (fstatat(s->dfd, name, &st, 0) < 0)
		problem(s, "%s is missing", name);
	else if ((uint64_t)st.st_size != present * PAGE_SIZE_)
		problem(s, "%s holds %lld bytes, the pagemap says %llu pages", name,
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
	printf("  mm       %zu vmas, exe %s, brk 0x%llx-0x%llx\n", mm->n_vmas,
	       path_of(s, mm->exe_file_id, "exe"), (unsigned long long)mm->mm_start_brk,
	       (unsigned long long)mm->mm_brk);
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

/* One line per thread: registers from core-<tid>.img, the xsave size from crux-task. */
static int show_threads(struct show *s, const PstreeEntry *t, const CruxTaskEntry *ct)
{
	const UserX86RegsEntry *r;
	CoreEntry *core;
	size_t i, j;
	int err;

	for (i = 0; i < t->n_threads; i++) {
		err = load_one(s, IMG_CORE, t->threads[i], false, (void **)&core);
		if (err)
			return err;
		s->nr_threads++;
		printf("  thread   %u", t->threads[i]);
		if (core->thread_core && core->thread_core->comm)
			printf(" (%s)", core->thread_core->comm);
		r = core->thread_info ? core->thread_info->gpregs : NULL;
		if (r)
			printf(" ip 0x%llx sp 0x%llx", (unsigned long long)r->ip,
			       (unsigned long long)r->sp);
		else
			problem(s, "core-%u.img has no x86 registers", t->threads[i]);
		for (j = 0; ct && j < ct->n_threads; j++)
			if (ct->threads[j]->tid == t->threads[i] && ct->threads[j]->has_xsave)
				printf(", xsave %zu bytes", ct->threads[j]->xsave.len);
		putchar('\n');
		pb_free(core);
	}
	return 0;
}

static int show_task_head(struct show *s, const PstreeEntry *t)
{
	CoreEntry *core;
	int err;

	err = load_one(s, IMG_CORE, t->pid, false, (void **)&core);
	if (err)
		return err;
	if (!core->tc) {
		problem(s, "core-%u.img: the leader's core has no task core (tc)", t->pid);
		pb_free(core);
		return 0;
	}
	printf("task %u (%s) ppid %u pgid %u sid %u, %s", t->pid, core->tc->comm, t->ppid, t->pgid,
	       t->sid, task_state(core->tc->task_state));
	if (core->tc->task_state == 2)
		printf(" exit code %u", core->tc->exit_code);
	printf(", %zu sigactions\n", core->tc->n_sigactions);
	pb_free(core);
	return 0;
}

static int show_task(struct show *s, const PstreeEntry *t)
{
	TaskKobjIdsEntry *ids = NULL;
	CruxTaskEntry *ct = NULL;
	FsEntry *fs = NULL;
	int err;

	err = show_task_head(s, t);
	err = err ?: load_one(s, IMG_CRUX_TASK, t->pid, true, (void **)&ct);
	err = err ?: show_threads(s, t, ct);
	err = err ?: load_one(s, IMG_IDS, t->pid, false, (void **)&ids);
	err = err ?: load_one(s, IMG_FS, t->pid, false, (void **)&fs);
	if (!err) {
		printf("  ids      vm %u files %u fs %u sighand %u\n", ids->vm_id, ids->files_id,
		       ids->fs_id, ids->sighand_id);
		printf("  fs       cwd %s", path_of(s, fs->cwd_id, "cwd"));
		printf(" root %s", path_of(s, fs->root_id, "root"));
		if (fs->has_umask)
			printf(" umask %04o", fs->umask);
		putchar('\n');
	}
	err = err ?: show_mm(s, t->pid);
	err = err ?: show_fds(s, ids->files_id);
	pb_free(ids);
	pb_free(fs);
	pb_free(ct);
	return err;
}

static void show_externals(struct show *s)
{
	const CruxExtEntry *x;
	size_t i;

	if (!s->n_ext)
		return;
	printf("external unix sockets (crux-ext.img)\n");
	for (i = 0; i < s->n_ext; i++) {
		x = s->ext[i];
		printf("  ino %u (pid %u fd %u, %s) peer %u", x->ino, x->owner_pid, x->owner_fd,
		       sock_type(x->type), x->peer_ino);
		if (x->has_peer_name)
			print_name(&x->peer_name);
		printf(" held by %s (pid %u)", x->peer_owner_comm ?: "?", x->peer_owner_pid);
		if (x->has_addr) {
			printf(", connected to");
			print_name(&x->addr);
		}
		printf(", policy %s\n", policy_name(x->policy));
	}
}

static void show_totals(const struct show *s)
{
	uint64_t skq = 0, pipeq = 0;
	size_t i;

	for (i = 0; i < s->n_skq; i++)
		skq += s->skq[i].bytes;
	for (i = 0; i < s->n_pipeq; i++)
		pipeq += s->pipeq[i].bytes;
	printf("total: %zu task%s, %llu threads, %llu fds (%llu unix, %llu external), %llu vmas, "
	       "%llu pages, %llu bytes in socket queues, %llu in pipes\n",
	       s->n_tasks, s->n_tasks == 1 ? "" : "s", (unsigned long long)s->nr_threads,
	       (unsigned long long)s->nr_fds, (unsigned long long)s->nr_unix,
	       (unsigned long long)s->nr_external, (unsigned long long)s->nr_vmas,
	       (unsigned long long)s->nr_pages, (unsigned long long)skq, (unsigned long long)pipeq);
}

static void show_free(struct show *s)
{
	msgs_free((void **)s->tasks, s->n_tasks);
	msgs_free((void **)s->files, s->n_files);
	msgs_free((void **)s->ext, s->n_ext);
	free(s->skq);
	free(s->pipeq);
}

static int show_image(struct imgdir *d)
{
	const InventoryEntry *inv = imgdir_inventory(d);
	struct show s = { .dfd = imgdir_fd(d) };
	size_t i;
	int err;

	err = load_shared(&s);
	if (!err)
		printf("image %s: images v%u, %zu tasks, %zu files\n", imgdir_path(d),
		       inv->img_version, s.n_tasks, s.n_files);
	for (i = 0; !err && i < s.n_tasks; i++)
		err = show_task(&s, s.tasks[i]);
	if (!err) {
		show_externals(&s);
		show_totals(&s);
	}
	if (!err && s.problems)
		pr_err("%s: %d problem%s found (lines marked !!)", imgdir_path(d), s.problems,
		       s.problems == 1 ? "" : "s");
	show_free(&s);
	return err || s.problems ? 1 : 0;
}

static const char doc[] =
	"Print a human summary of a crux image directory: the tasks, their threads, memory and\n"
	"file descriptors, unix sockets with their peers (external ones with the policy restore\n"
	"will apply), queued data, and crux's own records. Decodes every image kind; a damaged\n"
	"file is reported with its name and byte offset.\n"
	"\vEXAMPLES:\n"
	"  crux show /tmp/img          summarize the image written by 'crux dump -D /tmp/img'\n"
	"  crit x /tmp/img fds         the same fds as CRIU's crit prints them\n";

static const char args_doc[] = "DIR";

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct show_opts *o = state->input;

	switch (key) {
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
	static const struct argp_option options[] = { { 0 } };
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
	rc = show_image(d);
	imgdir__close(d);
	return rc;
}

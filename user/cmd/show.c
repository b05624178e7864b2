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
#include "img.h"
#include "log.h"
#include "outfmt.h"
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
	bool json;
};

/* Queued data per receiving socket (file id) or per pipe (pipe id). */
struct qsum {
	uint32_t id;
	uint32_t count;
	uint64_t bytes;
	uint32_t fds; /* passed with SCM_RIGHTS */
};

struct show {
	int dfd;
	PstreeEntry **tasks;
	size_t n_tasks;
	FileEntry **files; /* sorted by id */
	size_t n_files;
	const FileEntry **usks; /* the unix sockets of files, sorted by inode */
	size_t n_usks;
	CruxExtEntry **ext;
	size_t n_ext;
	struct qsum *skq, *pipeq;
	size_t n_skq, n_pipeq;
	struct outfmt *o;
	char **problems; /* not yet printed */
	size_t n_problems;
	int nr_problems;
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

/*
 * Queues come in queue order, one socket's (or pipe's) entries together: merge into the last
 * sum when the id repeats; qsum_sort() merges what was not adjacent.
 */
static int qsum_add(struct qsum **arr, size_t *n, size_t *cap, uint32_t id, uint64_t bytes,
		    uint32_t fds)
{
	struct qsum *tmp, *last = *n ? &(*arr)[*n - 1] : NULL;

	if (last && last->id == id) {
		last->count++;
		last->bytes += bytes;
		last->fds += fds;
		return 0;
	}
	if (*n == *cap) {
		*cap = *cap ? 2 * *cap : 16;
		tmp = realloc(*arr, *cap * sizeof(**arr));
		if (!tmp)
			return pr_err_ret(-ENOMEM, "out of memory");
		*arr = tmp;
	}
	(*arr)[(*n)++] = (struct qsum){ .id = id, .count = 1, .bytes = bytes, .fds = fds };
	return 0;
}

static int cmp_qsum(const void *a, const void *b)
{
	const struct qsum *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static void qsum_sort(struct qsum *arr, size_t *n)
{
	size_t i, out = 0;

	if (!*n)
		return;
	qsort(arr, *n, sizeof(*arr), cmp_qsum);
	for (i = 1; i < *n; i++) {
		if (arr[i].id == arr[out].id) {
			arr[out].count += arr[i].count;
			arr[out].bytes += arr[i].bytes;
			arr[out].fds += arr[i].fds;
		} else {
			arr[++out] = arr[i];
		}
	}
	*n = out + 1;
}

static uint32_t scm_fds(const SkPacketEntry *e)
{
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < e->n_scm; i++)
		n += e->scm[i]->n_rights;
	return n;
}

static const struct qsum *qsum_find(const struct qsum *arr, size_t n, uint32_t id)
{
	struct qsum key = { .id = id };

	return n ? bsearch(&key, arr, n, sizeof(*arr), cmp_qsum) : NULL;
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

static int cmp_ext(const void *a, const void *b)
{
	const CruxExtEntry *x = *(CruxExtEntry *const *)a, *y = *(CruxExtEntry *const *)b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

static const CruxExtEntry *ext_find(const struct show *s, uint32_t ino)
{
	CruxExtEntry key = CRUX_EXT_ENTRY__INIT, *kp = &key, **hit;

	key.ino = ino;
	hit = s->n_ext ? bsearch(&kp, s->ext, s->n_ext, sizeof(*s->ext), cmp_ext) : NULL;
	return hit ? *hit : NULL;
}

static int cmp_usk(const void *a, const void *b)
{
	const FileEntry *x = *(const FileEntry *const *)a, *y = *(const FileEntry *const *)b;

	return x->usk->ino < y->usk->ino ? -1 : x->usk->ino > y->usk->ino;
}

/* The unix socket entries of files.img by inode, for peer lookups. */
static int usk_index(struct show *s)
{
	size_t i;

	s->usks = calloc(s->n_files ?: 1, sizeof(*s->usks));
	if (!s->usks)
		return pr_err_ret(-ENOMEM, "out of memory");
	for (i = 0; i < s->n_files; i++)
		if (s->files[i]->usk)
			s->usks[s->n_usks++] = s->files[i];
	if (s->n_usks)
		qsort(s->usks, s->n_usks, sizeof(*s->usks), cmp_usk);
	return 0;
}

static const FileEntry *usk_find(const struct show *s, uint32_t ino)
{
	UnixSkEntry u = UNIX_SK_ENTRY__INIT;
	FileEntry key = FILE_ENTRY__INIT;
	const FileEntry *kp = &key, **hit;

	if (!ino || !s->n_usks)
		return NULL;
	u.ino = ino;
	key.usk = &u;
	hit = bsearch(&kp, s->usks, s->n_usks, sizeof(*s->usks), cmp_usk);
	return hit ? *hit : NULL;
}

/* The images every task refers to: the tree, files, queues and external records. */
static int load_shared(struct show *s)
{
	void **skq = NULL, **pipes = NULL;
	size_t n_skq = 0, n_pipes = 0, cap_skq = 0, cap_pipeq = 0, i;
	int err;

	err = load(s, IMG_PSTREE, 0, false, NULL, (void ***)&s->tasks, &s->n_tasks);
	err = err ?: load(s, IMG_FILES, 0, true, NULL, (void ***)&s->files, &s->n_files);
	err = err ?: load(s, IMG_CRUX_EXT, 0, true, NULL, (void ***)&s->ext, &s->n_ext);
	err = err ?: load(s, IMG_SK_QUEUES, 0, true, sk_payload, &skq, &n_skq);
	err = err ?: load(s, IMG_PIPES_DATA, 0, true, pipe_payload, &pipes, &n_pipes);
	if (s->n_files)
		qsort(s->files, s->n_files, sizeof(*s->files), cmp_file);
	for (i = 0; !err && i < n_skq; i++)
		err = qsum_add(&s->skq, &s->n_skq, &cap_skq, ((SkPacketEntry *)skq[i])->id_for,
			       ((SkPacketEntry *)skq[i])->length, scm_fds(skq[i]));
	for (i = 0; !err && i < n_pipes; i++)
		err = qsum_add(&s->pipeq, &s->n_pipeq, &cap_pipeq,
			       ((PipeDataEntry *)pipes[i])->pipe_id,
			       ((PipeDataEntry *)pipes[i])->bytes, 0);
	msgs_free(skq, n_skq);
	msgs_free(pipes, n_pipes);
	qsum_sort(s->skq, &s->n_skq);
	qsum_sort(s->pipeq, &s->n_pipeq);
	if (s->n_ext)
		qsort(s->ext, s->n_ext, sizeof(*s->ext), cmp_ext);
	return err ?: usk_index(s);
}

static void problem(struct show *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * A dangling reference or an inconsistency: kept, and printed after the current task (text,
 * lines marked "!!") or in the "problems" array (JSON).
 */
static void problem(struct show *s, const char *fmt, ...)
{
	char buf[512], **tmp;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	s->nr_problems++;
	tmp = realloc(s->problems, (s->n_problems + 1) * sizeof(*tmp));
	if (tmp)
		s->problems = tmp;
	/* Out of memory: not listed, still counted (the exit status says it). */
	if (tmp && (tmp[s->n_problems] = strdup(buf)))
		s->n_problems++;
}

static void flush_problems(struct show *s)
{
	size_t i;

	if (outfmt_json(s->o))
		return;
	for (i = 0; i < s->n_problems; i++) {
		outfmt_text(s->o, "  !! %s\n", s->problems[i]);
		free(s->problems[i]);
	}
	s->n_problems = 0;
}

static const char *path_of(struct show *s, uint32_t id, const char *what)
{
	const FileEntry *f = file_find(s, id);

	if (f && f->reg)
		return f->reg->name;
	problem(s, "%s: file id %u is not a regular file in files.img", what, id);
	return NULL;
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

/* A binary unix name, printed as ss does ('@' for abstract); nothing when empty. */
static void out_name(struct show *s, const char *key, const char *fmt,
		     const ProtobufCBinaryData *name)
{
	char buf[256];

	if (!name->len)
		return;
	unix_name_format(name->data, name->len, buf, sizeof(buf));
	outfmt_str(s->o, key, fmt, buf);
}

static void out_queue(struct show *s, const struct qsum *q, const char *unit)
{
	if (!q)
		return;
	outfmt_uint(s->o, "queued_bytes", ", %llu bytes queued", q->bytes);
	outfmt_uint(s->o, "queued_count", " in %llu ", q->count);
	outfmt_text(s->o, "%s%s", unit, q->count == 1 ? "" : "s");
	if (q->fds) {
		outfmt_uint(s->o, "passed_fds", " carrying %llu fd", q->fds);
		outfmt_text(s->o, "%s", q->fds == 1 ? "" : "s");
	}
}

static void out_external(struct show *s, const UnixSkEntry *u, const FileEntry *peer)
{
	const CruxExtEntry *x = ext_find(s, u->ino);

	s->nr_external++;
	outfmt_open(s->o, "external", '{');
	outfmt_text(s->o, ", external peer");
	out_name(s, "peer_name", " %s", &peer->usk->name);
	if (x) {
		outfmt_str(s->o, "peer_owner_comm", " (%s", x->peer_owner_comm);
		outfmt_uint(s->o, "peer_owner_pid", " pid %llu)", x->peer_owner_pid);
		outfmt_str(s->o, "policy", ", %s", policy_name(x->policy));
	} else {
		problem(s, "unix socket %u has an external peer but no crux-ext.img record",
			u->ino);
	}
	outfmt_close(s->o);
}

static void out_unix(struct show *s, const FileEntry *f)
{
	const UnixSkEntry *u = f->usk;
	const FileEntry *peer;

	s->nr_unix++;
	outfmt_uint(s->o, "ino", "unix[%llu", u->ino);
	outfmt_uint(s->o, "peer", " (%llu)]", u->peer);
	out_name(s, "name", " %s", &u->name);
	outfmt_bool(s->o, "deleted", " (deleted)", u->has_deleted && u->deleted);
	outfmt_str(s->o, "sock_type", " %s", sock_type(u->type));
	outfmt_str(s->o, "state", " %s", sock_state(u->state));
	if (u->state == 10)
		outfmt_uint(s->o, "backlog", " backlog %llu", u->backlog);
	if (u->has_shutdown && u->shutdown != SK_SHUTDOWN__NONE)
		outfmt_str(s->o, "shutdown", " shut %s",
			   u->shutdown == SK_SHUTDOWN__BOTH ? "both" :
			   u->shutdown == SK_SHUTDOWN__READ ? "read" :
							      "write");
	out_queue(s, qsum_find(s->skq, s->n_skq, f->id), "packet");
	peer = usk_find(s, u->peer);
	if (peer && (peer->usk->uflags & USK_EXTERN))
		out_external(s, u, peer);
}

static void out_file(struct show *s, const FileEntry *f)
{
	const char *type = pb_enum_name(&fd_types__descriptor, f->type);
	bool wr;

	outfmt_str(s->o, "type", NULL, type);
	outfmt_uint(s->o, "file_id", NULL, f->id);
	if (f->reg) {
		outfmt_str(s->o, "path", "%s", f->reg->name);
		if (f->reg->pos || outfmt_json(s->o))
			outfmt_uint(s->o, "pos", " pos %llu", f->reg->pos);
	} else if (f->pipe) {
		wr = (f->pipe->flags & O_ACCMODE) == O_WRONLY;
		outfmt_uint(s->o, "pipe_id", "pipe[%llu]", f->pipe->pipe_id);
		outfmt_str(s->o, "end", " %s end", wr ? "write" : "read");
		if (!wr)
			out_queue(s, qsum_find(s->pipeq, s->n_pipeq, f->pipe->pipe_id), "chunk");
	} else if (f->usk) {
		out_unix(s, f);
	} else {
		outfmt_text(s->o, "%s.%u", type ?: "type?", f->id);
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
	outfmt_open(s->o, "fds", '[');
	for (i = 0; i < n; i++) {
		f = file_find(s, fds[i]->id);
		if (!f) {
			problem(s, "fd %u: file id %u is missing from files.img", fds[i]->fd,
				fds[i]->id);
			continue;
		}
		s->nr_fds++;
		outfmt_open(s->o, NULL, '{');
		outfmt_uint(s->o, "fd", "  fd %-6llu", fds[i]->fd);
		out_file(s, f);
		outfmt_bool(s->o, "cloexec", " (cloexec)", fds[i]->flags & 1);
		outfmt_text(s->o, "\n");
		outfmt_close(s->o);
	}
	outfmt_close(s->o);
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
	outfmt_open(s->o, "pages", '{');
	outfmt_uint(s->o, "present", "  pages    %llu", present);
	outfmt_uint(s->o, "runs", " in %llu ", runs);
	outfmt_text(s->o, "run%s", runs == 1 ? "" : "s");
	outfmt_str(s->o, "file", ", %s\n", name);
	outfmt_close(s->o);
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
	outfmt_open(s->o, "mm", '{');
	outfmt_uint(s->o, "vmas", "  mm       %llu vmas", mm->n_vmas);
	outfmt_str(s->o, "exe", ", exe %s", path_of(s, mm->exe_file_id, "exe"));
	outfmt_uint(s->o, "start_brk", ", brk 0x%llx", mm->mm_start_brk);
	outfmt_uint(s->o, "brk", "-0x%llx\n", mm->mm_brk);
	outfmt_close(s->o);
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

	outfmt_open(s->o, NULL, '{');
	outfmt_uint(s->o, "tid", "  thread   %llu", tid);
	if (core->thread_core && core->thread_core->comm)
		outfmt_str(s->o, "comm", " (%s)", core->thread_core->comm);
	if (r) {
		outfmt_uint(s->o, "ip", " ip 0x%llx", r->ip);
		outfmt_uint(s->o, "sp", " sp 0x%llx", r->sp);
	} else {
		problem(s, "core-%u.img has no x86 registers", tid);
	}
	for (j = 0; ct && j < ct->n_threads; j++)
		if (ct->threads[j]->tid == tid && ct->threads[j]->has_xsave)
			outfmt_uint(s->o, "xsave_bytes", ", xsave %llu bytes",
				    ct->threads[j]->xsave.len);
	outfmt_text(s->o, "\n");
	outfmt_close(s->o);
}

/* One line per thread: registers from core-<tid>.img, the xsave size from crux-task. */
static int show_threads(struct show *s, const PstreeEntry *t, const CruxTaskEntry *ct)
{
	CoreEntry *core;
	size_t i;
	int err;

	outfmt_open(s->o, "threads", '[');
	for (i = 0; i < t->n_threads; i++) {
		err = load_one(s, IMG_CORE, t->threads[i], false, (void **)&core);
		if (err)
			return err;
		s->nr_threads++;
		out_thread(s, t->threads[i], core, ct);
		pb_free(core);
	}
	outfmt_close(s->o);
	return 0;
}

static int show_task_head(struct show *s, const PstreeEntry *t)
{
	CoreEntry *core;
	int err;

	err = load_one(s, IMG_CORE, t->pid, false, (void **)&core);
	if (err)
		return err;
	outfmt_uint(s->o, "pid", "task %llu", t->pid);
	if (core->tc)
		outfmt_str(s->o, "comm", " (%s)", core->tc->comm);
	outfmt_uint(s->o, "ppid", " ppid %llu", t->ppid);
	outfmt_uint(s->o, "pgid", " pgid %llu", t->pgid);
	outfmt_uint(s->o, "sid", " sid %llu", t->sid);
	if (core->tc) {
		outfmt_str(s->o, "state", ", %s", task_state(core->tc->task_state));
		if (core->tc->task_state == 2)
			outfmt_uint(s->o, "exit_code", " exit code %llu", core->tc->exit_code);
		outfmt_uint(s->o, "sigactions", ", %llu sigactions", core->tc->n_sigactions);
		if (core->thread_core && core->thread_core->has_seccomp_mode &&
		    core->thread_core->seccomp_mode)
			outfmt_str(s->o, "seccomp", ", seccomp %s",
				   core->thread_core->seccomp_mode == SECCOMP_MODE__strict ?
					   "strict" :
					   "filter");
	} else {
		problem(s, "core-%u.img: the leader's core has no task core (tc)", t->pid);
	}
	outfmt_text(s->o, "\n");
	pb_free(core);
	return 0;
}

static void out_ids_fs(struct show *s, const TaskKobjIdsEntry *ids, const FsEntry *fs)
{
	outfmt_open(s->o, "ids", '{');
	outfmt_uint(s->o, "vm", "  ids      vm %llu", ids->vm_id);
	outfmt_uint(s->o, "files", " files %llu", ids->files_id);
	outfmt_uint(s->o, "fs", " fs %llu", ids->fs_id);
	outfmt_uint(s->o, "sighand", " sighand %llu\n", ids->sighand_id);
	outfmt_close(s->o);
	outfmt_open(s->o, "fs", '{');
	outfmt_str(s->o, "cwd", "  fs       cwd %s", path_of(s, fs->cwd_id, "cwd"));
	outfmt_str(s->o, "root", " root %s", path_of(s, fs->root_id, "root"));
	if (fs->has_umask)
		outfmt_uint(s->o, "umask", " umask %04llo", fs->umask);
	outfmt_text(s->o, "\n");
	outfmt_close(s->o);
}

static int show_task(struct show *s, const PstreeEntry *t)
{
	TaskKobjIdsEntry *ids = NULL;
	CruxTaskEntry *ct = NULL;
	FsEntry *fs = NULL;
	int err;

	outfmt_open(s->o, NULL, '{');
	err = show_task_head(s, t);
	err = err ?: load_one(s, IMG_CRUX_TASK, t->pid, true, (void **)&ct);
	err = err ?: show_threads(s, t, ct);
	err = err ?: load_one(s, IMG_IDS, t->pid, false, (void **)&ids);
	err = err ?: load_one(s, IMG_FS, t->pid, false, (void **)&fs);
	if (!err)
		out_ids_fs(s, ids, fs);
	err = err ?: show_mm(s, t->pid);
	err = err ?: show_fds(s, ids->files_id);
	outfmt_close(s->o);
	flush_problems(s);
	pb_free(ids);
	pb_free(fs);
	pb_free(ct);
	return err;
}

static void show_externals(struct show *s)
{
	const CruxExtEntry *x;
	size_t i;

	if (s->n_ext)
		outfmt_text(s->o, "external unix sockets (crux-ext.img)\n");
	outfmt_open(s->o, "external", '[');
	for (i = 0; i < s->n_ext; i++) {
		x = s->ext[i];
		outfmt_open(s->o, NULL, '{');
		outfmt_uint(s->o, "ino", "  ino %llu", x->ino);
		outfmt_uint(s->o, "pid", " (pid %llu", x->owner_pid);
		outfmt_uint(s->o, "fd", " fd %llu", x->owner_fd);
		outfmt_uint(s->o, "file_id", NULL, x->file_id);
		outfmt_str(s->o, "sock_type", ", %s)", sock_type(x->type));
		outfmt_uint(s->o, "peer", " peer %llu", x->peer_ino);
		if (x->has_peer_name)
			out_name(s, "peer_name", " %s", &x->peer_name);
		outfmt_str(s->o, "peer_owner_comm", " held by %s", x->peer_owner_comm);
		outfmt_uint(s->o, "peer_owner_pid", " (pid %llu)", x->peer_owner_pid);
		if (x->has_addr)
			out_name(s, "addr", ", connected to %s", &x->addr);
		outfmt_str(s->o, "policy", ", policy %s\n", policy_name(x->policy));
		outfmt_close(s->o);
	}
	outfmt_close(s->o);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
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

	fd = openat(s->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && !(dir = fdopendir(fd)))
		close(fd);
	while (dir && (de = readdir(dir))) {
		if (de->d_name[0] == '.' || !img_parse_name(de->d_name, &t, &key))
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
	outfmt_open(s->o, "other_files", '[');
	for (i = 0; i < n; i++) {
		outfmt_str(s->o, NULL, i ? ", %s" : "not decoded: %s", names[i]);
		free(names[i]);
	}
	outfmt_close(s->o);
	if (n)
		outfmt_text(s->o, "\n");
	free(names);
}

static void show_totals(struct show *s)
{
	uint64_t skq = 0, pipeq = 0;
	size_t i;

	for (i = 0; i < s->n_skq; i++)
		skq += s->skq[i].bytes;
	for (i = 0; i < s->n_pipeq; i++)
		pipeq += s->pipeq[i].bytes;
	outfmt_open(s->o, "total", '{');
	outfmt_uint(s->o, "tasks", "total: %llu task", s->n_tasks);
	outfmt_text(s->o, "%s", s->n_tasks == 1 ? "" : "s");
	outfmt_uint(s->o, "threads", ", %llu threads", s->nr_threads);
	outfmt_uint(s->o, "fds", ", %llu fds", s->nr_fds);
	outfmt_uint(s->o, "unix", " (%llu unix", s->nr_unix);
	outfmt_uint(s->o, "external", ", %llu external)", s->nr_external);
	outfmt_uint(s->o, "vmas", ", %llu vmas", s->nr_vmas);
	outfmt_uint(s->o, "pages", ", %llu pages", s->nr_pages);
	outfmt_uint(s->o, "socket_queue_bytes", ", %llu bytes in socket queues", skq);
	outfmt_uint(s->o, "pipe_bytes", ", %llu in pipes\n", pipeq);
	outfmt_close(s->o);
}

static void show_free(struct show *s)
{
	size_t i;

	msgs_free((void **)s->tasks, s->n_tasks);
	msgs_free((void **)s->files, s->n_files);
	msgs_free((void **)s->ext, s->n_ext);
	free(s->skq);
	free(s->pipeq);
	free(s->usks);
	for (i = 0; i < s->n_problems; i++)
		free(s->problems[i]);
	free(s->problems);
	outfmt__free(s->o);
}

static int show_body(struct show *s, struct imgdir *d)
{
	const InventoryEntry *inv = imgdir_inventory(d);
	size_t i;
	int err;

	outfmt_open(s->o, NULL, '{');
	outfmt_str(s->o, "dir", "image %s", imgdir_path(d));
	outfmt_uint(s->o, "img_version", ": images v%llu", inv->img_version);
	outfmt_uint(s->o, "nr_tasks", ", %llu task", s->n_tasks);
	outfmt_text(s->o, "%s", s->n_tasks == 1 ? "" : "s");
	outfmt_uint(s->o, "nr_files", ", %llu files\n", s->n_files);
	outfmt_open(s->o, "tasks", '[');
	for (i = 0, err = 0; !err && i < s->n_tasks; i++)
		err = show_task(s, s->tasks[i]);
	outfmt_close(s->o);
	if (err)
		return err;
	show_externals(s);
	show_others(s);
	show_totals(s);
	outfmt_open(s->o, "problems", '[');
	for (i = 0; i < s->n_problems; i++)
		outfmt_str(s->o, NULL, NULL, s->problems[i]);
	outfmt_close(s->o);
	flush_problems(s);
	return 0;
}

static int show_image(struct imgdir *d, bool json)
{
	struct show s = { .dfd = imgdir_fd(d) };
	int err;

	err = load_shared(&s);
	if (err) {
		show_free(&s);
		return 1;
	}
	s.o = outfmt__new(stdout, json);
	if (!s.o) {
		show_free(&s);
		pr_err("out of memory");
		return 1;
	}
	err = show_body(&s, d);
	if (!err && s.nr_problems)
		pr_err("%s: %d problem%s found (%s)", imgdir_path(d), s.nr_problems,
		       s.nr_problems == 1 ? "" : "s", json ? "\"problems\"" : "lines marked !!");
	show_free(&s);
	return err || s.nr_problems ? 1 : 0;
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

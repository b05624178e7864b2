// SPDX-License-Identifier: GPL-2.0-only
/*
 * Incremental dumps: which selected pages the parent image already holds unchanged
 * (see trackmem.h for the model and the trust rule).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "log.h"
#include "pb.h"
#include "trackmem.h"
#include "util.h"
#include "crux_task.pb-c.h"
#include "pagemap.pb-c.h"

#define PAGE_SZ 4096ULL

/* What the parent image says about one task. */
struct tm_parent {
	uint64_t gen; /* 0: the parent did not track this task */
	struct uffd_ranges tracked; /* ranges the parent's dump tracked */
	struct uffd_ranges covered; /* pages the parent chain holds (present or in its parent) */
	const char *why; /* why nothing of this task can be trusted, NULL if it can */
};

int tm_begin(struct dump_ctx *ctx, struct trackmem *tm, const char *images_dir)
{
	pid_t root = ctx->tree.tasks[0].pid;
	uint64_t st;
	int err;

	tm->prev_fd = -1;
	err = tm_starttime(root, &st);
	if (!err)
		err = tm_holder_take(root, st, &tm->held_gen, &tm->held, &tm->n_held);
	if (err)
		return pr_err_ret(err,
				  "cannot take the memory tracking of pid %d from its holder: %s",
				  root, strerror(-err));
	if (getrandom(&tm->gen, sizeof(tm->gen), 0) != sizeof(tm->gen))
		return pr_perror_ret("getrandom");
	tm->gen |= 1; /* never 0: 0 means "not tracked" */
	if (!tm->prev_arg)
		return 0;
	if (tm->prev_arg[0] == '/')
		tm->prev_path = strdup(tm->prev_arg);
	else if (asprintf(&tm->prev_path, "%s/%s", images_dir, tm->prev_arg) < 0)
		tm->prev_path = NULL;
	if (!tm->prev_path)
		return -ENOMEM;
	tm->prev_fd = open(tm->prev_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	/* inventory.img is written last: without it the parent is not a complete image */
	if (tm->prev_fd >= 0 && faccessat(tm->prev_fd, "inventory.img", R_OK, 0)) {
		close(tm->prev_fd);
		tm->prev_fd = -1;
	}
	if (tm->prev_fd < 0)
		return pr_err_ret(-ENOENT,
				  "--prev-images-dir %s (%s): no complete image there (the path is "
				  "relative to -D); give the directory of the previous dump",
				  tm->prev_arg, tm->prev_path);
	if (!tm->n_held)
		pr_warn("no memory tracking is held for pid %d (no earlier dump with --track-mem "
			"--leave-running, or it was released): every page is copied",
			root);
	return 0;
}

/* ---- the parent image's facts about one task ---- */

static int parent_tracked(struct trackmem *tm, pid_t pid, struct tm_parent *p)
{
	CruxTaskEntry *e = NULL;
	struct img *img = NULL;
	size_t i;
	int err;

	err = img__open(tm->prev_fd, IMG_CRUX_TASK, (unsigned long)pid, IMG_READ, &img);
	if (!err)
		err = img_read_one(img, &crux_task_entry__descriptor, (void **)&e);
	img__close(img);
	if (err <= 0) {
		p->why = err == -ENOENT ? "it is not in the parent image (a new task)" :
					  "its crux-task image in the parent cannot be read";
		return 0;
	}
	p->gen = e->has_track_gen ? e->track_gen : 0;
	err = 0;
	for (i = 0; i + 1 < e->n_track_ranges && !err; i += 2) {
		if (p->tracked.n && e->track_ranges[i] < p->tracked.v[p->tracked.n - 1].end)
			err = -EBADMSG;
		else
			err = uffd_ranges_add(&p->tracked, e->track_ranges[i],
					      e->track_ranges[i + 1]);
	}
	pb_free(e);
	if (err == -EBADMSG)
		p->why = "its tracked ranges in the parent image are out of order";
	return err == -ENOMEM ? err : 0;
}

static int parent_covered(struct trackmem *tm, pid_t pid, struct tm_parent *p)
{
	struct img *img = NULL;
	PagemapHead *head = NULL;
	PagemapEntry *e;
	int err;

	err = img__open(tm->prev_fd, IMG_PAGEMAP, (unsigned long)pid, IMG_READ, &img);
	if (!err)
		err = img_read_one(img, &pagemap_head__descriptor, (void **)&head);
	pb_free(head);
	while (err > 0 && (err = img_read_one(img, &pagemap_entry__descriptor, (void **)&e)) > 0) {
		uint64_t nr = e->has_nr_pages ? e->nr_pages : e->compat_nr_pages;

		if (p->covered.n && e->vaddr < p->covered.v[p->covered.n - 1].end)
			err = -EBADMSG;
		else if (uffd_ranges_add(&p->covered, e->vaddr, e->vaddr + nr * PAGE_SZ))
			err = -ENOMEM;
		pb_free(e);
	}
	img__close(img);
	if (err == -ENOMEM)
		return err;
	if (err < 0)
		p->why = "its pagemap in the parent image is missing or corrupt";
	return 0;
}

static int parent_load(struct trackmem *tm, const struct tm_task *tt, struct tm_parent *p)
{
	int err;

	if (tm->prev_fd < 0)
		return 0;
	err = parent_tracked(tm, tt->h.pid, p);
	if (!err && !p->why)
		err = parent_covered(tm, tt->h.pid, p);
	if (err || p->why)
		return err;
	if (!tt->from_holder)
		p->why = "no tracking was held for it";
	else if (!p->gen || p->gen != tm->held_gen)
		p->why = "the parent image is not the last dump that reset its tracking";
	return 0;
}

static void parent_free(struct tm_parent *p)
{
	uffd_ranges_free(&p->tracked);
	uffd_ranges_free(&p->covered);
}

/* ---- interval helpers (all lists sorted, disjoint) ---- */

static bool contained(const struct uffd_ranges *r, uint64_t s, uint64_t e)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->v[i].start <= s && e <= r->v[i].end)
			return true;
	return false;
}

/* clean += ([s, e) ∩ covered) − written */
static int add_clean(struct uffd_ranges *clean, uint64_t s, uint64_t e,
		     const struct uffd_ranges *covered, const struct uffd_ranges *written)
{
	size_t i, j = 0;
	int err;

	for (i = 0; i < covered->n; i++) {
		uint64_t a = MAX(s, covered->v[i].start), b = MIN(e, covered->v[i].end);

		if (a >= b)
			continue;
		for (; j < written->n && written->v[j].end <= a; j++)
			;
		for (; j < written->n && written->v[j].start < b; j++) {
			if (written->v[j].start > a) {
				err = uffd_ranges_add(clean, a, written->v[j].start);
				if (err)
					return err;
			}
			a = MAX(a, written->v[j].end);
			if (written->v[j].end > b)
				break;
		}
		err = a < b ? uffd_ranges_add(clean, a, b) : 0;
		if (err)
			return err;
	}
	return 0;
}

static int runs_push(struct mem_run **v, size_t *n, size_t *cap, uint64_t s, uint64_t e,
		     bool in_parent)
{
	if (*n && (*v)[*n - 1].in_parent == in_parent &&
	    (*v)[*n - 1].vaddr + (*v)[*n - 1].nr_pages * PAGE_SZ == s) {
		(*v)[*n - 1].nr_pages += (e - s) / PAGE_SZ;
		return 0;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 64;
		struct mem_run *nv = realloc(*v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = (struct mem_run){ .vaddr = s,
					 .nr_pages = (e - s) / PAGE_SZ,
					 .in_parent = in_parent };
	return 0;
}

/* Split the selected runs: pages inside clean are in_parent, the rest copied. */
static int split_runs(const struct uffd_ranges *clean, struct mem_run **runs, size_t *n)
{
	struct mem_run *out = NULL;
	size_t no = 0, cap = 0, i, j = 0;
	int err = 0;

	for (i = 0; !err && i < *n; i++) {
		uint64_t s = (*runs)[i].vaddr, e = s + (*runs)[i].nr_pages * PAGE_SZ;

		for (; j < clean->n && clean->v[j].end <= s; j++)
			;
		while (!err && s < e) {
			const struct uffd_range *c = j < clean->n ? &clean->v[j] : NULL;

			if (!c || c->start >= e) {
				err = runs_push(&out, &no, &cap, s, e, false);
				s = e;
			} else if (c->start > s) {
				err = runs_push(&out, &no, &cap, s, c->start, false);
				s = c->start;
			} else {
				uint64_t b = MIN(e, c->end);

				err = runs_push(&out, &no, &cap, s, b, true);
				s = b;
				if (b == c->end)
					j++;
			}
		}
	}
	if (err) {
		free(out);
		return err;
	}
	free(*runs);
	*runs = out;
	*n = no;
	return 0;
}

/* ---- per task ---- */

static struct tm_task *task_new(struct trackmem *tm, pid_t pid)
{
	struct tm_task *tt;
	size_t i;

	if (tm->n_tasks == tm->cap_tasks) {
		size_t cap = tm->cap_tasks ? tm->cap_tasks * 2 : 8;

		tt = realloc(tm->tasks, cap * sizeof(*tt));
		if (!tt)
			return NULL;
		tm->tasks = tt;
		tm->cap_tasks = cap;
	}
	tt = &tm->tasks[tm->n_tasks++];
	*tt = (struct tm_task){ .h = { .pid = pid, .uffd = -1 } };
	tm_starttime(pid, &tt->h.starttime);
	for (i = 0; i < tm->n_held; i++) {
		if (tm->held[i].pid != pid || tm->held[i].uffd < 0)
			continue;
		/* the same pid with another start time is another process: not its tracking */
		if (tm->held[i].starttime == tt->h.starttime) {
			tt->h.uffd = tm->held[i].uffd;
			tt->from_holder = true;
		} else {
			close(tm->held[i].uffd);
		}
		tm->held[i].uffd = -1;
	}
	return tt;
}

/*
 * One private mapping: read and reset its written pages (*ret_was: it was tracked before
 * this dump), and with --track-mem register it if it is not yet (*ret_now: tracked after).
 */
static int vma_track(struct trackmem *tm, struct tm_task *tt, int pm, const struct proc_vma *v,
		     struct uffd_ranges *written, bool *ret_was, bool *ret_now)
{
	int err = uffd_scan_written(pm, v->start, v->end, written);

	*ret_was = *ret_now = !err;
	if (err != -EPERM)
		return err;
	written->n = 0;
	if (!tm->arm)
		return 0;
	err = uffd_register_wp(tt->h.uffd, v->start, v->end);
	if (!err)
		err = uffd_scan_written(pm, v->start, v->end, written); /* the reset */
	written->n = 0;
	*ret_now = !err;
	if (err) /* e.g. registered by the task's own userfaultfd: always copied whole */
		pr_debug("pid %d: mapping %llx-%llx cannot be tracked: %s", tt->h.pid,
			 (unsigned long long)v->start, (unsigned long long)v->end, strerror(-err));
	return 0;
}

static void say_whole(struct trackmem *tm, pid_t pid, const struct proc_vma *v, const char *why)
{
	tm->vmas_whole++;
	pr_info("pid %d: mapping %llx-%llx %s copied whole: %s", pid, (unsigned long long)v->start,
		(unsigned long long)v->end, v->path ? v->path : "[anon]", why);
}

static int task_vmas(struct trackmem *tm, struct tm_task *tt, const struct tm_parent *p,
		     const struct proc_vma *vmas, size_t nv, struct uffd_ranges *clean)
{
	struct uffd_ranges written = { 0 };
	_cleanup_close_ int pm = -1;
	char path[64];
	bool was = false, now = false;
	size_t i;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", tt->h.pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0)
		return -errno;
	for (i = 0; !err && i < nv; i++) {
		enum mem_vma_kind k = mem_vma_kind(&vmas[i]);

		if (k != MEM_VMA_ANON && k != MEM_VMA_FILE_PRIV)
			continue;
		written.n = 0;
		if (tt->h.uffd >= 0)
			err = vma_track(tm, tt, pm, &vmas[i], &written, &was, &now);
		if (!err && tm->arm && now)
			err = uffd_ranges_add(&tt->tracked, vmas[i].start, vmas[i].end);
		if (err || tm->prev_fd < 0 || p->why)
			continue;
		if (!was)
			say_whole(
				tm, tt->h.pid, &vmas[i],
				"its tracking was lost (replaced, moved, or new since the parent)");
		else if (!contained(&p->tracked, vmas[i].start, vmas[i].end))
			say_whole(tm, tt->h.pid, &vmas[i], "new or grown since the parent dump");
		else
			err = add_clean(clean, vmas[i].start, vmas[i].end, &p->covered, &written);
	}
	uffd_ranges_free(&written);
	return err;
}

int tm_task_runs(struct dump_ctx *ctx, struct trackmem *tm, pid_t pid, int pidfd,
		 const struct proc_vma *vmas, size_t nv, struct mem_run **runs, size_t *n)
{
	struct tm_parent p = { 0 };
	struct uffd_ranges clean = { 0 };
	struct tm_task *tt;
	size_t i;
	int err;

	if (!tm->arm && tm->prev_fd < 0)
		return 0;
	tt = task_new(tm, pid);
	if (!tt)
		return -ENOMEM;
	if (tt->h.uffd < 0 && tm->arm) {
		err = uffd_create_in_task(pid, pidfd, &tt->h.uffd);
		if (err)
			return pr_err_ret(err,
					  "pid %d (%s): cannot arm memory tracking (userfaultfd "
					  "with write protection): %s",
					  pid, dump_comm(ctx, pid), strerror(-err));
	}
	err = parent_load(tm, tt, &p);
	if (!err && p.why)
		pr_warn("pid %d (%s): every page copied, not taken from the parent image: %s", pid,
			dump_comm(ctx, pid), p.why);
	if (!err)
		err = task_vmas(tm, tt, &p, vmas, nv, &clean);
	if (!err)
		err = split_runs(&clean, runs, n);
	if (err)
		pr_err("pid %d: cannot read its memory tracking: %s", pid, strerror(-err));
	for (i = 0; !err && i < *n; i++) {
		if ((*runs)[i].in_parent)
			tt->pages_parent += (*runs)[i].nr_pages;
		else
			tt->pages_copied += (*runs)[i].nr_pages;
	}
	tm->pages_parent += tt->pages_parent;
	tm->pages_copied += tt->pages_copied;
	uffd_ranges_free(&clean);
	parent_free(&p);
	return err;
}

void tm_fill_task_entry(const struct trackmem *tm, pid_t pid, struct CruxTaskEntry *e,
			uint64_t **ret_buf)
{
	const struct tm_task *tt = NULL;
	uint64_t *buf;
	size_t i;

	*ret_buf = NULL;
	for (i = 0; i < tm->n_tasks; i++)
		if (tm->tasks[i].h.pid == pid)
			tt = &tm->tasks[i];
	if (!tm->arm || !tt || tt->h.uffd < 0)
		return;
	buf = calloc(tt->tracked.n * 2 + 1, sizeof(*buf));
	if (!buf)
		return; /* untracked in the image: the next dump copies it whole */
	for (i = 0; i < tt->tracked.n; i++) {
		buf[2 * i] = tt->tracked.v[i].start;
		buf[2 * i + 1] = tt->tracked.v[i].end;
	}
	e->has_track_gen = true;
	e->track_gen = tm->gen;
	e->n_track_ranges = tt->tracked.n * 2;
	e->track_ranges = buf;
	*ret_buf = buf;
}

int tm_link_parent(const struct trackmem *tm, int dirfd)
{
	if (!tm->prev_arg)
		return 0;
	if (symlinkat(tm->prev_arg, dirfd, "parent"))
		return pr_perror_ret("cannot write the parent link to %s", tm->prev_arg);
	return 0;
}

static void hand_over(struct trackmem *tm, pid_t root)
{
	_cleanup_free_ struct tm_held *h = calloc(tm->n_tasks + 1, sizeof(*h));
	uint64_t st;
	size_t i, n = 0;
	int err;

	if (!h || tm_starttime(root, &st)) {
		pr_warn("memory tracking of pid %d released: its root is gone", root);
		return;
	}
	for (i = 0; i < tm->n_tasks; i++)
		if (tm->tasks[i].h.uffd >= 0)
			h[n++] = tm->tasks[i].h;
	err = tm_holder_spawn(root, st, tm->gen, h, n, &tm->holder_pid);
	if (err)
		pr_warn("cannot start the holder of the memory tracking of pid %d (%s): the next "
			"dump copies everything",
			root, strerror(-err));
}

void tm_end(struct trackmem *tm, pid_t root, bool ok)
{
	size_t i;

	if (ok && tm->keep && tm->n_tasks)
		hand_over(tm, root);
	for (i = 0; i < tm->n_tasks; i++) {
		if (tm->tasks[i].h.uffd >= 0)
			close(tm->tasks[i].h.uffd);
		uffd_ranges_free(&tm->tasks[i].tracked);
	}
	for (i = 0; i < tm->n_held; i++)
		if (tm->held[i].uffd >= 0)
			close(tm->held[i].uffd);
	free(tm->tasks);
	free(tm->held);
	free(tm->prev_path);
	if (tm->prev_fd >= 0)
		close(tm->prev_fd);
	tm->tasks = NULL;
	tm->held = NULL;
	tm->prev_path = NULL;
	tm->n_tasks = tm->n_held = 0;
	tm->prev_fd = -1;
}

// SPDX-License-Identifier: GPL-2.0-only
/* The dumper's pid-filtered iter/task_file pass: see include/treeiter.h. */
#define LOG_PREFIX "treeiter: "
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "bpfobj.h"
#include "treeiter.h"
#include "util.h"

#include "crux_iter.skel.h"

enum treeiter_prog { TI_TREE, TI_REFS, TI_ICONS, TI_FDMSGS, TI__N };

/* The pin names a tracker gives them (crux track, under its pin dir). */
static const char *const pin_names[TI__N] = {
	[TI_TREE] = "prog_iter_task_file_tree",
	[TI_REFS] = "prog_iter_task_file_refs",
	[TI_ICONS] = "prog_iter_task_file_icons",
	[TI_FDMSGS] = "prog_iter_task_file_fdmsgs",
};

struct treeiter {
	struct crux_iter_bpf *skel; /* a private load; NULL when the pins are used */
	int prog_fd[TI__N];
};

static struct treeiter *treeiter_alloc(void)
{
	struct treeiter *t = calloc(1, sizeof(*t));
	int i;

	for (i = 0; t && i < TI__N; i++)
		t->prog_fd[i] = -1;
	return t;
}

int treeiter__new(struct treeiter **ret)
{
	struct treeiter *t = treeiter_alloc();
	int err;

	if (!t)
		return -ENOMEM;
	err = bpfobj_load_iter(false, true, &t->skel);
	if (err) {
		free(t);
		return err;
	}
	t->prog_fd[TI_TREE] = bpf_program__fd(t->skel->progs.iter_task_file_tree);
	t->prog_fd[TI_REFS] = bpf_program__fd(t->skel->progs.iter_task_file_refs);
	t->prog_fd[TI_ICONS] = bpf_program__fd(t->skel->progs.iter_task_file_icons);
	t->prog_fd[TI_FDMSGS] = bpf_program__fd(t->skel->progs.iter_task_file_fdmsgs);
	*ret = t;
	return 0;
}

int treeiter__open_pinned(const char *pin_dir, struct treeiter **ret)
{
	struct crux_abi_info abi;
	char path[PATH_MAX];
	struct treeiter *t;
	int i, err;

	err = bpfobj_read_abi(pin_dir, &abi);
	if (err)
		return err;
	if (abi.version != CRUX_ABI_VERSION)
		return -EPROTO;
	t = treeiter_alloc();
	if (!t)
		return -ENOMEM;
	for (i = 0; i < TI__N; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pin_names[i]);
		t->prog_fd[i] = bpf_obj_get(path);
		if (t->prog_fd[i] < 0) {
			err = -errno;
			treeiter__free(t);
			return err;
		}
	}
	*ret = t;
	return 0;
}

int treeiter__open(const char *pin_dir, struct treeiter **ret)
{
	int err;

	err = treeiter__open_pinned(pin_dir ? pin_dir : CRUX_PIN_ROOT, ret);
	if (!err) {
		pr_debug("using the tree iterators pinned by crux track");
		return 0;
	}
	pr_debug("no tree iterators pinned under %s (%s): loading them",
		 pin_dir ? pin_dir : CRUX_PIN_ROOT, strerror(-err));
	return treeiter__new(ret);
}

int treeiter_pin(struct crux_iter_bpf *skel, const char *pin_dir)
{
	struct bpf_program *progs[TI__N] = {
		[TI_TREE] = skel->progs.iter_task_file_tree,
		[TI_REFS] = skel->progs.iter_task_file_refs,
		[TI_ICONS] = skel->progs.iter_task_file_icons,
		[TI_FDMSGS] = skel->progs.iter_task_file_fdmsgs,
	};
	char path[PATH_MAX];
	int i, err;

	for (i = 0; i < TI__N; i++) {
		snprintf(path, sizeof(path), "%s/%s", pin_dir, pin_names[i]);
		/* a program pinned by an earlier tracker is replaced by this load's */
		if (unlink(path) && errno != ENOENT)
			return -errno;
		err = bpf_program__pin(progs[i], path);
		if (err)
			return err;
	}
	return 0;
}

void treeiter__free(struct treeiter *t)
{
	int i;

	if (!t)
		return;
	if (t->skel) {
		crux_iter_bpf__destroy(t->skel);
	} else {
		for (i = 0; i < TI__N; i++)
			if (t->prog_fd[i] >= 0)
				close(t->prog_fd[i]);
	}
	free(t);
}

/* Read the whole iterator output: records never straddle read() calls (seq_file). */
static int read_records(int fd, size_t size, void **ret, size_t *ret_n)
{
	_cleanup_free_ char *recs = NULL;
	size_t n = 0, cap = 0;
	ssize_t got;

	for (;;) {
		if (n == cap) {
			char *p;

			cap = cap ? cap * 2 : 64;
			p = realloc(recs, cap * size);
			if (!p)
				return -ENOMEM;
			recs = p;
		}
		got = read(fd, recs + n * size, (cap - n) * size);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		if ((size_t)got % size)
			return -EIO;
		n += (size_t)got / size;
	}
	*ret_n = n;
	*ret = n ? TAKE_PTR(recs) : NULL;
	return 0;
}

/* Run the program over the fds of tgid alone and read its fixed-size records. */
static int run_filtered(int prog_fd, pid_t tgid, size_t size, void **ret, size_t *ret_n)
{
	union bpf_iter_link_info li = { .task.pid = tgid };
	struct bpf_link_create_opts o;
	_cleanup_close_ int link = -1, fd = -1;

	if (tgid <= 0)
		return -EINVAL;
	/* libbpf rejects non-zero padding in opts: memset, not a designated initializer */
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.iter_info = &li;
	o.iter_info_len = sizeof(li);
	/* the kernel attaches a pid filter for a missing pid and returns nothing: say so */
	if (kill(tgid, 0) && errno == ESRCH)
		return -ESRCH;
	link = bpf_link_create(prog_fd, 0, BPF_TRACE_ITER, &o);
	if (link < 0)
		return -errno;
	fd = bpf_iter_create(link);
	if (fd < 0)
		return -errno;
	return read_records(fd, size, ret, ret_n);
}

int treeiter__unix_fds(struct treeiter *t, pid_t tgid, struct crux_fd_rec **ret, size_t *ret_n)
{
	int err;

	err = run_filtered(t->prog_fd[TI_TREE], tgid, sizeof(**ret), (void **)ret, ret_n);
	if (!err)
		pr_debug("pid %d: %zu unix socket fds", tgid, *ret_n);
	return err;
}

int treeiter__file_refs(struct treeiter *t, pid_t tgid, struct crux_file_ref **ret, size_t *ret_n)
{
	return run_filtered(t->prog_fd[TI_REFS], tgid, sizeof(**ret), (void **)ret, ret_n);
}

int treeiter__icons(struct treeiter *t, pid_t tgid, struct crux_icon_rec **ret, size_t *ret_n)
{
	return run_filtered(t->prog_fd[TI_ICONS], tgid, sizeof(**ret), (void **)ret, ret_n);
}

int treeiter__fdmsgs(struct treeiter *t, pid_t tgid, struct crux_fdmsg_rec **ret, size_t *ret_n)
{
	return run_filtered(t->prog_fd[TI_FDMSGS], tgid, sizeof(**ret), (void **)ret, ret_n);
}

int treeiter_unix_fds(pid_t tgid, struct crux_fd_rec **ret, size_t *ret_n)
{
	struct treeiter *t;
	int err;

	err = treeiter__new(&t);
	if (err)
		return err;
	err = treeiter__unix_fds(t, tgid, ret, ret_n);
	treeiter__free(t);
	return err;
}

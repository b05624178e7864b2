// SPDX-License-Identifier: GPL-2.0-only
/* The dumper's pid-filtered iter/task_file pass: see include/treeiter.h. */
#define LOG_PREFIX "treeiter: "
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"
#include "treeiter.h"
#include "util.h"

#include "crux_iter.skel.h"

struct treeiter {
	struct crux_iter_bpf *skel;
};

int iterobj_load_private(bool seed, bool tree, struct crux_iter_bpf **ret)
{
	struct crux_iter_bpf *skel;
	struct bpf_map *map;
	int err;

	skel = crux_iter_bpf__open();
	if (!skel)
		return errno ? -errno : -ENOMEM;
	/* private: never reuse or create pins, whatever the map definitions ask for */
	bpf_object__for_each_map(map, skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			goto out_destroy;
	}
	if (!seed) {
		/* the maps are still created: keep the unused ones tiny */
		bpf_map__set_max_entries(skel->maps.peers, 1);
		bpf_map__set_max_entries(skel->maps.conn_addr, 1);
	}
	bpf_program__set_autoload(skel->progs.iter_task_file_seed, seed);
	bpf_program__set_autoload(skel->progs.iter_unix_seed, seed);
	bpf_program__set_autoload(skel->progs.iter_task_file_tree, tree);
	bpf_program__set_autoload(skel->progs.iter_task_file_refs, tree);
	bpf_program__set_autoload(skel->progs.iter_task_file_icons, tree);
	err = crux_iter_bpf__load(skel);
	if (err)
		goto out_destroy;
	*ret = skel;
	return 0;
out_destroy:
	crux_iter_bpf__destroy(skel);
	return err;
}

int treeiter__new(struct treeiter **ret)
{
	struct treeiter *t = calloc(1, sizeof(*t));
	int err;

	if (!t)
		return -ENOMEM;
	err = iterobj_load_private(false, true, &t->skel);
	if (err) {
		free(t);
		return err;
	}
	*ret = t;
	return 0;
}

void treeiter__free(struct treeiter *t)
{
	if (!t)
		return;
	crux_iter_bpf__destroy(t->skel);
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

/* Run prog over the fds of tgid alone and read its fixed-size records. */
static int run_filtered(struct bpf_program *prog, pid_t tgid, size_t size, void **ret,
			size_t *ret_n)
{
	union bpf_iter_link_info li = { .task.pid = tgid };
	struct bpf_iter_attach_opts o;
	_cleanup_close_ int fd = -1;
	struct bpf_link *link;
	int err;

	if (tgid <= 0)
		return -EINVAL;
	/* libbpf rejects non-zero padding in opts: memset, not a designated initializer */
	memset(&o, 0, sizeof(o));
	o.sz = sizeof(o);
	o.link_info = &li;
	o.link_info_len = sizeof(li);
	/* the kernel attaches a pid filter for a missing pid and returns nothing: say so */
	if (kill(tgid, 0) && errno == ESRCH)
		return -ESRCH;
	link = bpf_program__attach_iter(prog, &o);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		err = -errno;
		bpf_link__destroy(link);
		return err;
	}
	err = read_records(fd, size, ret, ret_n);
	bpf_link__destroy(link);
	return err;
}

int treeiter__unix_fds(struct treeiter *t, pid_t tgid, struct crux_fd_rec **ret, size_t *ret_n)
{
	int err;

	err = run_filtered(t->skel->progs.iter_task_file_tree, tgid, sizeof(**ret), (void **)ret,
			   ret_n);
	if (!err)
		pr_debug("pid %d: %zu unix socket fds", tgid, *ret_n);
	return err;
}

int treeiter__file_refs(struct treeiter *t, pid_t tgid, struct crux_file_ref **ret, size_t *ret_n)
{
	return run_filtered(t->skel->progs.iter_task_file_refs, tgid, sizeof(**ret), (void **)ret,
			    ret_n);
}

int treeiter__icons(struct treeiter *t, pid_t tgid, struct crux_icon_rec **ret, size_t *ret_n)
{
	return run_filtered(t->skel->progs.iter_task_file_icons, tgid, sizeof(**ret), (void **)ret,
			    ret_n);
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

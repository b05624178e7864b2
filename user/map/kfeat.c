// SPDX-License-Identifier: GPL-2.0-only
/* One-shot kernel feature probes (kfeat.h). Library-style: debug logging only. */
#define LOG_PREFIX "kfeat: "
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kfeat.h"
#include "log.h"
#include "bpfobj.h"
#include "util.h"

#include "crux_iter.skel.h"
#include "crux_track.skel.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

static bool btf_has_member(const struct btf *btf, const char *type, const char *member)
{
	const struct btf_type *t;
	const struct btf_member *m;
	__s32 id;
	int i;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

/* The event programs load (verifier) without being attached or pinned. */
static bool probe_track_progs(void)
{
	struct crux_track_bpf *skel = crux_track_bpf__open();
	struct bpf_map *map;
	bool ok;

	if (!skel)
		return false;
	/* private: never reuse or create pins */
	for (map = bpf_object__next_map(skel->obj, NULL); map;
	     map = bpf_object__next_map(skel->obj, map))
		bpf_map__set_pin_path(map, NULL);
	bpf_map__set_max_entries(skel->maps.peers, 1);
	bpf_map__set_max_entries(skel->maps.conn_addr, 1);
	ok = !crux_track_bpf__load(skel);
	crux_track_bpf__destroy(skel);
	return ok;
}

static bool iter_runs(struct bpf_program *prog, struct bpf_iter_attach_opts *o)
{
	struct bpf_link *link = bpf_program__attach_iter(prog, o);
	int fd;

	if (!link)
		return false;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd >= 0)
		close(fd);
	bpf_link__destroy(link);
	return fd >= 0;
}

static void probe_iters(struct kfeat *k)
{
	union bpf_iter_link_info li = { .task.pid = getpid() };
	struct bpf_iter_attach_opts o;
	struct crux_iter_bpf *skel = NULL;

	memset(&o, 0, sizeof(o)); /* libbpf rejects non-zero padding in opts */
	o.sz = sizeof(o);
	o.link_info = &li;
	o.link_info_len = sizeof(li);
	if (bpfobj_load_iter(true, true, &skel))
		return;
	/* the iterators are tracing programs that call bpf_sock_from_file */
	k->prog_tracing = k->helper_sock_file = true;
	k->iter_task_file = iter_runs(skel->progs.iter_task_file_seed, NULL);
	k->iter_unix = iter_runs(skel->progs.iter_unix_seed, NULL);
	k->iter_task_pid = iter_runs(skel->progs.iter_task_file_tree, &o);
	crux_iter_bpf__destroy(skel);
}

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

void kfeat_probe(struct kfeat *k)
{
	struct btf *btf = NULL;
	libbpf_print_fn_t old;
	struct statfs sf;

	memset(k, 0, sizeof(*k));
	/* a missing feature is an answer here, not an error to print */
	old = libbpf_set_print(quiet_print);
	k->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	k->bpffs = statfs("/sys/fs/bpf", &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
	k->syscall_tp =
		access("/sys/kernel/tracing/events/syscalls/sys_enter_close/id", R_OK) == 0 ||
		access("/sys/kernel/debug/tracing/events/syscalls/sys_enter_close/id", R_OK) == 0;
	k->prog_tracepoint = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) == 1;
	k->map_ringbuf = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL) == 1;
	k->helper_loop = libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_loop, NULL) ==
			 1;
	if (k->btf) {
		btf = btf__load_vmlinux_btf();
		if (libbpf_get_error(btf))
			btf = NULL;
		k->sock_sk_ino = btf_has_member(btf, "sock", "sk_ino");
		k->file_f_ref = btf_has_member(btf, "file", "f_ref");
		k->unix_listener = btf_has_member(btf, "unix_sock", "listener");
		k->net_cookie = btf_has_member(btf, "net", "net_cookie");
		btf__free(btf);
		k->track_progs = probe_track_progs();
		probe_iters(k);
	}
	libbpf_set_print(old);
}

const struct kfeat *kfeat_get(void)
{
	static struct kfeat k;
	static bool probed;

	if (!probed) {
		kfeat_probe(&k);
		probed = true;
	}
	return &k;
}

#define ROW(field, req, text)                                    \
	{                                                        \
#field, offsetof(struct kfeat, field), req, text \
	}

const struct kfeat_row kfeat_rows[] = {
	ROW(btf, true, "kernel BTF (/sys/kernel/btf/vmlinux) for CO-RE"),
	ROW(bpffs, true, "bpffs at /sys/fs/bpf (mount -t bpf bpf /sys/fs/bpf)"),
	ROW(syscall_tp, true, "syscall tracepoints (CONFIG_FTRACE_SYSCALLS)"),
	ROW(prog_tracepoint, true, "BPF tracepoint programs"),
	ROW(prog_tracing, true, "BPF tracing programs (tp_btf, iterators)"),
	ROW(map_ringbuf, true, "BPF ring buffer (crux-map watch)"),
	ROW(helper_loop, true, "bpf_loop helper (fd-table walks)"),
	ROW(helper_sock_file, true, "bpf_sock_from_file helper"),
	ROW(track_progs, true, "crux's event programs pass the verifier"),
	ROW(iter_task_file, true, "iter/task_file (seed, reconcile)"),
	ROW(iter_unix, true, "iter/unix (seed, reconcile)"),
	ROW(iter_task_pid, true, "iter/task_file pid filter (dump's tree pass)"),
	ROW(sock_sk_ino, false, "sock::sk_ino (else read via the socket file)"),
	ROW(file_f_ref, false, "file::f_ref, 6.13+ (else f_count)"),
	ROW(unix_listener, false, "unix_sock::listener (embryo vs dead peer)"),
	ROW(net_cookie, false, "net::net_cookie (netns identity)"),
};

const size_t kfeat_nr_rows = ARRAY_SIZE(kfeat_rows);

bool kfeat_has(const struct kfeat *k, const struct kfeat_row *r)
{
	return *(const bool *)((const char *)k + r->off);
}

bool kfeat_required_ok(const struct kfeat *k)
{
	size_t i;

	for (i = 0; i < kfeat_nr_rows; i++)
		if (kfeat_rows[i].required && !kfeat_has(k, &kfeat_rows[i]))
			return false;
	return true;
}

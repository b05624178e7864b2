/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel features crux relies on, probed once per process (kfeat_get()) and printed by
 * `crux check` (cmd/check.c). Library-style: debug logging only. It lives in map/ because
 * it probes crux's own BPF objects (bpfobj.h), which the verifier may reject.
 */
#ifndef CRUX_KFEAT_H
#define CRUX_KFEAT_H

#include <stdbool.h>
#include <stddef.h>

struct kfeat {
	bool btf; /* /sys/kernel/btf/vmlinux: CO-RE relocations */
	bool bpffs; /* a bpf filesystem at /sys/fs/bpf: pinned maps and links */
	bool syscall_tp; /* syscall tracepoints (events/syscalls/sys_enter_close) */
	bool prog_tracepoint; /* BPF_PROG_TYPE_TRACEPOINT */
	bool prog_tracing; /* BPF_PROG_TYPE_TRACING: tp_btf and iterators */
	bool map_ringbuf; /* BPF_MAP_TYPE_RINGBUF: crux-map watch */
	bool helper_loop; /* bpf_loop: fd-table walks */
	bool helper_sock_file; /* bpf_sock_from_file: iterators from a file to its socket */
	bool track_progs; /* crux_track.bpf.o passes the verifier */
	bool iter_task_file; /* iter/task_file attaches and runs */
	bool iter_unix; /* iter/unix attaches and runs */
	bool iter_task_pid; /* iter/task_file with a pid filter (the dumper's tree pass) */
	bool sock_sk_ino; /* struct sock::sk_ino (else the inode is read via the file) */
	bool file_f_ref; /* struct file::f_ref (6.13+; else f_count) */
	bool unix_listener; /* struct unix_sock::listener: embryo vs dead peer */
	bool net_cookie; /* struct net::net_cookie: netns identity */
};

/* Probe every feature into *ret (never fails: an unprobeable feature is absent). */
void kfeat_probe(struct kfeat *ret);
/* The features of this kernel, probed on first use. */
const struct kfeat *kfeat_get(void);
/* One feature as `crux check` prints it: its field of struct kfeat and what it is for. */
struct kfeat_row {
	const char *name;
	size_t off; /* offsetof(struct kfeat, name) */
	bool required; /* crux cannot work without it (else there is a fallback) */
	const char *what;
};

extern const struct kfeat_row kfeat_rows[];
extern const size_t kfeat_nr_rows;
bool kfeat_has(const struct kfeat *k, const struct kfeat_row *r);
/* true if every feature crux cannot work without is present. */
bool kfeat_required_ok(const struct kfeat *k);

#endif /* CRUX_KFEAT_H */

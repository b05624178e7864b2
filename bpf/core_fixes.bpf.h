/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CO-RE flavours for kernel layout changes crux reads across. Each getter picks the field
 * that exists on the running kernel (bpf_core_field_exists), so one object loads on all.
 */
#ifndef CRUX_CORE_FIXES_BPF_H
#define CRUX_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/*
 * struct file: 6.13 ("fs: port files to file_ref") replaced atomic_long_t f_count with
 * file_ref_t f_ref, which stores refs - 1 (0 = one reference).
 */
struct file___old {
	atomic_long_t f_count;
} __attribute__((preserve_access_index));

/* struct sock: sk_ino caches the inode number (6.x); older kernels go through the file. */
struct sock___new {
	unsigned long sk_ino;
} __attribute__((preserve_access_index));

/*
 * struct unix_sock: `listener` (the embryo's listening socket) came with the 2024 af_unix
 * GC rework ("af_unix: Save listener for embryo socket", 6.10); absent before.
 */
struct unix_sock___new {
	struct sock *listener;
} __attribute__((preserve_access_index));

/* kfunc (6.2+): a read-only BTF view of a kernel address, for direct loads. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;

/*
 * Direct loads through a BTF view cost nothing next to a bpf_probe_read_kernel() call per
 * field (a fault reads 0): the hot paths read the kernel this way.
 */
#define btf_view(p, type) \
	((type *)bpf_rdonly_cast((const void *)(p), bpf_core_type_id_kernel(type)))

/* Number of references to f (every fd, fork'ed table and in-flight SCM_RIGHTS holds one). */
static __always_inline long file_refs(struct file *f)
{
	struct file *v = btf_view(f, struct file);

	if (bpf_core_field_exists(f->f_ref))
		return (long)v->f_ref.refcnt.counter + 1;
	return ((struct file___old *)v)->f_count.counter;
}

/* Inode number of a socket; 0 for embryos (no file yet) and after sock_orphan(). */
static __always_inline __u64 sk_ino(struct sock *sk)
{
	struct socket *so;

	if (!sk)
		return 0;
	if (bpf_core_field_exists(((struct sock___new *)sk)->sk_ino))
		return ((struct sock___new *)btf_view(sk, struct sock))->sk_ino;
	so = BPF_CORE_READ(sk, sk_socket);
	return so ? BPF_CORE_READ(so, file, f_inode, i_ino) : 0;
}

/* The listener an embryo is queued on, NULL when accepted or unknown to this kernel. */
static __always_inline struct sock *unix_listener(struct sock *sk)
{
	if (!bpf_core_field_exists(((struct unix_sock___new *)sk)->listener))
		return NULL;
	return ((struct unix_sock___new *)btf_view(sk, struct unix_sock))->listener;
}

#endif /* CRUX_CORE_FIXES_BPF_H */

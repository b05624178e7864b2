/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A thread's seccomp filters, read with PTRACE_SECCOMP_GET_FILTER from a stopped tracee
 * (needs CAP_SYS_ADMIN), and the flags each was installed with
 * (PTRACE_SECCOMP_GET_METADATA: only SECCOMP_FILTER_FLAG_LOG and _SPEC_ALLOW are kept by
 * the kernel). Library-style module: no logging above debug.
 */
#ifndef CRUX_SECCOMP_H
#define CRUX_SECCOMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* One classic BPF program as installed: insns is len bytes of struct sock_filter. */
struct seccomp_prog {
	void *insns;
	size_t len;
	uint32_t flags;
};

/*
 * The filters of thread tid, oldest first (the order to install them in); *ret_n is 0 for a
 * thread without filters. 0 or -errno.
 */
int seccomp_read_filters(pid_t tid, struct seccomp_prog **ret, size_t *ret_n);
void seccomp_progs_free(struct seccomp_prog *p, size_t n);

#endif /* CRUX_SECCOMP_H */

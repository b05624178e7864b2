// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading a tracee's seccomp filters. The kernel numbers them from the oldest (index 0,
 * kernel/seccomp.c get_nth_filter()) to the newest; ENOENT past it.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <sys/ptrace.h>

#include "seccomp.h"
#include "util.h"

/* A chain longer than this is refused (the kernel caps a chain at 32k instructions). */
#define SECCOMP_CHAIN_MAX 512

void seccomp_progs_free(struct seccomp_prog *p, size_t n)
{
	size_t i;

	for (i = 0; p && i < n; i++)
		free(p[i].insns);
	free(p);
}

static int read_one(pid_t tid, unsigned long idx, struct seccomp_prog *p)
{
	struct __ptrace_seccomp_metadata md = { .filter_off = idx };
	long count;

	count = ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, NULL);
	if (count < 0)
		return -errno;
	p->len = (size_t)count * sizeof(struct sock_filter);
	p->insns = malloc(p->len ? p->len : 1);
	if (!p->insns)
		return -ENOMEM;
	if (ptrace(PTRACE_SECCOMP_GET_FILTER, tid, (void *)idx, p->insns) != count)
		return errno ? -errno : -EIO;
	if (ptrace(PTRACE_SECCOMP_GET_METADATA, tid, (void *)sizeof(md), &md) < 0)
		return -errno;
	p->flags = (uint32_t)md.flags;
	return 0;
}

int seccomp_read_filters(pid_t tid, struct seccomp_prog **ret, size_t *ret_n)
{
	struct seccomp_prog *p;
	size_t n = 0;
	int err = 0;

	p = calloc(SECCOMP_CHAIN_MAX, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (n = 0; n < SECCOMP_CHAIN_MAX; n++) {
		err = read_one(tid, n, &p[n]);
		if (err)
			break;
	}
	if (err == -ENOENT)
		err = 0;
	else if (!err)
		err = -E2BIG;
	if (err) {
		seccomp_progs_free(p, n + 1);
		return err;
	}
	*ret = p;
	*ret_n = n;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp, restored last among the things a thread asks for itself: strict mode, or the
 * filter chain of seccomp.img installed oldest first. The tracee gets
 * PTRACE_O_SUSPEND_SECCOMP first, so the syscalls crux still injects after the filters
 * (credentials, unmapping the trampoline) are not filtered; the option goes with the
 * tracer at detach, and the filters act from the task's first instruction.
 *
 * Threads share the filters they inherited. What every thread of a task shares (the
 * common oldest part of their chains) the leader installs with SECCOMP_FILTER_FLAG_TSYNC
 * once all threads exist and before any installs its own: they share one filter object
 * as before, and a later TSYNC by the program still works. The rest of each chain is
 * installed in its thread (two threads sharing only that rest get copies: the kernel has
 * no way to sync a subset).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>

#define LOG_PREFIX "restore: "
#include "log.h"
#include "restore.h"
#include "util.h"

#include "core.pb-c.h"
#include "seccomp.pb-c.h"

/* Where a program longer than the scratch page is put: inside the trampoline hole. */
#define PROG_OFF (16 * INJ_PAGE)
#define PROG_MAX (BPF_MAXINSNS * sizeof(struct sock_filter))

static uint32_t mode_of(const ThreadCoreEntry *th)
{
	return th && th->has_seccomp_mode ? (uint32_t)th->seccomp_mode : SECCOMP_MODE_DISABLED;
}

int rst_seccomp_validate(const struct rst_set *set, const CoreEntry *core, pid_t tid)
{
	const ThreadCoreEntry *th = core->thread_core;
	const SeccompEntry *sc = set->seccomp;
	size_t n = sc ? sc->n_seccomp_filters : 0, steps = 0;
	uint32_t i;

	if (mode_of(th) == SECCOMP_MODE_DISABLED || mode_of(th) == SECCOMP_MODE_STRICT)
		return 0;
	if (mode_of(th) != SECCOMP_MODE_FILTER)
		return pr_err_ret(-EBADMSG, "image: thread %d has unknown seccomp mode %u", tid,
				  mode_of(th));
	if (!th->has_seccomp_filter || th->seccomp_filter >= n)
		return pr_err_ret(-EBADMSG,
				  "image: thread %d runs under seccomp filter #%u, which "
				  "seccomp.img (%zu filters) does not have",
				  tid, th->seccomp_filter, n);
	for (i = th->seccomp_filter;; i = sc->seccomp_filters[i]->prev) {
		const SeccompFilter *f = sc->seccomp_filters[i];

		if (++steps > n || f->filter.len % sizeof(struct sock_filter) || !f->filter.len ||
		    f->filter.len > PROG_MAX || (f->has_prev && f->prev >= n))
			return pr_err_ret(-EBADMSG,
					  "image: seccomp.img: the filter chain of thread %d is "
					  "broken at filter #%u",
					  tid, i);
		if (!f->has_prev)
			return 0;
	}
}

static int suspend_seccomp(struct inj *inj)
{
	long opts = PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE | PTRACE_O_SUSPEND_SECCOMP;

	if (ptrace(PTRACE_SETOPTIONS, inj->pid, NULL, (void *)opts))
		return pr_perror_ret("pid %d: cannot suspend seccomp under ptrace", inj->pid);
	return 0;
}

static int install_one(struct inj *inj, const SeccompFilter *f, uint64_t area, bool tsync)
{
	struct sock_fprog prog = {
		.len = (unsigned short)(f->filter.len / sizeof(struct sock_filter)),
		.filter = (struct sock_filter *)(uintptr_t)area,
	};
	uint64_t flags = (f->has_flags ? f->flags : 0) | (tsync ? SECCOMP_FILTER_FLAG_TSYNC : 0);
	uint64_t p;
	long r;
	int err;

	err = inj_write(inj, area, f->filter.data, f->filter.len);
	if (err)
		return pr_err_ret(err, "pid %d: cannot write a seccomp filter into it", inj->pid);
	p = inj_scratch_put(inj, 0, &prog, sizeof(prog));
	if (!p)
		return -EFAULT;
	r = inj_sys3(inj, SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, p);
	if (r)
		return pr_err_ret(r < 0 ? (int)r : -ESRCH,
				  "pid %d: cannot install its seccomp filter (flags %#llx): %s",
				  inj->pid, (unsigned long long)flags,
				  r < 0 ? strerror((int)-r) : "a thread could not be synced");
	return 0;
}

/* The chain ending at filter last, oldest first, into ret (room for n); its length. */
static size_t chain_of(const SeccompEntry *sc, uint32_t last, uint32_t *ret, size_t n)
{
	size_t len = 0, i;
	uint32_t at = last;

	for (;;) {
		ret[len++] = at;
		if (!sc->seccomp_filters[at]->has_prev || len == n)
			break;
		at = sc->seccomp_filters[at]->prev;
	}
	for (i = 0; i < len / 2; i++) {
		uint32_t t = ret[i];

		ret[i] = ret[len - 1 - i];
		ret[len - 1 - i] = t;
	}
	return len;
}

/* The filters [from, to) of core's chain, in the thread inj drives. */
static int install_chain(const SeccompEntry *sc, struct inj *inj, const CoreEntry *core,
			 size_t from, size_t to, bool tsync)
{
	size_t n = sc->n_seccomp_filters, len, i;
	_cleanup_free_ uint32_t *chain = calloc(n, sizeof(*chain));
	uint64_t area = inj->tramp + PROG_OFF;
	long r;
	int err = 0;

	if (!chain)
		return -ENOMEM;
	len = chain_of(sc, core->thread_core->seccomp_filter, chain, n);
	to = MIN(to, len);
	if (from >= to)
		return 0;
	err = suspend_seccomp(inj);
	if (err)
		return err;
	r = inj_syscall(inj, SYS_mmap, area, PROG_MAX, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, (uint64_t)-1, 0);
	if (r != (long)area)
		return pr_err_ret(r < 0 ? (int)r : -EFAULT,
				  "pid %d: cannot map room for its seccomp filters", inj->pid);
	for (i = from; !err && i < to; i++)
		err = install_one(inj, sc->seccomp_filters[chain[i]], area, tsync);
	inj_sys2(inj, SYS_munmap, area, PROG_MAX);
	if (!err)
		pr_debug("pid %d: seccomp filters %zu..%zu of %zu installed%s", inj->pid, from,
			 to - 1, len, tsync ? " for every thread" : "");
	return err;
}

size_t rst_seccomp_common(const struct rst_set *set, const struct rst_task *t)
{
	const SeccompEntry *sc = set->seccomp;
	size_t n = sc ? sc->n_seccomp_filters : 0, len, i, j, k;
	_cleanup_free_ uint32_t *lead = NULL, *other = NULL;

	if (!t->n_threads || mode_of(t->core->thread_core) != SECCOMP_MODE_FILTER || !n)
		return 0;
	lead = calloc(n, sizeof(*lead));
	other = calloc(n, sizeof(*other));
	if (!lead || !other)
		return 0; /* no sharing: every thread installs its whole chain */
	len = chain_of(sc, t->core->thread_core->seccomp_filter, lead, n);
	for (i = 0; i < t->n_threads && len; i++) {
		const ThreadCoreEntry *th = t->threads[i].core->thread_core;

		if (mode_of(th) != SECCOMP_MODE_FILTER)
			return 0;
		k = chain_of(sc, th->seccomp_filter, other, n);
		for (j = 0; j < len && j < k && lead[j] == other[j]; j++)
			;
		len = j;
	}
	return len;
}

int rst_seccomp_install_common(const struct rst_set *set, struct rst_task *t, size_t common)
{
	if (!common)
		return 0;
	return install_chain(set->seccomp, &t->inj, t->core, 0, common, true);
}

int rst_seccomp_install(const struct rst_set *set, struct inj *inj, const CoreEntry *core,
			size_t skip)
{
	uint32_t mode = mode_of(core->thread_core);
	int err;

	if (mode == SECCOMP_MODE_DISABLED)
		return 0;
	if (mode == SECCOMP_MODE_FILTER)
		return install_chain(set->seccomp, inj, core, skip, SIZE_MAX, false);
	err = suspend_seccomp(inj);
	if (!err) {
		long r = inj_sys2(inj, SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_STRICT);

		if (r)
			err = pr_err_ret((int)r, "pid %d: cannot enter seccomp strict mode: %s",
					 inj->pid, strerror((int)-r));
	}
	return err;
}

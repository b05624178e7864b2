/* SPDX-License-Identifier: GPL-2.0-only */
/* Pure converters to CRIU's core.proto messages (dump_core_fill.c), for dump_task.c. */
#ifndef CRUX_DUMP_CORE_FILL_H
#define CRUX_DUMP_CORE_FILL_H

#include <asm/ldt.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/time.h>

#include "ptrace.h"
#include "core.pb-c.h"

void dump_fill_gpregs(UserX86RegsEntry *g, const ptrace_regs_t *r);
void dump_fill_fpregs(UserX86FpregsEntry *fp, UserX86XsaveEntry *x, const uint8_t *b, size_t len);
void dump_fill_tls(UserDescT *d, const struct user_desc *u);
void dump_fill_siginfos(SignalQueueEntry *q, SiginfoEntry *e, SiginfoEntry **ep, siginfo_t *si,
			int n);
void dump_fill_itimer(ItimerEntry *e, const struct itimerval *v);

#endif /* CRUX_DUMP_CORE_FILL_H */

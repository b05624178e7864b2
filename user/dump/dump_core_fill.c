// SPDX-License-Identifier: GPL-2.0-only
/*
 * Pure converters from what the kernel gave a dump (registers, the xsave buffer, TLS slots,
 * pending signals, itimers) to CRIU's core.proto messages; dump_task.c calls them.
 */
#include <asm/ldt.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>

#include "dump_core_fill.h"

void dump_fill_gpregs(UserX86RegsEntry *g, const ptrace_regs_t *r)
{
	g->r15 = r->r15, g->r14 = r->r14, g->r13 = r->r13, g->r12 = r->r12;
	g->bp = r->rbp, g->bx = r->rbx, g->r11 = r->r11, g->r10 = r->r10;
	g->r9 = r->r9, g->r8 = r->r8, g->ax = r->rax, g->cx = r->rcx;
	g->dx = r->rdx, g->si = r->rsi, g->di = r->rdi, g->orig_ax = r->orig_rax;
	g->ip = r->rip, g->cs = r->cs, g->flags = r->eflags, g->sp = r->rsp;
	g->ss = r->ss, g->fs_base = r->fs_base, g->gs_base = r->gs_base;
	g->ds = r->ds, g->es = r->es, g->fs = r->fs, g->gs = r->gs;
	g->has_mode = true;
	g->mode = USER_X86_REGS_MODE__NATIVE;
}

/* The legacy FXSAVE part of the XSAVE buffer, as CRIU's fpregs message lays it out. */
void dump_fill_fpregs(UserX86FpregsEntry *fp, UserX86XsaveEntry *x, const uint8_t *b, size_t len)
{
	uint16_t w;

	memcpy(&w, b + 0, 2), fp->cwd = w;
	memcpy(&w, b + 2, 2), fp->swd = w;
	memcpy(&w, b + 4, 2), fp->twd = w;
	memcpy(&w, b + 6, 2), fp->fop = w;
	memcpy(&fp->rip, b + 8, 8);
	memcpy(&fp->rdp, b + 16, 8);
	memcpy(&fp->mxcsr, b + 24, 4);
	memcpy(&fp->mxcsr_mask, b + 28, 4);
	fp->n_st_space = 32;
	fp->st_space = (uint32_t *)(b + 32);
	fp->n_xmm_space = 64;
	fp->xmm_space = (uint32_t *)(b + 160);
	fp->n_padding = 24;
	fp->padding = (uint32_t *)(b + 416);
	if (len >= 576 + 256) {
		memcpy(&x->xstate_bv, b + 512, 8);
		x->n_ymmh_space = 64;
		x->ymmh_space = (uint32_t *)(b + 576);
		fp->xsave = x;
	}
}

void dump_fill_tls(UserDescT *d, const struct user_desc *u)
{
	d->entry_number = u->entry_number;
	d->base_addr = u->base_addr;
	d->limit = u->limit;
	d->seg_32bit = u->seg_32bit;
	d->contents_h = (u->contents >> 1) & 1;
	d->contents_l = u->contents & 1;
	d->read_exec_only = u->read_exec_only;
	d->limit_in_pages = u->limit_in_pages;
	d->seg_not_present = u->seg_not_present;
	d->useable = u->useable;
}

void dump_fill_siginfos(SignalQueueEntry *q, SiginfoEntry *e, SiginfoEntry **ep, siginfo_t *si,
			int n)
{
	int i;

	for (i = 0; i < n; i++) {
		e[i] = (SiginfoEntry)SIGINFO_ENTRY__INIT;
		e[i].siginfo.data = (uint8_t *)&si[i];
		e[i].siginfo.len = sizeof(si[i]);
		ep[i] = &e[i];
	}
	q->n_signals = (size_t)n;
	q->signals = ep;
}

void dump_fill_itimer(ItimerEntry *e, const struct itimerval *v)
{
	e->isec = (uint64_t)v->it_interval.tv_sec;
	e->iusec = (uint64_t)v->it_interval.tv_usec;
	e->vsec = (uint64_t)v->it_value.tv_sec;
	e->vusec = (uint64_t)v->it_value.tv_usec;
}

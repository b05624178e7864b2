// SPDX-License-Identifier: GPL-2.0-only
/*
 * seccomp.img: the filters of every thread of the tree, each chain stored once. Threads
 * and forked children inherit their parent's chain, so a filter is shared when its
 * program, its flags and everything installed before it are the same (CRIU stores them
 * the same way: a filter names the one before it with prev).
 */
#include <errno.h>
#include <linux/seccomp.h>
#include <stdlib.h>
#include <string.h>

#define LOG_PREFIX "dump: "
#include "dump.h"
#include "img.h"
#include "log.h"
#include "seccomp.h"
#include "util.h"
#include "seccomp.pb-c.h"

struct filter_node {
	uint32_t prev; /* index + 1 of the filter installed before it, 0 for the oldest */
	struct seccomp_prog prog;
};

struct dump_seccomp {
	struct filter_node *nodes;
	size_t n, cap;
};

static int node_find_or_add(struct dump_seccomp *s, uint32_t prev, struct seccomp_prog *p,
			    uint32_t *ret_idx)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		const struct filter_node *o = &s->nodes[i];

		if (o->prev == prev && o->prog.flags == p->flags && o->prog.len == p->len &&
		    !memcmp(o->prog.insns, p->insns, p->len)) {
			*ret_idx = (uint32_t)i;
			return 0;
		}
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct filter_node *nn = realloc(s->nodes, cap * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		s->nodes = nn;
		s->cap = cap;
	}
	s->nodes[s->n].prev = prev;
	s->nodes[s->n].prog = *p;
	p->insns = NULL; /* the node owns it now */
	*ret_idx = (uint32_t)s->n++;
	return 0;
}

int dump_seccomp_thread(struct dump_ctx *ctx, pid_t tid, uint32_t mode, uint32_t *ret_filter)
{
	struct seccomp_prog *progs = NULL;
	uint32_t prev = 0, idx = 0;
	size_t n = 0, i;
	int err;

	if (mode != SECCOMP_MODE_FILTER)
		return 0;
	if (!ctx->seccomp_state) {
		ctx->seccomp_state = calloc(1, sizeof(*ctx->seccomp_state));
		if (!ctx->seccomp_state)
			return -ENOMEM;
	}
	err = seccomp_read_filters(tid, &progs, &n);
	if (err)
		return pr_err_ret(err, "pid %d: cannot read its seccomp filters: %s", tid,
				  strerror(-err));
	if (!n) {
		seccomp_progs_free(progs, n);
		return pr_err_ret(-EPROTO,
				  "pid %d: seccomp mode is filter but no filter reads back", tid);
	}
	for (i = 0; !err && i < n; i++) {
		err = node_find_or_add(ctx->seccomp_state, prev, &progs[i], &idx);
		prev = idx + 1;
	}
	seccomp_progs_free(progs, n);
	if (err)
		return err;
	pr_debug("pid %d: %zu seccomp filters, newest is #%u", tid, n, idx);
	*ret_filter = idx;
	return 0;
}

int dump_seccomp_write(struct dump_ctx *ctx)
{
	struct dump_seccomp *s = ctx->seccomp_state;
	SeccompEntry e = SECCOMP_ENTRY__INIT;
	_cleanup_free_ SeccompFilter *f = NULL;
	_cleanup_free_ SeccompFilter **fp = NULL;
	struct img *img = NULL;
	size_t i;
	int err;

	if (!s || !s->n)
		return 0;
	f = calloc(s->n, sizeof(*f));
	fp = calloc(s->n, sizeof(*fp));
	if (!f || !fp)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		f[i] = (SeccompFilter)SECCOMP_FILTER__INIT;
		f[i].filter.data = s->nodes[i].prog.insns;
		f[i].filter.len = s->nodes[i].prog.len;
		f[i].has_prev = s->nodes[i].prev != 0;
		f[i].prev = s->nodes[i].prev - (f[i].has_prev ? 1 : 0);
		f[i].has_flags = true;
		f[i].flags = s->nodes[i].prog.flags;
		fp[i] = &f[i];
	}
	e.n_seccomp_filters = s->n;
	e.seccomp_filters = fp;
	err = img__open(ctx->dirfd, IMG_SECCOMP, 0, IMG_WRITE, &img);
	if (!err)
		err = img_write_one(img, &e.base);
	if (!err)
		err = img__close(TAKE_PTR(img));
	img__close(img);
	if (err)
		return pr_err_ret(err, "cannot write seccomp.img: %s", img_error());
	return 0;
}

void dump_seccomp_free(struct dump_ctx *ctx)
{
	struct dump_seccomp *s = ctx->seccomp_state;
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++)
		free(s->nodes[i].prog.insns);
	free(s->nodes);
	free(s);
	ctx->seccomp_state = NULL;
}

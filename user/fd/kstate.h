/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Each fd kind's private state during one dump, restore or show, found by the kind's
 * address, so that the contexts (dumpctx.h, rstctx.h, showctx.h) never name a kind.
 */
#ifndef CRUX_KSTATE_H
#define CRUX_KSTATE_H

#include <stddef.h>

struct fd_kind;

/* More than the kinds crux will have: fd_kinds[] is checked against it at build time. */
#define KSTATE_MAX 32

struct kstate {
	const struct fd_kind *kind;
	void *state;
};

/* The slot of kind k (claimed on first use); NULL if all KSTATE_MAX are taken. */
void **kstate_slot(struct kstate *v, const struct fd_kind *k);
/* The state of kind k, or NULL. */
void *kstate_get(const struct kstate *v, const struct fd_kind *k);

#endif /* CRUX_KSTATE_H */

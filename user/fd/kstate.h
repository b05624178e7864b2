/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Each fd kind's private state during one dump, restore or show, found by a key the kind
 * owns (its struct fd_kind, or any object of its own file), so that the contexts
 * (dumpctx.h, rstctx.h, showctx.h) never name a kind.
 */
#ifndef CRUX_KSTATE_H
#define CRUX_KSTATE_H

#include <stddef.h>

/* More keys than crux will have: fd_kinds[] is checked against it at build time. */
#define KSTATE_MAX 32

struct kstate {
	const void *key;
	void *state;
};

/* The slot of key (claimed on first use); NULL if all KSTATE_MAX are taken. */
void **kstate_slot(struct kstate *v, const void *key);
/* The state of key, or NULL. */
void *kstate_get(const struct kstate *v, const void *key);

#endif /* CRUX_KSTATE_H */

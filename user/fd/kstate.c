// SPDX-License-Identifier: GPL-2.0-only
/* Kinds' private state slots (kstate.h): a short array, searched by the kind's address. */
#include "kstate.h"

void **kstate_slot(struct kstate *v, const struct fd_kind *k)
{
	size_t i;

	for (i = 0; i < KSTATE_MAX; i++) {
		if (!v[i].kind)
			v[i].kind = k;
		if (v[i].kind == k)
			return &v[i].state;
	}
	return NULL;
}

void *kstate_get(const struct kstate *v, const struct fd_kind *k)
{
	size_t i;

	for (i = 0; i < KSTATE_MAX && v[i].kind; i++)
		if (v[i].kind == k)
			return v[i].state;
	return NULL;
}

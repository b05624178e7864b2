// SPDX-License-Identifier: GPL-2.0-only
/* Kinds' private state slots (kstate.h): a short array, searched by key. */
#include "kstate.h"

void **kstate_slot(struct kstate *v, const void *key)
{
	size_t i;

	for (i = 0; i < KSTATE_MAX; i++) {
		if (!v[i].key)
			v[i].key = key;
		if (v[i].key == key)
			return &v[i].state;
	}
	return NULL;
}

void *kstate_get(const struct kstate *v, const void *key)
{
	size_t i;

	for (i = 0; i < KSTATE_MAX && v[i].key; i++)
		if (v[i].key == key)
			return v[i].state;
	return NULL;
}

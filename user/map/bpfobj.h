/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * crux's BPF objects below their users (sockmap, treeiter, kfeat, track): a private load of
 * the iterator object, and the pins a tracker leaves under its pin dir. Library-style:
 * debug logging only.
 */
#ifndef CRUX_BPFOBJ_H
#define CRUX_BPFOBJ_H

#include <stdbool.h>

#include "abi.h"

struct crux_iter_bpf;

/*
 * Open and load crux_iter.bpf.o privately: no map is pinned or reused. seed: load the
 * seed/reconcile iterators; tree: load the tree iterator.
 */
int bpfobj_load_iter(bool seed, bool tree, struct crux_iter_bpf **ret);
/* The pinned object dir/name: an fd, or -errno. */
int bpfobj_get_at(const char *dir, const char *name);
/* The abi_info record pinned under pin_dir (-ENOENT if none). */
int bpfobj_read_abi(const char *pin_dir, struct crux_abi_info *ret);

#endif /* CRUX_BPFOBJ_H */

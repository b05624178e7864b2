// SPDX-License-Identifier: GPL-2.0-only
/* crux's BPF objects: a private load of the iterator object, a tracker's pins (bpfobj.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpfobj.h"
#include "util.h"

#include "crux_iter.skel.h"

int bpfobj_load_iter(bool seed, bool tree, struct crux_iter_bpf **ret)
{
	struct crux_iter_bpf *skel;
	struct bpf_map *map;
	int err;

	skel = crux_iter_bpf__open();
	if (!skel)
		return errno ? -errno : -ENOMEM;
	/* private: never reuse or create pins, whatever the map definitions ask for */
	bpf_object__for_each_map(map, skel->obj) {
		err = bpf_map__set_pin_path(map, NULL);
		if (err)
			goto out_destroy;
	}
	if (!seed) {
		/* the maps are still created: keep the unused ones tiny */
		bpf_map__set_max_entries(skel->maps.peers, 1);
		bpf_map__set_max_entries(skel->maps.conn_addr, 1);
	}
	bpf_program__set_autoload(skel->progs.iter_task_file_seed, seed);
	bpf_program__set_autoload(skel->progs.iter_unix_seed, seed);
	bpf_program__set_autoload(skel->progs.iter_task_file_tree, tree);
	bpf_program__set_autoload(skel->progs.iter_task_file_refs, tree);
	bpf_program__set_autoload(skel->progs.iter_task_file_icons, tree);
	/* the recheck candidates are a tracker's: a private load has none */
	bpf_program__set_autoload(skel->progs.recheck_run, false);
	bpf_map__set_max_entries(skel->maps.recheck, 1);
	bpf_program__set_autoload(skel->progs.iter_task_file_fdmsgs, tree);
	err = crux_iter_bpf__load(skel);
	if (err)
		goto out_destroy;
	*ret = skel;
	return 0;
out_destroy:
	crux_iter_bpf__destroy(skel);
	return err;
}

int bpfobj_get_at(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int bpfobj_read_abi(const char *pin_dir, struct crux_abi_info *ret)
{
	_cleanup_close_ int fd = -1;
	__u32 zero = 0;

	fd = bpfobj_get_at(pin_dir, "abi_info");
	if (fd < 0)
		return fd;
	if (bpf_map_lookup_elem(fd, &zero, ret))
		return -errno;
	return 0;
}

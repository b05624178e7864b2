/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Maps shared by crux_track.bpf.o and crux_iter.bpf.o. The ones readers use are pinned by
 * name under the tracker's pin dir (userspace sets pin_root_path), so both objects, a
 * restarted tracker and crux-map all see the same maps. Names are <= 15 characters.
 */
#ifndef CRUX_MAPS_BPF_H
#define CRUX_MAPS_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "abi.h"

/* The live map: socket inode -> struct crux_sock. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CRUX_MAP_MAX_SOCKS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct crux_sock);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} peers SEC(".maps");

/* socket inode -> the address its task passed to connect(). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CRUX_MAP_MAX_SOCKS / 4);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct crux_conn);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} conn_addr SEC(".maps");

/* enum crux_stat -> counter; CRUX_ST_GEN is the reconcile generation. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CRUX_ST__MAX);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} stats SEC(".maps");

/* One struct crux_abi_info, written by the loader: readers refuse another layout. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crux_abi_info);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} abi_info SEC(".maps");

/* struct crux_event stream for `crux-map watch` (only while stats[WATCHERS] > 0). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} events SEC(".maps");

/* Sockets to look at again: struct crux_recheck (include/abi.h). */
#define CRUX_RECHECK_MAX 16384
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CRUX_RECHECK_MAX);
	__type(key, __u64);
	__type(value, struct crux_recheck);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} recheck SEC(".maps");

/* Per-CPU scratch: a crux_sock is too big for the 512-byte stack. Not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct crux_sock);
} rec_buf SEC(".maps");

#endif /* CRUX_MAPS_BPF_H */

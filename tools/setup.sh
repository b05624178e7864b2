#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Mount what crux needs (bpffs for pinned maps, tracefs for tracepoint ids) when absent.
set -eu
if ! grep -q ' /sys/fs/bpf bpf ' /proc/mounts; then
	mount -t bpf bpf /sys/fs/bpf
fi
if ! grep -q ' /sys/kernel/tracing tracefs ' /proc/mounts; then
	mount -t tracefs tracefs /sys/kernel/tracing
fi
if [ -d /sys/kernel/debug ] && ! grep -q ' /sys/kernel/debug debugfs ' /proc/mounts; then
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null || true
fi

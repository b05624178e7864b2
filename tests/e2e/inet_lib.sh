#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared by the inet_*.t scripts: restore_lib.sh's cycle, run in a network namespace of
# the test's own (loopback only), so that no socket, port or nftables rule of the test
# can touch the host's. The target is inettgt; crux runs in the namespace too (the
# restore creates its sockets there, the network lock is installed there). Sourced.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/inettgt
NS=crux-inet-$$
REAL_CRUX=$CRUX

inet_setup() {
	ip netns add "$NS" || { echo "1..0 # SKIP cannot create a network namespace"; exit 0; }
	ip netns exec "$NS" ip link set lo up
	ip netns exec "$NS" sysctl -qw net.ipv4.ping_group_range="0 2147483647"
	TGT_WRAP="nsenter --net=/run/netns/$NS"
	CRUX=$WORK/crux
	printf '#!/bin/sh\nexec nsenter --net=/run/netns/%s %s "$@"\n' "$NS" "$REAL_CRUX" >"$CRUX"
	chmod +x "$CRUX"
	trap 'rst_cleanup; ip netns del "$NS" 2>/dev/null' EXIT
}

# in_ns CMD...: run a command in the test's namespace
in_ns() { nsenter --net=/run/netns/"$NS" "$@"; }

# cycle NAME TOPO [dump options] -- [restore options]: the whole dump/restore/verify cycle
cycle() {
	local name=$1 topo=$2 d=$WORK/$1 dopt=() ropt=()
	shift 2
	while [ $# -gt 0 ] && [ "$1" != -- ]; do dopt+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	ropt=("$@")
	start "$topo" "$d"
	ok $? "$name: target ready"
	dump "$d" "${dopt[@]}"
	ok $? "$name: dumped"
	reap "$d"
	restore "$d" "${ropt[@]}"
	ok $? "$name: restored, counting again"
	verify "$d"
	ok $? "$name: the restored process verified its sockets and their traffic"
}

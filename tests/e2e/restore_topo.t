#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Each restore target topology is dumped, killed, restored, signalled, and checks by itself
# that its state survived (memory, files, fds, sockets with their queues and peers, pipes,
# the process tree with pids, parents, session and group).
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..12"
for topo in basic sockets tree; do
	d=$WORK/$topo
	start $topo "$d"
	ok $? "$topo: target ready"
	dump "$d"
	ok $? "$topo: dumped"
	reap "$d"
	restore "$d"
	ok $? "$topo: restored, counting again"
	verify "$d"
	ok $? "$topo: the restored process verified its own state"
done
exit $((T_FAILED > 0))

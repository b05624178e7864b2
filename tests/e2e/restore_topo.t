#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Each restore target topology is dumped, killed, restored, signalled, and checks by itself
# that its state survived (memory, files, fds, sockets with their queues and peers, pipes,
# the process tree with pids, parents, session and group, a chroot()ed root directory).
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..20"
for topo in basic sockets tree chroot; do
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

# The same process with other credentials than crux's: supplementary groups and a
# smaller capability bounding set come back. (A non-root uid needs the dump to read
# another uid's rlimits, which prlimit() refuses here without CAP_SYS_RESOURCE.)
d=$WORK/creds
TGT_WRAP="setpriv --groups=100,65534 --bounding-set=-net_raw" start basic "$d"
ok $? "creds: target ready"
dump "$d"
ok $? "creds: dumped"
reap "$d"
restore "$d"
ok $? "creds: restored"
verify "$d"
ok $? "creds: it verified its state, groups and bounding set included"
exit $((T_FAILED > 0))

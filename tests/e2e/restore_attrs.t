#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# State a process sees that is not a file or memory content, checked from inside after a
# restore: pipe end flags and pipe sizes; oom_score_adj, the child-subreaper flag and the
# other prctl settings; madvise() flags, mlock()ed memory and mlockall(MCL_FUTURE) (VmFlags in
# smaps). (An fd table shared with clone(CLONE_FILES) is refused: dump_guard.t.)
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/losstgt
topos=${LOSS_TOPOS:-pipes attrs madv}
echo "1..$((3 * $(echo $topos | wc -w)))"

for topo in $topos; do
	d=$WORK/$topo
	start "$topo" "$d" && dump "$d"
	ok $? "$topo: dumped"
	reap "$d"
	restore "$d"
	ok $? "$topo: restored"
	verify "$d"
	ok $? "$topo: the restored process finds its state as it was"
done
exit $((T_FAILED > 0))

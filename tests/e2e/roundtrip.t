#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The round trip: every e2e target is dumped (A), restored, dumped again (B), and the two
# image sets are compared field by field (imgdump). Any state crux records but does not
# restore shows up as a difference. The fields that legitimately differ are filtered out,
# each for its reason (the list is the README's, "Round trip"):
#   thread_info.gpregs / fpregs, crux-task xsave   registers: the task ran between the dumps
#   tc.timers.*.vsec / vusec                       an armed itimer counts down
#   pipe_id, sk-unix ino / peer, crux-ext ino      new pipes and sockets get new inode numbers
#   tc.flags                                       the kernel's PF_FORKNOEXEC/PF_SUPERPRIV: how
#                                                  the task was made (by fork, from root)
#   reg.size                                       a file the task writes grows (its counter)
#   mm_brk                                         the heap may grow as it runs
#   inventory crux_images size, crc32              each image's size and checksum follow its contents
# Mappings are compared merged as the kernel merges them (imgdump): crux maps adjacent parts
# one by one, and the kernel joins those that the dumped process had apart.
# KNOWN (a real difference, reported, not hidden): a datagram socketpair end whose peer had
# messages queued reports its send-queue bytes (the sk-unix "backlog") as 0 after a restore,
# because the queue is refilled through a private socket, not from that end.
# Pages and pagemaps are not compared (memory runs on); the restored process checks its own
# memory on SIGUSR1. Then B is restored and verified: the second image is as good as the first.
. "$(dirname "$0")/restore_lib.sh"
need_root
DUMPER=$CRUX_OUT/tests/e2e/imgdump
RST=$CRUX_OUT/tests/e2e/rsttgt
LOSS=$CRUX_OUT/tests/e2e/losstgt
THR=$CRUX_OUT/tests/e2e/thrtgt
targets=${RT_TARGETS:-"rsttgt:basic rsttgt:sockets rsttgt:tree rsttgt:chroot losstgt:locks losstgt:pipes losstgt:attrs losstgt:madv thrtgt:threads"}
echo "1..$((4 * $(echo $targets | wc -w)))"

# Fields that differ for a reason (see above).
KNOWN='^[<>] files\.img #[0-9]+\.usk\.backlog = '
EXPECTED='^inventory\.img .*crux_images\[[0-9]+\]\.(size|crc32) = |\.tc\.flags = |\.reg\.size = |\.(gpregs|fpregs)\.|\.xsave = |\.timers\.[a-z]+\.v(sec|usec) = |\.pipe_id = |\.usk\.(ino|peer) = |^(crux/)?crux-ext\.img .*\.(ino|peer_ino) = |\.mm_brk = '

for tg in $targets; do
	tgt=${tg%%:*}
	topo=${tg#*:}
	case $tgt in rsttgt) TGT=$RST ;; losstgt) TGT=$LOSS ;; thrtgt) TGT=$THR ;; esac
	d=$WORK/$tgt-$topo
	start "$topo" "$d" && dump "$d" && mv "$d/img" "$d/A"
	ok $? "$tg: dumped (A)"
	reap "$d"
	mv "$d/A" "$d/img" 2>/dev/null
	restore "$d"
	ok $? "$tg: restored from A"
	mv "$d/img" "$d/A"
	TPID=$(head -1 "$d/pids")
	dump "$d"
	"$DUMPER" "$d/A" | grep -vE "$EXPECTED" >"$d/A.txt" &&
		"$DUMPER" "$d/img" | grep -vE "$EXPECTED" >"$d/B.txt"
	rc=$?
	diff "$d/A.txt" "$d/B.txt" >"$d/diff"
	# every difference is a known one (shown), or the test fails
	[ $rc = 0 ] && ! grep -E '^[<>] ' "$d/diff" | grep -qvE "$KNOWN"
	ok $? "$tg: dumped again (B): no difference with A but the expected ones"
	[ -s "$d/diff" ] && diag "$d/diff"
	wait $RPID 2>/dev/null
	reap "$d"
	restore "$d" && verify "$d"
	ok $? "$tg: B restored, and the process verified its state"
done
exit $((T_FAILED > 0))

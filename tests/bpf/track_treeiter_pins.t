#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux track pins the dumper's tree iterators (loaded and verified once, never attached);
# crux dump and crux-map use them instead of loading a BPF object of their own, fall back to
# loading one when they are gone, and --stop removes them with the rest.
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
CRUX_MAP=${CRUX_MAP:-$PWD/.output/crux-map}
TGT=${CRUX_OUT:-$PWD/.output}/tests/e2e/dumptgt
PIN=/sys/fs/bpf/crux-test-tipins-$$
n=0 fails=0
t() { # description, then the check's exit status in $?
	local rc=$?
	n=$((n + 1))
	if [ $rc = 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fails=$((fails + 1)); fi
}
tmp=$(mktemp -d /tmp/crux-test-tipins-XXXXXX)
tpid=
cleanup() {
	[ -n "$tpid" ] && kill -9 "$tpid" 2>/dev/null && wait "$tpid" 2>/dev/null
	"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$PIN" "$tmp"
}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
trap cleanup EXIT
for d in /sys/fs/bpf/crux-test-tipins-*; do # leftovers of a run that died
	[ -e "$d" ] && ! kill -0 "${d##*-}" 2>/dev/null && rm -rf "$d"
done
echo "1..9"

"$CRUX" track -d --reconcile-ms 0 --pin-dir "$PIN" >/dev/null 2>&1
t "tracker started"
[ "$(ls "$PIN" | grep -c '^prog_iter_task_file_')" = 4 ]
t "four tree iterator programs pinned"
! ls "$PIN" | grep -q '^link_iter_task_file_\(tree\|refs\|icons\|fdmsgs\)$'
t "and none of them attached"

"$TGT" kinds "$tmp" </dev/null >/dev/null 2>&1 &
tpid=$!
for i in $(seq 250); do [ -e "$tmp/ready" ] && break; sleep 0.02; done
out=$("$CRUX" dump -vv --pin-dir "$PIN" -t $tpid -D "$tmp/img" -R 2>&1)
t "dump with the tracker's pins"
grep -q "using the tree iterators pinned by crux track" <<<"$out"
t "the dump used the pinned programs"
out=$("$CRUX_MAP" -vv --pin-dir "$PIN" external $tpid 2>&1)
grep -q "using the tree iterators pinned by crux track" <<<"$out"
t "crux-map external used them too"

rm -f "$PIN/prog_iter_task_file_refs"
out=$("$CRUX" dump -vv --pin-dir "$PIN" -t $tpid -D "$tmp/img2" -R 2>&1) &&
	grep -q "no tree iterators pinned under $PIN .*: loading them" <<<"$out"
t "one pin missing: the dump loads its own and succeeds"

"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
t "--stop"
[ ! -e "$PIN" ]
t "the pin dir and the programs in it are gone"
[ $fails = 0 ]

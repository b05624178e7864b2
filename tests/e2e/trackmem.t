#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Incremental dumps (tests/e2e/memtgt.c): a chain of 5 dumps with --track-mem
# --leave-running while the target writes a known pattern and maps, grows, shrinks, unmaps
# and moves mappings between them; each later dump writes only what changed (crit reads
# the chain); restore from the last equals the memory at the last dump (checksum from
# inside). Pre-dump while a thread writes, then a final dump and restore (the thread checks
# its pages form one consistent snapshot). A tree of three tasks restored from a chain. The
# holder never outlives its process, a dump without --track-mem releases it, a wrong parent
# is noticed, a missing or corrupt parent is refused before anything is created.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/memtgt
echo "1..38"

# mstart DIR [thread]: the target as our child; sets TPID once it wrote step 0
mstart() {
	mkdir -p "$1"
	"$TGT" "$1" ${2:+"$2"} </dev/null >"$1/log" 2>&1 &
	TPID=$!
	wait_file "$1/state"
}

# mstep DIR K: next step; waits for "step K" in DIR/state
mstep() {
	local i
	kill -USR1 "$TPID"
	for ((i = 0; i < 50; i++)); do
		grep -q "^step $2 " "$1/state" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# mcheck DIR PID: the checksum the process computes now ("check sum S [thread ok]")
mcheck() {
	local i
	rm -f "$1/check"
	kill -USR2 "$2"
	for ((i = 0; i < 50; i++)); do
		[ -s "$1/check" ] && { cat "$1/check"; return 0; }
		sleep 0.1
	done
	return 1
}

# restored OUT: wait until `crux restore -v` says it rebuilt the tree
restored() {
	local i
	for ((i = 0; i < 50; i++)); do
		grep -q "restored [0-9]* task" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

sum_of() { awk '{print $4}' "$1"; } # "step K sum S" -> S
copied() { sed -n 's/.* \([0-9]*\) pages, .*/\1/p' "$1"; }
in_parent() { sed -n 's/.*, \([0-9]*\) in the parent .*/\1/p' "$1"; }
whole() { sed -n 's/.*(\([0-9]*\) mappings copied whole).*/\1/p' "$1"; }
holder_of() { sed -n 's/.*kept by crux-trackmem pid \([0-9]*\).*/\1/p' "$1"; }
sock_of() { echo "/run/crux/trackmem-$1-$(awk '{print $22}' "/proc/$1/stat" 2>/dev/null).sock"; }

# ---- a chain of five dumps of a running process ----
d=$WORK/chain
mstart "$d"
ok $? "target ready"
"$CRUX" dump -t "$TPID" -D "$d/1" -R --track-mem >"$d/1.out" 2>&1
ok $? "dump 1: --track-mem --leave-running" || diag "$d/1.out"
H=$(holder_of "$d/1.out")
SOCK=$(sock_of "$TPID")
[ -n "$H" ] && [ "$(cat /proc/"$H"/comm 2>/dev/null)" = crux-trackmem ] && [ -S "$SOCK" ]
ok $? "a crux-trackmem holder (pid $H) keeps the tracking, serving $SOCK"
for k in 1 2 3 4; do
	mstep "$d" $k || break
	cp "$d/state" "$d/state.$k"
	"$CRUX" dump -v -t "$TPID" -D "$d/$((k + 1))" -R --track-mem --prev-images-dir ../$k \
		>"$d/$((k + 1)).out" 2>&1 || { diag "$d/$((k + 1)).out"; break; }
done
[ -e "$d/5/inventory.img" ] && [ "$(readlink "$d/5/parent")" = ../4 ]
ok $? "dumps 2-5 with --prev-images-dir: each has a parent link (5 -> ../4)"
good=0
for k in 2 3 4 5; do [ "$(in_parent "$d/$k.out")" -gt 0 ] || good=1; done
ok $good "each later dump takes pages from its parent: $(for k in 2 3 4 5; do echo -n "$(copied "$d/$k.out")+$(in_parent "$d/$k.out") "; done)"
[ "$(copied "$d/5.out")" -lt "$(($(copied "$d/1.out") / 2))" ]
ok $? "the last dump copies $(copied "$d/5.out") pages, the first $(copied "$d/1.out")"
[ "$(whole "$d/2.out")" -ge 1 ] && grep -q "copied whole: .*new since the parent" "$d/2.out"
ok $? "dump 2: the new mapping is copied whole, and it says so" || diag "$d/2.out"
[ "$(whole "$d/3.out")" -ge 1 ] && grep -q "copied whole: new or grown" "$d/3.out"
ok $? "dump 3: the grown mapping is copied whole, and it says so" || diag "$d/3.out"
[ "$(whole "$d/4.out")" = 0 ]
ok $? "dump 4: a shrunk mapping stays tracked (nothing copied whole)" || diag "$d/4.out"
[ "$(whole "$d/5.out")" -ge 1 ] && grep -q "copied whole: .*moved" "$d/5.out"
ok $? "dump 5: the moved mapping is copied whole, and it says so" || diag "$d/5.out"
crit decode -i "$d/5/pagemap-$TPID.img" >"$d/crit.out" 2>&1 &&
	grep -q '"in_parent": true, "flags": 1' "$d/crit.out" && grep -q '"flags": 4' "$d/crit.out"
ok $? "crit decodes the incremental pagemap: in-parent and present runs" || diag "$d/crit.out"
crit x "$d/5" ps >"$d/ps.out" 2>&1 && grep -q memtgt "$d/ps.out"
ok $? "crit x ps reads the last image" || diag "$d/ps.out"
"$CRUX" show "$d/5" >"$d/show.out" 2>&1 && grep -q "^parent   ../4 " "$d/show.out" &&
	grep -qE "pages +$(copied "$d/5.out") in [0-9]+ runs, $(in_parent "$d/5.out") in the parent image" "$d/show.out"
ok $? "crux show: the parent link and the pages in the parent" || diag "$d/show.out"
want=$(sum_of "$d/state.4")
got=$(mcheck "$d" "$TPID")
[ "$got" = "check sum $want" ]
ok $? "the running process's checksum is still that of step 4 ($want)"
kill -9 "$TPID"
wait "$TPID" 2>/dev/null
wait_gone "$TPID"
H=$(holder_of "$d/5.out")
wait_gone "$H" && [ ! -e "$SOCK" ]
ok $? "the holder (pid $H) exits with the tracked process and removes its socket"

mv "$d/3" "$d/3x"
"$CRUX" restore -D "$d/5" >"$d/missing.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "parent image .* is missing or incomplete" "$d/missing.out" &&
	[ ! -e "/proc/$TPID" ]
ok $? "a missing parent (3 of 1..5) is refused before anything is created" || diag "$d/missing.out"
mv "$d/3x" "$d/3"
cp "$d/2/pages-$TPID.img" "$d/pages.bak"
truncate -s 4096 "$d/2/pages-$TPID.img"
"$CRUX" restore -D "$d/5" >"$d/corrupt.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -qE "truncated (image|or was changed)|parent image .* is missing or incomplete \(Bad message\)" "$d/corrupt.out" && [ ! -e "/proc/$TPID" ]
ok $? "a truncated parent pages image is refused" || diag "$d/corrupt.out"
cp "$d/pages.bak" "$d/2/pages-$TPID.img"
"$CRUX" restore -v -D "$d/5" >"$d/restore.out" 2>&1 &
RPID=$!
restored "$d/restore.out"
got=$(mcheck "$d" "$TPID")
[ "$got" = "check sum $want" ]
ok $? "restore from the 5th image: the process computes the checksum of step 4 ($got)" ||
	diag "$d/restore.out"
mstep "$d" 5 && [ "$(ls /proc/"$TPID"/task | wc -l)" = 1 ]
ok $? "the restored process runs on (step 5)"
kill -9 "$TPID"
wait "$RPID" 2>/dev/null

# ---- releasing, and a parent that is not the last dump ----
d=$WORK/release
mstart "$d"
"$CRUX" dump -t "$TPID" -D "$d/a" -R --track-mem >"$d/a.out" 2>&1
ok $? "dump --track-mem" || diag "$d/a.out"
H=$(holder_of "$d/a.out")
SOCK=$(sock_of "$TPID")
"$CRUX" dump -t "$TPID" -D "$d/b" -R --track-mem --prev-images-dir ../a >"$d/b.out" 2>&1
ok $? "dump --prev-images-dir ../a" || diag "$d/b.out"
mstep "$d" 1
"$CRUX" dump -t "$TPID" -D "$d/c" -R --track-mem --prev-images-dir ../a >"$d/c.out" 2>&1 &&
	[ "$(in_parent "$d/c.out")" = 0 ] &&
	grep -q "not the last dump that reset its tracking" "$d/c.out"
ok $? "a parent older than the last tracked dump: everything copied, and it says why" ||
	diag "$d/c.out"
H=$(holder_of "$d/c.out")
"$CRUX" dump -t "$TPID" -D "$d/d" -R >"$d/d.out" 2>&1 && ! grep -q crux-trackmem "$d/d.out"
ok $? "dump without --track-mem" || diag "$d/d.out"
wait_gone "$H" && [ ! -e "$SOCK" ]
ok $? "it released the tracking: the holder is gone"
"$CRUX" dump -t "$TPID" -D "$d/e" -R --prev-images-dir ../d >"$d/e.out" 2>&1 &&
	[ "$(in_parent "$d/e.out")" = 0 ] && grep -q "no memory tracking is held" "$d/e.out"
ok $? "--prev-images-dir without tracking: everything copied, and it says so" ||
	diag "$d/e.out"
"$CRUX" dump -t "$TPID" -D "$d/f" -R --prev-images-dir ../nope >"$d/f.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "prev-images-dir ../nope .*no complete image" "$d/f.out" &&
	[ ! -e "$d/f" ] && kill -0 "$TPID"
ok $? "a missing --prev-images-dir is refused; the tree runs on, no image is left" ||
	diag "$d/f.out"
kill -9 "$TPID"
wait "$TPID" 2>/dev/null

# ---- a tree: a shell and two targets, one uffd per task ----
d=$WORK/tree
mkdir -p "$d/a" "$d/b"
bash -c "\"$TGT\" \"$d/a\" & \"$TGT\" \"$d/b\" & wait" </dev/null >"$d/log" 2>&1 &
TPID=$!
wait_file "$d/a/state" && wait_file "$d/b/state"
A=$(pgrep -P "$TPID" -f "$d/a\$")
B=$(pgrep -P "$TPID" -f "$d/b\$")
"$CRUX" dump -t "$TPID" -D "$d/1" -R --track-mem >"$d/1.out" 2>&1 &&
	grep -q "^dumped 3 tasks" "$d/1.out"
ok $? "a tree of 3 tasks (shell $TPID, targets $A $B): dump --track-mem" || diag "$d/1.out"
kill -USR1 "$A"
for i in $(seq 50); do grep -q "^step 1 " "$d/a/state" && break; sleep 0.1; done
"$CRUX" dump -t "$TPID" -D "$d/2" -R --track-mem --prev-images-dir ../1 >"$d/2.out" 2>&1 &&
	[ "$(in_parent "$d/2.out")" -gt 0 ]
ok $? "the tree's next dump: $(copied "$d/2.out") pages copied, $(in_parent "$d/2.out") in the parent" ||
	diag "$d/2.out"
want_a=$(sum_of "$d/a/state")
want_b=$(sum_of "$d/b/state")
"$CRUX" dump -t "$TPID" -D "$d/3" --prev-images-dir ../2 >"$d/3.out" 2>&1
ok $? "the last dump of the chain (killed)" || { diag "$d/3.out"; kill -9 "$TPID" "$A" "$B"; }
wait "$TPID" 2>/dev/null
wait_gone "$A"
wait_gone "$B"
"$CRUX" restore -v -D "$d/3" >"$d/restore.out" 2>&1 &
RPID=$!
restored "$d/restore.out"
[ "$(mcheck "$d/a" "$A")" = "check sum $want_a" ] && [ "$(mcheck "$d/b" "$B")" = "check sum $want_b" ]
ok $? "restore of the tree from the chain: each target computes the checksum it had" ||
	diag "$d/restore.out"
kill -9 "$A" "$B" "$TPID" 2>/dev/null
wait "$RPID" 2>/dev/null

# ---- pre-dump, pre-dump, dump, while a thread writes ----
d=$WORK/pre
mstart "$d" thread
ok $? "threaded target ready"
"$CRUX" pre-dump -t "$TPID" -D "$d/p1" >"$d/p1.out" 2>&1 &&
	grep -q "^pre-dumped 1 task, [0-9]* pages, frozen" "$d/p1.out"
ok $? "pre-dump 1" || diag "$d/p1.out"
[ ! -e "$d/p1/core-$TPID.img" ] && [ -e "$d/p1/pagemap-$TPID.img" ] && kill -0 "$TPID"
ok $? "a pre-dump holds memory only, and the tree runs on"
mstep "$d" 1
"$CRUX" pre-dump -t "$TPID" -D "$d/p2" --prev-images-dir ../p1 >"$d/p2.out" 2>&1 &&
	[ "$(in_parent "$d/p2.out")" -gt 0 ]
ok $? "pre-dump 2 on top of pre-dump 1: $(copied "$d/p2.out") pages copied, $(in_parent "$d/p2.out") in the parent" ||
	diag "$d/p2.out"
mstep "$d" 2
want=$(sum_of "$d/state")
H=$(holder_of "$d/p2.out")
"$CRUX" dump -t "$TPID" -D "$d/final" --prev-images-dir ../p2 >"$d/final.out" 2>&1 &&
	[ "$(in_parent "$d/final.out")" -gt 0 ]
ok $? "final dump (killed): $(copied "$d/final.out") pages copied, $(in_parent "$d/final.out") from the pre-dumps" ||
	{ diag "$d/final.out"; kill -9 "$TPID"; } # a failed dump resumes it
wait "$TPID" 2>/dev/null
wait_gone "$H"
ok $? "the holder is gone with the process"
"$CRUX" restore -v -D "$d/final" >"$d/restore.out" 2>&1 &
RPID=$!
restored "$d/restore.out"
got=$(mcheck "$d" "$TPID")
[ "$got" = "check sum $want thread ok" ]
ok $? "restore: the checksum of step 2, and the writer thread's pages are one consistent snapshot ($got)" ||
	diag "$d/restore.out"
got=$(mcheck "$d" "$TPID")
[ "${got##* }" = ok ]
ok $? "the restored writer thread runs on, consistent"
kill -9 "$TPID"
wait "$RPID" 2>/dev/null
exit $((T_FAILED > 0))

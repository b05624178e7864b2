#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A four-thread process (tests/e2e/thrtgt.c: one thread in pthread_cond_wait, one spinning,
# one blocked in read() on a pipe, main counting in nanosleep): dump --leave-running leaves
# every thread running and the images list every tid (crit reads them); dump + restore
# brings back the same tids, each thread with its own state, and every thread makes
# progress; the restored process is dumped and restored once more, and as the child of a
# dumped shell. The target checks its own threads on SIGUSR1 and exits 0. A process whose
# main thread ended is refused; a stopped one stays stopped, every thread.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/thrtgt
echo "1..28"

# threads_of PID: its thread ids, ascending, on one line
threads_of() { ls "/proc/$1/task" 2>/dev/null | sort -n | tr '\n' ' '; }
want_tids() { tr ' ' '\n' <"$1/tids" | sort -n | tr '\n' ' '; }

# none_traced PID: no thread of PID is stopped or traced
none_traced() {
	local s
	for s in /proc/"$1"/task/*/status; do
		grep -qE '^State:\s+[tT]' "$s" && return 1
		grep -qE '^TracerPid:\s+0$' "$s" || return 1
	done
	return 0
}

d=$WORK/running
start threads "$d"
ok $? "target ready"
tids=$(want_tids "$d")
[ "$(threads_of "$TPID")" = "$tids" ] && [ "$(wc -w <<<"$tids")" = 4 ]
ok $? "it runs four threads: $tids"
"$CRUX" dump -t "$TPID" -D "$d/img" -R >"$d/dump.out" 2>&1 &&
	grep -q "^dumped 1 task (4 threads), " "$d/dump.out"
ok $? "dump --leave-running of a multi-threaded process: 1 task (4 threads)" || diag "$d/dump.out"
cp "$d/counter" "$d/expect"
[ "$(threads_of "$TPID")" = "$tids" ] && none_traced "$TPID"
ok $? "every thread is still there, none stopped or traced"
if command -v crit >/dev/null; then
	got=$(crit decode -i "$d/img/pstree.img" 2>&1 |
		python3 -c 'import json,sys; print(" ".join(map(str, sorted(json.load(sys.stdin)["entries"][0]["threads"]))))')
	[ "$got " = "$tids" ]
	ok $? "crit: pstree.img lists every tid ($got)"
	bad=0
	for t in $tids; do crit decode -i "$d/img/core-$t.img" >/dev/null 2>&1 || bad=1; done
	ok $bad "crit decodes the core image of every thread"
	crit x "$d/img" ps >"$d/ps.out" 2>&1 && grep -q thrtgt "$d/ps.out"
	ok $? "crit x ps reads the tree" || diag "$d/ps.out"
else
	for i in 1 2 3; do echo "ok $((T_N + i)) # SKIP crit unavailable (Debian package criu)"; done
	T_N=$((T_N + 3))
fi
"$CRUX" show "$d/img" >"$d/show.out" 2>&1 && grep -q "1 task, 4 threads" "$d/show.out" &&
	grep -qE "thread +[0-9]+ \(thr-spin\)" "$d/show.out"
ok $? "crux show: four threads, with their names" || diag "$d/show.out"
spin=$(awk '{print $3}' "$d/tids") # main, cond, spin, read
"$CRUX" restore -D "$d/img" >"$d/refused.out" 2>&1
[ $? = 1 ] && grep -q "thread id $spin is taken by thr-spin (pid $spin)" "$d/refused.out"
ok $? "restore while it runs: refused, naming the taken thread id" || diag "$d/refused.out"
cp -r "$d/img" "$d/broken" && rm "$d/broken/core-$spin.img"
"$CRUX" restore -D "$d/broken" >"$d/broken.out" 2>&1
[ $? = 1 ] && grep -q "core-$spin.img" "$d/broken.out"
ok $? "an image without one thread's core: refused, naming the file" || diag "$d/broken.out"
kill -USR1 "$TPID"
wait "$TPID"
ok $? "the left-running process verified every thread (progress, tids, state)" ||
	diag "$d/log"

# main thread gone, another still running: refused by name, left running
d=$WORK/pexit
start pexit "$d"
"$CRUX" dump -t "$TPID" -D "$d/img" >"$d/dump.out" 2>&1
[ $? = 1 ] && [ ! -e "$d/img" ] &&
	grep -q "task $TPID has ended its main thread while other threads run" "$d/dump.out"
ok $? "main thread ended, another runs: refused, naming it, no image" || diag "$d/dump.out"
c1=$(cat "$d/counter")
sleep 0.05
[ "$(cat "$d/counter")" != "$c1" ]
ok $? "that process runs on"
kill -9 "$TPID"
wait "$TPID" 2>/dev/null

d=$WORK/cycle
start threads "$d" && dump "$d"
ok $? "target dumped and killed"
tids=$(want_tids "$d")
reap "$d"
CRUX_TEST_RESTORE_FAIL=$TPID "$CRUX" restore -D "$d/img" >"$d/late.out" 2>&1
rc=$?
left=$(for t in $tids; do [ -e "/proc/$t" ] && echo "$t"; done)
[ $rc = 1 ] && [ -z "$left" ] && grep -q "every task it created was killed" "$d/late.out"
ok $? "a failure once its threads are made: refused, no thread left ($left)" ||
	diag "$d/late.out"
restore "$d"
ok $? "restored: it counts again"
[ "$(threads_of "$TPID")" = "$tids" ]
ok $? "the same thread ids: $(threads_of "$TPID")"
none_traced "$TPID"
ok $? "no thread is left stopped or traced"
grep -q "thr-read" /proc/"$TPID"/task/*/comm
ok $? "thread names are back"
mv "$d/img" "$d/img0"
RPID0=$RPID
dump "$d"
ok $? "the restored process dumped again"
wait $RPID0 2>/dev/null
reap "$d"
restore "$d"
ok $? "restored a second time"
verify "$d"
ok $? "it verified every thread: progress, tids, __thread values, masks, rseq, robust lists"
# a tree: a shell whose child is the multi-threaded target; the shell records its exit status
d=$WORK/tree
mkdir -p "$d"
setsid bash -c "\"$TGT\" threads \"$d\" 2>\"$d/log\"; echo \$? >\"$d/rc\"" </dev/null >/dev/null 2>&1 &
wait_file "$d/ready"
TPID=$(cut -d' ' -f1 "$d/tids")
SH=$(awk '{print $4}' /proc/"$TPID"/stat)
"$CRUX" dump -t "$SH" -D "$d/img" >"$d/dump.out" 2>&1 && grep -q "dumped 2 tasks (5 threads)" "$d/dump.out"
ok $? "a shell and its multi-threaded child: dumped" || diag "$d/dump.out"
cp "$d/counter" "$d/expect"
wait 2>/dev/null
wait_gone "$TPID" && wait_gone "$SH"
"$CRUX" restore -D "$d/img" -d >"$d/restore.out" 2>&1
[ "$(threads_of "$TPID")" = "$(want_tids "$d")" ] && none_traced "$TPID"
ok $? "restored under its restored parent, with the same thread ids" || diag "$d/restore.out"
kill -USR1 "$TPID"
wait_file "$d/rc" && [ "$(cat "$d/rc")" = 0 ]
ok $? "it verified every thread, and the shell saw it exit 0" || diag "$d/log"

# all_stopped PID: every thread in job-control stop
all_stopped() {
	local s
	for s in /proc/"$1"/task/*/status; do grep -qE '^State:\s+T' "$s" || return 1; done
}

# stopped with kill -STOP: every thread stays stopped through -R and comes back stopped
d=$WORK/stopped
start threads "$d"
kill -STOP "$TPID"
"$CRUX" dump -t "$TPID" -D "$d/img0" -R >"$d/dump0.out" 2>&1 && sleep 0.1 && all_stopped "$TPID"
ok $? "a stopped multi-threaded process: dump -R leaves every thread stopped" ||
	diag "$d/dump0.out"
dump "$d"
reap "$d"
"$CRUX" restore -D "$d/img" >"$d/restore.out" 2>&1 &
RPID=$!
for ((i = 0; i < 50; i++)); do all_stopped "$TPID" 2>/dev/null && break; sleep 0.1; done
all_stopped "$TPID" && [ "$(threads_of "$TPID")" = "$(want_tids "$d")" ]
ok $? "restored stopped, with the same thread ids" || diag "$d/restore.out"
kill -CONT "$TPID"
sleep 0.1
verify "$d"
ok $? "after SIGCONT it verified every thread"
exit $((T_FAILED > 0))

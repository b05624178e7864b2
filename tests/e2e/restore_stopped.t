#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A task in job-control stop (kill -STOP) is dumped as stopped and stays stopped: after a
# --leave-running dump, after a failed dump, and once restored, where SIGCONT lets it count
# again; the running tasks of the same tree run throughout. Once with a stopped child,
# once with a stopped root (stoptgt: a root and two children, each with its own counter).
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/stoptgt
echo "1..45"

state() { # pid: the one-letter state of /proc/PID/stat ("" if gone)
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

wait_state() { # pid letter: until the task is in that state (5 s at most)
	local i
	for ((i = 0; i < 50; i++)); do
		[ "$(state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}

moves() { # counter-file: its value changes (within 5 s)
	local a i
	a=$(cat "$1")
	for ((i = 0; i < 50; i++)); do
		sleep 0.1
		[ "$(cat "$1")" != "$a" ] && return 0
	done
	return 1
}

# A detached task goes back to its stop (or runs on) a moment after crux returns: wait for
# the state before reading it.
stays() { # pid counter-file: stopped (T) and its counter does not change
	local a
	wait_state "$1" T || return 1
	a=$(cat "$2")
	sleep 0.3
	[ "$(state "$1")" = T ] && [ "$(cat "$2")" = "$a" ]
}

runs() { # pid counter-file: counting, and not stopped or traced
	moves "$2" || return 1
	case $(state "$1") in "" | t | T | Z) return 1 ;; esac
}

core_state() { # dir pid: task_state in the core image, as crit decodes it
	crit decode -i "$1/img/core-$2.img" 2>/dev/null |
		grep -oE '"task_state": [0-9]+' | grep -oE '[0-9]+$'
}

shown() { # dir pid: the state word crux show prints for the task
	"$CRUX" show "$1/img" 2>/dev/null | sed -nE "s/^task $2 .*, (alive|stopped|zombie),.*/\1/p"
}

dump_r() { # dir: --leave-running dump into DIR/img
	"$CRUX" dump -t "$TPID" -D "$1/img" -R >"$1/dump-r.out" 2>&1 && return 0
	diag "$1/dump-r.out"
	return 1
}

# Restore in the background (crux waits for the root, exiting with its status); returns
# once the given counter moves again (a task of the tree that was running). Sets RPID.
restore_until() { # dir counter-file
	"$CRUX" restore -D "$1/img" >"$1/restore.out" 2>&1 &
	RPID=$!
	moves "$2" && return 0
	diag "$1/restore.out"
	return 1
}

pid_of() { # idx: the pid of the root (0) or of child 1 or 2 of the target in $d
	if [ "$1" = 0 ]; then echo "$TPID"; else cat "$d/pid-$1"; fi
}

counter_of() { # idx: its counter file
	if [ "$1" = 0 ]; then echo "$d/counter"; else echo "$d/counter-$1"; fi
}

others_run() { # idx: the two other tasks of the tree run
	local i
	for i in 0 1 2; do
		[ "$i" = "$1" ] && continue
		runs "$(pid_of $i)" "$(counter_of $i)" || return 1
	done
}

others_state() { # idx: the task_state of the two others in the image ("1 1" expected)
	local i
	for i in 0 1 2; do [ "$i" = "$1" ] || core_state "$d" "$(pid_of $i)"; done | xargs
}

# a failed dump (its image directory, a tiny tmpfs, fills up after the freeze)
dump_fails() {
	local mnt=$WORK/mnt-small rc
	mkdir -p "$mnt"
	mount -t tmpfs -o size=16k tmpfs "$mnt" || return 1
	! "$CRUX" dump -t "$TPID" -D "$mnt/img" >"$d/dump-fail.out" 2>&1 &&
		grep -q "every task was resumed" "$d/dump-fail.out"
	rc=$?
	umount "$mnt"
	return $rc
}

# stopped_cycle NAME IDX: stop task IDX of a fresh tree (0 the root, 1 a child), dump it with
# -R, fail a dump, dump it (killed), restore it, continue it; the other two run throughout.
stopped_cycle() {
	local what=$1 idx=$2 pid cnt
	d=$WORK/$what
	start tree "$d"
	ok $? "$what: target tree ready"
	pid=$(pid_of "$idx") cnt=$(counter_of "$idx")
	kill -STOP "$pid" && wait_state "$pid" T
	ok $? "$what: $pid stopped with SIGSTOP"
	dump_r "$d"
	ok $? "$what: --leave-running dump of the tree"
	stays "$pid" "$cnt"
	ok $? "$what: still stopped (T) after the dump"
	others_run "$idx"
	ok $? "$what: the two other tasks run"
	[ "$(core_state "$d" "$pid")" = 3 ]
	ok $? "$what: crit: task_state 3 (stopped) in core-$pid.img"
	[ "$(others_state "$idx")" = "1 1" ]
	ok $? "$what: crit: task_state 1 (alive) for the two others"
	[ "$(shown "$d" "$pid")" = stopped ] && [ "$(shown "$d" "$(pid_of $(((idx + 1) % 3)))")" = alive ]
	ok $? "$what: crux show says stopped, and alive for another task"
	dump_fails
	ok $? "$what: a dump that fails after the freeze"
	stays "$pid" "$cnt" && others_run "$idx"
	ok $? "$what: after the failed dump it is still stopped, the others run"

	rm -rf "$d/img"
	at_dump=$(cat "$cnt")
	dump "$d"
	ok $? "$what: dump of the tree (killed)"
	reap "$d"
	[ "$(core_state "$d" "$pid")" = 3 ]
	ok $? "$what: the killing dump recorded it as stopped too"
	restore_until "$d" "$(counter_of $(((idx + 1) % 3)))"
	ok $? "$what: restored; a running task counts again"
	stays "$pid" "$cnt" && [ "$(cat "$cnt")" = "$at_dump" ]
	ok $? "$what: restored $pid is stopped (T), its counter where it was at dump"
	others_run "$idx"
	ok $? "$what: the two other restored tasks run"
	kill -CONT "$pid"
	runs "$pid" "$cnt"
	ok $? "$what: SIGCONT: it counts again"
	verify "$d"
	ok $? "$what: the root verified its children and exited 0"
}

stopped_cycle child 1
stopped_cycle root 0

# an image dumped running restores running (task_state 1: nothing stops it)
d=$WORK/alive
start tree "$d"
ok $? "target tree ready"
dump "$d"
ok $? "dump of a running tree"
reap "$d"
[ "$(core_state "$d" "$TPID")" = 1 ]
ok $? "crit: task_state 1"
restore_until "$d" "$d/counter"
ok $? "restored"
others_run 0
ok $? "both restored children run"
verify "$d"
ok $? "the root verified its children and exited 0"

# restore -d: crux exits at once, and the kernel hangs up (SIGHUP, SIGCONT) an orphaned
# process group that holds a stopped task: crux warns when its exit orphans one, and only
# then. (stoptgt's root dies with crux anyway: it has a parent-death signal.)
detached() { # dir: restore -d into DIR/restore-d.out; then kill what it restored
	local rc p
	"$CRUX" restore -D "$1/img" -d >"$1/restore-d.out" 2>&1
	rc=$?
	for p in $(grep -E '^[0-9]+$' "$1/restore-d.out"); do kill -9 "$p" 2>/dev/null; done
	for p in $(grep -E '^[0-9]+$' "$1/restore-d.out"); do wait_gone "$p"; done
	return $rc
}
detached "$WORK/child"
ok $? "restore -d of the image with a stopped child"
! grep -q "restored stopped" "$WORK/child/restore-d.out"
ok $? "no warning: the tree stays in the test's process group, crux's exit orphans nothing"
d=$WORK/job
set -m # the target in a process group of its own, as a shell job
start tree "$d"
rc=$?
set +m
ok $rc "job: target tree ready in its own process group"
c1=$(cat "$d/pid-1")
kill -STOP "$c1" && wait_state "$c1" T && dump "$d"
ok $? "job: a child stopped, the tree dumped"
reap "$d"
detached "$d" &&
	grep -q "pid $c1 was restored stopped, and crux's exit leaves its process group $TPID orphaned" \
		"$d/restore-d.out"
ok $? "job: restore -d warns that the stopped child's group is left orphaned"
exit $((T_FAILED > 0))

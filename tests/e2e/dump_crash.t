#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A killed dumper never harms the tree (issue #9). safetgt (a parent and two children
# talking over two socketpairs and a pipe, checking xmm15 across every syscall) is dumped
# with --leave-running while crux kills itself with SIGKILL at its Nth fault point
# (CRUX_FAULT_AT: ptrace steps, injected syscalls, memory reads, image writes, commit),
# at 32 points spread over a whole run, then at random moments. After each kill: every task
# alive, not stopped, not traced, still exchanging correct data, and no image directory
# (complete or partial) under the name asked for. The temporary directory of a killed dump
# is removed by the next dump and by tools/cleanup.sh. Last, a dump still succeeds.
. "$(dirname "$0")/dump_lib.sh"
SAFETGT=$CRUX_OUT/tests/e2e/safetgt

d=$tmp/crash
mkdir -p "$d"
"$SAFETGT" "$d" </dev/null >/dev/null 2>"$d/stderr" &
root=$!
pids+=("$root")
for i in $(seq 250); do [ -e "$d/ready" ] && break; sleep 0.02; done
tree=("$root" $(cat /proc/"$root"/task/*/children))
ok "$([ ${#tree[@]} = 3 ]; echo $?)" "safetgt runs: ${tree[*]}"

# healthy: every task alive, not stopped or traced, the data still flowing and correct
healthy() {
	local p s before i
	for p in "${tree[@]}"; do
		s=/proc/$p/status
		[ -e "$s" ] || { echo "# pid $p is gone"; return 1; }
		grep -qE '^State:\s+[tTZ]' "$s" && { echo "# pid $p: $(grep State "$s")"; return 1; }
		grep -qE '^TracerPid:\s+0$' "$s" || { echo "# pid $p is still traced"; return 1; }
	done
	before=$(cat "$d/progress")
	for i in $(seq 100); do
		[ "$(cat "$d/progress")" != "$before" ] && break
		sleep 0.02
	done
	[ "$(cat "$d/progress")" != "$before" ] || { echo "# no progress: $before"; return 1; }
	[ ! -e "$d/bad" ] || { echo "# $(cat "$d/bad")"; return 1; }
}

# a full run counts the fault points
out=$(CRUX_FAULT_COUNT=1 "$CRUX" dump -t "$root" -D "$d/img" -R 2>&1)
ok $? "a whole dump --leave-running succeeds"
total=$(sed -n 's/.*fault points: \([0-9]*\).*/\1/p' <<<"$out")
ok "$([ "${total:-0}" -gt 100 ]; echo $?)" "it passes ${total:-0} fault points"
rm -rf "$d/img"
total=${total:-100}

killed=0 completed=0 bad=0
trial() { # how: a CRUX_FAULT_AT value, or "t<ms>" for a kill after that many ms
	local rc
	if [ "${1#t}" != "$1" ]; then
		"$CRUX" dump -t "$root" -D "$d/img" -R >/dev/null 2>&1 &
		local c=$!
		sleep "$(printf '0.%03d' "${1#t}")"
		kill -9 $c 2>/dev/null
		wait $c 2>/dev/null
		rc=$?
	else
		CRUX_FAULT_AT=$1 "$CRUX" dump -t "$root" -D "$d/img" -R >/dev/null 2>&1
		rc=$?
	fi
	if [ $rc = 137 ]; then
		killed=$((killed + 1))
		[ ! -e "$d/img" ] || { echo "# kill at $1 left $d/img"; return 1; }
	elif [ $rc = 0 ]; then
		completed=$((completed + 1)) # the kill came too late: a complete image
		"$CRUX" show "$d/img" >/dev/null 2>&1 || { echo "# image of $1 unreadable"; return 1; }
	else
		echo "# dump at $1: exit $rc"
		return 1
	fi
	rm -rf "$d/img"
	healthy
}

for k in $(seq 0 31); do
	at=$((1 + k * (total - 1) / 31))
	trial "$at"
	ok $? "killed at fault point $at of $total: the tree is unharmed"
done
for k in $(seq 8); do
	ms=$((RANDOM % 120))
	trial "t$ms"
	ok $? "killed after $ms ms: the tree is unharmed"
done
echo "# $killed dumps killed, $completed completed before their kill"

# the temporary directory of a killed dump: recognisable, swept by the next dump
CRUX_FAULT_AT=$((total / 2)) "$CRUX" dump -t "$root" -D "$d/img" -R >/dev/null 2>&1
left=$(ls -d "$d"/.img.crux-*.tmp 2>/dev/null | wc -l)
ok "$([ "$left" = 1 ]; echo $?)" "a killed dump leaves only its temporary directory .img.crux-PID.tmp"
out=$("$CRUX" dump -t "$root" -D "$d/img" -R 2>&1)
ok $? "a dump after all that succeeds" || echo "$out" | sed 's/^/#   /'
left=$(ls -d "$d"/.img.crux-*.tmp 2>/dev/null | wc -l)
ok "$([ "$left" = 0 ]; echo $?)" "and removed the temporary directory of the killed one"
CRUX_FAULT_AT=$((total / 2)) "$CRUX" dump -t "$root" -D "$d/img2" -R >/dev/null 2>&1
tools/cleanup.sh --images "$d" >/dev/null 2>&1
left=$(ls -d "$d"/.img2.crux-*.tmp 2>/dev/null | wc -l)
ok "$([ "$left" = 0 ]; echo $?)" "tools/cleanup.sh --images DIR removes one too"
healthy
ok $? "the tree still runs correctly"
done_testing

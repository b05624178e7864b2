#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The guard against silent loss: state crux does not restore is refused at dump by name,
# the tree keeps running and no image is left.
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..5"

# refused CMD PATTERN DESCRIPTION: run CMD in the background, dump it, expect a refusal.
refused() {
	local d=$WORK/g$T_N pid
	mkdir -p "$d"
	# only stdio: an fd the test runner leaked would make the dump fail for another reason
	bash -c 'for f in /proc/$$/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done
		exec '"$1" </dev/null >/dev/null 2>&1 &
	disown $!
	pid=$!
	sleep 0.3
	[ -n "${3:-}" ] && pid=$(pgrep -n -P $pid) # the process under a wrapper
	"$CRUX" dump -t "$pid" -D "$d/img" >"$d/out" 2>&1
	[ $? = 1 ] && grep -qE "$2" "$d/out" && [ ! -e "$d/img" ] && kill -0 "$pid"
	ok $? "${4:-$3}"
	grep -qE "$2" "$d/out" || diag "$d/out"
	kill -9 "$pid" $! 2>/dev/null
}

refused "ionice -c2 -n3 sleep 60" "has an I/O priority \(ionice class 2, level 3\)" "" \
	"an I/O priority is refused by name"
refused "setpriv --inh-caps +net_bind_service --ambient-caps +net_bind_service sleep 60" \
	"has ambient capabilities" "" "ambient capabilities are refused by name"
refused "script -qfc 'sleep 60' /dev/null" "terminal: pid [0-9]+ \(sleep\) fd 0 holds /dev/pts/[0-9]+, a pseudo-terminal slave" \
	under "a pty slave held by the tree is refused by name"
refused "script -qfc 'sleep 60' /dev/null" "terminal: pid [0-9]+ \(script\) fd [0-9]+ holds /dev/(pts/)?ptmx, a pseudo-terminal master" \
	"" "a pty master held by the tree is refused by name"
# Two processes sharing one fd table (clone(CLONE_FILES)): refused by name, both resumed.
d=$WORK/sharedfd
mkdir -p "$d"
"$CRUX_OUT/tests/e2e/losstgt" sharedfd "$d" </dev/null >"$d/log" 2>&1 &
TPID=$!
wait_file "$d/ready"
CH=$(echo $(cat /proc/$TPID/task/*/children))
"$CRUX" dump -t $TPID -D "$d/img" >"$d/out" 2>&1
[ $? = 1 ] && grep -q "shared fd table: pid $CH (losstgt) shares its fd table with pid $TPID (losstgt)" "$d/out" &&
	[ ! -e "$d/img" ] && kill -0 $TPID && kill -0 "$CH"
ok $? "an fd table shared by two processes is refused by name, both keep running"
kill -9 $TPID $CH 2>/dev/null
exit $((T_FAILED > 0))

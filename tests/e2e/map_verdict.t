#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux-map external reaches the dump's verdict (crux dump --leave-running) for processes
# asleep on a socket in select, poll, ppoll, epoll_wait and read, and in a thread's poll:
# the reference a sleeping poll holds is the tree's own. With a real outside holder (the
# waiter's parent keeps the socket) both refuse, naming the parent.
. "$(dirname "$0")/dump_lib.sh"
CRUX_MAP=${CRUX_MAP:-$CRUX_OUT/crux-map}
WAIT=$CRUX_OUT/tests/e2e/waittgt

# asleep PID: every thread of PID sleeps (S)
asleep() {
	local i t s all
	for i in $(seq 250); do
		all=1
		for t in /proc/$1/task/*; do
			s=$(cat "$t/stat" 2>/dev/null) || continue
			s=${s##*) }
			[ "${s%% *}" = S ] || all=0
		done
		[ $all = 1 ] && return 0
		sleep 0.02
	done
	return 1
}

# waiter MODE [shared]: start one, wait until it sleeps; sets $wpid and $wdir
waiter() {
	wdir=$(mktemp -d "$tmp/w-XXXXXX")
	"$WAIT" "$1" "$wdir" ${2:-} </dev/null >/dev/null 2>"$wdir/stderr" &
	pids+=("$!")
	local i
	for i in $(seq 250); do
		[ -e "$wdir/ready" ] && break
		sleep 0.02
	done
	wpid=$(cat "$wdir/ready" 2>/dev/null)
	[ -n "$wpid" ] && pids+=("$wpid") && asleep "$wpid"
}

# verdicts PID DESC: crux-map's verdict and the dump's agree; prints "accepted" or "refused"
verdicts() {
	local map dump mv dv
	map=$("$CRUX_MAP" external "$1" 2>&1)
	case $map in
	*"would be refused"*) mv=refused ;;
	*"would accept"*) mv=accepted ;;
	*) mv="no verdict" ;;
	esac
	dump=$("$CRUX" dump -t "$1" -D "$wdir/img" --leave-running 2>&1)
	if [ $? = 0 ]; then dv=accepted; else dv=refused; fi
	ok "$([ "$mv" = "$dv" ]; echo $?)" "$2: crux-map says $mv, the dump $dv"
	[ "$mv" = "$dv" ] || { sed 's/^/#   map: /' <<<"$map"; sed 's/^/#   dump: /' <<<"$dump"; } | head -n 20
	last_map=$map last_dump=$dump verdict=$dv
}

for m in select poll ppoll read thread-poll; do
	waiter $m
	ok $? "a process waits in $m"
	verdicts "$wpid" "waiting in $m"
	ok "$([ "$verdict" = accepted ]; echo $?)" "waiting in $m: its own socketpair is dumpable"
	hasnt "$last_map" "no process crux can see" "waiting in $m: its poll reference is not an outside holder"
done

waiter epoll
ok $? "a process waits in epoll_wait"
verdicts "$wpid" "waiting in epoll_wait"
hasnt "$last_map" "shared socket" "waiting in epoll_wait: no shared socket"

waiter tcp
ok $? "a process waits in poll on a TCP listener"
verdicts "$wpid" "a TCP listener"
ok "$([ "$verdict" = accepted ]; echo $?)" "a TCP listener: dumped (the inet kind), accepted by both"
has "$last_map" "TCP +listen" "crux-map lists it under its own kind"

# every dumptgt topology: the same verdict, whatever it is. Not yet "scm": the dump finds
# fds in flight by peeking the queue of the frozen tree, which crux-map does not do.
for topo in simple kinds listener tree forker shut pidfd threads zombie; do
	start $topo || continue
	wdir=$tdir
	verdicts "$tpid" "dumptgt $topo"
done

for m in select poll; do
	waiter $m shared
	ok $? "a child waits in $m on a socket its parent holds too"
	parent=$(awk '{print $4}' "/proc/$wpid/stat")
	verdicts "$wpid" "shared, waiting in $m"
	ok "$([ "$verdict" = refused ]; echo $?)" "shared, waiting in $m: refused"
	has "$last_map" "which pid $parent \(waittgt\) outside the dumped tree also holds" \
		"shared, waiting in $m: crux-map names the parent"
done
done_testing

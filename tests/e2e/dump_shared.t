#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A pipe end or socket the tree holds that a process outside it holds too (the same open
# file, or the same pipe end reopened through /proc, or an fd in flight in an outside
# queue) is refused with the outside holder named, and the tree runs on; once the outside
# holder lets go, the same tree dumps. crux-map external gives the same verdict beforehand.
. "$(dirname "$0")/dump_lib.sh"
CRUX_MAP=${CRUX_MAP:-$PWD/.output/crux-map}

# child_of DIR: the target's pid, written by its parent once it holds what it keeps
child_of() {
	local i
	for i in $(seq 250); do
		[ -s "$1/child" ] && { cat "$1/child"; return 0; }
		sleep 0.02
	done
	return 1
}

# fds_closed PID: the parent let go of everything but stdio
fds_closed() {
	local i
	for i in $(seq 250); do
		[ "$(ls /proc/$1/fd | wc -l)" -le 3 ] && return 0
		sleep 0.02
	done
	return 1
}

for kind in pipe socket reopen inflight; do
	start shared $kind || exit 1
	parent=$tpid
	child=$(child_of "$tdir") || { ok 1 "$kind: the target started"; continue; }
	map=$("$CRUX_MAP" external "$child" 2>&1)
	has "$map" "^refused: shared (pipe|socket): pid $child " "$kind: crux-map external names it"
	has "$map" "^verdict: crux dump -t $child would be refused" "$kind: crux-map's verdict: refused"
	json=$("$CRUX_MAP" external -j "$child" 2>/dev/null | tr -d '\n')
	want=pipe
	[ $kind = socket ] && want=socket
	has "$json" "\"shared\":\[\{\"pid\":$child,\"fd\":[0-9]+,\"ino\":[0-9]+,\"kind\":\"$want\"" \
		"$kind: crux-map external -j lists it under shared"
	out=$("$CRUX" dump -t "$child" -D "$tdir/img" -R 2>&1)
	ok "$([ $? = 1 ]; echo $?)" "$kind: refused"
	case $kind in
	socket) has "$out" "shared socket: pid $child .* holds unix socket socket:\[[0-9]+\]" \
		"$kind: the message names the tree's fd and the socket" ;;
	pipe | reopen | inflight) has "$out" "shared pipe: pid $child .* holds the write end of pipe:\[[0-9]+\]" \
		"$kind: the message names the tree's fd and the pipe end" ;;
	esac
	if [ $kind = inflight ]; then
		has "$out" "by no process crux can see \(an fd in flight" "$kind: says where it may be"
	else
		has "$out" "pid $parent \(dumptgt\) outside the dumped tree also holds" \
			"$kind: the message names the outside holder"
	fi
	ok "$([ ! -e "$tdir/img" ]; echo $?)" "$kind: no image directory is left"
	running "$child" "$tdir"
	ok $? "$kind: the tree runs on"

	kill -USR1 "$parent"
	fds_closed "$parent"
	ok $? "$kind: the outside holder let go"
	map=$("$CRUX_MAP" external -j "$child" 2>/dev/null | tr -d '\n')
	has "$map" '"verdict":"ok"' "$kind: then crux-map's verdict is ok"
	hasnt "$map" '"shared"' "$kind: and its JSON has no shared entry"
	out=$("$CRUX" dump -t "$child" -D "$tdir/img2" -R 2>&1)
	rc=$?
	ok $rc "$kind: then the same tree dumps"
	[ $rc = 0 ] || sed 's/^/#   /' <<<"$out" | head -n 10
done

# the parent and child together are self-contained
start shared pipe || exit 1
child=$(child_of "$tdir")
out=$("$CRUX" dump -t "$tpid" -D "$tdir/img" -R 2>&1)
rc=$?
ok $rc "a tree that includes the other holder dumps"
[ $rc = 0 ] || sed 's/^/#   /' <<<"$out" | head -n 10
done_testing

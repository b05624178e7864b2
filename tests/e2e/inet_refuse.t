#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What the inet and netlink kinds cannot restore is refused by name at dump time, before
# anything is killed: a raw IP socket, a packet socket, a listener with a connection not
# yet accepted, a netlink socket with an unread reply, a ping socket with an unread echo
# reply. Each refusal names the socket, leaves the target running and no image.
. "$(dirname "$0")/inet_lib.sh"
inet_setup
echo "1..15"
# refused TOPO REGEX: the dump fails with a line matching REGEX
refused() {
	local d=$WORK/$1 c0
	start "$1" "$d"
	"$CRUX" dump -t "$TPID" -D "$d/img" >"$d/dump.out" 2>&1
	[ $? = 1 ] && grep -Eq "$2" "$d/dump.out"
	ok $? "$1: refused: $(grep -Eo "$2" "$d/dump.out" | head -1)"
	[ $? = 0 ] || diag "$d/dump.out"
	[ ! -e "$d/img" ]
	ok $? "$1: no image left"
	c0=$(cat "$d/counter")
	sleep 0.1
	[ "$(cat "$d/counter")" != "$c0" ]
	ok $? "$1: the target runs on"
	kill -9 "$TPID"
	wait "$TPID" 2>/dev/null
}
refused raw "fd [0-9]+: .* is a raw IP socket \(protocol 17\): raw sockets are not supported"
refused packet "fd [0-9]+: socket:\[[0-9]+\] is a packet socket \(AF_PACKET\): not supported"
refused accq "TCP socket ino [0-9]+ at 127.0.0.1:[0-9]+: listener with 1 connection\(s\) waiting in its accept queue"
refused nlq "NETLINK_ROUTE socket socket:\[[0-9]+\] \(port id [0-9]+\) has a message of [0-9]+ bytes waiting"
refused pingq "ICMP socket ino [0-9]+ at 0.0.0.0:4242: echo replies are queued"
exit $((T_FAILED > 0))

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Real Debian daemons that lock their pid file. cron (package cron) holds flock() on
# /run/crond.pid: dumped and restored, it must hold that lock again, so that a second cron
# refuses to start, as it does beside the original. atd (package at) holds a POSIX lock on
# /run/atd.pid but also POSIX timers, which crux does not restore: its dump is refused by
# name and it runs on, its lock kept.
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..9"

running() { pgrep -r R,S,D,T -x "$1" >/dev/null; }

# daemon NAME PIDFILE: start NAME -f in its own session; sets DPID once the pid file names it.
daemon() {
	local i
	setsid /usr/sbin/$1 -f </dev/null >/dev/null 2>&1 &
	DPID=$!
	for ((i = 0; i < 50; i++)); do
		[ "$(cat "$2" 2>/dev/null)" = "$DPID" ] && return 0
		sleep 0.1
	done
	return 1
}

for n in cron atd; do
	if [ ! -x /usr/sbin/$n ] || running $n; then
		echo "Bail out! /usr/sbin/$n is missing (tools/deps.sh installs it) or already running"
		exit 1
	fi
done

d=$WORK/cron
mkdir -p "$d"
daemon cron /run/crond.pid && grep -q "FLOCK  ADVISORY  WRITE $DPID" /proc/$DPID/fdinfo/*
ok $? "cron runs and holds flock() on /run/crond.pid"
timeout 10 /usr/sbin/cron -f </dev/null >/dev/null 2>&1
ok $(($? != 1)) "beside it, a second cron refuses to start"
"$CRUX" dump -t $DPID -D "$d/img" >"$d/dump.out" 2>&1
rc=$?
ok $rc "cron dumped"
[ $rc = 0 ] || diag "$d/dump.out"
wait $DPID 2>/dev/null
wait_gone $DPID
"$CRUX" restore -D "$d/img" -d >"$d/restore.out" 2>&1 && kill -0 $DPID
rc=$?
ok $rc "cron restored with its pid"
[ $rc = 0 ] || diag "$d/restore.out"
grep -q "FLOCK  ADVISORY  WRITE" /proc/$DPID/fdinfo/3 2>/dev/null
ok $? "the restored cron holds its pid-file lock again"
timeout 10 /usr/sbin/cron -f </dev/null >"$d/second.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "can't lock /var/run/crond.pid" "$d/second.out" && kill -0 $DPID
ok $? "a second cron still refuses to start (exit $rc), the restored one runs on"
kill $DPID 2>/dev/null
wait_gone $DPID
rm -f /run/crond.pid

d=$WORK/atd
mkdir -p "$d"
daemon atd /run/atd.pid && grep -q "POSIX  ADVISORY  WRITE $DPID" /proc/$DPID/fdinfo/*
ok $? "atd runs and holds a POSIX lock on /run/atd.pid"
"$CRUX" dump -t $DPID -D "$d/img" >"$d/dump.out" 2>&1
[ $? = 1 ] && grep -q "pid $DPID (atd) has POSIX timers" "$d/dump.out" && [ ! -e "$d/img" ]
ok $? "atd's dump is refused by name (its POSIX timers)"
timeout 10 /usr/sbin/atd -f </dev/null >/dev/null 2>&1
[ $? = 1 ] && kill -0 $DPID
ok $? "atd runs on and still holds its lock: a second atd refuses to start"
kill $DPID 2>/dev/null
wait $DPID 2>/dev/null
rm -f /run/atd.pid
exit $((T_FAILED > 0))

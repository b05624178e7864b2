#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `crux show` on what `crux dump` really writes: for each topology of dumptgt, dumped with
# --leave-running, show exits 0 (every file id, pages file and external record resolves),
# and its JSON agrees with the kernel's view of the still-running tasks: the same pids, the
# same fd numbers, and behind each fd the same socket inode, pipe inode or path as
# /proc/PID/fd. External peers come with the restore policy dump chose.
. "$(dirname "$0")/dump_lib.sh"

# compare DIR: show -j DIR against /proc; one result per task
compare() {
	local line
	"$CRUX" show -j "$1" >"$1.json" 2>"$1.err"
	ok $? "crux show -j exits 0"
	sed 's/^/#   /' "$1.err"
	while IFS= read -r line; do
		case $line in
		PASS*) ok 0 "${line#PASS }" ;;
		FAIL*) ok 1 "${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done < <(python3 - "$1.json" <<'PY'
import json, os, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    print("FAIL show -j output parses as JSON: %s" % e)
    sys.exit(0)
for t in d["tasks"]:
    pid, bad = t["pid"], []
    try:
        live = {int(x): os.readlink("/proc/%d/fd/%s" % (pid, x))
                for x in os.listdir("/proc/%d/fd" % pid)}
    except OSError as e:
        live, bad = {}, ["cannot read /proc/%d/fd: %s" % (pid, e)]
    shown = {f["fd"]: f for f in t["fds"]}
    if set(shown) != set(live):
        bad.append("fds %s, /proc %s" % (sorted(shown), sorted(live)))
    for fd, f in shown.items():
        l = live.get(fd, "")
        if l.startswith("socket:["):
            want = ("UNIXSK", "ino", int(l[8:-1]))
        elif l.startswith("pipe:["):
            want = ("PIPE", "pipe_id", int(l[6:-1]))
        elif not l or l.endswith(" (deleted)"):
            continue
        else:
            want = ("REG", "path", l)
        if (f["type"], f.get(want[1])) != (want[0], want[2]):
            bad.append("fd %d: shown %s %s, kernel %s" % (fd, f["type"], f.get(want[1]), l))
    print("%s task %d: its %d fds as the kernel sees them" % ("FAIL" if bad else "PASS", pid,
          len(shown)))
    for b in bad:
        print("#   " + b)
PY
	)
}

# dump_show NAME DUMP-OPTION...: dump the started target ($tpid) -R, then show and compare
dump_show() {
	local name=$1
	shift
	"$CRUX" dump -t $tpid -D "$tdir/img" -R "$@" >/dev/null 2>"$tdir/dump.err"
	ok $? "$name: crux dump -R $*"
	grep -i error "$tdir/dump.err" | sed 's/^/#   /'
	out=$("$CRUX" show "$tdir/img" 2>&1)
	local rc=$?
	ok $rc "$name: crux show exits 0"
	[ $rc = 0 ] || grep -E '!!|error' <<<"$out" | sed 's/^/#   /'
	compare "$tdir/img"
}

start kinds || exit 1
dump_show kinds
has "$out" "unix\[[0-9]+ \(0\)\] @crux-dumptgt-abstract(-[0-9]+)? dgram" "kinds: an abstract name prints with @"
has "$out" "pipe\[[0-9]+\] read end, 5 bytes queued in 1 chunk" "kinds: the pipe's queued bytes"
has "$out" "stream established, 6 bytes queued in 1 packet" "kinds: a stream queue"
has "$out" "unix\[[0-9]+ \([0-9]+\)\] stream established shut write" "kinds: the half-closed end"
has "$out" "/gone \(deleted\) stream" "kinds: a bound path since removed"

start tree || exit 1
dump_show tree
has "$out" "^total: 3 tasks" "tree: three tasks"

start listener || exit 1
dump_show listener
has "$out" "stream listening backlog 7" "listener: its backlog"

start dgram-server || exit 1
srvdir=$tdir srv=$tpid
start dgram-client "$srvdir/srv" || exit 1
dump_show dgram-client --ext-unix-sk
has "$out" "external peer $srvdir/srv \(dumptgt pid $srv\), reconnect-dgram" \
	"dgram client: its external peer, the peer's owner and the reconnect-dgram policy"
has "$out" "connected to $srvdir/srv, policy reconnect-dgram" "dgram client: the crux-ext record"

start listener || exit 1
lsndir=$tdir
start stream-client "$lsndir/lsn" || exit 1
dump_show stream-client "--ext-unix-sk=$(ino $tpid 4)"
has "$out" "external peer .*reconnect-stream" "stream client: the reconnect-stream policy"
done_testing

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux dump of one process holding every fd kind it supports: socketpairs of each type with
# queued data, a half-closed pair, a pipe with data, abstract/path/deleted-path bound
# sockets, a listener with an accepted and a pending connection. The images must show,
# through crit and crux show, exactly what /proc showed before the dump.
. "$(dirname "$0")/dump_lib.sh"

if ! have_crit; then
	echo "1..0 # SKIP crit unavailable (Debian package criu)"
	exit 0
fi

# -- kinds --
start kinds || exit 1
fds_before=$(ls /proc/$tpid/fd | sort -n | tr '\n' ' ')
maps_before=$(awk '{print $1}' /proc/$tpid/maps)
sp0=$(ino $tpid 4) sp1=$(ino $tpid 5) hc0=$(ino $tpid 10)
out=$("$CRUX" dump -t $tpid -D "$tdir/img" 2>&1)
ok $? "dump of the kinds target succeeds"
has "$out" "^dumped 1 task, 17 fds, unix sockets 8 internal / 0 external / 0 inbound" \
	"summary line counts tasks, fds and sockets"
gone $tpid
ok $? "the target was killed after the dump (default)"
ok "$([ -e "$tdir/img/inventory.img" ]; echo $?)" "inventory.img marks the image complete"
crit_decode_all "$tdir/img"
ok $? "crit decodes every CRIU-format image"

ps=$(crit x "$tdir/img" ps 2>&1)
has "$ps" "^ +$tpid +[0-9]+ +[0-9]+ +dumptgt$" "crit x ps shows the task and its comm"
fds=$(crit x "$tdir/img" fds 2>&1)
fds_img=$(awk -F: '/^[\t ]+[0-9]+:/{gsub(/[\t ]/,"",$1); print $1}' <<<"$fds" | sort -n | tr '\n' ' ')
ok "$([ "$fds_img" = "$fds_before" ]; echo $?)" "crit x fds lists the fds /proc showed ($fds_before)"
has "$fds" "^\s+4: unix\[$sp0 \($sp1\)\]$" "stream pair end 4 points at its peer"
has "$fds" "^\s+5: unix\[$sp1 \($sp0\)\]$" "stream pair end 5 points back"
has "$fds" "^\s+12: pipe\[[0-9]+\]$" "pipe read end"
has "$fds" "^\s+14: unix\[[0-9]+ \(0\) =00crux-dumptgt-$tpid\]$" "abstract bound name"
has "$fds" "^\s+15: unix\[[0-9]+ \(0\) $tdir/bound\]$" "path bound name"
mems=$(crit x "$tdir/img" mems 2>&1)
maps_img=$(awk '$1 ~ /^[0-9a-f]+-[0-9a-f]+$/ {print $1}' <<<"$mems")
ok "$([ "$maps_img" = "$maps_before" ]; echo $?)" "crit x mems lists exactly the VMAs of /proc/PID/maps"
has "$mems" "exe +$TGT$" "crit x mems shows the executable"

usk=$(crit show "$tdir/img/files.img" | python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    u = e.get("usk")
    if u:
        print(u["ino"], u["type"], u["state"], u["peer"], u.get("shutdown", "-"),
              u.get("deleted", False), u["name"])
')
has "$usk" "^$hc0 STREAM ESTABLISHED [0-9]+ WRITE False $" "half-closed end records SHUT_WR"
has "$usk" " STREAM CLOSE 0 - True $tdir/gone$" "socket bound to a deleted path is marked deleted"
has "$usk" "^[0-9]+ SEQPACKET ESTABLISHED [0-9]+ - False $" "seqpacket pair"
q=$(crit show "$tdir/img/sk-queues.img" | python3 -c '
import base64, json, sys
for e in json.load(sys.stdin)["entries"]:
    print(e["id_for"], base64.b64decode(e["extra"]).decode())
')
has "$q" "^[0-9]+ to-zero$" "stream queue of end 4 holds the bytes sent to it"
has "$q" "^[0-9]+ to-one$" "stream queue of end 5"
d1=$(grep -cE '^[0-9]+ (d1|d22)$' <<<"$q")
ok "$([ "$d1" = 2 ]; echo $?)" "dgram queue kept as two messages"
s1=$(grep -cE '^[0-9]+ (s1|s22)$' <<<"$q")
ok "$([ "$s1" = 2 ]; echo $?)" "seqpacket queue kept as two messages"
has "$q" "^[0-9]+ last$" "half-closed pair keeps the bytes sent before shutdown"
pd=$(crit show "$tdir/img/pipes-data.img" | python3 -c '
import base64, json, sys
for e in json.load(sys.stdin)["entries"]:
    print(e["bytes"], base64.b64decode(e["extra"]).decode())
')
has "$pd" "^5 piped$" "pipe data copied"

# -- listener with an accepted and a pending connection --
start listener || exit 1
lsn=$(ino $tpid 4) pend=$(ino $tpid 7)
out=$("$CRUX" dump -t $tpid -D "$tdir/img" 2>&1)
ok $? "dump of a listener with pending connection succeeds"
usk=$(crit show "$tdir/img/files.img" | python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    u = e.get("usk")
    if u:
        print(u["ino"], u["type"], u["state"], u["peer"], u["backlog"], u["name"])
')
has "$usk" "^$lsn STREAM LISTEN 0 7 $tdir/lsn$" "listener with its backlog and name"
has "$usk" "^$pend STREAM ESTABLISHED $lsn " "pending client's peer is the listener"
q=$(crit show "$tdir/img/sk-queues.img" | python3 -c '
import base64, json, sys
for e in json.load(sys.stdin)["entries"]:
    print(base64.b64decode(e["extra"]).decode())
')
has "$q" "^queued-for-server$" "accepted connection's queue"
has "$q" "^queued-for-client$" "client's queue"
done_testing

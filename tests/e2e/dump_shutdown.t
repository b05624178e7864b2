#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The shutdown state of each socket is recorded as the kernel holds it (sk_shutdown, read
# by the tree iterator), for every type, including the half a shutdown() mirrors into a
# stream or seqpacket peer and not into a datagram one.
. "$(dirname "$0")/dump_lib.sh"

start shut || exit 1
declare -A ino
for fd in 4 5 6 7 8 9; do
	l=$(readlink /proc/$tpid/fd/$fd)
	ino[$fd]=${l//[^0-9]/}
done
out=$("$CRUX" dump -t $tpid -D "$tdir/img" -R 2>&1)
ok $? "dumped (left running)"
usk=$(crit show "$tdir/img/files.img" | python3 -c '
import json, sys
for e in json.load(sys.stdin)["entries"]:
    u = e.get("usk")
    if u:
        print(u["ino"], u["type"], u.get("shutdown", "-"))
')
want() { # fd type shutdown description
	has "$usk" "^${ino[$1]} $2 $3$" "$4"
}
want 4 STREAM BOTH "stream: SHUT_RDWR end"
want 5 STREAM BOTH "stream: its peer, both halves mirrored"
want 6 SEQPACKET WRITE "seqpacket: SHUT_WR end"
want 7 SEQPACKET READ "seqpacket: its peer can no longer receive"
want 8 DGRAM READ "dgram: SHUT_RD end"
want 9 DGRAM - "dgram: its peer is untouched (no mirror for datagrams)"
running $tpid "$tdir"
ok $? "the target runs on"
done_testing

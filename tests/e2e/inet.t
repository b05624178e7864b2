#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# IPv4/IPv6 and netlink sockets, each topology dumped, killed, restored and checked from
# inside: TCP listeners (IPv4, IPv6-only, dual-stack with v4-mapped clients), unbound and
# bound sockets; established connections with both ends in the tree and unread bytes
# both ways (TCP_REPAIR, no option needed); UDP and UDP-lite with queued datagrams and
# their senders; a ping socket; socket options; netlink sockets with port ids and groups.
. "$(dirname "$0")/inet_lib.sh"
inet_setup
echo "1..30"
for topo in tcp-listen tcp-conn udp icmp opts netlink; do
	cycle "$topo" "$topo"
done

# The images decode with CRIU's crit (field numbers and magics are CRIU's).
d=$WORK/tcp-conn/img
crit decode -i "$d/files.img" >"$WORK/files.json" 2>"$WORK/crit.err" &&
	grep -q '"INETSK"' "$WORK/files.json"
ok $? "crit decodes files.img with its inet sockets"
f=$(ls "$d"/tcp-stream-*.img | head -1)
crit decode -i "$f" >"$WORK/stream.json" 2>>"$WORK/crit.err" && grep -q '"inq_seq"' "$WORK/stream.json"
ok $? "crit decodes $(basename "$f")"
crit decode -i "$WORK/netlink/img/files.img" 2>>"$WORK/crit.err" | grep -q '"NETLINKSK"'
ok $? "crit decodes files.img with its netlink sockets"
crit decode -i "$WORK/udp/img/files.img" 2>>"$WORK/crit.err" | grep -q '"udp\|"proto": 17'
ok $? "crit decodes files.img with its UDP sockets"
[ "$T_FAILED" = 0 ] || diag "$WORK/crit.err"
"$REAL_CRUX" show "$d" >"$WORK/show.txt" 2>&1 &&
	grep -Eq "inet\[[0-9]+\] TCP established 127.0.0.1:[0-9]+ -> 127.0.0.1:[0-9]+" "$WORK/show.txt" &&
	grep -Eq "inet\[[0-9]+\] TCP listening .* backlog 4" "$WORK/show.txt"
ok $? "crux show lists the inet sockets with their state and addresses"
"$REAL_CRUX" show "$WORK/netlink/img" 2>&1 | grep -Eq "netlink\[[0-9]+\] protocol 0 port [0-9]+ groups 0x1"
ok $? "crux show lists the netlink sockets with their port and groups"
exit $((T_FAILED > 0))

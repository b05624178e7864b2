#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# An established TCP connection to a server outside the dumped tree: refused by default
# with both ends and --tcp-established named; with it, the connection is dumped in repair
# mode and its traffic locked by an nftables table that the dump names; a restore without
# the option is refused; with it the connection comes back (the unread greeting is read,
# new bytes reach the server, which never saw a reset) and the lock is gone.
. "$(dirname "$0")/inet_lib.sh"
inet_setup
echo "1..14"
CRUX_MAP=${CRUX_MAP:-$PWD/.output/crux-map}
d=$WORK/ext
mkdir -p "$d"
cat >"$d/server.py" <<'PY'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(1)
s.settimeout(60)
open(sys.argv[1] + "/port", "w").write(str(s.getsockname()[1]))
c, _ = s.accept()
c.settimeout(60)
c.recv(5)
c.sendall(b"greeting")
got = b""
try:
    while not got.endswith(b"after-restore"):
        b = c.recv(64)
        if not b:
            break
        got += b
    open(sys.argv[1] + "/server.txt", "w").write("got " + got.decode())
except (OSError, socket.timeout) as e:
    open(sys.argv[1] + "/server.txt", "w").write("error " + str(e))
PY
in_ns /usr/bin/python3 "$d/server.py" "$d" </dev/null >"$d/server.log" 2>&1 &
SPID=$!
wait_file "$d/port"
port=$(cat "$d/port")
start ext-client "$d" "$port"
ok $? "target connected to the outside server on port $port"

"$CRUX_MAP" external "$TPID" >"$d/map.out" 2>"$d/map.err"
grep -Eq "^$TPID +[0-9]+ +[0-9]+ +TCP +estab +127.0.0.1:[0-9]+ +127.0.0.1:$port" "$d/map.out"
ok $? "crux-map external lists the connection as a TCP socket"
[ $? = 0 ] || diag "$d/map.out"
grep -q "^refused: .*is connected to 127.0.0.1:$port outside the dumped tree.*--tcp-established" \
	"$d/map.out" && grep -q "^verdict: crux dump -t $TPID would be refused" "$d/map.out"
ok $? "crux-map external gives the dump's verdict: refused, naming --tcp-established"

"$CRUX" dump -t "$TPID" -D "$d/refused" >"$d/refused.out" 2>&1
rc=$?
[ $rc = 1 ] && grep -q "127.0.0.1:[0-9]* is connected to 127.0.0.1:$port outside the dumped tree" \
	"$d/refused.out" && grep -q -- "--tcp-established" "$d/refused.out" && [ ! -e "$d/refused" ]
ok $? "without --tcp-established: refused, naming both ends and the option"
[ $rc = 1 ] || diag "$d/refused.out"
c0=$(cat "$d/counter"); sleep 0.1
[ "$(cat "$d/counter")" != "$c0" ]
ok $? "the refused dump left the target running"

dump "$d" --tcp-established
ok $? "dumped with --tcp-established"
grep -q "nft delete table inet crux-lock-$TPID" "$d/dump.out"
ok $? "the dump says what it locked and how to unlock it"
in_ns nft list table inet "crux-lock-$TPID" >"$d/lock.txt" 2>&1 &&
	grep -q "tcp dport $port" "$d/lock.txt"
ok $? "the lock table drops the connection's traffic"
reap "$d"

"$CRUX" restore -D "$d/img" >"$d/norestore.out" 2>&1
[ $? = 1 ] && grep -q "External TCP connection found in image.*--tcp-established" \
	"$d/norestore.out" && [ ! -e "/proc/$TPID" ]
ok $? "restore without --tcp-established is refused and creates nothing"

restore "$d" --tcp-established
ok $? "restored with --tcp-established, counting again"
! in_ns nft list table inet "crux-lock-$TPID" >/dev/null 2>&1
ok $? "the restore removed the lock"
verify "$d"
ok $? "the restored client read the unread greeting and sent new bytes"
wait $SPID
grep -q "^got hello\?after-restore$" "$d/server.txt" || grep -q "^got after-restore$" "$d/server.txt"
ok $? "the outside server got the new bytes on the same connection, no reset"
[ "$T_FAILED" = 0 ] || diag "$d/server.txt"
in_ns nft list ruleset | grep -q crux-lock
[ $? = 1 ]
ok $? "no crux lock left in the namespace"
exit $((T_FAILED > 0))

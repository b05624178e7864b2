#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Real Debian services over TCP/UDP, in a network namespace of the test's own: each is
# started, serves a request, is dumped (killed) and restored, and serves again with the
# same pid. lighttpd (poll event handler: epoll fds are not restored yet), Python's
# http.server, and dnsmasq as a DNS server on UDP and TCP (no DHCP; it holds a netlink
# route socket too).
. "$(dirname "$0")/inet_lib.sh"
inet_setup
echo "1..15"

# service NAME PORT CHECK-CMD START-CMD...: start, serve, dump, restore, serve again
service() {
	local name=$1 port=$2 check=$3 d=$WORK/$1 pid i
	shift 3
	mkdir -p "$d"
	in_ns setsid "$@" </dev/null >"$d/out" 2>&1 &
	for ((i = 0; i < 50; i++)); do
		in_ns ss -Htln "sport = :$port" | grep -q . && break
		sleep 0.1
	done
	pid=$(in_ns ss -Htlnp "sport = :$port" | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
	eval "$check" >"$d/before" 2>&1
	ok $? "$name: serves a request (pid $pid, port $port)"
	"$CRUX" dump -t "$pid" -D "$d/img" >"$d/dump.out" 2>&1
	ok $? "$name: dumped and killed"
	[ $? = 0 ] || diag "$d/dump.out"
	wait_gone "$pid"
	"$CRUX" restore -D "$d/img" -d >"$d/restore.out" 2>&1 && grep -qx "$pid" "$d/restore.out"
	ok $? "$name: restored with pid $pid"
	[ $? = 0 ] || diag "$d/restore.out"
	eval "$check" >"$d/after" 2>&1 && cmp -s "$d/before" "$d/after"
	ok $? "$name: the restored service serves the same answer"
	[ $? = 0 ] || diag "$d/after"
	[ "$name" = dnsmasq ] && dnsq "$port" crux.test tcp >"$d/tcp" 2>&1
	kill -9 "$pid" 2>/dev/null
	wait_gone "$pid"
}

# dnsq PORT NAME [tcp]: the A record dnsmasq answers (Python: no dig on a minimal Debian)
cat >"$WORK/dnsq.py" <<'PY'
import socket, struct, sys
port, name, tcp = int(sys.argv[1]), sys.argv[2], len(sys.argv) > 3
q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
q += struct.pack(">HH", 1, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM if tcp else socket.SOCK_DGRAM)
s.settimeout(3)
s.connect(("127.0.0.1", port))
if tcp:
    s.sendall(struct.pack(">H", len(q)) + q)
    a = s.recv(2)
    a = s.recv(struct.unpack(">H", a)[0])
else:
    s.send(q)
    a = s.recv(512)
print(".".join(str(b) for b in a[-4:]))
PY
dnsq() { in_ns /usr/bin/python3 "$WORK/dnsq.py" "$@"; }

w=$WORK/www
mkdir -p "$w"
echo "hello from crux's test" >"$w/index.html"
cat >"$WORK/lighttpd.conf" <<C
server.document-root = "$w"
server.bind = "127.0.0.1"
server.port = 8081
server.event-handler = "poll"
server.errorlog = "$WORK/lighttpd.err"
index-file.names = ("index.html")
C
service lighttpd 8081 "in_ns curl -sf http://127.0.0.1:8081/" /usr/sbin/lighttpd -D -f "$WORK/lighttpd.conf"
service http.server 8082 "in_ns curl -sf http://127.0.0.1:8082/index.html" \
	/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$w" 8082
service dnsmasq 5353 "dnsq 5353 crux.test" \
	/usr/sbin/dnsmasq --keep-in-foreground --no-resolv --no-hosts --bind-interfaces \
	--listen-address=127.0.0.1 --port=5353 --address=/crux.test/10.1.2.3 \
	--pid-file= --user=root --log-facility=/dev/null
grep -qx 10.1.2.3 "$WORK/dnsmasq/after"
ok $? "dnsmasq: the answer over UDP after restore is the configured address"
grep -qx 10.1.2.3 "$WORK/dnsmasq/tcp"
ok $? "dnsmasq: and over TCP (its listener accepted a new client)"
grep -q "netlink sockets [1-9]" "$WORK/dnsmasq/dump.out"
ok $? "dnsmasq: its netlink socket was dumped and restored too"
exit $((T_FAILED > 0))

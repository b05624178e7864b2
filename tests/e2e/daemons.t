#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Real event-loop daemons from Debian, on unix sockets only (inet sockets are not supported
# yet): redis-server (epoll, 5 threads), memcached (libevent: an epoll and an eventfd per
# worker thread) and a Python asyncio server (epoll, socketpair, signal wakeup fd). Each is
# started, serves a request, is dumped (killed) and restored, then serves again with the
# state it had.
. "$(dirname "$0")/restore_lib.sh"
need_root
for b in redis-server redis-cli memcached python3; do
	command -v $b >/dev/null || { echo "1..0 # SKIP $b missing: run tools/deps.sh"; exit 0; }
done
echo "1..15"
ASYNCSRV=$PWD/tests/e2e/asyncsrv.py
DPIDS=()
cleanup_daemons() {
	local p
	for p in "${DPIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rst_cleanup
}
trap cleanup_daemons EXIT

wait_sock() { # path
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# A line protocol request over a unix socket: ask SOCK TEXT [LINES] prints the answer.
ask() {
	python3 - "$@" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode())
want, out = int(sys.argv[3]) if len(sys.argv) > 3 else 1, b""
while out.count(b"\n") < want:
    b = s.recv(4096)
    if not b:
        break
    out += b
sys.stdout.write(out.decode().replace("\r", ""))
PY
}

# cycle NAME PID DIR: dump PID (killed), wait until it is gone, restore -d; sets RPID.
cycle() {
	local name=$1 pid=$2 d=$3
	"$CRUX" dump -t "$pid" -D "$d/img" >"$d/dump.out" 2>&1 || { diag "$d/dump.out"; return 1; }
	wait_gone "$pid" || return 1
	RPID=$("$CRUX" restore -D "$d/img" -d 2>"$d/restore.out" | head -n 1)
	[ -n "$RPID" ] || { diag "$d/restore.out"; return 1; }
	DPIDS+=("$RPID")
}

# The daemons run in their own session, holding nothing of ours but /dev/null and a log
# (fds a caller leaks to us would be pipes to outside the tree: closed before exec).
daemon() { # DIR CMD...
	local d=$1
	shift
	setsid python3 -c 'import os, sys; os.closerange(3, 65536); os.execvp(sys.argv[1], sys.argv[1:])' \
		"$@" </dev/null >"$d/log" 2>&1 &
	DPIDS+=($!)
	DPID=$!
}

# redis-server: no TCP port, a unix socket, no persistence
d=$WORK/redis
mkdir -p "$d"
daemon "$d" redis-server --port 0 --unixsocket "$d/sock" --save "" --appendonly no --dir "$d"
wait_sock "$d/sock" && [ "$(redis-cli -s "$d/sock" set k before)" = OK ] &&
	[ "$(redis-cli -s "$d/sock" rpush l a b c)" = 3 ]
ok $? "redis-server: started on a unix socket, served SET and RPUSH"
cycle redis "$DPID" "$d"
ok $? "redis-server: dumped and restored"
[ "$(redis-cli -s "$d/sock" get k)" = before ] &&
	[ "$(redis-cli -s "$d/sock" lrange l 0 -1 | tr '\n' ' ')" = "a b c " ]
ok $? "redis-server: the restored server answers with the data it held"
[ "$(redis-cli -s "$d/sock" set k2 after)" = OK ] && [ "$(redis-cli -s "$d/sock" get k2)" = after ]
ok $? "redis-server: and serves new writes"
[ "$(redis-cli -s "$d/sock" dbsize)" = 3 ]
ok $? "redis-server: 3 keys"

# memcached: a unix socket disables its network listeners (-s)
d=$WORK/memcached
mkdir -p "$d"
daemon "$d" memcached -u root -s "$d/sock" -t 4
wait_sock "$d/sock" && [ "$(ask "$d/sock" 'set k 0 0 6\r\nbefore\r\n')" = STORED ]
ok $? "memcached: started on a unix socket, served a set"
cycle memcached "$DPID" "$d"
ok $? "memcached: dumped and restored"
[ "$(ask "$d/sock" 'get k\r\n' 3 | tr '\n' ' ')" = "VALUE k 0 6 before END " ]
ok $? "memcached: the restored server returns the value it held"
for i in 1 2 3 4 5 6; do ask "$d/sock" "set k$i 0 0 1\r\n$i\r\n"; done >"$d/sets"
[ "$(grep -c STORED "$d/sets")" = 6 ] && [ "$(ask "$d/sock" 'get k6\r\n' 3 | head -n 2 | tail -n 1)" = 6 ]
ok $? "memcached: new connections are served by its worker threads"
[ "$(ask "$d/sock" 'incr nope 1\r\n')" = NOT_FOUND ]
ok $? "memcached: and answers a miss"

# python3 asyncio: a counter in the process
d=$WORK/asyncio
mkdir -p "$d"
daemon "$d" python3 "$ASYNCSRV" "$d/sock"
wait_sock "$d/sock" && [ "$(ask "$d/sock" 'incr\n' | cut -d' ' -f1)" = 1 ] &&
	[ "$(ask "$d/sock" 'incr\n' | cut -d' ' -f1)" = 2 ]
ok $? "asyncio: started on a unix socket, counted to 2"
t0=$(ask "$d/sock" 'incr\n' | cut -d' ' -f2)
cycle asyncio "$DPID" "$d"
ok $? "asyncio: dumped and restored"
a=$(ask "$d/sock" 'incr\n')
[ "$(cut -d' ' -f1 <<<"$a")" = 4 ]
ok $? "asyncio: the restored server counts on from its state (4, got '$a')"
sleep 0.3
t1=$(ask "$d/sock" 'incr\n' | cut -d' ' -f2)
[ "$t1" -gt "$t0" ]
ok $? "asyncio: its call_later timer keeps ticking ($t0 -> $t1)"
kill -TERM "$RPID" && wait_gone "$RPID"
ok $? "asyncio: SIGTERM reaches its signal handler through the wakeup fd, it exits"
exit $((T_FAILED > 0))

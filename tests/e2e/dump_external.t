#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Self-containment: a logd-style datagram client of an outside server (refused without
# --ext-unix-sk, accepted with it, the server's name recorded), a stream client of an
# outside listener (refused even with --ext-unix-sk, accepted when its inode is named),
# an inside datagram server with an outside client (a warning naming the client), and a
# pipe to an outside reader (refused). Every refusal leaves the target running.
. "$(dirname "$0")/dump_lib.sh"

if ! have_crit; then
	echo "1..0 # SKIP crit unavailable (Debian package criu)"
	exit 0
fi

# -- logd-style datagram client --
start dgram-server || exit 1
srv=$tpid sdir=$tdir
start dgram-client "$sdir/srv" || exit 1
cli=$tpid cdir=$tdir
cino=$(ino $cli 4) sino=$(ino $srv 4)
out=$("$CRUX" dump -t $cli -D "$cdir/img" 2>&1)
rc=$?
ok "$([ $rc = 1 ]; echo $?)" "dgram client of an outside server: refused without --ext-unix-sk (rc $rc)"
has "$out" "External socket" "the refusal keeps CRIU's key phrase"
has "$out" "pid $cli .*fd 4" "it names our pid and fd"
has "$out" "$cino" "it names our inode"
has "$out" "$sino" "it names the peer's inode"
has "$out" "$sdir/srv" "it names the peer's bound name"
has "$out" "pid $srv|$srv \(dumptgt\)" "it names the peer's owner pid"
has "$out" "--ext-unix-sk" "it names the option that would accept it"
ok "$([ ! -e "$cdir/img/inventory.img" ]; echo $?)" "no complete image is left behind"
running $cli "$cdir"
ok $? "the refused client keeps running"

out=$("$CRUX" dump -t $cli -D "$cdir/img2" --ext-unix-sk -R 2>&1)
ok $? "accepted with --ext-unix-sk"
has "$out" "external" "the summary counts it"
has "$out" "1 external" "one external socket"
fds=$(crit x "$cdir/img2" fds 2>&1)
has "$fds" "^\s+4: unix\[$cino \($sino\)\]$" "crit x fds shows the socket and its outside peer"
show=$("$CRUX" show "$cdir/img2" 2>&1)
has "$show" "$sdir/srv" "crux show: the peer's name is recorded for the reconnector"
running $cli "$cdir"
ok $? "--leave-running: the client runs on"

# -- stream client of an outside listener --
start listener || exit 1
lsrv=$tpid ldir=$tdir
start stream-client "$ldir/lsn" || exit 1
scli=$tpid scdir=$tdir
scino=$(ino $scli 4)
out=$("$CRUX" dump -t $scli -D "$scdir/img" --ext-unix-sk 2>&1)
rc=$?
ok "$([ $rc = 1 ]; echo $?)" "stream client of an outside listener: refused even with --ext-unix-sk"
has "$out" "stream" "the message says it is a stream connection"
has "$out" "ext-unix-sk=" "it says which option would accept it"
running $scli "$scdir"
ok $? "the refused stream client keeps running"
out=$("$CRUX" dump -t $scli -D "$scdir/img2" --ext-unix-sk=$scino 2>&1)
ok $? "accepted when its inode is named (--ext-unix-sk=$scino)"
show=$("$CRUX" show "$scdir/img2" 2>&1)
has "$show" "$ldir/lsn" "crux show: the listener's path is recorded"
has "$show" "(stream|new connection)" "the record says restore opens a new connection"

# -- inside datagram server, outside client: inbound warning --
start dgram-server || exit 1
isrv=$tpid isdir=$tdir
start dgram-client "$isdir/srv" || exit 1
icli=$tpid
out=$("$CRUX" dump -t $isrv -D "$isdir/img" -R 2>&1)
ok $? "inside datagram server with an outside client: dumped"
has "$out" "warning: .*outside pid $icli \\(dumptgt\\)" "a warning names the outside client's pid and comm"
has "$out" "1 inbound" "the summary counts it as inbound"

# -- pipe to an outside reader --
pdir=$(mktemp -d "$tmp/p-XXXXXX")
"$TGT" simple "$pdir" </dev/null 2>/dev/null | cat >/dev/null &
ppid_=$(for i in $(seq 100); do
	p=$(pgrep -f "dumptgt simple $pdir" | head -n 1)
	[ -n "$p" ] && [ -e "$pdir/ready" ] && { echo "$p"; break; }
	sleep 0.02
done)
pids+=("$ppid_")
out=$("$CRUX" dump -t "$ppid_" -D "$pdir/img" 2>&1)
rc=$?
ok "$([ $rc = 1 ]; echo $?)" "stdout piped to an outside reader: refused"
has "$out" "external pipe" "the message says external pipe"
has "$out" "pid $ppid_ .*fd 1" "it names our pid and fd"
has "$out" "\(cat\)" "it names the outside holder"
running "$ppid_" "$pdir"
ok $? "the refused writer keeps running"
done_testing

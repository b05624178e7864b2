#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A stream client of an outside listener, dumped with its inode named in
# --ext-unix-sk=INO: restored with --ext-unix-sk it opens a new connection to the
# listener's path and its next message reaches the running server.
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..6"
srv=$WORK/ssrv
cli=$WORK/scli
mkdir -p "$srv"
"$TGT" stream-server "$srv" </dev/null >"$srv/server.log" 2>&1 &
wait_file "$srv/ready"
ok $? "stream server up"
start stream-client "$cli" "$srv/ssrv"
ok $? "client connected"
ino=$(readlink /proc/$TPID/fd/4 | tr -dc 0-9)
dump "$cli" --ext-unix-sk="$ino"
ok $? "dumped with --ext-unix-sk=$ino"
reap "$cli"
restore "$cli" --ext-unix-sk
ok $? "restored with --ext-unix-sk"
verify "$cli"
ok $? "the client sent on its new connection"
for ((i = 0; i < 20; i++)); do grep -q after-restore "$srv/log.txt" && break; sleep 0.1; done
grep -q after-restore "$srv/log.txt"
ok $? "the server received it"
exit $((T_FAILED > 0))

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# A logd-style client (datagram socket connected to an outside server) dumped with
# --ext-unix-sk: restored without the option (refused), with it (its next message reaches
# the server), after the server restarted on the same path (new inode: reconnect is by
# name), and with the server gone (clear error, nothing left running, image unchanged).
. "$(dirname "$0")/restore_lib.sh"
need_root
echo "1..14"
srv=$WORK/srv
cli=$WORK/cli
img_sum() { find "$cli/img" -type f | sort | xargs md5sum | md5sum; }
start_server() {
	rm -f "$srv/ready"
	mkdir -p "$srv"
	"$TGT" logd-server "$srv" </dev/null >"$srv/server.log" 2>&1 &
	SPID=$!
	wait_file "$srv/ready"
}
delivered() { grep -c after-restore "$srv/log.txt" 2>/dev/null; }

start_server
ok $? "logd server up"
start logd-client "$cli" "$srv/logd"
ok $? "client connected to it"
dump "$cli" --ext-unix-sk
ok $? "client dumped with --ext-unix-sk"
reap "$cli"
sum0=$(img_sum)

"$CRUX" restore -D "$cli/img" >"$cli/noopt.out" 2>&1
rc=$?
grep -q -- "--ext-unix-sk" "$cli/noopt.out" && grep -q "External socket" "$cli/noopt.out"
ok $((rc != 1 || $? != 0)) "without --ext-unix-sk: refused, naming the socket and the option"
[ -e /proc/$TPID ]
ok $((1 - $?)) "nothing left running after the refusal"

restore "$cli" --ext-unix-sk
ok $? "restored with --ext-unix-sk"
verify "$cli"
ok $? "the restored client sent its next message"
[ "$(delivered)" = 1 ]
ok $? "the running server received it"

kill -9 $SPID
wait $SPID 2>/dev/null
start_server # same path, new inode
restore "$cli" --ext-unix-sk
ok $? "restored again after the server restarted under the same path"
verify "$cli"
ok $? "the client sent through the new server's socket"
[ "$(delivered)" = 2 ]
ok $? "the restarted server received it"

kill -9 $SPID
wait $SPID 2>/dev/null # its socket file stays: connect() is refused
"$CRUX" restore -D "$cli/img" --ext-unix-sk >"$cli/gone.out" 2>&1
rc=$?
grep -q "$srv/logd" "$cli/gone.out" && grep -q "pid $TPID fd" "$cli/gone.out"
ok $((rc != 1 || $? != 0)) "server gone: refused, naming the peer name, pid and fd"
[ -e /proc/$TPID ]
ok $((1 - $?)) "server gone: nothing left running"
[ "$(img_sum)" = "$sum0" ]
ok $? "the image is unchanged after every attempt"
[ $T_FAILED = 0 ] || diag "$cli/noopt.out" "$cli/gone.out"
exit $((T_FAILED > 0))

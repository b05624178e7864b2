#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Unix socket cases CRIU restores, each dumped, killed, restored, and checked from inside
# the restored process (scmtgt.c): fds in flight (SCM_RIGHTS) with the data around them,
# names bound relative to an earlier cwd, and the corners of edge (scmtgt.c).
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/scmtgt
echo "1..14"
d=$WORK/scm
start scm "$d"
ok $? "scm: target ready"
dump "$d"
ok $? "scm: dumped with its fds in flight"
reap "$d"
restore "$d"
ok $? "scm: restored"
verify "$d"
ok $? "scm: the restored process received every fd, in order, with its data"
ok "$([ -e "$d/img/sk-queues.img" ]; echo $?)" "scm: the image has sk-queues.img"

d=$WORK/relname
start relname "$d"
ok $? "relname: target ready"
dump "$d"
ok $? "relname: names bound relative to an earlier cwd: dumped"
reap "$d"
restore "$d"
ok $? "relname: restored"
verify "$d"
ok $? "relname: the same relative names, in the directory they were bound in"
ok "$([ -S "$d/sub/rel.sock" ] && [ ! -e "$d/rel.sock" ]; echo $?)" "relname: no name bound in the new cwd"

d=$WORK/edge
start edge "$d"
ok $? "edge: target ready"
dump "$d"
ok $? "edge: shutdown with data queued, SO_PASSCRED/SO_PASSSEC, NULs in an abstract name, a full backlog, 4 MiB and 500 datagrams queued: dumped"
reap "$d"
restore "$d"
ok $? "edge: restored"
verify "$d"
ok $? "edge: the restored process found each of them as it was"
exit $((T_FAILED > 0))

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Unix socket cases CRIU restores, each dumped, killed, restored, and checked from inside
# the restored process (scmtgt.c): fds in flight (SCM_RIGHTS) with the data around them.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/scmtgt
echo "1..5"
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
exit $((T_FAILED > 0))

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What crux cannot restore yet is refused at dump time with a message naming it, never
# dumped wrongly: an fd in flight (SCM_RIGHTS) in a socket queue, a pidfd. The refused
# target runs on, and its queue still holds the fd. A multi-threaded process is dumped now.
. "$(dirname "$0")/dump_lib.sh"

start scm || exit 1
out=$("$CRUX" dump -t $tpid -D "$tdir/img" 2>&1)
ok "$([ $? = 1 ]; echo $?)" "an fd in flight in a queue: refused"
has "$out" "pid $tpid \\(dumptgt\\) fd 6: unix socket [0-9]+ has file descriptors in flight \\(SCM_RIGHTS\\)" \
	"the message names the receiving socket and SCM_RIGHTS"
ok "$([ ! -e "$tdir/img" ]; echo $?)" "no image directory is left"
running $tpid "$tdir"
ok $? "the target runs on"
out=$("$CRUX" dump -t $tpid -D "$tdir/img" 2>&1)
has "$out" "SCM_RIGHTS" "a second try still sees the fd in flight (peeking did not consume it)"
fds=$(ls /proc/$tpid/fd | wc -l)
ok "$([ "$fds" = 6 ]; echo $?)" "the target gained no fd from the peeks ($fds fds)"

start pidfd || exit 1
out=$("$CRUX" dump -t $tpid -D "$tdir/img" 2>&1)
ok "$([ $? = 1 ]; echo $?)" "a pidfd: refused"
has "$out" "pid $tpid \(dumptgt\) fd 4: anon_inode:\[pidfd\]" "the message names the fd and its kind"
line=$(grep -o "pid $tpid (dumptgt) fd 4: .*supported yet" <<<"$out")
map=$("${CRUX_MAP:-$PWD/.output/crux-map}" external $tpid 2>/dev/null)
ok "$(grep -qxF "refused: $line" <<<"$map" && grep -q "would be refused" <<<"$map"; echo $?)" \
	"crux-map external refuses it with the dump's own words"
running $tpid "$tdir"
ok $? "the target runs on"

# no longer refused: a process with two threads is dumped, both tids listed
start threads || exit 1
tids=$(ls /proc/$tpid/task | sort -n | tr '\n' ' ')
out=$("$CRUX" dump -t $tpid -D "$tdir/img" -R 2>&1)
ok $? "a process with two threads: dumped"
hasnt "$out" "more than one thread" "no multi-threading refusal"
got=$(for t in $tids; do [ -e "$tdir/img/core-$t.img" ] && echo "$t"; done | wc -l)
ok "$([ "$got" = 2 ]; echo $?)" "one core image per thread ($tids)"
running $tpid "$tdir"
ok $? "the target runs on"

# a zombie that stays: dumped as a zombie (restore_zombie.t restores it), left as it was
start zombie || exit 1
z=$(awk '{print $1}' /proc/$tpid/task/$tpid/children)
out=$("$CRUX" dump -t $tpid -D "$tdir/img" -R 2>&1)
ok $? "a tree holding a zombie: dumped"
"$CRUX" show "$tdir/img" 2>&1 | grep -qE "^task $z .*, zombie wait status"
ok $? "crux show: task $z is a zombie with its wait status"
running $tpid "$tdir"
ok $? "the target runs on"
ok "$([ "$(state "$z")" = Z ]; echo $?)" "the zombie is left for its parent to reap"
done_testing

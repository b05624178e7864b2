#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# What crux cannot restore yet is refused at dump time with a message naming it, never
# dumped wrongly: a pidfd. The refused target runs on. What was refused once and is dumped
# now: an fd in flight (SCM_RIGHTS), a multi-threaded process.
. "$(dirname "$0")/dump_lib.sh"

# no longer refused: an fd in flight is dumped (restore_unix.t restores it), and the
# peeks that read it leave the queue and the fd table as they were
start scm || exit 1
out=$("$CRUX" dump -t $tpid -D "$tdir/img" -R 2>&1)
ok $? "an fd in flight in a queue: dumped"
hasnt "$out" "SCM_RIGHTS" "no refusal"
running $tpid "$tdir"
ok $? "the target runs on"
out=$("$CRUX" show "$tdir/img" 2>&1)
has "$out" "fd 6 .* carrying 1 fd" "the image has the fd in flight (peeking did not consume it)"
fds=$(ls /proc/$tpid/fd | wc -l)
ok "$([ "$fds" = 6 ]; echo $?)" "the target gained no fd from the peeks ($fds fds)"
rm -rf "$tdir/img"

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

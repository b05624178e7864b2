#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Debian's crit (criu 3.17) reads what the img API writes: mkimgset writes a small complete
# synthetic image set; every file of the image directory must decode, crux's own files live
# in its crux/ subdirectory (crit refuses them as unknown magics), and
# `crit x DIR ps|fds|mems|rss` must print what was written.
set -u
cd "$(dirname "$0")/../.."
CRUX_OUT=${CRUX_OUT:-$PWD/.output}
MKIMGSET=$CRUX_OUT/tests/unit/mkimgset

if ! command -v crit >/dev/null; then
	echo "1..0 # SKIP crit unavailable (Debian package criu; tools/deps.sh installs it)"
	exit 0
fi

n=0 fail=0
ok() { # cond-status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
has() { # text pattern description: the text holds a line matching the ERE pattern
	grep -qE -- "$2" <<<"$1"
	ok $? "$3"
}

tmp=$(mktemp -d /tmp/crux-test-crit-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
dir=$tmp/img

"$MKIMGSET" "$dir"
ok $? "mkimgset writes a complete image set"

for f in "$dir"/*.img; do
	b=$(basename "$f")
	case $b in
	pages-*) continue ;;
	*)
		# --pretty also runs crit's hex/flags/dict conversions over every field
		crit decode --pretty -i "$f" >"$tmp/out.json" 2>"$tmp/err"
		rc=$?
		ok $rc "crit decode --pretty $b"
		[ $rc = 0 ] || sed 's/^/# /' "$tmp/err"
		;;
	esac
done

for f in "$dir"/crux/*.img; do
	out=$(crit decode -i "$f" 2>&1)
	rc=$?
	[ $rc != 0 ] && grep -q 'Unknown magic' <<<"$out"
	ok $? "crux's own crux/$(basename "$f") is out of crit's way (an unknown magic to it)"
done
ok "$(ls "$dir"/crux/*.img >/dev/null 2>&1; echo $?)" "crux's own images are in crux/"

out=$(crit decode -i "$dir/pstree.img")
has "$out" '"pid": 100, "ppid": 0,' "pstree: the root has ppid 0"
out=$(crit decode -i "$dir/pagemap-100.img")
has "$out" '"vaddr": 6299648, "nr_pages": 2, "flags": 4' "pagemap: crit 3.17 reads nr_pages from field 2"
out=$(crit decode -i "$dir/sk-queues.img")
has "$out" '"id_for": 8, "length": 5, "scm": \[\{"type": 1, "rights": \[13\]\}\], "extra": "aGVsbG8=' \
	"sk-queues: the payload follows its entry, SCM_RIGHTS file ids with it"
out=$(crit decode -i "$dir/files.img")
has "$out" '"ino": 7777, "type": 2, "state": 10, "flags": 2, "uflags": 1,' "files: the external peer entry"
has "$out" '"name": "=00crux-demo"' "files: an abstract name keeps its leading NUL"

out=$(crit x "$dir" ps 2>&1)
ok $? "crit x ps"
has "$out" '^ +100 +100 +100   crux-demo$' "ps: the root task"
has "$out" '^ +101 +100 +100       crux-demo-child$' "ps: the child, indented under its parent"

out=$(crit x "$dir" fds 2>&1)
ok $? "crit x fds"
has "$out" '^\s+0: pipe\[5000\]$' "fds: a pipe end"
has "$out" '^\s+1: /var/log/app.log$' "fds: a regular file"
has "$out" '^\s+3: unix\[9001 \(9002\)\]$' "fds: an internal socketpair end"
has "$out" '^\s+5: unix\[9003 \(7777\)\]$' "fds: the socket with an external peer"
has "$out" '^\s+4: unix\[9004 \(0\) =00crux-demo\]$' "fds: a named listener"
has "$out" '^\s+cwd: /tmp$' "fds: cwd"
has "$out" '^\s+root: /$' "fds: root"

out=$(crit x "$dir" mems 2>&1)
ok $? "crit x mems"
has "$out" '^\s+exe\s+/usr/bin/crux-demo$' "mems: exe"
has "$out" '^\s+00401000-00402000\s+rw- /usr/bin/crux-demo \+ 0x1000$' "mems: a file VMA with its offset"
has "$out" '^\s+7ffff7fc5000-7ffff7fc7000\s+r-x \[vdso\]$' "mems: the vdso"
has "$out" '\[vsyscall\] \*$' "mems: vsyscall is marked not restored"

out=$(crit x "$dir" rss 2>&1)
ok $? "crit x rss"
has "$out" '7fffffffe000 / 1 +7ffffffde000 / 33' "rss: the stack page falls in the stack VMA"

echo "1..$n"
exit $fail

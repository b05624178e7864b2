#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Verified images (issue #9): every image file of a dump, cut at each of its record
# boundaries (pages: at each page) or with one byte flipped, is refused by crux show and
# crux restore with a line naming that file; a file added after the dump is refused too;
# an image rewritten by CRIU's crit (its inventory without crux's checksum list, no
# crux/crux-task-*.img) is refused as a CRIU image; crit still decodes crux's inventory.img.
# Usage errors found by fuzzing: dump -D '', crux-map peers -1, crux-map who ''.
. "$(dirname "$0")/dump_lib.sh"
CRUX_MAP=${CRUX_MAP:-$CRUX_OUT/crux-map}

start kinds || exit 1
"$CRUX" dump -t $tpid -D "$tdir/img" >/dev/null 2>&1
ok $? "dumptgt kinds dumped"
img=$tdir/img

# boundaries FILE: the offsets where one record ends and the next begins (not 0, not the end)
boundaries() {
	python3 - "$1" <<'PY'
import os, struct, sys
p = sys.argv[1]; name = os.path.basename(p); data = open(p, "rb").read()
if name.startswith("pages-"):
    print(" ".join(str(o) for o in range(4096, len(data), 4096))); sys.exit()
off = 4 if name == "inventory.img" else 8
out = [off]
# sk-queues and pipes-data: a payload follows each message (its length is field 3 / 2)
while off + 4 <= len(data):
    n = struct.unpack_from("<I", data, off)[0]; off += 4 + n
    if name in ("sk-queues.img", "pipes-data.img"):
        msg = data[off - n:off]; i = 0; plen = 0
        want = 3 if name == "sk-queues.img" else 2
        while i < len(msg):
            key = msg[i]; i += 1; f, t = key >> 3, key & 7
            if t == 0:
                v = 0; s = 0
                while True:
                    b = msg[i]; i += 1; v |= (b & 0x7f) << s; s += 7
                    if b < 0x80: break
                if f == want: plen = v
            elif t == 2:
                l = 0; s = 0
                while True:
                    b = msg[i]; i += 1; l |= (b & 0x7f) << s; s += 7
                    if b < 0x80: break
                i += l
            elif t == 5: i += 4
            elif t == 1: i += 8
        off += plen
    if off < len(data): out.append(off)
print(" ".join(str(o) for o in out if 0 < o < len(data)))
PY
}

refused_both() { # dir file what
	local o1 o2 rc1 rc2
	o1=$("$CRUX" show "$1" 2>&1 >/dev/null)
	rc1=$?
	o2=$("$CRUX" restore -D "$1" 2>&1)
	rc2=$?
	[ $rc1 = 1 ] && [ $rc2 = 1 ] && grep -q "$2" <<<"$o1" && grep -q "$2" <<<"$o2" && return 0
	echo "# $3: show rc $rc1: $o1"
	echo "# restore rc $rc2: $o2"
	return 1
}

c=$tdir/cut
for f in "$img"/*.img; do
	name=${f##*/}
	cuts=0 bad=0
	for b in $(boundaries "$f"); do
		rm -rf "$c" && cp -r "$img" "$c" && truncate -s "$b" "$c/$name"
		cuts=$((cuts + 1))
		refused_both "$c" "$name" "$name cut at $b" || bad=1
	done
	rm -rf "$c" && cp -r "$img" "$c"
	mid=$(($(stat -c %s "$f") / 2))
	printf '\x5a' | dd of="$c/$name" bs=1 seek=$mid conv=notrunc 2>/dev/null
	cmp -s "$f" "$c/$name" || refused_both "$c" "$name" "$name flipped at $mid" || bad=1
	ok $bad "$name: cut at each of its $cuts record boundaries, and one byte changed: refused by name"
done

rm -rf "$c" && cp -r "$img" "$c" && touch "$c/core-1.img"
refused_both "$c" "core-1.img is not listed" "added file"
ok $? "a file added after the dump is refused by name"

crit decode -i "$img/inventory.img" >"$tdir/inv.json" 2>&1
ok $? "crit decodes crux's inventory.img (it ignores the checksum list)"
rm -rf "$c" && cp -r "$img" "$c" && rm -r "$c"/crux &&
	crit encode -i "$tdir/inv.json" -o "$c/inventory.img"
refused_both "$c" "is a CRIU image" "CRIU image"
ok $? "an image with CRIU's inventory is refused as a CRIU image"

"$CRUX" dump -t $tpid -D '' >/dev/null 2>"$tdir/e1"
[ $? = 64 ] && grep -q "empty image directory name" "$tdir/e1"
ok $? "dump -D '': usage error naming the empty directory"
"$CRUX_MAP" peers -1 >/dev/null 2>"$tdir/e2"
[ $? = 64 ] && grep -q "'-1' is not a process id" "$tdir/e2"
ok $? "crux-map peers -1: not a process id"
"$CRUX_MAP" who '' >/dev/null 2>"$tdir/e3"
[ $? = 64 ] && grep -q "needs a socket name" "$tdir/e3"
ok $? "crux-map who '': refused"
done_testing

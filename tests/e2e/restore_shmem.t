#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared anonymous memory (tests/e2e/shmtgt.c): a master and two workers sharing a 16 MiB
# MAP_SHARED|MAP_ANONYMOUS region (partly written, mostly holes) and a page shared by the
# master and one worker are dumped and restored. The image holds each object once, in
# CRIU's format (pagemap-shmem-<ino>.img), with only the written pages; after restore the
# master checks from inside that contents and holes are kept and that each region is one
# object again: a write by the master is seen by the workers.
. "$(dirname "$0")/restore_lib.sh"
need_root
TGT=$CRUX_OUT/tests/e2e/shmtgt
echo "1..5"

d=$WORK/shmem
mkdir -p "$d"
"$TGT" "$d" </dev/null >"$d/log" 2>&1 &
TPID=$!
wait_file "$d/ready"
ok $? "master and two workers ready"
dump "$d"
ok $? "dumped" || diag "$d/dump.out"
n=$(ls "$d"/img/pagemap-shmem-*.img 2>/dev/null | wc -l)
# 4 MiB pattern + the lone page + the control page, and the small page: stored once each
kb=$(cat "$d"/img/pages-*.img 2>/dev/null | wc -c)
[ "$n" = 2 ] && [ "$(du -sk "$d/img" | cut -f1)" -lt 12000 ]
ok $? "two shmem objects in the image, holes not stored ($n objects, $kb bytes of pages)"
reap "$d"
restore "$d"
ok $? "restored" || diag "$d/restore.out"
verify "$d"
ok $? "contents, holes and sharing hold in the restored tree" || diag "$d/log"
exit $((T_FAILED > 0))

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Turn an image directory into one fuzz_img input (see tests/fuzz/fuzz_img.c):
#   mkseed.py IMGDIR OUT [FILE:CUT ...]   CUT: keep only that many bytes of FILE
#   mkseed.py IMGDIR OUT --raw-inventory  also pass inventory.img itself
import os, re, struct, sys

KINDS = ["pstree", "core", "ids", "fs", "mm", "pagemap", "pages", "fdinfo", "files",
         "sk-queues", "pipes-data", "crux-ext", "crux-task", "inventory"]

def main():
    src, out, *rest = sys.argv[1:]
    cuts = dict((a.split(":")[0], int(a.split(":")[1])) for a in rest if ":" in a)
    raw_inv = "--raw-inventory" in rest
    recs = b""
    for name in sorted(os.listdir(src)):
        m = re.fullmatch(r"(.*?)(?:-(\d+))?\.img", name)
        if not m or m.group(1) not in KINDS:
            continue
        if m.group(1) == "inventory" and not raw_inv:
            continue
        data = open(os.path.join(src, name), "rb").read()
        if name in cuts:
            data = data[:cuts[name]]
        recs += struct.pack("<BII", KINDS.index(m.group(1)), int(m.group(2) or 0), len(data))
        recs += data
    open(out, "wb").write(recs)

main()

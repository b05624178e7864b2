#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `crux show -j` is JSON a program can use: python's json module parses it and finds the
# facts mkimgset wrote (tasks, fds, the external peer and its policy, totals).
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
CRUX_OUT=${CRUX_OUT:-$PWD/.output}

tmp=$(mktemp -d /tmp/crux-test-showjson-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$CRUX_OUT/tests/unit/mkimgset" "$tmp/img" || { echo "Bail out! mkimgset failed"; exit 1; }
"$CRUX" show -j "$tmp/img" >"$tmp/out.json"
echo "# crux show -j exit $?"

python3 - "$tmp/out.json" <<'PY'
import json, sys
n = 0
def ok(cond, what):
    global n
    n += 1
    print(("ok" if cond else "not ok") + " %d - %s" % (n, what))
try:
    d = json.load(open(sys.argv[1]))
except ValueError as e:
    print("not ok 1 - the output parses as JSON: %s" % e)
    print("1..1")
    sys.exit(1)
ok(True, "the output parses as JSON")
tasks = {t["pid"]: t for t in d["tasks"]}
ok(sorted(tasks) == [100, 101], "two tasks, 100 and 101")
ok(tasks[100]["ppid"] == 0 and tasks[101]["ppid"] == 100, "the root has ppid 0, the child 100")
ok([t["tid"] for t in tasks[101]["threads"]] == [101, 102], "task 101 has threads 101 and 102")
fds = {f["fd"]: f for f in tasks[101]["fds"]}
ext = fds[5].get("external", {})
ok(fds[5]["type"] == "UNIXSK" and fds[5]["ino"] == 9003 and fds[5]["peer"] == 7777,
   "fd 5 of 101 is unix socket 9003 with peer 7777")
ok(ext.get("peer_name") == "/dev/log" and ext.get("policy") == "reconnect-dgram",
   "... whose external peer /dev/log is reconnected as a datagram socket")
fds100 = {f["fd"]: f for f in tasks[100]["fds"]}
ok(fds100[4].get("name") == "@crux-demo" and fds100[4]["state"] == "listening",
   "fd 4 of 100 listens on the abstract name @crux-demo")
ok(fds100[0]["pipe_id"] == 5000 and fds100[0]["queued_bytes"] == 4,
   "fd 0 of 100 reads pipe 5000 with 4 bytes queued")
ok(d["external"][0]["addr"] == "/dev/log" and d["external"][0]["pid"] == 101,
   "crux-ext.img: the connect() address and the owner")
t = d["total"]
ok((t["tasks"], t["threads"], t["fds"], t["unix"], t["external"]) == (2, 3, 9, 4, 1),
   "totals: 2 tasks, 3 threads, 9 fds, 4 unix, 1 external")
ok(d["problems"] == [], "no problems")
print("1..%d" % n)
PY

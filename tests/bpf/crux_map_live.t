#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Live crux-map tests: a real tracker (crux track -d, own pin dir), real processes and
sockets; each command must report the scenario exactly (pids, peers, classification).

Outside the dumped tree: a logd-style datagram server, a stream listener (it accepts one
connection, a second one stays queued), and a datagram client of the tree's server.
The tree: root R and its child C. R holds a logd client, a stream client accepted by the
outside listener, a stream client still queued on it, and one end of a socketpair whose
other end C holds; C holds a datagram server. Run by hand: sudo tests/bpf/crux_map_live.t
"""
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.environ.get("CRUX_OUT") or os.path.join(ROOT, ".output")
CRUX = os.environ.get("CRUX") or os.path.join(OUT, "crux")
CRUX_MAP = os.environ.get("CRUX_MAP") or os.path.join(OUT, "crux-map")
PIN = "/sys/fs/bpf/crux-test-map-%d" % os.getpid()
PR_SET_PDEATHSIG = 1

n_test = 0
failed = 0


def ok(cond, name, diag=None):
    global n_test, failed
    n_test += 1
    print("%sok %d - %s" % ("" if cond else "not ", n_test, name), flush=True)
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[:20]:
                print("#   " + line)
    return cond


def is_eq(got, want, name):
    return ok(got == want, name, "got:  %r\nwant: %r" % (got, want))


def ino(sock):
    return os.fstat(sock.fileno()).st_ino


def crux_map(*args, env=None):
    p = subprocess.run([CRUX_MAP, "--pin-dir", PIN] + [str(a) for a in args],
                       capture_output=True, text=True, env=env, timeout=30)
    return p.returncode, p.stdout, p.stderr


def crux_map_json(*args):
    rc, out, err = crux_map("-j", *args)
    try:
        return rc, json.loads(out), err
    except ValueError as e:
        return rc, None, "%s\n%s\n%s" % (e, out, err)


def child(body):
    """Fork; body(report) runs in the child, which reports dicts through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        out = os.fdopen(w, "w")

        def report(**kv):
            out.write(json.dumps(kv) + "\n")
            out.flush()
        try:
            body(report)
        finally:
            os._exit(0)
    os.close(w)
    return pid, os.fdopen(r)


def wait_report(f):
    return json.loads(f.readline())


def sleep_forever():
    while True:
        time.sleep(3600)


def start_tracker():
    subprocess.run(["rm", "-rf", PIN])
    p = subprocess.run([CRUX, "track", "-d", "--pin-dir", PIN, "--reconcile-ms", "0"],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        print("Bail out! crux track -d failed: %s" % p.stderr.strip())
        sys.exit(255)
    return int(p.stdout.split()[0])


def stop_tracker():
    subprocess.run([CRUX, "track", "--stop", "--pin-dir", PIN], capture_output=True,
                   timeout=60)
    subprocess.run(["rm", "-rf", PIN])


def build(tmp):
    """The scenario; returns a dict of pids and inodes."""
    s = {"log_path": os.path.join(tmp, "log"), "srv_path": os.path.join(tmp, "srv"),
         "lst_name": "\0crux-test-map-%d" % os.getpid()}

    def logd(report):
        d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        d.bind(s["log_path"])
        report(ino=ino(d))
        sleep_forever()

    def listener(report):
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(s["lst_name"])
        ls.listen(8)
        report(ino=ino(ls))
        a, _ = ls.accept()  # the first client only: the second stays queued
        report(accepted=ino(a))
        sleep_forever()

    s["logd_pid"], f = child(logd)
    s["logd_ino"] = wait_report(f)["ino"]
    s["lst_pid"], lf = child(listener)
    s["lst_ino"] = wait_report(lf)["ino"]

    def tree_child(report, pair_a, pair_b):
        pair_a.close()  # inherited from R: C holds only its own end
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        srv.bind(s["srv_path"])
        report(pid=os.getpid(), srv=ino(srv), srv_fd=srv.fileno(), pair=ino(pair_b),
               pair_fd=pair_b.fileno())
        sleep_forever()

    def tree_root(report):
        a, b = socket.socketpair()
        pid, cf = child(lambda rep: tree_child(rep, a, b))
        b.close()
        kid = wait_report(cf)
        lg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        lg.connect(s["log_path"])
        st = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        st.connect(s["lst_name"])
        report(child=kid, log=ino(lg), log_fd=lg.fileno(), stream=ino(st),
               stream_fd=st.fileno(), pair=ino(a), pair_fd=a.fileno())
        time.sleep(0.2)  # let the listener accept the first, then queue the second
        q = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        q.connect(s["lst_name"])
        report(queued=ino(q), queued_fd=q.fileno())
        sleep_forever()

    s["r_pid"], rf = child(tree_root)
    root = wait_report(rf)
    s["c"] = root.pop("child")
    s["c_pid"] = s["c"]["pid"]
    s["r"] = root
    s["accepted"] = wait_report(lf)["accepted"]
    s["r"].update(wait_report(rf))

    def outside_client(report):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        c.connect(s["srv_path"])
        report(ino=ino(c))
        sleep_forever()

    s["oc_pid"], of = child(outside_client)
    s["oc_ino"] = wait_report(of)["ino"]

    # a second tree, L: a listener nobody accepts on, and a logd client; an outside
    # client Q queued on the listener (found through sock_diag, no full map pass)
    in_name = "\0crux-test-map-in-%d" % os.getpid()

    def tree_l(report):
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(in_name)
        ls.listen(8)
        lg = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        lg.connect(s["log_path"])
        report(listener=ino(ls), listener_fd=ls.fileno(), log=ino(lg))
        sleep_forever()

    def queued_client(report):
        q = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        q.connect(in_name)
        report(ino=ino(q))
        sleep_forever()

    s["l_pid"], f = child(tree_l)
    s["l"] = wait_report(f)
    s["q_pid"], f = child(queued_client)
    s["q_ino"] = wait_report(f)["ino"]
    return s


def by_ino(rows):
    return {r["ino"]: r for r in rows}


def check_external(s):
    r, c = s["r"], s["c"]
    rc, doc, err = crux_map_json("external", s["r_pid"])
    if not ok(rc == 0 and doc is not None, "external -j: exit 0, parses as JSON", err):
        return
    is_eq(doc["verdict"], "refused", "external: the dump would be refused")
    rows = by_ino(doc["sockets"])
    lg = rows.get(r["log"], {})
    ok(lg.get("class") == "external" and lg.get("ext_unix_sk") is True and
       lg.get("peer") == s["logd_ino"] and lg.get("peer_pid") == s["logd_pid"] and
       lg.get("peer_name") == s["log_path"] and lg.get("fd") == r["log_fd"] and
       lg.get("pid") == s["r_pid"],
       "logd-style dgram client: external, --ext-unix-sk accepts it, peer = logd", lg)
    st = rows.get(r["stream"], {})
    ok(st.get("class") == "external" and st.get("ext_unix_sk") is False and
       st.get("peer") == s["accepted"] and st.get("peer_pid") == s["lst_pid"] and
       "stream" in (st.get("reason") or ""),
       "stream client of an outside listener: external, refused with a reason", st)
    q = rows.get(r["queued"], {})
    ok(q.get("class") == "external" and q.get("peer") == s["lst_ino"] and
       q.get("ext_unix_sk") is False,
       "client queued on the outside listener: external, the listener is its peer", q)
    pa, pb = rows.get(r["pair"], {}), rows.get(c["pair"], {})
    ok(pa.get("class") == "internal" and pb.get("class") == "internal" and
       pa.get("peer") == c["pair"] and pa.get("peer_pid") == s["c_pid"] and
       pa.get("peer_fd") == c["pair_fd"] and pb.get("peer_pid") == s["r_pid"],
       "socketpair between R and C: internal both ways, peer pid/fd exact", [pa, pb])
    sv = rows.get(c["srv"], {})
    is_eq(sv.get("class"), "unconnected", "inside dgram server: unconnected")
    ib = rows.get(s["oc_ino"], {})
    ok(ib.get("class") == "inbound" and ib.get("pid") == s["oc_pid"] and
       ib.get("peer") == c["srv"] and ib.get("peer_pid") == s["c_pid"] and
       ib.get("peer_fd") == c["srv_fd"],
       "outside client of the inside server: inbound, with its owner", ib)
    # the test's own sync pipes to processes outside the tree are refused too (fd_refusals)
    is_eq(doc["refused"] - len(doc.get("fd_refusals", [])), 3,
          "external: three socket refusals (logd, stream, queued)")
    is_eq(sorted(x["class"] for x in doc["sockets"]).count("inbound"), 1,
          "exactly one inbound socket")


def check_inbound_listener(s):
    rc, doc, err = crux_map_json("-v", "external", s["l_pid"])
    rows = by_ino(doc["sockets"]) if doc else {}
    q = rows.get(s["q_ino"], {})
    ok(q.get("class") == "inbound" and q.get("pid") == s["q_pid"] and
       q.get("peer") == s["l"]["listener"] and q.get("peer_fd") == s["l"]["listener_fd"],
       "outside client queued on the inside listener: inbound, with its owner", [q, err])
    is_eq(sorted((x["ino"], x["class"]) for x in doc["sockets"]) if doc else None,
          sorted([(s["l"]["listener"], "listening"), (s["l"]["log"], "external"),
                  (s["q_ino"], "inbound")]), "tree L: exactly its sockets and one inbound")
    ok("read the whole map" not in err,
       "no datagram target in L: inbound without a full pass over the map", err)
    rc, doc, err = crux_map_json("-v", "external", s["c_pid"])
    ok("read the whole map" in err, "a datagram server in C: the full pass says so", err)


def check_external_policy(s):
    r = s["r"]
    rc, out, err = crux_map("external", "--ext-unix-sk", s["r_pid"])
    half = [x for x in out.splitlines()
            if x.startswith("refused: ") and "Can't dump half of stream unix connection" in x]
    ok(rc == 0 and "verdict: crux dump -t %d would be refused" % s["r_pid"] in out
       and len(half) == 2 and "datagram socket" not in "".join(half),
       "external --ext-unix-sk: logd accepted, both stream sockets still refused", out + err)
    rc, out, err = crux_map("external", "--ext-unix-sk=%d,%d" % (r["stream"], r["queued"]),
                            s["r_pid"])
    socket_refusals = [x for x in out.splitlines()
                       if x.startswith("refused: ") and "external pipe" not in x]
    ok(rc == 0 and not socket_refusals and out.count("\ninbound: ") == 1 and
       "in-flight data and server-side state are not carried over" in out,
       "external --ext-unix-sk=STREAM,QUEUED: accepted, says what is lost", out + err)
    rc, out, err = crux_map("external", s["r_pid"])
    line = [x for x in out.splitlines() if x.startswith("refused:") and
            "ino %d " % r["log"] in x]
    ok(line and "External socket is used. Consider using --ext-unix-sk option." in line[0]
       and "pid %d (logd" % s["logd_pid"] not in line[0] and
       "of pid %d (" % s["logd_pid"] in line[0] and '"%s"' % s["log_path"] in line[0],
       "refusal text names the peer's path and owner pid, keeps CRIU's phrase", out)


def check_peers(s):
    r = s["r"]
    rc, rows, err = crux_map_json("peers", s["r_pid"])
    if not ok(rc == 0 and rows is not None, "peers -j parses", err):
        return
    got = {x["fd"]: (x["ino"], x["peer"], x["peer_pid"]) for x in rows}
    want = {r["log_fd"]: (r["log"], s["logd_ino"], s["logd_pid"]),
            r["stream_fd"]: (r["stream"], s["accepted"], s["lst_pid"]),
            r["queued_fd"]: (r["queued"], s["lst_ino"], s["lst_pid"]),
            r["pair_fd"]: (r["pair"], s["c"]["pair"], s["c_pid"])}  # C holds it now
    is_eq(got, want, "peers R: every socket fd with its peer inode and owner pid")
    rc, rows, err = crux_map_json("peers", s["c_pid"])
    srv = [x for x in (rows or []) if x["ino"] == s["c"]["srv"]]
    ok(len(srv) == 1 and srv[0]["peer"] == s["oc_ino"] and srv[0]["peer_pid"] == s["oc_pid"],
       "peers C: the server's other end is the outside client", rows)


def check_who_ls_stats(s, tracker):
    rc, rows, err = crux_map_json("who", s["log_path"])
    got = sorted((x["role"], x["ino"], x["pid"]) for x in rows or [])
    is_eq(got, sorted([("bound", s["logd_ino"], s["logd_pid"]),
                       ("connected", s["r"]["log"], s["r_pid"]),
                       ("connected", s["l"]["log"], s["l_pid"])]),
          "who LOG: logd bound, R and L connected")
    rc, rows, err = crux_map_json("who", "@" + s["lst_name"][1:])
    got = sorted((x["role"], x["ino"]) for x in rows or [])
    is_eq(got, sorted([("listening", s["lst_ino"]), ("accepted", s["accepted"]),
                       ("connected", s["r"]["stream"]), ("queued", s["r"]["queued"])]),
          "who @abstract: listener, accepted, connected and queued clients")
    rc, rows, err = crux_map_json("ls", "--pid", s["c_pid"])
    is_eq(sorted(x["ino"] for x in rows or []), sorted([s["c"]["srv"], s["c"]["pair"]]),
          "ls --pid C: exactly C's two sockets")
    rc, rows, err = crux_map_json("ls", "--name", os.path.dirname(s["log_path"]) + "/")
    is_eq(sorted(x["ino"] for x in rows or []), sorted([s["logd_ino"], s["c"]["srv"]]),
          "ls --name DIR/: the two sockets bound under the test dir")
    rc, st, err = crux_map_json("stats")
    ok(st is not None and st["source"] == "live" and st["tracker_pid"] == tracker and
       st["entries"] >= 10, "stats -j: live source, the tracker's pid", st)


def check_watch(s):
    w = subprocess.Popen([CRUX_MAP, "--pin-dir", PIN, "watch", "-j"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    ready = w.stderr.readline()  # said once the watcher is registered
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.connect(s["log_path"])
    a_ino = ino(a)
    a.close()
    mine, bad = [], []
    signal.alarm(20)  # a missing event fails by timeout, not by hanging the run
    try:
        for line in w.stdout:
            try:
                e = json.loads(line)
            except ValueError:
                bad.append(line)
                continue
            if e["ino"] == a_ino:
                mine.append((e["event"], e["pid"]))
            if ("close", os.getpid()) in mine:
                break
    finally:
        signal.alarm(0)
    w.send_signal(signal.SIGINT)
    out, err = w.communicate(timeout=10)
    ok(not bad and w.returncode == 0 and ("connect", os.getpid()) in mine and
       ("close", os.getpid()) in mine,
       "watch -j: our connect and close, with our pid; SIGINT exits 0",
       "exit %s, ready %r, our events %r, bad lines %r, stderr %s" %
       (w.returncode, ready, mine, bad, err))


def check_same_as_dump(s, tmp):
    """crux dump refuses the tree with exactly the messages crux-map external printed."""
    for opts in ([], ["--ext-unix-sk"]):
        rc, out, err = crux_map("external", *opts, s["r_pid"])
        refused = [x[len("refused: "):] for x in out.splitlines() if x.startswith("refused: ")]
        img = tempfile.mkdtemp(prefix="img-", dir=tmp)
        d = subprocess.run([CRUX, "dump", "-t", str(s["r_pid"]), "-D", img, "--pin-dir", PIN,
                            "--leave-running"] + opts, capture_output=True, text=True,
                           timeout=120)
        missing = [m for m in refused if m not in d.stderr]
        ok(d.returncode != 0 and refused and not missing and os.path.exists(
            "/proc/%d" % s["r_pid"]),
           "crux dump %s refuses with the %d messages crux-map external printed, tree runs on"
           % (" ".join(opts) or "(no option)", len(refused)),
           "dump exit %d\nmissing: %r\ndump stderr:\n%s" % (d.returncode, missing, d.stderr))


def check_record(s, tmp):
    """A recorded snapshot answers exactly as the live map it was taken from."""
    snap = os.path.join(tmp, "rec.snap")
    rc, out, err = crux_map("record", s["r_pid"], s["l_pid"], s["logd_pid"], s["lst_pid"],
                            s["oc_pid"], s["q_pid"])
    with open(snap, "w") as f:
        f.write(out)
    env = dict(os.environ, CRUX_MAP_SNAPSHOT=snap)
    same = []
    for args in (("external", s["r_pid"]), ("external", s["l_pid"]), ("peers", s["r_pid"]),
                 ("ls", "--pid", s["c_pid"])):
        live = crux_map("-j", *args)
        rec = crux_map("-j", *args, env=env)
        if args[0] == "external" and live[0] == 0 and rec[0] == 0:
            # a recording has no processes: the fd and shared-file checks are live only
            same.append(json.loads(live[1])["sockets"] == json.loads(rec[1])["sockets"])
            continue
        same.append(live[0] == 0 and live[1] == rec[1])
        if not same[-1]:
            print("# %s: live %r\n# recorded %r %s" % (args, live[1][:300], rec[1][:300],
                                                      rec[2]))
    ok(rc == 0 and all(same), "record: a snapshot of the live state answers the same", err)


def check_snapshot_fallback(s):
    p = subprocess.run([CRUX_MAP, "--pin-dir", PIN + "-none", "-j", "peers", str(s["r_pid"])],
                       capture_output=True, text=True, timeout=60)
    rows = json.loads(p.stdout) if p.returncode == 0 else []
    ok("one-shot kernel snapshot" in p.stderr and
       sorted(x["ino"] for x in rows) == sorted([s["r"]["log"], s["r"]["stream"],
                                                  s["r"]["queued"], s["r"]["pair"]]),
       "without a tracker: kernel snapshot, said on stderr, same sockets", p.stderr)


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root (bpf)")
        return 0
    tmp = tempfile.mkdtemp(prefix="crux-test-map-")
    tracker = start_tracker()
    kids = []
    try:
        s = build(tmp)
        kids = [s["logd_pid"], s["lst_pid"], s["r_pid"], s["c_pid"], s["oc_pid"],
                s["l_pid"], s["q_pid"]]
        check_external(s)
        check_inbound_listener(s)
        check_external_policy(s)
        check_peers(s)
        check_who_ls_stats(s, tracker)
        check_watch(s)
        check_same_as_dump(s, tmp)
        check_record(s, tmp)
        check_snapshot_fallback(s)
    finally:
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for k in kids:
            try:
                os.waitpid(k, 0)
            except ChildProcessError:
                pass
        stop_tracker()
        subprocess.run(["rm", "-rf", tmp])
    print("1..%d" % n_test)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

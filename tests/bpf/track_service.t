#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# crux track as a monitored service: READY=1 to $NOTIFY_SOCKET once seeded (systemd's
# Type=notify), a root-only pin dir, metrics in node-exporter's textfile directory scraped
# through Debian's prometheus-node-exporter, crux-map stats --prometheus, and the one-line
# refusal of a non-root user.
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-.output/crux}
CRUX_MAP=${CRUX_MAP:-.output/crux-map}
NODE_EXPORTER=${NODE_EXPORTER:-/usr/bin/prometheus-node-exporter}
PIN=/sys/fs/bpf/crux-test-service-$$
n=0
t() { # description, then the check's exit status in $?
	local rc=$?
	n=$((n + 1))
	if [ $rc = 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root"; exit 0; fi
tmp=$(mktemp -d /tmp/crux-service.XXXXXX)
chmod 0755 "$tmp"
trk="" nx="" lsn=""
cleanup() {
	[ -n "$lsn" ] && kill "$lsn" 2>/dev/null
	[ -n "$nx" ] && kill "$nx" 2>/dev/null && wait "$nx" 2>/dev/null
	[ -n "$trk" ] && kill "$trk" 2>/dev/null && wait "$trk" 2>/dev/null
	"$CRUX" track --stop --pin-dir "$PIN" >/dev/null 2>&1
	rm -rf "$tmp" "$PIN"
}
trap cleanup EXIT
echo "1..16"

# value NAME FILE: the sample value of metric NAME (with its labels) in FILE
value() { awk -v m="$1" '$1 == m { print $2 }' "$2"; }
wait_for() { # seconds, then a command: poll it every 0.1 s
	local i end=$(($1 * 10))
	shift
	for ((i = 0; i < end; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# --- a notify socket, as systemd's, that records what the tracker says -----------------
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    while True:
        out.write(s.recv(4096).decode() + "\n---\n")
        out.flush()
' "$tmp/notify.sock" "$tmp/notify.log" &
lsn=$!
wait_for 5 test -S "$tmp/notify.sock"

# a pin dir left open by someone: the tracker makes it root-only
mkdir -m 0755 "$PIN"
mkdir "$tmp/textfile"
NOTIFY_SOCKET=$tmp/notify.sock "$CRUX" track --pin-dir "$PIN" --reconcile-ms 500 \
	--metrics-dir "$tmp/textfile" --metrics-interval 1 2>"$tmp/track.log" &
trk=$!
wait_for 60 grep -q '^READY=1' "$tmp/notify.log"
t "READY=1 reaches \$NOTIFY_SOCKET once the map is seeded"
[ -f "$tmp/textfile/crux.prom" ] && [ "$(value crux_tracker_up "$tmp/textfile/crux.prom")" = 1 ]
t "the metrics file exists when READY=1 is sent, tracker up"
mode=$(stat -c '%a %U' "$PIN")
[ "$mode" = "700 root" ]
t "pin dir is root-only: mode and owner $mode"

# --- a known topology: seqpacket listeners are rare on a host -------------------------
python3 -c '
import socket, sys, time
socks = []
for i in range(5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind("\0crux-test-service-%s-%d" % (sys.argv[1], i))
    s.listen(1)
    socks.append(s)
open(sys.argv[2], "w").close()
time.sleep(600)
' $$ "$tmp/topo.ready" &
topo=$!
wait_for 10 test -f "$tmp/topo.ready"
seqlisten() {
	local v
	v=$(value 'crux_map_entries{state="listen",type="seqpacket"}' "$tmp/textfile/crux.prom")
	[ "${v:-0}" -ge 5 ]
}
wait_for 20 seqlisten
t "the textfile counts the 5 seqpacket listeners the test made"

# --- node-exporter scrapes the textfile directory ---------------------------------------
if [ ! -x "$NODE_EXPORTER" ]; then
	echo "Bail out! $NODE_EXPORTER missing: tools/deps.sh installs prometheus-node-exporter"
	exit 1
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$port" --collector.disable-defaults \
	--collector.textfile --collector.textfile.directory="$tmp/textfile" \
	>"$tmp/nx.log" 2>&1 &
nx=$!
wait_for 20 curl -sf -o "$tmp/scrape" "http://127.0.0.1:$port/metrics"
t "node-exporter serves on 127.0.0.1:$port"
# the tracker may rewrite the file between the two reads: hold it still (it is ours)
kill -STOP "$trk"
sleep 0.2
cp "$tmp/textfile/crux.prom" "$tmp/file"
curl -sf -o "$tmp/scrape" "http://127.0.0.1:$port/metrics"
kill -CONT "$trk"
# node-exporter prints what it parsed as float64: compare the numbers, not their spelling
samples() { awk '/^crux_/ { printf "%s %.17g\n", $1, $2 }' "$1" | sort; }
samples "$tmp/file" >"$tmp/file.samples"
samples "$tmp/scrape" >"$tmp/scrape.samples"
count=$(wc -l <"$tmp/file.samples")
[ "$count" -ge 20 ] && diff "$tmp/file.samples" "$tmp/scrape.samples" >&2
t "node-exporter serves every crux sample with the tracker's values ($count samples)"
grep -q '^# TYPE crux_map_upserts_total counter' "$tmp/scrape" &&
	grep -q '^# TYPE crux_map_entries gauge' "$tmp/scrape"
t "their types come through (counter, gauge)"
abi=$(value crux_abi_version "$tmp/scrape")
[ "$abi" = "$(sed -n 's/^#define CRUX_ABI_VERSION //p' include/abi.h)" ] &&
	[ "$(value crux_tracker_up "$tmp/scrape")" = 1 ] &&
	[ "$(value crux_state_pinned "$tmp/scrape")" = 1 ]
t "scraped: ABI version $abi, tracker up, pinned state"
v=$(value 'crux_map_entries{state="listen",type="seqpacket"}' "$tmp/scrape")
[ "${v:-0}" -ge 5 ]; t "scraped: $v seqpacket listeners (the test made 5)"
passes=$(value crux_reconcile_passes_total "$tmp/scrape")
[ "${passes:-0}" -ge 2 ] && awk '$1 == "crux_tracker_uptime_seconds" { exit !($2 > 0) }' "$tmp/scrape" &&
	awk '$1 == "crux_reconcile_last_duration_seconds" { exit !($2 > 0) }' "$tmp/scrape"
t "scraped: $passes reconcile passes, a last duration and an uptime above 0"
[ "$(value crux_map_upsert_failures_total "$tmp/scrape")" = \
	"$("$CRUX_MAP" --pin-dir "$PIN" stats | awk '$1 == "upsert_failures" { print $2 }')" ]
t "scraped upsert failures equal crux-map stats'"

# --- crux-map stats --prometheus: the same series, from the pinned state ---------------
"$CRUX_MAP" --pin-dir "$PIN" stats --prometheus >"$tmp/cm" 2>"$tmp/cm.err"
[ $? = 0 ] && diff <(awk '/^crux_/ { print $1 }' "$tmp/file" | sort) \
	<(awk '/^crux_/ { print $1 }' "$tmp/cm" | sort) >&2 &&
	[ "$(value crux_tracker_up "$tmp/cm")" = 1 ]
t "crux-map stats --prometheus prints the same series, tracker up"
kill "$topo" 2>/dev/null
wait "$topo" 2>/dev/null

# --- not root: one line, exit 1 ---------------------------------------------------------
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CRUX_MAP" --pin-dir "$PIN" ls 2>&1)
rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "must run as root" <<<"$out"
t "crux-map as nobody: exit $rc, one line: $out"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CRUX" track --pin-dir "$PIN.x" 2>&1)
rc=$?
[ $rc = 1 ] && [ "$(wc -l <<<"$out")" = 1 ] && grep -q "must run as root" <<<"$out" &&
	[ ! -e "$PIN.x" ]
t "crux track as nobody: exit $rc, one line, nothing created"

# --- SIGTERM (systemctl stop): STOPPING=1, a last file, the pins stay ------------------
kill -TERM "$trk"
wait "$trk"
rc=$?
trk=""
[ $rc = 0 ] && grep -q '^STOPPING=1' "$tmp/notify.log" &&
	[ "$(value crux_tracker_up "$tmp/textfile/crux.prom")" = 0 ]
t "SIGTERM: exit $rc, STOPPING=1 sent, the last metrics say tracker down"
ls "$PIN" | grep -q '^link_' &&
	"$CRUX_MAP" --pin-dir "$PIN" stats --prometheus >"$tmp/cm2" 2>&1 &&
	[ "$(value crux_state_pinned "$tmp/cm2")" = 1 ] &&
	[ "$(value crux_tracker_up "$tmp/cm2")" = 0 ]
t "after the stop the programs stay pinned: state readable, tracker down"

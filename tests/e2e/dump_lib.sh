#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared by the tests/e2e/dump_*.t scripts (sourced, not run): TAP helpers, starting
# dumptgt targets (tests/e2e/dumptgt.c) and waiting for them, and cleanup of every process
# and directory a test made.
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
CRUX_OUT=${CRUX_OUT:-$PWD/.output}
TGT=$CRUX_OUT/tests/e2e/dumptgt

n=0 fail=0
pids=()
tmp=$(mktemp -d /tmp/crux-test-dump-XXXXXX)
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do { wait "$p"; } 2>/dev/null; done
	for p in "$tmp"/mnt-*; do [ -d "$p" ] && umount "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

ok() { # status description
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi
}
has() { # text ERE description
	grep -qE -- "$2" <<<"$1"
	local rc=$?
	ok $rc "$3"
	[ $rc = 0 ] || sed 's/^/#   /' <<<"$1" | head -n 20
}
hasnt() { # text ERE description
	! grep -qE -- "$2" <<<"$1"
	ok $? "$3"
}
done_testing() {
	echo "1..$n"
	exit $fail
}

# start TOPOLOGY [ARG]: run a target in a fresh directory; sets $tpid and $tdir.
start() {
	tdir=$(mktemp -d "$tmp/t-XXXXXX")
	"$TGT" "$1" "$tdir" "${2:-}" </dev/null >/dev/null 2>"$tdir/stderr" &
	tpid=$!
	pids+=("$tpid")
	local i
	for i in $(seq 250); do
		[ -e "$tdir/ready" ] && return 0
		sleep 0.02
	done
	echo "# target $1 did not become ready: $(cat "$tdir/stderr")"
	return 1
}

# state PID: the one-letter state of /proc/PID/stat ("" if gone)
state() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	s=${s##*) }
	echo "${s%% *}"
}

# running PID DIR: alive, not traced/stopped, and its counter moves
running() {
	local a b st
	st=$(state "$1")
	case $st in "" | t | T | Z) return 1 ;; esac
	a=$(cat "$2/counter")
	sleep 0.05
	b=$(cat "$2/counter")
	[ "$a" != "$b" ]
}

# gone PID: the process no longer exists (after a kill: reaped by us as its parent)
gone() {
	local i
	for i in $(seq 100); do
		{ wait "$1"; } 2>/dev/null
		[ -e "/proc/$1" ] || return 0
		sleep 0.02
	done
	return 1
}

# ino PID FD: the socket inode behind PID's fd FD
ino() {
	local l
	l=$(readlink "/proc/$1/fd/$2")
	l=${l#socket:[}
	echo "${l%]}"
}

# crit_decode_all DIR: every CRIU-format image decodes
crit_decode_all() {
	local f b bad=0
	for f in "$1"/*.img; do
		b=$(basename "$f")
		case $b in pages-* | crux-*) continue ;; esac
		if ! crit decode -i "$f" >/dev/null 2>&1; then
			echo "#   crit decode $b failed"
			bad=1
		fi
	done
	return $bad
}

have_crit() {
	command -v crit >/dev/null
}

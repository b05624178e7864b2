#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Shared by the restore_*.t scripts: TAP output, a self-checking target (rsttgt), and the
# dump -> restore -> signal -> exit-status cycle. Sourced, not run.
set -u
cd "$(dirname "$0")/../.."
CRUX=${CRUX:-$PWD/.output/crux}
CRUX_OUT=${CRUX_OUT:-$PWD/.output}
TGT=$CRUX_OUT/tests/e2e/rsttgt
T_N=0
T_FAILED=0
WORK=$(mktemp -d /tmp/crux-rst.XXXXXX)
trap 'rst_cleanup' EXIT

rst_cleanup() {
	local p
	for p in $(jobs -p); do kill -9 "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$WORK"
}

ok() { # rc description
	T_N=$((T_N + 1))
	if [ "$1" = 0 ]; then
		echo "ok $T_N - $2"
	else
		echo "not ok $T_N - $2"
		T_FAILED=$((T_FAILED + 1))
	fi
}

diag() { sed 's/^/# /' "$@" >&2; }

need_root() {
	if [ "$(id -u)" != 0 ]; then
		echo "1..0 # SKIP restore needs root (ptrace, clone3 set_tid)"
		exit 0
	fi
}

wait_file() { # path [tenths of a second]
	local i
	for ((i = 0; i < ${2:-50}; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

wait_gone() { # pid: until /proc/PID is gone (its parent reaped it)
	local i
	for ((i = 0; i < 50; i++)); do
		[ -e "/proc/$1" ] || return 0
		sleep 0.1
	done
	return 1
}

# start TOPO DIR [ARG]: the target as our child; sets TPID.
start() {
	mkdir -p "$2"
	${TGT_WRAP:-} "$TGT" "$1" "$2" ${3:+"$3"} </dev/null >"$2/log" 2>&1 &
	TPID=$!
	wait_file "$2/ready"
}

tree_pids() { # pid: it and all its descendants
	local c
	echo "$1"
	for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}

# dump DIR [options]: dump TPID into DIR/img (killed), record the counter and the tree's
# pids (in DIR/pids).
dump() {
	local d=$1 rc
	shift
	tree_pids "$TPID" >"$d/pids"
	"$CRUX" dump -t "$TPID" -D "$d/img" "$@" >"$d/dump.out" 2>&1
	rc=$?
	if [ $rc != 0 ]; then
		diag "$d/dump.out"
		kill -9 "$TPID" 2>/dev/null # a failed dump resumes it: nothing would end it
	fi
	if [ -e "$d/counter" ]; then cp "$d/counter" "$d/expect"; fi
	[ $rc = 0 ] && { crit_all "$d/img" || rc=1; }
	return $rc
}

# crit_all IMGDIR: Debian's crit decodes every file crux writes there (pages-* are raw
# memory, which crit does not decode either; crux's own images are in crux/, out of its way).
crit_all() {
	local f
	command -v crit >/dev/null || return 0
	for f in "$1"/*; do
		case ${f##*/} in pages-*) continue ;; esac
		if [ -d "$f" ] || ! crit decode -i "$f" >/dev/null 2>"$1.crit.err"; then
			[ -d "$f" ] && [ "${f##*/}" = crux ] && continue
			echo "# crit cannot decode $f:" >&2
			diag "$1.crit.err"
			return 1
		fi
	done
}

reap() { # DIR: the dumped target is our child: collect it; wait for the rest of its tree
	local p
	wait "$TPID" 2>/dev/null
	for p in $(cat "$1/pids"); do wait_gone "$p"; done
}

# restore DIR [options]: crux restore in the background (it waits for the root and exits
# with its status); returns once the target counts again. Sets RPID.
restore() {
	local d=$1 c0 i
	shift
	c0=$(cat "$d/counter" 2>/dev/null)
	"$CRUX" restore -D "$d/img" "$@" >"$d/restore.out" 2>&1 &
	RPID=$!
	for ((i = 0; i < 50; i++)); do
		[ "$(cat "$d/counter" 2>/dev/null)" != "$c0" ] && return 0
		kill -0 $RPID 2>/dev/null || break
		sleep 0.1
	done
	diag "$d/restore.out"
	return 1
}

# verify DIR: signal the restored root; its exit status (through crux) is the verdict.
verify() {
	local d=$1 rc
	kill -USR1 "$TPID"
	wait "$RPID"
	rc=$?
	[ $rc = 0 ] || { diag "$d/log"; diag "$d/restore.out"; }
	return $rc
}

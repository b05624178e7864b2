#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make check`: every test group through prove, then the ASan/UBSan unit build and lint,
# then one line "N passed, N failed, N skipped".
#
# Groups: unit (no root, no BPF), golden (crux-map printer on recorded snapshots),
# bpf (real programs on the real kernel), e2e (real processes dumped and restored).
# A group's tests are the compiled .output/tests/<group>/test_* and the scripts
# tests/<group>/*.t; every one speaks TAP.
set -u
cd "$(dirname "$0")/.."
# Descriptors inherited from whoever runs us (a CI runner's pipes) would be held by every
# test process, and a dump of a test tree rightly refuses a pipe it shares with an outside
# process. Close them; 255 is bash's own handle on this script.
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[ "$fd" -gt 2 ] && [ "$fd" != 255 ] && eval "exec $fd>&-"
done
OUT=.output
LOGDIR=$OUT/test-logs
rm -rf "$LOGDIR" && mkdir -p "$LOGDIR"

if [ "$(id -u)" = 0 ]; then
	tools/setup.sh
	tools/cleanup.sh # leftovers of an earlier run
fi
export CRUX_TEST_RUN="run$$"
export CRUX="$PWD/$OUT/crux" CRUX_MAP="$PWD/$OUT/crux-map" CRUX_OUT="$PWD/$OUT"
trap 'tools/cleanup.sh "$CRUX_TEST_RUN" >/dev/null 2>&1' EXIT

passed=0 failed=0 skipped=0 status=0

count() { # log file -> adds to the totals; a whole-file skip (1..0 # SKIP) counts once
	local all s f
	all=$(grep -cE '^ok [0-9]+' "$1")
	s=$(grep -cE '^ok [0-9]+.*# SKIP|^1\.\.0 # SKIP' "$1")
	f=$(grep -cE '^not ok [0-9]+' "$1")
	passed=$((passed + all - $(grep -cE '^ok [0-9]+.*# SKIP' "$1")))
	skipped=$((skipped + s)) failed=$((failed + f))
}

run_group() { # group [test...]
	local group=$1 log="$LOGDIR/$1.log"
	shift
	if [ $# = 0 ]; then
		echo "== $group: no tests"
		return
	fi
	echo "== $group"
	prove -v -e '' "$@" >"$log" 2>&1
	local rc=$?
	grep -E '^(not ok|ok [0-9]+.*# SKIP|1\.\.0 # SKIP|#   |Bail out)|^[^ ]+ \.\. |^(All tests|Files=|Result:|Failed)' "$log"
	count "$log"
	[ $rc = 0 ] || status=1
}

tests_of() { # group -> executables
	local g=$1 t
	for t in "$OUT"/tests/"$g"/test_* tests/"$g"/*.t; do
		[ -x "$t" ] && [ "${t%.d}" = "$t" ] && [ "${t%.o}" = "$t" ] && echo "$t"
	done
}

# shellcheck disable=SC2046
run_group unit $(tests_of unit)
# shellcheck disable=SC2046
run_group golden $(tests_of golden)
# the fuzz corpus, replayed once through the libFuzzer target (ASan, UBSan)
# shellcheck disable=SC2046
run_group fuzz $(tests_of fuzz)
if [ "$(id -u)" = 0 ]; then
	# shellcheck disable=SC2046
	run_group bpf $(tests_of bpf)
	# shellcheck disable=SC2046
	run_group e2e $(tests_of e2e)
	# A BPF or e2e test may skip only when the feature it needs is really absent.
	if grep -qE '# SKIP' "$LOGDIR/bpf.log" "$LOGDIR/e2e.log" 2>/dev/null &&
		"$CRUX" check >"$LOGDIR/check.log" 2>&1; then
		echo "== skip policy: a bpf/e2e test skipped although 'crux check' reports every feature present:"
		grep -hE '# SKIP' "$LOGDIR/bpf.log" "$LOGDIR/e2e.log"
		n=$(cat "$LOGDIR/bpf.log" "$LOGDIR/e2e.log" 2>/dev/null | grep -cE '# SKIP')
		failed=$((failed + n)) skipped=$((skipped - n)) status=1
	fi
else
	echo "== bpf, e2e: need root"
	skipped=$((skipped + 2))
fi

echo "== asan (unit and golden tests under AddressSanitizer and UBSan)"
if make --no-print-directory asan >"$LOGDIR/asan-build.log" 2>&1; then
	# shellcheck disable=SC2046
	ASAN_OPTIONS=detect_leaks=1 CRUX_MAP="$PWD/$OUT/asan/crux-map" \
		run_group asan $(for t in $(tests_of unit) $(tests_of golden); do
			case $t in "$OUT"/*) echo "$OUT/asan/${t#"$OUT"/}" ;; *) echo "$t" ;; esac
		done)
else
	tail -n 20 "$LOGDIR/asan-build.log"
	echo "not ok - asan build"
	failed=$((failed + 1)) status=1
fi

echo "== lint"
if tools/lint.sh >"$LOGDIR/lint.log" 2>&1; then
	passed=$((passed + 1))
else
	cat "$LOGDIR/lint.log"
	failed=$((failed + 1)) status=1
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
exit $status

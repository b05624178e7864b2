#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Replay the fuzz corpus (tests/fuzz/corpus: seeds from real dumps, and the inputs that found
# issue #9's bugs: files.img cut to its magic, records cut between two, a CRIU image, a cut
# inventory) through fuzz_img once each, under ASan and UBSan: no crash, no report.
set -u
cd "$(dirname "$0")/../.."
FUZZER=${CRUX_OUT:-$PWD/.output}/fuzz/fuzz_img
n=0 fail=0
if [ ! -x "$FUZZER" ]; then
	echo "1..1"
	echo "not ok 1 - $FUZZER is built (make check builds it)"
	exit 1
fi
log=$(mktemp /tmp/crux-fuzz-replay.XXXXXX)
trap 'rm -f "$log"' EXIT
for f in tests/fuzz/corpus/*; do
	n=$((n + 1))
	if "$FUZZER" "$f" >"$log" 2>&1 && ! grep -qE 'ERROR: |runtime error' "$log"; then
		echo "ok $n - ${f##*/}"
	else
		echo "not ok $n - ${f##*/}"
		grep -E 'ERROR: |runtime error|#[0-9]+ ' "$log" | head -n 15 | sed 's/^/#   /'
		fail=1
	fi
done
echo "1..$n"
exit $fail

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Golden tests of crux-map's printer: each case runs crux-map on the recorded snapshot
# tests/data/tree.snap (CRUX_MAP_SNAPSHOT: no root, no BPF) and compares stdout with
# tests/data/tree.<case>.expected. JSON cases must also parse with python3's json module.
# `tests/golden/crux_map.t --regen` rewrites the expected files (review the diff!).
set -u
cd "$(dirname "$0")/../.."
M=${CRUX_MAP:-.output/crux-map}
DATA=tests/data
export CRUX_MAP_SNAPSHOT=$DATA/tree.snap
regen=${1:-}

cases=(
	"ls|ls"
	"ls-H|ls -H"
	"ls-type-dgram|ls --type dgram"
	"ls-name-prefix|ls --name /run/"
	"ls-name-abstract|ls --name @work"
	"ls-state-listen|ls --state listen"
	"ls-pid|ls --pid 101"
	"ls-comm|ls --comm dbd"
	"ls-netns|ls --netns 8192"
	"ls-n|ls -n"
	"ls-json|ls -j"
	"peers-100|peers 100"
	"peers-101-json|peers -j 101"
	"peers-100-n|peers -n 100"
	"external-100|external 100"
	"external-100-ext|external --ext-unix-sk 100"
	"external-100-list-json|external --ext-unix-sk=1002,1008,4242 -j 100"
	"external-101|external -H 101"
	"who-devlog|who /dev/log"
	"who-db-json|who -j /run/db.sock"
	"who-abstract|who @work@ctl"
	"stats|stats"
	"stats-json|stats -j"
	"stats-prometheus|stats --prometheus"
)
# name|args|exit status|a phrase stderr must contain
errors=(
	"no such pid|peers 4000000|1|no process 4000000"
	"pid not a number|external abc|64|'abc' is not a process id"
	"missing operand|who|64|'who' takes 1 argument"
	"unknown command|frob|64|unknown command 'frob'"
	"bad type|ls --type raw|64|use stream, dgram or seqpacket"
	"bad ext list|external --ext-unix-sk=1,,2 100|64|comma-separated list of inodes"
	"watch needs a tracker|watch|1|watch needs a running tracker"
	"prometheus only for stats|ls --prometheus|64|--prometheus is an output of 'stats'"
)

n_json=$(printf '%s\n' "${cases[@]}" | grep -c '^[^|]*json')
n=$(( ${#cases[@]} + n_json + ${#errors[@]} + 1 ))
echo "1..$n"
i=0
for c in "${cases[@]}"; do
	name=${c%%|*} args=${c#*|}
	i=$((i + 1))
	exp=$DATA/tree.$name.expected
	# shellcheck disable=SC2086
	out=$($M $args 2>/tmp/crux-map-golden.$$.err)
	rc=$?
	if [ "$regen" = --regen ]; then
		printf '%s\n' "$out" >"$exp"
	fi
	if [ $rc = 0 ] && [ "$out" = "$(cat "$exp" 2>/dev/null)" ]; then
		echo "ok $i - $name: crux-map $args"
	else
		echo "not ok $i - $name: crux-map $args (exit $rc)"
		diff <(printf '%s\n' "$out") "$exp" | sed 's/^/#   /' | head -n 30
		sed 's/^/#   stderr: /' /tmp/crux-map-golden.$$.err | head -n 5
	fi
	case $name in
	*json*)
		i=$((i + 1))
		if printf '%s\n' "$out" | python3 -c 'import json,sys; json.load(sys.stdin)' 2>/dev/null; then
			echo "ok $i - $name: output parses as JSON"
		else
			echo "not ok $i - $name: output does not parse as JSON"
		fi
		;;
	esac
done
for c in "${errors[@]}"; do
	IFS='|' read -r name args want phrase <<<"$c"
	i=$((i + 1))
	# shellcheck disable=SC2086
	$M $args >/dev/null 2>/tmp/crux-map-golden.$$.err
	rc=$?
	if [ "$rc" = "$want" ] && grep -qF -- "$phrase" /tmp/crux-map-golden.$$.err; then
		echo "ok $i - $name: exit $rc, says '$phrase'"
	else
		echo "not ok $i - $name: exit $rc (want $want), stderr:"
		sed 's/^/#   /' /tmp/crux-map-golden.$$.err | head -n 5
	fi
done
# a damaged snapshot is an error naming the file, never a partial answer
i=$((i + 1))
bad=/tmp/crux-map-golden.$$.snap
{ head -n 20 "$DATA/tree.snap"; echo "sock ino=oops"; } >"$bad"
if ! CRUX_MAP_SNAPSHOT=$bad $M ls >/dev/null 2>/tmp/crux-map-golden.$$.err &&
	grep -qF "cannot read snapshot file $bad" /tmp/crux-map-golden.$$.err; then
	echo "ok $i - damaged snapshot: exit 1 naming the file"
else
	echo "not ok $i - damaged snapshot accepted or not named"
fi
rm -f /tmp/crux-map-golden.$$.err "$bad"

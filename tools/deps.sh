#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages crux needs to build and test, when any is missing.
# Run by make before the first build; safe to run again (installs nothing if all present).
set -eu

pkgs="make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config
protobuf-c-compiler libprotobuf-c-dev criu python3 iproute2 cppcheck clang-format perl pmccabe
systemd prometheus-node-exporter curl at cron"

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "crux: missing Debian packages:$missing" >&2
	echo "crux: run 'sudo tools/deps.sh' (or install them with apt-get) and try again" >&2
	exit 1
fi
echo "crux: installing missing Debian packages:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null

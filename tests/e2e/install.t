#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install: make install into a scratch prefix (the unit passes systemd-analyze verify there,
# bash completion answers from the installed binaries), make uninstall removes every file,
# DESTDIR staging, and make deb: its control data, its file list, a scratch-root unpack
# whose crux check works and whose binaries need no library outside the Depends.
# This machine has no systemd as PID 1: systemd-analyze verify checks the unit file alone.
set -u
cd "$(dirname "$0")/../.."
n=0
t() { # description, then the check's exit status in $?
	local rc=$?
	n=$((n + 1))
	if [ $rc = 0 ]; then echo "ok $n - $1"; else echo "not ok $n - $1"; fi
}
if [ "$(id -u)" != 0 ]; then echo "1..0 # SKIP needs root (crux check loads BPF)"; exit 0; fi
for tool in systemd-analyze dpkg-deb; do
	command -v $tool >/dev/null || { echo "Bail out! $tool missing (tools/deps.sh)"; exit 1; }
done
tmp=$(mktemp -d /tmp/crux-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mk() { make --no-print-directory -s "$@" >>"$tmp/make.log" 2>&1; }
echo "1..14"

# --- make install PREFIX=scratch: every file where it belongs ------------------------------
P=$tmp/usr
mk install PREFIX="$P"
t "make install PREFIX=$P: exit $?"
want="sbin/crux sbin/crux-map lib/systemd/system/crux-track.service
share/bash-completion/completions/crux share/bash-completion/completions/crux-map
$(for m in man/*.8; do echo "share/man/man8/${m#man/}"; done)"
missing=""
for f in $want; do [ -e "$P/$f" ] || missing="$missing $f"; done
[ -z "$missing" ]
t "installed: binaries, $(ls man/*.8 | wc -l) man pages, unit, completions${missing:+ (missing:$missing)}"
grep -qx "ExecStart=$P/sbin/crux track \$CRUX_TRACK_OPTS" "$P/lib/systemd/system/crux-track.service" &&
	grep -qx "Type=notify" "$P/lib/systemd/system/crux-track.service" &&
	grep -qx "Restart=on-failure" "$P/lib/systemd/system/crux-track.service"
t "the unit runs the installed crux track, Type=notify, Restart=on-failure"

# --- systemd-analyze verify: the installed unit, and a broken one as a control ---------
(cd "$P/lib/systemd/system" && systemd-analyze verify --man=no ./crux-track.service) \
	>"$tmp/verify.out" 2>&1
rc=$?
[ $rc = 0 ] && [ ! -s "$tmp/verify.out" ]
t "systemd-analyze verify crux-track.service: exit $rc, no complaint"
sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/crux|' "$P/lib/systemd/system/crux-track.service" \
	>"$tmp/crux-track.service"
(cd "$tmp" && systemd-analyze verify --man=no ./crux-track.service) >"$tmp/verify.bad" 2>&1
rc=$?
[ $rc != 0 ] && grep -q "/nonexistent/crux" "$tmp/verify.bad"
t "control: verify refuses the unit naming a missing binary (exit $rc)"

# --- bash completion from the installed file and binaries -------------------------------
comp() { # words...: what completing the last word offers
	PATH="$P/sbin:$PATH" bash -c 'source "$1"; shift; COMP_WORDS=("$@");
		COMP_CWORD=$(($# - 1)); _crux "$1"; echo "${COMPREPLY[*]}"' _ \
		"$P/share/bash-completion/completions/crux" "$@"
}
a=$(comp crux "") b=$(comp crux track --metrics-) c=$(comp crux-map st) d=$(comp crux-map stats --prom)
[ "$a" = "track dump pre-dump restore check show" ] && [ "$b" = "--metrics-dir --metrics-interval" ] &&
	[ "$c" = stats ] && [ "$d" = --prometheus ]
t "completion: crux <tab> '$a'; crux track --metrics-<tab> '$b'; crux-map st<tab> '$c'"

# --- make uninstall: nothing left but empty directories ---------------------------------
mk uninstall PREFIX="$P"
rc=$?
left=$(find "$P" ! -type d)
[ $rc = 0 ] && [ -z "$left" ]
t "make uninstall: exit $rc, no file left${left:+ ($left)}"

# --- DESTDIR staging: the paths name the final prefix, the files land in DESTDIR -------
mk install DESTDIR="$tmp/stage" PREFIX=/usr
[ -x "$tmp/stage/usr/sbin/crux" ] &&
	grep -qx 'ExecStart=/usr/sbin/crux track $CRUX_TRACK_OPTS' \
		"$tmp/stage/usr/lib/systemd/system/crux-track.service"
t "make install DESTDIR=... PREFIX=/usr: files staged, the unit names /usr/sbin/crux"
mk uninstall DESTDIR="$tmp/stage" PREFIX=/usr && [ -z "$(find "$tmp/stage" ! -type d)" ]
t "make uninstall DESTDIR=...: the stage is empty again"

# --- make deb -----------------------------------------------------------------------------
mk deb
deb=$(ls .output/crux_*.deb 2>/dev/null | head -n 1)
[ -n "$deb" ] && dpkg-deb -I "$deb" >"$tmp/info"
t "make deb builds ${deb:-nothing}"
dep=$(dpkg-deb -f "$deb" Depends)
ok=1
for p in libbpf1 libelf1 libprotobuf-c1 zlib1g; do grep -qw "$p" <<<"$dep" || ok=0; done
[ $ok = 1 ] && [ "$(dpkg-deb -f "$deb" Package)" = crux ] &&
	[ "$(dpkg-deb -f "$deb" Architecture)" = "$(dpkg --print-architecture)" ]
t "control: Package crux, Depends: $dep"
dpkg-deb -c "$deb" | awk '{ print $6 }' >"$tmp/list"
ok=1
for f in ./usr/sbin/crux ./usr/sbin/crux-map ./lib/systemd/system/crux-track.service \
	./etc/default/crux-track ./usr/share/man/man8/crux-map.8.gz \
	./usr/share/bash-completion/completions/crux; do
	grep -qx -- "$f" "$tmp/list" || { ok=0; echo "# missing $f"; }
done
[ $ok = 1 ] && dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -qx /etc/default/crux-track
t "contents: binaries, unit, man pages, completion, /etc/default/crux-track as a conffile"

# --- unpacked into a scratch root: crux check works, libraries all from Depends ----------
root=$tmp/root
dpkg-deb -x "$deb" "$root"
"$root/usr/sbin/crux" check >"$tmp/check" 2>&1
rc=$?
[ $rc = 0 ] && grep -q "iter_unix *yes" "$tmp/check"
t "crux check from the unpacked package: exit $rc"
ok=1
for lib in $(ldd "$root/usr/sbin/crux" "$root/usr/sbin/crux-map" | awk '/=> \// { print $3 }' | sort -u); do
	pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n 1 | cut -d: -f1)
	[ -z "$pkg" ] && pkg=$(dpkg -S "$lib" 2>/dev/null | head -n 1 | cut -d: -f1)
	grep -qw -- "$pkg" <<<"$dep libc6" || { ok=0; echo "# $lib ($pkg) is not in Depends"; }
done
[ $ok = 1 ]
t "every shared library the binaries load comes from a package in Depends"

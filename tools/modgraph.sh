#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# The module graph of crux, read from the symbols each object of .output/user defines and
# uses (nm): one line per module with the modules it uses, then every cycle and every
# dependency that points up the layers (README, Layout: cmd -> dump/restore -> fd ->
# map/img -> os -> base). Exit 1 if there is either. `make lint` runs it.
#   tools/modgraph.sh [OUTPUT_DIR]     (default .output)
set -u
cd "$(dirname "$0")/.."
out=${1:-.output}
objs=$(find "$out/user" -name '*.o' 2>/dev/null | sort)
if [ -z "$objs" ]; then
	echo "modgraph: no objects under $out/user: run make first"
	exit 1
fi
for o in $objs; do
	m=${o#"$out"/user/}
	m=${m%.o}
	[ -e "user/$m.c" ] || continue # left behind by a moved source
	nm "$o" | awk -v m="$m" '$1 == "U" { print "U", m, $2 } NF == 3 && $2 ~ /^[TDBR]$/ { print "D", m, $3 }'
done | awk '
# layer rank: a module may use its own layer and the layers below it
function rank(mod, l) {
	l = mod; sub(/\/.*/, "", l)
	if (l == "base") return 0
	if (l == "os") return 1
	if (l == "img" || l == "map") return 2
	if (l == "fd") return 3
	if (l == "dump" || l == "restore") return 4
	if (l == "cmd") return 5
	return 6 # main
}
function layer(mod, l) { l = mod; sub(/\/.*/, "", l); return l }
$1 == "D" { def[$3] = $2; mods[$2] = 1; next }
$1 == "U" { use[NR] = $2 " " $3; mods[$2] = 1 }
END {
	for (k in use) {
		split(use[k], a, " ")
		if (!(a[2] in def) || def[a[2]] == a[1]) continue
		e = a[1] SUBSEP def[a[2]]
		if (!(e in edge)) { edge[e] = a[2]; dep[a[1]] = dep[a[1]] " " def[a[2]] }
	}
	n = 0
	for (m in mods) name[n++] = m
	# sort names (insertion sort: a few dozen modules)
	for (i = 1; i < n; i++) for (j = i; j > 0 && name[j] < name[j - 1]; j--) { t = name[j]; name[j] = name[j - 1]; name[j - 1] = t }
	for (i = 0; i < n; i++) { idx[name[i]] = i; for (j = 0; j < n; j++) r[i, j] = 0 }
	for (e in edge) { split(e, a, SUBSEP); r[idx[a[1]], idx[a[2]]] = 1 }
	for (k = 0; k < n; k++) for (i = 0; i < n; i++) if (r[i, k]) for (j = 0; j < n; j++) if (r[k, j]) r[i, j] = 1
	bad = 0
	for (i = 0; i < n; i++) {
		line = ""
		for (j = 0; j < n; j++) if ((name[i], name[j]) in edge) line = line " " name[j]
		printf "%s:%s\n", name[i], line
	}
	for (i = 0; i < n; i++) {
		if (seen[i] || !r[i, i]) continue
		c = name[i]
		for (j = i + 1; j < n; j++) if (r[i, j] && r[j, i]) { c = c " " name[j]; seen[j] = 1 }
		printf "cycle: %s\n", c; bad++
	}
	for (e in edge) {
		split(e, a, SUBSEP)
		if (layer(a[1]) == layer(a[2]) || rank(a[2]) < rank(a[1])) continue
		printf "up: %s -> %s (%s)\n", a[1], a[2], edge[e]; bad++
	}
	exit bad ? 1 : 0
}'

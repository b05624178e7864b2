#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# `make lint`: the project's grep rules, cppcheck, and clang-format on uncommitted changes.
set -u
cd "$(dirname "$0")/.."
rc=0
fail() { echo "lint: $*"; rc=1; }

src=$(git ls-files 'user/*.c' 'user/*.h' 'tools/*.c' 'tools/bench/*.c' 'include/*.h' 2>/dev/null)
[ -n "$src" ] || src=$(ls user/*.c user/*/*.[ch] tools/*.c include/*.h 2>/dev/null)

# Log macros add the newline themselves; no %m, no hand-written errno text.
if out=$(grep -nE '\bpr_(err|warn|info|debug|perror)\("[^"]*\\n"' $src); then
	fail "log format ends in \\n (the macro adds it):"; echo "$out"
fi
if out=$(grep -nE '\bpr_[a-z_]+\(.*%m' $src); then
	fail "%m in a log message (use pr_perror):"; echo "$out"
fi
# Diagnostics go through pr_*: no direct writes to stderr outside the log module and usage text.
if out=$(grep -nE 'fprintf\(stderr|\bperror\(' $(echo "$src" | grep -v 'user/base/log.c') | grep -v 'lint: allow'); then
	fail "direct stderr write (use pr_*):"; echo "$out"
fi
# Numbers are parsed by parse_u32/parse_u64 (util.c).
if out=$(grep -nE '\b(strtol|strtoul|strtoll|strtoull|atoi|atol)\(' $(echo "$src" | grep -vE 'user/(base/util|os/proc)\.c') | grep -v 'lint: allow'); then
	fail "raw number parsing (use parse_u32/parse_u64):"; echo "$out"
fi
# One error idiom: a failed call's cause is added by pr_perror/pr_perror_ret/pr_pwarn, never
# formatted by hand as strerror(errno) in a pr_* call (which may span lines).
if out=$(perl -0777 -ne 'while (/\b(pr_\w+)\s*\(((?:[^;"]|"(?:[^"\\]|\\.)*")*?)\)\s*;/g) {
		my ($c, $a, $p) = ($1, $2, $-[0]);
		next unless $a =~ /strerror\(errno\)/ && $a !~ /lint: allow/;
		printf "%s:%d: %s\n", $ARGV, 1 + (substr($_, 0, $p) =~ tr/\n//), $c;
	}' $(echo "$src" | grep '\.c$')) && [ -n "$out" ]; then
	fail "strerror(errno) formatted by hand in a log message (use pr_perror):"; echo "$out"
fi
# Every file starts with an SPDX line.
for f in $src $(git ls-files 'bpf/*' 'images/*.proto' 'tests/*.c' 'tests/*.h' 2>/dev/null); do
	head -n 2 "$f" | grep -q 'SPDX-License-Identifier' || fail "$f: no SPDX line"
done

# constStatement: cppcheck reads the trailing (err) of pr_err_ret()'s statement expression
# as an unused value in every `return pr_err_ret(err, ...)`.
if command -v cppcheck >/dev/null; then
	if ! cppcheck -q --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem --suppress=constStatement -Iinclude $(for l in user/*/; do printf -- '-I%s ' "$l"; done) $(echo "$src" | grep '\.c$') 2>&1; then
		fail "cppcheck found problems"
	fi
fi

# Functions fit a screen (style.md rule 4): at most 80 lines in user/ and tools/.
if command -v pmccabe >/dev/null; then
	if out=$(pmccabe $(echo "$src" | grep '\.c$') 2>/dev/null | awk '$5 > 80 { print "  " $6 " " $7 ": " $5 " lines" }') && [ -n "$out" ]; then
		fail "functions over 80 lines:"; echo "$out"
	fi
fi
# Files stay under 1000 lines.
if out=$(wc -l $src | awk '$2 != "total" && $1 >= 1000 { print "  " $2 ": " $1 " lines" }') && [ -n "$out" ]; then
	fail "files of 1000 lines or more:"; echo "$out"
fi
# Dependencies point down the layers, and no two modules use each other (needs the objects).
if [ -d .output/user ]; then
	if ! out=$(tools/modgraph.sh); then
		fail "module graph (tools/modgraph.sh):"; echo "$out" | grep -E '^(cycle|up|modgraph):'
	fi
fi

if git rev-parse HEAD >/dev/null 2>&1 && command -v git-clang-format >/dev/null; then
	out=$(git clang-format --diff --extensions c,h HEAD -- user include tools bpf tests 2>/dev/null)
	case "$out" in
	"" | *"no modified files to format"* | *"did not modify any files"*) ;;
	*) fail "clang-format wants changes in uncommitted code:"; echo "$out" | head -n 40 ;;
	esac
fi
[ $rc = 0 ] && echo "lint: ok"
exit $rc

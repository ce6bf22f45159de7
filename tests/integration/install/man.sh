#!/bin/bash
# Every man page renders with `man -l` without a warning (run without the
# sanitizer pass's LD_PRELOAD: man-db is no signgate code, and its seccomp
# sandbox refuses the preloaded runtime), and signgate(1)
# documents exactly the commands `signgate --help` lists.
set -euo pipefail
B=${SIGNGATE_BUILDDIR:?run through meson test}
SRC=${SIGNGATE_SRCDIR:?}
TOOL=${SIGNGATE_TOOL:?}
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v man >/dev/null || { echo "SKIP: man not installed"; exit 77; }
T=$(mktemp -d "${TMPDIR:-/tmp}/sg-man.XXXXXX")
trap 'rm -rf "$T"' EXIT

pages=("$SRC/docs/man/signgate.1" "$B/docs/man/signgate.conf.5" "$SRC/docs/man/signgate-pkcs11.8")
for p in "${pages[@]}"; do
	[ -s "$p" ] || fail "$p missing"
	env -u LD_PRELOAD MAN_DISABLE_SECCOMP=1 MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$p" > "$T/out" 2> "$T/err" || fail "man -l $p failed"
	if [ -s "$T/err" ]; then cat "$T/err" >&2; fail "man -l $p printed warnings"; fi
	[ "$(wc -l < "$T/out")" -gt 20 ] || fail "$p renders to almost nothing"
	echo "ok: $(basename "$p") renders without warnings ($(wc -l < "$T/out") lines)"
done

# signgate(1) and signgate --help name the same commands.
"$TOOL" --help | awk '/^commands:/ {on=1; next} on && NF && /^  [a-z]/ {print $1}' | sort > "$T/cmds"
[ -s "$T/cmds" ] || fail "no commands in signgate --help"
sed -n 's/^\.SS \(.*\)$/\1/p' "$SRC/docs/man/signgate.1" | sed 's/\\-/-/g' | sort > "$T/documented"
if ! diff -u "$T/cmds" "$T/documented"; then
	fail "signgate(1) and 'signgate --help' disagree (- help only, + man only)"
fi
echo "ok: signgate(1) documents the $(wc -l < "$T/cmds") commands of signgate --help"

# signgate.conf(5) is REFERENCE.md: each of its sections is in the page.
grep '^## ' "$SRC/config/REFERENCE.md" | sed 's/^## //; s/ (.*//; s/`//g' | while read -r h; do
	env -u LD_PRELOAD MAN_DISABLE_SECCOMP=1 MANWIDTH=200 man -l "$B/docs/man/signgate.conf.5" 2>/dev/null | grep -qiF -- "$h" ||
		fail "signgate.conf(5) lacks the section '$h' of config/REFERENCE.md"
done
echo "ok: signgate.conf(5) has every section of config/REFERENCE.md"

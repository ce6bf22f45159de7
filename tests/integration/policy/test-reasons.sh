#!/bin/bash
# signgate test: reasons.cases against reasons.conf.in, and every decision
# reason of config/REFERENCE.md's reason table is produced by some case.
# A reason added to the table without a case here fails this test, naming
# the reason: add a case to reasons.cases (or, for a reason no case can
# produce, list it after "Runtime-only reasons:" in REFERENCE.md, saying why).
set -euo pipefail
TOOL=${SIGNGATE_TOOL:?run through meson test}
SRC=${SIGNGATE_SRCDIR:?}
HERE=$SRC/tests/integration/policy
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/signgate-reasons.XXXXXX")
trap 'rm -rf "$T"' EXIT
openssl genpkey -algorithm ED25519 -out "$T/validator.pem" 2>/dev/null
openssl pkey -in "$T/validator.pem" -pubout -out "$T/validator.pub"
cred=$(printf 'ops-secret' | "$TOOL" credential hash --iterations 1000)
sed -e "s|@VALIDATOR_KEY@|$T/validator.pub|" -e "s|@CREDENTIAL@|$cred|" \
	"$HERE/reasons.conf.in" > "$T/reasons.conf"
"$TOOL" check --quiet "$T/reasons.conf" >/dev/null || fail "reasons.conf.in does not load"

set +e
"$TOOL" test "$T/reasons.conf" "$HERE/reasons.cases" > "$T/out" 2>&1
rc=$?
set -e
cat "$T/out"
[ $rc -eq 0 ] || fail "signgate test exited $rc"
grep -qE '^[0-9]+ passed, 0 failed$' "$T/out" || fail "no summary line"

# The decrypt/unwrap/derive capabilities (issue 12): a policy of their own.
sed -e "s|@VALIDATOR_KEY@|$T/validator.pub|" "$HERE/reasons-caps.conf.in" > "$T/caps.conf"
"$TOOL" check --quiet "$T/caps.conf" >/dev/null || fail "reasons-caps.conf.in does not load"
set +e
"$TOOL" test "$T/caps.conf" "$HERE/reasons-caps.cases" > "$T/out-caps" 2>&1
rc=$?
set -e
cat "$T/out-caps"
[ $rc -eq 0 ] || fail "signgate test (capabilities) exited $rc"
cat "$T/out-caps" >> "$T/out"

# The reason names: first column of the table under "## Denial reasons",
# rows after the |---| separator, every `name` in that cell.
awk '
	/^## / { in_sec = ($0 ~ /^## Denial reasons/); sep = 0; next }
	in_sec && /^\|[ -]*-[ -|]*$/ { sep = 1; next }
	in_sec && sep && /^\|/ {
		split($0, cells, "|"); cell = cells[2]
		while (match(cell, /`[a-z][a-z0-9-]*`/)) {
			print substr(cell, RSTART + 1, RLENGTH - 2); cell = substr(cell, RSTART + RLENGTH)
		}
	}' "$SRC/config/REFERENCE.md" | sort -u > "$T/reasons"
n=$(wc -l < "$T/reasons")
[ "$n" -ge 20 ] || fail "only $n reason names found in REFERENCE.md's reason table: did its layout change?"
# Reasons REFERENCE.md declares runtime-only (none today).
runtime_only=$(sed -n 's/^Runtime-only reasons: *//p' "$SRC/config/REFERENCE.md" | grep -o '`[a-z0-9-]*`' | tr -d '`' || true)

missing=()
while read -r reason; do
	grep -qx "$reason" <<<"$runtime_only" && continue
	# produced (not just mentioned) by a passing case: "ok    NAME: deny REASON"
	grep -qE "^ok    .*: (allow|deny) $reason( |\$)" "$T/out" || missing+=("$reason")
done < "$T/reasons"
[ ${#missing[@]} -eq 0 ] ||
	fail "no case in tests/integration/policy/reasons.cases produces: ${missing[*]}"
echo "PASS: $n reasons of REFERENCE.md each produced by a case"

#!/bin/bash
# signgate test: a failing case exits 1 and is named; --junit is well-formed
# XML with the failure in it; malformed cases files are refused (exit 2,
# FILE:LINE); configs and cases may come from pipes.
set -euo pipefail
TOOL=${SIGNGATE_TOOL:?run through meson test}
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/signgate-tfail.XXXXXX")
trap 'rm -rf "$T"' EXIT
cat > "$T/c.conf" <<'CONF'
backend = { module = "/usr/lib/softhsm/libsofthsm2.so"; };
roles = ( { name = "devs"; users = [ 4300 ]; } );
keys = ( { name = "k"; token = "t"; id = "01"; mechanisms = [ "ECDSA" ]; } );
rules = ( { name = "devs-sign"; roles = [ "devs" ]; keys = [ "k" ]; hours = "08:00-18:00"; } );
CONF
cat > "$T/ok.cases" <<'CASES'
cases = (
  { name = "dev signs at noon"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA";
    hash = "SHA256"; at = "2026-06-03T12:00:00Z"; expect = "allow"; rule = "devs-sign"; }
);
CASES
cat > "$T/bad.cases" <<'CASES'
cases = (
  { name = "dev signs at noon"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA";
    hash = "SHA256"; at = "2026-06-03T12:00:00Z"; expect = "allow"; },
  { name = "dev <signs> & at night"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA";
    hash = "SHA256"; at = "2026-06-03T23:00:00Z"; expect = "allow"; },
  { name = "wrong reason expected"; caller = { uid = 4301; }; key = "k"; mechanism = "ECDSA";
    hash = "SHA256"; expect = "deny"; reason = "no-rule"; }
);
CASES

"$TOOL" test "$T/c.conf" "$T/ok.cases" > "$T/out" || fail "passing cases: exit $?: $(cat "$T/out")"
grep -qx '1 passed, 0 failed' "$T/out" || fail "summary: $(cat "$T/out")"

set +e
"$TOOL" test --junit "$T/junit.xml" "$T/c.conf" "$T/bad.cases" > "$T/out" 2>&1
rc=$?
set -e
cat "$T/out"
[ $rc -eq 1 ] || fail "failing cases: exit $rc, expected 1"
grep -q '^FAIL  dev <signs> & at night (.*bad.cases:4): expected allow, got deny outside-window' "$T/out" ||
	fail "the failing case is not named with its outcome"
grep -q '^FAIL  wrong reason expected .*expected reason no-rule, got no-role' "$T/out" ||
	fail "a wrong reason is not a failure"
grep -q '^ok    dev signs at noon' "$T/out" || fail "the passing case is not listed"
grep -qx '1 passed, 2 failed' "$T/out" || fail "summary"
$PY - "$T/junit.xml" <<'PY' || fail "JUnit XML: see above"
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
cases = root.findall("./testsuite/testcase")
assert len(cases) == 3, len(cases)
assert root.get("tests") == "3" and root.get("failures") == "2", root.attrib
failed = {c.get("name"): c.find("failure") for c in cases}
assert failed["dev signs at noon"] is None
f = failed["dev <signs> & at night"]
assert f is not None and "outside-window" in f.get("message"), f
print("junit ok:", [c.get("name") for c in cases])
PY

# Malformed cases are errors (exit 2) with FILE:LINE, never a pass.
printf 'cases = ( { name = "x"; caller = { uid = 1; }; key = "k"; mechanism = "ECDSA"; expect = "allow"; colour = "red"; } );\n' > "$T/typo.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/typo.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "typo.cases:1: unknown setting 'colour'" "$T/out" || fail "unknown setting: exit $rc: $(cat "$T/out")"
printf 'cases = ( { name = "x"; caller = { uid = 1; }; key = "nokey"; mechanism = "ECDSA"; expect = "allow"; } );\n' > "$T/nokey.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/nokey.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "no key 'nokey'" "$T/out" || fail "unknown key: exit $rc: $(cat "$T/out")"
printf 'cases = ( { name = "x"; caller = { uid = 1; }; key = "k"; mechanism = "ECDSA"; expect = "maybe"; } );\n' > "$T/expect.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/expect.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "bad expect: exit $rc"
printf 'cases = ( { name = "x"; caller = { uid = 1; }; key = "k"; mechanism = "ECDSA"; expect = "allow"; }, { name = "x"; caller = { uid = 1; }; key = "k"; mechanism = "ECDSA"; expect = "allow"; } );\n' > "$T/dup.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/dup.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "used twice" "$T/out" || fail "duplicate names: exit $rc: $(cat "$T/out")"
printf 'cases = ( { name = "x" ' > "$T/syntax.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/syntax.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "syntax.cases:1:" "$T/out" || fail "syntax error: exit $rc: $(cat "$T/out")"
# Data a case cannot mean: ECDSA bytes without the curve, a hash beside the
# bytes it is read from, a ticket's artifacts with a hash but no digest.
printf 'cases = ( { name = "x"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA"; data = "%s"; expect = "allow"; } );\n' \
	"$(printf '11%.0s' $(seq 32))" > "$T/curve.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/curve.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "needs the key's 'ec_order_bits'" "$T/out" || fail "ECDSA data without ec_order_bits: exit $rc: $(cat "$T/out")"
printf 'cases = ( { name = "x"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA"; hash = "SHA256"; ec_order_bits = 256; data = "%s"; expect = "allow"; } );\n' \
	"$(printf '11%.0s' $(seq 32))" > "$T/both.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/both.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "reads the hash and digest from it" "$T/out" || fail "data and hash: exit $rc: $(cat "$T/out")"
printf 'cases = ( { name = "x"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA"; data = "zz"; ec_order_bits = 256; expect = "allow"; } );\n' > "$T/hex.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/hex.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "'data' must be hex" "$T/out" || fail "data not hex: exit $rc: $(cat "$T/out")"
printf 'cases = ( { name = "x"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA"; hash = "SHA256"; ticket = { artifacts = [ "%s" ]; }; expect = "allow"; } );\n' \
	"$(printf 'a%.0s' $(seq 64))" > "$T/nodigest.cases"
set +e
"$TOOL" test "$T/c.conf" "$T/nodigest.cases" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 2 ] && grep -q "the ticket lists artifacts: give the digest signed" "$T/out" || fail "artifacts without a digest: exit $rc: $(cat "$T/out")"
# The data decided: a 32-byte ECDSA input on P-256 is SHA-256 (allowed),
# 20 bytes are SHA-1, which the key's default hashes do not allow.
cat > "$T/data.cases" <<CASES
cases = (
  { name = "ECDSA over a SHA-256 digest"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA";
    data = "$(printf '5a%.0s' $(seq 32))"; ec_order_bits = 256; at = "2026-06-03T12:00:00Z";
    expect = "allow"; rule = "devs-sign"; },
  { name = "ECDSA over a SHA-1 digest"; caller = { uid = 4300; }; key = "k"; mechanism = "ECDSA";
    data = "$(printf '5a%.0s' $(seq 20))"; ec_order_bits = 256; at = "2026-06-03T12:00:00Z";
    expect = "deny"; reason = "hash-forbidden"; rule = "devs-sign"; }
);
CASES
"$TOOL" test "$T/c.conf" "$T/data.cases" > "$T/out" 2>&1 || fail "ECDSA data cases: $(cat "$T/out")"
grep -qx '2 passed, 0 failed' "$T/out" || fail "ECDSA data summary: $(cat "$T/out")"
echo "ok: malformed cases files refused"

# Pipes for both (process substitution).
"$TOOL" test <(cat "$T/c.conf") <(cat "$T/ok.cases") > "$T/out" || fail "pipes: $(cat "$T/out")"
grep -qx '1 passed, 0 failed' "$T/out" || fail "pipes summary"
echo "PASS"

#!/bin/bash
# signgate audit --to-cases: decisions recorded by the module (pkcs11-tool
# through signgate, a real rsyslogd) become cases that `signgate test`
# reproduces with the config that was in force; against a config that
# takes the signer's role away, the allowed ones fail.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"

conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
printf 'signgate test data\n' > "$SG_TMP/data"
openssl dgst -sha256 -binary "$SG_TMP/data" > "$SG_TMP/h256"
openssl dgst -sha1 -binary "$SG_TMP/data" > "$SG_TMP/h1"
{ printf '\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14'; cat "$SG_TMP/h1"; } > "$SG_TMP/di1"
sg_rsyslog_start
me=$(id -u)

# test-rsa is governed (quota of 2 per caller); test-ec is not.
policy() {
	sg_config "$1" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
roles = ( { name = \"signers\"; users = [ $2 ]; } );
keys = ( { name = \"test-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; label = \"$SG_RSA_LABEL\";
  fingerprint = \"sha256:$SG_RSA_FP\"; products = [ \"app\" ];
  mechanisms = [ \"RSA-PKCS\", \"SHA256-RSA-PKCS\" ]; } );
rules = ( { name = \"sign-rsa\"; roles = [ \"signers\" ]; keys = [ \"test-rsa\" ];
  quota = { count = 2; period = \"1d\"; }; } );"
}
policy "$conf" "$me"

# sign MECH ID INPUT: through the module; true when a signature came back
sign() {
	rm -f "$SG_TMP/sig"
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin anything \
		--sign --id "$2" -m "$1" -i "$3" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1 && [ -s "$SG_TMP/sig" ]
}
sign SHA256-RSA-PKCS "$SG_RSA_ID" "$SG_TMP/data" || sg_fail "first signature refused: $(cat "$SG_TMP/out")"
sign RSA-X-509 "$SG_RSA_ID" "$SG_TMP/data" && sg_fail "RSA-X-509 allowed"
sign RSA-PKCS "$SG_RSA_ID" "$SG_TMP/di1" && sg_fail "SHA-1 DigestInfo allowed"
sign ECDSA "$SG_EC_ID" "$SG_TMP/h256" && sg_fail "ungoverned key allowed"
sign SHA256-RSA-PKCS "$SG_RSA_ID" "$SG_TMP/data" || sg_fail "second signature refused: $(cat "$SG_TMP/out")"
sign SHA256-RSA-PKCS "$SG_RSA_ID" "$SG_TMP/data" && sg_fail "quota of 2 not enforced"
sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 2 5 || sg_fail "allowed records missing"
for r in mechanism-forbidden hash-forbidden key-ungoverned quota-exhausted; do
	sg_rsyslog_wait_for "\"outcome\":\"deny\",\"reason\":\"$r\"" 1 5 || sg_fail "no $r record"
done
n_records=$(grep -cE '"event":"sign","outcome":"(allow|deny)"' "$SG_AUDIT_LOG")
# pkcs11-tool retries a refused C_Sign in parts; the inspector refuses a raw
# mechanism's part as data-malformed, a runtime-only reason that no case can
# reproduce: --to-cases skips those records (and says so)
n_runtime=$(grep -cE '"event":"sign","outcome":"deny","reason":"(data-malformed|operation-blocked|operation-not-initialized|hash-disguised|hash-truncated)"' "$SG_AUDIT_LOG" || true)
n_records=$((n_records - n_runtime))

"$SG_TOOL" audit --to-cases "$SG_TMP/recorded.cases" "$SG_AUDIT_LOG" 2> "$SG_TMP/tc.err" ||
	sg_fail "--to-cases: $(cat "$SG_TMP/tc.err")"
cat "$SG_TMP/tc.err"
n_cases=$(grep -c '^    expect = ' "$SG_TMP/recorded.cases")
[ "$n_cases" -eq "$n_records" ] || sg_fail "$n_records sign records, $n_cases cases"

set +e
"$SG_TOOL" test --junit "$SG_TMP/junit.xml" "$conf" "$SG_TMP/recorded.cases" > "$SG_TMP/test.out" 2>&1
rc=$?
set -e
cat "$SG_TMP/test.out"
[ $rc -eq 0 ] || sg_fail "recorded decisions not reproduced (exit $rc): $(cat "$SG_TMP/recorded.cases")"
grep -qx "$n_cases passed, 0 failed" "$SG_TMP/test.out" || sg_fail "summary"
for r in allowed mechanism-forbidden hash-forbidden key-ungoverned quota-exhausted; do
	grep -qE "^ok    .*: (allow|deny) $r" "$SG_TMP/test.out" || sg_fail "no reproduced $r"
done
echo "ok: $n_cases recorded decisions reproduced"

# The same cases against a config where the signer is no longer in the
# role: the recorded allows (and the quota denial) now fail.
policy "$SG_TMP/changed.conf" 4242
set +e
"$SG_TOOL" test "$SG_TMP/changed.conf" "$SG_TMP/recorded.cases" > "$SG_TMP/test2.out" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || sg_fail "changed config: exit $rc: $(cat "$SG_TMP/test2.out")"
[ "$(grep -c '^FAIL .*expected allow, got deny no-role' "$SG_TMP/test2.out")" -eq 2 ] ||
	sg_fail "the two recorded allows should now fail with no-role: $(cat "$SG_TMP/test2.out")"
echo "ok: a changed config shows which recorded decisions it changes"
sg_pass

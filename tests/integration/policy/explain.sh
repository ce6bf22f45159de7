#!/bin/bash
# signgate explain: the module's engine on a caller made from names.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

C=$SG_TMP/signgate.conf
me=$(id -un)
sg_config "$C" "$(sg_allow_policy)"

run() {  # run EXPECTED_RC ARGS...: output in $out
	local want=$1 rc
	shift
	set +e
	out=$("$SG_TOOL" explain --config "$C" "$@" 2>&1)
	rc=$?
	set -e
	[ $rc -eq "$want" ] || sg_fail "explain $*: exit $rc, expected $want: $out"
}

run 0 --user "$me" --key test-rsa --mechanism SHA256-RSA-PKCS
grep -q '^decision:  allow' <<<"$out" || sg_fail "no allow: $out"
grep -q '^rule:      testers-sign' <<<"$out" || sg_fail "rule: $out"
grep -q '^role:      testers' <<<"$out" || sg_fail "role: $out"
echo "ok: allow"

run 1 --user nobody --key test-rsa --mechanism SHA256-RSA-PKCS
grep -q '^reason:    no-role' <<<"$out" || sg_fail "no-role: $out"
echo "ok: no-role"

run 1 --user "$me" --key test-rsa --mechanism RSA-X-509
grep -q '^reason:    mechanism-forbidden' <<<"$out" || sg_fail "mechanism: $out"
echo "ok: mechanism-forbidden"

run 1 --user "$me" --key test-rsa --mechanism RSA-PKCS --hash SHA1
grep -q '^reason:    hash-forbidden' <<<"$out" || sg_fail "hash: $out"
echo "ok: hash-forbidden"

run 1 --user "$me" --key not-a-key --mechanism ECDSA --hash SHA256
grep -q '^reason:    key-ungoverned' <<<"$out" || sg_fail "ungoverned: $out"
echo "ok: key-ungoverned"

run 1 --user "$me" --key - --action admin
grep -q '^reason:    no-admin-capability' <<<"$out" || sg_fail "admin: $out"
echo "ok: no-admin-capability"

# decrypt, unwrap, derive: capabilities of their own.  The key lists
# RSA-PKCS for signing, which grants no decryption.
run 1 --user "$me" --key test-rsa --mechanism RSA-PKCS --action decrypt
grep -q '^reason:    no-decrypt-capability (CK_RV 0x200)' <<<"$out" || sg_fail "decrypt: $out"
run 1 --user "$me" --key test-rsa --mechanism RSA-PKCS --action unwrap
grep -q '^reason:    no-unwrap-capability' <<<"$out" || sg_fail "unwrap: $out"
run 1 --user "$me" --key test-ec --mechanism ECDH1-DERIVE --action derive
grep -q '^reason:    no-derive-capability' <<<"$out" || sg_fail "derive: $out"
run 2 --user "$me" --key test-rsa --action decrypt
run 2 --user "$me" --key test-rsa --mechanism RSA-PKCS --hash SHA256 --action decrypt
sg_config "$C" "roles = ( { name = \"testers\"; users = [ $(id -u) ]; } );
keys = ( { name = \"k\"; token = \"$SG_TOKEN\"; id = \"01\"; mechanisms = [ \"RSA-PKCS\" ];
  decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\" ]; }; } );
rules = ( { name = \"dec\"; roles = [ \"testers\" ]; keys = [ \"k\" ]; decrypt = true;
  quota = { count = 5; period = \"1h\"; }; } );"
run 0 --user "$me" --key k --mechanism RSA-PKCS-OAEP --action decrypt
grep -q '^rule:      dec' <<<"$out" || sg_fail "decrypt rule: $out"
grep -q 'every attempt, failed ones included' <<<"$out" || sg_fail "decrypt quota: $out"
run 1 --user "$me" --key k --mechanism RSA-PKCS --action decrypt
grep -q '^reason:    mechanism-forbidden (CK_RV 0x70)' <<<"$out" || sg_fail "decrypt mechanism: $out"
grep -q 'not allowed for decryption with key k' <<<"$out" || sg_fail "decrypt detail: $out"
echo "ok: decrypt, unwrap, derive"

# time windows and validity dates with --at
sg_config "$C" "roles = ( { name = \"testers\"; users = [ $(id -u) ]; } );
keys = ( { name = \"k\"; token = \"$SG_TOKEN\"; id = \"02\"; mechanisms = [ \"ECDSA\" ];
  not_after = \"2030-01-01T00:00:00Z\"; } );
rules = ( { name = \"office\"; roles = [ \"testers\" ]; keys = [ \"k\" ];
  days = [ \"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\" ]; hours = \"08:00-18:00\"; timezone = \"+01:00\"; } );"
run 0 --user "$me" --key k --mechanism ECDSA --hash SHA256 --at 2026-06-03T10:00:00Z
run 1 --user "$me" --key k --mechanism ECDSA --hash SHA256 --at 2026-06-03T17:30:00Z
grep -q '^reason:    outside-window' <<<"$out" || sg_fail "window: $out"
run 1 --user "$me" --key k --mechanism ECDSA --hash SHA256 --at 2026-06-06T10:00:00Z
grep -q '^reason:    outside-window' <<<"$out" || sg_fail "weekend: $out"
run 1 --user "$me" --key k --mechanism ECDSA --hash SHA256 --at 2030-06-03T10:00:00Z
grep -q '^reason:    key-expired' <<<"$out" || sg_fail "expired: $out"
echo "ok: windows and dates"

run 2 --user "$me" --key k --mechanism NOPE
sg_pass

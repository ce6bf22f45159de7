#!/bin/bash
# Policy through the module with a real client: one case per run.
# Usage: denials.sh CASE.  Each case writes a policy, signs with
# pkcs11-tool through signgate, and asserts the outcome, the CKR code
# the tool reports and the reason in the audit record (a real rsyslogd).
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"

case_name=${1:?case}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
printf 'signgate test data\n' > "$SG_TMP/data"
sg_rsyslog_start

audit_section="audit = { required = true; socket = \"$SG_LOG_SOCK\"; };"
me=$(id -u)
mygroup=$(id -gn)
tool=$(readlink -f "$(command -v pkcs11-tool)")

# key NAME ID LABEL FP [EXTRA]: a governed key with the usual mechanisms.
key() {
	printf '{ name = "%s"; token = "%s"; id = "%s"; label = "%s"; fingerprint = "sha256:%s"; products = [ "app" ];
	  mechanisms = [ "RSA-PKCS", "SHA256-RSA-PKCS", "SHA256-RSA-PKCS-PSS", "ECDSA" ]; hashes = [ "SHA256", "SHA384", "SHA512" ]; %s }' \
		"$1" "$SG_TOKEN" "$2" "$3" "$4" "${5:-}"
}
rsa_key() { key test-rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" "${1:-}"; }
ec_key() { key test-ec "$SG_EC_ID" "$SG_EC_LABEL" "$SG_EC_FP" "${1:-}"; }

# policy ROLE_BODY KEYS RULE_BODY
policy() {
	sg_config "$conf" "$audit_section
roles = ( { name = \"signers\"; $1 } );
keys = ( $2 );
rules = ( { name = \"sign-rule\"; roles = [ \"signers\" ]; $3 } );"
}

# sign MECH ID [PIN]: sign through the module; output in $SG_TMP/out
sign() {
	local mech=$1 id=$2 pin=${3:-anything}
	local input="$SG_TMP/data"
	if [ "$mech" = RSA-PKCS ] || [ "$mech" = ECDSA ]; then
		openssl dgst -sha256 -binary "$SG_TMP/data" > "$SG_TMP/hash"
		input="$SG_TMP/hash"
		if [ "$mech" = RSA-PKCS ]; then
			# DigestInfo for SHA-256
			{ printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'; cat "$SG_TMP/hash"; } > "$SG_TMP/di"
			input="$SG_TMP/di"
		fi
	fi
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$pin" \
		--sign --id "$id" -m "$mech" -i "$input" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1
}

expect_allowed() {
	sign "$@" || sg_fail "signing was refused: $(cat "$SG_TMP/out")"
	[ -s "$SG_TMP/sig" ] || sg_fail "no signature written"
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 1 5 || sg_fail "no allow record: $(cat "$SG_AUDIT_LOG")"
}

# expect_denied CKR REASON MECH ID [PIN]
expect_denied() {
	local ckr=$1 reason=$2
	shift 2
	rm -f "$SG_TMP/sig"
	if sign "$@"; then
		sg_fail "$case_name: signing was allowed, expected $ckr"
	fi
	# opensc 0.23 names some codes only by number
	local hex
	case "$ckr" in
	CKR_FUNCTION_REJECTED) hex=0x200 ;;
	CKR_MECHANISM_INVALID) hex=0x70 ;;
	CKR_PIN_INCORRECT) hex=0xa0 ;;
	*) hex=$ckr ;;
	esac
	grep -qE "$ckr|\($hex\)" "$SG_TMP/out" || sg_fail "$case_name: expected $ckr, tool said: $(cat "$SG_TMP/out")"
	[ ! -s "$SG_TMP/sig" ] || sg_fail "$case_name: a signature was written"
	sg_rsyslog_wait_for "\"outcome\":\"deny\",\"reason\":\"$reason\"" 1 5 ||
		sg_fail "$case_name: no deny record with reason $reason in: $(grep -o '"outcome.*' "$SG_AUDIT_LOG" | cut -c1-200)"
	echo "denied as expected: $ckr, reason $reason"
}

hour=$(date -u +%H); hour=$((10#$hour))
if [ "$hour" -le 20 ]; then
	win_out=$(printf '%02d:00-%02d:00' $((hour + 2)) $((hour + 3)))
else
	win_out="01:00-02:00"
fi
# The allowed window reaches an hour either side of now, so that a test
# run across the full hour still falls inside it.
win_in=$(printf '%02d:00-%02d:59' $((hour > 0 ? hour - 1 : 0)) $((hour < 23 ? hour + 1 : 23)))
today=$(date -u +%a)

case "$case_name" in
allowed)
	policy "users = [ $me ];" "$(rsa_key), $(ec_key)" 'keys = [ "test-rsa", "test-ec" ];'
	expect_allowed SHA256-RSA-PKCS "$SG_RSA_ID"
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sig" "$SG_TMP/data" >/dev/null ||
		sg_fail "signature does not verify"
	;;
no-role)
	policy "users = [ 65534 ];" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED no-role SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
group)
	policy "groups = [ \"$mygroup\" ];" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_allowed SHA256-RSA-PKCS "$SG_RSA_ID"
	policy 'groups = [ "nogroup" ];' "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED no-role SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
program)
	policy "users = [ $me ]; programs = ( { path = \"$tool\"; } );" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_allowed SHA256-RSA-PKCS "$SG_RSA_ID"
	policy "users = [ $me ]; programs = ( { path = \"/usr/bin/true\"; } );" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED no-role SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
key-outside-rule)
	policy "users = [ $me ];" "$(rsa_key), $(ec_key)" 'keys = [ "test-ec" ];'
	expect_denied CKR_FUNCTION_REJECTED no-rule SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
ungoverned)
	policy "users = [ $me ];" "$(ec_key)" 'keys = [ "test-ec" ];'
	expect_denied CKR_FUNCTION_REJECTED key-ungoverned SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
lookalike)
	# The policy names the RSA key's ID and label with the EC key's
	# fingerprint: the token's key with that ID is a look-alike.
	policy "users = [ $me ];" "$(key test-rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_EC_FP")" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED key-mismatch SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
mechanism-x509)
	policy "users = [ $me ];" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	head -c 256 /dev/zero > "$SG_TMP/data"
	expect_denied CKR_MECHANISM_INVALID mechanism-forbidden RSA-X-509 "$SG_RSA_ID"
	;;
mechanism-sha1)
	policy "users = [ $me ];" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_denied CKR_MECHANISM_INVALID mechanism-forbidden SHA1-RSA-PKCS "$SG_RSA_ID"
	;;
hash-sha1-digestinfo)
	policy "users = [ $me ];" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	openssl dgst -sha1 -binary "$SG_TMP/data" > "$SG_TMP/h1"
	{ printf '\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14'; cat "$SG_TMP/h1"; } > "$SG_TMP/di1"
	rm -f "$SG_TMP/sig"
	if pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin x --sign --id "$SG_RSA_ID" \
		-m RSA-PKCS -i "$SG_TMP/di1" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1; then
		sg_fail "SHA-1 DigestInfo was signed"
	fi
	sg_rsyslog_wait_for '"outcome":"deny","reason":"hash-forbidden"' 1 5 || sg_fail "no hash-forbidden record"
	# pkcs11-tool retries the refused C_Sign as C_SignUpdate: each record
	# names its own call, never two that both say C_Sign
	sg_rsyslog_wait_for '"outcome":"deny".*"op":"C_SignUpdate"' 1 5 ||
		sg_fail "the retry's record does not name C_SignUpdate: $(grep '"outcome":"deny"' "$SG_AUDIT_LOG")"
	n=$(grep '"outcome":"deny"' "$SG_AUDIT_LOG" | grep -c '"op":"C_Sign"' || true)
	[ "$n" = 1 ] || sg_fail "$n deny records say C_Sign, expected 1"
	;;
revoked)
	policy "users = [ $me ];" "$(rsa_key 'revoked = true; revoked_reason = "key leaked";')" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED key-revoked SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
expired)
	policy "users = [ $me ];" "$(rsa_key 'not_after = "2020-01-01T00:00:00Z";')" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED key-expired SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
not-yet-valid)
	policy "users = [ $me ];" "$(rsa_key 'not_before = "2099-01-01T00:00:00Z";')" 'keys = [ "test-rsa" ];'
	expect_denied CKR_FUNCTION_REJECTED key-not-yet-valid SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
window)
	policy "users = [ $me ];" "$(rsa_key)" "keys = [ \"test-rsa\" ]; days = [ \"$today\" ]; hours = \"$win_in\"; timezone = \"+00:00\";"
	expect_allowed SHA256-RSA-PKCS "$SG_RSA_ID"
	policy "users = [ $me ];" "$(rsa_key)" "keys = [ \"test-rsa\" ]; hours = \"$win_out\"; timezone = \"+00:00\";"
	expect_denied CKR_FUNCTION_REJECTED outside-window SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
quota)
	# Two processes at once share one quota of one signature: exactly one
	# signs; a third, later, is refused too.
	policy "users = [ $me ];" "$(rsa_key)" 'keys = [ "test-rsa" ]; quota = { count = 1; period = "1d"; per = "rule"; };'
	ok=0
	for i in 1 2; do
		pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin x --sign --id "$SG_RSA_ID" \
			-m SHA256-RSA-PKCS -i "$SG_TMP/data" -o "$SG_TMP/sig$i" >"$SG_TMP/out$i" 2>&1 &
	done
	for i in 1 2; do wait -n && ok=$((ok + 1)) || true; done
	[ "$ok" = 1 ] || sg_fail "expected exactly one of two concurrent signatures, got $ok"
	expect_denied CKR_FUNCTION_REJECTED quota-exhausted SHA256-RSA-PKCS "$SG_RSA_ID"
	;;
credential)
	hash=$(printf 's3cret' | "$SG_TOOL" credential hash) || sg_fail "signgate credential hash failed"
	policy "users = [ $me ]; credential = \"$hash\";" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	if sign SHA256-RSA-PKCS "$SG_RSA_ID" wrong; then sg_fail "wrong credential accepted"; fi
	grep -qE 'CKR_PIN_INCORRECT|\(0xa0\)' "$SG_TMP/out" || sg_fail "expected CKR_PIN_INCORRECT: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for '"outcome":"deny","reason":"bad-credential"' 1 5 || sg_fail "no bad-credential record"
	expect_allowed SHA256-RSA-PKCS "$SG_RSA_ID" s3cret
	;;
invalid-config)
	# A config that stops being valid denies everything until fixed.
	policy "users = [ $me ];" "$(rsa_key)" 'keys = [ "test-rsa" ];'
	expect_allowed SHA256-RSA-PKCS "$SG_RSA_ID"
	echo 'rules = ( { name = "x"; roles = [ "nobody-role" ]; } );' >> "$conf"
	if sign SHA256-RSA-PKCS "$SG_RSA_ID"; then sg_fail "signed with an invalid config"; fi
	grep -q "$conf:" "$SG_TMP/out" || sg_fail "no file:line message: $(cat "$SG_TMP/out")"
	;;
*)
	sg_fail "unknown case $case_name"
	;;
esac
sg_pass "$case_name"

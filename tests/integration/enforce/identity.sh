#!/bin/bash
# Key identity, duplicated template attributes and handles of another
# token (issue 12, defects 3 and 4): runs identity CASE through the module
# on the fixture's token, then checks the audit records (a real rsyslogd)
# and the token's own state, read directly from SoftHSM.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
prog=${1:?identity binary} case_name=${2:?case}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_SOFTHSM SG_USER_PIN
export SG_EC_PUB_DER="$SG_KEYS/ec.pub.der"
sg_rsyslog_start

direct() { pkcs11-tool --module "$SG_SOFTHSM" --token-label "${TOK:-$SG_TOKEN}" --login --pin "$SG_USER_PIN" "$@"; }
# An ungoverned EC key pair, made on the token directly (not through signgate).
direct --keypairgen --key-type EC:prime256v1 --id 33 --label loose >/dev/null 2>&1 ||
	sg_fail "could not make the ungoverned key"

admin=""
case "$case_name" in
ec-relabel|other-token)
	admin=', { name = "admins"; roles = [ "testers" ]; all_keys = true; admin = true; sign = false; }' ;;
ec-planted)
	# A second key pair with the governed CKA_ID, planted directly.
	direct --keypairgen --key-type EC:prime256v1 --id 02 --label planted >/dev/null 2>&1 ||
		sg_fail "could not plant the look-alike"
	;;
esac
sg_config "$conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
$(sg_allow_policy | sed '/^rules/d')
rules = ( { name = \"testers-sign\"; roles = [ \"testers\" ]; keys = [ \"test-rsa\", \"test-ec\" ]; }$admin );"

if [ "$case_name" = other-token ]; then
	export SG_TOKEN_B=signgate-b
	softhsm2-util --init-token --free --label "$SG_TOKEN_B" --so-pin "$SG_SO_PIN" \
		--pin "$SG_USER_PIN" >/dev/null
	sed -i "s|tokens = \[ \"$SG_TOKEN\" \];|tokens = [ \"$SG_TOKEN\", \"$SG_TOKEN_B\" ];|" "$conf"
	grep -q "$SG_TOKEN_B" "$conf" || sg_fail "could not add the second token to the config"
fi

"$prog" "$case_name" || sg_fail "$case_name: see above"

# expect_record OUTCOME REASON OP [COUNT]
expect_record() {
	sg_rsyslog_wait_for "\"outcome\":\"$1\",\"reason\":\"$2\".*\"op\":\"$3\"" "${4:-1}" 5 ||
		sg_fail "$case_name: no $1 record with reason $2 for $3 in: $(grep -o '"outcome.*' "$SG_AUDIT_LOG" | cut -c1-300)"
}
# The ungoverned key's CKA_ID, read from SoftHSM itself.
loose_ids() { direct --list-objects --type privkey 2>/dev/null | awk '/label:/{l=$2} /ID:/{if (l=="loose") print $2}'; }

case "$case_name" in
dup-set)
	expect_record deny template-duplicate C_SetAttributeValue 2
	expect_record deny no-admin-capability C_SetAttributeValue
	[ "$(loose_ids)" = 33 ] || sg_fail "the ungoverned key's ID changed: $(loose_ids)"
	;;
dup-create)
	expect_record deny template-duplicate C_CreateObject
	direct --list-objects --type data 2>/dev/null | grep -q . && sg_fail "a data object was created"
	;;
dup-copy)
	expect_record deny template-duplicate C_CopyObject
	n=$(direct --list-objects --type privkey 2>/dev/null | grep -c 'Private Key Object')
	[ "$n" = 3 ] || sg_fail "expected 3 private keys on the token, found $n"
	;;
dup-generate)
	expect_record deny template-duplicate C_GenerateKey 2
	n=$(direct --list-objects --type privkey 2>/dev/null | grep -c 'Private Key Object')
	[ "$n" = 3 ] || sg_fail "expected 3 private keys on the token, found $n"
	;;
dup-find)
	;;
ec-relabel)
	expect_record allow allowed C_SetAttributeValue
	expect_record deny key-mismatch C_SignInit 2
	sg_rsyslog_wait_for '"outcome":"allow".*"key":"test-ec".*"op":"C_Sign"' 2 5 ||
		sg_fail "the governed key's signatures were not recorded under its name"
	grep '"outcome":"deny","reason":"key-mismatch"' "$SG_AUDIT_LOG" | grep -q '"key":"test-ec"' &&
		sg_fail "the look-alike was recorded under the governed key's name"
	;;
ec-planted)
	expect_record deny key-mismatch C_SignInit
	sg_rsyslog_wait_for '"outcome":"allow".*"key":"test-ec".*"op":"C_Sign"' 2 5 ||
		sg_fail "the governed key did not sign after a public key was planted"
	;;
other-token)
	expect_record deny key-other-token C_SetAttributeValue
	expect_record deny key-other-token C_CopyObject
	expect_record deny key-other-token C_DestroyObject 2
	expect_record deny key-other-token C_SignInit 2
	out=$(direct --list-objects 2>/dev/null)
	[ "$(grep -c 'label: *ec-release' <<<"$out")" = 3 ] ||
		sg_fail "the governed EC key's objects changed on token A: $out"
	grep -q 'label: *moved' <<<"$out" && sg_fail "an object was relabelled"
	out_b=$(TOK=$SG_TOKEN_B direct --list-objects 2>/dev/null)
	grep -q 'Object' <<<"$out_b" && sg_fail "an object appeared on token B: $out_b"
	;;
set-pki)
	expect_record deny no-admin-capability C_SetAttributeValue
	expect_record deny key-mismatch C_SignInit
	sg_rsyslog_wait_for '"outcome":"allow".*"key":"test-ec".*"op":"C_Sign"' 1 5 ||
		sg_fail "the governed key did not sign"
	;;
proof-cost)
	;;
esac
sg_pass "$case_name"

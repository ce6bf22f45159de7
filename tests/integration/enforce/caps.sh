#!/bin/bash
# Decrypt, unwrap and derive capabilities through the module on a real
# SoftHSM token, with a real rsyslogd: caps.sh CAPS_BINARY CASE [BACKEND30].
# Writes the policy for CASE, runs the calls (caps.c asserts the CKR
# codes) and checks the audit records: reason, operation, mechanism and,
# for attempts the token failed, the token's CKR.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
caps=${1:?caps binary} case_name=${2:?case}
backend30=${3:-}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_USER_PIN SG_SOFTHSM
sg_rsyslog_start

# key NAME ID LABEL FP MECHS [EXTRA]
key() {
	printf '{ name = "%s"; token = "%s"; id = "%s"; label = "%s"; fingerprint = "sha256:%s";
	  mechanisms = [ %s ]; %s }' "$1" "$SG_TOKEN" "$2" "$3" "$4" "$5" "${6:-}"
}
signing='"RSA-PKCS", "RSA-X-509", "SHA256-RSA-PKCS", "ECDSA"'
# policy RSA_EXTRA EC_EXTRA RULE_EXTRA
policy() {
	sg_config "$conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
roles = ( { name = \"testers\"; users = [ $(id -u) ]; } );
keys = ( $(key test-rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" "$signing" "$1"),
         $(key test-ec "$SG_EC_ID" "$SG_EC_LABEL" "$SG_EC_FP" '"ECDSA"' "$2") );
rules = ( { name = \"testers\"; roles = [ \"testers\" ]; keys = [ \"test-rsa\", \"test-ec\" ]; $3 } );"
	if [ -n "$backend30" ]; then
		sed -i "s|module = \"$SG_SOFTHSM\"|module = \"$backend30\"|" "$conf"
	fi
}

# records PATTERN COUNT: exactly COUNT audit records match the ERE
records() {
	local pattern=$1 want=$2 n
	sg_rsyslog_wait_for "$pattern" "$want" 5 >/dev/null 2>&1 || true
	n=$(grep -Ec -- "$pattern" "$SG_AUDIT_LOG" 2>/dev/null || true)
	[ "${n:-0}" = "$want" ] ||
		sg_fail "$case_name: $want record(s) matching $pattern expected, found ${n:-0}:
$(grep -o '"outcome.*' "$SG_AUDIT_LOG" | cut -c1-400)"
}
# The fields of a key-use record, in the order the JSON writer puts them.
deny() { echo "\"outcome\":\"deny\",\"reason\":\"$1\".*\"mechanism\":\"$2\".*\"ckr\":\"$3\".*\"op\":\"$4\""; }
allow() { echo "\"outcome\":\"allow\",\"reason\":\"allowed\".*\"mechanism\":\"$1\".*\"ckr\":\"0x00000000\".*\"op\":\"$2\""; }
ckr_of() { sed -n "s/^ckr $1 //p" "$SG_TMP/run.out"; }

run() {
	"$caps" "$case_name" >"$SG_TMP/run.out" 2>&1 || sg_fail "$(cat "$SG_TMP/run.out")"
	cat "$SG_TMP/run.out"
}

rejected=0x00000200 mech_invalid=0x00000070
case "$case_name" in
decrypt-signing-key)
	# The Bleichenbacher regression: the key signs with RSA-PKCS (and
	# raw RSA); nothing grants decryption.  A (failed) decryption is
	# refused before the token sees it, and recorded.
	policy "" "" ""
	run
	records "$(deny no-decrypt-capability CKM_RSA_PKCS $rejected C_DecryptInit)" 1
	records "$(deny no-decrypt-capability CKM_RSA_X_509 $rejected C_DecryptInit)" 1
	# the C_Decrypt calls never reach the token: signgate answers them
	# (no operation it tracks) and records that, nothing else
	records '"op":"C_Decrypt"' 2
	records '"outcome":"deny","reason":"operation-not-initialized".*"ckr":"0x00000091".*"op":"C_Decrypt"' 2
	records "$(allow CKM_RSA_PKCS C_Sign)" 1
	;;
decrypt-mechanism)
	policy 'decrypt = { mechanisms = [ "RSA-PKCS-OAEP" ]; };' "" "decrypt = true;"
	run
	records "$(deny mechanism-forbidden CKM_RSA_PKCS $mech_invalid C_DecryptInit)" 1
	records "$(allow CKM_RSA_PKCS_OAEP C_Decrypt)" 1
	records "$(allow CKM_RSA_PKCS C_Sign)" 1
	;;
decrypt-quota)
	policy 'decrypt = { mechanisms = [ "RSA-PKCS" ]; };' "" \
		'decrypt = true; quota = { count = 5; period = "1d"; per = "rule"; };'
	run
	records "$(allow CKM_RSA_PKCS C_Decrypt)" 2
	# each failure with the code the token gave (SoftHSM: the same for both)
	pad=$(ckr_of bad-padding) len=$(ckr_of bad-length)
	if [ "$pad" = "$len" ]; then
		records "$(deny decrypt-failed CKM_RSA_PKCS "$pad" C_Decrypt)" 2
	else
		records "$(deny decrypt-failed CKM_RSA_PKCS "$pad" C_Decrypt)" 1
		records "$(deny decrypt-failed CKM_RSA_PKCS "$len" C_Decrypt)" 1
	fi
	records '"reason":"decrypt-failed"' 2
	# the failures kept their quota: the next attempt and a length query
	# are refused
	records "$(deny quota-exhausted CKM_RSA_PKCS $rejected C_Decrypt)" 2
	;;
decrypt-multipart)
	policy 'decrypt = { mechanisms = [ "RSA-PKCS" ]; };' "" \
		'decrypt = true; quota = { count = 1; period = "1d"; per = "rule"; };'
	run
	if [ "$(ckr_of multipart)" = 0x00000000 ]; then
		records "$(allow CKM_RSA_PKCS C_Decrypt)" 1
	else
		records "$(deny decrypt-failed CKM_RSA_PKCS "$(ckr_of multipart)" C_Decrypt)" 1
	fi
	records "$(deny quota-exhausted CKM_RSA_PKCS $rejected C_Decrypt)" 1
	;;
decrypt-audit-down)
	policy 'decrypt = { mechanisms = [ "RSA-PKCS" ]; }; unwrap = { mechanisms = [ "RSA-PKCS" ]; };' "" \
		"decrypt = true; unwrap = true;"
	sg_rsyslog_stop
	rm -f "$SG_LOG_SOCK"
	run
	;;
message-decrypt)
	policy 'decrypt = { mechanisms = [ "RSA-PKCS" ]; };' "" "decrypt = true;"
	run
	records "$(deny decrypt-failed CKM_RSA_PKCS "$(ckr_of message)" C_DecryptMessage)" 1
	;;
unwrap-refused)
	# The key may unwrap, but the rule does not grant it.
	policy 'unwrap = { mechanisms = [ "RSA-PKCS" ]; };' "" ""
	run
	records "$(deny no-unwrap-capability CKM_RSA_PKCS $rejected C_UnwrapKey)" 2
	;;
unwrap-granted)
	policy 'unwrap = { mechanisms = [ "RSA-PKCS" ]; };' "" "unwrap = true;"
	run
	records "$(allow CKM_RSA_PKCS C_UnwrapKey)" 1
	records "$(deny unwrap-failed CKM_RSA_PKCS "$(ckr_of unwrap)" C_UnwrapKey)" 1
	records '"event":"admin","outcome":"deny","reason":"no-admin-capability"' 1
	;;
derive-refused)
	# The key may derive, but the rule does not grant it.
	policy "" 'derive = { mechanisms = [ "ECDH1-DERIVE" ]; };' ""
	run
	records "$(deny no-derive-capability CKM_ECDH1_DERIVE $rejected C_DeriveKey)" 1
	;;
derive-granted)
	policy "" 'derive = { mechanisms = [ "ECDH1-DERIVE" ]; };' "derive = true;"
	run
	records "$(allow CKM_ECDH1_DERIVE C_DeriveKey)" 1
	records "$(deny derive-failed CKM_ECDH1_DERIVE "$(ckr_of derive)" C_DeriveKey)" 1
	records "$(deny no-derive-capability CKM_ECDH1_DERIVE $rejected C_DeriveKey)" 1
	;;
*)
	sg_fail "unknown case $case_name"
	;;
esac
sg_pass "$case_name"

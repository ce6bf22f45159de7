#!/bin/bash
# The data inspector through the module on a real SoftHSM token
# (issue 12, defect 1): what the policy says about a hash must be true of
# what the token signs.  One case per run; each asserts the CK_RV that
# pkcs11-tool reports and the reason (and hash) of the audit record
# written to a real rsyslogd, and verifies accepted signatures with
# OpenSSL under the hash the audit names.
#
# Usage: inspect.sh P11SIGN CASE  (P11SIGN: tests/integration/enforce/p11sign.c)
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"

p11sign=${1:?p11sign binary} case_name=${2:?case}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
sg_rsyslog_start
audit_section="audit = { required = true; socket = \"$SG_LOG_SOCK\"; };"
me=$(id -u)
printf 'signgate inspector test data\n' > "$SG_TMP/data"
d="$SG_TMP/data"

# gen_ec CURVE ID LABEL: a fresh EC key pair of CURVE in this test's
# token (made with OpenSSL and imported: opensc 0.23 cannot export a
# P-384 public key it generated); prints the SHA-256 fingerprint of its
# public key and writes $SG_TMP/ID.pub.pem.
gen_ec() {
	local curve=$1 id=$2 label=$3 k="$SG_TMP/$2"
	openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$curve" -out "$k.pem" 2>/dev/null ||
		sg_fail "cannot generate a $curve key"
	openssl pkcs8 -topk8 -nocrypt -in "$k.pem" -outform DER -out "$k.p8"
	openssl pkey -in "$k.pem" -pubout -out "$k.pub.pem"
	openssl pkey -in "$k.pem" -pubout -outform DER -out "$k.pub.der"
	sg_p11 --write-object "$k.p8" --type privkey --id "$id" --label "$label" >/dev/null 2>&1 &&
		sg_p11 --write-object "$k.pub.der" --type pubkey --id "$id" --label "$label" >/dev/null 2>&1 ||
		sg_fail "cannot import the $curve key"
	openssl dgst -sha256 -r "$k.pub.der" | cut -d' ' -f1
}

# key NAME ID LABEL FP MECHS HASHES [EXTRA]
key() {
	printf '{ name = "%s"; token = "%s"; id = "%s"; label = "%s"; fingerprint = "sha256:%s";
	  mechanisms = [ %s ]; hashes = [ %s ]; %s }' "$1" "$SG_TOKEN" "$2" "$3" "$4" "$5" "$6" "${7:-}"
}
all_hashes='"SHA1", "SHA224", "SHA256", "SHA384", "SHA512"'
default_hashes='"SHA256", "SHA384", "SHA512"'

# policy KEYS: the caller may sign with every key listed.
policy() {
	local names
	names=$(printf '%s' "$1" | grep -o 'name = "[^"]*"' | sed 's/name = //' | paste -sd, -)
	sg_config "$conf" "$audit_section
roles = ( { name = \"signers\"; users = [ $me ]; } );
keys = ( $1 );
rules = ( { name = \"sign-rule\"; roles = [ \"signers\" ]; keys = [ $names ]; } );"
}

# sign ID MECH INPUT [HASH MGF-HASH SLEN]: exactly one C_Sign through
# signgate; signature (ECDSA as DER) in $SG_TMP/sig, "rv=0x..." in out
sign() {
	local id=$1 mech=$2 input=$3
	shift 3
	rm -f "$SG_TMP/sig"
	"$p11sign" "$SG_MODULE" "$SG_TOKEN" "$id" "$mech" "$input" "$SG_TMP/sig" "$@" >"$SG_TMP/out" 2>&1
}

# hex2bin: hex digits on stdin -> bytes on stdout
hex2bin() { local h; h=$(tr -d ' \n'); printf '%b' "$(printf '%s' "$h" | sed 's/../\\x&/g')"; }

# Each p11sign run ends with C_Finalize, whose module-stop record is the
# last of that process: waiting for it makes "the records of this run"
# exact even when rsyslogd writes late.
runs=0
records_before=0
wait_runs() {
	local i n
	for i in $(seq 1 200); do
		n=$(grep -c '"event":"module-stop"' "$SG_AUDIT_LOG" 2>/dev/null || true)
		[ "${n:-0}" -ge "$runs" ] && return 0
		sleep 0.05
	done
	sg_fail "$case_name: the records of run $runs did not arrive"
}
mark() {
	wait_runs
	records_before=$(grep -c . "$SG_AUDIT_LOG" 2>/dev/null || true)
	runs=$((runs + 1))
}
# the records written by the last run
new_records() { tail -n +$((records_before + 1)) "$SG_AUDIT_LOG"; }

# expect_denied CKR HEX REASON ID MECH INPUT [PSS params]: refused with
# that code and a deny record with that reason.
expect_denied() {
	local ckr=$1 hex=$2 reason=$3
	shift 3
	mark
	if sign "$@"; then
		sg_fail "$case_name: signed, expected $ckr ($reason)"
	fi
	grep -qx "rv=$(printf '0x%08x' "$hex")" "$SG_TMP/out" ||
		sg_fail "$case_name: expected $ckr ($hex), got: $(cat "$SG_TMP/out")"
	[ ! -s "$SG_TMP/sig" ] || sg_fail "$case_name: a signature was written"
	wait_runs
	LAST_RECORD=$(new_records | grep "\"outcome\":\"deny\",\"reason\":\"$reason\"" | tail -n 1 || true)
	[ -n "$LAST_RECORD" ] ||
		sg_fail "$case_name: no deny record with reason $reason in: $(new_records | grep -o '"outcome.*' | cut -c1-240)"
	echo "denied: $ckr, reason $reason"
}

# expect_allowed HASH ID MECH INPUT [PSS params]: signed, and the allow
# record names HASH.
expect_allowed() {
	local hash=$1
	shift
	mark
	sign "$@" || sg_fail "$case_name: refused: $(cat "$SG_TMP/out")"
	[ -s "$SG_TMP/sig" ] || sg_fail "$case_name: no signature written"
	wait_runs
	LAST_RECORD=$(new_records | grep '"event":"sign","outcome":"allow"' | tail -n 1 || true)
	[ -n "$LAST_RECORD" ] || sg_fail "$case_name: no allow record"
	printf '%s' "$LAST_RECORD" | grep -q "\"hash\":\"$hash\"" ||
		sg_fail "$case_name: allow record does not name $hash: $(printf '%s' "$LAST_RECORD" | grep -o '"mechanism.*' | cut -c1-200)"
	echo "allowed as $hash"
}

no_hash_named() {
	if printf '%s' "$LAST_RECORD" | grep -q '"hash":'; then
		sg_fail "$case_name: the record names a hash the gate did not establish: $LAST_RECORD"
	fi
}

# verify_ec PUBPEM HASH: the ECDSA signature (DER) verifies over data as
# HASH and under no other hash.
verify_only_as() {
	local pub=$1 hash=$2 h
	shift 2
	openssl dgst "-$hash" -verify "$pub" -signature "$SG_TMP/sig" "$@" "$d" >/dev/null 2>&1 ||
		sg_fail "$case_name: signature does not verify as $hash"
	for h in sha1 sha224 sha256 sha384 sha512; do
		[ "$h" = "$hash" ] && continue
		if openssl dgst "-$h" -verify "$pub" -signature "$SG_TMP/sig" "$@" "$d" >/dev/null 2>&1; then
			sg_fail "$case_name: signature also verifies as $h"
		fi
	done
}

ec_p256() { key p256 "$SG_EC_ID" "$SG_EC_LABEL" "$SG_EC_FP" '"ECDSA"' "${1:-$default_hashes}" "${2:-}"; }

case "$case_name" in
ecdsa-disguised-sha1)
	# 12 zero bytes + a SHA-1 digest: 32 bytes, once taken for SHA-256;
	# the signature would verify as ECDSA-SHA1 of the data.
	policy "$(ec_p256)"
	{ head -c 12 /dev/zero; openssl dgst -sha1 -binary "$d"; } > "$SG_TMP/in"
	expect_denied CKR_DATA_INVALID 0x20 hash-disguised "$SG_EC_ID" ECDSA "$SG_TMP/in"
	no_hash_named
	# also with SHA1 listed for the key: a disguised digest is never taken
	policy "$(ec_p256 "$all_hashes")"
	expect_denied CKR_DATA_INVALID 0x20 hash-disguised "$SG_EC_ID" ECDSA "$SG_TMP/in"
	# the SHA-256 digest itself is signed and verifies as SHA-256 only
	openssl dgst -sha256 -binary "$d" > "$SG_TMP/in"
	expect_allowed SHA256 "$SG_EC_ID" ECDSA "$SG_TMP/in"
	printf '%s' "$LAST_RECORD" | grep -q '"hash_basis":"input-length"' || sg_fail "no hash_basis input-length"
	verify_only_as "$SG_EC_PUB" sha256
	;;
ecdsa-p256-sha384)
	# 48 bytes on P-256: the token signs the leftmost 32 only.  A
	# SHA-256 digest + 16 chosen bytes would be a valid ECDSA-SHA256
	# signature of anything.
	policy "$(ec_p256)"
	{ openssl dgst -sha256 -binary "$d"; head -c 16 /dev/urandom; } > "$SG_TMP/in"
	expect_denied CKR_DATA_LEN_RANGE 0x21 hash-truncated "$SG_EC_ID" ECDSA "$SG_TMP/in"
	no_hash_named
	openssl dgst -sha384 -binary "$d" > "$SG_TMP/in384"
	expect_denied CKR_DATA_LEN_RANGE 0x21 hash-truncated "$SG_EC_ID" ECDSA "$SG_TMP/in384"
	# opted in: SHA-384 on this P-256 key
	policy "$(ec_p256 "$default_hashes" 'ecdsa_truncate = [ "SHA384" ];')"
	expect_allowed SHA384 "$SG_EC_ID" ECDSA "$SG_TMP/in384"
	openssl dgst -sha384 -verify "$SG_EC_PUB" -signature "$SG_TMP/sig" "$d" >/dev/null ||
		sg_fail "opted-in SHA-384 signature does not verify"
	# the opt-in is for SHA-384, not SHA-512
	openssl dgst -sha512 -binary "$d" > "$SG_TMP/in512"
	expect_denied CKR_DATA_LEN_RANGE 0x21 hash-truncated "$SG_EC_ID" ECDSA "$SG_TMP/in512"
	# an opt-in for a hash the key does not allow, or on a key without
	# ECDSA, is a config error (it could never take effect)
	policy "$(ec_p256 '"SHA256"' 'ecdsa_truncate = [ "SHA384" ];')"
	if sign "$SG_EC_ID" ECDSA "$SG_TMP/in384"; then sg_fail "config with a bad ecdsa_truncate was used"; fi
	grep -q "$conf:.*ecdsa_truncate.*not in the key's 'hashes'" "$SG_TMP/out" ||
		sg_fail "no file:line message: $(cat "$SG_TMP/out")"
	policy "$(key p256 "$SG_EC_ID" "$SG_EC_LABEL" "$SG_EC_FP" '"ECDSA-SHA384"' "$default_hashes" 'ecdsa_truncate = [ "SHA384" ];')"
	if sign "$SG_EC_ID" ECDSA "$SG_TMP/in384"; then sg_fail "config with a useless ecdsa_truncate was used"; fi
	grep -q "$conf:.*ecdsa_truncate.*does not list mechanism ECDSA" "$SG_TMP/out" ||
		sg_fail "no file:line message: $(cat "$SG_TMP/out")"
	;;
ecdsa-p384)
	fp=$(gen_ec P-384 03 ec384)
	policy "$(key p384 03 ec384 "$fp" '"ECDSA"' "$default_hashes")"
	openssl dgst -sha384 -binary "$d" > "$SG_TMP/in"
	expect_allowed SHA384 03 ECDSA "$SG_TMP/in"
	verify_only_as "$SG_TMP/03.pub.pem" sha384
	openssl dgst -sha256 -binary "$d" > "$SG_TMP/in"
	expect_allowed SHA256 03 ECDSA "$SG_TMP/in"
	verify_only_as "$SG_TMP/03.pub.pem" sha256
	# 16 zero bytes + SHA-256 as "SHA-384"
	{ head -c 16 /dev/zero; openssl dgst -sha256 -binary "$d"; } > "$SG_TMP/in"
	expect_denied CKR_DATA_INVALID 0x20 hash-disguised 03 ECDSA "$SG_TMP/in"
	no_hash_named
	openssl dgst -sha512 -binary "$d" > "$SG_TMP/in"
	expect_denied CKR_DATA_LEN_RANGE 0x21 hash-truncated 03 ECDSA "$SG_TMP/in"
	;;
ecdsa-p521)
	fp=$(gen_ec P-521 04 ec521)
	policy "$(key p521 04 ec521 "$fp" '"ECDSA"' "$default_hashes")"
	# SHA-512's 64 bytes are shorter than the 521-bit order
	openssl dgst -sha512 -binary "$d" > "$SG_TMP/in"
	expect_allowed SHA512 04 ECDSA "$SG_TMP/in"
	verify_only_as "$SG_TMP/04.pub.pem" sha512
	# 66 bytes (the order's size) are no digest
	{ head -c 2 /dev/urandom; openssl dgst -sha512 -binary "$d"; } > "$SG_TMP/in"
	expect_denied CKR_MECHANISM_INVALID 0x70 hash-forbidden 04 ECDSA "$SG_TMP/in"
	no_hash_named
	# 16 zero bytes + SHA-384 as "SHA-512"
	{ head -c 16 /dev/zero; openssl dgst -sha384 -binary "$d"; } > "$SG_TMP/in"
	expect_denied CKR_DATA_INVALID 0x20 hash-disguised 04 ECDSA "$SG_TMP/in"
	;;
cms-duplicate-digest)
	# CMS signed attributes sent whole to SHA256-RSA-PKCS: one
	# messageDigest binds; two are refused (verifiers disagree on which).
	policy "$(key rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" '"SHA256-RSA-PKCS"' "$default_hashes")"
	ct='301806092a864886f70d010903310b06092a864886f70d010701'
	md1="302f06092a864886f70d01090431220420$(openssl dgst -sha256 -r "$d" | cut -c1-64)"
	md2="302f06092a864886f70d01090431220420$(printf other | openssl dgst -sha256 -r | cut -c1-64)"
	set_of() { # hex parts in DER order -> binary SET
		local body
		body=$(printf '%s\n' "$@" | sort | tr -d '\n')
		printf '31%02x%s' $((${#body} / 2)) "$body" | hex2bin
	}
	set_of "$ct" "$md1" > "$SG_TMP/attrs1"
	expect_allowed SHA256 "$SG_RSA_ID" SHA256-RSA-PKCS "$SG_TMP/attrs1"
	printf '%s' "$LAST_RECORD" | grep -q '"hash_basis":"mechanism"' || sg_fail "no hash_basis mechanism"
	set_of "$ct" "$md1" "$md2" > "$SG_TMP/attrs2"
	expect_denied CKR_DATA_INVALID 0x20 data-malformed "$SG_RSA_ID" SHA256-RSA-PKCS "$SG_TMP/attrs2"
	printf '%s' "$LAST_RECORD" | grep -q 'messageDigest' || sg_fail "detail does not say messageDigest: $LAST_RECORD"
	# and through C_SignUpdate (pkcs11-tool retries the refused C_Sign so)
	mark
	if pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin x --sign --id "$SG_RSA_ID" \
		-m SHA256-RSA-PKCS -i "$SG_TMP/attrs2" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1; then
		sg_fail "two messageDigest attributes were signed through C_SignUpdate"
	fi
	wait_runs
	[ "$(new_records | grep -c '"reason":"data-malformed"')" = 2 ] ||
		sg_fail "C_Sign and the C_SignUpdate retry should both be refused: $(new_records | grep -o '"outcome.*' | cut -c1-200)"
	# the same two, not in DER order
	printf '31%02x%s%s%s' $(((${#ct} + ${#md1} + ${#md2}) / 2)) "$md2" "$md1" "$ct" | hex2bin > "$SG_TMP/attrs3"
	expect_denied CKR_DATA_INVALID 0x20 data-malformed "$SG_RSA_ID" SHA256-RSA-PKCS "$SG_TMP/attrs3"
	;;
digestinfo-strict)
	policy "$(key rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" '"RSA-PKCS"' "$default_hashes")"
	{ printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'; openssl dgst -sha256 -binary "$d"; } > "$SG_TMP/di"
	expect_allowed SHA256 "$SG_RSA_ID" RSA-PKCS "$SG_TMP/di"
	printf '%s' "$LAST_RECORD" | grep -q '"hash_basis":"digestinfo"' || sg_fail "no hash_basis digestinfo"
	verify_only_as "$SG_RSA_PUB" sha256
	# a byte after the DigestInfo
	{ cat "$SG_TMP/di"; printf '\x00'; } > "$SG_TMP/di2"
	expect_denied CKR_DATA_INVALID 0x20 data-malformed "$SG_RSA_ID" RSA-PKCS "$SG_TMP/di2"
	no_hash_named
	# pkcs11-tool retries a refused C_Sign as C_SignUpdate: parts of a
	# raw input are refused too
	mark
	if pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin x --sign --id "$SG_RSA_ID" \
		-m RSA-PKCS -i "$SG_TMP/di2" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1; then
		sg_fail "pkcs11-tool signed a malformed DigestInfo"
	fi
	grep -qE 'C_SignUpdate failed: rv = (CKR_FUNCTION_REJECTED|.*\(0x200\))' "$SG_TMP/out" ||
		sg_fail "expected the C_SignUpdate retry to be refused: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for '"reason":"data-malformed","detail":"a raw mechanism takes its input in one C_Sign"' 1 5 ||
		sg_fail "no record refusing the parts"
	# non-minimal length encoding (BER)
	{ printf '\x30\x81\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'; openssl dgst -sha256 -binary "$d"; } > "$SG_TMP/di3"
	expect_denied CKR_DATA_INVALID 0x20 data-malformed "$SG_RSA_ID" RSA-PKCS "$SG_TMP/di3"
	;;
pss-params)
	policy "$(key rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" '"RSA-PKCS-PSS", "SHA256-RSA-PKCS-PSS"' "$default_hashes")"
	openssl dgst -sha256 -binary "$d" > "$SG_TMP/in"
	expect_allowed SHA256 "$SG_RSA_ID" RSA-PKCS-PSS "$SG_TMP/in" SHA256 SHA256 32
	printf '%s' "$LAST_RECORD" | grep -q '"hash_basis":"pss-params"' || sg_fail "no hash_basis pss-params"
	verify_only_as "$SG_RSA_PUB" sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto
	# MGF1 with another hash than hashAlg
	expect_denied CKR_MECHANISM_PARAM_INVALID 0x71 pss-params-invalid "$SG_RSA_ID" RSA-PKCS-PSS "$SG_TMP/in" \
		SHA256 SHA1 32
	no_hash_named
	# a hashing PSS mechanism with other params
	expect_denied CKR_MECHANISM_PARAM_INVALID 0x71 pss-params-invalid "$SG_RSA_ID" SHA256-RSA-PKCS-PSS "$d" \
		SHA384 SHA384 48
	# raw PSS input of another length than the params' hash
	openssl dgst -sha384 -binary "$d" > "$SG_TMP/in384"
	expect_denied CKR_MECHANISM_INVALID 0x70 hash-forbidden "$SG_RSA_ID" RSA-PKCS-PSS "$SG_TMP/in384" \
		SHA256 SHA256 32
	;;
x509-block)
	# Raw RSA listed: a PKCS#1 v1.5 block is judged by its DigestInfo.
	policy "$(key rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" '"RSA-X-509"' "$default_hashes")"
	block() { # HASH -> a 256-byte EMSA-PKCS1-v1_5 block over data
		local prefix
		case $1 in
		sha1) prefix='3021300906052b0e03021a05000414' ;;
		sha256) prefix='3031300d060960864801650304020105000420' ;;
		esac
		local t="$prefix$(openssl dgst "-$1" -r "$d" | cut -d' ' -f1)"
		local ffs=$((256 - 3 - ${#t} / 2))
		{ printf '0001'; printf 'ff%.0s' $(seq 1 $ffs); printf '00%s' "$t"; } | hex2bin
	}
	block sha256 > "$SG_TMP/b256"
	expect_allowed SHA256 "$SG_RSA_ID" RSA-X-509 "$SG_TMP/b256"
	verify_only_as "$SG_RSA_PUB" sha256
	block sha1 > "$SG_TMP/b1"
	expect_denied CKR_MECHANISM_INVALID 0x70 hash-forbidden "$SG_RSA_ID" RSA-X-509 "$SG_TMP/b1"
	printf '%s' "$LAST_RECORD" | grep -q '"hash":"SHA1","hash_basis":"digestinfo"' ||
		sg_fail "the record does not name SHA1 from the DigestInfo: $LAST_RECORD"
	# too little padding
	{ printf '0001ffffffff00'; openssl dgst -sha256 -r "$d" | cut -d' ' -f1; } | hex2bin > "$SG_TMP/bad"
	expect_denied CKR_DATA_INVALID 0x20 data-malformed "$SG_RSA_ID" RSA-X-509 "$SG_TMP/bad"
	;;
differential)
	# For every input the inspector accepts, the hash the audit reports
	# is the one under which OpenSSL verifies the token's signature, and
	# no other hash verifies it.
	fp384=$(gen_ec P-384 03 ec384)
	fp521=$(gen_ec P-521 04 ec521)
	policy "$(key rsa "$SG_RSA_ID" "$SG_RSA_LABEL" "$SG_RSA_FP" '"RSA-PKCS", "RSA-PKCS-PSS"' "$all_hashes"),
	        $(key p256 "$SG_EC_ID" "$SG_EC_LABEL" "$SG_EC_FP" '"ECDSA"' "$all_hashes"),
	        $(key p384 03 ec384 "$fp384" '"ECDSA"' "$all_hashes"),
	        $(key p521 04 ec521 "$fp521" '"ECDSA"' "$all_hashes")"
	declare -A di_prefix=(
		[sha1]=3021300906052b0e03021a05000414
		[sha224]=302d300d06096086480165030402040500041c
		[sha256]=3031300d060960864801650304020105000420
		[sha384]=3041300d060960864801650304020205000430
		[sha512]=3051300d060960864801650304020305000440)
	reported() { printf '%s' "$LAST_RECORD" | grep -o '"hash":"[A-Z0-9]*"' | cut -d'"' -f4 | tr 'A-Z' 'a-z'; }
	n=0
	for h in sha1 sha224 sha256 sha384 sha512; do
		H=$(printf '%s' "$h" | tr 'a-z' 'A-Z')
		# RSA-PKCS on a DigestInfo
		{ printf '%s' "${di_prefix[$h]}"; openssl dgst "-$h" -r "$d" | cut -d' ' -f1; } | hex2bin > "$SG_TMP/in"
		expect_allowed "$H" "$SG_RSA_ID" RSA-PKCS "$SG_TMP/in"
		verify_only_as "$SG_RSA_PUB" "$(reported)"
		n=$((n + 1))
		# RSA-PKCS-PSS on the bare hash with matching parameters
		openssl dgst "-$h" -binary "$d" > "$SG_TMP/in"
		expect_allowed "$H" "$SG_RSA_ID" RSA-PKCS-PSS "$SG_TMP/in" "$H" "$H" "$(stat -c %s "$SG_TMP/in")"
		verify_only_as "$SG_RSA_PUB" "$(reported)" -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:auto
		n=$((n + 1))
		# raw ECDSA on each curve whose order the digest fits in
		for k in "$SG_EC_ID:$SG_EC_PUB:256" "03:$SG_TMP/03.pub.pem:384" "04:$SG_TMP/04.pub.pem:521"; do
			IFS=: read -r id pub bits <<<"$k"
			[ $(($(stat -c %s "$SG_TMP/in") * 8)) -le "$bits" ] || continue
			# (the data is fixed: none of its digests starts with the
			# zero bytes a disguise check would rightly refuse)
			expect_allowed "$H" "$id" ECDSA "$SG_TMP/in"
			verify_only_as "$pub" "$(reported)"
			n=$((n + 1))
		done
	done
	echo "$n signatures verified under exactly the reported hash"
	[ "$n" = 22 ] || sg_fail "expected 22 cases, ran $n"
	;;
*)
	sg_fail "unknown case $case_name"
	;;
esac
sg_pass "$case_name"

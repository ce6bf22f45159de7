#!/bin/bash
# pkcs11-tool (OpenSC) signs with each mechanism; openssl verifies.
# Route: $1 = direct | signgate (see clients-lib.sh).
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"

d=$SG_TMP/p11tool
mkdir -p "$d"
head -c 3000 /dev/urandom > "$d/data"
openssl dgst -sha256 -binary "$d/data" > "$d/data.sha256"
# DigestInfo(SHA-256) prefix + hash: what CKM_RSA_PKCS signs for a client
# that hashes itself.
{ printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'; cat "$d/data.sha256"; } > "$d/data.di"

p11() { pkcs11-tool --module "$CL_MODULE" --token-label "$SG_TOKEN" --login --pin "$CL_PIN" "$@"; }

# sign_verify MECH ID INPUT VERIFY-CMD... : sign INPUT, then run VERIFY
sign_verify() {
	local mech=$1 id=$2 in=$3; shift 3
	local extra=()
	while [ "$1" != -- ]; do extra+=("$1"); shift; done; shift
	rm -f "$d/sig"
	cl_run "pkcs11-tool --sign -m $mech --id $id ${extra[*]}" \
		p11 --sign --mechanism "$mech" --id "$id" "${extra[@]}" \
		--input-file "$in" --output-file "$d/sig"
	local key=test-rsa; [ "$id" = "$SG_EC_ID" ] && key=test-ec
	cl_audit_expect allow "$mech signature" key="$key"
	cl_run "openssl verifies $mech signature" "$@"
}

sign_verify RSA-PKCS "$SG_RSA_ID" "$d/data.di" -- \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/sig" "$d/data"
sign_verify SHA256-RSA-PKCS "$SG_RSA_ID" "$d/data" -- \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/sig" "$d/data"
sign_verify SHA384-RSA-PKCS "$SG_RSA_ID" "$d/data" -- \
	openssl dgst -sha384 -verify "$SG_RSA_PUB" -signature "$d/sig" "$d/data"
sign_verify SHA256-RSA-PKCS-PSS "$SG_RSA_ID" "$d/data" --mgf MGF1-SHA256 -- \
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2 \
	-verify "$SG_RSA_PUB" -signature "$d/sig" "$d/data"
sign_verify RSA-PKCS-PSS "$SG_RSA_ID" "$d/data.sha256" \
	--hash-algorithm SHA256 --mgf MGF1-SHA256 -- \
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:-2 \
	-verify "$SG_RSA_PUB" -signature "$d/sig" "$d/data"
sign_verify ECDSA "$SG_EC_ID" "$d/data.sha256" --signature-format openssl -- \
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/sig" "$d/data"

# pkcs11-tool takes no pkcs11: URI (opensc 0.23); the URI cases are in
# the other tools.

if [ "$CL_VIA" = signgate ]; then
	# DENIED 1: key outside the role (only the RSA key is in the rule).
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa)"
	cl_must_fail "ECDSA with a key outside the role is refused" \
		p11 --sign --mechanism ECDSA --id "$SG_EC_ID" \
		--input-file "$d/data.sha256" --output-file "$d/sig.denied"
	[ ! -s "$d/sig.denied" ] || sg_fail "a signature was written although refused"
	cl_audit_expect deny "EC signature denied" key=test-ec reason=no-rule
	# DENIED 2: mechanism not allowed for the key.
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa '"RSA-PKCS"')"
	cl_must_fail "SHA384-RSA-PKCS (not in the key's mechanisms) is refused" \
		p11 --sign --mechanism SHA384-RSA-PKCS --id "$SG_RSA_ID" \
		--input-file "$d/data" --output-file "$d/sig.denied"
	cl_audit_expect deny "mechanism denied" key=test-rsa reason=mechanism-forbidden mechanism=CKM_SHA384_RSA_PKCS
	# DENIED 3: SHA-1 inside a DigestInfo when only SHA-2 hashes are allowed.
	{ printf '\x30\x21\x30\x09\x06\x05\x2b\x0e\x03\x02\x1a\x05\x00\x04\x14'; openssl dgst -sha1 -binary "$d/data"; } > "$d/data.di1"
	cl_must_fail "RSA-PKCS over a SHA-1 DigestInfo is refused" \
		p11 --sign --mechanism RSA-PKCS --id "$SG_RSA_ID" \
		--input-file "$d/data.di1" --output-file "$d/sig.denied"
	cl_audit_expect deny "SHA-1 denied" key=test-rsa reason=hash-forbidden hash=SHA1
fi
sg_pass "pkcs11-tool via $CL_VIA"

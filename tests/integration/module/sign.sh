#!/bin/bash
# pkcs11-tool signs through signgate with RSA-PKCS, SHA256-RSA-PKCS,
# SHA256-RSA-PKCS-PSS and ECDSA; openssl verifies with the public keys.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
sg_config "$SG_TMP/signgate.conf" "$(sg_allow_policy)"
export SIGNGATE_CONF=$SG_TMP/signgate.conf
# No PIN needed: the policy has no credential; any PIN does.
p11() { pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin 0000 "$@"; }

data=$SG_TMP/data
head -c 4096 /dev/urandom > "$data"
openssl dgst -sha256 -binary "$data" > "$SG_TMP/hash"
# DigestInfo for SHA-256, then the hash: what RSA-PKCS signs
{ printf '\x30\x31\x30\x0d\x06\x09\x60\x86\x48\x01\x65\x03\x04\x02\x01\x05\x00\x04\x20'; cat "$SG_TMP/hash"; } > "$SG_TMP/digestinfo"

p11 --sign --id "$SG_RSA_ID" -m RSA-PKCS -i "$SG_TMP/digestinfo" -o "$SG_TMP/rsa-pkcs.sig" ||
	sg_fail "RSA-PKCS signing failed"
openssl pkeyutl -verify -pubin -inkey "$SG_RSA_PUB" -pkeyopt digest:sha256 \
	-in "$SG_TMP/hash" -sigfile "$SG_TMP/rsa-pkcs.sig" || sg_fail "RSA-PKCS signature does not verify"

p11 --sign --id "$SG_RSA_ID" -m SHA256-RSA-PKCS -i "$data" -o "$SG_TMP/sha256.sig" ||
	sg_fail "SHA256-RSA-PKCS signing failed"
openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sha256.sig" "$data" ||
	sg_fail "SHA256-RSA-PKCS signature does not verify"

p11 --sign --id "$SG_RSA_ID" -m SHA256-RSA-PKCS-PSS --mgf MGF1-SHA256 \
	--salt-len 32 -i "$data" -o "$SG_TMP/pss.sig" || sg_fail "SHA256-RSA-PKCS-PSS signing failed"
openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
	-sigopt rsa_mgf1_md:sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/pss.sig" "$data" ||
	sg_fail "SHA256-RSA-PKCS-PSS signature does not verify"

p11 --sign --id "$SG_EC_ID" -m ECDSA --signature-format openssl -i "$SG_TMP/hash" \
	-o "$SG_TMP/ec.sig" || sg_fail "ECDSA signing failed"
openssl pkeyutl -verify -pubin -inkey "$SG_EC_PUB" -in "$SG_TMP/hash" -sigfile "$SG_TMP/ec.sig" ||
	sg_fail "ECDSA signature does not verify"

# A signature over other data must not verify (the check is real).
head -c 16 /dev/urandom >> "$data"
if openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sha256.sig" "$data" >/dev/null 2>&1; then
	sg_fail "openssl verified a signature over other data"
fi
sg_pass "four mechanisms signed through signgate and verified by openssl"

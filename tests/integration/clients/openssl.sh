#!/bin/bash
# openssl 3 through the libp11 pkcs11 engine: dgst -sign, pkeyutl -sign,
# cms -sign, each verified by openssl; keys named by RFC 7512 URIs
# (object= and id=).  Route: $1 = direct | signgate.
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"
[ -e "$CL_ENGINE" ] || sg_skip "libp11 engine $CL_ENGINE missing (libengine-pkcs11-openssl)"

d=$SG_TMP/openssl
mkdir -p "$d"
head -c 5000 /dev/urandom > "$d/data"
openssl dgst -sha256 -binary "$d/data" > "$d/data.sha256"
export OPENSSL_CONF="$d/openssl.cnf"
cl_engine_conf "$OPENSSL_CONF" "$CL_MODULE" "$CL_PIN"

eng=(-engine pkcs11 -keyform engine)

# dgst -sign, RSA by label and EC by id
cl_run "openssl dgst -sha256 -sign $CL_URI_RSA" \
	openssl dgst -sha256 "${eng[@]}" -sign "$CL_URI_RSA" -out "$d/rsa.sig" "$d/data"
cl_run "openssl dgst -verify (RSA)" \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/rsa.sig" "$d/data"
cl_run "openssl dgst -sha256 -sign $CL_URI_EC_ID" \
	openssl dgst -sha256 "${eng[@]}" -sign "$CL_URI_EC_ID" -out "$d/ec.sig" "$d/data"
cl_run "openssl dgst -verify (EC)" \
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/ec.sig" "$d/data"
# dgst -sign with PSS padding (engine sends CKM_RSA_PKCS_PSS)
cl_run "openssl dgst -sha256 -sign (RSA-PSS) $CL_URI_RSA_ID" \
	openssl dgst -sha256 "${eng[@]}" -sign "$CL_URI_RSA_ID" \
	-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 -out "$d/pss.sig" "$d/data"
cl_run "openssl dgst -verify (RSA-PSS)" \
	openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 \
	-verify "$SG_RSA_PUB" -signature "$d/pss.sig" "$d/data"

# pkeyutl -sign of a hash
cl_run "openssl pkeyutl -sign (RSA, SHA-256 hash)" \
	openssl pkeyutl -sign "${eng[@]}" -inkey "$CL_URI_RSA" -pkeyopt digest:sha256 \
	-in "$d/data.sha256" -out "$d/pk-rsa.sig"
cl_run "openssl pkeyutl -verify (RSA)" \
	openssl pkeyutl -verify -pubin -inkey "$SG_RSA_PUB" -pkeyopt digest:sha256 \
	-in "$d/data.sha256" -sigfile "$d/pk-rsa.sig"
cl_run "openssl pkeyutl -sign (EC, SHA-256 hash)" \
	openssl pkeyutl -sign "${eng[@]}" -inkey "$CL_URI_EC" \
	-in "$d/data.sha256" -out "$d/pk-ec.sig"
cl_run "openssl pkeyutl -verify (EC)" \
	openssl pkeyutl -verify -pubin -inkey "$SG_EC_PUB" \
	-in "$d/data.sha256" -sigfile "$d/pk-ec.sig"

# cms -sign (detached, DER), RSA and EC; verify with the cert as CA
for k in rsa ec; do
	if [ $k = rsa ]; then uri=$CL_URI_RSA cert=$SG_RSA_CERT; else uri=$CL_URI_EC_ID cert=$SG_EC_CERT; fi
	cl_run "openssl cms -sign ($k, $uri)" \
		openssl cms -sign -binary -md sha256 "${eng[@]}" -inkey "$uri" -signer "$cert" \
		-in "$d/data" -outform DER -out "$d/$k.p7s"
	cl_run "openssl cms -verify ($k)" \
		openssl cms -verify -binary -inform DER -in "$d/$k.p7s" -content "$d/data" \
		-CAfile "$cert" -purpose any -out /dev/null
done
cp "$d/data" "$d/data.tampered"; printf 'x' >> "$d/data.tampered"
cl_must_fail "openssl cms -verify of tampered content fails" \
	openssl cms -verify -binary -inform DER -in "$d/rsa.p7s" -content "$d/data.tampered" \
	-CAfile "$SG_RSA_CERT" -purpose any -out /dev/null

# PKCS11_MODULE_PATH instead of MODULE_PATH in the config (engine default
# module otherwise is p11-kit-proxy)
cl_engine_conf "$d/openssl-env.cnf"
cl_run "openssl dgst -sign with PKCS11_MODULE_PATH and PIN in the URI" \
	env OPENSSL_CONF="$d/openssl-env.cnf" PKCS11_MODULE_PATH="$CL_MODULE" \
	openssl dgst -sha256 "${eng[@]}" -sign "$CL_URI_RSA;pin-value=$CL_PIN" -out "$d/env.sig" "$d/data"
cl_run "openssl dgst -verify (PKCS11_MODULE_PATH)" \
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$d/env.sig" "$d/data"

if [ "$CL_VIA" = signgate ]; then
	# DENIED: the EC key is outside the role.
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa)"
	rm -f "$d/denied.sig"
	cl_must_fail "openssl dgst -sign with the EC key (outside the role) is refused" \
		openssl dgst -sha256 "${eng[@]}" -sign "$CL_URI_EC" -out "$d/denied.sig" "$d/data"
	if [ -s "$d/denied.sig" ] && openssl dgst -sha256 -verify "$SG_EC_PUB" \
		-signature "$d/denied.sig" "$d/data" >/dev/null 2>&1; then
		sg_fail "a valid EC signature was produced although refused"
	fi
	cl_audit_expect deny "EC signature denied" key=test-ec reason=no-rule
	cl_must_fail "openssl cms -sign with the EC key (outside the role) is refused" \
		openssl cms -sign -binary -md sha256 "${eng[@]}" -inkey "$CL_URI_EC" \
		-signer "$SG_EC_CERT" -in "$d/data" -outform DER -out "$d/denied.p7s"
	# DENIED: SHA-1 (not in the key's hashes) through the DigestInfo.
	cl_must_fail "openssl dgst -sha1 -sign (SHA-1 not allowed) is refused" \
		openssl dgst -sha1 "${eng[@]}" -sign "$CL_URI_RSA" -out "$d/denied.sig" "$d/data"
	cl_audit_expect deny "SHA-1 denied" key=test-rsa reason=hash-forbidden hash=SHA1
fi
sg_pass "openssl via $CL_VIA"

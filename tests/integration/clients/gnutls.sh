#!/bin/bash
# GnuTLS: p11tool --list-all and --test-sign (RSA PKCS#1 v1.5, RSA-PSS,
# ECDSA), certtool --p7-detached-sign verified by certtool --p7-verify;
# the module given with --provider (no p11-kit registration needed), the
# PIN in GNUTLS_PIN, keys by pkcs11: URIs (token=, object=, id=).
# Route: $1 = direct | signgate.
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"
for t in p11tool certtool; do
	command -v $t >/dev/null || sg_skip "$t not installed (gnutls-bin)"
done

d=$SG_TMP/gnutls
mkdir -p "$d"
head -c 4000 /dev/urandom > "$d/data"
export GNUTLS_PIN=$CL_PIN
p11t() { p11tool --provider "$CL_MODULE" "$@"; }

cl_run "p11tool --list-all --login pkcs11:token=$SG_TOKEN" p11t --list-all --login "pkcs11:token=$SG_TOKEN"
for want in "id=%01;object=$SG_RSA_LABEL;type=private" "id=%02;object=$SG_EC_LABEL;type=private" \
	"id=%01;object=$SG_RSA_LABEL;type=cert" "id=%02;object=$SG_EC_LABEL;type=public"; do
	echo "$CL_OUT" | grep -q "token=$SG_TOKEN;$want" || { echo "$CL_OUT"; sg_fail "p11tool --list-all lacks $want"; }
done
cl_log "ok: p11tool --list-all shows both keys, their public keys and certificates"

cl_run "p11tool --test-sign RSA (object=$SG_RSA_LABEL)" p11t --login --test-sign "pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL"
echo "$CL_OUT" | grep -q "Verifying against public key in the token... ok" || { echo "$CL_OUT"; sg_fail "RSA test-sign incomplete"; }
cl_run "p11tool --test-sign RSA-PSS (id=%01)" p11t --login --test-sign --sign-params RSA-PSS "pkcs11:token=$SG_TOKEN;id=%01"
echo "$CL_OUT" | grep -q "Signing using RSA-PSS" || { echo "$CL_OUT"; sg_fail "RSA-PSS not used"; }
cl_run "p11tool --test-sign ECDSA (id=%02)" p11t --login --test-sign "pkcs11:token=$SG_TOKEN;id=%02"
echo "$CL_OUT" | grep -q "Verifying against public key in the token... ok" || { echo "$CL_OUT"; sg_fail "EC test-sign incomplete"; }

for k in rsa ec; do
	if [ $k = rsa ]; then uri=$CL_URI_RSA cert=$SG_RSA_CERT; else uri=$CL_URI_EC_ID cert=$SG_EC_CERT; fi
	cl_run "certtool --p7-detached-sign ($k, $uri)" \
		certtool --provider "$CL_MODULE" --p7-detached-sign --hash SHA256 \
		--load-privkey "$uri" --load-certificate "$cert" --infile "$d/data" --outfile "$d/$k.p7"
	# GnuTLS asks for the length first (C_Sign with NULL): still one signature
	cl_audit_count allow 1 "certtool ($k): length query + signature audited once"
	cl_run "certtool --p7-verify ($k)" \
		certtool --p7-verify --infile "$d/$k.p7" --load-data "$d/data" --load-ca-certificate "$cert"
	cl_run "openssl cms -verify of the certtool signature ($k)" \
		openssl cms -verify -binary -inform PEM -in "$d/$k.p7" -content "$d/data" \
		-CAfile "$cert" -purpose any -out /dev/null
done
cp "$d/data" "$d/data.tampered"; printf 'x' >> "$d/data.tampered"
cl_must_fail "certtool --p7-verify of tampered data fails" \
	certtool --p7-verify --infile "$d/rsa.p7" --load-data "$d/data.tampered" --load-ca-certificate "$SG_RSA_CERT"

if [ "$CL_VIA" = signgate ]; then
	# DENIED: the EC key is outside the role.
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa)"
	cl_must_fail "certtool --p7-detached-sign with the EC key (outside the role) is refused" \
		certtool --provider "$CL_MODULE" --p7-detached-sign --hash SHA256 \
		--load-privkey "$CL_URI_EC" --load-certificate "$SG_EC_CERT" --infile "$d/data" --outfile "$d/denied.p7"
	echo "$CL_OUT" | tail -2
	cl_audit_expect deny "EC signature denied" key=test-ec reason=no-rule
	cl_must_fail "p11tool --test-sign RSA-PSS (mechanism not allowed) is refused" \
		p11t --login --test-sign --sign-params RSA-PSS "pkcs11:token=$SG_TOKEN;id=%01"
	cl_audit_expect deny "RSA-PSS denied" key=test-rsa reason=mechanism-forbidden mechanism=CKM_RSA_PKCS_PSS
	cl_run "p11tool --test-sign RSA (allowed under the narrower policy)" \
		p11t --login --test-sign "pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL"
fi
sg_pass "GnuTLS via $CL_VIA"

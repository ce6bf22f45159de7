#!/bin/bash
# jarsigner and keytool through Java's SunPKCS11 provider: a provider
# config names the module and the slot NUMBER (SunPKCS11 cannot select by
# token label, and SoftHSM slot ids change per token, so the test looks
# it up with pkcs11-tool -L through the same module); keytool -list shows
# the aliases; a jar is signed with the RSA and the EC key and verified
# with jarsigner -verify -strict.  Route: $1 = direct | signgate.
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"
for t in jarsigner keytool jar; do
	command -v $t >/dev/null || sg_skip "$t not installed (openjdk)"
done

d=$SG_TMP/java
mkdir -p "$d/src/com/example"

# cl_slot_of MODULE LABEL: the decimal slot id holding token LABEL
cl_slot_of() {
	local hex
	hex=$(pkcs11-tool --module "$1" -L 2>/dev/null | awk -v want="$2" '
		/^Slot [0-9]+ \(0x[0-9a-f]+\)/ { id = $3; gsub(/[():]/, "", id) }
		/token label *:/ { sub(/.*token label *: */, ""); if ($0 == want) { print id; exit } }')
	[ -n "$hex" ] && echo $((hex))
}
slot=$(cl_slot_of "$CL_MODULE" "$SG_TOKEN")
[ -n "$slot" ] || sg_fail "no slot with token $SG_TOKEN through $CL_MODULE"
cl_log "token $SG_TOKEN is in slot $slot"
cat > "$d/pkcs11.cfg" <<CFG
name = signgate
library = $CL_MODULE
slot = $slot
CFG
ks=(-keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11
    -providerArg "$d/pkcs11.cfg" -storepass "$CL_PIN")
# SunPKCS11 loads the module inside the JVM: it needs the same env.
cl_run "keytool -list" keytool -list "${ks[@]}"
echo "$CL_OUT" | grep -q "^$SG_RSA_LABEL, PrivateKeyEntry" || { echo "$CL_OUT"; sg_fail "alias $SG_RSA_LABEL missing"; }
echo "$CL_OUT" | grep -q "^$SG_EC_LABEL, PrivateKeyEntry" || { echo "$CL_OUT"; sg_fail "alias $SG_EC_LABEL missing"; }
cl_log "ok: keytool -list shows aliases $SG_RSA_LABEL and $SG_EC_LABEL"

echo 'package com.example; public class Hello {}' > "$d/src/com/example/Hello.java"
printf 'hello\n' > "$d/src/com/example/hello.txt"
(cd "$d/src" && jar cf "$d/app.jar" com) || sg_fail "jar failed"

for k in rsa ec; do
	if [ $k = rsa ]; then alias=$SG_RSA_LABEL alg=SHA256withRSA cert=$SG_RSA_CERT
	else alias=$SG_EC_LABEL alg=SHA256withECDSA cert=$SG_EC_CERT; fi
	cl_run "jarsigner -sigalg $alg ($alias)" \
		jarsigner "${ks[@]}" -sigalg "$alg" -signedjar "$d/app-$k.jar" "$d/app.jar" "$alias"
	# Java signs RSA in parts (C_SignUpdate/C_SignFinal): one record
	if [ $k = rsa ]; then
		cl_audit_expect allow "jarsigner RSA in parts" key=test-rsa mechanism=CKM_SHA256_RSA_PKCS
	else
		cl_audit_expect allow "jarsigner EC" key=test-ec mechanism=CKM_ECDSA
	fi
	cl_audit_count allow 1 "jarsigner ($k) audited once"
	# -strict: the self-signed test cert is not a trusted CA, so trust it
	# through a throwaway truststore.
	rm -f "$d/trust-$k.jks"
	keytool -importcert -noprompt -alias ca -file "$cert" -keystore "$d/trust-$k.jks" \
		-storepass changeit >/dev/null 2>&1 || sg_fail "truststore"
	cl_run "jarsigner -verify -strict ($alias)" \
		jarsigner -verify -strict -keystore "$d/trust-$k.jks" -storepass changeit "$d/app-$k.jar"
	echo "$CL_OUT" | grep -q "jar verified" || { echo "$CL_OUT"; sg_fail "jar not verified"; }
done
# tampered jar: change one entry, keep the signature files
cp "$d/app-rsa.jar" "$d/tampered.jar"
printf 'HELLO\n' > "$d/src/com/example/hello.txt"
(cd "$d/src" && jar uf "$d/tampered.jar" com/example/hello.txt)
cl_must_fail "jarsigner -verify -strict of a tampered jar fails" \
	jarsigner -verify -strict -keystore "$d/trust-rsa.jks" -storepass changeit "$d/tampered.jar"

if [ "$CL_VIA" = signgate ]; then
	# DENIED: the EC key is outside the role.
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa)"
	cl_must_fail "jarsigner with the EC key (outside the role) is refused" \
		jarsigner "${ks[@]}" -sigalg SHA256withECDSA -signedjar "$d/denied.jar" "$d/app.jar" "$SG_EC_LABEL"
	echo "$CL_OUT" | tail -2
	cl_audit_expect deny "EC jar signature denied" key=test-ec reason=no-rule
	# DENIED: SHA256-RSA-PKCS (what Java sends for SHA256withRSA) not allowed
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa '"RSA-PKCS", "ECDSA"')"
	cl_must_fail "jarsigner SHA256withRSA when SHA256-RSA-PKCS is not allowed is refused" \
		jarsigner "${ks[@]}" -sigalg SHA256withRSA -signedjar "$d/denied.jar" "$d/app.jar" "$SG_RSA_LABEL"
	cl_audit_expect deny "mechanism denied" key=test-rsa reason=mechanism-forbidden mechanism=CKM_SHA256_RSA_PKCS
fi
sg_pass "jarsigner via $CL_VIA"

#!/bin/bash
# osslsigncode (Authenticode) through the libp11 engine: a PE built here
# with mingw-w64 and a PowerShell script, signed with the RSA and the EC
# key (pkcs11: URIs by object= and id=), verified by `osslsigncode verify`
# with the signing certificate as CA; a tampered file fails.
# Route: $1 = direct | signgate.
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"
command -v osslsigncode >/dev/null || sg_skip "osslsigncode not installed"
command -v x86_64-w64-mingw32-gcc >/dev/null || sg_skip "mingw-w64 not installed"
[ -e "$CL_ENGINE" ] || sg_skip "libp11 engine $CL_ENGINE missing"

d=$SG_TMP/authenticode
mkdir -p "$d"
cat > "$d/hello.c" <<'C'
#include <stdio.h>
int main(void) { puts("hello from a signed PE"); return 0; }
C
x86_64-w64-mingw32-gcc -O2 -o "$d/hello.exe" "$d/hello.c" || sg_fail "mingw build failed"
cat > "$d/hello.ps1" <<'PS'
Write-Output "hello from a signed PowerShell script"
PS

# sign IN OUT URI CERT
sign() {
	osslsigncode sign -pkcs11engine "$CL_ENGINE" -pkcs11module "$CL_MODULE" \
		-pass "$CL_PIN" -key "$3" -certs "$4" -h sha256 \
		-n "signgate test" -in "$1" -out "$2"
}
verify() { osslsigncode verify -CAfile "$2" -in "$1"; }

for f in hello.exe hello.ps1; do
	for k in rsa ec; do
		if [ $k = rsa ]; then uri=$CL_URI_RSA cert=$SG_RSA_CERT
		else uri=$CL_URI_EC_ID cert=$SG_EC_CERT; fi
		# both URI forms for RSA: object= for the PE, id= for the script
		if [ $f = hello.ps1 ] && [ $k = rsa ]; then uri=$CL_URI_RSA_ID; fi
		out=$d/signed-$k-$f
		cl_run "osslsigncode sign $f with $uri" sign "$d/$f" "$out" "$uri" "$cert"
		cl_run "osslsigncode verify $f ($k)" verify "$out" "$cert"
		case $f in
		*.exe)	# change a byte of the code (inside the signed range); no dd:
			# under ASan's LD_PRELOAD dd aborts in aligned_alloc
			{ head -c 1100 "$out"; printf '\xcc'; tail -c +1102 "$out"; } > "$out.tampered" ;;
		*.ps1)	sed 's/hello from/HELLO FROM/' "$out" > "$out.tampered" ;;
		esac
		cmp -s "$out" "$out.tampered" && sg_fail "tampering changed nothing"
		cl_must_fail "osslsigncode verify of tampered $f ($k) fails" verify "$out.tampered" "$cert"
	done
done

if [ "$CL_VIA" = signgate ]; then
	# DENIED: the EC key is outside the role.
	cl_use_config "$(cl_audit_section)
$(cl_policy_only test-rsa)"
	rm -f "$d/denied.exe"
	cl_must_fail "osslsigncode sign with the EC key (outside the role) is refused" \
		sign "$d/hello.exe" "$d/denied.exe" "$CL_URI_EC" "$SG_EC_CERT"
	echo "$CL_OUT" | tail -3
	if [ -s "$d/denied.exe" ] && verify "$d/denied.exe" "$SG_EC_CERT" >/dev/null 2>&1; then
		sg_fail "a verifying signed PE was written although refused"
	fi
	cl_audit_expect deny "EC Authenticode signature denied" key=test-ec reason=no-rule
	# still allowed with the RSA key under the narrower policy
	cl_run "osslsigncode sign with the RSA key (in the role) still works" \
		sign "$d/hello.exe" "$d/allowed.exe" "$CL_URI_RSA" "$SG_RSA_CERT"
	cl_audit_expect allow "RSA Authenticode signature allowed" key=test-rsa
fi
sg_pass "osslsigncode via $CL_VIA"

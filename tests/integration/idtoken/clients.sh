#!/bin/bash
# Signing tools, unchanged, with a CI identity token as their PIN: the
# release workflow's token signs; a token of a branch build is refused with
# claims-mismatch in the audit; an expired one fails the login.
# Case: osslsigncode | jarsigner.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
source "$SIGNGATE_SRCDIR/tests/integration/idtoken/idtoken-lib.sh"
tool=${1:?osslsigncode|jarsigner}
sg_rsyslog_start
sg_idt_config "max_uses = 3;" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };"
d=$SG_TMP/work
mkdir -p "$d"

expect_record() { # PATTERN WHAT
	sg_rsyslog_wait_for "$1" 1 5 || sg_fail "$tool: no record: $2"
}

case "$tool" in
osslsigncode)
	command -v osslsigncode >/dev/null || sg_skip "osslsigncode not installed"
	engine=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
	[ -e "$engine" ] || sg_skip "libp11 engine missing"
	printf 'Write-Output "hello from a signed script"\n' > "$d/hello.ps1"
	sign() { # PIN OUT
		osslsigncode sign -pkcs11engine "$engine" -pkcs11module "$SG_MODULE" -pass "$1" \
			-key "pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL;type=private" -certs "$SG_RSA_CERT" \
			-h sha256 -n "signgate release" -in "$d/hello.ps1" -out "$2" >"$2.log" 2>&1
	}
	t=$(idt_mint github) || sg_fail "mint"
	sign "$t" "$d/signed.ps1" || sg_fail "osslsigncode with the release token: $(cat "$d/signed.ps1.log")"
	osslsigncode verify -CAfile "$SG_RSA_CERT" -in "$d/signed.ps1" >/dev/null 2>&1 ||
		sg_fail "the signed script does not verify"
	expect_record '"event":"sign","outcome":"allow".*"role":"gh-release".*"key":"release-rsa"' "allow"
	b=$(idt_mint github ref=refs/heads/feature ref_type=branch) || sg_fail "mint"
	if sign "$b" "$d/denied.ps1"; then sg_fail "a branch build's token signed"; fi
	if [ -s "$d/denied.ps1" ] && osslsigncode verify -CAfile "$SG_RSA_CERT" -in "$d/denied.ps1" >/dev/null 2>&1; then
		sg_fail "a verifying signed script was written although refused"
	fi
	expect_record '"event":"sign","outcome":"deny","reason":"claims-mismatch"' "claims-mismatch"
	e=$(idt_mint github --iat-offset -900 --lifetime 300) || sg_fail "mint"
	if sign "$e" "$d/expired.ps1"; then sg_fail "an expired token signed"; fi
	expect_record '"event":"login","outcome":"deny","reason":"token-expired"' "token-expired"
	;;
jarsigner)
	for t in jarsigner keytool jar; do
		command -v $t >/dev/null || sg_skip "$t not installed (openjdk)"
	done
	hex=$(pkcs11-tool --module "$SG_MODULE" -L 2>/dev/null | awk -v want="$SG_TOKEN" '
		/^Slot [0-9]+ \(0x[0-9a-f]+\)/ { id = $3; gsub(/[():]/, "", id) }
		/token label *:/ { sub(/.*token label *: */, ""); if ($0 == want) { print id; exit } }')
	[ -n "$hex" ] || sg_fail "no slot with token $SG_TOKEN"
	printf 'name = signgate\nlibrary = %s\nslot = %s\n' "$SG_MODULE" $((hex)) > "$d/pkcs11.cfg"
	mkdir -p "$d/src/com/example"
	printf 'hello\n' > "$d/src/com/example/hello.txt"
	(cd "$d/src" && jar cf "$d/app.jar" com) || sg_fail "jar failed"
	sign() { # PIN OUT
		jarsigner -keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11 \
			-providerArg "$d/pkcs11.cfg" -storepass "$1" -sigalg SHA256withRSA \
			-signedjar "$2" "$d/app.jar" "$SG_RSA_LABEL" >"$2.log" 2>&1
	}
	t=$(idt_mint gitlab) || sg_fail "mint"
	sign "$t" "$d/signed.jar" || sg_fail "jarsigner with the release token: $(cat "$d/signed.jar.log")"
	jarsigner -verify "$d/signed.jar" 2>&1 | grep -q "jar verified" || sg_fail "the jar does not verify"
	expect_record '"event":"sign","outcome":"allow".*"role":"gl-release".*"mechanism":"CKM_SHA256_RSA_PKCS"' "allow"
	u=$(idt_mint gitlab ref_protected=false) || sg_fail "mint"
	if sign "$u" "$d/denied.jar"; then sg_fail "an unprotected ref's token signed"; fi
	expect_record '"event":"sign","outcome":"deny","reason":"claims-mismatch"' "claims-mismatch"
	;;
*) sg_fail "unknown tool $tool" ;;
esac
sg_pass "$tool"

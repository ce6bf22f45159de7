#!/bin/bash
# Validation tickets carried by unmodified signing tools (issue 4's client
# cases): the ticket as pkcs11-tool --pin, as osslsigncode -pass, through
# SIGNGATE_TICKET for openssl cms -sign through the engine, and as
# jarsigner -storepass.  A good ticket signs (verified by the tool's own
# verifier); no ticket, a ticket missing the required check, and a ticket
# for another product are refused; a ticket bound to an artifact's digest
# signs that artifact's hash and not another one's.  Only the signgate route exists:
# SoftHSM itself knows no tickets.  Route: $1 = direct | signgate;
# $2 = which tool (pkcs11-tool | osslsigncode | openssl | gnutls |
# jarsigner | all).
CL_TICKET_TOOL=${2:-all}
source "$(dirname "$0")/clients-lib.sh" "${1:-signgate}"
want() { [ "$CL_TICKET_TOOL" = all ] || [ "$CL_TICKET_TOOL" = "$1" ]; }
[ "$CL_VIA" = signgate ] || sg_skip "tickets exist only through signgate"
[ -e "$CL_ENGINE" ] || sg_skip "libp11 engine missing"

d=$SG_TMP/tickets
mkdir -p "$d"
openssl genpkey -algorithm ED25519 -out "$d/validator.pem" 2>/dev/null
openssl pkey -in "$d/validator.pem" -pubout -out "$d/validator.pub.pem"

issue() {
	"$SG_TOOL" ticket issue --key "$d/validator.pem" --issuer ci-validator "$@"
}
good=$(issue --product app --run 4711 --check unit-tests=pass --check vuln-scan=pass --ttl 30m 2>"$d/issue.err") ||
	sg_skip "signgate ticket issue not available in this build: $(head -1 "$d/issue.err")"
[[ "$good" =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]] || sg_fail "ticket issue printed no compact JWS: $good"
failed_check=$(issue --product app --run 4712 --check unit-tests=pass --check vuln-scan=fail --ttl 30m)
other_product=$(issue --product other --run 4713 --check unit-tests=pass --check vuln-scan=pass --ttl 30m)
cl_log "issued tickets (good, vuln-scan=fail, product=other)"

policy() {
	cat <<POLICY
$(cl_audit_section)
validators = ( { name = "ci-validator"; public_key = "$d/validator.pub.pem"; } );
$(sg_allow_policy | sed '/^rules/,$d')
rules = ( { name = "release"; roles = [ "testers" ]; keys = [ "test-rsa", "test-ec" ]; products = [ "app" ];
            checks = [ "unit-tests", "vuln-scan" ]; max_ticket_age = "1h"; require_ticket = true; } );
POLICY
}
cl_use_config "$(policy)"

head -c 3000 /dev/urandom > "$d/data"
openssl dgst -sha256 -binary "$d/data" > "$d/data.sha256"
p11() { pkcs11-tool --module "$CL_MODULE" --token-label "$SG_TOKEN" --login --pin "$1" "${@:2}"; }

# --- pkcs11-tool: the ticket as --pin -------------------------------------
if want pkcs11-tool; then
cl_run "pkcs11-tool --pin TICKET signs (ECDSA)" \
	p11 "$good" --sign --mechanism ECDSA --id "$SG_EC_ID" --signature-format openssl \
	--input-file "$d/data.sha256" --output-file "$d/p11.sig"
cl_audit_expect allow "signature with a ticket" key=test-ec issuer=ci-validator product=app run=4711
cl_run "openssl verifies it" openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/p11.sig" "$d/data"
cl_must_fail "pkcs11-tool without a ticket is refused" \
	p11 "$CL_DUMMY_PIN" --sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$d/data.sha256" --output-file "$d/denied.sig"
cl_audit_expect deny "no ticket" 'reason=[^"]*ticket[^"]*'
cl_must_fail "pkcs11-tool with a ticket whose vuln-scan failed is refused" \
	p11 "$failed_check" --sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$d/data.sha256" --output-file "$d/denied.sig"
cl_audit_expect deny "required check not pass" 'reason=[^"]*check[^"]*'
cl_must_fail "pkcs11-tool with a ticket for another product is refused" \
	p11 "$other_product" --sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$d/data.sha256" --output-file "$d/denied.sig"
cl_audit_expect deny "wrong product" 'reason=[^"]*product[^"]*'
# digest binding: a ticket naming the artifact; a bare-hash signature
# (ECDSA over the SHA-256) of that artifact passes, of another one not
bound=$(issue --product app --run 4714 --check unit-tests=pass --check vuln-scan=pass \
	--artifact "$d/data" --ttl 30m)
head -c 100 /dev/urandom > "$d/other"
openssl dgst -sha256 -binary "$d/other" > "$d/other.sha256"
cl_run "pkcs11-tool with a ticket bound to the artifact signs its hash" \
	p11 "$bound" --sign --mechanism ECDSA --id "$SG_EC_ID" --signature-format openssl \
	--input-file "$d/data.sha256" --output-file "$d/bound.sig"
cl_run "openssl verifies it" openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$d/bound.sig" "$d/data"
cl_must_fail "pkcs11-tool with a ticket bound to another artifact is refused" \
	p11 "$bound" --sign --mechanism ECDSA --id "$SG_EC_ID" \
	--input-file "$d/other.sha256" --output-file "$d/denied.sig"
cl_audit_expect deny "artifact digest mismatch" 'reason=[^"]*(digest|artifact)[^"]*'
fi

# --- osslsigncode: -pass TICKET ---------------------------------------------
if ! want osslsigncode; then :
elif command -v osslsigncode >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null; then
	echo 'int main(void) { return 0; }' > "$d/t.c"
	x86_64-w64-mingw32-gcc -o "$d/t.exe" "$d/t.c"
	ossl() {
		osslsigncode sign -pkcs11engine "$CL_ENGINE" -pkcs11module "$CL_MODULE" -pass "$1" \
			-key "$CL_URI_RSA" -certs "$SG_RSA_CERT" -h sha256 -in "$d/t.exe" -out "$2"
	}
	# the environment route first, then the PIN route the issue asks for
	ossl_env() { SIGNGATE_TICKET=$1 ossl "$CL_DUMMY_PIN" "$2"; }
	cl_run "osslsigncode with SIGNGATE_TICKET signs" ossl_env "$good" "$d/t-env.exe"
	cl_run "osslsigncode -pass TICKET signs" ossl "$good" "$d/t-signed.exe"
	cl_run "osslsigncode verify" osslsigncode verify -CAfile "$SG_RSA_CERT" -in "$d/t-signed.exe"
	cl_must_fail "osslsigncode without a ticket is refused" ossl "$CL_DUMMY_PIN" "$d/t-denied.exe"
	cl_audit_expect deny "osslsigncode without a ticket" 'reason=[^"]*ticket[^"]*'
else
	cl_log "osslsigncode or mingw missing: osslsigncode ticket case not run"
fi

# --- openssl cms -sign through the engine, ticket in SIGNGATE_TICKET --------
if want openssl; then
export OPENSSL_CONF="$d/openssl.cnf"
cl_engine_conf "$OPENSSL_CONF" "$CL_MODULE" "$CL_DUMMY_PIN"
cms() {
	env SIGNGATE_TICKET="$1" openssl cms -sign -binary -md sha256 -engine pkcs11 -keyform engine \
		-inkey "$CL_URI_RSA" -signer "$SG_RSA_CERT" -in "$d/data" -outform DER -out "$2"
}
cl_run "openssl cms -sign with SIGNGATE_TICKET=<ticket> signs" cms "$good" "$d/data.p7s"
cl_run "openssl cms -verify" openssl cms -verify -binary -inform DER -in "$d/data.p7s" \
	-content "$d/data" -CAfile "$SG_RSA_CERT" -purpose any -out /dev/null
printf '%s\n' "$good" > "$d/ticket.jws"
cl_run "openssl cms -sign with SIGNGATE_TICKET=<file> signs" cms "$d/ticket.jws" "$d/data2.p7s"
cl_must_fail "openssl cms -sign without a ticket is refused" cms "" "$d/denied.p7s"
cl_audit_expect deny "cms without a ticket" 'reason=[^"]*ticket[^"]*'
# digest binding with openssl pkeyutl -sign of the artifact's hash (the
# engine sends CKM_RSA_PKCS over a DigestInfo)
bound=$(issue --product app --run 4715 --check unit-tests=pass --check vuln-scan=pass \
	--artifact "$d/data" --ttl 30m)
head -c 100 /dev/urandom > "$d/other"
openssl dgst -sha256 -binary "$d/other" > "$d/other.sha256"
pk() {
	SIGNGATE_TICKET=$1 openssl pkeyutl -sign -engine pkcs11 -keyform engine -inkey "$CL_URI_RSA" \
		-pkeyopt digest:sha256 -in "$2" -out "$3"
}
cl_run "openssl pkeyutl -sign of the bound artifact's hash signs" pk "$bound" "$d/data.sha256" "$d/pk.sig"
cl_run "openssl pkeyutl -verify" openssl pkeyutl -verify -pubin -inkey "$SG_RSA_PUB" \
	-pkeyopt digest:sha256 -in "$d/data.sha256" -sigfile "$d/pk.sig"
cl_must_fail "openssl pkeyutl -sign of another artifact's hash is refused" pk "$bound" "$d/other.sha256" "$d/pk-denied.sig"
cl_audit_expect deny "pkeyutl artifact digest mismatch" 'reason=[^"]*(digest|artifact)[^"]*'
unset OPENSSL_CONF
fi

# --- GnuTLS: GNUTLS_PIN=TICKET ------------------------------------------------
if ! want gnutls; then :
elif command -v certtool >/dev/null; then
	ct() {
		GNUTLS_PIN="$1" certtool --provider "$CL_MODULE" --p7-detached-sign --hash SHA256 \
			--load-privkey "$CL_URI_EC" --load-certificate "$SG_EC_CERT" \
			--infile "$d/data" --outfile "$2"
	}
	ct_env() { SIGNGATE_TICKET=$1 ct "$CL_DUMMY_PIN" "$2"; }
	cl_run "certtool with SIGNGATE_TICKET signs" ct_env "$good" "$d/gnutls-env.p7"
	cl_audit_expect allow "certtool with a ticket" key=test-ec run=4711
	cl_run "certtool --p7-verify" certtool --p7-verify --infile "$d/gnutls-env.p7" \
		--load-data "$d/data" --load-ca-certificate "$SG_EC_CERT"
	# GnuTLS takes PINs of at most 255 bytes ("No PIN given" beyond); a
	# ticket is longer, so with GnuTLS the ticket goes in SIGNGATE_TICKET.
	if [ "${#good}" -le 255 ]; then
		cl_run "certtool with GNUTLS_PIN=TICKET signs" ct "$good" "$d/gnutls.p7"
	else
		cl_log "ticket is ${#good} bytes: too long for GNUTLS_PIN (max 255), not tried as PIN"
	fi
	cl_must_fail "certtool without a ticket is refused" ct "$CL_DUMMY_PIN" "$d/gnutls-denied.p7"
	cl_audit_expect deny "certtool without a ticket" 'reason=[^"]*ticket[^"]*'
else
	cl_log "certtool missing: GnuTLS ticket case not run"
fi

# --- jarsigner: -storepass TICKET ---------------------------------------------
if ! want jarsigner; then :
elif command -v jarsigner >/dev/null; then
	hex=$(pkcs11-tool --module "$CL_MODULE" -L 2>/dev/null | awk -v want="$SG_TOKEN" '
		/^Slot [0-9]+ \(0x[0-9a-f]+\)/ { id = $3; gsub(/[():]/, "", id) }
		/token label *:/ { sub(/.*token label *: */, ""); if ($0 == want) { print id; exit } }')
	[ -n "$hex" ] || sg_fail "no slot for $SG_TOKEN"
	printf 'name = signgate\nlibrary = %s\nslot = %d\n' "$CL_MODULE" "$hex" > "$d/pkcs11.cfg"
	mkdir -p "$d/jar/x"; echo hi > "$d/jar/x/a.txt"; (cd "$d/jar" && jar cf "$d/a.jar" x)
	js() {
		jarsigner -keystore NONE -storetype PKCS11 -providerClass sun.security.pkcs11.SunPKCS11 \
			-providerArg "$d/pkcs11.cfg" -storepass "$1" -sigalg SHA256withRSA \
			-signedjar "$2" "$d/a.jar" "$SG_RSA_LABEL"
	}
	js_env() { SIGNGATE_TICKET=$1 js "$CL_DUMMY_PIN" "$2"; }
	cl_run "jarsigner with SIGNGATE_TICKET signs" js_env "$good" "$d/a-env.jar"
	cl_run "jarsigner -storepass TICKET signs" js "$good" "$d/a-signed.jar"
	keytool -importcert -noprompt -alias ca -file "$SG_RSA_CERT" -keystore "$d/trust.jks" \
		-storepass changeit >/dev/null 2>&1
	cl_run "jarsigner -verify -strict" jarsigner -verify -strict -keystore "$d/trust.jks" \
		-storepass changeit "$d/a-signed.jar"
	cl_must_fail "jarsigner without a ticket is refused" js "$CL_DUMMY_PIN" "$d/a-denied.jar"
	cl_audit_expect deny "jarsigner without a ticket" 'reason=[^"]*ticket[^"]*'
else
	cl_log "jarsigner missing: jarsigner ticket case not run"
fi
sg_pass "tickets through $CL_TICKET_TOOL via $CL_VIA"

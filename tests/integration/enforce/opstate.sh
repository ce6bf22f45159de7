#!/bin/bash
# Runs opstate CASE (tests/integration/enforce/opstate.c) through the
# module on a real SoftHSM token, with a real rsyslogd for the audit, and
# checks the audit records: each refusal with its reason, and exactly one
# "allow" record per signature the program was handed.
# Usage: opstate.sh OPSTATE_BINARY CASE [BACKEND]  (a test backend module:
# tests/lib/faultbackend.c or tests/lib/backend30.c)
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
opstate=${1:?opstate binary} case_name=${2:?case} backend=${3:-}
sg_rsyslog_start
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_USER_PIN SG_RSA_ID SG_EC_ID SG_SOFTHSM

v="$SG_TMP/validator.pem"
keys="{ name = \"app-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; fingerprint = \"sha256:$SG_RSA_FP\";
    products = [ \"app\" ]; mechanisms = [ \"RSA-PKCS\", \"SHA256-RSA-PKCS\" ]; hashes = [ \"SHA256\" ]; },
  { name = \"app-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; fingerprint = \"sha256:$SG_EC_FP\";
    products = [ \"app\" ]; mechanisms = [ \"ECDSA\" ]; hashes = [ \"SHA256\" ]; }"
names='"app-rsa", "app-ec"'
checks=""
validators=""
case "$case_name" in
big-*)
	sg_big_keys
	for k in RSA4096 RSA9216 EC384 EC521; do
		id_var=SG_${k}_ID fp_var=SG_${k}_FP
		case $k in RSA*) mechs='"RSA-PKCS"' ;; *) mechs='"ECDSA"' ;; esac
		keys="$keys,
  { name = \"app-$k\"; token = \"$SG_TOKEN\"; id = \"${!id_var}\"; fingerprint = \"sha256:${!fp_var}\";
    products = [ \"app\" ]; mechanisms = [ $mechs ]; hashes = [ \"SHA256\" ]; }"
		names="$names, \"app-$k\""
		export "SG_${k}_ID"
	done
	;;
passthrough)
	sg_p11 --keygen --key-type AES:32 --id 20 --label aes-ungoverned >/dev/null 2>&1 ||
		sg_fail "cannot make the AES key"
	;;
*-ticket)
	"$SG_TOOL" ticket keygen --out "$v" >/dev/null 2>&1 || sg_fail "ticket keygen"
	validators="validators = ( { name = \"ci-validator\"; public_key = \"$SG_TMP/validator.pub.pem\"; } );"
	checks='checks = [ "unit-tests" ];'
	;;
esac
sg_config "$conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
$validators
roles = ( { name = \"release\"; users = [ $(id -u) ]; } );
keys = ( $keys );
rules = ( { name = \"release\"; roles = [ \"release\" ]; keys = [ $names ]; $checks } );"
if [ -n "$backend" ]; then
	sed -i "s|module = \"$SG_SOFTHSM\"|module = \"$backend\"|" "$conf"
fi

issue() { # issue ARTIFACT RUN [ARGS...]
	local art=$1 run=$2
	shift 2
	"$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run "$run" \
		--check unit-tests=pass --artifact "$art" "$@" 2>/dev/null
}
case "$case_name" in
*-ticket)
	printf 'artifact A\n' > "$SG_TMP/a"
	printf 'artifact B\n' > "$SG_TMP/b"
	SG_TICKET_A=$(issue "$SG_TMP/a" 4711 --max-uses 1) || sg_fail "issue A"
	SG_TICKET_B=$(issue "$SG_TMP/b" 4712) || sg_fail "issue B"
	SG_ART_A=$(openssl dgst -sha256 -r "$SG_TMP/a" | cut -d' ' -f1)
	SG_ART_B=$(openssl dgst -sha256 -r "$SG_TMP/b" | cut -d' ' -f1)
	SG_ART_B_FILE=$SG_TMP/b
	export SG_TICKET_A SG_TICKET_B SG_ART_A SG_ART_B SG_ART_B_FILE
	;;
esac

if [ "$case_name" = fixed-hash-ticket ]; then
	# A ticket that lists an artifact, with a mechanism that hashes: the
	# artifact itself signs, anything else is refused (pkcs11-tool tries
	# C_Sign first, refused on SHA-256(data), then C_SignUpdate and
	# C_SignFinal, refused before C_SignFinal reaches the token).
	p11sign() { # p11sign FILE
		rm -f "$SG_TMP/sig"
		pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$SG_TICKET_B" \
			--sign --id "$SG_RSA_ID" -m SHA256-RSA-PKCS -i "$1" -o "$SG_TMP/sig" >"$SG_TMP/p11.out" 2>&1
	}
	p11sign "$SG_TMP/b" || sg_fail "the ticket's artifact was refused: $(cat "$SG_TMP/p11.out")"
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sig" "$SG_TMP/b" >/dev/null ||
		sg_fail "the signature does not verify over the artifact"
	if p11sign "$SG_TMP/a"; then sg_fail "another artifact was signed under the ticket"; fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "a signature was written for another artifact"
	grep -q C_SignFinal "$SG_TMP/p11.out" || sg_fail "not refused at C_SignFinal: $(cat "$SG_TMP/p11.out")"
	echo "SIGNATURES 1" > "$SG_TMP/out"
else
	"$opstate" "$case_name" > "$SG_TMP/out" 2>&1 || sg_fail "$(cat "$SG_TMP/out")"
fi
cat "$SG_TMP/out"
sigs=$(sed -n 's/^SIGNATURES //p' "$SG_TMP/out")
[ -n "$sigs" ] || sg_fail "no signature count"

# count PATTERN: audit records matching the ERE
count() { grep -cE "$1" "$SG_AUDIT_LOG" || true; }
deny() { echo "\"event\":\"sign\",\"outcome\":\"deny\",\"reason\":\"$1\""; }
ALLOW='"event":"sign","outcome":"allow"'
# expect N PATTERN WHAT: exactly N records (waits for the last to arrive)
expect() {
	local n=$1 pat=$2 what=$3
	[ "$n" = 0 ] || sg_rsyslog_wait_for "$pat" "$n" 10 || true
	local got
	got=$(count "$pat")
	[ "$got" = "$n" ] || sg_fail "$case_name: $got $what records, expected $n"
}
# at_least N PATTERN WHAT
at_least() {
	sg_rsyslog_wait_for "$2" "$1" 10 || sg_fail "$case_name: fewer than $1 $3 records ($(count "$2"))"
}

case "$case_name" in
logout-ticket)
	[ "$sigs" = 1 ] || sg_fail "expected 1 signature, got $sigs"
	expect 5 "$(deny login-changed)" login-changed
	expect 5 "$(deny operation-not-initialized)" operation-not-initialized
	expect 1 "$(deny ticket-exhausted)" ticket-exhausted
	expect 0 "$(deny artifact-mismatch)" artifact-mismatch
	# every record about the ticket's operation names the ticket's run
	grep -E "$(deny login-changed)" "$SG_AUDIT_LOG" | grep -qv '"run":"4711"' &&
		sg_fail "a login-changed record does not name the run"
	grep -E "$ALLOW" "$SG_AUDIT_LOG" | grep -q '"run":"4711"' || sg_fail "the signature's record does not name the run"
	;;
message-logout)
	[ "$sigs" = 1 ] || sg_fail "expected 1 signature, got $sigs"
	expect 1 "$(deny login-changed)" login-changed
	;;
multipart-ticket)
	[ "$sigs" = 1 ] || sg_fail "expected 1 signature, got $sigs"
	expect 1 "$(deny artifact-mismatch)" artifact-mismatch
	;;
fixed-hash-ticket)
	expect 2 "$(deny artifact-mismatch)" artifact-mismatch
	grep -E "$ALLOW" "$SG_AUDIT_LOG" | grep -q '"run":"4712"' || sg_fail "the signature's record does not name the run"
	;;
logout-multipart)
	[ "$sigs" = 1 ] || sg_fail "expected 1 signature, got $sigs"
	expect 2 "$(deny login-changed)" login-changed
	;;
relogin-ticket)
	[ "$sigs" = 1 ] || sg_fail "expected 1 signature, got $sigs"
	expect 3 "$(deny login-changed)" login-changed
	grep -E "$ALLOW" "$SG_AUDIT_LOG" | grep -q '"run":"4711"' || sg_fail "the signature's record does not name ticket A's run"
	;;
big-retry)
	[ "$sigs" = 6 ] || sg_fail "expected 6 signatures, got $sigs"
	expect 6 "$(deny hash-forbidden)" hash-forbidden
	expect 12 "$(deny operation-not-initialized)" operation-not-initialized
	expect 0 "$(deny operation-blocked)" operation-blocked
	;;
fault-blocked)
	at_least 3 "$(deny operation-blocked)" operation-blocked
	expect 3 "$(deny hash-forbidden)" hash-forbidden
	;;
passthrough)
	expect 1 "$(deny operation-not-initialized)" operation-not-initialized
	;;
fault-length)
	expect 2 "$(deny backend-fault)" backend-fault
	expect 0 "$(deny operation-blocked)" operation-blocked
	;;
esac
# No signature without its record, and no record of one not handed out.
expect "$sigs" "$ALLOW" allow
sg_pass "$case_name"

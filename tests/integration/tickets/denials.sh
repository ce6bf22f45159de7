#!/bin/bash
# Each ticket denial through the module, one case per run: pkcs11-tool
# gives the ticket as its PIN and signs a SHA-256 hash with the EC key
# under a rule that requires unit-tests and vuln-scan to pass and a
# ticket at most 10 minutes old.  Asserts the tool's failure and the
# reason in the audit record (a real rsyslogd).
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
case_name=${1:?case}
sg_rsyslog_start

v="$SG_TMP/validator.pem"
"$SG_TOOL" ticket keygen --out "$v" >/dev/null 2>&1 || sg_fail "ticket keygen"
"$SG_TOOL" ticket keygen --out "$SG_TMP/rogue.pem" >/dev/null 2>&1 || sg_fail "ticket keygen (rogue)"
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
sg_config "$conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
validators = ( { name = \"ci-validator\"; public_key = \"$SG_TMP/validator.pub.pem\"; } );
roles = ( { name = \"release\"; users = [ $(id -u) ]; } );
keys = ( { name = \"app-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; fingerprint = \"sha256:$SG_EC_FP\";
           products = [ \"app\" ]; mechanisms = [ \"ECDSA\" ]; } );
rules = ( { name = \"release\"; roles = [ \"release\" ]; keys = [ \"app-ec\" ];
            checks = [ \"unit-tests\", \"vuln-scan\" ]; max_ticket_age = \"10m\"; } );"

printf 'the release artifact\n' > "$SG_TMP/artifact"
openssl dgst -sha256 -binary "$SG_TMP/artifact" > "$SG_TMP/hash"

# issue [ARGS...]: a ticket that passes, changed by ARGS
issue() {
	"$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 4711 \
		--check unit-tests=pass --check vuln-scan=pass "$@" 2>/dev/null
}

sign() { # sign TICKET
	rm -f "$SG_TMP/sig"
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$1" \
		--sign --id "$SG_EC_ID" -m ECDSA -i "$SG_TMP/hash" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1
}

# denied TICKET EVENT REASON [CALL]: refused at CALL with the reason in the audit
denied() {
	local ticket=$1 event=$2 reason=$3 call=${4:-}
	if sign "$ticket"; then sg_fail "$case_name: signed"; fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "$case_name: a signature was written"
	[ -z "$call" ] || grep -q "$call" "$SG_TMP/out" || sg_fail "$case_name: not refused at $call: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for "\"event\":\"$event\",\"outcome\":\"deny\",\"reason\":\"$reason\"" 1 5 ||
		sg_fail "$case_name: no $event deny record with reason $reason: $(grep -o '"event":"[a-z]*","outcome":"deny","reason":"[^"]*"' "$SG_AUDIT_LOG")"
	# never the ticket's signature in the log
	local sigpart=${ticket##*.}
	if [ -n "$sigpart" ] && grep -qF -- "$sigpart" "$SG_AUDIT_LOG"; then
		sg_fail "$case_name: the ticket's signature is in the audit log"
	fi
	echo "refused as expected: $event $reason"
}

case "$case_name" in
good)
	t=$(issue) || sg_fail "issue"
	sign "$t" || sg_fail "a good ticket was refused: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 1 5 || sg_fail "no allow record"
	grep -q '"run":"4711"' "$SG_AUDIT_LOG" || sg_fail "the record does not name the run"
	;;
none)
	denied "not-a-ticket" sign ticket-missing C_SignInit
	;;
bad-signature)
	t=$(issue) || sg_fail "issue"
	# Change one character early in the signature part: the last one
	# carries padding bits, and a change there is malformed base64url
	# rather than a bad signature.
	IFS=. read -r h p sig <<<"$t"
	c=${sig:5:1}; [ "$c" = A ] && repl=B || repl=A
	denied "$h.$p.${sig:0:5}$repl${sig:6}" ticket ticket-bad-signature C_Login
	;;
tampered-claims)
	t=$(issue) || sg_fail "issue"
	other=$(issue --product other) || sg_fail "issue"
	IFS=. read -r h _ s <<<"$t"
	IFS=. read -r _ p2 _ <<<"$other"
	denied "$h.$p2.$s" ticket ticket-bad-signature C_Login
	;;
unknown-issuer)
	t=$("$SG_TOOL" ticket issue --key "$SG_TMP/rogue.pem" --issuer rogue-validator --product app --run 1 \
		--check unit-tests=pass --check vuln-scan=pass 2>/dev/null) || sg_fail "issue"
	denied "$t" ticket ticket-unknown-issuer C_Login
	;;
forged-by-other-key)
	t=$("$SG_TOOL" ticket issue --key "$SG_TMP/rogue.pem" --issuer ci-validator --product app --run 1 \
		--check unit-tests=pass --check vuln-scan=pass 2>/dev/null) || sg_fail "issue"
	denied "$t" ticket ticket-bad-signature C_Login
	;;
expired)
	t=$(issue --at -2h --ttl 30m) || sg_fail "issue"
	denied "$t" ticket ticket-expired C_Login
	;;
not-yet-valid)
	t=$(issue --nbf +1h --ttl 2h) || sg_fail "issue"
	denied "$t" ticket ticket-not-yet-valid C_Login
	;;
too-old)
	t=$(issue --at -30m --ttl 2h) || sg_fail "issue"
	denied "$t" sign ticket-too-old C_SignInit
	;;
wrong-product)
	t=$(issue --product other) || sg_fail "issue"
	denied "$t" sign ticket-wrong-product C_SignInit
	;;
wrong-audience)
	t=$(issue --aud other-key) || sg_fail "issue"
	denied "$t" sign ticket-wrong-product C_SignInit
	;;
check-missing)
	t=$("$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 4711 \
		--check unit-tests=pass 2>/dev/null) || sg_fail "issue"
	denied "$t" sign ticket-check-failed C_SignInit
	;;
check-failed)
	t=$("$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 4711 \
		--check unit-tests=pass --check vuln-scan=fail 2>/dev/null) || sg_fail "issue"
	denied "$t" sign ticket-check-failed C_SignInit
	;;
max-uses)
	t=$(issue --max-uses 1) || sg_fail "issue"
	sign "$t" || sg_fail "first use refused: $(cat "$SG_TMP/out")"
	denied "$t" sign ticket-exhausted
	;;
artifact)
	t=$(issue --artifact "$SG_TMP/artifact") || sg_fail "issue"
	sign "$t" || sg_fail "the artifact's own hash was refused: $(cat "$SG_TMP/out")"
	openssl dgst -sha256 -binary "$SG_TMP/hash" > "$SG_TMP/hash2"
	mv "$SG_TMP/hash2" "$SG_TMP/hash"
	denied "$t" sign artifact-mismatch
	;;
*)
	sg_fail "unknown case $case_name"
	;;
esac
sg_pass "$case_name"

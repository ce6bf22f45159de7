#!/bin/bash
# `signgate ticket` end to end: keygen, issue, verify against a config
# with validators (loaded by config_load, as the module does), show.
# Each refusal status of ticket_verify is reached through the command.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

S=$SG_TOOL
T=$SG_TMP

# run EXPECTED_RC PATTERN CMD...: run, check exit status and that the
# output (stdout+stderr) matches the extended regex PATTERN.
run() {
	local want=$1 pat=$2 rc=0 out
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" != "$want" ] || ! grep -Eq -- "$pat" <<<"$out"; then
		printf '%s\n' "$out" >&2
		sg_fail "'$*' gave exit $rc (want $want) or lacks /$pat/"
	fi
	LAST=$out
}

# --- keygen --------------------------------------------------------------
run 0 'EdDSA' "$S" ticket keygen --out "$T/ed.pem"
run 0 'ES256' "$S" ticket keygen --out "$T/ec.pem" --alg ES256
run 0 'EdDSA' "$S" ticket keygen --out "$T/rogue.pem"
[ "$(stat -c %a "$T/ed.pem")" = 600 ] || sg_fail "private key is not 0600"
[ "$(stat -c %a "$T/ed.pub.pem")" = 644 ] || sg_fail "public key is not 0644"
openssl pkey -pubin -in "$T/ed.pub.pem" -noout 2>/dev/null || sg_fail "public key unreadable by openssl"
openssl pkey -in "$T/ec.pem" -noout -text 2>/dev/null | grep -q 'prime256v1' || sg_fail "ES256 key is not P-256"
run 2 'not overwriting' "$S" ticket keygen --out "$T/ed.pem"
run 2 'EdDSA or ES256' "$S" ticket keygen --out "$T/x.pem" --alg RS256

# --- does this build's config loader know validators? ----------------------
# A validator whose public key file does not exist must be refused; if the
# loader accepts it, validators are not loaded yet and nothing below can work.
sg_config "$T/probe.conf" "validators = ( { name = \"v\"; public_key = \"$T/does-not-exist.pem\"; } );"
rc=0
"$S" ticket verify --config "$T/probe.conf" abc >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || sg_skip "config loader does not load validators yet (a missing validator key was accepted)"

# --- config ----------------------------------------------------------------
validators="validators = (
  { name = \"ci-ed\"; public_key = \"$T/ed.pub.pem\"; },
  { name = \"ci-ec\"; public_key = \"$T/ec.pub.pem\"; }
);"
policy="roles = ( { name = \"release\"; users = [ $(id -u) ]; } );
keys = (
  { name = \"test-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; label = \"$SG_RSA_LABEL\";
    fingerprint = \"sha256:$SG_RSA_FP\"; products = [ \"app\" ];
    mechanisms = [ \"SHA256-RSA-PKCS\", \"RSA-PKCS\" ]; hashes = [ \"SHA256\" ]; }
);
rules = ( { name = \"release-signing\"; roles = [ \"release\" ]; keys = [ \"test-rsa\" ];
            checks = [ \"unit-tests\", \"vuln-scan\" ]; max_ticket_age = \"1h\"; require_ticket = true; } );"
sg_config "$T/signgate.conf" "$validators
$policy"
C=$T/signgate.conf
run 0 '' "$S" ticket verify --config "$C" --help

issue() { "$S" ticket issue --product app --run 4711 "$@"; }

# --- good tickets ------------------------------------------------------------
good=$(issue --key "$T/ed.pem" --issuer ci-ed --pipeline release --check unit-tests=pass \
	--check vuln-scan=pass --aud test-rsa --digest "sha256:$(printf '%064d' 0)" --max-uses 3)
run 0 '^accepted: issuer=ci-ed product=app run=4711 checks=unit-tests:pass,vuln-scan:pass exp=' \
	"$S" ticket verify --config "$C" "$good"
grep -q 'release-signing  *yes' <<<"$LAST" || sg_fail "rule release-signing not satisfied: $LAST"
grep -q 'max_uses=3' <<<"$LAST" || sg_fail "max_uses not shown"
sig=${good##*.}
grep -qF -- "$sig" <<<"$LAST" && sg_fail "verify printed the signature"

good_ec=$(issue --key "$T/ec.pem" --issuer ci-ec --check unit-tests=pass --check vuln-scan=pass)
run 0 '^accepted: issuer=ci-ec ' "$S" ticket verify --config "$C" "$good_ec"

# The ticket from a file (with a trailing newline) and from stdin.
printf '%s\n' "$good" > "$T/ticket"
run 0 '^accepted:' "$S" ticket verify --config "$C" "@$T/ticket"
rc=0
out=$("$S" ticket verify --config "$C" - < "$T/ticket") || rc=$?
[ "$rc" = 0 ] && grep -q '^accepted:' <<<"$out" || sg_fail "stdin ticket: $out"

# Artifact binding: the digest of a file is in the ticket.
echo "release artifact" > "$T/app.bin"
art=$(issue --key "$T/ed.pem" --issuer ci-ed --artifact "$T/app.bin")
run 0 "sha256:$(sha256sum "$T/app.bin" | cut -d' ' -f1)" "$S" ticket verify --config "$C" "$art"

# What each rule makes of the ticket is the module's decision (policy_decide),
# with its reason name: a failed check, an audience naming no key of the
# rule, a ticket older than max_ticket_age (the ticket itself is fine).
partial=$(issue --key "$T/ed.pem" --issuer ci-ed --check unit-tests=pass --check vuln-scan=fail)
run 0 "release-signing +no: ticket-check-failed: check vuln-scan: result 'fail'" "$S" ticket verify --config "$C" "$partial"
other=$(issue --key "$T/ed.pem" --issuer ci-ed --check unit-tests=pass --check vuln-scan=pass --aud other-key)
run 0 "release-signing +no: ticket-wrong-product: ticket audience does not name key test-rsa" \
	"$S" ticket verify --config "$C" "$other"
old=$(issue --key "$T/ed.pem" --issuer ci-ed --check unit-tests=pass --check vuln-scan=pass --at -2h --ttl 3h)
run 0 "release-signing +no: ticket-too-old: ticket issued [0-9]+ s ago, rule release-signing allows 3600 s" \
	"$S" ticket verify --config "$C" "$old"
# --key: one signature decided, the exit status says allow (0) or deny (1).
run 0 '^reason: +allowed' "$S" ticket verify --config "$C" --key test-rsa --mechanism SHA256-RSA-PKCS "$good"
run 1 '^reason: +ticket-check-failed' "$S" ticket verify --config "$C" --key test-rsa "$partial"

# --- refusals, one per status -----------------------------------------------------
expired=$(issue --key "$T/ed.pem" --issuer ci-ed --at -2h --ttl 1h)
run 1 '^refused: ticket-expired: ' "$S" ticket verify --config "$C" "$expired"
run 1 '^refused: ticket-expired: ' "$S" ticket verify --config "$C" --at +1h "$good_ec"
future=$(issue --key "$T/ed.pem" --issuer ci-ed --nbf +1h)
run 1 '^refused: ticket-not-yet-valid: ' "$S" ticket verify --config "$C" "$future"
run 0 '^accepted:' "$S" ticket verify --config "$C" --at +61m "$future"
unknown=$(issue --key "$T/ed.pem" --issuer nobody)
run 1 '^refused: ticket-unknown-issuer: ' "$S" ticket verify --config "$C" "$unknown"
rogue=$(issue --key "$T/rogue.pem" --issuer ci-ed)
run 1 '^refused: ticket-bad-signature: ' "$S" ticket verify --config "$C" "$rogue"
grep -qF -- "${rogue##*.}" <<<"$LAST" && sg_fail "refusal printed the signature"
# ES256 key claiming to be the EdDSA validator: the header alg disagrees
# with the validator's key.
confused=$(issue --key "$T/ec.pem" --issuer ci-ed)
run 1 '^refused: ticket-bad-alg: ' "$S" ticket verify --config "$C" "$confused"
# alg none, built by hand.
b64() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
none="$(printf '{"alg":"none"}' | b64).$(printf '{"iss":"ci-ed","sub":"app","run":"1","jti":"j","iat":1,"nbf":1,"exp":4000000000}' | b64)."
run 1 '^refused: ticket-bad-alg: ' "$S" ticket verify --config "$C" "$none"
# Tampered payload: another product under the original signature.
IFS=. read -r h p s <<<"$good"
p2=$(printf '%s' "$p" | python3 -c 'import base64, sys
p = sys.stdin.read()
d = base64.urlsafe_b64decode(p + "=" * (-len(p) % 4))
d = d.replace(b"\x22sub\x22:\x22app\x22", b"\x22sub\x22:\x22xyz\x22")
print(base64.urlsafe_b64encode(d).decode().rstrip("="))')
[ "$p2" != "$p" ] || sg_fail "tampering did not change the payload"
run 1 '^refused: ticket-bad-signature: ' "$S" ticket verify --config "$C" "$h.$p2.$s"
run 1 '^refused: ticket-malformed: ' "$S" ticket verify --config "$C" "$h.$p"
run 1 '^refused: ticket-malformed: ' "$S" ticket verify --config "$C" "$good.AAAA"
run 1 '^refused: ticket-malformed: ' "$S" ticket verify --config "$C" "$h=.$p.$s"
run 1 '^refused: ticket-malformed: .*longer' "$S" ticket verify --config "$C" "$(head -c 9000 /dev/zero | tr '\0' A)"

# --- show ------------------------------------------------------------------------
run 0 '^UNVERIFIED' "$S" ticket show "$good"
grep -q '"sub": "app"' <<<"$LAST" || sg_fail "show lacks the claims"
grep -qF -- "$sig" <<<"$LAST" && sg_fail "show printed the signature"
run 0 '^UNVERIFIED' "$S" ticket show "@$T/ticket"
run 1 'ticket-bad-alg' "$S" ticket show "$none"
run 1 'ticket-malformed' "$S" ticket show "$h.$p.$s.x"

# --- config refused as the module would refuse it -------------------------------------
chmod 0666 "$C"
run 2 '' "$S" ticket verify --config "$C" "$good"
chmod 0600 "$C"

# --- issue refuses bad input ------------------------------------------------------
run 2 'required' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app
run 2 'NAME=RESULT' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app --run 1 --check x
run 2 'given twice' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app --run 1 --check x=pass --check x=fail
run 2 'sha256' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app --run 1 --digest sha256:abc
run 2 'ttl' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app --run 1 --ttl 5x
run 2 'max-uses' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app --run 1 --max-uses 0
run 2 'before' "$S" ticket issue --key "$T/ed.pem" --issuer ci-ed --product app --run 1 --exp -1h
run 2 'only Ed25519' "$S" ticket issue --key "$SG_RSA_KEY" --issuer ci-ed --product app --run 1

sg_pass "ticket keygen/issue/verify/show"

#!/bin/bash
# signgate id-token explain and jwks.  explain verifies with the module's
# code and says which claim roles match and why the others do not; jwks
# fetches an issuer's discovery document and JWKS from a local HTTPS server
# with its own CA (started here, 127.0.0.1 only; no network) and replaces
# the pinned file atomically, refusing what it cannot trust.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/integration/idtoken/idtoken-lib.sh"
sg_idt_config "max_uses = 1;"
conf=$SIGNGATE_CONF

# --- explain ----------------------------------------------------------------
t=$(idt_mint github) || sg_fail "mint"
out=$("$SG_TOOL" id-token explain --config "$conf" "$t") || sg_fail "explain: a good token: $out"
grep -q '^token: *verified' <<<"$out" || sg_fail "explain: not verified: $out"
grep -q 'repository_id *74' <<<"$out" || sg_fail "explain: claims not printed: $out"
grep -q 'gh-release *match' <<<"$out" || sg_fail "explain: gh-release does not match: $out"
grep -q 'rule release' <<<"$out" || sg_fail "explain: the rule is not named: $out"
grep -q "gl-release *no match: role gl-release needs a token of provider gitlab" <<<"$out" ||
	sg_fail "explain: gl-release's mismatch not explained: $out"
# from stdin, and nothing counted: the same token still signs through the module
printf '%s\n' "$t" | "$SG_TOOL" id-token explain --config "$conf" - >/dev/null || sg_fail "explain -"
openssl dgst -sha256 -binary /dev/null > "$SG_TMP/hash"
pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$t" --sign --id "$SG_EC_ID" \
	-m ECDSA -i "$SG_TMP/hash" -o "$SG_TMP/sig" >"$SG_TMP/log" 2>&1 ||
	sg_fail "explain used up the token: $(cat "$SG_TMP/log")"

b=$(idt_mint github ref=refs/heads/main ref_type=branch) || sg_fail "mint"
if out=$("$SG_TOOL" id-token explain --config "$conf" "$b"); then sg_fail "explain: a branch token matched"; fi
grep -q "gh-release *no match: role gh-release: ref_type 'branch' is not 'tag'" <<<"$out" ||
	sg_fail "explain: the branch is not named: $out"

e=$(idt_mint github --iat-offset -900 --lifetime 300) || sg_fail "mint"
if out=$("$SG_TOOL" id-token explain --config "$conf" "$e"); then sg_fail "explain: expired token matched"; fi
grep -q '^token: *token-expired' <<<"$out" || sg_fail "explain: expiry not said: $out"
grep -q 'jti: *github-' <<<"$out" || sg_fail "explain: the expired token's claims are not shown: $out"

if out=$("$SG_TOOL" id-token explain --config "$conf" "$(idt_mint github --alg none)"); then
	sg_fail "explain: alg none matched"
fi
grep -q '^token: *token-algorithm' <<<"$out" || sg_fail "explain: alg none: $out"

# --- who-can-sign and explain show claim roles ---------------------------------
out=$("$SG_TOOL" who-can-sign --config "$conf" 2>&1) || true
grep -q 'gh-release' <<<"$out" && grep -q 'repository_id' <<<"$out" ||
	sg_fail "who-can-sign does not show the claim role and its claims: $out"
out=$("$SG_TOOL" explain --config "$conf" --user root --key release-ec --mechanism ECDSA \
	--id-token "$t") || sg_fail "explain --id-token: $out"
grep -q 'role: *gh-release' <<<"$out" || sg_fail "explain --id-token: role not named: $out"
if out=$("$SG_TOOL" explain --config "$conf" --user root --key release-ec --mechanism ECDSA); then
	sg_fail "explain without a token allowed a claim role"
fi
grep -q 'reason: *token-missing' <<<"$out" || sg_fail "explain without a token: $out"

# --- jwks --------------------------------------------------------------------
command -v openssl >/dev/null || sg_skip "openssl missing"
"$SG_TOOL" id-token jwks --help 2>&1 | grep -q jwks || sg_fail "no jwks subcommand"
d="$SG_TMP/https"
mkdir -p "$d/www/.well-known"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 \
	-subj "/CN=signgate test CA" -addext basicConstraints=critical,CA:true \
	-addext keyUsage=critical,keyCertSign 2>/dev/null || sg_fail "CA"
openssl req -newkey rsa:2048 -nodes -keyout "$d/srv.key" -out "$d/srv.csr" -subj "/CN=127.0.0.1" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/ext"
openssl x509 -req -in "$d/srv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
	-extfile "$d/ext" -out "$d/srv.pem" 2>/dev/null || sg_fail "server cert"
$IDP "$SG_SRCDIR/tests/integration/idtoken/https_server.py" "$d/www" "$d/srv.pem" "$d/srv.key" \
	"$d/port" & srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$SG_TMP"' EXIT
for _ in $(seq 50); do [ -s "$d/port" ] && break; sleep 0.1; done
port=$(cat "$d/port") || sg_fail "the HTTPS server did not start"
iss="https://127.0.0.1:$port"
printf '{"issuer":"%s","jwks_uri":"%s/keys.json"}' "$iss" "$iss" > "$d/www/.well-known/openid-configuration"
cp "$IDP_DIR/jwks.json" "$d/www/keys.json"

out="$SG_TMP/fetched.json"
"$SG_TOOL" id-token jwks "$iss" --out "$out" --ca-file "$d/ca.pem" ||
	sg_fail "jwks fetch from the local issuer failed"
cmp -s "$out" "$IDP_DIR/jwks.json" || sg_fail "the fetched JWKS differs"
[ "$(stat -c %a "$out")" = 644 ] || sg_fail "mode $(stat -c %a "$out")"
# the module accepts the fetched file
sed -i "s|$IDP_DIR/jwks.json|$out|g" "$conf"
"$SG_TOOL" check "$conf" >/dev/null 2>&1 || sg_fail "check refuses the fetched JWKS"

# refusals leave the file as it was
echo '{"keys":[{"kty":"oct","kid":"h","k":"AA"}]}' > "$d/www/keys.json"
before=$(sha256sum < "$out")
if "$SG_TOOL" id-token jwks "$iss" --out "$out" --ca-file "$d/ca.pem" 2>"$SG_TMP/err"; then
	sg_fail "a JWKS with no signing key was written"
fi
grep -q 'no RS256 or ES256' "$SG_TMP/err" || sg_fail "no reason: $(cat "$SG_TMP/err")"
cp "$IDP_DIR/jwks.json" "$d/www/keys.json"
if "$SG_TOOL" id-token jwks "$iss" --out "$out" 2>"$SG_TMP/err"; then
	sg_fail "a server with an unknown CA was trusted"
fi
printf '{"issuer":"https://other.example","jwks_uri":"%s/keys.json"}' "$iss" > "$d/www/.well-known/openid-configuration"
if "$SG_TOOL" id-token jwks "$iss" --out "$out" --ca-file "$d/ca.pem" 2>"$SG_TMP/err"; then
	sg_fail "a discovery document for another issuer was accepted"
fi
grep -q "names issuer 'https://other.example'" "$SG_TMP/err" || sg_fail "issuer mismatch: $(cat "$SG_TMP/err")"
printf '{"issuer":"%s","jwks_uri":"http://127.0.0.1:%s/keys.json"}' "$iss" "$port" > "$d/www/.well-known/openid-configuration"
if "$SG_TOOL" id-token jwks "$iss" --out "$out" --ca-file "$d/ca.pem" 2>"$SG_TMP/err"; then
	sg_fail "a plain-http jwks_uri was followed"
fi
if "$SG_TOOL" id-token jwks "http://127.0.0.1:$port" --out "$out" 2>/dev/null; then
	sg_fail "an http issuer was accepted"
fi
[ "$(sha256sum < "$out")" = "$before" ] || sg_fail "a refused fetch changed the file"
sg_pass

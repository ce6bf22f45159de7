#!/bin/bash
# SIGNGATE_DEBUG: off by default (not one "signgate[" line); with areas,
# the reason of each decision on stderr, in the module and in the tools;
# an unknown area is named.
source "${SIGNGATE_SRCDIR:?}/tests/lib/fixture.sh"
C=$SG_TMP/signgate.conf
sg_config "$C" "$(sg_allow_policy)"
export SIGNGATE_CONF=$C
printf 'data' > "$SG_TMP/data"
sign() { pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin x --sign \
	-m SHA1-RSA-PKCS --id "$SG_RSA_ID" -i "$SG_TMP/data" -o "$SG_TMP/sig" 2>&1 || true; }

out=$(sign)
grep -q 'signgate\[' <<<"$out" && sg_fail "debug output without SIGNGATE_DEBUG: $out"
echo "ok: silent by default"

out=$(SIGNGATE_DEBUG=policy sign)
grep -qE '^signgate\[policy\] [0-9]+: C_SignInit deny mechanism-forbidden key=test-rsa' <<<"$out" ||
	sg_fail "no policy line for the refusal: $out"
grep -qE '^signgate\[policy\] [0-9]+:   why: .*SHA1-RSA-PKCS' <<<"$out" || sg_fail "no why line: $out"
grep -q 'signgate\[config\]' <<<"$out" && sg_fail "config lines without the config area: $out"
echo "ok: SIGNGATE_DEBUG=policy names the refusal and why"

out=$(SIGNGATE_DEBUG=config,p11 sign)
grep -qE "^signgate\[config\] [0-9]+: config $C \(SIGNGATE_CONF\)" <<<"$out" || sg_fail "no config line: $out"
grep -qE "^signgate\[config\] [0-9]+: $C loaded: 1 roles, 2 keys, 1 rules" <<<"$out" || sg_fail "no loaded line: $out"
grep -qE '^signgate\[p11\] [0-9]+: C_Initialize: backend ' <<<"$out" || sg_fail "no p11 line: $out"
grep -q 'signgate\[policy\]' <<<"$out" && sg_fail "policy lines without the policy area: $out"
echo "ok: config and p11 areas"

out=$(SIGNGATE_DEBUG=policy,bogus sign)
grep -q "SIGNGATE_DEBUG: unknown area 'bogus'" <<<"$out" || sg_fail "unknown area not named: $out"
out=$(SIGNGATE_DEBUG=config "$SG_TOOL" check "$C" 2>&1)
grep -qE "^signgate\[config\] [0-9]+: $C loaded" <<<"$out" || sg_fail "the tools do not debug: $out"
sg_pass "SIGNGATE_DEBUG in the module and the tools"

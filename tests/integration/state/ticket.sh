#!/bin/bash
# Ticket uses across hosts: a ticket with max_uses = 1 signs exactly once
# across two hosts sharing the PostgreSQL store, with 4 processes per
# host presenting it at once; the others are refused with
# ticket-exhausted; the database counts one use for its jti.  A second
# ticket with max_uses = 3 gives exactly 3.
source "$(dirname "$0")/state-lib.sh"

v="$SG_TMP/validator.pem"
"$SG_TOOL" ticket keygen --out "$v" >/dev/null 2>&1 || sg_fail "ticket keygen"
pol="validators = ( { name = \"ci-validator\"; public_key = \"$SG_TMP/validator.pub.pem\"; } );
roles = ( { name = \"release\"; users = [ $(id -u) ]; } );
keys = ( { name = \"test-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; fingerprint = \"sha256:$SG_EC_FP\";
           products = [ \"app\" ]; mechanisms = [ \"ECDSA\" ]; } );
rules = ( { name = \"release\"; roles = [ \"release\" ]; keys = [ \"test-ec\" ];
            checks = [ \"unit-tests\" ]; } );"
st_write a "$pol"
st_write b "$pol"
st_tool a state init >/dev/null || sg_fail "signgate state init"

race() { # race TICKET TAG: 4 processes per host present TICKET at once
	local t=$1 tag=$2 pids=() h p
	for h in a b; do
		for p in 1 2 3 4; do
			( st_sign "$h" "$SG_TMP/$tag-$h-$p" "$t" && echo ok || echo no ) > "$SG_TMP/$tag-res-$h-$p" &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p"; done
	cat "$SG_TMP/$tag"-res-* | grep -c '^ok$' || true
}

t1=$("$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 1 \
	--check unit-tests=pass --max-uses 1 --jti once-$$ 2>/dev/null) || sg_fail "ticket issue"
ok=$(race "$t1" once)
st_log "max_uses = 1: $ok signature(s) of 8 concurrent attempts"
[ "$ok" = 1 ] || sg_fail "a ticket with max_uses = 1 signed $ok times across two hosts"
db=$(sg_psql "SELECT uses FROM signgate_ticket_use WHERE jti = 'once-$$'")
[ "$db" = 1 ] || sg_fail "the database counts $db uses, not 1"
sg_rsyslog_wait_for '"reason":"ticket-exhausted"' 7 10 || sg_fail "ticket-exhausted records missing"
st_sign a "$SG_TMP/later" "$t1" && sg_fail "the used ticket signed again on host a"
st_sign b "$SG_TMP/later" "$t1" && sg_fail "the used ticket signed again on host b"

t3=$("$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 2 \
	--check unit-tests=pass --max-uses 3 --jti thrice-$$ 2>/dev/null) || sg_fail "ticket issue"
ok=$(race "$t3" thrice)
st_log "max_uses = 3: $ok signatures of 8 concurrent attempts"
[ "$ok" = 3 ] || sg_fail "a ticket with max_uses = 3 signed $ok times across two hosts"
sg_pass "max_uses holds across two hosts"

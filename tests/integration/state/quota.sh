#!/bin/bash
# One quota across hosts: a quota of 5 per day (per rule) gives exactly 5
# signatures across two hosts sharing the PostgreSQL store, under
# concurrent load (4 client processes per host, 3 attempts each: 24
# attempts); the other 19 are refused with quota-exhausted and the
# database holds 5.
source "$(dirname "$0")/state-lib.sh"

st_config a 'quota = { count = 5; period = "1d"; per = "rule"; };'
st_config b 'quota = { count = 5; period = "1d"; per = "rule"; };'
st_tool a state init >/dev/null || sg_fail "signgate state init"

pids=()
for h in a b; do
	for p in 1 2 3 4; do
		(
			for i in 1 2 3; do
				if st_sign "$h" "$SG_TMP/sig-$h-$p-$i"; then echo ok; else echo no; fi
			done > "$SG_TMP/res-$h-$p"
		) &
		pids+=($!)
	done
done
for p in "${pids[@]}"; do wait "$p"; done

ok=$(cat "$SG_TMP"/res-* | grep -c '^ok$' || true)
no=$(cat "$SG_TMP"/res-* | grep -c '^no$' || true)
st_log "signatures: $ok, refusals: $no (a: $(cat "$SG_TMP"/res-a-* | grep -c '^ok$' || true), b: $(cat "$SG_TMP"/res-b-* | grep -c '^ok$' || true))"
[ "$ok" = 5 ] || sg_fail "expected exactly 5 signatures across both hosts, got $ok"
[ "$no" = 19 ] || sg_fail "expected 19 refusals, got $no"
grep -l 'CKR_FUNCTION_REJECTED\|(0x200)' "$SG_TMP"/sig-*.out >/dev/null || sg_fail "refusals did not say CKR_FUNCTION_REJECTED"

db=$(sg_psql "SELECT count FROM signgate_quota WHERE rule = 'testers-sign' AND caller = ''")
[ "$db" = 5 ] || sg_fail "the database counts $db, not 5"
sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 5 10 || sg_fail "allow records missing"
# Every refusal has its deny record: quota-exhausted, or state-unavailable
# when the database answered later than timeout_ms on a loaded machine (a
# refusal either way, never a signature past the quota).
sg_rsyslog_wait_for '"outcome":"deny","reason":"(quota-exhausted|state-unavailable)"' 19 20 ||
	sg_fail "deny records missing: $(grep -c quota-exhausted "$SG_AUDIT_LOG") quota-exhausted, $(grep -c state-unavailable "$SG_AUDIT_LOG") state-unavailable, of 19; all deny reasons: $(grep -o '"outcome":"deny","reason":"[^"]*"' "$SG_AUDIT_LOG" | sort | uniq -c | tr '\n' ' '); the refused clients said: $(for o in "$SG_TMP"/sig-*.out; do [ -s "${o%.out}" ] || tail -n 2 "$o"; done | sort | uniq -c | tr '\n' ' ')"
grep -q '"reason":"quota-exhausted"' "$SG_AUDIT_LOG" || sg_fail "no quota-exhausted record at all"
n=$(st_audit_count '"outcome":"allow"')
[ "$n" = 5 ] || sg_fail "$n allow records, expected 5"
# One more on either host: still refused.
st_sign a "$SG_TMP/late" && sg_fail "a sixth signature on host a"
st_sign b "$SG_TMP/late" && sg_fail "a sixth signature on host b"

# Control: the same load with each host on its own file store gives each
# host its own quota (10): what the shared store is for.
for h in a b; do
	st_config "$h" 'quota = { count = 5; period = "1d"; per = "rule"; };' \
		"state = { store = \"files\"; dir = \"$SG_TMP/host$h/state\"; };"
done
rm -f "$SG_TMP"/res-*
pids=()
for h in a b; do
	for p in 1 2 3 4; do
		( for i in 1 2 3; do st_sign "$h" "$SG_TMP/fsig-$h-$p-$i" && echo ok || echo no; done > "$SG_TMP/res-$h-$p" ) &
		pids+=($!)
	done
done
for p in "${pids[@]}"; do wait "$p"; done
ok=$(cat "$SG_TMP"/res-* | grep -c '^ok$' || true)
[ "$ok" = 10 ] || sg_fail "control: two file stores should give 10 signatures, got $ok"
st_log "control: two separate file stores gave $ok"
sg_pass "5 signatures of 24 concurrent attempts on two hosts, counter 5"

#!/bin/bash
# The store goes away and comes back.
#  - PostgreSQL stopped: counted signatures are refused with
#    state-unavailable (audit) and one clear stderr line, quickly;
#    decisions that need nothing from the store go on (listing objects,
#    a policy denial keeps its own reason).
#  - PostgreSQL hanging (postmaster stopped with SIGSTOP): refused within
#    timeout_ms, not hung.
#  - Started again: signing resumes on both hosts, and the counter equals
#    the signatures made: none lost, none counted twice.
#  - Stopped and started under load (4 signers per host, running before,
#    during and after): never more
#    signatures than the counter holds; the counter exceeds them at most by
#    the refusals whose outcome was unknown (counted as used).
source "$(dirname "$0")/state-lib.sh"

ST_TIMEOUT_MS=800
st_config a 'quota = { count = 1000; period = "1d"; per = "rule"; };'
st_config b 'quota = { count = 1000; period = "1d"; per = "rule"; };'
st_tool a state init >/dev/null || sg_fail "signgate state init"
counter() { sg_psql "SELECT coalesce((SELECT count FROM signgate_quota WHERE rule = 'testers-sign'), 0)"; }
allows() { st_audit_count '"outcome":"allow"'; }

made=0
for h in a b a; do st_sign $h "$SG_TMP/p$made" || sg_fail "host $h cannot sign: $(cat "$SG_TMP/p$made.out")"; made=$((made + 1)); done
[ "$(counter)" = 3 ] || sg_fail "counter $(counter) after 3 signatures"

# --- stopped --------------------------------------------------------------
sg_pg_stop
start=$(date +%s%N)
st_sign a "$SG_TMP/down1" && sg_fail "signed with the store stopped"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
grep -qE 'CKR_FUNCTION_REJECTED|\(0x200\)' "$SG_TMP/down1.out" || sg_fail "not CKR_FUNCTION_REJECTED: $(cat "$SG_TMP/down1.out")"
n=$(grep -c 'signgate: state store unavailable' "$SG_TMP/down1.out" || true)
[ "$n" = 1 ] || sg_fail "expected one stderr line about the store, got $n: $(cat "$SG_TMP/down1.out")"
st_log "store stopped: refused in $ms ms: $(grep 'signgate: state store' "$SG_TMP/down1.out")"
st_sign b "$SG_TMP/down2" && sg_fail "host b signed with the store stopped"
sg_rsyslog_wait_for '"reason":"state-unavailable"' 2 10 || sg_fail "no state-unavailable record"
# What needs nothing from the store goes on: the token, login, objects ...
env SOFTHSM2_CONF="$SG_TMP/hosta/softhsm2.conf" SIGNGATE_CONF="$SG_TMP/hosta/signgate.conf" \
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin x -O > "$SG_TMP/list.out" 2>&1 ||
	sg_fail "listing objects failed with the store down: $(cat "$SG_TMP/list.out")"
grep -q "$SG_EC_LABEL" "$SG_TMP/list.out" || sg_fail "objects not listed"
# ... and a policy denial keeps its reason (decided before the store).
st_write a "roles = ( { name = \"others\"; users = [ 99999 ]; } );
keys = ( { name = \"test-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; fingerprint = \"sha256:$SG_EC_FP\"; products = [ \"app\" ]; mechanisms = [ \"ECDSA\" ]; } );
rules = ( { name = \"r\"; roles = [ \"others\" ]; keys = [ \"test-ec\" ]; } );"
st_sign a "$SG_TMP/down3" && sg_fail "signed without a role"
sg_rsyslog_wait_for '"reason":"no-role"' 1 10 || sg_fail "the policy denial did not keep its reason"
grep -q 'state store' "$SG_TMP/down3.out" && sg_fail "a policy denial touched the store: $(cat "$SG_TMP/down3.out")"
st_config a 'quota = { count = 1000; period = "1d"; per = "rule"; };'

# --- hanging: connect never answered -----------------------------------------
sg_pg_start
kill -STOP "$SG_PG_PID"
start=$(date +%s%N)
st_sign a "$SG_TMP/hang" && { kill -CONT "$SG_PG_PID"; sg_fail "signed with the store hanging"; }
ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$SG_PG_PID"
grep -q 'no answer within timeout_ms' "$SG_TMP/hang.out" || sg_fail "not a timeout: $(cat "$SG_TMP/hang.out")"
st_log "store hanging: refused after $ms ms (timeout_ms $ST_TIMEOUT_MS)"
[ "$ms" -lt $((ST_TIMEOUT_MS + 2500)) ] || sg_fail "refusal took $ms ms with timeout_ms = $ST_TIMEOUT_MS"

# --- back: resumes, exact counter ----------------------------------------------
for h in b a b; do st_sign $h "$SG_TMP/q$made" || sg_fail "host $h cannot sign after restart: $(cat "$SG_TMP/q$made.out")"; made=$((made + 1)); done
c=$(counter)
[ "$c" = "$made" ] || sg_fail "counter $c, signatures made $made: counts lost or doubled"
sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' "$made" 10 || sg_fail "allow records missing"
[ "$(allows)" = "$made" ] || sg_fail "$(allows) allow records, $made signatures"
st_log "after restart: counter $c = signatures $made"

# --- stopped and started under load -----------------------------------------------
pids=()
for h in a b; do
	for p in 1 2 3 4; do
		( i=0; while [ ! -e "$SG_TMP/stop-load" ]; do i=$((i + 1)); st_sign "$h" "$SG_TMP/l-$h-$p-$i" && echo ok || echo no; sleep 0.05; done > "$SG_TMP/lres-$h-$p" ) &
		pids+=($!)
	done
done
# Signers run until told to stop: before, during and after the outage,
# however fast this machine is.
sleep 1.5
sg_pg_stop
sleep 1.5
sg_pg_start
sleep 1.5
touch "$SG_TMP/stop-load"
for p in "${pids[@]}"; do wait "$p"; done
ok=$(cat "$SG_TMP"/lres-* | grep -c '^ok$' || true)
no=$(cat "$SG_TMP"/lres-* | grep -c '^no$' || true)
total=$((made + ok))
c=$(counter)
unknown=$(cat "$SG_TMP"/l-*.out 2>/dev/null | grep -cE 'state store unavailable.*(statement|no answer|server closed)' || true)
st_log "under load: $ok signed, $no refused ($unknown with an unknown outcome); counter $c, signatures in all $total"
[ "$no" -gt 0 ] || sg_fail "the outage under load refused nothing"
[ "$ok" -gt 0 ] || sg_fail "nothing signed under load"
[ "$c" -ge "$total" ] || sg_fail "counter $c below the $total signatures made: a unit was lost"
[ "$c" -le $((total + unknown)) ] || sg_fail "counter $c above signatures $total + unknown outcomes $unknown"
sleep 0.5
sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' "$total" 10 || sg_fail "allow records missing"
[ "$(allows)" = "$total" ] || sg_fail "$(allows) allow records, $total signatures"
# And it signs again.
st_sign a "$SG_TMP/end" || sg_fail "host a cannot sign at the end: $(cat "$SG_TMP/end.out")"
sg_pass "outage refused with state-unavailable; counter exact after restart"

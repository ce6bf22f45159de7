#!/bin/bash
# Two broker instances, one PostgreSQL: two `p11-kit server`s with
# signgate as provider (mode = "broker": the caller is the socket's peer),
# each with its own config, token copy and state directory, one shared
# database.  Clients sign through p11-kit-client.so (a p11-kit-remote, so
# a fresh signgate process, per connection).
#  - a quota of 5 per day gives exactly 5 signatures across both brokers
#    with 4 client processes per broker (3 attempts each);
#  - a ticket with max_uses = 1 signs exactly once across both;
#  - `signgate revoke` against broker a's config: broker b's next
#    connection is refused (key-revoked); unrevoke: it signs again;
#  - PostgreSQL stopped: listing through a broker still works (the store
#    is connected lazily, only for decisions that need it), signing is
#    refused (state-unavailable); started again: signing resumes and the
#    counter equals the signatures made;
#  - the per-connection cost: the median time of one signing connection
#    through a broker on the file store and on PostgreSQL (printed).
source "$(dirname "$0")/state-lib.sh"

BR_CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -e "$BR_CLIENT" ] || sg_skip "$BR_CLIENT missing"
command -v p11-kit >/dev/null || sg_skip "p11-kit missing"

v="$SG_TMP/validator.pem"
"$SG_TOOL" ticket keygen --out "$v" >/dev/null 2>&1 || sg_fail "ticket keygen"
policy() { # policy RULE_EXTRA
	cat <<POL
mode = "broker";
validators = ( { name = "ci-validator"; public_key = "$SG_TMP/validator.pub.pem"; } );
roles = ( { name = "signers"; users = [ $(id -u) ]; } );
keys = ( { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; fingerprint = "sha256:$SG_EC_FP";
           products = [ "app" ]; mechanisms = [ "ECDSA" ]; } );
rules = ( { name = "brokered"; roles = [ "signers" ]; keys = [ "test-ec" ]; $1 } );
POL
}
st_write a "$(policy 'quota = { count = 5; period = "1d"; per = "rule"; };')"
st_write b "$(policy 'quota = { count = 5; period = "1d"; per = "rule"; };')"
st_tool a state init >/dev/null || sg_fail "signgate state init"

srv_pids=()
server_start() { # server_start HOST
	local h=$1 i
	rm -f "$SG_TMP/host$h/p11.sock"
	env SIGNGATE_CONF="$SG_TMP/host$h/signgate.conf" SOFTHSM2_CONF="$SG_TMP/host$h/softhsm2.conf" \
		p11-kit server -f --provider "$SG_MODULE" -n "$SG_TMP/host$h/p11.sock" "pkcs11:token=$SG_TOKEN" \
		> "$SG_TMP/host$h/server.log" 2>&1 &
	srv_pids+=($!)
	for i in $(seq 1 100); do [ -S "$SG_TMP/host$h/p11.sock" ] && return 0; sleep 0.05; done
	cat "$SG_TMP/host$h/server.log"
	sg_fail "p11-kit server for host $h did not start"
}
servers_stop() {
	local p
	for p in "${srv_pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
	srv_pids=()
}
st_br_prev_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
# shellcheck disable=SC2064
trap "servers_stop; $st_br_prev_trap" EXIT
server_start a
server_start b

# bsign HOST OUT [PIN]: one ECDSA signature through HOST's broker
bsign() {
	local h=$1 out=$2 pin=${3:-anything}
	local try rc
	# as st_sign: an attempt that never reached a decision (SoftHSM's
	# transient CKR_GENERAL_ERROR on C_GetTokenInfo under load: "No slots.")
	# is made again
	for try in 1 2 3 4 5; do
		rm -f "$out"
		rc=0
		P11_KIT_SERVER_ADDRESS="unix:path=$SG_TMP/host$h/p11.sock" \
			pkcs11-tool --module "$BR_CLIENT" --token-label "$SG_TOKEN" --login --pin "$pin" \
			--sign --id "$SG_EC_ID" -m ECDSA --signature-format openssl \
			-i "$SG_TMP/data.sha256" -o "$out" > "$out.out" 2>&1 || rc=$?
		[ $rc -ne 0 ] && grep -qE '^No slot|C_GetTokenInfo failed' "$out.out" || break
		sleep 0.$((RANDOM % 5 + 1))
	done
	[ $rc -eq 0 ] || return 1
	[ -s "$out" ] || return 1
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$out" "$SG_TMP/data" >/dev/null 2>&1 ||
		sg_fail "broker $h returned a signature that does not verify"
}
race() { # race TAG [PIN]: 4 clients per broker, 3 attempts each; prints the signatures
	local tag=$1 pin=${2:-anything} pids=() h p i
	for h in a b; do
		for p in 1 2 3 4; do
			( for i in 1 2 3; do bsign "$h" "$SG_TMP/$tag-$h-$p-$i" "$pin" && echo ok || echo no; done > "$SG_TMP/$tag-res-$h-$p" ) &
			pids+=($!)
		done
	done
	for p in "${pids[@]}"; do wait "$p"; done
	cat "$SG_TMP/$tag"-res-* | grep -c '^ok$' || true
}

# --- quota ------------------------------------------------------------------
ok=$(race quota)
st_log "quota 5/day: $ok signatures of 24 concurrent attempts through two brokers"
[ "$ok" = 5 ] || sg_fail "expected exactly 5 signatures across both brokers, got $ok"
[ "$(sg_psql "SELECT count FROM signgate_quota WHERE rule = 'brokered'")" = 5 ] || sg_fail "database does not count 5"
refused=$(grep -lE 'CKR_FUNCTION_REJECTED|\(0x200\)' "$SG_TMP"/quota-*.out | wc -l)
odd() { # the attempts that neither signed nor were refused by signgate
	local o
	for o in "$SG_TMP"/quota-*.out; do
		[ -s "${o%.out}" ] && continue
		grep -qE 'CKR_FUNCTION_REJECTED|\(0x200\)' "$o" || { echo "== $o"; cat "$o"; }
	done
}
[ "$refused" = 19 ] || sg_fail "expected 19 attempts refused by signgate, got $refused; the others: $(odd)"
# quota-exhausted, or state-unavailable when the database answered later
# than timeout_ms on a loaded machine: a refusal either way
sg_rsyslog_wait_for '"outcome":"deny","reason":"(quota-exhausted|state-unavailable)"' 19 20 ||
	sg_fail "deny records: $(grep -c quota-exhausted "$SG_AUDIT_LOG") quota-exhausted, $(grep -c state-unavailable "$SG_AUDIT_LOG") state-unavailable, of 19"
grep -q '"reason":"quota-exhausted","detail":"signature quota used up' "$SG_AUDIT_LOG" ||
	sg_fail "no quota-exhausted record at all"
n=$(grep -E '"outcome":"deny","reason":"(quota-exhausted|state-unavailable)"' "$SG_AUDIT_LOG" | grep -c '"caller":"peer"' || true)
[ "$n" -ge 19 ] || sg_fail "records do not name the peer ($n of 19)"

# --- ticket: max_uses = 1 (the rule without a quota, the ticket required) ----
st_write a "$(policy 'checks = [ "unit-tests" ];')"
st_write b "$(policy 'checks = [ "unit-tests" ];')"
t1=$("$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 7 \
	--check unit-tests=pass --max-uses 1 --jti broker-once-$$ 2>/dev/null) || sg_fail "ticket issue"
ok=$(race ticket "$t1")
st_log "max_uses = 1: $ok signature(s) of 24 concurrent attempts through two brokers"
[ "$ok" = 1 ] || sg_fail "a ticket with max_uses = 1 signed $ok times across two brokers"
[ "$(sg_psql "SELECT uses FROM signgate_ticket_use WHERE jti = 'broker-once-$$'")" = 1 ] || sg_fail "uses != 1"

# --- kill switch ---------------------------------------------------------------
st_write a "$(policy '')"
st_write b "$(policy '')"
bsign b "$SG_TMP/pre" || sg_fail "broker b cannot sign: $(cat "$SG_TMP/pre.out")"
st_tool a revoke test-ec --reason "broker test: HSM partition compromised" >/dev/null || sg_fail "revoke"
bsign b "$SG_TMP/rev" && sg_fail "broker b signed with a key revoked through host a"
sg_rsyslog_wait_for '"reason":"key-revoked","detail":"revoked \(signgate revoke\): broker test: HSM partition compromised"' 1 10 ||
	sg_fail "no key-revoked record from broker b"
st_tool b unrevoke test-ec >/dev/null || sg_fail "unrevoke"
bsign a "$SG_TMP/unrev" || sg_fail "broker a cannot sign after unrevoke: $(cat "$SG_TMP/unrev.out")"

# --- outage ------------------------------------------------------------------------
st_write a "$(policy 'quota = { count = 1000; period = "1d"; per = "caller"; };')"
st_write b "$(policy 'quota = { count = 1000; period = "1d"; per = "caller"; };')"
made=0
for h in a b; do bsign $h "$SG_TMP/o$made" || sg_fail "broker $h: $(cat "$SG_TMP/o$made.out")"; made=$((made + 1)); done
sg_pg_stop
P11_KIT_SERVER_ADDRESS="unix:path=$SG_TMP/hosta/p11.sock" pkcs11-tool --module "$BR_CLIENT" \
	--token-label "$SG_TOKEN" --login --pin x -O > "$SG_TMP/list.out" 2>&1 ||
	sg_fail "listing through the broker failed with the store down: $(cat "$SG_TMP/list.out")"
bsign a "$SG_TMP/down" && sg_fail "broker a signed with the store down"
bsign b "$SG_TMP/down" && sg_fail "broker b signed with the store down"
sg_rsyslog_wait_for '"reason":"state-unavailable"' 2 10 || sg_fail "no state-unavailable records"
grep -q 'signgate: state store unavailable' "$SG_TMP/hosta/server.log" ||
	sg_fail "no stderr line from broker a: $(tail -5 "$SG_TMP/hosta/server.log")"
sg_pg_start
for h in b a; do bsign $h "$SG_TMP/o$made" || sg_fail "broker $h after restart: $(cat "$SG_TMP/o$made.out")"; made=$((made + 1)); done
c=$(sg_psql "SELECT count FROM signgate_quota WHERE rule = 'brokered' AND caller = 'uid:$(id -u)'")
[ "$c" = "$made" ] || sg_fail "counter $c, signatures $made"
st_log "outage: refused while stopped, resumed after; counter $c = signatures $made"

# --- per-connection cost -----------------------------------------------------------
cost() { # cost HOST N: median ms of one signing connection
	local h=$1 n=$2 i t0 t1 ts=()
	for i in $(seq 1 "$n"); do
		t0=$(date +%s%N)
		bsign "$h" "$SG_TMP/cost" || sg_fail "cost run: $(cat "$SG_TMP/cost.out")"
		t1=$(date +%s%N)
		ts+=($(( (t1 - t0) / 1000 )))
	done
	printf '%s\n' "${ts[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1000 }'
}
st_write a "$(policy 'quota = { count = 100000; period = "1d"; per = "caller"; };')" \
	"state = { store = \"files\"; dir = \"$SG_TMP/hosta/state\"; };"
st_write b "$(policy 'quota = { count = 100000; period = "1d"; per = "caller"; };')"
n=${ST_COST_RUNS:-11}
fa=$(cost a "$n"); pb=$(cost b "$n"); fa2=$(cost a "$n"); pb2=$(cost b "$n")
st_log "one signing connection (pkcs11-tool through p11-kit-client, counted quota), median of $n, two alternations: file store $fa / $fa2 ms, PostgreSQL $pb / $pb2 ms"
sg_pass "two brokers, one PostgreSQL: quota, max_uses, kill switch and outage hold"

#!/bin/bash
# The journal in broker mode: p11-kit server (one p11-kit-remote process
# per connection) under a service account, callers of another uid.  Every
# connection appends to one journal in one host-wide sequence and keyed
# chain; the caller can neither read nor write the journal or its keys.
source "$SIGNGATE_SRCDIR/tests/integration/broker/broker-lib.sh"

KEYS=$BR_SVC_DIR/audit-keys
JDIR=$BR_SVC_DIR/journal
J=$JDIR/audit.journal
"$SG_TOOL" audit keygen --owner "$BR_SVC" "$KEYS" >/dev/null || sg_fail "keygen"
chown "$BR_SVC:$BR_SVC" "$KEYS"
mkdir -p "$JDIR"; chown "$BR_SVC:$BR_SVC" "$JDIR"; chmod 0700 "$JDIR"
[ "$(stat -c %U "$KEYS/audit-mac.key")" = "$BR_SVC" ] || sg_fail "keygen --owner did not give the key to the service"

# br_write_config with the journal (its own audit group)
tmp=$(mktemp "$BR_SVC_DIR/.conf.XXXXXX")
cat > "$tmp" <<CONF
backend = { module = "$SG_SOFTHSM"; tokens = [ "$SG_TOKEN" ]; pin_file = "$SG_PIN_FILE"; };
state_dir = "$BR_SVC_DIR/state";
mode = "broker";
audit = { enabled = true; required = true; format = "json"; socket = "$SG_LOG_SOCK";
  journal = "$J"; mac_key = "$KEYS/audit-mac.key"; checkpoint_key = "$KEYS/audit-checkpoint.key"; };
$(br_policy_text)
CONF
chown "$BR_SVC:$BR_SVC" "$tmp"; chmod 0600 "$tmp"; mv -f "$tmp" "$BR_CONF"
br_server_start

# six connections, each one pkcs11-tool signature by alice (one after the
# other: six connections at once fail with "No slots" here with or without
# the journal — a broker issue of its own, reported, not this test's subject;
# processes appending concurrently are in the unit test and audit-journal-crash)
for i in 1 2 3 4 5 6; do
	br_as alice pkcs11-tool --module "$BR_CLIENT" --token-label "$SG_TOKEN" --login \
		--pin "$BR_DUMMY_PIN" --sign --mechanism SHA256-RSA-PKCS --id "$SG_RSA_ID" \
		--input-file "$BR_DATA" --output-file "$SG_TMP/$BR_ALICE/sig$i" >"$SG_TMP/out$i" 2>&1 ||
		sg_fail "connection $i: signing failed: $(cat "$SG_TMP/out$i"; tail -5 "$SG_TMP/server.log")"
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/$BR_ALICE/sig$i" "$BR_DATA" >/dev/null ||
		sg_fail "signature $i does not verify"
done
br_server_stop

[ "$(stat -c '%U %a' "$J")" = "$BR_SVC 600" ] || sg_fail "journal is $(stat -c '%U %a' "$J"), want $BR_SVC 600"
if br_as alice cat "$J" >/dev/null 2>&1; then sg_fail "the caller can read the journal"; fi
if br_as alice sh -c "echo forged >> '$J'" 2>/dev/null; then sg_fail "the caller can write the journal"; fi
if br_as alice cat "$KEYS/audit-mac.key" >/dev/null 2>&1; then sg_fail "the caller can read the MAC key"; fi

python3 - "$J" "$BR_ALICE" <<'PY' || sg_fail "journal structure"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len({r["journal"] for r in recs}) == 1
assert [r["seq"] for r in recs] == list(range(1, len(recs) + 1))
for a, b in zip(recs, recs[1:]):
    assert b["prev"] == a["chain"]
signs = [r for r in recs if r["event"] == "sign" and r["outcome"] == "allow"]
assert len(signs) == 6, len(signs)
assert all(r["user"] == sys.argv[2] and r.get("caller") == "peer" for r in signs), signs
inst = {r["instance"] for r in signs}
assert len(inst) == 6, inst      # one p11-kit-remote process per connection, one chain
print(len(recs), "records from", len({r["instance"] for r in recs}), "processes in one sequence")
PY
last=$(tail -n1 "$J" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["chain"])')
sg_rsyslog_wait_for "$last" 1 10 || sg_fail "syslog copy incomplete"
"$SG_TOOL" audit --verify-key "$KEYS/audit-checkpoint.pub" --mac-key "$KEYS/audit-mac.key" \
	"$J" "$SG_AUDIT_LOG" >"$SG_TMP/verify.out" 2>&1 || { cat "$SG_TMP/verify.out"; sg_fail "not intact"; }
sed -n '1p;/^Journals/,$p' "$SG_TMP/verify.out"
grep -q '6 signatures' "$SG_TMP/verify.out" || sg_fail "want 6 signatures"
sg_pass "broker journal"

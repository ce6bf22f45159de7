#!/bin/bash
# signgate inventory on the throwaway token, with a policy and a token
# that provoke every finding; each is asserted with its severity (from
# --json, parsed with python3's standard library), then --fail-on's exit
# status, the table, the Graphviz output and the error exits.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || sg_skip "python3 not installed"
K=$SG_TMP/k
mkdir -p "$K"

# --- first, the fixture's token under a policy that fits it: no findings ---------------
sg_config "$SG_TMP/clean.conf" "$(sg_allow_policy)"
rc=0
"$SG_TOOL" inventory --config "$SG_TMP/clean.conf" --fail-on info > "$SG_TMP/clean.txt" || rc=$?
[ "$rc" = 0 ] || { cat "$SG_TMP/clean.txt"; sg_fail "clean policy: exit $rc"; }
grep -q 'findings: 0 critical, 0 high, 0 medium, 0 low, 0 info' "$SG_TMP/clean.txt" || sg_fail "clean policy has findings"
echo "ok: clean policy, no findings, exit 0 with --fail-on info"

# --- the token: extra keys next to the fixture's two -------------------------
# an ungoverned key, generated on the token itself
sg_p11 --keypairgen --key-type EC:prime256v1 --id 09 --label stray-key >/dev/null 2>&1 ||
	sg_fail "pkcs11-tool --keypairgen failed"
# a look-alike: carries the ID and label the policy gives 'ghost-key'
sg_p11 --keypairgen --key-type EC:prime256v1 --id 0c --label ghost >/dev/null 2>&1 ||
	sg_fail "pkcs11-tool --keypairgen (look-alike) failed"
# imported keys whose fingerprints the test knows: a revoked one, an expired one
import_key() { # NAME ID
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/$1.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$K/$1.pem" -outform DER -out "$K/$1.p8"
	openssl pkey -in "$K/$1.pem" -pubout -outform DER -out "$K/$1.pub.der"
	sg_p11 --write-object "$K/$1.p8" --type privkey --id "$2" --label "$1" >/dev/null 2>&1
	sg_p11 --write-object "$K/$1.pub.der" --type pubkey --id "$2" --label "$1" >/dev/null 2>&1
	openssl dgst -sha256 -r "$K/$1.pub.der" | cut -d' ' -f1
}
OLD_FP=$(import_key old-release 03)
# a copy of the governed RSA key's material under another ID and label
sg_p11 --write-object "$SG_KEYS/rsa.p8" --type privkey --id 0e --label rsa-copy >/dev/null 2>&1 ||
	sg_fail "import of the copy failed"
EXP_FP=$(import_key expired-release 04)
# a key that is on no token: its fingerprint is what 'ghost-key' claims
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/ghost.pem" 2>/dev/null
GHOST_FP=$(openssl pkey -in "$K/ghost.pem" -pubout -outform DER | openssl dgst -sha256 -r | cut -d' ' -f1)

SOON=$(date -u -d '+10 days' +%Y-%m-%dT%H:%M:%SZ)
openssl genpkey -algorithm ED25519 -out "$K/validator.pem" 2>/dev/null
openssl pkey -in "$K/validator.pem" -pubout -out "$K/validator.pub"

ME=$(id -u)
MECHS='mechanisms = [ "SHA256-RSA-PKCS", "RSA-PKCS", "ECDSA" ];'
POLICY=$(cat <<EOF
validators = ( { name = "ci"; public_key = "$K/validator.pub"; } );
roles = (
  { name = "testers"; users = [ $ME ]; },
  { name = "leavers"; users = [ "sg-nosuch-user" ]; }
);
keys = (
  { name = "test-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA_ID"; label = "$SG_RSA_LABEL";
    fingerprint = "sha256:$SG_RSA_FP"; products = [ "app", "web" ]; $MECHS
    not_after = "$SOON"; },
  { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; label = "ec-old-label";
    fingerprint = "sha256:$SG_EC_FP"; products = [ "app" ]; $MECHS },
  { name = "old-key"; token = "$SG_TOKEN"; id = "03"; label = "old-release";
    fingerprint = "sha256:$OLD_FP"; products = [ "legacy" ]; $MECHS
    revoked = true; revoked_reason = "laptop stolen"; },
  { name = "expired-key"; token = "$SG_TOKEN"; id = "04"; label = "expired-release";
    fingerprint = "sha256:$EXP_FP"; products = [ "legacy" ]; $MECHS
    not_before = "2020-01-01T00:00:00Z"; not_after = "2021-01-01T00:00:00Z"; },
  { name = "ghost-key"; token = "$SG_TOKEN"; id = "0c"; label = "ghost";
    fingerprint = "sha256:$GHOST_FP"; products = [ "ghost" ]; $MECHS }
);
rules = (
  { name = "release"; roles = [ "testers" ]; keys = [ "test-rsa", "test-ec" ];
    checks = [ "unit-tests" ]; max_ticket_age = "1h"; },
  { name = "leavers-sign"; roles = [ "leavers" ]; keys = [ "test-rsa" ]; },
  { name = "ghost-sign"; roles = [ "testers" ]; keys = [ "ghost-key" ]; },
  { name = "legacy-sign"; roles = [ "testers" ]; products = [ "legacy" ]; },
  { name = "key-admin"; roles = [ "testers" ]; keys = [ "test-rsa" ]; sign = false; admin = true; }
);
EOF
)
CONF=$SG_TMP/signgate.conf
sg_config "$CONF" "$POLICY"
chmod 0644 "$SG_PIN_FILE"

OUT=$SG_TMP/inv.json
rc=0
"$SG_TOOL" inventory --config "$CONF" --json > "$OUT" 2>"$SG_TMP/inv.err" || rc=$?
[ "$rc" = 0 ] || { cat "$SG_TMP/inv.err" >&2; sg_fail "inventory --json without --fail-on exited $rc"; }
grep -qw "$SG_USER_PIN" "$OUT" "$SG_TMP/inv.err" && sg_fail "the PIN appears in the output"

# expect SEVERITY CODE SUBJECT-SUBSTRING [DETAIL-SUBSTRING]
expect() {
	"$PY" - "$OUT" "$@" <<'PYEOF' || sg_fail "missing finding: $*"
import json, sys
report = json.load(open(sys.argv[1]))
sev, code, subj = sys.argv[2:5]
detail = sys.argv[5] if len(sys.argv) > 5 else ""
for f in report["findings"]:
    if f["code"] == code and subj in f["subject"] and detail in f["detail"]:
        if f["severity"] != sev:
            print(f"finding {code} {f['subject']}: severity {f['severity']}, expected {sev}")
            sys.exit(1)
        sys.exit(0)
print(f"no finding {code} / {subj} / {detail}; have:")
for f in report["findings"]:
    print("  ", f["severity"], f["code"], f["subject"], "|", f["detail"])
sys.exit(1)
PYEOF
	echo "ok: $1 $2 $3"
}
expect medium   ungoverned-key          "id 09 label 'stray-key'"
expect high     lookalike-key           "id 0c label 'ghost'"      "governed key ghost-key"
expect high     key-missing             ghost-key
expect medium   key-drift               test-ec                    "label 'ec-release' on the token, policy says 'ec-old-label'"
expect medium   shared-key              test-rsa                   "2 products (app, web)"
expect high     revoked-key-present     old-key                    "laptop stolen"
expect medium   expired-key-present     expired-key
expect low      rotation-due            test-rsa                   "rotate"
expect medium   rule-never-fires        leavers-sign               "role leavers matches no existing user"
expect medium   rule-never-fires        ghost-sign                 "its key is not on the token"
expect medium   rule-never-fires        legacy-sign                "all its keys are revoked or expired"
expect high     key-copy                "id 0e label 'rsa-copy'"   "copy of governed key test-rsa"
expect medium   unknown-identity        "user sg-nosuch-user"      "role leavers"
expect medium   admin-capability        "user $(id -un)"           "key-admin"
expect critical pin-file-permissions    "$SG_PIN_FILE"             "readable by everyone"

# the governed keys that are where the policy says are matched, not flagged
"$PY" - "$OUT" <<'PYEOF' || sg_fail "governed keys not matched by fingerprint"
import json, sys
r = json.load(open(sys.argv[1]))
keys = {k["label"]: k for t in r["tokens"] for k in t["keys"]}
assert keys["rsa-release"]["governed_as"] == "test-rsa", keys["rsa-release"]
assert keys["ec-release"]["governed_as"] == "test-ec", keys["ec-release"]
assert keys["stray-key"]["governed_as"] is None
assert keys["stray-key"]["fingerprint"].startswith("sha256:")
assert keys["rsa-copy"]["governed_as"] is None and keys["rsa-copy"]["copy_of"] == "test-rsa", keys["rsa-copy"]
assert keys["rsa-copy"]["fingerprint"] == keys["rsa-release"]["fingerprint"]
gov = {g["name"]: g["present"] for g in r["governed_keys"]}
assert gov == {"test-rsa": True, "test-ec": True, "old-key": True, "expired-key": True,
               "ghost-key": False}, gov
assert r["summary"]["critical"] == 1, r["summary"]
PYEOF
echo "ok: fingerprints matched, look-alike not taken for ghost-key"

# --- --fail-on: below the worst finding => 0, at or above => 3 ---------------------
fail_on() { # SEVERITY EXPECTED
	local rc=0
	"$SG_TOOL" inventory --config "$CONF" --fail-on "$1" >/dev/null 2>&1 || rc=$?
	[ "$rc" = "$2" ] || sg_fail "--fail-on $1: exit $rc, expected $2"
	echo "ok: --fail-on $1 -> $rc"
}
fail_on critical 3
fail_on high 3
chmod 0600 "$SG_PIN_FILE"     # worst finding is now high
fail_on critical 0
fail_on high 3
fail_on info 3
"$SG_TOOL" inventory --config "$CONF" --json > "$OUT"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not any(f["code"]=="pin-file-permissions" for f in r["findings"]), r' "$OUT" ||
	sg_fail "a 0600 PIN file is still reported"
echo "ok: 0600 PIN file not reported"

# a loose policy file (readable by others) is low; writable by the group is critical
chmod 0644 "$CONF"
"$SG_TOOL" inventory --config "$CONF" --json > "$OUT"
expect low policy-file-permissions "$CONF" "readable by everyone"
chmod 0620 "$CONF"
"$SG_TOOL" inventory --config "$CONF" --json > "$OUT"
expect critical policy-file-permissions "$CONF" "writable by the group"
chmod 0600 "$CONF"

# --- --expiry-days and --token ---------------------------------------------------------
"$SG_TOOL" inventory --config "$CONF" --expiry-days 5 --json > "$OUT"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not any(f["code"]=="rotation-due" for f in r["findings"])' "$OUT" ||
	sg_fail "--expiry-days 5 still reports a key expiring in 10 days"
"$SG_TOOL" inventory --config "$CONF" --expiry-days 0 --json > "$OUT"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert not any(f["code"]=="rotation-due" for f in r["findings"])' "$OUT" ||
	sg_fail "--expiry-days 0 reports rotation"
"$SG_TOOL" inventory --config "$CONF" --token "$SG_TOKEN" --json > "$OUT" || sg_fail "--token $SG_TOKEN failed"
"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); assert [t["label"] for t in r["tokens"]] == [sys.argv[2]]' "$OUT" "$SG_TOKEN" ||
	sg_fail "--token $SG_TOKEN did not report exactly that token"
echo "ok: --expiry-days 5 and 0 quiet for a key expiring in 10 days; --token selects the token"

# --- the table and the picture ----------------------------------------------------
"$SG_TOOL" inventory --config "$CONF" > "$SG_TMP/inv.txt" || sg_fail "table run failed"
grep -q 'stray-key .*(ungoverned)' "$SG_TMP/inv.txt" || sg_fail "table lacks the ungoverned key"
grep -q 'rsa-copy .*(copy of test-rsa)' "$SG_TMP/inv.txt" || sg_fail "table lacks the copy"
grep -q '^  high .*revoked-key-present *old-key' "$SG_TMP/inv.txt" || sg_fail "table lacks the revoked key"
"$SG_TOOL" inventory --config "$CONF" --dot > "$SG_TMP/inv.dot" || sg_fail "--dot failed"
grep -q '"key:old-key" \[.*fillcolor="#ff7b7b"' "$SG_TMP/inv.dot" || sg_fail "revoked key not red in the graph"
grep -q '"role:testers" -> "key:test-rsa" \[label="key-admin (admin)"' "$SG_TMP/inv.dot" ||
	sg_fail "admin edge missing from the graph"
if command -v dot >/dev/null; then
	dot -Tsvg "$SG_TMP/inv.dot" > "$SG_TMP/inv.svg" || sg_fail "Graphviz rejects the --dot output"
	echo "ok: dot renders the graph"
else
	echo "note: graphviz not installed, --dot output not rendered"
fi

# --- errors exit 2 -------------------------------------------------------------------
rc=0; "$SG_TOOL" inventory --config "$CONF" --token no-such-token >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || sg_fail "--token no-such-token: exit $rc, expected 2"
rc=0; "$SG_TOOL" inventory --config "$CONF" --fail-on severe >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || sg_fail "--fail-on severe: exit $rc, expected 2"
printf '9999\n' > "$SG_TMP/wrong.pin"; chmod 0600 "$SG_TMP/wrong.pin"
sed "s|$SG_PIN_FILE|$SG_TMP/wrong.pin|" "$SG_TMP/clean.conf" > "$SG_TMP/wrongpin.conf"; chmod 0600 "$SG_TMP/wrongpin.conf"
rc=0; "$SG_TOOL" inventory --config "$SG_TMP/wrongpin.conf" >/dev/null 2>"$SG_TMP/wp.err" || rc=$?
[ "$rc" = 2 ] || sg_fail "wrong PIN: exit $rc, expected 2"
grep -q CKR_PIN_INCORRECT "$SG_TMP/wp.err" || sg_fail "wrong PIN: no CKR_PIN_INCORRECT in: $(cat "$SG_TMP/wp.err")"
grep -q 9999 "$SG_TMP/wp.err" && sg_fail "the PIN appears in the error"
echo "ok: unknown token, bad severity, wrong PIN exit 2"
sg_pass

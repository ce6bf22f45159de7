#!/bin/bash
# The module and the tools agree (issue 13): a table of cases, each run
# through the module on a throwaway SoftHSM token (a real C_Sign by a small
# C signer, the outcome and reason read from the audit journal's record)
# and through the tools that answer the same question -- `signgate
# explain` (by key object, read and identified as the module does, with a
# real ticket), `signgate ticket verify --key` and its rule listing,
# `signgate inventory --json` (which governed key each object is), and
# `signgate who-can-sign --json` (the decision per grant) -- asserting the
# same outcome and the same reason name everywhere.
#
# SG_AGREE_TOOL=PATH runs the tool side with another signgate binary (an
# older build, to see the disagreements this test catches).
P11SIGN=${1:?usage: agreement.sh P11SIGN}
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || sg_skip "python3 not installed"
TOOL=${SG_AGREE_TOOL:-$SG_TOOL}
ME=$(id -u)
ME_NAME=$(id -un)
K=$SG_TMP/k
mkdir -p "$K"

sg_big_keys     # RSA 4096 (11), RSA 9216 (12), EC P-384 (13), EC P-521 (14)

# --- more objects on the token ----------------------------------------------
ec_pem() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$K/$1.pem" 2>/dev/null
	openssl pkcs8 -topk8 -nocrypt -in "$K/$1.pem" -outform DER -out "$K/$1.p8"
	openssl pkey -in "$K/$1.pem" -pubout -outform DER -out "$K/$1.pub.der"
	openssl dgst -sha256 -r "$K/$1.pub.der" | cut -d' ' -f1; }
put() { sg_p11 --write-object "$1" --type "$2" --id "$3" --label "$4" >/dev/null 2>&1 ||
	sg_fail "cannot write $1 as $2 id $3"; }
# an ungoverned key, made on the token
sg_p11 --keypairgen --key-type EC:prime256v1 --id 09 --label stray-key >/dev/null 2>&1 || sg_fail "keypairgen"
# a look-alike: the ID and label the policy gives ghost-key, other material
sg_p11 --keypairgen --key-type EC:prime256v1 --id 0c --label ghost >/dev/null 2>&1 || sg_fail "keypairgen"
GHOST_FP=$(ec_pem ghost-real)
# a governed key no rule names
UNRULED_FP=$(ec_pem unruled)
put "$K/unruled.p8" privkey 0d unruled
put "$K/unruled.pub.der" pubkey 0d unruled
# planted: the governed key's public key object is on the token, its private
# key is not; another EC private key carries its CKA_ID and label
PLANTED_FP=$(ec_pem planted-real)
ec_pem planted-other >/dev/null
put "$K/planted-real.pub.der" pubkey 0a planted
put "$K/planted-other.p8" privkey 0a planted
# a copy of the governed RSA key's material under another ID and label
put "$SG_KEYS/rsa.p8" privkey 0e rsa-copy
# a CKA_ID longer than the module reads (64 bytes): identity not established
LONG_ID=$(printf '5a%.0s' $(seq 1 65))
ec_pem longid >/dev/null
put "$K/longid.p8" privkey "$LONG_ID" longid

# --- configs -------------------------------------------------------------------
"$TOOL" ticket keygen --out "$K/validator.pem" >/dev/null 2>&1 || sg_fail "ticket keygen"
"$TOOL" ticket keygen --out "$K/rogue.pem" >/dev/null 2>&1 || sg_fail "ticket keygen"
"$SG_TOOL" audit keygen "$SG_TMP/akeys" >/dev/null || sg_fail "audit keygen"
J=$SG_TMP/journal/audit.journal
mkdir -p "$SG_TMP/journal"
AUDIT="audit = { required = true; socket = \"$SG_TMP/nolog.sock\"; journal = \"$J\";
  mac_key = \"$SG_TMP/akeys/audit-mac.key\"; };
validators = ( { name = \"ci\"; public_key = \"$K/validator.pub.pem\"; } );"
FROM=$(date -u -d '+2 hours' +%H:00)
TO=$(date -u -d '+3 hours' +%H:00)
RSA_M='mechanisms = [ "SHA256-RSA-PKCS", "RSA-PKCS" ]; hashes = [ "SHA256" ];'
EC_M='mechanisms = [ "ECDSA" ]; hashes = [ "SHA256", "SHA384", "SHA512" ];'
keys_text() { cat <<EOF
keys = (
  { name = "test-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA_ID"; label = "$SG_RSA_LABEL";
    fingerprint = "sha256:$SG_RSA_FP"; products = [ "app" ]; $RSA_M },
  { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; label = "$SG_EC_LABEL";
    fingerprint = "sha256:$SG_EC_FP"; products = [ "app" ]; $EC_M },
  { name = "big-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA9216_ID"; label = "$SG_RSA9216_LABEL";
    fingerprint = "sha256:$SG_RSA9216_FP"; products = [ "app" ]; $RSA_M },
  { name = "old-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA4096_ID"; label = "$SG_RSA4096_LABEL";
    fingerprint = "sha256:$SG_RSA4096_FP"; products = [ "app" ]; $RSA_M
    revoked = true; revoked_reason = "rotated"; },
  { name = "expired-ec"; token = "$SG_TOKEN"; id = "$SG_EC384_ID"; label = "$SG_EC384_LABEL";
    fingerprint = "sha256:$SG_EC384_FP"; products = [ "app" ]; $EC_M
    not_before = "2020-01-01T00:00:00Z"; not_after = "2021-01-01T00:00:00Z"; },
  { name = "office-ec"; token = "$SG_TOKEN"; id = "$SG_EC521_ID"; label = "$SG_EC521_LABEL";
    fingerprint = "sha256:$SG_EC521_FP"; products = [ "app" ]; $EC_M },
  { name = "ghost-key"; token = "$SG_TOKEN"; id = "0c"; label = "ghost";
    fingerprint = "sha256:$GHOST_FP"; products = [ "app" ]; $EC_M },
  { name = "planted-ec"; token = "$SG_TOKEN"; id = "0a"; label = "planted";
    fingerprint = "sha256:$PLANTED_FP"; products = [ "app" ]; $EC_M },
  { name = "unruled-ec"; token = "$SG_TOKEN"; id = "0d"; label = "unruled";
    fingerprint = "sha256:$UNRULED_FP"; products = [ "app" ]; $EC_M }
);
rules = (
  { name = "signing"; roles = [ "signers" ];
    keys = [ "test-rsa", "test-ec", "big-rsa", "old-rsa", "expired-ec", "ghost-key", "planted-ec" ]; },
  { name = "office-hours"; roles = [ "signers" ]; keys = [ "office-ec" ]; hours = "$FROM-$TO"; }
);
EOF
}
C1=$SG_TMP/main.conf
sg_config "$C1" "$AUDIT
roles = ( { name = \"signers\"; users = [ $ME ]; } );
$(keys_text)"
# the same policy for a caller in no role
C2=$SG_TMP/norole.conf
sg_config "$C2" "$AUDIT
roles = ( { name = \"signers\"; users = [ 4242424 ]; } );
$(keys_text)"
# tickets: test-ec for product app, test-rsa without products (a ticket's
# audience names it)
C3=$SG_TMP/tickets.conf
sg_config "$C3" "$AUDIT
roles = ( { name = \"signers\"; users = [ $ME ]; } );
keys = (
  { name = \"app-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; label = \"$SG_EC_LABEL\";
    fingerprint = \"sha256:$SG_EC_FP\"; products = [ \"app\" ]; $EC_M },
  { name = \"np-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; label = \"$SG_RSA_LABEL\";
    fingerprint = \"sha256:$SG_RSA_FP\"; $RSA_M }
);
rules = (
  { name = \"release\"; roles = [ \"signers\" ]; keys = [ \"app-ec\" ]; checks = [ \"unit-tests\" ]; },
  { name = \"np-release\"; roles = [ \"signers\" ]; keys = [ \"np-rsa\" ]; require_ticket = true; }
);"

issue() { "$TOOL" ticket issue --key "$K/validator.pem" --issuer ci --run 7 --check unit-tests=pass "$@" 2>/dev/null ||
	sg_fail "ticket issue $*"; }
T_GOOD=$(issue --product app)
T_OTHER=$(issue --product other)
T_NP=$(issue --product app --aud np-rsa)
T_ROGUE=$("$TOOL" ticket issue --key "$K/rogue.pem" --issuer ci --run 7 --product app \
	--check unit-tests=pass 2>/dev/null) || sg_fail "rogue ticket"

# --- data ------------------------------------------------------------------------
printf 'the artifact\n' > "$SG_TMP/data"
openssl dgst -sha256 -binary "$SG_TMP/data" > "$SG_TMP/hash32"
# a SHA-1 DigestInfo for CKM_RSA_PKCS
"$PY" -c 'import hashlib, sys
sys.stdout.buffer.write(bytes.fromhex("3021300906052b0e03021a05000414") +
                        hashlib.sha1(open(sys.argv[1], "rb").read()).digest())' "$SG_TMP/data" > "$SG_TMP/di-sha1"

# --- the module side --------------------------------------------------------------
# module CONF ID LABEL MECH DATA TICKET: sets M_OUT (the signer's answer) and
# M_OUTCOME / M_REASON from the journal's last sign record
module_side() {
	local conf=$1 id=$2 label=$3 mech=$4 data=$5 ticket=$6 before
	before=$( [ -f "$J" ] && wc -l < "$J" || echo 0)
	M_OUT=$(SIGNGATE_CONF=$conf SIGNGATE_TICKET=$ticket "$P11SIGN" "$SG_MODULE" \
		"$SG_TOKEN" 0000 "$id" "$label" "$mech" "$SG_TMP/$data" 2>"$SG_TMP/p11.err") ||
		sg_fail "p11sign: $M_OUT $(cat "$SG_TMP/p11.err")"
	read -r M_OUTCOME M_REASON < <("$PY" - "$J" "$before" <<'PYEOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()[int(sys.argv[2]):]
recs = [json.loads(l) for l in lines if l.strip()]
signs = [r for r in recs if r.get("event") == "sign"]
if not signs:
    print("none none")
else:
    print(signs[-1]["outcome"], signs[-1]["reason"])
PYEOF
)
}

# --- the tools ----------------------------------------------------------------------
decision_of() { # FILE: "allow|deny REASON" from explain / ticket verify output
	awk '/^decision:/ { d = $2 } /^reason:/ { r = $2 } END { print d, r }' "$1"
}
tool_explain() { # CONF ID LABEL MECH HASH TICKET
	local a=(explain --config "$1" --user "$ME_NAME" --token "$SG_TOKEN" --mechanism "$4")
	[ "$2" = - ] || a+=(--id "$2")
	[ "$3" = - ] || a+=(--label "$3")
	[ "$5" = - ] || a+=(--hash "$5")
	[ -z "$6" ] || a+=(--ticket "$6")
	"$TOOL" "${a[@]}" > "$SG_TMP/tool.out" 2>&1 || true
	decision_of "$SG_TMP/tool.out"
}
tool_ticket() { # CONF KEY MECH TICKET
	"$TOOL" ticket verify --config "$1" --key "$2" --mechanism "$3" "$4" > "$SG_TMP/tool.out" 2>&1 || true
	decision_of "$SG_TMP/tool.out"
}
tool_ticket_rule() { # CONF RULE TICKET: "allow" or "deny" from the rule listing
	"$TOOL" ticket verify --config "$1" "$3" > "$SG_TMP/tool.out" 2>&1 || true
	if grep -Eq "^  $2 +yes" "$SG_TMP/tool.out"; then echo allow
	elif grep -Eq "^  $2 +no" "$SG_TMP/tool.out"; then echo deny
	else echo none; fi
}
tool_inventory() { # CONF ID LABEL: "governed" or the reason the module refuses the object for
	"$TOOL" inventory --config "$1" --json > "$SG_TMP/inv.json" 2>"$SG_TMP/inv.err" || true
	"$PY" - "$SG_TMP/inv.json" "$2" "$3" <<'PYEOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("no-report"); sys.exit(0)
want_id, want_label = sys.argv[2], sys.argv[3]
for t in r["tokens"]:
    for k in t["keys"]:
        if not k["private"]:
            continue
        if want_id != "-" and k["id"] != want_id.lower():
            continue
        if want_label != "-" and k["label"] != want_label:
            continue
        if "identity" in k:
            print(k["identity"]); sys.exit(0)
        # an older report: from what it says of the object
        if k["governed_as"]:
            print("governed"); sys.exit(0)
        if k["copy_of"]:
            print("key-mismatch"); sys.exit(0)
        subj = "id %s label '%s'" % (k["id"] or "-", k["label"])
        codes = {f["code"] for f in r["findings"] if f["subject"].endswith(subj)}
        for code, reason in (("lookalike-key", "key-mismatch"), ("key-copy", "key-mismatch"),
                             ("key-unknown", "key-unknown"), ("ungoverned-key", "key-ungoverned")):
            if code in codes:
                print(reason); sys.exit(0)
        print("unclassified"); sys.exit(0)
print("not-listed")
PYEOF
}
tool_who() { # CONF KEY: the decision who-can-sign gives the user's grant of KEY
	"$TOOL" who-can-sign --config "$1" --key "$2" --json > "$SG_TMP/who.json" 2>&1 || true
	"$PY" - "$SG_TMP/who.json" "$ME_NAME" <<'PYEOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
except Exception:
    print("no-report"); sys.exit(0)
for i in r["identities"]:
    if i["kind"] == "user" and i["name"] == sys.argv[2]:
        for g in i["grants"]:
            n = g.get("now")
            if n:
                print(n["decision"], n["reason"]); sys.exit(0)
        print("no-decision"); sys.exit(0)
print("no-grant")
PYEOF
}

FAILS=0
N=0
disagree() { echo "DISAGREE: $*"; FAILS=$((FAILS + 1)); CASE_OK=false; }
# case NAME CONF ID LABEL MECH HASH DATA TICKET OUTCOME REASON TOOLS...
#   TOOLS: explain, ticket:KEY, rule:RULE, inventory, who:KEY
run_case() {
	local name=$1 conf=$2 id=$3 label=$4 mech=$5 hash=$6 data=$7 ticket=$8 outcome=$9 reason=${10}
	shift 10
	N=$((N + 1))
	CASE_OK=true
	module_side "$conf" "$id" "$label" "$mech" "$data" "$ticket"
	if [ "$M_OUTCOME $M_REASON" != "$outcome $reason" ]; then
		disagree "$name: module: $M_OUTCOME $M_REASON ($M_OUT), the table says $outcome $reason"
		return
	fi
	local ok="module $outcome $reason"
	for t in "$@"; do
		local got want="$outcome $reason"
		case $t in
		explain) got=$(tool_explain "$conf" "$id" "$label" "$mech" "$hash" "$ticket") ;;
		ticket:*) got=$(tool_ticket "$conf" "${t#ticket:}" "$mech" "$ticket") ;;
		rule:*) got=$(tool_ticket_rule "$conf" "${t#rule:}" "$ticket"); want=$outcome ;;
		who:*) got=$(tool_who "$conf" "${t#who:}") ;;
		inventory)
			got=$(tool_inventory "$conf" "$id" "$label")
			case $reason in
			key-ungoverned|key-mismatch|key-unknown|key-other-token) want=$reason ;;
			*) want=governed ;;
			esac ;;
		*) sg_fail "unknown tool $t" ;;
		esac
		if [ "$got" != "$want" ]; then
			disagree "$name: module says $outcome $reason, $t says '$got' (want '$want')"
			[ ! -s "$SG_TMP/tool.out" ] || sed 's/^/    | /' "$SG_TMP/tool.out" | head -12
			[ "${t%%:*}" != inventory ] || head -c 600 "$SG_TMP/inv.err"
		else
			ok="$ok, $t $got"
		fi
	done
	if $CASE_OK; then echo "ok: $name: $ok"; else echo "   $name: agreeing: $ok"; fi
}

#        name                 conf id            label     mech             hash data    ticket      outcome reason               tools
run_case allow-rsa            "$C1" 01           -         SHA256-RSA-PKCS  -    data    ""          allow allowed                explain inventory who:test-rsa
run_case allow-ec             "$C1" 02           -         ECDSA            SHA256 hash32 ""         allow allowed                explain inventory who:test-ec
run_case no-role              "$C2" 02           -         ECDSA            SHA256 hash32 ""         deny  no-role                explain
run_case no-rule              "$C1" 0d           -         ECDSA            SHA256 hash32 ""         deny  no-rule                explain inventory
run_case mechanism-forbidden  "$C1" 01           -         SHA512-RSA-PKCS  -    data    ""          deny  mechanism-forbidden    explain
run_case hash-forbidden       "$C1" 01           -         RSA-PKCS         SHA1 di-sha1 ""          deny  hash-forbidden         explain
run_case key-revoked          "$C1" 11           -         SHA256-RSA-PKCS  -    data    ""          deny  key-revoked            explain inventory who:old-rsa
run_case key-expired          "$C1" 13           -         ECDSA            SHA256 hash32 ""         deny  key-expired            explain inventory who:expired-ec
run_case outside-window       "$C1" 14           -         ECDSA            SHA256 hash32 ""         deny  outside-window         explain who:office-ec
run_case key-ungoverned       "$C1" 09           -         ECDSA            SHA256 hash32 ""         deny  key-ungoverned         explain inventory
run_case key-mismatch         "$C1" 0c           -         ECDSA            SHA256 hash32 ""         deny  key-mismatch           explain inventory
run_case key-copy             "$C1" 0e           -         SHA256-RSA-PKCS  -    data    ""          deny  key-mismatch           explain inventory
run_case planted-ec-id        "$C1" 0a           -         ECDSA            SHA256 hash32 ""         deny  key-mismatch           explain inventory
run_case long-id              "$C1" -            longid    ECDSA            SHA256 hash32 ""         deny  key-unknown            explain inventory
run_case rsa-9216             "$C1" 12           -         SHA256-RSA-PKCS  -    data    ""          allow allowed                explain inventory who:big-rsa
run_case ticket-missing       "$C3" 02           -         ECDSA            SHA256 hash32 ""         deny  ticket-missing         explain who:app-ec
run_case ticket-allow         "$C3" 02           -         ECDSA            SHA256 hash32 "$T_GOOD"  allow allowed                explain ticket:app-ec rule:release
run_case ticket-wrong-product "$C3" 02           -         ECDSA            SHA256 hash32 "$T_OTHER" deny  ticket-wrong-product   explain ticket:app-ec rule:release
run_case ticket-invalid       "$C3" 02           -         ECDSA            SHA256 hash32 "$T_ROGUE" deny  ticket-invalid         explain ticket:app-ec
run_case ticket-no-products   "$C3" 01           -         SHA256-RSA-PKCS  -    data    "$T_NP"     allow allowed                explain ticket:np-rsa rule:np-release

echo "$N cases, $FAILS disagreement(s)"
[ "$FAILS" = 0 ] || sg_fail "the module and the tools disagree"
[ "$N" -ge 15 ] || sg_fail "only $N cases"
sg_pass "module and tools agree on $N cases"

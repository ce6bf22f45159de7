#!/bin/bash
# signgate who-can-sign: --user, --key, --product, every condition in the
# JSON, a group resolved to its current members (supplementary and
# primary; needs root to create them), and names the system does not
# know flagged as offboarding lag.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || sg_skip "python3 not installed"
ME=$(id -un)
MY_UID=$(id -u)

# --- users and a group, only as root ------------------------------------------------
GROUP_PART=0
GRP=sgr$$g PRIM=sgr$$p SUPP=sgr$$s GONE=sgr$$x
cleanup() {
	for u in "$PRIM" "$SUPP" "$GONE"; do userdel "$u" >/dev/null 2>&1 || true; done
	groupdel "$GRP" >/dev/null 2>&1 || true
	[ "${SG_KEEP:-0}" = 1 ] || rm -rf "$SG_TMP"
}
if [ "$(id -u)" = 0 ] && [ "${SG_REPORTS_NO_USERADD:-0}" != 1 ] && command -v useradd >/dev/null && command -v groupadd >/dev/null; then
	trap cleanup EXIT
	groupadd "$GRP" && useradd -M -N -g "$GRP" -s /usr/sbin/nologin "$PRIM" &&
		useradd -M -N -G "$GRP" -s /usr/sbin/nologin "$SUPP" &&
		useradd -M -N -s /usr/sbin/nologin "$GONE" && GROUP_PART=1 ||
		echo "note: could not create the test group and users; group part skipped"
else
	echo "note: not root (or no useradd, or SG_REPORTS_NO_USERADD=1): group resolution part skipped"
fi

openssl genpkey -algorithm ED25519 -out "$SG_TMP/validator.pem" 2>/dev/null
openssl pkey -in "$SG_TMP/validator.pem" -pubout -out "$SG_TMP/validator.pub"
GROUP_ROLE='{ name = "builders"; groups = [ "sg-nosuch-group" ]; }'
GONE_USER='"sg-nosuch-user"'
if [ "$GROUP_PART" = 1 ]; then
	GROUP_ROLE="{ name = \"builders\"; groups = [ \"$GRP\" ]; programs = ( \"/usr/bin/osslsigncode\" ); }"
	GONE_USER="\"sg-nosuch-user\", \"$GONE\""
fi
POLICY=$(cat <<EOF
validators = ( { name = "ci"; public_key = "$SG_TMP/validator.pub"; } );
roles = (
  { name = "release"; users = [ "$ME" ]; },
  $GROUP_ROLE,
  { name = "leavers"; users = ( $GONE_USER, 4242424 ); }
);
keys = (
  { name = "test-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA_ID"; label = "$SG_RSA_LABEL";
    fingerprint = "sha256:$SG_RSA_FP"; products = [ "app", "web" ];
    mechanisms = [ "SHA256-RSA-PKCS", "RSA-PKCS" ]; hashes = [ "SHA256", "SHA384" ];
    not_before = "2026-01-01T00:00:00Z"; not_after = "2099-01-01T00:00:00Z"; },
  { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; label = "$SG_EC_LABEL";
    fingerprint = "sha256:$SG_EC_FP"; products = [ "app" ]; mechanisms = [ "ECDSA" ];
    revoked = true; revoked_reason = "rotated"; }
);
rules = (
  { name = "release-signing"; roles = [ "release" ]; keys = [ "test-rsa" ];
    days = [ "Mon", "Tue", "Wed", "Thu", "Fri" ]; hours = "08:00-18:00"; timezone = "+01:00";
    quota = { count = 100; period = "1d"; per = "caller"; };
    checks = [ "unit-tests", "vuln-scan" ]; max_ticket_age = "1h"; },
  { name = "builders-ec"; roles = [ "builders", "leavers" ]; products = [ "app" ]; },
  { name = "key-admin"; roles = [ "release" ]; keys = [ "test-ec" ]; sign = false; admin = true; }
);
EOF
)
CONF=$SG_TMP/signgate.conf
sg_config "$CONF" "$POLICY"
if [ "$GROUP_PART" = 1 ]; then
	userdel "$GONE" || sg_fail "userdel $GONE"   # offboarded after the policy was written
fi

OUT=$SG_TMP/who.json
run() { "$SG_TOOL" who-can-sign --config "$CONF" "$@" --json > "$OUT" || sg_fail "who-can-sign $* failed"; }
# check 'PYTHON EXPRESSION over r (the report) and g(ident, key, rule) -> grant or None'
check() {
	"$PY" - "$OUT" "$1" <<'PYEOF' || sg_fail "assertion failed: $1"
import json, sys
r = json.load(open(sys.argv[1]))
def ident(name):
    return next((i for i in r["identities"] if i["name"] == name), None)
def g(name, key, rule):
    i = ident(name)
    return next((x for x in i["grants"] if x["key"] == key and x["rule"] == rule), None) if i else None
def unknown(kind, name):
    return any(u["kind"] == kind and u["name"] == name for u in r["unknown"])
if not eval(sys.argv[2]):
    print(json.dumps(r, indent=1)[:4000])
    sys.exit(1)
PYEOF
	echo "ok: $1"
}

# --user: every condition of the grant
run --user "$ME"
check "r['filter']['user_exists'] and [i['name'] for i in r['identities']] == ['$ME']"
check "g('$ME','test-rsa','release-signing')['mechanisms'] == ['RSA-PKCS','SHA256-RSA-PKCS']"
check "g('$ME','test-rsa','release-signing')['hashes'] == ['SHA256','SHA384']"
# RSA-PKCS for signing grants no decryption (issue 12)
check "g('$ME','test-rsa','release-signing')['decrypt'] is False and g('$ME','test-rsa','release-signing')['decrypt_mechanisms'] == []"
check "g('$ME','test-rsa','release-signing')['window'] == {'days':['Mon','Tue','Wed','Thu','Fri'],'hours':'08:00-18:00','timezone':'+01:00'}"
check "g('$ME','test-rsa','release-signing')['quota'] == {'count':100,'period':'1d','period_s':86400,'per':'caller'}"
check "g('$ME','test-rsa','release-signing')['ticket'] == {'required':True,'checks':['unit-tests','vuln-scan'],'max_age_s':3600}"
check "g('$ME','test-rsa','release-signing')['validity'] == {'not_before':'2026-01-01T00:00:00Z','not_after':'2099-01-01T00:00:00Z','state':'usable','revoked':False,'revoked_reason':None}"
check "g('$ME','test-rsa','release-signing')['products'] == ['app','web'] and g('$ME','test-rsa','release-signing')['via'] == 'user $ME'"
check "g('$ME','test-ec','key-admin')['admin'] and not g('$ME','test-ec','key-admin')['sign']"
check "g('$ME','test-ec','key-admin')['validity']['state'] == 'revoked' and g('$ME','test-ec','key-admin')['validity']['revoked_reason'] == 'rotated'"

# --key: who can use test-rsa (and nothing about test-ec)
run --key test-rsa
check "ident('$ME') and all(x['key'] == 'test-rsa' for i in r['identities'] for x in i['grants'])"
check "g('uid:4242424','test-rsa','builders-ec') is not None and ident('uid:4242424')['exists'] is False"
check "unknown('user','sg-nosuch-user') and unknown('uid','4242424')"

# --product: web is test-rsa only; app is both keys
run --product web
check "all(x['key'] == 'test-rsa' for i in r['identities'] for x in i['grants'])"
run --product app
check "any(x['key'] == 'test-ec' for i in r['identities'] for x in i['grants'])"

# unknown user: flagged, with the role and rules that still name it
run --user sg-nosuch-user
check "r['filter']['user_exists'] is False and r['identities'] == [] and r['unknown'] == [{'kind':'user','name':'sg-nosuch-user','role':'leavers','rules':['builders-ec']}]"

if [ "$GROUP_PART" = 1 ]; then
	run
	check "g('$PRIM','test-ec','builders-ec')['via'] == 'group $GRP (primary)'"
	check "g('$SUPP','test-rsa','builders-ec')['via'] == 'group $GRP'"
	check "g('$SUPP','test-rsa','builders-ec')['programs'] == [{'path':'/usr/bin/osslsigncode','sha256':None}]"
	check "unknown('user','$GONE') and ident('$GONE') is None"
	check "[x['role'] for x in r['roles_without_members']] == ['leavers']"
	run --user "$SUPP"
	check "[i['name'] for i in r['identities']] == ['$SUPP'] and len(r['identities'][0]['grants']) == 2"
else
	run
	check "unknown('group','sg-nosuch-group') and sorted(x['role'] for x in r['roles_without_members']) == ['builders','leavers']"
fi

# the table says the same for people
"$SG_TOOL" who-can-sign --config "$CONF" > "$SG_TMP/who.txt" || sg_fail "table run failed"
grep -q "^$ME (uid $MY_UID)" "$SG_TMP/who.txt" || sg_fail "table lacks $ME"
grep -q "window: *Mon,Tue,Wed,Thu,Fri, 08:00-18:00 (+01:00)" "$SG_TMP/who.txt" || sg_fail "table lacks the window"
grep -q "ticket: *required; checks: unit-tests, vuln-scan; max age 1h" "$SG_TMP/who.txt" || sg_fail "table lacks the ticket"
grep -q "^uid 4242424 .*NO ACCOUNT" "$SG_TMP/who.txt" || sg_fail "table does not flag uid 4242424"
grep -q "^  user  sg-nosuch-user .*in role leavers" "$SG_TMP/who.txt" || sg_fail "table does not flag sg-nosuch-user"
echo "ok: table"

# decrypt / derive: shown where the rule grants them and the key allows them
sg_config "$CONF" "roles = ( { name = \"release\"; users = [ \"$ME\" ]; } );
keys = ( { name = \"test-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; mechanisms = [ \"RSA-PKCS\" ];
    decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\" ]; }; },
  { name = \"test-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; mechanisms = [ \"ECDSA\" ];
    derive = { mechanisms = [ \"ECDH1-DERIVE\" ]; }; } );
rules = ( { name = \"dec\"; roles = [ \"release\" ]; keys = [ \"test-rsa\", \"test-ec\" ]; sign = false;
    decrypt = true; derive = true; } );"
run --user "$ME"
check "g('$ME','test-rsa','dec')['decrypt'] and g('$ME','test-rsa','dec')['decrypt_mechanisms'] == ['RSA-PKCS-OAEP'] and g('$ME','test-rsa','dec')['derive_mechanisms'] == []"
check "g('$ME','test-ec','dec')['derive_mechanisms'] == ['ECDH1-DERIVE'] and g('$ME','test-ec','dec')['decrypt_mechanisms'] == [] and not g('$ME','test-ec','dec')['sign']"
"$SG_TOOL" who-can-sign --config "$CONF" > "$SG_TMP/who.txt" || sg_fail "table run failed"
grep -q "^  test-rsa  *decrypt+derive rule dec" "$SG_TMP/who.txt" || sg_fail "table lacks the capabilities: $(cat "$SG_TMP/who.txt")"
grep -q "^      decrypt: *RSA-PKCS-OAEP" "$SG_TMP/who.txt" || sg_fail "table lacks the decrypt mechanisms"
grep -q "^      derive: *ECDH1-DERIVE" "$SG_TMP/who.txt" || sg_fail "table lacks the derive mechanisms"
echo "ok: decrypt and derive capabilities"

# usage errors exit 2
rc=0; "$SG_TOOL" who-can-sign --config "$CONF" --key nope >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || sg_fail "--key nope: exit $rc"
rc=0; "$SG_TOOL" who-can-sign --config "$CONF" --key test-rsa --user "$ME" >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || sg_fail "two selectors: exit $rc"
echo "ok: usage errors exit 2"
sg_pass

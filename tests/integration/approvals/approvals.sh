#!/bin/bash
# The two-person rule through the module (issue 16), one case per run.
# Approvers alice, bob and carol hold SSH keys made by ssh-keygen, dave a
# PEM Ed25519 key; "me" is the caller's own login name.  The rule wants
# approvals = { count = 2; from = [ "release-managers" ]; max_age = "24h"; }.
# Approvals travel in a bundle given as the PIN (pkcs11-tool,
# osslsigncode -pass) or in SIGNGATE_BUNDLE as a file; refusals are
# asserted by the tool's failure and the reason in the audit record
# written through a real rsyslogd.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
case_name=${1:?case}
command -v ssh-keygen >/dev/null || sg_skip "ssh-keygen (openssh-client) not installed"
sg_rsyslog_start

A=$SG_TMP/appr
mkdir -p "$A"
for n in alice bob carol me rogue; do
	ssh-keygen -q -t ed25519 -N '' -C "$n" -f "$A/$n" || sg_fail "ssh-keygen $n"
done
openssl genpkey -algorithm ED25519 -out "$A/dave.pem" 2>/dev/null
openssl pkey -in "$A/dave.pem" -pubout -out "$A/dave.pub.pem"
me=$(id -un)

# policy [MEMBERS]: the config, with the release-managers members given
policy() {
	local members=${1:-'"alice", "bob", "carol", "dave", "me"'}
	sg_config "$SG_TMP/signgate.conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
approvers = (
  { name = \"alice\"; keys = [ \"$(cat "$A/alice.pub")\" ]; },
  { name = \"bob\";   keys = [ \"$(cat "$A/bob.pub")\" ]; },
  { name = \"carol\"; keys = [ \"$(cat "$A/carol.pub")\" ]; },
  { name = \"dave\";  keys = [ \"$A/dave.pub.pem\" ]; },
  { name = \"me\";    users = [ \"$me\" ]; keys = [ \"$(cat "$A/me.pub")\" ]; }
);
approver_groups = ( { name = \"release-managers\"; members = [ $members ]; } );
$(sg_allow_policy | sed '/^rules/,$d')
rules = ( { name = \"release\"; roles = [ \"testers\" ]; keys = [ \"test-rsa\", \"test-ec\" ];
            approvals = { count = 2; from = [ \"release-managers\" ]; max_age = \"24h\"; }; } );"
}
policy
export SIGNGATE_CONF=$SG_TMP/signgate.conf

printf 'the release artifact\n' > "$SG_TMP/artifact"
openssl dgst -sha256 -binary "$SG_TMP/artifact" > "$SG_TMP/hash"
printf 'another artifact\n' > "$SG_TMP/other"

# approve NAME [ARGS...]: an approval of app run 4711 for the artifact
approve() {
	local n=$1 key
	shift
	key=$A/$n
	[ "$n" != dave ] || key=$A/dave.pem
	"$SG_TOOL" approve --key "$key" --approver "$n" --product app --run 4711 \
		--artifact "$SG_TMP/artifact" "$@" > "$A/$n.$RANDOM.appr" || sg_fail "approve $n"
	ls -t "$A"/"$n".*.appr | head -1
}
bundle() { "$SG_TOOL" approval bundle "$@" || sg_fail "approval bundle"; }

sign() { # sign PIN
	rm -f "$SG_TMP/sig"
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$1" \
		--sign --id "$SG_EC_ID" -m ECDSA -i "${2:-$SG_TMP/hash}" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1
}
allowed() { # allowed BUNDLE APPROVERS
	sign "$1" || sg_fail "$case_name: refused: $(cat "$SG_TMP/out")"
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature <(
		"$SG_SRCDIR/tests/integration/approvals/raw2der.py" < "$SG_TMP/sig") "$SG_TMP/artifact" >/dev/null ||
		sg_fail "$case_name: the signature does not verify"
	sg_rsyslog_wait_for "\"event\":\"sign\",\"outcome\":\"allow\",\"reason\":\"allowed\",\"rule\":\"release\",\"role\":\"testers\",\"approvers\":\"$2\"" 1 5 ||
		sg_fail "$case_name: no allow record naming approvers $2"
	echo "signed, approvers $2 in the record"
}
# denied PIN REASON DETAIL-REGEX [INPUT]
denied() {
	if sign "$1" "${4:-}"; then sg_fail "$case_name: signed"; fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "$case_name: a signature was written"
	sg_rsyslog_wait_for "\"outcome\":\"deny\",\"reason\":\"$2\"" 1 5 ||
		sg_fail "$case_name: no deny record with reason $2: $(grep -o '"outcome":"deny","reason":"[^"]*"' "$SG_AUDIT_LOG")"
	[ -z "$3" ] || grep -Eq -- "\"reason\":\"$2\",\"detail\":\"$3" "$SG_AUDIT_LOG" ||
		sg_fail "$case_name: detail does not match '$3': $(grep -o '"detail":"[^"]*"' "$SG_AUDIT_LOG" | tail -2)"
	echo "refused as expected: $2"
}

case "$case_name" in
two-of-three)
	allowed "$(bundle "$(approve alice)" "$(approve bob)")" "alice,bob" ;;
pem-key)
	allowed "$(bundle "$(approve dave)" "$(approve carol)")" "dave,carol" ;;
one-of-three)
	denied "$(bundle "$(approve alice)")" approvals-missing \
		'rule release: 1 more approval needed from release-managers \(1 of 2 counted\)' ;;
same-twice)
	denied "$(bundle "$(approve alice)" "$(approve alice)")" approvals-missing \
		'rule release: 1 more approval needed' ;;
self-approval)
	denied "$(bundle "$(approve me)" "$(approve alice)")" approvals-missing \
		'rule release: 1 more approval needed' ;;
other-artifact)
	o1=$("$SG_TOOL" approve --key "$A/alice" --approver alice --product app --run 4711 \
		--artifact "$SG_TMP/other" | tee "$A/o1.appr")
	"$SG_TOOL" approve --key "$A/bob" --approver bob --product app --run 4711 \
		--artifact "$SG_TMP/other" > "$A/o2.appr"
	[ -n "$o1" ] || sg_fail "approve"
	denied "$(bundle "$A/o1.appr" "$A/o2.appr")" approvals-missing 'rule release: 2 more approvals needed that cover the data signed' ;;
other-run)
	denied "$(bundle "$(approve alice)" "$(approve bob --run 4712)")" approvals-missing \
		'rule release: 1 more approval needed' ;;
other-product)
	denied "$(bundle "$(approve alice --product other)" "$(approve bob --product other)")" approvals-missing \
		'rule release: 2 more approvals needed' ;;
expired)
	denied "$(bundle "$(approve alice)" "$(approve bob --at -2h --ttl 1h)")" approvals-missing \
		'rule release: 1 more approval needed' ;;
too-old)
	# valid for a week, but made 30 h ago: older than max_age = 24h
	denied "$(bundle "$(approve alice)" "$(approve bob --at -30h --ttl 7d)")" approvals-missing \
		'rule release: 1 more approval needed' ;;
ssh-keygen)
	# carol signs with ssh-keygen herself: the statement is written by
	# hand, then `ssh-keygen -Y sign -n signgate-approval`
	now=$(date +%s)
	printf 'signgate-approval v1\napprover: carol\nproduct: app\nrun: 4711\nartifact: sha256:%s\nissued-at: %s\nexpires: %s\nnonce: %s\n' \
		"$(openssl dgst -sha256 -r "$SG_TMP/artifact" | cut -d' ' -f1)" "$now" $((now + 3600)) \
		"$(openssl rand -hex 16)" > "$A/carol.stmt"
	ssh-keygen -q -Y sign -f "$A/carol" -n signgate-approval "$A/carol.stmt" || sg_fail "ssh-keygen -Y sign"
	cat "$A/carol.stmt" "$A/carol.stmt.sig" > "$A/carol.appr"
	# ssh-keygen agrees it is carol's
	echo "carol $(cat "$A/carol.pub")" > "$A/allowed_signers"
	ssh-keygen -Y verify -f "$A/allowed_signers" -I carol -n signgate-approval -s "$A/carol.stmt.sig" \
		< "$A/carol.stmt" >/dev/null || sg_fail "ssh-keygen -Y verify"
	allowed "$(bundle "$A/carol.appr" "$(approve alice)")" "carol,alice" ;;
unknown-key)
	# an approval in bob's name signed with a key bob does not have: the
	# login with that bundle is refused
	"$SG_TOOL" approve --key "$A/rogue" --approver bob --product app --run 4711 > "$A/forged.appr"
	if sign "$(bundle "$(approve alice)" "$A/forged.appr")"; then sg_fail "signed"; fi
	grep -q CKR_PIN_INCORRECT "$SG_TMP/out" || sg_fail "not refused at C_Login: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for '"outcome":"deny","reason":"approval-invalid","detail":"approval 2: approval-unknown-key' 1 5 ||
		sg_fail "no approval-invalid record" ;;
tampered)
	t=$(approve bob)
	sed -i 's/^run: 4711$/run: 4712/' "$t"
	if sign "$(bundle "$(approve alice)" "$t")"; then sg_fail "signed"; fi
	sg_rsyslog_wait_for '"reason":"approval-invalid","detail":"approval 2: approval-bad-signature' 1 5 ||
		sg_fail "no approval-invalid record" ;;
bundle-file)
	# SIGNGATE_BUNDLE names a file; the PIN is anything
	bundle "$(approve alice)" "$(approve bob)" > "$A/bundle"
	SIGNGATE_BUNDLE=$A/bundle allowed 0000 "alice,bob"
	bundle "$(approve alice)" > "$A/bundle1"
	SIGNGATE_BUNDLE=$A/bundle1 denied 0000 approvals-missing 'rule release: 1 more approval' ;;
reload)
	# one process (PyKCS11) logs in with alice's and bob's approvals and
	# signs; bob is removed from the config; the same login no longer
	# has two approvals
	b=$(bundle "$(approve alice)" "$(approve bob)")
	/usr/bin/python3 -c 'import PyKCS11' 2>/dev/null || sg_skip "python3-pykcs11 not installed"
	# PyKCS11's SWIG lists end in a C++ exception that the ASan runtime
	# preloaded into python3 cannot intercept (CHECK failed in
	# __cxa_throw): not a finding of signgate's; the plain pass runs it
	[ -z "${SIGNGATE_SANITIZER:-}" ] || sg_skip "PyKCS11 under a preloaded ASan runtime aborts in __cxa_throw"
	BUNDLE=$b HASH=$SG_TMP/hash CONF=$SG_TMP/signgate.conf /usr/bin/python3 - <<'PY' > "$SG_TMP/py.out" 2>&1 &
import os, sys, time, PyKCS11
lib = PyKCS11.PyKCS11Lib(); lib.load(os.environ["SIGNGATE_MODULE"])
slot = [s for s in lib.getSlotList(tokenPresent=True)
        if lib.getTokenInfo(s).label.strip() == os.environ["SG_TOKEN"]][0]
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
s.login(os.environ["BUNDLE"])
key = s.findObjects([(PyKCS11.CKA_CLASS, PyKCS11.CKO_PRIVATE_KEY), (PyKCS11.CKA_ID, bytes.fromhex(os.environ["SG_EC_ID"]))])[0]
h = open(os.environ["HASH"], "rb").read()
s.sign(key, h, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA))
print("first signature ok", flush=True)
open(os.environ["CONF"] + ".go", "w").close()
while os.path.exists(os.environ["CONF"] + ".go"):
    time.sleep(0.1)
time.sleep(1.5)
# the change is loaded by a loader thread (issue 13): in force a moment
# after the call that notices it, so try for up to 5 s
for _ in range(50):
    try:
        s.sign(key, h, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA))
        print("second signature ok", flush=True)
    except PyKCS11.PyKCS11Error as e:
        print("second refused", e)
        break
    time.sleep(0.1)
PY
	py=$!
	for i in $(seq 1 100); do [ -e "$SG_TMP/signgate.conf.go" ] && break; sleep 0.1; done
	[ -e "$SG_TMP/signgate.conf.go" ] || { cat "$SG_TMP/py.out"; sg_fail "the first signature did not happen"; }
	policy '"alice", "carol", "dave", "me"'
	rm -f "$SG_TMP/signgate.conf.go"
	wait $py || true
	cat "$SG_TMP/py.out"
	grep -q "first signature ok" "$SG_TMP/py.out" || sg_fail "first signature failed"
	grep -q "second refused.*CKR_FUNCTION_REJECTED" "$SG_TMP/py.out" || sg_fail "bob still counted after the reload"
	sg_rsyslog_wait_for '"outcome":"deny","reason":"approvals-missing"' 1 5 || sg_fail "no approvals-missing record" ;;
osslsigncode)
	command -v osslsigncode >/dev/null && command -v x86_64-w64-mingw32-gcc >/dev/null ||
		sg_skip "osslsigncode or mingw missing"
	engine=/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so
	[ -e "$engine" ] || sg_skip "libp11 engine missing"
	echo 'int main(void) { return 0; }' > "$SG_TMP/t.c"
	x86_64-w64-mingw32-gcc -o "$SG_TMP/t.exe" "$SG_TMP/t.c"
	ossl() {
		osslsigncode sign -pkcs11engine "$engine" -pkcs11module "$SG_MODULE" -pass "$1" \
			-key "pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL;type=private" -certs "$SG_RSA_CERT" \
			-h sha256 -in "$SG_TMP/t.exe" -out "$2" >"$SG_TMP/out" 2>&1
	}
	# Authenticode signs a digest of its own attributes: approvals for it
	# bind product and run, not the file's digest.
	a1=$("$SG_TOOL" approve --key "$A/alice" --approver alice --product app --run 4711 | tee "$A/a1")
	"$SG_TOOL" approve --key "$A/dave.pem" --approver dave --product app --run 4711 > "$A/d1"
	[ -n "$a1" ] || sg_fail "approve"
	two=$(bundle "$A/a1" "$A/d1")
	ossl "$two" "$SG_TMP/t-pin.exe" || sg_fail "osslsigncode -pass BUNDLE refused: $(cat "$SG_TMP/out")"
	osslsigncode verify -CAfile "$SG_RSA_CERT" -in "$SG_TMP/t-pin.exe" >/dev/null || sg_fail "verify (PIN)"
	sg_rsyslog_wait_for '"outcome":"allow","reason":"allowed","rule":"release","role":"testers","approvers":"alice,dave"' 1 5 ||
		sg_fail "no allow record with approvers"
	printf '%s\n' "$two" > "$A/bundle"
	SIGNGATE_BUNDLE=$A/bundle ossl 0000 "$SG_TMP/t-file.exe" || sg_fail "osslsigncode with SIGNGATE_BUNDLE refused: $(cat "$SG_TMP/out")"
	osslsigncode verify -CAfile "$SG_RSA_CERT" -in "$SG_TMP/t-file.exe" >/dev/null || sg_fail "verify (file)"
	one=$(bundle "$A/a1")
	if ossl "$one" "$SG_TMP/t-one.exe"; then sg_fail "osslsigncode signed with one approval"; fi
	sg_rsyslog_wait_for '"outcome":"deny","reason":"approvals-missing","detail":"rule release: 1 more approval needed from release-managers' 1 5 ||
		sg_fail "no approvals-missing record"
	echo "osslsigncode: bundle as PIN and as file sign, one approval refused" ;;
reports)
	# who-can-sign, explain, inventory and approval verify show the requirement
	C=$SG_TMP/signgate.conf
	"$SG_TOOL" who-can-sign --config "$C" | grep -q 'approvals:  2 distinct, from release-managers (alice bob carol dave me); max age 1d' ||
		sg_fail "who-can-sign: $("$SG_TOOL" who-can-sign --config "$C" | grep approvals)"
	"$SG_TOOL" who-can-sign --config "$C" --json | grep -q '"approvals": *{[^}]*"count": *2' ||
		"$SG_TOOL" who-can-sign --config "$C" --json | jq -e '.. | objects | select(has("approvals")) | .approvals.count == 2' >/dev/null ||
		sg_fail "who-can-sign --json has no approvals"
	a1=$(approve alice)
	out=$("$SG_TOOL" explain --config "$C" --user "$me" --key test-ec --mechanism ECDSA --approval "$a1" || true)
	grep -q 'reason:    approvals-missing' <<<"$out" || sg_fail "explain: $out"
	grep -q 'detail:    rule release: 1 more approval needed from release-managers (1 of 2 counted)' <<<"$out" || sg_fail "explain detail: $out"
	"$SG_TOOL" explain --config "$C" --user "$me" --key test-ec --mechanism ECDSA --approval "$a1" \
		--approval "$(approve bob)" | grep -q 'counted here: alice,bob' || sg_fail "explain with two approvals"
	out=$("$SG_TOOL" inventory --config "$C" --json 2>&1 || true)
	grep -q 'signatures need 2 distinct approvals from release-managers' <<<"$out" ||
		sg_fail "inventory: $out"
	out=$("$SG_TOOL" approval verify --config "$C" --user "$me" "$a1" "$(approve me)" || true)
	grep -q 'rule release key test-ec: 1 of 2 approvals (alice) -> not enough' <<<"$out" || sg_fail "approval verify: $out"
	echo "reports show the approvals" ;;
*) sg_fail "unknown case $case_name" ;;
esac
sg_pass "$case_name"

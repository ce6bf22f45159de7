#!/bin/bash
# signgate doctor: a healthy deployment passes; each problem it looks for,
# provoked one at a time, is named with what to fix, and exit status 1
# where signing would fail or go around the gate.
source "${SIGNGATE_SRCDIR:?}/tests/lib/fixture.sh"
source "$SG_SRCDIR/tests/lib/rsyslog.sh"
sg_rsyslog_start

D=$SG_TMP/p11kit            # a private set of p11-kit module directories
mkdir -p "$D/etc" "$D/share"
printf 'module: %s\ncritical: no\n' "$SG_MODULE" > "$D/share/signgate.module"

base_extra() {
	echo "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };"
	sg_allow_policy
}
C=$SG_TMP/signgate.conf
sg_config "$C" "$(base_extra)"

doctor() {	# doctor EXPECTED_EXIT [ARGS...]: run, keep output in $OUT
	local want=$1; shift
	set +e
	"$SG_TOOL" doctor --p11-kit-dirs "$D/etc:$D/share" "$@" > "$SG_TMP/doctor.out" 2>&1
	local rc=$?
	set -e
	OUT=$(cat "$SG_TMP/doctor.out")
	if [ "$rc" != "$want" ]; then
		echo "$OUT"
		sg_fail "signgate doctor $*: exit $rc, expected $want"
	fi
}
expect() {	# expect STATUS CHECK REGEX: a line with that status and check
	grep -E "^$1 +$2 .*$3" <<<"$OUT" >/dev/null || { echo "$OUT"; sg_fail "no '$1 $2 ... $3' line"; }
}

# 1. healthy
doctor 0 --config "$C"
expect ok config "loads as the module loads it"
expect ok pin-file "$SG_PIN_FILE"
expect ok state "writable"
expect ok audit-socket "accepts records"
expect ok token "logs in"
expect ok p11-kit "registers"
grep -q '^FAIL' <<<"$OUT" && sg_fail "healthy deployment has a FAIL: $OUT"
# GnuTLS through p11-kit initialises signgate itself without x-init-reserved:
# then only /etc/signgate/signgate.conf is found; doctor says so
if [ ! -e /etc/signgate/signgate.conf ]; then
	expect warn config-path "pass no x-init-reserved"
fi
"$SG_TOOL" doctor --config "$C" --p11-kit-dirs "$D/etc:$D/share" --json |
	jq -e '.failures == 0 and .exit == 0 and (.checks | length) > 5' >/dev/null || sg_fail "--json"
echo "ok: healthy deployment passes"

# 2. the real module registered with p11-kit-proxy: a way around the gate
printf 'module: %s\n' "$SG_SOFTHSM" > "$D/share/softhsm2.module"
doctor 1 --config "$C"
expect FAIL p11-kit-bypass "around signgate"
grep -q "fix: mask it" <<<"$OUT" || sg_fail "no fix for the bypass"
printf 'module:\n' > "$D/etc/softhsm2.module"        # masked, as the fix says
doctor 0 --config "$C"
printf 'module: %s\ndisable-in: p11-kit-proxy\n' "$SG_SOFTHSM" > "$D/etc/softhsm2.module"
doctor 0 --config "$C"
rm -f "$D/etc/softhsm2.module" "$D/share/softhsm2.module"
echo "ok: p11-kit proxy exposing the real module is a failure; masked or disabled it is not"

# 3. signgate registered as critical: a warning, not a failure
printf 'module: %s\ncritical: yes\n' "$SG_MODULE" > "$D/share/signgate.module"
doctor 0 --config "$C"
expect warn p11-kit "is critical"
printf 'module: /nonexistent/signgate-pkcs11.so\n' > "$D/share/signgate.module"
doctor 1 --config "$C"
expect FAIL p11-kit "does not exist"
printf 'module: %s\ncritical: no\n' "$SG_MODULE" > "$D/share/signgate.module"
echo "ok: p11-kit registration: critical warns, a wrong module path fails"

# 4. PIN file readable by others
chmod 0644 "$SG_PIN_FILE"
doctor 1 --config "$C"
expect FAIL pin-file "readable by"
grep -q "fix: chmod 0600 $SG_PIN_FILE" <<<"$OUT" || sg_fail "no chmod fix"
chmod 0600 "$SG_PIN_FILE"
echo "ok: loose PIN file"

# 5. wrong PIN in the PIN file: the token login fails
cp "$SG_PIN_FILE" "$SG_TMP/pin.good"
printf '9999\n' > "$SG_PIN_FILE"
doctor 1 --config "$C"
expect FAIL token "login with the PIN from"
cp "$SG_TMP/pin.good" "$SG_PIN_FILE"; chmod 0600 "$SG_PIN_FILE"
echo "ok: wrong token PIN"

# 6. a governed key that is not on the token (no key with its fingerprint:
# the module would refuse the object with its ID as a look-alike)
other=$(printf 'not the key' | sha256sum | cut -d' ' -f1)
sg_config "$SG_TMP/badkey.conf" "$(base_extra | sed "s/sha256:$SG_EC_FP/sha256:$other/")"
doctor 1 --config "$SG_TMP/badkey.conf"
expect FAIL key-missing "test-ec"
echo "ok: governed key missing from the token"

# 7. a token the config exposes that does not exist
sg_config "$SG_TMP/badtok.conf" "$(base_extra)"
sed -i "s/tokens = \[ \"$SG_TOKEN\" \]/tokens = [ \"$SG_TOKEN\", \"no-such-token\" ]/" "$SG_TMP/badtok.conf"
doctor 1 --config "$SG_TMP/badtok.conf"
expect FAIL token-missing "no-such-token"
echo "ok: configured token missing"

# 8. no syslog socket with audit.required: every signature would be refused
sg_config "$SG_TMP/nosock.conf" "audit = { required = true; socket = \"$SG_TMP/none.sock\"; };
$(sg_allow_policy)"
doctor 1 --config "$SG_TMP/nosock.conf"
expect FAIL audit-socket "every signature is refused"
sg_config "$SG_TMP/nosock2.conf" "audit = { required = false; socket = \"$SG_TMP/none.sock\"; };
$(sg_allow_policy)"
doctor 0 --config "$SG_TMP/nosock2.conf"
expect warn audit-socket "dropped"
echo "ok: missing syslog socket"

# 9. state directory missing while a rule has a quota
sg_config "$SG_TMP/quota.conf" "$(base_extra | sed 's/keys = \[ "test-rsa", "test-ec" \]; }/keys = [ "test-rsa", "test-ec" ]; quota = { count = 5; period = "1d"; }; }/')"
grep -q 'quota' "$SG_TMP/quota.conf" || sg_fail "test config has no quota"
sed -i "s|state_dir = \"$SG_TMP/state\"|state_dir = \"$SG_TMP/no-state\"|" "$SG_TMP/quota.conf"
doctor 1 --config "$SG_TMP/quota.conf"
expect FAIL state "every decision that counts"
grep -q "fix: mkdir -m 0700 $SG_TMP/no-state" <<<"$OUT" || sg_fail "no mkdir fix"
echo "ok: missing state directory with a quota"

# 10. a validator key anyone can replace
openssl genpkey -algorithm ED25519 -out "$SG_TMP/v.pem" 2>/dev/null
openssl pkey -in "$SG_TMP/v.pem" -pubout -out "$SG_TMP/v.pub.pem"
sg_config "$SG_TMP/val.conf" "$(base_extra)
validators = ( { name = \"ci\"; public_key = \"$SG_TMP/v.pub.pem\"; } );"
doctor 0 --config "$SG_TMP/val.conf"
expect ok validator-key "v.pub.pem"
chmod 0666 "$SG_TMP/v.pub.pem"
if "$SG_TOOL" check --strict "$SG_TMP/val.conf" >/dev/null 2>&1; then
	doctor 1 --config "$SG_TMP/val.conf"
	expect FAIL validator-key "writable by everyone"
else
	# the loader itself refuses a loose validator key: doctor says so
	doctor 1 --config "$SG_TMP/val.conf"
	expect FAIL config "v.pub.pem"
fi
echo "ok: validator key writable by everyone"

# 11. invalid config
printf 'backend = { module = 1; };\n' > "$SG_TMP/broken.conf"; chmod 0600 "$SG_TMP/broken.conf"
doctor 1 --config "$SG_TMP/broken.conf"
expect FAIL config "broken.conf:1"
echo "ok: invalid config"

# 12. the audit journal: a directory it cannot write, and loose keys
mkdir -p "$SG_TMP/jdir"; chmod 0700 "$SG_TMP/jdir"
"$SG_TOOL" audit keygen "$SG_TMP/jkeys" >/dev/null 2>&1 || sg_fail "signgate audit keygen"
mac=$(ls "$SG_TMP/jkeys"/*mac* 2>/dev/null | head -1)
[ -n "$mac" ] || sg_fail "audit keygen wrote no MAC key: $(ls "$SG_TMP/jkeys")"
sg_config "$SG_TMP/journal.conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; journal = \"$SG_TMP/jdir/audit.journal\"; mac_key = \"$mac\"; };
$(sg_allow_policy)"
doctor 0 --config "$SG_TMP/journal.conf"
expect ok audit-journal "audit.journal"
expect ok audit-mac-key "$mac"
chmod 0644 "$mac"
if "$SG_TOOL" check --strict "$SG_TMP/journal.conf" >/dev/null 2>&1; then
	doctor 1 --config "$SG_TMP/journal.conf"
	expect FAIL audit-mac-key "readable by"
else
	doctor 1 --config "$SG_TMP/journal.conf"
	expect FAIL config "$(basename "$mac")"
fi
chmod 0600 "$mac"
sg_config "$SG_TMP/journal2.conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; journal = \"$SG_TMP/no-such-dir/audit.journal\"; mac_key = \"$mac\"; };
$(sg_allow_policy)"
if "$SG_TOOL" check "$SG_TMP/journal2.conf" >/dev/null 2>&1; then
	doctor 1 --config "$SG_TMP/journal2.conf"
	expect FAIL audit-journal "every signature is refused"
fi
echo "ok: audit journal and its keys"

# 13. broker: a service account that does not exist, a socket that is not there
doctor 1 --config "$C" --broker --service-user sg-no-such-user --socket "$SG_TMP/none.sock"
expect FAIL broker-account "no service account"
expect FAIL broker-socket "none.sock"
echo "ok: broker account and socket"
sg_pass "signgate doctor finds each problem"

#!/bin/bash
# A malformed, group-writable, world-writable or missing config makes
# C_Initialize fail with CKR_FUNCTION_FAILED (config/REFERENCE.md) and a
# message naming the file (and the line where there is one); nothing crashes.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
test_gate=${1:?test_gate binary}
sg_config "$SG_TMP/good.conf" "$(sg_allow_policy)"

expect() { # NAME CONF RV PATTERN
	local name=$1 conf=$2 want=$3 pattern=$4 out err rc
	set +e
	out=$(SIGNGATE_CONF=$conf "$test_gate" init 2>"$SG_TMP/err")
	rc=$?
	set -e
	err=$(cat "$SG_TMP/err")
	echo "$name: rv $out; stderr: $err"
	[ "$rc" = 0 ] || sg_fail "$name: test program exited $rc (crash?)"
	[ "$out" = "$want" ] || sg_fail "$name: C_Initialize returned $out, want $want"
	grep -qE -- "$pattern" <<<"$err" || sg_fail "$name: message '$err' does not match '$pattern'"
}

expect good "$SG_TMP/good.conf" 0x0 '^$|.'

# malformed: a syntax error on line 3
cp "$SG_TMP/good.conf" "$SG_TMP/syntax.conf"
sed -i '3s/;$//; 3s/$/ = = ;/' "$SG_TMP/syntax.conf"
expect syntax "$SG_TMP/syntax.conf" 0x6 "$SG_TMP/syntax.conf:[0-9]+:"

# an unknown setting, on its own line
cp "$SG_TMP/good.conf" "$SG_TMP/unknown.conf"
echo 'no_such_setting = 1;' >> "$SG_TMP/unknown.conf"
line=$(wc -l < "$SG_TMP/unknown.conf")
expect unknown "$SG_TMP/unknown.conf" 0x6 "$SG_TMP/unknown.conf:$line:.*no_such_setting"

cp "$SG_TMP/good.conf" "$SG_TMP/group.conf"
chmod 0620 "$SG_TMP/group.conf"
expect group-writable "$SG_TMP/group.conf" 0x6 "$SG_TMP/group.conf"

cp "$SG_TMP/good.conf" "$SG_TMP/world.conf"
chmod 0602 "$SG_TMP/world.conf"
expect world-writable "$SG_TMP/world.conf" 0x6 "$SG_TMP/world.conf"

expect missing "$SG_TMP/missing.conf" 0x6 "$SG_TMP/missing.conf"

# a backend that cannot be loaded: CKR_GENERAL_ERROR, naming the module
sed "s#module = \".*\";#module = \"$SG_TMP/no-such-module.so\";#" "$SG_TMP/good.conf" > "$SG_TMP/nomod.conf"
chmod 0600 "$SG_TMP/nomod.conf"
expect no-backend "$SG_TMP/nomod.conf" 0x5 "no-such-module.so"

# a PIN file others can read is refused
sed "s#pin_file = \".*\";#pin_file = \"$SG_TMP/loose.pin\";#" "$SG_TMP/good.conf" > "$SG_TMP/loose.conf"
chmod 0600 "$SG_TMP/loose.conf"
cp "$SG_PIN_FILE" "$SG_TMP/loose.pin"; chmod 0644 "$SG_TMP/loose.pin"
expect loose-pin "$SG_TMP/loose.conf" 0x6 "$SG_TMP/loose.pin"

# a wrong PIN in the PIN file: signgate logs in to the token at the
# caller's first C_Login (p11-kit server initialises the module once per
# connection just to look at the token), so C_Initialize succeeds and the
# caller's C_Login gets the token's answer, CKR_PIN_INCORRECT, with a
# message naming the PIN file.
echo 9999 > "$SG_TMP/wrong.pin"; chmod 0600 "$SG_TMP/wrong.pin"
sed "s#pin_file = \".*\";#pin_file = \"$SG_TMP/wrong.pin\";#" "$SG_TMP/good.conf" > "$SG_TMP/wrong.conf"
chmod 0600 "$SG_TMP/wrong.conf"
expect wrong-pin-init "$SG_TMP/wrong.conf" 0x0 '^$|.'
set +e
SIGNGATE_CONF="$SG_TMP/wrong.conf" pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" \
	--login --pin anything --sign --id "$SG_EC_ID" -m ECDSA -i "$SG_EC_PUB" -o "$SG_TMP/sig" >"$SG_TMP/wrong.out" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || sg_fail "wrong-pin: signed with a wrong token PIN"
grep -qE 'C_Login.*(CKR_PIN_INCORRECT|0xa0)' "$SG_TMP/wrong.out" || sg_fail "wrong-pin: $(cat "$SG_TMP/wrong.out")"
grep -q "$SG_TMP/wrong.pin" "$SG_TMP/wrong.out" || sg_fail "wrong-pin: no message naming the PIN file"
# the token is named as a user wrote it, without PKCS#11's blank padding
grep -q "login to token '$SG_TOKEN' failed" "$SG_TMP/wrong.out" ||
	sg_fail "wrong-pin: token label not named without its padding: $(grep 'login to token' "$SG_TMP/wrong.out")"

sg_pass "config errors are refused with the documented codes and messages"

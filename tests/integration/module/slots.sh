#!/bin/bash
# Stable slot numbers: signgate numbers the slots it exposes 0, 1, ... in
# the order of backend.tokens, whatever ids the real module uses, so a
# SunPKCS11 "slot = 0" survives a re-created token.
source "${SIGNGATE_SRCDIR:?}/tests/lib/fixture.sh"

# A second token, listed FIRST in the config: it must be slot 0.
softhsm2-util --init-token --free --label second --so-pin "$SG_SO_PIN" --pin "$SG_USER_PIN" >/dev/null
C=$SG_TMP/signgate.conf
sg_config "$C" "$(sg_allow_policy)"
sed -i "s/tokens = \[ \"$SG_TOKEN\" \]/tokens = [ \"second\", \"$SG_TOKEN\" ]/" "$C"
export SIGNGATE_CONF=$C

list() { pkcs11-tool --module "$SG_MODULE" -L 2>/dev/null; }
slot_of() {	# slot_of LABEL: the slot number signgate shows for the token
	list | awk -v l="$1" '/^Slot /{s=$2} /token label *:/{sub(/.*: */,""); if ($0==l) print s}'
}
[ "$(slot_of second)" = 0 ] || { list; sg_fail "token 'second' is not slot 0"; }
[ "$(slot_of "$SG_TOKEN")" = 1 ] || { list; sg_fail "token '$SG_TOKEN' is not slot 1"; }
list | grep -q '^Slot 0 (0x0)' || { list; sg_fail "slot 0's id is not 0"; }
n=$(list | grep -c '^Slot ')
[ "$n" = 2 ] || { list; sg_fail "$n slots listed, expected the 2 configured"; }
real=$(pkcs11-tool --module "$SG_SOFTHSM" -L | awk -v l="$SG_TOKEN" '/^Slot /{s=$3; gsub(/[():]/, "", s)} /token label *:/{sub(/.*: */,""); if ($0==l) print s}')
echo "ok: second=slot 0, $SG_TOKEN=slot 1 (real id $real)"

# Sign by slot number, as SunPKCS11 does.
printf 'data' > "$SG_TMP/data"
pkcs11-tool --module "$SG_MODULE" --slot 1 --login --pin x --sign -m SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	-i "$SG_TMP/data" -o "$SG_TMP/sig" >/dev/null 2>&1 || sg_fail "signing through --slot 1 failed"
openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sig" "$SG_TMP/data" >/dev/null ||
	sg_fail "signature through slot 1 does not verify"
# A slot number the caller was never shown, and a real id, are refused.
pkcs11-tool --module "$SG_MODULE" --slot 2 --list-objects >/dev/null 2>&1 && sg_fail "slot 2 accepted"
[ "$((real))" -gt 1 ] || sg_skip "SoftHSM gave the token a real id below 2"
if pkcs11-tool --module "$SG_MODULE" --slot "$((real))" --list-objects >/dev/null 2>&1; then
	sg_fail "the real slot id $real was accepted"
fi
echo "ok: signs through slot 1; slot 2 and the real id are refused"

# C_GetSessionInfo reports the caller's number, not the real id.
/usr/bin/python3 - "$SG_MODULE" <<'PY' || sg_fail "session info slot"
import sys, PyKCS11
lib = PyKCS11.PyKCS11Lib(); lib.load(sys.argv[1])
slots = lib.getSlotList(tokenPresent=True)
assert list(slots) == [0, 1], slots
s = lib.openSession(1)
assert s.getSessionInfo().slotID == 1, s.getSessionInfo().slotID
print("ok: C_GetSlotList", list(slots), "and C_GetSessionInfo.slotID", s.getSessionInfo().slotID)
PY

# Re-create the token: the real id changes, the caller's number does not.
softhsm2-util --delete-token --token "$SG_TOKEN" >/dev/null
softhsm2-util --init-token --free --label "$SG_TOKEN" --so-pin "$SG_SO_PIN" --pin "$SG_USER_PIN" >/dev/null
for k in rsa; do
	sg_p11 --write-object "$SG_KEYS/$k.p8" --type privkey --id "$SG_RSA_ID" --label "$SG_RSA_LABEL" >/dev/null 2>&1
	sg_p11 --write-object "$SG_KEYS/$k.pub.der" --type pubkey --id "$SG_RSA_ID" --label "$SG_RSA_LABEL" >/dev/null 2>&1
done
real2=$(pkcs11-tool --module "$SG_SOFTHSM" -L | awk -v l="$SG_TOKEN" '/^Slot /{s=$3; gsub(/[():]/, "", s)} /token label *:/{sub(/.*: */,""); if ($0==l) print s}')
[ "$real2" != "$real" ] || echo "note: SoftHSM gave the re-created token the same id"
[ "$(slot_of "$SG_TOKEN")" = 1 ] || { list; sg_fail "re-created token is not slot 1 any more"; }
pkcs11-tool --module "$SG_MODULE" --slot 1 --login --pin x --sign -m SHA256-RSA-PKCS --id "$SG_RSA_ID" \
	-i "$SG_TMP/data" -o "$SG_TMP/sig" >/dev/null 2>&1 || sg_fail "signing through slot 1 after re-creation failed"
sg_pass "slot 1 before and after re-creating the token (real id $real -> $real2)"

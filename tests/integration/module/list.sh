#!/bin/bash
# pkcs11-tool -L and --list-objects: the same through signgate as directly
# (signgate shows only the configured token, not SoftHSM's empty slot, and
# names itself in the library description).
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
sg_config "$SG_TMP/signgate.conf" "$(sg_allow_policy)"
export SIGNGATE_CONF=$SG_TMP/signgate.conf

# The token's own slot section of `pkcs11-tool -L` (from "Slot N (0x..)"
# to the next slot), with the slot number and id masked.
token_section() {
	awk -v label="$SG_TOKEN" '
		/^Slot [0-9]+/ { if (buf != "" && keep) printf "%s", buf; buf = ""; keep = 0 }
		{ sub(/^Slot [0-9]+ \(0x[0-9a-f]+\)/, "Slot N"); buf = buf $0 "\n" }
		$0 ~ "token label +: " label "$" { keep = 1 }
		END { if (keep) printf "%s", buf }'
}

direct=$(pkcs11-tool --module "$SG_SOFTHSM" -L) || sg_fail "direct -L failed"
gate=$(pkcs11-tool --module "$SG_MODULE" -L) || sg_fail "signgate -L failed"
d=$(token_section <<<"$direct")
g=$(token_section <<<"$gate")
[ -n "$d" ] || sg_fail "token not in direct -L"
# One deliberate difference: with a PIN file, what a caller gives C_Login
# is a credential or a ticket, so signgate allows PINs as long as a ticket.
grep -q 'pin min/max *: [0-9]*/8192$' <<<"$g" || sg_fail "signgate does not allow ticket-length PINs: $(grep 'pin min' <<<"$g")"
d=$(sed -E 's|(pin min/max *: [0-9]+)/[0-9]+$|\1/N|' <<<"$d")
g=$(sed -E 's|(pin min/max *: [0-9]+)/[0-9]+$|\1/N|' <<<"$g")
[ "$d" = "$g" ] || { diff <(echo "$d") <(echo "$g") >&2; sg_fail "-L differs for the token"; }
nslots=$(grep -c '^Slot ' <<<"$gate")
[ "$nslots" = 1 ] || sg_fail "signgate shows $nslots slots, want 1 (the configured token)"

for login in "" "--login --pin $SG_USER_PIN"; do
	# shellcheck disable=SC2086
	d=$(pkcs11-tool --module "$SG_SOFTHSM" --token-label "$SG_TOKEN" $login --list-objects) ||
		sg_fail "direct --list-objects failed"
	# shellcheck disable=SC2086
	g=$(pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" $login --list-objects) ||
		sg_fail "signgate --list-objects failed"
	d=$(sed -E 's/^Using slot [0-9]+ with/Using slot N with/' <<<"$d" | sort)
	g=$(sed -E 's/^Using slot [0-9]+ with/Using slot N with/' <<<"$g" | sort)
	# without --login signgate shows a logged-out view: no private keys
	[ "$d" = "$g" ] || { diff <(echo "$d") <(echo "$g") >&2; sg_fail "--list-objects ${login:-without login} differs"; }
	grep -q "Certificate Object" <<<"$g" || sg_fail "no certificate listed through signgate"
	if [ -n "$login" ]; then
		grep -q "Private Key Object" <<<"$g" || sg_fail "no private key listed after login"
	else
		! grep -q "Private Key Object" <<<"$g" || sg_fail "private key listed before login"
	fi
done
sg_pass "-L and --list-objects match direct SoftHSM"

#!/bin/bash
# The function tables are whole and signgate's own, and no call that
# signs, decrypts with a private key, or makes, exports, changes or
# destroys a key reaches the backend before policy allowed it
# (test_forward_table.c, over the counting backend recbackend.c).
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
test_prog=${1:?test_forward_table binary}
rec=$(realpath "${2:?recording backend}")
sg_config "$SG_TMP/allow.conf" "$(sg_allow_policy)"
# The same keys and rules, for somebody else: this caller may do nothing.
sg_config "$SG_TMP/deny.conf" "$(sg_allow_policy | sed "s/users = \[ $(id -u) \]/users = [ $(( $(id -u) + 1 )) ]/")"
grep -q "users = \[ $(( $(id -u) + 1 )) \]" "$SG_TMP/deny.conf" || sg_fail "deny config not written"
for c in allow deny; do
	sed -i "s#module = \"$SG_SOFTHSM\";#module = \"$rec\";#" "$SG_TMP/$c.conf"
done
unset SIGNGATE_CONF
export SG_REC=$rec SG_DENY_CONF=$SG_TMP/deny.conf SG_ALLOW_CONF=$SG_TMP/allow.conf \
	SG_SOFTHSM SG_TOKEN SG_USER_PIN SG_SO_PIN
"$test_prog" || sg_fail "test_forward_table failed"
sg_pass

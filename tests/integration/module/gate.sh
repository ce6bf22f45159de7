#!/bin/bash
# The C test of the ABI layer (test_gate.c): init-args matrix, nested
# init, calls before init, length queries against direct SoftHSM, fork,
# threads.  The backend is OpenSC's pkcs11-spy in front of SoftHSM where
# it is installed, so the fork test can see that the fork handler makes
# no call into the real module.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
test_gate=${1:?test_gate binary}
sg_config "$SG_TMP/signgate.conf" "$(sg_allow_policy)"
export SIGNGATE_CONF=$SG_TMP/signgate.conf SG_SOFTHSM SG_TOKEN SG_USER_PIN
spy=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
if [ -e "$spy" ]; then
	sed -i "s#module = \"$SG_SOFTHSM\";#module = \"$spy\";#" "$SIGNGATE_CONF"
	export PKCS11SPY=$SG_SOFTHSM PKCS11SPY_OUTPUT=$SG_TMP/spy.log SG_SPY_LOG=$SG_TMP/spy.log
fi
"$test_gate" all || sg_fail "test_gate failed"
sg_pass

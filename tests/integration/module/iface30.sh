#!/bin/bash
# Interfaces over a 3.0 backend: signgate offers 3.0 only once it knows the
# backend has it, hands out only its own tables, and C_SessionCancel ends
# its view of the operation with the backend's.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
test_gate=${1:?test_gate binary}
backend30=${2:?test backend}
sg_config "$SG_TMP/signgate.conf" "$(sg_allow_policy)"
sed -i "s#module = \"$SG_SOFTHSM\";#module = \"$(realpath "$backend30")\";#" "$SG_TMP/signgate.conf"
export SIGNGATE_CONF=$SG_TMP/signgate.conf SG_SOFTHSM SG_TOKEN SG_USER_PIN
"$test_gate" iface30 || sg_fail "test_gate iface30 failed"
sg_pass

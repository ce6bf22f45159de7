#!/bin/bash
# Only the three PKCS#11 getters are exported.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
command -v nm >/dev/null || sg_skip "nm not installed"
got=$(nm -D --defined-only "$SG_MODULE" | awk '{print $3}' | sort | tr '\n' ' ')
want="C_GetFunctionList C_GetInterface C_GetInterfaceList "
[ "$got" = "$want" ] || sg_fail "exported: '$got', want '$want'"
sg_pass "exports: $got"

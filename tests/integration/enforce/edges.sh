#!/bin/bash
# Runs edges CASE (edges.c) against a policy that lets this caller sign
# with the test keys but not administer them, with a real rsyslogd, and
# checks the audit record of each decision the case provokes.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
edges=${1:?edges binary} case_name=${2:?case} backend=${3:-}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_USER_PIN SG_SO_PIN SG_SOFTHSM
sg_rsyslog_start
sg_config "$conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
$(sg_allow_policy)"
if [ "$case_name" = handle-lie-wrap ]; then
	sg_p11 --keygen --key-type AES:16 --id 0a --label wrap-me --extractable >/dev/null 2>&1 ||
		sg_fail "cannot make an extractable AES key"
fi
if [ -n "$backend" ]; then
	sed -i "s|module = \"$SG_SOFTHSM\"|module = \"$backend\"|" "$conf"
fi

"$edges" "$case_name" || sg_fail "edges $case_name"

# expect_record PATTERN WHAT: an audit record matching the ERE
expect_record() {
	sg_rsyslog_wait_for "$1" 1 5 || sg_fail "$case_name: no audit record for $2"
}
deny_admin='"event":"admin","outcome":"deny","reason":"no-admin-capability"'
case "$case_name" in
init-token-null-label)
	# C_InitToken twice, C_InitPIN and C_SetPIN: each decided and recorded
	expect_record "$deny_admin" "C_InitToken(NULL label)"
	sg_rsyslog_wait_for "$deny_admin" 4 5 || sg_fail "expected 4 admin denials"
	;;
so-login-null-pin)
	sg_rsyslog_wait_for "$deny_admin" 3 5 || sg_fail "expected 3 admin denials (SO x2, vendor user type)"
	;;
context-login-null-pin)
	expect_record "$deny_admin" "C_Login(CKU_CONTEXT_SPECIFIC, NULL)"
	expect_record '"event":"sign","outcome":"allow"' "the signature after it"
	;;
user-login-null-pin)
	expect_record '"event":"login","outcome":"allow","reason":"os-identity"' "C_Login(CKU_USER, NULL)"
	expect_record '"event":"sign","outcome":"allow"' "the signature after it"
	;;
bad-handle-wrap | bad-handle-unwrap)
	# the governed key in the control call: refused and recorded; the bad
	# handle made no decision and no record of its own
	expect_record '"outcome":"deny"' "the refused control call"
	;;
handle-lie-unwrap | handle-lie-wrap)
	expect_record '"event":"backend-error","outcome":"deny","reason":"handle-inconsistent"' \
		"the undone call"
	sg_pass "$case_name"
	;;
esac
if grep -q '"handle-inconsistent"' "$SG_AUDIT_LOG" 2>/dev/null; then
	sg_fail "$case_name: a forwarded call with a rejected handle succeeded"
fi
sg_pass "$case_name"

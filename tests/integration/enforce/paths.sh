#!/bin/bash
# Runs paths CASE against a policy that lets this caller sign with the
# test keys (SHA256-RSA-PKCS, RSA-PKCS, ECDSA) but not administer them.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
paths=${1:?paths binary} case_name=${2:?case}
backend30=${3:-}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_USER_PIN SG_SO_PIN SG_RSA_LABEL SG_SOFTHSM
keys="keys = [ \"test-rsa\", \"test-ec\" ];"
admin=""
case "$case_name" in
message-sign) keys="keys = [ \"test-ec\" ];" ;;
admin-granted) admin=', { name = "admins"; roles = [ "testers" ]; all_keys = true; admin = true; sign = false; }' ;;
esac
sg_config "$conf" "$(sg_allow_policy | sed '/^rules/d')
rules = ( { name = \"testers-sign\"; roles = [ \"testers\" ]; $keys }$admin );"
if [ -n "$backend30" ]; then
	sed -i "s|module = \"$SG_SOFTHSM\"|module = \"$backend30\"|" "$conf"
fi
if [ "$case_name" = reload ]; then
	cp -p "$conf" "$conf.allow"
	sed 's/"test-rsa", "test-ec" \]; }/"test-ec" ]; }/' "$conf" > "$conf.deny"
	grep -q '"test-ec" \]; }' "$conf.deny" || sg_fail "could not make the deny config"
	{ cat "$conf"; echo 'bogus_setting = 1;'; } > "$conf.bad"
	chmod 0600 "$conf".*
fi
exec "$paths" "$case_name"

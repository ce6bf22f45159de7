#!/bin/bash
# Schema versions: no schema, a schema of an unknown version and an
# unsafe conninfo file are refused clearly (state-unavailable, a message
# naming the fix), by the module and by `signgate check`; `state init`
# makes version 1 (again: no change); `state migrate` refuses a newer
# schema and one that does not exist.
source "$(dirname "$0")/state-lib.sh"

st_config a
expect_refused() { # expect_refused DESC ERE [AUDIT_ERE]
	st_sign a "$SG_TMP/r" && sg_fail "$1: signed"
	grep -qE -- "$2" "$SG_TMP/r.out" || sg_fail "$1: stderr does not say /$2/: $(cat "$SG_TMP/r.out")"
	sg_rsyslog_wait_for "\"reason\":\"state-unavailable\",\"detail\":\".*${3:-$2}" 1 10 ||
		sg_fail "$1: no state-unavailable record saying /$2/"
	st_log "ok: $1: $(grep 'signgate: state' "$SG_TMP/r.out")"
}

expect_refused "no schema" 'no signgate schema in the database: run `signgate state init`'
"$SG_TOOL" check --quiet "$SG_TMP/hosta/signgate.conf" > "$SG_TMP/c.out" 2>&1 && sg_fail "check passed without a schema"
grep -q 'signgate state init' "$SG_TMP/c.out" || sg_fail "check: $(cat "$SG_TMP/c.out")"
"$SG_TOOL" check --quiet --offline "$SG_TMP/hosta/signgate.conf" >/dev/null || sg_fail "check --offline"
st_tool a state migrate > "$SG_TMP/m.out" 2>&1 && sg_fail "migrate without a schema succeeded"
st_tool a state status > /dev/null 2>&1 && sg_fail "status without a schema succeeded"

st_tool a state init > "$SG_TMP/i.out" || sg_fail "state init: $(cat "$SG_TMP/i.out")"
grep -q 'schema version 1' "$SG_TMP/i.out" || sg_fail "init said: $(cat "$SG_TMP/i.out")"
st_tool a state init > /dev/null || sg_fail "state init a second time"
[ "$(sg_psql 'SELECT count(*) FROM signgate_schema')" = 1 ] || sg_fail "two version rows"
out=$(st_tool a state status) || sg_fail "status: $out"
grep -q 'schema version 1, current' <<<"$out" || sg_fail "status: $out"
out=$("$SG_TOOL" check --quiet "$SG_TMP/hosta/signgate.conf") || sg_fail "check: $out"
grep -q 'state store: postgresql, schema version 1' <<<"$out" || sg_fail "check does not report the store: $out"
st_sign a "$SG_TMP/ok" || sg_fail "cannot sign with schema 1: $(cat "$SG_TMP/ok.out")"

sg_psql "UPDATE signgate_schema SET version = 99"
expect_refused "unknown version" 'schema version 99 is unknown to this signgate'
"$SG_TOOL" check --quiet "$SG_TMP/hosta/signgate.conf" > "$SG_TMP/c.out" 2>&1 && sg_fail "check passed with version 99"
grep -q 'schema version 99' "$SG_TMP/c.out" || sg_fail "check: $(cat "$SG_TMP/c.out")"
st_tool a state migrate > "$SG_TMP/m.out" 2>&1 && sg_fail "migrate accepted a newer schema"
grep -q 'newer than this signgate' "$SG_TMP/m.out" || sg_fail "migrate: $(cat "$SG_TMP/m.out")"
sg_psql "UPDATE signgate_schema SET version = 1"
out=$(st_tool a state migrate) || sg_fail "migrate on a current schema: $out"
grep -q 'schema version 1' <<<"$out" || sg_fail "migrate on a current schema: $out"
st_sign a "$SG_TMP/ok2" || sg_fail "cannot sign with schema 1 again"

chmod 0644 "$SG_TMP/hosta/state.conninfo"
expect_refused "conninfo readable by others" 'chmod 0600 it'
chmod 0600 "$SG_TMP/hosta/state.conninfo"
printf 'host=%s dbname=nonexistent user=signgate\n' "$SG_PG_DIR/sock" > "$SG_TMP/hosta/state.conninfo"
expect_refused "wrong database" 'database "nonexistent" does not exist' 'database ..nonexistent.. does not exist'

# Config errors of the state group.
bad() { # bad TEXT ERE
	local f="$SG_TMP/bad.conf"
	sg_config "$f" "$1"
	sed -i '/^state_dir/d' "$f"
	"$SG_TOOL" check --quiet --offline "$f" > "$SG_TMP/bad.out" 2>&1 && sg_fail "accepted: $1"
	grep -qE -- "$2" "$SG_TMP/bad.out" || sg_fail "config '$1': $(cat "$SG_TMP/bad.out")"
}
bad 'state = { store = "redis"; };' "setting 'state.store': must be \"files\" or \"postgresql\""
bad 'state = { store = "postgresql"; };' "conninfo_file': required setting missing"
bad 'state = { store = "postgresql"; conninfo_file = "rel"; };' "must be an absolute path"
bad 'state = { store = "files"; conninfo_file = "/x"; };' 'only with store = "postgresql"'
bad 'state = { store = "postgresql"; conninfo_file = "/x"; timeout_ms = 0; };' 'must be between 10 and 60000'
bad "state = { dir = \"/x\"; }; state_dir = \"/y\";" 'either state_dir or the state group'
sg_pass "schema versions and store misconfiguration are refused clearly"

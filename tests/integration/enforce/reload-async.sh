#!/bin/bash
# Runs reload-async MODE (tests/integration/enforce/reload_async.c): a
# changed 10,000-key config is loaded by a loader thread while the call
# that noticed the change goes on under the config before (MODE threads),
# or by that call itself when the application forbids threads (MODE
# no-threads: CKF_LIBRARY_CANT_CREATE_OS_THREADS; MODE fork: a fork during
# the load, whose child must not wait for the parent's loader).  Asserts the order of
# the program's and the module's stderr lines (SIGNGATE_DEBUG=config), not
# times, and that the reload audit record is written (rsyslog).
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
prog=${1:?reload-async binary} mode=${2:?mode}
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf" SG_TOKEN SG_USER_PIN
# The child of a fork made while the loader thread allocates (config_load)
# allocates and makes a thread itself.  Under Debian 12's libasan the
# child hung there (its loader thread never printed its first line),
# most likely an allocator lock the parent's loader held at the fork (the
# class of google/sanitizers#1814); glibc's malloc takes its locks across
# fork, and the plain pass runs it.
[ "$mode" != fork ] || [ -z "${SIGNGATE_SANITIZER:-}" ] ||
	sg_skip "fork during an allocating thread: libasan's allocator is not fork-safe"
sg_rsyslog_start

# 10,000 keys nobody signs with (what makes the load slow) and the test
# keys; rule_keys: the keys the caller may sign with
policy() {
	awk -v tok="$SG_TOKEN" 'BEGIN { for (i = 0; i < 10000; i++)
		printf "  { name = \"key%05d\"; token = \"%s\"; id = \"%08x\"; label = \"label-%d\"; fingerprint = \"sha256:%064x\"; products = [ \"prod%d\" ]; mechanisms = [ \"ECDSA\", \"SHA256-RSA-PKCS\", \"RSA-PKCS\" ]; hashes = [ \"SHA256\" ]; },\n", i, tok, 0x1000 + i, i, i + 1, i }' > "$SG_TMP/many"
	sg_config "$2" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
roles = ( { name = \"testers\"; users = [ $(id -u) ]; } );
keys = (
$(cat "$SG_TMP/many")
  { name = \"test-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; label = \"$SG_RSA_LABEL\";
    fingerprint = \"sha256:$SG_RSA_FP\"; mechanisms = [ \"SHA256-RSA-PKCS\" ]; hashes = [ \"SHA256\" ]; },
  { name = \"test-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; label = \"$SG_EC_LABEL\";
    fingerprint = \"sha256:$SG_EC_FP\"; mechanisms = [ \"ECDSA\" ]; hashes = [ \"SHA256\" ]; }
);
rules = ( { name = \"testers-sign\"; roles = [ \"testers\" ]; keys = [ $1 ]; } );"
}
policy '"test-rsa", "test-ec"' "$conf"
policy '"test-ec"' "$conf.deny"
# MODE fork: the child's own config, first refusing, then allowing
cp -p "$conf.deny" "$conf.child"
cp -p "$conf" "$conf.child.allow"

rc=0
SIGNGATE_DEBUG=config "$prog" "$mode" 2> "$SG_TMP/stderr" || rc=$?
cat "$SG_TMP/stderr" >&2
[ $rc = 0 ] || sg_fail "reload-async exited $rc"

line() { grep -n -m1 -- "$1" "$SG_TMP/stderr" | cut -d: -f1 || true; }
returned=$(line 'reload-async: noticing call returned')
in_force=$(line 'reload: the new config in force')
started=$(line 'reload: loader thread started')
[ -n "$returned" ] && [ -n "$in_force" ] || sg_fail "missing stderr lines"
case "$mode" in
threads | fork)
	[ -n "$started" ] || sg_fail "no loader thread was started"
	[ "$returned" -lt "$in_force" ] ||
		sg_fail "the noticing call returned only after the new config was in force (line $returned > $in_force)" ;;
no-threads)
	[ -z "$started" ] || sg_fail "a loader thread was started although the application forbade threads"
	[ "$in_force" -lt "$returned" ] ||
		sg_fail "the noticing call returned before its inline load (line $returned < $in_force)" ;;
esac
# the same audit record as ever, once per reload (the child reloads too)
want=1
[ "$mode" != fork ] || want=2
sg_rsyslog_wait_for '"reason":"config-reloaded"' $want 10 || sg_fail "no config-reloaded record"
n=$(grep -c '"reason":"config-reloaded"' "$SG_AUDIT_LOG")
[ "$n" = $want ] || sg_fail "$n config-reloaded records, expected $want"
sg_pass "reload-async $mode"

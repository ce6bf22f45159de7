# shellcheck shell=bash
# Shared setup for the state store tests (meson suite 'state'): two
# signing "hosts" that share one PostgreSQL database, each with its own
# config, its own copy of the token (own SOFTHSM2_CONF) and its own
# state directory, signing in-process through signgate with pkcs11-tool
# as independent processes.  Audit records of both go to one private
# rsyslogd.
#
#   st_write HOST POLICY [STATE]  the same with a policy of the test's own
#   st_config HOST [RULE_EXTRA] [STATE]  (re)write host a's or b's config:
#                  the usual policy for the current user, RULE_EXTRA in
#                  the rule (e.g. a quota), STATE the state group (default
#                  the shared PostgreSQL store)
#   st_sign HOST OUT [PIN] [ENV...]  one ECDSA signature through signgate as
#                  that host; 0 when a verified signature was written;
#                  the tool's output in OUT.out
#   st_tool HOST ARGS...   signgate ARGS --config <host's config>
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
source "$SIGNGATE_SRCDIR/tests/lib/postgres.sh"

st_log() { echo "== [state] $*"; }

sg_rsyslog_start
sg_pg_start

printf 'signgate state test data\n' > "$SG_TMP/data"
openssl dgst -sha256 -binary "$SG_TMP/data" > "$SG_TMP/data.sha256"

for h in a b; do
	mkdir -p "$SG_TMP/host$h/state"
	chmod 0700 "$SG_TMP/host$h/state"
	printf '%s\n' "$SG_PG_CONNINFO" > "$SG_TMP/host$h/state.conninfo"
	chmod 0600 "$SG_TMP/host$h/state.conninfo"
done
# Host b: its own copy of the token (same keys, as two HSMs of one site).
cp -a "$SG_TMP/tokens" "$SG_TMP/hostb/tokens"
sed "s|$SG_TMP/tokens|$SG_TMP/hostb/tokens|" "$SG_TMP/softhsm2.conf" > "$SG_TMP/hostb/softhsm2.conf"
cp "$SG_TMP/softhsm2.conf" "$SG_TMP/hosta/softhsm2.conf"

st_pg_state() {
	local h=$1
	echo "state = { store = \"postgresql\"; conninfo_file = \"$SG_TMP/host$h/state.conninfo\"; timeout_ms = ${ST_TIMEOUT_MS:-1000}; };"
}

st_config() {
	local h=$1 rule_extra=${2:-} state=${3:-}
	st_write "$h" "$(sg_allow_policy | sed "s|keys = \[ \"test-rsa\", \"test-ec\" \]; } );|keys = [ \"test-rsa\", \"test-ec\" ]; $rule_extra } );|")" "$state"
}

# st_write HOST POLICY [STATE]: the config with this policy text.
st_write() {
	local h=$1 pol=$2 state=${3:-}
	[ -n "$state" ] || state=$(st_pg_state "$h")
	cat > "$SG_TMP/host$h/signgate.conf" <<CONF
backend = {
  module = "$SG_SOFTHSM";
  tokens = [ "$SG_TOKEN" ];
  pin_file = "$SG_PIN_FILE";
};
$state
audit = { required = true; socket = "$SG_LOG_SOCK"; };
$pol
CONF
	chmod 0600 "$SG_TMP/host$h/signgate.conf"
}

st_sign() {
	local h=$1 out=$2 pin=${3:-anything}
	shift 2
	[ $# -gt 0 ] && shift
	local try rc
	# SoftHSM's file token answers C_GetTokenInfo with CKR_GENERAL_ERROR now
	# and then while other processes read it ("No slots."): such an attempt
	# never reached a decision, so it is made again (at most 5 times);
	# everything that reached signgate counts as it came out.
	for try in 1 2 3 4 5; do
		rm -f "$out"
		rc=0
		env SOFTHSM2_CONF="$SG_TMP/host$h/softhsm2.conf" SIGNGATE_CONF="$SG_TMP/host$h/signgate.conf" "$@" \
			pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$pin" \
			--sign --id "$SG_EC_ID" -m ECDSA --signature-format openssl \
			-i "$SG_TMP/data.sha256" -o "$out" > "$out.out" 2>&1 || rc=$?
		[ $rc -ne 0 ] && grep -qE '^No slot|C_GetTokenInfo failed' "$out.out" || break
		sleep 0.$((RANDOM % 5 + 1))
	done
	[ $rc -eq 0 ] || return 1
	[ -s "$out" ] || return 1
	openssl dgst -sha256 -verify "$SG_EC_PUB" -signature "$out" "$SG_TMP/data" >/dev/null 2>&1 ||
		sg_fail "host $h wrote a signature that does not verify: $out"
}

st_tool() {
	local h=$1; shift
	"$SG_TOOL" "$@" --config "$SG_TMP/host$h/signgate.conf"
}

# st_audit_count PATTERN: sign records matching an extended regex.
st_audit_count() {
	grep '"event":"sign"' "$SG_AUDIT_LOG" 2>/dev/null | grep -Ec -- "$1" || true
}

# shellcheck shell=bash
# Shared setup for the broker tests (meson suite 'broker').
#
# Source it from a broker test.  On top of tests/lib/fixture.sh it builds
# the deployment docs/broker.md describes, with throwaway accounts:
#
#   sg-b$$-svc    the service account (useradd --system): owns the token
#                 directory, the PIN file, the policy and the state dir,
#                 all 0700/0600; runs `p11-kit server` with signgate as
#                 provider and `mode = "broker"` in the config;
#   sg-b$$-call   the group that may reach the socket (its directory is
#                 svc:call 2750, the socket 0660, by tools/signgate-broker);
#   sg-b$$-alice  a caller in the group and in the policy's role;
#   sg-b$$-bob    a caller in the group but in no role.
#
# Accounts and groups are removed on exit.  Needs root and useradd,
# groupadd, userdel, groupdel, setpriv; skips (77) otherwise.
#
# Helpers:
#   br_write_config [EXTRA]   (re)write the service's config (policy for
#                             alice, audit to the private rsyslogd); the
#                             module reads it afresh per connection
#   br_server_start [OPTIONS]  start tools/signgate-broker run (p11-kit
#                             server as the service account; OPTIONS go to
#                             the script, e.g. --ptrace); br_server_stop
#   br_as USER CMD...         run CMD as USER (alice, bob, svc) with a
#                             clean environment plus P11_KIT_SERVER_ADDRESS
#   br_must / br_must_fail / br_check DESC CMD...   like the client tests' cl_run
#   br_audit_expect allow|deny DESC FIELD=ERE...   a sign record of the
#                             last command with these JSON fields
set -euo pipefail

# shellcheck source=../../lib/fixture.sh
source "${SIGNGATE_SRCDIR:?run through meson test}/tests/lib/fixture.sh"

[ "$(id -u)" = 0 ] || sg_skip "broker tests create accounts: run as root"
for t in useradd userdel groupadd groupdel setpriv p11-kit rsyslogd; do
	command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] || sg_skip "$t not installed"
done
BR_CLIENT=/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so
[ -e "$BR_CLIENT" ] || sg_skip "$BR_CLIENT missing"
BR_ENGINE=${BR_ENGINE:-/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so}
BR_DUMMY_PIN=anything   # signgate logs in with the PIN file
export BR_DUMMY_PIN

br_log() { echo "== [broker] $*"; }

# --- accounts ---------------------------------------------------------------
BR_TAG=sg-b$$
BR_SVC=$BR_TAG-svc
BR_GROUP=$BR_TAG-call
BR_ALICE=$BR_TAG-alice
BR_BOB=$BR_TAG-bob
BR_SERVER_PID=""
BR_MADE=()

br_cleanup() {
	br_server_stop
	if declare -F sg_rsyslog_stop >/dev/null; then sg_rsyslog_stop; fi
	local u
	for u in "${BR_MADE[@]}"; do
		case "$u" in
		group:*) groupdel "${u#group:}" 2>/dev/null || true ;;
		# -f: a process of the account may still be exiting
		*) userdel "$u" 2>/dev/null || userdel -f "$u" 2>/dev/null || true ;;
		esac
	done
	[ "${SG_KEEP:-0}" = 1 ] || rm -rf "$SG_TMP"
}
trap br_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

groupadd --system "$BR_GROUP" || sg_fail "groupadd $BR_GROUP"
BR_MADE+=("group:$BR_GROUP")
useradd --system --no-create-home --user-group --home-dir /nonexistent \
	--shell /usr/sbin/nologin "$BR_SVC" || sg_fail "useradd $BR_SVC"
BR_MADE=("$BR_SVC" "${BR_MADE[@]}")
for u in "$BR_ALICE" "$BR_BOB"; do
	useradd --system --no-create-home --user-group --home-dir /nonexistent \
		--shell /usr/sbin/nologin --groups "$BR_GROUP" "$u" || sg_fail "useradd $u"
	# users first: userdel also removes the user's own group
	BR_MADE=("$u" "${BR_MADE[@]}")
done
BR_SVC_UID=$(id -u "$BR_SVC")
BR_ALICE_UID=$(id -u "$BR_ALICE")
BR_BOB_UID=$(id -u "$BR_BOB")
br_log "service $BR_SVC ($BR_SVC_UID), callers group $BR_GROUP: $BR_ALICE ($BR_ALICE_UID, in the role), $BR_BOB ($BR_BOB_UID, no role)"

# --- files: the service's alone ------------------------------------------------
# The fixture made the token, PIN file and state dir as root; hand them to
# the service and close them.  The fixture's directory stays traversable
# (0755) for the socket directory and the callers' work directories.
BR_SVC_DIR=$SG_TMP/svc                 # what only the service may read
mkdir -p "$BR_SVC_DIR"
mv "$SG_TMP/tokens" "$BR_SVC_DIR/tokens"
mv "$SG_PIN_FILE" "$BR_SVC_DIR/token.pin"
SG_PIN_FILE=$BR_SVC_DIR/token.pin
mv "$SG_TMP/state" "$BR_SVC_DIR/state"
cat > "$BR_SVC_DIR/softhsm2.conf" <<CONF
directories.tokendir = $BR_SVC_DIR/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
BR_CONF=$BR_SVC_DIR/signgate.conf
chown -R "$BR_SVC:$BR_SVC" "$BR_SVC_DIR"
chmod 0700 "$BR_SVC_DIR" "$BR_SVC_DIR/tokens" "$BR_SVC_DIR/state"
chmod 0600 "$SG_PIN_FILE" "$BR_SVC_DIR/softhsm2.conf"

# The socket's directory is made by tools/signgate-broker (service:group 2750).
BR_RUN=$SG_TMP/run
BR_SOCK=$BR_RUN/pkcs11.sock
BR_BROKER=$SG_SRCDIR/tools/signgate-broker

# Callers' work directories (data to sign, signatures, HOME).
for u in "$BR_ALICE" "$BR_BOB"; do
	mkdir -p "$SG_TMP/$u"
	chown "$u:$u" "$SG_TMP/$u"
done
BR_DATA=$SG_TMP/data
head -c 3000 /dev/urandom > "$BR_DATA"
openssl dgst -sha256 -binary "$BR_DATA" > "$BR_DATA.sha256"
chmod 0644 "$BR_DATA" "$BR_DATA.sha256"

# --- audit: a private rsyslogd whose socket only the service may write -------
# shellcheck source=../../lib/rsyslog.sh
source "$SG_SRCDIR/tests/lib/rsyslog.sh"
# rsyslog.sh replaced the EXIT trap (it chains the fixture's): ours again
trap br_cleanup EXIT
sg_rsyslog_start
chown "$BR_SVC" "$SG_LOG_SOCK"
chmod 0600 "$SG_LOG_SOCK"

# --- config ----------------------------------------------------------------------
# br_policy_text: alice's role may sign with both test keys.
br_policy_text() {
	sg_allow_policy | sed "s/users = \[ [0-9]* \]/users = [ \"$BR_ALICE\" ]/"
}
br_write_config() {
	local extra=${1:-$(br_policy_text)} mode=${BR_MODE:-broker} tmp
	tmp=$(mktemp "$BR_SVC_DIR/.conf.XXXXXX")
	cat > "$tmp" <<CONF
backend = {
  module = "$SG_SOFTHSM";
  tokens = [ "$SG_TOKEN" ];
  pin_file = "$SG_PIN_FILE";
};
state_dir = "$BR_SVC_DIR/state";
mode = "$mode";
audit = { enabled = true; required = true; format = "json"; socket = "$SG_LOG_SOCK"; };
$extra
CONF
	chown "$BR_SVC:$BR_SVC" "$tmp"
	chmod 0600 "$tmp"
	mv -f "$tmp" "$BR_CONF"
}

# --- the server -------------------------------------------------------------------
# Through tools/signgate-broker, as root: it makes the socket directory,
# drops to the service account and gives p11-kit server a clean
# environment: SIGNGATE_CONF and SOFTHSM2_CONF reach the provider through
# it (p11-kit server's environment is inherited by the p11-kit-remote it
# forks per connection).  Extra arguments go to the script (e.g. --ptrace).
br_server_start() {
	local i san=()
	for i in ${SIGNGATE_SANITIZER_ENV:-}; do san+=(--env "$i"); done
	"$BR_BROKER" run --user "$BR_SVC" --group "$BR_GROUP" --socket "$BR_SOCK" \
		--token "$SG_TOKEN" --config "$BR_CONF" --softhsm-conf "$BR_SVC_DIR/softhsm2.conf" \
		--module "$SG_MODULE" "${san[@]}" "$@" > "$SG_TMP/server.log" 2>&1 &
	BR_SERVER_PID=$!
	for i in $(seq 1 100); do
		grep -q "serving pkcs11:token" "$SG_TMP/server.log" 2>/dev/null && break
		kill -0 "$BR_SERVER_PID" 2>/dev/null || { cat "$SG_TMP/server.log"; sg_fail "the broker exited"; }
		sleep 0.05
	done
	[ -S "$BR_SOCK" ] || { cat "$SG_TMP/server.log"; sg_fail "the broker did not create $BR_SOCK"; }
	br_log "broker (pid $BR_SERVER_PID) as $BR_SVC on $BR_SOCK: socket $(stat -c '%A %U:%G' "$BR_SOCK"), directory $(stat -c '%A %U:%G' "$BR_RUN")"
}
br_server_stop() {
	if [ -n "$BR_SERVER_PID" ]; then
		kill "$BR_SERVER_PID" 2>/dev/null || true
		wait "$BR_SERVER_PID" 2>/dev/null || true
		BR_SERVER_PID=""
	fi
}

# br_as USER CMD...: USER is alice, bob, svc or an account name.
br_as() {
	local who=$1; shift
	case "$who" in
	alice) who=$BR_ALICE ;;
	bob) who=$BR_BOB ;;
	svc) who=$BR_SVC ;;
	esac
	local home=$SG_TMP/$who
	[ -d "$home" ] || home=/nonexistent
	# shellcheck disable=SC2086
	setpriv --reuid="$who" --regid="$(id -g "$who")" --init-groups -- \
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$home" LANG=C \
		P11_KIT_SERVER_ADDRESS="unix:path=$BR_SOCK" ${SIGNGATE_SANITIZER_ENV:-} "$@"
}

# --- assertions ----------------------------------------------------------------------
BR_MARK=0
br_mark() { BR_MARK=0; [ -e "$SG_AUDIT_LOG" ] && BR_MARK=$(wc -l < "$SG_AUDIT_LOG"); return 0; }
br_must() {
	local desc=$1; shift
	br_mark
	if ! BR_OUT=$("$@" 2>&1); then
		echo "$BR_OUT" >&2
		[ -s "$SG_TMP/server.log" ] && { echo "--- server log:" >&2; tail -n 20 "$SG_TMP/server.log" >&2; }
		sg_fail "$desc: command failed: $*"
	fi
	br_log "ok: $desc"
}
# br_check DESC CMD...: like br_must, but keeps the audit mark (checks
# between a signature and its record, e.g. openssl verifying it).
br_check() {
	local keep=$BR_MARK
	br_must "$@"
	BR_MARK=$keep
}
br_must_fail() {
	local desc=$1 rc=0; shift
	br_mark
	BR_OUT=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "$BR_OUT" >&2
		sg_fail "$desc: command succeeded but must fail: $*"
	fi
	br_log "ok: $desc (refused, exit $rc)"
}
# br_audit_expect allow|deny DESC FIELD=ERE...: sets BR_REC.  A field
# given as !FIELD must be absent.
br_audit_expect() {
	local outcome=$1 desc=$2 i lines fv; shift 2
	BR_REC=
	for i in $(seq 1 200); do
		lines=$(tail -n "+$((BR_MARK + 1))" "$SG_AUDIT_LOG" 2>/dev/null |
			grep -E '"event":"sign"' | grep -E "\"outcome\":\"$outcome\"" || true)
		for fv in "$@"; do
			case "$fv" in
			!*) lines=$(echo "$lines" | grep -vE "\"${fv#!}\":" || true) ;;
			*) lines=$(echo "$lines" | grep -E "\"${fv%%=*}\":\"?(${fv#*=})\"?[,}]" || true) ;;
			esac
		done
		BR_REC=$(echo "$lines" | tail -n 1)
		[ -n "$BR_REC" ] && break
		sleep 0.05
	done
	if [ -z "$BR_REC" ]; then
		echo "--- sign records since the command:" >&2
		tail -n "+$((BR_MARK + 1))" "$SG_AUDIT_LOG" | grep '"event":"sign"' >&2 || true
		sg_fail "audit record missing: $desc (sign, outcome $outcome, $*)"
	fi
	br_log "ok: audit ($desc): $(echo "$BR_REC" | grep -Eo '"(outcome|reason|user|uid|pid|program|caller|key)":"?[^",]*"?' | tr '\n' ' ')"
}

# pkcs11-tool through p11-kit-client as WHO: br_p11 WHO ARGS...
br_p11() {
	local who=$1; shift
	br_as "$who" pkcs11-tool --module "$BR_CLIENT" "$@"
}

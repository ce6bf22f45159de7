# shellcheck shell=bash
# Shared setup for the client tests (meson suite 'clients').
#
# Source it from a client test with the route as the first argument:
#   direct    the tool talks to SoftHSM itself, with the token PIN: proves
#             the recipe (command line, URI) is right for the tool;
#   signgate  the tool talks to signgate-pkcs11.so, configured by
#             sg_allow_policy, with a dummy PIN ("anything"): signgate logs
#             in to the token with its PIN file, so the caller's PIN is not
#             the token PIN.
#
# Exports CL_VIA CL_MODULE CL_PIN, SIGNGATE_CONF (signgate route) and the
# helpers below.  The denied cases only exist on the signgate route.

CL_VIA=${1:-signgate}
# shellcheck source=../../lib/fixture.sh
source "${SIGNGATE_SRCDIR:?run through meson test}/tests/lib/fixture.sh"

CL_ENGINE=${CL_ENGINE:-/usr/lib/x86_64-linux-gnu/engines-3/pkcs11.so}
CL_DUMMY_PIN=anything
export CL_ENGINE

cl_log() { echo "== [$CL_VIA] $*"; }

# cl_run DESC CMD...: run a command that must succeed; show its output on
# failure.
cl_run() {
	local desc=$1; shift
	cl_audit_mark
	local out
	if ! out=$("$@" 2>&1); then
		echo "$out" >&2
		sg_fail "$desc: command failed: $*"
	fi
	cl_log "ok: $desc"
	CL_OUT=$out
}

# cl_must_fail DESC CMD...: the command must not succeed.  Any non-zero
# status counts (openssl may die with 139 after a failed key load), but
# its output is kept in CL_OUT for the caller to inspect.
cl_must_fail() {
	local desc=$1; shift
	local rc=0
	cl_audit_mark
	CL_OUT=$("$@" 2>&1) || rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "$CL_OUT" >&2
		sg_fail "$desc: command succeeded but must be refused: $*"
	fi
	cl_log "ok: $desc (refused, exit $rc)"
}

# A config path the denied cases overwrite; the module rereads it per
# process.
CL_CONF="$SG_TMP/signgate.conf"

# cl_use_config POLICY-TEXT: (signgate route) write the config the next
# tool run uses.
cl_use_config() {
	sg_config "$CL_CONF" "$1"
	export SIGNGATE_CONF="$CL_CONF"
}

# cl_deny_policy KEY-NAME-ALLOWED MECHS: a policy in which the testers role
# may use only one of the two keys (the other key is outside the role),
# and only the given mechanisms.
cl_policy_only() {
	local allowed=$1 mechs=${2:-'"RSA-PKCS", "SHA256-RSA-PKCS", "ECDSA"'}
	cat <<POLICY
roles = ( { name = "testers"; users = [ $(id -u) ]; } );
keys = (
  { name = "test-rsa"; token = "$SG_TOKEN"; id = "$SG_RSA_ID"; label = "$SG_RSA_LABEL";
    fingerprint = "sha256:$SG_RSA_FP"; products = [ "app" ];
    mechanisms = [ $mechs ]; hashes = [ "SHA256", "SHA384", "SHA512" ]; },
  { name = "test-ec"; token = "$SG_TOKEN"; id = "$SG_EC_ID"; label = "$SG_EC_LABEL";
    fingerprint = "sha256:$SG_EC_FP"; products = [ "app" ];
    mechanisms = [ $mechs ]; hashes = [ "SHA256", "SHA384", "SHA512" ]; }
);
rules = ( { name = "testers-sign"; roles = [ "testers" ]; keys = [ "$allowed" ]; } );
POLICY
}

# cl_module_ready: does the built module export the PKCS#11 getter?  The
# module is written in parallel with these tests; until gate.c lands the
# signgate route is skipped (not failed) so that the direct route, which
# checks the recipes, stays meaningful.
cl_module_ready() {
	nm -D --defined-only "$SG_MODULE" 2>/dev/null | grep -qw C_GetFunctionList
}

# --- audit (asserted when tests/lib/rsyslog.sh is in the tree) -----------
CL_AUDIT=0
CL_AUDIT_LOG=
# cl_audit_section: audit settings for sg_config when a private rsyslogd
# runs (required: a signature whose record cannot be delivered is denied);
# empty otherwise (fixture default: not required, to a socket nobody reads).
cl_audit_section() {
	[ "$CL_AUDIT" = 1 ] || return 0
	echo "audit = { enabled = true; required = true; format = \"json\"; socket = \"$CL_AUDIT_SOCK\"; };"
}
cl_audit_start() {
	local lib="$SG_SRCDIR/tests/lib/rsyslog.sh"
	[ "$CL_VIA" = signgate ] || return 0
	[ -r "$lib" ] || { cl_log "audit: tests/lib/rsyslog.sh not present; audit records not asserted"; return 0; }
	command -v rsyslogd >/dev/null || { cl_log "audit: rsyslogd missing; audit records not asserted"; return 0; }
	# shellcheck source=../../lib/rsyslog.sh
	source "$lib"
	sg_rsyslog_start
	CL_AUDIT=1
	CL_AUDIT_SOCK=$SG_LOG_SOCK
	CL_AUDIT_LOG=$SG_AUDIT_LOG
}

# cl_audit_mark: remember where the audit log ends, so that the next
# cl_audit_expect looks only at records of the next command.
CL_AUDIT_MARK=0
cl_audit_mark() {
	[ "$CL_AUDIT" = 1 ] || return 0
	CL_AUDIT_MARK=0
	if [ -e "$CL_AUDIT_LOG" ]; then CL_AUDIT_MARK=$(wc -l < "$CL_AUDIT_LOG"); fi
}

# cl_audit_expect allow|deny DESC FIELD=VALUE...: once audit is available,
# a sign record of the last command with this outcome must have each JSON
# field with exactly that value (VALUE may be an ERE), and a denial must
# carry a reason.  Shows the reason.
cl_audit_expect() {
	local outcome=$1 desc=$2 rec='' fv lines; shift 2
	[ "$CL_AUDIT" = 1 ] || return 0
	# rsyslogd writes asynchronously; under load (parallel tests, JVMs)
	# that has taken over 2 s
	for _ in $(seq 1 200); do
		lines=$(tail -n "+$((CL_AUDIT_MARK + 1))" "$CL_AUDIT_LOG" 2>/dev/null |
			grep -E '"event":"sign"' | grep -E "\"outcome\":\"$outcome\"" || true)
		for fv in "$@"; do
			lines=$(echo "$lines" | grep -E "\"${fv%%=*}\":\"(${fv#*=})\"" || true)
		done
		rec=$(echo "$lines" | tail -n 1)
		[ -n "$rec" ] && break
		sleep 0.05
	done
	if [ -z "$rec" ]; then
		tail -n "+$((CL_AUDIT_MARK + 1))" "$CL_AUDIT_LOG" | grep '"event":"sign"' >&2 || true
		sg_fail "audit record missing: $desc (sign, outcome $outcome, $*)"
	fi
	if [ "$outcome" = deny ] && ! echo "$rec" | grep -Eq '"reason":"[^"]+"'; then
		echo "$rec" >&2
		sg_fail "audit record for '$desc' has no reason"
	fi
	cl_log "ok: audit record ($desc): $(echo "$rec" | grep -Eo '"(outcome|reason|key|mechanism|hash)":"[^"]*"' | tr '\n' ' ')"
}

# cl_audit_count allow|deny N DESC: exactly N sign records with this
# outcome since the last command started (a length query is no signature).
cl_audit_count() {
	local outcome=$1 want=$2 desc=$3 n
	[ "$CL_AUDIT" = 1 ] || return 0
	count() {
		tail -n "+$((CL_AUDIT_MARK + 1))" "$CL_AUDIT_LOG" 2>/dev/null |
			grep -E '"event":"sign"' | grep -cE "\"outcome\":\"$outcome\"" || true
	}
	for _ in $(seq 1 200); do
		n=$(count)
		[ "${n:-0}" -ge "$want" ] && break
		sleep 0.05
	done
	# and no extra record behind it
	sleep 0.3
	n=$(count)
	[ "${n:-0}" = "$want" ] || sg_fail "$desc: $n sign records with outcome $outcome, want $want"
	cl_log "ok: $desc: $want sign record(s) ($outcome)"
}

case "$CL_VIA" in
direct)
	CL_MODULE=$SG_SOFTHSM
	CL_PIN=$SG_USER_PIN
	unset SIGNGATE_CONF
	;;
signgate)
	cl_module_ready || sg_skip "signgate module does not export C_GetFunctionList yet"
	CL_MODULE=$SG_MODULE
	CL_PIN=$CL_DUMMY_PIN
	cl_audit_start
	cl_use_config "$(cl_audit_section)
$(sg_allow_policy)"
	;;
*)
	sg_fail "unknown route '$CL_VIA' (direct | signgate)"
	;;
esac
export CL_VIA CL_MODULE CL_PIN

# cl_engine_conf FILE [MODULE [PIN]]: an OPENSSL_CONF that loads the libp11
# engine for MODULE (init = 0: the engine initialises the module on first
# use, after the application has set its own config).  Without MODULE the
# engine takes PKCS11_MODULE_PATH, else its default (p11-kit-proxy);
# without PIN it takes the one in the key's URI.
cl_engine_conf() {
	local f=$1 module=${2:-} pin=${3:-}
	{
		cat <<CONF
openssl_conf = openssl_init
[openssl_init]
engines = engine_section
[engine_section]
pkcs11 = pkcs11_section
[pkcs11_section]
engine_id = pkcs11
dynamic_path = $CL_ENGINE
CONF
		[ -z "$module" ] || echo "MODULE_PATH = $module"
		[ -z "$pin" ] || echo "PIN = $pin"
		echo "init = 0"
	} > "$f"
}

# URIs (RFC 7512) for the test keys.
CL_URI_RSA="pkcs11:token=$SG_TOKEN;object=$SG_RSA_LABEL;type=private"
CL_URI_EC="pkcs11:token=$SG_TOKEN;object=$SG_EC_LABEL;type=private"
CL_URI_RSA_ID="pkcs11:token=$SG_TOKEN;id=%$SG_RSA_ID;type=private"
CL_URI_EC_ID="pkcs11:token=$SG_TOKEN;id=%$SG_EC_ID;type=private"
export CL_URI_RSA CL_URI_EC CL_URI_RSA_ID CL_URI_EC_ID

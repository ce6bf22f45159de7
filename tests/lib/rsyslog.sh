# signgate test helper: a private rsyslogd for one test.
#
# Source after tests/lib/fixture.sh (needs $SG_TMP).  Starts the Debian
# rsyslogd as its own instance: own config, work directory and pid file in
# $SG_TMP/rsyslog, imuxsock listening on $SG_TMP/log.sock (the system
# socket is left alone), every message written with RSYSLOG_FileFormat
# ("RFC3339-TIME HOST TAG MSG") to $SG_TMP/audit.log.  Stopped on exit.
#
#   sg_rsyslog_start [rfc5424]  start it, wait until the socket exists;
#                               rfc5424: parse RFC 5424 on the socket (imuxsock's
#                               default special parser only knows glibc's format)
#   sg_rsyslog_stop             stop it (also runs on exit)
#   sg_rsyslog_wait_for PATTERN [COUNT] [SECONDS]
#                               wait until audit.log has COUNT (default 1)
#                               lines matching the ERE PATTERN
#
# Exports SG_LOG_SOCK and SG_AUDIT_LOG.  SG_RSYSLOG_TEMPLATE picks another
# file template (e.g. RSYSLOG_TraditionalFileFormat: "Mmm dd hh:mm:ss").

SG_LOG_SOCK="$SG_TMP/log.sock"
SG_AUDIT_LOG="$SG_TMP/audit.log"
SG_RSYSLOG_DIR="$SG_TMP/rsyslog"
SG_RSYSLOG_PID=""
export SG_LOG_SOCK SG_AUDIT_LOG

sg_rsyslog_start() {
	local rsyslogd parser=""
	[ "${1:-}" = rfc5424 ] && parser=' UseSpecialParser="off" ParseHostname="on"'
	rsyslogd=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
	[ -x "$rsyslogd" ] || sg_skip "rsyslogd not installed"
	mkdir -p "$SG_RSYSLOG_DIR"
	cat > "$SG_RSYSLOG_DIR/rsyslog.conf" <<CONF
global(workDirectory="$SG_RSYSLOG_DIR" maxMessageSize="8k")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$SG_LOG_SOCK" CreatePath="on" RateLimit.Interval="0"$parser)
*.* action(type="omfile" file="$SG_AUDIT_LOG" template="${SG_RSYSLOG_TEMPLATE:-RSYSLOG_FileFormat}")
CONF
	"$rsyslogd" -N1 -f "$SG_RSYSLOG_DIR/rsyslog.conf" >"$SG_RSYSLOG_DIR/check.out" 2>&1 ||
		sg_fail "rsyslogd refuses the test config: $(cat "$SG_RSYSLOG_DIR/check.out")"
	"$rsyslogd" -n -f "$SG_RSYSLOG_DIR/rsyslog.conf" -i "$SG_RSYSLOG_DIR/rsyslogd.pid" \
		>"$SG_RSYSLOG_DIR/rsyslogd.out" 2>&1 &
	SG_RSYSLOG_PID=$!
	local i
	for i in $(seq 1 100); do
		[ -S "$SG_LOG_SOCK" ] && return 0
		kill -0 "$SG_RSYSLOG_PID" 2>/dev/null ||
			sg_fail "rsyslogd exited: $(cat "$SG_RSYSLOG_DIR/rsyslogd.out")"
		sleep 0.05
	done
	sg_fail "rsyslogd did not create $SG_LOG_SOCK"
}

sg_rsyslog_stop() {
	if [ -n "$SG_RSYSLOG_PID" ]; then
		kill "$SG_RSYSLOG_PID" 2>/dev/null || true
		wait "$SG_RSYSLOG_PID" 2>/dev/null || true
		SG_RSYSLOG_PID=""
	fi
}

sg_rsyslog_wait_for() {
	local pattern=$1 count=${2:-1} secs=${3:-10} i n
	for i in $(seq 1 $((secs * 20))); do
		n=$(grep -Ec -- "$pattern" "$SG_AUDIT_LOG" 2>/dev/null || true)
		[ "${n:-0}" -ge "$count" ] && return 0
		sleep 0.05
	done
	echo "sg_rsyslog_wait_for: $count x '$pattern' not in $SG_AUDIT_LOG after ${secs}s" >&2
	[ -e "$SG_AUDIT_LOG" ] && tail -n 5 "$SG_AUDIT_LOG" >&2
	return 1
}

# Stop the daemon before the fixture removes $SG_TMP.
sg_rsyslog_prev_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
trap "sg_rsyslog_stop; $sg_rsyslog_prev_trap" EXIT
# A test killed by its timeout must not leave the daemon behind: make
# TERM and INT run the EXIT trap.
trap 'exit 143' TERM
trap 'exit 130' INT

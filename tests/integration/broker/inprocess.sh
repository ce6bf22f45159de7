#!/bin/bash
# Fail closed: a config with mode = "broker" loaded in-process (no
# connection on standard input) must deny every signature with
# caller-unknown, never fall back to the process's own identity -- even
# when that identity is in the role.  Standard input is tried as
# /dev/null, a pipe, and a unix socket pair (a peer, but no p11-kit server:
# the peer is this very process, which is still a peer identity, so the
# socketpair case checks that the record says caller=peer).
source "${SIGNGATE_SRCDIR:?run through meson test}/tests/lib/fixture.sh"
# shellcheck source=../../lib/rsyslog.sh
source "$SG_SRCDIR/tests/lib/rsyslog.sh"
sg_rsyslog_start

log() { echo "== [broker-inprocess] $*"; }
conf=$SG_TMP/signgate.conf
write_conf() {
	sg_config "$conf" "mode = \"$1\";
audit = { enabled = true; required = true; format = \"json\"; socket = \"$SG_LOG_SOCK\"; };
$(sg_allow_policy)"
}
head -c 32 /dev/urandom > "$SG_TMP/in"
sign() {
	SIGNGATE_CONF=$conf pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" \
		--login --pin anything --sign --mechanism ECDSA --id "$SG_EC_ID" \
		--input-file "$SG_TMP/in" --output-file "$SG_TMP/out.sig"
}
mark=0
expect() {   # expect allow|deny ERE-on-the-record
	local outcome=$1 pat=$2 rec=
	for _ in $(seq 1 200); do
		rec=$(tail -n "+$((mark + 1))" "$SG_AUDIT_LOG" | grep '"event":"sign"' |
			grep "\"outcome\":\"$outcome\"" | grep -E -- "$pat" | tail -n 1 || true)
		[ -n "$rec" ] && break
		sleep 0.05
	done
	[ -n "$rec" ] || { tail -n "+$((mark + 1))" "$SG_AUDIT_LOG" >&2; sg_fail "no $outcome record matching $pat"; }
	log "ok: $(echo "$rec" | grep -Eo '"(outcome|reason|uid|caller)":"?[^",]*"?' | tr '\n' ' ')"
}
setmark() { mark=$(wc -l < "$SG_AUDIT_LOG" 2>/dev/null || echo 0); }

# The same policy in-process: the current user signs (the control).
write_conf in-process
setmark
sign < /dev/null > /dev/null 2>&1 || sg_fail "control: in-process signing with the same policy fails"
expect allow '"uid":'"$(id -u)"'[,}]'
log "ok: control: mode = in-process signs"

write_conf broker
setmark
if sign < /dev/null > "$SG_TMP/out" 2>&1; then cat "$SG_TMP/out"; sg_fail "mode = broker in-process with stdin /dev/null signed"; fi
expect deny '"reason":"caller-unknown"'
rec_uid=$(tail -n "+$((mark + 1))" "$SG_AUDIT_LOG" | grep '"event":"sign"' | grep -c "\"uid\":$(id -u)[,}]" || true)
[ "$rec_uid" = 0 ] || sg_fail "the denial names this process's uid: it fell back to the own identity"
log "ok: stdin /dev/null: denied, caller-unknown, no own identity in the record"

setmark
if echo | sign > "$SG_TMP/out" 2>&1; then cat "$SG_TMP/out"; sg_fail "mode = broker in-process with stdin a pipe signed"; fi
expect deny '"reason":"caller-unknown"'
log "ok: stdin a pipe: denied, caller-unknown"

# stdin a TCP socket: SO_PEERCRED means nothing there; must be refused.
if command -v python3 >/dev/null; then
	setmark
	if /usr/bin/python3 - "$SG_MODULE" "$conf" "$SG_TOKEN" "$SG_EC_ID" "$SG_TMP/in" <<'PY' > "$SG_TMP/out" 2>&1
import os, socket, subprocess, sys
module, conf, token, key_id, data = sys.argv[1:]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0)); srv.listen(1)
cli = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
env = dict(os.environ, SIGNGATE_CONF=conf)
rc = subprocess.call(["pkcs11-tool", "--module", module, "--token-label", token, "--login",
                      "--pin", "anything", "--sign", "--mechanism", "ECDSA", "--id", key_id,
                      "--input-file", data, "--output-file", data + ".tcp.sig"],
                     stdin=conn, env=env)
sys.exit(rc)
PY
	then cat "$SG_TMP/out"; sg_fail "mode = broker with stdin a TCP socket signed"; fi
	expect deny '"reason":"caller-unknown"'
	log "ok: stdin a TCP socket: denied, caller-unknown"
fi

sg_pass "mode = broker without a p11-kit connection fails closed"

#!/bin/bash
# Audit records of real signatures made through the module, in a real
# rsyslogd's file: fields asserted, chain verified by `signgate audit`;
# audit.required with the log socket missing or full denies the
# signature; with required = false signing goes on and the dropped count
# shows up in a later record of the same process.
# usage: module.sh CASE [P11-SIGNER]
#        (records | missing-required | full-required | dropped)
set -euo pipefail
CASE=${1:?case}
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"

conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
head -c 2000 /dev/urandom > "$SG_TMP/data"
tool=$(readlink -f "$(command -v pkcs11-tool)")

# sign MECH ID: pkcs11-tool through signgate (the token PIN comes from the
# pin file; the caller's PIN is not checked by this policy)
sign() {
	rm -f "$SG_TMP/sig"
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin 0000 \
		--sign --id "$2" -m "$1" -i "$SG_TMP/data" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1
}

# record_json PATTERN: the message of the first log line matching PATTERN
record_json() {
	grep -m1 -E -- "$1" "$SG_AUDIT_LOG" | sed -e 's/^[^{]*{/{/'
}

case "$CASE" in
records)
	sg_rsyslog_start
	sg_config "$conf" "audit = { socket = \"$SG_LOG_SOCK\"; required = true; };
$(sg_allow_policy)"
	sign SHA256-RSA-PKCS "$SG_RSA_ID" || sg_fail "signing refused: $(cat "$SG_TMP/out")"
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sig" "$SG_TMP/data" >/dev/null ||
		sg_fail "signature does not verify"
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' || sg_fail "no allow record"
	rec=$(record_json '"event":"sign","outcome":"allow"')
	echo "allow record: $rec"
	python3 - "$rec" <<PY || sg_fail "allow record fields"
import json, sys, os
r = json.loads(sys.argv[1])
want = {
    "event": "sign", "outcome": "allow", "user": "$(id -un)", "uid": $(id -u), "gid": $(id -g),
    "program": "$tool", "token": "$SG_TOKEN", "key": "test-rsa", "key_id": "$SG_RSA_ID",
    "key_label": "$SG_RSA_LABEL", "key_fp": "$SG_RSA_FP", "mechanism": "CKM_SHA256_RSA_PKCS",
    "hash": "SHA256", "data_sha256": "$(openssl dgst -sha256 -r "$SG_TMP/data" | cut -d' ' -f1)",
    "data_len": 2000, "ckr": "0x00000000", "rule": "testers-sign", "role": "testers",
}
bad = {k: (r.get(k), v) for k, v in want.items() if r.get(k) != v}
assert not bad, bad
for k in ("time", "host", "pid", "ppid", "program_sha256", "op", "version", "instance", "seq", "prev", "chain"):
    assert k in r, k
assert r["time"].endswith("Z") and len(r["time"]) == 27, r["time"]
assert r["op"].startswith("C_Sign"), r["op"]
assert not any("pin" in k.lower() for k in r), r
PY
	# a denied signature: SHA-1 is not in the key's mechanisms
	if sign SHA1-RSA-PKCS "$SG_RSA_ID"; then sg_fail "SHA1-RSA-PKCS was allowed"; fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "a denied signature was written"
	sg_rsyslog_wait_for '"event":"sign","outcome":"deny"' || sg_fail "no deny record"
	rec=$(record_json '"event":"sign","outcome":"deny"')
	echo "deny record: $rec"
	python3 - "$rec" <<PY || sg_fail "deny record fields"
import json, sys
r = json.loads(sys.argv[1])
assert r["outcome"] == "deny" and r.get("reason"), r
assert r.get("key") == "test-rsa" and r.get("user") == "$(id -un)", r
assert r.get("ckr", "0x00000000") != "0x00000000", r
PY
	grep -q "$SG_USER_PIN\"" "$SG_AUDIT_LOG" && sg_fail "the token PIN is in the log"
	out=$("$SG_TOOL" audit "$SG_AUDIT_LOG") || sg_fail "chain not intact: $out"
	echo "$out"
	grep -Eq '^  test-rsa +1 ' <<<"$out" || sg_fail "summary misses the signature"
	;;
missing-required)
	sg_config "$conf" "audit = { socket = \"$SG_TMP/no-daemon.sock\"; required = true; timeout_ms = 200; };
$(sg_allow_policy)"
	if sign SHA256-RSA-PKCS "$SG_RSA_ID"; then
		sg_fail "signed although the audit record could not be delivered"
	fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "a signature was written"
	# CKR_FUNCTION_REJECTED (0x200): pkcs11-tool 0.23 prints it as unknown
	grep -Eq 'CKR_FUNCTION_REJECTED|\(0x200\)' "$SG_TMP/out" || sg_fail "want CKR_FUNCTION_REJECTED: $(cat "$SG_TMP/out")"
	echo "refused as expected: $(grep -i 'error' "$SG_TMP/out")"
	# the same with required = false signs
	sg_config "$conf" "audit = { socket = \"$SG_TMP/no-daemon.sock\"; required = false; };
$(sg_allow_policy)"
	sign SHA256-RSA-PKCS "$SG_RSA_ID" || sg_fail "required = false: refused: $(cat "$SG_TMP/out")"
	;;
full-required)
	# a bound socket nobody reads, its queue filled up
	python3 - "$SG_TMP/full.sock" <<'PY' &
import os, socket, sys, time
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(p)
c = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); c.setblocking(False); c.connect(p)
try:
    while True: c.send(b"<13>filler")
except BlockingIOError:
    pass
open(p + ".ready", "w").close()
time.sleep(120)
PY
	filler=$!
	trap "kill $filler 2>/dev/null || true; $(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")" EXIT
	for i in $(seq 1 100); do [ -e "$SG_TMP/full.sock.ready" ] && break; sleep 0.05; done
	sg_config "$conf" "audit = { socket = \"$SG_TMP/full.sock\"; required = true; timeout_ms = 200; };
$(sg_allow_policy)"
	start=$(date +%s%N)
	if sign SHA256-RSA-PKCS "$SG_RSA_ID"; then
		sg_fail "signed although the log socket is full"
	fi
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ ! -s "$SG_TMP/sig" ] || sg_fail "a signature was written"
	grep -Eq 'CKR_FUNCTION_REJECTED|\(0x200\)' "$SG_TMP/out" || sg_fail "want CKR_FUNCTION_REJECTED: $(cat "$SG_TMP/out")"
	echo "refused in ${ms} ms: $(grep -i 'error' "$SG_TMP/out")"
	[ "$ms" -lt 10000 ] || sg_fail "refusal took ${ms} ms: not bounded"
	;;
dropped)
	# one process signs while the daemon is down, then after it is back:
	# the later record reports what was dropped, and no gap shows
	signer=${2:?p11-signer path}
	sg_rsyslog_start
	sg_config "$conf" "audit = { socket = \"$SG_LOG_SOCK\"; required = false; };
$(sg_allow_policy)"
	mkfifo "$SG_TMP/go" "$SG_TMP/done"
	"$signer" "$SG_MODULE" "$SG_TOKEN" "$SG_RSA_ID" 0000 1 3 1 <"$SG_TMP/go" >"$SG_TMP/done" 2>"$SG_TMP/signer.err" &
	signer_pid=$!
	exec 7>"$SG_TMP/go" 8<"$SG_TMP/done"
	read -r -t 30 line <&8 || sg_fail "signer stuck in phase 1: $(cat "$SG_TMP/signer.err")"
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 1 || sg_fail "no first record"
	sg_rsyslog_stop
	rm -f "$SG_LOG_SOCK"
	echo go >&7
	read -r -t 30 line <&8 || sg_fail "signer stuck in phase 2 (daemon down): $(cat "$SG_TMP/signer.err")"
	sg_rsyslog_start
	echo go >&7
	read -r -t 30 line <&8 || sg_fail "signer stuck in phase 3: $(cat "$SG_TMP/signer.err")"
	exec 7>&- 8<&-
	wait $signer_pid || sg_fail "signing failed with required = false: $(cat "$SG_TMP/signer.err")"
	sg_rsyslog_wait_for '"dropped":[1-9]' 1 || sg_fail "no record reports the dropped ones: $(cat "$SG_AUDIT_LOG")"
	grep -o '"event":"[a-z-]*".*"dropped":[0-9]*' "$SG_AUDIT_LOG" |
		sed -E 's/^"event":"([a-z-]*)".*"dropped":([0-9]+)$/the next \1 record says dropped=\2/'
	n=$(grep -c '"event":"sign","outcome":"allow"' "$SG_AUDIT_LOG")
	[ "$n" -eq 2 ] || sg_fail "expected 2 delivered signature records, got $n"
	"$SG_TOOL" audit "$SG_AUDIT_LOG" | tee "$SG_TMP/summary" | grep -q 'Result: all chains intact' ||
		sg_fail "dropped records made a false gap: $(cat "$SG_TMP/summary")"
	grep -q 'not delivered by signgate' "$SG_TMP/summary" || sg_fail "summary does not mention the dropped records"
	;;
*) sg_fail "unknown case $CASE" ;;
esac
sg_pass "$CASE"

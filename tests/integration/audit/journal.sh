#!/bin/bash
# The durable audit journal (audit.journal): every record appended to a
# file before the signature is returned, one host-wide sequence and keyed
# chain for all processes, Ed25519 checkpoints, a syslog copy for the SOC;
# and `signgate audit --verify-key --mac-key` naming each kind of damage.
# Real SoftHSM token, real rsyslogd, real pkcs11-tool and C signers.
# usage: journal.sh CASE P11-SIGNER THREAD-SIGNER
set -euo pipefail
CASE=${1:?case}
P11_SIGNER=${2:?p11-signer}
THREAD_SIGNER=${3:?thread-signer}
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"

conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
J="$SG_TMP/journal/audit.journal"
mkdir -p "$SG_TMP/journal"
head -c 2000 /dev/urandom > "$SG_TMP/data"
"$SG_TOOL" audit keygen "$SG_TMP/keys" >/dev/null || sg_fail "audit keygen failed"
KEYS="$SG_TMP/keys"
[ "$(stat -c %a "$KEYS/audit-mac.key")" = 600 ] || sg_fail "MAC key is not 0600"
[ "$(stat -c %a "$KEYS/audit-checkpoint.key")" = 600 ] || sg_fail "checkpoint key is not 0600"

# jconf [EXTRA-AUDIT-SETTINGS]: journal + syslog config
jconf() {
	sg_config "$conf" "audit = { socket = \"${SOCK:-$SG_LOG_SOCK}\"; required = true; journal = \"$J\";
  mac_key = \"$KEYS/audit-mac.key\"; checkpoint_key = \"$KEYS/audit-checkpoint.key\"; ${1:-} };
$(sg_allow_policy)"
}

# sign MECH ID: one pkcs11-tool process (its stderr and stdout in $SG_TMP/out)
sign() {
	rm -f "$SG_TMP/sig"
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin 0000 \
		--sign --id "$2" -m "$1" -i "${3:-$SG_TMP/data}" -o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1
}
sign_rsa() { sign SHA256-RSA-PKCS "$SG_RSA_ID"; }

verify() {
	"$SG_TOOL" audit --verify-key "$KEYS/audit-checkpoint.pub" --mac-key "$KEYS/audit-mac.key" "$@"
}

# expect_tamper NAME PATTERN FILES...: `signgate audit` exits 1 and prints PATTERN
expect_tamper() {
	local what=$1 pat=$2 rc=0
	shift 2
	verify "$@" >"$SG_TMP/verify.out" 2>&1 || rc=$?
	cat "$SG_TMP/verify.out" | sed -n '/^Journals/,$p'
	[ "$rc" -eq 1 ] || sg_fail "$what: signgate audit exit $rc, want 1"
	grep -Eq -- "$pat" "$SG_TMP/verify.out" || sg_fail "$what: output does not say /$pat/"
}

expect_intact() {
	local rc=0
	verify "$@" >"$SG_TMP/verify.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$SG_TMP/verify.out"; sg_fail "journal not intact (exit $rc)"; }
	grep -q 'Result: all chains intact' "$SG_TMP/verify.out" || sg_fail "no intact result"
}

# the syslog copy has caught up with the journal's last record
wait_syslog_tail() {
	local last
	last=$(tail -n1 "$J" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["chain"])')
	sg_rsyslog_wait_for "$last" 1 10 || sg_fail "syslog never got the journal's last record"
}

# jcount FILTER: journal records matching a python expression over r
jcount() {
	python3 - "$J" "$1" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(sys.argv[2]): n += 1
print(n)
PY
}

case "$CASE" in
basic)
	sg_rsyslog_start
	jconf
	sign_rsa || sg_fail "RSA signing refused: $(cat "$SG_TMP/out")"
	openssl dgst -sha256 -verify "$SG_RSA_PUB" -signature "$SG_TMP/sig" "$SG_TMP/data" >/dev/null ||
		sg_fail "signature does not verify"
	openssl dgst -sha256 -binary "$SG_TMP/data" > "$SG_TMP/hash"
	sign ECDSA "$SG_EC_ID" "$SG_TMP/hash" || sg_fail "EC signing refused: $(cat "$SG_TMP/out")"
	[ "$(stat -c %a "$J")" = 600 ] || sg_fail "journal mode $(stat -c %a "$J"), want 600"
	[ -f "$J.state" ] || sg_fail "no head file beside the journal"
	python3 - "$J" <<'PY' || sg_fail "journal structure"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ids = {r["journal"] for r in recs}
assert len(ids) == 1, ids
seqs = [r["seq"] for r in recs]
assert seqs == list(range(1, len(recs) + 1)), seqs
for a, b in zip(recs, recs[1:]):
    assert b["prev"] == a["chain"], (a["seq"], b["seq"])
inst = {r["instance"] for r in recs}
assert len(inst) == 2, inst            # two processes, one chain
signs = [r for r in recs if r["event"] == "sign" and r["outcome"] == "allow"]
assert len(signs) == 2, signs
ck = [r for r in recs if r["event"] == "checkpoint"]
assert len(ck) >= 2 and all(len(r["sig"]) == 128 for r in ck), ck
assert recs[-1]["event"] == "checkpoint", recs[-1]   # each process's end is anchored
print(len(recs), "records,", len(ck), "checkpoints, one sequence for", len(inst), "processes")
PY
	grep -q "$SG_USER_PIN\"" "$J" && sg_fail "the token PIN is in the journal"
	grep -qi 'pin' <(python3 -c 'import json,sys; [print(*json.loads(l).keys()) for l in open(sys.argv[1])]' "$J") &&
		sg_fail "a PIN field is in the journal"
	wait_syslog_tail
	expect_intact "$J" "$SG_AUDIT_LOG"
	grep -Eq '2 signatures' "$SG_TMP/verify.out" || sg_fail "journal + syslog copies counted twice: $(head -1 "$SG_TMP/verify.out")"
	grep -Eq 'checkpoints \(([2-9]|[1-9][0-9]+) verified\)' "$SG_TMP/verify.out" || sg_fail "checkpoints not verified"
	head -1 "$SG_TMP/verify.out"
	# a wrong MAC key: every record fails
	printf '%064d\n' 0 > "$SG_TMP/wrong.key"; chmod 600 "$SG_TMP/wrong.key"
	rc=0; "$SG_TOOL" audit --mac-key "$SG_TMP/wrong.key" "$J" >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || sg_fail "a wrong MAC key verified the journal"
	# a key file others can read is refused, as the PIN file is
	chmod 644 "$SG_TMP/wrong.key"
	rc=0; "$SG_TOOL" audit --mac-key "$SG_TMP/wrong.key" "$J" >"$SG_TMP/o" 2>&1 || rc=$?
	[ "$rc" -eq 2 ] && grep -q 'chmod 0600' "$SG_TMP/o" || sg_fail "readable MAC key accepted: $(cat "$SG_TMP/o")"
	;;
formats)
	sg_rsyslog_start
	for fmt in cef logfmt; do
		rm -f "$J" "$J.state"
		# logfmt also with sync = "fdatasync"
		jconf "format = \"$fmt\"; $([ $fmt = logfmt ] && echo 'sync = "fdatasync";')"
		sign_rsa || sg_fail "$fmt: signing refused: $(cat "$SG_TMP/out")"
		case $fmt in
		cef) grep -q '^CEF:0|signgate|signgate|.*|sign|sign allowed|3|.* journal=[0-9a-f]\{32\} instance=.* seq=[0-9]* prev=[0-9a-f]\{64\} chain=[0-9a-f]\{64\}$' "$J" || sg_fail "cef journal line: $(head -3 "$J")" ;;
		logfmt) grep -q '^time=.* event=sign outcome=allow .* seq=[0-9]* prev=[0-9a-f]\{64\} chain=[0-9a-f]\{64\}$' "$J" || sg_fail "logfmt journal line: $(head -3 "$J")" ;;
		esac
		grep -q ' sig=[0-9a-f]\{128\} chain=' "$J" || sg_fail "$fmt: no checkpoint"
		last=$(tail -n1 "$J" | grep -o 'chain=[0-9a-f]*$')
		sg_rsyslog_wait_for "$last" 1 10 || sg_fail "$fmt: not in syslog"
		expect_intact "$J"
		echo "$fmt: $(grep -c . "$J") journal records intact"
	done
	expect_intact "$SG_AUDIT_LOG"
	;;
forged)
	sg_rsyslog_start
	jconf
	sign_rsa || sg_fail "signing refused: $(cat "$SG_TMP/out")"
	wait_syslog_tail
	chmod 0666 "$SG_LOG_SOCK"   # as /dev/log is on every host
	# as nobody: (1) a record in the journal's shape with the next seq and
	# a made-up chain; (2) a complete, correctly hash-chained fake instance
	# in the unkeyed shape (what fooled the old reader)
	python3 - "$J" "$SG_TMP/forged.msgs" <<'PY'
import hashlib, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
last, sign = recs[-1], [r for r in recs if r["event"] == "sign"][0]
out = []
f = dict(sign); f.update(user="alice", program="/usr/bin/osslsigncode", seq=last["seq"] + 1,
                         prev=last["chain"], pid=4242)
f["chain"] = hashlib.sha256(b"made up").hexdigest()
out.append(json.dumps(f, separators=(",", ":")))
prev = "0" * 64
for seq in (1, 2):
    r = dict(sign); [r.pop(k) for k in ("journal", "chain")]
    r.update(user="alice", program="/usr/bin/osslsigncode", instance="feedface" * 4, seq=seq, prev=prev)
    body = json.dumps(r, separators=(",", ":"))
    chain = hashlib.sha256(body[:-1].encode()).hexdigest()   # P: the text before the chain field
    out.append(body[:-1] + ',"chain":"%s"}' % chain)
    prev = chain
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
	chmod 644 "$SG_TMP/forged.msgs"
	runuser -u nobody -- python3 - "$SG_LOG_SOCK" "$SG_TMP/forged.msgs" <<'PY' || sg_fail "nobody could not send"
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
for m in open(sys.argv[2]).read().splitlines():
    s.send(b"<86>Jan  1 00:00:00 signgate[4242]: " + m.encode())
PY
	sg_rsyslog_wait_for 'feedface.*"seq":2' 1 10 || sg_fail "forged records did not reach the log"
	expect_tamper "forged" 'forged: seq [0-9]+ at .*bad MAC: not written by signgate \(event sign, user alice' "$J" "$SG_AUDIT_LOG"
	grep -q 'forged: seq 1 at .*without a keyed journal chain' "$SG_TMP/verify.out" || sg_fail "unkeyed fake instance not named"
	grep -q 'edit: seq 1 at .*audit.log' "$SG_TMP/verify.out" && sg_fail "test bug: the fake instance is not correctly chained"
	grep -q '1 signatures' "$SG_TMP/verify.out" || sg_fail "forged signatures counted: $(head -1 "$SG_TMP/verify.out")"
	grep -Eq '^  alice ' "$SG_TMP/verify.out" && sg_fail "alice's forged signature is in the summary"
	expect_intact "$J"    # the journal itself is untouched
	;;
deleted-process)
	sg_rsyslog_start
	jconf
	for i in 1 2 3; do sign_rsa || sg_fail "signing $i refused: $(cat "$SG_TMP/out")"; done
	wait_syslog_tail
	victim=$(python3 -c 'import json,sys
s=[json.loads(l) for l in open(sys.argv[1])]
print([r for r in s if r["event"]=="sign"][1]["instance"])' "$J")
	grep -v "\"instance\":\"$victim\"" "$J" > "$J.new"; mv "$J.new" "$J"
	echo "deleted every record of process instance $victim"
	expect_tamper "deleted process (journal only)" 'gap: seq [0-9]+-[0-9]+ .*missing' "$J"
	expect_tamper "deleted process" "deleted-process: seq [0-9]+-[0-9]+ .* written by process $victim \\(pid [0-9]+, .*pkcs11-tool\\)" "$J" "$SG_AUDIT_LOG"
	;;
truncated)
	sg_rsyslog_start
	jconf
	for i in 1 2; do sign_rsa || sg_fail "signing refused: $(cat "$SG_TMP/out")"; done
	wait_syslog_tail
	n=$(grep -c . "$J")
	head -n $((n - 3)) "$J" > "$J.new"; cat "$J.new" > "$J"; rm "$J.new"
	echo "cut the last 3 records (the last process's end and its checkpoint)"
	expect_tamper "truncated (head file)" 'truncated: the journal ends at seq [0-9]+ but the journal head file has seq [0-9]+' "$J"
	mkdir "$SG_TMP/copy"; cp "$J" "$SG_TMP/copy/j"
	expect_tamper "truncated (syslog)" 'truncated: .* but the syslog input has seq' "$SG_TMP/copy/j" "$SG_AUDIT_LOG"
	;;
edited)
	sg_rsyslog_start
	jconf
	sign_rsa || sg_fail "signing refused: $(cat "$SG_TMP/out")"
	sign_rsa || sg_fail "signing refused: $(cat "$SG_TMP/out")"
	python3 - "$J" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines(True)
i = [k for k, l in enumerate(lines) if '"event":"sign"' in l][0]
import re
lines[i] = re.sub(r'"user":"[^"]*"', '"user":"mallory"', lines[i])
open(sys.argv[1], "w").writelines(lines)
PY
	grep -q '"user":"mallory"' "$J" || sg_fail "test did not edit"
	expect_tamper "edited" 'edit: seq [0-9]+ at .*content changed after signgate sealed it' "$J"
	# reordered: swap two lines; duplicated: repeat one
	git_l=$(grep -n '"event":"sign"' "$J" | tail -1 | cut -d: -f1)
	sed -n "${git_l}p" "$J" >> "$J"
	expect_tamper "duplicated" 'duplicate: seq [0-9]+ at .* repeats' "$J"
	;;
rotation)
	# one long-lived process signs across a logrotate `create` (journal
	# moved away) and a `copytruncate`; other processes sign in between
	SOCK="$SG_TMP/nolog.sock" jconf
	mkfifo "$SG_TMP/go" "$SG_TMP/done"
	"$P11_SIGNER" "$SG_MODULE" "$SG_TOKEN" "$SG_RSA_ID" 0000 1 1 1 1 <"$SG_TMP/go" >"$SG_TMP/done" 2>"$SG_TMP/signer.err" &
	pid=$!
	exec 7>"$SG_TMP/go" 8<"$SG_TMP/done"
	phase() {
		[ -z "${1:-}" ] || echo go >&7
		read -r -t 30 line <&8 || sg_fail "signer stuck: $(cat "$SG_TMP/signer.err")"
	}
	phase
	mv "$J" "$J.1"                                  # logrotate create
	sign_rsa || sg_fail "signing after the move refused: $(cat "$SG_TMP/out")"
	# every record looks at both paths: no wait is needed for the move or
	# the removed head to be seen, by this process or the long-lived one
	phase go
	rm "$J.state"                                   # the head file removed: a new one is taken
	sign_rsa || sg_fail "signing after removing the head refused: $(cat "$SG_TMP/out")"
	                                                # up from the journal's last line, and the
	phase go                                        # long-lived process follows it
	cp "$J" "$J.2"; : > "$J"                        # logrotate copytruncate
	phase go
	exec 7>&- 8<&-
	wait $pid || sg_fail "signer failed: $(cat "$SG_TMP/signer.err")"
	sign_rsa || sg_fail "signing refused: $(cat "$SG_TMP/out")"
	for f in "$J.1" "$J.2" "$J"; do
		[ -s "$f" ] || sg_fail "$f is empty: a process kept writing to the old file"
		echo "$(basename "$f"): seq $(head -1 "$f" | grep -o '"seq":[0-9]*') .. $(tail -1 "$f" | grep -o '"seq":[0-9]*')"
	done
	cat "$SG_TMP/signer.err" >&2
	expect_intact --head "$J.state" "$J.1" "$J.2" "$J"
	grep -q '7 signatures' "$SG_TMP/verify.out" || sg_fail "want 7 signatures: $(head -1 "$SG_TMP/verify.out")"
	;;
journal-missing)
	sg_rsyslog_start
	J="$SG_TMP/nodir/audit.journal" jconf
	rc=0; "$SG_TOOL" check "$conf" >"$SG_TMP/check.out" 2>&1 || rc=$?
	cat "$SG_TMP/check.out"
	grep -q "warning: audit.journal .*nodir.*" "$SG_TMP/check.out" || sg_fail "signgate check does not warn"
	if sign_rsa; then sg_fail "signed although the journal cannot be written"; fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "a signature was written"
	grep -Eq 'CKR_FUNCTION_REJECTED|\(0x200\)' "$SG_TMP/out" || sg_fail "want CKR_FUNCTION_REJECTED: $(cat "$SG_TMP/out")"
	grep -E "signgate: audit journal .*/nodir/audit.journal: No such file or directory \(signatures are refused" "$SG_TMP/out" ||
		sg_fail "no clear stderr line: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for '"reason":"audit-unavailable"' 1 10 || sg_fail "no audit reason in syslog"
	grep '"reason":"audit-unavailable"' "$SG_AUDIT_LOG" | grep -q '"journal_error":"No such file or directory"' ||
		sg_fail "syslog record does not say why"
	# unwritable: the journal's name is taken by a directory
	mkdir -p "$SG_TMP/j2/audit.journal"
	J="$SG_TMP/j2/audit.journal" jconf
	"$SG_TOOL" check "$conf" >"$SG_TMP/check.out" 2>&1 || true
	grep "warning: audit.journal .*not a regular file" "$SG_TMP/check.out" || sg_fail "check does not warn (directory)"
	if sign_rsa; then sg_fail "signed although the journal is a directory"; fi
	grep -E "signgate: audit journal .*: Is a directory" "$SG_TMP/out" || sg_fail "no stderr line: $(cat "$SG_TMP/out")"
	;;
socket-missing)
	SOCK="$SG_TMP/no-daemon.sock" jconf
	"$SG_TOOL" check "$conf" 2>&1 | tee "$SG_TMP/check.out"
	grep -q "warning: audit.socket .*no-daemon.sock" "$SG_TMP/check.out" || sg_fail "signgate check does not warn"
	"$P11_SIGNER" "$SG_MODULE" "$SG_TOKEN" "$SG_RSA_ID" 0000 3 >/dev/null 2>"$SG_TMP/err" ||
		sg_fail "journal mode: a missing syslog socket refused signing: $(cat "$SG_TMP/err")"
	cat "$SG_TMP/err"
	n=$(grep -c "cannot send to the syslog socket $SG_TMP/no-daemon.sock" "$SG_TMP/err" || true)
	[ "$n" -eq 1 ] || sg_fail "want one stderr line naming the socket, got $n"
	[ "$(jcount 'r["event"]=="sign"')" -eq 3 ] || sg_fail "the journal lacks signatures"
	expect_intact "$J"
	# syslog_required: refused, and still one line
	SOCK="$SG_TMP/no-daemon.sock" jconf "syslog_required = true;"
	if "$P11_SIGNER" "$SG_MODULE" "$SG_TOKEN" "$SG_RSA_ID" 0000 2 >/dev/null 2>"$SG_TMP/err"; then
		sg_fail "syslog_required: signed without syslog"
	fi
	[ "$(grep -c "no-daemon.sock" "$SG_TMP/err")" -eq 1 ] || sg_fail "syslog_required: $(cat "$SG_TMP/err")"
	grep -q 'sign (phase 1): 0x200' "$SG_TMP/err" || sg_fail "want CKR_FUNCTION_REJECTED: $(cat "$SG_TMP/err")"
	[ "$(jcount 'r["event"]=="sign" and r["outcome"]=="deny" and r["reason"]=="audit-unavailable"')" -eq 1 ] ||
		sg_fail "the withdrawn signature is not recorded in the journal"
	expect_intact "$J"
	grep -q '^signgate audit: .* 3 signatures' "$SG_TMP/verify.out" && grep -q '1 journaled signatures were withdrawn' "$SG_TMP/verify.out" ||
		sg_fail "withdrawn signature counted as returned: $(head -3 "$SG_TMP/verify.out")"
	# without a journal (syslog only, required): the refusal is no longer silent
	sg_config "$conf" "audit = { socket = \"$SG_TMP/no-daemon.sock\"; required = true; };
$(sg_allow_policy)"
	if sign_rsa; then sg_fail "syslog only: signed without syslog"; fi
	grep -q "cannot send to the syslog socket $SG_TMP/no-daemon.sock: .* (signatures are refused)" "$SG_TMP/out" ||
		sg_fail "syslog only: no stderr line: $(cat "$SG_TMP/out")"
	;;
disk-full)
	mkdir -p "$SG_TMP/small"
	mount -t tmpfs -o size=64k,mode=0700 signgate-test "$SG_TMP/small" 2>/dev/null ||
		sg_skip "cannot mount a tmpfs (not root?)"
	prev_trap=$(trap -p EXIT | sed -e "s/^trap -- '//" -e "s/' EXIT\$//")
	trap "umount -l '$SG_TMP/small' 2>/dev/null || true; $prev_trap" EXIT
	J="$SG_TMP/small/audit.journal"
	SOCK="$SG_TMP/nolog.sock" jconf
	sign_rsa || sg_fail "signing refused before the disk filled: $(cat "$SG_TMP/out")"
	dd if=/dev/zero of="$SG_TMP/small/filler" bs=1k 2>/dev/null || true
	refused=0
	for i in $(seq 1 20); do
		if sign_rsa; then continue; fi
		refused=1
		break
	done
	[ "$refused" = 1 ] || sg_fail "20 signatures on a full disk all returned"
	[ ! -s "$SG_TMP/sig" ] || sg_fail "a signature was written on a full disk"
	grep -Eq 'CKR_FUNCTION_REJECTED|\(0x200\)' "$SG_TMP/out" || sg_fail "want CKR_FUNCTION_REJECTED: $(cat "$SG_TMP/out")"
	grep -E "audit journal .*: No space left on device" "$SG_TMP/out" || sg_fail "no stderr line: $(cat "$SG_TMP/out")"
	[ "$(tail -c1 "$J" | od -An -c | tr -d ' ')" = '\n' ] || sg_fail "the journal ends in half a record"
	python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' "$J" || sg_fail "a journal line does not parse"
	n_before=$(jcount 'r["event"]=="sign" and r["outcome"]=="allow"')
	rm -f "$SG_TMP/small/filler"
	sign_rsa || sg_fail "signing did not resume when space returned: $(cat "$SG_TMP/out")"
	n_after=$(jcount 'r["event"]=="sign" and r["outcome"]=="allow"')
	[ "$n_after" -eq $((n_before + 1)) ] || sg_fail "signature after recovery not journaled"
	expect_intact "$J"
	echo "refused on a full disk after $i signatures; $(grep -c . "$J") whole records, intact, resumed"
	;;
crash)
	sg_rsyslog_start
	jconf
	"$THREAD_SIGNER" "$SG_MODULE" "$SG_TOKEN" "$SG_RSA_ID" 0000 2 60 "$SG_TMP/stop" \
		>"$SG_TMP/signer.out" 2>"$SG_TMP/signer.err" &
	signer=$!
	sleep 2
	kill -9 "$SG_RSYSLOG_PID"; wait "$SG_RSYSLOG_PID" 2>/dev/null || true; SG_RSYSLOG_PID=""
	echo "rsyslogd killed while two threads sign"
	sleep 2
	touch "$SG_TMP/stop"
	wait $signer || sg_fail "signer failed: $(cat "$SG_TMP/signer.err")"
	cat "$SG_TMP/signer.out" "$SG_TMP/signer.err"
	read -r _ returned _ refused < "$SG_TMP/signer.out"
	[ "$returned" -gt 0 ] || sg_fail "no signatures"
	[ "$refused" -eq 0 ] || sg_fail "$refused signatures refused although the journal was writable"
	n=$(jcount 'r["event"]=="sign" and r["outcome"]=="allow" and r.get("op")=="C_Sign"')
	echo "signatures returned: $returned; signature records in the journal: $n"
	[ "$n" -eq "$returned" ] || sg_fail "journal has $n signature records for $returned signatures"
	expect_intact "$J"
	rc=0; verify "$J" "$SG_AUDIT_LOG" >"$SG_TMP/both.out" 2>&1 || rc=$?
	[ "$rc" -eq 0 ] || { cat "$SG_TMP/both.out"; sg_fail "journal + partial syslog: exit $rc"; }
	grep 'not-in-syslog' "$SG_TMP/both.out" || sg_fail "records lost by the killed daemon are not named"
	;;
*) sg_fail "unknown case $CASE" ;;
esac
sg_pass "$CASE"

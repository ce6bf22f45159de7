#!/bin/bash
# Records from the real audit code through a real rsyslogd into a file:
# `signgate audit` finds the chain intact, then detects a deleted, an
# edited and a reordered line in copies of the file.
# usage: chain.sh AUDIT_EMIT FORMAT   (json, json-cee, cef, logfmt, json-rfc5424, cef-rfc5424)
set -euo pipefail
EMIT=$1 VARIANT=$2
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
. "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"

fmt=${VARIANT%%-*}
extra=()
case "$VARIANT" in
*-cee) extra+=(cee) ;;
*-rfc5424) extra+=(rfc5424) ;;
esac

case "$VARIANT" in
*-traditional) export SG_RSYSLOG_TEMPLATE=RSYSLOG_TraditionalFileFormat ;;
esac
case "$VARIANT" in
*-rfc5424) sg_rsyslog_start rfc5424 ;;
*) sg_rsyslog_start ;;
esac

# other_program TAG MSG: a line from another program (not logger(1): it
# hangs under the sanitizer pass's LD_PRELOAD)
other_program() {
	python3 - "$SG_LOG_SOCK" "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect(sys.argv[1])
s.send(("<13>Nov 22 10:00:00 %s[99]: %s" % (sys.argv[2], sys.argv[3])).encode())
PY
}

if [ "$VARIANT" = mixed ]; then
	# three processes (instances), one per format, and other programs'
	# lines in between, some of them looking a bit like records
	other_program sshd 'Accepted publickey for bob time=now' || sg_fail "cannot write to the log socket"
	"$EMIT" "$SG_LOG_SOCK" json 30 3 || sg_fail "emit json"
	other_program app '{"time":"2026-01-01T00:00:00Z","msg":"not ours"}'
	"$EMIT" "$SG_LOG_SOCK" cef 30 2 || sg_fail "emit cef"
	other_program app 'CEF:0|other|thing|1|x|y|3|a=b'
	"$EMIT" "$SG_LOG_SOCK" logfmt 30 1 || sg_fail "emit logfmt"
	sg_rsyslog_wait_for 'chain' 90 || sg_fail "rsyslogd did not write the records"
	sg_rsyslog_wait_for 'CEF:0\|other' 1 || sg_fail "noise missing"
	out=$("$SG_TOOL" audit "$SG_AUDIT_LOG") || sg_fail "mixed: not intact: $out"
	echo "$out"
	grep -q 'signgate audit: 90 records, 3 instances' <<<"$out" || sg_fail "mixed: wrong counts"
	[ "$(grep -c 'records  intact$' <<<"$out")" = 3 ] || sg_fail "mixed: not 3 intact instances"
	# a line deleted in one instance leaves the others intact
	awk '/CEF:0\|signgate/{n++; if (n==12) next} {print}' "$SG_AUDIT_LOG" > "$SG_TMP/deleted.log"
	set +e; out=$("$SG_TOOL" audit "$SG_TMP/deleted.log"); rc=$?; set -e
	[ $rc = 1 ] || sg_fail "mixed deleted: exit $rc"
	[ "$(grep -c 'records  intact$' <<<"$out")" = 2 ] || sg_fail "mixed deleted: want 2 intact: $out"
	grep -q 'gap: seq 12 missing' <<<"$out" || sg_fail "mixed deleted: gap not named: $out"
	sg_pass mixed
fi
if [ "$VARIANT" = garbage ]; then
	# the reader on damaged input: records of all formats cut, spliced and
	# sprinkled with escapes and NULs must give 0 or 1, never a crash
	for f in json cef logfmt; do "$EMIT" "$SG_LOG_SOCK" $f 20 2 || sg_fail "emit $f"; done
	sg_rsyslog_wait_for 'chain' 60 || sg_fail "rsyslogd did not write the records"
	python3 - "$SG_AUDIT_LOG" "$SG_TMP/garbage.log" <<'PY'
import random, sys
random.seed(5)
lines = open(sys.argv[1], "rb").read().split(b"\n")
out = open(sys.argv[2], "wb")
for k in range(6000):
    l = bytearray(random.choice(lines))
    for _ in range(random.randint(1, 8)):
        if not l: break
        i = random.randrange(len(l)); op = random.random()
        if op < 0.4: l[i] = random.randrange(256)
        elif op < 0.7: del l[i:i + random.randint(1, 60)]
        else: l[i:i] = bytes(random.choice(b'\\"=| {}\x00:u') for _ in range(random.randint(1, 6)))
    out.write(bytes(l).replace(b"\n", b" ") + b"\n")
PY
	set +e; "$SG_TOOL" audit "$SG_TMP/garbage.log" >/dev/null; rc=$?
	"$SG_TOOL" audit --json "$SG_TMP/garbage.log" > "$SG_TMP/garbage.json"
	python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$SG_TMP/garbage.json"; jrc=$?; set -e
	[ $rc = 0 ] || [ $rc = 1 ] || sg_fail "garbage: exit $rc"
	[ $jrc = 0 ] || sg_fail "garbage: --json output is not JSON"
	sg_pass "garbage (exit $rc)"
fi

N=40
"$EMIT" "$SG_LOG_SOCK" "$fmt" $N 4 "${extra[@]}" || sg_fail "audit-emit could not deliver"
sg_rsyslog_wait_for 'signgate' $N || sg_fail "rsyslogd did not write $N records"
log=$SG_AUDIT_LOG
echo "--- first record as rsyslogd wrote it:"; head -n 1 "$log"

# the fields as a SIEM would see them
line=$(grep -m1 'signgate' "$log")
case "$fmt" in
json)   for f in '"event":"sign"' '"user":"user' '"uid":10' '"program":"/usr/bin/tool' \
                 '"issuer":"ci-validator"' '"run":"run \"42\""' '"key_id":"01"' \
                 '"mechanism":"SHA256-RSA-PKCS"' '"seq":' '"instance":"' '"prev":"' '"chain":"'; do
		grep -qF -- "$f" <<<"$line" || sg_fail "$VARIANT: '$f' not in: $line"; done ;;
cef)    for f in 'CEF:0|signgate|signgate|' '|sign|sign ' 'event=sign' 'user=user' \
                 'detail=hostile "detail" \= | \\ \n end' 'seq=' 'chain='; do
		grep -qF -- "$f" <<<"$line" || sg_fail "$VARIANT: '$f' not in: $line"; done ;;
logfmt) for f in ' time=' 'event=sign' 'user=user' 'detail="hostile \"detail\" = | \\ \n end"' \
                 'run="run \"42\""' 'seq=' ' chain='; do
		grep -qF -- "$f" <<<"$line" || sg_fail "$VARIANT: '$f' not in: $line"; done ;;
esac
case "$VARIANT" in
*-cee) grep -qF 'signgate[' <<<"$line" && grep -qF '@cee: {"time":"' <<<"$line" || sg_fail "no @cee cookie: $line" ;;
*-traditional) grep -Eq '^[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} [^ ]+ signgate\[[0-9]+\]: time=' <<<"$line" || sg_fail "not the traditional layout: $line" ;;
# the daemon parsed the RFC 5424 header: tag from APP-NAME and PROCID
*-rfc5424) grep -Eq '^[0-9T:.+-]+ [^ ]+ signgate\[[0-9]+\]:? (\{"time"|CEF:0)' <<<"$line" || sg_fail "RFC 5424 header not parsed: $line" ;;
esac

# intact
out=$("$SG_TOOL" audit "$log") || sg_fail "signgate audit says not intact: $out"
echo "$out"
grep -q 'Result: all chains intact' <<<"$out" || sg_fail "no intact result"
grep -q "signgate audit: $N records, 1 instances" <<<"$out" || sg_fail "record count"
grep -Eq '^  test-rsa +[0-9]+  first 20' <<<"$out" || sg_fail "no first/last use for test-rsa"
grep -Eq '^  outside-window +[0-9]+' <<<"$out" || sg_fail "no denials by reason"
json=$("$SG_TOOL" audit --json "$log") || sg_fail "--json not intact"
python3 - "$N" <<PY || sg_fail "--json output wrong: $json"
import json, sys
o = json.loads('''$json''')
n = int(sys.argv[1])
assert o["records"] == n and o["intact"] is True, o
assert o["signatures"] + o["denials"] == n
assert len(o["instances"]) == 1 and o["instances"][0]["last_seq"] == n
assert o["signatures_by_product"].keys() <= {"app", "lib"}
assert "first" in o["signatures_by_key"]["test-ec"]
PY
# stdin works too
"$SG_TOOL" audit < "$log" >/dev/null || sg_fail "stdin"

# a deleted line: seq 5 missing
grep -v '' /dev/null >/dev/null || true
awk 'BEGIN{n=0} /signgate/{n++; if (n==5) next} {print}' "$log" > "$SG_TMP/deleted.log"
set +e; out=$("$SG_TOOL" audit "$SG_TMP/deleted.log"); rc=$?; set -e
echo "$out" | grep -E 'gap|edit|reorder|TAMPER' || true
[ $rc = 1 ] || sg_fail "deleted line: exit $rc, want 1"
grep -q 'gap: seq 5 missing' <<<"$out" || sg_fail "deleted line: gap not named"

# an edited line: a denial turned into an allow... any byte of the message
awk 'BEGIN{n=0} /signgate/{n++; if (n==7) sub(/user[0-9]/, "mallory")} {print}' "$log" > "$SG_TMP/edited.log"
cmp -s "$log" "$SG_TMP/edited.log" && sg_fail "edit did not change the copy"
set +e; out=$("$SG_TOOL" audit "$SG_TMP/edited.log"); rc=$?; set -e
echo "$out" | grep -E 'gap|edit|reorder|TAMPER' || true
[ $rc = 1 ] || sg_fail "edited line: exit $rc, want 1"
grep -q 'edit: seq 7 at .*content does not match its chain' <<<"$out" || sg_fail "edited line not named"

# an edit that recomputes the record's own chain still breaks the link
python3 - "$log" "$SG_TMP/forged.log" "$fmt" <<'PY'
import hashlib, re, sys
src, dst, fmt = sys.argv[1:4]
lines = open(src, encoding="utf-8", errors="surrogateescape").read().split("\n")
n = 0
for i, l in enumerate(lines):
    if "signgate" not in l: continue
    n += 1
    if n != 9: continue
    l = re.sub(r"user[0-9]", "mallory", l, count=1)
    if fmt == "json":
        m = re.search(r',"chain":"[0-9a-f]{64}"\}$', l)
        start = l.index('{"time":"')
        new = hashlib.sha256(l[start:m.start()].encode("utf-8", "surrogateescape")).hexdigest()
        l = l[:m.start()] + ',"chain":"' + new + '"}'
    else:
        m = re.search(r' chain=[0-9a-f]{64}$', l)
        start = l.index("CEF:0|") if fmt == "cef" else l.index(" time=") + 1
        new = hashlib.sha256(l[start:m.start()].encode("utf-8", "surrogateescape")).hexdigest()
        l = l[:m.start()] + ' chain=' + new
    lines[i] = l
open(dst, "w", encoding="utf-8", errors="surrogateescape").write("\n".join(lines))
PY
set +e; out=$("$SG_TOOL" audit "$SG_TMP/forged.log"); rc=$?; set -e
echo "$out" | grep -E 'gap|edit|reorder|TAMPER' || true
[ $rc = 1 ] || sg_fail "forged line: exit $rc, want 1"
grep -q 'edit: seq 10 at .*prev does not match the chain of seq 9' <<<"$out" || sg_fail "forged line not caught by the link"

# a reordered pair: records 10 and 11 swapped
awk 'BEGIN{n=0} /signgate/{n++; if (n==10) {held=$0; next} if (n==11) {print; print held; next}} {print}' \
	"$log" > "$SG_TMP/reordered.log"
set +e; out=$("$SG_TOOL" audit "$SG_TMP/reordered.log"); rc=$?; set -e
echo "$out" | grep -E 'gap|edit|reorder|TAMPER' || true
[ $rc = 1 ] || sg_fail "reordered pair: exit $rc, want 1"
grep -q 'reorder: seq 10 at .* comes after seq 11' <<<"$out" || sg_fail "reorder not named"
grep -q 'gap:' <<<"$out" && sg_fail "reorder reported as a gap"

# a duplicated (replayed) line
awk 'BEGIN{n=0} /signgate/{n++; if (n==3) print} {print}' "$log" > "$SG_TMP/dup.log"
set +e; out=$("$SG_TOOL" audit "$SG_TMP/dup.log"); rc=$?; set -e
[ $rc = 1 ] || sg_fail "duplicated line: exit $rc, want 1"
grep -q 'duplicate: seq 3' <<<"$out" || sg_fail "duplicate not named"

# --since/--until filter by the record's own time
first=$("$SG_TOOL" audit --json "$log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["instances"][0]["first_time"])')
"$SG_TOOL" audit --until 2000-01-01 "$log" | grep -q '^signgate audit: 0 records' || sg_fail "--until"
"$SG_TOOL" audit --since "$first" "$log" | grep -q "^signgate audit: $N records" || sg_fail "--since"
set +e; "$SG_TOOL" audit --since yesterday "$log" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] || sg_fail "bad --since: exit $rc, want 2"
set +e; "$SG_TOOL" audit "$SG_TMP/no-such-file" >/dev/null 2>&1; rc=$?; set -e
[ $rc = 2 ] || sg_fail "missing file: exit $rc, want 2"
sg_pass "$VARIANT"

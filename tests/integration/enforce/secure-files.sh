#!/bin/bash
# Files the module trusts are read through one checked reader
# (module/runtime/secure_open.c), with messages naming the file (issue 12,
# defect 7.4).  One case per run:
#   ticket-file    SIGNGATE_TICKET naming a file: the caller's own 0644 file
#                  signs; group-writable, someone else's or a symlink is
#                  refused (message naming the file, ticket deny record)
#   validator-key  a group-writable validator public key: C_Initialize
#                  CKR_FUNCTION_FAILED naming the key; signgate check loads
#                  it, --strict refuses it
#   pin-file       a PIN file readable by the group or reached through a
#                  symbolic link: C_Initialize CKR_FUNCTION_FAILED
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
test_gate=${1:?test_gate binary} case_name=${2:?case}
sg_rsyslog_start

v="$SG_TMP/validator.pem"
"$SG_TOOL" ticket keygen --out "$v" >/dev/null 2>&1 || sg_fail "ticket keygen"
chmod 0644 "$SG_TMP/validator.pub.pem"
conf="$SG_TMP/signgate.conf"
export SIGNGATE_CONF="$conf"
sg_config "$conf" "audit = { required = true; socket = \"$SG_LOG_SOCK\"; };
validators = ( { name = \"ci-validator\"; public_key = \"$SG_TMP/validator.pub.pem\"; } );
roles = ( { name = \"release\"; users = [ $(id -u) ]; } );
keys = ( { name = \"app-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; fingerprint = \"sha256:$SG_EC_FP\";
           products = [ \"app\" ]; mechanisms = [ \"ECDSA\" ]; } );
rules = ( { name = \"release\"; roles = [ \"release\" ]; keys = [ \"app-ec\" ];
            checks = [ \"unit-tests\" ]; } );"
printf 'artifact\n' > "$SG_TMP/artifact"
openssl dgst -sha256 -binary "$SG_TMP/artifact" > "$SG_TMP/hash"

# init CONF WANT PATTERN: C_Initialize's CK_RV and its message
init() {
	local out rc
	set +e
	out=$(SIGNGATE_CONF=$1 "$test_gate" init 2>"$SG_TMP/err")
	rc=$?
	set -e
	echo "C_Initialize: $out; stderr: $(cat "$SG_TMP/err")"
	[ "$rc" = 0 ] || sg_fail "test_gate init exited $rc (crash?)"
	[ "$out" = "$2" ] || sg_fail "C_Initialize returned $out, want $2"
	grep -qE -- "$3" <<<"$(cat "$SG_TMP/err")" || sg_fail "message '$(cat "$SG_TMP/err")' lacks '$3'"
}

case "$case_name" in
ticket-file)
	t=$("$SG_TOOL" ticket issue --key "$v" --issuer ci-validator --product app --run 1 \
		--check unit-tests=pass 2>/dev/null) || sg_fail "ticket issue"
	sign() { # sign FILE: pkcs11-tool with SIGNGATE_TICKET=FILE
		rm -f "$SG_TMP/sig"
		SIGNGATE_TICKET=$1 pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login \
			--pin anything --sign --id "$SG_EC_ID" -m ECDSA -i "$SG_TMP/hash" \
			-o "$SG_TMP/sig" >"$SG_TMP/out" 2>&1
	}
	printf '%s\n' "$t" > "$SG_TMP/ticket.jws"
	chmod 0644 "$SG_TMP/ticket.jws"
	sign "$SG_TMP/ticket.jws" || sg_fail "the caller's own ticket file was refused: $(cat "$SG_TMP/out")"
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 1 5 || sg_fail "no allow record"
	refused() { # refused FILE PATTERN
		if sign "$1"; then sg_fail "signed with ticket file $1"; fi
		[ ! -s "$SG_TMP/sig" ] || sg_fail "a signature was written"
		grep -qE -- "SIGNGATE_TICKET: $1: .*$2" "$SG_TMP/out" ||
			sg_fail "no message naming $1 ($2): $(cat "$SG_TMP/out")"
		echo "refused as expected: $1: $2"
	}
	cp -p "$SG_TMP/ticket.jws" "$SG_TMP/group.jws"; chmod 0664 "$SG_TMP/group.jws"
	refused "$SG_TMP/group.jws" "insecure permissions 0664: group- or world-writable"
	sg_rsyslog_wait_for '"event":"ticket","outcome":"deny"' 1 5 || sg_fail "no ticket deny record"
	sg_rsyslog_wait_for '"event":"sign","outcome":"deny","reason":"ticket-' 1 5 ||
		sg_fail "no sign deny record with a ticket reason"
	ln -s "$SG_TMP/ticket.jws" "$SG_TMP/link.jws"
	refused "$SG_TMP/link.jws" "symbolic link"
	mkfifo "$SG_TMP/fifo.jws"
	refused "$SG_TMP/fifo.jws" "not a regular file"
	if [ "$(id -u)" = 0 ]; then
		cp -p "$SG_TMP/ticket.jws" "$SG_TMP/other.jws"; chown 4242 "$SG_TMP/other.jws"
		refused "$SG_TMP/other.jws" "owned by uid 4242"
	fi
	;;
validator-key)
	init "$conf" 0x0 '^$|.'
	chmod 0664 "$SG_TMP/validator.pub.pem"
	init "$conf" 0x6 "$conf:[0-9]+: setting 'validators\[0\]\.public_key': cannot read public key $SG_TMP/validator.pub.pem: insecure permissions 0664"
	"$SG_TOOL" check --quiet "$conf" || sg_fail "signgate check (not strict) refused it"
	if "$SG_TOOL" check --strict "$conf" 2>"$SG_TMP/check.err"; then sg_fail "check --strict loaded it"; fi
	grep -q "validator.pub.pem: insecure permissions 0664" "$SG_TMP/check.err" ||
		sg_fail "check --strict: $(cat "$SG_TMP/check.err")"
	;;
pin-file)
	init "$conf" 0x0 '^$|.'
	chmod 0640 "$SG_PIN_FILE"
	init "$conf" 0x6 "$SG_PIN_FILE: insecure permissions 0640: a secret readable by group or others"
	chmod 0600 "$SG_PIN_FILE"
	mv "$SG_PIN_FILE" "$SG_TMP/real.pin"
	ln -s "$SG_TMP/real.pin" "$SG_PIN_FILE"
	init "$conf" 0x6 "$SG_PIN_FILE: insecure: a symbolic link"
	;;
*) sg_fail "unknown case" ;;
esac
sg_pass "$case_name"

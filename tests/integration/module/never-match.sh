#!/bin/bash
# Settings that load but could never match (issue 12, defect 8): refused
# by the loader with FILE:LINE where they can never take effect (the
# module's C_Initialize and signgate check alike), warned about by
# signgate check where refusing would stop a running deployment.
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
test_gate=${1:?test_gate binary}
C=$SG_TMP/signgate.conf

# refused NAME LINE PATTERN EXTRA: check and C_Initialize both refuse
refused() {
	local name=$1 line=$2 pattern=$3 out rc
	sg_config "$C" "$4"
	set +e
	out=$("$SG_TOOL" check "$C" 2>&1)
	rc=$?
	set -e
	[ $rc = 1 ] || sg_fail "$name: signgate check exit $rc: $out"
	case "$out" in "$C:$line: "*"$pattern"*) ;; *) sg_fail "$name: check said '$out'" ;; esac
	set +e
	out=$(SIGNGATE_CONF=$C "$test_gate" init 2>"$SG_TMP/err")
	rc=$?
	set -e
	[ $rc = 0 ] && [ "$out" = 0x6 ] || sg_fail "$name: C_Initialize $out (exit $rc)"
	grep -qF -- "$C:$line: " "$SG_TMP/err" && grep -qF -- "$pattern" "$SG_TMP/err" ||
		sg_fail "$name: module said '$(cat "$SG_TMP/err")'"
	echo "ok: $name -> $(cat "$SG_TMP/err")"
}

# the config fuzz target's crash: a blank token (line 8 = first after the fixture's 7)
refused "blank key token" 8 "setting 'keys[0].token': blank" \
	'keys = ( { name = "p"; token = " "; id = "25"; mechanisms = [ "EDDSA" ]; } );'
refused "key token ending in spaces" 8 "setting 'keys[0].token': ends in a space" \
	"keys = ( { name = \"p\"; token = \"$SG_TOKEN  \"; id = \"25\"; mechanisms = [ \"EDDSA\" ]; } );"
refused "empty key label" 8 "setting 'keys[0].label': CKA_LABEL must be 1 to 128 bytes" \
	"keys = ( { name = \"p\"; token = \"$SG_TOKEN\"; label = \"\"; mechanisms = [ \"EDDSA\" ]; } );"
sg_config "$C" ""
sed -i "s/tokens = \[ \"$SG_TOKEN\" \];/tokens = [ \"$SG_TOKEN \" ];/" "$C"
set +e; out=$("$SG_TOOL" check "$C" 2>&1); set -e
case "$out" in "$C:3: setting 'backend.tokens[0]': ends in a space"*) echo "ok: backend token -> $out" ;;
*) sg_fail "backend token ending in a space: $out" ;; esac

# warned, not refused: exit 0, one warning each, with FILE:LINE
sg_config "$C" "roles = ( { name = \"r\"; users = [ $(id -u) ]; },
  { name = \"gone\"; users = [ \"no-such-user-sg\" ]; } );
keys = (
  { name = \"elsewhere\"; token = \"other-token\"; id = \"01\"; fingerprint = \"sha256:$SG_RSA_FP\"; mechanisms = [ \"ECDSA\" ]; },
  { name = \"old\"; token = \"$SG_TOKEN\"; id = \"02\"; fingerprint = \"sha256:$SG_EC_FP\"; mechanisms = [ \"ECDSA\" ];
    not_before = \"2020-01-01T00:00:00Z\"; not_after = \"2021-01-01T00:00:00Z\"; }
);
rules = (
  { name = \"expired\"; roles = [ \"r\" ]; keys = [ \"old\" ]; },
  { name = \"nobody\"; roles = [ \"gone\" ]; keys = [ \"elsewhere\" ]; }
);"
out=$("$SG_TOOL" check "$C" 2>"$SG_TMP/warn") || sg_fail "warned config refused: $out $(cat "$SG_TMP/warn")"
cat "$SG_TMP/warn"
for w in "key 'elsewhere': token 'other-token' is not in backend.tokens" \
	"key 'old' is past its not_after" \
	"rule 'expired' can never sign" \
	"rule 'nobody' can never apply"; do
	grep -qE "^$C:[0-9]+: warning: $w" "$SG_TMP/warn" || sg_fail "missing warning: $w"
done
"$SG_TOOL" check --quiet "$C" 2>"$SG_TMP/quiet" >/dev/null
[ ! -s "$SG_TMP/quiet" ] || sg_fail "--quiet printed: $(cat "$SG_TMP/quiet")"
sg_pass "never-matching settings refused or warned about"

#!/bin/bash
# signgate check: a good config passes; each kind of bad config is refused
# with exit status 1 and "FILE:LINE: setting 'PATH': message".
. "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

C=$SG_TMP/signgate.conf
n=0

# expect_bad NAME LINE PATTERN EXTRA: config = fixture backend + EXTRA
expect_bad() {
	local name=$1 line=$2 pattern=$3 extra=$4 out rc
	sg_config "$C" "$extra"
	set +e
	out=$("$SG_TOOL" check "$C" 2>&1)
	rc=$?
	set -e
	[ $rc -eq 1 ] || sg_fail "$name: exit $rc, expected 1 (output: $out)"
	case "$out" in
	"$C:$line: "*"$pattern"*) ;;
	*) sg_fail "$name: got '$out', expected '$C:$line: ...$pattern...'" ;;
	esac
	echo "ok: $name -> $out"
	n=$((n + 1))
}

# line numbers: sg_config writes 7 lines (backend 5, state_dir, audit) then EXTRA
POLICY=$(sg_allow_policy)
sg_config "$C" "$POLICY"
out=$("$SG_TOOL" check "$C") || sg_fail "good config refused: $out"
[ "$out" = "$C: OK (1 roles, 2 keys, 1 rules)" ] || sg_fail "unexpected: $out"
echo "ok: good config -> $out"

ROLE='roles = ( { name = "testers"; users = [ 0 ]; } );'
KEY="keys = ( { name = \"k\"; token = \"$SG_TOKEN\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );"

expect_bad "undefined role" 11 "setting 'rules[0].roles[0]': undefined role 'ghosts'" "$ROLE
$KEY
rules = ( { name = \"r\";
  roles = [ \"ghosts\" ]; keys = [ \"k\" ]; } );"

expect_bad "undefined key" 10 "setting 'rules[0].keys[0]': undefined key 'nokey'" "$ROLE
$KEY
rules = ( { name = \"r\"; roles = [ \"testers\" ]; keys = [ \"nokey\" ]; } );"

expect_bad "duplicate role" 9 "setting 'roles[1].name': duplicate role name 'testers' (first at line 8)" "roles = ( { name = \"testers\"; users = [ 0 ]; },
  { name = \"testers\"; users = [ 1 ]; } );"

expect_bad "duplicate key" 10 "setting 'keys[1].name': duplicate key name 'k'" "$ROLE
keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; },
  { name = \"k\"; token = \"t\"; id = \"02\"; mechanisms = [ \"ECDSA\" ]; } );"

expect_bad "duplicate rule" 11 "setting 'rules[1].name': duplicate rule name 'r'" "$ROLE
$KEY
rules = ( { name = \"r\"; roles = [ \"testers\" ]; keys = [ \"k\" ]; },
  { name = \"r\"; roles = [ \"testers\" ]; keys = [ \"k\" ]; } );"

expect_bad "duplicate setting" 9 "setting 'name': duplicate setting" "roles = ( { name = \"a\"; users = [ 0 ];
  name = \"b\"; } );"

expect_bad "bad date" 10 "setting 'keys[0].not_after': must be an RFC 3339 date-time" "$ROLE
keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ];
  not_after = \"2027-13-01T00:00:00Z\"; } );"

expect_bad "unknown mechanism" 9 "setting 'keys[0].mechanisms[1]': unknown mechanism 'SHA256-RSA-PKCS-PSSS'" "$ROLE
keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\", \"SHA256-RSA-PKCS-PSSS\" ]; } );"

expect_bad "not a list" 8 "setting 'rules': must be a list" "rules = { };"
expect_bad "unknown top-level setting" 8 "setting 'polcy': unknown setting" "polcy = ( );"
expect_bad "unknown key setting" 9 "setting 'keys[0].fingerprnt': unknown setting" "$ROLE
keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; fingerprnt = \"x\"; } );"

expect_bad "duplicate top-level setting" 8 "setting 'state_dir': duplicate setting" "state_dir = 5;"

expect_bad "wrong type" 8 "setting 'mode': must be a string" "mode = 1;"
expect_bad "include" 8 "@include is not allowed" "@include \"/etc/passwd\""

# --strict applies the module's ownership and permission checks
sg_config "$C" "$POLICY"
chmod 0664 "$C"
"$SG_TOOL" check "$C" >/dev/null || sg_fail "non-strict check refused a group-writable file"
set +e
out=$("$SG_TOOL" check --strict "$C" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || sg_fail "--strict accepted a group-writable config"
case "$out" in "$C: insecure permissions"*) ;; *) sg_fail "--strict: $out" ;; esac
echo "ok: --strict -> $out"

# missing file
set +e
out=$("$SG_TOOL" check "$SG_TMP/none.conf" 2>&1); rc=$?
set -e
[ $rc -eq 1 ] || sg_fail "missing file: exit $rc"
echo "ok: missing -> $out"

# the documented example loads (its validator key path replaced by a real key)
openssl genpkey -algorithm ed25519 -out "$SG_TMP/ci.key" 2>/dev/null
openssl pkey -in "$SG_TMP/ci.key" -pubout -out "$SG_TMP/ci.pub.pem"
sed "s#/etc/signgate/ci.pub.pem#$SG_TMP/ci.pub.pem#" "$SG_SRCDIR/config/signgate.conf.example" > "$SG_TMP/example.conf"
out=$("$SG_TOOL" check --quiet "$SG_TMP/example.conf") || sg_fail "example config: $out"
echo "ok: config/signgate.conf.example -> $out"

# signgate credential: the hash it prints is a valid role credential
h=$(printf 's3cret\n' | "$SG_TOOL" credential hash --iterations 1000)
case "$h" in pbkdf2-sha256\$1000\$*) ;; *) sg_fail "credential hash: $h" ;; esac
printf 's3cret\n' | "$SG_TOOL" credential verify "$h" >/dev/null || sg_fail "credential verify refused the secret"
if printf 'wrong\n' | "$SG_TOOL" credential verify "$h" >/dev/null; then sg_fail "credential verify took a wrong secret"; fi
sg_config "$C" "roles = ( { name = \"signer\"; users = [ 0 ]; credential = \"$h\"; } );"
"$SG_TOOL" check "$C" >/dev/null || sg_fail "config with a credential refused"
echo "ok: credential hash / verify / check"

# a quota with no state directory: check warns (the module would refuse
# every counted signature as state-unavailable), exit 0
sg_config "$C" "$(sg_allow_policy | sed 's/keys = \[ "test-rsa", "test-ec" \]; }/keys = [ "test-rsa", "test-ec" ]; quota = { count = 5; period = "1d"; }; }/')"
grep -q quota "$C" || sg_fail "test config has no quota"
sed -i "s|state_dir = \"$SG_TMP/state\"|state_dir = \"$SG_TMP/no-state\"|" "$C"
out=$("$SG_TOOL" check "$C" 2>&1) || sg_fail "check refused a loadable config: $out"
grep -q "warning: state directory $SG_TMP/no-state: .*state-unavailable" <<<"$out" ||
	sg_fail "no warning about the missing state directory: $out"
echo "ok: missing state directory with a quota is warned about"

sg_pass "$n bad configs refused with file:line"

#!/bin/bash
# signgate diff: config pairs, each change reported as the right kind with
# the right exit status (3 = a right widens, 0 = none does, 1 = error);
# inputs through process substitution.  Identities are accounts every
# Debian system has (daemon, bin, mail and its group).
set -euo pipefail
TOOL=${SIGNGATE_TOOL:?run through meson test}
fail() { echo "FAIL: $*" >&2; exit 1; }
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || { echo "SKIP: python3 missing"; exit 77; }
getent group mail >/dev/null && getent passwd daemon >/dev/null && getent passwd bin >/dev/null ||
	{ echo "SKIP: accounts daemon, bin and group mail missing"; exit 77; }

T=$(mktemp -d "${TMPDIR:-/tmp}/signgate-diff.XXXXXX")
trap 'rm -rf "$T"' EXIT
command -v openssl >/dev/null || { echo "SKIP: openssl missing"; exit 77; }
openssl genpkey -algorithm ED25519 -out "$T/validator.pem" 2>/dev/null
openssl pkey -in "$T/validator.pem" -pubout -out "$T/validator.pub"

# conf [MAILERS_ROLE] [APP_KEY_EXTRA] [MAIL_RULE] [ADMINS_LIB_RULE] [LIB_PRODUCTS] [EXTRA_KEY]
conf() {
	local role=${1:-} rule=${3:-} admins=${4:-} lib=${5:-} extra_key=${6:-}
	[ -n "$role" ] || role='groups = [ "mail" ];'
	[ -n "$rule" ] || rule='hours = "08:00-18:00"; require_ticket = true; checks = [ "tests", "scan" ];'
	[ -n "$lib" ] || lib='"lib"'
	[ -n "$admins" ] || admins='products = [ "lib" ];'
	cat <<CONF
backend = { module = "/usr/lib/softhsm/libsofthsm2.so"; };
validators = ( { name = "ci"; public_key = "$T/validator.pub"; } );
roles = (
  { name = "mailers"; $role },
  { name = "admins"; users = [ "bin" ]; }
);
keys = (
  { name = "app-rsa"; token = "prod"; id = "01"; products = [ "app" ];
    mechanisms = [ "SHA256-RSA-PKCS" ]; ${2:-} },
  { name = "lib-ec"; token = "prod"; id = "02"; products = [ $lib ]; mechanisms = [ "ECDSA" ]; },
  { name = "tool-ec"; token = "prod"; id = "03"; products = [ "tools" ]; mechanisms = [ "ECDSA" ]; }
  $extra_key
);
rules = (
  { name = "mail-sign"; roles = [ "mailers" ]; keys = [ "app-rsa" ];
    days = [ "Mon", "Tue", "Wed", "Thu", "Fri" ]; $rule },
  { name = "admins-lib"; roles = [ "admins" ]; $admins },
  { name = "admins-tools"; roles = [ "admins" ]; products = [ "tools" ]; }
);
CONF
}

# check NAME WANT_RC OLD NEW PY_ASSERTION: diff --json, exit status and one
# Python expression over d (the JSON report) that must hold.
check() {
	local name=$1 want=$2 old=$3 new=$4 expr=$5 rc
	set +e
	"$TOOL" diff --json <(cat "$old") <(cat "$new") > "$T/$name.json" 2> "$T/$name.err"
	rc=$?
	"$TOOL" diff "$old" "$new" > "$T/$name.txt" 2>&1
	local rc_text=$?
	set -e
	[ $rc -eq "$want" ] || fail "$name: exit $rc, expected $want: $(cat "$T/$name.err" "$T/$name.txt")"
	[ $rc_text -eq "$want" ] || fail "$name: table exit $rc_text, expected $want"
	$PY - "$T/$name.json" "$expr" <<'PY' || fail "$name: report does not say it: $(cat "$T/$name.txt")"
import json, sys
d = json.load(open(sys.argv[1]))
def right(ident, key, right, change=None):
    return [r for r in d["rights"] if r["identity"] == ident and r["key"] == key
            and r["right"] == right and (change is None or r["change"] == change)]
def key(name, change=None):
    return [k for k in d["keys"] if k["key"] == name and (change is None or k["change"] == change)]
def field(r, f):
    return [c for c in r["changes"] if c["field"] == f]
ok = eval(sys.argv[2])
if not ok:
    print(json.dumps(d, indent=1)[:3000]); sys.exit(1)
PY
	echo "ok: $name (exit $rc)"
	sed 's/^/    /' "$T/$name.txt" | head -12
}

conf > "$T/base.conf"
"$TOOL" check --quiet "$T/base.conf" >/dev/null || fail "base config does not load"

check same 0 "$T/base.conf" "$T/base.conf" 'd["changes"] == 0 and not d["widens"]'

conf 'groups = [ "mail" ]; users = [ "daemon" ];' > "$T/adduser.conf"
check add-user-to-group-role 3 "$T/base.conf" "$T/adduser.conf" \
	'right("user daemon", "app-rsa", "sign", "gained")[0]["widens"] and not right("group mail", "app-rsa", "sign") and d["widens"]'
check remove-user-from-role 0 "$T/adduser.conf" "$T/base.conf" \
	'right("user daemon", "app-rsa", "sign", "lost") and not d["widens"]'

# An account this machine does not know (a CI runner without the directory)
# is still the identity the policy names.
conf 'groups = [ "mail" ]; users = [ "no-such-user-here" ];' > "$T/ghost.conf"
check add-unknown-user 3 "$T/base.conf" "$T/ghost.conf" \
	'right("user no-such-user-here", "app-rsa", "sign", "gained")[0]["widens"]'
# A role that selects callers by program only is an identity of its own.
sha=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
conf "programs = ( { path = \"/usr/bin/osslsigncode\"; sha256 = \"$sha\"; } );" > "$T/program.conf"
check program-role 3 "$T/base.conf" "$T/program.conf" \
	'right("role mailers", "app-rsa", "sign", "gained") and right("group mail", "app-rsa", "sign", "lost") and [c for c in right("role mailers", "app-rsa", "sign")[0]["changes"] if c["field"] == "programs" and "osslsigncode" in c["new"]]'

conf "" "" 'hours = "07:00-20:00"; require_ticket = true; checks = [ "tests", "scan" ];' > "$T/window.conf"
check widen-window 3 "$T/base.conf" "$T/window.conf" \
	'all(r["widens"] and field(r, "window") for r in right("group mail", "app-rsa", "sign", "widened") + right("user mail", "app-rsa", "sign", "widened")) and len(right("user mail", "app-rsa", "sign", "widened")) == 1'
check narrow-window 0 "$T/window.conf" "$T/base.conf" \
	'right("user mail", "app-rsa", "sign", "narrowed") and field(right("user mail", "app-rsa", "sign")[0], "window")'
# 08-18 on weekdays to 18-08 at weekends is neither a subset nor a superset: widens
conf "" "" 'hours = "18:00-08:00"; require_ticket = true; checks = [ "tests", "scan" ];' > "$T/shift.conf"
check shift-window 3 "$T/base.conf" "$T/shift.conf" 'right("user mail", "app-rsa", "sign")[0]["widens"]'

conf "" 'hashes = [ "SHA1", "SHA256", "SHA384", "SHA512" ];' > "$T/sha1.conf"
check add-sha1 3 "$T/base.conf" "$T/sha1.conf" \
	'key("app-rsa") and [c for c in key("app-rsa")[0]["changes"] if c["field"] == "hashes" and c["widens"] and "SHA1" in c["new"]] and right("user mail", "app-rsa", "sign", "widened") and field(right("user mail", "app-rsa", "sign")[0], "hashes")'

conf "" "" 'hours = "08:00-18:00"; require_ticket = true; checks = [ "tests" ];' > "$T/dropcheck.conf"
check drop-check 3 "$T/base.conf" "$T/dropcheck.conf" \
	'[c for c in right("user mail", "app-rsa", "sign", "widened")[0]["changes"] if c["field"] == "ticket" and "scan" in c["old"] and "scan" not in c["new"]]'
conf "" "" 'hours = "08:00-18:00";' > "$T/noticket.conf"
check drop-ticket 3 "$T/base.conf" "$T/noticket.conf" 'right("user mail", "app-rsa", "sign", "widened")'
check add-check 0 "$T/dropcheck.conf" "$T/base.conf" 'right("user mail", "app-rsa", "sign", "narrowed")'

conf "" "" "" 'products = [ "lib" ]; admin = true;' > "$T/admin.conf"
check grant-admin 3 "$T/base.conf" "$T/admin.conf" \
	'right("user bin", "lib-ec", "admin", "gained")[0]["widens"] and not right("user bin", "lib-ec", "sign", "gained")'

conf "" 'revoked = true; revoked_reason = "leaked";' > "$T/revoke.conf"
check revoke-key 0 "$T/base.conf" "$T/revoke.conf" \
	'key("app-rsa", "revoked") and right("user mail", "app-rsa", "sign", "lost") and not d["widens"]'
check unrevoke-key 3 "$T/revoke.conf" "$T/base.conf" \
	'key("app-rsa", "unrevoked") and right("user mail", "app-rsa", "sign", "gained")'

# lib-ec moves from product lib to product tools: tickets for "tools" now
# sign with it, and admins-tools (rule by product) now covers it.
conf "" "" "" 'keys = [ "app-rsa" ];' > "$T/move-base.conf"
conf "" "" "" 'keys = [ "app-rsa" ];' '"tools"' > "$T/move.conf"
check move-key-product 3 "$T/move-base.conf" "$T/move.conf" \
	'key("lib-ec", "re-scoped") and [c for c in key("lib-ec")[0]["changes"] if c["widens"] and c["new"] == "tools" and c["old"] == "lib"] and right("user bin", "lib-ec", "sign", "gained")'

spare=', { name = "spare-ec"; token = "prod"; id = "04"; products = [ "tools" ]; mechanisms = [ "ECDSA" ]; }'
conf "" "" "" "" "" "$spare" > "$T/spare.conf"
check remove-key 0 "$T/spare.conf" "$T/base.conf" \
	'key("spare-ec", "removed") and right("user bin", "spare-ec", "sign", "lost") and not d["widens"]'
check add-key 3 "$T/base.conf" "$T/spare.conf" \
	'key("spare-ec", "added") and right("user bin", "spare-ec", "sign", "gained")[0]["widens"]'

# Decryption: a capability of its own (issue 12), granted by a rule.
conf "" 'decrypt = { mechanisms = [ "RSA-PKCS-OAEP" ]; };' > "$T/dec-base.conf"
conf "" 'decrypt = { mechanisms = [ "RSA-PKCS-OAEP" ]; };' \
	'hours = "08:00-18:00"; require_ticket = true; checks = [ "tests", "scan" ]; decrypt = true;' > "$T/dec.conf"
"$TOOL" check --quiet "$T/dec.conf" >/dev/null || fail "dec.conf does not load"
check grant-decrypt 3 "$T/dec-base.conf" "$T/dec.conf" \
	'right("user mail", "app-rsa", "decrypt", "gained")[0]["widens"] and [c for c in right("user mail", "app-rsa", "decrypt")[0]["changes"] if c["field"] == "mechanisms" and c["new"] == "RSA-PKCS-OAEP"] and not right("user mail", "app-rsa", "sign", "gained")'
check revoke-decrypt 0 "$T/dec.conf" "$T/dec-base.conf" 'right("user mail", "app-rsa", "decrypt", "lost")'
# A decryption mechanism added to the key widens the decrypt right only.
conf "" 'decrypt = { mechanisms = [ "RSA-PKCS-OAEP", "RSA-PKCS" ]; };' \
	'hours = "08:00-18:00"; require_ticket = true; checks = [ "tests", "scan" ]; decrypt = true;' > "$T/dec2.conf"
check widen-decrypt-mechanisms 3 "$T/dec.conf" "$T/dec2.conf" \
	'right("user mail", "app-rsa", "decrypt", "widened") and not right("user mail", "app-rsa", "sign")'

# Errors: exit 1.
set +e
"$TOOL" diff "$T/base.conf" "$T/missing.conf" > "$T/out" 2>&1; rc=$?
[ $rc -eq 1 ] || fail "missing file: exit $rc"
printf 'roles = ( ' > "$T/broken.conf"
"$TOOL" diff <(cat "$T/base.conf") "$T/broken.conf" > "$T/out" 2>&1; rc=$?
set -e
[ $rc -eq 1 ] && grep -q "broken.conf:" "$T/out" || fail "broken config: exit $rc: $(cat "$T/out")"
echo "ok: errors exit 1"

# The review flow of the README: the old version from git, the new file.
if command -v git >/dev/null; then
	(cd "$T" && git init -q repo && cd repo && cp ../base.conf signgate.conf &&
		git -c user.name=t -c user.email=t@t add signgate.conf &&
		git -c user.name=t -c user.email=t@t commit -qm base && cp ../admin.conf signgate.conf &&
		git -c user.name=t -c user.email=t@t commit -qam admin)
	set +e
	(cd "$T/repo" && "$TOOL" diff <(git show HEAD~1:signgate.conf) signgate.conf) > "$T/out" 2>&1
	rc=$?
	set -e
	[ $rc -eq 3 ] && grep -q '^+ user bin: gained admin on lib-ec' "$T/out" ||
		fail "git show through process substitution: exit $rc: $(cat "$T/out")"
	echo "ok: diff <(git show HEAD~1:signgate.conf) signgate.conf"
fi
echo PASS

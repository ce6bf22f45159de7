#!/bin/bash
# SIGNGATE_DEBUG in the tools: explain, ticket verify, inventory and
# who-can-sign print per-area reasons (policy, config, ticket) on stderr
# when it is set, nothing when it is not, and never the PIN or a ticket's
# signature.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"

S=$SG_TOOL
"$S" ticket keygen --out "$SG_TMP/v.pem" >/dev/null 2>&1 || sg_fail "ticket keygen"
C=$SG_TMP/signgate.conf
sg_config "$C" "validators = ( { name = \"ci\"; public_key = \"$SG_TMP/v.pub.pem\"; } );
roles = ( { name = \"signers\"; users = [ $(id -u) ]; } );
keys = ( { name = \"test-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; label = \"$SG_EC_LABEL\";
           fingerprint = \"sha256:$SG_EC_FP\"; products = [ \"app\" ]; mechanisms = [ \"ECDSA\" ]; } );
rules = ( { name = \"release\"; roles = [ \"signers\" ]; keys = [ \"test-ec\" ]; checks = [ \"unit-tests\" ]; } );"
T=$("$S" ticket issue --key "$SG_TMP/v.pem" --issuer ci --run 1 --product other --check unit-tests=pass) ||
	sg_fail "ticket issue"
U=$(id -un)

# dbg AREAS PATTERN... -- CMD: run CMD with SIGNGATE_DEBUG=AREAS, expect
# every PATTERN (extended regex) on stderr
dbg() {
	local areas=$1 pats=()
	shift
	while [ "$1" != -- ]; do pats+=("$1"); shift; done
	shift
	SIGNGATE_DEBUG=$areas "$@" >/dev/null 2>"$SG_TMP/err" || true
	for p in "${pats[@]}"; do
		grep -Eq -- "$p" "$SG_TMP/err" || { cat "$SG_TMP/err"; sg_fail "SIGNGATE_DEBUG=$areas $2: no /$p/"; }
	done
	grep -qF -- "${T##*.}" "$SG_TMP/err" && sg_fail "$2: the ticket's signature is in the debug output"
	grep -qw -- "$SG_USER_PIN" "$SG_TMP/err" && sg_fail "$2: the PIN is in the debug output"
	# nothing without SIGNGATE_DEBUG
	env -u SIGNGATE_DEBUG "$@" >/dev/null 2>"$SG_TMP/err0" || true
	grep -q 'signgate\[' "$SG_TMP/err0" && sg_fail "$2 prints debug lines without SIGNGATE_DEBUG"
	echo "ok: SIGNGATE_DEBUG=$areas $2 ${3:-}"
}

dbg policy,config,ticket \
	'^signgate\[config\] [0-9]+: .*signgate.conf loaded' \
	'^signgate\[ticket\] [0-9]+: explain: ticket verified: issuer ci product other run 1' \
	'^signgate\[policy\] [0-9]+: explain: sign deny ticket-wrong-product key=test-ec rule=release' \
	'^signgate\[policy\] [0-9]+:   why: ticket product .other. is not a product of key test-ec' \
	-- "$S" explain --config "$C" --user "$U" --token "$SG_TOKEN" --id "$SG_EC_ID" --mechanism ECDSA --ticket "$T"
dbg policy \
	'^signgate\[policy\] [0-9]+: inventory: token signgate-test object [0-9]+ .*: governed as test-ec \(identity proven by a signature\)' \
	-- "$S" inventory --config "$C"
dbg ticket,policy \
	'^signgate\[ticket\] [0-9]+: ticket verify: verified: issuer ci product other run 1' \
	'^signgate\[policy\] [0-9]+: ticket verify: key test-ec mechanism ECDSA: deny ticket-wrong-product rule=release' \
	-- "$S" ticket verify --config "$C" --key test-ec "$T"
dbg policy \
	"^signgate\\[policy\\] [0-9]+: who-can-sign: user $U key test-ec ECDSA: deny ticket-missing rule=release" \
	-- "$S" who-can-sign --config "$C"
# one area only: the others stay quiet
SIGNGATE_DEBUG=ticket "$S" explain --config "$C" --user "$U" --key test-ec --mechanism ECDSA >/dev/null 2>"$SG_TMP/err" || true
grep -q 'signgate\[policy\]\|signgate\[config\]' "$SG_TMP/err" && sg_fail "SIGNGATE_DEBUG=ticket printed other areas"
echo "ok: SIGNGATE_DEBUG=ticket prints no policy or config lines"
sg_pass

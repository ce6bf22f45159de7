#!/bin/bash
# Each ID-token case through the module, one per run: pkcs11-tool gives the
# token as its PIN and signs a SHA-256 hash with the EC key.  The allowed
# cases sign; every denial names its own reason in the audit record (a real
# rsyslogd), and the token itself never appears in the log.
source "$SIGNGATE_SRCDIR/tests/lib/fixture.sh"
source "$SIGNGATE_SRCDIR/tests/lib/rsyslog.sh"
source "$SIGNGATE_SRCDIR/tests/integration/idtoken/idtoken-lib.sh"
case_name=${1:?case}
sg_rsyslog_start
audit="audit = { required = true; socket = \"$SG_LOG_SOCK\"; };"
case "$case_name" in
with-ticket*)
	# a validation ticket too, whose commit must be the token's sha
	"$SG_TOOL" ticket keygen --out "$SG_TMP/validator.pem" >/dev/null 2>&1 || sg_fail "ticket keygen"
	sg_idt_config "max_uses = 1;" "$audit" "ticket_commit_is_token_sha = true;" \
		"validators = ( { name = \"ci-validator\"; public_key = \"$SG_TMP/validator.pub.pem\"; } );"
	ticket() {
		"$SG_TOOL" ticket issue --key "$SG_TMP/validator.pem" --issuer ci-validator --product app \
			--run 4711 --aud release-ec "$@" 2>/dev/null
	}
	;;
*)
	sg_idt_config "max_uses = 1;" "$audit" ;;
esac

printf 'the release artifact\n' > "$SG_TMP/artifact"
openssl dgst -sha256 -binary "$SG_TMP/artifact" > "$SG_TMP/hash"

sign() { # sign PIN [OUT]
	local out=${2:-$SG_TMP/sig}
	rm -f "$out"
	pkcs11-tool --module "$SG_MODULE" --token-label "$SG_TOKEN" --login --pin "$1" \
		--sign --id "$SG_EC_ID" -m ECDSA -i "$SG_TMP/hash" -o "$out" >"$out.log" 2>&1
}

no_token_in_log() { # the token's signature part never reaches the log
	case "$1" in *.*) ;; *) return 0 ;; esac
	local sigpart=${1##*.}
	if [ -n "$sigpart" ] && grep -qF -- "$sigpart" "$SG_AUDIT_LOG"; then
		sg_fail "$case_name: the token's signature is in the audit log"
	fi
}

# denied TOKEN EVENT REASON CALL [DETAIL]: refused at CALL, reason in the audit
denied() {
	local tok=$1 event=$2 reason=$3 call=$4 detail=${5:-}
	if sign "$tok"; then sg_fail "$case_name: signed"; fi
	[ ! -s "$SG_TMP/sig" ] || sg_fail "$case_name: a signature was written"
	grep -q "$call" "$SG_TMP/sig.log" || sg_fail "$case_name: not refused at $call: $(cat "$SG_TMP/sig.log")"
	sg_rsyslog_wait_for "\"event\":\"$event\",\"outcome\":\"deny\",\"reason\":\"$reason\"" 1 5 ||
		sg_fail "$case_name: no $event deny record with reason $reason: $(grep -o '"event":"[a-z]*","outcome":"deny","reason":"[^"]*","detail":"[^"]*"' "$SG_AUDIT_LOG")"
	if [ -n "$detail" ]; then
		grep "\"reason\":\"$reason\"" "$SG_AUDIT_LOG" | grep -q -- "$detail" ||
			sg_fail "$case_name: the $reason record does not say '$detail': $(grep "\"reason\":\"$reason\"" "$SG_AUDIT_LOG")"
	fi
	no_token_in_log "$tok"
	echo "refused as expected: $event $reason"
}

verify_sig() {
	openssl pkeyutl -verify -pubin -inkey "$SG_EC_PUB" -in "$SG_TMP/hash" -sigfile <(
		$IDP -c 'import sys; s=open(sys.argv[1],"rb").read(); h=len(s)//2
def der(i):
    i=i.lstrip(b"\0")
    if i[0]&0x80: i=b"\0"+i
    return b"\x02"+bytes([len(i)])+i
b=der(s[:h])+der(s[h:]); sys.stdout.buffer.write(b"\x30"+bytes([len(b)])+b)' "$SG_TMP/sig") >/dev/null ||
		sg_fail "$case_name: the signature does not verify"
}

case "$case_name" in
github-release)
	t=$(idt_mint github) || sg_fail "mint"
	sign "$t" || sg_fail "the release workflow on a tag was refused: $(cat "$SG_TMP/sig.log")"
	verify_sig
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow"' 1 5 || sg_fail "no allow record"
	rec=$(grep '"event":"sign","outcome":"allow"' "$SG_AUDIT_LOG" | tail -1)
	for f in '"role":"gh-release"' '"oidc_issuer":"https://token.actions.githubusercontent.com"' \
		'"oidc_build_signer_uri":"https://github.com/octo-org/octo-app/.github/workflows/release.yml@refs/tags/v1.2.3"' \
		'"oidc_build_signer_digest":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"' \
		'"oidc_source_repository_uri":"https://github.com/octo-org/octo-app"' \
		'"oidc_source_repository_identifier":"74"' '"oidc_source_repository_owner_identifier":"65"' \
		'"oidc_source_repository_ref":"refs/tags/v1.2.3"' '"oidc_build_trigger":"push"' \
		'"oidc_run_invocation_uri":"https://github.com/octo-org/octo-app/actions/runs/4711/attempts/1"' \
		'"oidc_runner_environment":"github-hosted"' '"oidc_jti":"github-'; do
		grep -qF -- "$f" <<<"$rec" || sg_fail "the allow record lacks $f: $rec"
	done
	no_token_in_log "$t"
	;;
gitlab-release)
	t=$(idt_mint gitlab) || sg_fail "mint"
	sign "$t" || sg_fail "a protected tag pipeline was refused: $(cat "$SG_TMP/sig.log")"
	verify_sig
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow".*"role":"gl-release"' 1 5 || sg_fail "no allow record"
	grep -q '"oidc_build_signer_uri":"https://gitlab.example.test/octo-group/octo-app//.gitlab-ci.yml@refs/tags/v1.2.3"' "$SG_AUDIT_LOG" ||
		sg_fail "no build signer URI in the record"
	;;
other-repository-id)
	# the right repository name, re-registered: another repository_id
	t=$(idt_mint github repository_id=9999) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "repository_id '9999'"
	;;
branch)
	t=$(idt_mint github ref=refs/heads/main ref_type=branch \
		job_workflow_ref=octo-org/octo-app/.github/workflows/release.yml@refs/heads/main) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "ref_type 'branch'"
	;;
pull-request-target)
	# fork code with the base branch's ref and workflow
	t=$(idt_mint github event_name=pull_request_target) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "event_name 'pull_request_target'"
	;;
workflow-run)
	t=$(idt_mint github event_name=workflow_run) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "event_name 'workflow_run'"
	;;
reusable-workflow)
	# a reusable workflow that is not the pinned one, called from the release workflow
	t=$(idt_mint github job_workflow_ref=other-org/tools/.github/workflows/sign.yml@refs/heads/main) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "job_workflow_ref 'other-org/tools"
	;;
self-hosted)
	t=$(idt_mint github runner_environment=self-hosted) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "runner_environment 'self-hosted'"
	;;
no-environment)
	t=$(idt_mint github --del environment) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "no claim environment"
	;;
gitlab-unprotected)
	t=$(idt_mint gitlab ref_protected=false) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit "ref_protected 'false'"
	;;
gitlab-fork-mr)
	# a merge request pipeline from a fork: the fork's project, MR source
	t=$(idt_mint gitlab pipeline_source=merge_request_event ref=feature ref_type=branch ref_protected=false) || sg_fail "mint"
	denied "$t" sign claims-mismatch C_SignInit
	;;
expired)
	t=$(idt_mint github --iat-offset -900 --lifetime 300) || sg_fail "mint"
	denied "$t" login token-expired C_Login
	;;
not-yet-valid)
	t=$(idt_mint github --iat-offset 600 --nbf-offset 600) || sg_fail "mint"
	denied "$t" login token-not-yet-valid C_Login
	;;
lifetime)
	t=$(idt_mint github --lifetime 7200) || sg_fail "mint"
	denied "$t" login token-lifetime C_Login
	;;
wrong-audience)
	t=$(idt_mint github aud=https://github.com/octo-org) || sg_fail "mint"
	denied "$t" login token-audience C_Login
	;;
wrong-issuer)
	t=$(idt_mint github iss=https://token.actions.example.test) || sg_fail "mint"
	denied "$t" login token-issuer C_Login
	;;
unknown-kid)
	t=$(idt_mint github --key other --kid k2) || sg_fail "mint"
	denied "$t" login token-unknown-kid C_Login
	;;
other-key)
	# the pinned kid, signed by another key
	t=$(idt_mint github --key other) || sg_fail "mint"
	denied "$t" login token-signature C_Login
	;;
alg-none)
	t=$(idt_mint github --alg none) || sg_fail "mint"
	denied "$t" login token-algorithm C_Login
	;;
alg-hs256)
	t=$(idt_mint github --alg HS256) || sg_fail "mint"
	denied "$t" login token-algorithm C_Login
	;;
tampered)
	t=$(idt_mint github repository_id=9999 --tamper repository_id=74) || sg_fail "mint"
	denied "$t" login token-signature C_Login
	;;
replay)
	# max_uses = 1: two processes present the same token at the same time;
	# one signs, the other is refused as a replay.
	t=$(idt_mint github) || sg_fail "mint"
	# SoftHSM, read by two processes starting at once, sometimes shows one
	# of them no slot at all, or fails its C_GetTokenInfo with
	# CKR_GENERAL_ERROR: that process never reached C_Login (no use taken),
	# so it tries again.
	sign_retry() {
		local i
		for i in 1 2 3; do
			sign "$@" && return 0
			grep -qE 'No slots|C_GetTokenInfo failed' "$2.log" || return 1
		done
		return 1
	}
	sign_retry "$t" "$SG_TMP/sig1" & p1=$!
	sign_retry "$t" "$SG_TMP/sig2" & p2=$!
	r1=0; wait $p1 || r1=$?
	r2=0; wait $p2 || r2=$?
	ok=0
	[ $r1 = 0 ] && [ -s "$SG_TMP/sig1" ] && ok=$((ok + 1))
	[ $r2 = 0 ] && [ -s "$SG_TMP/sig2" ] && ok=$((ok + 1))
	[ $ok = 1 ] || sg_fail "replay: $ok of 2 processes signed (r1=$r1 r2=$r2): $(cat "$SG_TMP/sig1.log" "$SG_TMP/sig2.log")"
	cat "$SG_TMP/sig1.log" "$SG_TMP/sig2.log" | grep -q 'C_Login failed: rv = CKR_PIN_INCORRECT' ||
		sg_fail "replay: the second process was not refused at C_Login: $(cat "$SG_TMP/sig1.log" "$SG_TMP/sig2.log")"
	# and a third time, later, is refused too
	denied "$t" login token-replayed C_Login
	;;
env)
	# pkcs11-tool unchanged: the token comes in SIGNGATE_ID_TOKEN, the PIN is any
	t=$(idt_mint github) || sg_fail "mint"
	SIGNGATE_ID_TOKEN=$t sign 1234 || sg_fail "SIGNGATE_ID_TOKEN refused: $(cat "$SG_TMP/sig.log")"
	verify_sig
	sg_rsyslog_wait_for '"event":"login","outcome":"allow","reason":"token-accepted","detail":"SIGNGATE_ID_TOKEN: verified"' 1 5 ||
		sg_fail "no token-accepted record for SIGNGATE_ID_TOKEN"
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow".*"role":"gh-release".*"oidc_jti"' 1 5 || sg_fail "no allow record"
	no_token_in_log "$t"
	# max_uses = 1: the next process with the same token is refused at key use
	export SIGNGATE_ID_TOKEN=$t
	denied 1234 sign token-replayed C_SignInit
	no_token_in_log "$t"
	;;
env-file)
	t=$(idt_mint gitlab) || sg_fail "mint"
	printf '%s\n' "$t" > "$SG_TMP/id-token"
	SIGNGATE_ID_TOKEN=$SG_TMP/id-token sign 1234 || sg_fail "SIGNGATE_ID_TOKEN file refused: $(cat "$SG_TMP/sig.log")"
	verify_sig
	;;
env-expired)
	export SIGNGATE_ID_TOKEN=$(idt_mint github --iat-offset -900 --lifetime 300) || sg_fail "mint"
	denied 1234 sign token-expired C_SignInit
	no_token_in_log "$SIGNGATE_ID_TOKEN"
	;;
env-none)
	# a claim role and no token at all
	denied 1234 sign token-missing C_SignInit
	;;
with-ticket)
	t=$(idt_mint github) || sg_fail "mint"
	k=$(ticket --commit a1b2c3d4e5f60718293a4b5c6d7e8f9012345678) || sg_fail "ticket issue"
	sign "$t~$k" || sg_fail "token and ticket of the same commit refused: $(cat "$SG_TMP/sig.log")"
	verify_sig
	sg_rsyslog_wait_for '"event":"sign","outcome":"allow".*"run":"4711".*"oidc_jti":"github-' 1 5 ||
		sg_fail "the allow record does not name both the ticket and the token"
	# the other order, a fresh token
	t=$(idt_mint github) || sg_fail "mint"
	sign "$k~$t" || sg_fail "ticket~token refused: $(cat "$SG_TMP/sig.log")"
	;;
with-ticket-other-commit)
	t=$(idt_mint github) || sg_fail "mint"
	k=$(ticket --commit 0000000000000000000000000000000000000000) || sg_fail "ticket issue"
	denied "$t~$k" sign token-commit-mismatch C_SignInit "is not the ID token's sha"
	;;
with-ticket-no-token)
	k=$(ticket --commit a1b2c3d4e5f60718293a4b5c6d7e8f9012345678) || sg_fail "ticket issue"
	denied "$k" sign token-missing C_SignInit
	;;
*)
	sg_fail "unknown case $case_name"
	;;
esac
sg_pass "$case_name"

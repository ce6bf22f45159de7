#!/bin/bash
# An ID token through the broker: p11-kit server with signgate as provider
# under a service account; alice (the runner's account, the one the role
# names) gives the release workflow's token as her PIN through
# p11-kit-client and signs; bob, with the very same kind of token, is not
# the role's OS identity and is refused; a branch token is refused with
# claims-mismatch.  The token is verified and counted in the broker.
source "$SIGNGATE_SRCDIR/tests/integration/broker/broker-lib.sh"
source "$SIGNGATE_SRCDIR/tests/integration/idtoken/idtoken-lib.sh"

cp "$IDP_DIR/jwks.json" "$BR_SVC_DIR/jwks.json"
chown "$BR_SVC:$BR_SVC" "$BR_SVC_DIR/jwks.json"
chmod 0600 "$BR_SVC_DIR/jwks.json"
br_write_config "identity_providers = (
  { name = \"github\"; issuer = \"https://token.actions.githubusercontent.com\";
    audience = \"signgate-test\"; jwks = \"$BR_SVC_DIR/jwks.json\"; max_uses = 1; } );
roles = ( { name = \"gh-release\"; identity_provider = \"github\"; users = [ \"$BR_ALICE\" ];
    claims = { repository_id = \"74\"; ref_type = \"tag\"; ref = \"refs/tags/v*\";
               event_name = \"push\"; runner_environment = \"github-hosted\";
               job_workflow_ref = \"octo-org/octo-app/.github/workflows/release.yml@refs/tags/v*\"; }; } );
keys = ( { name = \"release-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\";
           fingerprint = \"sha256:$SG_EC_FP\"; mechanisms = [ \"ECDSA\" ]; } );
rules = ( { name = \"release\"; roles = [ \"gh-release\" ]; keys = [ \"release-ec\" ]; } );"
br_server_start

sign_as() { # WHO PIN OUT
	br_p11 "$1" --token-label "$SG_TOKEN" --login --pin "$2" --sign -m ECDSA --id "$SG_EC_ID" \
		--input-file "$BR_DATA.sha256" --output-file "$3"
}

t=$(idt_mint github) || sg_fail "mint"
br_must "alice signs with the release token as her PIN" sign_as alice "$t" "$SG_TMP/$BR_ALICE/ec.sig"
br_audit_expect allow "alice's token signature" caller=peer user="$BR_ALICE" role=gh-release \
	oidc_jti='github-[0-9a-f]+' oidc_source_repository_identifier=74
echo "$BR_REC" | grep -qF "${t##*.}" && sg_fail "the token is in the record"

t2=$(idt_mint github) || sg_fail "mint"
br_must_fail "bob, not the role's OS identity, is refused with a good token" \
	sign_as bob "$t2" "$SG_TMP/$BR_BOB/ec.sig"
br_audit_expect deny "bob refused" user="$BR_BOB" reason=no-role

b=$(idt_mint github ref=refs/heads/main ref_type=branch) || sg_fail "mint"
br_must_fail "alice with a branch build's token is refused" sign_as alice "$b" "$SG_TMP/$BR_ALICE/b.sig"
br_audit_expect deny "branch token" user="$BR_ALICE" reason=claims-mismatch

br_must_fail "alice's token, used once, is not accepted again" \
	sign_as alice "$t" "$SG_TMP/$BR_ALICE/again.sig"
sg_pass "ID token through the broker"

# Shared by the idtoken tests: the harness issuer (idp.py) with its own
# RSA key and JWKS, and a config whose claim roles let only the release
# workflow on a version tag sign with the EC key:
#   github: octo-org/octo-app (repository_id 74, owner 65), tag push, the
#           pinned release workflow, hosted runner, environment release
#   gitlab: project 20 in namespace 72, protected tag, push pipeline
# Source after tests/lib/fixture.sh.  sg_idt_config EXTRA_PROVIDER_SETTINGS
# writes $SIGNGATE_CONF; idt_mint SHAPE [ARGS] prints a token.
command -v python3 >/dev/null || sg_skip "python3 not installed"
IDP=/usr/bin/python3
IDP_PY="$SG_SRCDIR/tests/integration/idtoken/idp.py"
IDP_DIR="$SG_TMP/idp"
$IDP "$IDP_PY" keygen "$IDP_DIR" || sg_fail "idp keygen"

idt_mint() { $IDP "$IDP_PY" mint "$IDP_DIR" "$@"; }

# sg_idt_config [PROVIDER_EXTRA] [AUDIT] [RULE_EXTRA] [TOP_EXTRA]: PROVIDER_EXTRA
# goes into both providers, RULE_EXTRA into the release rule
sg_idt_config() {
	local extra=${1:-} audit=${2:-} rule_extra=${3:-} top=${4:-}
	export SIGNGATE_CONF="$SG_TMP/signgate.conf"
	sg_config "$SIGNGATE_CONF" "$audit
$top
identity_providers = (
  { name = \"github\"; issuer = \"https://token.actions.githubusercontent.com\";
    audience = \"signgate-test\"; jwks = \"$IDP_DIR/jwks.json\";
    max_clock_skew = \"30s\"; max_token_lifetime = \"1h\"; $extra },
  { name = \"gitlab\"; issuer = \"https://gitlab.example.test\";
    audience = \"signgate-test\"; jwks = \"$IDP_DIR/jwks.json\"; $extra }
);
roles = (
  { name = \"gh-release\"; identity_provider = \"github\";
    claims = {
      repository_id = \"74\";
      repository_owner_id = \"65\";
      ref_type = \"tag\";
      ref = \"refs/tags/v*\";
      event_name = \"push\";
      job_workflow_ref = \"octo-org/octo-app/.github/workflows/release.yml@refs/tags/v*\";
      runner_environment = \"github-hosted\";
      environment = \"release\";
    }; },
  { name = \"gl-release\"; identity_provider = \"gitlab\";
    claims = {
      project_id = \"20\";
      namespace_id = \"72\";
      ref_type = \"tag\";
      ref_protected = \"true\";
      pipeline_source = [ \"push\", \"web\" ];
      environment_protected = \"true\";
    }; }
);
keys = (
  { name = \"release-ec\"; token = \"$SG_TOKEN\"; id = \"$SG_EC_ID\"; fingerprint = \"sha256:$SG_EC_FP\";
    mechanisms = [ \"ECDSA\" ]; },
  { name = \"release-rsa\"; token = \"$SG_TOKEN\"; id = \"$SG_RSA_ID\"; label = \"$SG_RSA_LABEL\";
    fingerprint = \"sha256:$SG_RSA_FP\";
    mechanisms = [ \"RSA-PKCS\", \"SHA256-RSA-PKCS\" ]; hashes = [ \"SHA256\" ]; }
);
rules = ( { name = \"release\"; roles = [ \"gh-release\", \"gl-release\" ];
            keys = [ \"release-ec\", \"release-rsa\" ]; $rule_extra } );"
}

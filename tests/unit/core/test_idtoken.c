/* Unit tests for module/core/idtoken.c and the identity-provider parts of the
 * config loader and the policy core: every idtoken_status_t, the JWKS
 * rules, claim matching, claim roles in policy_decide with their reasons,
 * and the loader's refusals.  Keys are generated here; tokens are signed
 * here (RS256 and ES256) exactly as an issuer would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "config.h"
#include "idtoken.h"
#include "jws.h"
#include "policy.h"

#define NOW ((time_t)1800000000)
#define GH "https://token.actions.githubusercontent.com"

static EVP_PKEY *rsa_key, *rsa_other, *ec_key;
static char tmpdir[64], jwks_path[128], conf_text[8192];
static config_t *cfg;

/* --- helpers -------------------------------------------------------------- */

static char *b64(const unsigned char *p, size_t n)
{
	return jws_b64url_encode(p, n);
}

static char *bn_b64(const BIGNUM *bn)
{
	unsigned char buf[1024];
	int n = BN_bn2bin(bn, buf);
	return b64(buf, (size_t)n);
}

static void write_jwks(void)
{
	BIGNUM *n = NULL, *e = NULL, *x = NULL, *y = NULL;
	char *ns, *es, *xs, *ys;
	FILE *f;

	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(ec_key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
	ns = bn_b64(n);
	es = bn_b64(e);
	unsigned char xb[32], yb[32];
	BN_bn2binpad(x, xb, 32);
	BN_bn2binpad(y, yb, 32);
	xs = b64(xb, 32);
	ys = b64(yb, 32);
	f = fopen(jwks_path, "w");
	assert_non_null(f);
	fprintf(f,
	        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"r1\",\"use\":\"sig\",\"alg\":\"RS256\","
	        "\"n\":\"%s\",\"e\":\"%s\"},"
	        "{\"kty\":\"EC\",\"kid\":\"e1\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"},"
	        "{\"kty\":\"oct\",\"kid\":\"h1\",\"k\":\"c2VjcmV0\"},"
	        "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"}]}",
	        ns, es, xs, ys, ns, es);
	fclose(f);
	free(ns);
	free(es);
	free(xs);
	free(ys);
	BN_free(n);
	BN_free(e);
	BN_free(x);
	BN_free(y);
}

/* A token over header and payload JSON, signed with pk (RS256 or ES256),
 * or with the given raw signature when pk is NULL. */
static char *token(const char *header, const char *payload, EVP_PKEY *pk)
{
	char *h = b64((const unsigned char *)header, strlen(header));
	char *p = b64((const unsigned char *)payload, strlen(payload));
	size_t ilen = strlen(h) + 1 + strlen(p);
	char *input = malloc(ilen + 1), *out, *s = NULL;
	unsigned char sig[600];
	size_t slen = sizeof(sig);

	snprintf(input, ilen + 1, "%s.%s", h, p);
	if (pk) {
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		assert_int_equal(EVP_DigestSign(ctx, sig, &slen, (unsigned char *)input, ilen), 1);
		EVP_MD_CTX_free(ctx);
		if (EVP_PKEY_is_a(pk, "EC")) {
			const unsigned char *d = sig;
			ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)slen);
			const BIGNUM *r, *ss;
			assert_non_null(es);
			ECDSA_SIG_get0(es, &r, &ss);
			BN_bn2binpad(r, sig, 32);
			BN_bn2binpad(ss, sig + 32, 32);
			ECDSA_SIG_free(es);
			slen = 64;
		}
		s = b64(sig, slen);
	} else {
		s = strdup("");
	}
	out = malloc(ilen + 2 + strlen(s));
	sprintf(out, "%s.%s", input, s);
	free(h);
	free(p);
	free(input);
	free(s);
	return out;
}

/* A GitHub-shaped payload for the release workflow on a tag, with extra
 * JSON members appended (later members may not repeat a key: duplicates
 * are refused, so changes go through the format arguments). */
static char *gh_payload(const char *iss, const char *aud, long long iat, long long exp,
                        const char *repo_id, const char *ref, const char *event)
{
	static char buf[4096];
	snprintf(buf, sizeof buf,
	         "{\"jti\":\"j-%lld-%s\",\"sub\":\"repo:octo/app:ref:%s\",\"aud\":\"%s\","
	         "\"ref\":\"%s\",\"sha\":\"0123456789abcdef0123456789abcdef01234567\","
	         "\"repository\":\"octo/app\",\"repository_owner\":\"octo\","
	         "\"repository_id\":\"%s\",\"repository_owner_id\":\"65\",\"run_id\":\"99\","
	         "\"run_attempt\":\"2\",\"runner_environment\":\"github-hosted\","
	         "\"event_name\":\"%s\",\"ref_type\":\"tag\",\"environment\":\"release\","
	         "\"workflow_ref\":\"octo/app/.github/workflows/release.yml@%s\","
	         "\"job_workflow_ref\":\"octo/app/.github/workflows/release.yml@%s\","
	         "\"job_workflow_sha\":\"0123456789abcdef0123456789abcdef01234567\","
	         "\"iss\":\"%s\",\"nbf\":%lld,\"exp\":%lld,\"iat\":%lld}",
	         iat, repo_id, ref, aud, ref, repo_id, event, ref, ref, iss, iat, exp, iat);
	return buf;
}

static char *good_payload(void)
{
	return gh_payload(GH, "signgate", (long long)NOW - 10, (long long)NOW + 290, "74",
	                  "refs/tags/v1.0.0", "push");
}

static const char *RS_H = "{\"typ\":\"JWT\",\"alg\":\"RS256\",\"kid\":\"r1\"}";
static const char *ES_H = "{\"typ\":\"JWT\",\"alg\":\"ES256\",\"kid\":\"e1\"}";

static config_t *load_with(const char *idp_extra, const char *role, char *err)
{
	snprintf(
	        conf_text, sizeof conf_text,
	        "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	        "identity_providers = ( { name = \"github\"; issuer = \"" GH "\";\n"
	        "  audience = \"signgate\"; jwks = \"%s\"; %s } );\n"
	        "roles = ( %s );\n"
	        "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n"
	        "rules = ( { name = \"r\"; roles = [ \"release\" ]; keys = [ \"k\" ]; } );\n",
	        jwks_path, idp_extra, role);
	return config_load_string(conf_text, "t.conf", err, CONFIG_ERR_MAX);
}

#define RELEASE_ROLE                                                                      \
	"{ name = \"release\"; identity_provider = \"github\"; claims = {\n"              \
	"  repository_id = \"74\"; repository_owner_id = \"65\"; ref_type = \"tag\";\n"   \
	"  ref = \"refs/tags/v*\"; event_name = [ \"push\", \"workflow_dispatch\" ];\n"   \
	"  job_workflow_ref = \"octo/app/.github/workflows/release.yml@refs/tags/v*\";\n" \
	"  runner_environment = \"github-hosted\"; }; }"

static int setup(void **state)
{
	char err[CONFIG_ERR_MAX];
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sg-test-idtoken.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(jwks_path, sizeof jwks_path, "%s/jwks.json", tmpdir);
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa_other = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (!rsa_key || !rsa_other || !ec_key)
		return -1;
	write_jwks();
	cfg = load_with("algorithms = [ \"RS256\", \"ES256\" ]; max_clock_skew = \"30s\";"
	                " max_token_lifetime = \"10m\";",
	                RELEASE_ROLE, err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	config_free(cfg);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(rsa_other);
	EVP_PKEY_free(ec_key);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static idtoken_status_t verify(const char *tok, idtoken_claims_t *c, char *detail)
{
	return idtoken_verify(cfg, tok, strlen(tok), NOW, c, detail, 200);
}

/* --- verification --------------------------------------------------------- */

static void test_verify_ok(void **state)
{
	static idtoken_claims_t c;
	char detail[200];
	(void)state;
	char *t = token(RS_H, good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK);
	assert_string_equal(c.provider, "github");
	assert_string_equal(idtoken_claim(&c, IDC_REPOSITORY_ID), "74");
	assert_string_equal(idtoken_claim(&c, IDC_REF), "refs/tags/v1.0.0");
	assert_null(idtoken_claim(&c, IDC_PROJECT_ID));
	assert_true(idtoken_looks_like(cfg, t, strlen(t)));
	free(t);
	t = token(ES_H, good_payload(), ec_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK);
	assert_string_equal(c.alg, "ES256");
	free(t);
}

static void test_verify_failures(void **state)
{
	static idtoken_claims_t c;
	char detail[200], *t;
	(void)state;

	/* signed by another key under the pinned kid */
	t = token(RS_H, good_payload(), rsa_other);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_SIGNATURE);
	assert_int_equal(c.jti[0], '\0'); /* nothing of an unverified token */
	free(t);
	/* unknown kid */
	t = token("{\"alg\":\"RS256\",\"kid\":\"r2\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_UNKNOWN_KID);
	free(t);
	/* no kid */
	t = token("{\"alg\":\"RS256\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_UNKNOWN_KID);
	free(t);
	/* the HMAC key of the JWKS is never used */
	t = token("{\"alg\":\"HS256\",\"kid\":\"h1\"}", good_payload(), NULL);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ALGORITHM);
	free(t);
	/* alg none, empty signature */
	t = token("{\"alg\":\"none\",\"kid\":\"r1\"}", good_payload(), NULL);
	assert_true(idtoken_looks_like(cfg, t, strlen(t)));
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ALGORITHM);
	free(t);
	/* ES256 header on the RSA kid, RS256 on the EC kid */
	t = token("{\"alg\":\"ES256\",\"kid\":\"r1\"}", good_payload(), ec_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ALGORITHM);
	free(t);
	t = token("{\"alg\":\"RS256\",\"kid\":\"e1\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ALGORITHM);
	free(t);
	/* the encryption key is not a signing key */
	t = token("{\"alg\":\"RS256\",\"kid\":\"enc\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_UNKNOWN_KID);
	free(t);
	/* issuer, audience, times, lifetime */
	t = token(RS_H,
	          gh_payload("https://evil.example", "signgate", NOW, NOW + 60, "74",
	                     "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ISSUER);
	free(t);
	t = token(RS_H, gh_payload(GH "/", "signgate", NOW, NOW + 60, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ISSUER); /* exact, no trailing slash */
	free(t);
	t = token(RS_H,
	          gh_payload(GH, "https://github.com/octo", NOW, NOW + 60, "74", "refs/tags/v1",
	                     "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_AUDIENCE);
	assert_string_equal(c.jti, "j-1800000000-74"); /* signed: the audit may name it */
	free(t);
	t = token(RS_H,
	          gh_payload(GH, "signgate", NOW - 400, NOW - 31, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_EXPIRED);
	free(t);
	/* within the skew: still valid */
	t = token(RS_H,
	          gh_payload(GH, "signgate", NOW - 400, NOW - 29, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK);
	free(t);
	t = token(RS_H,
	          gh_payload(GH, "signgate", NOW + 31, NOW + 200, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_NOT_YET_VALID);
	free(t);
	t = token(RS_H, gh_payload(GH, "signgate", NOW, NOW + 601, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_LIFETIME);
	free(t);
	/* malformed: no jti, duplicate keys, a claim of the wrong type */
	t = token(RS_H,
	          "{\"iss\":\"" GH "\",\"aud\":\"signgate\",\"iat\":1800000000,"
	          "\"exp\":1800000100}",
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	assert_non_null(strstr(detail, "jti"));
	free(t);
	t = token(RS_H, "{\"iss\":\"" GH "\",\"iss\":\"" GH "\"}", rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	free(t);
	t = token(RS_H,
	          "{\"iss\":\"" GH "\",\"jti\":\"x\",\"aud\":\"signgate\",\"iat\":1800000000,"
	          "\"exp\":1800000100,\"repository_id\":[\"74\"]}",
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	free(t);
	/* numbers and booleans become text */
	t = token(RS_H,
	          "{\"iss\":\"" GH "\",\"jti\":\"x\",\"aud\":[\"a\",\"signgate\"],"
	          "\"iat\":1800000000,\"exp\":1800000100,\"repository_id\":74,"
	          "\"ref_protected\":true}",
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK);
	assert_string_equal(idtoken_claim(&c, IDC_REPOSITORY_ID), "74");
	assert_string_equal(idtoken_claim(&c, IDC_REF_PROTECTED), "true");
	free(t);
	/* tampered payload: the signature no longer covers it */
	t = token(RS_H, good_payload(), rsa_key);
	{
		char *dot = strchr(t, '.');
		dot[5] = dot[5] == 'A' ? 'B' : 'A';
	}
	assert_int_not_equal(verify(t, &c, detail), IDTOKEN_OK);
	free(t);
	assert_int_equal(idtoken_verify(cfg, "", 0, NOW, &c, detail, 200), IDTOKEN_MALFORMED);
}

static void test_status_names(void **state)
{
	(void)state;
	for (int i = 0; i < IDTOKEN_STATUS_COUNT; i++) {
		const char *n = idtoken_status_name((idtoken_status_t)i);
		assert_true(!strncmp(n, "token-", 6));
		if (i)
			assert_string_equal(
			        n, policy_reason_name(policy_idtoken_reason((idtoken_status_t)i)));
	}
}

static void test_match(void **state)
{
	(void)state;
	assert_true(idtoken_value_matches("refs/tags/v*", "refs/tags/v1.2.3"));
	assert_false(idtoken_value_matches("refs/tags/v*", "refs/tags/v1/../../heads/x"));
	assert_false(idtoken_value_matches("refs/tags/v*", "refs/heads/v1"));
	assert_true(idtoken_value_matches("push", "push"));
	assert_false(idtoken_value_matches("push", "push "));
	assert_false(idtoken_value_matches("74", "740"));
	assert_true(idtoken_value_matches("a@refs/tags/v[0-9]*", "a@refs/tags/v1"));
}

/* --- JWKS ------------------------------------------------------------------ */

static void test_jwks(void **state)
{
	idtoken_jwk_t *k;
	size_t n;
	char err[200];
	(void)state;
	assert_int_equal(idtoken_jwks_parse("{\"keys\":[]}", 11, &k, &n, err, sizeof err), -1);
	assert_int_equal(idtoken_jwks_parse("[]", 2, &k, &n, err, sizeof err), -1);
	const char *hmac_only = "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"a\",\"k\":\"AA\"}]}";
	assert_int_equal(idtoken_jwks_parse(hmac_only, strlen(hmac_only), &k, &n, err, sizeof err),
	                 -1);
	const char *small =
	        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
	assert_int_equal(idtoken_jwks_parse(small, strlen(small), &k, &n, err, sizeof err), -1);
	assert_non_null(strstr(err, "2048"));
	const char *offcurve = "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\","
	                       "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	                       "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}";
	assert_int_equal(idtoken_jwks_parse(offcurve, strlen(offcurve), &k, &n, err, sizeof err),
	                 -1);
	const char *nokid = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"AA\"}]}";
	assert_int_equal(idtoken_jwks_parse(nokid, strlen(nokid), &k, &n, err, sizeof err), -1);
	/* the file written by setup: the RSA and EC keys, not oct or enc */
	assert_int_equal(cfg->idps[0].n_keys, 2);
}

/* --- policy ---------------------------------------------------------------- */

static policy_decision_t decide_with(const idtoken_claims_t *c, idtoken_status_t st, time_t now)
{
	caller_t caller = { .known = true, .uid = 1000, .gid = 1000 };
	policy_decision_t d;
	policy_request_t req = {
		.action = POLICY_ACTION_SIGN,
		.caller = &caller,
		.key = policy_key_by_name(cfg, "k"),
		.mech = MECH_ECDSA,
		.hash_deferred = true,
		.now = now,
		.idtoken = c,
		.idtoken_status = st,
	};
	policy_decide(cfg, &req, &d);
	return d;
}

static void claims_of(const char *payload, idtoken_claims_t *c)
{
	char detail[200];
	char *t = token(RS_H, payload, rsa_key);
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW, c, detail, sizeof detail),
	                 IDTOKEN_OK);
	free(t);
}

static void test_policy(void **state)
{
	static idtoken_claims_t c;
	policy_decision_t d;
	(void)state;

	claims_of(good_payload(), &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_true(d.allow);
	assert_string_equal(d.role->name, "release");
	/* the token expires while in use: judged at every use */
	d = decide_with(&c, IDTOKEN_OK, NOW + 290 + 31);
	assert_false(d.allow);
	assert_int_equal(d.reason, REASON_TOKEN_EXPIRED);
	/* no token; a token that failed */
	d = decide_with(NULL, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_TOKEN_MISSING);
	d = decide_with(NULL, IDTOKEN_UNKNOWN_KID, NOW);
	assert_int_equal(d.reason, REASON_TOKEN_UNKNOWN_KID);
	assert_int_equal(d.ckr, 0x00000200UL); /* CKR_FUNCTION_REJECTED */
	/* one claim off each */
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "75", "refs/tags/v1", "push"), &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_CLAIMS_MISMATCH);
	assert_non_null(strstr(d.detail, "repository_id '75'"));
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "74", "refs/heads/main", "push"), &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_CLAIMS_MISMATCH);
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "74", "refs/tags/v2",
	                     "pull_request_target"),
	          &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_CLAIMS_MISMATCH);
	assert_non_null(strstr(d.detail, "event_name"));
	/* any-of list */
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "74", "refs/tags/v2",
	                     "workflow_dispatch"),
	          &c);
	assert_true(decide_with(&c, IDTOKEN_OK, NOW).allow);
	/* a token of the right shape from a provider the role does not name */
	strcpy(c.provider, "gitlab");
	assert_int_equal(decide_with(&c, IDTOKEN_OK, NOW).reason, REASON_CLAIMS_MISMATCH);
	/* the plain role matcher never lets a claim role in */
	caller_t caller = { .known = true, .uid = 1000 };
	assert_false(policy_role_matches(policy_role_by_name(cfg, "release"), &caller, NULL));
}

/* --- loader ---------------------------------------------------------------- */

static void expect_error(const char *idp_extra, const char *role, const char *needle)
{
	char err[CONFIG_ERR_MAX];
	config_t *c = load_with(idp_extra, role, err);
	if (c)
		fail_msg("accepted: %s / %s", idp_extra, role);
	if (!strstr(err, needle))
		fail_msg("error '%s' lacks '%s'", err, needle);
	assert_true(!strncmp(err, "t.conf:", 7));
}

static void test_loader(void **state)
{
	(void)state;
	expect_error("algorithms = [ \"HS256\" ];", RELEASE_ROLE, "never none or HMAC");
	expect_error("algorithms = [ \"none\" ];", RELEASE_ROLE, "algorithms[0]");
	expect_error("max_uses = 0;", RELEASE_ROLE, "max_uses");
	expect_error("max_token_lifetime = \"2d\";", RELEASE_ROLE, "at most 86400");
	expect_error("max_clock_skew = \"soon\";", RELEASE_ROLE, "duration");
	expect_error("colour = 1;", RELEASE_ROLE, "unknown setting");
	expect_error("",
	             "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	             " sub = \"repo:octo/app:ref:refs/tags/v1\"; repository_id = \"74\"; }; }",
	             "sub is never matched");
	expect_error("",
	             "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	             " repository = \"octo/app\"; }; }",
	             "names can be re-registered");
	expect_error("",
	             "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	             " repository_id = \"7*\"; }; }",
	             "not by glob");
	expect_error("",
	             "{ name = \"release\"; identity_provider = \"gitlab\"; claims = {"
	             " project_id = \"7\"; }; }",
	             "no identity provider 'gitlab'");
	expect_error("", "{ name = \"release\"; claims = { project_id = \"7\"; }; }",
	             "need identity_provider");
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; }", "needs claims");
	expect_error("",
	             "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	             " repository_id = \"74\"; colour = \"red\"; }; }",
	             "claims.colour");
	expect_error("",
	             "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	             " repository_id = [ ]; }; }",
	             "at least one value");

	/* issuer and audience */
	char err[CONFIG_ERR_MAX], text[2048];
	snprintf(text, sizeof text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"gh\"; issuer = \"" GH "\";\n"
	         "  audience = \"https://github.com/octo\"; jwks = \"%s\"; } );\n",
	         jwks_path);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "t.conf:3: setting 'identity_providers[0].audience'"));
	snprintf(text, sizeof text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"gh\"; issuer = \"http://plain\";\n"
	         "  audience = \"x\"; jwks = \"%s\"; } );\n",
	         jwks_path);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "https URL"));
	snprintf(text, sizeof text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"gh\"; issuer = \"" GH "\";\n"
	         "  audience = \"x\"; jwks = \"%s/missing.json\"; } );\n",
	         tmpdir);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "cannot read JWKS"));
}

/* The pinned JWKS is part of the config in force: a changed file is seen
 * as a changed config (the module then reloads both together). */
static void test_jwks_change_reloads(void **state)
{
	char path[160], jwks2[160], err[CONFIG_ERR_MAX], cmd[1024];
	(void)state;
	snprintf(path, sizeof path, "%s/reload.conf", tmpdir);
	snprintf(jwks2, sizeof jwks2, "%s/jwks2.json", tmpdir);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", jwks_path, jwks2);
	assert_int_equal(system(cmd), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	        "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	        "identity_providers = ( { name = \"github\"; issuer = \"" GH "\";\n"
	        "  audience = \"signgate\"; jwks = \"%s\"; } );\n",
	        jwks2);
	fclose(f);
	config_t *c = config_load(path, false, err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	assert_false(config_changed(c));
	/* a key rotation: the file is replaced (another inode) */
	snprintf(cmd, sizeof cmd,
	         "cp '%s' '%s.new' && sed -i 's/\"r1\"/\"r9\"/' '%s.new' && "
	         "mv '%s.new' '%s'",
	         jwks2, jwks2, jwks2, jwks2, jwks2);
	assert_int_equal(system(cmd), 0);
	assert_true(config_changed(c));
	config_t *c2 = config_load(path, false, err, sizeof err);
	assert_non_null(c2);
	assert_string_equal(c2->idps[0].keys[0].kid, "r9");
	config_free(c2);
	/* gone: changed too (the reload then fails, and the module denies) */
	assert_int_equal(unlink(jwks2), 0);
	assert_true(config_changed(c));
	config_free(c);
}

/* --- more refusals, each with the detail that names it --------------------- */

/* verify a token signed with rsa_key over this payload: the status, and the
 * detail must contain needle */
static void expect_payload(const char *payload, idtoken_status_t want, const char *needle)
{
	static idtoken_claims_t c;
	char detail[200];
	char *t = token(RS_H, payload, rsa_key);
	idtoken_status_t st = verify(t, &c, detail);
	if (st != want)
		fail_msg("%s: status %s, want %s (%s)", payload, idtoken_status_name(st),
		         idtoken_status_name(want), detail);
	if (needle && !strstr(detail, needle))
		fail_msg("%s: detail '%s' lacks '%s'", payload, detail, needle);
	if (want == IDTOKEN_MALFORMED)
		assert_int_equal(c.jti[0], '\0');
	free(t);
}

#define P_ISS "\"iss\":\"" GH "\",\"aud\":\"signgate\","
#define P_TIMES "\"iat\":1800000000,\"exp\":1800000100"

static void test_claim_refusals(void **state)
{
	(void)state;
	char p[1024], longv[300];

	memset(longv, 'a', 256);
	longv[256] = '\0';
	/* a claim value of 256 bytes does not fit (255 do) */
	snprintf(p, sizeof p, "{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"ref\":\"%s\"}", longv);
	expect_payload(p, IDTOKEN_MALFORMED, "claim 'ref': longer than 255 bytes");
	longv[255] = '\0';
	snprintf(p, sizeof p, "{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"ref\":\"%s\"}", longv);
	expect_payload(p, IDTOKEN_OK, "ok");
	/* control characters, which would reach syslog and terminals */
	expect_payload("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"ref\":\"main\\u001b[31m\"}",
	               IDTOKEN_MALFORMED, "claim 'ref': control character");
	/* a NUL escape is refused by the JSON parser already */
	expect_payload("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"ref\":\"ma\\u0000in\"}",
	               IDTOKEN_MALFORMED, NULL);
	/* null is the same as absent */
	expect_payload("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"environment\":null}", IDTOKEN_OK,
	               "ok");
	/* a float is none of string, integer, boolean */
	expect_payload("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"run_id\":1.5}", IDTOKEN_MALFORMED,
	               "claim 'run_id': not a string, integer or boolean");
	/* jti */
	expect_payload("{" P_ISS "\"jti\":7," P_TIMES "}", IDTOKEN_MALFORMED,
	               "claim 'jti': not a non-empty string");
	expect_payload("{" P_ISS "\"jti\":\"\"," P_TIMES "}", IDTOKEN_MALFORMED,
	               "claim 'jti': not a non-empty string");
	memset(longv, 'j', 128);
	longv[128] = '\0';
	snprintf(p, sizeof p, "{" P_ISS "\"jti\":\"%s\"," P_TIMES "}", longv);
	expect_payload(p, IDTOKEN_MALFORMED, "claim 'jti': longer than 127 bytes");
	/* times */
	expect_payload("{" P_ISS "\"jti\":\"x\",\"iat\":1800000000}", IDTOKEN_MALFORMED,
	               "claim 'exp' missing");
	expect_payload("{" P_ISS "\"jti\":\"x\",\"exp\":1800000100}", IDTOKEN_MALFORMED,
	               "claim 'iat' missing");
	expect_payload("{" P_ISS "\"jti\":\"x\",\"iat\":1800000000,\"exp\":\"1800000100\"}",
	               IDTOKEN_MALFORMED, "claim 'exp': not an integer");
	expect_payload("{" P_ISS "\"jti\":\"x\",\"iat\":-1,\"exp\":1800000100}", IDTOKEN_MALFORMED,
	               "claim 'iat': out of range");
	expect_payload("{" P_ISS "\"jti\":\"x\",\"iat\":1800000000,\"exp\":253402300800}",
	               IDTOKEN_MALFORMED, "claim 'exp': out of range");
	expect_payload("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"nbf\":true}", IDTOKEN_MALFORMED,
	               "claim 'nbf': not an integer");
	expect_payload("{" P_ISS "\"jti\":\"x\",\"iat\":1800000100,\"exp\":1800000000}",
	               IDTOKEN_MALFORMED, "claim 'exp' before 'iat' or 'nbf'");
	expect_payload("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"nbf\":1800000200}", IDTOKEN_MALFORMED,
	               "claim 'exp' before 'iat' or 'nbf'");
	/* a later nbf than iat: not valid before nbf (minus the skew of 30 s) */
	expect_payload("{" P_ISS "\"jti\":\"x\",\"iat\":1799999000,\"nbf\":1800000031,"
	               "\"exp\":1800000100}",
	               IDTOKEN_NOT_YET_VALID, "not valid for another 31 s");
	/* aud: absent, empty list, a list with a number, more than IDTOKEN_MAX_AUD */
	expect_payload("{\"iss\":\"" GH "\",\"jti\":\"x\"," P_TIMES "}", IDTOKEN_AUDIENCE,
	               "claim 'aud' missing or malformed");
	expect_payload("{\"iss\":\"" GH "\",\"aud\":[],\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_AUDIENCE, "claim 'aud' missing or malformed");
	expect_payload("{\"iss\":\"" GH "\",\"aud\":[1,\"signgate\"],\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_AUDIENCE, "claim 'aud' missing or malformed");
	expect_payload("{\"iss\":\"" GH
	               "\",\"aud\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\",\"h\","
	               "\"signgate\"],\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_AUDIENCE, "claim 'aud' missing or malformed");
	expect_payload("{\"iss\":\"" GH "\",\"aud\":[\"a\",\"b\"],\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_AUDIENCE, "does not carry the audience of provider github");
	expect_payload("{\"iss\":\"" GH "\",\"aud\":{\"signgate\":1},\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_AUDIENCE, "claim 'aud' missing or malformed");
	/* iss: absent, not a string, empty, with a control character */
	expect_payload("{\"aud\":\"signgate\",\"jti\":\"x\"," P_TIMES "}", IDTOKEN_MALFORMED,
	               "claim 'iss' missing or not a printable string");
	expect_payload("{\"iss\":5,\"aud\":\"signgate\",\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_MALFORMED, "claim 'iss' missing");
	expect_payload("{\"iss\":\"\",\"aud\":\"signgate\",\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_MALFORMED, "claim 'iss' missing");
	expect_payload("{\"iss\":\"" GH "\\n\",\"aud\":\"signgate\",\"jti\":\"x\"," P_TIMES "}",
	               IDTOKEN_MALFORMED, "claim 'iss' missing");
}

static void test_header_refusals(void **state)
{
	static idtoken_claims_t c;
	char detail[200], *t;
	(void)state;

	/* typ other than JWT, and crit, are refused before anything else */
	t = token("{\"typ\":\"at+jwt\",\"alg\":\"RS256\",\"kid\":\"r1\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	free(t);
	t = token("{\"alg\":\"RS256\",\"kid\":\"r1\",\"crit\":[\"exp\"]}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	free(t);
	/* alg missing entirely */
	t = token("{\"kid\":\"r1\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ALGORITHM);
	assert_string_equal(detail, "header alg '(missing)' is not RS256 or ES256");
	free(t);
	/* kid not a string, too long, with a control character */
	t = token("{\"alg\":\"RS256\",\"kid\":1}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_UNKNOWN_KID);
	assert_string_equal(detail, "header kid missing or not a printable string");
	free(t);
	char h[400], kid[200];
	memset(kid, 'k', 128);
	kid[128] = '\0';
	snprintf(h, sizeof h, "{\"alg\":\"RS256\",\"kid\":\"%s\"}", kid);
	t = token(h, good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_UNKNOWN_KID);
	assert_string_equal(detail, "header kid missing or not a printable string");
	free(t);
	t = token("{\"alg\":\"RS256\",\"kid\":\"r\\u00011\"}", good_payload(), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_UNKNOWN_KID);
	free(t);
	/* an RS256 signature one byte short of the modulus */
	t = token(RS_H, good_payload(), rsa_key);
	{
		char *last = strrchr(t, '.') + 1;
		size_t n = strlen(last);
		/* 256 bytes are 342 base64url characters; 255 bytes are 340 */
		assert_int_equal(n, 342);
		last[340] = '\0';
	}
	assert_int_equal(verify(t, &c, detail), IDTOKEN_SIGNATURE);
	free(t);
	/* ES256: r||s of exactly 64 bytes, over the exact input */
	t = token(ES_H, good_payload(), ec_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK);
	{
		char *last = strrchr(t, '.') + 1;
		assert_int_equal(strlen(last), 86); /* 64 bytes */
		char save = last[84];
		last[84] = '\0'; /* 63 bytes */
		assert_int_equal(verify(t, &c, detail), IDTOKEN_SIGNATURE);
		last[84] = save;
		last[10] = last[10] == 'A' ? 'B' : 'A';
		assert_int_equal(verify(t, &c, detail), IDTOKEN_SIGNATURE);
		assert_string_equal(detail,
		                    "signature does not verify with key 'e1' of provider github");
	}
	free(t);
	/* no output structure: refused, nothing read */
	t = token(RS_H, good_payload(), rsa_key);
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW, NULL, detail, 200),
	                 IDTOKEN_MALFORMED);
	/* no detail buffer: the same answers */
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW, &c, NULL, 0), IDTOKEN_OK);
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW + 3600, &c, NULL, 0),
	                 IDTOKEN_EXPIRED);
	/* no config: no provider */
	assert_int_equal(idtoken_verify(NULL, t, strlen(t), NOW, &c, detail, 200), IDTOKEN_ISSUER);
	free(t);
}

/* A provider that allows only RS256 refuses an ES256 token of its own key. */
static void test_provider_algorithms(void **state)
{
	static idtoken_claims_t c;
	char err[CONFIG_ERR_MAX], detail[200], *t;
	(void)state;
	config_t *rs_only = load_with("algorithms = [ \"RS256\" ];", RELEASE_ROLE, err);
	if (!rs_only)
		fail_msg("%s", err);
	t = token(ES_H, good_payload(), ec_key);
	assert_int_equal(idtoken_verify(rs_only, t, strlen(t), NOW, &c, detail, sizeof detail),
	                 IDTOKEN_ALGORITHM);
	assert_string_equal(detail, "alg ES256 is not allowed for provider github");
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK); /* the other config allows it */
	free(t);
	t = token(RS_H, good_payload(), rsa_key);
	assert_int_equal(idtoken_verify(rs_only, t, strlen(t), NOW, &c, detail, sizeof detail),
	                 IDTOKEN_OK);
	free(t);
	config_free(rs_only);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(idtoken_alg_name(IDTOKEN_ALG_RS256), "RS256");
	assert_string_equal(idtoken_alg_name(IDTOKEN_ALG_ES256), "ES256");
	assert_string_equal(idtoken_alg_name(IDTOKEN_ALG_COUNT), "unknown");
	assert_string_equal(idtoken_alg_name((idtoken_alg_t)-1), "unknown");
	assert_int_equal(idtoken_alg_by_name("ES256"), IDTOKEN_ALG_ES256);
	assert_int_equal(idtoken_alg_by_name("es256"), -1);
	assert_int_equal(idtoken_alg_by_name(NULL), -1);
	assert_string_equal(idtoken_status_name(IDTOKEN_STATUS_COUNT), "token-unknown-status");
	assert_string_equal(idtoken_status_name(IDTOKEN_OK), "token-ok");
	/* every claim name maps back to its claim */
	for (int i = 0; i < IDC_COUNT; i++)
		assert_int_equal(idtoken_claim_by_name(idtoken_claim_name((idtoken_claim_t)i)), i);
	assert_string_equal(idtoken_claim_name(IDC_COUNT), "unknown");
	assert_int_equal(idtoken_claim_by_name("unknown"), -1);
	assert_int_equal(idtoken_claim_by_name(NULL), -1);
	assert_int_equal(idtoken_claim_by_name("iss"), -1);
	assert_true(idtoken_claim_is_stable_id(IDC_PROJECT_ID));
	assert_true(idtoken_claim_is_stable_id(IDC_NAMESPACE_ID));
	assert_false(idtoken_claim_is_stable_id(IDC_PROJECT_PATH));
	assert_false(idtoken_claim_is_stable_id(IDC_SUB));
	/* claims: absent, out of range, no claims at all */
	idtoken_claims_t c;
	memset(&c, 0, sizeof c);
	strcpy(c.v[IDC_REF], "refs/heads/main");
	assert_null(idtoken_claim(&c, IDC_REF)); /* a value without its present bit */
	c.present = UINT64_C(1) << IDC_REF;
	assert_string_equal(idtoken_claim(&c, IDC_REF), "refs/heads/main");
	assert_null(idtoken_claim(&c, IDC_COUNT));
	assert_null(idtoken_claim(NULL, IDC_REF));
	assert_false(idtoken_value_matches(NULL, "x"));
	assert_false(idtoken_value_matches("x", NULL));
}

static void test_looks_like(void **state)
{
	(void)state;
	char *t = token(RS_H, good_payload(), rsa_key);
	assert_true(idtoken_looks_like(cfg, t, strlen(t)));
	assert_false(idtoken_looks_like(cfg, t, 15)); /* too short */
	assert_false(idtoken_looks_like(cfg, NULL, 20));
	assert_false(idtoken_looks_like(cfg, t + 1, strlen(t) - 1)); /* not "eyJ" */
	free(t);
	/* a character outside base64url and '.' */
	t = token(RS_H, good_payload(), rsa_key);
	t[10] = '+';
	assert_false(idtoken_looks_like(cfg, t, strlen(t)));
	free(t);
	/* two parts only */
	t = token(RS_H, good_payload(), rsa_key);
	*strrchr(t, '.') = '\0';
	assert_false(idtoken_looks_like(cfg, t, strlen(t)));
	free(t);
	/* the right alphabet and three parts that do not decode to JSON */
	assert_false(idtoken_looks_like(cfg, "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4.AAAA", 38));
	/* no iss */
	t = token(RS_H, "{\"aud\":\"signgate\"}", rsa_key);
	assert_false(idtoken_looks_like(cfg, t, strlen(t)));
	free(t);
	/* an https issuer that is not configured still looks like an ID token
	 * (to be refused as token-issuer), a plain name does not (a ticket) */
	t = token(RS_H, "{\"iss\":\"https://gitlab.example.com\"}", rsa_key);
	assert_true(idtoken_looks_like(cfg, t, strlen(t)));
	assert_true(idtoken_looks_like(NULL, t, strlen(t)));
	/* ... unless a ticket validator carries that very name */
	config_t vc;
	config_validator_t v[2] = { { .name = "ci" }, { .name = "https://gitlab.example.com" } };
	memset(&vc, 0, sizeof vc);
	vc.validators = v;
	vc.n_validators = 1;
	assert_true(idtoken_looks_like(&vc, t, strlen(t)));
	vc.n_validators = 2;
	assert_false(idtoken_looks_like(&vc, t, strlen(t)));
	free(t);
	t = token(RS_H, "{\"iss\":\"ci\"}", rsa_key);
	assert_false(idtoken_looks_like(cfg, t, strlen(t)));
	free(t);
}

static void test_decode_unverified(void **state)
{
	char *h = (char *)1, *p = (char *)1;
	(void)state;
	char *t = token(RS_H, "{\"iss\":\"x\",\"n\":1}", rsa_other);
	assert_true(idtoken_decode_unverified(t, strlen(t), &h, &p));
	assert_non_null(strstr(h, "\"alg\": \"RS256\""));
	assert_non_null(strstr(h, "\"kid\": \"r1\""));
	/* order kept, indented */
	assert_string_equal(p, "{\n  \"iss\": \"x\",\n  \"n\": 1\n}");
	free(h);
	free(p);
	free(t);
	h = p = (char *)1;
	assert_false(idtoken_decode_unverified("eyJ.not.json", 12, &h, &p));
	assert_null(h);
	assert_null(p);
}

/* --- JWKS errors -------------------------------------------------------------- */

static char *rsa_jwk(const char *kid, const char *extra)
{
	BIGNUM *n = NULL, *e = NULL;
	char *ns, *es, *out = malloc(2048);
	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	assert_int_equal(EVP_PKEY_get_bn_param(rsa_key, OSSL_PKEY_PARAM_RSA_E, &e), 1);
	ns = bn_b64(n);
	es = bn_b64(e);
	snprintf(out, 2048, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, ns,
	         es, extra);
	free(ns);
	free(es);
	BN_free(n);
	BN_free(e);
	return out;
}

static void expect_jwks(const char *json, int want, const char *needle)
{
	idtoken_jwk_t *k = (idtoken_jwk_t *)1;
	size_t n = 99;
	char err[200] = "";
	int r = idtoken_jwks_parse(json, strlen(json), &k, &n, err, sizeof err);
	if (r != want)
		fail_msg("jwks parse returned %d (%s) for %.200s", r, err, json);
	if (r != 0) {
		assert_null(k);
		assert_int_equal(n, 0);
		if (needle && !strstr(err, needle))
			fail_msg("error '%s' lacks '%s'", err, needle);
	} else {
		idtoken_jwks_free(k, n);
	}
}

static void test_jwks_refusals(void **state)
{
	(void)state;
	char doc[8192];
	char *a = rsa_jwk("a", ""), *a2 = rsa_jwk("a", ",\"alg\":\"RS256\""),
	     *b = rsa_jwk("b", ",\"use\":\"sig\"");

	snprintf(doc, sizeof doc, "{\"keys\":[%s,%s]}", a, b);
	expect_jwks(doc, 0, NULL);
	snprintf(doc, sizeof doc, "{\"keys\":[%s,%s]}", a, a2);
	expect_jwks(doc, -1, "duplicate kid 'a'");
	/* an RS384 RSA key is skipped, not an error; alone it leaves none */
	char *rs384 = rsa_jwk("c", ",\"alg\":\"RS384\"");
	snprintf(doc, sizeof doc, "{\"keys\":[%s]}", rs384);
	expect_jwks(doc, -1, "no RS256 or ES256 signing key");
	free(rs384);
	free(a);
	free(a2);
	free(b);

	expect_jwks("{\"keys\":[1]}", -1, "key 0: not an object");
	expect_jwks("{\"keys\":[{\"kid\":\"a\"}]}", -1,
	            "no RS256 or ES256 signing key"); /* no kty */
	expect_jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"\"}]}", -1,
	            "key 0: kid missing, empty, too long or not printable");
	expect_jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\\u0007\"}]}", -1,
	            "key 0: kid missing");
	expect_jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"e\":\"AQAB\"}]}", -1,
	            "key 'a': RSA key without valid n and e");
	expect_jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"!!!!\",\"e\":\"AQAB\"}]}",
	            -1, "key 'a': RSA key without valid n and e");
	expect_jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"\",\"e\":\"AQAB\"}]}", -1,
	            "RSA key without valid n and e");
	/* an exponent of 9 bytes (more than the 8 allowed) */
	expect_jwks(
	        "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQEBAQEBAQEB\"}]}",
	        -1, "RSA key without valid n and e");
	/* even and 1 exponents, on a 2048-bit modulus */
	{
		char *even = rsa_jwk("a", "");
		char *e = strstr(even, "\"e\":\"AQAB\"");
		assert_non_null(e);
		memcpy(e, "\"e\":\"AQAC\"", 10);
		snprintf(doc, sizeof doc, "{\"keys\":[%s]}", even);
		expect_jwks(doc, -1, "RSA key smaller than 2048 bits or with a bad exponent");
		memcpy(e, "\"e\":\"AQ==\"", 10); /* padding is not base64url */
		snprintf(doc, sizeof doc, "{\"keys\":[%s]}", even);
		expect_jwks(doc, -1, "RSA key without valid n and e");
		free(even);
	}
	expect_jwks("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\","
	            "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\","
	            "\"y\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE\"}]}",
	            -1, "key 'a': EC key without 32-byte x and y");
	expect_jwks("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\","
	            "\"x\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}]}",
	            -1, "EC key without 32-byte x and y");
	/* P-384, ES384 and EC without crv: skipped */
	expect_jwks("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\",\"kid\":\"a\"},"
	            "{\"kty\":\"EC\",\"kid\":\"b\"},"
	            "{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES384\",\"kid\":\"c\"}]}",
	            -1, "no RS256 or ES256 signing key");
	/* more than IDTOKEN_MAX_KEYS keys, whatever they are */
	{
		size_t off = (size_t)snprintf(doc, sizeof doc, "{\"keys\":[");
		for (int i = 0; i <= IDTOKEN_MAX_KEYS; i++)
			off += (size_t)snprintf(doc + off, sizeof doc - off,
			                        "%s{\"kty\":\"oct\",\"kid\":\"%d\"}", i ? "," : "",
			                        i);
		snprintf(doc + off, sizeof doc - off, "]}");
		expect_jwks(doc, -1, "more than 32 keys");
	}
	/* not JSON; JSON with a duplicate member */
	expect_jwks("{\"keys\":", -1, "not a JWKS document");
	expect_jwks("{\"keys\":[],\"keys\":[]}", -1, "not a JWKS document");
	/* larger than IDTOKEN_JWKS_MAX_BYTES: refused before parsing */
	{
		idtoken_jwk_t *k;
		size_t n;
		char err[200];
		char *big = malloc(IDTOKEN_JWKS_MAX_BYTES + 2);
		memset(big, ' ', IDTOKEN_JWKS_MAX_BYTES + 1);
		memcpy(big, "{\"keys\":[]}", 11);
		big[IDTOKEN_JWKS_MAX_BYTES + 1] = '\0';
		assert_int_equal(idtoken_jwks_parse(big, IDTOKEN_JWKS_MAX_BYTES + 1, &k, &n, err,
		                                    sizeof err),
		                 -1);
		assert_non_null(strstr(err, "JWKS larger than 262144 bytes"));
		free(big);
	}
	/* no error buffer: still refused */
	{
		idtoken_jwk_t *k;
		size_t n;
		assert_int_equal(idtoken_jwks_parse("[]", 2, &k, &n, NULL, 0), -1);
	}
	idtoken_jwks_free(NULL, 3);
}

/* --- audit fields ---------------------------------------------------------- */

#define MAX_FIELDS 32
struct fields {
	size_t n;
	char key[MAX_FIELDS][64];
	char val[MAX_FIELDS][600];
	bool null[MAX_FIELDS];
};

static void collect(void *ctx, const char *key, const char *val)
{
	struct fields *f = ctx;
	assert_true(f->n < MAX_FIELDS);
	snprintf(f->key[f->n], sizeof f->key[0], "%s", key);
	f->null[f->n] = val == NULL;
	snprintf(f->val[f->n], sizeof f->val[0], "%s", val ? val : "");
	f->n++;
}

/* the value given for key; "(null)" when given as NULL; NULL when not given */
static const char *field(const struct fields *f, const char *key)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->key[i], key))
			return f->null[i] ? "(null)" : f->val[i];
	return NULL;
}

static void set_claim(idtoken_claims_t *c, idtoken_claim_t which, const char *v)
{
	snprintf(c->v[which], sizeof c->v[which], "%s", v);
	c->present |= UINT64_C(1) << which;
}

static void test_audit_fields_github(void **state)
{
	static idtoken_claims_t c;
	static struct fields f;
	(void)state;
	claims_of(good_payload(), &c);
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_issuer"), GH);
	assert_string_equal(field(&f, "oidc_provider"), "github");
	assert_string_equal(
	        field(&f, "oidc_build_signer_uri"),
	        "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.0.0");
	assert_string_equal(field(&f, "oidc_build_signer_digest"),
	                    "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(
	        field(&f, "oidc_build_config_uri"),
	        "https://github.com/octo/app/.github/workflows/release.yml@refs/tags/v1.0.0");
	assert_string_equal(field(&f, "oidc_build_config_digest"), "(null)"); /* no workflow_sha */
	assert_string_equal(field(&f, "oidc_source_repository_uri"), "https://github.com/octo/app");
	assert_string_equal(field(&f, "oidc_source_repository_identifier"), "74");
	assert_string_equal(field(&f, "oidc_source_repository_owner_identifier"), "65");
	assert_string_equal(field(&f, "oidc_source_repository_ref"), "refs/tags/v1.0.0");
	assert_string_equal(field(&f, "oidc_build_trigger"), "push");
	assert_string_equal(field(&f, "oidc_run_invocation_uri"),
	                    "https://github.com/octo/app/actions/runs/99/attempts/2");
	assert_string_equal(field(&f, "oidc_actor"), "(null)");
	assert_string_equal(field(&f, "oidc_source_repository_digest"),
	                    "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(field(&f, "oidc_runner_environment"), "github-hosted");
	assert_string_equal(field(&f, "oidc_environment"), "release");
	assert_string_equal(field(&f, "oidc_jti"), "j-1799999990-74");
	assert_string_equal(field(&f, "oidc_kid"), "r1");
	assert_null(field(&f, "oidc_ref_protected")); /* a GitLab field */
	/* never the token, its signature or sub */
	assert_null(field(&f, "sub"));
	assert_null(field(&f, "oidc_sub"));

	/* GitHub Enterprise Server: the server is the issuer without
	 * /_services/token; no run_attempt counts as attempt 1; no
	 * job_workflow_ref or workflow_ref or repository: no URIs */
	memset(&c, 0, sizeof c);
	strcpy(c.jti, "j");
	strcpy(c.issuer, "https://ghe.example.com/_services/token");
	strcpy(c.provider, "ghes");
	set_claim(&c, IDC_REPOSITORY, "octo/app");
	set_claim(&c, IDC_RUN_ID, "7");
	set_claim(&c, IDC_ACTOR, "mona");
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_source_repository_uri"),
	                    "https://ghe.example.com/octo/app");
	assert_string_equal(field(&f, "oidc_run_invocation_uri"),
	                    "https://ghe.example.com/octo/app/actions/runs/7/attempts/1");
	assert_string_equal(field(&f, "oidc_actor"), "mona");
	assert_null(field(&f, "oidc_build_signer_uri"));
	assert_null(field(&f, "oidc_build_config_uri"));
	assert_string_equal(field(&f, "oidc_kid"), "");
	/* a repository without run_id: no invocation URI */
	c.present &= ~(UINT64_C(1) << IDC_RUN_ID);
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_null(field(&f, "oidc_run_invocation_uri"));
	/* an issuer that is exactly "/_services/token" long is not shortened */
	strcpy(c.issuer, "/_services/token");
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_source_repository_uri"), "/_services/token/octo/app");
}

static void test_audit_fields_gitlab(void **state)
{
	static idtoken_claims_t c;
	static struct fields f;
	(void)state;
	memset(&c, 0, sizeof c);
	strcpy(c.jti, "gl-1");
	strcpy(c.kid, "k9");
	strcpy(c.issuer, "https://gitlab.example.com");
	strcpy(c.provider, "gitlab");
	set_claim(&c, IDC_PROJECT_ID, "42");
	set_claim(&c, IDC_NAMESPACE_ID, "7");
	set_claim(&c, IDC_PROJECT_PATH, "grp/app");
	set_claim(&c, IDC_CI_CONFIG_REF_URI,
	          "gitlab.example.com/grp/app//.gitlab-ci.yml@refs/heads/main");
	set_claim(&c, IDC_CI_CONFIG_SHA, "abc123");
	set_claim(&c, IDC_REF, "main");
	set_claim(&c, IDC_REF_TYPE, "branch");
	set_claim(&c, IDC_PIPELINE_SOURCE, "push");
	set_claim(&c, IDC_JOB_ID, "1001");
	set_claim(&c, IDC_REF_PROTECTED, "true");
	set_claim(&c, IDC_USER_LOGIN, "alice");
	set_claim(&c, IDC_SHA, "def456");
	set_claim(&c, IDC_ENVIRONMENT, "production");
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_issuer"), "https://gitlab.example.com");
	assert_string_equal(field(&f, "oidc_provider"), "gitlab");
	assert_string_equal(field(&f, "oidc_build_signer_uri"),
	                    "https://gitlab.example.com/grp/app//.gitlab-ci.yml@refs/heads/main");
	assert_string_equal(field(&f, "oidc_build_config_uri"),
	                    "https://gitlab.example.com/grp/app//.gitlab-ci.yml@refs/heads/main");
	assert_string_equal(field(&f, "oidc_build_signer_digest"), "abc123");
	assert_string_equal(field(&f, "oidc_build_config_digest"), "abc123");
	assert_string_equal(field(&f, "oidc_source_repository_uri"),
	                    "https://gitlab.example.com/grp/app");
	assert_string_equal(field(&f, "oidc_source_repository_identifier"), "42");
	assert_string_equal(field(&f, "oidc_source_repository_owner_identifier"), "7");
	assert_string_equal(field(&f, "oidc_source_repository_ref"), "refs/heads/main");
	assert_string_equal(field(&f, "oidc_build_trigger"), "push");
	assert_string_equal(field(&f, "oidc_run_invocation_uri"),
	                    "https://gitlab.example.com/grp/app/-/jobs/1001");
	assert_string_equal(field(&f, "oidc_ref_protected"), "true");
	assert_string_equal(field(&f, "oidc_actor"), "alice");
	assert_string_equal(field(&f, "oidc_source_repository_digest"), "def456");
	assert_string_equal(field(&f, "oidc_runner_environment"), "(null)");
	assert_string_equal(field(&f, "oidc_environment"), "production");
	assert_string_equal(field(&f, "oidc_jti"), "gl-1");
	assert_string_equal(field(&f, "oidc_kid"), "k9");
	/* a tag ref */
	set_claim(&c, IDC_REF, "v1.0");
	set_claim(&c, IDC_REF_TYPE, "tag");
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_source_repository_ref"), "refs/tags/v1.0");
	/* another ref_type, or none: the ref as it is */
	set_claim(&c, IDC_REF_TYPE, "merge_request");
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_source_repository_ref"), "v1.0");
	c.present &= ~(UINT64_C(1) << IDC_REF_TYPE);
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_source_repository_ref"), "v1.0");
	/* without config URI and SHA, project path or job id: those fields left out */
	c.present &= ~((UINT64_C(1) << IDC_CI_CONFIG_REF_URI) | (UINT64_C(1) << IDC_CI_CONFIG_SHA) |
	               (UINT64_C(1) << IDC_PROJECT_PATH) | (UINT64_C(1) << IDC_JOB_ID));
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_null(field(&f, "oidc_build_signer_uri"));
	assert_null(field(&f, "oidc_build_signer_digest"));
	assert_null(field(&f, "oidc_source_repository_uri"));
	assert_null(field(&f, "oidc_run_invocation_uri"));
	assert_string_equal(field(&f, "oidc_source_repository_identifier"), "42");
	/* no claims or no jti (no verified token): nothing */
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(NULL, collect, &f);
	c.jti[0] = '\0';
	idtoken_audit_fields(&c, collect, &f);
	assert_int_equal(f.n, 0);
}

/* More JWKS members wrong on their own. */
static void test_jwks_members(void **state)
{
	(void)state;
	char doc[8192];
	/* n as a number; an n longer than any accepted modulus */
	expect_jwks("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":5,\"e\":\"AQAB\"}]}", -1,
	            "key 'a': RSA key without valid n and e");
	{
		size_t off = (size_t)snprintf(doc, sizeof doc,
		                              "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"");
		memset(doc + off, 'A', 1400); /* 1050 bytes: more than 8192 bits */
		off += 1400;
		snprintf(doc + off, sizeof doc - off, "\",\"e\":\"AQAB\"}]}");
		expect_jwks(doc, -1, "RSA key without valid n and e");
	}
	/* exponent 1 */
	{
		char *one = rsa_jwk("a", "");
		char *e = strstr(one, "\"e\":\"AQAB\"");
		assert_non_null(e);
		memmove(e + 7, e + 9, strlen(e + 9) + 1); /* "e":"AQ" */
		snprintf(doc, sizeof doc, "{\"keys\":[%s]}", one);
		expect_jwks(doc, -1, "RSA key smaller than 2048 bits or with a bad exponent");
		free(one);
	}
	/* a kid of 128 characters does not fit */
	{
		char kid[200];
		memset(kid, 'k', 128);
		kid[128] = '\0';
		snprintf(doc, sizeof doc, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\"}]}", kid);
		expect_jwks(doc, -1, "key 0: kid missing, empty, too long or not printable");
	}
	/* EC: y of 31 bytes with a good x; alg ES256 named explicitly is fine */
	{
		BIGNUM *x = NULL, *y = NULL;
		unsigned char xb[32], yb[32];
		assert_int_equal(EVP_PKEY_get_bn_param(ec_key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(ec_key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
		BN_bn2binpad(x, xb, 32);
		BN_bn2binpad(y, yb, 32);
		char *xs = b64(xb, 32), *ys = b64(yb, 32), *ys31 = b64(yb, 31);
		snprintf(doc, sizeof doc,
		         "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"a\","
		         "\"x\":\"%s\",\"y\":\"%s\"}]}",
		         xs, ys31);
		expect_jwks(doc, -1, "key 'a': EC key without 32-byte x and y");
		snprintf(doc, sizeof doc,
		         "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\","
		         "\"use\":\"sig\",\"kid\":\"a\",\"x\":\"%s\",\"y\":\"%s\"}]}",
		         xs, ys);
		idtoken_jwk_t *k;
		size_t n;
		char err[200];
		assert_int_equal(idtoken_jwks_parse(doc, strlen(doc), &k, &n, err, sizeof err), 0);
		assert_int_equal(n, 1);
		assert_int_equal(k[0].alg, IDTOKEN_ALG_ES256);
		assert_string_equal(k[0].kid, "a");
		idtoken_jwks_free(k, n);
		free(xs);
		free(ys);
		free(ys31);
		BN_free(x);
		BN_free(y);
	}
}

static void test_more_claims(void **state)
{
	static idtoken_claims_t c;
	char detail[200], iss[300], p[1024], *t;
	(void)state;
	/* false is "false" */
	claims_of("{" P_ISS "\"jti\":\"x\"," P_TIMES ",\"ref_protected\":false,"
	          "\"environment_protected\":true}",
	          &c);
	assert_string_equal(idtoken_claim(&c, IDC_REF_PROTECTED), "false");
	assert_string_equal(idtoken_claim(&c, IDC_ENVIRONMENT_PROTECTED), "true");
	/* an issuer of 256 bytes does not fit (it would not match anyway) */
	memcpy(iss, "https://", 8);
	memset(iss + 8, 'i', 248);
	iss[256] = '\0';
	snprintf(p, sizeof p, "{\"iss\":\"%s\",\"aud\":\"signgate\",\"jti\":\"x\"," P_TIMES "}",
	         iss);
	expect_payload(p, IDTOKEN_MALFORMED, "claim 'iss' missing or not a printable string");
	iss[255] = '\0';
	snprintf(p, sizeof p, "{\"iss\":\"%s\",\"aud\":\"signgate\",\"jti\":\"x\"," P_TIMES "}",
	         iss);
	expect_payload(p, IDTOKEN_ISSUER, "is not a configured identity provider");
	/* issued in the future (beyond the skew) with an earlier nbf: not yet
	 * valid, counted from iat */
	expect_payload("{" P_ISS "\"jti\":\"x\",\"nbf\":1799999000,\"iat\":1800000040,"
	               "\"exp\":1800000100}",
	               IDTOKEN_NOT_YET_VALID, "not valid for another 40 s");
	/* the audience refusal without a detail buffer */
	t = token(RS_H, gh_payload(GH, "other", NOW, NOW + 60, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW, &c, NULL, 0), IDTOKEN_AUDIENCE);
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW, &c, detail, sizeof detail),
	                 IDTOKEN_AUDIENCE);
	assert_string_equal(detail, "claim 'aud' does not carry the audience of provider github");
	free(t);
}

/* GitHub claims with none of the optional ones: only the fields that
 * exist, never made-up URIs. */
static void test_audit_fields_sparse(void **state)
{
	static idtoken_claims_t c;
	static struct fields f;
	(void)state;
	memset(&c, 0, sizeof c);
	strcpy(c.jti, "j");
	strcpy(c.issuer, GH);
	strcpy(c.provider, "github");
	set_claim(&c, IDC_RUN_ID, "5"); /* without repository: no invocation URI */
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_issuer"), GH);
	assert_null(field(&f, "oidc_build_signer_uri"));
	assert_null(field(&f, "oidc_build_config_uri"));
	assert_null(field(&f, "oidc_source_repository_uri"));
	assert_null(field(&f, "oidc_run_invocation_uri"));
	assert_string_equal(field(&f, "oidc_source_repository_identifier"), "(null)");
	assert_string_equal(field(&f, "oidc_jti"), "j");
	/* GitLab: a project path without a job id; a ref without ref_type */
	memset(&c, 0, sizeof c);
	strcpy(c.jti, "j");
	strcpy(c.issuer, "https://gitlab.example.com");
	set_claim(&c, IDC_PROJECT_ID, "1");
	set_claim(&c, IDC_PROJECT_PATH, "g/p");
	memset(&f, 0, sizeof f);
	idtoken_audit_fields(&c, collect, &f);
	assert_string_equal(field(&f, "oidc_source_repository_uri"),
	                    "https://gitlab.example.com/g/p");
	assert_null(field(&f, "oidc_run_invocation_uri"));
	assert_string_equal(field(&f, "oidc_source_repository_ref"), "(null)");
	/* a validator without a name never hides an issuer */
	char *t = token(RS_H, "{\"iss\":\"https://gitlab.example.com\"}", rsa_key);
	config_t vc;
	config_validator_t v[1] = { { .name = NULL } };
	memset(&vc, 0, sizeof vc);
	vc.validators = v;
	vc.n_validators = 1;
	assert_true(idtoken_looks_like(&vc, t, strlen(t)));
	free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_ok),
		cmocka_unit_test(test_verify_failures),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_loader),
		cmocka_unit_test(test_jwks_change_reloads),
		cmocka_unit_test(test_claim_refusals),
		cmocka_unit_test(test_header_refusals),
		cmocka_unit_test(test_provider_algorithms),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_looks_like),
		cmocka_unit_test(test_decode_unverified),
		cmocka_unit_test(test_jwks_refusals),
		cmocka_unit_test(test_audit_fields_github),
		cmocka_unit_test(test_audit_fields_gitlab),
		cmocka_unit_test(test_jwks_members),
		cmocka_unit_test(test_more_claims),
		cmocka_unit_test(test_audit_fields_sparse),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

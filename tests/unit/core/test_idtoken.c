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
	snprintf(conf_text, sizeof conf_text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"github\"; issuer = \"" GH "\";\n"
	         "  audience = \"signgate\"; jwks = \"%s\"; %s } );\n"
	         "roles = ( %s );\n"
	         "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"release\" ]; keys = [ \"k\" ]; } );\n",
	         jwks_path, idp_extra, role);
	return config_load_string(conf_text, "t.conf", err, CONFIG_ERR_MAX);
}

#define RELEASE_ROLE                                                                         \
	"{ name = \"release\"; identity_provider = \"github\"; claims = {\n"                       \
	"  repository_id = \"74\"; repository_owner_id = \"65\"; ref_type = \"tag\";\n"            \
	"  ref = \"refs/tags/v*\"; event_name = [ \"push\", \"workflow_dispatch\" ];\n"            \
	"  job_workflow_ref = \"octo/app/.github/workflows/release.yml@refs/tags/v*\";\n"          \
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
	assert_int_equal(c.jti[0], '\0');     /* nothing of an unverified token */
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
	t = token(RS_H, gh_payload("https://evil.example", "signgate", NOW, NOW + 60, "74",
	                           "refs/tags/v1", "push"), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ISSUER);
	free(t);
	t = token(RS_H, gh_payload(GH "/", "signgate", NOW, NOW + 60, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_ISSUER);   /* exact, no trailing slash */
	free(t);
	t = token(RS_H, gh_payload(GH, "https://github.com/octo", NOW, NOW + 60, "74",
	                           "refs/tags/v1", "push"), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_AUDIENCE);
	assert_string_equal(c.jti, "j-1800000000-74");   /* signed: the audit may name it */
	free(t);
	t = token(RS_H, gh_payload(GH, "signgate", NOW - 400, NOW - 31, "74", "refs/tags/v1",
	                           "push"), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_EXPIRED);
	free(t);
	/* within the skew: still valid */
	t = token(RS_H, gh_payload(GH, "signgate", NOW - 400, NOW - 29, "74", "refs/tags/v1",
	                           "push"), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_OK);
	free(t);
	t = token(RS_H, gh_payload(GH, "signgate", NOW + 31, NOW + 200, "74", "refs/tags/v1",
	                           "push"), rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_NOT_YET_VALID);
	free(t);
	t = token(RS_H, gh_payload(GH, "signgate", NOW, NOW + 601, "74", "refs/tags/v1", "push"),
	          rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_LIFETIME);
	free(t);
	/* malformed: no jti, duplicate keys, a claim of the wrong type */
	t = token(RS_H, "{\"iss\":\"" GH "\",\"aud\":\"signgate\",\"iat\":1800000000,"
	                "\"exp\":1800000100}", rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	assert_non_null(strstr(detail, "jti"));
	free(t);
	t = token(RS_H, "{\"iss\":\"" GH "\",\"iss\":\"" GH "\"}", rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	free(t);
	t = token(RS_H, "{\"iss\":\"" GH "\",\"jti\":\"x\",\"aud\":\"signgate\",\"iat\":1800000000,"
	                "\"exp\":1800000100,\"repository_id\":[\"74\"]}", rsa_key);
	assert_int_equal(verify(t, &c, detail), IDTOKEN_MALFORMED);
	free(t);
	/* numbers and booleans become text */
	t = token(RS_H, "{\"iss\":\"" GH "\",\"jti\":\"x\",\"aud\":[\"a\",\"signgate\"],"
	                "\"iat\":1800000000,\"exp\":1800000100,\"repository_id\":74,"
	                "\"ref_protected\":true}", rsa_key);
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
			assert_string_equal(n, policy_reason_name(policy_idtoken_reason((idtoken_status_t)i)));
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
	const char *small = "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"AQAB\",\"e\":\"AQAB\"}]}";
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
	assert_int_equal(idtoken_verify(cfg, t, strlen(t), NOW, c, detail, sizeof detail), IDTOKEN_OK);
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
	assert_int_equal(d.ckr, 0x00000200UL);   /* CKR_FUNCTION_REJECTED */
	/* one claim off each */
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "75", "refs/tags/v1", "push"), &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_CLAIMS_MISMATCH);
	assert_non_null(strstr(d.detail, "repository_id '75'"));
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "74", "refs/heads/main", "push"), &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_CLAIMS_MISMATCH);
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "74", "refs/tags/v2",
	                     "pull_request_target"), &c);
	d = decide_with(&c, IDTOKEN_OK, NOW);
	assert_int_equal(d.reason, REASON_CLAIMS_MISMATCH);
	assert_non_null(strstr(d.detail, "event_name"));
	/* any-of list */
	claims_of(gh_payload(GH, "signgate", NOW, NOW + 60, "74", "refs/tags/v2",
	                     "workflow_dispatch"), &c);
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
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	                 " sub = \"repo:octo/app:ref:refs/tags/v1\"; repository_id = \"74\"; }; }",
	             "sub is never matched");
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	                 " repository = \"octo/app\"; }; }",
	             "names can be re-registered");
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	                 " repository_id = \"7*\"; }; }",
	             "not by glob");
	expect_error("", "{ name = \"release\"; identity_provider = \"gitlab\"; claims = {"
	                 " project_id = \"7\"; }; }",
	             "no identity provider 'gitlab'");
	expect_error("", "{ name = \"release\"; claims = { project_id = \"7\"; }; }",
	             "need identity_provider");
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; }", "needs claims");
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	                 " repository_id = \"74\"; colour = \"red\"; }; }",
	             "claims.colour");
	expect_error("", "{ name = \"release\"; identity_provider = \"github\"; claims = {"
	                 " repository_id = [ ]; }; }",
	             "at least one value");

	/* issuer and audience */
	char err[CONFIG_ERR_MAX], text[2048];
	snprintf(text, sizeof text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"gh\"; issuer = \"" GH "\";\n"
	         "  audience = \"https://github.com/octo\"; jwks = \"%s\"; } );\n", jwks_path);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "t.conf:3: setting 'identity_providers[0].audience'"));
	snprintf(text, sizeof text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"gh\"; issuer = \"http://plain\";\n"
	         "  audience = \"x\"; jwks = \"%s\"; } );\n", jwks_path);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "https URL"));
	snprintf(text, sizeof text,
	         "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	         "identity_providers = ( { name = \"gh\"; issuer = \"" GH "\";\n"
	         "  audience = \"x\"; jwks = \"%s/missing.json\"; } );\n", tmpdir);
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
	fprintf(f, "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	           "identity_providers = ( { name = \"github\"; issuer = \"" GH "\";\n"
	           "  audience = \"signgate\"; jwks = \"%s\"; } );\n", jwks2);
	fclose(f);
	config_t *c = config_load(path, false, err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	assert_false(config_changed(c));
	/* a key rotation: the file is replaced (another inode) */
	snprintf(cmd, sizeof cmd, "cp '%s' '%s.new' && sed -i 's/\"r1\"/\"r9\"/' '%s.new' && "
	                          "mv '%s.new' '%s'", jwks2, jwks2, jwks2, jwks2, jwks2);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* signgate: CI identity tokens, verified offline against a pinned JWKS.
 *
 * Everything in a token is attacker-controlled until its signature is
 * checked, and the JWKS file is only as trusted as whoever wrote it, so
 * both are parsed strictly and into bounded fields.  The algorithm is
 * fixed by the key the header's kid names, never by the header alone:
 * `none`, HS256 (keyed with the public key) and RS256/ES256 swaps are
 * refused before any cryptography runs.
 */
#include "idtoken.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "model.h"
#include "jws.h"
#include "codec.h"
#include "ticket.h"

#define RSA_MIN_BITS 2048
#define RSA_MAX_BYTES 1024 /* 8192-bit modulus */

/* Failure details are written as for tickets (jws.c). */
#define set_detail jws_detail

/* --- names --------------------------------------------------------------- */

static const char *const alg_names[IDTOKEN_ALG_COUNT] = {
	[IDTOKEN_ALG_RS256] = "RS256",
	[IDTOKEN_ALG_ES256] = "ES256",
};

const char *idtoken_alg_name(idtoken_alg_t a)
{
	return (unsigned)a < IDTOKEN_ALG_COUNT ? alg_names[a] : "unknown";
}

int idtoken_alg_by_name(const char *s)
{
	for (int i = 0; s && i < IDTOKEN_ALG_COUNT; i++)
		if (!strcmp(s, alg_names[i]))
			return i;
	return -1;
}

static const char *const claim_names[IDC_COUNT] = {
	[IDC_REPOSITORY_ID] = "repository_id",
	[IDC_REPOSITORY_OWNER_ID] = "repository_owner_id",
	[IDC_REPOSITORY] = "repository",
	[IDC_REF] = "ref",
	[IDC_REF_TYPE] = "ref_type",
	[IDC_WORKFLOW_REF] = "workflow_ref",
	[IDC_JOB_WORKFLOW_REF] = "job_workflow_ref",
	[IDC_JOB_WORKFLOW_SHA] = "job_workflow_sha",
	[IDC_ENVIRONMENT] = "environment",
	[IDC_EVENT_NAME] = "event_name",
	[IDC_RUNNER_ENVIRONMENT] = "runner_environment",
	[IDC_SHA] = "sha",
	[IDC_ACTOR] = "actor",
	[IDC_PROJECT_ID] = "project_id",
	[IDC_NAMESPACE_ID] = "namespace_id",
	[IDC_PROJECT_PATH] = "project_path",
	[IDC_REF_PROTECTED] = "ref_protected",
	[IDC_PIPELINE_SOURCE] = "pipeline_source",
	[IDC_CI_CONFIG_REF_URI] = "ci_config_ref_uri",
	[IDC_CI_CONFIG_SHA] = "ci_config_sha",
	[IDC_ENVIRONMENT_PROTECTED] = "environment_protected",
	[IDC_USER_LOGIN] = "user_login",
	[IDC_SUB] = "sub",
	[IDC_REPOSITORY_OWNER] = "repository_owner",
	[IDC_WORKFLOW_SHA] = "workflow_sha",
	[IDC_RUN_ID] = "run_id",
	[IDC_RUN_ATTEMPT] = "run_attempt",
	[IDC_PIPELINE_ID] = "pipeline_id",
	[IDC_JOB_ID] = "job_id",
	[IDC_NAMESPACE_PATH] = "namespace_path",
};

const char *idtoken_claim_name(idtoken_claim_t c)
{
	return (unsigned)c < IDC_COUNT ? claim_names[c] : "unknown";
}

int idtoken_claim_by_name(const char *name)
{
	for (int i = 0; name && i < IDC_COUNT; i++)
		if (!strcmp(name, claim_names[i]))
			return i;
	return -1;
}

bool idtoken_claim_is_stable_id(idtoken_claim_t c)
{
	return c == IDC_REPOSITORY_ID || c == IDC_REPOSITORY_OWNER_ID || c == IDC_PROJECT_ID ||
	       c == IDC_NAMESPACE_ID;
}

const char *idtoken_claim(const idtoken_claims_t *c, idtoken_claim_t which)
{
	if (!c || (unsigned)which >= IDC_COUNT || !(c->present & (UINT64_C(1) << which)))
		return NULL;
	return c->v[which];
}

const char *idtoken_status_name(idtoken_status_t s)
{
	switch (s) {
	case IDTOKEN_OK: return "token-ok";
	case IDTOKEN_MALFORMED: return "token-malformed";
	case IDTOKEN_ALGORITHM: return "token-algorithm";
	case IDTOKEN_ISSUER: return "token-issuer";
	case IDTOKEN_UNKNOWN_KID: return "token-unknown-kid";
	case IDTOKEN_SIGNATURE: return "token-signature";
	case IDTOKEN_AUDIENCE: return "token-audience";
	case IDTOKEN_EXPIRED: return "token-expired";
	case IDTOKEN_NOT_YET_VALID: return "token-not-yet-valid";
	case IDTOKEN_LIFETIME: return "token-lifetime";
	case IDTOKEN_REPLAYED: return "token-replayed";
	case IDTOKEN_STATUS_COUNT: break;
	}
	return "token-unknown-status";
}

bool idtoken_value_matches(const char *pattern, const char *value)
{
	if (!pattern || !value)
		return false;
	if (!strpbrk(pattern, "*?["))
		return !strcmp(pattern, value);
	return fnmatch(pattern, value, FNM_PATHNAME) == 0;
}

/* --- JWKS ---------------------------------------------------------------- */

/* A base64url member of a JWK, decoded into a malloc'd buffer. */
static unsigned char *jwk_bytes(const json_t *jwk, const char *name, size_t max, size_t *n)
{
	const json_t *v = json_object_get(jwk, name);
	const char *s;
	size_t len;
	unsigned char *out;

	if (!json_is_string(v))
		return NULL;
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0 || len / 4 * 3 > max + 3)
		return NULL;
	out = malloc(len);
	if (!out)
		return NULL;
	if (!codec_b64_decode(s, len, CODEC_B64_URL | CODEC_B64_PAD_NONE, out, max, n) || *n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	OSSL_PARAM_free(params);
	EVP_PKEY_CTX_free(ctx);
	return pk;
}

static EVP_PKEY *jwk_rsa(const json_t *jwk, char *err, size_t errlen)
{
	size_t nl = 0, el = 0;
	unsigned char *n = jwk_bytes(jwk, "n", RSA_MAX_BYTES, &nl);
	unsigned char *e = jwk_bytes(jwk, "e", 8, &el);
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (!n || !e) {
		set_detail(err, errlen, "RSA key without valid n and e");
		goto out;
	}
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	if (!bn || !be || BN_num_bits(bn) < RSA_MIN_BITS || !BN_is_odd(be) || BN_is_one(be)) {
		set_detail(err, errlen, "RSA key smaller than %d bits or with a bad exponent",
		           RSA_MIN_BITS);
		goto out;
	}
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	pk = pkey_from_params("RSA", bld);
	if (!pk)
		set_detail(err, errlen, "RSA key not accepted by OpenSSL");
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pk;
}

static EVP_PKEY *jwk_ec(const json_t *jwk, char *err, size_t errlen)
{
	size_t xl = 0, yl = 0;
	unsigned char *x = jwk_bytes(jwk, "x", 32, &xl);
	unsigned char *y = jwk_bytes(jwk, "y", 32, &yl);
	unsigned char point[65];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pk = NULL;

	if (!x || !y || xl != 32 || yl != 32) {
		set_detail(err, errlen, "EC key without 32-byte x and y");
		goto out;
	}
	point[0] = 0x04;
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld ||
	    !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto out;
	/* fromdata checks that the point is on the curve. */
	pk = pkey_from_params("EC", bld);
	if (!pk)
		set_detail(err, errlen, "EC point not on P-256");
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pk;
}

void idtoken_jwks_free(idtoken_jwk_t *keys, size_t n)
{
	if (!keys)
		return;
	for (size_t i = 0; i < n; i++)
		EVP_PKEY_free(keys[i].pkey);
	free(keys);
}

int idtoken_jwks_parse(const char *json, size_t len, idtoken_jwk_t **keys_out, size_t *n_out,
                       char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = NULL, *arr, *jwk;
	idtoken_jwk_t *keys = NULL;
	size_t n = 0, i;
	char why[160];

	*keys_out = NULL;
	*n_out = 0;
	if (len > IDTOKEN_JWKS_MAX_BYTES) {
		set_detail(err, errlen, "JWKS larger than %u bytes", IDTOKEN_JWKS_MAX_BYTES);
		return -1;
	}
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	arr = doc && json_is_object(doc) ? json_object_get(doc, "keys") : NULL;
	if (!json_is_array(arr)) {
		set_detail(err, errlen, "not a JWKS document (an object with a \"keys\" array)");
		goto bad;
	}
	if (json_array_size(arr) > IDTOKEN_MAX_KEYS) {
		set_detail(err, errlen, "more than %d keys", IDTOKEN_MAX_KEYS);
		goto bad;
	}
	keys = calloc(json_array_size(arr) + 1, sizeof(*keys));
	if (!keys) {
		set_detail(err, errlen, "out of memory");
		goto bad;
	}
	json_array_foreach(arr, i, jwk)
	{
		const char *kty = json_string_value(json_object_get(jwk, "kty"));
		const char *kid = json_string_value(json_object_get(jwk, "kid"));
		const char *use = json_string_value(json_object_get(jwk, "use"));
		const char *alg = json_string_value(json_object_get(jwk, "alg"));
		const char *crv = json_string_value(json_object_get(jwk, "crv"));
		idtoken_jwk_t *k = &keys[n];

		if (!json_is_object(jwk)) {
			set_detail(err, errlen, "key %zu: not an object", i);
			goto bad;
		}
		if (!kid || !kid[0] || strlen(kid) >= sizeof(k->kid) ||
		    !jws_clean_string(kid, strlen(kid))) {
			set_detail(err, errlen,
			           "key %zu: kid missing, empty, too long or not printable", i);
			goto bad;
		}
		if (use && strcmp(use, "sig") != 0)
			continue; /* an encryption key signs nothing */
		if (!kty)
			continue;
		why[0] = '\0';
		if (!strcmp(kty, "RSA") && (!alg || !strcmp(alg, "RS256"))) {
			k->alg = IDTOKEN_ALG_RS256;
			k->pkey = jwk_rsa(jwk, why, sizeof(why));
		} else if (!strcmp(kty, "EC") && crv && !strcmp(crv, "P-256") &&
		           (!alg || !strcmp(alg, "ES256"))) {
			k->alg = IDTOKEN_ALG_ES256;
			k->pkey = jwk_ec(jwk, why, sizeof(why));
		} else {
			continue; /* HMAC (oct), other curves, other algorithms */
		}
		if (!k->pkey) {
			set_detail(err, errlen, "key '%s': %s", kid, why[0] ? why : "unusable");
			goto bad;
		}
		for (size_t j = 0; j < n; j++)
			if (!strcmp(keys[j].kid, kid)) {
				EVP_PKEY_free(k->pkey);
				k->pkey = NULL;
				set_detail(err, errlen, "duplicate kid '%s'", kid);
				goto bad;
			}
		snprintf(k->kid, sizeof(k->kid), "%s", kid);
		n++;
	}
	if (n == 0) {
		set_detail(err, errlen, "no RS256 or ES256 signing key");
		goto bad;
	}
	json_decref(doc);
	*keys_out = keys;
	*n_out = n;
	return 0;
bad:
	json_decref(doc);
	idtoken_jwks_free(keys, n);
	return -1;
}

/* --- claims -------------------------------------------------------------- */

/* A claim value as text: strings as they are, integers in decimal (ids
 * are strings at GitHub and GitLab, but a number must not slip past an
 * equality), booleans as "true"/"false". */
static bool claim_text(const json_t *v, const char *name, char *dst, size_t cap, char *detail,
                       size_t dlen)
{
	if (json_is_string(v)) {
		char what[64];

		snprintf(what, sizeof(what), "claim '%s'", name);
		return jws_copy_text(json_string_value(v), json_string_length(v), what, dst, cap,
		                     detail, dlen);
	}
	if (json_is_integer(v)) {
		snprintf(dst, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return true;
	}
	if (json_is_boolean(v)) {
		snprintf(dst, cap, "%s", json_is_true(v) ? "true" : "false");
		return true;
	}
	set_detail(detail, dlen, "claim '%s': not a string, integer or boolean", name);
	return false;
}

static bool claims_parse(const json_t *p, idtoken_claims_t *c, char *detail, size_t dlen)
{
	const json_t *v;

	for (int i = 0; i < IDC_COUNT; i++) {
		v = json_object_get(p, claim_names[i]);
		if (!v || json_is_null(v))
			continue;
		if (!claim_text(v, claim_names[i], c->v[i], sizeof(c->v[i]), detail, dlen))
			return false;
		c->present |= UINT64_C(1) << i;
	}
	v = json_object_get(p, "jti");
	if (!v) {
		set_detail(detail, dlen, "claim 'jti' missing (needed to count uses)");
		return false;
	}
	if (!json_is_string(v) || json_string_length(v) == 0) {
		set_detail(detail, dlen, "claim 'jti': not a non-empty string");
		return false;
	}
	if (!claim_text(v, "jti", c->jti, sizeof(c->jti), detail, dlen))
		return false;
	c->nbf = -1;
	if (!jws_claim_time(p, "exp", true, &c->exp, detail, dlen) ||
	    !jws_claim_time(p, "iat", true, &c->iat, detail, dlen) ||
	    !jws_claim_time(p, "nbf", false, &c->nbf, detail, dlen))
		return false;
	if (c->nbf < 0)
		c->nbf = c->iat;
	if (c->exp < c->iat || c->exp < c->nbf) {
		set_detail(detail, dlen, "claim 'exp' before 'iat' or 'nbf'");
		return false;
	}
	return true;
}

/* aud: a string or an array of strings; one must equal the audience. */
static int audience_has(const json_t *aud, const char *want)
{
	size_t i;
	json_t *v;

	if (json_is_string(aud))
		return !strcmp(json_string_value(aud), want);
	if (!json_is_array(aud) || json_array_size(aud) == 0 ||
	    json_array_size(aud) > IDTOKEN_MAX_AUD)
		return -1;
	json_array_foreach(aud, i, v)
	{
		if (!json_is_string(v))
			return -1;
		if (!strcmp(json_string_value(v), want))
			return 1;
	}
	return 0;
}

/* --- providers and keys --------------------------------------------------- */

static const config_idp_t *find_idp(const config_t *cfg, const char *iss)
{
	if (!cfg || !iss)
		return NULL;
	for (size_t i = 0; i < cfg->n_idps; i++)
		if (cfg->idps[i].issuer && !strcmp(cfg->idps[i].issuer, iss))
			return &cfg->idps[i];
	return NULL;
}

static const idtoken_jwk_t *find_key(const config_idp_t *p, const char *kid)
{
	for (size_t i = 0; i < p->n_keys; i++)
		if (!strcmp(p->keys[i].kid, kid))
			return &p->keys[i];
	return NULL;
}

bool idtoken_looks_like(const config_t *cfg, const char *token, size_t len)
{
	jws_parts_t j;
	const char *iss;
	bool yes = false;

	size_t dots = 0;

	/* Like ticket_looks_like, but an empty signature part is allowed
	 * too: an "alg": "none" token must be recognised to be refused as
	 * one, not mistaken for a PIN. */
	if (!token || len < 16 || len > TICKET_MAX_LEN || strncmp(token, "eyJ", 3) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)token[i];
		if (ch == '.')
			dots++;
		else if (!(ch >= 'A' && ch <= 'Z') && !(ch >= 'a' && ch <= 'z') &&
		         !(ch >= '0' && ch <= '9') && ch != '-' && ch != '_')
			return false;
	}
	if (dots != 2 || !jws_parts_parse(token, len, &j, NULL, 0))
		return false;
	iss = json_string_value(json_object_get(j.payload, "iss"));
	if (iss) {
		yes = find_idp(cfg, iss) != NULL;
		if (!yes && !strncmp(iss, "https://", 8)) {
			/* An https issuer is an OIDC provider, unless a ticket
			 * validator happens to carry that name. */
			yes = true;
			for (size_t i = 0; cfg && i < cfg->n_validators; i++)
				if (cfg->validators[i].name &&
				    !strcmp(cfg->validators[i].name, iss))
					yes = false;
		}
	}
	jws_parts_free(&j);
	return yes;
}

idtoken_status_t idtoken_verify(const config_t *cfg, const char *token, size_t len, time_t now,
                                idtoken_claims_t *out, char *detail, size_t dlen)
{
	idtoken_claims_t *c = out;
	const config_idp_t *p;
	const idtoken_jwk_t *k;
	const json_t *alg_j, *kid_j, *iss_j;
	const char *alg_s, *kid, *iss;
	idtoken_status_t st;
	int alg, aud;
	jws_parts_t j;
	int64_t t = (int64_t)now;

	if (!c)
		return IDTOKEN_MALFORMED;
	memset(c, 0, sizeof(*c));
	set_detail(detail, dlen, "ok");
	if (!jws_parts_parse(token, len, &j, detail, dlen))
		return IDTOKEN_MALFORMED;
	if (!jws_header_format_ok(j.header, detail, dlen)) {
		st = IDTOKEN_MALFORMED;
		goto out;
	}
	/* Only the two asymmetric algorithms exist for us: "none", HS256
	 * (which a confused verifier would key with the public key) and the
	 * rest end here, before the issuer or the key are even looked at. */
	alg_j = json_object_get(j.header, "alg");
	alg_s = json_string_value(alg_j);
	alg = idtoken_alg_by_name(alg_s);
	if (alg < 0) {
		set_detail(detail, dlen, "header alg '%.16s' is not RS256 or ES256",
		           alg_s ? alg_s : "(missing)");
		st = IDTOKEN_ALGORITHM;
		goto out;
	}
	iss_j = json_object_get(j.payload, "iss");
	iss = json_string_value(iss_j);
	if (!iss || !iss[0] || json_string_length(iss_j) >= sizeof(c->issuer) ||
	    !jws_clean_string(iss, strlen(iss))) {
		set_detail(detail, dlen, "claim 'iss' missing or not a printable string");
		st = IDTOKEN_MALFORMED;
		goto out;
	}
	p = find_idp(cfg, iss);
	if (!p) {
		set_detail(detail, dlen, "issuer '%.120s' is not a configured identity provider",
		           iss);
		st = IDTOKEN_ISSUER;
		goto out;
	}
	if (!(p->algorithms & (1u << alg))) {
		set_detail(detail, dlen, "alg %s is not allowed for provider %s", alg_s, p->name);
		st = IDTOKEN_ALGORITHM;
		goto out;
	}
	kid_j = json_object_get(j.header, "kid");
	kid = json_string_value(kid_j);
	if (!kid || !kid[0] || json_string_length(kid_j) >= sizeof(c->kid) ||
	    !jws_clean_string(kid, strlen(kid))) {
		set_detail(detail, dlen, "header kid missing or not a printable string");
		st = IDTOKEN_UNKNOWN_KID;
		goto out;
	}
	k = find_key(p, kid);
	if (!k) {
		set_detail(detail, dlen, "kid '%.64s' is not in the pinned JWKS of provider %s",
		           kid, p->name);
		st = IDTOKEN_UNKNOWN_KID;
		goto out;
	}
	if ((int)k->alg != alg) {
		set_detail(detail, dlen, "alg %s does not fit key '%.64s' (%s)", alg_s, kid,
		           idtoken_alg_name(k->alg));
		st = IDTOKEN_ALGORITHM;
		goto out;
	}
	if (!jws_verify(k->pkey, alg == IDTOKEN_ALG_RS256 ? JWS_ALG_RS256 : JWS_ALG_ES256,
	                (const unsigned char *)token, j.signing_input_len, j.sig, j.sig_len)) {
		set_detail(detail, dlen,
		           "signature does not verify with key '%.64s' of provider %s", kid,
		           p->name);
		st = IDTOKEN_SIGNATURE;
		goto out;
	}
	if (!claims_parse(j.payload, c, detail, dlen)) {
		st = IDTOKEN_MALFORMED;
		goto out;
	}
	snprintf(c->provider, sizeof(c->provider), "%s", p->name);
	snprintf(c->issuer, sizeof(c->issuer), "%s", iss);
	snprintf(c->kid, sizeof(c->kid), "%s", kid);
	snprintf(c->alg, sizeof(c->alg), "%s", alg_s);
	aud = audience_has(json_object_get(j.payload, "aud"), p->audience);
	if (aud <= 0) {
		set_detail(detail, dlen, "%s",
		           aud < 0 ? "claim 'aud' missing or malformed"
		                   : "claim 'aud' does not carry the audience of provider");
		if (aud == 0 && detail && dlen)
			snprintf(detail + strlen(detail), dlen - strlen(detail), " %s", p->name);
		st = IDTOKEN_AUDIENCE;
		goto out;
	}
	/* exp is the first second the token is no longer valid in */
	switch (jws_when(t, p->max_clock_skew_s, c->exp, true, c->nbf, c->iat, detail, dlen)) {
	case JWS_EXPIRED: st = IDTOKEN_EXPIRED; goto out;
	case JWS_NOT_YET_VALID: st = IDTOKEN_NOT_YET_VALID; goto out;
	case JWS_VALID: break;
	}
	if (c->exp - c->iat > (int64_t)p->max_token_lifetime_s) {
		set_detail(detail, dlen, "lifetime %lld s above the %u s provider %s allows",
		           (long long)(c->exp - c->iat), p->max_token_lifetime_s, p->name);
		st = IDTOKEN_LIFETIME;
		goto out;
	}
	st = IDTOKEN_OK;
out:
	if (st != IDTOKEN_OK && st != IDTOKEN_EXPIRED && st != IDTOKEN_NOT_YET_VALID &&
	    st != IDTOKEN_LIFETIME && st != IDTOKEN_AUDIENCE)
		memset(c, 0, sizeof(*c));
	jws_parts_free(&j);
	return st;
}

bool idtoken_decode_unverified(const char *token, size_t len, char **header_json,
                               char **payload_json)
{
	jws_parts_t j;

	*header_json = *payload_json = NULL;
	if (!jws_parts_parse(token, len, &j, NULL, 0))
		return false;
	*header_json = json_dumps(j.header, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	*payload_json = json_dumps(j.payload, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	jws_parts_free(&j);
	return *header_json && *payload_json;
}

/* --- audit --------------------------------------------------------------- */

/* The web server behind an issuer: GitHub's tokens come from a service
 * host of their own, GitHub Enterprise Server's from HOST/_services/token,
 * GitLab's issuer is the instance itself. */
static void server_of(const char *iss, char *out, size_t cap)
{
	size_t n = strlen(iss);
	static const char ghes[] = "/_services/token";

	if (!strcmp(iss, "https://token.actions.githubusercontent.com"))
		snprintf(out, cap, "https://github.com");
	else if (n > sizeof(ghes) - 1 && !strcmp(iss + n - (sizeof(ghes) - 1), ghes))
		snprintf(out, cap, "%.*s", (int)(n - (sizeof(ghes) - 1)), iss);
	else
		snprintf(out, cap, "%s", iss);
}

void idtoken_audit_fields(const idtoken_claims_t *c,
                          void (*fn)(void *ctx, const char *key, const char *val), void *ctx)
{
	char server[IDTOKEN_VALUE_MAX], buf[5 * IDTOKEN_VALUE_MAX];
	const char *v, *w;
	bool gitlab;

	if (!c || !c->jti[0])
		return;
	gitlab = idtoken_claim(c, IDC_PROJECT_ID) != NULL;
	server_of(c->issuer, server, sizeof(server));
	fn(ctx, "oidc_issuer", c->issuer);
	fn(ctx, "oidc_provider", c->provider);
	if (gitlab) {
		if ((v = idtoken_claim(c, IDC_CI_CONFIG_REF_URI))) {
			snprintf(buf, sizeof(buf), "https://%s", v);
			fn(ctx, "oidc_build_signer_uri", buf);
			fn(ctx, "oidc_build_config_uri", buf);
		}
		if ((v = idtoken_claim(c, IDC_CI_CONFIG_SHA))) {
			fn(ctx, "oidc_build_signer_digest", v);
			fn(ctx, "oidc_build_config_digest", v);
		}
		if ((v = idtoken_claim(c, IDC_PROJECT_PATH))) {
			snprintf(buf, sizeof(buf), "%s/%s", server, v);
			fn(ctx, "oidc_source_repository_uri", buf);
		}
		fn(ctx, "oidc_source_repository_identifier", idtoken_claim(c, IDC_PROJECT_ID));
		fn(ctx, "oidc_source_repository_owner_identifier",
		   idtoken_claim(c, IDC_NAMESPACE_ID));
		v = idtoken_claim(c, IDC_REF);
		w = idtoken_claim(c, IDC_REF_TYPE);
		if (v && w && (!strcmp(w, "branch") || !strcmp(w, "tag"))) {
			snprintf(buf, sizeof(buf), "refs/%s/%s",
			         !strcmp(w, "tag") ? "tags" : "heads", v);
			fn(ctx, "oidc_source_repository_ref", buf);
		} else {
			fn(ctx, "oidc_source_repository_ref", v);
		}
		fn(ctx, "oidc_build_trigger", idtoken_claim(c, IDC_PIPELINE_SOURCE));
		v = idtoken_claim(c, IDC_PROJECT_PATH);
		w = idtoken_claim(c, IDC_JOB_ID);
		if (v && w) {
			snprintf(buf, sizeof(buf), "%s/%s/-/jobs/%s", server, v, w);
			fn(ctx, "oidc_run_invocation_uri", buf);
		}
		fn(ctx, "oidc_ref_protected", idtoken_claim(c, IDC_REF_PROTECTED));
		fn(ctx, "oidc_actor", idtoken_claim(c, IDC_USER_LOGIN));
	} else {
		if ((v = idtoken_claim(c, IDC_JOB_WORKFLOW_REF))) {
			snprintf(buf, sizeof(buf), "%s/%s", server, v);
			fn(ctx, "oidc_build_signer_uri", buf);
		}
		fn(ctx, "oidc_build_signer_digest", idtoken_claim(c, IDC_JOB_WORKFLOW_SHA));
		if ((v = idtoken_claim(c, IDC_WORKFLOW_REF))) {
			snprintf(buf, sizeof(buf), "%s/%s", server, v);
			fn(ctx, "oidc_build_config_uri", buf);
		}
		fn(ctx, "oidc_build_config_digest", idtoken_claim(c, IDC_WORKFLOW_SHA));
		if ((v = idtoken_claim(c, IDC_REPOSITORY))) {
			snprintf(buf, sizeof(buf), "%s/%s", server, v);
			fn(ctx, "oidc_source_repository_uri", buf);
		}
		fn(ctx, "oidc_source_repository_identifier", idtoken_claim(c, IDC_REPOSITORY_ID));
		fn(ctx, "oidc_source_repository_owner_identifier",
		   idtoken_claim(c, IDC_REPOSITORY_OWNER_ID));
		fn(ctx, "oidc_source_repository_ref", idtoken_claim(c, IDC_REF));
		fn(ctx, "oidc_build_trigger", idtoken_claim(c, IDC_EVENT_NAME));
		v = idtoken_claim(c, IDC_REPOSITORY);
		w = idtoken_claim(c, IDC_RUN_ID);
		if (v && w) {
			const char *a = idtoken_claim(c, IDC_RUN_ATTEMPT);
			snprintf(buf, sizeof(buf), "%s/%s/actions/runs/%s/attempts/%s", server, v,
			         w, a ? a : "1");
			fn(ctx, "oidc_run_invocation_uri", buf);
		}
		fn(ctx, "oidc_actor", idtoken_claim(c, IDC_ACTOR));
	}
	fn(ctx, "oidc_source_repository_digest", idtoken_claim(c, IDC_SHA));
	fn(ctx, "oidc_runner_environment", idtoken_claim(c, IDC_RUNNER_ENVIRONMENT));
	fn(ctx, "oidc_environment", idtoken_claim(c, IDC_ENVIRONMENT));
	fn(ctx, "oidc_jti", c->jti);
	fn(ctx, "oidc_kid", c->kid);
}

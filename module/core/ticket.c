/* signgate: validation tickets (compact JWS, EdDSA or ES256).
 *
 * Everything a ticket carries is attacker-controlled until the signature
 * is checked, so parsing is strict and bounded: exact base64url, a JSON
 * library with duplicate keys refused, every claim typed and length-checked
 * into the fixed-size fields of ticket_claims_t.  The algorithm comes from
 * the validator's key, found by `iss`; the header's `alg` must merely agree
 * with it, so `none`, HS256 and EdDSA/ES256 swaps are all refused.
 */
#include "ticket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "model.h"
#include "jws.h"
#include "codec.h"

#define SIG_LEN 64 /* Ed25519, and ES256 as raw r||s */

/* Failure details are written as for ID tokens (jws.c). */
#define set_detail jws_detail

const char *ticket_status_name(ticket_status_t s)
{
	switch (s) {
	case TICKET_OK: return "ticket-ok";
	case TICKET_MALFORMED: return "ticket-malformed";
	case TICKET_BAD_ALG: return "ticket-bad-alg";
	case TICKET_UNKNOWN_ISSUER: return "ticket-unknown-issuer";
	case TICKET_BAD_SIGNATURE: return "ticket-bad-signature";
	case TICKET_EXPIRED: return "ticket-expired";
	case TICKET_NOT_YET_VALID: return "ticket-not-yet-valid";
	}
	return "ticket-unknown-status";
}

/* --- base64url (RFC 7515: no padding) ------------------------------------ */

/* Strict (codec.h): only the url-safe alphabet, no '=' padding, no length
 * that cannot come from an encoder, and zero unused bits in the last
 * character, so that every byte string has exactly one accepted text (no
 * signature-preserving variants of a ticket).  out has room for n bytes,
 * more than any n characters decode to. */
#define B64URL (CODEC_B64_URL | CODEC_B64_PAD_NONE)

static bool b64url_decode(const char *in, size_t n, unsigned char *out, size_t *outlen)
{
	return codec_b64_decode(in, n, B64URL, out, n, outlen);
}

bool ticket_looks_like(const char *s, size_t len)
{
	size_t dots = 0;

	/* The smallest real ticket is far longer; the header of any JWS we
	 * issue or accept begins with '{"', i.e. "eyJ" in base64url.  A
	 * numeric PIN or a role credential never looks like this. */
	if (!s || len < 16 || len > TICKET_MAX_LEN)
		return false;
	if (strncmp(s, "eyJ", 3) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (++dots > 2 || i == 0 || s[i - 1] == '.')
				return false;
		} else if (!codec_b64_char((unsigned char)s[i], B64URL)) {
			return false;
		}
	}
	return dots == 2 && s[len - 1] != '.';
}

/* --- keys ---------------------------------------------------------------- */

static jws_alg_t key_alg(const EVP_PKEY *pk)
{
	char group[64];
	size_t glen = 0;

	if (!pk)
		return JWS_ALG_NONE;
	if (EVP_PKEY_is_a(pk, "ED25519"))
		return JWS_ALG_EDDSA;
	if (EVP_PKEY_is_a(pk, "EC") &&
	    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   &glen) &&
	    (!strcmp(group, "prime256v1") || !strcmp(group, "P-256") ||
	     !strcmp(group, "secp256r1")))
		return JWS_ALG_ES256;
	return JWS_ALG_NONE;
}

static const char *key_alg_name(jws_alg_t a)
{
	switch (a) {
	case JWS_ALG_EDDSA: return "EdDSA";
	case JWS_ALG_ES256: return "ES256";
	default: return NULL;
	}
}

const char *ticket_alg_for_key(const void *pkey)
{
	return key_alg_name(key_alg(pkey));
}

/* --- claims -------------------------------------------------------------- */

static bool copy_string(const json_t *v, const char *what, char *dst, size_t cap, char *detail,
                        size_t dlen)
{
	const char *s;
	size_t n;

	if (!json_is_string(v)) {
		set_detail(detail, dlen, "%s: not a string", what);
		return false;
	}
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0) {
		set_detail(detail, dlen, "%s: empty", what);
		return false;
	}
	/* control characters are refused in every string claim: these
	 * values end up in syslog records and terminal output */
	return jws_copy_text(s, n, what, dst, cap, detail, dlen);
}

static bool get_string(const json_t *obj, const char *key, bool required, char *dst, size_t cap,
                       char *detail, size_t dlen)
{
	const json_t *v = json_object_get(obj, key);
	char what[48];

	if (!v) {
		if (required)
			set_detail(detail, dlen, "claim '%s' missing", key);
		return !required;
	}
	snprintf(what, sizeof(what), "claim '%s'", key);
	return copy_string(v, what, dst, cap, detail, dlen);
}

/* Either case: the ticket's signature covers the text as written. */
static bool hex_digest(const char *s, size_t n, unsigned char out[32])
{
	size_t len;
	return n == 64 && codec_hex_decode(s, n, CODEC_HEX_UPPER, out, 32, &len);
}

static bool get_checks(const json_t *obj, ticket_claims_t *c, char *detail, size_t dlen)
{
	const json_t *checks = json_object_get(obj, "checks");
	const char *name;
	json_t *v;

	if (!checks)
		return true;
	if (!json_is_object(checks)) {
		set_detail(detail, dlen, "claim 'checks': not an object");
		return false;
	}
	if (json_object_size(checks) > TICKET_MAX_CHECKS) {
		set_detail(detail, dlen, "claim 'checks': more than %d", TICKET_MAX_CHECKS);
		return false;
	}
	json_object_foreach((json_t *)checks, name, v)
	{
		ticket_check_t *ck = &c->checks[c->n_checks];
		size_t n = strlen(name);
		char what[96];

		/* jansson keys are NUL-terminated: a key with an embedded
		 * NUL would be cut short, so it is refused at parse time
		 * (no JSON_ALLOW_NUL). */
		if (n == 0 || n >= sizeof(ck->name) || !jws_clean_string(name, n)) {
			set_detail(detail, dlen, "claim 'checks': bad check name");
			return false;
		}
		memcpy(ck->name, name, n + 1);
		snprintf(what, sizeof(what), "check '%s'", ck->name);
		if (!copy_string(v, what, ck->result, sizeof(ck->result), detail, dlen))
			return false;
		ck->pass = !strcmp(ck->result, "pass");
		c->n_checks++;
	}
	return true;
}

static bool get_aud(const json_t *obj, ticket_claims_t *c, char *detail, size_t dlen)
{
	const json_t *aud = json_object_get(obj, "aud");
	size_t i;
	json_t *v;

	if (!aud)
		return true;
	if (json_is_string(aud)) {
		if (!copy_string(aud, "claim 'aud'", c->aud[0], sizeof(c->aud[0]), detail, dlen))
			return false;
		c->n_aud = 1;
		return true;
	}
	if (!json_is_array(aud) || json_array_size(aud) == 0) {
		set_detail(detail, dlen, "claim 'aud': not a string or a non-empty array");
		return false;
	}
	if (json_array_size(aud) > TICKET_MAX_AUD) {
		set_detail(detail, dlen, "claim 'aud': more than %d entries", TICKET_MAX_AUD);
		return false;
	}
	json_array_foreach(aud, i, v)
	{
		if (!copy_string(v, "claim 'aud' entry", c->aud[i], sizeof(c->aud[i]), detail,
		                 dlen))
			return false;
		c->n_aud++;
	}
	return true;
}

static bool get_artifacts(const json_t *obj, ticket_claims_t *c, char *detail, size_t dlen)
{
	const json_t *arts = json_object_get(obj, "artifacts");
	size_t i;
	json_t *v;

	if (!arts)
		return true;
	if (!json_is_array(arts)) {
		set_detail(detail, dlen, "claim 'artifacts': not an array");
		return false;
	}
	if (json_array_size(arts) > TICKET_MAX_DIGESTS) {
		set_detail(detail, dlen, "claim 'artifacts': more than %d", TICKET_MAX_DIGESTS);
		return false;
	}
	json_array_foreach(arts, i, v)
	{
		const char *s = json_string_value(v);
		size_t n = json_is_string(v) ? json_string_length(v) : 0;

		if (!s || n != 7 + 64 || strncmp(s, "sha256:", 7) != 0 ||
		    !hex_digest(s + 7, n - 7, c->digests[i])) {
			set_detail(detail, dlen, "claim 'artifacts' entry %zu: not sha256:HEX", i);
			return false;
		}
		c->n_digests++;
	}
	return true;
}

static bool get_max_uses(const json_t *obj, ticket_claims_t *c, char *detail, size_t dlen)
{
	const json_t *v = json_object_get(obj, "max_uses");
	json_int_t n;

	if (!v)
		return true;
	if (!json_is_integer(v)) {
		set_detail(detail, dlen, "claim 'max_uses': not an integer");
		return false;
	}
	n = json_integer_value(v);
	/* 0 would read as "unlimited" in ticket_claims_t: a ticket saying
	 * max_uses 0 means something else, so it is refused. */
	if (n < 1 || n > (json_int_t)UINT32_MAX) {
		set_detail(detail, dlen, "claim 'max_uses': out of range");
		return false;
	}
	c->max_uses = (uint32_t)n;
	return true;
}

static bool claims_parse(const json_t *p, ticket_claims_t *c, char *detail, size_t dlen)
{
	memset(c, 0, sizeof(*c));
	if (!get_string(p, "iss", true, c->issuer, sizeof(c->issuer), detail, dlen) ||
	    !get_string(p, "sub", true, c->product, sizeof(c->product), detail, dlen) ||
	    !get_string(p, "pipeline", false, c->pipeline, sizeof(c->pipeline), detail, dlen) ||
	    !get_string(p, "run", true, c->run, sizeof(c->run), detail, dlen) ||
	    !get_string(p, "jti", true, c->jti, sizeof(c->jti), detail, dlen) ||
	    !get_string(p, "commit", false, c->commit, sizeof(c->commit), detail, dlen) ||
	    !jws_claim_time(p, "iat", true, &c->iat, detail, dlen) ||
	    !jws_claim_time(p, "nbf", true, &c->nbf, detail, dlen) ||
	    !jws_claim_time(p, "exp", true, &c->exp, detail, dlen) ||
	    !get_checks(p, c, detail, dlen) || !get_aud(p, c, detail, dlen) ||
	    !get_artifacts(p, c, detail, dlen) || !get_max_uses(p, c, detail, dlen))
		goto bad;
	if (c->exp < c->nbf || c->exp < c->iat) {
		set_detail(detail, dlen, "claim 'exp' before 'nbf' or 'iat'");
		goto bad;
	}
	return true;
bad:
	memset(c, 0, sizeof(*c));
	return false;
}

/* --- parsing the compact form -------------------------------------------- */

static json_t *json_object_strict(const unsigned char *b, size_t n)
{
	json_error_t err;
	/* No JSON_DECODE_ANY: the top level must be an object.  No
	 * JSON_ALLOW_NUL: "\u0000" is refused, so C strings are exact. */
	json_t *j = json_loadb((const char *)b, n, JSON_REJECT_DUPLICATES, &err);

	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static ticket_status_t jws_parse(const char *token, size_t len, jws_parts_t *j, char *detail,
                                 size_t dlen)
{
	codec_buf_t in;
	const unsigned char *hdr, *pay, *sig;
	size_t hlen, plen, slen, n;
	bool three;

	memset(j, 0, sizeof(*j));
	if (!token || len == 0) {
		set_detail(detail, dlen, "empty");
		return TICKET_MALFORMED;
	}
	if (len > TICKET_MAX_LEN) {
		set_detail(detail, dlen, "longer than %d bytes", TICKET_MAX_LEN);
		return TICKET_MALFORMED;
	}
	/* HEADER '.' PAYLOAD '.' SIGNATURE, no third dot */
	codec_buf_reader(&in, token, len);
	three = codec_buf_read_until(&in, '.', &hdr, &hlen) &&
	        codec_buf_read_until(&in, '.', &pay, &plen);
	slen = codec_buf_unread(&in);
	if (!three || !codec_buf_read_ptr(&in, slen, &sig) || memchr(sig, '.', slen)) {
		set_detail(detail, dlen, "not three dot-separated parts");
		return TICKET_MALFORMED;
	}

	j->buf = malloc(len);
	if (!j->buf) {
		set_detail(detail, dlen, "out of memory");
		return TICKET_MALFORMED;
	}
	if (!b64url_decode((const char *)hdr, hlen, j->buf, &n)) {
		set_detail(detail, dlen, "header: not canonical base64url");
		goto bad;
	}
	j->header = json_object_strict(j->buf, n);
	if (!j->header) {
		set_detail(detail, dlen, "header: not a strict JSON object");
		goto bad;
	}
	if (!b64url_decode((const char *)pay, plen, j->buf, &n)) {
		set_detail(detail, dlen, "payload: not canonical base64url");
		goto bad;
	}
	j->payload = json_object_strict(j->buf, n);
	if (!j->payload) {
		set_detail(detail, dlen, "payload: not a strict JSON object");
		goto bad;
	}
	if (!b64url_decode((const char *)sig, slen, j->buf, &j->sig_len)) {
		set_detail(detail, dlen, "signature: not canonical base64url");
		goto bad;
	}
	j->sig = j->buf;
	j->signing_input_len = hlen + 1 + plen;
	return TICKET_OK;
bad:
	jws_parts_free(j);
	return TICKET_MALFORMED;
}

/* typ and crit are about the token's format, checked before anything
 * else; alg is checked against the key later. */
static bool header_format_ok(const json_t *h, char *detail, size_t dlen)
{
	const json_t *typ = json_object_get(h, "typ");

	if (typ && (!json_is_string(typ) || strcmp(json_string_value(typ), "JWT") != 0)) {
		set_detail(detail, dlen, "header: typ is not \"JWT\"");
		return false;
	}
	/* RFC 7515 4.1.11: extensions we do not implement must be refused. */
	if (json_object_get(h, "crit")) {
		set_detail(detail, dlen, "header: crit extensions are not supported");
		return false;
	}
	return true;
}

/* --- verify -------------------------------------------------------------- */

static const config_validator_t *find_validator(const config_t *cfg, const char *name)
{
	if (!cfg)
		return NULL;
	for (size_t i = 0; i < cfg->n_validators; i++)
		if (cfg->validators[i].name && !strcmp(cfg->validators[i].name, name))
			return &cfg->validators[i];
	return NULL;
}

ticket_status_t ticket_verify_detail(const struct config *cfg, const char *token, size_t len,
                                     time_t now, ticket_claims_t *out, char *detail, size_t dlen)
{
	ticket_claims_t tmp;
	ticket_claims_t *c = out ? out : &tmp;
	const config_validator_t *v;
	const json_t *alg_j;
	char iss[sizeof(c->issuer)];
	ticket_status_t st;
	jws_alg_t alg;
	jws_parts_t j;

	memset(c, 0, sizeof(*c));
	set_detail(detail, dlen, "ok");
	st = jws_parse(token, len, &j, detail, dlen);
	if (st != TICKET_OK)
		return st;
	if (!header_format_ok(j.header, detail, dlen)) {
		st = TICKET_MALFORMED;
		goto out;
	}
	/* The issuer picks the key, the key picks the algorithm. */
	if (!get_string(j.payload, "iss", true, iss, sizeof(iss), detail, dlen)) {
		st = TICKET_MALFORMED;
		goto out;
	}
	v = find_validator(cfg, iss);
	if (!v || !v->pkey) {
		set_detail(detail, dlen, "issuer '%s' is not a configured validator", iss);
		st = TICKET_UNKNOWN_ISSUER;
		goto out;
	}
	alg = key_alg(v->pkey);
	alg_j = json_object_get(j.header, "alg");
	if (alg == JWS_ALG_NONE || !json_is_string(alg_j) ||
	    strcmp(json_string_value(alg_j), key_alg_name(alg)) != 0) {
		set_detail(detail, dlen, "header alg is not %s, the algorithm of validator '%s'",
		           alg == JWS_ALG_NONE ? "usable" : key_alg_name(alg), iss);
		st = TICKET_BAD_ALG;
		goto out;
	}
	if (!jws_verify(v->pkey, alg, (const unsigned char *)token, j.signing_input_len, j.sig,
	                j.sig_len)) {
		set_detail(detail, dlen, "signature does not verify with validator '%s'", iss);
		st = TICKET_BAD_SIGNATURE;
		goto out;
	}
	if (!claims_parse(j.payload, c, detail, dlen)) {
		st = TICKET_MALFORMED;
		goto out;
	}
	/* a ticket is valid up to and including its exp second */
	switch (jws_when((int64_t)now, TICKET_LEEWAY_S, c->exp, false, c->nbf, c->iat, detail,
	                 dlen)) {
	case JWS_EXPIRED: st = TICKET_EXPIRED; break;
	case JWS_NOT_YET_VALID: st = TICKET_NOT_YET_VALID; break;
	case JWS_VALID: st = TICKET_OK; break;
	}
out:
	if (st != TICKET_OK && st != TICKET_EXPIRED && st != TICKET_NOT_YET_VALID)
		memset(c, 0, sizeof(*c));
	jws_parts_free(&j);
	return st;
}

ticket_status_t ticket_verify(const struct config *cfg, const char *token, size_t len, time_t now,
                              ticket_claims_t *out)
{
	return ticket_verify_detail(cfg, token, len, now, out, NULL, 0);
}

ticket_status_t ticket_decode_unverified(const char *token, size_t len, char **header_json,
                                         char **payload_json, ticket_claims_t *out, char *detail,
                                         size_t dlen)
{
	ticket_claims_t tmp;
	ticket_claims_t *c = out ? out : &tmp;
	ticket_status_t st;
	jws_parts_t j;

	if (header_json)
		*header_json = NULL;
	if (payload_json)
		*payload_json = NULL;
	memset(c, 0, sizeof(*c));
	set_detail(detail, dlen, "ok");
	st = jws_parse(token, len, &j, detail, dlen);
	if (st != TICKET_OK)
		return st;
	if (header_json)
		*header_json = json_dumps(j.header, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (payload_json)
		*payload_json = json_dumps(j.payload, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (!header_format_ok(j.header, detail, dlen) ||
	    !claims_parse(j.payload, c, detail, dlen)) {
		st = TICKET_MALFORMED;
	} else {
		const char *alg = json_string_value(json_object_get(j.header, "alg"));
		if (!alg || (strcmp(alg, "EdDSA") != 0 && strcmp(alg, "ES256") != 0)) {
			set_detail(detail, dlen, "header alg is neither EdDSA nor ES256");
			st = TICKET_BAD_ALG;
		}
	}
	jws_parts_free(&j);
	return st;
}

/* --- claim checks -------------------------------------------------------- */

bool ticket_check_passed(const ticket_claims_t *c, const char *name)
{
	if (!c || !name)
		return false;
	for (size_t i = 0; i < c->n_checks && i < TICKET_MAX_CHECKS; i++)
		if (!strcmp(c->checks[i].name, name))
			return c->checks[i].pass;
	return false;
}

bool ticket_has_digest(const ticket_claims_t *c, const unsigned char d[32])
{
	bool found = false;

	if (!c || !d)
		return false;
	/* Every entry is compared, and in constant time, so the timing does
	 * not tell which digest matched. */
	for (size_t i = 0; i < c->n_digests && i < TICKET_MAX_DIGESTS; i++)
		found |= CRYPTO_memcmp(c->digests[i], d, 32) == 0;
	return found;
}

bool ticket_audience_allows(const ticket_claims_t *c, const char *key_name, char *const *products,
                            size_t n_products)
{
	if (!c)
		return false;
	if (c->n_aud == 0)
		return true;
	for (size_t i = 0; i < c->n_aud && i < TICKET_MAX_AUD; i++) {
		if (key_name && !strcmp(c->aud[i], key_name))
			return true;
		for (size_t k = 0; k < n_products; k++)
			if (products && products[k] && !strcmp(c->aud[i], products[k]))
				return true;
	}
	return false;
}

/* --- issue --------------------------------------------------------------- */

static bool sign_input(EVP_PKEY *pk, jws_alg_t alg, const unsigned char *msg, size_t mlen,
                       unsigned char raw[SIG_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	const unsigned char *p;
	ECDSA_SIG *es = NULL;
	const BIGNUM *r, *s;
	size_t len = 0;
	bool ok = false;

	if (!ctx)
		goto out;
	if (alg == JWS_ALG_EDDSA) {
		len = SIG_LEN;
		ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestSign(ctx, raw, &len, msg, mlen) == 1 && len == SIG_LEN;
		goto out;
	}
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, msg, mlen) != 1)
		goto out;
	der = OPENSSL_malloc(len);
	if (!der || EVP_DigestSign(ctx, der, &len, msg, mlen) != 1)
		goto out;
	p = der;
	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (!es)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	ok = BN_bn2binpad(r, raw, 32) == 32 && BN_bn2binpad(s, raw + 32, 32) == 32;
out:
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool field_ok(const char *s, size_t cap, bool required)
{
	size_t n = strnlen(s, cap);

	if (n == cap)
		return false;
	if (n == 0)
		return !required;
	return jws_clean_string(s, n);
}

static json_t *claims_to_json(const ticket_claims_t *c)
{
	json_t *p = json_object(), *checks = NULL, *aud = NULL, *arts = NULL;

	if (!p)
		return NULL;
	if (!field_ok(c->issuer, sizeof(c->issuer), true) ||
	    !field_ok(c->product, sizeof(c->product), true) ||
	    !field_ok(c->pipeline, sizeof(c->pipeline), false) ||
	    !field_ok(c->run, sizeof(c->run), true) || !field_ok(c->jti, sizeof(c->jti), true) ||
	    !field_ok(c->commit, sizeof(c->commit), false) || c->n_checks > TICKET_MAX_CHECKS ||
	    c->n_aud > TICKET_MAX_AUD || c->n_digests > TICKET_MAX_DIGESTS || c->iat < 0 ||
	    c->nbf < 0 || c->exp < 0 || c->exp > JWS_CLAIM_TIME_MAX || c->exp < c->nbf ||
	    c->exp < c->iat)
		goto bad;
	json_object_set_new(p, "iss", json_string(c->issuer));
	json_object_set_new(p, "sub", json_string(c->product));
	if (c->pipeline[0])
		json_object_set_new(p, "pipeline", json_string(c->pipeline));
	json_object_set_new(p, "run", json_string(c->run));
	json_object_set_new(p, "jti", json_string(c->jti));
	if (c->commit[0])
		json_object_set_new(p, "commit", json_string(c->commit));
	json_object_set_new(p, "iat", json_integer(c->iat));
	json_object_set_new(p, "nbf", json_integer(c->nbf));
	json_object_set_new(p, "exp", json_integer(c->exp));
	if (c->n_checks) {
		checks = json_object();
		if (!checks)
			goto bad;
		for (size_t i = 0; i < c->n_checks; i++) {
			const ticket_check_t *ck = &c->checks[i];
			const char *res = ck->result[0] ? ck->result : ck->pass ? "pass" : "fail";

			if (!field_ok(ck->name, sizeof(ck->name), true) ||
			    !field_ok(ck->result, sizeof(ck->result), false) ||
			    json_object_get(checks, ck->name)) /* would be refused */
				goto bad;
			json_object_set_new(checks, ck->name, json_string(res));
		}
		json_object_set_new(p, "checks", checks);
		checks = NULL;
	}
	if (c->n_aud) {
		aud = json_array();
		if (!aud)
			goto bad;
		for (size_t i = 0; i < c->n_aud; i++) {
			if (!field_ok(c->aud[i], sizeof(c->aud[i]), true))
				goto bad;
			json_array_append_new(aud, json_string(c->aud[i]));
		}
		json_object_set_new(p, "aud", aud);
		aud = NULL;
	}
	if (c->n_digests) {
		arts = json_array();
		if (!arts)
			goto bad;
		for (size_t i = 0; i < c->n_digests; i++) {
			char hex[7 + 64 + 1] = "sha256:";
			codec_hex_encode(hex + 7, sizeof hex - 7, c->digests[i], 32);
			json_array_append_new(arts, json_string(hex));
		}
		json_object_set_new(p, "artifacts", arts);
		arts = NULL;
	}
	if (c->max_uses)
		json_object_set_new(p, "max_uses", json_integer(c->max_uses));
	return p;
bad:
	json_decref(checks);
	json_decref(aud);
	json_decref(arts);
	json_decref(p);
	return NULL;
}

char *ticket_issue(void *pkey, const ticket_claims_t *claims)
{
	jws_alg_t alg = key_alg(pkey);
	json_t *header = NULL, *payload = NULL;
	char *hjson = NULL, *pjson = NULL, *h64 = NULL, *p64 = NULL, *s64 = NULL;
	char *input = NULL, *token = NULL;
	unsigned char sig[SIG_LEN];
	size_t ilen;

	if (alg == JWS_ALG_NONE || !claims)
		goto out;
	header = json_pack("{s:s, s:s}", "alg", key_alg_name(alg), "typ", "JWT");
	payload = claims_to_json(claims);
	if (!header || !payload)
		goto out;
	hjson = json_dumps(header, JSON_COMPACT | JSON_PRESERVE_ORDER);
	pjson = json_dumps(payload, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!hjson || !pjson)
		goto out;
	h64 = codec_b64_encode_alloc(hjson, strlen(hjson), B64URL);
	p64 = codec_b64_encode_alloc(pjson, strlen(pjson), B64URL);
	if (!h64 || !p64)
		goto out;
	ilen = strlen(h64) + 1 + strlen(p64);
	input = malloc(ilen + 1);
	if (!input)
		goto out;
	snprintf(input, ilen + 1, "%s.%s", h64, p64);
	if (!sign_input(pkey, alg, (const unsigned char *)input, ilen, sig))
		goto out;
	s64 = codec_b64_encode_alloc(sig, sizeof(sig), B64URL);
	if (!s64 || ilen + 1 + strlen(s64) > TICKET_MAX_LEN)
		goto out;
	token = malloc(ilen + 1 + strlen(s64) + 1);
	if (token)
		sprintf(token, "%s.%s", input, s64);
out:
	OPENSSL_cleanse(sig, sizeof(sig));
	json_decref(header);
	json_decref(payload);
	free(hjson);
	free(pjson);
	free(h64);
	free(p64);
	free(s64);
	free(input);
	return token;
}

/* --- shared with idtoken.c (jws.h) ---------------------------------------- */

bool jws_parts_parse(const char *token, size_t len, jws_parts_t *out, char *detail, size_t dlen)
{
	return jws_parse(token, len, out, detail, dlen) == TICKET_OK;
}

void jws_parts_free(jws_parts_t *j)
{
	free(j->buf);
	json_decref(j->header);
	json_decref(j->payload);
	memset(j, 0, sizeof(*j));
}

bool jws_header_format_ok(const json_t *h, char *detail, size_t dlen)
{
	return header_format_ok(h, detail, dlen);
}

char *jws_b64url_encode(const unsigned char *in, size_t n)
{
	return codec_b64_encode_alloc(in, n, B64URL);
}

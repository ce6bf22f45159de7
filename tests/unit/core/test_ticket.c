/* Unit tests for module/core/ticket.c: every ticket_status_t, the strict
 * parsing rules, issuing, and the claim helpers.  The config is built by
 * hand (validators with freshly generated keys) so that these tests do
 * not depend on the config loader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#include "config.h"
#include "ticket.h"

#define NOW ((time_t)1800000000)

static EVP_PKEY *ed_key, *ec_key, *ed_other, *rsa_key;
static config_validator_t validators[3];
static config_t cfg;

/* --- helpers: build arbitrary tokens, signed like a validator would --- */

static char *b64url(const unsigned char *in, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n / 3 * 4 + 5);
	size_t o = 0;
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = a[acc >> bits & 63];
		}
	}
	if (bits)
		out[o++] = a[acc << (6 - bits) & 63];
	out[o] = 0;
	return out;
}

static size_t raw_sign(EVP_PKEY *pk, const char *msg, unsigned char *sig)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = 0;

	if (EVP_PKEY_is_a(pk, "ED25519")) {
		len = 64;
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, NULL, NULL, pk), 1);
		assert_int_equal(
		        EVP_DigestSign(ctx, sig, &len, (const unsigned char *)msg, strlen(msg)), 1);
	} else {
		unsigned char der[128];
		const unsigned char *p = der;
		const BIGNUM *r, *s;
		ECDSA_SIG *es;

		len = sizeof(der);
		assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk), 1);
		assert_int_equal(
		        EVP_DigestSign(ctx, der, &len, (const unsigned char *)msg, strlen(msg)), 1);
		es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		assert_non_null(es);
		ECDSA_SIG_get0(es, &r, &s);
		BN_bn2binpad(r, sig, 32);
		BN_bn2binpad(s, sig + 32, 32);
		ECDSA_SIG_free(es);
		len = 64;
	}
	EVP_MD_CTX_free(ctx);
	return len;
}

/* HEADER.PAYLOAD.SIG with the given JSON texts, signed by pk (NULL = an
 * empty signature, as for alg "none"). */
static char *make_token(EVP_PKEY *pk, const char *header, const char *payload)
{
	char *h = b64url((const unsigned char *)header, strlen(header));
	char *p = b64url((const unsigned char *)payload, strlen(payload));
	char *input = malloc(strlen(h) + strlen(p) + 2);
	unsigned char sig[64];
	char *s, *tok;

	sprintf(input, "%s.%s", h, p);
	s = pk ? b64url(sig, raw_sign(pk, input, sig)) : strdup("");
	tok = malloc(strlen(input) + strlen(s) + 2);
	sprintf(tok, "%s.%s", input, s);
	free(h);
	free(p);
	free(s);
	free(input);
	return tok;
}

static char *payload_with(const char *iss, const char *extra)
{
	char *p = NULL;
	assert_true(asprintf(&p,
	                     "{\"iss\":\"%s\",\"sub\":\"app\",\"run\":\"4711\",\"jti\":\"j1\","
	                     "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld%s%s}",
	                     iss, (long long)NOW - 60, (long long)NOW - 60, (long long)NOW + 1800,
	                     extra && *extra ? "," : "", extra ? extra : "") > 0);
	return p;
}

#define ED_HDR "{\"alg\":\"EdDSA\",\"typ\":\"JWT\"}"
#define ES_HDR "{\"alg\":\"ES256\",\"typ\":\"JWT\"}"

static ticket_status_t verify_str(const char *tok, ticket_claims_t *c)
{
	char detail[256];
	ticket_status_t st =
	        ticket_verify_detail(&cfg, tok, strlen(tok), NOW, c, detail, sizeof(detail));
	/* The detail never carries the signature part. */
	const char *dot = strrchr(tok, '.');
	if (dot && strlen(dot + 1) > 8)
		assert_null(strstr(detail, dot + 1));
	return st;
}

/* Sign a payload with a validator key and the matching header, verify. */
static ticket_status_t verify_payload(EVP_PKEY *pk, const char *hdr, const char *payload)
{
	ticket_claims_t c;
	char *tok = make_token(pk, hdr, payload);
	ticket_status_t st = verify_str(tok, &c);
	free(tok);
	return st;
}

static ticket_claims_t sample_claims(const char *iss)
{
	ticket_claims_t c;

	memset(&c, 0, sizeof(c));
	snprintf(c.issuer, sizeof(c.issuer), "%s", iss);
	strcpy(c.product, "app");
	strcpy(c.pipeline, "release");
	strcpy(c.run, "4711");
	strcpy(c.jti, "0123456789abcdef0123456789abcdef");
	c.iat = c.nbf = NOW - 10;
	c.exp = NOW + 1800;
	c.n_checks = 2;
	strcpy(c.checks[0].name, "unit-tests");
	strcpy(c.checks[0].result, "pass");
	strcpy(c.checks[1].name, "vuln-scan");
	strcpy(c.checks[1].result, "fail");
	c.n_aud = 2;
	strcpy(c.aud[0], "app-rsa");
	strcpy(c.aud[1], "other");
	c.n_digests = 1;
	for (int i = 0; i < 32; i++)
		c.digests[0][i] = (unsigned char)(i * 7);
	c.max_uses = 3;
	return c;
}

static int setup(void **state)
{
	(void)state;
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ed_other = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(ed_key);
	assert_non_null(ec_key);
	assert_non_null(ed_other);
	assert_non_null(rsa_key);
	validators[0] = (config_validator_t){ .name = "ci-ed",
		                              .public_key_path = "ed.pem",
		                              .pkey = ed_key };
	validators[1] = (config_validator_t){ .name = "ci-ec",
		                              .public_key_path = "ec.pem",
		                              .pkey = ec_key };
	validators[2] = (config_validator_t){ .name = "ci-rsa",
		                              .public_key_path = "rsa.pem",
		                              .pkey = rsa_key };
	cfg.validators = validators;
	cfg.n_validators = 3;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ed_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(ed_other);
	EVP_PKEY_free(rsa_key);
	return 0;
}

/* --- good tickets ------------------------------------------------------ */

static void roundtrip(EVP_PKEY *pk, const char *iss, const char *alg)
{
	ticket_claims_t in = sample_claims(iss), out;
	char *tok = ticket_issue(pk, &in);
	char *h = NULL;

	assert_non_null(tok);
	assert_true(ticket_looks_like(tok, strlen(tok)));
	assert_int_equal(verify_str(tok, &out), TICKET_OK);
	assert_string_equal(out.issuer, iss);
	assert_string_equal(out.product, "app");
	assert_string_equal(out.pipeline, "release");
	assert_string_equal(out.run, "4711");
	assert_string_equal(out.jti, in.jti);
	assert_int_equal(out.iat, in.iat);
	assert_int_equal(out.nbf, in.nbf);
	assert_int_equal(out.exp, in.exp);
	assert_int_equal(out.n_checks, 2);
	assert_string_equal(out.checks[0].name, "unit-tests");
	assert_true(out.checks[0].pass);
	assert_string_equal(out.checks[1].result, "fail");
	assert_false(out.checks[1].pass);
	assert_int_equal(out.n_aud, 2);
	assert_string_equal(out.aud[1], "other");
	assert_int_equal(out.n_digests, 1);
	assert_memory_equal(out.digests[0], in.digests[0], 32);
	assert_int_equal(out.max_uses, 3);

	assert_int_equal(ticket_decode_unverified(tok, strlen(tok), &h, NULL, NULL, NULL, 0),
	                 TICKET_OK);
	assert_non_null(strstr(h, alg));
	free(h);
	free(tok);
}

static void test_good_eddsa(void **state)
{
	(void)state;
	assert_string_equal(ticket_alg_for_key(ed_key), "EdDSA");
	roundtrip(ed_key, "ci-ed", "\"EdDSA\"");
}

static void test_good_es256(void **state)
{
	(void)state;
	assert_string_equal(ticket_alg_for_key(ec_key), "ES256");
	roundtrip(ec_key, "ci-ec", "\"ES256\"");
}

static void test_minimal_and_optional_forms(void **state)
{
	char *p;
	(void)state;
	/* No typ, aud as a single string, unknown claims and header
	 * parameters are ignored. */
	p = payload_with("ci-ed", "\"aud\":\"app\",\"extra\":{\"x\":[1,2]}");
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"EdDSA\",\"kid\":\"k1\"}", p),
	                 TICKET_OK);
	free(p);
}

/* --- signatures ---------------------------------------------------------- */

static void test_bad_signature(void **state)
{
	ticket_claims_t in = sample_claims("ci-ed"), out;
	char *tok = ticket_issue(ed_key, &in);
	char *sig = strrchr(tok, '.') + 1;
	(void)state;

	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_str(tok, &out), TICKET_BAD_SIGNATURE);
	assert_string_equal(out.issuer, ""); /* nothing leaks out of a refusal */
	free(tok);

	/* Signed by a key that is not the validator's. */
	in = sample_claims("ci-ed");
	tok = ticket_issue(ed_other, &in);
	assert_int_equal(verify_str(tok, &out), TICKET_BAD_SIGNATURE);
	free(tok);

	/* ES256 flipped, and a DER signature instead of raw r||s. */
	in = sample_claims("ci-ec");
	tok = ticket_issue(ec_key, &in);
	sig = strrchr(tok, '.') + 1;
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_str(tok, &out), TICKET_BAD_SIGNATURE);
	free(tok);
}

static void test_signature_wrong_length(void **state)
{
	char *p = payload_with("ci-ed", NULL);
	char *tok = make_token(NULL, ED_HDR, p);
	ticket_claims_t c;
	char *t2;
	(void)state;

	assert_int_equal(verify_str(tok, &c), TICKET_BAD_SIGNATURE); /* empty */
	t2 = malloc(strlen(tok) + 8);
	sprintf(t2, "%sAAAA", tok); /* 3 bytes */
	assert_int_equal(verify_str(t2, &c), TICKET_BAD_SIGNATURE);
	free(t2);
	free(tok);
	free(p);
}

static void test_tampered_payload(void **state)
{
	char *p = payload_with("ci-ed", NULL), *tok = make_token(ed_key, ED_HDR, p);
	char *q = strdup(p), *pos = strstr(q, "\"app\"");
	char *p64, *tampered, *dot1, *dot2;
	ticket_claims_t c;
	(void)state;

	memcpy(pos, "\"ap2\"", 5);
	p64 = b64url((unsigned char *)q, strlen(q));
	dot1 = strchr(tok, '.');
	dot2 = strchr(dot1 + 1, '.');
	tampered = malloc(strlen(tok) + strlen(p64) + 4);
	sprintf(tampered, "%.*s.%s%s", (int)(dot1 - tok), tok, p64, dot2);
	assert_int_equal(verify_str(tampered, &c), TICKET_BAD_SIGNATURE);

	/* Same for the header: adding a kid breaks the signature. */
	free(tampered);
	free(p64);
	p64 = b64url((const unsigned char *)"{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":\"x\"}",
	             37);
	tampered = malloc(strlen(tok) + strlen(p64) + 4);
	sprintf(tampered, "%s%s", p64, dot1);
	assert_int_equal(verify_str(tampered, &c), TICKET_BAD_SIGNATURE);

	free(tampered);
	free(p64);
	free(q);
	free(tok);
	free(p);
}

/* --- issuer and algorithm ----------------------------------------------- */

static void test_unknown_issuer(void **state)
{
	char *p = payload_with("someone-else", NULL);
	config_t empty;
	char *tok;
	ticket_claims_t c;
	(void)state;

	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_UNKNOWN_ISSUER);
	/* Unknown issuer wins even with alg none: the key is looked up first. */
	assert_int_equal(verify_payload(NULL, "{\"alg\":\"none\"}", p), TICKET_UNKNOWN_ISSUER);
	free(p);

	memset(&empty, 0, sizeof(empty));
	p = payload_with("ci-ed", NULL);
	tok = make_token(ed_key, ED_HDR, p);
	assert_int_equal(ticket_verify(&empty, tok, strlen(tok), NOW, &c), TICKET_UNKNOWN_ISSUER);
	assert_int_equal(ticket_verify(NULL, tok, strlen(tok), NOW, &c), TICKET_UNKNOWN_ISSUER);
	free(tok);
	free(p);
}

static void test_alg_none(void **state)
{
	char *p = payload_with("ci-ed", NULL);
	(void)state;
	assert_int_equal(verify_payload(NULL, "{\"alg\":\"none\",\"typ\":\"JWT\"}", p),
	                 TICKET_BAD_ALG);
	assert_int_equal(verify_payload(NULL, "{\"alg\":\"None\"}", p), TICKET_BAD_ALG);
	/* Even with a valid signature attached. */
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"none\"}", p), TICKET_BAD_ALG);
	free(p);
}

static void test_alg_mismatch(void **state)
{
	char *p_ed = payload_with("ci-ed", NULL), *p_ec = payload_with("ci-ec", NULL);
	char *p_rsa = payload_with("ci-rsa", NULL);
	(void)state;

	/* ES256 header with the Ed25519 validator, and vice versa. */
	assert_int_equal(verify_payload(ed_key, ES_HDR, p_ed), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ec_key, ES_HDR, p_ed), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ec_key, ED_HDR, p_ec), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p_ec), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"eddsa\"}", p_ed), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"ES384\"}", p_ec), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"RS256\"}", p_ed), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ed_key, "{\"typ\":\"JWT\"}", p_ed), TICKET_BAD_ALG);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":7}", p_ed), TICKET_BAD_ALG);
	/* A validator whose key is neither Ed25519 nor P-256. */
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"RS256\"}", p_rsa), TICKET_BAD_ALG);
	assert_null(ticket_alg_for_key(rsa_key));
	free(p_ed);
	free(p_ec);
	free(p_rsa);
}

static void test_alg_hs256_confusion(void **state)
{
	/* The classic confusion: HMAC keyed with the validator's public key. */
	char *p = payload_with("ci-ed", NULL);
	const char *hdr = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
	char *h = b64url((const unsigned char *)hdr, strlen(hdr));
	char *p64 = b64url((unsigned char *)p, strlen(p));
	unsigned char pub[64], mac[32];
	size_t publen = sizeof(pub);
	unsigned int maclen = 0;
	char input[4096], tok[4200], *s;
	ticket_claims_t c;
	(void)state;

	assert_int_equal(EVP_PKEY_get_raw_public_key(ed_key, pub, &publen), 1);
	snprintf(input, sizeof(input), "%s.%s", h, p64);
	HMAC(EVP_sha256(), pub, (int)publen, (unsigned char *)input, strlen(input), mac, &maclen);
	s = b64url(mac, maclen);
	snprintf(tok, sizeof(tok), "%s.%s", input, s);
	assert_int_equal(verify_str(tok, &c), TICKET_BAD_ALG);
	free(s);
	free(h);
	free(p64);
	free(p);
}

/* --- time ---------------------------------------------------------------- */

static char *timed_payload(long long iat, long long nbf, long long exp)
{
	char *p = malloc(512);
	snprintf(p, 512,
	         "{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\","
	         "\"iat\":%lld,\"nbf\":%lld,\"exp\":%lld}",
	         iat, nbf, exp);
	return p;
}

static void test_expired(void **state)
{
	char *p = timed_payload(NOW - 3600, NOW - 3600, NOW - TICKET_LEEWAY_S - 1);
	char *tok = make_token(ed_key, ED_HDR, p);
	ticket_claims_t c;
	(void)state;

	assert_int_equal(verify_str(tok, &c), TICKET_EXPIRED);
	/* Verified claims stay available for the audit. */
	assert_string_equal(c.issuer, "ci-ed");
	free(tok);
	free(p);
	/* Within the leeway it still passes. */
	p = timed_payload(NOW - 3600, NOW - 3600, NOW - TICKET_LEEWAY_S);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_OK);
	free(p);
}

static void test_not_yet_valid(void **state)
{
	char *p = timed_payload(NOW, NOW + TICKET_LEEWAY_S + 1, NOW + 3600);
	(void)state;
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_NOT_YET_VALID);
	free(p);
	p = timed_payload(NOW + TICKET_LEEWAY_S + 1, NOW, NOW + 3600); /* iat in the future */
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_NOT_YET_VALID);
	free(p);
	p = timed_payload(NOW, NOW + TICKET_LEEWAY_S, NOW + 3600);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_OK);
	free(p);
}

/* --- malformed ------------------------------------------------------------ */

static void expect_malformed(const char *tok)
{
	ticket_claims_t c;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(ticket_verify(&cfg, tok, strlen(tok), NOW, &c), TICKET_MALFORMED);
	assert_int_equal(c.n_checks, 0);
	assert_string_equal(c.issuer, "");
}

static void test_malformed_structure(void **state)
{
	char *p = payload_with("ci-ed", NULL), *tok = make_token(ed_key, ED_HDR, p);
	size_t n = strlen(tok);
	char *buf = malloc(TICKET_MAX_LEN + 64);
	char *dot2 = strrchr(tok, '.');
	ticket_claims_t c;
	(void)state;

	assert_int_equal(verify_str(tok, &c), TICKET_OK);
	expect_malformed("");
	expect_malformed("abc");
	/* Two parts. */
	snprintf(buf, TICKET_MAX_LEN, "%.*s", (int)(dot2 - tok), tok);
	expect_malformed(buf);
	/* Four parts. */
	snprintf(buf, TICKET_MAX_LEN, "%s.AAAA", tok);
	expect_malformed(buf);
	snprintf(buf, TICKET_MAX_LEN, "%s.", tok);
	expect_malformed(buf);
	/* Padding. */
	snprintf(buf, TICKET_MAX_LEN, "%s=", tok);
	expect_malformed(buf);
	{
		const char *dot1 = strchr(tok, '.');
		assert_non_null(dot1);
		snprintf(buf, TICKET_MAX_LEN, "%.*s=%s", (int)(dot1 - tok), tok, dot1);
	}
	expect_malformed(buf);
	/* Standard base64 characters instead of url-safe ones, whitespace. */
	strcpy(buf, tok);
	buf[3] = '+';
	expect_malformed(buf);
	buf[3] = '/';
	expect_malformed(buf);
	strcpy(buf, tok);
	buf[n - 1] = '\n';
	expect_malformed(buf);
	snprintf(buf, TICKET_MAX_LEN, " %s", tok);
	expect_malformed(buf);
	/* An embedded NUL inside the length. */
	memcpy(buf, tok, n + 1);
	buf[5] = '\0';
	assert_int_equal(ticket_verify(&cfg, buf, n, NOW, &c), TICKET_MALFORMED);
	/* Too long, even when the surplus is otherwise valid. */
	memset(buf, 'A', TICKET_MAX_LEN + 1);
	memcpy(buf, tok, n);
	buf[TICKET_MAX_LEN + 1] = 0;
	assert_int_equal(ticket_verify(&cfg, buf, TICKET_MAX_LEN + 1, NOW, &c), TICKET_MALFORMED);
	assert_int_equal(ticket_verify(&cfg, NULL, 0, NOW, &c), TICKET_MALFORMED);
	free(buf);
	free(tok);
	free(p);
}

static void test_malformed_base64_canonical(void **state)
{
	/* "e30" is "{}"; "e31" decodes to the same bytes with non-zero
	 * trailing bits, which a strict decoder refuses.  Build a signed
	 * token and alter the last signature character's unused bits. */
	char *p = payload_with("ci-ed", NULL), *tok = make_token(ed_key, ED_HDR, p);
	size_t n = strlen(tok);
	(void)state;

	/* 64-byte signature = 86 chars, last char carries 2 unused bits. */
	assert_int_equal(strlen(strrchr(tok, '.') + 1), 86);
	{
		const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
		int v = (int)(strchr(a, tok[n - 1]) - a);
		tok[n - 1] = a[v | 1];
		expect_malformed(tok);
	}
	/* A length that no encoder produces (4k+1). */
	tok[n - 1] = 0;
	expect_malformed(tok);
	free(tok);
	free(p);
}

static void test_malformed_json(void **state)
{
	char *p;
	(void)state;

	/* Duplicate keys, in the payload and in the header. */
	p = payload_with("ci-ed", "\"sub\":\"other\"");
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	p = payload_with("ci-ed", "\"checks\":{\"a\":\"pass\",\"a\":\"fail\"}");
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	p = payload_with("ci-ed", NULL);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"EdDSA\",\"alg\":\"EdDSA\"}", p),
	                 TICKET_MALFORMED);
	/* Header: not JSON, not an object, typ wrong, crit present. */
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"EdDSA\"", p), TICKET_MALFORMED);
	assert_int_equal(verify_payload(ed_key, "[\"EdDSA\"]", p), TICKET_MALFORMED);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"EdDSA\",\"typ\":\"JOSE\"}", p),
	                 TICKET_MALFORMED);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"EdDSA\",\"typ\":1}", p),
	                 TICKET_MALFORMED);
	assert_int_equal(verify_payload(ed_key, "{\"alg\":\"EdDSA\",\"crit\":[\"x\"],\"x\":1}", p),
	                 TICKET_MALFORMED);
	free(p);
	/* Payload: trailing garbage, not an object, NUL escape, bad UTF-8. */
	assert_int_equal(verify_payload(ed_key, ED_HDR, "{\"iss\":\"ci-ed\"} x"), TICKET_MALFORMED);
	assert_int_equal(verify_payload(ed_key, ED_HDR, "\"ci-ed\""), TICKET_MALFORMED);
	p = payload_with("ci-ed", "\"pipeline\":\"a\\u0000b\"");
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	p = payload_with("ci-ed", "\"pipeline\":\"a\xff\"");
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
}

static void test_malformed_claims(void **state)
{
	/* Each payload below is signed by the real validator: only the
	 * claims are wrong. */
	static const char *bad[] = {
		/* missing required claims */
		"{\"iss\":\"ci-ed\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1}",
		/* wrong types */
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":\"1800001800\"}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800.0}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":true}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":1,\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":[\"app\"],\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":null,\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		/* out-of-range times, exp before nbf */
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":-1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":99999999999999}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":99999999999999999999999}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1800001801,\"exp\":1800001800}",
		/* optional claims with wrong types or values */
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"pipeline\":5}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"checks\":[\"unit-tests\"]}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"checks\":{\"unit-tests\":true}}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"checks\":{\"\":\"pass\"}}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"aud\":5}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"aud\":[]}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"aud\":[\"a\",2]}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"artifacts\":\"sha256:00\"}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"artifacts\":[\"sha256:00\"]}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"artifacts\":[\"sha1:0000000000000000000000000000000000000000\"]}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"artifacts\":[\"sha256:zz00000000000000000000000000000000000000000000000000000000000000\"]}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"max_uses\":0}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"max_uses\":-3}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"max_uses\":4294967296}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800,\"max_uses\":\"3\"}",
		/* control characters (these go to syslog) */
		"{\"iss\":\"ci-ed\",\"sub\":\"app\\nx\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\\u001b[31m\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		/* iss not a string (found before the key lookup) */
		"{\"iss\":[\"ci-ed\"],\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
		"{\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":1800001800}",
	};
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ticket_status_t st = verify_payload(ed_key, ED_HDR, bad[i]);
		if (st != TICKET_MALFORMED)
			fail_msg("case %zu: %s gave %s", i, bad[i], ticket_status_name(st));
	}
}

static void test_overlong_strings(void **state)
{
	char long63[64], long64[65], extra[512], *p;
	(void)state;

	memset(long63, 'x', 63);
	long63[63] = 0;
	memset(long64, 'x', 64);
	long64[64] = 0;

	/* 63 bytes fit the 64-byte fields; 64 do not. */
	snprintf(extra, sizeof(extra), "\"pipeline\":\"%s\"", long63);
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_OK);
	free(p);
	snprintf(extra, sizeof(extra), "\"pipeline\":\"%s\"", long64);
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	snprintf(extra, sizeof(extra), "\"checks\":{\"%s\":\"pass\"}", long64);
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	snprintf(extra, sizeof(extra), "\"checks\":{\"a\":\"passpasspasspass\"}"); /* 16 */
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	snprintf(extra, sizeof(extra), "\"aud\":[\"%s\"]", long64);
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	/* A long issuer is refused before any key lookup. */
	p = payload_with(long64, NULL);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);
	/* Multi-byte UTF-8 counts in bytes: 32 x "é" = 64 bytes. */
	{
		char e[200] = "\"pipeline\":\"";
		for (int i = 0; i < 32; i++)
			strcat(e, "\xc3\xa9");
		strcat(e, "\"");
		p = payload_with("ci-ed", e);
		assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
		free(p);
	}
}

static void test_too_many_entries(void **state)
{
	char extra[4096], *p;
	size_t o;
	(void)state;

	o = (size_t)snprintf(extra, sizeof(extra), "\"checks\":{");
	for (int i = 0; i <= TICKET_MAX_CHECKS; i++)
		o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s\"c%d\":\"pass\"",
		                      i ? "," : "", i);
	snprintf(extra + o, sizeof(extra) - o, "}");
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);

	o = (size_t)snprintf(extra, sizeof(extra), "\"aud\":[");
	for (int i = 0; i <= TICKET_MAX_AUD; i++)
		o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s\"a%d\"", i ? "," : "", i);
	snprintf(extra + o, sizeof(extra) - o, "]");
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);

	o = (size_t)snprintf(extra, sizeof(extra), "\"artifacts\":[");
	for (int i = 0; i <= TICKET_MAX_DIGESTS; i++)
		o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s\"sha256:%064d\"",
		                      i ? "," : "", i);
	snprintf(extra + o, sizeof(extra) - o, "]");
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_MALFORMED);
	free(p);

	/* Exactly the maximum is fine. */
	o = (size_t)snprintf(extra, sizeof(extra), "\"checks\":{");
	for (int i = 0; i < TICKET_MAX_CHECKS; i++)
		o += (size_t)snprintf(extra + o, sizeof(extra) - o, "%s\"c%d\":\"pass\"",
		                      i ? "," : "", i);
	snprintf(extra + o, sizeof(extra) - o, "}");
	p = payload_with("ci-ed", extra);
	assert_int_equal(verify_payload(ed_key, ED_HDR, p), TICKET_OK);
	free(p);
}

/* --- the rest of the API ------------------------------------------------- */

static void test_looks_like(void **state)
{
	ticket_claims_t in = sample_claims("ci-ed");
	char *tok = ticket_issue(ed_key, &in);
	(void)state;

	assert_true(ticket_looks_like(tok, strlen(tok)));
	assert_false(ticket_looks_like(tok, strlen(tok) - 86)); /* cut after the 2nd dot */
	assert_false(ticket_looks_like("1234", 4));
	assert_false(ticket_looks_like("a.b.c", 5));
	assert_false(ticket_looks_like("pbkdf2-sha256$600000$SALT$HASH", 30));
	assert_false(ticket_looks_like("eyJhbGciOiJFZERTQSJ9..sig", 25));
	assert_false(ticket_looks_like("eyJhbGciOiJFZERTQSJ9.e30.a+b", 28));
	assert_true(ticket_looks_like("eyJhbGciOiJFZERTQSJ9.e30.abc", 28));
	assert_false(ticket_looks_like(NULL, 0));
	free(tok);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(ticket_status_name(TICKET_OK), "ticket-ok");
	assert_string_equal(ticket_status_name(TICKET_MALFORMED), "ticket-malformed");
	assert_string_equal(ticket_status_name(TICKET_BAD_ALG), "ticket-bad-alg");
	assert_string_equal(ticket_status_name(TICKET_UNKNOWN_ISSUER), "ticket-unknown-issuer");
	assert_string_equal(ticket_status_name(TICKET_BAD_SIGNATURE), "ticket-bad-signature");
	assert_string_equal(ticket_status_name(TICKET_EXPIRED), "ticket-expired");
	assert_string_equal(ticket_status_name(TICKET_NOT_YET_VALID), "ticket-not-yet-valid");
}

static void test_claim_helpers(void **state)
{
	ticket_claims_t c = sample_claims("ci-ed");
	unsigned char d[32];
	char *products[] = { "tool", "app-rsa" };
	char *other[] = { "tool" };
	(void)state;

	c.checks[0].pass = true;
	assert_true(ticket_check_passed(&c, "unit-tests"));
	assert_false(ticket_check_passed(&c, "vuln-scan")); /* "fail" */
	assert_false(ticket_check_passed(&c, "lint"));      /* absent */
	assert_false(ticket_check_passed(NULL, "unit-tests"));

	memcpy(d, c.digests[0], 32);
	assert_true(ticket_has_digest(&c, d));
	d[31] ^= 1;
	assert_false(ticket_has_digest(&c, d));

	assert_true(ticket_audience_allows(&c, "app-rsa", NULL, 0));
	assert_true(ticket_audience_allows(&c, "k", products, 2));
	assert_false(ticket_audience_allows(&c, "k", other, 1));
	c.n_aud = 0;
	assert_true(ticket_audience_allows(&c, "k", NULL, 0));
}

static void test_issue_refuses(void **state)
{
	ticket_claims_t c;
	(void)state;

	c = sample_claims("ci-ed");
	assert_null(ticket_issue(NULL, &c));
	assert_null(ticket_issue(rsa_key, &c));
	assert_null(ticket_issue(ed_key, NULL));
	c.run[0] = 0;
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	strcpy(c.checks[1].name, "unit-tests"); /* duplicate */
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	c.exp = c.nbf - 1;
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	memset(c.product, 'x', sizeof(c.product)); /* unterminated */
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	strcpy(c.product, "a\tb");
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	c.n_checks = TICKET_MAX_CHECKS + 1;
	assert_null(ticket_issue(ed_key, &c));
	/* An empty result is written from .pass. */
	c = sample_claims("ci-ed");
	c.checks[0].result[0] = 0;
	c.checks[0].pass = true;
	{
		ticket_claims_t out;
		char *tok = ticket_issue(ed_key, &c);
		assert_non_null(tok);
		assert_int_equal(verify_str(tok, &out), TICKET_OK);
		assert_string_equal(out.checks[0].result, "pass");
		free(tok);
	}
}

static void test_decode_unverified(void **state)
{
	ticket_claims_t in = sample_claims("unknown-issuer"), out;
	char *tok = ticket_issue(ed_other, &in);
	char *h = NULL, *p = NULL;
	(void)state;

	assert_int_equal(ticket_decode_unverified(tok, strlen(tok), &h, &p, &out, NULL, 0),
	                 TICKET_OK);
	assert_non_null(strstr(p, "unknown-issuer"));
	assert_string_equal(out.run, "4711");
	free(h);
	free(p);
	free(tok);

	tok = make_token(NULL, "{\"alg\":\"none\"}",
	                 "{\"iss\":\"x\",\"sub\":\"a\",\"run\":\"1\","
	                 "\"jti\":\"j\",\"iat\":1,\"nbf\":1,\"exp\":2}");
	assert_int_equal(ticket_decode_unverified(tok, strlen(tok), NULL, NULL, &out, NULL, 0),
	                 TICKET_BAD_ALG);
	free(tok);
	tok = make_token(NULL, "{\"alg\":\"none\"}", "{\"iss\":\"x\"}");
	assert_int_equal(ticket_decode_unverified(tok, strlen(tok), &h, &p, &out, NULL, 0),
	                 TICKET_MALFORMED);
	assert_non_null(p); /* JSON still shown when only the claims are bad */
	free(h);
	free(p);
	free(tok);
	assert_int_equal(ticket_decode_unverified("x.y", 3, &h, &p, NULL, NULL, 0),
	                 TICKET_MALFORMED);
	assert_null(h);
	assert_null(p);
}

/* A public key only (as a validator's config holds): d2i of its SPKI. */
static EVP_PKEY *public_only(EVP_PKEY *pk)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);
	const unsigned char *p = der;
	assert_true(n > 0);
	EVP_PKEY *pub = d2i_PUBKEY(NULL, &p, n);
	assert_non_null(pub);
	OPENSSL_free(der);
	return pub;
}

/* The optional commit claim round-trips; claims that verify would refuse
 * are not issued; a public key cannot issue. */
static void test_issue_more(void **state)
{
	ticket_claims_t c, out;
	char *tok;
	(void)state;

	c = sample_claims("ci-ec");
	strcpy(c.commit, "0123456789abcdef0123456789abcdef01234567");
	tok = ticket_issue(ec_key, &c);
	assert_non_null(tok);
	assert_int_equal(verify_str(tok, &out), TICKET_OK);
	assert_string_equal(out.commit, "0123456789abcdef0123456789abcdef01234567");
	assert_string_equal(out.pipeline, "release");
	assert_int_equal(out.max_uses, 3);
	free(tok);
	/* an empty or unclean audience entry */
	c = sample_claims("ci-ed");
	c.aud[1][0] = '\0';
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	strcpy(c.aud[0], "k\x01");
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	c.n_aud = TICKET_MAX_AUD + 1;
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	c.n_digests = TICKET_MAX_DIGESTS + 1;
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	strcpy(c.checks[0].result, "ok\n");
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	c.exp = 253402300800LL; /* after 9999-12-31 */
	assert_null(ticket_issue(ed_key, &c));
	c = sample_claims("ci-ed");
	c.iat = -1;
	assert_null(ticket_issue(ed_key, &c));
	/* public keys: the algorithm is known, signing fails */
	EVP_PKEY *ec_pub = public_only(ec_key), *ed_pub = public_only(ed_key);
	assert_string_equal(ticket_alg_for_key(ec_pub), "ES256");
	assert_string_equal(ticket_alg_for_key(ed_pub), "EdDSA");
	c = sample_claims("ci-ec");
	assert_null(ticket_issue(ec_pub, &c));
	c = sample_claims("ci-ed");
	assert_null(ticket_issue(ed_pub, &c));
	EVP_PKEY_free(ec_pub);
	EVP_PKEY_free(ed_pub);
	/* a P-384 key implies no ticket algorithm */
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_null(ticket_alg_for_key(p384));
	assert_null(ticket_issue(p384, &c));
	EVP_PKEY_free(p384);
	assert_null(ticket_alg_for_key(NULL));
}

/* Each of the three parts must be canonical base64url: the payload too. */
static void test_payload_not_base64url(void **state)
{
	ticket_claims_t c;
	char detail[256];
	(void)state;
	char *p = payload_with("ci-ed", NULL), *tok = make_token(ed_key, ED_HDR, p);
	char *dot = strchr(tok, '.');
	dot[3] = '+'; /* the standard alphabet, not base64url */
	assert_int_equal(
	        ticket_verify_detail(&cfg, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_MALFORMED);
	assert_string_equal(detail, "payload: not canonical base64url");
	assert_int_equal(c.jti[0], '\0');
	free(tok);
	free(p);
}

static void test_status_name_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(ticket_status_name((ticket_status_t)99), "ticket-unknown-status");
}

/* aud as a single string is bounded like each entry of a list; the claim
 * helpers answer no for no claims. */
static void test_aud_string_and_null_claims(void **state)
{
	ticket_claims_t c;
	char detail[256], aud[100];
	(void)state;
	memset(aud, 'k', 64);
	aud[64] = '\0';
	char extra[128];
	snprintf(extra, sizeof extra, "\"aud\":\"%s\"", aud);
	char *p = payload_with("ci-ed", extra), *tok = make_token(ed_key, ED_HDR, p);
	assert_int_equal(
	        ticket_verify_detail(&cfg, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_MALFORMED);
	assert_non_null(strstr(detail, "claim 'aud'"));
	free(tok);
	free(p);
	aud[63] = '\0';
	snprintf(extra, sizeof extra, "\"aud\":\"%s\"", aud);
	p = payload_with("ci-ed", extra);
	tok = make_token(ed_key, ED_HDR, p);
	assert_int_equal(
	        ticket_verify_detail(&cfg, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_OK);
	assert_int_equal(c.n_aud, 1);
	assert_string_equal(c.aud[0], aud);
	assert_true(ticket_audience_allows(&c, aud, NULL, 0));
	assert_false(ticket_audience_allows(&c, "k", NULL, 0));
	free(tok);
	free(p);
	unsigned char d[32] = { 0 };
	assert_false(ticket_has_digest(NULL, d));
	assert_false(ticket_has_digest(&c, NULL));
	assert_false(ticket_audience_allows(NULL, "k", NULL, 0));
}

static ticket_status_t verify_detail_of(const char *payload, char *detail)
{
	ticket_claims_t c;
	char *tok = make_token(ed_key, ED_HDR, payload);
	ticket_status_t st = ticket_verify_detail(&cfg, tok, strlen(tok), NOW, &c, detail, 256);
	free(tok);
	return st;
}

#define BASE "\"iss\":\"ci-ed\",\"sub\":\"app\",\"run\":\"1\",\"jti\":\"j\""
#define TIMES "\"iat\":1,\"nbf\":1,\"exp\":1800001800"

/* Claims refused with the claim named; claims accepted that a careless
 * reader would refuse (upper-case hex). */
static void test_claim_details(void **state)
{
	char detail[256];
	(void)state;
	static const struct {
		const char *payload;
		ticket_status_t want;
		const char *msg;
	} cases[] = {
		{ "{" BASE "," TIMES ",\"pipeline\":\"rel\\u007fease\"}", TICKET_MALFORMED,
		  "pipeline" },
		{ "{" BASE "," TIMES ",\"checks\":{\"unit\\ttests\":\"pass\"}}", TICKET_MALFORMED,
		  "checks" },
		{ "{" BASE "," TIMES ",\"checks\":{\"unit-tests\":\"pass\"}}", TICKET_OK, "ok" },
		{ "{" BASE ",\"iat\":100,\"nbf\":1,\"exp\":50}", TICKET_MALFORMED, "exp" },
		{ "{" BASE "," TIMES ",\"artifacts\":[5]}", TICKET_MALFORMED,
		  "claim 'artifacts' entry 0: not sha256:HEX" },
		{ "{" BASE "," TIMES
		  ",\"artifacts\":[\"sha256:0000000000000000000000000000000000000000000000000000000000000000\","
		  "\"sha512:0000000000000000000000000000000000000000000000000000000000000000\"]}",
		  TICKET_MALFORMED, "claim 'artifacts' entry 1: not sha256:HEX" },
		{ "{" BASE "," TIMES
		  ",\"artifacts\":[\"sha256:ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789\"]}",
		  TICKET_OK, "ok" },
		{ "{" BASE "," TIMES ",\"commit\":\""
		  "0123456789012345678901234567890123456789012345678901234567890123"
		  "4\"}",
		  TICKET_MALFORMED, "commit" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		detail[0] = '\0';
		ticket_status_t st = verify_detail_of(cases[i].payload, detail);
		if (st != cases[i].want)
			fail_msg("case %zu: %s, want %s (%s)", i, ticket_status_name(st),
			         ticket_status_name(cases[i].want), detail);
		if (!strstr(detail, cases[i].msg))
			fail_msg("case %zu: detail '%s' lacks '%s'", i, detail, cases[i].msg);
	}
	/* upper- and lower-case hex name the same artifact */
	ticket_claims_t c;
	char *tok = make_token(
	        ed_key, ED_HDR,
	        "{" BASE "," TIMES ",\"artifacts\":"
	        "[\"sha256:ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789\"]}");
	assert_int_equal(ticket_verify(&cfg, tok, strlen(tok), NOW, &c), TICKET_OK);
	unsigned char d[32] = { 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
		                0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45,
		                0x67, 0x89, 0xab, 0xcd, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89 };
	assert_true(ticket_has_digest(&c, d));
	/* no claims out-parameter: the status alone */
	assert_int_equal(ticket_verify(&cfg, tok, strlen(tok), NOW, NULL), TICKET_OK);
	assert_int_equal(ticket_verify(&cfg, tok, strlen(tok), NOW + 100000000, NULL),
	                 TICKET_EXPIRED);
	free(tok);
	/* typ that is not a string */
	tok = make_token(ed_key, "{\"alg\":\"EdDSA\",\"typ\":1}", "{" BASE "," TIMES "}");
	assert_int_equal(
	        ticket_verify_detail(&cfg, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_MALFORMED);
	assert_string_equal(detail, "header: typ is not \"JWT\"");
	free(tok);
}

/* Validators without a name or without a key (a half-loaded config)
 * are never matched. */
static void test_incomplete_validators(void **state)
{
	ticket_claims_t c;
	char detail[256];
	(void)state;
	config_validator_t v[2] = { { .name = NULL, .pkey = ed_key },
		                    { .name = "ci-ed", .pkey = NULL } };
	config_t half = { .validators = v, .n_validators = 2 };
	char *tok = make_token(ed_key, ED_HDR, "{" BASE "," TIMES "}");
	assert_int_equal(
	        ticket_verify_detail(&half, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_UNKNOWN_ISSUER);
	assert_string_equal(detail, "issuer 'ci-ed' is not a configured validator");
	assert_int_equal(
	        ticket_verify_detail(NULL, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_UNKNOWN_ISSUER);
	/* a P-384 validator key: no ticket algorithm */
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	v[1].pkey = p384;
	assert_int_equal(
	        ticket_verify_detail(&half, tok, strlen(tok), NOW, &c, detail, sizeof detail),
	        TICKET_BAD_ALG);
	assert_string_equal(detail, "header alg is not usable, the algorithm of validator 'ci-ed'");
	EVP_PKEY_free(p384);
	free(tok);
	/* decode without verifying: ES256 is a ticket algorithm too */
	char *h = NULL, *p = NULL;
	tok = make_token(ec_key, ES_HDR, "{" BASE "," TIMES "}");
	assert_int_equal(
	        ticket_decode_unverified(tok, strlen(tok), &h, &p, &c, detail, sizeof detail),
	        TICKET_OK);
	assert_string_equal(c.jti, "j");
	free(h);
	free(p);
	free(tok);
	tok = make_token(NULL, "{\"typ\":\"JWT\"}", "{" BASE "," TIMES "}");
	assert_int_equal(
	        ticket_decode_unverified(tok, strlen(tok), NULL, NULL, &c, detail, sizeof detail),
	        TICKET_BAD_ALG);
	assert_string_equal(detail, "header alg is neither EdDSA nor ES256");
	free(tok);
}

/* The smallest claims issue a ticket with none of the optional members;
 * a check without result text is written from .pass. */
static void test_issue_minimal(void **state)
{
	ticket_claims_t c, out;
	(void)state;
	memset(&c, 0, sizeof c);
	strcpy(c.issuer, "ci-ed");
	strcpy(c.product, "app");
	strcpy(c.run, "9");
	strcpy(c.jti, "j9");
	c.iat = c.nbf = NOW;
	c.exp = NOW + 60;
	char *tok = ticket_issue(ed_key, &c), *h = NULL, *p = NULL;
	assert_non_null(tok);
	assert_int_equal(ticket_decode_unverified(tok, strlen(tok), &h, &p, &out, NULL, 0),
	                 TICKET_OK);
	assert_null(strstr(p, "pipeline"));
	assert_null(strstr(p, "checks"));
	assert_null(strstr(p, "aud"));
	assert_null(strstr(p, "artifacts"));
	assert_null(strstr(p, "max_uses"));
	assert_null(strstr(p, "commit"));
	assert_int_equal(verify_str(tok, &out), TICKET_OK);
	assert_int_equal(out.n_checks, 0);
	assert_int_equal(out.max_uses, 0);
	free(h);
	free(p);
	free(tok);
	c.n_checks = 1;
	strcpy(c.checks[0].name, "scan");
	c.checks[0].pass = false;
	tok = ticket_issue(ed_key, &c);
	assert_non_null(tok);
	assert_int_equal(verify_str(tok, &out), TICKET_OK);
	assert_string_equal(out.checks[0].result, "fail");
	assert_false(ticket_check_passed(&out, "scan"));
	assert_false(ticket_check_passed(&out, NULL));
	free(tok);
	/* each required field, and each bound, refused on its own */
	ticket_claims_t bad = c;
	bad.issuer[0] = '\0';
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	strcpy(bad.pipeline, "a\nb");
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	bad.jti[0] = '\0';
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	memset(bad.commit, 'c', sizeof bad.commit); /* unterminated */
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	bad.nbf = -1;
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	bad.exp = -1;
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	bad.exp = bad.iat - 1;
	bad.nbf = bad.exp;
	assert_null(ticket_issue(ed_key, &bad));
	bad = c;
	bad.checks[0].name[0] = '\0';
	assert_null(ticket_issue(ed_key, &bad));
}

/* ticket_looks_like: the shape only. */
static void test_looks_like_shapes(void **state)
{
	(void)state;
	assert_false(ticket_looks_like(".eyJhbGciOiJFZERTQSJ9.e30abc", 28));  /* not "eyJ" first */
	assert_false(ticket_looks_like("eyJhbGciOiJFZERTQSJ9.e30.abc.", 29)); /* a fourth part */
	assert_false(ticket_looks_like("eyJhbGciOiJFZERTQSJ9.e30abc.", 28));  /* empty last part */
	char *big = malloc(TICKET_MAX_LEN + 2);
	memset(big, 'A', TICKET_MAX_LEN + 1);
	memcpy(big, "eyJ", 3);
	big[10] = '.';
	big[20] = '.';
	big[TICKET_MAX_LEN + 1] = '\0';
	assert_true(ticket_looks_like(big, TICKET_MAX_LEN));
	assert_false(ticket_looks_like(big, TICKET_MAX_LEN + 1));
	free(big);
	/* audiences: products that are NULL are skipped, no key name */
	ticket_claims_t c = sample_claims("ci-ed");
	char *products[] = { NULL, "other" };
	assert_true(ticket_audience_allows(&c, NULL, products, 2));
	products[1] = NULL;
	assert_false(ticket_audience_allows(&c, NULL, products, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_eddsa),
		cmocka_unit_test(test_good_es256),
		cmocka_unit_test(test_minimal_and_optional_forms),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_signature_wrong_length),
		cmocka_unit_test(test_tampered_payload),
		cmocka_unit_test(test_unknown_issuer),
		cmocka_unit_test(test_alg_none),
		cmocka_unit_test(test_alg_mismatch),
		cmocka_unit_test(test_alg_hs256_confusion),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_malformed_structure),
		cmocka_unit_test(test_malformed_base64_canonical),
		cmocka_unit_test(test_malformed_json),
		cmocka_unit_test(test_malformed_claims),
		cmocka_unit_test(test_overlong_strings),
		cmocka_unit_test(test_too_many_entries),
		cmocka_unit_test(test_looks_like),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_claim_helpers),
		cmocka_unit_test(test_issue_refuses),
		cmocka_unit_test(test_decode_unverified),
		cmocka_unit_test(test_issue_more),
		cmocka_unit_test(test_payload_not_base64url),
		cmocka_unit_test(test_status_name_out_of_range),
		cmocka_unit_test(test_aud_string_and_null_claims),
		cmocka_unit_test(test_claim_details),
		cmocka_unit_test(test_incomplete_validators),
		cmocka_unit_test(test_issue_minimal),
		cmocka_unit_test(test_looks_like_shapes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

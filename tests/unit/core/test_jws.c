/* Unit tests for module/core/jws.c: what validation tickets and CI ID
 * tokens check alike.  The validity window at its edges (a ticket is
 * valid through its exp second, an ID token only until it, RFC 7519),
 * time claims at their bounds, bounded string copies, and the three
 * signature algorithms with real keys, including lengths and swaps that
 * must be refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "jws.h"

static EVP_PKEY *ed_key, *ec_key, *rsa_key;

static int setup(void **state)
{
	(void)state;
	ed_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ec_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	rsa_key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	return ed_key && ec_key && rsa_key ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(ed_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(rsa_key);
	return 0;
}

/* --- the validity window ------------------------------------------------ */

static const struct when_case {
	int64_t now, skew, exp;
	bool exclusive;
	int64_t nbf, iat;
	jws_when_t want;
	const char *detail;
} when_cases[] = {
	/* tickets: exp inclusive, valid through exp + skew */
	{ 1060, 60, 1000, false, 900, 900, JWS_VALID, NULL },
	{ 1061, 60, 1000, false, 900, 900, JWS_EXPIRED, "expired 61 s ago" },
	/* nbf and iat: valid from each minus skew */
	{ 840, 60, 1000, false, 900, 800, JWS_VALID, NULL },
	{ 839, 60, 1000, false, 900, 800, JWS_NOT_YET_VALID, "not valid for another 61 s" },
	{ 800, 0, 1000, false, 700, 850, JWS_NOT_YET_VALID, "not valid for another 50 s" },
	/* ID tokens: exp exclusive, no longer valid at exp + skew */
	{ 1059, 60, 1000, true, 900, 900, JWS_VALID, NULL },
	{ 1060, 60, 1000, true, 900, 900, JWS_EXPIRED, "expired 60 s ago" },
	{ 1000, 0, 1000, true, 900, 900, JWS_EXPIRED, "expired 0 s ago" },
};

static void test_when(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof when_cases / sizeof when_cases[0]; i++) {
		const struct when_case *c = &when_cases[i];
		char d[80] = "";
		assert_int_equal(jws_when(c->now, c->skew, c->exp, c->exclusive, c->nbf, c->iat, d,
		                          sizeof d),
		                 c->want);
		if (c->detail)
			assert_string_equal(d, c->detail);
	}
	/* no detail buffer: still decided */
	assert_int_equal(jws_when(2000, 0, 1000, true, 900, 900, NULL, 0), JWS_EXPIRED);
}

/* --- time claims --------------------------------------------------------- */

static void test_claim_time(void **state)
{
	(void)state;
	char d[80];
	int64_t t = 7;
	json_t *o = json_pack("{s:I, s:I, s:I, s:s, s:I}", "ok", (json_int_t)JWS_CLAIM_TIME_MAX,
	                      "neg", (json_int_t)-1, "big", (json_int_t)(JWS_CLAIM_TIME_MAX + 1),
	                      "str", "1", "zero", (json_int_t)0);
	assert_non_null(o);
	assert_true(jws_claim_time(o, "ok", true, &t, d, sizeof d));
	assert_int_equal(t, JWS_CLAIM_TIME_MAX);
	assert_true(jws_claim_time(o, "zero", true, &t, d, sizeof d));
	assert_int_equal(t, 0);
	t = 7;
	assert_true(jws_claim_time(o, "absent", false, &t, d, sizeof d));
	assert_int_equal(t, 7);
	assert_false(jws_claim_time(o, "absent", true, &t, d, sizeof d));
	assert_string_equal(d, "claim 'absent' missing");
	assert_false(jws_claim_time(o, "neg", true, &t, d, sizeof d));
	assert_string_equal(d, "claim 'neg': out of range");
	assert_false(jws_claim_time(o, "big", false, &t, d, sizeof d));
	assert_string_equal(d, "claim 'big': out of range");
	assert_false(jws_claim_time(o, "str", true, &t, d, sizeof d));
	assert_string_equal(d, "claim 'str': not an integer");
	assert_int_equal(t, 7);
	json_decref(o);
}

/* --- strings --------------------------------------------------------------- */

static void test_copy_text(void **state)
{
	(void)state;
	char d[80], dst[4];
	assert_true(jws_copy_text("abc", 3, "claim 'x'", dst, sizeof dst, d, sizeof d));
	assert_string_equal(dst, "abc");
	assert_false(jws_copy_text("abcd", 4, "claim 'x'", dst, sizeof dst, d, sizeof d));
	assert_string_equal(d, "claim 'x': longer than 3 bytes");
	assert_false(jws_copy_text("a\nb", 3, "claim 'y'", dst, sizeof dst, d, sizeof d));
	assert_string_equal(d, "claim 'y': control character");
	assert_false(jws_copy_text("a\0b", 3, "claim 'z'", dst, sizeof dst, d, sizeof d));
	assert_string_equal(d, "claim 'z': control character");
	assert_false(jws_copy_text("a\x7f", 2, "w", dst, sizeof dst, NULL, 0));
	assert_true(jws_clean_string("printable ~", 11));
	assert_false(jws_clean_string("\t", 1));
}

/* --- signatures ------------------------------------------------------------- */

static const unsigned char msg[] = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJ4In0";

static size_t sign(EVP_PKEY *pk, const EVP_MD *md, unsigned char *sig, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t len = cap;
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, sig, &len, msg, sizeof msg - 1), 1);
	EVP_MD_CTX_free(ctx);
	return len;
}

/* ES256 in the JWS form: r||s, 32 bytes each. */
static void sign_es256(unsigned char raw[64])
{
	unsigned char der[80];
	size_t len = sign(ec_key, EVP_sha256(), der, sizeof der);
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r, *s;
	assert_non_null(es);
	ECDSA_SIG_get0(es, &r, &s);
	assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
	assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
	ECDSA_SIG_free(es);
}

static void test_verify(void **state)
{
	(void)state;
	unsigned char ed[64], es[64], rs[256], bad[64];
	size_t n = sizeof msg - 1;

	assert_int_equal(sign(ed_key, NULL, ed, sizeof ed), 64);
	sign_es256(es);
	assert_int_equal(sign(rsa_key, EVP_sha256(), rs, sizeof rs), 256);

	assert_true(jws_verify(ed_key, JWS_ALG_EDDSA, msg, n, ed, 64));
	assert_true(jws_verify(ec_key, JWS_ALG_ES256, msg, n, es, 64));
	assert_true(jws_verify(rsa_key, JWS_ALG_RS256, msg, n, rs, 256));

	/* another message */
	assert_false(jws_verify(ed_key, JWS_ALG_EDDSA, msg, n - 1, ed, 64));
	assert_false(jws_verify(ec_key, JWS_ALG_ES256, msg, n - 1, es, 64));
	assert_false(jws_verify(rsa_key, JWS_ALG_RS256, msg, n - 1, rs, 256));
	/* a flipped bit */
	memcpy(bad, es, 64);
	bad[40] ^= 1;
	assert_false(jws_verify(ec_key, JWS_ALG_ES256, msg, n, bad, 64));
	/* lengths that no encoder produces: the DER form of ES256, a
	 * truncated or padded RSA signature */
	assert_false(jws_verify(ec_key, JWS_ALG_ES256, msg, n, es, 63));
	assert_false(jws_verify(ed_key, JWS_ALG_EDDSA, msg, n, ed, 65));
	assert_false(jws_verify(rsa_key, JWS_ALG_RS256, msg, n, rs, 255));
	/* the algorithm is the key's: none, and swaps, verify nothing */
	assert_false(jws_verify(ed_key, JWS_ALG_NONE, msg, n, ed, 64));
	assert_false(jws_verify(ec_key, JWS_ALG_EDDSA, msg, n, es, 64));
	assert_false(jws_verify(ed_key, JWS_ALG_ES256, msg, n, ed, 64));
	assert_false(jws_verify(ec_key, JWS_ALG_RS256, msg, n, es, 64));
	assert_false(jws_verify(rsa_key, JWS_ALG_ES256, msg, n, rs, 64));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_when),
		cmocka_unit_test(test_claim_time),
		cmocka_unit_test(test_copy_text),
		cmocka_unit_test(test_verify),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

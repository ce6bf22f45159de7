/* spki.c must give exactly the SHA-256 of the DER SubjectPublicKeyInfo
 * that OpenSSL writes for the same key, so that a fingerprint in the
 * config (made with openssl) matches what the module computes from the
 * token's attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "spki.h"

static void openssl_fp(EVP_PKEY *pk, unsigned char fp[32])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pk, &der);
	assert_true(len > 0);
	SHA256(der, (size_t)len, fp);
	OPENSSL_free(der);
}

static void test_rsa_matches_openssl(void **state)
{
	(void)state;
	static const unsigned int sizes[] = { 1024, 2048, 3072 };
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		EVP_PKEY *pk = EVP_RSA_gen(sizes[i]);
		assert_non_null(pk);
		BIGNUM *n = NULL, *e = NULL;
		assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n));
		assert_true(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e));
		unsigned char nb[512], eb[8], want[32], got[32];
		int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
		openssl_fp(pk, want);
		assert_int_equal(spki_fp_rsa(nb, (size_t)nl, eb, (size_t)el, got), 0);
		assert_memory_equal(want, got, 32);
		/* A leading zero byte, as some tokens return, changes nothing. */
		unsigned char nz[513] = { 0 };
		memcpy(nz + 1, nb, (size_t)nl);
		assert_int_equal(spki_fp_rsa(nz, (size_t)nl + 1, eb, (size_t)el, got), 0);
		assert_memory_equal(want, got, 32);
		BN_free(n);
		BN_free(e);
		EVP_PKEY_free(pk);
	}
}

static void ec_case(const char *curve, const unsigned char *oid, size_t oid_len)
{
	EVP_PKEY *pk = EVP_EC_gen(curve);
	assert_non_null(pk);
	unsigned char pt[200], wrapped[210], want[32], got[32];
	size_t pl = 0;
	assert_true(
	        EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl));
	openssl_fp(pk, want);
	/* bare point */
	assert_int_equal(spki_fp_ec(oid, oid_len, pt, pl, got), 0);
	assert_memory_equal(want, got, 32);
	/* DER OCTET STRING, as SoftHSM returns CKA_EC_POINT */
	size_t w = 0;
	wrapped[w++] = 0x04;
	if (pl >= 0x80)
		wrapped[w++] = 0x81;
	wrapped[w++] = (unsigned char)pl;
	memcpy(wrapped + w, pt, pl);
	assert_int_equal(spki_fp_ec(oid, oid_len, wrapped, w + pl, got), 0);
	assert_memory_equal(want, got, 32);
	/* another key on the same curve differs */
	EVP_PKEY *other = EVP_EC_gen(curve);
	unsigned char fp2[32];
	openssl_fp(other, fp2);
	assert_memory_not_equal(fp2, got, 32);
	EVP_PKEY_free(other);
	EVP_PKEY_free(pk);
}

static void test_ec_matches_openssl(void **state)
{
	(void)state;
	static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
		                              0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	ec_case("P-256", p256, sizeof(p256));
	ec_case("P-384", p384, sizeof(p384));
}

static void test_bad_input_refused(void **state)
{
	(void)state;
	unsigned char fp[32];
	static const unsigned char pt[65] = { 0x04 };
	static const unsigned char not_oid[] = { 0x30, 0x00 };
	assert_int_equal(spki_fp_ec(not_oid, sizeof(not_oid), pt, sizeof(pt), fp), -1);
	assert_int_equal(spki_fp_ec(NULL, 0, pt, sizeof(pt), fp), -1);
	assert_int_equal(spki_fp_rsa(NULL, 0, pt, 1, fp), -1);
	static unsigned char huge[5000];
	huge[0] = 0x80;
	assert_int_equal(spki_fp_rsa(huge, sizeof(huge), pt, 1, fp), -1);
}

static void test_format(void **state)
{
	(void)state;
	unsigned char fp[32];
	char out[80];
	memset(fp, 0xab, sizeof(fp));
	spki_fp_format(fp, out, sizeof(out));
	assert_int_equal(strlen(out), 71);
	assert_memory_equal(out, "sha256:abab", 11);
}

static const unsigned char P256_OID[] = {
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};

/* The DER itself (for verification) is byte for byte OpenSSL's, and the
 * fingerprint is its SHA-256. */
static void test_der_matches_openssl(void **state)
{
	(void)state;
	unsigned char out[SPKI_DER_MAX], fp[32], sha[32];
	unsigned char *der = NULL;
	int dl;

	EVP_PKEY *rsa = EVP_RSA_gen(2048);
	assert_non_null(rsa);
	BIGNUM *n = NULL, *e = NULL;
	assert_true(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n));
	assert_true(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_E, &e));
	unsigned char nb[512], eb[8];
	int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
	dl = i2d_PUBKEY(rsa, &der);
	assert_true(dl > 0);
	assert_int_equal(spki_der_rsa(nb, (size_t)nl, eb, (size_t)el, out, sizeof(out)),
	                 (size_t)dl);
	assert_memory_equal(out, der, (size_t)dl);
	assert_int_equal(spki_fp_rsa(nb, (size_t)nl, eb, (size_t)el, fp), 0);
	SHA256(out, (size_t)dl, sha);
	assert_memory_equal(fp, sha, 32);
	/* exactly enough room, and one byte less */
	assert_int_equal(spki_der_rsa(nb, (size_t)nl, eb, (size_t)el, out, (size_t)dl), (size_t)dl);
	assert_int_equal(spki_der_rsa(nb, (size_t)nl, eb, (size_t)el, out, (size_t)dl - 1), 0);
	/* nothing to build from */
	assert_int_equal(spki_der_rsa(nb, (size_t)nl, eb, 0, out, sizeof(out)), 0);
	assert_int_equal(spki_der_rsa(nb, (size_t)nl, NULL, 3, out, sizeof(out)), 0);
	OPENSSL_free(der);
	der = NULL;
	BN_free(n);
	BN_free(e);
	EVP_PKEY_free(rsa);

	EVP_PKEY *ec = EVP_EC_gen("P-256");
	assert_non_null(ec);
	unsigned char pt[65], wrapped[67];
	size_t pl = 0;
	assert_true(
	        EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl));
	assert_int_equal(pl, 65);
	dl = i2d_PUBKEY(ec, &der);
	assert_true(dl > 0);
	assert_int_equal(spki_der_ec(P256_OID, sizeof(P256_OID), pt, pl, out, sizeof(out)),
	                 (size_t)dl);
	assert_memory_equal(out, der, (size_t)dl);
	wrapped[0] = 0x04;
	wrapped[1] = 65;
	memcpy(wrapped + 2, pt, 65);
	assert_int_equal(
	        spki_der_ec(P256_OID, sizeof(P256_OID), wrapped, sizeof(wrapped), out, sizeof(out)),
	        (size_t)dl);
	assert_memory_equal(out, der, (size_t)dl);
	assert_int_equal(spki_der_ec(P256_OID, sizeof(P256_OID), pt, pl, out, (size_t)dl - 1), 0);
	assert_int_equal(spki_der_ec(P256_OID, 2, pt, pl, out, sizeof(out)), 0);
	OPENSSL_free(der);
	EVP_PKEY_free(ec);
}

/* The SPKI of an EC key built from params and point: its BIT STRING holds
 * exactly `want` (the point as used). */
static void expect_point(const unsigned char *point, size_t len, const unsigned char *want,
                         size_t want_len)
{
	unsigned char out[SPKI_DER_MAX];
	size_t n = spki_der_ec(P256_OID, sizeof(P256_OID), point, len, out, sizeof(out));
	assert_true(n > want_len + 1);
	/* ... 03 LEN 00 POINT at the end */
	assert_int_equal(out[n - want_len - 1], 0x00);
	assert_memory_equal(out + n - want_len, want, want_len);
}

/* CKA_EC_POINT as an OCTET STRING is unwrapped only when it is exactly one
 * well-formed OCTET STRING holding a point; anything else is taken as the
 * bare point it might be, so that two spellings of one key agree and two
 * keys never do. */
static void test_ec_point_forms(void **state)
{
	(void)state;
	static unsigned char big[400], wrapped[404];
	/* a long form with two length bytes (points above 255 bytes) */
	big[0] = 0x04;
	for (size_t i = 1; i < 300; i++)
		big[i] = (unsigned char)i;
	wrapped[0] = 0x04;
	wrapped[1] = 0x82;
	wrapped[2] = 0x01;
	wrapped[3] = 0x2c; /* 300 */
	memcpy(wrapped + 4, big, 300);
	expect_point(wrapped, 304, big, 300);
	unsigned char fa[32], fb[32];
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), wrapped, 304, fa), 0);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), big, 300, fb), 0);
	assert_memory_equal(fa, fb, 32);
	/* the length disagrees with the size: not unwrapped */
	expect_point(wrapped, 303, wrapped, 303);
	/* the content is not a point (first byte not 02, 03 or 04): not unwrapped */
	static const unsigned char notpt[] = { 0x04, 0x03, 0x05, 0x01, 0x02 };
	expect_point(notpt, sizeof(notpt), notpt, sizeof(notpt));
	/* compressed points are unwrapped */
	static const unsigned char comp[] = { 0x04, 0x03, 0x02, 0xaa, 0xbb };
	expect_point(comp, sizeof(comp), comp + 2, 3);
	/* three-byte lengths (0x83) are not a CKA_EC_POINT: bare */
	static const unsigned char l83[] = { 0x04, 0x83, 0x00, 0x00, 0x01, 0x04 };
	expect_point(l83, sizeof(l83), l83, sizeof(l83));
	/* 0x81 / 0x82 with no room for the length bytes: bare */
	static const unsigned char s81[] = { 0x04, 0x81, 0x01 };
	expect_point(s81, sizeof(s81), s81, sizeof(s81));
	static const unsigned char s82[] = { 0x04, 0x82, 0x00, 0x01 };
	expect_point(s82, sizeof(s82), s82, sizeof(s82));
	/* 0x81 form */
	static const unsigned char l81[] = { 0x04, 0x81, 0x02, 0x03, 0x01 };
	expect_point(l81, sizeof(l81), l81 + 3, 2);
	/* shorter than an OCTET STRING header: bare */
	static const unsigned char tiny[] = { 0x04, 0x01 };
	expect_point(tiny, sizeof(tiny), tiny, sizeof(tiny));
}

static void test_ec_params_refused(void **state)
{
	(void)state;
	unsigned char fp[32];
	static const unsigned char pt[65] = { 0x04, 1, 2, 3 };
	/* a named curve OID only: not explicit parameters, not a short or
	 * mis-sized OID, not without a point */
	static const unsigned char short_oid[] = { 0x06, 0x00 };
	static const unsigned char long_len[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
		                                  0xce, 0x3d, 0x03, 0x01, 0x07 };
	assert_int_equal(spki_fp_ec(short_oid, sizeof(short_oid), pt, sizeof(pt), fp), -1);
	assert_int_equal(spki_fp_ec(long_len, sizeof(long_len), pt, sizeof(pt), fp), -1);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID) - 1, pt, sizeof(pt), fp), -1);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), NULL, 65, fp), -1);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), pt, 0, fp), -1);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), pt, sizeof(pt), fp), 0);
}

/* Lengths that DER cannot carry in our writer (64 KiB and more) and
 * contents larger than the buffer are refused, never truncated. */
static void test_oversized_refused(void **state)
{
	(void)state;
	unsigned char fp[32], out[16];
	static unsigned char huge[70000];
	static const unsigned char e[] = { 0x01, 0x00, 0x01 };
	huge[0] = 0x04;
	/* leading zero bytes are stripped however many there are */
	assert_int_equal(spki_fp_rsa(huge + 1, sizeof(huge) - 1, e, sizeof(e), fp), 0);
	huge[1] = 0x80;
	assert_int_equal(spki_fp_rsa(huge + 1, sizeof(huge) - 1, e, sizeof(e), fp), -1);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), huge, sizeof(huge), fp), -1);
	assert_int_equal(spki_fp_ec(P256_OID, sizeof(P256_OID), huge, 5000, fp), -1);
	assert_int_equal(spki_der_ec(P256_OID, sizeof(P256_OID), huge, 5000, out, sizeof(out)), 0);
	/* the biggest modulus that fits (RSA-16384) */
	static unsigned char n16k[2048];
	memset(n16k, 0xff, sizeof(n16k));
	assert_int_equal(spki_fp_rsa(n16k, sizeof(n16k), e, sizeof(e), fp), 0);
	/* e given as a zero: one INTEGER 0 (leading zeros stripped to one) */
	static const unsigned char zeros[] = { 0, 0, 0 };
	unsigned char der[SPKI_DER_MAX];
	size_t n = spki_der_rsa(e, sizeof(e), zeros, sizeof(zeros), der, sizeof(der));
	assert_true(n > 3);
	assert_memory_equal(der + n - 3, "\x02\x01\x00", 3);
}

static void test_format_short_buffer(void **state)
{
	(void)state;
	unsigned char fp[32];
	char out[80];
	memset(fp, 0x0f, sizeof(fp));
	memset(out, 'x', sizeof(out));
	spki_fp_format(fp, out, 71); /* no room for the NUL */
	assert_int_equal(out[0], '\0');
	assert_int_equal(out[1], 'x');
	memset(out, 'x', sizeof(out));
	spki_fp_format(fp, out, 0);
	assert_int_equal(out[0], 'x');
	spki_fp_format(fp, out, 72);
	assert_string_equal(
	        out, "sha256:0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_matches_openssl),
		cmocka_unit_test(test_ec_matches_openssl),
		cmocka_unit_test(test_bad_input_refused),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_der_matches_openssl),
		cmocka_unit_test(test_ec_point_forms),
		cmocka_unit_test(test_ec_params_refused),
		cmocka_unit_test(test_oversized_refused),
		cmocka_unit_test(test_format_short_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

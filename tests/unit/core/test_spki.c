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
	assert_true(EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &pl));
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
	static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa_matches_openssl),
		cmocka_unit_test(test_ec_matches_openssl),
		cmocka_unit_test(test_bad_input_refused),
		cmocka_unit_test(test_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

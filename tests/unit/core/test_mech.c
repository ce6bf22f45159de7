/* Unit tests for module/core/mech.c: names, CKM mapping, hashes, DigestInfo. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <p11-kit/pkcs11.h>

#include "mech.h"

static const struct {
	const char *name;
	unsigned long ckm;
	mech_id_t id;
	hash_alg_t fixed;
} mechs[] = {
	{ "RSA-PKCS", CKM_RSA_PKCS, MECH_RSA_PKCS, HASH_UNKNOWN },
	{ "RSA-PKCS-PSS", CKM_RSA_PKCS_PSS, MECH_RSA_PKCS_PSS, HASH_UNKNOWN },
	{ "RSA-X-509", CKM_RSA_X_509, MECH_RSA_X_509, HASH_UNKNOWN },
	{ "SHA1-RSA-PKCS", CKM_SHA1_RSA_PKCS, MECH_SHA1_RSA_PKCS, HASH_SHA1 },
	{ "SHA224-RSA-PKCS", CKM_SHA224_RSA_PKCS, MECH_SHA224_RSA_PKCS, HASH_SHA224 },
	{ "SHA256-RSA-PKCS", CKM_SHA256_RSA_PKCS, MECH_SHA256_RSA_PKCS, HASH_SHA256 },
	{ "SHA384-RSA-PKCS", CKM_SHA384_RSA_PKCS, MECH_SHA384_RSA_PKCS, HASH_SHA384 },
	{ "SHA512-RSA-PKCS", CKM_SHA512_RSA_PKCS, MECH_SHA512_RSA_PKCS, HASH_SHA512 },
	{ "SHA1-RSA-PKCS-PSS", CKM_SHA1_RSA_PKCS_PSS, MECH_SHA1_RSA_PKCS_PSS, HASH_SHA1 },
	{ "SHA224-RSA-PKCS-PSS", CKM_SHA224_RSA_PKCS_PSS, MECH_SHA224_RSA_PKCS_PSS, HASH_SHA224 },
	{ "SHA256-RSA-PKCS-PSS", CKM_SHA256_RSA_PKCS_PSS, MECH_SHA256_RSA_PKCS_PSS, HASH_SHA256 },
	{ "SHA384-RSA-PKCS-PSS", CKM_SHA384_RSA_PKCS_PSS, MECH_SHA384_RSA_PKCS_PSS, HASH_SHA384 },
	{ "SHA512-RSA-PKCS-PSS", CKM_SHA512_RSA_PKCS_PSS, MECH_SHA512_RSA_PKCS_PSS, HASH_SHA512 },
	{ "ECDSA", CKM_ECDSA, MECH_ECDSA, HASH_UNKNOWN },
	{ "ECDSA-SHA1", CKM_ECDSA_SHA1, MECH_ECDSA_SHA1, HASH_SHA1 },
	{ "ECDSA-SHA224", CKM_ECDSA_SHA224, MECH_ECDSA_SHA224, HASH_SHA224 },
	{ "ECDSA-SHA256", CKM_ECDSA_SHA256, MECH_ECDSA_SHA256, HASH_SHA256 },
	{ "ECDSA-SHA384", CKM_ECDSA_SHA384, MECH_ECDSA_SHA384, HASH_SHA384 },
	{ "ECDSA-SHA512", CKM_ECDSA_SHA512, MECH_ECDSA_SHA512, HASH_SHA512 },
	{ "EDDSA", CKM_EDDSA, MECH_EDDSA, HASH_NONE },
	{ "RSA-PKCS-OAEP", CKM_RSA_PKCS_OAEP, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN },
	{ "ECDH1-DERIVE", CKM_ECDH1_DERIVE, MECH_ECDH1_DERIVE, HASH_UNKNOWN },
	{ "ECDH1-COFACTOR-DERIVE", CKM_ECDH1_COFACTOR_DERIVE, MECH_ECDH1_COFACTOR_DERIVE,
	  HASH_UNKNOWN },
};
#define N_MECHS (sizeof(mechs) / sizeof(mechs[0]))

static void test_mech_table_roundtrip(void **state)
{
	(void)state;
	assert_int_equal(N_MECHS, MECH_COUNT - 1);
	for (size_t i = 0; i < N_MECHS; i++) {
		assert_int_equal(mech_from_name(mechs[i].name), mechs[i].id);
		assert_string_equal(mech_name(mechs[i].id), mechs[i].name);
		assert_int_equal(mech_from_ckm(mechs[i].ckm), mechs[i].id);
		assert_int_equal(mech_to_ckm(mechs[i].id), mechs[i].ckm);
		assert_int_equal(mech_fixed_hash(mechs[i].id), mechs[i].fixed);
	}
}

static void test_mech_name_spellings(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		mech_id_t id;
	} cases[] = {
		{ "sha256-rsa-pkcs-pss", MECH_SHA256_RSA_PKCS_PSS },
		{ "SHA256_RSA_PKCS_PSS", MECH_SHA256_RSA_PKCS_PSS },
		{ "CKM_SHA256_RSA_PKCS", MECH_SHA256_RSA_PKCS },
		{ "ckm_rsa_x_509", MECH_RSA_X_509 },
		{ "Ecdsa_Sha384", MECH_ECDSA_SHA384 },
		{ "CKM_EDDSA", MECH_EDDSA },
		{ "eddsa", MECH_EDDSA },
		{ "", MECH_UNKNOWN },
		{ "CKM_", MECH_UNKNOWN },
		{ "RSA", MECH_UNKNOWN },
		{ "RSA-PKCS-", MECH_UNKNOWN },
		{ "RSA-PKCS-PSSX", MECH_UNKNOWN },
		{ "SHA256RSAPKCS", MECH_UNKNOWN },
		{ "CKM_CKM_RSA_PKCS", MECH_UNKNOWN },
		{ "UNKNOWN", MECH_UNKNOWN },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mech_id_t got = mech_from_name(cases[i].in);
		if (got != cases[i].id)
			fail_msg("mech_from_name(\"%s\") = %d, want %d", cases[i].in, got,
			         cases[i].id);
	}
	assert_int_equal(mech_from_name(NULL), MECH_UNKNOWN);
}

/* Decryption, unwrapping and derivation are uses of their own: only the
 * mechanisms that can do them may be listed for them, and the ones that
 * only decrypt or derive never sign. */
static void test_mech_uses(void **state)
{
	(void)state;
	assert_int_equal(mech_uses(MECH_UNKNOWN), 0);
	assert_int_equal(mech_uses(MECH_COUNT), 0);
	assert_int_equal(mech_uses(MECH_SHA256_RSA_PKCS), MECH_USE_SIGN);
	assert_int_equal(mech_uses(MECH_ECDSA), MECH_USE_SIGN);
	assert_int_equal(mech_uses(MECH_RSA_PKCS),
	                 MECH_USE_SIGN | MECH_USE_DECRYPT | MECH_USE_UNWRAP);
	assert_int_equal(mech_uses(MECH_RSA_X_509),
	                 MECH_USE_SIGN | MECH_USE_DECRYPT | MECH_USE_UNWRAP);
	assert_int_equal(mech_uses(MECH_RSA_PKCS_OAEP), MECH_USE_DECRYPT | MECH_USE_UNWRAP);
	assert_int_equal(mech_uses(MECH_ECDH1_DERIVE), MECH_USE_DERIVE);
	assert_int_equal(mech_uses(MECH_ECDH1_COFACTOR_DERIVE), MECH_USE_DERIVE);
	assert_int_equal(mech_from_name("ckm_ecdh1_derive"), MECH_ECDH1_DERIVE);
	/* CKM- (as some tools print) is the same prefix; no prefix twice */
	assert_int_equal(mech_from_name("CKM-ECDSA"), MECH_ECDSA);
	assert_int_equal(mech_from_name("ckm-sha256-rsa-pkcs"), MECH_SHA256_RSA_PKCS);
	assert_int_equal(mech_from_name("CKM_CKM_ECDSA"), MECH_UNKNOWN);
	assert_int_equal(mech_from_name("rsa_pkcs_oaep"), MECH_RSA_PKCS_OAEP);
}

static void test_mech_unknown_values(void **state)
{
	(void)state;
	assert_int_equal(mech_from_ckm(CKM_AES_CBC), MECH_UNKNOWN);
	assert_int_equal(mech_from_ckm(0xffffffffUL), MECH_UNKNOWN);
	assert_int_equal(mech_to_ckm(MECH_UNKNOWN), CK_UNAVAILABLE_INFORMATION);
	assert_int_equal(mech_to_ckm(MECH_COUNT), CK_UNAVAILABLE_INFORMATION);
	assert_non_null(mech_name(MECH_COUNT));
	assert_non_null(mech_name((mech_id_t)-1));
	assert_int_equal(mech_fixed_hash(MECH_COUNT), HASH_UNKNOWN);
}

static void test_mech_ckm_name(void **state)
{
	(void)state;
	assert_string_equal(mech_ckm_name(CKM_SHA256_RSA_PKCS), "CKM_SHA256_RSA_PKCS");
	assert_string_equal(mech_ckm_name(CKM_RSA_X_509), "CKM_RSA_X_509");
	assert_string_equal(mech_ckm_name(CKM_ECDSA), "CKM_ECDSA");
	assert_string_equal(mech_ckm_name(CKM_EDDSA), "CKM_EDDSA");
	assert_string_equal(mech_ckm_name(CKM_SHA_1), "CKM_SHA_1");
	assert_string_equal(mech_ckm_name(0x80001234UL), "CKM_0x80001234");
	assert_string_equal(mech_ckm_name(0xffffffffffffffffUL), "CKM_0xffffffffffffffff");
	/* every governed mechanism has a constant name */
	for (size_t i = 0; i < N_MECHS; i++)
		assert_memory_equal(mech_ckm_name(mechs[i].ckm), "CKM_", 4);
	for (size_t i = 0; i < N_MECHS; i++)
		assert_null(strstr(mech_ckm_name(mechs[i].ckm), "0x"));
}

static void test_hash_names(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		hash_alg_t h;
		size_t len;
	} cases[] = {
		{ "SHA1", HASH_SHA1, 20 },      { "sha-1", HASH_SHA1, 20 },
		{ "SHA_1", HASH_SHA1, 20 },     { "SHA224", HASH_SHA224, 28 },
		{ "sha-224", HASH_SHA224, 28 }, { "SHA256", HASH_SHA256, 32 },
		{ "sha-256", HASH_SHA256, 32 }, { "Sha256", HASH_SHA256, 32 },
		{ "SHA384", HASH_SHA384, 48 },  { "sha-384", HASH_SHA384, 48 },
		{ "SHA512", HASH_SHA512, 64 },  { "sha-512", HASH_SHA512, 64 },
		{ "NONE", HASH_NONE, 0 },       { "MD5", HASH_UNKNOWN, 0 },
		{ "SHA", HASH_UNKNOWN, 0 },     { "SHA2561", HASH_UNKNOWN, 0 },
		{ "", HASH_UNKNOWN, 0 },        { "SHA3-256", HASH_UNKNOWN, 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hash_alg_t h = hash_from_name(cases[i].in);
		if (h != cases[i].h)
			fail_msg("hash_from_name(\"%s\") = %d, want %d", cases[i].in, h,
			         cases[i].h);
		assert_int_equal(hash_len(h), cases[i].len);
	}
	assert_int_equal(hash_from_name(NULL), HASH_UNKNOWN);
	assert_string_equal(hash_name(HASH_SHA256), "SHA256");
	assert_string_equal(hash_name(HASH_SHA1), "SHA1");
	assert_non_null(hash_name(HASH_COUNT));
	assert_int_equal(hash_len(HASH_COUNT), 0);
	for (int h = HASH_SHA1; h <= HASH_SHA512; h++)
		assert_int_equal(hash_from_name(hash_name((hash_alg_t)h)), h);
}

static void test_hash_by_length_and_ckm(void **state)
{
	(void)state;
	assert_int_equal(mech_hash_by_length(20), HASH_SHA1);
	assert_int_equal(mech_hash_by_length(28), HASH_SHA224);
	assert_int_equal(mech_hash_by_length(32), HASH_SHA256);
	assert_int_equal(mech_hash_by_length(48), HASH_SHA384);
	assert_int_equal(mech_hash_by_length(64), HASH_SHA512);
	assert_int_equal(mech_hash_by_length(0), HASH_UNKNOWN);
	assert_int_equal(mech_hash_by_length(31), HASH_UNKNOWN);
	assert_int_equal(mech_hash_by_length(51), HASH_UNKNOWN);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_SHA_1), HASH_SHA1);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_SHA224), HASH_SHA224);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_SHA256), HASH_SHA256);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_SHA384), HASH_SHA384);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_SHA512), HASH_SHA512);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_MD5), HASH_UNKNOWN);
	assert_int_equal(mech_hash_from_ckm_digest(CKM_SHA256_RSA_PKCS), HASH_UNKNOWN);
}

/* DigestInfo prefixes (RFC 8017 section 9.2 note 1). */
static const unsigned char pfx_sha1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
	                                  0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
static const unsigned char pfx_sha224[] = { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60,
	                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	                                    0x04, 0x05, 0x00, 0x04, 0x1c };
static const unsigned char pfx_sha256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
	                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	                                    0x01, 0x05, 0x00, 0x04, 0x20 };
static const unsigned char pfx_sha384[] = { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60,
	                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	                                    0x02, 0x05, 0x00, 0x04, 0x30 };
static const unsigned char pfx_sha512[] = { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60,
	                                    0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	                                    0x03, 0x05, 0x00, 0x04, 0x40 };
/* absent parameters (allowed by RFC 4055 for the SHA-2 family) */
static const unsigned char pfx_sha256_noparam[] = { 0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09,
	                                            0x60, 0x86, 0x48, 0x01, 0x65, 0x03,
	                                            0x04, 0x02, 0x01, 0x04, 0x20 };
static const unsigned char pfx_sha1_noparam[] = { 0x30, 0x1f, 0x30, 0x07, 0x06, 0x05, 0x2b,
	                                          0x0e, 0x03, 0x02, 0x1a, 0x04, 0x14 };

static size_t build(unsigned char *buf, const unsigned char *pfx, size_t pfx_len, size_t dlen)
{
	memcpy(buf, pfx, pfx_len);
	for (size_t i = 0; i < dlen; i++)
		buf[pfx_len + i] = (unsigned char)(0xa0 + i);
	return pfx_len + dlen;
}

static void test_digestinfo_valid(void **state)
{
	(void)state;
	static const struct {
		const unsigned char *pfx;
		size_t len;
		hash_alg_t h;
	} ok[] = {
		{ pfx_sha1, sizeof(pfx_sha1), HASH_SHA1 },
		{ pfx_sha224, sizeof(pfx_sha224), HASH_SHA224 },
		{ pfx_sha256, sizeof(pfx_sha256), HASH_SHA256 },
		{ pfx_sha384, sizeof(pfx_sha384), HASH_SHA384 },
		{ pfx_sha512, sizeof(pfx_sha512), HASH_SHA512 },
		{ pfx_sha256_noparam, sizeof(pfx_sha256_noparam), HASH_SHA256 },
		{ pfx_sha1_noparam, sizeof(pfx_sha1_noparam), HASH_SHA1 },
	};
	unsigned char buf[160];
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		size_t n = build(buf, ok[i].pfx, ok[i].len, hash_len(ok[i].h));
		const unsigned char *d = NULL;
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), ok[i].h);
		assert_ptr_equal(d, buf + ok[i].len);
		/* digest out-pointer is optional */
		assert_int_equal(mech_digestinfo_parse(buf, n, NULL), ok[i].h);
	}
	/* the 51-byte SHA-256 DigestInfo pkcs11-tool sends */
	assert_int_equal(build(buf, pfx_sha256, sizeof(pfx_sha256), 32), 51);
}

/* Each case: a valid SHA-256 DigestInfo, then one mutation. */
static void test_digestinfo_malformed(void **state)
{
	(void)state;
	unsigned char good[64];
	size_t glen = build(good, pfx_sha256, sizeof(pfx_sha256), 32);
	unsigned char buf[160];
	const unsigned char *d = (const unsigned char *)"x";

	/* every truncation is rejected */
	for (size_t n = 0; n < glen; n++) {
		d = (const unsigned char *)"x";
		if (mech_digestinfo_parse(good, n, &d) != HASH_UNKNOWN)
			fail_msg("truncated to %zu bytes accepted", n);
		assert_null(d);
	}

	/* trailing garbage (outer length unchanged, and adjusted) */
	memcpy(buf, good, glen);
	buf[glen] = 0x00;
	assert_int_equal(mech_digestinfo_parse(buf, glen + 1, &d), HASH_UNKNOWN);
	buf[1] = 0x32;
	assert_int_equal(mech_digestinfo_parse(buf, glen + 1, &d), HASH_UNKNOWN);

	struct mut {
		size_t off;
		unsigned char val;
		const char *why;
	};
	static const struct mut muts[] = {
		{ 0, 0x31, "outer tag SET" },
		{ 1, 0x30, "outer length short" },
		{ 1, 0x32, "outer length long" },
		{ 2, 0x31, "alg tag" },
		{ 3, 0x0c, "alg length short" },
		{ 3, 0x0e, "alg length long" },
		{ 4, 0x05, "oid tag" },
		{ 5, 0x08, "oid length" },
		{ 14, 0x05, "wrong OID (sha512/224)" },
		{ 14, 0x06, "wrong OID (sha512/256)" },
		{ 6, 0x61, "wrong OID arc" },
		{ 15, 0x04, "params tag not NULL" },
		{ 16, 0x01, "NULL with content" },
		{ 17, 0x03, "digest tag BIT STRING" },
		{ 18, 0x1f, "digest length 31" },
		{ 18, 0x21, "digest length 33" },
	};
	for (size_t i = 0; i < sizeof(muts) / sizeof(muts[0]); i++) {
		memcpy(buf, good, glen);
		buf[muts[i].off] = muts[i].val;
		if (mech_digestinfo_parse(buf, glen, &d) != HASH_UNKNOWN)
			fail_msg("accepted: %s", muts[i].why);
	}

	/* long-form lengths are not DER for these sizes */
	{
		static const unsigned char lf_outer[] = { 0x30, 0x81, 0x31, 0x30, 0x0d, 0x06, 0x09,
			                                  0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
			                                  0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
		size_t n = build(buf, lf_outer, sizeof(lf_outer), 32);
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), HASH_UNKNOWN);
		static const unsigned char lf_digest[] = { 0x30, 0x32, 0x30, 0x0d, 0x06, 0x09, 0x60,
			                                   0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
			                                   0x01, 0x05, 0x00, 0x04, 0x81, 0x20 };
		n = build(buf, lf_digest, sizeof(lf_digest), 32);
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), HASH_UNKNOWN);
		static const unsigned char lf_alg[] = { 0x30, 0x32, 0x30, 0x81, 0x0d, 0x06, 0x09,
			                                0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
			                                0x02, 0x01, 0x05, 0x00, 0x04, 0x20 };
		n = build(buf, lf_alg, sizeof(lf_alg), 32);
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), HASH_UNKNOWN);
	}

	/* right OID, digest of another hash's length */
	{
		size_t n = build(buf, pfx_sha256, sizeof(pfx_sha256), 32);
		buf[1] = 0x31 - 12;
		buf[18] = 20;
		assert_int_equal(mech_digestinfo_parse(buf, n - 12, &d), HASH_UNKNOWN);
	}

	/* SHA-1 DigestInfo with a 32-byte digest */
	{
		size_t n = build(buf, pfx_sha1, sizeof(pfx_sha1), 32);
		buf[1] = 0x21 + 12;
		buf[14] = 32;
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), HASH_UNKNOWN);
	}

	/* MD5 DigestInfo (unknown OID) */
	{
		static const unsigned char md5[] = { 0x30, 0x20, 0x30, 0x0c, 0x06, 0x08,
			                             0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d,
			                             0x02, 0x05, 0x05, 0x00, 0x04, 0x10 };
		size_t n = build(buf, md5, sizeof(md5), 16);
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), HASH_UNKNOWN);
	}

	/* a bare 32-byte hash (ECDSA-style input) is not a DigestInfo */
	memset(buf, 0x30, 32);
	assert_int_equal(mech_digestinfo_parse(buf, 32, &d), HASH_UNKNOWN);
	memset(buf, 0, 51);
	assert_int_equal(mech_digestinfo_parse(buf, 51, &d), HASH_UNKNOWN);
	assert_int_equal(mech_digestinfo_parse(NULL, 51, &d), HASH_UNKNOWN);

	/* extra bytes inside the AlgorithmIdentifier after NULL */
	{
		static const unsigned char extra[] = { 0x30, 0x33, 0x30, 0x0f, 0x06, 0x09, 0x60,
			                               0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
			                               0x01, 0x05, 0x00, 0x05, 0x00, 0x04, 0x20 };
		size_t n = build(buf, extra, sizeof(extra), 32);
		assert_int_equal(mech_digestinfo_parse(buf, n, &d), HASH_UNKNOWN);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mech_table_roundtrip),
		cmocka_unit_test(test_mech_uses),
		cmocka_unit_test(test_mech_name_spellings),
		cmocka_unit_test(test_mech_unknown_values),
		cmocka_unit_test(test_mech_ckm_name),
		cmocka_unit_test(test_hash_names),
		cmocka_unit_test(test_hash_by_length_and_ckm),
		cmocka_unit_test(test_digestinfo_valid),
		cmocka_unit_test(test_digestinfo_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

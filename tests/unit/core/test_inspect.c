/* Unit tests for module/core/inspect.c: every accept and refuse branch of the
 * data inspector (DigestInfo, raw RSA blocks, raw ECDSA against the curve
 * order, PSS parameters and input, CMS signed attributes, curve sizes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <p11-kit/pkcs11.h>

#include "inspect.h"

/* DigestInfo prefixes (RFC 8017 9.2 note 1), NULL parameters. */
static const struct {
	hash_alg_t h;
	unsigned char prefix[19];
	size_t prefix_len;
} di[] = {
	{ HASH_SHA1,
	  { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04,
	    0x14 },
	  15 },
	{ HASH_SHA224,
	  { 0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x04, 0x05, 0x00, 0x04, 0x1c },
	  19 },
	{ HASH_SHA256,
	  { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x01, 0x05, 0x00, 0x04, 0x20 },
	  19 },
	{ HASH_SHA384,
	  { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x02, 0x05, 0x00, 0x04, 0x30 },
	  19 },
	{ HASH_SHA512,
	  { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	    0x03, 0x05, 0x00, 0x04, 0x40 },
	  19 },
};
#define N_DI (sizeof(di) / sizeof(di[0]))

static void fill(unsigned char *p, size_t n, unsigned char seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i) | 0x01; /* never zero */
}

static size_t make_di(unsigned char *buf, size_t i)
{
	memcpy(buf, di[i].prefix, di[i].prefix_len);
	fill(buf + di[i].prefix_len, hash_len(di[i].h), 0x40);
	return di[i].prefix_len + hash_len(di[i].h);
}

static void assert_refused(const inspect_result_t *r, inspect_status_t st)
{
	assert_int_equal(r->status, st);
	assert_true(inspect_refused(r));
	assert_int_equal(r->hash, HASH_UNKNOWN);
	assert_int_equal(r->basis, INSPECT_BASIS_NONE);
	assert_int_equal(r->digest_len, 0);
	assert_true(r->detail[0] != '\0');
}

/* --- DigestInfo ------------------------------------------------------------ */

static void test_digestinfo_accepts_each_hash(void **state)
{
	(void)state;
	unsigned char buf[128];
	inspect_result_t r;
	for (size_t i = 0; i < N_DI; i++) {
		size_t n = make_di(buf, i);
		inspect_digestinfo(buf, n, &r);
		assert_int_equal(r.status, INSPECT_OK);
		assert_false(inspect_refused(&r));
		assert_int_equal(r.hash, di[i].h);
		assert_int_equal(r.basis, INSPECT_BASIS_DIGESTINFO);
		assert_int_equal(r.digest_len, hash_len(di[i].h));
		assert_memory_equal(r.digest, buf + di[i].prefix_len, r.digest_len);
	}
}

static void test_digestinfo_absent_params(void **state)
{
	(void)state;
	/* SHA-256 with the parameters left out: 30 2f 30 0b 06 09 OID 04 20 */
	unsigned char buf[64] = { 0x30, 0x2f, 0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48,
		                  0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x04, 0x20 };
	inspect_result_t r;
	fill(buf + 17, 32, 7);
	inspect_digestinfo(buf, 49, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_SHA256);
}

static void test_digestinfo_refusals(void **state)
{
	(void)state;
	unsigned char buf[300], good[128];
	size_t n = make_di(good, 2); /* SHA-256 */
	inspect_result_t r;

	inspect_digestinfo(NULL, 51, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	inspect_digestinfo(good, 1, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	memset(buf, 0x30, sizeof(buf));
	inspect_digestinfo(buf, 257, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* a trailing byte */
	memcpy(buf, good, n);
	buf[n] = 0;
	inspect_digestinfo(buf, n + 1, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* cut short */
	inspect_digestinfo(good, n - 1, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* a bare 32-byte hash */
	inspect_digestinfo(good + 19, 32, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* non-minimal long-form outer length: BER, not DER */
	buf[0] = 0x30;
	buf[1] = 0x81;
	buf[2] = 0x31;
	memcpy(buf + 3, good + 2, n - 2);
	inspect_digestinfo(buf, n + 1, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* SHA-256 OID with a 20-byte digest */
	memcpy(buf, good, 19);
	buf[1] = 0x25;
	buf[18] = 0x14;
	fill(buf + 19, 20, 3);
	inspect_digestinfo(buf, 39, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* parameters that are neither NULL nor absent: an empty OCTET STRING */
	memcpy(buf, good, n);
	buf[15] = 0x04;
	inspect_digestinfo(buf, n, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* MD5 (1.2.840.113549.2.5): a hash signgate does not know */
	static const unsigned char md5[] = { 0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
		                             0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10 };
	memcpy(buf, md5, sizeof(md5));
	fill(buf + sizeof(md5), 16, 9);
	inspect_digestinfo(buf, sizeof(md5) + 16, &r);
	assert_refused(&r, INSPECT_HASH_UNKNOWN);
	/* and not the digest as an INTEGER */
	memcpy(buf, good, n);
	buf[17] = 0x02;
	inspect_digestinfo(buf, n, &r);
	assert_refused(&r, INSPECT_MALFORMED);
}

/* --- raw RSA ------------------------------------------------------------------ */

static size_t make_pkcs1(unsigned char *buf, size_t zeros, size_t ffs, size_t di_index)
{
	size_t n = 0;
	memset(buf, 0, zeros);
	n += zeros;
	buf[n++] = 0x01;
	memset(buf + n, 0xff, ffs);
	n += ffs;
	buf[n++] = 0x00;
	return n + make_di(buf + n, di_index);
}

static void test_rsa_x509(void **state)
{
	(void)state;
	unsigned char buf[512];
	inspect_result_t r;
	size_t n;

	inspect_rsa_x509(NULL, 10, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* PKCS#1 v1.5 blocks of a 2048-bit key: hash established */
	for (size_t i = 0; i < N_DI; i++) {
		n = make_pkcs1(buf, 1, 256 - 3 - (di[i].prefix_len + hash_len(di[i].h)), i);
		assert_int_equal(n, 256);
		inspect_rsa_x509(buf, n, &r);
		assert_int_equal(r.status, INSPECT_OK);
		assert_int_equal(r.hash, di[i].h);
		assert_int_equal(r.basis, INSPECT_BASIS_DIGESTINFO);
	}
	/* without its leading zero byte, or with more: the same integer */
	n = make_pkcs1(buf, 0, 100, 2);
	inspect_rsa_x509(buf, n, &r);
	assert_int_equal(r.hash, HASH_SHA256);
	n = make_pkcs1(buf, 3, 8, 2);
	inspect_rsa_x509(buf, n, &r);
	assert_int_equal(r.hash, HASH_SHA256);

	/* 7 FF bytes: too little padding */
	n = make_pkcs1(buf, 1, 7, 2);
	inspect_rsa_x509(buf, n, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* no 00 separator */
	n = make_pkcs1(buf, 1, 20, 2);
	buf[1 + 1 + 20] = 0x01;
	inspect_rsa_x509(buf, n, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* all FF to the end */
	memset(buf, 0xff, 64);
	buf[0] = 0x01;
	inspect_rsa_x509(buf, 64, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* garbage after the DigestInfo (the Bleichenbacher'06 forgery shape) */
	n = make_pkcs1(buf, 1, 8, 2);
	memset(buf + n, 0x55, 40);
	inspect_rsa_x509(buf, n + 40, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* an MD5 DigestInfo in the block */
	static const unsigned char md5[] = { 0x30, 0x20, 0x30, 0x0c, 0x06, 0x08, 0x2a, 0x86, 0x48,
		                             0x86, 0xf7, 0x0d, 0x02, 0x05, 0x05, 0x00, 0x04, 0x10 };
	memset(buf, 0, sizeof(buf));
	buf[1] = 0x01;
	memset(buf + 2, 0xff, 10);
	buf[12] = 0;
	memcpy(buf + 13, md5, sizeof(md5));
	fill(buf + 13 + sizeof(md5), 16, 1);
	inspect_rsa_x509(buf, 13 + sizeof(md5) + 16, &r);
	assert_refused(&r, INSPECT_HASH_UNKNOWN);

	/* a type-1 block whose payload is no DigestInfo (pkcs11-tool --test) */
	memset(buf, 0, 256);
	buf[1] = 0x01;
	memset(buf + 2, 0xff, 8);
	inspect_rsa_x509(buf, 256, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	inspect_rsa_x509(buf, 11, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	/* but one that starts like a DigestInfo must be one */
	buf[11] = 0x30;
	inspect_rsa_x509(buf, 256, &r);
	assert_refused(&r, INSPECT_MALFORMED);

	/* not a type-1 block: accepted, no hash established */
	fill(buf, 256, 0x80);
	buf[0] = 0x7f;
	inspect_rsa_x509(buf, 256, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	assert_int_equal(r.basis, INSPECT_BASIS_NONE);
	memset(buf, 0, 256);
	inspect_rsa_x509(buf, 256, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	inspect_rsa_x509(buf, 0, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
}

/* --- raw ECDSA ---------------------------------------------------------------- */

static void test_ecdsa_established(void **state)
{
	(void)state;
	unsigned char in[66];
	inspect_result_t r;
	static const struct {
		unsigned bits;
		size_t len;
		hash_alg_t h;
	} ok[] = {
		{ 256, 20, HASH_SHA1 },   { 256, 28, HASH_SHA224 }, { 256, 32, HASH_SHA256 },
		{ 384, 32, HASH_SHA256 }, { 384, 48, HASH_SHA384 }, { 521, 32, HASH_SHA256 },
		{ 521, 48, HASH_SHA384 }, { 521, 64, HASH_SHA512 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		fill(in, ok[i].len, (unsigned char)i);
		inspect_ecdsa(in, ok[i].len, ok[i].bits, 0, &r);
		assert_int_equal(r.status, INSPECT_OK);
		assert_int_equal(r.hash, ok[i].h);
		assert_int_equal(r.basis, INSPECT_BASIS_INPUT_LENGTH);
		assert_int_equal(r.digest_len, ok[i].len);
		assert_memory_equal(r.digest, in, ok[i].len);
	}
	/* 3 leading zero bytes of a SHA-256 digest: no shorter digest fits */
	fill(in, 32, 1);
	memset(in, 0, 3);
	inspect_ecdsa(in, 32, 256, 0, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_SHA256);
}

static void test_ecdsa_disguised(void **state)
{
	(void)state;
	unsigned char in[66];
	inspect_result_t r;
	/* the attack: 12 zero bytes + a SHA-1 digest on P-256 */
	fill(in, 32, 5);
	memset(in, 0, 12);
	inspect_ecdsa(in, 32, 256, 0, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
	assert_non_null(strstr(r.detail, "SHA1"));
	/* 4 zero bytes: a SHA-224 digest in disguise */
	fill(in, 32, 5);
	memset(in, 0, 4);
	inspect_ecdsa(in, 32, 256, 0, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
	assert_non_null(strstr(r.detail, "SHA224"));
	/* 8 zero bytes before a 20-byte value in a 28-byte input */
	fill(in, 28, 5);
	memset(in, 0, 8);
	inspect_ecdsa(in, 28, 256, 0, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
	/* SHA-384 input on P-384 carrying a SHA-256 digest */
	fill(in, 48, 5);
	memset(in, 0, 16);
	inspect_ecdsa(in, 48, 384, 0, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
	/* SHA-512 input on P-521 carrying a SHA-384 digest */
	fill(in, 64, 5);
	memset(in, 0, 16);
	inspect_ecdsa(in, 64, 521, 0, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
	/* all zeros */
	memset(in, 0, 64);
	inspect_ecdsa(in, 32, 256, 0, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
	/* opted-in truncation: the leftmost 32 bytes are judged */
	fill(in, 48, 5);
	memset(in, 0, 12);
	inspect_ecdsa(in, 48, 256, 1u << HASH_SHA384, &r);
	assert_refused(&r, INSPECT_HASH_DISGUISED);
}

static void test_ecdsa_truncated(void **state)
{
	(void)state;
	unsigned char in[66];
	inspect_result_t r;
	fill(in, 64, 9);
	/* 48 bytes on P-256: the token signs the leftmost 32 */
	inspect_ecdsa(in, 48, 256, 0, &r);
	assert_refused(&r, INSPECT_HASH_TRUNCATED);
	/* the opt-in names another hash: still refused */
	inspect_ecdsa(in, 48, 256, 1u << HASH_SHA512, &r);
	assert_refused(&r, INSPECT_HASH_TRUNCATED);
	/* opted in for SHA-384 on this key */
	inspect_ecdsa(in, 48, 256, 1u << HASH_SHA384, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_SHA384);
	assert_int_equal(r.basis, INSPECT_BASIS_INPUT_LENGTH);
	assert_int_equal(r.digest_len, 48);
	/* 64 bytes on P-256 and P-384 */
	inspect_ecdsa(in, 64, 256, 0, &r);
	assert_refused(&r, INSPECT_HASH_TRUNCATED);
	inspect_ecdsa(in, 64, 384, 0, &r);
	assert_refused(&r, INSPECT_HASH_TRUNCATED);
	inspect_ecdsa(in, 64, 384, 1u << HASH_SHA512, &r);
	assert_int_equal(r.hash, HASH_SHA512);
	/* a curve of 160 bits: SHA-256 is longer */
	inspect_ecdsa(in, 32, 160, 0, &r);
	assert_refused(&r, INSPECT_HASH_TRUNCATED);
}

static void test_ecdsa_other_refusals(void **state)
{
	(void)state;
	unsigned char in[80];
	inspect_result_t r;
	fill(in, sizeof(in), 2);
	inspect_ecdsa(in, 32, 0, 0, &r);
	assert_refused(&r, INSPECT_CURVE_UNKNOWN);
	inspect_ecdsa(NULL, 32, 256, 0, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	static const size_t bad[] = { 0, 1, 19, 21, 31, 33, 47, 63, 65, 66, 80 };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		inspect_ecdsa(in, bad[i], 521, 0xff, &r);
		assert_refused(&r, INSPECT_HASH_UNKNOWN);
	}
}

/* --- PSS -------------------------------------------------------------------------- */

static void test_pss_params(void **state)
{
	(void)state;
	inspect_result_t r;
	static const struct {
		unsigned long ckm, mgf;
		hash_alg_t h;
	} ok[] = {
		{ CKM_SHA_1, CKG_MGF1_SHA1, HASH_SHA1 },
		{ CKM_SHA224, CKG_MGF1_SHA224, HASH_SHA224 },
		{ CKM_SHA256, CKG_MGF1_SHA256, HASH_SHA256 },
		{ CKM_SHA384, CKG_MGF1_SHA384, HASH_SHA384 },
		{ CKM_SHA512, CKG_MGF1_SHA512, HASH_SHA512 },
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		inspect_pss_params(HASH_UNKNOWN, ok[i].ckm, ok[i].mgf, hash_len(ok[i].h), &r);
		assert_int_equal(r.status, INSPECT_OK);
		assert_int_equal(r.hash, ok[i].h);
		assert_int_equal(r.basis, INSPECT_BASIS_PSS_PARAMS);
		/* the hashing mechanism of the same hash */
		inspect_pss_params(ok[i].h, ok[i].ckm, ok[i].mgf, 0, &r);
		assert_int_equal(r.hash, ok[i].h);
	}
	inspect_pss_params(HASH_UNKNOWN, CKM_SHA256, CKG_MGF1_SHA256, 16384 / 8, &r);
	assert_int_equal(r.status, INSPECT_OK);

	inspect_pss_params(HASH_UNKNOWN, CKM_MD5, CKG_MGF1_SHA256, 32, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
	inspect_pss_params(HASH_SHA256, CKM_SHA384, CKG_MGF1_SHA384, 48, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
	inspect_pss_params(HASH_UNKNOWN, CKM_SHA256, CKG_MGF1_SHA1, 32, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
	inspect_pss_params(HASH_UNKNOWN, CKM_SHA256, 0x77, 32, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
	inspect_pss_params(HASH_UNKNOWN, CKM_SHA256, CKG_MGF1_SHA256, 16384 / 8 + 1, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
	inspect_pss_params(HASH_UNKNOWN, CKM_SHA256, CKG_MGF1_SHA256, (unsigned long)-1, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
}

static void test_pss_input(void **state)
{
	(void)state;
	unsigned char in[64];
	inspect_result_t r;
	fill(in, sizeof(in), 1);
	inspect_pss_input(HASH_SHA256, in, 32, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_SHA256);
	assert_int_equal(r.basis, INSPECT_BASIS_PSS_PARAMS);
	assert_int_equal(r.digest_len, 32);
	inspect_pss_input(HASH_SHA512, in, 64, &r);
	assert_int_equal(r.hash, HASH_SHA512);

	inspect_pss_input(HASH_SHA256, in, 48, &r);
	assert_refused(&r, INSPECT_LENGTH_MISMATCH);
	inspect_pss_input(HASH_SHA384, in, 32, &r);
	assert_refused(&r, INSPECT_LENGTH_MISMATCH);
	inspect_pss_input(HASH_SHA256, NULL, 32, &r);
	assert_refused(&r, INSPECT_LENGTH_MISMATCH);
	inspect_pss_input(HASH_UNKNOWN, in, 32, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
	inspect_pss_input(HASH_NONE, in, 32, &r);
	assert_refused(&r, INSPECT_PSS_PARAMS_INVALID);
}

/* --- CMS signed attributes --------------------------------------------------------- */

static const unsigned char attr_ct[] = { /* contentType = id-data */
	                                 0x30, 0x18, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	                                 0x0d, 0x01, 0x09, 0x03, 0x31, 0x0b, 0x06, 0x09, 0x2a,
	                                 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01
};
static const unsigned char md_head[] = { /* messageDigest, SET { OCTET STRING (32) } */
	                                 0x30, 0x2f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
	                                 0x0d, 0x01, 0x09, 0x04, 0x31, 0x22, 0x04, 0x20
};

/* SET OF { parts... } with a short-form length. */
static size_t set_of(unsigned char *out, const unsigned char *const *parts, const size_t *lens,
                     size_t n)
{
	size_t len = 2;
	for (size_t i = 0; i < n; i++) {
		memcpy(out + len, parts[i], lens[i]);
		len += lens[i];
	}
	out[0] = 0x31;
	out[1] = (unsigned char)(len - 2);
	return len;
}

static size_t make_md(unsigned char *out, unsigned char seed)
{
	memcpy(out, md_head, sizeof(md_head));
	fill(out + sizeof(md_head), 32, seed);
	return sizeof(md_head) + 32;
}

static void test_cms_accepts(void **state)
{
	(void)state;
	unsigned char md[64], buf[256];
	size_t mdl = make_md(md, 0x10);
	const unsigned char *parts[] = { attr_ct, md };
	size_t lens[] = { sizeof(attr_ct), mdl };
	size_t n = set_of(buf, parts, lens, 2);
	inspect_result_t r;

	inspect_cms_attributes(HASH_SHA256, buf, n, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_SHA256);
	assert_int_equal(r.basis, INSPECT_BASIS_MECHANISM);
	assert_int_equal(r.digest_len, 32);
	assert_memory_equal(r.digest, md + sizeof(md_head), 32);

	/* messageDigest alone */
	n = set_of(buf, parts + 1, lens + 1, 1);
	inspect_cms_attributes(HASH_SHA384, buf, n, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_SHA384);

	/* a mechanism that names no hash (EdDSA; or one not known): the
	 * attributes are still read and their digest bound, but no hash is
	 * claimed for them */
	n = set_of(buf, parts, lens, 2);
	inspect_cms_attributes(HASH_NONE, buf, n, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	assert_int_equal(r.basis, INSPECT_BASIS_NONE);
	assert_int_equal(r.digest_len, 32);
	assert_memory_equal(r.digest, md + sizeof(md_head), 32);
	inspect_cms_attributes(HASH_UNKNOWN, buf, n, &r);
	assert_int_equal(r.status, INSPECT_OK);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	assert_int_equal(r.basis, INSPECT_BASIS_NONE);
	assert_int_equal(r.digest_len, 32);
}

static void test_cms_plain_message(void **state)
{
	(void)state;
	inspect_result_t r;
	static const unsigned char msg[] = "signgate test data\n";
	inspect_cms_attributes(HASH_SHA256, msg, sizeof(msg) - 1, &r);
	assert_int_equal(r.status, INSPECT_NOT_CMS);
	assert_false(inspect_refused(&r));
	assert_int_equal(r.hash, HASH_SHA256);
	assert_int_equal(r.basis, INSPECT_BASIS_MECHANISM);
	assert_int_equal(r.digest_len, 0);
	/* starts like a SET but its length does not span the input */
	static const unsigned char one[] = "1.2.3 release";
	inspect_cms_attributes(HASH_SHA256, one, sizeof(one) - 1, &r);
	assert_int_equal(r.status, INSPECT_NOT_CMS);
	static const unsigned char longform[] = { 0x31, 0x85, 1, 2, 3, 4, 5, 6 };
	inspect_cms_attributes(HASH_SHA256, longform, sizeof(longform), &r);
	assert_int_equal(r.status, INSPECT_NOT_CMS);
	static const unsigned char cut[] = { 0x31, 0x82, 0x01 };
	inspect_cms_attributes(HASH_SHA256, cut, sizeof(cut), &r);
	assert_int_equal(r.status, INSPECT_NOT_CMS);
	inspect_cms_attributes(HASH_SHA256, NULL, 0, &r);
	assert_int_equal(r.status, INSPECT_NOT_CMS);
	inspect_cms_attributes(HASH_SHA256, one, 1, &r);
	assert_int_equal(r.status, INSPECT_NOT_CMS);
	/* EdDSA: no hash to name */
	inspect_cms_attributes(HASH_NONE, msg, sizeof(msg) - 1, &r);
	assert_int_equal(r.hash, HASH_UNKNOWN);
	assert_int_equal(r.basis, INSPECT_BASIS_NONE);
}

static void test_cms_refusals(void **state)
{
	(void)state;
	unsigned char md1[64], md2[64], buf[512], other[64];
	size_t l1 = make_md(md1, 0x10), l2 = make_md(md2, 0x20), n;
	inspect_result_t r;

	/* two messageDigest attributes (in DER order) */
	{
		const unsigned char *parts[] = { attr_ct, md1, md2 };
		size_t lens[] = { sizeof(attr_ct), l1, l2 };
		n = set_of(buf, parts, lens, 3);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
		assert_non_null(strstr(r.detail, "messageDigest"));
	}
	/* two identical messageDigest attributes */
	{
		const unsigned char *parts[] = { md1, md1 };
		size_t lens[] = { l1, l1 };
		n = set_of(buf, parts, lens, 2);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* two contentType attributes */
	{
		const unsigned char *parts[] = { attr_ct, attr_ct, md1 };
		size_t lens[] = { sizeof(attr_ct), sizeof(attr_ct), l1 };
		n = set_of(buf, parts, lens, 3);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* not in DER order */
	{
		const unsigned char *parts[] = { md1, attr_ct };
		size_t lens[] = { l1, sizeof(attr_ct) };
		n = set_of(buf, parts, lens, 2);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* no messageDigest */
	{
		const unsigned char *parts[] = { attr_ct };
		size_t lens[] = { sizeof(attr_ct) };
		n = set_of(buf, parts, lens, 1);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* an empty SET */
	buf[0] = 0x31;
	buf[1] = 0;
	inspect_cms_attributes(HASH_SHA256, buf, 2, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* messageDigest with two values */
	{
		unsigned char two[128];
		memcpy(two, md_head, sizeof(md_head));
		two[1] = 0x51;
		two[14] = 0x44;
		fill(two + 17, 32, 1);
		two[49] = 0x04;
		two[50] = 0x20;
		fill(two + 51, 32, 2);
		const unsigned char *parts[] = { two };
		size_t lens[] = { 83 };
		n = set_of(buf, parts, lens, 1);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* messageDigest value an INTEGER */
	memcpy(other, md1, l1);
	other[15] = 0x02;
	{
		const unsigned char *parts[] = { other };
		size_t lens[] = { l1 };
		n = set_of(buf, parts, lens, 1);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* messageDigest of 31 bytes */
	memcpy(other, md_head, sizeof(md_head));
	other[1] = 0x2e;
	other[14] = 0x21;
	other[16] = 0x1f;
	fill(other + 17, 31, 3);
	{
		const unsigned char *parts[] = { other };
		size_t lens[] = { 48 };
		n = set_of(buf, parts, lens, 1);
		inspect_cms_attributes(HASH_SHA256, buf, n, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* a SET of something else */
	static const unsigned char ints[] = { 0x31, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02 };
	inspect_cms_attributes(HASH_SHA256, ints, sizeof(ints), &r);
	assert_refused(&r, INSPECT_MALFORMED);
	/* non-minimal long-form length of a valid set */
	{
		const unsigned char *parts[] = { md1 };
		size_t lens[] = { l1 };
		n = set_of(buf + 1, parts, lens, 1);
		buf[0] = 0x31;
		buf[1] = 0x81;
		buf[2] = (unsigned char)(n - 2);
		inspect_cms_attributes(HASH_SHA256, buf, n + 1, &r);
		assert_refused(&r, INSPECT_MALFORMED);
	}
	/* indefinite length (BER) */
	buf[0] = 0x31;
	buf[1] = 0x80;
	memcpy(buf + 2, md1, l1);
	buf[2 + l1] = 0;
	buf[3 + l1] = 0;
	inspect_cms_attributes(HASH_SHA256, buf, l1 + 4, &r);
	assert_refused(&r, INSPECT_MALFORMED);
}

static void test_cms_oversized(void **state)
{
	(void)state;
	size_t n = (1u << 20) + 8;
	unsigned char *big = test_calloc(1, n);
	inspect_result_t r;
	big[0] = 0x31;
	big[1] = 0x84;
	size_t cl = n - 6;
	big[2] = (unsigned char)(cl >> 24);
	big[3] = (unsigned char)(cl >> 16);
	big[4] = (unsigned char)(cl >> 8);
	big[5] = (unsigned char)cl;
	inspect_cms_attributes(HASH_SHA256, big, n, &r);
	assert_refused(&r, INSPECT_MALFORMED);
	test_free(big);
}

/* --- curves, names ----------------------------------------------------------------- */

static void test_ec_order_bits(void **state)
{
	(void)state;
	static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
		                              0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const unsigned char p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
	static const unsigned char k256[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x0a };
	unsigned char buf[16];

	assert_int_equal(inspect_ec_order_bits(p256, sizeof(p256)), 256);
	assert_int_equal(inspect_ec_order_bits(p384, sizeof(p384)), 384);
	assert_int_equal(inspect_ec_order_bits(p521, sizeof(p521)), 521);
	assert_int_equal(inspect_ec_order_bits(k256, sizeof(k256)), 256);
	assert_int_equal(inspect_ec_order_bits(NULL, 10), 0);
	assert_int_equal(inspect_ec_order_bits(p256, 0), 0);
	assert_int_equal(inspect_ec_order_bits(p256, sizeof(p256) - 1), 0);
	memcpy(buf, p256, sizeof(p256));
	buf[sizeof(p256)] = 0;
	assert_int_equal(inspect_ec_order_bits(buf, sizeof(p256) + 1), 0);
	/* an OID that is no curve (sha256) */
	static const unsigned char sha[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
		                             0x65, 0x03, 0x04, 0x02, 0x01 };
	assert_int_equal(inspect_ec_order_bits(sha, sizeof(sha)), 0);
	/* longer than any curve's parameters: not parsed at all */
	assert_int_equal(inspect_ec_order_bits(p256, 4097), 0);
	/* Ed25519 parameters as printable string */
	static const unsigned char ed[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
		                            'd',  's',  '2', '5', '5', '1', '9' };
	assert_int_equal(inspect_ec_order_bits(ed, sizeof(ed)), 0);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(inspect_status_name(INSPECT_HASH_DISGUISED), "hash-disguised");
	assert_string_equal(inspect_status_name(INSPECT_STATUS_COUNT), "unknown");
	for (int i = 0; i < INSPECT_STATUS_COUNT; i++)
		assert_non_null(inspect_status_name((inspect_status_t)i));
	assert_null(inspect_basis_name(INSPECT_BASIS_NONE));
	assert_null(inspect_basis_name(INSPECT_BASIS_COUNT));
	assert_string_equal(inspect_basis_name(INSPECT_BASIS_MECHANISM), "mechanism");
	assert_string_equal(inspect_basis_name(INSPECT_BASIS_DIGESTINFO), "digestinfo");
	assert_string_equal(inspect_basis_name(INSPECT_BASIS_PSS_PARAMS), "pss-params");
	assert_string_equal(inspect_basis_name(INSPECT_BASIS_INPUT_LENGTH), "input-length");

	assert_int_equal(inspect_mech_basis(MECH_UNKNOWN), INSPECT_BASIS_NONE);
	assert_int_equal(inspect_mech_basis(MECH_COUNT), INSPECT_BASIS_NONE);
	assert_int_equal(inspect_mech_basis(MECH_RSA_PKCS), INSPECT_BASIS_DIGESTINFO);
	assert_int_equal(inspect_mech_basis(MECH_RSA_X_509), INSPECT_BASIS_DIGESTINFO);
	assert_int_equal(inspect_mech_basis(MECH_RSA_PKCS_PSS), INSPECT_BASIS_PSS_PARAMS);
	assert_int_equal(inspect_mech_basis(MECH_ECDSA), INSPECT_BASIS_INPUT_LENGTH);
	assert_int_equal(inspect_mech_basis(MECH_SHA256_RSA_PKCS), INSPECT_BASIS_MECHANISM);
	assert_int_equal(inspect_mech_basis(MECH_SHA384_RSA_PKCS_PSS), INSPECT_BASIS_MECHANISM);
	assert_int_equal(inspect_mech_basis(MECH_ECDSA_SHA512), INSPECT_BASIS_MECHANISM);
	assert_int_equal(inspect_mech_basis(MECH_EDDSA), INSPECT_BASIS_MECHANISM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_digestinfo_accepts_each_hash),
		cmocka_unit_test(test_digestinfo_absent_params),
		cmocka_unit_test(test_digestinfo_refusals),
		cmocka_unit_test(test_rsa_x509),
		cmocka_unit_test(test_ecdsa_established),
		cmocka_unit_test(test_ecdsa_disguised),
		cmocka_unit_test(test_ecdsa_truncated),
		cmocka_unit_test(test_ecdsa_other_refusals),
		cmocka_unit_test(test_pss_params),
		cmocka_unit_test(test_pss_input),
		cmocka_unit_test(test_cms_accepts),
		cmocka_unit_test(test_cms_plain_message),
		cmocka_unit_test(test_cms_refusals),
		cmocka_unit_test(test_cms_oversized),
		cmocka_unit_test(test_ec_order_bits),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

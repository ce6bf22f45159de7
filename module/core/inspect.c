/* signgate: the data inspector (see inspect.h). */
#include "inspect.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/asn1t.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <p11-kit/pkcs11.h>

static const char *const status_names[INSPECT_STATUS_COUNT] = {
	[INSPECT_OK] = "ok",
	[INSPECT_NOT_CMS] = "not-cms",
	[INSPECT_MALFORMED] = "data-malformed",
	[INSPECT_HASH_UNKNOWN] = "hash-unknown",
	[INSPECT_HASH_DISGUISED] = "hash-disguised",
	[INSPECT_HASH_TRUNCATED] = "hash-truncated",
	[INSPECT_CURVE_UNKNOWN] = "curve-unknown",
	[INSPECT_PSS_PARAMS_INVALID] = "pss-params-invalid",
	[INSPECT_LENGTH_MISMATCH] = "length-mismatch",
};

static const char *const basis_names[INSPECT_BASIS_COUNT] = {
	[INSPECT_BASIS_NONE] = NULL,
	[INSPECT_BASIS_MECHANISM] = "mechanism",
	[INSPECT_BASIS_DIGESTINFO] = "digestinfo",
	[INSPECT_BASIS_PSS_PARAMS] = "pss-params",
	[INSPECT_BASIS_INPUT_LENGTH] = "input-length",
};

const char *inspect_status_name(inspect_status_t s)
{
	if ((unsigned)s >= INSPECT_STATUS_COUNT)
		return "unknown";
	return status_names[s];
}

const char *inspect_basis_name(inspect_basis_t b)
{
	if ((unsigned)b >= INSPECT_BASIS_COUNT)
		return NULL;
	return basis_names[b];
}

inspect_basis_t inspect_mech_basis(mech_id_t m)
{
	switch (m) {
	case MECH_UNKNOWN:
	case MECH_COUNT: return INSPECT_BASIS_NONE;
	case MECH_RSA_PKCS:
	case MECH_RSA_X_509: return INSPECT_BASIS_DIGESTINFO;
	case MECH_RSA_PKCS_PSS: return INSPECT_BASIS_PSS_PARAMS;
	case MECH_ECDSA: return INSPECT_BASIS_INPUT_LENGTH;
	default:
		return mech_fixed_hash(m) != HASH_UNKNOWN ? INSPECT_BASIS_MECHANISM
		                                          : INSPECT_BASIS_NONE;
	}
}

static void result_init(inspect_result_t *r)
{
	memset(r, 0, sizeof(*r));
	r->status = INSPECT_OK;
	r->hash = HASH_UNKNOWN;
	r->basis = INSPECT_BASIS_NONE;
}

/* A refusal: no hash is established by a refused input. */
__attribute__((format(printf, 3, 4))) static void refuse(inspect_result_t *r, inspect_status_t st,
                                                         const char *fmt, ...)
{
	va_list ap;

	r->status = st;
	r->hash = HASH_UNKNOWN;
	r->basis = INSPECT_BASIS_NONE;
	r->digest_len = 0;
	va_start(ap, fmt);
	vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
	va_end(ap);
}

static void establish(inspect_result_t *r, hash_alg_t h, inspect_basis_t b,
                      const unsigned char *dig, size_t dlen)
{
	r->status = INSPECT_OK;
	r->hash = h;
	r->basis = b;
	r->digest_len = 0;
	if (dig && dlen <= sizeof(r->digest)) {
		memcpy(r->digest, dig, dlen);
		r->digest_len = dlen;
	}
}

static hash_alg_t hash_of_nid(int nid)
{
	switch (nid) {
	case NID_sha1: return HASH_SHA1;
	case NID_sha224: return HASH_SHA224;
	case NID_sha256: return HASH_SHA256;
	case NID_sha384: return HASH_SHA384;
	case NID_sha512: return HASH_SHA512;
	default: return HASH_UNKNOWN;
	}
}

/* The digest lengths of the hashes the gate knows, shortest first. */
static const hash_alg_t hashes_by_len[] = { HASH_SHA1, HASH_SHA224, HASH_SHA256, HASH_SHA384,
	                                    HASH_SHA512 };

static hash_alg_t hash_of_len(size_t len)
{
	for (size_t i = 0; i < sizeof(hashes_by_len) / sizeof(hashes_by_len[0]); i++)
		if (hash_len(hashes_by_len[i]) == len)
			return hashes_by_len[i];
	return HASH_UNKNOWN;
}

/* --- DigestInfo ------------------------------------------------------------ */

void inspect_digestinfo(const unsigned char *in, size_t len, inspect_result_t *r)
{
	const unsigned char *p = in;
	unsigned char *re = NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_OCTET_STRING *dig = NULL;
	const ASN1_OBJECT *obj = NULL;
	const void *pval = NULL;
	int ptype = V_ASN1_UNDEF, relen;
	X509_SIG *sig;
	hash_alg_t h;

	result_init(r);
	/* The longest DigestInfo (SHA-512 with NULL params) is 83 bytes. */
	if (!in || len < 2 || len > 256) {
		refuse(r, INSPECT_MALFORMED, "input of %zu bytes is no DigestInfo", len);
		return;
	}
	/* Decoding errors are answers here, not errors of the host's
	 * OpenSSL: they leave its error queue as it was. */
	ERR_set_mark();
	sig = d2i_X509_SIG(NULL, &p, (long)len);
	if (!sig || p != in + len) {
		refuse(r, INSPECT_MALFORMED, "not a DER DigestInfo spanning the whole input");
		goto out;
	}
	relen = i2d_X509_SIG(sig, &re);
	if (relen < 0 || (size_t)relen != len || memcmp(re, in, len) != 0) {
		refuse(r, INSPECT_MALFORMED, "DigestInfo is not in canonical DER");
		goto out;
	}
	X509_SIG_get0(sig, &alg, &dig);
	X509_ALGOR_get0(&obj, &ptype, &pval, alg);
	/* RFC 8017: parameters NULL; absent is seen too and means the same. */
	if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
		refuse(r, INSPECT_MALFORMED,
		       "DigestInfo algorithm parameters are neither NULL nor absent");
		goto out;
	}
	h = hash_of_nid(OBJ_obj2nid(obj));
	if (h == HASH_UNKNOWN) {
		char oid[64];
		if (OBJ_obj2txt(oid, sizeof(oid), obj, 1) <= 0)
			snprintf(oid, sizeof(oid), "?");
		refuse(r, INSPECT_HASH_UNKNOWN,
		       "DigestInfo names hash %s, which signgate does not know", oid);
		goto out;
	}
	if ((size_t)ASN1_STRING_length(dig) != hash_len(h)) {
		refuse(r, INSPECT_MALFORMED, "DigestInfo digest of %d bytes for %s (%zu)",
		       ASN1_STRING_length(dig), hash_name(h), hash_len(h));
		goto out;
	}
	establish(r, h, INSPECT_BASIS_DIGESTINFO, ASN1_STRING_get0_data(dig), hash_len(h));
out:
	OPENSSL_free(re);
	X509_SIG_free(sig);
	ERR_pop_to_mark();
}

/* --- raw RSA ------------------------------------------------------------------ */

void inspect_rsa_x509(const unsigned char *in, size_t len, inspect_result_t *r)
{
	size_t i = 0, ff = 0;

	result_init(r);
	if (!in) {
		refuse(r, INSPECT_MALFORMED, "no input");
		return;
	}
	/* Leading zero bytes do not change the integer the token exponentiates. */
	while (i < len && in[i] == 0x00)
		i++;
	if (i == len || in[i] != 0x01) {
		snprintf(r->detail, sizeof(r->detail),
		         "raw RSA block, not a PKCS#1 v1.5 signature block");
		return; /* accepted, nothing established */
	}
	/* 01 FF..FF 00 DigestInfo: at least 8 FF bytes (RFC 8017 9.2). */
	for (i++; i < len && in[i] == 0xff; i++)
		ff++;
	if (ff < 8 || i == len || in[i] != 0x00) {
		refuse(r, INSPECT_MALFORMED, "PKCS#1 v1.5 block with bad padding");
		return;
	}
	i++;
	/* Every DigestInfo a verifier could read, DER or not, starts with a
	 * SEQUENCE tag; a block whose payload does not names no hash
	 * (pkcs11-tool --test signs 01 FF.. 00 and zeros). */
	if (i == len || in[i] != 0x30) {
		snprintf(r->detail, sizeof(r->detail), "PKCS#1 v1.5 block without a DigestInfo");
		return; /* accepted, nothing established */
	}
	inspect_digestinfo(in + i, len - i, r);
	if (r->status == INSPECT_MALFORMED)
		snprintf(r->detail, sizeof(r->detail),
		         "PKCS#1 v1.5 block without a strict DigestInfo");
}

/* --- raw ECDSA ---------------------------------------------------------------- */

void inspect_ecdsa(const unsigned char *in, size_t len, unsigned order_bits, uint32_t truncate_ok,
                   inspect_result_t *r)
{
	size_t used, zeros = 0;
	hash_alg_t h;

	result_init(r);
	if (order_bits == 0) {
		refuse(r, INSPECT_CURVE_UNKNOWN, "the key's curve order size is not known");
		return;
	}
	if (!in) {
		refuse(r, INSPECT_MALFORMED, "no input");
		return;
	}
	h = hash_of_len(len);
	if (h == HASH_UNKNOWN) {
		refuse(r, INSPECT_HASH_UNKNOWN, "input of %zu bytes is no known digest length",
		       len);
		return;
	}
	/* ECDSA uses the leftmost order_bits bits of a longer input (SEC 1
	 * 4.1.3 step 5): the rest never reaches the signature, so the hash
	 * cannot be judged by the policy unless the key opts in. */
	used = len;
	if ((unsigned long long)len * 8 > order_bits) {
		if (!(truncate_ok & (1u << h))) {
			refuse(r, INSPECT_HASH_TRUNCATED,
			       "%zu-byte input is longer than the %u-bit curve order: only its leftmost %u bits are "
			       "signed",
			       len, order_bits, order_bits);
			return;
		}
		used = (order_bits + 7) / 8;
	}
	/* A shorter digest in disguise: zero bytes in front of it make the
	 * same integer, so the signature verifies under the shorter hash. */
	while (zeros < used && in[zeros] == 0x00)
		zeros++;
	for (size_t i = 0; i < sizeof(hashes_by_len) / sizeof(hashes_by_len[0]); i++) {
		size_t d = hash_len(hashes_by_len[i]);
		if (d < used && zeros >= used - d) {
			refuse(r, INSPECT_HASH_DISGUISED,
			       "%zu leading zero bytes: the value is also a %s digest", zeros,
			       hash_name(hashes_by_len[i]));
			return;
		}
	}
	establish(r, h, INSPECT_BASIS_INPUT_LENGTH, in, len);
}

/* --- PSS ------------------------------------------------------------------------ */

static hash_alg_t hash_of_mgf(unsigned long mgf)
{
	switch (mgf) {
	case CKG_MGF1_SHA1: return HASH_SHA1;
	case CKG_MGF1_SHA224: return HASH_SHA224;
	case CKG_MGF1_SHA256: return HASH_SHA256;
	case CKG_MGF1_SHA384: return HASH_SHA384;
	case CKG_MGF1_SHA512: return HASH_SHA512;
	default: return HASH_UNKNOWN;
	}
}

/* The largest salt any RSA key a token holds can take: emLen - hLen - 2
 * for a 16384-bit modulus.  The token checks the exact bound for its key. */
#define PSS_SALT_MAX (16384 / 8)

void inspect_pss_params(hash_alg_t mech_hash, unsigned long hash_ckm, unsigned long mgf,
                        unsigned long slen, inspect_result_t *r)
{
	hash_alg_t h = mech_hash_from_ckm_digest(hash_ckm), mh = hash_of_mgf(mgf);

	result_init(r);
	if (h == HASH_UNKNOWN) {
		refuse(r, INSPECT_PSS_PARAMS_INVALID, "PSS hashAlg 0x%lx is no hash signgate knows",
		       hash_ckm);
		return;
	}
	if (mech_hash != HASH_UNKNOWN && mech_hash != h) {
		refuse(r, INSPECT_PSS_PARAMS_INVALID,
		       "PSS hashAlg %s differs from the mechanism's %s", hash_name(h),
		       hash_name(mech_hash));
		return;
	}
	if (mh != h) {
		refuse(r, INSPECT_PSS_PARAMS_INVALID, "PSS MGF1 hash %s differs from hashAlg %s",
		       mh == HASH_UNKNOWN ? "unknown" : hash_name(mh), hash_name(h));
		return;
	}
	if (slen > PSS_SALT_MAX) {
		refuse(r, INSPECT_PSS_PARAMS_INVALID, "PSS sLen %lu is larger than any key allows",
		       slen);
		return;
	}
	establish(r, h, INSPECT_BASIS_PSS_PARAMS, NULL, 0);
}

void inspect_pss_input(hash_alg_t params_hash, const unsigned char *in, size_t len,
                       inspect_result_t *r)
{
	result_init(r);
	if (params_hash == HASH_UNKNOWN || params_hash == HASH_NONE) {
		refuse(r, INSPECT_PSS_PARAMS_INVALID, "PSS without a known hash");
		return;
	}
	if (!in || len != hash_len(params_hash)) {
		refuse(r, INSPECT_LENGTH_MISMATCH, "PSS input of %zu bytes, %s takes %zu", len,
		       hash_name(params_hash), hash_len(params_hash));
		return;
	}
	establish(r, params_hash, INSPECT_BASIS_PSS_PARAMS, in, len);
}

/* --- CMS signed attributes -------------------------------------------------------- */

/* SignedAttributes ::= SET SIZE (1..MAX) OF Attribute (RFC 5652 5.3). */
typedef STACK_OF(X509_ATTRIBUTE) SG_SIGNED_ATTRS;
ASN1_ITEM_TEMPLATE(SG_SIGNED_ATTRS) = ASN1_EX_TEMPLATE_TYPE(ASN1_TFLG_SET_OF, 0, SignedAttributes,
                                                            X509_ATTRIBUTE)
        static_ASN1_ITEM_TEMPLATE_END(SG_SIGNED_ATTRS)

        /* Does the input present itself as a DER SET: tag 0x31 and a definite
 * length spanning exactly the input, or an indefinite length (BER, which
 * a lenient verifier might still read)?  Such input is judged as signed
 * attributes; anything else is a plain message. */
        static bool claims_set(const unsigned char *in, size_t len)
{
	size_t hl, cl = 0;

	if (len < 2 || in[0] != 0x31)
		return false;
	if (in[1] == 0x80)
		return true;
	if (in[1] < 0x80) {
		hl = 2;
		cl = in[1];
	} else {
		size_t n = in[1] & 0x7f;
		if (n > 4 || len < 2 + n)
			return false;
		for (size_t i = 0; i < n; i++)
			cl = cl << 8 | in[2 + i];
		hl = 2 + n;
	}
	return hl <= len && cl == len - hl;
}

void inspect_cms_attributes(hash_alg_t mech_hash, const unsigned char *in, size_t len,
                            inspect_result_t *r)
{
	const unsigned char *p = in;
	unsigned char *re = NULL;
	SG_SIGNED_ATTRS *attrs = NULL;
	ASN1_OBJECT *md_oid = OBJ_nid2obj(NID_pkcs9_messageDigest);
	const ASN1_OCTET_STRING *md = NULL;
	int n, relen, n_md = 0;

	result_init(r);
	if (mech_hash != HASH_UNKNOWN && mech_hash != HASH_NONE) {
		r->hash = mech_hash;
		r->basis = INSPECT_BASIS_MECHANISM;
	}
	if (!in || !claims_set(in, len)) {
		r->status = INSPECT_NOT_CMS;
		return;
	}
	if (len > (1u << 20)) {
		refuse(r, INSPECT_MALFORMED, "signed attributes of %zu bytes", len);
		return;
	}
	ERR_set_mark();
	attrs = (SG_SIGNED_ATTRS *)ASN1_item_d2i(NULL, &p, (long)len,
	                                         ASN1_ITEM_rptr(SG_SIGNED_ATTRS));
	if (!attrs || p != in + len) {
		refuse(r, INSPECT_MALFORMED, "a SET that is not DER CMS signed attributes");
		goto out;
	}
	relen = ASN1_item_i2d((ASN1_VALUE *)attrs, &re, ASN1_ITEM_rptr(SG_SIGNED_ATTRS));
	if (relen < 0 || (size_t)relen != len || memcmp(re, in, len) != 0) {
		refuse(r, INSPECT_MALFORMED, "signed attributes are not in canonical DER");
		goto out;
	}
	n = sk_X509_ATTRIBUTE_num(attrs);
	for (int i = 0; i < n; i++) {
		X509_ATTRIBUTE *a = sk_X509_ATTRIBUTE_value(attrs, i);
		const ASN1_OBJECT *t = X509_ATTRIBUTE_get0_object(a);
		/* Each attribute type once: two answers to one question are
		 * read differently by different verifiers. */
		for (int j = 0; j < i; j++) {
			if (OBJ_cmp(t, X509_ATTRIBUTE_get0_object(
			                       sk_X509_ATTRIBUTE_value(attrs, j))) == 0) {
				refuse(r, INSPECT_MALFORMED,
				       "signed attributes repeat an attribute type%s",
				       OBJ_cmp(t, md_oid) == 0 ? " (messageDigest)" : "");
				goto out;
			}
		}
		if (OBJ_cmp(t, md_oid) != 0)
			continue;
		n_md++;
		if (X509_ATTRIBUTE_count(a) != 1) {
			refuse(r, INSPECT_MALFORMED, "messageDigest with %d values",
			       X509_ATTRIBUTE_count(a));
			goto out;
		}
		ASN1_TYPE *v = X509_ATTRIBUTE_get0_type(a, 0);
		if (!v || ASN1_TYPE_get(v) != V_ASN1_OCTET_STRING) {
			refuse(r, INSPECT_MALFORMED, "messageDigest value is not an OCTET STRING");
			goto out;
		}
		md = v->value.octet_string;
	}
	if (n_md != 1 || !md) {
		refuse(r, INSPECT_MALFORMED, "signed attributes without a messageDigest");
		goto out;
	}
	if (hash_of_len((size_t)ASN1_STRING_length(md)) == HASH_UNKNOWN) {
		refuse(r, INSPECT_MALFORMED, "messageDigest of %d bytes is no known digest length",
		       ASN1_STRING_length(md));
		goto out;
	}
	r->status = INSPECT_OK;
	memcpy(r->digest, ASN1_STRING_get0_data(md), (size_t)ASN1_STRING_length(md));
	r->digest_len = (size_t)ASN1_STRING_length(md);
	if (mech_hash != HASH_UNKNOWN && mech_hash != HASH_NONE) {
		r->hash = mech_hash;
		r->basis = INSPECT_BASIS_MECHANISM;
	}
out:
	OPENSSL_free(re);
	ASN1_item_free((ASN1_VALUE *)attrs, ASN1_ITEM_rptr(SG_SIGNED_ATTRS));
	ERR_pop_to_mark();
}

/* --- curves ---------------------------------------------------------------------------- */

unsigned inspect_ec_order_bits(const unsigned char *params, size_t len)
{
	const unsigned char *p = params;
	EC_GROUP *g;
	int bits;

	if (!params || len == 0 || len > 4096)
		return 0;
	ERR_set_mark();
	g = d2i_ECPKParameters(NULL, &p, (long)len);
	ERR_pop_to_mark();
	if (!g)
		return 0;
	bits = p == params + len ? EC_GROUP_order_bits(g) : 0;
	EC_GROUP_free(g);
	return bits > 0 ? (unsigned)bits : 0;
}

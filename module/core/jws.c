/* signgate: the parts of a compact JWS check that validation tickets
 * (ticket.c) and CI identity tokens (idtoken.c) share and that are not
 * base64url or the three-part split (those stay in ticket.c): failure
 * details, string and time claims, the validity window and signature
 * verification.  See jws.h.
 */
#include "jws.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/rsa.h>

#define ES256_SIG_LEN 64 /* raw r||s, RFC 7518 3.4 */
#define EDDSA_SIG_LEN 64 /* Ed25519 */

void jws_detail(char *detail, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (!detail || !len)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, len, fmt, ap);
	va_end(ap);
}

bool jws_clean_string(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

bool jws_copy_text(const char *s, size_t n, const char *what, char *dst, size_t cap, char *detail,
                   size_t dlen)
{
	if (n >= cap) {
		jws_detail(detail, dlen, "%s: longer than %zu bytes", what, cap - 1);
		return false;
	}
	if (memchr(s, '\0', n) || !jws_clean_string(s, n)) {
		jws_detail(detail, dlen, "%s: control character", what);
		return false;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

bool jws_claim_time(const json_t *obj, const char *key, bool required, int64_t *dst, char *detail,
                    size_t dlen)
{
	const json_t *v = json_object_get(obj, key);
	json_int_t t;

	if (!v) {
		if (required)
			jws_detail(detail, dlen, "claim '%s' missing", key);
		return !required;
	}
	if (!json_is_integer(v)) {
		jws_detail(detail, dlen, "claim '%s': not an integer", key);
		return false;
	}
	t = json_integer_value(v);
	if (t < 0 || t > JWS_CLAIM_TIME_MAX) {
		jws_detail(detail, dlen, "claim '%s': out of range", key);
		return false;
	}
	*dst = (int64_t)t;
	return true;
}

jws_when_t jws_when(int64_t now, int64_t skew, int64_t exp, bool exp_exclusive, int64_t nbf,
                    int64_t iat, char *detail, size_t dlen)
{
	/* Subtract from now rather than add to the claims: claims are
	 * bounded, now is the caller's clock. */
	if (exp_exclusive ? now - skew >= exp : now - skew > exp) {
		jws_detail(detail, dlen, "expired %lld s ago", (long long)(now - exp));
		return JWS_EXPIRED;
	}
	if (now + skew < nbf || now + skew < iat) {
		jws_detail(detail, dlen, "not valid for another %lld s",
		           (long long)((nbf > iat ? nbf : iat) - now));
		return JWS_NOT_YET_VALID;
	}
	return JWS_VALID;
}

/* EVP_DigestVerify of sig over msg, with md (NULL for EdDSA) and, for
 * RSA, PKCS#1 v1.5 padding. */
static bool digest_verify(EVP_PKEY *pk, const EVP_MD *md, bool rsa_pkcs1, const unsigned char *msg,
                          size_t mlen, const unsigned char *sig, size_t slen)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok;

	if (!ctx)
		return false;
	ok = EVP_DigestVerifyInit(ctx, &pctx, md, NULL, pk) == 1 &&
	     (!rsa_pkcs1 || EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1) &&
	     EVP_DigestVerify(ctx, sig, slen, msg, mlen) == 1;
	EVP_MD_CTX_free(ctx);
	return ok;
}

/* JWS carries ES256 signatures as r||s (RFC 7518 3.4); OpenSSL wants DER. */
static bool verify_es256(EVP_PKEY *pk, const unsigned char *msg, size_t mlen,
                         const unsigned char *sig)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *der = NULL;
	int der_len = 0;
	bool ok = false;

	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	der_len = i2d_ECDSA_SIG(es, &der);
	if (der_len > 0)
		ok = digest_verify(pk, EVP_sha256(), false, msg, mlen, der, (size_t)der_len);
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	OPENSSL_free(der);
	return ok;
}

bool jws_verify(EVP_PKEY *pk, jws_alg_t alg, const unsigned char *msg, size_t mlen,
                const unsigned char *sig, size_t slen)
{
	switch (alg) {
	case JWS_ALG_EDDSA:
		return slen == EDDSA_SIG_LEN &&
		       digest_verify(pk, NULL, false, msg, mlen, sig, slen);
	case JWS_ALG_ES256: return slen == ES256_SIG_LEN && verify_es256(pk, msg, mlen, sig);
	case JWS_ALG_RS256:
		/* RFC 7518 3.3: the signature is exactly as long as the modulus. */
		return (int)slen == EVP_PKEY_get_size(pk) &&
		       digest_verify(pk, EVP_sha256(), true, msg, mlen, sig, slen);
	case JWS_ALG_NONE: break;
	}
	return false;
}

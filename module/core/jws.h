/* signgate: the compact JWS pieces shared by validation tickets (ticket.c)
 * and CI identity tokens (idtoken.c).
 *
 * In ticket.c, which had them first: strict base64url (one accepted text
 * per byte string, by codec.h), strict JSON objects (duplicate keys and
 * NUL escapes refused), the three-part split, and the header checks that
 * do not depend on the key (typ, crit).  In jws.c: failure details, string
 * and time claims, the validity window, signature verification.
 */
#ifndef SIGNGATE_JWS_H
#define SIGNGATE_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

typedef struct jws_parts {
	unsigned char *buf; /* decoded header | payload | signature (owned) */
	const unsigned char *sig;
	size_t sig_len;
	size_t signing_input_len; /* bytes of "HEADER.PAYLOAD" in the token */
	json_t *header, *payload;
} jws_parts_t;

/* Split and decode a compact JWS of at most TICKET_MAX_LEN (8 KiB)
 * bytes.  On false, detail says which part failed and j holds nothing. */
bool jws_parts_parse(const char *token, size_t len, jws_parts_t *j, char *detail, size_t dlen);
void jws_parts_free(jws_parts_t *j);

/* typ absent or "JWT"; no crit. */
bool jws_header_format_ok(const json_t *h, char *detail, size_t dlen);

/* Unpadded base64url (codec.h does the decoding: CODEC_B64_URL | CODEC_B64_PAD_NONE). */
char *jws_b64url_encode(const unsigned char *in, size_t n); /* malloc'd */

/* --- jws.c ---------------------------------------------------------------- */

/* Claims are bounded in the JSON too, not only by the output fields, so
 * that a signed but absurd value is refused rather than clamped. */
#define JWS_CLAIM_TIME_MAX 253402300799LL /* 9999-12-31T23:59:59Z */

/* The signature algorithms a key can have. */
typedef enum jws_alg { JWS_ALG_NONE = 0, JWS_ALG_EDDSA, JWS_ALG_ES256, JWS_ALG_RS256 } jws_alg_t;

/* Why a check failed, into detail[dlen] (nothing when detail is NULL). */
void jws_detail(char *detail, size_t dlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* No control characters (values end up in syslog and terminals). */
bool jws_clean_string(const char *s, size_t n);

/* Copy the n bytes at s into dst[cap] as a C string: refused when too
 * long, or with a NUL or control character ("WHAT: ..." in detail). */
bool jws_copy_text(const char *s, size_t n, const char *what, char *dst, size_t cap, char *detail,
                   size_t dlen);

/* Integer time claim key of obj (seconds, 0 .. JWS_CLAIM_TIME_MAX) into
 * *dst; a missing one is an error only when required (*dst untouched). */
bool jws_claim_time(const json_t *obj, const char *key, bool required, int64_t *dst, char *detail,
                    size_t dlen);

/* Where now stands in a token's validity window, with skew seconds of
 * leeway either way.  exp_exclusive: exp is the first second the token is
 * no longer valid in (RFC 7519 4.1.4); otherwise the last one it is. */
typedef enum jws_when { JWS_VALID, JWS_EXPIRED, JWS_NOT_YET_VALID } jws_when_t;
jws_when_t jws_when(int64_t now, int64_t skew, int64_t exp, bool exp_exclusive, int64_t nbf,
                    int64_t iat, char *detail, size_t dlen);

/* The JWS signature sig over msg with pk: EdDSA (Ed25519), ES256 (sig is
 * r||s, 64 bytes) or RS256 (PKCS#1 v1.5, sig as long as the modulus). */
bool jws_verify(EVP_PKEY *pk, jws_alg_t alg, const unsigned char *msg, size_t mlen,
                const unsigned char *sig, size_t slen);

#endif

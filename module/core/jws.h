/* signgate: the compact JWS pieces shared by validation tickets (ticket.c)
 * and CI identity tokens (idtoken.c).
 *
 * Implemented in ticket.c, which had them first: strict base64url (one
 * accepted text per byte string, by codec.h), strict JSON objects (duplicate keys and
 * NUL escapes refused), the three-part split, and the header checks that
 * do not depend on the key (typ, crit).
 */
#ifndef SIGNGATE_JWS_H
#define SIGNGATE_JWS_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <openssl/evp.h>

typedef struct jws_parts {
	unsigned char *buf;          /* decoded header | payload | signature (owned) */
	const unsigned char *sig;
	size_t sig_len;
	size_t signing_input_len;    /* bytes of "HEADER.PAYLOAD" in the token */
	json_t *header, *payload;
} jws_parts_t;

/* Split and decode a compact JWS of at most TICKET_MAX_LEN (8 KiB)
 * bytes.  On false, detail says which part failed and j holds nothing. */
bool jws_parts_parse(const char *token, size_t len, jws_parts_t *j, char *detail, size_t dlen);
void jws_parts_free(jws_parts_t *j);

/* typ absent or "JWT"; no crit. */
bool jws_header_format_ok(const json_t *h, char *detail, size_t dlen);

/* Unpadded base64url (codec.h does the decoding: CODEC_B64_URL | CODEC_B64_PAD_NONE). */
char *jws_b64url_encode(const unsigned char *in, size_t n);   /* malloc'd */

/* No control characters (values end up in syslog and terminals). */
bool jws_clean_string(const char *s, size_t n);

/* ES256: sig is the JWS form r||s (64 bytes), pk an EC P-256 key. */
bool jws_verify_es256(EVP_PKEY *pk, const unsigned char *msg, size_t mlen,
                      const unsigned char *sig, size_t slen);

#endif

/* signgate: validation tickets.
 *
 * A ticket is a compact JWS (JWT) signed by a trusted validator with
 * Ed25519 (EdDSA) or ECDSA P-256 (ES256).  The algorithm is fixed by the
 * validator's key in the config, never by the token's header.  Pure apart
 * from OpenSSL: no files, no clock (the caller passes "now").
 */
#ifndef SIGNGATE_TICKET_H
#define SIGNGATE_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TICKET_MAX_LEN 8192
#define TICKET_MAX_CHECKS 32
#define TICKET_MAX_DIGESTS 16
#define TICKET_MAX_AUD 16

typedef struct ticket_check {
	char name[64];
	bool pass;                  /* result == "pass" */
	char result[16];
} ticket_check_t;

typedef struct ticket_claims {
	char issuer[64];            /* iss: validator name */
	char product[64];           /* sub product */
	char pipeline[64];
	char run[64];
	char jti[64];
	int64_t iat, nbf, exp;
	size_t n_checks;
	ticket_check_t checks[TICKET_MAX_CHECKS];
	size_t n_aud;
	char aud[TICKET_MAX_AUD][64]; /* key names or products; none = any */
	size_t n_digests;
	unsigned char digests[TICKET_MAX_DIGESTS][32]; /* artifact SHA-256 */
	uint32_t max_uses;          /* 0 = unlimited */
} ticket_claims_t;

typedef enum ticket_status {
	TICKET_OK = 0,
	TICKET_MALFORMED,           /* length, base64url, JSON, missing claims */
	TICKET_BAD_ALG,             /* header alg does not match the validator key */
	TICKET_UNKNOWN_ISSUER,
	TICKET_BAD_SIGNATURE,
	TICKET_EXPIRED,
	TICKET_NOT_YET_VALID,
} ticket_status_t;

const char *ticket_status_name(ticket_status_t s);   /* "ticket-expired" */

struct config;

/* Does this string look like a ticket (three base64url parts)?  Used to
 * tell a ticket from a credential presented as a PIN. */
bool ticket_looks_like(const char *s, size_t len);

/* Parse and verify against cfg's validators at time now.  On TICKET_OK
 * out holds the claims. */
ticket_status_t ticket_verify(const struct config *cfg, const char *token, size_t len,
                              time_t now, ticket_claims_t *out);

/* Issue (tools): sign claims with a validator private key (EVP_PKEY*).
 * Returns a malloc'd compact JWS or NULL. */
char *ticket_issue(void *pkey, const ticket_claims_t *claims);

#endif

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
/* Clock skew tolerated between the validator and the signing host, for
 * exp, nbf and iat. */
#define TICKET_LEEWAY_S 30

typedef struct ticket_check {
	char name[64];
	bool pass; /* result == "pass" */
	char result[16];
} ticket_check_t;

typedef struct ticket_claims {
	char issuer[64];  /* iss: validator name */
	char product[64]; /* sub product */
	char pipeline[64];
	char run[64];
	char jti[64];
	char commit[65]; /* optional: the commit validated (hex); a rule may bind
	                               it to the CI identity token's sha */
	int64_t iat, nbf, exp;
	size_t n_checks;
	ticket_check_t checks[TICKET_MAX_CHECKS];
	size_t n_aud;
	char aud[TICKET_MAX_AUD][64]; /* key names or products; none = any */
	size_t n_digests;
	unsigned char digests[TICKET_MAX_DIGESTS][32]; /* artifact SHA-256 */
	uint32_t max_uses;                             /* 0 = unlimited */
} ticket_claims_t;

typedef enum ticket_status {
	TICKET_OK = 0,
	TICKET_MALFORMED, /* length, base64url, JSON, missing claims */
	TICKET_BAD_ALG,   /* header alg does not match the validator key */
	TICKET_UNKNOWN_ISSUER,
	TICKET_BAD_SIGNATURE,
	TICKET_EXPIRED,
	TICKET_NOT_YET_VALID,
} ticket_status_t;

const char *ticket_status_name(ticket_status_t s); /* "ticket-expired" */

struct config;

/* Does this string look like a ticket (three base64url parts)?  Used to
 * tell a ticket from a credential presented as a PIN. */
bool ticket_looks_like(const char *s, size_t len);

/* Parse and verify against cfg's validators at time now.  On TICKET_OK
 * out holds the claims; on TICKET_EXPIRED and TICKET_NOT_YET_VALID too
 * (the signature was good, so the audit may name the ticket); otherwise
 * out is zeroed. */
ticket_status_t ticket_verify(const struct config *cfg, const char *token, size_t len, time_t now,
                              ticket_claims_t *out);

/* Same, and writes a one-line reason to detail (may be NULL) naming the
 * claim or part that failed.  Never contains the signature. */
ticket_status_t ticket_verify_detail(const struct config *cfg, const char *token, size_t len,
                                     time_t now, ticket_claims_t *out, char *detail,
                                     size_t detail_len);

/* Decode WITHOUT verifying the signature (for `signgate ticket show`):
 * the header and payload JSON as malloc'd strings (free()), and the claims
 * parsed by the same strict rules as ticket_verify.  Returns TICKET_OK,
 * TICKET_MALFORMED, or TICKET_BAD_ALG when the header names an algorithm
 * no validator key can have; when the parts decode, the JSON strings are
 * returned whatever the status.  Nothing here may be trusted. */
ticket_status_t ticket_decode_unverified(const char *token, size_t len, char **header_json,
                                         char **payload_json, ticket_claims_t *out, char *detail,
                                         size_t detail_len);

/* The JWS alg a validator key implies: "EdDSA" (Ed25519), "ES256" (EC
 * P-256), NULL for any other key. */
const char *ticket_alg_for_key(const void *pkey);

/* Claim checks for the enforcement code (pure, on verified claims). */
bool ticket_check_passed(const ticket_claims_t *c, const char *check_name);
/* Constant-time over each digest: is d (32 bytes) among the artifacts? */
bool ticket_has_digest(const ticket_claims_t *c, const unsigned char d[32]);
/* No aud = any key; else aud must name key_name or one of the products. */
bool ticket_audience_allows(const ticket_claims_t *c, const char *key_name, char *const *products,
                            size_t n_products);

/* Issue (tools): sign claims with a validator private key (EVP_PKEY*,
 * Ed25519 or P-256; the header alg follows the key).  Claims are
 * validated by the same rules as ticket_verify (iss, product, run, jti
 * required; checks with an empty result are written "pass"/"fail" from
 * .pass).  Returns a malloc'd compact JWS or NULL. */
char *ticket_issue(void *pkey, const ticket_claims_t *claims);

#endif

/* signgate: CI identity tokens (GitHub Actions, GitLab CI OIDC ID tokens).
 *
 * An ID token is a JWT signed by the CI system's issuer (RS256, or ES256
 * where an issuer uses it).  It is verified offline against the issuer's
 * JWKS pinned in a file named by the config (identity_providers): the
 * issuer must be configured exactly as in `iss`, the key is found by the
 * header's `kid` in that file and its type fixes the algorithm, which
 * must be among the provider's allowed ones; `none` and HMAC are never
 * accepted.  Then audience, times (with the provider's clock skew) and
 * lifetime are checked.  Pure apart from OpenSSL: no files, no clock.
 */
#ifndef SIGNGATE_IDTOKEN_H
#define SIGNGATE_IDTOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define IDTOKEN_VALUE_MAX 256 /* bytes of one claim value, NUL included */
#define IDTOKEN_MAX_KEYS 32   /* keys in one JWKS */
#define IDTOKEN_MAX_AUD 8
#define IDTOKEN_JWKS_MAX_BYTES (256u * 1024u)

typedef enum idtoken_alg {
	IDTOKEN_ALG_RS256 = 0,
	IDTOKEN_ALG_ES256,
	IDTOKEN_ALG_COUNT
} idtoken_alg_t;

const char *idtoken_alg_name(idtoken_alg_t a); /* "RS256" */
int idtoken_alg_by_name(const char *s);        /* -1 when not RS256/ES256 */

/* The claims signgate reads.  Matchable ones may appear in a role's
 * `claims`; the others are recorded in the audit only.  `sub` is never
 * matchable: its format changes with environments and organisation
 * settings. */
typedef enum idtoken_claim {
	/* GitHub Actions */
	IDC_REPOSITORY_ID = 0,
	IDC_REPOSITORY_OWNER_ID,
	IDC_REPOSITORY,
	IDC_REF,
	IDC_REF_TYPE,
	IDC_WORKFLOW_REF,
	IDC_JOB_WORKFLOW_REF,
	IDC_JOB_WORKFLOW_SHA,
	IDC_ENVIRONMENT,
	IDC_EVENT_NAME,
	IDC_RUNNER_ENVIRONMENT,
	IDC_SHA,
	IDC_ACTOR,
	/* GitLab CI */
	IDC_PROJECT_ID,
	IDC_NAMESPACE_ID,
	IDC_PROJECT_PATH,
	IDC_REF_PROTECTED,
	IDC_PIPELINE_SOURCE,
	IDC_CI_CONFIG_REF_URI,
	IDC_CI_CONFIG_SHA,
	IDC_ENVIRONMENT_PROTECTED,
	IDC_USER_LOGIN,
	IDC_MATCHABLE_COUNT,
	/* audit only */
	IDC_SUB = IDC_MATCHABLE_COUNT,
	IDC_REPOSITORY_OWNER,
	IDC_WORKFLOW_SHA,
	IDC_RUN_ID,
	IDC_RUN_ATTEMPT,
	IDC_PIPELINE_ID,
	IDC_JOB_ID,
	IDC_NAMESPACE_PATH,
	IDC_COUNT
} idtoken_claim_t;

const char *idtoken_claim_name(idtoken_claim_t c); /* "repository_id" */
int idtoken_claim_by_name(const char *name);       /* -1 when not known */
/* Numeric ids that survive a rename: a claim role must name one. */
bool idtoken_claim_is_stable_id(idtoken_claim_t c);

typedef struct idtoken_claims {
	char provider[64]; /* config name of the provider that verified it */
	char issuer[IDTOKEN_VALUE_MAX];
	char jti[128];
	char kid[128];
	char alg[8];
	int64_t iat, nbf, exp; /* nbf = iat when absent */
	uint64_t present;      /* bit (1 << idtoken_claim_t) */
	char v[IDC_COUNT]
	      [IDTOKEN_VALUE_MAX]; /* strings; numbers in decimal; booleans "true"/"false" */
} idtoken_claims_t;

/* The value of a claim, or NULL when the token does not carry it. */
const char *idtoken_claim(const idtoken_claims_t *c, idtoken_claim_t which);

typedef enum idtoken_status {
	IDTOKEN_OK = 0,
	IDTOKEN_MALFORMED,   /* length, base64url, JSON, claim types, missing claims */
	IDTOKEN_ALGORITHM,   /* alg none, HMAC, not allowed for the provider, not the key's */
	IDTOKEN_ISSUER,      /* iss is not a configured provider */
	IDTOKEN_UNKNOWN_KID, /* no key with this kid in the pinned JWKS */
	IDTOKEN_SIGNATURE,
	IDTOKEN_AUDIENCE, /* aud does not carry the provider's audience */
	IDTOKEN_EXPIRED,
	IDTOKEN_NOT_YET_VALID,
	IDTOKEN_LIFETIME, /* exp - iat above the provider's max_token_lifetime */
	IDTOKEN_REPLAYED, /* set by the caller: jti used max_uses times */
	IDTOKEN_STATUS_COUNT
} idtoken_status_t;

/* "token-expired" ...; the audit reason of each failure. */
const char *idtoken_status_name(idtoken_status_t s);

/* A public key of a JWKS: kid and algorithm fixed by the key type. */
typedef struct idtoken_jwk {
	char kid[128];
	idtoken_alg_t alg;
	void *pkey; /* EVP_PKEY* */
} idtoken_jwk_t;

/* Parse a JWKS document ({"keys": [...]}).  RSA keys of at least 2048
 * bits become RS256, EC P-256 keys ES256; keys marked "use": "enc",
 * other types and curves are skipped; a key without kid, a duplicate kid,
 * more than IDTOKEN_MAX_KEYS keys or no usable key at all are errors.
 * Returns 0, or -1 with a message in err. */
int idtoken_jwks_parse(const char *json, size_t len, idtoken_jwk_t **keys, size_t *n, char *err,
                       size_t errlen);
void idtoken_jwks_free(idtoken_jwk_t *keys, size_t n);

struct config;

/* Is the iss of this (unverified) JWS a configured provider's issuer, or
 * an https URL (an OIDC issuer, not a ticket validator)?  Used to tell an
 * ID token from a validation ticket presented the same way. */
bool idtoken_looks_like(const struct config *cfg, const char *token, size_t len);

/* Verify against cfg's identity providers at time now.  On IDTOKEN_OK
 * out holds the claims; on EXPIRED, NOT_YET_VALID, LIFETIME and AUDIENCE
 * too (the signature was good, so the audit may name the token);
 * otherwise out is zeroed.  detail (may be NULL) gets one line naming
 * what failed, never the token or its signature. */
idtoken_status_t idtoken_verify(const struct config *cfg, const char *token, size_t len, time_t now,
                                idtoken_claims_t *out, char *detail, size_t dlen);

/* Claim patterns: equality, or a glob when the pattern has * ? or [
 * (fnmatch with FNM_PATHNAME: * and ? do not cross '/'). */
bool idtoken_value_matches(const char *pattern, const char *value);

/* The audit fields of a token's claims, named after Fulcio's certificate
 * extensions (oidc_build_signer_uri = the server + job_workflow_ref ...),
 * plus jti and kid; fn is called once per field (val may be NULL: leave
 * it out).  Never the token or its signature. */
void idtoken_audit_fields(const idtoken_claims_t *c,
                          void (*fn)(void *ctx, const char *key, const char *val), void *ctx);

/* Decode WITHOUT verifying (tools): header and payload as malloc'd JSON
 * text (free()); NULL when the parts do not decode. */
bool idtoken_decode_unverified(const char *token, size_t len, char **header_json,
                               char **payload_json);

#endif

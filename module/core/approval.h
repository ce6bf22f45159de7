/* signgate: approvals (the two-person rule) and the bundle that carries
 * them.
 *
 * An approval is a short signed statement of what a person approves:
 *
 *     signgate-approval v1
 *     approver: alice
 *     product: app
 *     run: 4711
 *     artifact: sha256:HEX        (0..16 lines)
 *     ticket: JTI                 (0..1 line)
 *     issued-at: 1800000000       (Unix seconds)
 *     expires: 1800086400
 *     nonce: 32 hex digits
 *
 * followed by an SSHSIG signature over exactly those bytes in the
 * namespace "signgate-approval" (the armored output of `ssh-keygen -Y sign
 * -n signgate-approval`).  Approvals made with a PEM key (Ed25519 or EC
 * P-256) use the very same SSHSIG format, so one verifier serves both and
 * `ssh-keygen -Y verify` can check either.
 *
 * A bundle carries a ticket and approvals in one string that fits a PIN
 * or a file:  "sgb1~t:<ticket>~a:<base64url(approval)>~a:..."; fields are
 * separated by '~' or by line breaks.
 *
 * Pure apart from OpenSSL: no files, no clock (the caller passes "now").
 */
#ifndef SIGNGATE_APPROVAL_H
#define SIGNGATE_APPROVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "model.h"

#define APPROVAL_NAMESPACE "signgate-approval"
#define APPROVAL_MAX_LEN 8192 /* statement + armored signature */
#define APPROVAL_MAX_DIGESTS 16
#define APPROVAL_LEEWAY_S 30 /* clock skew tolerated for issued-at/expires */
#define BUNDLE_MAX_LEN 65536
#define BUNDLE_MAX_APPROVALS 16
#define BUNDLE_PREFIX "sgb1"

typedef struct approval {
	char approver[64];
	char product[64];
	char run[64];
	char ticket[64]; /* a ticket's jti; "" = none */
	size_t n_digests;
	unsigned char digests[APPROVAL_MAX_DIGESTS][32];
	int64_t iat, exp;
	char nonce[33];
	unsigned char key_fp[32]; /* the approver key that verified it (SPKI SHA-256) */
} approval_t;

typedef enum approval_status {
	APPROVAL_OK = 0,
	APPROVAL_MALFORMED,        /* statement or signature does not parse */
	APPROVAL_UNKNOWN_APPROVER, /* no approver of that name in the config */
	APPROVAL_UNKNOWN_KEY,      /* signed by a key the approver does not have */
	APPROVAL_BAD_SIGNATURE,
	APPROVAL_EXPIRED,
	APPROVAL_NOT_YET_VALID,
} approval_status_t;

const char *approval_status_name(approval_status_t s); /* "approval-expired" */

/* Parse an SSH public key line ("ssh-ed25519 AAAA... comment") as in
 * authorized_keys: ssh-ed25519, ecdsa-sha2-nistp256/384, ssh-rsa of at
 * least 3072 bits.  Fills k (pkey, fingerprint, kind).  err gets why not. */
bool approval_ssh_key_parse(const char *line, config_approver_key_t *k, char *err, size_t errlen);

/* A PEM public key (Ed25519 or EC P-256) as an approver key. */
bool approval_pem_key_parse(const char *pem, size_t len, config_approver_key_t *k, char *err,
                            size_t errlen);

/* Parse an approval without verifying it (for `signgate approval show`
 * and the verifier).  msg_len gets the length of the signed statement. */
approval_status_t approval_parse(const char *text, size_t len, approval_t *out, size_t *msg_len,
                                 char *detail, size_t dlen);

/* Parse and verify against cfg's approvers at time now.  On APPROVAL_OK,
 * APPROVAL_EXPIRED and APPROVAL_NOT_YET_VALID out holds the statement
 * (the signature was good); otherwise it is zeroed. */
approval_status_t approval_verify(const config_t *cfg, const char *text, size_t len, time_t now,
                                  approval_t *out, char *detail, size_t dlen);

/* The approver of that name, or NULL. */
const config_approver_t *approval_approver(const config_t *cfg, const char *name);

/* Does the approver still hold the key with fingerprint fp (a reload may
 * have removed either)? */
bool approval_still_trusted(const config_t *cfg, const approval_t *a);

/* Is the approver (by index) a member of group g? */
bool approval_in_group(const config_approver_group_t *g, size_t approver);

/* Does approval a cover artifact digest d (32 bytes)?  An approval that
 * lists no artifacts covers any (the ticket it names, or the product and
 * run, bind it). */
bool approval_covers_digest(const approval_t *a, const unsigned char d[32]);

/* --- bundles --------------------------------------------------------- */

typedef struct bundle {
	char *ticket; /* malloc'd, NUL-terminated; NULL = none */
	size_t n_approvals;
	char *approvals[BUNDLE_MAX_APPROVALS]; /* malloc'd approval texts */
	size_t approval_len[BUNDLE_MAX_APPROVALS];
} bundle_t;

/* Does this string start like a bundle ("sgb1~" or "sgb1\n")? */
bool bundle_looks_like(const char *s, size_t len);

/* Split a bundle.  Returns false (and detail) on any malformed part;
 * out is then empty.  bundle_free() in every case. */
bool bundle_parse(const char *s, size_t len, bundle_t *out, char *detail, size_t dlen);
void bundle_free(bundle_t *b);

/* Encode a bundle from a ticket (may be NULL) and approval texts.
 * malloc'd string or NULL. */
char *bundle_encode(const char *ticket, const char *const *approvals, const size_t *lens, size_t n);

/* --- making approvals (tools) --------------------------------------- */

/* The statement text of a (approver, product, run, digests, ticket,
 * iat, exp, nonce must be filled and valid).  malloc'd or NULL. */
char *approval_statement(const approval_t *a);

/* Sign a statement with an Ed25519 or EC P-256 private key (EVP_PKEY*)
 * in SSHSIG format; returns the whole approval (statement + armor),
 * malloc'd, or NULL. */
char *approval_sign_pem(void *pkey, const char *statement);

#endif

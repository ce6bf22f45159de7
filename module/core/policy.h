/* signgate: the policy engine.
 *
 * Pure: caller, key, mechanism, hash, time and ticket claims in; decision,
 * rule and reason out.  No PKCS#11 calls, no I/O, no allocation on the
 * decision path.  Lookups are by hash index, so a decision costs the same
 * with 10 keys and rules as with 10,000.
 *
 * Quotas and ticket use counts live in the state store (quota.h): the
 * engine says which counter must be taken (policy_decide_data: need), the
 * caller takes it (I/O) and hands the answer back; what the answer means
 * (exhausted, store unavailable) is decided here.
 */
#ifndef SIGNGATE_POLICY_H
#define SIGNGATE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "approval.h"
#include "caller.h"
#include "model.h"
#include "idtoken.h"
#include "inspect.h"
#include "mech.h"
#include "ticket.h"

typedef enum policy_action {
	POLICY_ACTION_SIGN = 0, /* signature (C_SignInit, C_SignRecoverInit, C_MessageSignInit) */
	POLICY_ACTION_ADMIN,    /* create/destroy/copy/relabel keys, init token/PIN, SO login */
	/* Private-key uses other than signing, each its own capability: the
	 * rule must grant it (policy_rule_t.decrypt ...) and the key must
	 * list the mechanism for it (policy_key_t.decrypt_mechs ...).
	 * Validity, window and ticket conditions apply as for signing; no
	 * hash is judged. */
	POLICY_ACTION_DECRYPT, /* C_DecryptInit, C_MessageDecryptInit */
	POLICY_ACTION_UNWRAP,  /* C_UnwrapKey: the key is the unwrapping key */
	POLICY_ACTION_DERIVE,  /* C_DeriveKey: the key is the base key */
	POLICY_ACTION_COUNT
} policy_action_t;

/* "sign", "admin", "decrypt", "unwrap", "derive"; "unknown" otherwise. */
const char *policy_action_name(policy_action_t a);

/* Stable reason codes: the audit record carries policy_reason_name(). */
typedef enum policy_reason {
	REASON_ALLOWED = 0,
	REASON_CONFIG_INVALID, /* no valid config loaded */
	REASON_CALLER_UNKNOWN, /* identity could not be determined */
	REASON_NO_ROLE,        /* caller is in no role */
	REASON_KEY_UNGOVERNED, /* key not under keys */
	REASON_KEY_MISMATCH,   /* ID/label match but fingerprint does not (look-alike) */
	REASON_KEY_REVOKED,
	REASON_KEY_NOT_YET_VALID,
	REASON_KEY_EXPIRED,
	REASON_NO_RULE, /* caller has roles, but no rule grants this key */
	REASON_MECHANISM_FORBIDDEN,
	REASON_HASH_FORBIDDEN, /* SHA-1, unparseable DigestInfo, hash not listed */
	REASON_OUTSIDE_WINDOW,
	REASON_QUOTA_EXHAUSTED, /* the quota's answer (policy_decide_data) */
	REASON_NO_ADMIN_CAPABILITY,
	REASON_TICKET_MISSING,
	REASON_TICKET_INVALID, /* detail in ticket_result */
	REASON_TICKET_TOO_OLD,
	REASON_TICKET_WRONG_PRODUCT,
	REASON_TICKET_CHECK_FAILED,
	REASON_TICKET_EXHAUSTED, /* max_uses: the counter's answer (policy_decide_data) */
	REASON_ARTIFACT_MISMATCH,
	REASON_BAD_CREDENTIAL,
	REASON_AUDIT_UNAVAILABLE,
	REASON_NO_DECRYPT_CAPABILITY, /* rule or key does not grant decryption */
	REASON_NO_UNWRAP_CAPABILITY,
	REASON_NO_DERIVE_CAPABILITY,
	/* Audit only: the policy allowed the use, the token failed it (the
	 * record carries the token's CKR; the quota stays taken). */
	REASON_DECRYPT_FAILED,
	REASON_UNWRAP_FAILED,
	REASON_DERIVE_FAILED,
	REASON_STATE_UNAVAILABLE, /* the state store could not answer (state.h) */
	REASON_KEY_UNKNOWN,     /* object's identity could not be established: governed, unknown */
	REASON_KEY_OTHER_TOKEN, /* handle not found on the session's token */
	REASON_TEMPLATE_DUPLICATE, /* a template repeats an attribute type */
	REASON_HASH_DISGUISED,     /* raw ECDSA: leading zeros make a shorter digest */
	REASON_HASH_TRUNCATED,     /* raw ECDSA longer than the curve order, not opted in */
	REASON_DATA_MALFORMED,     /* DigestInfo, PKCS#1 block or CMS attributes not strict DER */
	REASON_PSS_PARAMS_INVALID, /* PSS hashAlg/MGF1/sLen unacceptable */
	/* CI identity tokens (claim roles): the token a claim role needs is
	 * missing, failed verification (one reason per failure), was used up,
	 * or its claims do not match. */
	REASON_TOKEN_MISSING,
	REASON_TOKEN_MALFORMED,
	REASON_TOKEN_ALGORITHM,
	REASON_TOKEN_ISSUER,
	REASON_TOKEN_UNKNOWN_KID,
	REASON_TOKEN_SIGNATURE,
	REASON_TOKEN_AUDIENCE,
	REASON_TOKEN_EXPIRED,
	REASON_TOKEN_NOT_YET_VALID,
	REASON_TOKEN_LIFETIME,
	REASON_TOKEN_REPLAYED,
	REASON_CLAIMS_MISMATCH,
	REASON_TOKEN_COMMIT_MISMATCH, /* ticket commit is not the token's sha */
	REASON_APPROVALS_MISSING,     /* fewer distinct approvers than the rule's approvals.count */
	REASON_APPROVAL_INVALID,      /* an approval in the bundle did not verify (login) */
	/* The operation state machine (module/p11): decided from what the
	 * caller and the token did to an operation policy had allowed. */
	REASON_LOGIN_CHANGED,     /* a data call after a logout or a new login */
	REASON_OPERATION_BLOCKED, /* the token did not let signgate end a refused operation */
	REASON_OPERATION_NOT_INITIALIZED, /* a data call on no operation signgate tracks */
	REASON_OPERATION_STATE,           /* C_Get/SetOperationState of a governed operation */
	REASON_BACKEND_FAULT,       /* the token answered with more than the caller's buffer */
	REASON_HANDLE_INCONSISTENT, /* the token rejected a handle, then accepted it */
	/* A ticket that did not verify: the ticket_status_t of the record
	 * (policy_ticket_reason(); the same names as ticket_status_name()). */
	REASON_TICKET_MALFORMED,
	REASON_TICKET_BAD_ALG,
	REASON_TICKET_UNKNOWN_ISSUER,
	REASON_TICKET_BAD_SIGNATURE,
	REASON_TICKET_EXPIRED,
	REASON_TICKET_NOT_YET_VALID,
	/* The outcome of records that accept: login, tickets, lifecycle. */
	REASON_TICKET_ACCEPTED,
	REASON_TOKEN_ACCEPTED,
	REASON_BUNDLE_ACCEPTED,
	REASON_APPROVALS_ACCEPTED,
	REASON_CREDENTIAL_ACCEPTED,
	REASON_OS_IDENTITY,           /* login without credentials: the OS identity decides */
	REASON_LOGIN_FORWARDED,       /* "forwarded": SO or context-specific login to the token */
	REASON_COMPAT_MODE_FORWARDED, /* no pin_file: the caller's PIN goes to the token */
	REASON_CONFIG_LOADED,
	REASON_CONFIG_RELOADED,
	REASON_MODULE_START,
	REASON_MODULE_STOP,
	REASON_CHECKPOINT, /* audit chain checkpoint */
	REASON_COUNT
} policy_reason_t;

const char *policy_reason_name(policy_reason_t r); /* "key-revoked" */

/* What the module knows of the object being used.  Strings are
 * NUL-terminated; trailing spaces of token label and serial (PKCS#11
 * padding) are ignored. */
typedef struct policy_key_ref {
	const char *token_label;
	const char *token_serial;
	const unsigned char *id;
	size_t id_len;
	const char *label;
	bool has_fingerprint;
	unsigned char fingerprint[32];
} policy_key_ref_t;

typedef struct policy_request {
	policy_action_t action;
	const caller_t *caller;
	const policy_key_t *key; /* from policy_key_lookup(); NULL = ungoverned */
	mech_id_t mech;          /* sign, decrypt, unwrap, derive */
	hash_alg_t hash;         /* sign only; HASH_UNKNOWN when not yet known */
	time_t now;
	const ticket_claims_t *ticket; /* NULL = none presented */
	/* Set at *Init for mechanisms where the caller supplies the hash
	 * (RSA-PKCS, PSS without params, ECDSA) before the data is seen: the
	 * hash check is skipped and must be made again when the data arrives
	 * (policy_hash_allowed() or policy_decide() with hash filled in).
	 * When false, HASH_UNKNOWN means "unparseable" and is refused. */
	bool hash_deferred;
	/* Role proven by a credential at C_Login (NULL = none): roles with
	 * a credential match only the caller who proved them. */
	const policy_role_t *login_role;
	/* CI identity token (claim roles): the verified claims, or NULL.
	 * When a token was presented but failed verification, idtoken is NULL
	 * and idtoken_status says why (the denial names it). */
	const idtoken_claims_t *idtoken;
	idtoken_status_t idtoken_status;
	/* Approvals verified at login (issue 16); none = NULL/0.  artifact:
	 * the SHA-256 of what is signed once the data shows it (NULL at
	 * *Init, where approvals that list artifacts are not yet judged). */
	const approval_t *approvals;
	size_t n_approvals;
	const unsigned char *artifact;
	/* A ticket was presented but did not verify, or has left its window
	 * (TICKET_OK: none presented, or ticket is it): a rule that requires
	 * a ticket is then refused ticket-invalid, not ticket-missing. */
	ticket_status_t ticket_status;
	/* Why key is NULL: REASON_KEY_MISMATCH (an object dressed as a
	 * governed key) or REASON_KEY_UNKNOWN (its identity could not be
	 * established); a denial then names that reason.  REASON_ALLOWED or
	 * REASON_KEY_UNGOVERNED: simply not governed. */
	policy_reason_t key_reason;
} policy_request_t;

typedef struct policy_decision {
	bool allow;
	policy_reason_t reason;
	unsigned long ckr;         /* CK_RV to return when denied */
	const policy_rule_t *rule; /* the rule that allowed (or came closest) */
	const policy_role_t *role;
	char detail[160]; /* human text, e.g. "mechanism RSA-X-509 not allowed for key app-rsa" */
	char approvers[160]; /* allowed by a rule with approvals: who counted, "a,b" */
} policy_decision_t;

/* Build the lookup indexes over cfg's roles, keys and rules (called by
 * the config loader).  Returns NULL and fills err on failure. */
policy_t *policy_build(const config_t *cfg, char *err, size_t errlen);
void policy_free(policy_t *p);

/* Find the governed key for an object: by token and CKA_ID (then label),
 * and confirm by fingerprint.  *reason is REASON_KEY_UNGOVERNED or
 * REASON_KEY_MISMATCH when NULL is returned. */
const policy_key_t *policy_key_lookup(const config_t *cfg, const policy_key_ref_t *ref,
                                      policy_reason_t *reason);

/* The decision.  Never allocates. */
void policy_decide(const config_t *cfg, const policy_request_t *req, policy_decision_t *out);

/* ---- the data of an allowed operation ---------------------------------------
 *
 * An operation allowed at *Init is decided again when its data arrives:
 * the data tells the hash (bare digests), the artifact signed, and the
 * counters are taken.  The PKCS#11 layer gathers the facts (it runs the
 * inspector on the data, hashes it, asks the state store) and
 * policy_decide_data() decides, in the order of config/REFERENCE.md
 * ("How a decision is made", at the data). */

/* How the data of a signing mechanism is looked at. */
typedef enum policy_data_kind {
	POLICY_DATA_PLAIN = 0, /* neither: not inspected */
	POLICY_DATA_RAW,       /* the input is the digest or block (RSA-PKCS, RSA-X-509,
	                             * ECDSA, PSS without a hash): single-part, the inspector
	                             * establishes the hash from it */
	POLICY_DATA_HASHED,    /* the mechanism hashes (SHA256-RSA-PKCS ...): each part is
	                             * looked at as CMS signed attributes */
} policy_data_kind_t;

policy_data_kind_t policy_data_kind(mech_id_t m);

/* The operation the data is for. */
typedef enum policy_data_op {
	POLICY_DATA_SIGN = 0, /* C_Sign, C_SignUpdate (a C_SignFinal follows parts) */
	POLICY_DATA_SIGN_RECOVER,
	POLICY_DATA_MESSAGE_SIGN,
	POLICY_DATA_DECRYPT, /* C_Decrypt*, C_DecryptMessage: no data rules, counters only */
	POLICY_DATA_KEY_USE, /* C_UnwrapKey, C_DeriveKey: one call, counters only */
} policy_data_op_t;

/* A counter's answer (quota of the rule, uses of the ticket). */
typedef enum policy_count {
	POLICY_COUNT_UNASKED = 0, /* not taken for this operation yet */
	POLICY_COUNT_TAKEN,       /* taken (now, or earlier for this operation) */
	POLICY_COUNT_EXHAUSTED,   /* the limit is reached */
	POLICY_COUNT_UNAVAILABLE, /* the state store did not answer */
} policy_count_t;

/* What the decision needs before it can allow: the caller takes that
 * counter (quota_take) and decides again with its answer. */
typedef enum policy_need {
	POLICY_NEED_NOTHING = 0,
	POLICY_NEED_QUOTA,      /* the rule's quota: policy_quota_counter() */
	POLICY_NEED_TICKET_USE, /* one of the ticket's max_uses: policy_ticket_counter() */
} policy_need_t;

typedef struct policy_data_request {
	policy_data_op_t op;
	const caller_t *caller;
	const policy_key_t *key;   /* as decided at *Init */
	const policy_rule_t *rule; /* the rule that allowed at *Init */
	const policy_role_t *role;
	mech_id_t mech;
	hash_alg_t hash;   /* the hash known at *Init (fixed, PSS params), else HASH_UNKNOWN */
	bool hash_pending; /* the data must tell the hash (RSA-PKCS, ECDSA) */
	bool multipart;    /* the data comes in parts (C_SignUpdate ...) */
	time_t now;
	/* The ticket bound to the operation at *Init (NULL: none): judged
	 * against its window at now, its artifacts and max_uses. */
	const ticket_claims_t *ticket;
	/* The inspector's result on this data (NULL: not inspected):
	 * inspect_digestinfo/_rsa_x509/_ecdsa/_pss_input for RAW data,
	 * inspect_cms_attributes for HASHED. */
	const inspect_result_t *inspect;
	/* SHA-256 of the whole data of a single-part call (NULL: not hashed;
	 * needed when the ticket lists artifacts and the data is plain). */
	const unsigned char *data_sha256;
	/* Approvals in force and the config of rule (only read when the rule
	 * needs approvals and an artifact is known). */
	const config_t *approvals_cfg;
	const approval_t *approvals;
	size_t n_approvals;
	/* Counters: the answers so far, and the state store's error text. */
	policy_count_t quota;
	policy_count_t ticket_use;
	const char *state_error;
} policy_data_request_t;

typedef struct policy_data_decision {
	policy_decision_t d; /* allow, reason, ckr, rule, role, detail, approvers */
	policy_need_t need;  /* allowed so far: take this, then decide again */
	hash_alg_t hash;     /* the hash established (HASH_UNKNOWN: none; for the audit) */
	const unsigned char *artifact; /* the digest bound to the ticket's artifacts (NULL: none) */
	bool bind_at_final; /* the artifact is over all parts: checked before C_SignFinal */
} policy_data_decision_t;

/* The decision at the data.  Pure; never allocates.  An allow with need
 * set is not yet an allow: take the counter and call again (the data
 * checks are repeated, the answers given are kept). */
void policy_decide_data(const config_t *cfg, const policy_data_request_t *req,
                        policy_data_decision_t *out);

/* The decision at C_SignFinal of a multi-part signature whose artifact is
 * over all the parts (bind_at_final): digest is their SHA-256 (NULL when
 * it could not be computed). */
void policy_decide_final(const ticket_claims_t *t, const policy_rule_t *r,
                         const policy_role_t *role, const unsigned char *digest,
                         policy_decision_t *out);

/* Does the ticket bind this digest (no artifacts listed: any)? */
bool policy_ticket_binds(const ticket_claims_t *t, const unsigned char *digest, size_t len);

/* Names of the counters in the state store: the rule's quota (per caller
 * when its scope says so) and the ticket's uses. */
void policy_quota_counter(const policy_rule_t *r, const caller_t *c, char *name, size_t len);
void policy_ticket_counter(const ticket_claims_t *t, char *name, size_t len);

/* The reason for a ticket that did not verify (same name as
 * ticket_status_name()); REASON_TICKET_ACCEPTED for TICKET_OK. */
policy_reason_t policy_ticket_reason(ticket_status_t s);

/* Verify a role credential presented at C_Login against the stored hash;
 * returns the role or NULL. Constant-time comparison. */
const policy_role_t *policy_credential_match(const config_t *cfg, const caller_t *caller,
                                             const char *pin, size_t pin_len);

/* Parse a stored credential; any output pointer may be NULL.  Returns
 * false when the string is not "pbkdf2-sha256$ITER$SALT_B64$HASH_B64"
 * with 1000 <= ITER <= 100000000, 8..64 salt bytes and a 32-byte hash. */
bool policy_credential_parse(const char *s, uint32_t *iter, unsigned char *salt, size_t *salt_len,
                             unsigned char hash[32], size_t *hash_len);

/* Default PBKDF2 iterations for policy_credential_hash(). */
#define POLICY_CREDENTIAL_ITER 100000
int policy_credential_hash_iter(const char *secret, uint32_t iter, char *out, size_t outlen);

/* Make a stored credential hash ("pbkdf2-sha256$ITER$SALTB64$HASHB64"). */
int policy_credential_hash(const char *secret, char *out, size_t outlen);

/* The CK_RV for a denial reason (documented in config/REFERENCE.md):
 * CKR_FUNCTION_REJECTED for policy, CKR_MECHANISM_INVALID for a
 * forbidden mechanism or hash, CKR_PIN_INCORRECT for a bad credential
 * or an invalid ticket presented at login; CKR_OK for REASON_ALLOWED. */
unsigned long policy_reason_ckr(policy_reason_t r);

/* Is hash h allowed for mechanism m on key k (the data-time check)? */
bool policy_hash_allowed(const policy_key_t *k, mech_id_t m, hash_alg_t h);

/* Does the caller belong to the role (identity, program, credential)? */
bool policy_role_matches(const policy_role_t *role, const caller_t *caller,
                         const policy_role_t *login_role);

/* The same with a CI identity token: a claim role matches only with a
 * verified token of its provider, not expired at now, whose claims all
 * match.  On false, why (may be NULL) says what did not match. */
bool policy_role_matches_token(const config_t *cfg, const policy_role_t *role,
                               const caller_t *caller, const policy_role_t *login_role,
                               const idtoken_claims_t *tok, time_t now, char *why, size_t whylen);

/* The denial reason for a token that failed verification. */
policy_reason_t policy_idtoken_reason(idtoken_status_t s);
/* How many distinct approvers count for rule r on this request (same
 * product and run as the ticket, or as each other without one; in the
 * rule's groups; not the caller; not expired or older than max_age;
 * still in the config with the key that signed; covering req->artifact
 * when set).  Their names go to names ("a,b"; may be NULL). */
unsigned policy_approvals_count(const config_t *cfg, const policy_rule_t *r,
                                const policy_request_t *req, char *names, size_t nlen);

/* By name, O(1); NULL when not defined. */
const policy_key_t *policy_key_by_name(const config_t *cfg, const char *name);
const policy_role_t *policy_role_by_name(const config_t *cfg, const char *name);
const policy_rule_t *policy_rule_by_name(const config_t *cfg, const char *name);

/* The rules that name key k (explicitly or through a product), in config
 * order; rules with all_keys are separate (policy_all_keys_rules). */
const size_t *policy_rules_of_key(const config_t *cfg, const policy_key_t *k, size_t *n);
const size_t *policy_all_keys_rules(const config_t *cfg, size_t *n);

#endif

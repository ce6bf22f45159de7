/* signgate: the policy model.
 *
 * The types the decision core reads: backend, audit, validator, identity
 * provider and approver settings, and the policy itself (roles, keys,
 * rules).  Only types live here: the loader that fills them from the
 * libconfig file is runtime/config.h, the decision over them is
 * core/policy.h.  A loaded model is immutable and shared read-only
 * between threads.
 */
#ifndef SIGNGATE_MODEL_H
#define SIGNGATE_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mech.h"

/* --- backend ------------------------------------------------------------ */

typedef struct config_backend {
	char *module;  /* absolute path of the real PKCS#11 module */
	char **tokens; /* token labels or serials to expose; NULL/0 = all */
	size_t n_tokens;
	char *pin_file;  /* token user PIN, read by signgate; NULL = caller's
	                        PIN is forwarded (compatibility mode) */
	char *init_args; /* CK_C_INITIALIZE_ARGS.pReserved for the real module
	                        (NSS softokn's parameter string); NULL = none */
} config_backend_t;

/* --- audit -------------------------------------------------------------- */

typedef enum audit_format {
	AUDIT_FORMAT_JSON = 0,
	AUDIT_FORMAT_CEF,
	AUDIT_FORMAT_LOGFMT,
} audit_format_t;

typedef struct config_audit {
	bool enabled;  /* default true */
	bool required; /* default true: undeliverable record => deny */
	audit_format_t format;
	bool cee;          /* prefix JSON with "@cee: " */
	bool rfc5424;      /* default false: RFC 3164 framing as glibc */
	int facility;      /* LOG_AUTHPRIV by default (already shifted, as in <syslog.h>) */
	char *ident;       /* default "signgate" */
	char *socket_path; /* default "/dev/log" */
	int timeout_ms;    /* bound on one send; default 200 */
	/* the durable journal (NULL = none) */
	char *journal;          /* append-only file, one record per line */
	bool sync_fdatasync;    /* audit.sync = "fdatasync" (default "write") */
	char *mac_key;          /* HMAC-SHA256 key file for the chain (needed with journal) */
	char *checkpoint_key;   /* Ed25519 private key (PEM); NULL = no checkpoints */
	int checkpoint_every;   /* records between checkpoints; default 1000, 0 = off */
	int checkpoint_seconds; /* seconds between checkpoints; default 60, 0 = off */
	bool syslog_required;   /* journal mode: also refuse when syslog fails; default false */
} config_audit_t;

/* --- validators (ticket issuers) ---------------------------------------- */

typedef struct config_validator {
	char *name;
	char *public_key_path;
	void *pkey; /* EVP_PKEY*, loaded at config time; algorithm is
	                        fixed by this key, never by a ticket header */
} config_validator_t;

/* --- identity providers (CI OIDC issuers, idtoken.h) -------------------- */

struct idtoken_jwk;

typedef struct config_idp {
	char *name;
	char *issuer;    /* exactly as in the tokens' iss */
	char *audience;  /* the aud tokens must carry (signgate's own value) */
	char *jwks_path; /* pinned JWKS file, reloaded when it changes */
	struct idtoken_jwk *keys;
	size_t n_keys;
	unsigned algorithms;           /* bit set over idtoken_alg_t; default RS256 */
	uint32_t max_clock_skew_s;     /* default 60 */
	uint32_t max_token_lifetime_s; /* exp - iat; default 1h */
	uint32_t max_uses;             /* acceptances of one jti within its lifetime; default 1 */
	/* The JWKS file as loaded (config_changed() compares). */
	dev_t jwks_dev;
	ino_t jwks_ino;
	off_t jwks_size;
	time_t jwks_mtime;
	long jwks_mtime_ns;
	time_t jwks_ctime;
	long jwks_ctime_ns;
	int line;
} config_idp_t;
/* --- approvers (issue 16) ---------------------------------------------- */

typedef enum config_approver_key_kind {
	APPROVER_KEY_ED25519 = 0,
	APPROVER_KEY_ECDSA_P256,
	APPROVER_KEY_ECDSA_P384,
	APPROVER_KEY_RSA,
} config_approver_key_kind_t;

typedef struct config_approver_key {
	config_approver_key_kind_t kind;
	void *pkey;           /* EVP_PKEY* */
	unsigned char fp[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
} config_approver_key_t;

typedef struct config_approver {
	char *name;
	char **users;
	size_t n_users; /* login names that are this person (default: name) */
	config_approver_key_t *keys;
	size_t n_keys;
	int line;
} config_approver_t;

typedef struct config_approver_group {
	char *name;
	size_t *members;
	size_t n_members; /* indexes into config.approvers */
	int line;
} config_approver_group_t;

/* --- policy ------------------------------------------------------------- */

/* One claim condition of a role: the token's claim must match one of the
 * values (equality or glob, idtoken_value_matches). */
typedef struct policy_claim_match {
	int claim; /* idtoken_claim_t */
	char **values;
	size_t n_values;
} policy_claim_match_t;

typedef struct policy_program {
	char *path; /* absolute path of the executable */
	bool has_sha256;
	unsigned char sha256[32];
} policy_program_t;

typedef struct policy_role {
	char *name;
	uid_t *uids;
	size_t n_uids; /* users resolved at load time */
	char **user_names;
	size_t n_user_names; /* as written (for reports) */
	gid_t *gids;
	size_t n_gids;
	char **group_names;
	size_t n_group_names;
	policy_program_t *programs;
	size_t n_programs; /* none = any program */
	char *credential;  /* salted KDF hash, "pbkdf2-sha256$ITER$SALT$HASH"; NULL = none.
	                              When set, a caller is in the role only after proving
	                              it at C_Login (policy_request_t.login_role). */
	bool any_identity; /* no users/groups written: identity not constrained
	                              (only programs and/or credential select callers) */
	char **unresolved;
	size_t n_unresolved; /* names the system does not know */
	/* Claim role: the caller is in it only with a verified ID token of
	 * this provider whose claims all match (and, when users or groups are
	 * written, with that OS identity too). */
	size_t idp; /* 1 + index into config.idps; 0 = not a claim role */
	policy_claim_match_t *claims;
	size_t n_claims;
	int line;
} policy_role_t;

typedef struct policy_key {
	char *name;
	char *token; /* token label or serial */
	unsigned char id[64];
	size_t id_len;
	bool has_id;
	char *label;                   /* CKA_LABEL, NULL = not checked */
	unsigned char fingerprint[32]; /* SHA-256 of the SubjectPublicKeyInfo DER */
	bool has_fingerprint;          /* false: not configured (lookup by ID/label only) */
	char **products;
	size_t n_products;
	uint64_t mech_allowed; /* signing mechanisms (`mechanisms`), bit set over mech_id_t;
	                              0 = the key does not sign */
	uint32_t hash_allowed; /* bit set over hash_alg_t */
	/* Private-key uses other than signing, each a capability of its own
	 * (issue 12): granted only by the key's group of that name, e.g.
	 * `decrypt = { mechanisms = [ "RSA-PKCS-OAEP" ]; };`, never implied by
	 * a signing mechanism.  Bit sets over mech_id_t; 0 = the key does not
	 * decrypt / unwrap / derive (the default).  A rule must grant the use
	 * too (policy_rule_t.decrypt ...). */
	uint64_t decrypt_mechs;  /* C_DecryptInit, C_MessageDecryptInit */
	uint64_t unwrap_mechs;   /* C_UnwrapKey with this key as the unwrapping key */
	uint64_t derive_mechs;   /* C_DeriveKey with this key as the base key */
	uint32_t ecdsa_truncate; /* bit set over hash_alg_t: raw CKM_ECDSA inputs of these
	                              hashes may be longer than the curve order ('ecdsa_truncate') */
	time_t not_before;       /* 0 = none */
	time_t not_after;        /* 0 = none */
	bool revoked;
	char *revoked_reason;
	int line;
} policy_key_t;

typedef enum quota_scope {
	QUOTA_PER_RULE = 0, /* one counter for the rule */
	QUOTA_PER_CALLER,   /* one counter per rule and uid */
} quota_scope_t;

typedef struct policy_rule {
	char *name;
	size_t *roles;
	size_t n_roles; /* indexes into policy.roles */
	size_t *keys;
	size_t n_keys; /* indexes into policy.keys, products expanded */
	char **products;
	size_t n_products; /* as written */
	bool all_keys;     /* admin rules: every key */
	bool sign;         /* grants signing (default true) */
	bool admin;        /* grants key administration */
	/* Grant the private-key use of that name (default false) for the
	 * rule's keys that allow it themselves (policy_key_t.decrypt_mechs
	 * ...); signing never implies any of them. */
	bool decrypt; /* C_Decrypt*, C_DecryptMessage* */
	bool unwrap;  /* C_UnwrapKey */
	bool derive;  /* C_DeriveKey */
	/* time window; days bit 0 = Sunday .. bit 6 = Saturday; 0x7f = every day */
	uint8_t days;
	int minute_from, minute_to; /* [from, to) minutes of day; -1 = all day */
	int tz_offset_min;          /* fixed offset from UTC, minutes */
	char *tz_name;              /* as written ("UTC", "+02:00", ...) */
	/* quota */
	uint32_t quota_count; /* 0 = no quota */
	uint32_t quota_period_s;
	quota_scope_t quota_scope;
	/* validation */
	char **checks;
	size_t n_checks;                 /* checks that must be "pass" */
	bool require_ticket;             /* true when n_checks > 0 or set */
	uint32_t max_ticket_age_s;       /* 0 = no limit beyond exp */
	bool ticket_commit_is_token_sha; /* the ticket's commit must be the ID token's sha */
	/* approvals (issue 16): count distinct approvers from the groups */
	uint32_t approvals_count; /* 0 = none needed */
	size_t *approvals_from;
	size_t n_approvals_from;      /* indexes into approver_groups */
	uint32_t approvals_max_age_s; /* 0 = no limit beyond expires */
	int line;
} policy_rule_t;

typedef struct policy policy_t; /* indexes built by the loader, see policy.h */

/* Where quota counters, ticket uses and revocations live (the `state`
 * group, or the older top-level `state_dir`). */
typedef enum config_state_store {
	CONFIG_STATE_FILES = 0,  /* a directory on this host (default) */
	CONFIG_STATE_POSTGRESQL, /* one database shared by many hosts */
} config_state_store_t;

typedef struct config_state {
	config_state_store_t store;
	char *dir;           /* files: the state directory */
	char *conninfo_file; /* postgresql: libpq connection string file */
	int timeout_ms;      /* postgresql: connect + each statement */
} config_state_t;

typedef struct config {
	char *path;
	unsigned char sha256[32]; /* of the file's bytes */
	time_t mtime;
	ino_t ino;
	off_t size;
	long mtime_ns; /* sub-second part: a rewrite within the same
	                                      second, same size, is still seen */
	time_t ctime;
	long ctime_ns; /* chmod/chown/rename over it */
	dev_t dev;

	config_backend_t backend;
	config_audit_t audit;
	/* The state locator quota.h and state.h take: the directory for the
	 * file store, "postgresql:TIMEOUT_MS:CONNINFO_FILE" for PostgreSQL. */
	char *state_dir;
	config_state_t state; /* the same, parsed */
	enum { CONFIG_MODE_IN_PROCESS = 0, CONFIG_MODE_BROKER, CONFIG_MODE_AUTO } mode;

	config_validator_t *validators;
	size_t n_validators;
	config_idp_t *idps;
	size_t n_idps;
	policy_role_t *roles;
	size_t n_roles;
	policy_key_t *keys;
	size_t n_keys;
	policy_rule_t *rules;
	size_t n_rules;
	config_approver_t *approvers;
	size_t n_approvers;
	config_approver_group_t *approver_groups;
	size_t n_approver_groups;

	policy_t *policy; /* lookup indexes over the above */
} config_t;

#endif

/* signgate: what the gate knows of a key object, read once per handle.
 *
 * Policy needs the key's token, CKA_ID, CKA_LABEL and the SHA-256 of its
 * SubjectPublicKeyInfo for every *Init; reading them from the token each
 * time would cost more than the decision.
 *
 * Identity is established for the object itself, never borrowed from
 * another object found by ID or label:
 *   - the object must be found by a search on the session's own token
 *     (a handle of another token is KEY_OTHER_TOKEN, whatever its
 *     attributes read as through this session);
 *   - RSA keys: the fingerprint is built from the object's own
 *     CKA_MODULUS and CKA_PUBLIC_EXPONENT;
 *   - public key objects: from their own CKA_EC_POINT/CKA_EC_PARAMS (or
 *     CKA_PUBLIC_KEY_INFO);
 *   - private keys that expose no intrinsic public part (EC on SoftHSM,
 *     RSA without a public exponent): by proof.  Candidate public keys
 *     (the private key's own CKA_PUBLIC_KEY_INFO or CKA_EC_POINT, public
 *     key objects with its CKA_ID or CKA_LABEL on the same token) whose
 *     fingerprint the policy names are tried in turn; the private key
 *     signs a fresh random challenge in a session of signgate's own and
 *     the fingerprint is that of the first candidate under which the
 *     signature verifies.  The signature never leaves signgate.
 *
 * Entries are dropped when the object is changed or destroyed through
 * this module, session objects of a slot when any of its sessions
 * closes (the token may reuse their handles), everything when the config
 * changes; the cache holds at most keycache_max() entries (the oldest
 * goes first; a miss just reads again).
 */
#ifndef SIGNGATE_KEYCACHE_H
#define SIGNGATE_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "pkcs11_3.h"

/* Zero is "unknown" so that a forgotten initialisation fails closed. */
typedef enum key_standing {
	KEY_UNKNOWN = 0, /* CKA_CLASS (or ID, LABEL) unavailable: identity not established */
	KEY_KNOWN,       /* read through, and found on, the session's own token */
	KEY_OTHER_TOKEN, /* not found by a search on the session's token */
} key_standing_t;

typedef enum key_fp_source {
	KEY_FP_NONE = 0,
	KEY_FP_OWN,    /* from the object's own public attributes */
	KEY_FP_PROVEN, /* a challenge signed by the private key verified */
} key_fp_source_t;

typedef struct key_attrs {
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE type;
	key_standing_t standing;
	key_fp_source_t fp_source;
	bool is_token; /* CKA_TOKEN: survives its session */
	unsigned char id[64];
	size_t id_len;
	char label[129];
	bool label_long;        /* CKA_LABEL longer than label[]: matches no governed key */
	bool has_fp;            /* fingerprint established (fp_source != NONE) */
	unsigned char fp[32];   /* SHA-256 of the SPKI DER */
	unsigned ec_order_bits; /* EC keys: bits of the curve's group order; 0 = unknown */
} key_attrs_t;

typedef struct keycache_ops {
	CK_FUNCTION_LIST_PTR real;
	/* A session of signgate's own on slot, for searches (shared). */
	CK_SESSION_HANDLE (*lookup_session)(CK_SLOT_ID slot);
	/* Does the policy in force name this SPKI fingerprint?  Only such
	 * candidates are worth a proof. */
	bool (*fp_named)(const unsigned char fp[32]);
	/* Keep a proof session away from callers while it is open (hide =
	 * true), and forget it once closed (hide = false).  May be NULL. */
	void (*session_hide)(CK_SESSION_HANDLE h, bool hide);
} keycache_ops_t;

void keycache_init(const keycache_ops_t *ops);
void keycache_fini(void);

/* Attributes of obj, read through session sess (of slot) on a miss.
 * Returns CKR_OK with out->standing telling whether the identity is
 * established, or CKR_OBJECT_HANDLE_INVALID when the token says so.
 * Only KEY_KNOWN results are cached. */
CK_RV keycache_get(CK_SLOT_ID slot, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE obj, key_attrs_t *out);

void keycache_invalidate(CK_OBJECT_HANDLE obj);
/* A session of slot closed: its session objects are gone, their
 * handles may be reused.  Drops every session-object entry of the slot. */
void keycache_invalidate_session_objects(CK_SLOT_ID slot);
void keycache_clear(void);
/* Fork handlers (no allocation): the lock is held across a fork and made
 * anew in the child, which then calls keycache_clear outside the handler. */
void keycache_atfork_prepare(void);
void keycache_atfork_parent(void);
void keycache_atfork_child(void);

/* The bound (default KEYCACHE_MAX_DEFAULT); setting it evicts at once. */
#define KEYCACHE_MAX_DEFAULT 4096
void keycache_set_max(size_t max);
size_t keycache_count(void);

#endif

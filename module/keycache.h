/* signgate: what the gate knows of a key object, read once per handle.
 *
 * Policy needs the key's token, CKA_ID, CKA_LABEL and the SHA-256 of its
 * SubjectPublicKeyInfo for every *Init; reading them from the token each
 * time would cost more than the decision.  Entries are dropped when the
 * object is changed or destroyed through this module, and session
 * objects when any session closes (their handles may be reused).
 */
#ifndef SIGNGATE_KEYCACHE_H
#define SIGNGATE_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "pkcs11_3.h"

typedef struct key_attrs {
	CK_OBJECT_CLASS cls;
	CK_KEY_TYPE type;
	bool is_token;               /* CKA_TOKEN: survives its session */
	unsigned char id[64];
	size_t id_len;
	char label[129];
	bool has_fp;                 /* fingerprint could be computed */
	unsigned char fp[32];        /* SHA-256 of the SPKI DER */
	unsigned ec_order_bits;      /* EC keys: bits of the curve's group order; 0 = unknown */
} key_attrs_t;

/* real: the backend's function list; lookup_session(slot) gives a
 * session of signgate's own for searches (public key of an EC key). */
void keycache_init(CK_FUNCTION_LIST_PTR real,
                   CK_SESSION_HANDLE (*lookup_session)(CK_SLOT_ID slot));
void keycache_fini(void);

/* Attributes of obj, read through session sess (of slot) on a miss.
 * Returns CKR_OK, or the backend's error (e.g. CKR_OBJECT_HANDLE_INVALID). */
CK_RV keycache_get(CK_SLOT_ID slot, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE obj,
                   key_attrs_t *out);

void keycache_invalidate(CK_OBJECT_HANDLE obj);
void keycache_invalidate_session_objects(void);
void keycache_clear(void);

#endif

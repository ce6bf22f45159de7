/* signgate: the per-session state table.
 *
 * One entry per caller session (keyed by the real module's session
 * handle), holding what interception needs between an *Init call and the
 * call that finishes the operation.  Lookups are O(1) (open addressing);
 * each entry has its own mutex so that concurrent sessions do not
 * serialise on each other.  Entries are cleared on Final, on an error
 * that ends an operation, on cancel, C_CloseSession, C_CloseAllSessions
 * and C_Finalize.
 */
#ifndef SIGNGATE_SESSION_H
#define SIGNGATE_SESSION_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "cfgref.h"
#include "keycache.h"
#include "pkcs11_3.h"
#include "ticket.h"
#include "mech.h"

typedef enum sg_op {
	SG_OP_NONE = 0,
	SG_OP_SIGN, /* C_SignInit .. C_Sign / C_SignFinal */
	SG_OP_SIGN_RECOVER,
	SG_OP_DECRYPT,      /* private-key operation: raw RSA = a signature */
	SG_OP_MESSAGE_SIGN, /* PKCS#11 3.0 C_MessageSignInit .. C_MessageSignFinal */
	SG_OP_MESSAGE_DECRYPT,
	SG_OP_COUNT
} sg_op_t;

struct policy_key;
struct policy_rule;
struct policy_role;

typedef struct sg_op_state {
	sg_op_t op;
	CK_OBJECT_HANDLE key;
	CK_MECHANISM_TYPE mechanism;
	mech_id_t mech;
	hash_alg_t hash; /* known at init (fixed/PSS) or from the data */
	const struct policy_key *gkey;
	const struct policy_rule *rule;
	const struct policy_role *role;
	bool multipart;       /* C_SignUpdate seen */
	const char *call;     /* the data call being judged when it is not the
	                                operation's own name (C_SignUpdate ...), for the
	                                audit record; NULL otherwise */
	bool parts_forwarded; /* a C_SignUpdate reached the real module (it then ends
	                                with C_SignFinal; before that, with C_Sign) */
	bool data_checked;    /* hash/binding checked on the data */
	EVP_MD_CTX *data_md;  /* SHA-256 of the data signed, for the audit */
	unsigned long long data_len;
	unsigned char data_sha256[32];
	bool has_data_sha256;
	/* enforce.c bookkeeping */
	bool hash_pending;     /* hash comes from the data (RSA-PKCS, ECDSA, raw PSS) */
	bool quota_taken;      /* a rule quota unit was taken for this operation */
	bool ticket_use_taken; /* a ticket max_uses unit was taken */
	char quota_name[96];   /* counter to give back if no signature comes */
	uint32_t quota_period_s;
	/* The key as the audit names it, read once at *Init so that data and
	 * result calls need no lookup. */
	key_attrs_t key_attrs;
	char token_label[33];
	char token_serial[17];
	/* What the decision depended on, bound when the operation started:
	 * the caller's login as it was then (enforce's login generation) and
	 * a copy of the ticket that applied.  Data and result calls use this
	 * copy, never the login state of the moment; a logout or a new
	 * login since (another generation) ends the operation. */
	uint64_t login_gen;
	bool has_ticket;
	ticket_claims_t ticket;
	bool bind_at_final; /* artifact binding checked over all parts at C_SignFinal */
	/* The real operation could not be ended after a refusal or an error
	 * the token did not end it on: every data call is refused and a new
	 * *Init answered CKR_OPERATION_ACTIVE until an attempt to end it
	 * succeeds (retried at each such call). */
	bool blocked;
	/* Approvals (issue 16): the config the rule belongs to (kept alive
	 * until C_Finalize), to judge the approvals again once the data shows
	 * the artifact, and who counted, for the signature's record. */
	const void *approvals_cfg;
	char approvers[160];
} sg_op_state_t;

typedef struct sg_session {
	bool used;
	CK_SESSION_HANDLE handle; /* the real module's handle, given to the caller as is */
	CK_SLOT_ID slot;
	pthread_mutex_t lock;  /* held by the thread working on this session */
	sg_op_state_t op;      /* single-part ops: one active at a time per kind is enough */
	bool caller_logged_in; /* the caller's logical login (the real token stays logged in) */
	int login_kind;        /* enforce.h: how the caller logged in */
	bool has_ticket;
	ticket_claims_t ticket; /* verified claims from the caller's login or SIGNGATE_TICKET */
	const struct policy_role *login_role; /* role proven by a credential, if any */
	/* gate.c: a single-part call answered CKR_BUFFER_TOO_SMALL after its
	 * data went through enforce_sign_data; the retry with the same data
	 * (same SHA-256) is not checked twice, other data is checked afresh. */
	bool data_pending;
	unsigned char data_pending_sha256[32];
	/* The last *Init of this kind was allowed by policy without being
	 * tracked (e.g. a decryption with an ungoverned secret key): data
	 * calls of this kind go to the real module.  Any other data call on
	 * an operation signgate does not track is answered by signgate
	 * (CKR_OPERATION_NOT_INITIALIZED), never forwarded. */
	sg_op_t passthrough;
	/* The config the last operation was decided under (its key, rule and
	 * role point into it; so may copies of s->op that gate.c keeps for
	 * the next message): kept alive until the next operation of this
	 * session or its end (cfgref.h).  Set by enforce_key_use. */
	cfgref_t cfg_hold;
} sg_session_t;

int session_table_init(void);
void session_table_fini(void); /* frees every entry */
/* Fork: the table lock is held across it (prepare/parent) and made anew
 * in the child; the child's C_Initialize then forgets the parent's
 * sessions (poisoned) with session_table_after_fork. */
void session_atfork_prepare(void);
void session_atfork_parent(void);
void session_atfork_child(void);
void session_table_after_fork(void);

/* Add a new session; returns the locked entry or NULL (CKR_HOST_MEMORY). */
sg_session_t *session_add(CK_SESSION_HANDLE h, CK_SLOT_ID slot);
/* Find and lock; NULL if unknown.  The gate then forwards to get the real
 * module's CKR_SESSION_HANDLE_INVALID, unless the handle is poisoned. */
sg_session_t *session_get(CK_SESSION_HANDLE h);
void session_put(sg_session_t *s); /* unlock */
void session_remove(CK_SESSION_HANDLE h);
/* Remove an entry the caller holds locked (from session_get); unlocks it. */
void session_remove_locked(sg_session_t *s);
/* Handles of the sessions of a slot ((CK_SLOT_ID)-1 = all); *out is
 * malloc'ed (free it).  Returns the count, 0 with *out == NULL if none. */
size_t session_list(CK_SLOT_ID slot, CK_SESSION_HANDLE **out);

/* Real-module sessions a caller must never reach: signgate's own login
 * sessions and, in a forked child, the parent's sessions (still valid in
 * the real module's copied memory).  The gate answers
 * CKR_SESSION_HANDLE_INVALID for them without forwarding.  A handle is
 * unpoisoned when the real module hands it out again (C_OpenSession). */
void session_poison(CK_SESSION_HANDLE h);
void session_unpoison(CK_SESSION_HANDLE h);
bool session_is_poisoned(CK_SESSION_HANDLE h);
/* Call fn on each session of a slot (or every slot with slot == (CK_SLOT_ID)-1). */
void session_foreach(CK_SLOT_ID slot, void (*fn)(sg_session_t *s, void *arg), void *arg);

/* Forget the active operation (frees the digest context). */
void session_op_clear(sg_op_state_t *op);
/* Forget what was learnt from the data only (digest, length, data checks),
 * keeping the key, mechanism, rule and quota bookkeeping: used when a
 * single-part call is retried with other data after CKR_BUFFER_TOO_SMALL,
 * and between messages of a PKCS#11 3.0 message-signing operation. */
void session_op_data_reset(sg_op_state_t *op);

#endif

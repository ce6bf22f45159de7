/* signgate: the enforcement glue between the PKCS#11 layer (gate.c) and
 * policy, tickets, quotas and audit.
 *
 * gate.c forwards; at each point where a signature, a raw private-key
 * operation or a key change could happen it asks here first.  Every
 * enforce_* call that returns a CK_RV returns CKR_OK to mean "forward",
 * or the code to give the caller without forwarding.  Nothing here is
 * called with the caller's arguments before gate.c checked them as the
 * real module would (NULL pointers etc. are forwarded for the real
 * module's own answer).
 */
#ifndef SIGNGATE_ENFORCE_H
#define SIGNGATE_ENFORCE_H

#include <stdbool.h>

#include "config.h"
#include "pkcs11_3.h"
#include "session.h"

/* Module lifecycle.  enforce_init loads the config (path chosen by
 * config_path_choose(init_reserved)), starts audit and returns the
 * backend section for gate.c to load.  Codes (documented in
 * config/REFERENCE.md): config missing, unreadable, invalid or insecure
 * -> CKR_FUNCTION_FAILED (message "file:line: ..." on stderr);
 * CKR_HOST_MEMORY.  gate.c returns CKR_GENERAL_ERROR when the backend
 * module cannot be loaded.  no_threads: the application passed
 * CKF_LIBRARY_CANT_CREATE_OS_THREADS, so a changed config is loaded on
 * the call that notices it instead of a loader thread. */
CK_RV enforce_init(const char *init_reserved, bool no_threads, const config_backend_t **backend);
/* Called after the backend is initialised and logged in, with its list. */
void enforce_backend_ready(CK_FUNCTION_LIST_PTR real);
void enforce_fini(void);
void enforce_atfork_child(void);

/* The config in force (reloaded when the file changed, checked at most
 * once a second).  NULL when the current file is invalid: deny all.
 * The pointer stays valid (the config is not freed, even if a reload
 * retires it) until this thread's next call of an enforce_* function or
 * of enforce_config(): do not keep it across one.  (Configs are
 * reference-counted, module/runtime/cfgref.h; inside enforce.c each call
 * holds the config it decides under, and each session the config of its
 * operation in progress.) */
const config_t *enforce_config(void);

/* Which operation a key meets a mechanism for. */
typedef enum enforce_use {
	USE_SIGN = 0, /* C_SignInit, C_MessageSignInit */
	USE_SIGN_RECOVER,
	USE_DECRYPT,         /* C_DecryptInit, C_MessageDecryptInit: raw private key */
	USE_UNWRAP,          /* unwrapping key of C_UnwrapKey */
	USE_DERIVE,          /* base key of C_DeriveKey */
	USE_WRAP,            /* key being wrapped (exported) by C_WrapKey */
	USE_OPERATION_STATE, /* C_GetOperationState / C_SetOperationState */
} enforce_use_t;

/* A key meets a mechanism.  On CKR_OK the session's op state is filled
 * (for USE_SIGN/USE_SIGN_RECOVER/USE_DECRYPT) so that data and result
 * calls can be checked and audited.  USE_DECRYPT, USE_UNWRAP and
 * USE_DERIVE with a private key are decided as the policy's decrypt,
 * unwrap and derive capabilities (never as signing); an allowed unwrap or
 * derive takes its quota here and is recorded by enforce_key_use_done. */
CK_RV enforce_key_use(sg_session_t *s, enforce_use_t use, CK_MECHANISM_PTR mech,
                      CK_OBJECT_HANDLE key);

/* After the real C_UnwrapKey / C_DeriveKey whose key use enforce_key_use
 * allowed (use USE_UNWRAP / USE_DERIVE; a no-op otherwise): writes the
 * record with the token's answer (reason unwrap-failed / derive-failed
 * and its CKR when it failed; the quota taken at the decision is never
 * given back).  If the record of a new key cannot be delivered with
 * audit.required, destroys new_key and returns CKR_FUNCTION_REJECTED.
 * Returns the rv to give the caller. */
CK_RV enforce_key_use_done(sg_session_t *s, enforce_use_t use, CK_RV rv, CK_OBJECT_HANDLE new_key);

/* Does the unwrap/derive capability just allowed by enforce_key_use on
 * this session cover creating the new key of this template?  Only for a
 * secret key (CKA_CLASS = CKO_SECRET_KEY given once); anything else
 * stays key administration (enforce_admin). */
bool enforce_key_use_covers_new_key(const sg_session_t *s, enforce_use_t use, CK_ATTRIBUTE_PTR tmpl,
                                    CK_ULONG n);

/* Data about to be signed (C_Sign, C_SignUpdate, C_SignMessage...):
 * hash-from-data checks, artifact binding, SHA-256 for the audit.
 * final = true for single-part calls.  Not called for length queries
 * twice: gate.c calls it once per real data pass. */
CK_RV enforce_sign_data(sg_session_t *s, const CK_BYTE *data, CK_ULONG len);

/* Before C_SignFinal: a multi-part SHA-256 signature under a ticket that
 * lists artifacts must be over one of them (SHA-256 of all the parts).
 * CKR_OK, or the refusal (artifact-mismatch, operation ended). */
CK_RV enforce_sign_final(sg_session_t *s);

/* After the real module answered a call that may have produced a
 * signature (or raw private-key output).  produced = the output buffer
 * was non-NULL and rv == CKR_OK.  Emits the audit record and takes the
 * quota; if either fails (audit required), wipes out[0..*out_len) and
 * returns the denial code.  Returns the rv to give the caller. */
CK_RV enforce_sign_result(sg_session_t *s, CK_RV rv, bool produced, CK_BYTE_PTR out,
                          CK_ULONG_PTR out_len);

/* Key administration: object creation and change. */
typedef enum enforce_admin {
	ADMIN_CREATE_OBJECT = 0, /* C_CreateObject (template) */
	ADMIN_COPY_OBJECT,       /* C_CopyObject (obj + template) */
	ADMIN_SET_ATTRIBUTE,     /* C_SetAttributeValue */
	ADMIN_DESTROY_OBJECT,
	ADMIN_GENERATE_KEY, /* C_GenerateKey / C_GenerateKeyPair (template) */
	ADMIN_UNWRAP_KEY,   /* template of the new key */
	ADMIN_DERIVE_KEY,   /* template of the new key */
	ADMIN_INIT_TOKEN,
	ADMIN_INIT_PIN,
	ADMIN_SET_PIN,
	ADMIN_SO_LOGIN,
} enforce_admin_t;

/* obj may be CK_INVALID_HANDLE; tmpl may be NULL.  For C_GenerateKeyPair
 * gate.c calls it for each template.  slot is known for token-level
 * calls (init token) where there is no session (s == NULL). */
CK_RV enforce_admin(sg_session_t *s, CK_SLOT_ID slot, enforce_admin_t what, CK_OBJECT_HANDLE obj,
                    CK_ATTRIBUTE_PTR tmpl, CK_ULONG n);

/* gate.c refused a template of an admin call that repeats attribute
 * type dup (CKR_TEMPLATE_INCONSISTENT): record it. */
void enforce_template_refused(sg_session_t *s, enforce_admin_t what, CK_ATTRIBUTE_TYPE dup);

/* After a successful admin call: invalidate cached attributes, audit. */
void enforce_admin_done(sg_session_t *s, enforce_admin_t what, CK_OBJECT_HANDLE obj, CK_RV rv);

/* A call that reached the real module without a decision only because the
 * real module itself had rejected its key handle (gate.c: the caller gets
 * the token's own answer) succeeded after all; gate.c undid it.  Records
 * the refusal: event backend-error, reason handle-inconsistent. */
void enforce_handle_inconsistent(sg_session_t *s, const char *operation, CK_OBJECT_HANDLE obj);

/* C_Login / C_LoginUser by the caller.  The real token is already logged
 * in by signgate with the PIN file; the caller's PIN is a role
 * credential or a validation ticket, checked here.  Returns CKR_OK when
 * accepted (gate.c does not forward), a denial code otherwise.  With
 * no pin_file configured (compatibility mode) returns
 * CKR_FUNCTION_NOT_SUPPORTED-free sentinel ENFORCE_FORWARD_LOGIN, and
 * gate.c forwards the caller's PIN. */
#define ENFORCE_FORWARD_LOGIN ((CK_RV)0x80005347UL)
CK_RV enforce_login(sg_session_t *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len);
void enforce_logout(sg_session_t *s);

/* The operation state machine (see config/REFERENCE.md, "Operations in
 * progress").  Everything a decision depends on is bound to the
 * operation at *Init; these keep the state consistent with the real
 * module and fail closed.
 *
 * enforce_login_generation: changes at every caller login and logout.
 * enforce_op_check: before a data call on a tracked operation; if the
 *   login changed since *Init, refuses ("login-changed", audited), ends
 *   the real operation (or blocks it) and returns CKR_USER_NOT_LOGGED_IN
 *   (logged out) or CKR_FUNCTION_REJECTED (logged in anew); else CKR_OK.
 * enforce_op_blocked: the operation is blocked (not ended in the real
 *   module): tries again to end it.  At an *Init: CKR_OK when it ended
 *   now, else CKR_OPERATION_ACTIVE.  At a data call: always refused,
 *   CKR_FUNCTION_REJECTED ("operation-blocked", audited).
 * enforce_op_untracked: a data call on an operation signgate does not
 *   track: audited ("operation-not-initialized"), CKR_OPERATION_NOT_INITIALIZED.
 * enforce_op_after_error: the real call failed in a way that ends the
 *   operation; checks the module really ended it, ends it if not.
 *   Returns false when it could not be ended (now blocked: keep it).
 * enforce_op_fault: the module answered a successful call with an output
 *   length larger than the caller's buffer: the output is not handed
 *   out; audited ("backend-fault"), CKR_DEVICE_ERROR.  ended: the call
 *   ended the real operation; otherwise it is ended here (or blocked). */
uint64_t enforce_login_generation(void);
CK_RV enforce_op_check(sg_session_t *s);
CK_RV enforce_op_blocked(sg_session_t *s, bool at_init);
CK_RV enforce_op_untracked(sg_session_t *s, sg_op_t kind);
bool enforce_op_after_error(sg_session_t *s, CK_RV rv);
CK_RV enforce_op_fault(sg_session_t *s, const char *detail, bool ended);

/* Slots: is this slot's token exposed by the config? */
bool enforce_slot_exposed(CK_SLOT_ID slot);

#endif

/* signgate: the PKCS#11 ABI layer.
 *
 * Callers get signgate's own function tables (2.40, and 3.0 when the real
 * module has it); every entry forwards to the real module exactly (same
 * CK_RV, same outputs, length queries and bad arguments included) except
 * where a key meets a mechanism, data is signed or a key is changed: there
 * enforce.h is asked first.  Only the three getters are exported.
 *
 * Interfaces before C_Initialize: the backend is chosen by the config,
 * which may come from C_Initialize's pReserved, so before initialisation
 * only the 2.40 interface is offered; after it, the 3.0 interface too if
 * (and only if) the real module offers it.  We never advertise more than
 * the backend supports, and never load anything outside C_Initialize.
 *
 * Locking: init_lock serialises C_Initialize/C_Finalize.  A call on a
 * session holds that session's entry lock for its duration (which also
 * keeps several threads from sharing one real session at the same time).
 * The application's mutex callbacks are validated (all four or none) but
 * signgate always uses the OS primitives (pthreads), which the real
 * module is told to use as well (CKF_OS_LOCKING_OK).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "backend.h"
#include "debug.h"
#include "enforce.h"
#include "forward.h"
#include "keycache.h"
#include "session.h"
#include "template.h"
#include "ticket.h"
#include "token.h"

#define EXPORTED __attribute__((visibility("default")))
#define PIN_MAX 256

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool initialized;
static atomic_bool offer_3_0; /* the backend in use has the 3.0 interface */
/* Fork generations (see "fork" below): bumped in every child of a fork;
 * the state is live only in the generation C_Initialize ran in. */
static atomic_uint fork_generation;
static atomic_uint init_generation; /* fork_generation at the last C_Initialize */
static unsigned state_generation;   /* the generation the state belongs to (init_lock) */
static backend_t backend;
static bool pin_mode; /* signgate holds the real login (pin_file) */
static CK_SESSION_HANDLE *login_sessions;
static size_t n_login_sessions;
/* PIN-file login done?  It is deferred to the caller's first C_Login:
 * p11-kit server's per-connection p11-kit-remote initialises the module
 * once just to find the token and finalises it again, and a SoftHSM
 * login (PBKDF2 over the PIN) is most of what a connection costs. */
static pthread_mutex_t token_login_lock = PTHREAD_MUTEX_INITIALIZER;
static bool tokens_logged_in;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static CK_FUNCTION_LIST list_2_40;
static CK_FUNCTION_LIST_3_0 list_3_0;
static CK_INTERFACE iface_3_0 = { (CK_UTF8CHAR_PTR) "PKCS 11", &list_3_0, 0 };
static CK_INTERFACE iface_2_40 = { (CK_UTF8CHAR_PTR) "PKCS 11", &list_2_40, 0 };

/* Initialised, and in this process: a child of a fork that has not
 * called C_Initialize is not (PKCS#11: it must initialise again).  Two
 * loads, no system call on the signing path. */
static bool live(void)
{
	return atomic_load_explicit(&initialized, memory_order_acquire) &&
	       atomic_load_explicit(&init_generation, memory_order_relaxed) ==
	               atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

#define NEED_INIT()                                          \
	do {                                                 \
		if (!live())                                 \
			return CKR_CRYPTOKI_NOT_INITIALIZED; \
	} while (0)

/* A 3.0 call: only with a 3.0 backend. */
#define NEED_3_0()                                         \
	do {                                               \
		NEED_INIT();                               \
		if (!backend.list3)                        \
			return CKR_FUNCTION_NOT_SUPPORTED; \
	} while (0)

/* A real module may leave entries NULL: answer as a module without them. */
#define REAL(fn, ...) \
	(backend.list->fn ? backend.list->fn(__VA_ARGS__) : CKR_FUNCTION_NOT_SUPPORTED)
#define REAL3(fn, ...)                                                       \
	(backend.list3 && backend.list3->fn ? backend.list3->fn(__VA_ARGS__) \
	                                    : CKR_FUNCTION_NOT_SUPPORTED)

/* ---------------------------------------------------------------------- */
/* sessions                                                                */

/* A call on a session that needs no interception: lock the entry for the
 * call.  Unknown handles go to the real module for its own answer, except
 * the poisoned ones (signgate's login sessions, a fork parent's sessions). */
#define FORWARD_SESSION(h, call)                           \
	do {                                               \
		NEED_INIT();                               \
		sg_session_t *s_ = session_get(h);         \
		if (!s_ && session_is_poisoned(h))         \
			return CKR_SESSION_HANDLE_INVALID; \
		CK_RV rv_ = (call);                        \
		session_put(s_);                           \
		return rv_;                                \
	} while (0)

/* Interception points do not forward unknown handles at all: a real
 * session signgate does not know is one a caller must not sign through. */
static sg_session_t *session_strict(CK_SESSION_HANDLE h)
{
	return session_get(h);
}

/* The caller's login, per slot, as PKCS#11 defines it: one login per
 * token for the whole application, ended by C_Logout or by closing the
 * token's last session.  With a PIN file the real token stays logged in
 * by signgate, so the caller's login is kept here. */
#define LOGIN_SLOTS_MAX 64
static pthread_mutex_t login_lock = PTHREAD_MUTEX_INITIALIZER;
static CK_SLOT_ID login_slots[LOGIN_SLOTS_MAX];
static size_t n_login_slots;
/* The caller's user login and logout, one at a time: two threads logging
 * in at once must not both succeed (the second gets
 * CKR_USER_ALREADY_LOGGED_IN), since every accepted login ends the
 * operations started before it.  Taken with a session held, before
 * login_lock and enforce's locks. */
static pthread_mutex_t caller_login_serial = PTHREAD_MUTEX_INITIALIZER;

static bool caller_logged_in(CK_SLOT_ID slot)
{
	bool found = false;
	pthread_mutex_lock(&login_lock);
	for (size_t i = 0; i < n_login_slots && !found; i++)
		found = login_slots[i] == slot;
	pthread_mutex_unlock(&login_lock);
	return found;
}

static void caller_login_set(CK_SLOT_ID slot, bool in)
{
	pthread_mutex_lock(&login_lock);
	size_t i;
	for (i = 0; i < n_login_slots && login_slots[i] != slot; i++)
		;
	if (in && i == n_login_slots && n_login_slots < LOGIN_SLOTS_MAX)
		login_slots[n_login_slots++] = slot;
	else if (!in && i < n_login_slots)
		login_slots[i] = login_slots[--n_login_slots];
	pthread_mutex_unlock(&login_lock);
}

/* s is about to be closed: if it is the slot's last session, the
 * caller's login on that token ends with it. */
static void login_end_if_last(sg_session_t *s)
{
	CK_SESSION_HANDLE *handles;
	size_t n = session_list(s->slot, &handles);
	free(handles);
	if (n <= 1 && caller_logged_in(s->slot)) {
		enforce_logout(s);
		caller_login_set(s->slot, false);
	}
}

static bool sha256(const void *data, size_t len, unsigned char out[32])
{
	unsigned int n = 0;
	return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32;
}

/* The op state's kind for an operation that is being intercepted. */
static CK_FLAGS op_cancel_flag(sg_op_t op)
{
	switch (op) {
	case SG_OP_SIGN: return CKF_SIGN;
	case SG_OP_SIGN_RECOVER: return CKF_SIGN_RECOVER;
	case SG_OP_DECRYPT: return CKF_DECRYPT;
	case SG_OP_MESSAGE_SIGN: return CKF_MESSAGE_SIGN;
	case SG_OP_MESSAGE_DECRYPT: return CKF_MESSAGE_DECRYPT;
	default: return 0;
	}
}

/* The operation ends without a result (error, close, cancel): let
 * enforce give back what it took for it, then forget it. */
static void op_end(sg_session_t *s, CK_RV rv)
{
	if (s->op.op != SG_OP_NONE && rv != CKR_OK) {
		CK_ULONG zero = 0;
		enforce_sign_result(s, rv, false, NULL, &zero);
	}
	session_op_clear(&s->op);
	s->data_pending = false;
}

/* enforce refused the data.  It ends the real operation when it can
 * (enforce.c finishes a 2.40 operation into a wiped buffer) and forgets
 * it; a message-based operation (3.0) is ended here.  If the operation is
 * still known active, ask the real module to end it (C_SessionCancel, or
 * the 3.0 rule that an Init with a NULL mechanism ends it); if that fails
 * too our state stays active, so that nothing reaches the real operation
 * unchecked (a new Init gets CKR_OPERATION_ACTIVE, as from the module). */
static void op_keep_for_next_message(sg_session_t *s, const sg_op_state_t *before);

static void op_abort(sg_session_t *s, sg_op_t kind, const sg_op_state_t *before)
{
	CK_RV rv = CKR_FUNCTION_NOT_SUPPORTED;
	CK_SESSION_HANDLE h = s->handle;

	if (kind == SG_OP_MESSAGE_SIGN || kind == SG_OP_MESSAGE_DECRYPT) {
		rv = REAL3(C_SessionCancel, h, op_cancel_flag(kind));
		if (rv != CKR_OK)
			rv = kind == SG_OP_MESSAGE_SIGN ? REAL3(C_MessageSignFinal, h)
			                                : REAL3(C_MessageDecryptFinal, h);
		if (rv == CKR_OK) {
			op_end(s, CKR_FUNCTION_CANCELED);
			return;
		}
		/* still active in the real module: it stays ours, and the
		 * next message is checked like this one was */
		op_keep_for_next_message(s, before);
		return;
	}
	if (s->op.op == SG_OP_NONE)
		return;
	rv = REAL3(C_SessionCancel, h, op_cancel_flag(s->op.op));
	if (rv != CKR_OK) {
		switch (s->op.op) {
		case SG_OP_SIGN: rv = REAL(C_SignInit, h, NULL, CK_INVALID_HANDLE); break;
		case SG_OP_SIGN_RECOVER:
			rv = REAL(C_SignRecoverInit, h, NULL, CK_INVALID_HANDLE);
			break;
		case SG_OP_DECRYPT: rv = REAL(C_DecryptInit, h, NULL, CK_INVALID_HANDLE); break;
		default: break;
		}
	}
	if (rv == CKR_OK)
		op_end(s, CKR_FUNCTION_CANCELED);
}

/* enforce forgets an operation once it produced its result; a 3.0
 * message-based operation goes on in the real module for the next
 * message, so it is kept, without what belonged to the last message. */
static void op_keep_for_next_message(sg_session_t *s, const sg_op_state_t *before)
{
	if (s->op.op != SG_OP_NONE)
		return;
	s->op = *before;
	s->op.data_md = NULL; /* freed with the message */
	s->op.data_len = 0;
	s->op.has_data_sha256 = false;
	s->op.data_checked = false;
	s->op.quota_taken = false; /* the next message takes its own */
	s->op.ticket_use_taken = false;
}

/* Data about to reach the real operation.  After a CKR_BUFFER_TOO_SMALL
 * the caller retries with the same data: enforce has seen it already.
 * Other data on the retry of a single-part call is checked afresh. */
static CK_RV data_check(sg_session_t *s, const CK_BYTE *in, CK_ULONG len, bool single)
{
	if (s->data_pending) {
		unsigned char md[32];
		s->data_pending = false;
		if (sha256(in, len, md) && CRYPTO_memcmp(md, s->data_pending_sha256, 32) == 0)
			return CKR_OK;
		if (single)
			session_op_data_reset(&s->op);
	}
	return enforce_sign_data(s, in, len);
}

typedef enum ends { ENDS_NOTHING, ENDS_MESSAGE, ENDS_OP } ends_t;

/* One call on an intercepted operation: its data, its output, and what
 * it ends in the real module. */
typedef struct data_call {
	sg_op_t kind; /* the operation the call belongs to */
	bool has_in;  /* the call takes data */
	const CK_BYTE *in;
	CK_ULONG in_len;
	bool has_out; /* the call returns output (pointer + length) */
	CK_BYTE_PTR out;
	CK_ULONG_PTR out_len;
	bool out_is_result; /* the output is a signature or raw private-key output */
	ends_t on_success, on_error;
	bool multipart; /* C_SignUpdate: the data is a message in parts */
	/* filled by data_pre */
	bool tracked, raw, length_query, checked;
	CK_ULONG out_cap; /* the caller's buffer size, when it gave one */
} data_call_t;

/* Before the real call.  Returns true when the call is to be forwarded
 * (then data_post must follow, with *sp locked or NULL); false when *rv
 * is the answer. */
static bool data_pre(CK_SESSION_HANDLE h, data_call_t *dc, sg_session_t **sp, CK_RV *rv)
{
	sg_session_t *s = session_strict(h);

	*sp = s;
	if (!s) {
		*rv = CKR_SESSION_HANDLE_INVALID;
		return false;
	}
	if (dc->has_out && dc->out && dc->out_len)
		dc->out_cap = *dc->out_len;
	if (s->op.op == SG_OP_NONE) {
		/* Allowed at *Init without tracking (ungoverned decryption):
		 * the real module's business.  Any other operation signgate
		 * does not track is not forwarded: the state may have been
		 * lost (a token that did not end it), and data must never
		 * reach a real operation unchecked. */
		if (dc->kind != SG_OP_NONE && s->passthrough == dc->kind)
			return true;
		*rv = enforce_op_untracked(s, dc->kind);
		session_put(s);
		*sp = NULL;
		return false;
	}
	if (s->op.blocked) {
		*rv = enforce_op_blocked(s, false);
		session_put(s);
		*sp = NULL;
		return false;
	}
	if (s->op.op != dc->kind) {
		/* another intercepted operation is active: a module with one
		 * operation per session answers the same */
		*rv = CKR_OPERATION_NOT_INITIALIZED;
		session_put(s);
		*sp = NULL;
		return false;
	}
	/* The login the operation was decided under must still hold. */
	if (s->op.login_gen != enforce_login_generation()) {
		sg_op_state_t before = s->op;
		*rv = enforce_op_check(s);
		if (*rv != CKR_OK) {
			if (dc->kind == SG_OP_MESSAGE_SIGN || dc->kind == SG_OP_MESSAGE_DECRYPT)
				op_abort(s, dc->kind, &before);
			session_put(s);
			*sp = NULL;
			return false;
		}
	}
	dc->tracked = true;
	/* an update call names itself in the audit (pkcs11-tool retries a
	 * refused C_Sign as C_SignUpdate: two records, two calls) */
	s->op.call = NULL;
	if (dc->has_in && dc->on_success == ENDS_NOTHING && dc->kind == SG_OP_SIGN)
		s->op.call = "C_SignUpdate";
	else if (dc->has_in && dc->on_success == ENDS_NOTHING && dc->kind == SG_OP_DECRYPT)
		s->op.call = "C_DecryptUpdate";
	/* set before the data check: enforce then knows the data is a
	 * message in parts, not a complete digest */
	if (dc->multipart)
		s->op.multipart = true;
	/* Pointers the real module rejects: forward for its own answer. */
	if ((dc->has_out && !dc->out_len) || (dc->has_in && !dc->in)) {
		dc->raw = true;
		return true;
	}
	dc->length_query = dc->has_out && !dc->out;
	if (!dc->has_in && dc->on_success == ENDS_OP && dc->out_is_result) {
		/* C_SignFinal: what needs all the parts is checked now */
		*rv = enforce_sign_final(s);
		if (*rv != CKR_OK) {
			session_put(s);
			*sp = NULL;
			return false;
		}
	}
	/* A decryption's length query carries the ciphertext to the token,
	 * which may decrypt to learn the length: it is checked and counted
	 * like the real call (once: the real call is its retry). */
	if (dc->has_in &&
	    (!dc->length_query || dc->kind == SG_OP_DECRYPT || dc->kind == SG_OP_MESSAGE_DECRYPT)) {
		sg_op_state_t before = s->op;
		*rv = data_check(s, dc->in, dc->in_len, dc->on_success != ENDS_NOTHING);
		if (*rv != CKR_OK) {
			op_abort(s, dc->kind, &before);
			session_put(s);
			*sp = NULL;
			return false;
		}
		dc->checked = true;
	}
	return true;
}

static void op_finish(sg_session_t *s, ends_t what, CK_RV rv)
{
	if (what == ENDS_OP) {
		op_end(s, rv);
	} else if (what == ENDS_MESSAGE) {
		session_op_data_reset(&s->op);
		s->data_pending = false;
	}
}

static CK_RV data_post(sg_session_t *s, data_call_t *dc, CK_RV rv)
{
	sg_op_state_t before;

	/* the real C_SignUpdate was called: the token has parts of the message */
	if (s && dc->multipart)
		s->op.parts_forwarded = true;

	if (!s)
		return rv;
	/* A failed call hands nothing out, whatever the module left in the
	 * buffer (a signature made before a late error). */
	if (rv != CKR_OK && dc->out_is_result && dc->out && dc->out_cap)
		OPENSSL_cleanse(dc->out, dc->out_cap);
	if (rv == CKR_OK && dc->has_out && dc->out && dc->out_len && *dc->out_len > dc->out_cap) {
		/* The module claims more output than the caller's buffer holds:
		 * the caller would read past it.  Nothing is handed out. */
		OPENSSL_cleanse(dc->out, dc->out_cap);
		*dc->out_len = 0;
		rv = CKR_DEVICE_ERROR;
		if (dc->tracked) {
			before = s->op;
			rv = enforce_op_fault(s, "the token claimed more output than the buffer",
			                      dc->on_success == ENDS_OP);
			if (dc->on_success != ENDS_OP &&
			    (dc->kind == SG_OP_MESSAGE_SIGN || dc->kind == SG_OP_MESSAGE_DECRYPT))
				op_abort(s, dc->kind, &before);
			s->data_pending = false;
		}
		goto out;
	}
	if (!dc->tracked)
		goto out;
	if (dc->raw) {
		/* NULL data the real module nevertheless signed (an empty
		 * message): the result must still pass the policy. */
		if (rv == CKR_OK && dc->has_in && !dc->in && dc->out_is_result && dc->out &&
		    dc->out_len) {
			CK_RV deny = enforce_sign_data(s, (const CK_BYTE *)"", 0);
			if (deny != CKR_OK) {
				OPENSSL_cleanse(dc->out, *dc->out_len);
				rv = deny;
			} else {
				rv = enforce_sign_result(s, rv, true, dc->out, dc->out_len);
			}
			op_finish(s, dc->on_success, CKR_OK);
		}
		/* otherwise the real module refused the arguments; SoftHSM
		 * keeps the operation active then, and so do we */
		goto out;
	}
	if (dc->has_out && rv == CKR_BUFFER_TOO_SMALL) {
		if (dc->checked) {
			s->data_pending = sha256(dc->in, dc->in_len, s->data_pending_sha256);
			if (!s->data_pending)
				session_op_data_reset(&s->op);
		}
		if (dc->out_is_result)
			rv = enforce_sign_result(s, rv, false, dc->out, dc->out_len);
		goto out;
	}
	if (dc->length_query && rv == CKR_OK) {
		if (dc->checked) {
			s->data_pending = sha256(dc->in, dc->in_len, s->data_pending_sha256);
			if (!s->data_pending)
				session_op_data_reset(&s->op);
		}
		if (dc->out_is_result)
			rv = enforce_sign_result(s, rv, false, dc->out, dc->out_len);
		goto out;
	}
	s->data_pending = false;
	if (rv == CKR_ARGUMENTS_BAD)
		goto out; /* the operation stays active in SoftHSM */
	before = s->op;
	if (rv != CKR_OK) {
		if (dc->on_error == ENDS_OP) {
			/* PKCS#11 says the error ended it; if the token kept it
			 * active, it is ended now or stays blocked.  Then enforce
			 * records a failed decryption and may answer for it
			 * (audit.required and no record: not the token's verdict). */
			if (enforce_op_after_error(s, rv)) {
				if (dc->out_is_result)
					rv = enforce_sign_result(s, rv, false, dc->out,
					                         dc->out_len);
				op_end(s, rv);
			}
		} else {
			if (dc->out_is_result)
				rv = enforce_sign_result(s, rv, false, dc->out, dc->out_len);
			if (dc->on_error == ENDS_MESSAGE)
				op_keep_for_next_message(s, &before);
			op_finish(s, dc->on_error, rv);
		}
		goto out;
	}
	/* Output of an update (multi-part decryption) is not the end of the
	 * operation: enforce records the result when the operation ends. */
	if (dc->out_is_result)
		rv = enforce_sign_result(s, rv, dc->on_success != ENDS_NOTHING && dc->out != NULL,
		                         dc->out, dc->out_len);
	if (dc->on_success == ENDS_MESSAGE)
		op_keep_for_next_message(s, &before);
	op_finish(s, dc->on_success, CKR_OK);
out:
	session_put(s);
	return rv;
}

/* *Init where a key meets a mechanism for a signature or a raw
 * private-key operation. */
typedef CK_RV (*init_fn)(CK_SESSION_HANDLE, CK_MECHANISM_PTR, CK_OBJECT_HANDLE);

static CK_RV op_init(CK_SESSION_HANDLE h, CK_MECHANISM_PTR mech, CK_OBJECT_HANDLE key,
                     enforce_use_t use, sg_op_t kind, init_fn real)
{
	CK_RV rv;

	NEED_INIT();
	if (!real)
		return CKR_FUNCTION_NOT_SUPPORTED;
	sg_session_t *s = session_strict(h);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (!mech) {
		/* PKCS#11 3.0: a NULL mechanism ends the active operation */
		rv = real(h, mech, key);
		if (rv == CKR_OK && s->op.op == kind)
			op_end(s, CKR_FUNCTION_CANCELED);
		if (rv == CKR_OK && s->passthrough == kind)
			s->passthrough = SG_OP_NONE;
		goto out;
	}
	if (s->op.op != SG_OP_NONE) {
		/* A blocked operation: try again to end it.  One decided under
		 * a login that has changed since is ended (audited). */
		if (s->op.blocked) {
			rv = enforce_op_blocked(s, true);
		} else if (s->op.login_gen != enforce_login_generation()) {
			sg_op_state_t before = s->op;
			sg_op_t stale = s->op.op;
			(void)enforce_op_check(s);
			if (stale == SG_OP_MESSAGE_SIGN || stale == SG_OP_MESSAGE_DECRYPT)
				op_abort(s, stale, &before);
			rv = s->op.op == SG_OP_NONE ? CKR_OK : CKR_OPERATION_ACTIVE;
		} else {
			rv = CKR_OPERATION_ACTIVE;
		}
		if (rv != CKR_OK)
			goto out;
	}
	sg_op_t old_passthrough = s->passthrough;
	if (s->passthrough == kind)
		s->passthrough = SG_OP_NONE;
	s->data_pending = false;
	rv = enforce_key_use(s, use, mech, key);
	if (rv != CKR_OK) {
		session_op_clear(&s->op);
		s->passthrough = old_passthrough; /* nothing reached the token */
		goto out;
	}
	/* Signing is always followed; a decryption only if enforce chose to
	 * (a governed key).  The kind tells data calls which op this is. */
	if (s->op.op != SG_OP_NONE || kind == SG_OP_SIGN || kind == SG_OP_SIGN_RECOVER ||
	    kind == SG_OP_MESSAGE_SIGN) {
		s->op.op = kind;
		s->op.key = key;
		s->op.mechanism = mech->mechanism;
	}
	rv = real(h, mech, key);
	/* A failed *Init starts nothing, unless the token started it all
	 * the same: then it is ended now, or stays blocked.  Not asked when
	 * the token says an operation is active that the caller may have
	 * through us untracked (allowed at its *Init): not ours to end. */
	if (rv != CKR_OK) {
		s->passthrough = old_passthrough;
		if ((rv == CKR_OPERATION_ACTIVE && old_passthrough != SG_OP_NONE) ||
		    enforce_op_after_error(s, rv))
			op_end(s, rv);
	} else if (s->op.op == SG_OP_NONE)
		s->passthrough = kind; /* allowed by policy without tracking */
out:
	session_put(s);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* initialisation                                                          */

static void vslots_after_fork(void);
static void vslots_forget(void);

/* Fork.  The child of a fork has only the forking thread, in a copy of
 * memory taken while the parent's other threads may have been anywhere
 * (inside malloc or free too): the child handler neither allocates nor
 * frees nor calls the real module.  It makes the locks anew (a lock held
 * by a thread that does not exist here would never be released) and
 * bumps the fork generation, nothing more; from then on every entry
 * point answers CKR_CRYPTOKI_NOT_INITIALIZED (live()), and the child's
 * C_Initialize forgets the parent's state first (after_fork_reset).
 * The session table and the key cache are locked across the fork
 * (prepare/parent handlers; neither lock is held across a call out), so
 * that what the child reads of them later is consistent. */
static void atfork_prepare(void)
{
	session_atfork_prepare();
	keycache_atfork_prepare();
}

static void atfork_parent(void)
{
	keycache_atfork_parent();
	session_atfork_parent();
}

static void atfork_child(void)
{
	atomic_fetch_add_explicit(&fork_generation, 1, memory_order_relaxed);
	pthread_mutex_init(&init_lock, NULL);
	pthread_mutex_init(&login_lock, NULL);
	pthread_mutex_init(&caller_login_serial, NULL);
	pthread_mutex_init(&token_login_lock, NULL);
	vslots_after_fork();
	session_atfork_child();
	keycache_atfork_child();
	enforce_atfork_child();
}

static void atfork_register(void)
{
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* In the child's C_Initialize (init_lock held; no other thread gets past
 * live() meanwhile): forget what belonged to the parent.  Its sessions
 * stay valid in the real module's copied memory: they are poisoned, out
 * of the child's reach.  The parent's login-session array is dropped, not
 * freed (a parent thread may have been freeing it at the fork); the
 * handles in it are poisoned already.  Then the backend is known to be
 * the parent's, initialised. */
static void after_fork_reset(void)
{
	atomic_store(&initialized, false);
	atomic_store(&offer_3_0, false);
	tokens_logged_in = false;
	n_login_slots = 0;
	login_sessions = NULL;
	n_login_sessions = 0;
	vslots_forget();
	session_table_after_fork();
	keycache_clear();
	backend_forget_after_fork(&backend);
}

static CK_RV pin_read(const char *path, CK_UTF8CHAR *pin, size_t cap, CK_ULONG *len)
{
	char err[CONFIG_ERR_MAX];

	/* One reading of the PIN file for the module and the tools (token.c). */
	if (token_pin_read(path, TOKEN_PIN_STRICT, pin, cap, len, err, sizeof(err)) < 0) {
		fprintf(stderr, "signgate: %s (backend.pin_file)\n", err);
		return CKR_FUNCTION_FAILED;
	}
	return CKR_OK;
}

/* The real module's slot list (malloc'ed). */
static CK_RV real_slot_list(CK_BBOOL present, CK_SLOT_ID **out, CK_ULONG *n)
{
	for (int tries = 0; tries < 8; tries++) {
		CK_ULONG count = 0;
		CK_RV rv = REAL(C_GetSlotList, present, NULL, &count);
		if (rv != CKR_OK)
			return rv;
		CK_SLOT_ID *buf = calloc(count ? count : 1, sizeof(*buf));
		if (!buf)
			return CKR_HOST_MEMORY;
		rv = REAL(C_GetSlotList, present, buf, &count);
		if (rv == CKR_BUFFER_TOO_SMALL) {
			free(buf);
			continue; /* a token appeared in between */
		}
		if (rv != CKR_OK) {
			free(buf);
			return rv;
		}
		*out = buf;
		*n = count;
		return CKR_OK;
	}
	return CKR_GENERAL_ERROR;
}

static void login_sessions_close(void)
{
	for (size_t i = 0; i < n_login_sessions; i++)
		REAL(C_CloseSession, login_sessions[i]);
	free(login_sessions);
	login_sessions = NULL;
	n_login_sessions = 0;
}

/* Log in to every configured token with the PIN file, each through a
 * session of signgate's own that stays open (so the login stays) and that
 * no caller can reach. */
static CK_RV login_tokens(const config_backend_t *b)
{
	CK_UTF8CHAR pin[PIN_MAX + 1];
	CK_ULONG pin_len = 0;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0;
	CK_RV rv;

	rv = pin_read(b->pin_file, pin, sizeof(pin), &pin_len);
	if (rv != CKR_OK)
		return rv;
	rv = real_slot_list(CK_TRUE, &slots, &n);
	if (rv != CKR_OK)
		goto out;
	login_sessions = calloc(n ? n : 1, sizeof(*login_sessions));
	if (!login_sessions) {
		rv = CKR_HOST_MEMORY;
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		CK_SESSION_HANDLE h;
		if (REAL(C_GetTokenInfo, slots[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED) || !token_info_exposed(b, &ti))
			continue;
		rv = REAL(C_OpenSession, slots[i], CKF_SERIAL_SESSION, NULL, NULL, &h);
		if (rv != CKR_OK) {
			fprintf(stderr,
			        "signgate: cannot open a session on token '%.*s': CKR 0x%lx\n",
			        (int)token_field_len(ti.label, sizeof(ti.label)),
			        (const char *)ti.label, (unsigned long)rv);
			goto out;
		}
		login_sessions[n_login_sessions++] = h;
		session_poison(h);
		rv = REAL(C_Login, h, CKU_USER, pin, pin_len);
		if (rv == CKR_USER_ALREADY_LOGGED_IN)
			rv = CKR_OK; /* e.g. a forked child: the login was inherited */
		if (rv != CKR_OK) {
			fprintf(stderr, "signgate: %s: login to token '%.*s' failed: CKR 0x%lx\n",
			        b->pin_file, (int)token_field_len(ti.label, sizeof(ti.label)),
			        (const char *)ti.label, (unsigned long)rv);
			goto out;
		}
	}
	rv = CKR_OK;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	free(slots);
	return rv;
}

/* Copy up to n bytes at an address the caller gave us without ever
 * faulting: process_vm_readv on our own pid answers EFAULT for memory that
 * is not mapped, where a plain read would kill the host.  Read page by
 * page so that a string ending just before an unmapped page is still
 * read; where the call is not permitted (seccomp), write(2) into a pipe
 * checks the memory the same way.  Returns the bytes copied, stopping at
 * the first that cannot be read. */
static size_t copy_foreign(void *dst, const void *src, size_t n)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t page = pg > 0 ? (size_t)pg : 4096, done = 0;
	int pfd[2] = { -1, -1 };

	while (done < n) {
		uintptr_t at = (uintptr_t)src + done;
		size_t chunk = page - (size_t)(at % page);
		if (chunk > n - done)
			chunk = n - done;
		struct iovec local = { (char *)dst + done, chunk };
		struct iovec remote = { (void *)at, chunk };
		ssize_t r = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
		if (r < 0 && (errno == ENOSYS || errno == EPERM)) {
			if (pfd[0] < 0 && pipe2(pfd, O_CLOEXEC) != 0)
				break;
			r = write(pfd[1], (const void *)at, chunk);
			if (r > 0 && read(pfd[0], (char *)dst + done, (size_t)r) != r)
				r = -1;
		}
		if (r <= 0)
			break;
		done += (size_t)r;
		if ((size_t)r < chunk || memchr((char *)dst + done - (size_t)r, '\0', (size_t)r))
			break;
	}
	if (pfd[0] >= 0) {
		close(pfd[0]);
		close(pfd[1]);
	}
	return done;
}

/* CK_C_INITIALIZE_ARGS.pReserved is taken as the config path only when it
 * is one: readable memory holding an absolute path of printable ASCII,
 * NUL-terminated within PATH_MAX bytes (p11-kit's x-init-reserved gives
 * exactly that).  Anything else (google/pkcs11test passes (void *)1,
 * NSS-style modules take parameter strings) is CKR_ARGUMENTS_BAD, whether
 * or not SIGNGATE_CONF is set. */
static bool reserved_config_path(const void *reserved, char out[PATH_MAX])
{
	size_t n = copy_foreign(out, reserved, PATH_MAX);
	const char *nul = memchr(out, '\0', n);

	if (!nul || nul == out || out[0] != '/')
		return false;
	for (const char *p = out; p < nul; p++)
		if (*p < 0x20 || *p > 0x7e)
			return false;
	return true;
}

static CK_RV gate_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS_PTR args = pInitArgs;
	CK_C_INITIALIZE_ARGS real_args;
	const config_backend_t *bcfg = NULL;
	const char *reserved = NULL;
	CK_FLAGS flags = 0;
	bool inherited = false;
	char err[512], reserved_path[PATH_MAX];
	CK_RV rv;

	pthread_once(&atfork_once, atfork_register);
	pthread_mutex_lock(&init_lock);
	if (state_generation != atomic_load(&fork_generation)) {
		after_fork_reset();
		state_generation = atomic_load(&fork_generation);
	}
	if (atomic_load(&initialized)) {
		rv = CKR_CRYPTOKI_ALREADY_INITIALIZED;
		goto out;
	}
	if (args) {
		int n = !!args->CreateMutex + !!args->DestroyMutex + !!args->LockMutex +
		        !!args->UnlockMutex;
		if (n != 0 && n != 4) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		/* p11-kit's x-init-reserved: the config path.  Never passed down. */
		if (args->pReserved) {
			if (!reserved_config_path(args->pReserved, reserved_path)) {
				fprintf(stderr,
				        "signgate: C_Initialize: pReserved is not a config path "
				        "(an absolute path of printable characters)\n");
				rv = CKR_ARGUMENTS_BAD;
				goto out;
			}
			reserved = reserved_path;
		}
		flags = args->flags;
	}

	rv = enforce_init(reserved, flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS, &bcfg);
	if (rv != CKR_OK)
		goto out;
	if (!bcfg || !bcfg->module) {
		fprintf(stderr, "signgate: no backend module configured\n");
		rv = CKR_GENERAL_ERROR;
		goto fail_enforce;
	}
	if (backend.dl && backend.inherited && backend_is(&backend, bcfg->module)) {
		inherited = true;
	} else {
		if (backend.dl)
			backend_unload(&backend);
		rv = backend_load(&backend, bcfg->module, err, sizeof(err));
		if (rv != CKR_OK) {
			fprintf(stderr, "signgate: %s\n", err);
			goto fail_enforce;
		}
	}

	memset(&real_args, 0, sizeof(real_args));
	real_args.flags = CKF_OS_LOCKING_OK | (flags & CKF_LIBRARY_CANT_CREATE_OS_THREADS);
	/* The backend's own pReserved (backend.init_args), never the caller's. */
	real_args.pReserved = bcfg->init_args;
	rv = backend.list->C_Initialize(&real_args);
	/* In a forked child the real module's memory, initialised by the
	 * parent, was copied: SoftHSM then says it is initialised already. */
	if (rv == CKR_CRYPTOKI_ALREADY_INITIALIZED && inherited)
		rv = CKR_OK;
	if (rv != CKR_OK) {
		fprintf(stderr, "signgate: backend %s: C_Initialize failed: CKR 0x%lx\n",
		        bcfg->module, (unsigned long)rv);
		goto fail_backend;
	}
	backend.inherited = false;
	if (session_table_init() != 0) {
		rv = CKR_HOST_MEMORY;
		goto fail_real;
	}
	pin_mode = bcfg->pin_file != NULL;
	tokens_logged_in = false;
	if (pin_mode) {
		/* a missing or loose PIN file fails here, not at first use */
		CK_UTF8CHAR pin[PIN_MAX + 1];
		CK_ULONG pin_len = 0;
		rv = pin_read(bcfg->pin_file, pin, sizeof(pin), &pin_len);
		OPENSSL_cleanse(pin, sizeof(pin));
		if (rv != CKR_OK)
			goto fail_sessions;
	}
	enforce_backend_ready(backend.list);
	atomic_store(&offer_3_0, backend.list3 != NULL);
	atomic_store(&init_generation, state_generation);
	SG_DEBUG(SG_DBG_P11, "C_Initialize: backend %s, PKCS#11 %s offered, %s", bcfg->module,
	         backend.list3 ? "3.0 and 2.40" : "2.40",
	         pin_mode ? "token login with the PIN file at the caller's first C_Login"
	                  : "compatibility mode: the caller's PIN goes to the token");
	atomic_store_explicit(&initialized, true, memory_order_release);
	goto out;

fail_sessions:
	session_table_fini();
fail_real:
	backend.list->C_Finalize(NULL);
fail_backend:
	backend_unload(&backend);
fail_enforce:
	enforce_fini();
out:
	pthread_mutex_unlock(&init_lock);
	return rv;
}

static CK_RV gate_Finalize(CK_VOID_PTR pReserved)
{
	CK_RV rv = CKR_OK;

	if (pReserved)
		return CKR_ARGUMENTS_BAD;
	pthread_mutex_lock(&init_lock);
	if (!live()) {
		rv = CKR_CRYPTOKI_NOT_INITIALIZED;
		goto out;
	}
	atomic_store(&initialized, false);
	atomic_store(&offer_3_0, false);
	enforce_fini();
	session_table_fini();
	pthread_mutex_lock(&token_login_lock);
	login_sessions_close();
	tokens_logged_in = false;
	pthread_mutex_unlock(&token_login_lock);
	n_login_slots = 0;
	vslots_forget();
	rv = backend.list->C_Finalize(NULL);
	backend_unload(&backend);
out:
	pthread_mutex_unlock(&init_lock);
	return rv;
}

static CK_RV gate_GetInfo(CK_INFO_PTR pInfo)
{
	static const char desc[] = "signgate policy gate";

	NEED_INIT();
	CK_RV rv = REAL(C_GetInfo, pInfo);
	if (rv == CKR_OK && pInfo) {
		memset(pInfo->libraryDescription, ' ', sizeof(pInfo->libraryDescription));
		memcpy(pInfo->libraryDescription, desc, sizeof(desc) - 1);
	}
	return rv;
}

/* ---------------------------------------------------------------------- */
/* getters                                                                 */

/* 3.0 is offered once the backend is known to have it, and not in a
 * child of a fork before its own C_Initialize. */
static bool offer_3_0_now(void)
{
	return atomic_load(&offer_3_0) && live();
}

EXPORTED CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	*ppFunctionList = &list_2_40;
	return CKR_OK;
}

EXPORTED CK_RV C_GetInterfaceList(CK_INTERFACE_PTR pInterfacesList, CK_ULONG_PTR pulCount)
{
	bool v3 = offer_3_0_now();
	CK_ULONG n = v3 ? 2 : 1, i = 0;

	if (!pulCount)
		return CKR_ARGUMENTS_BAD;
	if (!pInterfacesList) {
		*pulCount = n;
		return CKR_OK;
	}
	if (*pulCount < n) {
		*pulCount = n;
		return CKR_BUFFER_TOO_SMALL;
	}
	if (v3)
		pInterfacesList[i++] = iface_3_0;
	pInterfacesList[i++] = iface_2_40;
	*pulCount = n;
	return CKR_OK;
}

EXPORTED CK_RV C_GetInterface(CK_UTF8CHAR_PTR pInterfaceName, CK_VERSION_PTR pVersion,
                              CK_INTERFACE_PTR_PTR ppInterface, CK_FLAGS flags)
{
	CK_INTERFACE *candidates[2];
	size_t n = 0;

	if (!ppInterface)
		return CKR_ARGUMENTS_BAD;
	if (offer_3_0_now())
		candidates[n++] = &iface_3_0;
	candidates[n++] = &iface_2_40;
	for (size_t i = 0; i < n; i++) {
		CK_INTERFACE *c = candidates[i];
		const CK_VERSION *v = c->pFunctionList; /* every list starts with its version */
		if (pInterfaceName && strcmp((const char *)pInterfaceName, "PKCS 11") != 0)
			continue;
		if (pVersion && (pVersion->major != v->major || pVersion->minor != v->minor))
			continue;
		if ((c->flags & flags) != flags)
			continue;
		*ppInterface = c;
		return CKR_OK;
	}
	*ppInterface = NULL;
	return CKR_ARGUMENTS_BAD;
}

/* ---------------------------------------------------------------------- */
/* slots and tokens                                                        */

/* Stable slot numbers.  Callers see the exposed slots numbered 0, 1, ...
 * in the order of backend.tokens (slot i holds the token named
 * tokens[i], whatever id the real module gives it today; SoftHSM's ids
 * are random and change when a token is re-created), or, when the config
 * exposes every token, in the real module's slot order.  The real ids stay
 * inside signgate: sessions, policy and audit keep using them. */
#define VSLOTS_MAX 64
static pthread_mutex_t vslot_lock = PTHREAD_MUTEX_INITIALIZER;
static CK_SLOT_ID vslot_real[VSLOTS_MAX]; /* caller's number -> real id */
static bool vslot_set[VSLOTS_MAX];
static size_t n_vslots;

static void vslots_after_fork(void)
{
	pthread_mutex_init(&vslot_lock, NULL);
	n_vslots = 0;
}

static void vslots_forget(void)
{
	pthread_mutex_lock(&vslot_lock);
	n_vslots = 0;
	pthread_mutex_unlock(&vslot_lock);
}

/* Rebuild the numbering from the real module's slots (the token reads
 * happen outside the lock; the table is swapped in at the end). */
static CK_RV vslots_refresh(void)
{
	CK_SLOT_ID *all = NULL, real[VSLOTS_MAX];
	bool set[VSLOTS_MAX] = { false };
	CK_ULONG n = 0;
	size_t count = 0;
	const config_t *cfg = enforce_config();
	CK_RV rv = real_slot_list(CK_FALSE, &all, &n);

	if (rv != CKR_OK)
		return rv;
	if (cfg && cfg->backend.n_tokens) {
		count = cfg->backend.n_tokens < VSLOTS_MAX ? cfg->backend.n_tokens : VSLOTS_MAX;
		for (CK_ULONG r = 0; r < n; r++) {
			CK_TOKEN_INFO ti;
			if (REAL(C_GetTokenInfo, all[r], &ti) != CKR_OK ||
			    !(ti.flags & CKF_TOKEN_INITIALIZED))
				continue;
			for (size_t i = 0; i < count; i++) {
				const char *name = cfg->backend.tokens[i];
				if (!set[i] && token_info_named(&ti, name)) {
					real[i] = all[r];
					set[i] = true;
					break;
				}
			}
		}
	} else if (cfg) {
		count = n < VSLOTS_MAX ? n : VSLOTS_MAX;
		for (size_t i = 0; i < count; i++) {
			real[i] = all[i];
			set[i] = true;
		}
	}
	free(all);
	pthread_mutex_lock(&vslot_lock);
	memcpy(vslot_real, real, sizeof(real));
	memcpy(vslot_set, set, sizeof(set));
	n_vslots = count;
	pthread_mutex_unlock(&vslot_lock);
	return CKR_OK;
}

static bool vslot_lookup(CK_SLOT_ID v, CK_SLOT_ID *real)
{
	bool found = false;
	pthread_mutex_lock(&vslot_lock);
	if (v < n_vslots && vslot_set[v]) {
		*real = vslot_real[v];
		found = true;
	}
	pthread_mutex_unlock(&vslot_lock);
	return found;
}

/* The caller's slot number for a real id; false for a slot it does not see. */
static bool vslot_of_real(CK_SLOT_ID real, CK_SLOT_ID *v)
{
	bool found = false;
	pthread_mutex_lock(&vslot_lock);
	for (size_t i = 0; i < n_vslots && !found; i++)
		if (vslot_set[i] && vslot_real[i] == real) {
			*v = i;
			found = true;
		}
	pthread_mutex_unlock(&vslot_lock);
	return found;
}

/* The caller's slot number to the real id (a caller may use a number it
 * never listed, or the token may have been re-created: look again once). */
static bool vslot_to_real(CK_SLOT_ID v, CK_SLOT_ID *real)
{
	if (vslot_lookup(v, real))
		return true;
	return vslots_refresh() == CKR_OK && vslot_lookup(v, real);
}

/* Turn the caller's slot number into the real id, in place, or refuse. */
#define NEED_SLOT(slot)                                                             \
	do {                                                                        \
		CK_SLOT_ID real_;                                                   \
		if (!vslot_to_real((slot), &real_) || !enforce_slot_exposed(real_)) \
			return CKR_SLOT_ID_INVALID;                                 \
		(slot) = real_;                                                     \
	} while (0)

static CK_RV gate_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList,
                              CK_ULONG_PTR pulCount)
{
	CK_SLOT_ID *all = NULL, out[VSLOTS_MAX];
	CK_ULONG n = 0, m = 0;
	CK_RV rv;

	NEED_INIT();
	if (!pulCount)
		return REAL(C_GetSlotList, tokenPresent, pSlotList, pulCount);
	rv = vslots_refresh();
	if (rv == CKR_OK)
		rv = real_slot_list(tokenPresent, &all, &n);
	if (rv != CKR_OK)
		return rv;
	/* In the callers' numbering, for the real slots that pass the filter */
	for (CK_SLOT_ID v = 0; v < VSLOTS_MAX; v++) {
		CK_SLOT_ID real;
		if (!vslot_lookup(v, &real) || !enforce_slot_exposed(real))
			continue;
		for (CK_ULONG i = 0; i < n; i++)
			if (all[i] == real) {
				out[m++] = v;
				break;
			}
	}
	free(all);
	if (!pSlotList) {
		rv = CKR_OK;
	} else if (*pulCount < m) {
		rv = CKR_BUFFER_TOO_SMALL;
	} else {
		memcpy(pSlotList, out, m * sizeof(*out));
		rv = CKR_OK;
	}
	*pulCount = m;
	return rv;
}

static CK_RV gate_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
	CK_RV rv;

	NEED_INIT();
	NEED_SLOT(slotID);
	rv = REAL(C_GetTokenInfo, slotID, pInfo);
	/* In PIN-file mode what a caller gives C_Login is a role credential
	 * or a validation ticket, not the token's PIN: say that it may be as
	 * long as a ticket, or clients that check the length (GnuTLS) refuse
	 * it before signgate sees it. */
	if (rv == CKR_OK && pin_mode && pInfo && pInfo->ulMaxPinLen < TICKET_MAX_LEN)
		pInfo->ulMaxPinLen = TICKET_MAX_LEN;
	return rv;
}

static CK_RV gate_WaitForSlotEvent(CK_FLAGS flags, CK_SLOT_ID_PTR pSlot, CK_VOID_PTR pReserved)
{
	NEED_INIT();
	for (;;) {
		CK_RV rv = REAL(C_WaitForSlotEvent, flags, pSlot, pReserved);
		CK_SLOT_ID v;
		if (rv != CKR_OK || !pSlot)
			return rv;
		if (enforce_slot_exposed(*pSlot) &&
		    (vslot_of_real(*pSlot, &v) ||
		     (vslots_refresh() == CKR_OK && vslot_of_real(*pSlot, &v)))) {
			*pSlot = v;
			return rv;
		}
		/* an event on a slot the caller does not see */
		if (flags & CKF_DONT_BLOCK)
			return CKR_NO_EVENT;
	}
}

static CK_RV gate_InitToken(CK_SLOT_ID slotID, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen,
                            CK_UTF8CHAR_PTR pLabel)
{
	CK_RV rv;

	NEED_INIT();
	NEED_SLOT(slotID);
	/* The admin decision comes first, whatever the arguments: a NULL label
	 * or PIN is the real module's to refuse, once policy allowed the call. */
	rv = enforce_admin(NULL, slotID, ADMIN_INIT_TOKEN, CK_INVALID_HANDLE, NULL, 0);
	if (rv != CKR_OK)
		return rv;
	rv = REAL(C_InitToken, slotID, pPin, ulPinLen, pLabel);
	enforce_admin_done(NULL, ADMIN_INIT_TOKEN, CK_INVALID_HANDLE, rv);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* sessions and login                                                      */

static CK_RV gate_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication,
                              CK_NOTIFY Notify, CK_SESSION_HANDLE_PTR phSession)
{
	CK_RV rv;

	NEED_INIT();
	NEED_SLOT(slotID);
	rv = REAL(C_OpenSession, slotID, flags, pApplication, Notify, phSession);
	if (rv != CKR_OK || !phSession)
		return rv;
	session_unpoison(*phSession);
	sg_session_t *s = session_add(*phSession, slotID);
	if (!s) {
		REAL(C_CloseSession, *phSession);
		*phSession = CK_INVALID_HANDLE;
		return CKR_HOST_MEMORY;
	}
	session_put(s);
	return CKR_OK;
}

static CK_RV gate_CloseSession(CK_SESSION_HANDLE hSession)
{
	CK_RV rv;

	NEED_INIT();
	/* A real session the caller did not open through us (signgate's or
	 * enforce's own) is not the caller's to close. */
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	rv = REAL(C_CloseSession, hSession);
	if (rv == CKR_OK || rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED) {
		/* Its session objects are gone; the token may reuse their handles. */
		keycache_invalidate_session_objects(s->slot);
		op_end(s, CKR_SESSION_CLOSED);
		login_end_if_last(s);
		session_remove_locked(s);
	} else {
		session_put(s);
	}
	return rv;
}

/* Not forwarded as such: the real C_CloseAllSessions would also close
 * signgate's own login session.  The caller's sessions of the slot are
 * closed one by one. */
static CK_RV gate_CloseAllSessions(CK_SLOT_ID slotID)
{
	CK_SESSION_HANDLE *handles;
	size_t n;

	NEED_INIT();
	NEED_SLOT(slotID);
	n = session_list(slotID, &handles);
	for (size_t i = 0; i < n; i++) {
		sg_session_t *s = session_get(handles[i]);
		if (!s)
			continue;
		REAL(C_CloseSession, handles[i]);
		keycache_invalidate_session_objects(slotID);
		op_end(s, CKR_SESSION_CLOSED);
		login_end_if_last(s);
		session_remove_locked(s);
	}
	free(handles);
	return CKR_OK;
}

/* With a PIN file the real token is logged in by signgate, but until the
 * caller logs in it sees what a logged-out application sees: a public
 * session state and no private objects.  Tools (the libp11 engine,
 * GnuTLS, SunPKCS11) decide from these whether to call C_Login, and the
 * caller's PIN (a role credential or a ticket) reaches signgate only
 * through C_Login. */
static bool caller_view_logged_out(const sg_session_t *s)
{
	return pin_mode && s && !caller_logged_in(s->slot);
}

static CK_RV gate_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_get(hSession);
	if (!s && session_is_poisoned(hSession))
		return CKR_SESSION_HANDLE_INVALID;
	rv = REAL(C_GetSessionInfo, hSession, pInfo);
	if (rv == CKR_OK && pInfo) {
		CK_SLOT_ID v;
		if (vslot_of_real(pInfo->slotID, &v))
			pInfo->slotID = v;
	}
	if (rv == CKR_OK && pInfo && caller_view_logged_out(s)) {
		if (pInfo->state == CKS_RO_USER_FUNCTIONS)
			pInfo->state = CKS_RO_PUBLIC_SESSION;
		else if (pInfo->state == CKS_RW_USER_FUNCTIONS)
			pInfo->state = CKS_RW_PUBLIC_SESSION;
	}
	session_put(s);
	return rv;
}

typedef CK_RV (*login_fn)(sg_session_t *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                          CK_UTF8CHAR_PTR name, CK_ULONG name_len);

static CK_RV real_login(sg_session_t *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                        CK_UTF8CHAR_PTR name, CK_ULONG name_len)
{
	(void)name;
	(void)name_len;
	return REAL(C_Login, s->handle, user, pin, len);
}

static CK_RV real_login_user(sg_session_t *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                             CK_UTF8CHAR_PTR name, CK_ULONG name_len)
{
	return REAL3(C_LoginUser, s->handle, user, pin, len, name, name_len);
}

/* Log the tokens in with the PIN file once, at the caller's first user
 * login (the caller sees a logged-out token until then anyway). */
static CK_RV tokens_login_once(void)
{
	const config_t *cfg;
	CK_RV rv = CKR_OK;

	pthread_mutex_lock(&token_login_lock);
	if (tokens_logged_in)
		goto out;
	cfg = enforce_config();
	if (!cfg || !cfg->backend.pin_file) {
		rv = CKR_GENERAL_ERROR; /* config now invalid: deny */
		goto out;
	}
	rv = login_tokens(&cfg->backend);
	if (rv == CKR_OK)
		tokens_logged_in = true;
	else
		login_sessions_close();
out:
	pthread_mutex_unlock(&token_login_lock);
	return rv;
}

static CK_RV login_common(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                          CK_UTF8CHAR_PTR name, CK_ULONG name_len, login_fn real)
{
	CK_RV rv;
	bool serial = false;

	NEED_INIT();
	sg_session_t *s = session_strict(h);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (pin_mode && user == CKU_USER) {
		pthread_mutex_lock(&caller_login_serial);
		serial = true;
	}
	if (pin_mode && user == CKU_USER && caller_logged_in(s->slot)) {
		rv = CKR_USER_ALREADY_LOGGED_IN;
		goto out;
	}
	/* Every login but the user's (SO, context-specific, a vendor's user
	 * type) is key administration, decided before anything reaches the
	 * token, whatever the PIN: a NULL PIN (a PIN pad) is no exception. */
	if (user != CKU_USER) {
		rv = enforce_admin(s, s->slot, ADMIN_SO_LOGIN, CK_INVALID_HANDLE, NULL, 0);
		if (rv != CKR_OK)
			goto out;
	}
	if (pin_mode && user == CKU_USER) {
		/* A user login with a NULL PIN in PIN-file mode presents neither
		 * a ticket nor a credential (enforce_login); with a length it is
		 * malformed, refused before signgate logs in to the token. */
		if (!pin && len) {
			rv = CKR_ARGUMENTS_BAD;
			goto out;
		}
		/* the real login first: a failure leaves no caller login state */
		rv = tokens_login_once();
		if (rv != CKR_OK)
			goto out;
	}
	rv = enforce_login(s, user, pin, len);
	if (rv == ENFORCE_FORWARD_LOGIN)
		rv = real(s, user, pin, len, name, name_len);
	if (rv == CKR_OK && user != CKU_CONTEXT_SPECIFIC)
		caller_login_set(s->slot, true);
out:
	if (serial)
		pthread_mutex_unlock(&caller_login_serial);
	session_put(s);
	return rv;
}

static CK_RV gate_Login(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                        CK_ULONG ulPinLen)
{
	return login_common(hSession, userType, pPin, ulPinLen, NULL, 0, real_login);
}

static CK_RV gate_LoginUser(CK_SESSION_HANDLE hSession, CK_USER_TYPE userType, CK_UTF8CHAR_PTR pPin,
                            CK_ULONG ulPinLen, CK_UTF8CHAR_PTR pUsername, CK_ULONG ulUsernameLen)
{
	NEED_INIT();
	if (!backend.list3)
		return CKR_FUNCTION_NOT_SUPPORTED;
	return login_common(hSession, userType, pPin, ulPinLen, pUsername, ulUsernameLen,
	                    real_login_user);
}

static CK_RV gate_Logout(CK_SESSION_HANDLE hSession)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	pthread_mutex_lock(&caller_login_serial);
	if (pin_mode) {
		/* the real login is signgate's: not forwarded */
		rv = caller_logged_in(s->slot) ? CKR_OK : CKR_USER_NOT_LOGGED_IN;
	} else {
		rv = REAL(C_Logout, hSession);
	}
	if (rv == CKR_OK) {
		enforce_logout(s);
		caller_login_set(s->slot, false);
	}
	pthread_mutex_unlock(&caller_login_serial);
	session_put(s);
	return rv;
}

static CK_RV gate_InitPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pPin, CK_ULONG ulPinLen)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	rv = enforce_admin(s, s->slot, ADMIN_INIT_PIN, CK_INVALID_HANDLE, NULL, 0);
	if (rv != CKR_OK)
		goto out;
	rv = REAL(C_InitPIN, hSession, pPin, ulPinLen);
	enforce_admin_done(s, ADMIN_INIT_PIN, CK_INVALID_HANDLE, rv);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_SetPIN(CK_SESSION_HANDLE hSession, CK_UTF8CHAR_PTR pOldPin, CK_ULONG ulOldLen,
                         CK_UTF8CHAR_PTR pNewPin, CK_ULONG ulNewLen)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	rv = enforce_admin(s, s->slot, ADMIN_SET_PIN, CK_INVALID_HANDLE, NULL, 0);
	if (rv != CKR_OK)
		goto out;
	rv = REAL(C_SetPIN, hSession, pOldPin, ulOldLen, pNewPin, ulNewLen);
	enforce_admin_done(s, ADMIN_SET_PIN, CK_INVALID_HANDLE, rv);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_GetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG_PTR pulOperationStateLen)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (pulOperationStateLen) {
		rv = enforce_key_use(s, USE_OPERATION_STATE, NULL, s->op.key);
		if (rv != CKR_OK)
			goto out;
	}
	rv = REAL(C_GetOperationState, hSession, pOperationState, pulOperationStateLen);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_SetOperationState(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pOperationState,
                                    CK_ULONG ulOperationStateLen, CK_OBJECT_HANDLE hEncryptionKey,
                                    CK_OBJECT_HANDLE hAuthenticationKey)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (pOperationState) {
		rv = enforce_key_use(s, USE_OPERATION_STATE, NULL,
		                     hAuthenticationKey ? hAuthenticationKey : hEncryptionKey);
		if (rv == CKR_OK && hAuthenticationKey && hEncryptionKey)
			rv = enforce_key_use(s, USE_OPERATION_STATE, NULL, hEncryptionKey);
		if (rv != CKR_OK)
			goto out;
	}
	rv = REAL(C_SetOperationState, hSession, pOperationState, ulOperationStateLen,
	          hEncryptionKey, hAuthenticationKey);
out:
	session_put(s);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* objects                                                                 */

/* A template that names an attribute type twice: signgate would read
 * one occurrence and the token might apply another, so it is refused
 * (CKR_TEMPLATE_INCONSISTENT) before anything is decided or forwarded.
 * Admin calls are recorded (s given); searches are not. */
static bool template_refused(sg_session_t *s, enforce_admin_t what, const CK_ATTRIBUTE *t,
                             CK_ULONG n, CK_RV *rv)
{
	CK_ATTRIBUTE_TYPE dup = 0;
	if (!t || !n)
		return false;
	*rv = template_check(t, n, &dup);
	if (*rv == CKR_OK)
		return false;
	if (*rv == CKR_TEMPLATE_INCONSISTENT && s)
		enforce_template_refused(s, what, dup);
	return true;
}

/* Key administration: ask, forward, report.  bad = an argument the real
 * module rejects; then it is forwarded unchecked for the real answer
 * (but never with a template that repeats an attribute). */
#define ADMIN_CALL(h, bad, what, obj, tmpl, n, call, new_obj)                                     \
	do {                                                                                      \
		CK_RV rv_;                                                                        \
		NEED_INIT();                                                                      \
		sg_session_t *s_ = session_strict(h);                                             \
		if (!s_)                                                                          \
			return CKR_SESSION_HANDLE_INVALID;                                        \
		if (template_refused(s_, what, tmpl, n, &rv_)) {                                  \
			/* refused: rv_ says why */                                               \
		} else if (bad) {                                                                 \
			rv_ = (call);                                                             \
		} else {                                                                          \
			rv_ = enforce_admin(s_, s_->slot, what, obj, tmpl, n);                    \
			if (rv_ == CKR_OK) {                                                      \
				rv_ = (call);                                                     \
				enforce_admin_done(s_, what,                                      \
				                   rv_ == CKR_OK ? (new_obj) : CK_INVALID_HANDLE, \
				                   rv_);                                          \
			}                                                                         \
		}                                                                                 \
		session_put(s_);                                                                  \
		return rv_;                                                                       \
	} while (0)

static CK_RV gate_CreateObject(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                               CK_ULONG ulCount, CK_OBJECT_HANDLE_PTR phObject)
{
	ADMIN_CALL(hSession, (!pTemplate && ulCount) || !phObject, ADMIN_CREATE_OBJECT,
	           CK_INVALID_HANDLE, pTemplate, ulCount,
	           REAL(C_CreateObject, hSession, pTemplate, ulCount, phObject), *phObject);
}

static CK_RV gate_CopyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                             CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                             CK_OBJECT_HANDLE_PTR phNewObject)
{
	ADMIN_CALL(hSession, (!pTemplate && ulCount) || !phNewObject, ADMIN_COPY_OBJECT, hObject,
	           pTemplate, ulCount,
	           REAL(C_CopyObject, hSession, hObject, pTemplate, ulCount, phNewObject),
	           *phNewObject);
}

static CK_RV gate_DestroyObject(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject)
{
	ADMIN_CALL(hSession, false, ADMIN_DESTROY_OBJECT, hObject, NULL, 0,
	           REAL(C_DestroyObject, hSession, hObject), hObject);
}

static CK_RV gate_SetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                                    CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
	ADMIN_CALL(hSession, !pTemplate && ulCount, ADMIN_SET_ATTRIBUTE, hObject, pTemplate,
	           ulCount, REAL(C_SetAttributeValue, hSession, hObject, pTemplate, ulCount),
	           hObject);
}

/* A logged-out caller finds public objects only (see GetSessionInfo):
 * the search gets CKA_PRIVATE = FALSE, which the real token applies as
 * it would for a logged-out session (a CKA_PRIVATE the caller gave is
 * overwritten, so that the token never sees the type twice). */
static CK_RV gate_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate,
                                  CK_ULONG ulCount)
{
	static CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE local[16], *t = local;
	CK_ULONG n = ulCount, at = ulCount;
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_get(hSession);
	if (!s && session_is_poisoned(hSession))
		return CKR_SESSION_HANDLE_INVALID;
	if (template_refused(NULL, ADMIN_CREATE_OBJECT, pTemplate, ulCount, &rv))
		goto out;
	if (!caller_view_logged_out(s) || (!pTemplate && ulCount)) {
		rv = REAL(C_FindObjectsInit, hSession, pTemplate, ulCount);
		goto out;
	}
	for (CK_ULONG i = 0; i < ulCount; i++)
		if (pTemplate[i].type == CKA_PRIVATE)
			at = i;
	if (at == ulCount)
		n = ulCount + 1;
	if (n > sizeof(local) / sizeof(local[0])) {
		/* ulCount + 1 must not wrap (ULONG_MAX), nor the byte count. */
		if (ulCount >= SIZE_MAX / sizeof(*t)) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
		t = calloc((size_t)n, sizeof(*t));
		if (!t) {
			rv = CKR_HOST_MEMORY;
			goto out;
		}
	}
	if (ulCount)
		memcpy(t, pTemplate, ulCount * sizeof(*t));
	t[at].type = CKA_PRIVATE;
	t[at].pValue = &no;
	t[at].ulValueLen = sizeof(no);
	rv = REAL(C_FindObjectsInit, hSession, t, n);
	if (t != local)
		free(t);
out:
	session_put(s);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* plain pass-throughs (forward.h): generated, one shape each              */

#define SG_ARGS(...) __VA_ARGS__

#define GATE_FORWARD_SLOT(fn, params, args)        \
	static CK_RV gate_##fn params              \
	{                                          \
		NEED_INIT();                       \
		NEED_SLOT(slotID);                 \
		return REAL(C_##fn, SG_ARGS args); \
	}

#define GATE_FORWARD_SESSION(fn, params, args)                         \
	static CK_RV gate_##fn params                                  \
	{                                                              \
		FORWARD_SESSION(hSession, REAL(C_##fn, SG_ARGS args)); \
	}

#define GATE_FORWARD_SESSION3(fn, params, args)                         \
	static CK_RV gate_##fn params                                   \
	{                                                               \
		NEED_3_0();                                             \
		FORWARD_SESSION(hSession, REAL3(C_##fn, SG_ARGS args)); \
	}

SG_P11_FORWARDS(GATE_FORWARD_SLOT, GATE_FORWARD_SESSION, GATE_FORWARD_SESSION3)

/* ---------------------------------------------------------------------- */
/* signing and raw private-key operations: intercepted                     */

static CK_RV gate_SignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                           CK_OBJECT_HANDLE hKey)
{
	NEED_INIT();
	return op_init(hSession, pMechanism, hKey, USE_SIGN, SG_OP_SIGN, backend.list->C_SignInit);
}

/* ---------------------------------------------------------------------- */
/* key handles the real module rejects                                     */

/* enforce refuses a key handle whose attributes it cannot read.  When the
 * call would fail anyway, the caller should get the real module's own
 * answer (CKR_KEY_HANDLE_INVALID, CKR_UNWRAPPING_KEY_HANDLE_INVALID, or
 * CKR_FUNCTION_NOT_SUPPORTED where it has no such call), not signgate's.
 * Only a handle the real module itself rejects, asked directly in this
 * session, qualifies: a handle signgate refuses for reasons of its own
 * (another token's object, an identity it cannot establish) keeps
 * signgate's answer and is never forwarded. */
static bool handle_refused(CK_RV rv)
{
	return rv == CKR_OBJECT_HANDLE_INVALID || rv == CKR_KEY_HANDLE_INVALID;
}

static bool real_rejects_handle(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj)
{
	CK_OBJECT_CLASS cls;
	CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };

	return REAL(C_GetAttributeValue, h, obj, &a, 1) == CKR_OBJECT_HANDLE_INVALID;
}

/* End a real sign-recover operation signgate never allowed, without
 * returning anything: the signature goes to a scratch buffer that is
 * wiped (PKCS#11 2.40 has no cancel; a call that fails ends it too). */
static void sign_recover_end(CK_SESSION_HANDLE h)
{
	CK_BYTE in[1] = { 0 }, *out;
	CK_ULONG len = 0;

	if (REAL(C_SignRecover, h, in, sizeof(in), NULL, &len) != CKR_OK)
		return; /* ended by the failure */
	out = malloc(len ? len : 1);
	if (!out) {
		/* no buffer: a NULL length pointer fails the call, ending it */
		REAL(C_SignRecover, h, in, sizeof(in), NULL, NULL);
		return;
	}
	REAL(C_SignRecover, h, in, sizeof(in), out, &len);
	OPENSSL_cleanse(out, len);
	free(out);
}

static CK_RV gate_SignRecoverInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
	CK_RV rv;

	NEED_INIT();
	rv = op_init(hSession, pMechanism, hKey, USE_SIGN_RECOVER, SG_OP_SIGN_RECOVER,
	             backend.list->C_SignRecoverInit);
	if (pMechanism && handle_refused(rv) && real_rejects_handle(hSession, hKey)) {
		/* a key the token does not know: its own answer (SoftHSM has no
		 * C_SignRecoverInit at all: CKR_FUNCTION_NOT_SUPPORTED) */
		rv = REAL(C_SignRecoverInit, hSession, pMechanism, hKey);
		if (rv == CKR_OK) {
			sg_session_t *s = session_strict(hSession);
			sign_recover_end(hSession);
			if (s) {
				enforce_handle_inconsistent(s, "C_SignRecoverInit", hKey);
				session_put(s);
			}
			rv = CKR_FUNCTION_REJECTED;
		}
	}
	return rv;
}

static CK_RV gate_DecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_OBJECT_HANDLE hKey)
{
	NEED_INIT();
	return op_init(hSession, pMechanism, hKey, USE_DECRYPT, SG_OP_DECRYPT,
	               backend.list->C_DecryptInit);
}

/* The call shapes (see data_call_t). */
#define SINGLE(k, i, il, o, ol)                                                            \
	{                                                                                  \
		.kind = (k), .has_in = true, .in = (i), .in_len = (il), .has_out = true,   \
		.out = (o), .out_len = (ol), .out_is_result = true, .on_success = ENDS_OP, \
		.on_error = ENDS_OP                                                        \
	}
#define UPDATE(k, i, il)                                                \
	{                                                               \
		.kind = (k), .has_in = true, .in = (i), .in_len = (il), \
		.on_success = ENDS_NOTHING, .on_error = ENDS_OP         \
	}
#define UPDATE_OUT(k, i, il, o, ol, result)                                              \
	{                                                                                \
		.kind = (k), .has_in = true, .in = (i), .in_len = (il), .has_out = true, \
		.out = (o), .out_len = (ol), .out_is_result = (result),                  \
		.on_success = ENDS_NOTHING, .on_error = ENDS_OP                          \
	}
#define FINAL(k, o, ol)                                                                           \
	{                                                                                         \
		.kind = (k), .has_out = true, .out = (o), .out_len = (ol), .out_is_result = true, \
		.on_success = ENDS_OP, .on_error = ENDS_OP                                        \
	}

#define DATA_CALL(h, init, call)                    \
	do {                                        \
		data_call_t dc_ = init;             \
		sg_session_t *s_;                   \
		CK_RV rv_;                          \
		NEED_INIT();                        \
		if (!data_pre(h, &dc_, &s_, &rv_))  \
			return rv_;                 \
		return data_post(s_, &dc_, (call)); \
	} while (0)

static CK_RV gate_Sign(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                       CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	DATA_CALL(hSession, SINGLE(SG_OP_SIGN, pData, ulDataLen, pSignature, pulSignatureLen),
	          REAL(C_Sign, hSession, pData, ulDataLen, pSignature, pulSignatureLen));
}

static CK_RV gate_SignUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart, CK_ULONG ulPartLen)
{
	data_call_t dc = UPDATE(SG_OP_SIGN, pPart, ulPartLen);
	sg_session_t *s;
	CK_RV rv;

	NEED_INIT();
	dc.multipart = true;
	if (!data_pre(hSession, &dc, &s, &rv))
		return rv;
	return data_post(s, &dc, REAL(C_SignUpdate, hSession, pPart, ulPartLen));
}

static CK_RV gate_SignFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pSignature,
                            CK_ULONG_PTR pulSignatureLen)
{
	DATA_CALL(hSession, FINAL(SG_OP_SIGN, pSignature, pulSignatureLen),
	          REAL(C_SignFinal, hSession, pSignature, pulSignatureLen));
}

static CK_RV gate_SignRecover(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	DATA_CALL(hSession,
	          SINGLE(SG_OP_SIGN_RECOVER, pData, ulDataLen, pSignature, pulSignatureLen),
	          REAL(C_SignRecover, hSession, pData, ulDataLen, pSignature, pulSignatureLen));
}

static CK_RV gate_Decrypt(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedData,
                          CK_ULONG ulEncryptedDataLen, CK_BYTE_PTR pData, CK_ULONG_PTR pulDataLen)
{
	DATA_CALL(hSession,
	          SINGLE(SG_OP_DECRYPT, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen),
	          REAL(C_Decrypt, hSession, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen));
}

static CK_RV gate_DecryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                CK_ULONG_PTR pulPartLen)
{
	DATA_CALL(hSession,
	          UPDATE_OUT(SG_OP_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen,
	                     true),
	          REAL(C_DecryptUpdate, hSession, pEncryptedPart, ulEncryptedPartLen, pPart,
	               pulPartLen));
}

static CK_RV gate_DecryptFinal(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pLastPart,
                               CK_ULONG_PTR pulLastPartLen)
{
	DATA_CALL(hSession, FINAL(SG_OP_DECRYPT, pLastPart, pulLastPartLen),
	          REAL(C_DecryptFinal, hSession, pLastPart, pulLastPartLen));
}

/* Dual-function calls continue a signing or decrypting operation. */
static CK_RV gate_SignEncryptUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pPart,
                                    CK_ULONG ulPartLen, CK_BYTE_PTR pEncryptedPart,
                                    CK_ULONG_PTR pulEncryptedPartLen)
{
	DATA_CALL(hSession,
	          UPDATE_OUT(SG_OP_SIGN, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen,
	                     false),
	          REAL(C_SignEncryptUpdate, hSession, pPart, ulPartLen, pEncryptedPart,
	               pulEncryptedPartLen));
}

static CK_RV gate_DecryptDigestUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                      CK_ULONG_PTR pulPartLen)
{
	DATA_CALL(hSession,
	          UPDATE_OUT(SG_OP_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen,
	                     true),
	          REAL(C_DecryptDigestUpdate, hSession, pEncryptedPart, ulEncryptedPartLen, pPart,
	               pulPartLen));
}

static CK_RV gate_DecryptVerifyUpdate(CK_SESSION_HANDLE hSession, CK_BYTE_PTR pEncryptedPart,
                                      CK_ULONG ulEncryptedPartLen, CK_BYTE_PTR pPart,
                                      CK_ULONG_PTR pulPartLen)
{
	DATA_CALL(hSession,
	          UPDATE_OUT(SG_OP_DECRYPT, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen,
	                     true),
	          REAL(C_DecryptVerifyUpdate, hSession, pEncryptedPart, ulEncryptedPartLen, pPart,
	               pulPartLen));
}

/* ---------------------------------------------------------------------- */
/* key management                                                          */

static CK_RV gate_GenerateKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                              CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount,
                              CK_OBJECT_HANDLE_PTR phKey)
{
	ADMIN_CALL(hSession, !pMechanism || (!pTemplate && ulCount) || !phKey, ADMIN_GENERATE_KEY,
	           CK_INVALID_HANDLE, pTemplate, ulCount,
	           REAL(C_GenerateKey, hSession, pMechanism, pTemplate, ulCount, phKey), *phKey);
}

static CK_RV
gate_GenerateKeyPair(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                     CK_ATTRIBUTE_PTR pPublicKeyTemplate, CK_ULONG ulPublicKeyAttributeCount,
                     CK_ATTRIBUTE_PTR pPrivateKeyTemplate, CK_ULONG ulPrivateKeyAttributeCount,
                     CK_OBJECT_HANDLE_PTR phPublicKey, CK_OBJECT_HANDLE_PTR phPrivateKey)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (template_refused(s, ADMIN_GENERATE_KEY, pPublicKeyTemplate, ulPublicKeyAttributeCount,
	                     &rv) ||
	    template_refused(s, ADMIN_GENERATE_KEY, pPrivateKeyTemplate, ulPrivateKeyAttributeCount,
	                     &rv))
		goto out;
	if (!pMechanism || (!pPublicKeyTemplate && ulPublicKeyAttributeCount) ||
	    (!pPrivateKeyTemplate && ulPrivateKeyAttributeCount) || !phPublicKey || !phPrivateKey) {
		rv = REAL(C_GenerateKeyPair, hSession, pMechanism, pPublicKeyTemplate,
		          ulPublicKeyAttributeCount, pPrivateKeyTemplate,
		          ulPrivateKeyAttributeCount, phPublicKey, phPrivateKey);
		goto out;
	}
	rv = enforce_admin(s, s->slot, ADMIN_GENERATE_KEY, CK_INVALID_HANDLE, pPublicKeyTemplate,
	                   ulPublicKeyAttributeCount);
	if (rv == CKR_OK)
		rv = enforce_admin(s, s->slot, ADMIN_GENERATE_KEY, CK_INVALID_HANDLE,
		                   pPrivateKeyTemplate, ulPrivateKeyAttributeCount);
	if (rv != CKR_OK)
		goto out;
	rv = REAL(C_GenerateKeyPair, hSession, pMechanism, pPublicKeyTemplate,
	          ulPublicKeyAttributeCount, pPrivateKeyTemplate, ulPrivateKeyAttributeCount,
	          phPublicKey, phPrivateKey);
	enforce_admin_done(s, ADMIN_GENERATE_KEY, rv == CKR_OK ? *phPublicKey : CK_INVALID_HANDLE,
	                   rv);
	enforce_admin_done(s, ADMIN_GENERATE_KEY, rv == CKR_OK ? *phPrivateKey : CK_INVALID_HANDLE,
	                   rv);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_WrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                          CK_OBJECT_HANDLE hWrappingKey, CK_OBJECT_HANDLE hKey,
                          CK_BYTE_PTR pWrappedKey, CK_ULONG_PTR pulWrappedKeyLen)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	/* Nothing reaches the token undecided: missing arguments are refused
	 * here, with the code the token gives them. */
	if (!pMechanism || !pulWrappedKeyLen) {
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = enforce_key_use(s, USE_WRAP, pMechanism, hKey);
	if (handle_refused(rv) && real_rejects_handle(hSession, hKey)) {
		/* a key the token does not know: its own answer */
		CK_ULONG cap = *pulWrappedKeyLen;
		rv = REAL(C_WrapKey, hSession, pMechanism, hWrappingKey, hKey, pWrappedKey,
		          pulWrappedKeyLen);
		if (rv == CKR_OK) {
			/* the handle became valid meanwhile: nothing undecided leaves */
			if (pWrappedKey)
				OPENSSL_cleanse(pWrappedKey,
				                *pulWrappedKeyLen < cap ? *pulWrappedKeyLen : cap);
			*pulWrappedKeyLen = 0;
			enforce_handle_inconsistent(s, "C_WrapKey", hKey);
			rv = CKR_FUNCTION_REJECTED;
		}
		goto out;
	}
	if (rv != CKR_OK)
		goto out;
	rv = REAL(C_WrapKey, hSession, pMechanism, hWrappingKey, hKey, pWrappedKey,
	          pulWrappedKeyLen);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_UnwrapKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hUnwrappingKey, CK_BYTE_PTR pWrappedKey,
                            CK_ULONG ulWrappedKeyLen, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (template_refused(s, ADMIN_UNWRAP_KEY, pTemplate, ulAttributeCount, &rv))
		goto out;
	if (!pMechanism || !pWrappedKey || (!pTemplate && ulAttributeCount) || !phKey) {
		/* refused here with the token's code: nothing goes undecided */
		rv = CKR_ARGUMENTS_BAD;
		goto out;
	}
	rv = enforce_key_use(s, USE_UNWRAP, pMechanism, hUnwrappingKey);
	if (handle_refused(rv) && real_rejects_handle(hSession, hUnwrappingKey)) {
		/* an unwrapping key the token does not know: its own answer */
		rv = REAL(C_UnwrapKey, hSession, pMechanism, hUnwrappingKey, pWrappedKey,
		          ulWrappedKeyLen, pTemplate, ulAttributeCount, phKey);
		if (rv == CKR_OK) {
			/* the handle became valid meanwhile: the key created without
			 * a decision is destroyed, the call refused */
			if (REAL(C_DestroyObject, hSession, *phKey) != CKR_OK)
				fprintf(stderr,
				        "signgate: C_UnwrapKey: cannot destroy undecided object %lu\n",
				        (unsigned long)*phKey);
			*phKey = CK_INVALID_HANDLE;
			enforce_handle_inconsistent(s, "C_UnwrapKey", hUnwrappingKey);
			rv = CKR_FUNCTION_REJECTED;
		}
		goto out;
	}
	if (rv == CKR_OK)
		rv = enforce_admin(s, s->slot, ADMIN_UNWRAP_KEY, CK_INVALID_HANDLE, pTemplate,
		                   ulAttributeCount);
	if (rv != CKR_OK)
		goto out;
	rv = REAL(C_UnwrapKey, hSession, pMechanism, hUnwrappingKey, pWrappedKey, ulWrappedKeyLen,
	          pTemplate, ulAttributeCount, phKey);
	rv = enforce_key_use_done(s, USE_UNWRAP, rv, rv == CKR_OK ? *phKey : CK_INVALID_HANDLE);
	enforce_admin_done(s, ADMIN_UNWRAP_KEY, rv == CKR_OK ? *phKey : CK_INVALID_HANDLE, rv);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_DeriveKey(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                            CK_OBJECT_HANDLE hBaseKey, CK_ATTRIBUTE_PTR pTemplate,
                            CK_ULONG ulAttributeCount, CK_OBJECT_HANDLE_PTR phKey)
{
	CK_RV rv;

	NEED_INIT();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (template_refused(s, ADMIN_DERIVE_KEY, pTemplate, ulAttributeCount, &rv))
		goto out;
	if (!pMechanism || (!pTemplate && ulAttributeCount)) {
		rv = REAL(C_DeriveKey, hSession, pMechanism, hBaseKey, pTemplate, ulAttributeCount,
		          phKey);
		goto out;
	}
	rv = enforce_key_use(s, USE_DERIVE, pMechanism, hBaseKey);
	if (rv == CKR_OK)
		rv = enforce_admin(s, s->slot, ADMIN_DERIVE_KEY, CK_INVALID_HANDLE, pTemplate,
		                   ulAttributeCount);
	if (rv != CKR_OK)
		goto out;
	rv = REAL(C_DeriveKey, hSession, pMechanism, hBaseKey, pTemplate, ulAttributeCount, phKey);
	rv = enforce_key_use_done(s, USE_DERIVE, rv,
	                          rv == CKR_OK && phKey ? *phKey : CK_INVALID_HANDLE);
	enforce_admin_done(s, ADMIN_DERIVE_KEY, rv == CKR_OK && phKey ? *phKey : CK_INVALID_HANDLE,
	                   rv);
out:
	session_put(s);
	return rv;
}

/* ---------------------------------------------------------------------- */
/* PKCS#11 3.0                                                             */

static CK_RV gate_SessionCancel(CK_SESSION_HANDLE hSession, CK_FLAGS flags)
{
	CK_RV rv;

	NEED_3_0();
	sg_session_t *s = session_strict(hSession);
	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	rv = REAL3(C_SessionCancel, hSession, flags);
	if (rv == CKR_OK && s->op.op != SG_OP_NONE && (flags & op_cancel_flag(s->op.op)))
		op_end(s, CKR_FUNCTION_CANCELED);
	session_put(s);
	return rv;
}

static CK_RV gate_MessageDecryptInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                     CK_OBJECT_HANDLE hKey)
{
	NEED_3_0();
	return op_init(hSession, pMechanism, hKey, USE_DECRYPT, SG_OP_MESSAGE_DECRYPT,
	               backend.list3->C_MessageDecryptInit);
}

#define MESSAGE_SINGLE(k, i, il, o, ol)                                                         \
	{                                                                                       \
		.kind = (k), .has_in = true, .in = (i), .in_len = (il), .has_out = true,        \
		.out = (o), .out_len = (ol), .out_is_result = true, .on_success = ENDS_MESSAGE, \
		.on_error = ENDS_MESSAGE                                                        \
	}

static CK_RV gate_DecryptMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                 CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                 CK_ULONG ulAssociatedDataLen, CK_BYTE_PTR pCiphertext,
                                 CK_ULONG ulCiphertextLen, CK_BYTE_PTR pPlaintext,
                                 CK_ULONG_PTR pulPlaintextLen)
{
	NEED_3_0();
	DATA_CALL(hSession,
	          MESSAGE_SINGLE(SG_OP_MESSAGE_DECRYPT, pCiphertext, ulCiphertextLen, pPlaintext,
	                         pulPlaintextLen),
	          REAL3(C_DecryptMessage, hSession, pParameter, ulParameterLen, pAssociatedData,
	                ulAssociatedDataLen, pCiphertext, ulCiphertextLen, pPlaintext,
	                pulPlaintextLen));
}

/* A message begins: forget the previous message's data. */
static CK_RV message_begin(CK_SESSION_HANDLE h, sg_op_t kind, CK_RV (*call)(void *), void *arg)
{
	CK_RV rv;
	sg_session_t *s = session_strict(h);

	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (s->op.op != SG_OP_NONE && s->op.op != kind) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	rv = call(arg);
	if (rv == CKR_OK && s->op.op == kind) {
		session_op_data_reset(&s->op);
		s->data_pending = false;
	}
out:
	session_put(s);
	return rv;
}

struct begin_args {
	CK_SESSION_HANDLE h;
	CK_VOID_PTR param;
	CK_ULONG param_len;
	CK_BYTE_PTR aad;
	CK_ULONG aad_len;
};

static CK_RV call_decrypt_begin(void *p)
{
	struct begin_args *a = p;
	return REAL3(C_DecryptMessageBegin, a->h, a->param, a->param_len, a->aad, a->aad_len);
}

static CK_RV call_sign_begin(void *p)
{
	struct begin_args *a = p;
	return REAL3(C_SignMessageBegin, a->h, a->param, a->param_len);
}

static CK_RV gate_DecryptMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                      CK_ULONG ulParameterLen, CK_BYTE_PTR pAssociatedData,
                                      CK_ULONG ulAssociatedDataLen)
{
	struct begin_args a = { hSession, pParameter, ulParameterLen, pAssociatedData,
		                ulAssociatedDataLen };
	NEED_3_0();
	return message_begin(hSession, SG_OP_MESSAGE_DECRYPT, call_decrypt_begin, &a);
}

static CK_RV gate_DecryptMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                     CK_ULONG ulParameterLen, CK_BYTE_PTR pCiphertextPart,
                                     CK_ULONG ulCiphertextPartLen, CK_BYTE_PTR pPlaintextPart,
                                     CK_ULONG_PTR pulPlaintextPartLen, CK_FLAGS flags)
{
	NEED_3_0();
	data_call_t dc = UPDATE_OUT(SG_OP_MESSAGE_DECRYPT, pCiphertextPart, ulCiphertextPartLen,
	                            pPlaintextPart, pulPlaintextPartLen, true);
	dc.on_success = (flags & CKF_END_OF_MESSAGE) ? ENDS_MESSAGE : ENDS_NOTHING;
	dc.on_error = ENDS_MESSAGE;
	sg_session_t *s;
	CK_RV rv;
	if (!data_pre(hSession, &dc, &s, &rv))
		return rv;
	return data_post(s, &dc,
	                 REAL3(C_DecryptMessageNext, hSession, pParameter, ulParameterLen,
	                       pCiphertextPart, ulCiphertextPartLen, pPlaintextPart,
	                       pulPlaintextPartLen, flags));
}

/* The end of a message-based operation. */
static CK_RV message_final(CK_SESSION_HANDLE h, sg_op_t kind, CK_RV (*real)(CK_SESSION_HANDLE))
{
	CK_RV rv;
	sg_session_t *s = session_strict(h);

	if (!s)
		return CKR_SESSION_HANDLE_INVALID;
	if (s->op.op != SG_OP_NONE && s->op.op != kind) {
		rv = CKR_OPERATION_NOT_INITIALIZED;
		goto out;
	}
	rv = real ? real(h) : CKR_FUNCTION_NOT_SUPPORTED;
	if (s->op.op == kind && rv != CKR_ARGUMENTS_BAD)
		op_end(s, rv);
out:
	session_put(s);
	return rv;
}

static CK_RV gate_MessageDecryptFinal(CK_SESSION_HANDLE hSession)
{
	NEED_3_0();
	return message_final(hSession, SG_OP_MESSAGE_DECRYPT, backend.list3->C_MessageDecryptFinal);
}

static CK_RV gate_MessageSignInit(CK_SESSION_HANDLE hSession, CK_MECHANISM_PTR pMechanism,
                                  CK_OBJECT_HANDLE hKey)
{
	NEED_3_0();
	return op_init(hSession, pMechanism, hKey, USE_SIGN, SG_OP_MESSAGE_SIGN,
	               backend.list3->C_MessageSignInit);
}

static CK_RV gate_SignMessage(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                              CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                              CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	NEED_3_0();
	DATA_CALL(hSession,
	          MESSAGE_SINGLE(SG_OP_MESSAGE_SIGN, pData, ulDataLen, pSignature, pulSignatureLen),
	          REAL3(C_SignMessage, hSession, pParameter, ulParameterLen, pData, ulDataLen,
	                pSignature, pulSignatureLen));
}

static CK_RV gate_SignMessageBegin(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                   CK_ULONG ulParameterLen)
{
	struct begin_args a = { hSession, pParameter, ulParameterLen, NULL, 0 };
	NEED_3_0();
	return message_begin(hSession, SG_OP_MESSAGE_SIGN, call_sign_begin, &a);
}

static CK_RV gate_SignMessageNext(CK_SESSION_HANDLE hSession, CK_VOID_PTR pParameter,
                                  CK_ULONG ulParameterLen, CK_BYTE_PTR pData, CK_ULONG ulDataLen,
                                  CK_BYTE_PTR pSignature, CK_ULONG_PTR pulSignatureLen)
{
	NEED_3_0();
	data_call_t dc;
	if (pulSignatureLen) {
		/* the last part: the signature comes back */
		data_call_t last = MESSAGE_SINGLE(SG_OP_MESSAGE_SIGN, pData, ulDataLen, pSignature,
		                                  pulSignatureLen);
		dc = last;
	} else {
		data_call_t part = UPDATE(SG_OP_MESSAGE_SIGN, pData, ulDataLen);
		part.on_error = ENDS_MESSAGE;
		dc = part;
	}
	sg_session_t *s;
	CK_RV rv;
	if (!data_pre(hSession, &dc, &s, &rv))
		return rv;
	return data_post(s, &dc,
	                 REAL3(C_SignMessageNext, hSession, pParameter, ulParameterLen, pData,
	                       ulDataLen, pSignature, pulSignatureLen));
}

static CK_RV gate_MessageSignFinal(CK_SESSION_HANDLE hSession)
{
	NEED_3_0();
	return message_final(hSession, SG_OP_MESSAGE_SIGN, backend.list3->C_MessageSignFinal);
}

/* ---------------------------------------------------------------------- */
/* the tables                                                              */

/* Filled from forward.h's lists: C_<name> = gate_<name> for every
 * entry, the three getters being the exported functions themselves. */
#define gate_GetFunctionList C_GetFunctionList
#define gate_GetInterfaceList C_GetInterfaceList
#define gate_GetInterface C_GetInterface
#define TABLE_ENTRY(fn) .C_##fn = gate_##fn,
#define COUNT_ENTRY(fn) +1

/* a name given twice would leave another entry out */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Woverride-init"
static CK_FUNCTION_LIST list_2_40 = { .version = { 2, 40 }, SG_P11_FUNCTIONS_2_40(TABLE_ENTRY) };

static CK_FUNCTION_LIST_3_0 list_3_0 = { .version = { 3, 0 },
	                                 SG_P11_FUNCTIONS_2_40(TABLE_ENTRY)
	                                         SG_P11_FUNCTIONS_3_0(TABLE_ENTRY) };
#pragma GCC diagnostic pop

/* No entry left out: the lists name as many functions as the tables
 * have pointers (a missing name would leave a NULL entry). */
_Static_assert(sizeof(CK_FUNCTION_LIST) ==
                       offsetof(CK_FUNCTION_LIST, C_Initialize) +
                               (0 SG_P11_FUNCTIONS_2_40(COUNT_ENTRY)) * sizeof(CK_C_Initialize),
               "forward.h: SG_P11_FUNCTIONS_2_40 does not name every 2.40 function");
_Static_assert(sizeof(CK_FUNCTION_LIST_3_0) == offsetof(CK_FUNCTION_LIST_3_0, C_Initialize) +
                                                       (0 SG_P11_FUNCTIONS_2_40(COUNT_ENTRY)
                                                                SG_P11_FUNCTIONS_3_0(COUNT_ENTRY)) *
                                                               sizeof(CK_C_Initialize),
               "forward.h: SG_P11_FUNCTIONS_3_0 does not name every 3.0 function");

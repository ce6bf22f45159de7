/* A test-only PKCS#11 3.0 backend that counts calls: SoftHSM (SG_SOFTHSM)
 * behind a 3.0 interface, where every call that signs, decrypts with a
 * private key, or creates, copies, changes, exports or destroys a key,
 * and every administration call, is counted before it goes on to
 * SoftHSM.  The 3.0 message functions are built on SoftHSM's single-part
 * calls (sign and decrypt) or answer CKR_FUNCTION_NOT_SUPPORTED; they
 * are counted all the same.  Two plain pass-throughs (C_DigestInit,
 * C_MessageVerifyInit) are counted too, as a control that the count
 * sees what signgate forwards.
 *
 * The test loads this library by the same path signgate does (one
 * instance in the process) and reads the counts with rec_count(name);
 * rec_reset() zeroes them, rec_watch(h) counts only calls on the test's
 * session h from then on (signgate signs in sessions of its own to prove
 * a key's identity); calls on a slot are always counted.  Login counts only non-user logins
 * ("C_Login(SO)"), since signgate logs in to the token itself.  The
 * table and the getters are tests/lib/wrap30.c's. */
#include <string.h>

#include "wrap30.h"

#define EXPORT __attribute__((visibility("default")))

/* name, parameters, arguments: counted, then SoftHSM's own */
#define REC_2_40(X)                                                                                \
	X(SignInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (h, m, k))      \
	X(Sign, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol), \
	  (h, d, dl, o, ol))                                                                       \
	X(SignUpdate, (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl), (h, d, dl))               \
	X(SignFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, o, ol))            \
	X(SignRecoverInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),          \
	  (h, m, k))                                                                               \
	X(SignRecover,                                                                             \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol),       \
	  (h, d, dl, o, ol))                                                                       \
	X(DecryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k), (h, m, k))   \
	X(Decrypt,                                                                                 \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol),       \
	  (h, d, dl, o, ol))                                                                       \
	X(DecryptUpdate,                                                                           \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol),       \
	  (h, d, dl, o, ol))                                                                       \
	X(DecryptFinal, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, o, ol))         \
	X(SignEncryptUpdate,                                                                       \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol),       \
	  (h, d, dl, o, ol))                                                                       \
	X(DecryptDigestUpdate,                                                                     \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol),       \
	  (h, d, dl, o, ol))                                                                       \
	X(DecryptVerifyUpdate,                                                                     \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol),       \
	  (h, d, dl, o, ol))                                                                       \
	X(GenerateKey,                                                                             \
	  (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR t, CK_ULONG n,                \
	   CK_OBJECT_HANDLE_PTR k),                                                                \
	  (h, m, t, n, k))                                                                         \
	X(GenerateKeyPair,                                                                         \
	  (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pt, CK_ULONG pn,              \
	   CK_ATTRIBUTE_PTR st, CK_ULONG sn, CK_OBJECT_HANDLE_PTR pk, CK_OBJECT_HANDLE_PTR sk),    \
	  (h, m, pt, pn, st, sn, pk, sk))                                                          \
	X(WrapKey,                                                                                 \
	  (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE w, CK_OBJECT_HANDLE k,        \
	   CK_BYTE_PTR o, CK_ULONG_PTR ol),                                                        \
	  (h, m, w, k, o, ol))                                                                     \
	X(UnwrapKey,                                                                               \
	  (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE u, CK_BYTE_PTR d,             \
	   CK_ULONG dl, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR k),                   \
	  (h, m, u, d, dl, t, n, k))                                                               \
	X(DeriveKey,                                                                               \
	  (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR t,        \
	   CK_ULONG n, CK_OBJECT_HANDLE_PTR k),                                                    \
	  (h, m, b, t, n, k))                                                                      \
	X(CreateObject,                                                                            \
	  (CK_SESSION_HANDLE h, CK_ATTRIBUTE_PTR t, CK_ULONG n, CK_OBJECT_HANDLE_PTR o),           \
	  (h, t, n, o))                                                                            \
	X(CopyObject,                                                                              \
	  (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n,                \
	   CK_OBJECT_HANDLE_PTR no),                                                               \
	  (h, o, t, n, no))                                                                        \
	X(DestroyObject, (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o), (h, o))                        \
	X(SetAttributeValue,                                                                       \
	  (CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t, CK_ULONG n), (h, o, t, n)) \
	X(InitPIN, (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR p, CK_ULONG pl), (h, p, pl))              \
	X(SetPIN,                                                                                  \
	  (CK_SESSION_HANDLE h, CK_UTF8CHAR_PTR o, CK_ULONG ol, CK_UTF8CHAR_PTR n, CK_ULONG nl),   \
	  (h, o, ol, n, nl))                                                                       \
	X(GetOperationState, (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol), (h, o, ol))    \
	X(SetOperationState,                                                                       \
	  (CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG ol, CK_OBJECT_HANDLE e,                    \
	   CK_OBJECT_HANDLE a),                                                                    \
	  (h, o, ol, e, a))                                                                        \
	X(DigestInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m), (h, m))

/* calls on a slot: always counted */
#define REC_SLOT(X)                                                                     \
	X(InitToken, (CK_SLOT_ID s, CK_UTF8CHAR_PTR p, CK_ULONG pl, CK_UTF8CHAR_PTR l), \
	  (s, p, pl, l))                                                                \
	X(CloseAllSessions, (CK_SLOT_ID s), (s))

/* the 3.0 calls: counted, then answered by the expression in the third column */
#define REC_3_0(X)                                                                                 \
	X(LoginUser,                                                                               \
	  (CK_SESSION_HANDLE h, CK_USER_TYPE u, CK_UTF8CHAR_PTR p, CK_ULONG pl, CK_UTF8CHAR_PTR n, \
	   CK_ULONG nl),                                                                           \
	  ((void)n, (void)nl, hsm->C_Login(h, u, p, pl)))                                          \
	X(MessageSignInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),          \
	  (hsm->C_SignInit(h, m, k)))                                                              \
	X(SignMessage,                                                                             \
	  (CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,            \
	   CK_BYTE_PTR o, CK_ULONG_PTR ol),                                                        \
	  ((void)p, (void)pl, hsm->C_Sign(h, d, dl, o, ol)))                                       \
	X(SignMessageBegin, (CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl),                     \
	  ((void)h, (void)p, (void)pl, CKR_FUNCTION_NOT_SUPPORTED))                                \
	X(SignMessageNext,                                                                         \
	  (CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d, CK_ULONG dl,            \
	   CK_BYTE_PTR o, CK_ULONG_PTR ol),                                                        \
	  ((void)p, (void)pl, hsm->C_Sign(h, d, dl, o, ol)))                                       \
	X(MessageSignFinal, (CK_SESSION_HANDLE h), ((void)h, CKR_OK))                              \
	X(MessageDecryptInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),       \
	  (hsm->C_DecryptInit(h, m, k)))                                                           \
	X(DecryptMessage,                                                                          \
	  (CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al,            \
	   CK_BYTE_PTR c, CK_ULONG cl, CK_BYTE_PTR o, CK_ULONG_PTR ol),                            \
	  ((void)p, (void)pl, (void)a, (void)al, hsm->C_Decrypt(h, c, cl, o, ol)))                 \
	X(DecryptMessageBegin,                                                                     \
	  (CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a, CK_ULONG al),           \
	  ((void)h, (void)p, (void)pl, (void)a, (void)al, CKR_FUNCTION_NOT_SUPPORTED))             \
	X(DecryptMessageNext,                                                                      \
	  (CK_SESSION_HANDLE h, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR c, CK_ULONG cl,            \
	   CK_BYTE_PTR o, CK_ULONG_PTR ol, CK_FLAGS f),                                            \
	  ((void)p, (void)pl, (void)f, hsm->C_Decrypt(h, c, cl, o, ol)))                           \
	X(MessageDecryptFinal, (CK_SESSION_HANDLE h), ((void)h, CKR_OK))                           \
	X(MessageVerifyInit, (CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k),        \
	  ((void)h, (void)m, (void)k, CKR_FUNCTION_NOT_SUPPORTED))

#define REC_ENUM(fn, params, args) REC_##fn,
enum { REC_2_40(REC_ENUM) REC_SLOT(REC_ENUM) REC_3_0(REC_ENUM) REC_LOGIN_SO, REC_N };
#define REC_NAME(fn, params, args) "C_" #fn,
static const char *const rec_names[REC_N] = { REC_2_40(REC_NAME) REC_SLOT(REC_NAME)
	                                              REC_3_0(REC_NAME) "C_Login(SO)" };
static unsigned long rec_calls[REC_N];
/* Only calls on this session are counted (signgate's own sessions sign
 * to prove a key's identity); CK_INVALID_HANDLE: every session. */
static CK_SESSION_HANDLE watched = CK_INVALID_HANDLE;

static void rec_hit(int which, CK_SESSION_HANDLE h)
{
	if (__atomic_load_n(&watched, __ATOMIC_RELAXED) == CK_INVALID_HANDLE ||
	    h == __atomic_load_n(&watched, __ATOMIC_RELAXED))
		__atomic_add_fetch(&rec_calls[which], 1, __ATOMIC_RELAXED);
}

#define REC_FIRST(a, ...) a

#define REC_WRAP_2_40(fn, params, args)            \
	static CK_RV r_##fn params                 \
	{                                          \
		rec_hit(REC_##fn, REC_FIRST args); \
		return hsm->C_##fn args;           \
	}
REC_2_40(REC_WRAP_2_40)

#define REC_WRAP_SLOT(fn, params, args)                                        \
	static CK_RV r_##fn params                                             \
	{                                                                      \
		__atomic_add_fetch(&rec_calls[REC_##fn], 1, __ATOMIC_RELAXED); \
		return hsm->C_##fn args;                                       \
	}
REC_SLOT(REC_WRAP_SLOT)

#define REC_WRAP_3_0(fn, params, body) \
	static CK_RV r_##fn params     \
	{                              \
		rec_hit(REC_##fn, h);  \
		return body;           \
	}
REC_3_0(REC_WRAP_3_0)

static CK_RV r_Login(CK_SESSION_HANDLE h, CK_USER_TYPE u, CK_UTF8CHAR_PTR p, CK_ULONG pl)
{
	if (u != CKU_USER)
		rec_hit(REC_LOGIN_SO, h);
	return hsm->C_Login(h, u, p, pl);
}

void wrap30_fill(CK_FUNCTION_LIST_3_0 *l)
{
#define REC_SET(fn, params, args) l->C_##fn = r_##fn;
	REC_2_40(REC_SET)
	REC_SLOT(REC_SET)
	REC_3_0(REC_SET)
	l->C_Login = r_Login;
	/* C_SessionCancel stays unsupported */
}

/* The count of calls of a function ("C_SignInit", "C_Login(SO)"), or -1
 * for a name not counted here. */
EXPORT long rec_count(const char *name)
{
	for (int i = 0; i < REC_N; i++)
		if (strcmp(rec_names[i], name) == 0)
			return (long)__atomic_load_n(&rec_calls[i], __ATOMIC_RELAXED);
	return -1;
}

/* Count only the calls on session h from now on. */
EXPORT void rec_watch(CK_SESSION_HANDLE h)
{
	__atomic_store_n(&watched, h, __ATOMIC_RELAXED);
}

EXPORT void rec_reset(void)
{
	for (int i = 0; i < REC_N; i++)
		__atomic_store_n(&rec_calls[i], 0, __ATOMIC_RELAXED);
}

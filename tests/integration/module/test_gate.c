/* signgate module test: the PKCS#11 ABI layer against a real SoftHSM token.
 *
 * Loads signgate-pkcs11.so (and, for comparison, SoftHSM directly, one
 * after the other: both in one process would share SoftHSM's state) with
 * dlopen only.  Checked: calls before C_Initialize, the C_Initialize
 * argument matrix, nested initialisation, the getters, length queries
 * (C_GetSlotList, C_Sign) against direct SoftHSM, closing sessions, fork
 * (the child starts clean and signs; the fork handler makes no call into
 * the real module) and signing from several threads with their own
 * sessions.
 *
 * Usage: test_gate all          the whole suite (env from fixture.sh)
 *        test_gate init         C_Initialize(NULL) and print the CK_RV
 *        test_gate iface30      interfaces over a 3.0 backend (backend30.c)
 * Env: SIGNGATE_MODULE SG_SOFTHSM SG_TOKEN SG_USER_PIN SIGNGATE_CONF;
 * SG_SPY_LOG: the pkcs11-spy log when the config's backend is the spy.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "p11test.h"

/* The 3.0 getter types, for a header without them. */
typedef struct test_interface {
	CK_UTF8CHAR_PTR pInterfaceName;
	CK_VOID_PTR pFunctionList;
	CK_FLAGS flags;
} test_interface_t;
typedef CK_RV (*get_interface_list_t)(test_interface_t *, CK_ULONG_PTR);
typedef CK_RV (*get_interface_t)(CK_UTF8CHAR_PTR, CK_VERSION_PTR, test_interface_t **, CK_FLAGS);

static int failures;
static const char *token_label;
static const char *user_pin;

typedef struct module {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	const char *name;
} module_t;

static void module_load(module_t *m, const char *path, const char *name)
{
	m->name = name;
	m->f = p11t_load(path, &m->dl);
}

/* A read-only session logged in as the user. */
static CK_SESSION_HANDLE open_login(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE h = p11t_try_open_login(f, slot, 0, user_pin);
	CHECK(h != CK_INVALID_HANDLE, "C_OpenSession or C_Login failed");
	return h;
}

/* --- application mutex callbacks ---------------------------------------- */

static CK_RV app_create(void **m)
{
	pthread_mutex_t *p = malloc(sizeof(*p));
	if (!p)
		return CKR_HOST_MEMORY;
	pthread_mutex_init(p, NULL);
	*m = p;
	return CKR_OK;
}

static CK_RV app_destroy(void *m)
{
	pthread_mutex_destroy(m);
	free(m);
	return CKR_OK;
}

static CK_RV app_lock(void *m)
{
	return pthread_mutex_lock(m) ? CKR_MUTEX_BAD : CKR_OK;
}

static CK_RV app_unlock(void *m)
{
	return pthread_mutex_unlock(m) ? CKR_MUTEX_NOT_LOCKED : CKR_OK;
}

/* --- the cases ---------------------------------------------------------- */

/* Before C_Initialize every call gives CKR_CRYPTOKI_NOT_INITIALIZED, as
 * SoftHSM's own do. */
static void test_before_init(module_t *gate, module_t *direct)
{
	module_t *mods[2] = { direct, gate };
	for (int i = 0; i < 2; i++) {
		CK_FUNCTION_LIST_PTR f = mods[i]->f;
		CK_INFO info;
		CK_ULONG n = 0;
		CK_SESSION_HANDLE h;
		CK_BYTE buf[8];
		CK_ULONG len = sizeof(buf);
		CK_RV rv;

		rv = f->C_GetInfo(&info);
		EXPECT_RV(rv, CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo before init");
		rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
		EXPECT_RV(rv, CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSlotList before init");
		rv = f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h);
		EXPECT_RV(rv, CKR_CRYPTOKI_NOT_INITIALIZED, "C_OpenSession before init");
		rv = f->C_Sign(1, buf, sizeof(buf), buf, &len);
		EXPECT_RV(rv, CKR_CRYPTOKI_NOT_INITIALIZED, "C_Sign before init");
		rv = f->C_Finalize(NULL);
		EXPECT_RV(rv, CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize before init");
	}
}

static void test_init_args(module_t *gate, module_t *direct, const char *conf)
{
	CK_FUNCTION_LIST_PTR f = gate->f;
	CK_C_INITIALIZE_ARGS a;
	CK_RV rv;

	rv = f->C_Initialize(NULL);
	EXPECT_RV(rv, CKR_OK, "C_Initialize(NULL)");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");

	rv = p11t_initialize(f, NULL);
	EXPECT_RV(rv, CKR_OK, "C_Initialize(OS locking)");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");

	memset(&a, 0, sizeof(a));
	a.CreateMutex = app_create;
	a.DestroyMutex = app_destroy;
	a.LockMutex = app_lock;
	a.UnlockMutex = app_unlock;
	rv = f->C_Initialize(&a);
	EXPECT_RV(rv, CKR_OK, "C_Initialize(four mutex callbacks)");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");

	a.flags = CKF_OS_LOCKING_OK;
	rv = f->C_Initialize(&a);
	EXPECT_RV(rv, CKR_OK, "C_Initialize(callbacks + OS locking)");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");

	/* A partial set of callbacks: CKR_ARGUMENTS_BAD, as directly. */
	module_t *mods[2] = { direct, gate };
	for (int i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.CreateMutex = app_create;
		a.LockMutex = app_lock;
		rv = mods[i]->f->C_Initialize(&a);
		EXPECT_RV(rv, CKR_ARGUMENTS_BAD,
		          mods[i] == gate ? "gate: partial callbacks"
		                          : "direct: partial callbacks");
		if (rv == CKR_OK)
			mods[i]->f->C_Finalize(NULL);
	}

	/* pReserved is the config path (p11-kit's x-init-reserved); it is
	 * consumed, not passed to SoftHSM (which would refuse it). */
	char *saved = getenv("SIGNGATE_CONF") ? strdup(getenv("SIGNGATE_CONF")) : NULL;
	unsetenv("SIGNGATE_CONF");
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	a.pReserved = (void *)conf;
	rv = f->C_Initialize(&a);
	EXPECT_RV(rv, CKR_OK, "C_Initialize(pReserved = config path)");
	if (rv == CKR_OK) {
		CHECK(p11t_slot_by_label(f, token_label) != (CK_SLOT_ID)-1,
		      "token not visible with the pReserved config");
		EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
	}
	a.pReserved = (void *)"/nonexistent/signgate.conf";
	rv = f->C_Initialize(&a);
	EXPECT_RV(rv, CKR_FUNCTION_FAILED, "C_Initialize(pReserved = missing config)");
	if (rv == CKR_OK)
		f->C_Finalize(NULL);
	/* SIGNGATE_CONF wins over pReserved */
	if (saved) {
		setenv("SIGNGATE_CONF", saved, 1);
		rv = f->C_Initialize(&a);
		EXPECT_RV(rv, CKR_OK, "C_Initialize(SIGNGATE_CONF over a bad pReserved)");
		if (rv == CKR_OK)
			f->C_Finalize(NULL);
		free(saved);
	}

	/* Nested initialisation, double finalisation; C_Finalize(non-NULL). */
	EXPECT_RV(f->C_Initialize(NULL), CKR_OK, "C_Initialize");
	EXPECT_RV(f->C_Initialize(NULL), CKR_CRYPTOKI_ALREADY_INITIALIZED, "nested C_Initialize");
	EXPECT_RV(f->C_Finalize((void *)1), CKR_ARGUMENTS_BAD, "C_Finalize(non-NULL)");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
	EXPECT_RV(f->C_Finalize(NULL), CKR_CRYPTOKI_NOT_INITIALIZED, "second C_Finalize");
}

/* Only our tables are handed out; 3.0 only if SoftHSM had it (it has not). */
static void test_getters(module_t *gate, module_t *direct)
{
	get_interface_list_t gil;
	get_interface_t gi;
	CK_FUNCTION_LIST_PTR l = NULL, l2 = NULL;
	test_interface_t ifs[4], *iface = NULL;
	CK_ULONG n = 0;
	CK_VERSION v30 = { 3, 0 }, v240 = { 2, 40 };

	EXPECT_RV(((CK_C_GetFunctionList)dlsym(gate->dl, "C_GetFunctionList"))(NULL),
	          CKR_ARGUMENTS_BAD, "C_GetFunctionList(NULL)");
	CHECK(gate->f != direct->f, "the gate hands out SoftHSM's table");
	CHECK(gate->f->C_Sign != direct->f->C_Sign, "C_Sign is SoftHSM's");
	CHECK(gate->f->C_GetFunctionList(&l) == CKR_OK && l == gate->f,
	      "the table's C_GetFunctionList does not return our table");
	*(void **)&gil = dlsym(gate->dl, "C_GetInterfaceList");
	*(void **)&gi = dlsym(gate->dl, "C_GetInterface");
	CHECK(gil && gi, "C_GetInterfaceList/C_GetInterface not exported");
	if (!gil || !gi)
		return;
	for (int init = 0; init < 2; init++) {
		if (init)
			EXPECT_RV(gate->f->C_Initialize(NULL), CKR_OK, "C_Initialize");
		EXPECT_RV(gil(NULL, NULL), CKR_ARGUMENTS_BAD, "C_GetInterfaceList(NULL, NULL)");
		EXPECT_RV(gil(NULL, &n), CKR_OK, "C_GetInterfaceList count");
		CHECK(n == 1, "SoftHSM is 2.40: one interface expected, got %lu", (unsigned long)n);
		n = 0;
		EXPECT_RV(gil(ifs, &n), CKR_BUFFER_TOO_SMALL, "C_GetInterfaceList small buffer");
		CHECK(n == 1, "count after CKR_BUFFER_TOO_SMALL: %lu", (unsigned long)n);
		n = 4;
		EXPECT_RV(gil(ifs, &n), CKR_OK, "C_GetInterfaceList");
		CHECK(n == 1 && strcmp((char *)ifs[0].pInterfaceName, "PKCS 11") == 0 &&
		              ifs[0].pFunctionList == gate->f,
		      "interface list content");
		EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &iface, 0), CKR_ARGUMENTS_BAD,
		          "C_GetInterface 3.0 over a 2.40 backend");
		EXPECT_RV(gi(NULL, NULL, &iface, 0), CKR_OK, "C_GetInterface default");
		CHECK(iface && iface->pFunctionList == gate->f,
		      "default interface is not our 2.40 table");
		EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &iface, 0), CKR_OK,
		          "C_GetInterface 2.40");
		l2 = iface ? iface->pFunctionList : NULL;
		CHECK(l2 == gate->f && l2->version.major == 2 && l2->version.minor == 40,
		      "2.40 interface is not our 2.40 table");
		EXPECT_RV(gi((CK_UTF8CHAR_PTR) "Vendor", NULL, &iface, 0), CKR_ARGUMENTS_BAD,
		          "C_GetInterface unknown name");
		EXPECT_RV(gi(NULL, NULL, NULL, 0), CKR_ARGUMENTS_BAD, "C_GetInterface(NULL out)");
	}
	EXPECT_RV(gate->f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

/* What one module answers in a fixed sequence of slot and signing calls
 * with length queries and bad arguments. */
typedef struct answers {
	CK_RV slot_null, slot_small, slot_null_count;
	CK_ULONG slot_count_after_small;
	CK_RV sign_no_init, sign_init, sign_null_buf, sign_small, sign_ok, verify;
	CK_ULONG len_null, len_small, len_ok;
	CK_RV sign_null_data, sign_null_len, sign_after;
	CK_RV ec_init, ec_null, ec_ok, ec_verify;
	CK_ULONG ec_len_null;
	CK_RV final_null, update, final_ok;
	CK_ULONG final_len;
	CK_RV bad_session;
} answers_t;

static void run_sequence(module_t *m, answers_t *a)
{
	CK_FUNCTION_LIST_PTR f = m->f;
	CK_SLOT_ID slots[1];
	CK_ULONG n;
	CK_MECHANISM rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_BYTE data[] = "signgate length queries";
	CK_BYTE hash[32];
	CK_BYTE sig[512];
	CK_ULONG len;

	memset(a, 0, sizeof(*a));
	memset(hash, 0x5a, sizeof(hash));
	EXPECT_RV(p11t_initialize(f, NULL), CKR_OK, "C_Initialize");
	a->slot_null = f->C_GetSlotList(CK_TRUE, NULL, &n);
	n = 0;
	a->slot_small = f->C_GetSlotList(CK_TRUE, slots, &n);
	a->slot_count_after_small = n;
	a->slot_null_count = f->C_GetSlotList(CK_TRUE, NULL, NULL);

	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	CK_SESSION_HANDLE h = open_login(f, slot);
	CK_OBJECT_HANDLE rsa_priv = p11t_key(f, h, CKO_PRIVATE_KEY, 0x01);
	CK_OBJECT_HANDLE rsa_pub = p11t_key(f, h, CKO_PUBLIC_KEY, 0x01);
	CK_OBJECT_HANDLE ec_priv = p11t_key(f, h, CKO_PRIVATE_KEY, 0x02);
	CK_OBJECT_HANDLE ec_pub = p11t_key(f, h, CKO_PUBLIC_KEY, 0x02);
	CHECK(rsa_priv && rsa_pub && ec_priv && ec_pub, "%s: test keys not found", m->name);

	len = sizeof(sig);
	a->sign_no_init = f->C_Sign(h, data, sizeof(data), sig, &len);
	a->sign_init = f->C_SignInit(h, &rsa, rsa_priv);
	len = 0;
	a->sign_null_buf = f->C_Sign(h, data, sizeof(data), NULL, &len);
	a->len_null = len;
	len = 10;
	a->sign_small = f->C_Sign(h, data, sizeof(data), sig, &len);
	a->len_small = len;
	a->sign_null_data = f->C_Sign(h, NULL, sizeof(data), sig, &len);
	a->sign_null_len = f->C_Sign(h, data, sizeof(data), sig, NULL);
	len = sizeof(sig);
	a->sign_ok = f->C_Sign(h, data, sizeof(data), sig, &len);
	a->len_ok = len;
	a->sign_after = f->C_Sign(h, data, sizeof(data), sig, &len);
	if (f->C_VerifyInit(h, &rsa, rsa_pub) == CKR_OK)
		a->verify = f->C_Verify(h, data, sizeof(data), sig, a->len_ok);
	else
		a->verify = CKR_GENERAL_ERROR;

	a->ec_init = f->C_SignInit(h, &ec, ec_priv);
	len = 0;
	a->ec_null = f->C_Sign(h, hash, sizeof(hash), NULL, &len);
	a->ec_len_null = len;
	len = sizeof(sig);
	a->ec_ok = f->C_Sign(h, hash, sizeof(hash), sig, &len);
	if (f->C_VerifyInit(h, &ec, ec_pub) == CKR_OK)
		a->ec_verify = f->C_Verify(h, hash, sizeof(hash), sig, len);
	else
		a->ec_verify = CKR_GENERAL_ERROR;

	/* multi-part, with a length query on C_SignFinal */
	f->C_SignInit(h, &rsa, rsa_priv);
	a->update = f->C_SignUpdate(h, data, sizeof(data));
	len = 0;
	a->final_null = f->C_SignFinal(h, NULL, &len);
	a->final_len = len;
	len = sizeof(sig);
	a->final_ok = f->C_SignFinal(h, sig, &len);

	a->bad_session = f->C_SignInit(h + 1000, &rsa, rsa_priv);
	f->C_CloseSession(h);
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

static void test_length_queries(module_t *gate, module_t *direct)
{
	answers_t g, d;

	run_sequence(direct, &d);
	run_sequence(gate, &g);
#define SAME(field)                                                                               \
	CHECK(g.field == d.field, "%s: gate 0x%lx, direct 0x%lx", #field, (unsigned long)g.field, \
	      (unsigned long)d.field)
	SAME(slot_null);
	SAME(slot_small);
	SAME(slot_null_count);
	SAME(sign_no_init);
	SAME(sign_init);
	SAME(sign_null_buf);
	SAME(len_null);
	SAME(sign_small);
	SAME(len_small);
	SAME(sign_null_data);
	SAME(sign_null_len);
	SAME(sign_ok);
	SAME(len_ok);
	SAME(sign_after);
	SAME(verify);
	SAME(ec_init);
	SAME(ec_null);
	SAME(ec_len_null);
	SAME(ec_ok);
	SAME(ec_verify);
	SAME(update);
	SAME(final_null);
	SAME(final_len);
	SAME(final_ok);
	SAME(bad_session);
	/* the gate shows only the configured token; SoftHSM also its empty slot */
	CHECK(g.slot_count_after_small == 1, "gate slot count %lu",
	      (unsigned long)g.slot_count_after_small);
	EXPECT_RV(g.slot_small, CKR_BUFFER_TOO_SMALL, "C_GetSlotList small buffer");
	EXPECT_RV(g.verify, CKR_OK, "RSA signature verifies");
	EXPECT_RV(g.ec_verify, CKR_OK, "ECDSA signature verifies");
}

/* Signgate's own login session survives C_CloseAllSessions; slots not
 * configured are invisible.  With a PIN file, the caller sees a logged-out
 * session (state, private objects) until it logs in, and again after
 * C_Logout or closing the token's last session. */
static void test_sessions(module_t *gate)
{
	CK_FUNCTION_LIST_PTR f = gate->f;
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32] = { 1 }, sig[128];
	CK_ULONG len = sizeof(sig);
	CK_SESSION_INFO si;

	EXPECT_RV(p11t_initialize(f, NULL), CKR_OK, "C_Initialize");
	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	CK_SESSION_HANDLE p;
	EXPECT_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &p), CKR_OK,
	          "C_OpenSession");
	CHECK(f->C_GetSessionInfo(p, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION,
	      "state before login: %lu", (unsigned long)si.state);
	CHECK(p11t_key(f, p, CKO_PRIVATE_KEY, 0x02) == CK_INVALID_HANDLE,
	      "private key found before login");
	CHECK(p11t_key(f, p, CKO_PUBLIC_KEY, 0x02) != CK_INVALID_HANDLE,
	      "public key not found before login");
	EXPECT_RV(f->C_Logout(p), CKR_USER_NOT_LOGGED_IN, "C_Logout before login");
	EXPECT_RV(f->C_Login(p, CKU_USER, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin)), CKR_OK,
	          "C_Login");
	EXPECT_RV(f->C_Login(p, CKU_USER, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin)),
	          CKR_USER_ALREADY_LOGGED_IN, "second C_Login");
	CHECK(f->C_GetSessionInfo(p, &si) == CKR_OK && si.state == CKS_RO_USER_FUNCTIONS,
	      "state after login: %lu", (unsigned long)si.state);
	CHECK(p11t_key(f, p, CKO_PRIVATE_KEY, 0x02) != CK_INVALID_HANDLE,
	      "private key not found after login");
	EXPECT_RV(f->C_Logout(p), CKR_OK, "C_Logout");
	CHECK(f->C_GetSessionInfo(p, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION,
	      "state after logout: %lu", (unsigned long)si.state);
	EXPECT_RV(f->C_CloseSession(p), CKR_OK, "C_CloseSession");
	CK_SESSION_HANDLE a = open_login(f, slot), b = open_login(f, slot);
	EXPECT_RV(f->C_CloseAllSessions(slot), CKR_OK, "C_CloseAllSessions");
	EXPECT_RV(f->C_GetSessionInfo(a, &si), CKR_SESSION_HANDLE_INVALID, "closed session a");
	EXPECT_RV(f->C_GetSessionInfo(b, &si), CKR_SESSION_HANDLE_INVALID, "closed session b");
	CK_SESSION_HANDLE c;
	EXPECT_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &c), CKR_OK,
	          "C_OpenSession");
	CHECK(f->C_GetSessionInfo(c, &si) == CKR_OK && si.state == CKS_RO_PUBLIC_SESSION,
	      "closing the last session did not end the caller's login (state %lu)",
	      (unsigned long)si.state);
	EXPECT_RV(f->C_Login(c, CKU_USER, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin)), CKR_OK,
	          "C_Login");
	CK_OBJECT_HANDLE k = p11t_key(f, c, CKO_PRIVATE_KEY, 0x02);
	CHECK(k != CK_INVALID_HANDLE, "private key not found after C_CloseAllSessions");
	EXPECT_RV(f->C_SignInit(c, &ec, k), CKR_OK, "C_SignInit after C_CloseAllSessions");
	EXPECT_RV(f->C_Sign(c, hash, sizeof(hash), sig, &len), CKR_OK,
	          "C_Sign after C_CloseAllSessions");
	EXPECT_RV(f->C_CloseAllSessions(0x7fff0001), CKR_SLOT_ID_INVALID,
	          "C_CloseAllSessions bad slot");
	EXPECT_RV(f->C_GetTokenInfo(0x7fff0001, NULL), CKR_SLOT_ID_INVALID,
	          "C_GetTokenInfo bad slot");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

static long file_size(const char *path)
{
	struct stat st;
	return path && stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int sign_once(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE h)
{
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32] = { 7 }, sig[128];
	CK_ULONG len = sizeof(sig);
	CK_OBJECT_HANDLE k = p11t_key(f, h, CKO_PRIVATE_KEY, 0x02);
	CK_OBJECT_HANDLE pub = p11t_key(f, h, CKO_PUBLIC_KEY, 0x02);

	if (!k || f->C_SignInit(h, &ec, k) != CKR_OK ||
	    f->C_Sign(h, hash, sizeof(hash), sig, &len) != CKR_OK)
		return 0;
	return f->C_VerifyInit(h, &ec, pub) == CKR_OK &&
	       f->C_Verify(h, hash, sizeof(hash), sig, len) == CKR_OK;
}

/* The child of a fork starts uninitialised and can initialise again and
 * sign; the fork handler makes no call into the real module (with the
 * spy as backend, its log does not grow between fork and the child's
 * C_Initialize); the parent's sessions are out of the child's reach. */
static void test_fork(module_t *gate)
{
	CK_FUNCTION_LIST_PTR f = gate->f;
	const char *spy = getenv("SG_SPY_LOG");
	CK_INFO info;

	EXPECT_RV(p11t_initialize(f, NULL), CKR_OK, "C_Initialize");
	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	CK_SESSION_HANDLE h = open_login(f, slot);
	CHECK(sign_once(f, h), "parent signs before fork");
	fflush(NULL);
	long before = file_size(spy);
	pid_t pid = fork();
	if (pid == 0) {
		int bad = 0;
		failures = 0;
		long after = file_size(spy);
		if (spy && after != before) {
			fprintf(stderr, "FAIL: spy log grew in the fork handler (%ld -> %ld)\n",
			        before, after);
			bad++;
		}
		if (f->C_GetInfo(&info) != CKR_CRYPTOKI_NOT_INITIALIZED) {
			fprintf(stderr, "FAIL: child is initialised after fork\n");
			bad++;
		}
		if (spy && file_size(spy) != before) {
			fprintf(stderr,
			        "FAIL: a call in the uninitialised child reached the real module\n");
			bad++;
		}
		CK_RV rv = p11t_initialize(f, NULL);
		if (rv != CKR_OK) {
			fprintf(stderr, "FAIL: child C_Initialize: CKR 0x%lx\n", (unsigned long)rv);
			_exit(1);
		}
		/* the spy writes each call out at once: else the checks above
		 * would prove nothing */
		if (spy && file_size(spy) == before) {
			fprintf(stderr, "FAIL: the spy log did not grow after C_Initialize\n");
			bad++;
		}
		CK_SESSION_INFO si;
		if (f->C_GetSessionInfo(h, &si) != CKR_SESSION_HANDLE_INVALID) {
			fprintf(stderr, "FAIL: the parent's session is reachable in the child\n");
			bad++;
		}
		CK_SESSION_HANDLE c = open_login(f, p11t_slot_by_label(f, token_label));
		if (!sign_once(f, c)) {
			fprintf(stderr, "FAIL: child cannot sign after re-initialising\n");
			bad++;
		}
		if (f->C_Finalize(NULL) != CKR_OK)
			bad++;
		_exit(bad || failures ? 1 : 0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "forked child failed (status %d)",
	      status);
	CHECK(sign_once(f, h), "parent signs after fork");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

typedef struct worker {
	CK_FUNCTION_LIST_PTR f;
	CK_SLOT_ID slot;
	int ok, rounds;
} worker_t;

static void *worker_run(void *p)
{
	worker_t *w = p;
	CK_SESSION_HANDLE h;
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 }, rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_BYTE hash[32] = { 3 }, sig[512];

	h = p11t_try_open_login(w->f, w->slot, 0, user_pin);
	if (h == CK_INVALID_HANDLE)
		return NULL;
	CK_OBJECT_HANDLE ek = p11t_key(w->f, h, CKO_PRIVATE_KEY, 0x02);
	CK_OBJECT_HANDLE rk = p11t_key(w->f, h, CKO_PRIVATE_KEY, 0x01);
	for (int i = 0; i < w->rounds; i++) {
		CK_ULONG len = sizeof(sig);
		bool use_rsa = i % 10 == 0;
		/* churn: sessions opened and closed while others sign, so the
		 * session table grows, rebuilds and recycles entries meanwhile */
		if (i % 4 == 0) {
			CK_SESSION_HANDLE x[3];
			for (int j = 0; j < 3; j++)
				w->f->C_OpenSession(w->slot, CKF_SERIAL_SESSION, NULL, NULL, &x[j]);
			for (int j = 0; j < 3; j++)
				w->f->C_CloseSession(x[j]);
		}
		if (w->f->C_SignInit(h, use_rsa ? &rsa : &ec, use_rsa ? rk : ek) != CKR_OK)
			continue;
		if (w->f->C_Sign(h, hash, sizeof(hash), sig, &len) == CKR_OK)
			w->ok++;
	}
	w->f->C_CloseSession(h);
	return NULL;
}

static void test_threads(module_t *gate)
{
	enum { THREADS = 4, ROUNDS = 200 };
	pthread_t t[THREADS];
	worker_t w[THREADS];
	CK_FUNCTION_LIST_PTR f = gate->f;

	EXPECT_RV(p11t_initialize(f, NULL), CKR_OK, "C_Initialize");
	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	for (int i = 0; i < THREADS; i++) {
		w[i] = (worker_t){ .f = f, .slot = slot, .rounds = ROUNDS };
		pthread_create(&t[i], NULL, worker_run, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		CHECK(w[i].ok == ROUNDS, "thread %d signed %d of %d", i, w[i].ok, ROUNDS);
	}
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

/* Over a 3.0 backend: 3.0 is offered once the backend is known (after
 * C_Initialize) and not after C_Finalize; the 3.0 table is ours, its
 * getters are ours; C_SessionCancel ends our view of the operation. */
static void test_iface30(module_t *gate)
{
	get_interface_list_t gil;
	get_interface_t gi;
	test_interface_t ifs[4], *iface = NULL;
	CK_ULONG n = 4;
	CK_VERSION v30 = { 3, 0 }, v240 = { 2, 40 };
	CK_FUNCTION_LIST_PTR l = NULL;

	*(void **)&gil = dlsym(gate->dl, "C_GetInterfaceList");
	*(void **)&gi = dlsym(gate->dl, "C_GetInterface");
	EXPECT_RV(gil(ifs, &n), CKR_OK, "C_GetInterfaceList before init");
	CHECK(n == 1, "before C_Initialize only 2.40 is offered, got %lu", (unsigned long)n);
	EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &iface, 0), CKR_ARGUMENTS_BAD,
	          "3.0 before the backend is known");

	EXPECT_RV(p11t_initialize(gate->f, NULL), CKR_OK, "C_Initialize");
	n = 4;
	EXPECT_RV(gil(ifs, &n), CKR_OK, "C_GetInterfaceList");
	CHECK(n == 2, "a 3.0 backend: two interfaces expected, got %lu", (unsigned long)n);
	CK_FUNCTION_LIST_PTR first = ifs[0].pFunctionList, second = ifs[1].pFunctionList;
	CHECK(first->version.major == 3 && first->version.minor == 0, "first interface is not 3.0");
	CHECK(second == gate->f, "second interface is not our 2.40 table");
	EXPECT_RV(gi(NULL, NULL, &iface, 0), CKR_OK, "C_GetInterface default");
	CHECK(iface && iface->pFunctionList == first, "default interface is not 3.0");
	EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v240, &iface, 0), CKR_OK, "C_GetInterface 2.40");
	CHECK(iface && iface->pFunctionList == gate->f, "2.40 interface is not our table");
	EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &iface, 0), CKR_OK, "C_GetInterface 3.0");
	EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &iface, 1 /* CKF_INTERFACE_FORK_SAFE */),
	          CKR_ARGUMENTS_BAD, "fork-safe is not promised");

	/* our table: its getters are ours.  The 3.0 functions follow the
	 * 2.40 ones: C_GetInterfaceList, C_GetInterface, C_LoginUser,
	 * C_SessionCancel, ... */
	void **part3 = (void **)((char *)first + sizeof(CK_FUNCTION_LIST));
	CHECK((void *)first->C_GetFunctionList == dlsym(gate->dl, "C_GetFunctionList"),
	      "3.0 C_GetFunctionList is not ours");
	CHECK(part3[0] == *(void **)&gil && part3[1] == *(void **)&gi,
	      "3.0 interface getters are not ours");
	CHECK(first->C_GetFunctionList(&l) == CKR_OK && l == gate->f, "getter in the 3.0 table");
	CHECK(first->C_Sign == gate->f->C_Sign, "3.0 and 2.40 tables disagree");

	/* C_SessionCancel ends the operation, for us as for the backend */
	typedef CK_RV (*cancel_t)(CK_SESSION_HANDLE, CK_FLAGS);
	cancel_t cancel;
	*(void **)&cancel = part3[3];
	CK_SLOT_ID slot = p11t_slot_by_label(first, token_label);
	CK_SESSION_HANDLE h = open_login(first, slot);
	CK_OBJECT_HANDLE k = p11t_key(first, h, CKO_PRIVATE_KEY, 0x02);
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32] = { 1 }, sig[128];
	CK_ULONG len = sizeof(sig);
	EXPECT_RV(first->C_SignInit(h, &ec, k), CKR_OK, "C_SignInit");
	EXPECT_RV(first->C_SignInit(h, &ec, k), CKR_OPERATION_ACTIVE, "C_SignInit while active");
	EXPECT_RV(cancel(h, CKF_SIGN), CKR_OK, "C_SessionCancel");
	EXPECT_RV(first->C_SignInit(h, &ec, k), CKR_OK, "C_SignInit after C_SessionCancel");
	EXPECT_RV(first->C_Sign(h, hash, sizeof(hash), sig, &len), CKR_OK,
	          "C_Sign after C_SessionCancel");
	EXPECT_RV(gate->f->C_Finalize(NULL), CKR_OK, "C_Finalize");
	n = 4;
	EXPECT_RV(gil(ifs, &n), CKR_OK, "C_GetInterfaceList after C_Finalize");
	CHECK(n == 1, "after C_Finalize only 2.40 is offered, got %lu", (unsigned long)n);
}

int main(int argc, char **argv)
{
	const char *gate_path = getenv("SIGNGATE_MODULE");
	const char *softhsm = getenv("SG_SOFTHSM");
	const char *conf = getenv("SIGNGATE_CONF");
	module_t gate, direct;

	token_label = getenv("SG_TOKEN");
	user_pin = getenv("SG_USER_PIN");
	if (!gate_path || !softhsm || !token_label || !user_pin) {
		fprintf(stderr, "run from the module tests (fixture.sh environment)\n");
		return 77;
	}
	case_name = "test_gate";
	module_load(&gate, gate_path, "gate");
	if (argc > 1 && strcmp(argv[1], "init") == 0) {
		CK_RV rv = gate.f->C_Initialize(NULL);
		printf("0x%lx\n", (unsigned long)rv);
		if (rv == CKR_OK)
			gate.f->C_Finalize(NULL);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "iface30") == 0) {
		test_iface30(&gate);
		if (failures) {
			fprintf(stderr, "%d check(s) failed\n", failures);
			return 1;
		}
		printf("PASS\n");
		return 0;
	}
	module_load(&direct, softhsm, "direct");

	test_before_init(&gate, &direct);
	test_init_args(&gate, &direct, conf);
	test_getters(&gate, &direct);
	test_length_queries(&gate, &direct);
	test_sessions(&gate);
	test_fork(&gate);
	test_threads(&gate);

	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}

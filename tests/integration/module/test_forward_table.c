/* signgate module test: the function tables, and that no governed call is
 * a plain forward.
 *
 * The backend is recbackend.c (SoftHSM behind a 3.0 interface, counting
 * the governed calls that reach it).  Checked:
 *  - every entry of the 2.40 table (C_GetFunctionList) and of the 3.0
 *    table (C_GetInterface "PKCS 11" 3.0) is set and is signgate's own
 *    code (dladdr: inside the module, not the backend's), and the two
 *    tables agree on the 2.40 part;
 *  - with a policy that grants this caller nothing, each call that signs,
 *    decrypts with a private key, or creates, copies, changes, exports or
 *    destroys a key, and each administration call, is refused and never
 *    reaches the backend (its count stays 0), with arguments the backend
 *    would have accepted;
 *  - controls, so that the counts can fail: plain pass-throughs
 *    (C_DigestInit, C_MessageVerifyInit) do reach the backend, and with a
 *    policy that allows it C_SignInit/C_Sign and C_MessageSignInit/
 *    C_SignMessage reach it and sign.
 *
 * Env (forward-table.sh): SIGNGATE_MODULE SG_REC SG_TOKEN SG_USER_PIN
 * SG_SO_PIN SG_DENY_CONF SG_ALLOW_CONF.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11test.h"

static int failures;
static const char *token_label, *user_pin, *so_pin;
static long (*rec_count)(const char *name);
static void (*rec_reset)(void);
static void (*rec_watch)(CK_SESSION_HANDLE h);

/* Every function pointer of a table, from the first after the version. */
static void check_table(const void *table, size_t size, const void *gate_base, const char *what)
{
	const CK_FUNCTION_LIST *l = table;
	const char *p = (const char *)&l->C_Initialize, *end = (const char *)table + size;
	size_t i = 0;

	for (; p + sizeof(CK_C_Initialize) <= end; p += sizeof(CK_C_Initialize), i++) {
		void (*fn)(void);
		Dl_info info;
		memcpy(&fn, p, sizeof(fn));
		CHECK(fn != NULL, "%s: entry %zu is NULL", what, i);
		if (!fn)
			continue;
		CHECK(dladdr(*(void **)&fn, &info) && info.dli_fbase == gate_base,
		      "%s: entry %zu (%p) is not signgate's code (%s)", what, i, *(void **)&fn,
		      info.dli_fname ? info.dli_fname : "?");
	}
	CHECK(p == end, "%s: size is not a whole number of entries", what);
	printf("%s: %zu entries checked\n", what, i);
}

/* A governed call: refused, and the backend never saw it. */
static void governed(const char *name, CK_RV rv)
{
	long n = rec_count(name);
	CHECK(n >= 0, "%s is not counted by the test backend", name);
	CHECK(rv != CKR_OK, "%s: allowed under a policy that grants nothing", name);
	CHECK(n == 0, "%s reached the backend %ld time(s) before policy allowed it (CKR 0x%lx)",
	      name, n, (unsigned long)rv);
	if (rv != CKR_OK && n == 0)
		printf("refused, not forwarded: %-22s CKR 0x%lx\n", name, (unsigned long)rv);
}

static void deny_phase(CK_FUNCTION_LIST_PTR f, CK_FUNCTION_LIST_3_0 *f3, const char *conf)
{
	EXPECT_RV(p11t_initialize(f, conf), CKR_OK, "C_Initialize (deny policy)");
	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	CHECK(slot != (CK_SLOT_ID)-1, "token not found");
	CK_SESSION_HANDLE h = p11t_open_login(f, slot, user_pin);
	CK_OBJECT_HANDLE ec = p11t_key(f, h, CKO_PRIVATE_KEY, 0x02);
	CK_OBJECT_HANDLE rsa = p11t_key(f, h, CKO_PRIVATE_KEY, 0x01);
	CK_OBJECT_HANDLE rsa_pub = p11t_key(f, h, CKO_PUBLIC_KEY, 0x01);
	CHECK(ec && rsa && rsa_pub, "test keys not found");

	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 }, pkcs = { CKM_RSA_PKCS, NULL, 0 };
	CK_MECHANISM aes_gen = { CKM_AES_KEY_GEN, NULL, 0 },
	             ec_gen = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_MECHANISM ecdh = { CKM_ECDH1_DERIVE, NULL, 0 }, sha256 = { CKM_SHA256, NULL, 0 };
	CK_BYTE data[32] = { 1 }, out[512], blob[256] = { 2 };
	CK_ULONG out_len = sizeof(out);
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE, obj2 = CK_INVALID_HANDLE;
	CK_BBOOL no = CK_FALSE;
	CK_ULONG aes_len = 32;
	CK_OBJECT_CLASS secret = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES;
	CK_BYTE aes_value[32] = { 3 };
	static CK_BYTE p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
	CK_ATTRIBUTE gen_tmpl[] = { { CKA_VALUE_LEN, &aes_len, sizeof(aes_len) },
		                    { CKA_TOKEN, &no, sizeof(no) } };
	CK_ATTRIBUTE pub_tmpl[] = { { CKA_EC_PARAMS, p256, sizeof(p256) },
		                    { CKA_TOKEN, &no, sizeof(no) } };
	CK_ATTRIBUTE priv_tmpl[] = { { CKA_TOKEN, &no, sizeof(no) } };
	CK_ATTRIBUTE secret_tmpl[] = { { CKA_CLASS, &secret, sizeof(secret) },
		                       { CKA_KEY_TYPE, &aes, sizeof(aes) },
		                       { CKA_TOKEN, &no, sizeof(no) } };
	CK_ATTRIBUTE create_tmpl[] = { { CKA_CLASS, &secret, sizeof(secret) },
		                       { CKA_KEY_TYPE, &aes, sizeof(aes) },
		                       { CKA_TOKEN, &no, sizeof(no) },
		                       { CKA_VALUE, aes_value, sizeof(aes_value) } };
	CK_ATTRIBUTE label_tmpl[] = { { CKA_LABEL, "changed", 7 } };
	CK_UTF8CHAR label32[32];
	memset(label32, ' ', sizeof(label32));
	memcpy(label32, "wiped", 5);

	rec_watch(h);
	rec_reset();
	/* signing */
	governed("C_SignInit", f->C_SignInit(h, &ecdsa, ec));
	governed("C_Sign", f->C_Sign(h, data, sizeof(data), out, &out_len));
	governed("C_SignUpdate", f->C_SignUpdate(h, data, sizeof(data)));
	out_len = sizeof(out);
	governed("C_SignFinal", f->C_SignFinal(h, out, &out_len));
	governed("C_SignRecoverInit", f->C_SignRecoverInit(h, &pkcs, rsa));
	out_len = sizeof(out);
	governed("C_SignRecover", f->C_SignRecover(h, data, sizeof(data), out, &out_len));
	out_len = sizeof(out);
	governed("C_SignEncryptUpdate",
	         f->C_SignEncryptUpdate(h, data, sizeof(data), out, &out_len));
	/* raw private-key operations */
	governed("C_DecryptInit", f->C_DecryptInit(h, &pkcs, rsa));
	out_len = sizeof(out);
	governed("C_Decrypt", f->C_Decrypt(h, blob, sizeof(blob), out, &out_len));
	out_len = sizeof(out);
	governed("C_DecryptUpdate", f->C_DecryptUpdate(h, blob, sizeof(blob), out, &out_len));
	out_len = sizeof(out);
	governed("C_DecryptFinal", f->C_DecryptFinal(h, out, &out_len));
	out_len = sizeof(out);
	governed("C_DecryptDigestUpdate",
	         f->C_DecryptDigestUpdate(h, blob, sizeof(blob), out, &out_len));
	out_len = sizeof(out);
	governed("C_DecryptVerifyUpdate",
	         f->C_DecryptVerifyUpdate(h, blob, sizeof(blob), out, &out_len));
	/* keys made, exported, changed, destroyed */
	governed("C_GenerateKey", f->C_GenerateKey(h, &aes_gen, gen_tmpl, 2, &obj));
	governed("C_GenerateKeyPair",
	         f->C_GenerateKeyPair(h, &ec_gen, pub_tmpl, 2, priv_tmpl, 1, &obj, &obj2));
	out_len = sizeof(out);
	governed("C_WrapKey", f->C_WrapKey(h, &pkcs, rsa_pub, ec, out, &out_len));
	governed("C_UnwrapKey",
	         f->C_UnwrapKey(h, &pkcs, rsa, blob, sizeof(blob), secret_tmpl, 3, &obj));
	governed("C_DeriveKey", f->C_DeriveKey(h, &ecdh, ec, secret_tmpl, 3, &obj));
	governed("C_CreateObject", f->C_CreateObject(h, create_tmpl, 4, &obj));
	governed("C_CopyObject", f->C_CopyObject(h, ec, label_tmpl, 1, &obj));
	governed("C_SetAttributeValue", f->C_SetAttributeValue(h, ec, label_tmpl, 1));
	governed("C_DestroyObject", f->C_DestroyObject(h, ec));
	CHECK(p11t_key(f, h, CKO_PRIVATE_KEY, 0x02) == ec, "the EC key is gone after a refusal");
	/* administration and operation state */
	governed("C_InitToken",
	         f->C_InitToken(slot, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin), label32));
	governed("C_InitPIN", f->C_InitPIN(h, (CK_UTF8CHAR_PTR) "99999", 5));
	governed("C_SetPIN", f->C_SetPIN(h, (CK_UTF8CHAR_PTR)user_pin, strlen(user_pin),
	                                 (CK_UTF8CHAR_PTR) "99999", 5));
	governed("C_Login(SO)", f->C_Login(h, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin)));
	/* a saved state that would restore an operation with the EC key (a
	 * state without keys, or none to save, is the token's business) */
	governed("C_SetOperationState", f->C_SetOperationState(h, blob, sizeof(blob), ec, 0));
	/* PKCS#11 3.0 */
	governed("C_MessageSignInit", f3->C_MessageSignInit(h, &ecdsa, ec));
	out_len = sizeof(out);
	governed("C_SignMessage", f3->C_SignMessage(h, NULL, 0, data, sizeof(data), out, &out_len));
	out_len = sizeof(out);
	governed("C_SignMessageNext",
	         f3->C_SignMessageNext(h, NULL, 0, data, sizeof(data), out, &out_len));
	governed("C_MessageDecryptInit", f3->C_MessageDecryptInit(h, &pkcs, rsa));
	out_len = sizeof(out);
	governed("C_DecryptMessage",
	         f3->C_DecryptMessage(h, NULL, 0, NULL, 0, blob, sizeof(blob), out, &out_len));
	out_len = sizeof(out);
	governed("C_DecryptMessageNext",
	         f3->C_DecryptMessageNext(h, NULL, 0, blob, sizeof(blob), out, &out_len,
	                                  CKF_END_OF_MESSAGE));
	governed("C_LoginUser", f3->C_LoginUser(h, CKU_SO, (CK_UTF8CHAR_PTR)so_pin, strlen(so_pin),
	                                        (CK_UTF8CHAR_PTR) "so", 2));
	CHECK(rec_count("C_Login(SO)") == 0, "an SO login reached the backend");

	/* controls: plain pass-throughs do reach the backend */
	EXPECT_RV(f->C_DigestInit(h, &sha256), CKR_OK, "C_DigestInit");
	CHECK(rec_count("C_DigestInit") == 1, "C_DigestInit: the backend saw %ld calls, want 1",
	      rec_count("C_DigestInit"));
	EXPECT_RV(f3->C_MessageVerifyInit(h, &ecdsa, ec), CKR_FUNCTION_NOT_SUPPORTED,
	          "C_MessageVerifyInit (the test backend's answer)");
	CHECK(rec_count("C_MessageVerifyInit") == 1,
	      "C_MessageVerifyInit: the backend saw %ld calls", rec_count("C_MessageVerifyInit"));

	/* closed one by one (signgate's own login session stays) */
	EXPECT_RV(f->C_CloseAllSessions(slot), CKR_OK, "C_CloseAllSessions");
	CHECK(rec_count("C_CloseAllSessions") == 0, "C_CloseAllSessions was forwarded as such");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

/* With a policy that allows it, the same calls reach the backend and
 * sign: the counts above could have failed. */
static void allow_phase(CK_FUNCTION_LIST_PTR f, CK_FUNCTION_LIST_3_0 *f3, const char *conf)
{
	CK_MECHANISM ecdsa = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32] = { 9 }, sig[128];
	CK_ULONG len = sizeof(sig);

	EXPECT_RV(p11t_initialize(f, conf), CKR_OK, "C_Initialize (allow policy)");
	CK_SESSION_HANDLE h = p11t_open_login(f, p11t_slot_by_label(f, token_label), user_pin);
	CK_OBJECT_HANDLE ec = p11t_key(f, h, CKO_PRIVATE_KEY, 0x02);
	rec_watch(h);
	rec_reset();
	EXPECT_RV(f->C_SignInit(h, &ecdsa, ec), CKR_OK, "C_SignInit (allowed)");
	EXPECT_RV(f->C_Sign(h, hash, sizeof(hash), sig, &len), CKR_OK, "C_Sign (allowed)");
	CHECK(rec_count("C_SignInit") == 1 && rec_count("C_Sign") == 1,
	      "allowed signing: the backend saw C_SignInit %ld, C_Sign %ld times, want 1 and 1",
	      rec_count("C_SignInit"), rec_count("C_Sign"));
	len = sizeof(sig);
	EXPECT_RV(f3->C_MessageSignInit(h, &ecdsa, ec), CKR_OK, "C_MessageSignInit (allowed)");
	EXPECT_RV(f3->C_SignMessage(h, NULL, 0, hash, sizeof(hash), sig, &len), CKR_OK,
	          "C_SignMessage (allowed)");
	CHECK(rec_count("C_MessageSignInit") == 1 && rec_count("C_SignMessage") == 1,
	      "allowed message signing: the backend saw %ld and %ld calls, want 1 and 1",
	      rec_count("C_MessageSignInit"), rec_count("C_SignMessage"));
	EXPECT_RV(f3->C_MessageSignFinal(h), CKR_OK, "C_MessageSignFinal");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");
}

int main(void)
{
	const char *gate_path = getenv("SIGNGATE_MODULE"), *rec_path = getenv("SG_REC");
	const char *deny = getenv("SG_DENY_CONF"), *allow = getenv("SG_ALLOW_CONF");
	CK_C_GetFunctionList gfl;
	CK_C_GetInterface gi;
	CK_FUNCTION_LIST_PTR f = NULL;
	CK_INTERFACE_PTR iface = NULL;
	CK_VERSION v30 = { 3, 0 };
	Dl_info info;

	token_label = getenv("SG_TOKEN");
	user_pin = getenv("SG_USER_PIN");
	so_pin = getenv("SG_SO_PIN");
	if (!gate_path || !rec_path || !token_label || !user_pin || !so_pin || !deny || !allow) {
		fprintf(stderr, "run from forward-table.sh\n");
		return 77;
	}
	void *gate;
	case_name = "test_forward_table";
	f = p11t_load(gate_path, &gate);
	void *rec = dlopen(rec_path, RTLD_NOW | RTLD_LOCAL);
	if (!rec) {
		fprintf(stderr, "cannot load: %s\n", dlerror());
		return 1;
	}
	*(void **)&gfl = dlsym(gate, "C_GetFunctionList");
	*(void **)&gi = dlsym(gate, "C_GetInterface");
	*(void **)&rec_count = dlsym(rec, "rec_count");
	*(void **)&rec_reset = dlsym(rec, "rec_reset");
	*(void **)&rec_watch = dlsym(rec, "rec_watch");
	if (!gfl || !gi || !rec_count || !rec_reset || !rec_watch ||
	    !dladdr(*(void **)&gfl, &info)) {
		fprintf(stderr, "missing symbols\n");
		return 1;
	}
	const void *base = info.dli_fbase;

	check_table(f, sizeof(*f), base, "2.40 table before C_Initialize");
	EXPECT_RV(p11t_initialize(f, deny), CKR_OK, "C_Initialize");
	EXPECT_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v30, &iface, 0), CKR_OK, "C_GetInterface 3.0");
	if (!iface) {
		fprintf(stderr, "no 3.0 interface\n");
		return 1;
	}
	CK_FUNCTION_LIST_3_0 *f3 = iface->pFunctionList;
	check_table(f3, sizeof(*f3), base, "3.0 table");
	CHECK(f3->version.major == 3 && f3->version.minor == 0, "3.0 table has version %d.%d",
	      f3->version.major, f3->version.minor);
	CHECK(memcmp(&f3->C_Initialize, &f->C_Initialize,
	             sizeof(*f) - offsetof(CK_FUNCTION_LIST, C_Initialize)) == 0,
	      "the 3.0 and 2.40 tables differ in their 2.40 part");
	EXPECT_RV(f->C_Finalize(NULL), CKR_OK, "C_Finalize");

	deny_phase(f, f3, deny);
	allow_phase(f, f3, allow);

	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("PASS\n");
	return 0;
}

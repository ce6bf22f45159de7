/* The edges of the PKCS#11 ABI that went around the gate (issue 12,
 * defect 7): C_Initialize's pReserved, key handles the token does not
 * know, NULL labels and PINs on administrative calls.
 *
 * Usage: edges CASE.  SIGNGATE_MODULE is the module under test,
 * SIGNGATE_CONF a policy (written by edges.sh) that lets this caller sign
 * with the test keys but grants no key administration, SG_SOFTHSM the
 * real module: where signgate must answer as the token does, the token's
 * own answer is taken from SoftHSM directly first.  edges.sh checks the
 * audit records afterwards.  Exit 0 pass, 1 fail, 77 skip. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "p11test.h"

#define BAD_HANDLE ((CK_OBJECT_HANDLE)0xdead0)

/* --- the calls whose answers are compared with the token's -------------- */

static CK_RV call_wrap(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE wrapping,
                       CK_OBJECT_HANDLE key, CK_ULONG *out_len)
{
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	unsigned char out[4096];
	*out_len = sizeof(out);
	return l->C_WrapKey(s, &m, wrapping, key, out, out_len);
}

static CK_RV call_unwrap(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE unwrapping,
                         CK_OBJECT_HANDLE *nk)
{
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	CK_OBJECT_CLASS c = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof(c) }, { CKA_KEY_TYPE, &kt, sizeof(kt) } };
	unsigned char wrapped[256] = { 1 };
	*nk = CK_INVALID_HANDLE;
	return l->C_UnwrapKey(s, &m, unwrapping, wrapped, sizeof(wrapped), t, 2, nk);
}

static CK_RV call_sign_recover_init(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s,
                                    CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	return l->C_SignRecoverInit(s, &m, key);
}

/* The token's answers for a handle it does not know, from SoftHSM. */
typedef struct answers {
	CK_RV wrap, unwrap, sign_recover, init_token_null_label, so_login_null_pin;
} answers_t;

static void token_answers(const char *hsm, answers_t *a)
{
	CK_FUNCTION_LIST_PTR d = p11t_load(hsm, NULL);
	CK_ULONG ol;
	CK_OBJECT_HANDLE nk;
	CHECK_RV(d->C_Initialize(NULL), CKR_OK);
	CK_SLOT_ID slot = p11t_sg_token_slot(d);
	CK_SESSION_HANDLE s = p11t_open_login(d, slot, getenv("SG_USER_PIN"));
	CK_OBJECT_HANDLE pub = p11t_find(d, s, CKO_PUBLIC_KEY, 0x01);
	a->wrap = call_wrap(d, s, pub, BAD_HANDLE, &ol);
	a->unwrap = call_unwrap(d, s, BAD_HANDLE, &nk);
	a->sign_recover = call_sign_recover_init(d, s, BAD_HANDLE);
	CK_SESSION_HANDLE s2 = p11t_open_rw(d, slot);
	d->C_Logout(s);
	a->so_login_null_pin = d->C_Login(s2, CKU_SO, NULL, 0);
	if (a->so_login_null_pin == CKR_OK)
		d->C_Logout(s2);
	d->C_CloseAllSessions(slot);
	const char *so = getenv("SG_SO_PIN");
	a->init_token_null_label = d->C_InitToken(slot, (CK_UTF8CHAR_PTR)so, strlen(so), NULL);
	d->C_Finalize(NULL);
	printf("token answers: wrap 0x%lx unwrap 0x%lx sign-recover-init 0x%lx "
	       "init-token(NULL label) 0x%lx SO login(NULL PIN) 0x%lx\n",
	       a->wrap, a->unwrap, a->sign_recover, a->init_token_null_label, a->so_login_null_pin);
	/* what the issue saw; if SoftHSM changes, the comparison still holds */
	if (a->wrap != CKR_KEY_HANDLE_INVALID || a->unwrap != CKR_UNWRAPPING_KEY_HANDLE_INVALID ||
	    a->sign_recover != CKR_FUNCTION_NOT_SUPPORTED)
		printf("note: SoftHSM answers differ from those seen in issue 12\n");
}

/* --- pReserved ------------------------------------------------------------ */

static void reserved_bad(CK_FUNCTION_LIST_PTR f, const char *hsm)
{
	CK_C_INITIALIZE_ARGS a;
	long pg = sysconf(_SC_PAGESIZE);
	const char *conf = getenv("SIGNGATE_CONF");

	/* SoftHSM itself refuses a non-NULL pReserved */
	CK_FUNCTION_LIST_PTR d = p11t_load(hsm, NULL);
	memset(&a, 0, sizeof(a));
	a.pReserved = (void *)1;
	CK_RV drv = d->C_Initialize(&a);
	if (drv == CKR_OK)
		d->C_Finalize(NULL);
	printf("SoftHSM C_Initialize(pReserved = 1) = 0x%lx\n", drv);

	/* two pages, the second unmapped: memory that ends mid-string */
	char *pages = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		fail("mmap");
	munmap(pages + pg, (size_t)pg);
	char *tail = pages + pg - 8;
	memcpy(tail, "/etc/sig", 8); /* no NUL before the unmapped page */
	char *unprintable = pages;
	memcpy(unprintable, "/etc/\x01x\0", 8);
	char *longpath = malloc(PATH_MAX + 16);
	memset(longpath, 'a', PATH_MAX + 15);
	longpath[0] = '/';
	longpath[PATH_MAX + 15] = '\0';
	void *const bad[] = {
		(void *)1,                                /* google/pkcs11test */
		(void *)(uintptr_t)0xffff800000000000ull, /* not canonical */
		pages + pg,                               /* unmapped */
		tail,                                     /* runs into an unmapped page */
		unprintable,
		(void *)"signgate.conf", /* relative */
		(void *)"",
		longpath,                                      /* no NUL within PATH_MAX */
		(void *)"configdir='sql:/tmp' flags=readOnly", /* NSS-style parameters */
	};
	unsetenv("SIGNGATE_CONF");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.flags = CKF_OS_LOCKING_OK;
		a.pReserved = bad[i];
		CK_RV rv = f->C_Initialize(&a);
		if (rv == CKR_OK)
			f->C_Finalize(NULL);
		if (rv != CKR_ARGUMENTS_BAD)
			fail("C_Initialize(bad pReserved #%zu) = 0x%lx, expected CKR_ARGUMENTS_BAD",
			     i, rv);
	}
	/* SIGNGATE_CONF set does not make a bad pReserved acceptable */
	setenv("SIGNGATE_CONF", conf, 1);
	memset(&a, 0, sizeof(a));
	a.pReserved = (void *)1;
	CHECK_RV(f->C_Initialize(&a), CKR_ARGUMENTS_BAD);
	/* and the module still initialises afterwards */
	CHECK_RV(f->C_Initialize(NULL), CKR_OK);
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
	free(longpath);
}

static void reserved_path(CK_FUNCTION_LIST_PTR f)
{
	CK_C_INITIALIZE_ARGS a;
	long pg = sysconf(_SC_PAGESIZE);
	char *conf = strdup(getenv("SIGNGATE_CONF"));
	size_t n = strlen(conf) + 1;

	unsetenv("SIGNGATE_CONF");
	/* the path ends exactly at the end of the last readable page */
	char *pages = mmap(NULL, (size_t)pg * 2, PROT_READ | PROT_WRITE,
	                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pages == MAP_FAILED)
		fail("mmap");
	munmap(pages + pg, (size_t)pg);
	memcpy(pages + pg - n, conf, n);
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	a.pReserved = pages + pg - n;
	CHECK_RV(f->C_Initialize(&a), CKR_OK);
	CK_SLOT_ID slot = p11t_sg_token_slot(f);
	CK_SESSION_HANDLE s = p11t_open_login(f, slot, "x");
	p11t_sign_ok(f, s, p11t_find(f, s, CKO_PRIVATE_KEY, 0x01));
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
	/* a missing config named there is the config's error, as before */
	a.pReserved = (void *)"/nonexistent/signgate.conf";
	CHECK_RV(f->C_Initialize(&a), CKR_FUNCTION_FAILED);
	free(conf);
}

int main(int argc, char **argv)
{
	const char *mod = getenv("SIGNGATE_MODULE"), *hsm = getenv("SG_SOFTHSM");
	answers_t tok = { 0 };
	if (argc != 2 || !mod || !hsm) {
		fprintf(stderr, "usage: edges CASE (with SIGNGATE_MODULE, SG_SOFTHSM, SG_TOKEN)\n");
		return 2;
	}
	case_name = argv[1];

	if (!strcmp(case_name, "reserved-bad")) {
		reserved_bad(p11t_load(mod, NULL), hsm);
		printf("PASS %s\n", case_name);
		return 0;
	}
	if (!strcmp(case_name, "reserved-path")) {
		reserved_path(p11t_load(mod, NULL));
		printf("PASS %s\n", case_name);
		return 0;
	}
	bool compare = strncmp(case_name, "bad-handle-", 11) == 0 ||
	               !strcmp(case_name, "init-token-null-label");
	if (compare)
		token_answers(hsm, &tok);

	CK_FUNCTION_LIST_PTR f = p11t_load(mod, NULL);
	CHECK_RV(f->C_Initialize(NULL), CKR_OK);
	CK_SLOT_ID slot = p11t_sg_token_slot(f);
	CK_SESSION_HANDLE s = p11t_open_login(f, slot, "not-the-token-pin");
	CK_OBJECT_HANDLE rsa = p11t_find(f, s, CKO_PRIVATE_KEY, 0x01);
	CK_OBJECT_HANDLE rsa_pub = p11t_find(f, s, CKO_PUBLIC_KEY, 0x01);
	CK_ULONG ol;
	CK_OBJECT_HANDLE nk;

	if (!strcmp(case_name, "bad-handle-wrap")) {
		CHECK_RV(call_wrap(f, s, rsa_pub, BAD_HANDLE, &ol), tok.wrap);
		/* a governed key the policy does not let be exported: still refused */
		CHECK_RV(call_wrap(f, s, rsa_pub, rsa, &ol), CKR_FUNCTION_REJECTED);
		/* and nothing goes to the token undecided */
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
		CHECK_RV(f->C_WrapKey(s, &m, rsa_pub, rsa, NULL, NULL), CKR_ARGUMENTS_BAD);
		CHECK_RV(f->C_WrapKey(s, NULL, rsa_pub, rsa, NULL, &ol), CKR_ARGUMENTS_BAD);
	} else if (!strcmp(case_name, "bad-handle-unwrap")) {
		CHECK_RV(call_unwrap(f, s, BAD_HANDLE, &nk), tok.unwrap);
		if (nk != CK_INVALID_HANDLE)
			fail("a key handle was returned");
		CHECK_RV(call_unwrap(f, s, rsa, &nk), CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "bad-handle-sign-recover")) {
		CHECK_RV(call_sign_recover_init(f, s, BAD_HANDLE), tok.sign_recover);
		/* nothing active afterwards */
		unsigned char out[512];
		ol = sizeof(out);
		CK_RV rv = f->C_SignRecover(s, (CK_BYTE_PTR) "x", 1, out, &ol);
		if (rv == CKR_OK)
			fail("C_SignRecover signed after a refused init");
		p11t_sign_ok(f, s, rsa);
	} else if (!strcmp(case_name, "init-token-null-label")) {
		if (tok.init_token_null_label == CKR_OK)
			fail("SoftHSM initialised a token with a NULL label");
		const char *so = getenv("SG_SO_PIN");
		f->C_CloseAllSessions(slot);
		CHECK_RV(f->C_InitToken(slot, (CK_UTF8CHAR_PTR)so, strlen(so), NULL),
		         CKR_FUNCTION_REJECTED);
		CHECK_RV(f->C_InitToken(slot, NULL, 0, NULL), CKR_FUNCTION_REJECTED);
		s = p11t_open_login(f, slot, "x");
		/* C_InitPIN / C_SetPIN with a NULL PIN and a length: decided too */
		CHECK_RV(f->C_InitPIN(s, NULL, 4), CKR_FUNCTION_REJECTED);
		CHECK_RV(f->C_SetPIN(s, NULL, 4, NULL, 4), CKR_FUNCTION_REJECTED);
		p11t_sign_ok(f, s, p11t_find(f, s, CKO_PRIVATE_KEY, 0x01));
	} else if (!strcmp(case_name, "so-login-null-pin")) {
		CK_SESSION_HANDLE s2 = p11t_open_rw(f, slot);
		f->C_Logout(s);
		CHECK_RV(f->C_Login(s2, CKU_SO, NULL, 0), CKR_FUNCTION_REJECTED);
		CHECK_RV(f->C_Login(s2, CKU_SO, NULL, 6), CKR_FUNCTION_REJECTED);
		/* a vendor's user type is administration too */
		CHECK_RV(f->C_Login(s2, (CK_USER_TYPE)0x80000001UL, (CK_UTF8CHAR_PTR) "123456", 6),
		         CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "context-login-null-pin")) {
		CHECK_RV(f->C_Login(s, CKU_CONTEXT_SPECIFIC, NULL, 0), CKR_FUNCTION_REJECTED);
		p11t_sign_ok(f, s, rsa);
	} else if (!strcmp(case_name, "user-login-null-pin")) {
		/* PIN-file mode: a NULL PIN presents no ticket and no credential;
		 * with no credentials in the policy the caller's OS identity
		 * decides (audit: os-identity), and signing works. */
		CK_SESSION_HANDLE s2 = p11t_open_rw(f, slot);
		f->C_Logout(s);
		CHECK_RV(f->C_Login(s2, CKU_USER, NULL, 5), CKR_ARGUMENTS_BAD);
		CHECK_RV(f->C_Login(s2, CKU_USER, NULL, 0), CKR_OK);
		p11t_sign_ok(f, s2, rsa);
	} else if (!strcmp(case_name, "handle-lie-wrap")) {
		/* As handle-lie-unwrap, for C_WrapKey: an extractable AES key
		 * (made by edges.sh on the token, id 0a) wrapped under the RSA
		 * public key; the wrapped bytes must not reach the caller. */
		CK_OBJECT_HANDLE aes = p11t_find(f, s, CKO_SECRET_KEY, 0x0a);
		unsigned char out[512];
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
		char hs[32];
		snprintf(hs, sizeof(hs), "%lu", (unsigned long)aes);
		setenv("SG_LIE_HANDLE", hs, 1);
		memset(out, 0, sizeof(out));
		ol = sizeof(out);
		CHECK_RV(f->C_WrapKey(s, &m, rsa_pub, aes, out, &ol), CKR_FUNCTION_REJECTED);
		for (size_t i = 0; i < sizeof(out); i++)
			if (out[i])
				fail("wrapped bytes were left in the caller's buffer");
		if (ol != 0)
			fail("wrapped length %lu returned", ol);
		unsetenv("SG_LIE_HANDLE");
		/* control: without the lie the token wraps it (an ungoverned key),
		 * so the refusal above was the undo's */
		ol = sizeof(out);
		CHECK_RV(f->C_WrapKey(s, &m, rsa_pub, aes, out, &ol), CKR_OK);
	} else if (!strcmp(case_name, "handle-lie-unwrap")) {
		/* The backend (liebackend.c) rejects the RSA key's handle in
		 * C_GetAttributeValue only, as a module does when the handle
		 * becomes valid between two calls: the unwrap forwarded for the
		 * token's own answer succeeds, and signgate must undo it. */
		unsigned char value[16], wrapped[512];
		CK_ULONG wl = sizeof(wrapped);
		CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
		CK_OBJECT_CLASS c = CKO_SECRET_KEY;
		CK_KEY_TYPE kt = CKK_AES;
		CK_BBOOL no = CK_FALSE;
		CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof(c) },
			             { CKA_KEY_TYPE, &kt, sizeof(kt) },
			             { CKA_TOKEN, &no, sizeof(no) } };
		char hs[32];
		memset(value, 0x42, sizeof(value));
		CHECK_RV(f->C_EncryptInit(s, &m, rsa_pub), CKR_OK);
		CHECK_RV(f->C_Encrypt(s, value, sizeof(value), wrapped, &wl), CKR_OK);
		snprintf(hs, sizeof(hs), "%lu", (unsigned long)rsa);
		setenv("SG_LIE_HANDLE", hs, 1);
		nk = 12345;
		CHECK_RV(f->C_UnwrapKey(s, &m, rsa, wrapped, wl, t, 3, &nk), CKR_FUNCTION_REJECTED);
		if (nk != CK_INVALID_HANDLE)
			fail("a key handle was returned");
		unsetenv("SG_LIE_HANDLE");
		/* and the key the token created was destroyed */
		CK_OBJECT_HANDLE o[4];
		CK_ULONG n = 0;
		CHECK_RV(f->C_FindObjectsInit(s, t, 1), CKR_OK);
		CHECK_RV(f->C_FindObjects(s, o, 4, &n), CKR_OK);
		CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);
		if (n != 0)
			fail("%lu secret key(s) left on the token", n);
	} else {
		fail("unknown case");
	}
	f->C_Finalize(NULL);
	printf("PASS %s\n", case_name);
	return 0;
}

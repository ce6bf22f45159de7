/* Key identity, duplicated template attributes and handles of another
 * token, through the module on real SoftHSM tokens (issue 12, defects 3
 * and 4).
 *
 * Usage: identity CASE.  SIGNGATE_MODULE is the module under test,
 * SIGNGATE_CONF the policy identity.sh wrote (test-rsa and test-ec
 * governed on SG_TOKEN; an ungoverned EC key pair with CKA_ID 33 label
 * "loose"), SG_TOKEN_B a second token for the other-token case.  This
 * program checks the CKR codes; identity.sh checks the audit records and
 * the token's state directly on SoftHSM.  Exit 0 pass, 1 fail. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11test.h"

static CK_FUNCTION_LIST_PTR f;
/* The PIN does not matter: signgate logs in with its PIN file. */
static CK_SESSION_HANDLE open_login(CK_SLOT_ID slot)
{
	return p11t_open_login(f, slot, "anything");
}

/* Objects of class cls with CKA_ID id (and label, if not NULL). */
static CK_ULONG find_all(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, unsigned char id,
                         const char *label, CK_OBJECT_HANDLE *o, CK_ULONG max)
{
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) },
		             { CKA_ID, &id, 1 },
		             { CKA_LABEL, (void *)label, label ? strlen(label) : 0 } };
	CK_ULONG n = 0;
	CHECK_RV(f->C_FindObjectsInit(s, t, label ? 3 : 2), CKR_OK);
	CHECK_RV(f->C_FindObjects(s, o, max, &n), CKR_OK);
	CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);
	return n;
}

static CK_OBJECT_HANDLE find1(CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls, unsigned char id,
                              const char *label)
{
	CK_OBJECT_HANDLE o[4];
	CK_ULONG n = find_all(s, cls, id, label, o, 4);
	if (n != 1)
		fail("expected one object of class %lu id %02x label %s, found %lu", cls, id,
		     label ? label : "(any)", n);
	return o[0];
}

static CK_RV ecdsa(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	unsigned char h[32], sig[256];
	CK_ULONG sl = sizeof(sig);
	CK_RV rv;
	memset(h, 0x5a, sizeof(h));
	rv = f->C_SignInit(s, &m, key);
	if (rv != CKR_OK)
		return rv;
	rv = f->C_Sign(s, h, sizeof(h), sig, &sl);
	if (rv == CKR_OK && sl != 64)
		fail("ECDSA P-256 signature of %lu bytes", sl);
	return rv;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	const char *mod = getenv("SIGNGATE_MODULE"), *tok = getenv("SG_TOKEN");
	if (argc != 2 || !mod || !tok) {
		fprintf(stderr,
		        "usage: identity CASE (with SIGNGATE_MODULE, SIGNGATE_CONF, SG_TOKEN)\n");
		return 2;
	}
	case_name = argv[1];
	f = p11t_load(mod, NULL);
	CHECK_RV(f->C_Initialize(NULL), CKR_OK);
	CK_SLOT_ID slot = p11t_token_slot(f, tok);
	CK_SESSION_HANDLE s = open_login(slot);
	unsigned char gid = 0x02, other = 0x77;
	CK_OBJECT_HANDLE loose = find1(s, CKO_PRIVATE_KEY, 0x33, "loose");

	if (!strcmp(case_name, "dup-set")) {
		/* signgate read the first CKA_ID, the token applied the last. */
		CK_ATTRIBUTE t[] = { { CKA_ID, &other, 1 }, { CKA_ID, &gid, 1 } };
		CHECK_RV(f->C_SetAttributeValue(s, loose, t, 2), CKR_TEMPLATE_INCONSISTENT);
		/* in either order */
		CK_ATTRIBUTE u[] = { { CKA_ID, &gid, 1 },
			             { CKA_LABEL, "x", 1 },
			             { CKA_ID, &other, 1 } };
		CHECK_RV(f->C_SetAttributeValue(s, loose, u, 3), CKR_TEMPLATE_INCONSISTENT);
		/* the governed ID alone is administration, which this caller lacks */
		CHECK_RV(f->C_SetAttributeValue(s, loose, t + 1, 1), CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "dup-create")) {
		CK_OBJECT_CLASS c = CKO_DATA;
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof(c) },
			             { CKA_TOKEN, &yes, sizeof(yes) },
			             { CKA_LABEL, "harmless", 8 },
			             { CKA_LABEL, "ec-release", 10 } };
		CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
		CHECK_RV(f->C_CreateObject(s, t, 4, &o), CKR_TEMPLATE_INCONSISTENT);
		if (o != CK_INVALID_HANDLE)
			fail("a handle was returned");
	} else if (!strcmp(case_name, "dup-copy")) {
		CK_ATTRIBUTE t[] = { { CKA_ID, &other, 1 }, { CKA_ID, &gid, 1 } };
		CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
		CHECK_RV(f->C_CopyObject(s, loose, t, 2, &o), CKR_TEMPLATE_INCONSISTENT);
		if (o != CK_INVALID_HANDLE)
			fail("a copy handle was returned");
	} else if (!strcmp(case_name, "dup-generate")) {
		/* Refused for the template before the admin decision is made. */
		static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
			                              0xce, 0x3d, 0x03, 0x01, 0x07 };
		CK_MECHANISM m = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE pubt[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
			                { CKA_TOKEN, &yes, 1 } };
		CK_ATTRIBUTE privt[] = { { CKA_ID, &other, 1 },
			                 { CKA_TOKEN, &yes, 1 },
			                 { CKA_ID, &gid, 1 } };
		CK_OBJECT_HANDLE a = CK_INVALID_HANDLE, b = CK_INVALID_HANDLE;
		CHECK_RV(f->C_GenerateKeyPair(s, &m, pubt, 2, privt, 3, &a, &b),
		         CKR_TEMPLATE_INCONSISTENT);
		/* and the same in the public template */
		CK_ATTRIBUTE pubd[] = { { CKA_EC_PARAMS, (void *)p256, sizeof(p256) },
			                { CKA_ID, &other, 1 },
			                { CKA_ID, &gid, 1 } };
		CHECK_RV(f->C_GenerateKeyPair(s, &m, pubd, 3, privt, 2, &a, &b),
		         CKR_TEMPLATE_INCONSISTENT);
	} else if (!strcmp(case_name, "dup-find")) {
		CK_OBJECT_CLASS c1 = CKO_PRIVATE_KEY, c2 = CKO_PUBLIC_KEY;
		CK_ATTRIBUTE t[] = { { CKA_CLASS, &c1, sizeof(c1) },
			             { CKA_CLASS, &c2, sizeof(c2) } };
		CHECK_RV(f->C_FindObjectsInit(s, t, 2), CKR_TEMPLATE_INCONSISTENT);
		/* no search was started */
		CHECK_RV(f->C_FindObjectsInit(s, t, 1), CKR_OK);
		CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);
		/* A count that wraps (ulCount + 1 == 0) is refused, not
		 * allocated: in a logged-out caller view, where signgate copies
		 * the template to add CKA_PRIVATE. */
		CK_SESSION_HANDLE lo;
		CHECK_RV(f->C_Logout(s), CKR_OK);
		CHECK_RV(f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &lo), CKR_OK);
		CHECK_RV(f->C_FindObjectsInit(lo, t, (CK_ULONG)-1), CKR_HOST_MEMORY);
		/* logged out: the caller's CKA_PRIVATE is replaced, not doubled */
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE tp[] = { { CKA_PRIVATE, &yes, 1 } };
		CK_OBJECT_HANDLE o[8];
		CK_ULONG n = 0;
		CHECK_RV(f->C_FindObjectsInit(lo, tp, 1), CKR_OK);
		CHECK_RV(f->C_FindObjects(lo, o, 8, &n), CKR_OK);
		CHECK_RV(f->C_FindObjectsFinal(lo), CKR_OK);
		for (CK_ULONG i = 0; i < n; i++) {
			CK_OBJECT_CLASS c;
			CK_ATTRIBUTE a = { CKA_CLASS, &c, sizeof(c) };
			CHECK_RV(f->C_GetAttributeValue(lo, o[i], &a, 1), CKR_OK);
			if (c == CKO_PRIVATE_KEY)
				fail("a logged-out view found a private key");
		}
	} else if (!strcmp(case_name, "ec-relabel")) {
		/* The policy grants key administration over all keys: the
		 * relabel itself is allowed (and recorded) ... */
		CK_OBJECT_HANDLE real = find1(s, CKO_PRIVATE_KEY, gid, "ec-release");
		CHECK_RV(ecdsa(s, real), CKR_OK);
		CK_ATTRIBUTE t[] = { { CKA_ID, &gid, 1 } };
		CHECK_RV(f->C_SetAttributeValue(s, loose, t, 1), CKR_OK);
		/* ... but the relabelled key is not taken for the governed one:
		 * it cannot prove to be the public key the policy names. */
		CHECK_RV(ecdsa(s, loose), CKR_FUNCTION_REJECTED);
		/* nor after a fresh start (no cache) */
		CHECK_RV(f->C_Finalize(NULL), CKR_OK);
		CHECK_RV(f->C_Initialize(NULL), CKR_OK);
		s = open_login(slot);
		CK_OBJECT_HANDLE both[4];
		if (find_all(s, CKO_PRIVATE_KEY, gid, NULL, both, 4) != 2)
			fail("expected two private keys with the governed ID");
		loose = find1(s, CKO_PRIVATE_KEY, gid, "loose");
		real = find1(s, CKO_PRIVATE_KEY, gid, "ec-release");
		CHECK_RV(ecdsa(s, loose), CKR_FUNCTION_REJECTED);
		/* the real key still signs, its identity proven */
		CHECK_RV(ecdsa(s, real), CKR_OK);
	} else if (!strcmp(case_name, "ec-planted")) {
		/* identity.sh planted, directly on the token, a second EC key
		 * pair with the governed ID (label "planted"): two public keys
		 * now carry CKA_ID 02. */
		CK_OBJECT_HANDLE pubs[4];
		if (find_all(s, CKO_PUBLIC_KEY, gid, NULL, pubs, 4) != 2)
			fail("expected two public keys with the governed ID");
		CK_OBJECT_HANDLE planted = find1(s, CKO_PRIVATE_KEY, gid, "planted");
		CK_OBJECT_HANDLE real = find1(s, CKO_PRIVATE_KEY, gid, "ec-release");
		CHECK_RV(ecdsa(s, planted), CKR_FUNCTION_REJECTED);
		CHECK_RV(ecdsa(s, real), CKR_OK);
		CHECK_RV(ecdsa(s, real), CKR_OK);
	} else if (!strcmp(case_name, "other-token")) {
		const char *tb = getenv("SG_TOKEN_B");
		if (!tb)
			fail("SG_TOKEN_B not set");
		CK_SESSION_HANDLE sb = open_login(p11t_token_slot(f, tb));
		CK_OBJECT_HANDLE ec = find1(s, CKO_PRIVATE_KEY, gid, "ec-release");
		CK_OBJECT_HANDLE pub = find1(s, CKO_PUBLIC_KEY, gid, "ec-release");
		CK_ATTRIBUTE lab = { CKA_LABEL, "moved", 5 };
		CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
		/* A's handle through B's session, before A's session used it ... */
		CHECK_RV(f->C_SetAttributeValue(sb, ec, &lab, 1), CKR_OBJECT_HANDLE_INVALID);
		CHECK_RV(f->C_CopyObject(sb, ec, &lab, 1, &o), CKR_OBJECT_HANDLE_INVALID);
		if (o != CK_INVALID_HANDLE)
			fail("a copy handle was returned");
		CHECK_RV(f->C_DestroyObject(sb, pub), CKR_OBJECT_HANDLE_INVALID);
		CHECK_RV(ecdsa(sb, ec), CKR_KEY_HANDLE_INVALID);
		/* ... and after (A's identity is cached for A only) */
		CHECK_RV(ecdsa(s, ec), CKR_OK);
		CHECK_RV(f->C_DestroyObject(sb, ec), CKR_OBJECT_HANDLE_INVALID);
		CHECK_RV(ecdsa(sb, ec), CKR_KEY_HANDLE_INVALID);
		CHECK_RV(ecdsa(s, ec), CKR_OK);
	} else if (!strcmp(case_name, "set-pki")) {
		/* SoftHSM lets CKA_PUBLIC_KEY_INFO be set on an EC private key:
		 * through signgate that is key administration ... */
		unsigned char spki[512];
		FILE *fp = fopen(getenv("SG_EC_PUB_DER"), "rb");
		if (!fp)
			fail("cannot read SG_EC_PUB_DER");
		size_t sl = fread(spki, 1, sizeof(spki), fp);
		fclose(fp);
		CK_ATTRIBUTE pki = { CKA_PUBLIC_KEY_INFO, spki, sl };
		CK_ATTRIBUTE idt = { CKA_ID, &gid, 1 };
		CHECK_RV(f->C_SetAttributeValue(s, loose, &pki, 1), CKR_FUNCTION_REJECTED);
		CHECK_RV(f->C_Finalize(NULL), CKR_OK);
		/* ... and when it is done on the token directly (another
		 * application holding the PIN), together with the governed ID,
		 * the key still does not pass for the governed one. */
		CK_FUNCTION_LIST_PTR d = p11t_load(getenv("SG_SOFTHSM"), NULL);
		CHECK_RV(d->C_Initialize(NULL), CKR_OK);
		CK_FUNCTION_LIST_PTR sg = f;
		f = d;
		CK_SESSION_HANDLE ds;
		CHECK_RV(d->C_OpenSession(p11t_token_slot(f, tok),
		                          CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &ds),
		         CKR_OK);
		const char *pin = getenv("SG_USER_PIN");
		CHECK_RV(d->C_Login(ds, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK);
		CK_OBJECT_HANDLE dl = find1(ds, CKO_PRIVATE_KEY, 0x33, "loose");
		CHECK_RV(d->C_SetAttributeValue(ds, dl, &pki, 1), CKR_OK);
		CHECK_RV(d->C_SetAttributeValue(ds, dl, &idt, 1), CKR_OK);
		CHECK_RV(d->C_Finalize(NULL), CKR_OK);
		f = sg;
		CHECK_RV(f->C_Initialize(NULL), CKR_OK);
		s = open_login(slot);
		loose = find1(s, CKO_PRIVATE_KEY, gid, "loose");
		CHECK_RV(ecdsa(s, loose), CKR_FUNCTION_REJECTED);
		CHECK_RV(ecdsa(s, find1(s, CKO_PRIVATE_KEY, gid, "ec-release")), CKR_OK);
	} else if (!strcmp(case_name, "proof-cost")) {
		/* Not a pass/fail measure: the extra time of a handle's first
		 * use (identity proof) against later ones, for REFERENCE.md. */
		CK_OBJECT_HANDLE ec = find1(s, CKO_PRIVATE_KEY, gid, "ec-release");
		CK_OBJECT_HANDLE rsa = find1(s, CKO_PRIVATE_KEY, 0x01, "rsa-release");
		CK_MECHANISM m = { CKM_ECDSA, NULL, 0 }, mr = { CKM_SHA256_RSA_PKCS, NULL, 0 };
		unsigned char sig[512];
		CK_ULONG sl;
		double t0 = now_ms();
		CHECK_RV(f->C_SignInit(s, &m, ec), CKR_OK);
		double t1 = now_ms();
		sl = sizeof(sig);
		CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR) "01234567890123456789012345678901", 32, sig,
		                   &sl),
		         CKR_OK);
		double t2 = now_ms();
		CHECK_RV(f->C_SignInit(s, &m, ec), CKR_OK);
		double t3 = now_ms();
		sl = sizeof(sig);
		CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR) "01234567890123456789012345678901", 32, sig,
		                   &sl),
		         CKR_OK);
		double r0 = now_ms();
		CHECK_RV(f->C_SignInit(s, &mr, rsa), CKR_OK);
		double r1 = now_ms();
		sl = sizeof(sig);
		CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OK);
		double r2 = now_ms();
		CHECK_RV(f->C_SignInit(s, &mr, rsa), CKR_OK);
		double r3 = now_ms();
		sl = sizeof(sig);
		CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OK);
		printf("EC P-256 C_SignInit first use %.3f ms, cached %.3f ms\n", t1 - t0, t3 - t2);
		printf("RSA-2048 C_SignInit first use %.3f ms, cached %.3f ms\n", r1 - r0, r3 - r2);
	} else {
		fail("unknown case");
	}
	f->C_Finalize(NULL);
	printf("PASS %s\n", case_name);
	return 0;
}

/* Decryption, unwrapping and derivation with a governed key are
 * capabilities of their own (issue 12, defect 2): never implied by a
 * signing mechanism, and every attempt, failed or not, is decided,
 * recorded and counted.
 *
 * Usage: caps CASE.  caps.sh writes the policy for the case and checks
 * the audit records afterwards; this program makes the PKCS#11 calls
 * through the module (SIGNGATE_MODULE) on the real SoftHSM token and
 * asserts the CKR codes.  It prints "ckr NAME 0xHEX" lines for codes the
 * token chose (the audit record must carry the same).  Exit 0 pass,
 * 1 fail. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p11test.h"

static CK_FUNCTION_LIST_PTR f;
static CK_FUNCTION_LIST_3_0_PTR f3;
static CK_FUNCTION_LIST_PTR load(const char *path, bool want30)
{
	void *dl;
	CK_FUNCTION_LIST_PTR l = p11t_load(path, &dl);
	CHECK_RV(l->C_Initialize(NULL), CKR_OK);
	if (want30) {
		f3 = p11t_interface30(dl, path);
		return (CK_FUNCTION_LIST_PTR)f3;
	}
	return l;
}

/* Encrypt with the public key (no policy applies to public keys). */
static CK_ULONG encrypt(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE pub,
                        const unsigned char *in, CK_ULONG in_len, unsigned char out[256])
{
	CK_ULONG ol = 256;
	CHECK_RV(f->C_EncryptInit(s, m, pub), CKR_OK);
	CHECK_RV(f->C_Encrypt(s, (CK_BYTE_PTR)in, in_len, out, &ol), CKR_OK);
	if (ol != 256)
		fail("ciphertext length %lu", ol);
	return ol;
}

/* Ciphertext that is no PKCS#1 v1.5 block: what a padding oracle is fed. */
static void garbage(unsigned char c[256])
{
	for (int i = 0; i < 256; i++)
		c[i] = (unsigned char)(i * 37 + 11);
	c[0] = 0x01; /* below the modulus, so the token decrypts and checks padding */
}

static void sign_ok(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	static const unsigned char di[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48,
		                            0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04,
		                            0x20, 1,    2,    3,    4,    5,    6,    7,    8,
		                            9,    10,   11,   12,   13,   14,   15,   16,   17,
		                            18,   19,   20,   21,   22,   23,   24,   25,   26,
		                            27,   28,   29,   30,   31,   32 };
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG sl = sizeof(sig);
	CHECK_RV(f->C_SignInit(s, &m, key), CKR_OK);
	CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR)di, sizeof(di), sig, &sl), CKR_OK);
}

static CK_RV unwrap(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, unsigned char *wrapped, CK_ULONG wl,
                    CK_OBJECT_CLASS cls, CK_OBJECT_HANDLE *out)
{
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	CK_KEY_TYPE kt = cls == CKO_SECRET_KEY ? CKK_AES : CKK_RSA;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) },
		             { CKA_KEY_TYPE, &kt, sizeof(kt) },
		             { CKA_TOKEN, &no, sizeof(no) } };
	*out = CK_INVALID_HANDLE;
	return f->C_UnwrapKey(s, &m, key, wrapped, wl, t, 3, out);
}

static CK_RV derive(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, unsigned char *point, CK_ULONG pl,
                    CK_OBJECT_HANDLE *out)
{
	CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, pl, point };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	CK_OBJECT_CLASS c = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ULONG len = 32;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof(c) },
		             { CKA_KEY_TYPE, &kt, sizeof(kt) },
		             { CKA_VALUE_LEN, &len, sizeof(len) },
		             { CKA_TOKEN, &no, sizeof(no) } };
	*out = CK_INVALID_HANDLE;
	return f->C_DeriveKey(s, &m, key, t, 4, out);
}

/* The EC public point of the test key, as an uncompressed point. */
static CK_ULONG ec_point(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE pub, unsigned char out[65])
{
	unsigned char der[80];
	CK_ATTRIBUTE a = { CKA_EC_POINT, der, sizeof(der) };
	CHECK_RV(f->C_GetAttributeValue(s, pub, &a, 1), CKR_OK);
	/* DER OCTET STRING 04 41 | 04 X Y */
	if (a.ulValueLen != 67 || der[0] != 0x04 || der[1] != 65 || der[2] != 0x04)
		fail("unexpected CKA_EC_POINT (%lu bytes)", a.ulValueLen);
	memcpy(out, der + 2, 65);
	return 65;
}

int main(int argc, char **argv)
{
	const char *mod = getenv("SIGNGATE_MODULE"), *hsm = getenv("SG_SOFTHSM");
	if (argc != 2 || !mod || !hsm) {
		fprintf(stderr, "usage: caps CASE (with SIGNGATE_MODULE, SG_SOFTHSM, SG_TOKEN)\n");
		return 2;
	}
	case_name = argv[1];
	bool want30 = !strncmp(case_name, "message-", 8);
	CK_MECHANISM rsa_pkcs = { CKM_RSA_PKCS, NULL, 0 };
	unsigned char ct[256], pt[256];
	static const unsigned char secret[16] = "0123456789abcdef";
	CK_ULONG pl;

	if (!strcmp(case_name, "decrypt-signing-key")) {
		/* The oracle is real: the token itself answers a bad padding
		 * with an error, a good one with the plaintext. */
		CK_FUNCTION_LIST_PTR d = load(hsm, false);
		CK_SESSION_HANDLE s =
		        p11t_open_login(d, p11t_sg_token_slot(d), getenv("SG_USER_PIN"));
		CK_OBJECT_HANDLE k = p11t_find(d, s, CKO_PRIVATE_KEY, 0x01);
		garbage(ct);
		pl = sizeof(pt);
		CHECK_RV(d->C_DecryptInit(s, &rsa_pkcs, k), CKR_OK);
		if (d->C_Decrypt(s, ct, sizeof(ct), pt, &pl) == CKR_OK)
			fail("SoftHSM decrypted garbage");
		d->C_Finalize(NULL);
	}

	if (!strcmp(case_name, "derive-granted")) {
		/* The fixture imports the EC key without CKA_DERIVE: allow it on
		 * the token itself, so that what is refused below is policy's. */
		CK_FUNCTION_LIST_PTR d = load(hsm, false);
		CK_SESSION_HANDLE s =
		        p11t_open_login(d, p11t_sg_token_slot(d), getenv("SG_USER_PIN"));
		CK_BBOOL yes = CK_TRUE;
		CK_ATTRIBUTE a = { CKA_DERIVE, &yes, sizeof(yes) };
		CHECK_RV(d->C_SetAttributeValue(s, p11t_find(d, s, CKO_PRIVATE_KEY, 0x02), &a, 1),
		         CKR_OK);
		d->C_Finalize(NULL);
	}

	f = load(mod, want30);
	CK_SLOT_ID slot = p11t_sg_token_slot(f);
	CK_SESSION_HANDLE s = p11t_open_login(f, slot, "not-the-token-pin");
	CK_OBJECT_HANDLE rsa = p11t_find(f, s, CKO_PRIVATE_KEY, 0x01);
	CK_OBJECT_HANDLE rsa_pub = p11t_find(f, s, CKO_PUBLIC_KEY, 0x01);
	CK_OBJECT_HANDLE ec = p11t_find(f, s, CKO_PRIVATE_KEY, 0x02);
	CK_OBJECT_HANDLE ec_pub = p11t_find(f, s, CKO_PUBLIC_KEY, 0x02);

	if (!strcmp(case_name, "decrypt-signing-key")) {
		/* The key lists RSA-PKCS and RSA-X-509 for signing; no rule or
		 * key grants decryption.  A failed decryption with it (the
		 * Bleichenbacher query) is refused before the token sees it. */
		garbage(ct);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_FUNCTION_REJECTED);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
		CK_MECHANISM raw = { CKM_RSA_X_509, NULL, 0 };
		CHECK_RV(f->C_DecryptInit(s, &raw, rsa), CKR_FUNCTION_REJECTED);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
		/* signing with the same mechanism is what the key is for */
		sign_ok(s, rsa);
	} else if (!strcmp(case_name, "decrypt-mechanism")) {
		/* decrypt granted for RSA-PKCS-OAEP only: RSA-PKCS, a signing
		 * mechanism of the key, still does not decrypt. */
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_MECHANISM_INVALID);
		CK_RSA_PKCS_OAEP_PARAMS op = { CKM_SHA_1, CKG_MGF1_SHA1, CKZ_DATA_SPECIFIED, NULL,
			                       0 };
		CK_MECHANISM oaep = { CKM_RSA_PKCS_OAEP, &op, sizeof(op) };
		encrypt(s, &oaep, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(f->C_DecryptInit(s, &oaep, rsa), CKR_OK);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OK);
		if (pl != sizeof(secret) || memcmp(pt, secret, pl))
			fail("OAEP plaintext differs");
		sign_ok(s, rsa);
	} else if (!strcmp(case_name, "decrypt-quota")) {
		/* decrypt granted (RSA-PKCS), quota 5 per rule. */
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		/* 1: a good decryption, with a length query and a buffer too
		 * small first: one attempt, counted once */
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = 0;
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), NULL, &pl), CKR_OK);
		pl = 1;
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_BUFFER_TOO_SMALL);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OK);
		if (pl != sizeof(secret) || memcmp(pt, secret, pl))
			fail("plaintext differs");
		/* 2 and 3: a length query with one ciphertext, then the real
		 * call with another: two ciphertexts reached the token, two
		 * attempts */
		unsigned char other[256];
		garbage(other);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = 0;
		CHECK_RV(f->C_Decrypt(s, other, sizeof(other), NULL, &pl), CKR_OK);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OK);
		if (pl != sizeof(secret) || memcmp(pt, secret, pl))
			fail("plaintext differs");
		/* 4: bad padding */
		garbage(ct);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		CK_RV rv = f->C_Decrypt(s, ct, sizeof(ct), pt, &pl);
		if (rv == CKR_OK)
			fail("garbage decrypted");
		printf("ckr bad-padding 0x%08lx\n", rv);
		/* and the operation is over */
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
		/* 5: a ciphertext of the wrong length */
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		rv = f->C_Decrypt(s, ct, 100, pt, &pl);
		if (rv == CKR_OK)
			fail("short ciphertext decrypted");
		printf("ckr bad-length 0x%08lx\n", rv);
		/* 6: the quota (5) is used up, the failures included: refused before
		 * the token sees the data, whatever it is */
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_FUNCTION_REJECTED);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
		/* a length query is refused too once the quota is gone */
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = 0;
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), NULL, &pl), CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "decrypt-multipart")) {
		/* decrypt granted (RSA-PKCS), quota 1: a multi-part decryption is
		 * an attempt like a single-part one, whatever the token says */
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		CK_RV rv = f->C_DecryptUpdate(s, ct, sizeof(ct), pt, &pl);
		if (rv == CKR_OK) {
			CK_ULONG fl = sizeof(pt) - pl;
			rv = f->C_DecryptFinal(s, pt + pl, &fl);
		}
		printf("ckr multipart 0x%08lx\n", rv);
		/* The operation is over either way, in signgate and in the
		 * token: SoftHSM keeps it after its CKR_FUNCTION_NOT_SUPPORTED
		 * for a multi-part RSA decryption, and a C_Decrypt would then
		 * decrypt unchecked and uncounted. */
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_OPERATION_NOT_INITIALIZED);
		pl = sizeof(pt);
		CHECK_RV(f->C_DecryptUpdate(s, ct, sizeof(ct), pt, &pl),
		         CKR_OPERATION_NOT_INITIALIZED);
		/* and the quota of 1 was used by that attempt */
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "decrypt-audit-down")) {
		/* decrypt granted, audit.required, no log daemon: neither a
		 * plaintext nor the token's verdict on a ciphertext leaves
		 * without its record, so good and bad padding look the same */
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		memset(pt, 0, sizeof(pt));
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_FUNCTION_REJECTED);
		if (!memcmp(pt, secret, sizeof(secret)))
			fail("the plaintext was handed out without its record");
		garbage(ct);
		CHECK_RV(f->C_DecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		CHECK_RV(f->C_Decrypt(s, ct, sizeof(ct), pt, &pl), CKR_FUNCTION_REJECTED);
		/* the same for unwrapping: the new key does not survive */
		CK_OBJECT_HANDLE nk;
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(unwrap(s, rsa, ct, sizeof(ct), CKO_SECRET_KEY, &nk),
		         CKR_FUNCTION_REJECTED);
		if (nk != CK_INVALID_HANDLE) {
			CK_OBJECT_CLASS cls;
			CK_ATTRIBUTE a = { CKA_CLASS, &cls, sizeof(cls) };
			CHECK_RV(f->C_GetAttributeValue(s, nk, &a, 1), CKR_OBJECT_HANDLE_INVALID);
		}
		garbage(ct);
		CHECK_RV(unwrap(s, rsa, ct, sizeof(ct), CKO_SECRET_KEY, &nk),
		         CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "message-decrypt")) {
		/* PKCS#11 3.0 message decryption: granted, and a failed message
		 * is recorded like a failed C_Decrypt. */
		garbage(ct);
		CHECK_RV(f3->C_MessageDecryptInit(s, &rsa_pkcs, rsa), CKR_OK);
		pl = sizeof(pt);
		CK_RV rv = f3->C_DecryptMessage(s, NULL, 0, NULL, 0, ct, sizeof(ct), pt, &pl);
		if (rv == CKR_OK)
			fail("garbage decrypted");
		printf("ckr message 0x%08lx\n", rv);
		f3->C_MessageDecryptFinal(s);
		/* signing is not decryption: the 3.0 sign path is unchanged */
		(void)ec;
	} else if (!strcmp(case_name, "unwrap-refused")) {
		CK_OBJECT_HANDLE nk;
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(unwrap(s, rsa, ct, sizeof(ct), CKO_SECRET_KEY, &nk),
		         CKR_FUNCTION_REJECTED);
		if (nk != CK_INVALID_HANDLE)
			fail("a key handle was returned");
		garbage(ct);
		CHECK_RV(unwrap(s, rsa, ct, sizeof(ct), CKO_SECRET_KEY, &nk),
		         CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "unwrap-granted")) {
		CK_OBJECT_HANDLE nk;
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(unwrap(s, rsa, ct, sizeof(ct), CKO_SECRET_KEY, &nk), CKR_OK);
		if (nk == CK_INVALID_HANDLE)
			fail("no key handle");
		/* a failed unwrap is recorded with the token's code */
		garbage(ct);
		CK_RV rv = unwrap(s, rsa, ct, sizeof(ct), CKO_SECRET_KEY, &nk);
		if (rv == CKR_OK)
			fail("garbage unwrapped");
		printf("ckr unwrap 0x%08lx\n", rv);
		/* importing a private key stays key administration */
		encrypt(s, &rsa_pkcs, rsa_pub, secret, sizeof(secret), ct);
		CHECK_RV(unwrap(s, rsa, ct, sizeof(ct), CKO_PRIVATE_KEY, &nk),
		         CKR_FUNCTION_REJECTED);
	} else if (!strcmp(case_name, "derive-refused")) {
		unsigned char pt65[65];
		CK_OBJECT_HANDLE nk;
		CK_ULONG n = ec_point(s, ec_pub, pt65);
		CHECK_RV(derive(s, ec, pt65, n, &nk), CKR_FUNCTION_REJECTED);
		if (nk != CK_INVALID_HANDLE)
			fail("a key handle was returned");
	} else if (!strcmp(case_name, "derive-granted")) {
		unsigned char pt65[65];
		CK_OBJECT_HANDLE nk;
		CK_ULONG n = ec_point(s, ec_pub, pt65);
		CHECK_RV(derive(s, ec, pt65, n, &nk), CKR_OK);
		if (nk == CK_INVALID_HANDLE)
			fail("no key handle");
		/* a point not on the curve: the token refuses, it is recorded */
		memset(pt65 + 1, 0x5a, 64);
		CK_RV rv = derive(s, ec, pt65, n, &nk);
		if (rv == CKR_OK)
			fail("derived from a point off the curve");
		printf("ckr derive 0x%08lx\n", rv);
		/* the RSA key has no derive capability */
		CHECK_RV(derive(s, rsa, pt65, n, &nk), CKR_FUNCTION_REJECTED);
	} else {
		fail("unknown case");
	}
	f->C_Finalize(NULL);
	printf("PASS %s\n", case_name);
	return 0;
}

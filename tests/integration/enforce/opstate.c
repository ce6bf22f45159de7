/* The operation state machine fails closed (issue 12, defects 5, 6, 10).
 *
 * Usage: opstate CASE.  SIGNGATE_MODULE is the module under test and
 * SIGNGATE_CONF its policy (written by opstate.sh); SG_TOKEN names the
 * token.  The audit records are checked by opstate.sh afterwards; this
 * program asserts the CKR codes and prints "SIGNATURES n", the number of
 * signatures it was handed, for the audit to be compared with.
 *
 *   logout-ticket   C_Logout between C_SignInit and C_Sign, with a
 *                   one-use artifact-bound ticket (SG_TICKET_A, SG_ART_A)
 *   relogin-ticket  logout and login with another ticket (SG_TICKET_B,
 *                   SG_ART_B) in the middle of an operation, in the same
 *                   and in another session
 *   multipart-ticket an artifact-bound ticket with SHA256-RSA-PKCS in parts
 *   logout-multipart C_Logout between C_SignUpdate and C_SignFinal
 *   message-logout  the same for a PKCS#11 3.0 message-signing operation
 *   big-retry       a refused C_Sign retried, on RSA 2048/4096/9216 and
 *                   EC P-256/384/521: never forwarded
 *   passthrough     decryption with an ungoverned secret key still works
 *   fault-matrix    every error code from each signing call of a faulty
 *                   backend (SG_FAULT, tests/lib/faultbackend.c)
 *   fault-blocked   a refused operation the backend does not let end
 *   fault-length    lengths that change, too long, too short; a slow call
 *   fault-keyread   the key's attributes cannot be read at its first use
 *   fault-close     the session closed or the device removed mid-operation
 * Exit 0 pass, 1 fail, 77 skip. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "p11test.h"

/* The cases repeat the same calls many times: a failure names its line. */
#undef CHECK_RV
#define CHECK_RV CHECK_RV_LINE

static CK_FUNCTION_LIST_PTR f;
static CK_FUNCTION_LIST_3_0_PTR f3;
static void *module_dl;
static unsigned long signatures; /* signatures handed to this program */
static CK_SLOT_ID slot;

static void load(void)
{
	f = p11t_load(p11t_env("SIGNGATE_MODULE"), &module_dl);
	CHECK_RV(f->C_Initialize(NULL), CKR_OK);
}

static CK_SESSION_HANDLE open_session(void)
{
	return p11t_open_rw(f, slot);
}

static void login(CK_SESSION_HANDLE s, const char *pin)
{
	CHECK_RV(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin)), CKR_OK);
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE s, const char *id_hex)
{
	return p11t_find(f, s, CKO_PRIVATE_KEY, (unsigned char)strtoul(id_hex, NULL, 16));
}

static void hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		fail("bad hex %s", hex);
	for (size_t i = 0; i < n; i++) {
		unsigned int b;
		if (sscanf(hex + 2 * i, "%2x", &b) != 1)
			fail("bad hex %s", hex);
		out[i] = (unsigned char)b;
	}
}

static bool all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static CK_MECHANISM mech_ecdsa = { CKM_ECDSA, NULL, 0 };
static CK_MECHANISM mech_rsa_pkcs = { CKM_RSA_PKCS, NULL, 0 };
static CK_MECHANISM mech_sha256_rsa = { CKM_SHA256_RSA_PKCS, NULL, 0 };

/* A SHA-256 (or SHA-1) DigestInfo over a fixed value. */
static size_t digest_info(bool sha1, unsigned char *out)
{
	static const unsigned char p256[] = { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60,
		                              0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
		                              0x01, 0x05, 0x00, 0x04, 0x20 };
	static const unsigned char p1[] = { 0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e,
		                            0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14 };
	if (sha1) {
		memcpy(out, p1, sizeof(p1));
		memset(out + sizeof(p1), 0x5a, 20);
		return sizeof(p1) + 20;
	}
	memcpy(out, p256, sizeof(p256));
	memset(out + sizeof(p256), 0x5a, 32);
	return sizeof(p256) + 32;
}

/* Sign data with a buffer of the size asked; the result is checked:
 * a signature of plausible length, or a wiped buffer. */
static CK_RV sign_once(CK_SESSION_HANDLE s, const unsigned char *d, CK_ULONG dl, CK_ULONG *out_len)
{
	unsigned char sig[2048];
	CK_ULONG sl = sizeof(sig);
	memset(sig, 0, sizeof(sig));
	CK_RV rv = f->C_Sign(s, (CK_BYTE_PTR)d, dl, sig, &sl);
	if (rv == CKR_OK) {
		if (sl == 0 || sl > sizeof(sig) || all_zero(sig, sl))
			fail("C_Sign OK with a signature of length %lu that is empty or zero", sl);
		signatures++;
	} else if (!all_zero(sig, sizeof(sig))) {
		fail("C_Sign = 0x%lx left output in the buffer", rv);
	}
	if (out_len)
		*out_len = sl;
	return rv;
}

/* --- defect 5 --------------------------------------------------------- */

static void case_logout_ticket(void)
{
	const char *ticket = p11t_env("SG_TICKET_A");
	unsigned char art[32], other[32];
	CK_SESSION_HANDLE s = open_session();

	hex_decode(p11t_env("SG_ART_A"), art, 32);
	memset(other, 0x77, sizeof(other));
	login(s, ticket);
	CK_OBJECT_HANDLE key = find_key(s, p11t_env("SG_EC_ID"));
	CHECK_RV(f->C_Logout(s), CKR_OK);
	for (int i = 0; i < 5; i++) {
		login(s, ticket);
		CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
		CHECK_RV(f->C_Logout(s), CKR_OK);
		/* a digest the ticket does not cover, after the ticket is gone */
		CHECK_RV(sign_once(s, other, sizeof(other), NULL), CKR_USER_NOT_LOGGED_IN);
		/* the operation is over, and nothing reaches the token */
		CHECK_RV(sign_once(s, other, sizeof(other), NULL), CKR_OPERATION_NOT_INITIALIZED);
	}
	login(s, ticket);
	/* The ticket's one use is still there: the artifact signs once. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s, art, sizeof(art), NULL), CKR_OK);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s, art, sizeof(art), NULL), CKR_FUNCTION_REJECTED);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

static void case_relogin_ticket(void)
{
	const char *ta = p11t_env("SG_TICKET_A"), *tb = p11t_env("SG_TICKET_B");
	unsigned char art_a[32], art_b[32];
	CK_SESSION_HANDLE s1 = open_session(), s2;

	hex_decode(p11t_env("SG_ART_A"), art_a, 32);
	hex_decode(p11t_env("SG_ART_B"), art_b, 32);
	login(s1, ta);
	CK_OBJECT_HANDLE key = find_key(s1, p11t_env("SG_EC_ID"));
	/* Same session: decided under A, data offered under B (which
	 * covers it): the operation ended with the login. */
	CHECK_RV(f->C_SignInit(s1, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(f->C_Logout(s1), CKR_OK);
	login(s1, tb);
	CHECK_RV(sign_once(s1, art_b, sizeof(art_b), NULL), CKR_FUNCTION_REJECTED);
	CHECK_RV(sign_once(s1, art_b, sizeof(art_b), NULL), CKR_OPERATION_NOT_INITIALIZED);
	/* Another session changes the login: decided under B, data for A. */
	CHECK_RV(f->C_SignInit(s1, &mech_ecdsa, key), CKR_OK);
	s2 = open_session();
	CHECK_RV(f->C_Logout(s2), CKR_OK);
	login(s2, ta);
	CHECK_RV(sign_once(s1, art_a, sizeof(art_a), NULL), CKR_FUNCTION_REJECTED);
	/* A SignInit on an operation decided under another login ends it
	 * and starts afresh: under A, A's artifact signs. */
	CHECK_RV(f->C_SignInit(s1, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(f->C_Logout(s2), CKR_OK);
	login(s2, ta);
	CHECK_RV(f->C_SignInit(s1, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s1, art_a, sizeof(art_a), NULL), CKR_OK);
	CHECK_RV(f->C_CloseSession(s2), CKR_OK);
	CHECK_RV(f->C_CloseSession(s1), CKR_OK);
}

/* A ticket that lists an artifact, a mechanism that hashes, the data in
 * parts: the artifact signs (its SHA-256 over all the parts is checked
 * before C_SignFinal), other data does not. */
static void case_multipart_ticket(void)
{
	unsigned char buf[256], sig[512];
	CK_ULONG sl;
	size_t n;
	FILE *fp = fopen(p11t_env("SG_ART_B_FILE"), "rb");
	CK_SESSION_HANDLE s = open_session();

	if (!fp)
		fail("cannot open the artifact");
	n = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	if (n < 2)
		fail("artifact too short");
	login(s, p11t_env("SG_TICKET_B"));
	CK_OBJECT_HANDLE rsa = find_key(s, p11t_env("SG_RSA_ID"));
	CHECK_RV(f->C_SignInit(s, &mech_sha256_rsa, rsa), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, buf, n / 2), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, buf + n / 2, n - n / 2), CKR_OK);
	CHECK_RV(f->C_SignFinal(s, NULL, &sl), CKR_OK);
	sl = sizeof(sig);
	CHECK_RV(f->C_SignFinal(s, sig, &sl), CKR_OK);
	signatures++;
	/* the same parts and one more byte: another artifact */
	CHECK_RV(f->C_SignInit(s, &mech_sha256_rsa, rsa), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, buf, n), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, (CK_BYTE_PTR) "x", 1), CKR_OK);
	memset(sig, 0, sizeof(sig));
	sl = sizeof(sig);
	CHECK_RV(f->C_SignFinal(s, sig, &sl), CKR_FUNCTION_REJECTED);
	if (!all_zero(sig, sizeof(sig)))
		fail("output after a refused C_SignFinal");
	CHECK_RV(f->C_SignFinal(s, sig, &sl), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

/* Multi-part: data given before the logout, the signature asked after. */
static void case_logout_multipart(void)
{
	unsigned char sig[512];
	CK_ULONG sl = sizeof(sig);
	CK_SESSION_HANDLE s = open_session(), s2;

	login(s, p11t_env("SG_USER_PIN"));
	CK_OBJECT_HANDLE rsa = find_key(s, p11t_env("SG_RSA_ID"));
	CHECK_RV(f->C_SignInit(s, &mech_sha256_rsa, rsa), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, (CK_BYTE_PTR) "data", 4), CKR_OK);
	CHECK_RV(f->C_Logout(s), CKR_OK);
	memset(sig, 0, sizeof(sig));
	CHECK_RV(f->C_SignFinal(s, sig, &sl), CKR_USER_NOT_LOGGED_IN);
	if (!all_zero(sig, sizeof(sig)))
		fail("output after a refused C_SignFinal");
	CHECK_RV(f->C_SignUpdate(s, (CK_BYTE_PTR) "more", 4), CKR_OPERATION_NOT_INITIALIZED);
	/* the real operation was ended: a new one starts */
	login(s, p11t_env("SG_USER_PIN"));
	CHECK_RV(f->C_SignInit(s, &mech_sha256_rsa, rsa), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, (CK_BYTE_PTR) "data", 4), CKR_OK);
	/* a logout and login in another session: logged in anew */
	s2 = open_session();
	CHECK_RV(f->C_Logout(s2), CKR_OK);
	login(s2, p11t_env("SG_USER_PIN"));
	sl = 0;
	CHECK_RV(f->C_SignFinal(s, NULL, &sl), CKR_FUNCTION_REJECTED);
	CHECK_RV(f->C_SignInit(s, &mech_sha256_rsa, rsa), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, (CK_BYTE_PTR) "data", 4), CKR_OK);
	sl = sizeof(sig);
	CHECK_RV(f->C_SignFinal(s, sig, &sl), CKR_OK);
	signatures++;
	CHECK_RV(f->C_CloseSession(s2), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

/* --- defect 6 --------------------------------------------------------- */

struct key_case {
	const char *id_env;
	bool rsa;
	CK_ULONG sig_len; /* RSA: exact; EC: r||s */
};

static void case_big_retry(void)
{
	static const struct key_case keys[] = {
		{ "SG_RSA_ID", true, 256 },      { "SG_RSA4096_ID", true, 512 },
		{ "SG_RSA9216_ID", true, 1152 }, { "SG_EC_ID", false, 64 },
		{ "SG_EC384_ID", false, 96 },    { "SG_EC521_ID", false, 132 },
	};
	unsigned char bad[64], good[64], hash1[20], hash256[32];
	size_t bad_len = digest_info(true, bad), good_len = digest_info(false, good);
	CK_SESSION_HANDLE s = open_session();

	memset(hash1, 0x11, sizeof(hash1));
	memset(hash256, 0x22, sizeof(hash256));
	login(s, p11t_env("SG_USER_PIN"));
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key_case *k = &keys[i];
		CK_OBJECT_HANDLE key = find_key(s, p11t_env(k->id_env));
		CK_MECHANISM *m = k->rsa ? &mech_rsa_pkcs : &mech_ecdsa;
		const unsigned char *b = k->rsa ? bad : hash1, *g = k->rsa ? good : hash256;
		CK_ULONG bl = k->rsa ? bad_len : sizeof(hash1),
		         gl = k->rsa ? good_len : sizeof(hash256);
		CK_ULONG sl;

		printf("%s\n", k->id_env);
		CHECK_RV(f->C_SignInit(s, m, key), CKR_OK);
		/* SHA-1: refused, and the real operation ended */
		CHECK_RV(sign_once(s, b, bl, NULL), CKR_MECHANISM_INVALID);
		/* the retry is never forwarded */
		CHECK_RV(sign_once(s, g, gl, NULL), CKR_OPERATION_NOT_INITIALIZED);
		CHECK_RV(f->C_SignFinal(s, NULL, &sl), CKR_OPERATION_NOT_INITIALIZED);
		/* and the session is usable */
		CHECK_RV(f->C_SignInit(s, m, key), CKR_OK);
		CHECK_RV(sign_once(s, g, gl, &sl), CKR_OK);
		if (k->rsa ? sl != k->sig_len : sl != k->sig_len)
			fail("%s: signature length %lu, expected %lu", k->id_env, sl, k->sig_len);
	}
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

/* Found by the caps work: C_SignUpdate refused on a CKM_RSA_PKCS operation;
 * SoftHSM then fails the C_SignFinal that would end it and keeps it
 * active.  The C_Sign of a SHA-1 DigestInfo that follows must never reach
 * the token (it returned a verifiable SHA-1 signature, unrecorded). */
static void case_update_refused(void)
{
	unsigned char bad[64], good[64];
	size_t bad_len = digest_info(true, bad), good_len = digest_info(false, good);
	CK_SESSION_HANDLE s = open_session();
	CK_ULONG sl;
	CK_RV rv;

	login(s, p11t_env("SG_USER_PIN"));
	CK_OBJECT_HANDLE key = find_key(s, p11t_env("SG_RSA_ID"));
	CHECK_RV(f->C_SignInit(s, &mech_rsa_pkcs, key), CKR_OK);
	rv = f->C_SignUpdate(s, (CK_BYTE_PTR) "abc", 3);
	if (rv == CKR_OK)
		fail("C_SignUpdate of 3 bytes on CKM_RSA_PKCS accepted");
	/* whatever state the token is left in, this signs nothing */
	rv = sign_once(s, bad, bad_len, NULL);
	if (rv == CKR_OK)
		fail("C_Sign of a SHA-1 DigestInfo after the refused update returned a signature");
	printf("C_Sign after the refused update: 0x%lx\n", rv);
	if (rv != CKR_FUNCTION_REJECTED && rv != CKR_OPERATION_NOT_INITIALIZED)
		fail("C_Sign after the refused update: 0x%lx, expected signgate's refusal", rv);
	/* SoftHSM keeps that operation active for good: the session stays
	 * blocked (a new Init gets CKR_OPERATION_ACTIVE) until it is closed;
	 * it never signs unchecked data.  Another session signs as usual. */
	rv = f->C_SignInit(s, &mech_rsa_pkcs, key);
	if (rv != CKR_OK && rv != CKR_OPERATION_ACTIVE)
		fail("C_SignInit on the blocked session: 0x%lx", rv);
	if (rv == CKR_OK)
		CHECK_RV(sign_once(s, good, good_len, &sl), CKR_OK);
	else
		CHECK_RV(sign_once(s, good, good_len, &sl), CKR_FUNCTION_REJECTED);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
	s = open_session();
	CHECK_RV(f->C_SignInit(s, &mech_rsa_pkcs, key), CKR_OK);
	CHECK_RV(sign_once(s, good, good_len, &sl), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

/* --- defect 10 -------------------------------------------------------- */

static void fault_set(const char *spec)
{
	setenv("SG_FAULT", spec, 1);
}

static bool session_gone(CK_RV rv)
{
	return rv == CKR_SESSION_HANDLE_INVALID || rv == CKR_SESSION_CLOSED;
}

/* Codes signgate itself answers in the state machine. */
static bool signgate_code(CK_RV rv)
{
	return rv == CKR_FUNCTION_REJECTED || rv == CKR_OPERATION_NOT_INITIALIZED ||
	       rv == CKR_DEVICE_ERROR || rv == CKR_OPERATION_ACTIVE;
}

/* One signing flow under a fault; every code is checked.  Returns the
 * last code seen. */
static CK_RV flow(CK_SESSION_HANDLE s, bool multipart, CK_OBJECT_HANDLE key, CK_RV injected)
{
	unsigned char hash[32], sig[2048];
	CK_ULONG sl;
	CK_RV rv;

	memset(hash, 0x33, sizeof(hash));
#define SEEN(rv_)                                                                                 \
	do {                                                                                      \
		if ((rv_) != CKR_OK && (rv_) != injected && (rv_) != CKR_BUFFER_TOO_SMALL &&      \
		    !signgate_code(rv_) && !session_gone(rv_))                                    \
			fail("line %d: code 0x%lx is neither the token's (0x%lx) nor signgate's", \
			     __LINE__, (CK_RV)(rv_), injected);                                   \
	} while (0)
	rv = f->C_SignInit(s, multipart ? &mech_sha256_rsa : &mech_ecdsa, key);
	SEEN(rv);
	if (rv != CKR_OK)
		return rv;
	if (multipart) {
		rv = f->C_SignUpdate(s, (CK_BYTE_PTR) "data", 4);
		SEEN(rv);
		if (rv != CKR_OK)
			return rv;
	}
	for (int tries = 0; tries < 3; tries++) {
		sl = 0;
		rv = multipart ? f->C_SignFinal(s, NULL, &sl)
		               : f->C_Sign(s, hash, sizeof(hash), NULL, &sl);
		SEEN(rv);
		if (rv != CKR_OK)
			return rv;
		if (sl > sizeof(sig))
			sl = sizeof(sig);
		CK_ULONG cap = sl;
		memset(sig, 0, sizeof(sig));
		rv = multipart ? f->C_SignFinal(s, sig, &sl)
		               : f->C_Sign(s, hash, sizeof(hash), sig, &sl);
		SEEN(rv);
		if (rv == CKR_OK) {
			if (sl == 0 || sl > cap || all_zero(sig, sl))
				fail("signature handed out with length %lu (buffer %lu) or zero",
				     sl, cap);
			signatures++;
			return rv;
		}
		if (!all_zero(sig, sizeof(sig)))
			fail("code 0x%lx with output left in the buffer", rv);
		if (rv != CKR_BUFFER_TOO_SMALL)
			return rv;
	}
	return rv;
#undef SEEN
}

/* After a fault: the session answers consistently and a new session
 * signs. */
static void recover(CK_SESSION_HANDLE *sp, bool multipart, CK_OBJECT_HANDLE key, const char *what)
{
	CK_SESSION_HANDLE s = *sp;
	unsigned char hash[32];
	CK_RV rv;

	fault_set("");
	memset(hash, 0x44, sizeof(hash));
	rv = flow(s, multipart, key, CKR_OK);
	if (rv == CKR_OPERATION_ACTIVE) {
		/* the caller's own operation is still active (a length
		 * question or BUFFER_TOO_SMALL left it so): finish it */
		unsigned char sig[2048];
		CK_ULONG sl = sizeof(sig);
		rv = multipart ? f->C_SignFinal(s, sig, &sl)
		               : f->C_Sign(s, hash, sizeof(hash), sig, &sl);
		if (rv == CKR_OK)
			signatures++;
		else if (!signgate_code(rv))
			fail("%s: finishing the active operation = 0x%lx", what, rv);
		rv = flow(s, multipart, key, CKR_OK);
	}
	if (rv != CKR_OK && !session_gone(rv))
		fail("%s: the session does not sign after the fault: 0x%lx", what, rv);
	f->C_CloseSession(s);
	/* a fresh session always works */
	s = open_session();
	rv = flow(s, multipart, key, CKR_OK);
	if (rv != CKR_OK)
		fail("%s: a new session does not sign: 0x%lx", what, rv);
	*sp = s;
}

static const CK_RV fault_codes[] = {
	CKR_CANCEL,
	CKR_HOST_MEMORY,
	CKR_SLOT_ID_INVALID,
	CKR_GENERAL_ERROR,
	CKR_FUNCTION_FAILED,
	CKR_ARGUMENTS_BAD,
	CKR_DATA_INVALID,
	CKR_DATA_LEN_RANGE,
	CKR_DEVICE_ERROR,
	CKR_DEVICE_MEMORY,
	CKR_DEVICE_REMOVED,
	CKR_FUNCTION_CANCELED,
	CKR_FUNCTION_NOT_SUPPORTED,
	CKR_KEY_HANDLE_INVALID,
	CKR_KEY_SIZE_RANGE,
	CKR_KEY_TYPE_INCONSISTENT,
	CKR_KEY_FUNCTION_NOT_PERMITTED,
	CKR_MECHANISM_INVALID,
	CKR_MECHANISM_PARAM_INVALID,
	CKR_OBJECT_HANDLE_INVALID,
	CKR_OPERATION_ACTIVE,
	CKR_OPERATION_NOT_INITIALIZED,
	CKR_PIN_EXPIRED,
	CKR_SESSION_CLOSED,
	CKR_SESSION_HANDLE_INVALID,
	CKR_TOKEN_NOT_PRESENT,
	CKR_TOKEN_NOT_RECOGNIZED,
	CKR_USER_NOT_LOGGED_IN,
	CKR_BUFFER_TOO_SMALL,
	CKR_CRYPTOKI_NOT_INITIALIZED,
	CKR_FUNCTION_REJECTED,
	CKR_VENDOR_DEFINED | 1,
};

static void case_fault_matrix(void)
{
	const char *rsa_id = p11t_env("SG_RSA_ID"), *ec_id = p11t_env("SG_EC_ID");
	static const struct {
		const char *fn;
		bool multipart;
		int whens;
	} calls[] = {
		{ "C_SignInit", false, 1 },  { "C_Sign", false, 2 },     { "C_SignInit", true, 1 },
		{ "C_SignUpdate", true, 1 }, { "C_SignFinal", true, 2 },
	};
	CK_SESSION_HANDLE s0 = open_session(), s;
	unsigned long runs = 0;

	login(s0, p11t_env("SG_USER_PIN"));
	/* token objects: the handles hold in every session */
	CK_OBJECT_HANDLE rsa = find_key(s0, rsa_id), ec = find_key(s0, ec_id);
	s = open_session();
	for (size_t c = 0; c < sizeof(calls) / sizeof(calls[0]); c++) {
		for (size_t i = 0; i < sizeof(fault_codes) / sizeof(fault_codes[0]); i++) {
			for (int when = 1; when <= calls[c].whens; when++) {
				for (int after = 0; after <= 1; after++) {
					char spec[96], what[128];
					CK_OBJECT_HANDLE key = calls[c].multipart ? rsa : ec;
					snprintf(spec, sizeof(spec), "%s:%s0x%lx:%d", calls[c].fn,
					         after ? "after=" : "", fault_codes[i], when);
					snprintf(what, sizeof(what), "%s (%s)", spec,
					         calls[c].multipart ? "multi-part" : "single-part");
					fault_set(spec);
					(void)flow(s, calls[c].multipart, key, fault_codes[i]);
					recover(&s, calls[c].multipart, key, what);
					runs++;
				}
			}
		}
	}
	printf("%lu fault runs\n", runs);
	f->C_CloseSession(s);
	f->C_CloseSession(s0);
}

static void case_fault_blocked(void)
{
	unsigned char hash1[20], hash[32];
	CK_SESSION_HANDLE s0 = open_session(), s = open_session();
	CK_ULONG sl;

	memset(hash1, 0x11, sizeof(hash1));
	memset(hash, 0x22, sizeof(hash));
	login(s0, p11t_env("SG_USER_PIN"));
	CK_OBJECT_HANDLE key = find_key(s, p11t_env("SG_EC_ID"));

	/* The backend will not let any C_Sign finish: the refused operation
	 * cannot be ended and stays blocked. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	fault_set("C_Sign:0x150:*");
	CHECK_RV(sign_once(s, hash1, sizeof(hash1), NULL), CKR_MECHANISM_INVALID);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_FUNCTION_REJECTED);
	CHECK_RV(f->C_Sign(s, hash, sizeof(hash), NULL, &sl), CKR_FUNCTION_REJECTED);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OPERATION_ACTIVE);
	/* The backend recovers: the next data call ends the operation and
	 * is refused itself; then the session signs again. */
	fault_set("");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_FUNCTION_REJECTED);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);

	/* Blocked again; this time a new SignInit ends it and starts anew. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	fault_set("C_Sign:0x30:*");
	CHECK_RV(sign_once(s, hash1, sizeof(hash1), NULL), CKR_MECHANISM_INVALID);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OPERATION_ACTIVE);
	fault_set("");
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);

	/* The token keeps the operation active after an error (against
	 * PKCS#11) and cannot be made to end it: blocked, never forwarded. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	fault_set("C_Sign:0x30:*");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_DEVICE_ERROR);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_FUNCTION_REJECTED);
	fault_set("");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_FUNCTION_REJECTED);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);

	/* A blocked operation goes with its session. */
	s = open_session();
	key = find_key(s, p11t_env("SG_EC_ID"));
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	fault_set("C_Sign:0x150:*");
	CHECK_RV(sign_once(s, hash1, sizeof(hash1), NULL), CKR_MECHANISM_INVALID);
	fault_set("");
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
	s = open_session();
	key = find_key(s, p11t_env("SG_EC_ID"));
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, key), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
	CHECK_RV(f->C_CloseSession(s0), CKR_OK);
}

static void case_fault_length(void)
{
	unsigned char hash[32], sig[2048], bad[64], good[64];
	size_t bad_len = digest_info(true, bad), good_len = digest_info(false, good);
	CK_SESSION_HANDLE s = open_session();
	CK_ULONG sl, cap;

	memset(hash, 0x22, sizeof(hash));
	login(s, p11t_env("SG_USER_PIN"));
	CK_OBJECT_HANDLE ec = find_key(s, p11t_env("SG_EC_ID"));
	CK_OBJECT_HANDLE rsa = find_key(s, p11t_env("SG_RSA_ID"));

	/* The length grows between the question and the call: the call
	 * says CKR_BUFFER_TOO_SMALL, the retry signs, once. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	fault_set("C_Sign:len=-8:1");
	CHECK_RV(f->C_Sign(s, hash, sizeof(hash), NULL, &sl), CKR_OK);
	if (sl != 56)
		fail("length question answered %lu, expected 56 from the fault", sl);
	cap = sl;
	memset(sig, 0, sizeof(sig));
	CHECK_RV(f->C_Sign(s, hash, sizeof(hash), sig, &sl), CKR_BUFFER_TOO_SMALL);
	if (sl != 64 || !all_zero(sig, cap))
		fail("BUFFER_TOO_SMALL with length %lu or output", sl);
	CHECK_RV(sign_once(s, hash, sizeof(hash), &sl), CKR_OK);
	fault_set("");

	/* The token claims more output than the buffer holds: nothing is
	 * handed out (backend-fault), the session goes on. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	fault_set("C_Sign:len=+64:1");
	memset(sig, 0, sizeof(sig));
	sl = 64;
	CHECK_RV(f->C_Sign(s, hash, sizeof(hash), sig, &sl), CKR_DEVICE_ERROR);
	if (sl != 0 || !all_zero(sig, sizeof(sig)))
		fail("over-long claim: length %lu or output left", sl);
	fault_set("");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);

	/* ... in a multi-part operation too */
	CHECK_RV(f->C_SignInit(s, &mech_sha256_rsa, rsa), CKR_OK);
	CHECK_RV(f->C_SignUpdate(s, (CK_BYTE_PTR) "data", 4), CKR_OK);
	fault_set("C_SignFinal:len=+1:1");
	memset(sig, 0, sizeof(sig));
	sl = 256;
	CHECK_RV(f->C_SignFinal(s, sig, &sl), CKR_DEVICE_ERROR);
	if (sl != 0 || !all_zero(sig, sizeof(sig)))
		fail("over-long claim (final): length %lu or output left", sl);
	fault_set("");

	/* A short claim: the token's business, handed out and recorded. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	fault_set("C_Sign:len=-10:1");
	CHECK_RV(sign_once(s, hash, sizeof(hash), &sl), CKR_OK);
	if (sl != 54)
		fail("short claim: length %lu", sl);
	fault_set("");

	/* Ending a refused RSA operation when the length grows between
	 * signgate's own question and call: asked again, ended, not blocked. */
	CHECK_RV(f->C_SignInit(s, &mech_rsa_pkcs, rsa), CKR_OK);
	fault_set("C_Sign:len=-16:1");
	CHECK_RV(sign_once(s, bad, bad_len, NULL), CKR_MECHANISM_INVALID);
	fault_set("");
	CHECK_RV(sign_once(s, good, good_len, NULL), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(s, &mech_rsa_pkcs, rsa), CKR_OK);
	CHECK_RV(sign_once(s, good, good_len, NULL), CKR_OK);

	/* A slow call is waited for. */
	struct timespec t0, t1;
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	fault_set("C_Sign:sleep=1500:1");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fault_set("");
	if (t1.tv_sec - t0.tv_sec < 1)
		fail("the slow call was not slow");
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

/* The token fails to tell a key's attributes at its first use: the
 * operation is refused (never decided on a key signgate could not
 * identify), and the key signs once the token answers again. */
static void case_fault_keyread(void)
{
	unsigned char hash[32];
	unsigned refused = 0;

	memset(hash, 0x22, sizeof(hash));
	for (size_t i = 0; i < sizeof(fault_codes) / sizeof(fault_codes[0]); i++) {
		char spec[64];
		if (fault_codes[i] == CKR_BUFFER_TOO_SMALL)
			continue; /* a size question's normal answer */
		/* a fresh start each time: nothing known about the key yet */
		CHECK_RV(f->C_Finalize(NULL), CKR_OK);
		CHECK_RV(f->C_Initialize(NULL), CKR_OK);
		slot = p11t_sg_token_slot(f);
		CK_SESSION_HANDLE s = open_session();
		login(s, p11t_env("SG_USER_PIN"));
		CK_OBJECT_HANDLE ec = find_key(s, p11t_env("SG_EC_ID"));
		snprintf(spec, sizeof(spec), "C_GetAttributeValue:0x%lx:*", fault_codes[i]);
		fault_set(spec);
		CK_RV rv = f->C_SignInit(s, &mech_ecdsa, ec);
		fault_set("");
		if (rv == CKR_OK) {
			/* identified before the fault (while searching): then it
			 * must be the normal, checked operation */
			CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);
		} else {
			refused++;
			CHECK_RV(sign_once(s, hash, sizeof(hash), NULL),
			         CKR_OPERATION_NOT_INITIALIZED);
			CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
			CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);
		}
		CHECK_RV(f->C_CloseSession(s), CKR_OK);
	}
	printf("%u of the key reads refused at C_SignInit\n", refused);
	if (refused == 0)
		fail("no key read failed at C_SignInit: the case tests nothing");
}

static void case_fault_close(void)
{
	unsigned char hash[32];
	CK_SESSION_HANDLE s0 = open_session(), s = open_session();
	CK_ULONG sl;

	memset(hash, 0x22, sizeof(hash));
	login(s0, p11t_env("SG_USER_PIN"));
	CK_OBJECT_HANDLE ec = find_key(s, p11t_env("SG_EC_ID"));

	/* The real session is closed in the middle of the operation. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	CHECK_RV(f->C_Sign(s, hash, sizeof(hash), NULL, &sl), CKR_OK);
	fault_set("C_Sign:close:1");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_SESSION_CLOSED);
	fault_set("");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_SESSION_HANDLE_INVALID);
	f->C_CloseSession(s);

	/* The device is removed in the middle (the token says so). */
	s = open_session();
	ec = find_key(s, p11t_env("SG_EC_ID"));
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	fault_set("C_Sign:0x32:1");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_DEVICE_REMOVED);
	fault_set("");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OPERATION_NOT_INITIALIZED);
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);

	/* The token signed, then said the session is closed: the signature
	 * is not handed out, nothing is recorded as signed. */
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	fault_set("C_Sign:after=0xb0:1");
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_SESSION_CLOSED);
	fault_set("");
	CHECK_RV(f->C_SignInit(s, &mech_ecdsa, ec), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
	CHECK_RV(f->C_CloseSession(s0), CKR_OK);
}

/* Decryption with an ungoverned secret key is allowed without being
 * tracked: its data calls still reach the token (single and multi-part),
 * and only while that operation is the session's. */
static void case_passthrough(void)
{
	CK_SESSION_HANDLE s = open_session();
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	unsigned char id = 0x20;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, &id, 1 } };
	CK_OBJECT_HANDLE aes;
	CK_ULONG n = 0;
	CK_MECHANISM ecb = { CKM_AES_ECB, NULL, 0 };
	unsigned char plain[32], ct[64], out[64];
	CK_ULONG ctl = sizeof(ct), ol;

	memset(plain, 0x61, sizeof(plain));
	login(s, p11t_env("SG_USER_PIN"));
	CHECK_RV(f->C_FindObjectsInit(s, t, 2), CKR_OK);
	CHECK_RV(f->C_FindObjects(s, &aes, 1, &n), CKR_OK);
	CHECK_RV(f->C_FindObjectsFinal(s), CKR_OK);
	if (n != 1)
		fail("AES key not found");
	CHECK_RV(f->C_EncryptInit(s, &ecb, aes), CKR_OK);
	CHECK_RV(f->C_Encrypt(s, plain, sizeof(plain), ct, &ctl), CKR_OK);
	/* single-part, with a length query */
	CHECK_RV(f->C_DecryptInit(s, &ecb, aes), CKR_OK);
	CHECK_RV(f->C_Decrypt(s, ct, ctl, NULL, &ol), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_Decrypt(s, ct, ctl, out, &ol), CKR_OK);
	if (ol != sizeof(plain) || memcmp(out, plain, ol))
		fail("decryption differs");
	/* ended: the token says so */
	CHECK_RV(f->C_Decrypt(s, ct, ctl, out, &ol), CKR_OPERATION_NOT_INITIALIZED);
	/* multi-part */
	CHECK_RV(f->C_DecryptInit(s, &ecb, aes), CKR_OK);
	ol = sizeof(out);
	CHECK_RV(f->C_DecryptUpdate(s, ct, ctl, out, &ol), CKR_OK);
	CK_ULONG fl = sizeof(out) - ol;
	CHECK_RV(f->C_DecryptFinal(s, out + ol, &fl), CKR_OK);
	if (ol + fl != sizeof(plain) || memcmp(out, plain, sizeof(plain)))
		fail("multi-part decryption differs");
	/* a signing call is not let through on the decryption's account */
	unsigned char hash[32] = { 0 };
	CHECK_RV(f->C_DecryptInit(s, &ecb, aes), CKR_OK);
	CHECK_RV(sign_once(s, hash, sizeof(hash), NULL), CKR_OPERATION_NOT_INITIALIZED);
	ol = sizeof(out);
	CHECK_RV(f->C_Decrypt(s, ct, ctl, out, &ol), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

/* PKCS#11 3.0 message signing (over tests/lib/backend30.c): a logout
 * between C_MessageSignInit and C_SignMessage ends the operation, and
 * signgate ends it in the token (C_SessionCancel). */
static void case_message_logout(void)
{
	unsigned char hash[32], sig[256];
	CK_ULONG sl;

	f3 = p11t_interface30(module_dl, p11t_env("SIGNGATE_MODULE"));
	memset(hash, 0x22, sizeof(hash));
	CK_SESSION_HANDLE s = open_session();
	login(s, p11t_env("SG_USER_PIN"));
	CK_OBJECT_HANDLE ec = find_key(s, p11t_env("SG_EC_ID"));
	CHECK_RV(f3->C_MessageSignInit(s, &mech_ecdsa, ec), CKR_OK);
	CHECK_RV(f3->C_Logout(s), CKR_OK);
	memset(sig, 0, sizeof(sig));
	sl = sizeof(sig);
	CHECK_RV(f3->C_SignMessage(s, NULL, 0, hash, sizeof(hash), sig, &sl),
	         CKR_USER_NOT_LOGGED_IN);
	if (!all_zero(sig, sizeof(sig)))
		fail("output after a refused C_SignMessage");
	sl = sizeof(sig);
	CHECK_RV(f3->C_SignMessage(s, NULL, 0, hash, sizeof(hash), sig, &sl),
	         CKR_OPERATION_NOT_INITIALIZED);
	/* ended in the token too: a new operation starts and signs */
	login(s, p11t_env("SG_USER_PIN"));
	CHECK_RV(f3->C_MessageSignInit(s, &mech_ecdsa, ec), CKR_OK);
	sl = sizeof(sig);
	CHECK_RV(f3->C_SignMessage(s, NULL, 0, hash, sizeof(hash), sig, &sl), CKR_OK);
	signatures++;
	CHECK_RV(f3->C_MessageSignFinal(s), CKR_OK);
	CHECK_RV(f->C_CloseSession(s), CKR_OK);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: opstate CASE\n");
		return 2;
	}
	case_name = argv[1];
	load();
	slot = p11t_sg_token_slot(f);
	if (!strcmp(case_name, "logout-ticket"))
		case_logout_ticket();
	else if (!strcmp(case_name, "relogin-ticket"))
		case_relogin_ticket();
	else if (!strcmp(case_name, "multipart-ticket"))
		case_multipart_ticket();
	else if (!strcmp(case_name, "logout-multipart"))
		case_logout_multipart();
	else if (!strcmp(case_name, "message-logout"))
		case_message_logout();
	else if (!strcmp(case_name, "big-retry"))
		case_big_retry();
	else if (!strcmp(case_name, "update-refused"))
		case_update_refused();
	else if (!strcmp(case_name, "passthrough"))
		case_passthrough();
	else if (!strcmp(case_name, "fault-matrix"))
		case_fault_matrix();
	else if (!strcmp(case_name, "fault-blocked"))
		case_fault_blocked();
	else if (!strcmp(case_name, "fault-length"))
		case_fault_length();
	else if (!strcmp(case_name, "fault-keyread"))
		case_fault_keyread();
	else if (!strcmp(case_name, "fault-close"))
		case_fault_close();
	else
		fail("unknown case");
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
	printf("SIGNATURES %lu\n", signatures);
	return 0;
}

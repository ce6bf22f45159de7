/* A test-only PKCS#11 3.0 backend: SoftHSM (2.40) behind a
 * C_GetInterface that offers "PKCS 11" 3.0, with the message signing and
 * decryption functions built on SoftHSM's own C_SignInit / C_Sign and
 * C_DecryptInit / C_Decrypt, C_LoginUser, and a C_SessionCancel that ends
 * a signing operation by finishing it into a scratch buffer (SoftHSM has
 * no cancel).  SoftHSM lacks these paths; signgate must still govern them
 * when a real 3.0 token offers them, and offer 3.0 only when its backend
 * does.  SG_SOFTHSM names SoftHSM; the table and the getters are
 * wrap30.c's. */
#include "wrap30.h"

static CK_RV t_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG len,
                         CK_UTF8CHAR_PTR name, CK_ULONG name_len)
{
	(void)name;
	(void)name_len;
	return hsm->C_Login(h, user, pin, len);
}

static CK_RV t_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
	CK_BYTE data[32] = { 0 }, out[1024];
	CK_ULONG len = sizeof(out);

	if (flags & (CKF_SIGN | CKF_MESSAGE_SIGN))
		hsm->C_Sign(h, data, sizeof(data), out, &len);
	if (flags & (CKF_DECRYPT | CKF_MESSAGE_DECRYPT)) {
		len = sizeof(out);
		hsm->C_Decrypt(h, data, sizeof(data), out, &len);
	}
	return CKR_OK;
}

static CK_RV t_MessageSignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return hsm->C_SignInit(s, m, k);
}

static CK_RV t_SignMessage(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR d,
                           CK_ULONG dl, CK_BYTE_PTR sig, CK_ULONG_PTR sl)
{
	(void)p;
	(void)pl;
	/* One message per init in this test module: C_Sign ends the
	 * SoftHSM operation, so start it again for the next message is the
	 * caller's business (tests sign one message). */
	return hsm->C_Sign(s, d, dl, sig, sl);
}

static CK_RV t_MessageSignFinal(CK_SESSION_HANDLE s)
{
	(void)s;
	return CKR_OK;
}

static CK_RV t_MessageDecryptInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	return hsm->C_DecryptInit(s, m, k);
}

static CK_RV t_DecryptMessage(CK_SESSION_HANDLE s, CK_VOID_PTR p, CK_ULONG pl, CK_BYTE_PTR a,
                              CK_ULONG al, CK_BYTE_PTR c, CK_ULONG cl, CK_BYTE_PTR out,
                              CK_ULONG_PTR ol)
{
	(void)p;
	(void)pl;
	(void)a;
	(void)al;
	return hsm->C_Decrypt(s, c, cl, out, ol);
}

static CK_RV t_MessageDecryptFinal(CK_SESSION_HANDLE s)
{
	(void)s;
	return CKR_OK;
}

void wrap30_fill(CK_FUNCTION_LIST_3_0 *l)
{
	l->C_LoginUser = t_LoginUser;
	l->C_SessionCancel = t_SessionCancel;
	l->C_MessageDecryptInit = t_MessageDecryptInit;
	l->C_DecryptMessage = t_DecryptMessage;
	l->C_MessageDecryptFinal = t_MessageDecryptFinal;
	l->C_MessageSignInit = t_MessageSignInit;
	l->C_SignMessage = t_SignMessage;
	l->C_MessageSignFinal = t_MessageSignFinal;
}

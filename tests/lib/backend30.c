/* A test-only PKCS#11 3.0 backend: SoftHSM (2.40) behind a
 * C_GetInterface that offers "PKCS 11" 3.0, with the message signing and
 * decryption functions built on SoftHSM's own C_SignInit / C_Sign and
 * C_DecryptInit / C_Decrypt, C_LoginUser, and a C_SessionCancel that ends
 * a signing operation by finishing it into a scratch buffer (SoftHSM has
 * no cancel).  SoftHSM lacks these paths; signgate must still govern them
 * when a real 3.0 token offers them, and offer 3.0 only when its backend
 * does.  SG_SOFTHSM names SoftHSM. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11_3.h"

#define EXPORT __attribute__((visibility("default")))

static CK_FUNCTION_LIST_PTR hsm;
static CK_FUNCTION_LIST_3_0 list30;
static CK_INTERFACE iface30 = { (CK_UTF8CHAR_PTR) "PKCS 11", &list30, 0 };

static CK_RV unsupported(void)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

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

static CK_RV t_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
static CK_RV t_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR iface,
                            CK_FLAGS flags);

static int load(void)
{
	CK_C_GetFunctionList gfl;
	void *h;
	const char *path = getenv("SG_SOFTHSM");

	if (hsm)
		return 0;
	h = dlopen(path && path[0] ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (!gfl || gfl(&hsm) != CKR_OK)
		return -1;

	/* The 2.40 part is SoftHSM's own, entry for entry. */
	memcpy(&list30, hsm, sizeof(CK_FUNCTION_LIST));
	list30.version.major = 3;
	list30.version.minor = 0;
	list30.C_GetInterfaceList = t_GetInterfaceList;
	list30.C_GetInterface = t_GetInterface;
	list30.C_LoginUser = t_LoginUser;
	list30.C_SessionCancel = t_SessionCancel;
	list30.C_MessageEncryptInit = (CK_C_MessageEncryptInit)(void (*)(void))unsupported;
	list30.C_EncryptMessage = (CK_C_EncryptMessage)(void (*)(void))unsupported;
	list30.C_EncryptMessageBegin = (CK_C_EncryptMessageBegin)(void (*)(void))unsupported;
	list30.C_EncryptMessageNext = (CK_C_EncryptMessageNext)(void (*)(void))unsupported;
	list30.C_MessageEncryptFinal = (CK_C_MessageEncryptFinal)(void (*)(void))unsupported;
	list30.C_MessageDecryptInit = t_MessageDecryptInit;
	list30.C_DecryptMessage = t_DecryptMessage;
	list30.C_DecryptMessageBegin = (CK_C_DecryptMessageBegin)(void (*)(void))unsupported;
	list30.C_DecryptMessageNext = (CK_C_DecryptMessageNext)(void (*)(void))unsupported;
	list30.C_MessageDecryptFinal = t_MessageDecryptFinal;
	list30.C_MessageSignInit = t_MessageSignInit;
	list30.C_SignMessage = t_SignMessage;
	list30.C_SignMessageBegin = (CK_C_SignMessageBegin)(void (*)(void))unsupported;
	list30.C_SignMessageNext = (CK_C_SignMessageNext)(void (*)(void))unsupported;
	list30.C_MessageSignFinal = t_MessageSignFinal;
	list30.C_MessageVerifyInit = (CK_C_MessageVerifyInit)(void (*)(void))unsupported;
	list30.C_VerifyMessage = (CK_C_VerifyMessage)(void (*)(void))unsupported;
	list30.C_VerifyMessageBegin = (CK_C_VerifyMessageBegin)(void (*)(void))unsupported;
	list30.C_VerifyMessageNext = (CK_C_VerifyMessageNext)(void (*)(void))unsupported;
	list30.C_MessageVerifyFinal = (CK_C_MessageVerifyFinal)(void (*)(void))unsupported;
	return 0;
}

static CK_RV t_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
	if (!count)
		return CKR_ARGUMENTS_BAD;
	if (load() != 0)
		return CKR_GENERAL_ERROR;
	if (!list) {
		*count = 1;
		return CKR_OK;
	}
	if (*count < 1) {
		*count = 1;
		return CKR_BUFFER_TOO_SMALL;
	}
	list[0] = iface30;
	*count = 1;
	return CKR_OK;
}

static CK_RV t_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR iface,
                            CK_FLAGS flags)
{
	if (!iface)
		return CKR_ARGUMENTS_BAD;
	if (load() != 0)
		return CKR_GENERAL_ERROR;
	if (name && strcmp((const char *)name, "PKCS 11") != 0)
		return CKR_ARGUMENTS_BAD;
	if (version && (version->major != 3 || version->minor != 0))
		return CKR_ARGUMENTS_BAD;
	if (flags & ~iface30.flags)
		return CKR_ARGUMENTS_BAD;
	*iface = &iface30;
	return CKR_OK;
}

EXPORT CK_RV C_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
{
	return t_GetInterfaceList(list, count);
}

EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version, CK_INTERFACE_PTR_PTR iface,
                            CK_FLAGS flags)
{
	return t_GetInterface(name, version, iface, flags);
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	if (!out)
		return CKR_ARGUMENTS_BAD;
	if (load() != 0)
		return CKR_GENERAL_ERROR;
	*out = (CK_FUNCTION_LIST_PTR)&list30;
	return CKR_OK;
}

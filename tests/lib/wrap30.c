/* The common part of the test 3.0 backends: see wrap30.h. */
#include "wrap30.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

CK_FUNCTION_LIST_PTR hsm;
static CK_FUNCTION_LIST_3_0 list30;
static CK_INTERFACE iface30 = { (CK_UTF8CHAR_PTR) "PKCS 11", &list30, 0 };

static CK_RV unsupported(void)
{
	return CKR_FUNCTION_NOT_SUPPORTED;
}

static CK_RV w_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count);
static CK_RV w_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                            CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags);

static int load(void)
{
	CK_C_GetFunctionList gfl;
	void *h;
	const char *path = getenv("SG_SOFTHSM");

	if (hsm)
		return 0;
	h = dlopen(path && path[0] ? path : "/usr/lib/softhsm/libsofthsm2.so",
	           RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (!gfl || gfl(&hsm) != CKR_OK)
		return -1;

	/* The 2.40 part is SoftHSM's own, entry for entry. */
	memcpy(&list30, hsm, sizeof(CK_FUNCTION_LIST));
	list30.version.major = 3;
	list30.version.minor = 0;
	list30.C_GetInterfaceList = w_GetInterfaceList;
	list30.C_GetInterface = w_GetInterface;
#define UNSUPPORTED(fn) list30.C_##fn = (CK_C_##fn)(void (*)(void))unsupported;
	UNSUPPORTED(LoginUser)
	UNSUPPORTED(SessionCancel)
	UNSUPPORTED(MessageEncryptInit)
	UNSUPPORTED(EncryptMessage)
	UNSUPPORTED(EncryptMessageBegin)
	UNSUPPORTED(EncryptMessageNext)
	UNSUPPORTED(MessageEncryptFinal)
	UNSUPPORTED(MessageDecryptInit)
	UNSUPPORTED(DecryptMessage)
	UNSUPPORTED(DecryptMessageBegin)
	UNSUPPORTED(DecryptMessageNext)
	UNSUPPORTED(MessageDecryptFinal)
	UNSUPPORTED(MessageSignInit)
	UNSUPPORTED(SignMessage)
	UNSUPPORTED(SignMessageBegin)
	UNSUPPORTED(SignMessageNext)
	UNSUPPORTED(MessageSignFinal)
	UNSUPPORTED(MessageVerifyInit)
	UNSUPPORTED(VerifyMessage)
	UNSUPPORTED(VerifyMessageBegin)
	UNSUPPORTED(VerifyMessageNext)
	UNSUPPORTED(MessageVerifyFinal)
#undef UNSUPPORTED
	wrap30_fill(&list30);
	return 0;
}

static CK_RV w_GetInterfaceList(CK_INTERFACE_PTR list, CK_ULONG_PTR count)
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

static CK_RV w_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                            CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags)
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
	return w_GetInterfaceList(list, count);
}

EXPORT CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                            CK_INTERFACE_PTR_PTR iface, CK_FLAGS flags)
{
	return w_GetInterface(name, version, iface, flags);
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

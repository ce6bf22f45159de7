/* A test-only PKCS#11 3.0 backend for the module tests: SoftHSM's 2.40
 * functions behind a C_GetInterface that offers "PKCS 11" 3.0, so that
 * the gate's interface offering (3.0 only when the backend has it) and
 * C_SessionCancel can be tested.  The message functions are not
 * implemented; C_SessionCancel ends a signing operation by finishing it
 * into a scratch buffer (SoftHSM has no cancel).  SG_SOFTHSM names
 * SoftHSM. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11_3.h"

#define EXPORTED __attribute__((visibility("default")))

static CK_FUNCTION_LIST_PTR hsm;
static CK_FUNCTION_LIST_3_0 list30;
static CK_INTERFACE iface30 = { (CK_UTF8CHAR_PTR)"PKCS 11", &list30, 0 };

static CK_RV b_SessionCancel(CK_SESSION_HANDLE h, CK_FLAGS flags)
{
	CK_BYTE data[32] = { 0 }, out[1024];
	CK_ULONG len = sizeof(out);

	if (flags & CKF_SIGN)
		hsm->C_Sign(h, data, sizeof(data), out, &len);
	return CKR_OK;
}

static CK_RV b_LoginUser(CK_SESSION_HANDLE h, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin,
                         CK_ULONG len, CK_UTF8CHAR_PTR name, CK_ULONG name_len)
{
	(void)name;
	(void)name_len;
	return hsm->C_Login(h, user, pin, len);
}

static bool load(void)
{
	CK_C_GetFunctionList get;
	const char *path = getenv("SG_SOFTHSM");
	void *dl;

	if (hsm)
		return true;
	dl = dlopen(path ? path : "/usr/lib/softhsm/libsofthsm2.so", RTLD_NOW | RTLD_LOCAL);
	if (!dl)
		return false;
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (!get || get(&hsm) != CKR_OK)
		return false;
	memset(&list30, 0, sizeof(list30));
	memcpy(&list30, hsm, sizeof(*hsm));
	list30.version.major = 3;
	list30.version.minor = 0;
	list30.C_LoginUser = b_LoginUser;
	list30.C_SessionCancel = b_SessionCancel;
	/* the message-based functions stay NULL: not supported */
	return true;
}

EXPORTED CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp)
{
	if (!pp)
		return CKR_ARGUMENTS_BAD;
	if (!load())
		return CKR_GENERAL_ERROR;
	*pp = (CK_FUNCTION_LIST_PTR)&list30;
	return CKR_OK;
}

EXPORTED CK_RV C_GetInterface(CK_UTF8CHAR_PTR name, CK_VERSION_PTR version,
                              CK_INTERFACE_PTR_PTR pp, CK_FLAGS flags)
{
	if (!pp)
		return CKR_ARGUMENTS_BAD;
	if (!load())
		return CKR_GENERAL_ERROR;
	if ((name && strcmp((const char *)name, "PKCS 11") != 0) ||
	    (version && (version->major != 3 || version->minor != 0)) || flags)
		return CKR_ARGUMENTS_BAD;
	*pp = &iface30;
	return CKR_OK;
}

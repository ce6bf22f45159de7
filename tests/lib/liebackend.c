/* A test-only PKCS#11 backend: SoftHSM, except that C_GetAttributeValue
 * answers CKR_OBJECT_HANDLE_INVALID for the object handle named in
 * $SG_LIE_HANDLE (decimal; read at every call) while every other call
 * accepts it.  That is what a real module does when a handle becomes
 * valid between two calls (another thread created an object): signgate
 * has then forwarded a call only because the module rejected its key
 * handle, and must undo it when it succeeds.  SG_SOFTHSM names SoftHSM. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "pkcs11_3.h"

#define EXPORT __attribute__((visibility("default")))

static CK_FUNCTION_LIST_PTR hsm;
static CK_FUNCTION_LIST list;

static CK_RV lie_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t,
                                   CK_ULONG n)
{
	const char *lie = getenv("SG_LIE_HANDLE");
	if (lie && lie[0] && strtoul(lie, NULL, 10) == o)
		return CKR_OBJECT_HANDLE_INVALID;
	return hsm->C_GetAttributeValue(h, o, t, n);
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR pp)
{
	if (!pp)
		return CKR_ARGUMENTS_BAD;
	if (!hsm) {
		const char *path = getenv("SG_SOFTHSM");
		void *h = dlopen(path && path[0] ? path : "/usr/lib/softhsm/libsofthsm2.so",
		                 RTLD_NOW | RTLD_LOCAL);
		CK_C_GetFunctionList gfl =
		        h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
		if (!gfl || gfl(&hsm) != CKR_OK)
			return CKR_GENERAL_ERROR;
		memcpy(&list, hsm, sizeof(list));
		list.C_GetAttributeValue = lie_GetAttributeValue;
	}
	*pp = &list;
	return CKR_OK;
}

/* signgate: loading the real PKCS#11 module. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

static const CK_VERSION v3_0 = { 3, 0 };

/* A function list the gate can call through: a version we understand
 * and the functions every module must have. */
static bool list_usable(const CK_FUNCTION_LIST *l)
{
	return l && l->version.major >= 2 && l->C_Initialize && l->C_Finalize && l->C_GetSlotList;
}

/* Ask the module's C_GetInterface for "PKCS 11" 3.0, then for its
 * default interface; a 3.x list starts with the 3.0 layout. */
static void backend_try_interface(backend_t *b)
{
	CK_C_GetInterface get_interface;
	CK_INTERFACE_PTR iface = NULL;
	CK_RV rv;

	*(void **)&get_interface = dlsym(b->dl, "C_GetInterface");
	if (!get_interface)
		return;
	rv = get_interface((CK_UTF8CHAR_PTR) "PKCS 11", (CK_VERSION_PTR)&v3_0, &iface, 0);
	if (rv != CKR_OK || !iface || !iface->pFunctionList) {
		iface = NULL;
		rv = get_interface(NULL, NULL, &iface, 0);
		if (rv != CKR_OK || !iface || !iface->pFunctionList)
			return;
		if (!iface->pInterfaceName ||
		    strcmp((const char *)iface->pInterfaceName, "PKCS 11") != 0)
			return;
	}
	CK_FUNCTION_LIST_PTR l = iface->pFunctionList;
	if (!list_usable(l))
		return;
	b->list = l;
	if (l->version.major >= 3)
		b->list3 = iface->pFunctionList;
}

CK_RV backend_load(backend_t *b, const char *path, char *err, size_t errlen)
{
	CK_C_GetFunctionList get_function_list;
	CK_FUNCTION_LIST_PTR l = NULL;

	memset(b, 0, sizeof(*b));
	dlerror();
	b->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!b->dl) {
		const char *why = dlerror();
		snprintf(err, errlen, "cannot load backend module %s: %s", path,
		         why ? why : "unknown error");
		return CKR_GENERAL_ERROR;
	}
	backend_try_interface(b);
	if (!b->list) {
		*(void **)&get_function_list = dlsym(b->dl, "C_GetFunctionList");
		if (!get_function_list || get_function_list(&l) != CKR_OK || !list_usable(l)) {
			snprintf(err, errlen,
			         "backend module %s has no usable "
			         "C_GetInterface or C_GetFunctionList",
			         path);
			dlclose(b->dl);
			memset(b, 0, sizeof(*b));
			return CKR_GENERAL_ERROR;
		}
		b->list = l;
		/* A 2.40 getter may still hand out a 3.x list: only the
		 * interface query promises the 3.0 layout, so do not use it. */
	}
	b->path = strdup(path);
	if (!b->path) {
		snprintf(err, errlen, "out of memory");
		dlclose(b->dl);
		memset(b, 0, sizeof(*b));
		return CKR_HOST_MEMORY;
	}
	return CKR_OK;
}

bool backend_is(const backend_t *b, const char *path)
{
	return b->dl && b->path && path && strcmp(b->path, path) == 0;
}

void backend_unload(backend_t *b)
{
	if (b->dl)
		dlclose(b->dl);
	free(b->path);
	memset(b, 0, sizeof(*b));
}

void backend_forget_after_fork(backend_t *b)
{
	if (b->dl)
		b->inherited = true;
}

/* A PKCS#11 module for the tests that loads another module and hands it
 * CK_C_INITIALIZE_ARGS.pReserved, for tools that cannot (pkcs11-tool,
 * openssl's engine, osslsigncode) and backends that need it (NSS softokn
 * takes its database directory there).  The tests use it as the "direct"
 * route to such a backend, where SoftHSM is used directly; signgate itself
 * is configured with backend.init_args instead.
 *
 *   SG_SHIM_MODULE     the real module (absolute path)
 *   SG_SHIM_INIT_ARGS  the string passed as pReserved
 *
 * Everything else is the real module's own function list. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#define EXPORTED __attribute__((visibility("default")))

static CK_FUNCTION_LIST shim_list;
static CK_C_Initialize real_initialize;

static CK_RV shim_Initialize(CK_VOID_PTR pInitArgs)
{
	CK_C_INITIALIZE_ARGS args;

	memset(&args, 0, sizeof(args));
	if (pInitArgs)
		args = *(CK_C_INITIALIZE_ARGS *)pInitArgs;
	else
		args.flags = CKF_OS_LOCKING_OK;
	args.pReserved = getenv("SG_SHIM_INIT_ARGS");
	return real_initialize(&args);
}

EXPORTED CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
	const char *path = getenv("SG_SHIM_MODULE");
	CK_FUNCTION_LIST_PTR real = NULL;
	CK_C_GetFunctionList get;
	void *dl;

	if (!ppFunctionList)
		return CKR_ARGUMENTS_BAD;
	if (!path || !(dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)))
		return CKR_GENERAL_ERROR;
	*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (!get || get(&real) != CKR_OK || !real)
		return CKR_GENERAL_ERROR;
	shim_list = *real;
	/* a 2.40 list: the 3.0 interface is the real module's business */
	shim_list.version.major = 2;
	shim_list.version.minor = 40;
	real_initialize = real->C_Initialize;
	shim_list.C_Initialize = shim_Initialize;
	*ppFunctionList = &shim_list;
	return CKR_OK;
}

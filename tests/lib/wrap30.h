/* The common part of the test-only PKCS#11 3.0 backends (backend30.c,
 * tests/integration/module/recbackend.c): SoftHSM (SG_SOFTHSM, else the
 * Debian path) loaded on first use, its 2.40 table copied entry for entry
 * into a 3.0 table whose functions new in 3.0 answer
 * CKR_FUNCTION_NOT_SUPPORTED until the backend's wrap30_fill() sets them,
 * and the exported getters C_GetFunctionList, C_GetInterfaceList and
 * C_GetInterface, which offer that one "PKCS 11" 3.0 interface.
 *
 * A backend links tests/lib/wrap30.c (wrap30_src in tests/meson.build),
 * builds with -fvisibility=hidden and defines wrap30_fill(). */
#ifndef SIGNGATE_WRAP30_H
#define SIGNGATE_WRAP30_H

#include "pkcs11_3.h"

/* SoftHSM's own table, set before wrap30_fill() is called. */
extern CK_FUNCTION_LIST_PTR hsm;

/* Set the backend's own entries of list (the 2.40 ones are SoftHSM's,
 * the 3.0 ones unsupported); called once, when SoftHSM is loaded. */
void wrap30_fill(CK_FUNCTION_LIST_3_0 *list);

#endif

/* signgate: the real PKCS#11 module behind the gate.
 *
 * Loaded with dlopen(RTLD_NOW|RTLD_LOCAL) so that its symbols never
 * interpose on the host program's or on ours.  Its C_GetInterface("PKCS 11")
 * is preferred (3.0, then the default interface); C_GetFunctionList
 * otherwise.  Only gate.c calls into the lists kept here.
 */
#ifndef SIGNGATE_BACKEND_H
#define SIGNGATE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "pkcs11_3.h"

typedef struct backend {
	void *dl; /* dlopen handle; NULL = not loaded */
	char *path;
	CK_FUNCTION_LIST_PTR list;      /* the 2.40 part (always set when loaded) */
	CK_FUNCTION_LIST_3_0_PTR list3; /* the 3.0 list, NULL if the module lacks it */
	bool inherited;                 /* loaded and initialised by the parent of a fork */
} backend_t;

/* Load the module at path.  On failure returns CKR_GENERAL_ERROR and
 * writes why (dlerror, missing getter) to err. */
CK_RV backend_load(backend_t *b, const char *path, char *err, size_t errlen);

/* True when b holds a loaded module with that path. */
bool backend_is(const backend_t *b, const char *path);

/* dlclose and forget.  Not for a fork handler: dlclose may run the
 * module's destructors. */
void backend_unload(backend_t *b);

/* In a forked child: keep the mapping (calling into it or unloading it
 * from a fork handler is not safe) and remember that the real module's
 * state was inherited from the parent. */
void backend_forget_after_fork(backend_t *b);

#endif

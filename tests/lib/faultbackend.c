/* A test-only PKCS#11 backend that injects faults: SoftHSM (SG_SOFTHSM)
 * behind a function list whose signing, decryption and key-reading calls
 * misbehave as SG_FAULT says.  signgate must stay consistent and fail
 * closed whatever its backend answers; SoftHSM itself never misbehaves.
 *
 * SG_FAULT is a comma-separated list of FUNC:ACTION:WHEN
 *   FUNC    C_SignInit C_Sign C_SignUpdate C_SignFinal C_DecryptInit
 *           C_Decrypt C_GetAttributeValue C_FindObjects
 *   ACTION  0xHEX | DEC    return that code without calling SoftHSM
 *           after=CODE     call SoftHSM, then return CODE instead of its answer
 *           close          close the real session, return CKR_SESSION_CLOSED
 *           len=+N | len=-N call SoftHSM, then claim N bytes more (fewer)
 *                          output than it gave (length queries included)
 *           sleep=MS       wait MS milliseconds, then call SoftHSM
 *   WHEN    K   the K-th call of FUNC (1-based)   K+  the K-th and later
 *           *   every call
 * Calls are counted per function from the moment SG_FAULT last changed
 * (it is read at every intercepted call, so a test may setenv() it in
 * the middle of a run).  Every other function is SoftHSM's own. */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pkcs11_3.h"

#define EXPORT __attribute__((visibility("default")))

enum fn {
	F_SIGN_INIT,
	F_SIGN,
	F_SIGN_UPDATE,
	F_SIGN_FINAL,
	F_DECRYPT_INIT,
	F_DECRYPT,
	F_GET_ATTR,
	F_FIND,
	F_COUNT
};
static const char *const fn_names[F_COUNT] = {
	"C_SignInit",    "C_Sign",    "C_SignUpdate",        "C_SignFinal",
	"C_DecryptInit", "C_Decrypt", "C_GetAttributeValue", "C_FindObjects",
};

enum action { A_NONE, A_RETURN, A_AFTER, A_CLOSE, A_LEN, A_SLEEP };

typedef struct fault {
	enum fn fn;
	enum action action;
	long value;         /* code, length change or milliseconds */
	unsigned long when; /* 0 = every call */
	bool and_later;
} fault_t;

#define FAULTS_MAX 16
static fault_t faults[FAULTS_MAX];
static size_t n_faults;
static unsigned long calls[F_COUNT];
static char spec_seen[1024];

static CK_FUNCTION_LIST_PTR hsm;
static CK_FUNCTION_LIST list;

static void parse_spec(const char *spec)
{
	char buf[1024];
	char *save = NULL;

	n_faults = 0;
	memset(calls, 0, sizeof(calls));
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *item = strtok_r(buf, ",", &save); item && n_faults < FAULTS_MAX;
	     item = strtok_r(NULL, ",", &save)) {
		char *a = strchr(item, ':');
		char *w = a ? strchr(a + 1, ':') : NULL;
		fault_t f = { 0 };
		int i;
		if (!a || !w)
			continue;
		*a++ = '\0';
		*w++ = '\0';
		for (i = 0; i < F_COUNT && strcmp(fn_names[i], item) != 0; i++)
			;
		if (i == F_COUNT) {
			fprintf(stderr, "faultbackend: unknown function %s\n", item);
			continue;
		}
		f.fn = (enum fn)i;
		if (!strncmp(a, "after=", 6)) {
			f.action = A_AFTER;
			f.value = strtol(a + 6, NULL, 0);
		} else if (!strcmp(a, "close")) {
			f.action = A_CLOSE;
		} else if (!strncmp(a, "len=", 4)) {
			f.action = A_LEN;
			f.value = strtol(a + 4, NULL, 0);
		} else if (!strncmp(a, "sleep=", 6)) {
			f.action = A_SLEEP;
			f.value = strtol(a + 6, NULL, 0);
		} else {
			f.action = A_RETURN;
			f.value = strtol(a, NULL, 0);
		}
		if (!strcmp(w, "*")) {
			f.when = 0;
		} else {
			char *end;
			f.when = strtoul(w, &end, 10);
			f.and_later = *end == '+';
		}
		faults[n_faults++] = f;
	}
}

/* Count this call of fn and return the fault that applies to it, if any. */
static const fault_t *fault_for(enum fn fn)
{
	const char *spec = getenv("SG_FAULT");

	if (!spec)
		spec = "";
	if (strcmp(spec, spec_seen) != 0) {
		snprintf(spec_seen, sizeof(spec_seen), "%s", spec);
		parse_spec(spec);
	}
	unsigned long n = ++calls[fn];
	for (size_t i = 0; i < n_faults; i++) {
		const fault_t *f = &faults[i];
		if (f->fn != fn)
			continue;
		if (f->when == 0 || n == f->when || (f->and_later && n > f->when))
			return f;
	}
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Before the real call: returns true with *rv set when the fault answers
 * instead of SoftHSM. */
static bool fault_pre(const fault_t *f, CK_SESSION_HANDLE h, CK_RV *rv)
{
	if (!f)
		return false;
	switch (f->action) {
	case A_RETURN: *rv = (CK_RV)f->value; return true;
	case A_CLOSE:
		hsm->C_CloseSession(h);
		*rv = CKR_SESSION_CLOSED;
		return true;
	case A_SLEEP: sleep_ms(f->value); return false;
	default: return false;
	}
}

static CK_RV fault_post(const fault_t *f, CK_RV rv, CK_ULONG_PTR len)
{
	if (!f)
		return rv;
	if (f->action == A_AFTER)
		return (CK_RV)f->value;
	if (f->action == A_LEN && len && (rv == CKR_OK || rv == CKR_BUFFER_TOO_SMALL)) {
		long n = (long)*len + f->value;
		*len = n < 0 ? 0 : (CK_ULONG)n;
	}
	return rv;
}

#define WRAP(fnid, h, lenp, call)                    \
	do {                                         \
		const fault_t *f_ = fault_for(fnid); \
		CK_RV rv_;                           \
		if (fault_pre(f_, (h), &rv_))        \
			return rv_;                  \
		rv_ = (call);                        \
		return fault_post(f_, rv_, (lenp));  \
	} while (0)

static CK_RV w_SignInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	WRAP(F_SIGN_INIT, h, NULL, hsm->C_SignInit(h, m, k));
}

static CK_RV w_Sign(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{
	WRAP(F_SIGN, h, ol, hsm->C_Sign(h, d, dl, o, ol));
}

static CK_RV w_SignUpdate(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl)
{
	WRAP(F_SIGN_UPDATE, h, NULL, hsm->C_SignUpdate(h, d, dl));
}

static CK_RV w_SignFinal(CK_SESSION_HANDLE h, CK_BYTE_PTR o, CK_ULONG_PTR ol)
{
	WRAP(F_SIGN_FINAL, h, ol, hsm->C_SignFinal(h, o, ol));
}

static CK_RV w_DecryptInit(CK_SESSION_HANDLE h, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	WRAP(F_DECRYPT_INIT, h, NULL, hsm->C_DecryptInit(h, m, k));
}

static CK_RV w_Decrypt(CK_SESSION_HANDLE h, CK_BYTE_PTR d, CK_ULONG dl, CK_BYTE_PTR o,
                       CK_ULONG_PTR ol)
{
	WRAP(F_DECRYPT, h, ol, hsm->C_Decrypt(h, d, dl, o, ol));
}

static CK_RV w_GetAttributeValue(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o, CK_ATTRIBUTE_PTR t,
                                 CK_ULONG n)
{
	WRAP(F_GET_ATTR, h, NULL, hsm->C_GetAttributeValue(h, o, t, n));
}

static CK_RV w_FindObjects(CK_SESSION_HANDLE h, CK_OBJECT_HANDLE_PTR o, CK_ULONG max,
                           CK_ULONG_PTR n)
{
	WRAP(F_FIND, h, NULL, hsm->C_FindObjects(h, o, max, n));
}

EXPORT CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR out)
{
	if (!out)
		return CKR_ARGUMENTS_BAD;
	if (!hsm) {
		const char *path = getenv("SG_SOFTHSM");
		void *h = dlopen(path && path[0] ? path : "/usr/lib/softhsm/libsofthsm2.so",
		                 RTLD_NOW | RTLD_LOCAL);
		CK_C_GetFunctionList gfl =
		        h ? (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList") : NULL;
		if (!gfl || gfl(&hsm) != CKR_OK)
			return CKR_GENERAL_ERROR;
		list = *hsm;
		list.C_SignInit = w_SignInit;
		list.C_Sign = w_Sign;
		list.C_SignUpdate = w_SignUpdate;
		list.C_SignFinal = w_SignFinal;
		list.C_DecryptInit = w_DecryptInit;
		list.C_Decrypt = w_Decrypt;
		list.C_GetAttributeValue = w_GetAttributeValue;
		list.C_FindObjects = w_FindObjects;
	}
	*out = &list;
	return CKR_OK;
}

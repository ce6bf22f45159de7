/* The boilerplate the C test programs share: see p11test.h. */
#include "p11test.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char *case_name = "";

void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "FAIL %s: ", case_name);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

const char *p11t_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !v[0])
		fail("%s not set", name);
	return v;
}

CK_FUNCTION_LIST_PTR p11t_load(const char *path, void **dl)
{
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	CK_FUNCTION_LIST_PTR l = NULL;
	if (!h)
		fail("dlopen %s: %s", path, dlerror());
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (!gfl || gfl(&l) != CKR_OK)
		fail("C_GetFunctionList in %s", path);
	if (dl)
		*dl = h;
	return l;
}

CK_FUNCTION_LIST_3_0_PTR p11t_interface30(void *dl, const char *path)
{
	CK_C_GetInterface gi = (CK_C_GetInterface)dlsym(dl, "C_GetInterface");
	CK_INTERFACE_PTR iface = NULL;
	CK_VERSION v = { 3, 0 };
	if (!gi)
		fail("no C_GetInterface in %s", path);
	CHECK_RV(gi((CK_UTF8CHAR_PTR) "PKCS 11", &v, &iface, 0), CKR_OK);
	return iface->pFunctionList;
}

CK_FUNCTION_LIST_PTR p11t_open_module(const char *path, int dlflags, const char **why)
{
	void *h = dlopen(path, dlflags);
	CK_FUNCTION_LIST_PTR l = NULL;
	if (!h) {
		*why = dlerror();
		return NULL;
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	if (!gfl || gfl(&l) != CKR_OK || !l) {
		*why = "no C_GetFunctionList, or it failed";
		return NULL;
	}
	return l;
}

CK_OBJECT_HANDLE p11t_object(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                             const unsigned char *id, size_t idlen)
{
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, (void *)id, idlen } };
	CK_OBJECT_HANDLE key;
	CK_ULONG found = 0;
	if (l->C_FindObjectsInit(s, t, 2) != CKR_OK ||
	    l->C_FindObjects(s, &key, 1, &found) != CKR_OK || l->C_FindObjectsFinal(s) != CKR_OK ||
	    found != 1)
		return CK_INVALID_HANDLE;
	return key;
}

CK_OBJECT_HANDLE p11t_key(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                          unsigned char id)
{
	return p11t_object(l, s, cls, &id, 1);
}

CK_OBJECT_HANDLE p11t_private_key(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s,
                                  const unsigned char *id, size_t idlen)
{
	return p11t_object(l, s, CKO_PRIVATE_KEY, id, idlen);
}

CK_RV p11t_initialize(CK_FUNCTION_LIST_PTR l, const char *reserved)
{
	CK_C_INITIALIZE_ARGS a;
	memset(&a, 0, sizeof(a));
	a.flags = CKF_OS_LOCKING_OK;
	a.pReserved = (void *)reserved;
	return l->C_Initialize(&a);
}

CK_SESSION_HANDLE p11t_try_open_login(CK_FUNCTION_LIST_PTR l, CK_SLOT_ID slot, CK_FLAGS flags,
                                      const char *pin)
{
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	if (l->C_OpenSession(slot, CKF_SERIAL_SESSION | flags, NULL, NULL, &s) != CKR_OK)
		return CK_INVALID_HANDLE;
	CK_RV rv = l->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		return CK_INVALID_HANDLE;
	return s;
}

char *p11t_read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	long n;
	if (!fp)
		return NULL;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && fseek(fp, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, fp) == (size_t)n) {
		buf[n] = '\0';
		if (len)
			*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(fp);
	return buf;
}

int p11t_replace_file(const char *path, const void *data, size_t len)
{
	char tmp[4096];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -1;
	FILE *fp = fopen(tmp, "wb");
	if (!fp)
		return -1;
	if (fwrite(data, 1, len, fp) != len) {
		fclose(fp);
		return -1;
	}
	if (fclose(fp) != 0 || chmod(tmp, 0600) != 0 || rename(tmp, path) != 0)
		return -1;
	return 0;
}

/* The slot among slots[0..n) whose token is labelled label. */
static CK_SLOT_ID slot_labelled(CK_FUNCTION_LIST_PTR l, const CK_SLOT_ID *slots, CK_ULONG n,
                                const char *label)
{
	size_t len = strlen(label);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (l->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		/* CK_TOKEN_INFO.label is padded with blanks, not terminated */
		if (len <= sizeof(ti.label) && !memcmp(ti.label, label, len) &&
		    (len == sizeof(ti.label) || ti.label[len] == ' '))
			return slots[i];
	}
	return (CK_SLOT_ID)-1;
}

CK_SLOT_ID p11t_slot_by_label(CK_FUNCTION_LIST_PTR l, const char *label)
{
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	if (l->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		return (CK_SLOT_ID)-1;
	return slot_labelled(l, slots, n, label);
}

CK_SLOT_ID p11t_token_slot(CK_FUNCTION_LIST_PTR l, const char *label)
{
	CK_SLOT_ID slots[32];
	CK_ULONG n = 32;
	CHECK_RV(l->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CK_SLOT_ID slot = slot_labelled(l, slots, n, label);
	if (slot == (CK_SLOT_ID)-1)
		fail("token %s not found", label);
	return slot;
}

CK_SLOT_ID p11t_sg_token_slot(CK_FUNCTION_LIST_PTR l)
{
	return p11t_token_slot(l, p11t_env("SG_TOKEN"));
}

CK_SESSION_HANDLE p11t_open_rw(CK_FUNCTION_LIST_PTR l, CK_SLOT_ID slot)
{
	CK_SESSION_HANDLE s;
	CHECK_RV(l->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s),
	         CKR_OK);
	return s;
}

CK_SESSION_HANDLE p11t_open_login(CK_FUNCTION_LIST_PTR l, CK_SLOT_ID slot, const char *pin)
{
	CK_SESSION_HANDLE s = p11t_open_rw(l, slot);
	CK_RV rv = l->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		fail("C_Login = 0x%lx", rv);
	return s;
}

CK_OBJECT_HANDLE p11t_find(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                           unsigned char id)
{
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, &id, 1 } };
	CK_OBJECT_HANDLE o[2];
	CK_ULONG n = 0;
	CHECK_RV(l->C_FindObjectsInit(s, t, 2), CKR_OK);
	CHECK_RV(l->C_FindObjects(s, o, 2, &n), CKR_OK);
	CHECK_RV(l->C_FindObjectsFinal(s), CKR_OK);
	if (n != 1)
		fail("expected one object of class %lu with id %02x, found %lu", cls, id, n);
	return o[0];
}

void p11t_sign_ok(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	unsigned char sig[512];
	CK_ULONG sl = sizeof(sig);
	CHECK_RV(l->C_SignInit(s, &m, key), CKR_OK);
	CHECK_RV(l->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OK);
	if (sl != 256)
		fail("signature length %lu", sl);
}

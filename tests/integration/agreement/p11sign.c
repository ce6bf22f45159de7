/* One signature through a PKCS#11 module, for the agreement test.
 *
 *   p11sign MODULE TOKEN PIN ID_HEX|- LABEL|- MECHANISM DATAFILE
 *
 * Finds the one private key with that CKA_ID and/or CKA_LABEL on the token
 * with that label, signs DATAFILE's bytes with C_SignInit + C_Sign and
 * prints "ok LENGTH" or "err 0xCKR (call)".  Exit 0 either way; 2 when the
 * module, token or key is not found (the test is wrong, not the module).
 * A C program rather than a script, so that it runs under the sanitizer
 * pass too (tools/sanitizer-wrap). */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static const struct {
	const char *name;
	CK_MECHANISM_TYPE type;
} mechs[] = {
	{ "SHA256-RSA-PKCS", CKM_SHA256_RSA_PKCS },
	{ "SHA512-RSA-PKCS", CKM_SHA512_RSA_PKCS },
	{ "RSA-PKCS", CKM_RSA_PKCS },
	{ "ECDSA", CKM_ECDSA },
};

static size_t unhex(const char *s, unsigned char *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (strlen(s) % 2 || n > cap)
		return (size_t)-1;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return (size_t)-1;
		out[i] = (unsigned char)v;
	}
	return n;
}

static bool field_is(const CK_UTF8CHAR *f, size_t size, const char *s)
{
	while (size && f[size - 1] == ' ')
		size--;
	return strlen(s) == size && !memcmp(f, s, size);
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr,
		        "usage: p11sign MODULE TOKEN PIN ID_HEX|- LABEL|- MECHANISM DATAFILE\n");
		return 2;
	}
	const char *module = argv[1], *token = argv[2], *pin = argv[3], *id_hex = argv[4];
	const char *label = argv[5], *mech_s = argv[6], *datafile = argv[7];
	CK_MECHANISM mech = { CKM_VENDOR_DEFINED, NULL, 0 };
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (!strcmp(mechs[i].name, mech_s))
			mech.mechanism = mechs[i].type;
	unsigned char id[256], data[65536], sig[4096];
	size_t id_len = 0, data_len;
	if (mech.mechanism == CKM_VENDOR_DEFINED ||
	    (strcmp(id_hex, "-") && (id_len = unhex(id_hex, id, sizeof(id))) == (size_t)-1)) {
		fprintf(stderr, "p11sign: bad mechanism or ID\n");
		return 2;
	}
	FILE *f = fopen(datafile, "rb");
	if (!f) {
		perror(datafile);
		return 2;
	}
	data_len = fread(data, 1, sizeof(data), f);
	fclose(f);

	void *dl = dlopen(module, RTLD_NOW | RTLD_LOCAL);
	CK_C_GetFunctionList get = NULL;
	CK_FUNCTION_LIST_PTR fl = NULL;
	if (dl)
		*(void **)&get = dlsym(dl, "C_GetFunctionList");
	if (!get || get(&fl) != CKR_OK || fl->C_Initialize(NULL) != CKR_OK) {
		fprintf(stderr, "p11sign: cannot load %s: %s\n", module,
		        dl ? "C_Initialize" : dlerror());
		return 2;
	}
	CK_SLOT_ID slots[32];
	CK_ULONG ns = 32;
	CK_SLOT_ID slot = (CK_SLOT_ID)-1;
	if (fl->C_GetSlotList(CK_TRUE, slots, &ns) == CKR_OK)
		for (CK_ULONG i = 0; i < ns; i++) {
			CK_TOKEN_INFO ti;
			if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
			    field_is(ti.label, sizeof(ti.label), token))
				slot = slots[i];
		}
	CK_SESSION_HANDLE s;
	int rc = 2;
	if (slot == (CK_SLOT_ID)-1 ||
	    fl->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s) != CKR_OK) {
		fprintf(stderr, "p11sign: no token %s\n", token);
		goto out;
	}
	CK_RV rv = fl->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK) {
		printf("err 0x%lx (C_Login)\n", (unsigned long)rv);
		rc = 0;
		goto out;
	}
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof(cls) } };
	CK_ULONG nt = 1, found = 0;
	CK_OBJECT_HANDLE keys[4];
	if (strcmp(id_hex, "-"))
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_ID, id, id_len };
	if (strcmp(label, "-"))
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	if (fl->C_FindObjectsInit(s, tmpl, nt) == CKR_OK) {
		fl->C_FindObjects(s, keys, 4, &found);
		fl->C_FindObjectsFinal(s);
	}
	if (found != 1) {
		fprintf(stderr, "p11sign: %lu keys with id %s label %s\n", (unsigned long)found,
		        id_hex, label);
		goto out;
	}
	rc = 0;
	CK_ULONG sl = sizeof(sig);
	rv = fl->C_SignInit(s, &mech, keys[0]);
	if (rv != CKR_OK) {
		printf("err 0x%lx (C_SignInit)\n", (unsigned long)rv);
		goto out;
	}
	rv = fl->C_Sign(s, data, data_len, sig, &sl);
	if (rv != CKR_OK)
		printf("err 0x%lx (C_Sign)\n", (unsigned long)rv);
	else
		printf("ok %lu\n", (unsigned long)sl);
out:
	fl->C_Finalize(NULL);
	return rc;
}

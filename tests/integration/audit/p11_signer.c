/* Test helper: one process that signs in phases through a PKCS#11
 * module, so a test can change the world (stop the log daemon) between
 * signatures of the same audit instance.
 * usage: p11-signer MODULE TOKEN-LABEL KEY-ID-HEX PIN N1 [N2 ...]
 * Signs N1 times with CKM_SHA256_RSA_PKCS, prints "phase 1 done", reads
 * a line from stdin, signs N2 times, and so on.  Exit 0 when every
 * signature was returned; prints the first failing CK_RV. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

static int hex_byte(const char *s)
{
	unsigned v;
	return sscanf(s, "%2x", &v) == 1 ? (int)v : -1;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: p11-signer MODULE TOKEN KEYID PIN N1 [N2...]\n");
		return 2;
	}
	void *lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 2;
	}
	CK_C_GetFunctionList getfl = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR f;
	CK_RV rv;
	if (!getfl || getfl(&f) != CKR_OK) return 2;
	if ((rv = f->C_Initialize(NULL)) != CKR_OK) {
		fprintf(stderr, "C_Initialize: 0x%lx\n", rv);
		return 1;
	}
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	CK_SLOT_ID slot = (CK_SLOT_ID)-1;
	f->C_GetSlotList(CK_TRUE, slots, &n);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK) continue;
		size_t l = strlen(argv[2]);
		if (l <= sizeof(ti.label) && !memcmp(ti.label, argv[2], l) &&
		    (l == sizeof(ti.label) || ti.label[l] == ' '))
			slot = slots[i];
	}
	if (slot == (CK_SLOT_ID)-1) {
		fprintf(stderr, "token %s not found\n", argv[2]);
		return 1;
	}
	CK_SESSION_HANDLE s;
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) != CKR_OK ||
	    (rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[4], strlen(argv[4]))) != CKR_OK) {
		fprintf(stderr, "open/login: 0x%lx\n", rv);
		return 1;
	}
	unsigned char id[64];
	size_t idlen = 0;
	for (const char *p = argv[3]; p[0] && p[1] && idlen < sizeof(id); p += 2)
		id[idlen++] = (unsigned char)hex_byte(p);
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof(cls) }, { CKA_ID, id, idlen } };
	CK_OBJECT_HANDLE key;
	CK_ULONG found = 0;
	if (f->C_FindObjectsInit(s, tmpl, 2) != CKR_OK || f->C_FindObjects(s, &key, 1, &found) != CKR_OK ||
	    f->C_FindObjectsFinal(s) != CKR_OK || found != 1) {
		fprintf(stderr, "key not found\n");
		return 1;
	}
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	for (int phase = 5; phase < argc; phase++) {
		if (phase > 5) {
			char line[16];
			if (!fgets(line, sizeof(line), stdin)) return 1;
		}
		for (int i = 0; i < atoi(argv[phase]); i++) {
			unsigned char data[32], sig[512];
			CK_ULONG siglen = sizeof(sig);
			memset(data, i, sizeof(data));
			if ((rv = f->C_SignInit(s, &mech, key)) != CKR_OK ||
			    (rv = f->C_Sign(s, data, sizeof(data), sig, &siglen)) != CKR_OK) {
				fprintf(stderr, "sign (phase %d): 0x%lx\n", phase - 4, rv);
				return 1;
			}
		}
		printf("phase %d done\n", phase - 4);
		fflush(stdout);
	}
	f->C_Logout(s);
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	return 0;
}

/* sign-loop: one long-lived signing process for the kill-switch test.
 * Loads a PKCS#11 module once, logs in, and signs a hash with CKM_ECDSA
 * every 100 ms for S seconds, printing "MONOTONIC_NS ok" or
 * "MONOTONIC_NS 0xCKR" per attempt.
 *
 * usage: sign-loop MODULE TOKEN_LABEL KEY_ID_HEX HASH_FILE SECONDS
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int die(const char *what, CK_RV rv)
{
	fprintf(stderr, "sign-loop: %s: 0x%lx\n", what, (unsigned long)rv);
	return 1;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: %s MODULE TOKEN KEY_ID_HEX HASH_FILE SECONDS\n", argv[0]);
		return 2;
	}
	void *h = dlopen(argv[1], RTLD_NOW);
	if (!h) {
		fprintf(stderr, "sign-loop: %s\n", dlerror());
		return 1;
	}
	CK_C_GetFunctionList gfl = (CK_C_GetFunctionList)dlsym(h, "C_GetFunctionList");
	CK_FUNCTION_LIST_PTR f;
	CK_RV rv;
	if (!gfl || (rv = gfl(&f)) != CKR_OK)
		return die("C_GetFunctionList", 0);
	if ((rv = f->C_Initialize(NULL)) != CKR_OK)
		return die("C_Initialize", rv);

	CK_SLOT_ID slots[32], slot = 0;
	CK_ULONG ns = 32;
	int found = 0;
	if ((rv = f->C_GetSlotList(CK_TRUE, slots, &ns)) != CKR_OK)
		return die("C_GetSlotList", rv);
	for (CK_ULONG i = 0; i < ns && !found; i++) {
		CK_TOKEN_INFO ti;
		char label[33];
		if (f->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		memcpy(label, ti.label, 32);
		label[32] = '\0';
		for (int j = 31; j >= 0 && label[j] == ' '; j--)
			label[j] = '\0';
		if (!strcmp(label, argv[2])) {
			slot = slots[i];
			found = 1;
		}
	}
	if (!found)
		return die("token not found", 0);
	CK_SESSION_HANDLE s;
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK)
		return die("C_OpenSession", rv);
	if ((rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "anything", 8)) != CKR_OK)
		return die("C_Login", rv);

	unsigned char id[64];
	size_t idlen = strlen(argv[3]) / 2;
	if (idlen == 0 || idlen > sizeof id)
		return die("key id", 0);
	for (size_t i = 0; i < idlen; i++)
		sscanf(argv[3] + 2 * i, "%2hhx", &id[i]);
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = { { CKA_CLASS, &cls, sizeof cls }, { CKA_ID, id, idlen } };
	CK_OBJECT_HANDLE key;
	CK_ULONG nfound = 0;
	if (f->C_FindObjectsInit(s, tmpl, 2) != CKR_OK ||
	    f->C_FindObjects(s, &key, 1, &nfound) != CKR_OK || f->C_FindObjectsFinal(s) != CKR_OK ||
	    nfound != 1)
		return die("key not found", 0);

	unsigned char hash[64];
	FILE *hf = fopen(argv[4], "rb");
	size_t hlen = hf ? fread(hash, 1, sizeof hash, hf) : 0;
	if (hf)
		fclose(hf);
	if (hlen == 0)
		return die("hash file", 0);

	int64_t end = mono_ns() + (int64_t)(atof(argv[5]) * 1e9);
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	while (mono_ns() < end) {
		unsigned char sig[256];
		CK_ULONG slen = sizeof sig;
		rv = f->C_SignInit(s, &m, key);
		if (rv == CKR_OK)
			rv = f->C_Sign(s, hash, hlen, sig, &slen);
		if (rv == CKR_OK)
			printf("%lld ok\n", (long long)mono_ns());
		else
			printf("%lld 0x%lx\n", (long long)mono_ns(), (unsigned long)rv);
		fflush(stdout);
		struct timespec pause = { 0, 100 * 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	f->C_Logout(s);
	f->C_CloseSession(s);
	f->C_Finalize(NULL);
	return 0;
}

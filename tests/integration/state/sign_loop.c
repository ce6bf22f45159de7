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

#include "p11test.h"

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
	const char *why;
	CK_FUNCTION_LIST_PTR f = p11t_open_module(argv[1], RTLD_NOW, &why);
	CK_RV rv;
	if (!f) {
		fprintf(stderr, "sign-loop: %s\n", why);
		return 1;
	}
	if ((rv = f->C_Initialize(NULL)) != CKR_OK)
		return die("C_Initialize", rv);

	CK_SLOT_ID slot = p11t_slot_by_label(f, argv[2]);
	if (slot == (CK_SLOT_ID)-1)
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
	CK_OBJECT_HANDLE key = p11t_private_key(f, s, id, idlen);
	if (key == CK_INVALID_HANDLE)
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

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

#include "p11test.h"

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
	const char *why;
	CK_FUNCTION_LIST_PTR f = p11t_open_module(argv[1], RTLD_NOW | RTLD_LOCAL, &why);
	CK_RV rv;
	if (!f) {
		fprintf(stderr, "dlopen: %s\n", why);
		return 2;
	}
	if ((rv = f->C_Initialize(NULL)) != CKR_OK) {
		fprintf(stderr, "C_Initialize: 0x%lx\n", rv);
		return 1;
	}
	CK_SLOT_ID slot = p11t_slot_by_label(f, argv[2]);
	if (slot == (CK_SLOT_ID)-1) {
		fprintf(stderr, "token %s not found\n", argv[2]);
		return 1;
	}
	CK_SESSION_HANDLE s;
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
	            CKR_OK ||
	    (rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)argv[4], strlen(argv[4]))) != CKR_OK) {
		fprintf(stderr, "open/login: 0x%lx\n", rv);
		return 1;
	}
	unsigned char id[64];
	size_t idlen = 0;
	for (const char *p = argv[3]; p[0] && p[1] && idlen < sizeof(id); p += 2)
		id[idlen++] = (unsigned char)hex_byte(p);
	CK_OBJECT_HANDLE key = p11t_private_key(f, s, id, idlen);
	if (key == CK_INVALID_HANDLE) {
		fprintf(stderr, "key not found\n");
		return 1;
	}
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	for (int phase = 5; phase < argc; phase++) {
		if (phase > 5) {
			char line[16];
			if (!fgets(line, sizeof(line), stdin))
				return 1;
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

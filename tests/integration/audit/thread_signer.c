/* Test helper: THREADS threads, each with its own session, sign with
 * CKM_SHA256_RSA_PKCS through a PKCS#11 module until the file STOP exists
 * (or SECONDS pass), counting the signatures the module returned.
 * usage: thread-signer MODULE TOKEN-LABEL KEY-ID-HEX PIN THREADS SECONDS STOP
 * Prints "returned N refused M" (refused: any CK_RV but CKR_OK). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "p11test.h"

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static unsigned char id[64];
static size_t idlen;
static const char *pin, *stop_file;
static time_t end_time;
static atomic_ulong returned, refused;

static void *worker(void *arg)
{
	unsigned salt = (unsigned)(size_t)arg;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s)) !=
	    CKR_OK) {
		fprintf(stderr, "open: 0x%lx\n", rv);
		return NULL;
	}
	rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		fprintf(stderr, "login: 0x%lx\n", rv);
		return NULL;
	}
	CK_OBJECT_HANDLE key = p11t_private_key(f, s, id, idlen);
	if (key == CK_INVALID_HANDLE) {
		fprintf(stderr, "key not found\n");
		return NULL;
	}
	CK_MECHANISM mech = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	for (unsigned long i = 0;; i++) {
		if ((i & 15) == 0 && (access(stop_file, F_OK) == 0 || time(NULL) >= end_time))
			break;
		unsigned char data[32], sig[512];
		CK_ULONG siglen = sizeof(sig);
		memset(data, (int)(i + salt), sizeof(data));
		rv = f->C_SignInit(s, &mech, key);
		if (rv == CKR_OK)
			rv = f->C_Sign(s, data, sizeof(data), sig, &siglen);
		if (rv == CKR_OK && siglen > 0)
			atomic_fetch_add(&returned, 1);
		else
			atomic_fetch_add(&refused, 1);
	}
	f->C_CloseSession(s);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 8) {
		fprintf(stderr,
		        "usage: thread-signer MODULE TOKEN KEYID PIN THREADS SECONDS STOP\n");
		return 2;
	}
	const char *why;
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK };
	CK_RV rv;
	if (!(f = p11t_open_module(argv[1], RTLD_NOW | RTLD_LOCAL, &why))) {
		fprintf(stderr, "dlopen: %s\n", why);
		return 2;
	}
	if ((rv = f->C_Initialize(&ia)) != CKR_OK) {
		fprintf(stderr, "C_Initialize: 0x%lx\n", rv);
		return 1;
	}
	slot = p11t_slot_by_label(f, argv[2]);
	if (slot == (CK_SLOT_ID)-1) {
		fprintf(stderr, "token %s not found\n", argv[2]);
		return 1;
	}
	for (const char *p = argv[3]; p[0] && p[1] && idlen < sizeof(id); p += 2) {
		unsigned v;
		if (sscanf(p, "%2x", &v) != 1)
			return 2;
		id[idlen++] = (unsigned char)v;
	}
	pin = argv[4];
	int threads = atoi(argv[5]);
	end_time = time(NULL) + atoi(argv[6]);
	stop_file = argv[7];
	pthread_t t[16];
	if (threads < 1 || threads > 16)
		return 2;
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, (void *)(size_t)(i * 101));
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("returned %lu refused %lu\n", (unsigned long)atomic_load(&returned),
	       (unsigned long)atomic_load(&refused));
	f->C_Finalize(NULL);
	return 0;
}

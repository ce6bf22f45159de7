/* Config reloads under signing threads: old configs are freed, never
 * while a call or an operation in progress still uses them.
 *
 * Usage: reload THREADS RELOADS.  SIGNGATE_CONF is the config in force;
 * reload.sh left two valid configs beside it ($SIGNGATE_CONF.a and .b,
 * both letting this caller sign, with rules of different names).  The
 * main thread switches between them RELOADS times (the file is looked at
 * most once a second), while THREADS threads sign, each in its own
 * session: multi-part SHA256-RSA-PKCS (C_SignInit, C_SignUpdate ...,
 * C_SignFinal) and single-part ECDSA.  Thread 0 keeps some multi-part
 * operations open across a reload (C_SignUpdate, 1.3 s, C_SignUpdate,
 * C_SignFinal): their key and rule belong to a config retired meanwhile.
 * Thread 1 does the same with a C_DeriveKey (ECDH, granted by both
 * configs) on the same session in the middle, decided under the new
 * config: the signature's config must stay alive all the same.
 * Before each reload a short-lived thread lists the slots and ends.
 * Every call must succeed and every RSA signature verify; under ASan a
 * config freed too early is a use-after-free report.  Prints
 * "reload: signing stopped" on stderr before C_Finalize, so that
 * reload.sh can count the configs freed by then (SIGNGATE_DEBUG=config).
 * Exit 0 pass, 1 fail, 77 skip. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "p11test.h"

static CK_FUNCTION_LIST_PTR f;
static CK_SLOT_ID slot;
static atomic_bool stop;
static atomic_int failures;
static EVP_PKEY *rsa_pub;

/* In a thread: count and report, the main thread fails at the end. */
static void thread_fail(int t, const char *what, CK_RV rv)
{
	fprintf(stderr, "reload: thread %d: %s = 0x%lx\n", t, what, rv);
	atomic_fetch_add(&failures, 1);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static CK_OBJECT_HANDLE find_obj(CK_SESSION_HANDLE s, const char *hex_id, CK_OBJECT_CLASS cls)
{
	return p11t_find(f, s, cls, (unsigned char)strtoul(hex_id, NULL, 16));
}

static CK_OBJECT_HANDLE find_key(CK_SESSION_HANDLE s, const char *hex_id)
{
	return find_obj(s, hex_id, CKO_PRIVATE_KEY);
}

/* ECDH with the test key's own public point: a new session secret key. */
static CK_RV derive(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key, unsigned char *point, CK_ULONG pl)
{
	CK_ECDH1_DERIVE_PARAMS p = { CKD_NULL, 0, NULL, pl, point };
	CK_MECHANISM m = { CKM_ECDH1_DERIVE, &p, sizeof(p) };
	CK_OBJECT_CLASS c = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_GENERIC_SECRET;
	CK_ULONG len = 32;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &c, sizeof(c) },
		             { CKA_KEY_TYPE, &kt, sizeof(kt) },
		             { CKA_VALUE_LEN, &len, sizeof(len) },
		             { CKA_TOKEN, &no, sizeof(no) } };
	CK_OBJECT_HANDLE out = CK_INVALID_HANDLE;
	return f->C_DeriveKey(s, &m, key, t, 4, &out);
}

typedef struct worker {
	int index;
	unsigned long rsa_done, ec_done, spanning_done, derive_done;
} worker_t;

static bool rsa_verify(const unsigned char *msg, size_t len, const unsigned char *sig, size_t sl)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c && EVP_DigestVerifyInit(c, NULL, EVP_sha256(), NULL, rsa_pub) == 1 &&
	          EVP_DigestVerify(c, sig, sl, msg, len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

static void *worker(void *arg)
{
	worker_t *w = arg;
	CK_SESSION_HANDLE s;
	CK_RV rv;
	unsigned long i = 0;

	if ((rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &s)) != CKR_OK) {
		thread_fail(w->index, "C_OpenSession", rv);
		return NULL;
	}
	CK_OBJECT_HANDLE rsa = find_key(s, getenv("SG_RSA_ID"));
	CK_OBJECT_HANDLE ec = find_key(s, getenv("SG_EC_ID"));
	unsigned char point[80];
	CK_ATTRIBUTE pa = { CKA_EC_POINT, point, sizeof(point) };
	if ((rv = f->C_GetAttributeValue(s, find_obj(s, getenv("SG_EC_ID"), CKO_PUBLIC_KEY), &pa,
	                                 1)) != CKR_OK ||
	    pa.ulValueLen != 67) {
		thread_fail(w->index, "CKA_EC_POINT", rv);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		i++;
		if (i % 2) {
			/* multi-part; thread 0 keeps every 6th open across a reload */
			static const char *const parts[] = { "part one, ", "part two, ",
				                             "part three" };
			CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
			unsigned char sig[512];
			CK_ULONG sl = sizeof(sig);
			bool span = w->index <= 1 && i % 6 == 1, derive_tried = false;
			if ((rv = f->C_SignInit(s, &m, rsa)) != CKR_OK) {
				thread_fail(w->index, "C_SignInit (RSA)", rv);
				break;
			}
			for (int p = 0; p < 3; p++) {
				if (span && p == 1)
					sleep_ms(1300);
				if (span && p == 1 && w->index == 1) {
					/* allowed by signgate under the config in force now
					 * (SoftHSM then refuses it while a signature is
					 * active, and ends the signature: the next data
					 * call still goes through signgate's checks of the
					 * signature's key and rule first) */
					rv = derive(s, ec, point + 2, 65);
					w->derive_done++;
					derive_tried = true;
				}
				rv = f->C_SignUpdate(s, (CK_BYTE_PTR)parts[p], strlen(parts[p]));
				if (rv != CKR_OK)
					break;
			}
			if (rv != CKR_OK && derive_tried) {
				f->C_SignFinal(s, sig, &sl); /* ended by the token: ours too */
				continue;
			}
			if (rv != CKR_OK) {
				thread_fail(w->index, "C_SignUpdate", rv);
				break;
			}
			if ((rv = f->C_SignFinal(s, sig, &sl)) != CKR_OK) {
				thread_fail(w->index, "C_SignFinal", rv);
				break;
			}
			const char *all = "part one, part two, part three";
			if (!rsa_verify((const unsigned char *)all, strlen(all), sig, sl)) {
				thread_fail(w->index, "RSA signature does not verify", CKR_OK);
				break;
			}
			w->rsa_done++;
			if (span)
				w->spanning_done++;
		} else {
			CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
			unsigned char h[32], sig[132];
			CK_ULONG sl = sizeof(sig);
			/* a real SHA-256 (raw ECDSA input is judged as one) */
			EVP_Digest(&i, sizeof(i), h, NULL, EVP_sha256(), NULL);
			if ((rv = f->C_SignInit(s, &m, ec)) != CKR_OK) {
				thread_fail(w->index, "C_SignInit (ECDSA)", rv);
				break;
			}
			if ((rv = f->C_Sign(s, h, sizeof(h), sig, &sl)) != CKR_OK || sl != 64) {
				thread_fail(w->index, "C_Sign (ECDSA)", rv);
				break;
			}
			w->ec_done++;
		}
	}
	f->C_CloseSession(s);
	return NULL;
}

/* A thread that lists the slots (gate.c reads the config outside any
 * enforce call there) and ends: nothing it held may keep a config. */
static void *slot_lister(void *arg)
{
	CK_SLOT_ID slots[16];
	CK_ULONG n = 16;
	(void)arg;
	if (f->C_GetSlotList(CK_TRUE, slots, &n) != CKR_OK)
		thread_fail(-1, "C_GetSlotList", CKR_GENERAL_ERROR);
	return NULL;
}

/* Replace the config in one step (a new inode: the module sees it). */
static void install_config(const char *conf, const char *text, size_t len)
{
	if (p11t_replace_file(conf, text, len) != 0)
		fail("cannot install %s", conf);
}

int main(int argc, char **argv)
{
	case_name = "reload";
	if (argc != 3)
		fail("usage: reload THREADS RELOADS");
	int nthreads = atoi(argv[1]), reloads = atoi(argv[2]);
	const char *conf = getenv("SIGNGATE_CONF"), *label = getenv("SG_TOKEN");
	const char *pin = getenv("SG_USER_PIN"), *module = getenv("SIGNGATE_MODULE");
	char path[4096];
	size_t len_a, len_b;

	if (nthreads < 1 || nthreads > 16 || reloads < 1 || !conf || !label || !pin || !module)
		fail("bad arguments or environment");
	snprintf(path, sizeof(path), "%s.a", conf);
	char *text_a = p11t_read_file(path, &len_a);
	if (!text_a)
		fail("cannot read %s", path);
	snprintf(path, sizeof(path), "%s.b", conf);
	char *text_b = p11t_read_file(path, &len_b);
	if (!text_b)
		fail("cannot read %s", path);
	FILE *pf = fopen(getenv("SG_RSA_PUB"), "r");
	if (!pf || !(rsa_pub = PEM_read_PUBKEY(pf, NULL, NULL, NULL)))
		fail("cannot read SG_RSA_PUB");
	fclose(pf);

	f = p11t_load(module, NULL);
	if (p11t_initialize(f, NULL) != CKR_OK)
		fail("C_Initialize");
	slot = p11t_token_slot(f, label);
	CK_SESSION_HANDLE ls;
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ls) != CKR_OK)
		fail("C_OpenSession");
	CK_RV rv = f->C_Login(ls, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK)
		fail("C_Login = 0x%lx", rv);

	pthread_t th[16];
	worker_t w[16];
	memset(w, 0, sizeof(w));
	for (int t = 0; t < nthreads; t++) {
		w[t].index = t;
		if (pthread_create(&th[t], NULL, worker, &w[t]) != 0)
			fail("pthread_create");
	}
	for (int r = 0; r < reloads && !atomic_load(&failures); r++) {
		pthread_t lister;
		if (pthread_create(&lister, NULL, slot_lister, NULL) != 0)
			fail("pthread_create");
		pthread_join(lister, NULL);
		sleep_ms(1100);
		if (r % 2 == 0)
			install_config(conf, text_b, len_b);
		else
			install_config(conf, text_a, len_a);
	}
	/* Long enough for every session to start an operation under the
	 * last config and for thread 0's open operation to end. */
	sleep_ms(2500);
	atomic_store(&stop, true);
	unsigned long rsa = 0, ec = 0, spanning = 0, derived = 0;
	for (int t = 0; t < nthreads; t++) {
		pthread_join(th[t], NULL);
		rsa += w[t].rsa_done;
		ec += w[t].ec_done;
		spanning += w[t].spanning_done;
		derived += w[t].derive_done;
	}
	fprintf(stderr, "reload: signing stopped\n");
	f->C_Logout(ls);
	f->C_CloseSession(ls);
	f->C_Finalize(NULL);
	EVP_PKEY_free(rsa_pub);
	free(text_a);
	free(text_b);
	printf("reload: %d threads, %d reloads: %lu RSA multi-part (%lu across a reload, %lu of them "
	       "with a C_DeriveKey inside), %lu ECDSA\n",
	       nthreads, reloads, rsa, spanning, derived, ec);
	if (atomic_load(&failures))
		fail("%d failed calls", atomic_load(&failures));
	if (spanning < 2 || ec == 0 || (nthreads > 1 && derived == 0))
		fail("too few operations to mean anything");
	printf("PASS reload\n");
	return 0;
}

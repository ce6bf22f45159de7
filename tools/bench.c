/* signgate-bench: what does signgate cost next to the token it guards?
 *
 * Signs in a loop for a fixed time through module A (direct SoftHSM) and
 * module B (signgate over the same token), alternating A B A B for R
 * rounds, and prints signatures per second, the ratio B/A and per-
 * signature latency for both.
 *
 * Every round of every side runs in a freshly forked child that loads
 * and initialises its module on its own: the two modules never share a
 * process (signgate loads SoftHSM itself, and SoftHSM keeps global
 * state), SIGNGATE_CONF is set only for the signgate side, and one
 * side's heap or caches cannot flatter or penalise the other.
 *
 * Each thread has its own session (SoftHSM misbehaves with sessions
 * shared across threads), logs in, finds the private key by CKA_ID and
 * signs until the time is up.  Latencies go into a preallocated, pre-
 * touched array so that the timed loop neither allocates nor faults.
 * One signature per round is verified with OpenSSL (not timed) when
 * --pubkey is given, so a fast but wrong module cannot win.
 */
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <p11-kit/pkcs11.h>

#include "codec.h"

#define MAX_THREADS 64
#define MAX_ROUNDS 100
#define MAX_ENV 16
#define SIG_MAX 1024
/* Upper bound on signatures per second per thread we keep latencies
 * for; beyond it signatures are still counted, only not sampled. */
#define SAMPLES_PER_SECOND 200000

typedef enum bench_mech {
	BENCH_ECDSA = 0,
	BENCH_SHA256_RSA,
	BENCH_RSA_PKCS,
} bench_mech_t;

static const char *const mech_names[] = { "ecdsa", "sha256-rsa", "rsa-pkcs" };

/* DER prefix of a SHA-256 DigestInfo (RFC 8017, 9.2 note 1). */
static const unsigned char sha256_digestinfo_prefix[19] = { 0x30, 0x31, 0x30, 0x0d, 0x06,
	                                                    0x09, 0x60, 0x86, 0x48, 0x01,
	                                                    0x65, 0x03, 0x04, 0x02, 0x01,
	                                                    0x05, 0x00, 0x04, 0x20 };

typedef struct bench_side {
	const char *name;
	const char *module;
	const char *conf; /* SIGNGATE_CONF for this side; NULL = unset */
	const char *pin;
	const char *env[MAX_ENV]; /* extra KEY=VALUE for this side's child */
	size_t n_env;
} bench_side_t;

typedef struct bench_opts {
	bench_side_t side[2];
	const char *token;
	unsigned char id[64];
	size_t id_len;
	bench_mech_t mech;
	int threads;
	double seconds;
	double warmup;
	int rounds;
	const char *pubkey_path;
	const char *tag; /* free text copied to the RESULT line */
	uint64_t count;  /* signatures per thread; 0 = sign for `seconds` */
	bool login;
} bench_opts_t;

/* What a child hands back to the parent through a pipe. */
typedef struct side_result {
	bool ok;
	char error[160];
	uint64_t count;
	double rate; /* signatures per second, all threads */
	double p1_us, p50_us, p99_us;
	double init_ms; /* dlopen .. first signature of thread 0 */
	double cpu_us;  /* process CPU time per signature, timed part */
	int verified;   /* 1 ok, 0 failed, -1 not checked */
	long maxrss_kb;
} side_result_t;

typedef struct thread_ctx {
	const bench_opts_t *opts;
	const bench_side_t *side;
	CK_FUNCTION_LIST_PTR fl;
	CK_SLOT_ID slot;
	pthread_barrier_t *barrier; /* all set up and warm: start timing */
	pthread_barrier_t *done;    /* all finished: stop the CPU clock */
	int index;
	/* out */
	CK_RV rv;
	char where[48];
	uint64_t count;
	double elapsed;
	uint32_t *lat_ns;
	size_t lat_cap, lat_n;
	unsigned char data[64];
	size_t data_len;
	unsigned char sig[SIG_MAX];
	CK_ULONG sig_len;
	struct timespec first_sig;
	double cpu_s; /* thread 0: process CPU time, timed part */
} thread_ctx_t;

static double ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void die_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "signgate-bench: %s\n", msg);
	fprintf(stderr, "usage: signgate-bench --module A.so [--module-b B.so] [--conf-b PATH]\n"
	                "         --token LABEL --pin PIN [--pin-b PIN] --id HEX\n"
	                "         --mech ecdsa|sha256-rsa|rsa-pkcs [--threads T] [--seconds S]\n"
	                "         [--rounds R] [--warmup S] [--pubkey PEM] [--no-login]\n"
	                "         [--name-a NAME] [--name-b NAME] [--env-a K=V] [--env-b K=V]\n"
	                "         [--tag TEXT] [--count N]\n"
	                "Alternates A and B for R rounds (A B A B ...), each round in a fresh\n"
	                "process, and prints signatures/s, the ratio B/A and p50/p99 latency.\n"
	                "Without --module-b, B is A again (a noise check: expect ~1.0).\n"
	                "--count N signs exactly N times per thread instead of for S seconds\n"
	                "(for valgrind --tool=callgrind --toggle-collect=sign_loop).\n");
	exit(2);
}

static int parse_hex(const char *hex, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);
	if (n == 0 || !codec_hex_decode(hex, n, CODEC_HEX_UPPER, out, cap, len))
		return -1;
	return 0;
}

static void parse_args(int argc, char **argv, bench_opts_t *o)
{
	enum {
		O_MODULE_B = 256,
		O_CONF_B,
		O_PIN_B,
		O_NAME_A,
		O_NAME_B,
		O_ENV_A,
		O_ENV_B,
		O_PUBKEY,
		O_NO_LOGIN,
		O_WARMUP,
		O_TAG,
		O_CONF_A,
		O_COUNT
	};
	static const struct option lopts[] = { { "module", required_argument, NULL, 'm' },
		                               { "module-b", required_argument, NULL, O_MODULE_B },
		                               { "conf-a", required_argument, NULL, O_CONF_A },
		                               { "conf-b", required_argument, NULL, O_CONF_B },
		                               { "token", required_argument, NULL, 't' },
		                               { "pin", required_argument, NULL, 'p' },
		                               { "pin-b", required_argument, NULL, O_PIN_B },
		                               { "mech", required_argument, NULL, 'M' },
		                               { "id", required_argument, NULL, 'i' },
		                               { "threads", required_argument, NULL, 'T' },
		                               { "seconds", required_argument, NULL, 's' },
		                               { "rounds", required_argument, NULL, 'r' },
		                               { "warmup", required_argument, NULL, O_WARMUP },
		                               { "pubkey", required_argument, NULL, O_PUBKEY },
		                               { "name-a", required_argument, NULL, O_NAME_A },
		                               { "name-b", required_argument, NULL, O_NAME_B },
		                               { "env-a", required_argument, NULL, O_ENV_A },
		                               { "env-b", required_argument, NULL, O_ENV_B },
		                               { "no-login", no_argument, NULL, O_NO_LOGIN },
		                               { "tag", required_argument, NULL, O_TAG },
		                               { "count", required_argument, NULL, O_COUNT },
		                               { "help", no_argument, NULL, 'h' },
		                               { NULL, 0, NULL, 0 } };
	const char *pin_b = NULL, *id_hex = NULL, *mech = NULL;
	int c;

	memset(o, 0, sizeof(*o));
	o->side[0].name = "A";
	o->side[1].name = "B";
	o->threads = 1;
	o->seconds = 3;
	o->warmup = 0.2;
	o->rounds = 3;
	o->login = true;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'm': o->side[0].module = optarg; break;
		case O_MODULE_B: o->side[1].module = optarg; break;
		case O_CONF_A: o->side[0].conf = optarg; break;
		case O_CONF_B: o->side[1].conf = optarg; break;
		case 't': o->token = optarg; break;
		case 'p': o->side[0].pin = optarg; break;
		case O_PIN_B: pin_b = optarg; break;
		case 'M': mech = optarg; break;
		case 'i': id_hex = optarg; break;
		case 'T': o->threads = atoi(optarg); break;
		case 's': o->seconds = strtod(optarg, NULL); break;
		case 'r': o->rounds = atoi(optarg); break;
		case O_WARMUP: o->warmup = strtod(optarg, NULL); break;
		case O_PUBKEY: o->pubkey_path = optarg; break;
		case O_NAME_A: o->side[0].name = optarg; break;
		case O_NAME_B: o->side[1].name = optarg; break;
		case O_ENV_A:
		case O_ENV_B: {
			bench_side_t *s = &o->side[c == O_ENV_A ? 0 : 1];
			if (s->n_env == MAX_ENV || !strchr(optarg, '='))
				die_usage("--env-a/--env-b take KEY=VALUE (at most 16)");
			s->env[s->n_env++] = optarg;
			break;
		}
		case O_NO_LOGIN: o->login = false; break;
		case O_TAG: o->tag = optarg; break;
		case O_COUNT: o->count = strtoull(optarg, NULL, 10); break;
		case 'h': die_usage(NULL); break;
		default: die_usage(NULL);
		}
	}
	if (optind != argc)
		die_usage("unexpected argument");
	if (!o->side[0].module || !o->token || !id_hex || !mech)
		die_usage("--module, --token, --id and --mech are required");
	if (o->login && !o->side[0].pin)
		die_usage("--pin is required (or --no-login)");
	if (!o->side[1].module)
		o->side[1].module = o->side[0].module;
	o->side[1].pin = pin_b ? pin_b : o->side[0].pin;
	if (parse_hex(id_hex, o->id, sizeof(o->id), &o->id_len) != 0)
		die_usage("--id must be hex");
	o->mech = (bench_mech_t)-1;
	for (size_t i = 0; i < sizeof(mech_names) / sizeof(mech_names[0]); i++)
		if (strcmp(mech, mech_names[i]) == 0)
			o->mech = (bench_mech_t)i;
	if ((int)o->mech < 0)
		die_usage("--mech must be ecdsa, sha256-rsa or rsa-pkcs");
	if (o->threads < 1 || o->threads > MAX_THREADS)
		die_usage("--threads must be 1..64");
	if (!(o->seconds > 0) || o->seconds > 3600)
		die_usage("--seconds must be > 0 and <= 3600");
	if (o->warmup < 0 || o->warmup > 60)
		die_usage("--warmup must be 0..60");
	if (o->count > 100000000)
		die_usage("--count must be at most 100000000");
	if (o->rounds < 1 || o->rounds > MAX_ROUNDS)
		die_usage("--rounds must be 1..100");
}

/* The data signed: a fresh input per signature (a counter in the first
 * bytes), so nothing on either side can cache a result. */
static void make_input(const bench_opts_t *o, thread_ctx_t *t, uint64_t n)
{
	unsigned char *h = t->data;
	if (o->mech == BENCH_RSA_PKCS) {
		memcpy(t->data, sha256_digestinfo_prefix, sizeof(sha256_digestinfo_prefix));
		h = t->data + sizeof(sha256_digestinfo_prefix);
		t->data_len = sizeof(sha256_digestinfo_prefix) + 32;
	} else {
		t->data_len = 32;
	}
	memset(h, 0xa5, 32);
	/* Never a leading zero byte: a raw ECDSA input that starts with
	 * zeros is refused as a shorter digest in disguise. */
	h[0] = (unsigned char)(0x80 | t->index);
	memcpy(h + 1, &n, sizeof(n));
}

static CK_MECHANISM_TYPE mech_type(bench_mech_t m)
{
	switch (m) {
	case BENCH_ECDSA: return CKM_ECDSA;
	case BENCH_SHA256_RSA: return CKM_SHA256_RSA_PKCS;
	case BENCH_RSA_PKCS: return CKM_RSA_PKCS;
	}
	return CKM_VENDOR_DEFINED;
}

/* The timed part, on its own so that callgrind can count exactly it
 * (--toggle-collect=sign_loop): instructions per signature are the one
 * measure a busy machine cannot disturb. */
static __attribute__((noinline)) CK_RV sign_loop(const bench_opts_t *o, thread_ctx_t *t,
                                                 CK_SESSION_HANDLE s, CK_MECHANISM *mech,
                                                 CK_OBJECT_HANDLE key, uint64_t n,
                                                 struct timespec *start, struct timespec *end)
{
	struct timespec a, b;
	CK_RV rv;

	clock_gettime(CLOCK_MONOTONIC, start);
	a = *start;
	for (;;) {
		make_input(o, t, n++);
		t->sig_len = sizeof(t->sig);
		rv = t->fl->C_SignInit(s, mech, key);
		if (rv != CKR_OK)
			return rv;
		rv = t->fl->C_Sign(s, t->data, t->data_len, t->sig, &t->sig_len);
		if (rv != CKR_OK)
			return rv;
		clock_gettime(CLOCK_MONOTONIC, &b);
		t->count++;
		if (t->lat_n < t->lat_cap) {
			int64_t ns = (int64_t)(b.tv_sec - a.tv_sec) * 1000000000LL +
			             (b.tv_nsec - a.tv_nsec);
			t->lat_ns[t->lat_n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t)ns;
		}
		if (o->count ? t->count >= o->count : ts_diff(start, &b) >= o->seconds)
			break;
		a = b;
	}
	*end = b;
	return CKR_OK;
}

#define FAIL_AT(t, what, r)                                             \
	do {                                                            \
		(t)->rv = (r);                                          \
		snprintf((t)->where, sizeof((t)->where), "%s", (what)); \
		goto out;                                               \
	} while (0)

static void *sign_thread(void *arg)
{
	thread_ctx_t *t = arg;
	const bench_opts_t *o = t->opts;
	CK_FUNCTION_LIST_PTR fl = t->fl;
	CK_SESSION_HANDLE s = CK_INVALID_HANDLE;
	CK_OBJECT_HANDLE key = CK_INVALID_HANDLE;
	CK_MECHANISM mech = { mech_type(o->mech), NULL, 0 };
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)o->id, o->id_len },
	};
	CK_ULONG found = 0;
	struct timespec a, b, start, warm_end, cpu0, cpu1;
	uint64_t n = 0;
	bool waited = false, finished = false;
	CK_RV rv;

	rv = fl->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &s);
	if (rv != CKR_OK)
		FAIL_AT(t, "C_OpenSession", rv);
	if (o->login) {
		const char *pin = t->side->pin;
		rv = fl->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
			FAIL_AT(t, "C_Login", rv);
	}
	rv = fl->C_FindObjectsInit(s, tmpl, 2);
	if (rv != CKR_OK)
		FAIL_AT(t, "C_FindObjectsInit", rv);
	rv = fl->C_FindObjects(s, &key, 1, &found);
	fl->C_FindObjectsFinal(s);
	if (rv != CKR_OK)
		FAIL_AT(t, "C_FindObjects", rv);
	if (found != 1)
		FAIL_AT(t, "no private key with that CKA_ID", CKR_OBJECT_HANDLE_INVALID);

	/* Warm up (first-use costs: key cache, lazy loading, CPU frequency),
	 * then wait for every thread so that all measure the same interval. */
	clock_gettime(CLOCK_MONOTONIC, &a);
	warm_end = a;
	warm_end.tv_nsec += (long)(o->warmup * 1e9);
	warm_end.tv_sec += warm_end.tv_nsec / 1000000000L;
	warm_end.tv_nsec %= 1000000000L;
	do {
		make_input(o, t, n++);
		t->sig_len = sizeof(t->sig);
		rv = fl->C_SignInit(s, &mech, key);
		if (rv != CKR_OK)
			FAIL_AT(t, "C_SignInit (warm-up)", rv);
		rv = fl->C_Sign(s, t->data, t->data_len, t->sig, &t->sig_len);
		if (rv != CKR_OK)
			FAIL_AT(t, "C_Sign (warm-up)", rv);
		clock_gettime(CLOCK_MONOTONIC, &b);
		if (n == 1)
			t->first_sig = b;
	} while (ts_diff(&b, &warm_end) > 0);

	pthread_barrier_wait(t->barrier);
	waited = true;

	/* Process CPU time over the timed part (thread 0 reads it for all):
	 * the other half of the machine's noise, a neighbour's build taking
	 * the CPU, stretches wall time but not CPU time per signature.  It
	 * includes any background thread of the module (an audit sender). */
	if (t->index == 0)
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu0);
	rv = sign_loop(o, t, s, &mech, key, n, &start, &b);
	if (rv != CKR_OK)
		FAIL_AT(t, "C_SignInit/C_Sign", rv);
	t->elapsed = ts_diff(&start, &b);
	t->rv = CKR_OK;
	pthread_barrier_wait(t->done);
	finished = true;
	if (t->index == 0) {
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu1);
		t->cpu_s = ts_diff(&cpu0, &cpu1);
	}
out:
	if (!waited)
		pthread_barrier_wait(t->barrier);
	if (!finished)
		pthread_barrier_wait(t->done);
	if (s != CK_INVALID_HANDLE)
		fl->C_CloseSession(s);
	return NULL;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* ECDSA on the token returns r || s; OpenSSL verifies DER. */
static int ecdsa_raw_to_der(const unsigned char *raw, size_t len, unsigned char **der, int *der_len)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(raw, (int)(len / 2), NULL);
	BIGNUM *s = BN_bin2bn(raw + len / 2, (int)(len / 2), NULL);
	int rc = -1;

	if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL;
	*der = NULL;
	*der_len = i2d_ECDSA_SIG(es, der);
	rc = *der_len > 0 ? 0 : -1;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rc;
}

/* 1 valid, 0 invalid, -1 could not check. */
static int verify_signature(const bench_opts_t *o, const thread_ctx_t *t)
{
	FILE *f = fopen(o->pubkey_path, "r");
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char *der = NULL;
	int der_len = 0, rc = -1;

	if (!f)
		return -1;
	pk = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk)
		return -1;
	switch (o->mech) {
	case BENCH_ECDSA:
		if (ecdsa_raw_to_der(t->sig, t->sig_len, &der, &der_len) != 0)
			goto out;
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		if (!ctx || EVP_PKEY_verify_init(ctx) <= 0)
			goto out;
		rc = EVP_PKEY_verify(ctx, der, (size_t)der_len, t->data, t->data_len) == 1;
		break;
	case BENCH_SHA256_RSA:
		md = EVP_MD_CTX_new();
		if (!md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pk) <= 0)
			goto out;
		rc = EVP_DigestVerify(md, t->sig, t->sig_len, t->data, t->data_len) == 1;
		break;
	case BENCH_RSA_PKCS:
		ctx = EVP_PKEY_CTX_new(pk, NULL);
		if (!ctx || EVP_PKEY_verify_init(ctx) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) <= 0)
			goto out;
		rc = EVP_PKEY_verify(ctx, t->sig, t->sig_len,
		                     t->data + sizeof(sha256_digestinfo_prefix), 32) == 1;
		break;
	}
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return rc;
}

static bool label_matches(const CK_UTF8CHAR *field, size_t field_len, const char *label)
{
	size_t n = strlen(label);
	if (n > field_len || memcmp(field, label, n) != 0)
		return false;
	for (size_t i = n; i < field_len; i++)
		if (field[i] != ' ')
			return false;
	return true;
}

static void result_fail(side_result_t *r, const char *where, CK_RV rv)
{
	r->ok = false;
	snprintf(r->error, sizeof(r->error), "%s: CK_RV 0x%lx", where, (unsigned long)rv);
}

/* One side, one round, in this (forked) process. */
static void run_side(const bench_opts_t *o, const bench_side_t *side, side_result_t *r)
{
	void *dl = NULL;
	CK_C_GetFunctionList get_fl;
	CK_FUNCTION_LIST_PTR fl = NULL;
	CK_C_INITIALIZE_ARGS init = { .flags = CKF_OS_LOCKING_OK };
	CK_SLOT_ID slots[64], slot = 0;
	CK_ULONG n_slots = 64;
	bool initialised = false, have_slot = false;
	thread_ctx_t *t = NULL;
	pthread_t tid[MAX_THREADS];
	pthread_barrier_t barrier, done;
	struct timespec t0;
	uint32_t *all = NULL;
	size_t n_all = 0;
	CK_RV rv;

	memset(r, 0, sizeof(*r));
	r->verified = -1;

	if (side->conf)
		setenv("SIGNGATE_CONF", side->conf, 1);
	else
		unsetenv("SIGNGATE_CONF");
	for (size_t i = 0; i < side->n_env; i++)
		putenv((char *)side->env[i]);

	/* Latency buffers first, touched, so that page faults land here. */
	t = calloc((size_t)o->threads, sizeof(*t));
	if (!t) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		return;
	}
	for (int i = 0; i < o->threads; i++) {
		t[i].lat_cap = o->count ? (size_t)o->count + 1
		                        : (size_t)(o->seconds * SAMPLES_PER_SECOND) + 1024;
		t[i].lat_ns = malloc(t[i].lat_cap * sizeof(uint32_t));
		if (!t[i].lat_ns) {
			snprintf(r->error, sizeof(r->error), "out of memory");
			goto out;
		}
		memset(t[i].lat_ns, 0, t[i].lat_cap * sizeof(uint32_t));
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	dl = dlopen(side->module, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		snprintf(r->error, sizeof(r->error), "dlopen %s: %s", side->module, dlerror());
		goto out;
	}
	get_fl = (CK_C_GetFunctionList)dlsym(dl, "C_GetFunctionList");
	if (!get_fl) {
		snprintf(r->error, sizeof(r->error), "%s: no C_GetFunctionList", side->module);
		goto out;
	}
	rv = get_fl(&fl);
	if (rv != CKR_OK || !fl) {
		result_fail(r, "C_GetFunctionList", rv);
		goto out;
	}
	rv = fl->C_Initialize(&init);
	if (rv != CKR_OK) {
		result_fail(r, "C_Initialize", rv);
		goto out;
	}
	initialised = true;
	rv = fl->C_GetSlotList(CK_TRUE, slots, &n_slots);
	if (rv != CKR_OK) {
		result_fail(r, "C_GetSlotList", rv);
		goto out;
	}
	for (CK_ULONG i = 0; i < n_slots && !have_slot; i++) {
		CK_TOKEN_INFO ti;
		if (fl->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    label_matches(ti.label, sizeof(ti.label), o->token)) {
			slot = slots[i];
			have_slot = true;
		}
	}
	if (!have_slot) {
		snprintf(r->error, sizeof(r->error), "no token labelled '%s'", o->token);
		goto out;
	}

	if (pthread_barrier_init(&barrier, NULL, (unsigned)o->threads) != 0 ||
	    pthread_barrier_init(&done, NULL, (unsigned)o->threads) != 0) {
		snprintf(r->error, sizeof(r->error), "pthread_barrier_init failed");
		goto out;
	}
	for (int i = 0; i < o->threads; i++) {
		t[i].opts = o;
		t[i].side = side;
		t[i].fl = fl;
		t[i].slot = slot;
		t[i].barrier = &barrier;
		t[i].done = &done;
		t[i].index = i;
		if (pthread_create(&tid[i], NULL, sign_thread, &t[i]) != 0) {
			/* The barrier counts on every thread: without one, stop. */
			fprintf(stderr, "signgate-bench: pthread_create failed\n");
			_exit(3);
		}
	}
	for (int i = 0; i < o->threads; i++)
		pthread_join(tid[i], NULL);
	pthread_barrier_destroy(&barrier);
	pthread_barrier_destroy(&done);

	r->ok = true;
	for (int i = 0; i < o->threads; i++) {
		if (t[i].rv != CKR_OK) {
			result_fail(r, t[i].where, t[i].rv);
			goto out;
		}
		r->count += t[i].count;
		r->rate += t[i].elapsed > 0 ? (double)t[i].count / t[i].elapsed : 0;
		n_all += t[i].lat_n;
	}
	r->init_ms = ts_diff(&t0, &t[0].first_sig) * 1e3;
	r->cpu_us = r->count ? t[0].cpu_s * 1e6 / (double)r->count : 0;

	all = malloc((n_all ? n_all : 1) * sizeof(*all));
	if (!all) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		r->ok = false;
		goto out;
	}
	n_all = 0;
	for (int i = 0; i < o->threads; i++) {
		memcpy(all + n_all, t[i].lat_ns, t[i].lat_n * sizeof(*all));
		n_all += t[i].lat_n;
	}
	if (n_all) {
		qsort(all, n_all, sizeof(*all), cmp_u32);
		r->p1_us = all[(size_t)((double)(n_all - 1) * 0.01)] / 1e3;
		r->p50_us = all[(n_all - 1) / 2] / 1e3;
		r->p99_us = all[(size_t)((double)(n_all - 1) * 0.99)] / 1e3;
	}
	if (o->pubkey_path)
		r->verified = verify_signature(o, &t[0]);

out:
	if (initialised)
		fl->C_Finalize(NULL);
	/* No dlclose: some modules do not survive being unloaded, and the
	 * process ends right after. */
	if (t)
		for (int i = 0; i < o->threads; i++)
			free(t[i].lat_ns);
	free(t);
	free(all);
	{
		struct rusage ru;
		if (getrusage(RUSAGE_SELF, &ru) == 0)
			r->maxrss_kb = ru.ru_maxrss;
	}
}

static int run_side_forked(const bench_opts_t *o, const bench_side_t *side, side_result_t *r)
{
	int fds[2];
	pid_t pid;
	ssize_t got = 0;
	int status;

	memset(r, 0, sizeof(*r));
	fflush(NULL);
	if (pipe(fds) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		side_result_t res;
		close(fds[0]);
		run_side(o, side, &res);
		if (write(fds[1], &res, sizeof(res)) != (ssize_t)sizeof(res))
			_exit(1);
		_exit(0);
	}
	close(fds[1]);
	while ((size_t)got < sizeof(*r)) {
		ssize_t n = read(fds[0], (char *)r + got, sizeof(*r) - (size_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if ((size_t)got != sizeof(*r)) {
		r->ok = false;
		if (WIFSIGNALED(status))
			snprintf(r->error, sizeof(r->error), "child killed by signal %d",
			         WTERMSIG(status));
		else
			snprintf(r->error, sizeof(r->error), "child exited with status %d",
			         WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	}
	return r->ok ? 0 : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median_of(const double *v, int n)
{
	double tmp[MAX_ROUNDS];
	memcpy(tmp, v, (size_t)n * sizeof(*v));
	qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

static void describe_side(const bench_side_t *s)
{
	printf("  %s: %s", s->name, s->module);
	if (s->conf)
		printf(" (SIGNGATE_CONF=%s)", s->conf);
	for (size_t i = 0; i < s->n_env; i++)
		printf(" %s", s->env[i]);
	printf("\n");
}

typedef struct ratio_stats {
	double min, med, max;
} ratio_stats_t;

static ratio_stats_t ratio_stats(const double *v, int n)
{
	ratio_stats_t s = { v[0], median_of(v, n), v[0] };
	for (int i = 1; i < n; i++) {
		if (v[i] < s.min)
			s.min = v[i];
		if (v[i] > s.max)
			s.max = v[i];
	}
	return s;
}

int main(int argc, char **argv)
{
	bench_opts_t o;
	static side_result_t res[MAX_ROUNDS][2];
	double rate[2][MAX_ROUNDS], p50[2][MAX_ROUNDS], p99[2][MAX_ROUNDS];
	double init[2][MAX_ROUNDS], cpu[2][MAX_ROUNDS], p1[2][MAX_ROUNDS];
	double r_rate[MAX_ROUNDS], r_p50[MAX_ROUNDS], r_cpu[MAX_ROUNDS], r_p1[MAX_ROUNDS];
	bool verify_failed = false, verify_checked = false;

	parse_args(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);

	printf("signgate-bench: mech=%s threads=%d seconds=%g rounds=%d token=%s\n",
	       mech_names[o.mech], o.threads, o.seconds, o.rounds, o.token);
	describe_side(&o.side[0]);
	describe_side(&o.side[1]);
	printf("%-6s %10s %10s %7s | %17s %17s | %15s | %s\n", "round", "A sig/s", "B sig/s", "B/A",
	       "A p50/p99 us", "B p50/p99 us", "CPU us/sig A/B", "verify");

	for (int round = 0; round < o.rounds; round++) {
		for (int s = 0; s < 2; s++) {
			side_result_t *r = &res[round][s];
			if (run_side_forked(&o, &o.side[s], r) != 0) {
				fprintf(stderr, "signgate-bench: round %d, side %s (%s): %s\n",
				        round + 1, o.side[s].name, o.side[s].module, r->error);
				printf("RESULT status=error side=%s error=\"%s\"%s%s\n",
				       o.side[s].name, r->error, o.tag ? " tag=" : "",
				       o.tag ? o.tag : "");
				return 1;
			}
			rate[s][round] = r->rate;
			p50[s][round] = r->p50_us;
			p1[s][round] = r->p1_us;
			p99[s][round] = r->p99_us;
			init[s][round] = r->init_ms;
			cpu[s][round] = r->cpu_us;
			if (r->verified >= 0) {
				verify_checked = true;
				if (r->verified == 0)
					verify_failed = true;
			}
		}
		/* All three as "B's speed relative to A": above 1 means B faster. */
		r_rate[round] = rate[0][round] > 0 ? rate[1][round] / rate[0][round] : 0;
		r_p50[round] = p50[1][round] > 0 ? p50[0][round] / p50[1][round] : 0;
		r_cpu[round] = cpu[1][round] > 0 ? cpu[0][round] / cpu[1][round] : 0;
		r_p1[round] = p1[1][round] > 0 ? p1[0][round] / p1[1][round] : 0;
		printf("%-6d %10.1f %10.1f %7.4f | %7.1f/%-9.1f %7.1f/%-9.1f | %7.2f/%-7.2f | %s\n",
		       round + 1, rate[0][round], rate[1][round], r_rate[round], p50[0][round],
		       p99[0][round], p50[1][round], p99[1][round], cpu[0][round], cpu[1][round],
		       res[round][0].verified < 0
		               ? "-"
		               : (res[round][0].verified == 1 && res[round][1].verified == 1
		                          ? "ok"
		                          : "FAILED"));
	}

	double a_rate = median_of(rate[0], o.rounds), b_rate = median_of(rate[1], o.rounds);
	double a_p50 = median_of(p50[0], o.rounds), b_p50 = median_of(p50[1], o.rounds);
	double a_p99 = median_of(p99[0], o.rounds), b_p99 = median_of(p99[1], o.rounds);
	double a_cpu = median_of(cpu[0], o.rounds), b_cpu = median_of(cpu[1], o.rounds);
	double a_init = median_of(init[0], o.rounds), b_init = median_of(init[1], o.rounds);
	double a_p1 = median_of(p1[0], o.rounds), b_p1 = median_of(p1[1], o.rounds);
	ratio_stats_t sr = ratio_stats(r_rate, o.rounds);
	ratio_stats_t sp = ratio_stats(r_p50, o.rounds);
	ratio_stats_t sc = ratio_stats(r_cpu, o.rounds);
	ratio_stats_t s1 = ratio_stats(r_p1, o.rounds);

	printf("%-6s %10.1f %10.1f %7.4f | %7.1f/%-9.1f %7.1f/%-9.1f | %7.2f/%-7.2f |\n", "median",
	       a_rate, b_rate, sr.med, a_p50, a_p99, b_p50, b_p99, a_cpu, b_cpu);
	printf("B relative to A (1.0 = same cost; min / median / max over rounds):\n");
	printf("  throughput  B/A          %.4f / %.4f / %.4f\n", sr.min, sr.med, sr.max);
	printf("  p50 latency A/B          %.4f / %.4f / %.4f\n", sp.min, sp.med, sp.max);
	printf("  CPU per signature A/B    %.4f / %.4f / %.4f\n", sc.min, sc.med, sc.max);
	printf("  p1 latency A/B           %.4f / %.4f / %.4f   (the undisturbed fast path)\n",
	       s1.min, s1.med, s1.max);
	printf("  B - A per signature: p1 %+.2f us, p50 %+.2f us, CPU %+.2f us\n", b_p1 - a_p1,
	       b_p50 - a_p50, b_cpu - a_cpu);
	printf("  start-up, dlopen to first signature (median): A %.2f ms, B %.2f ms\n", a_init,
	       b_init);
	printf("RESULT status=%s mech=%s threads=%d seconds=%g count=%llu rounds=%d "
	       "a_rate=%.1f b_rate=%.1f ratio_min=%.4f ratio_med=%.4f ratio_max=%.4f "
	       "p50ratio_min=%.4f p50ratio_med=%.4f p50ratio_max=%.4f "
	       "cpuratio_min=%.4f cpuratio_med=%.4f cpuratio_max=%.4f "
	       "p1ratio_min=%.4f p1ratio_med=%.4f p1ratio_max=%.4f a_p1_us=%.1f b_p1_us=%.1f "
	       "a_p50_us=%.1f a_p99_us=%.1f b_p50_us=%.1f b_p99_us=%.1f "
	       "a_cpu_us=%.2f b_cpu_us=%.2f a_init_ms=%.2f b_init_ms=%.2f verify=%s%s%s\n",
	       verify_failed ? "verify-failed" : "ok", mech_names[o.mech], o.threads, o.seconds,
	       (unsigned long long)o.count, o.rounds, a_rate, b_rate, sr.min, sr.med, sr.max,
	       sp.min, sp.med, sp.max, sc.min, sc.med, sc.max, s1.min, s1.med, s1.max, a_p1, b_p1,
	       a_p50, a_p99, b_p50, b_p99, a_cpu, b_cpu, a_init, b_init,
	       !verify_checked ? "skipped"
	       : verify_failed ? "failed"
	                       : "ok",
	       o.tag ? " tag=" : "", o.tag ? o.tag : "");
	return verify_failed ? 1 : 0;
}

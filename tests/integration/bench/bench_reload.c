/* signgate-bench-reload: does memory stay flat over config reloads?
 *
 * Through the module on a real token: loads a config with N keys, N
 * roles and N rules (default 10,000; plus the token's EC key, which this
 * caller may sign with), signs, and reads the resident set size; then
 * rewrites the config R times (default 100), signing after each change
 * so that the reload is noticed (the file is looked at most once a
 * second, by the signing call that comes first), and reads it again.
 *
 * One config's worth is the RSS the first load of the big config added
 * to a process that had already loaded the module with a one-key config,
 * signed and finalized (so that the token, OpenSSL and the allocator's
 * arenas are warm on both sides).  Each reading asks malloc to give back
 * the free pages it keeps (malloc_trim), so that it counts memory in use.  The bound: RSS after R reloads no
 * more than one config's worth above RSS after the first load.
 *
 * Each reload alternates between two variants of the big config: the
 * caller's rule on (the signature after it must be made) and off (it
 * must be refused), so every reload is proven to have happened; the last
 * reload is always an "on" one (the new config is in force a moment
 * after the change is noticed, loaded by a loader thread: each reload
 * waits for it, up to 60 s).  The latency of the call that noticed the
 * change (it no longer loads the new config) is reported too.
 *
 *   signgate-bench-reload --base FILE [--keys N] [--reloads R] [--check]
 *
 * --base: a config without roles, keys and rules (backend, state_dir,
 * audit): tools/bench-run writes it with the fixture.  Environment:
 * SIGNGATE_MODULE, SG_TOKEN, SG_USER_PIN, SG_EC_ID, SG_EC_FP.  The big
 * config is written beside --base.  --check: exit 1 when the bound is
 * not met (bench-smoke asserts it; memory is behaviour, not timing).
 * Prints a summary and a RESULT line.
 */
#include <dlfcn.h>
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "p11test.h"

static CK_FUNCTION_LIST_PTR f;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "signgate-bench-reload: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	printf("RESULT status=error tag=reload\n");
	exit(2);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resident set size.  The allocator is asked to give back the free
 * pages it keeps first (the module does the same after freeing a config),
 * so that what is measured is memory in use, the same way at each
 * reading: otherwise a parse's temporary memory, kept by malloc after the
 * first load, would count as part of "one config's worth". */
static long rss_kib(void)
{
#ifdef __GLIBC__
	malloc_trim(0);
#endif
	FILE *fp = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;
	if (!fp || fscanf(fp, "%ld %ld", &size, &res) != 2)
		die("cannot read /proc/self/statm");
	fclose(fp);
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* base + N keys, roles and rules nobody here holds, + the token's EC key
 * with a rule for this caller (on) or for a role nobody holds (off). */
static char *make_config(const char *base, size_t n, bool on, unsigned variant)
{
	const char *token = getenv("SG_TOKEN"), *id = getenv("SG_EC_ID"),
	           *fp_hex = getenv("SG_EC_FP");
	text_t t = { NULL, 0, 0 };

	if (!token || !id || !fp_hex)
		die("SG_TOKEN, SG_EC_ID and SG_EC_FP must be set");
	text_printf(&t, "# signgate-bench-reload: %zu keys, variant %u\n%s\nroles = (\n", n,
	            variant, base);
	text_printf(&t, "  { name = \"bench-me\"; users = [ %lu ]; },\n", (unsigned long)getuid());
	for (size_t i = 0; i < n; i++)
		text_printf(&t, "  { name = \"role%05zu\"; users = [ %lu ]; },\n", i,
		            (unsigned long)(200000 + i));
	text_printf(&t, "  { name = \"bench-nobody\"; users = [ 199999 ]; }\n);\nkeys = (\n");
	text_printf(
	        &t,
	        "  { name = \"bench-ec\"; token = \"%s\"; id = \"%s\"; fingerprint = \"sha256:%s\"; "
	        "products = [ \"bench\" ]; mechanisms = [ \"ECDSA\" ]; hashes = [ \"SHA256\" ]; }%s\n",
	        token, id, fp_hex, n ? "," : "");
	for (size_t i = 0; i < n; i++)
		text_fake_key(&t, i, token, i + 0x100, i + 1 == n);
	text_printf(&t, ");\nrules = (\n");
	text_printf(&t,
	            "  { name = \"bench-sign\"; roles = [ \"%s\" ]; keys = [ \"bench-ec\" ]; }%s\n",
	            on ? "bench-me" : "bench-nobody", n ? "," : "");
	for (size_t i = 0; i < n; i++)
		text_printf(
		        &t,
		        "  { name = \"rule%05zu\"; roles = [ \"role%05zu\" ]; keys = [ \"key%05zu\" ]; }%s\n",
		        i, i, i, i + 1 < n ? "," : "");
	text_printf(&t, ");\n");
	return t.buf;
}

/* Replace the file in one step: a new inode, as an editor or a
 * deployment does; the module sees a change. */
static void install(const char *path, const char *text)
{
	if (p11t_replace_file(path, text, strlen(text)) != 0)
		die("cannot install %s: %s", path, strerror(errno));
}
typedef struct token {
	CK_SESSION_HANDLE s;
	CK_OBJECT_HANDLE key;
} token_t;

static void open_token(token_t *tk)
{
	const char *label = getenv("SG_TOKEN"), *pin = getenv("SG_USER_PIN"),
	           *id = getenv("SG_EC_ID");
	CK_SLOT_ID slot;
	CK_RV rv;

	if (!pin || !id)
		die("SG_USER_PIN and SG_EC_ID must be set");
	if ((rv = p11t_initialize(f, NULL)) != CKR_OK)
		die("C_Initialize = 0x%lx", rv);
	if ((slot = p11t_slot_by_label(f, label)) == (CK_SLOT_ID)-1)
		die("token %s not found", label);
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &tk->s) != CKR_OK)
		die("C_OpenSession");
	if ((rv = f->C_Login(tk->s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin))) != CKR_OK)
		die("C_Login = 0x%lx", rv);
	tk->key = p11t_key(f, tk->s, CKO_PRIVATE_KEY, (unsigned char)strtoul(id, NULL, 16));
	if (tk->key == CK_INVALID_HANDLE)
		die("EC key %s not found", id);
}
/* One ECDSA signature over a hash; the CKR of C_SignInit or C_Sign. */
static CK_RV sign_once(const token_t *tk)
{
	CK_MECHANISM m = { CKM_ECDSA, NULL, 0 };
	/* a valid SHA-256 value (below the curve order) */
	unsigned char h[32] = { 0x2c, 0x26, 0xb4, 0x6b, 0x68, 0xff, 0xc6, 0x8f, 0xf9, 0x9b, 0x45,
		                0x3c, 0x1d, 0x30, 0x41, 0x34, 0x13, 0x42, 0x2d, 0x70, 0x64, 0x83,
		                0xbf, 0xa0, 0xf9, 0x8a, 0x5e, 0x88, 0x62, 0x66, 0xe7, 0xae };
	unsigned char sig[132];
	CK_ULONG sl = sizeof(sig);
	CK_RV rv = f->C_SignInit(tk->s, &m, tk->key);
	if (rv != CKR_OK)
		return rv;
	return f->C_Sign(tk->s, h, sizeof(h), sig, &sl);
}

/* Wait until the wall-clock second changes: the module looks at the file
 * at most once per second. */
static void next_second(void)
{
	time_t t0 = time(NULL);
	while (time(NULL) == t0)
		usleep(20000);
}

int main(int argc, char **argv)
{
	const char *base_path = NULL, *module = getenv("SIGNGATE_MODULE");
	size_t keys = 10000;
	int reloads = 100;
	bool check = false;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--base") && i + 1 < argc)
			base_path = argv[++i];
		else if (!strcmp(argv[i], "--keys") && i + 1 < argc)
			keys = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--reloads") && i + 1 < argc)
			reloads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--check"))
			check = true;
		else
			die("usage: signgate-bench-reload --base FILE [--keys N] [--reloads R] [--check]");
	}
	if (!base_path || !module || reloads < 1 || keys > 1000000)
		die("usage: signgate-bench-reload --base FILE [--keys N] [--reloads R] [--check]"
		    " (SIGNGATE_MODULE set)");
	if (reloads % 2)
		reloads++; /* the last reload must be an "on" one */

	char conf[4096];
	snprintf(conf, sizeof(conf), "%s.reload.conf", base_path);
	setenv("SIGNGATE_CONF", conf, 1);
	char *base = p11t_read_file(base_path, NULL);
	if (!base)
		die("cannot read %s: %s", base_path, strerror(errno));

	const char *why = NULL;
	if (!(f = p11t_open_module(module, RTLD_NOW | RTLD_LOCAL, &why)))
		die("%s: %s", module, why);

	/* Warm up with a one-key config: module, token, OpenSSL, arenas. */
	token_t tk;
	char *small = make_config(base, 0, true, 0);
	install(conf, small);
	free(small);
	open_token(&tk);
	if (sign_once(&tk) != CKR_OK)
		die("signing with the one-key config failed");
	f->C_Finalize(NULL);
	long rss_base = rss_kib();

	/* The big config, built before it is measured (its text is freed
	 * before the first reading). */
	char *on = make_config(base, keys, true, 1), *off = make_config(base, keys, false, 2);
	size_t text_len = strlen(on);
	install(conf, on);
	double t0 = now_ms();
	open_token(&tk);
	double init_ms = now_ms() - t0;
	CK_RV rv = sign_once(&tk);
	if (rv != CKR_OK)
		die("signing with the %zu-key config failed: 0x%lx", keys, rv);
	long rss_first = rss_kib();
	long worth = rss_first - rss_base;

	double *lat = calloc((size_t)reloads, sizeof(*lat));
	long rss_max = rss_first;
	if (!lat)
		die("out of memory");
	for (int r = 1; r <= reloads; r++) {
		bool want_on = r % 2 == 0;
		install(conf, want_on ? on : off);
		next_second();
		t0 = now_ms();
		rv = sign_once(&tk);
		lat[r - 1] = now_ms() - t0;
		/* A loader thread loads the new config (issue 13): it is in
		 * force a moment after the call that noticed the change. */
		for (int k = 0; k < 600 && (want_on ? rv != CKR_OK : rv != CKR_FUNCTION_REJECTED);
		     k++) {
			usleep(100000);
			rv = sign_once(&tk);
		}
		if (want_on ? rv != CKR_OK : rv != CKR_FUNCTION_REJECTED)
			die("reload %d (%s): signature CKR 0x%lx: the reload was not seen", r,
			    want_on ? "rule on" : "rule off", rv);
		long now = rss_kib();
		if (now > rss_max)
			rss_max = now;
	}
	/* the session now holds the config in force only */
	if (sign_once(&tk) != CKR_OK)
		die("signing after the reloads failed");
	long rss_after = rss_kib();
	f->C_Finalize(NULL);
	long rss_fini = rss_kib();
	free(on);
	free(off);
	free(base);

	qsort(lat, (size_t)reloads, sizeof(*lat), cmp_double);
	double p50 = lat[(reloads - 1) / 2], pmax = lat[reloads - 1];
	free(lat);
	long growth = rss_after - rss_first;
	bool ok = growth <= worth;

	printf("config: %zu keys, %zu roles, %zu rules (%.1f KiB of text); C_Initialize with it: %.0f ms\n",
	       keys, keys, keys, (double)text_len / 1024, init_ms);
	printf("RSS before the big config (module, token and a one-key config warmed up): %8.1f MiB\n",
	       rss_base / 1024.0);
	printf("RSS after its first load:                                                %8.1f MiB\n",
	       rss_first / 1024.0);
	printf("one config's worth (the first load's growth):                            %8.1f MiB\n",
	       worth / 1024.0);
	printf("RSS after %3d reloads:                                                   %8.1f MiB "
	       "(%+.1f MiB; highest after a reload %.1f MiB)\n",
	       reloads, rss_after / 1024.0, growth / 1024.0, rss_max / 1024.0);
	printf("RSS after C_Finalize:                                                    %8.1f MiB\n",
	       rss_fini / 1024.0);
	printf("the signing call that noticed a change (it loads the config): p50 %.0f ms, max %.0f ms\n",
	       p50, pmax);
	printf("verdict: %s (RSS after %d reloads %s one config's worth above the first load)\n",
	       ok ? "ok" : "FAIL", reloads, ok ? "within" : "MORE than");
	printf("RESULT status=ok tag=reload keys=%zu reloads=%d rss_base_kib=%ld rss_first_kib=%ld "
	       "config_worth_kib=%ld rss_after_kib=%ld rss_max_kib=%ld rss_fini_kib=%ld "
	       "reload_call_p50_ms=%.1f reload_call_max_ms=%.1f verdict=%s\n",
	       keys, reloads, rss_base, rss_first, worth, rss_after, rss_max, rss_fini, p50, pmax,
	       ok ? "ok" : "fail");
	return check && !ok ? 1 : 0;
}

/* signgate-bench-policy: does the policy stay flat as it grows?
 *
 * For each size N (default 10 and 10,000) it generates a config with N
 * keys, N roles and N rules (rule i lets role i sign with key i), loads
 * it with config_load_string() and reports the load time and the peak
 * RSS it took, then times policy_key_lookup() and policy_decide() for
 * an allowed and a denied request.
 *
 * Timing single calls of well under a microsecond with clock_gettime
 * would mostly measure the clock, so calls are timed in batches; the
 * median and p99 are of the per-call mean of each batch.  Every size is
 * measured in its own forked child so ru_maxrss belongs to that size
 * alone.  Prints a table and one RESULT line per size; asserts nothing.
 *
 *   signgate-bench-policy [--sizes 10,10000] [--batches B] [--batch-size K]
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_common.h"
#include "bench_libconfig.h"
#include "caller.h"
#include "identify.h"
#include "config.h"
#include "mech.h"
#include "policy.h"

#define MAX_SIZES 8

static volatile uint64_t g_sink; /* keeps the timed calls from being optimised away */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* N keys, N roles, N rules.  Role `mine` holds the running uid; every
 * other role holds a uid nobody has, so the caller is in exactly one. */
static char *make_config(size_t n, size_t mine, const char *state_dir)
{
	text_t t = { NULL, 0, 0 };

	text_printf(&t,
	            "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; "
	            "tokens = [ \"bench\" ]; };\nstate_dir = \"%s\";\n"
	            "audit = { enabled = false; };\nroles = (\n",
	            state_dir);
	for (size_t i = 0; i < n; i++)
		text_printf(&t, "  { name = \"role%05zu\"; users = [ %lu ]; }%s\n", i,
		            i == mine ? (unsigned long)getuid() : (unsigned long)(200000 + i),
		            i + 1 < n ? "," : "");
	text_printf(&t, ");\nkeys = (\n");
	for (size_t i = 0; i < n; i++)
		text_fake_key(&t, i, "bench", i, i + 1 == n);
	text_printf(&t, ");\nrules = (\n");
	for (size_t i = 0; i < n; i++)
		text_printf(
		        &t,
		        "  { name = \"rule%05zu\"; roles = [ \"role%05zu\" ]; keys = [ \"key%05zu\" ]; }%s\n",
		        i, i, i, i + 1 < n ? "," : "");
	text_printf(&t, ");\n");
	return t.buf;
}

typedef struct stats {
	double p50_ns, p99_ns;
} stats_t;

typedef struct bench_cfg {
	int batches, batch_size;
} bench_cfg_t;

typedef enum { OP_LOOKUP, OP_DECIDE } op_t;

static stats_t time_op(const bench_cfg_t *bc, op_t op, const config_t *cfg,
                       const policy_key_ref_t *ref, const policy_request_t *req)
{
	double *per_call = malloc((size_t)bc->batches * sizeof(*per_call));
	policy_decision_t d;
	policy_reason_t reason;
	stats_t s = { 0, 0 };

	if (!per_call)
		abort();
	for (int b = 0; b < bc->batches; b++) {
		double t0 = now_s();
		for (int k = 0; k < bc->batch_size; k++) {
			if (op == OP_LOOKUP) {
				g_sink += (uintptr_t)policy_key_lookup(cfg, ref, &reason);
			} else {
				policy_decide(cfg, req, &d);
				g_sink += d.allow;
			}
		}
		per_call[b] = (now_s() - t0) * 1e9 / bc->batch_size;
	}
	qsort(per_call, (size_t)bc->batches, sizeof(*per_call), cmp_double);
	s.p50_ns = per_call[(bc->batches - 1) / 2];
	s.p99_ns = per_call[(size_t)((bc->batches - 1) * 0.99)];
	free(per_call);
	return s;
}

static int run_size(const bench_cfg_t *bc, size_t n)
{
	char state_dir[] = "/tmp/signgate-bench-policy.XXXXXX";
	char err[CONFIG_ERR_MAX];
	struct rusage ru0, ru1;
	config_t *cfg = NULL;
	double load_ms[5], parse_ms[5];
	int loads = n > 1000 ? 3 : 5;
	size_t mine = n / 2;
	caller_t me;
	int rc = 1;

	if (!mkdtemp(state_dir)) {
		perror("mkdtemp");
		return 1;
	}
	char *text = make_config(n, mine, state_dir);

	/* The first load gives the RSS growth; the others only the time. */
	getrusage(RUSAGE_SELF, &ru0);
	for (int i = 0; i < loads; i++) {
		double t0 = now_s();
		config_t *c = config_load_string(text, "generated", err, sizeof(err));
		load_ms[i] = (now_s() - t0) * 1e3;
		if (!c) {
			fprintf(stderr, "signgate-bench-policy: N=%zu: %s\n", n, err);
			goto out;
		}
		if (i == 0)
			getrusage(RUSAGE_SELF, &ru1);
		if (i + 1 == loads)
			cfg = c;
		else
			config_free(c);
	}
	qsort(load_ms, (size_t)loads, sizeof(*load_ms), cmp_double);
	for (int i = 0; i < loads; i++)
		parse_ms[i] = bench_libconfig_parse_ms(text);
	qsort(parse_ms, (size_t)loads, sizeof(*parse_ms), cmp_double);

	if (caller_identify_self(&me, false) != 0 || !me.known) {
		fprintf(stderr, "signgate-bench-policy: cannot identify this process\n");
		goto out;
	}

	unsigned char id[4] = { (unsigned char)(mine >> 24), (unsigned char)(mine >> 16),
		                (unsigned char)(mine >> 8), (unsigned char)mine };
	char label[32];
	snprintf(label, sizeof(label), "label-%zu", mine);
	policy_key_ref_t ref = { .token_label = "bench",
		                 .id = id,
		                 .id_len = sizeof(id),
		                 .label = label,
		                 .has_fingerprint = true };
	fake_fingerprint(mine, ref.fingerprint);
	policy_reason_t reason;
	const policy_key_t *key = policy_key_lookup(cfg, &ref, &reason);
	if (!key) {
		fprintf(stderr, "signgate-bench-policy: N=%zu: key lookup failed (%s)\n", n,
		        policy_reason_name(reason));
		goto out;
	}

	policy_request_t allow = { .action = POLICY_ACTION_SIGN,
		                   .caller = &me,
		                   .key = key,
		                   .mech = MECH_ECDSA,
		                   .hash = HASH_SHA256,
		                   .now = time(NULL) };
	policy_decision_t d;
	policy_decide(cfg, &allow, &d);
	if (!d.allow) {
		fprintf(stderr, "signgate-bench-policy: N=%zu: expected allow, got %s (%s)\n", n,
		        policy_reason_name(d.reason), d.detail);
		goto out;
	}
	/* Denied: a key of another role (the caller has a role, no rule for it). */
	policy_request_t deny = allow;
	deny.key = &cfg->keys[(mine + 1) % n];
	policy_decide(cfg, &deny, &d);
	if (d.allow) {
		fprintf(stderr, "signgate-bench-policy: N=%zu: expected deny\n", n);
		goto out;
	}
	const char *deny_reason = policy_reason_name(d.reason);

	stats_t lk = time_op(bc, OP_LOOKUP, cfg, &ref, NULL);
	stats_t al = time_op(bc, OP_DECIDE, cfg, NULL, &allow);
	stats_t dn = time_op(bc, OP_DECIDE, cfg, NULL, &deny);
	long rss_kb = ru1.ru_maxrss - ru0.ru_maxrss;

	printf("%7zu %9.1f %10.2f %10.2f %9.1f %9.1f/%-7.1f %9.1f/%-7.1f %9.1f/%-7.1f  %s\n", n,
	       (double)strlen(text) / 1024, load_ms[loads / 2], parse_ms[loads / 2],
	       (double)rss_kb / 1024, lk.p50_ns, lk.p99_ns, al.p50_ns, al.p99_ns, dn.p50_ns,
	       dn.p99_ns, deny_reason);
	printf("RESULT status=ok tag=policy n=%zu config_kib=%.1f load_ms=%.2f libconfig_parse_ms=%.2f rss_growth_kib=%ld "
	       "peak_rss_kib=%ld lookup_p50_ns=%.1f lookup_p99_ns=%.1f decide_allow_p50_ns=%.1f "
	       "decide_allow_p99_ns=%.1f decide_deny_p50_ns=%.1f decide_deny_p99_ns=%.1f\n",
	       n, (double)strlen(text) / 1024, load_ms[loads / 2], parse_ms[loads / 2], rss_kb,
	       ru1.ru_maxrss, lk.p50_ns, lk.p99_ns, al.p50_ns, al.p99_ns, dn.p50_ns, dn.p99_ns);
	rc = 0;
out:
	config_free(cfg);
	free(text);
	rmdir(state_dir);
	return rc;
}

int main(int argc, char **argv)
{
	size_t sizes[MAX_SIZES] = { 10, 10000 };
	int n_sizes = 2, failed = 0;
	bench_cfg_t bc = { 2000, 256 };

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--sizes") && i + 1 < argc) {
			char *p = argv[++i];
			n_sizes = 0;
			while (*p && n_sizes < MAX_SIZES) {
				char *end;
				unsigned long v = strtoul(p, &end, 10);
				if (end == p || v < 2 || v > 1000000) {
					fprintf(stderr, "signgate-bench-policy: bad --sizes\n");
					return 2;
				}
				sizes[n_sizes++] = v;
				p = *end == ',' ? end + 1 : end;
			}
		} else if (!strcmp(argv[i], "--batches") && i + 1 < argc) {
			bc.batches = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc) {
			bc.batch_size = atoi(argv[++i]);
		} else {
			fprintf(stderr, "usage: signgate-bench-policy [--sizes 10,10000] "
			                "[--batches B] [--batch-size K]\n");
			return 2;
		}
	}
	if (bc.batches < 1 || bc.batch_size < 1)
		return 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("policy micro-benchmark: N keys, N roles, N rules; times per call are medians/p99 "
	       "of %d batches of %d calls\n",
	       bc.batches, bc.batch_size);
	printf("%7s %9s %10s %10s %9s %17s %17s %17s  %s\n", "N", "conf KiB", "load ms",
	       "libconfig", "RSS+ MiB", "lookup ns p50/p99", "allow ns p50/p99", "deny ns p50/p99",
	       "deny reason");
	for (int i = 0; i < n_sizes; i++) {
		pid_t pid;
		int status;
		fflush(NULL);
		pid = fork();
		if (pid < 0) {
			perror("fork");
			return 1;
		}
		if (pid == 0)
			_exit(run_size(&bc, sizes[i]));
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			failed = 1;
	}
	return failed;
}

/* signgate-bench-state: what one counted decision costs in each state
 * store.  Calls quota_take() (a rule quota, limit never reached) and
 * state_key_revoked() in a loop and prints median and p99 per call; for
 * PostgreSQL also the cost of the first decision of a process (connect,
 * statement timeout, schema check, then the statement), which is what
 * broker mode pays once per client connection.
 *
 * usage: signgate-bench-state LOCATOR [N [CONNINFO]]
 *   LOCATOR  a state directory, or postgresql:TIMEOUT_MS:CONNINFO_FILE
 *   CONNINFO the same database: also time a bare SELECT 1 round trip
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "quota.h"
#include "state.h"

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp64);
	printf("%-44s n=%-6zu median=%8.1f us  p99=%8.1f us\n", what, n, v[n / 2] / 1000.0,
	       v[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1] / 1000.0);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s LOCATOR [N]\n", argv[0]);
		return 2;
	}
	const char *loc = argv[1];
	size_t n = argc > 2 ? (size_t)atol(argv[2]) : 2000;
	int64_t *v = calloc(n, sizeof *v);
	char name[64], reason[STATE_REASON_MAX + 1];
	if (!v || n < 10)
		return 2;
	snprintf(name, sizeof name, "rule:bench-%ld:uid:0", (long)time(NULL));

	if (state_is_postgresql(loc)) {
		size_t k = n / 20 < 10 ? 10 : n / 20;
		for (size_t i = 0; i < k; i++) {
			state_pg_close();
			int64_t t = now_ns();
			if (quota_take(loc, name, 2000000000u, 86400, time(NULL)) != 1) {
				fprintf(stderr, "quota_take failed: %s\n", state_error());
				return 1;
			}
			v[i] = now_ns() - t;
		}
		report("first decision of a process (connect+take)", v, k);
		/* The floor: one bare round trip on a connection of our own. */
		if (argc > 3) {
			PGconn *c = PQconnectdb(argv[3]);
			if (PQstatus(c) != CONNECTION_OK) {
				fprintf(stderr, "connect: %s", PQerrorMessage(c));
				return 1;
			}
			for (size_t i = 0; i < n; i++) {
				int64_t t = now_ns();
				PGresult *r =
				        PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0);
				if (PQresultStatus(r) != PGRES_TUPLES_OK)
					return 1;
				PQclear(r);
				v[i] = now_ns() - t;
			}
			report("bare round trip (SELECT 1), for scale", v, n);
			PQfinish(c);
		}
	}
	for (size_t i = 0; i < n; i++) {
		int64_t t = now_ns();
		if (quota_take(loc, name, 2000000000u, 86400, time(NULL)) != 1) {
			fprintf(stderr, "quota_take failed: %s\n", state_error());
			return 1;
		}
		v[i] = now_ns() - t;
	}
	report("counted decision (quota_take)", v, n);
	for (size_t i = 0; i < n; i++) {
		int64_t t = now_ns();
		if (quota_give_back(loc, name, 86400, time(NULL)) != 0) {
			fprintf(stderr, "quota_give_back failed: %s\n", state_error());
			return 1;
		}
		v[i] = now_ns() - t;
	}
	report("give back (quota_give_back)", v, n);
	for (size_t i = 0; i < n; i++) {
		state_revocation_cache_flush();
		int64_t t = now_ns();
		if (state_key_revoked(loc, "bench-key", reason, sizeof reason) < 0) {
			fprintf(stderr, "state_key_revoked failed: %s\n", state_error());
			return 1;
		}
		v[i] = now_ns() - t;
	}
	report("revocation list read (once a second)", v, n);
	for (size_t i = 0; i < n; i++) {
		int64_t t = now_ns();
		if (state_key_revoked(loc, "bench-key", reason, sizeof reason) < 0)
			return 1;
		v[i] = now_ns() - t;
	}
	report("revocation check, cached (every decision)", v, n);
	free(v);
	return 0;
}

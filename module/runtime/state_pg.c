/* signgate: the PostgreSQL state store (see state.h).
 *
 * One connection per process, made when a decision first needs the store
 * and kept; all statements run under one mutex.  Every counted decision
 * is one statement in autocommit: INSERT ... ON CONFLICT ... DO UPDATE ...
 * WHERE <under the limit> RETURNING, so two hosts can never both take the
 * last unit (the row lock of the conflicting row serialises them).
 *
 * Every wait (connect, send, result) is bounded by the locator's timeout
 * with poll(); the server's statement_timeout is set to the same value.
 * A statement whose result never arrives may still have committed: such
 * a unit is reported as not taken (-1, the signature is refused) and not
 * given back, so it counts as used.  Never a signature past a limit.
 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#define PG_CONNINFO_MAX 4096
#define PG_RETRY_MS 1000 /* after a failed connect, fail fast this long */

static pthread_mutex_t pg_lock = PTHREAD_MUTEX_INITIALIZER;
static PGconn *pg_conn;      /* NULL = not connected */
static pid_t pg_pid;         /* the process that made pg_conn */
static unsigned pg_prepared; /* statements prepared on pg_conn, a bit each */
static char pg_locator[PATH_MAX + 32];
static int64_t pg_retry_at;     /* monotonic ms: no new connect before */
static char pg_last_error[256]; /* why the store is down (for fast failures) */
static bool pg_down_reported;   /* one stderr line per outage */
static bool pg_atexit_done;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "postgresql:TIMEOUT:FILE" */
static bool locator_parse(const char *loc, int *timeout_ms, const char **file)
{
	char *end;
	if (strncmp(loc, "postgresql:", 11) != 0)
		return false;
	errno = 0;
	long t = strtol(loc + 11, &end, 10);
	if (errno || end == loc + 11 || *end != ':' || t < 1 || t > 600000 || end[1] != '/')
		return false;
	*timeout_ms = (int)t;
	*file = end + 1;
	return true;
}

/* The connection string, read with the PIN file's rules: a regular file
 * that is not group-writable nor accessible to others (it may hold a
 * password). */
static int conninfo_read(const char *path, char *buf, size_t cap)
{
	struct stat st;
	size_t n = 0;
	int rc = -1;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		state_set_error("conninfo_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		state_set_error("conninfo_file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IWGRP | S_IRWXO)) {
		state_set_error(
		        "conninfo_file %s: group-writable or accessible by others (mode %04o); "
		        "chmod 0600 it",
		        path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			state_set_error("conninfo_file %s: %s", path, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap - 1) {
			state_set_error("conninfo_file %s: longer than %zu bytes", path, cap - 2);
			goto out;
		}
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	if (memchr(buf, '\0', n)) {
		state_set_error("conninfo_file %s: contains a NUL byte", path);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Wait until the socket is ready for `events` or the deadline passes. */
static int wait_socket(PGconn *c, short events, int64_t deadline)
{
	int fd = PQsocket(c);
	if (fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - mono_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left > INT_MAX ? INT_MAX : left));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Send a statement and read its last result, all before the deadline.
 * *sent tells whether the server may have seen it. */
static PGresult *pg_finish(PGconn *c, int64_t deadline, bool *sent);

static PGresult *pg_run(PGconn *c, const char *sql, int n, const char *const *params,
                        int64_t deadline, bool *sent)
{
	*sent = false;
	/* Without parameters the simple protocol: it takes several
	 * statements in one string (the schema). */
	if (!(n == 0 ? PQsendQuery(c, sql)
	             : PQsendQueryParams(c, sql, n, NULL, params, NULL, NULL, 0))) {
		state_set_error("postgresql: %s", PQerrorMessage(c));
		return NULL;
	}
	return pg_finish(c, deadline, sent);
}

/* Flush what was sent and read the last result before the deadline. */
static PGresult *pg_finish(PGconn *c, int64_t deadline, bool *sent)
{
	PGresult *last = NULL;

	*sent = true;
	for (;;) {
		int f = PQflush(c);
		if (f == 0)
			break;
		if (f < 0 || wait_socket(c, POLLOUT | POLLIN, deadline) <= 0) {
			state_set_error("postgresql: %s",
			                f < 0 ? PQerrorMessage(c) : "timed out sending");
			return NULL;
		}
		if (!PQconsumeInput(c)) {
			state_set_error("postgresql: %s", PQerrorMessage(c));
			return NULL;
		}
	}
	for (;;) {
		while (!PQisBusy(c)) {
			PGresult *r = PQgetResult(c);
			if (!r)
				return last;
			PQclear(last);
			last = r;
		}
		int w = wait_socket(c, POLLIN, deadline);
		if (w <= 0) {
			state_set_error("postgresql: %s",
			                w == 0 ? "no answer within timeout_ms" : strerror(errno));
			PQclear(last);
			return NULL;
		}
		if (!PQconsumeInput(c)) {
			state_set_error("postgresql: %s", PQerrorMessage(c));
			PQclear(last);
			return NULL;
		}
	}
}

/* First line of libpq's message, without the trailing newline. */
static void pg_error_from(const char *what, const char *msg)
{
	size_t n = strcspn(msg, "\n");
	state_set_error("postgresql: %s: %.*s", what, (int)(n > 200 ? 200 : n), msg);
}

static void drop_locked(void)
{
	if (pg_conn && pg_pid == getpid())
		PQfinish(pg_conn);
	pg_prepared = 0;
	/* In a forked child the parent's connection is the parent's: its
	 * socket is left alone (closing it would end the parent's session). */
	pg_conn = NULL;
}

static void pg_atexit(void)
{
	pthread_mutex_lock(&pg_lock);
	drop_locked();
	pthread_mutex_unlock(&pg_lock);
}

static void report_down_locked(void)
{
	snprintf(pg_last_error, sizeof pg_last_error, "%s", state_error());
	if (!pg_down_reported) {
		fprintf(stderr,
		        "signgate: state store unavailable, refusing decisions that need it "
		        "(state-unavailable): %s\n",
		        pg_last_error);
		pg_down_reported = true;
	}
}

/* Connect (asynchronously, bounded by the timeout), set the server-side
 * statement timeout and read the schema version in one round trip.
 * check_schema: refuse a version this build does not know. */
static PGconn *connect_now(const char *file, int timeout_ms, bool check_schema, int *version)
{
	char conninfo[PG_CONNINFO_MAX];
	int64_t deadline = mono_ms() + timeout_ms;
	PGconn *c;
	bool sent;

	*version = 0;
	if (conninfo_read(file, conninfo, sizeof conninfo) != 0)
		return NULL;
	const char *const keys[] = { "dbname", "fallback_application_name", NULL };
	const char *const vals[] = { conninfo, "signgate", NULL };
	c = PQconnectStartParams(keys, vals, 1);
	OPENSSL_cleanse(conninfo, sizeof conninfo);
	if (!c) {
		state_set_error("postgresql: out of memory");
		return NULL;
	}
	if (PQstatus(c) == CONNECTION_BAD) {
		pg_error_from("connect", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PostgresPollingStatusType ps = PGRES_POLLING_WRITING;
	while (ps != PGRES_POLLING_OK) {
		if (ps == PGRES_POLLING_FAILED) {
			pg_error_from("connect", PQerrorMessage(c));
			PQfinish(c);
			return NULL;
		}
		int w = wait_socket(c, ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
		if (w <= 0) {
			state_set_error("postgresql: connect: no answer within timeout_ms (%d ms)",
			                timeout_ms);
			PQfinish(c);
			return NULL;
		}
		ps = PQconnectPoll(c);
	}
	if (PQsetnonblocking(c, 1) != 0) {
		pg_error_from("connect", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	char tmo[32];
	snprintf(tmo, sizeof tmo, "%d", timeout_ms);
	const char *const p[] = { tmo };
	PGresult *r = pg_run(c,
	                     "SELECT set_config('statement_timeout', $1, false), "
	                     "to_regclass('signgate_schema') IS NOT NULL",
	                     1, p, deadline, &sent);
	if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
		if (r)
			pg_error_from("setup", PQresultErrorMessage(r));
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	bool has_schema = PQgetvalue(r, 0, 1)[0] == 't';
	PQclear(r);
	if (has_schema) {
		r = pg_run(c, "SELECT max(version) FROM signgate_schema", 0, NULL, deadline, &sent);
		if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
			if (r)
				pg_error_from("schema version", PQresultErrorMessage(r));
			PQclear(r);
			PQfinish(c);
			return NULL;
		}
		*version = PQgetisnull(r, 0, 0) ? 0 : atoi(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (check_schema && *version != STATE_SCHEMA_VERSION) {
		if (*version == 0)
			state_set_error("postgresql: no signgate schema in the database: "
			                "run `signgate state init`");
		else if (*version < STATE_SCHEMA_VERSION)
			state_set_error(
			        "postgresql: schema version %d is older than this signgate's (%d): "
			        "run `signgate state migrate`",
			        *version, STATE_SCHEMA_VERSION);
		else
			state_set_error("postgresql: schema version %d is unknown to this signgate "
			                "(it knows %d): upgrade signgate on this host",
			                *version, STATE_SCHEMA_VERSION);
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* The connection for the module's decisions, made now if need be.
 * Called with pg_lock held.  NULL: the store is unavailable (reported). */
static PGconn *conn_get_locked(const char *locator, int *timeout_ms)
{
	const char *file;
	int version;

	if (!locator_parse(locator, timeout_ms, &file)) {
		state_set_error("state locator is not a postgresql one");
		return NULL;
	}
	if (pg_conn && pg_pid != getpid())
		drop_locked(); /* forked: a connection of our own (see drop_locked) */
	if (pg_conn && strcmp(pg_locator, locator) != 0)
		drop_locked(); /* config reloaded with another database */
	if (pg_conn && PQstatus(pg_conn) != CONNECTION_OK)
		drop_locked();
	if (pg_conn)
		return pg_conn;
	if (mono_ms() < pg_retry_at) {
		state_set_error("%s", pg_last_error);
		return NULL;
	}
	pg_conn = connect_now(file, *timeout_ms, true, &version);
	if (!pg_conn) {
		pg_retry_at = mono_ms() + PG_RETRY_MS;
		report_down_locked();
		return NULL;
	}
	pg_pid = getpid();
	snprintf(pg_locator, sizeof pg_locator, "%s", locator);
	if (!pg_atexit_done) {
		atexit(pg_atexit);
		pg_atexit_done = true;
	}
	if (pg_down_reported) {
		fprintf(stderr, "signgate: state store reachable again\n");
		pg_down_reported = false;
	}
	return pg_conn;
}

/* The module's statements, prepared once per connection: a counted
 * decision is then one Bind/Execute round trip, without parse and plan. */
enum {
	ST_TAKE_TICKET,
	ST_TAKE_QUOTA,
	ST_BACK_TICKET,
	ST_BACK_QUOTA,
	ST_REVOCATIONS,
	ST_REVOKE,
	ST_UNREVOKE,
	ST_COUNT
};

static const char *const stmt_names[ST_COUNT] = { "sg_take_ticket", "sg_take_quota",
	                                          "sg_back_ticket", "sg_back_quota",
	                                          "sg_revocations", "sg_revoke",
	                                          "sg_unrevoke" };

/* Send Prepare (first use on this connection) and read its result. */
static bool prepare_locked(PGconn *c, int id, const char *sql, int n, int64_t deadline)
{
	if (pg_prepared & (1u << id))
		return true;
	if (!PQsendPrepare(c, stmt_names[id], sql, n, NULL)) {
		pg_error_from("prepare", PQerrorMessage(c));
		return false;
	}
	PGresult *last = NULL;
	for (;;) {
		int f = PQflush(c);
		if (f == 0)
			break;
		if (f < 0 || wait_socket(c, POLLOUT | POLLIN, deadline) <= 0 ||
		    !PQconsumeInput(c)) {
			state_set_error("postgresql: prepare: %s",
			                f < 0 ? PQerrorMessage(c) : "timed out");
			return false;
		}
	}
	for (;;) {
		while (!PQisBusy(c)) {
			PGresult *r = PQgetResult(c);
			if (!r) {
				bool ok = last && PQresultStatus(last) == PGRES_COMMAND_OK;
				if (!ok && last)
					pg_error_from("prepare", PQresultErrorMessage(last));
				else if (!ok)
					state_set_error("postgresql: prepare: no result");
				PQclear(last);
				if (ok)
					pg_prepared |= 1u << id;
				return ok;
			}
			PQclear(last);
			last = r;
		}
		if (wait_socket(c, POLLIN, deadline) <= 0 || !PQconsumeInput(c)) {
			state_set_error("postgresql: prepare: no answer within timeout_ms");
			PQclear(last);
			return false;
		}
	}
}

/* Run one statement on the module's connection.  Returns the result
 * (PGRES_TUPLES_OK or PGRES_COMMAND_OK) or NULL (error set, connection
 * dropped when its state is unknown). */
static PGresult *exec_locked(const char *locator, int id, const char *sql, int n,
                             const char *const *params)
{
	int timeout_ms;
	bool sent = false;
	PGconn *c = conn_get_locked(locator, &timeout_ms);
	if (!c)
		return NULL;
	int64_t deadline = mono_ms() + timeout_ms;
	PGresult *r = NULL;
	if (prepare_locked(c, id, sql, n, deadline)) {
		if (!PQsendQueryPrepared(c, stmt_names[id], n, params, NULL, NULL, 0))
			pg_error_from("statement", PQerrorMessage(c));
		else
			r = pg_finish(c, deadline, &sent);
	}
	if (r && (PQresultStatus(r) == PGRES_TUPLES_OK || PQresultStatus(r) == PGRES_COMMAND_OK))
		return r;
	if (r) {
		pg_error_from("statement", PQresultErrorMessage(r));
		PQclear(r);
	}
	/* Timed out, connection lost or an error: the next decision starts
	 * from a fresh connection (after a server-side error the connection
	 * would do, but a half-read one would not; dropping is simplest). */
	drop_locked();
	report_down_locked();
	return NULL;
}

/* A counter name of quota.h: "rule:RULE:uid:N" (per caller), "rule:RULE"
 * (per rule), "ticket:JTI"; anything else is counted as a rule. */
typedef struct counter_key {
	bool ticket;
	char subject[512]; /* rule name or jti */
	char caller[64];   /* "uid:N" or "" */
} counter_key_t;

static bool counter_key(const char *name, counter_key_t *k)
{
	memset(k, 0, sizeof *k);
	if (!strncmp(name, "ticket:", 7)) {
		k->ticket = true;
		return (size_t)snprintf(k->subject, sizeof k->subject, "%s", name + 7) <
		       sizeof k->subject;
	}
	const char *rule = !strncmp(name, "rule:", 5) ? name + 5 : name;
	const char *u = strstr(rule, ":uid:");
	const char *last = NULL;
	while (u) {
		last = u;
		u = strstr(u + 1, ":uid:");
	}
	if (last && last[5] && strspn(last + 5, "0123456789") == strlen(last + 5)) {
		snprintf(k->caller, sizeof k->caller, "%s", last + 1);
		return (size_t)(last - rule) < sizeof k->subject &&
		       snprintf(k->subject, sizeof k->subject, "%.*s", (int)(last - rule), rule) >=
		               0;
	}
	return (size_t)snprintf(k->subject, sizeof k->subject, "%s", rule) < sizeof k->subject;
}

int state_pg_take(const char *locator, const char *name, uint32_t limit, uint32_t period_s,
                  int64_t period_start)
{
	counter_key_t k;
	char lim[16], ps[24], per[16];
	PGresult *r;
	int rc;

	(void)period_s;
	if (!counter_key(name, &k)) {
		state_set_error("counter name too long");
		return -1;
	}
	if (limit == 0)
		return 0;
	snprintf(lim, sizeof lim, "%" PRIu32, limit);
	snprintf(ps, sizeof ps, "%" PRId64, period_start);
	snprintf(per, sizeof per, "%" PRIu32, period_s);
	pthread_mutex_lock(&pg_lock);
	if (k.ticket) {
		const char *const p[] = { k.subject, lim };
		r = exec_locked(
		        locator, ST_TAKE_TICKET,
		        "INSERT INTO signgate_ticket_use AS t (jti, uses) VALUES ($1, 1) "
		        "ON CONFLICT (jti) DO UPDATE SET uses = t.uses + 1, last_used = now() "
		        "WHERE t.uses < $2::bigint RETURNING t.uses",
		        2, p);
	} else {
		/* A newer period restarts the count; a period older than the
		 * stored one (this host's clock behind another's) takes nothing:
		 * clock skew may refuse, it never grants more. */
		const char *const p[] = { k.subject, k.caller, ps, lim, per };
		r = exec_locked(
		        locator, ST_TAKE_QUOTA,
		        "INSERT INTO signgate_quota AS q (rule, caller, period_s, period_start, count) "
		        "VALUES ($1, $2, $5::bigint, $3::bigint, 1) "
		        "ON CONFLICT (rule, caller) DO UPDATE SET "
		        "count = CASE WHEN q.period_start = EXCLUDED.period_start "
		        "THEN q.count + 1 ELSE 1 END, "
		        "period_start = EXCLUDED.period_start, period_s = EXCLUDED.period_s "
		        "WHERE EXCLUDED.period_start > q.period_start "
		        "OR (EXCLUDED.period_start = q.period_start AND q.count < $4::bigint) "
		        "RETURNING q.count",
		        5, p);
	}
	if (!r) {
		rc = -1;
	} else {
		rc = PQntuples(r) == 1 ? 1 : 0;
		PQclear(r);
	}
	pthread_mutex_unlock(&pg_lock);
	return rc;
}

int state_pg_give_back(const char *locator, const char *name, int64_t period_start)
{
	counter_key_t k;
	char ps[24];
	PGresult *r;

	if (!counter_key(name, &k)) {
		state_set_error("counter name too long");
		return -1;
	}
	snprintf(ps, sizeof ps, "%" PRId64, period_start);
	pthread_mutex_lock(&pg_lock);
	if (k.ticket) {
		const char *const p[] = { k.subject };
		r = exec_locked(
		        locator, ST_BACK_TICKET,
		        "UPDATE signgate_ticket_use SET uses = uses - 1 WHERE jti = $1 AND uses > 0",
		        1, p);
	} else {
		const char *const p[] = { k.subject, k.caller, ps };
		r = exec_locked(
		        locator, ST_BACK_QUOTA,
		        "UPDATE signgate_quota SET count = count - 1 WHERE rule = $1 AND caller = $2 "
		        "AND period_start = $3::bigint AND count > 0",
		        3, p);
	}
	PQclear(r);
	pthread_mutex_unlock(&pg_lock);
	return r ? 0 : -1;
}

int state_pg_revocations(const char *locator,
                         void (*fn)(void *ctx, const char *key, const char *reason), void *ctx)
{
	pthread_mutex_lock(&pg_lock);
	PGresult *r = exec_locked(locator, ST_REVOCATIONS,
	                          "SELECT key, reason FROM signgate_revocation", 0, NULL);
	if (r)
		for (int i = 0; i < PQntuples(r); i++)
			fn(ctx, PQgetvalue(r, i, 0), PQgetvalue(r, i, 1));
	PQclear(r);
	pthread_mutex_unlock(&pg_lock);
	return r ? 0 : -1;
}

int state_pg_revoke(const char *locator, const char *key, const char *reason, const char *by)
{
	const char *const p[] = { key, reason, by };
	pthread_mutex_lock(&pg_lock);
	PGresult *r = exec_locked(locator, ST_REVOKE,
	                          "INSERT INTO signgate_revocation (key, reason, revoked_by) "
	                          "VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET "
	                          "reason = EXCLUDED.reason, revoked_by = EXCLUDED.revoked_by, "
	                          "revoked_at = now()",
	                          3, p);
	PQclear(r);
	pthread_mutex_unlock(&pg_lock);
	return r ? 0 : -1;
}

int state_pg_unrevoke(const char *locator, const char *key, bool *was_revoked)
{
	const char *const p[] = { key };
	pthread_mutex_lock(&pg_lock);
	PGresult *r = exec_locked(locator, ST_UNREVOKE,
	                          "DELETE FROM signgate_revocation WHERE key = $1", 1, p);
	if (r && was_revoked)
		*was_revoked = atoi(PQcmdTuples(r)) > 0;
	PQclear(r);
	pthread_mutex_unlock(&pg_lock);
	return r ? 0 : -1;
}

/* Schema version 1.  Quota rows keep only the current period of each
 * counter; token_replay is ready for ID-token replay counts. */
static const char schema_v1[] =
        "CREATE TABLE signgate_schema (version integer NOT NULL, "
        "  applied_at timestamptz NOT NULL DEFAULT now());"
        "CREATE TABLE signgate_quota (rule text NOT NULL, caller text NOT NULL, "
        "  period_s bigint NOT NULL, period_start bigint NOT NULL, count bigint NOT NULL, "
        "  PRIMARY KEY (rule, caller));"
        "CREATE TABLE signgate_ticket_use (jti text PRIMARY KEY, uses bigint NOT NULL, "
        "  first_used timestamptz NOT NULL DEFAULT now(), "
        "  last_used timestamptz NOT NULL DEFAULT now());"
        "CREATE TABLE signgate_token_replay (issuer text NOT NULL, jti text NOT NULL, "
        "  uses bigint NOT NULL, expires_at timestamptz NOT NULL, PRIMARY KEY (issuer, jti));"
        "CREATE TABLE signgate_revocation (key text PRIMARY KEY, reason text NOT NULL, "
        "  revoked_by text NOT NULL DEFAULT '', revoked_at timestamptz NOT NULL DEFAULT now());"
        "INSERT INTO signgate_schema (version) VALUES (1);";

int state_pg_admin(const char *locator, state_admin_op_t op, int *version)
{
	const char *file;
	int timeout_ms;
	bool sent;
	int rc = -1;

	*version = 0;
	if (!locator_parse(locator, &timeout_ms, &file)) {
		state_set_error("the config's state store is not postgresql");
		return -1;
	}
	/* Administration runs from the tools: more patience than a decision. */
	if (timeout_ms < 10000 && op != STATE_ADMIN_STATUS)
		timeout_ms = 10000;
	PGconn *c = connect_now(file, timeout_ms, false, version);
	if (!c)
		return -1;
	if (op == STATE_ADMIN_STATUS) {
		rc = 0;
		goto out;
	}
	if (*version > STATE_SCHEMA_VERSION) {
		state_set_error(
		        "schema version %d is newer than this signgate's (%d): nothing done",
		        *version, STATE_SCHEMA_VERSION);
		goto out;
	}
	if (*version == STATE_SCHEMA_VERSION) {
		rc = 0;
		goto out;
	}
	if (*version == 0 && op == STATE_ADMIN_MIGRATE) {
		state_set_error("no signgate schema in the database: run `signgate state init`");
		goto out;
	}
	if (*version != 0) {
		/* Versions before 1 do not exist; later migrations go here, each
		 * one a transaction from version N to N+1. */
		state_set_error("schema version %d: no migration known", *version);
		goto out;
	}
	/* One transaction: a concurrent init cannot leave half a schema, and
	 * the loser fails on the existing tables. */
	char *sql = NULL;
	if (asprintf(&sql, "BEGIN;%sCOMMIT;", schema_v1) < 0) {
		state_set_error("out of memory");
		goto out;
	}
	PGresult *r = pg_run(c, sql, 0, NULL, mono_ms() + timeout_ms, &sent);
	free(sql);
	if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
		if (r)
			pg_error_from("init", PQresultErrorMessage(r));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	*version = STATE_SCHEMA_VERSION;
	rc = 0;
out:
	PQfinish(c);
	return rc;
}

void state_pg_close(void)
{
	pthread_mutex_lock(&pg_lock);
	drop_locked();
	pg_retry_at = 0;
	pthread_mutex_unlock(&pg_lock);
}

/* signgate: the policy state store (quota counters, ticket uses,
 * revocations), behind quota.h and the calls below.
 *
 * A store is named by a locator string (config_t.state_dir): an absolute
 * directory for the file store (one host), or
 * "postgresql:TIMEOUT_MS:CONNINFO_FILE" for one PostgreSQL database shared
 * by many hosts (state_pg.c).  With PostgreSQL the connection is made
 * lazily, the first time a decision needs the store, and every wait is
 * bounded by TIMEOUT_MS: a store that is down or slow makes those
 * decisions fail (-1, reason state-unavailable), never hang them.
 */
#ifndef SIGNGATE_STATE_H
#define SIGNGATE_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* The schema version this build reads and writes (signgate state init). */
#define STATE_SCHEMA_VERSION 1

/* Longest revocation reason kept (bytes, without NUL). */
#define STATE_REASON_MAX 200

/* How long a revocation list read from the store is trusted (ms): the
 * bound within which `signgate revoke` reaches every process. */
#define STATE_REVOCATION_CACHE_MS 1000

/* Why the last call on this thread returned -1 (for the audit detail and
 * messages; never secrets).  "" when nothing failed. */
const char *state_error(void);
void state_set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool state_is_postgresql(const char *locator);

/* Is governed key `key` revoked?  1 = yes (its reason in reason), 0 = no,
 * -1 = the store could not answer (the caller denies). */
int state_key_revoked(const char *locator, const char *key, char *reason, size_t reason_len);

/* The kill switch, for the tools: 0 ok, -1 error (state_error()). */
int state_revoke(const char *locator, const char *key, const char *reason, const char *by);
int state_unrevoke(const char *locator, const char *key, bool *was_revoked);

/* Forget cached revocations (tests, tools). */
void state_revocation_cache_flush(void);

/* --- the file store's files (state.c, quota.c) ------------------------- */

/* Open directory path (relative to at) when only we or root can write
 * it: a file swapped or reset by another user would lift a quota or a
 * revocation.  Returns the fd, -2 when it does not exist, -1 otherwise
 * (state_error() says why, naming it as what). */
int state_dir_open(int at, const char *path, const char *what);

/* Is the open file fd a regular file owned by us (or by root, when
 * root_may_own) that neither group nor others can write? */
bool state_file_ours(int fd, bool root_may_own);

/* --- PostgreSQL (state_pg.c) -------------------------------------------- */

/* Counters, as quota_take()/quota_give_back() (1 taken, 0 exhausted,
 * -1 unavailable; an unknown outcome is -1 and the unit stays used). */
int state_pg_take(const char *locator, const char *name, uint32_t limit, uint32_t period_s,
                  int64_t period_start);
int state_pg_give_back(const char *locator, const char *name, int64_t period_start);

/* Revocation list: calls fn for each entry; -1 when the store cannot
 * answer. */
int state_pg_revocations(const char *locator,
                         void (*fn)(void *ctx, const char *key, const char *reason), void *ctx);
int state_pg_revoke(const char *locator, const char *key, const char *reason, const char *by);
int state_pg_unrevoke(const char *locator, const char *key, bool *was_revoked);

/* Administration (signgate state, signgate check).  *version gets the
 * schema version found (0 = no schema).  Return 0 ok, -1 error. */
typedef enum state_admin_op {
	STATE_ADMIN_STATUS,  /* connect, read the version */
	STATE_ADMIN_INIT,    /* create the schema when there is none */
	STATE_ADMIN_MIGRATE, /* bring an older schema to STATE_SCHEMA_VERSION */
} state_admin_op_t;
int state_pg_admin(const char *locator, state_admin_op_t op, int *version);

/* Drop the connection (C_Finalize, tests). */
void state_pg_close(void);

#endif

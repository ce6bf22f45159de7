/* signgate: counters shared across processes (rule quotas, ticket uses).
 *
 * `state_dir` is the state store's locator (state.h): a directory, where
 * each counter is one small file updated under an fcntl() lock, so that
 * two signing processes share one quota; or "postgresql:...", where each
 * counter is a row and each take one atomic statement, so that many hosts
 * share one quota (state_pg.c).  On -1, state_error() says why.
 */
#ifndef SIGNGATE_QUOTA_H
#define SIGNGATE_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Take one unit from counter `name` (a safe file name is derived from it)
 * limited to `limit` per `period_s` seconds (0 = for ever).  Returns 1 if
 * taken, 0 if exhausted, -1 on error (state dir unusable: caller denies). */
int quota_take(const char *state_dir, const char *name, uint32_t limit, uint32_t period_s,
               time_t now);

/* Give back one unit (the signature was not produced after all). */
int quota_give_back(const char *state_dir, const char *name, uint32_t period_s, time_t now);

#endif

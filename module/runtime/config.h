/* signgate: the strict config loader (libconfig -> core/model.h).
 *
 * One libconfig file holds the backend, the audit settings, the trusted
 * validators and the policy (roles, keys, rules).  config_load() parses and
 * validates all of it; on any error it returns NULL and fills a message of
 * the form "FILE:LINE: setting 'PATH': what is wrong".  The loaded
 * structure is immutable and shared read-only between threads; a reload
 * builds a new one and swaps the pointer.
 */
#ifndef SIGNGATE_CONFIG_H
#define SIGNGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "model.h"

#define CONFIG_DEFAULT_PATH "/etc/signgate/signgate.conf"
#define CONFIG_ERR_MAX 512

/* Which path to load: SIGNGATE_CONF, else init_reserved (from
 * CK_C_INITIALIZE_ARGS.pReserved, may be NULL), else the default. */
const char *config_path_choose(const char *init_reserved);

/* Load and validate.  check_owner: refuse files that are group/world
 * writable or owned by someone other than root or the effective user.
 * On error returns NULL and writes "file:line: message" to err. */
config_t *config_load(const char *path, bool check_owner, char *err, size_t errlen);

/* Same, from a string (unit tests, fuzzing); name is used in messages. */
config_t *config_load_string(const char *text, const char *name, char *err, size_t errlen);

void config_free(config_t *cfg);

/* The value syntaxes of the config, for the tools: RFC 3339 date-time
 * ("2026-01-01T00:00:00Z", offsets and fractions allowed) and durations
 * ("30s", "15m", "1h", "1d", "7d", "2w"; at most about ten years). */
bool config_parse_rfc3339(const char *s, time_t *out);
bool config_parse_duration(const char *s, uint32_t *out_seconds);

/* True when the file at cfg->path no longer matches (mtime, ctime with
 * nanoseconds, device, inode, size), or cannot be stat'ed. */
bool config_changed(const config_t *cfg);

#endif

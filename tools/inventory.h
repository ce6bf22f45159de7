/* signgate inventory's token scan, for other commands (signgate doctor):
 * one copy of loading the backend, logging in with the PIN file, reading
 * the keys and matching them to the policy by fingerprint. */
#ifndef SIGNGATE_INVENTORY_H
#define SIGNGATE_INVENTORY_H

#include <stddef.h>

#include "config.h"

/* One finding about a token or a governed key: code as in `signgate
 * inventory` ("key-missing", "lookalike-key", "token-missing", ...),
 * severity "info" .. "critical". */
typedef void (*inventory_key_cb)(void *arg, const char *severity, const char *code,
                                 const char *subject, const char *detail);

/* Scan the exposed tokens of cfg and report the findings about keys and
 * tokens (not identities, rules or files) through cb.  Returns 0, or -1
 * with err set when the backend cannot be loaded, a token cannot be
 * logged in to, or memory runs out. */
int inventory_check_keys(const config_t *cfg, const char *conf_path, inventory_key_cb cb, void *arg,
                         char *err, size_t errlen);

#endif

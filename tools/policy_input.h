/* signgate tools: read a config or a cases file from any path.
 *
 * `signgate diff <(git show HEAD~1:signgate.conf) signgate.conf` hands the
 * tool a pipe; the module's loader (config_load) refuses anything but a
 * regular file, rightly, for the file it enforces.  The review tools read
 * such inputs into memory instead (bounded like the loader, NUL bytes
 * refused) and parse them with config_load_string(): the same parser and
 * the same checks, without the ownership/mode checks, which say nothing
 * about a file under review in a repository.
 */
#ifndef SIGNGATE_POLICY_INPUT_H
#define SIGNGATE_POLICY_INPUT_H

#include <stddef.h>

#include "config.h"

#define POLICY_INPUT_MAX (64u << 20) /* as the loader: 64 MiB */

/* The whole file (regular file, pipe, /dev/fd/N, "-" = standard input),
 * NUL-terminated, malloc'd; NULL with a "PATH: message" in err. */
char *policy_input_read(const char *path, size_t *len, char *err, size_t errlen);

/* policy_input_read() + config_load_string(); messages name PATH. */
config_t *policy_input_config(const char *path, char *err, size_t errlen);

#endif

/* signgate: caller_identify -- fill a core caller_t from the world.
 *
 * In-process mode reads this process; broker mode reads the peer of a
 * unix socket (p11-kit server).  The decision core only ever sees the
 * caller_t (core/caller.h), never the process it came from.
 */
#ifndef SIGNGATE_IDENTIFY_H
#define SIGNGATE_IDENTIFY_H

#include "caller.h"

/* This process.  The program's SHA-256 is computed once per process and
 * cached (callers can skip it with want_sha256 = false). */
int caller_identify_self(caller_t *out, bool want_sha256);

/* The peer of a connected AF_UNIX socket (SO_PEERCRED), groups from the
 * user database, program from /proc/PID/exe where readable.  Returns -1
 * and leaves out->known false when the peer cannot be determined. */
int caller_identify_peer(int fd, caller_t *out, bool want_sha256);

/* Fill from explicit values (tools: explain, who-can-sign). Groups of
 * the user are looked up unless groups are given. */
int caller_from_names(caller_t *out, const char *user, const char *const *groups, size_t n_groups,
                      const char *program);

#endif

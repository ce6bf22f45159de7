/* signgate: who is calling (the type the decision reads).
 *
 * One structure for the caller's identity, filled either from this
 * process (in-process mode) or from the peer of a unix socket (broker
 * mode behind p11-kit server).  The policy engine only ever sees this
 * structure, never the process it came from.
 */
#ifndef SIGNGATE_CALLER_H
#define SIGNGATE_CALLER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define CALLER_MAX_GROUPS 128
#define CALLER_NAME_MAX 64

typedef struct caller {
	bool known;     /* false: identity could not be determined => deny */
	bool from_peer; /* filled from a socket peer */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	pid_t ppid;
	char user[CALLER_NAME_MAX]; /* "" if the uid has no name */
	size_t n_groups;            /* primary and supplementary gids */
	gid_t groups[CALLER_MAX_GROUPS];
	char program[PATH_MAX]; /* absolute path of the executable; "" unknown */
	bool has_program_sha256;
	unsigned char program_sha256[32];
} caller_t;

bool caller_in_group(const caller_t *c, gid_t g);

#endif

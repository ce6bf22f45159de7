/* signgate: who is calling.
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
	bool known;                  /* false: identity could not be determined => deny */
	bool from_peer;              /* filled from a socket peer */
	uid_t uid;
	gid_t gid;
	pid_t pid;
	pid_t ppid;
	char user[CALLER_NAME_MAX];  /* "" if the uid has no name */
	size_t n_groups;             /* primary and supplementary gids */
	gid_t groups[CALLER_MAX_GROUPS];
	char program[PATH_MAX];      /* absolute path of the executable; "" unknown */
	bool has_program_sha256;
	unsigned char program_sha256[32];
} caller_t;

/* This process.  The program's SHA-256 is computed once per process and
 * cached (callers can skip it with want_sha256 = false). */
int caller_identify_self(caller_t *out, bool want_sha256);

/* The peer of a connected AF_UNIX socket (SO_PEERCRED), groups from the
 * user database, program from /proc/PID/exe where readable.  Returns -1
 * and leaves out->known false when the peer cannot be determined. */
int caller_identify_peer(int fd, caller_t *out, bool want_sha256);

/* Fill from explicit values (tools: explain, who-can-sign). Groups of
 * the user are looked up unless groups are given. */
int caller_from_names(caller_t *out, const char *user, const char *const *groups,
                      size_t n_groups, const char *program);

bool caller_in_group(const caller_t *c, gid_t g);

#endif

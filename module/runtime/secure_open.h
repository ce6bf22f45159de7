/* signgate: reading a file that decides what the module trusts.
 *
 * The config, the validators' public keys, the token PIN file and a
 * ticket named by SIGNGATE_TICKET are all read the same way: opened
 * without blocking (a FIFO or device named there must not hang the host)
 * and without a controlling terminal, checked on the open descriptor
 * (fstat after open, so the file checked is the file read), read whole
 * into memory with a size bound.  Every refusal is one message that
 * starts with the path: "PATH: insecure permissions 0664: ...".
 */
#ifndef SIGNGATE_SECURE_OPEN_H
#define SIGNGATE_SECURE_OPEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

enum {
	/* A secret (the PIN file): also refused when group or others may
	 * read it. */
	SECURE_OPEN_SECRET = 1u << 0,
	/* Refuse a symbolic link as the last path component (O_NOFOLLOW). */
	SECURE_OPEN_NOFOLLOW = 1u << 1,
	/* Skip the owner and mode checks (tools checking a config before it
	 * is installed); the regular-file and size checks stay. */
	SECURE_OPEN_ANY_OWNER = 1u << 2,
};

/* Read PATH whole: a regular file of at most max_bytes, owned by root or
 * the effective uid, not group- or world-writable (see the flags).  On
 * success *out is a malloc'ed copy with a NUL after the *len bytes (free
 * it; cleanse it first when it was a secret) and *st, if not NULL, the
 * file's status.  On failure returns false, *out is NULL and err holds
 * "PATH: message". */
bool secure_read_file(const char *path, unsigned flags, size_t max_bytes, char **out, size_t *len,
                      struct stat *st, char *err, size_t errlen);

#endif

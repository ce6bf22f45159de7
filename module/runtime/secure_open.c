/* signgate: reading a file that decides what the module trusts
 * (see secure_open.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "secure_open.h"

static bool __attribute__((format(printf, 4, 5)))
refuse(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	if (err && errlen) {
		char msg[256];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		snprintf(err, errlen, "%s: %s", path, msg);
	}
	return false;
}

/* The owner and mode checks, on the status of the open descriptor. */
static bool mode_ok(const char *path, const struct stat *st, unsigned flags, char *err,
                    size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (flags & SECURE_OPEN_ANY_OWNER)
		return true;
	if (st->st_mode & (S_IWGRP | S_IWOTH))
		return refuse(err, errlen, path,
		              "insecure permissions %04o: group- or world-writable (chmod go-w)",
		              mode);
	if ((flags & SECURE_OPEN_SECRET) && (st->st_mode & (S_IRGRP | S_IROTH | S_IXOTH | S_IXGRP)))
		return refuse(err, errlen, path,
		              "insecure permissions %04o: a secret readable by group or others "
		              "(chmod 0600)",
		              mode);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		return refuse(err, errlen, path,
		              "insecure permissions: owned by uid %u, not root or uid %u",
		              (unsigned)st->st_uid, (unsigned)geteuid());
	return true;
}

bool secure_read_file(const char *path, unsigned flags, size_t max_bytes, char **out, size_t *len,
                      struct stat *st_out, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t cap, n = 0;
	bool ok = false;
	int fd;

	*out = NULL;
	*len = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!path || !path[0])
		return refuse(err, errlen, "(null)", "no file name");
	/* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
	 * writer; it is refused below as not a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	                        ((flags & SECURE_OPEN_NOFOLLOW) ? O_NOFOLLOW : 0));
	if (fd < 0) {
		if (errno == ELOOP && (flags & SECURE_OPEN_NOFOLLOW))
			return refuse(err, errlen, path,
			              "insecure: a symbolic link (name the file itself)");
		return refuse(err, errlen, path, "cannot open: %s", strerror(errno));
	}
	if (fstat(fd, &st) != 0) {
		refuse(err, errlen, path, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		refuse(err, errlen, path, "insecure permissions: not a regular file");
		goto out;
	}
	if (!mode_ok(path, &st, flags, err, errlen))
		goto out;
	if (st.st_size < 0 || (unsigned long long)st.st_size > max_bytes) {
		refuse(err, errlen, path, "file too large (%lld bytes, at most %zu)",
		       (long long)st.st_size, max_bytes);
		goto out;
	}
	/* One allocation of the size fstat saw (no realloc leaving copies of
	 * a secret behind); a file that grows meanwhile is refused. */
	cap = (size_t)st.st_size;
	buf = malloc(cap + 1);
	if (!buf) {
		refuse(err, errlen, path, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, cap + 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			refuse(err, errlen, path, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > cap) {
			refuse(err, errlen, path, "file changed while being read");
			goto out;
		}
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
	if (st_out)
		*st_out = st;
	ok = true;
out:
	if (buf) {
		OPENSSL_cleanse(buf, cap + 1);
		free(buf);
	}
	close(fd);
	return ok;
}

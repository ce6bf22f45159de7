/* signgate: the state store's common part (see state.h): errors, the
 * revocation list (the kill switch) for both stores, and its cache.
 *
 * File store: one file per revoked key under STATE_DIR/revoked, named
 * "r-" + hex SHA-256 of the key name, holding "KEY\nREASON\n"; written by
 * `signgate revoke` (temporary file + rename), removed by `unrevoke`.
 * A state directory that does not exist holds no revocations; one that
 * another user could write to, or a damaged entry, makes the list
 * unreadable (-1: decisions that need it are refused).
 */
#include "state.h"
#include "codec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define REV_FILE_MAX (1024 + STATE_REASON_MAX)

static __thread char t_err[256];

const char *state_error(void)
{
	return t_err;
}

void state_set_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(t_err, sizeof t_err, fmt, ap);
	va_end(ap);
}

bool state_is_postgresql(const char *locator)
{
	return locator && !strncmp(locator, "postgresql:", 11);
}

/* Control characters never reach the audit or a terminal. */
static void reason_clean(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/* --- the cache ------------------------------------------------------------ */

typedef struct rev_entry {
	char *key;
	char *reason;
} rev_entry_t;

typedef struct rev_list {
	rev_entry_t *v;
	size_t n, cap;
	bool oom;
} rev_list_t;

static pthread_mutex_t rev_lock = PTHREAD_MUTEX_INITIALIZER;
static rev_list_t rev_cache;
static bool rev_valid;
static int64_t rev_loaded_ms;
static pid_t rev_pid;
static char *rev_locator;

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void rev_list_free(rev_list_t *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->v[i].key);
		free(l->v[i].reason);
	}
	free(l->v);
	memset(l, 0, sizeof *l);
}

static void rev_list_add(void *ctx, const char *key, const char *reason)
{
	rev_list_t *l = ctx;
	if (l->oom)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 8;
		rev_entry_t *v = realloc(l->v, cap * sizeof *v);
		if (!v) {
			l->oom = true;
			return;
		}
		l->v = v;
		l->cap = cap;
	}
	char *k = strdup(key), *r = strndup(reason, STATE_REASON_MAX);
	if (!k || !r) {
		free(k);
		free(r);
		l->oom = true;
		return;
	}
	reason_clean(r);
	l->v[l->n].key = k;
	l->v[l->n].reason = r;
	l->n++;
}

/* --- file store ------------------------------------------------------------ */

int state_dir_open(int at, const char *path, const char *what)
{
	struct stat st;
	uid_t euid = geteuid();
	int fd = openat(at, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return -2;
		state_set_error("%s: %s", what, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || (st.st_uid != euid && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		state_set_error("%s: owned by another user or writable by group/others", what);
		close(fd);
		return -1;
	}
	return fd;
}

bool state_file_ours(int fd, bool root_may_own)
{
	struct stat st;
	uid_t euid = geteuid();
	return fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	       (st.st_uid == euid || (root_may_own && st.st_uid == 0)) &&
	       !(st.st_mode & (S_IWGRP | S_IWOTH));
}

static int rev_file_name(const char *key, char out[2 + 64 + 1])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (EVP_Digest(key, strlen(key), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	out[0] = 'r';
	out[1] = '-';
	return codec_hex_encode(out + 2, 64 + 1, md, 32) ? 0 : -1;
}

static int files_read_entry(int dfd, const char *name, rev_list_t *l)
{
	char buf[REV_FILE_MAX + 1];
	ssize_t n;
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* unrevoked while we listed */
		state_set_error("revocation %s: %s", name, strerror(errno));
		return -1;
	}
	if (!state_file_ours(fd, true)) {
		close(fd);
		state_set_error("revocation %s: not a regular file of ours", name);
		return -1;
	}
	do
		n = read(fd, buf, REV_FILE_MAX);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0 || n == REV_FILE_MAX) {
		state_set_error("revocation %s: unreadable", name);
		return -1;
	}
	buf[n] = '\0';
	char *nl = strchr(buf, '\n');
	if (!nl || memchr(buf, '\0', (size_t)n)) {
		state_set_error("revocation %s: damaged", name);
		return -1;
	}
	*nl = '\0';
	char *reason = nl + 1;
	reason[strcspn(reason, "\n")] = '\0';
	rev_list_add(l, buf, reason);
	return 0;
}

static int files_revocations(const char *dir, rev_list_t *l)
{
	int sfd = state_dir_open(AT_FDCWD, dir, "state directory");
	if (sfd == -2)
		return 0;
	if (sfd < 0)
		return -1;
	int rfd = state_dir_open(sfd, "revoked", "state directory's revoked/");
	close(sfd);
	if (rfd == -2)
		return 0;
	if (rfd < 0)
		return -1;
	DIR *d = fdopendir(rfd);
	if (!d) {
		close(rfd);
		state_set_error("state directory's revoked/: %s", strerror(errno));
		return -1;
	}
	int rc = 0;
	struct dirent *e;
	while (rc == 0 && (e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, "r-", 2))
			rc = files_read_entry(dirfd(d), e->d_name, l);
	closedir(d);
	return rc;
}

static int files_revoke(const char *dir, const char *key, const char *reason)
{
	char fname[67], tmp[80];
	int sfd = state_dir_open(AT_FDCWD, dir, "state directory"), rfd, fd;

	if (sfd == -2)
		state_set_error("state directory %s does not exist", dir);
	if (sfd < 0)
		return -1;
	if (mkdirat(sfd, "revoked", 0755) != 0 && errno != EEXIST) {
		state_set_error("state directory's revoked/: %s", strerror(errno));
		close(sfd);
		return -1;
	}
	rfd = state_dir_open(sfd, "revoked", "state directory's revoked/");
	close(sfd);
	if (rfd < 0)
		return -1;
	if (rev_file_name(key, fname) != 0) {
		close(rfd);
		state_set_error("hashing failed");
		return -1;
	}
	snprintf(tmp, sizeof tmp, ".%s.%ld", fname, (long)getpid());
	/* 0644: the module may run as another account than the administrator. */
	fd = openat(rfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		state_set_error("revoked/%s: %s", tmp, strerror(errno));
		close(rfd);
		return -1;
	}
	(void)fchmod(fd, 0644);
	FILE *f = fdopen(fd, "w");
	int ok = f && fprintf(f, "%s\n%s\n", key, reason) > 0;
	ok = f && fflush(f) == 0 && fsync(fileno(f)) == 0 && ok;
	if (f)
		fclose(f);
	else
		close(fd);
	if (!ok || renameat(rfd, tmp, rfd, fname) != 0) {
		state_set_error("revoked/%s: %s", fname, strerror(errno));
		unlinkat(rfd, tmp, 0);
		close(rfd);
		return -1;
	}
	fsync(rfd);
	close(rfd);
	return 0;
}

static int files_unrevoke(const char *dir, const char *key, bool *was)
{
	char fname[67];
	int sfd = state_dir_open(AT_FDCWD, dir, "state directory"), rfd;

	*was = false;
	if (sfd == -2)
		return 0;
	if (sfd < 0)
		return -1;
	rfd = state_dir_open(sfd, "revoked", "state directory's revoked/");
	close(sfd);
	if (rfd == -2)
		return 0;
	if (rfd < 0)
		return -1;
	if (rev_file_name(key, fname) != 0) {
		close(rfd);
		return -1;
	}
	int rc = 0;
	if (unlinkat(rfd, fname, 0) == 0)
		*was = true;
	else if (errno != ENOENT) {
		state_set_error("revoked/%s: %s", fname, strerror(errno));
		rc = -1;
	}
	fsync(rfd);
	close(rfd);
	return rc;
}

/* --- the interface ------------------------------------------------------------ */

int state_key_revoked(const char *locator, const char *key, char *reason, size_t reason_len)
{
	int rc = 0;
	int64_t now = mono_ms();

	if (!locator || !key) {
		state_set_error("no state store");
		return -1;
	}
	pthread_mutex_lock(&rev_lock);
	if (!rev_valid || now - rev_loaded_ms >= STATE_REVOCATION_CACHE_MS || now < rev_loaded_ms ||
	    rev_pid != getpid() || !rev_locator || strcmp(rev_locator, locator) != 0) {
		rev_list_t fresh = { 0 };
		int r = state_is_postgresql(locator)
		                ? state_pg_revocations(locator, rev_list_add, &fresh)
		                : files_revocations(locator, &fresh);
		if (r == 0 && fresh.oom) {
			state_set_error("out of memory reading the revocation list");
			r = -1;
		}
		if (r != 0) {
			/* Fail closed: an old list may miss the revocation that
			 * matters now. */
			rev_list_free(&fresh);
			rev_valid = false;
			pthread_mutex_unlock(&rev_lock);
			return -1;
		}
		char *loc = strdup(locator);
		if (!loc) {
			rev_list_free(&fresh);
			rev_valid = false;
			pthread_mutex_unlock(&rev_lock);
			state_set_error("out of memory");
			return -1;
		}
		rev_list_free(&rev_cache);
		rev_cache = fresh;
		free(rev_locator);
		rev_locator = loc;
		rev_loaded_ms = mono_ms();
		rev_pid = getpid();
		rev_valid = true;
	}
	for (size_t i = 0; i < rev_cache.n; i++)
		if (!strcmp(rev_cache.v[i].key, key)) {
			if (reason && reason_len)
				snprintf(reason, reason_len, "%s", rev_cache.v[i].reason);
			rc = 1;
			break;
		}
	pthread_mutex_unlock(&rev_lock);
	return rc;
}

void state_revocation_cache_flush(void)
{
	pthread_mutex_lock(&rev_lock);
	rev_valid = false;
	pthread_mutex_unlock(&rev_lock);
}

int state_revoke(const char *locator, const char *key, const char *reason, const char *by)
{
	char r[STATE_REASON_MAX + 1];

	if (!locator || !key || !*key || strchr(key, '\n')) {
		state_set_error("no key name");
		return -1;
	}
	snprintf(r, sizeof r, "%s", reason ? reason : "");
	reason_clean(r);
	int rc = state_is_postgresql(locator) ? state_pg_revoke(locator, key, r, by ? by : "")
	                                      : files_revoke(locator, key, r);
	state_revocation_cache_flush();
	return rc;
}

int state_unrevoke(const char *locator, const char *key, bool *was_revoked)
{
	bool was = false;
	if (!locator || !key || !*key) {
		state_set_error("no key name");
		return -1;
	}
	int rc = state_is_postgresql(locator) ? state_pg_unrevoke(locator, key, &was)
	                                      : files_unrevoke(locator, key, &was);
	if (was_revoked)
		*was_revoked = was;
	state_revocation_cache_flush();
	return rc;
}

/* signgate: who is calling (see identify.h; the type is core/caller.h). */
#include "identify.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

/* Hash an open file.  Returns 0 and fills out, or -1. */
static int sha256_fd(int fd, unsigned char out[32])
{
	int rc = -1;
	unsigned char buf[16384]; /* modest: may run on a host thread's small stack */
	unsigned int len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, out, &len) != 1 || len != 32)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Hash a regular file by path (or /proc/PID/exe, which opens the very
 * inode that runs, even if the path was replaced since). */
static int sha256_path(const char *path, unsigned char out[32])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	int rc = -1;
	/* a FIFO or device named as "program" must not block or stream forever */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		goto out;
	rc = sha256_fd(fd, out);
out:
	close(fd);
	return rc;
}

/* readlink into a NUL-terminated buffer; "" when unreadable or truncated. */
static void read_link(const char *link, char *out, size_t outlen)
{
	ssize_t n = readlink(link, out, outlen - 1);
	if (n <= 0 || (size_t)n >= outlen - 1) {
		out[0] = '\0';
		return;
	}
	out[n] = '\0';
}

/* Buffer for the *_r user database calls, grown on ERANGE. */
static size_t pw_bufsize(void)
{
	long n = sysconf(_SC_GETPW_R_SIZE_MAX);
	long g = sysconf(_SC_GETGR_R_SIZE_MAX);
	if (g > n)
		n = g;
	return n > 0 ? (size_t)n : 16384;
}

/* One user database lookup: the group named name (gr), or the user named
 * name or with uid uid (pw).  The buffer grows on ERANGE up to 1 MiB;
 * *bufp (the caller frees it) holds the strings of the answer.  Returns
 * 1 found, 0 not found, -1 error. */
static int nss_lookup(const char *name, uid_t uid, struct passwd *pw, struct group *gr, char **bufp)
{
	struct passwd *pres = NULL;
	struct group *gres = NULL;
	size_t size = pw_bufsize();
	int err;

	*bufp = NULL;
	for (;;) {
		char *nb = realloc(*bufp, size);
		if (nb == NULL)
			return -1;
		*bufp = nb;
		if (gr)
			err = getgrnam_r(name, gr, nb, size, &gres);
		else if (name)
			err = getpwnam_r(name, pw, nb, size, &pres);
		else
			err = getpwuid_r(uid, pw, nb, size, &pres);
		if (err != ERANGE || size > (1u << 20))
			break;
		size *= 2;
	}
	if (gr ? gres == NULL : pres == NULL)
		/* Not found is reported as 0 or one of these by glibc/NSS. */
		return (err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM)
		               ? 0
		               : -1;
	return 1;
}

/* Look up a user by uid (name != NULL: by name).  Returns 1 found, 0 not
 * found, -1 error.  Fills uid, gid and name. */
static int lookup_user(const char *name, uid_t uid, uid_t *uid_out, gid_t *gid_out, char *name_out,
                       size_t name_len)
{
	struct passwd pw;
	char *buf;
	int rc = nss_lookup(name, uid, &pw, NULL, &buf);

	if (rc == 1 && strlen(pw.pw_name) >= name_len)
		rc = -1;
	if (rc == 1) {
		if (uid_out)
			*uid_out = pw.pw_uid;
		if (gid_out)
			*gid_out = pw.pw_gid;
		if (name_out)
			strcpy(name_out, pw.pw_name);
	}
	free(buf);
	return rc;
}

/* Group by name.  Returns 1 found, 0 not found, -1 error. */
static int lookup_group(const char *name, gid_t *gid_out)
{
	struct group gr;
	char *buf;
	int rc = nss_lookup(name, 0, NULL, &gr, &buf);

	if (rc == 1)
		*gid_out = gr.gr_gid;
	free(buf);
	return rc;
}

/* Parse a decimal id; false if s is not entirely digits or overflows. */
static bool parse_id(const char *s, unsigned long *out)
{
	if (s == NULL || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end != '\0' || v >= (unsigned long)UINT32_MAX)
		return false;
	*out = v;
	return true;
}

static void add_group(caller_t *c, gid_t g)
{
	if (caller_in_group(c, g) || c->n_groups >= CALLER_MAX_GROUPS)
		return;
	c->groups[c->n_groups++] = g;
}

/* Primary and supplementary groups of a user from the user database. */
static void groups_from_db(caller_t *c, const char *user, gid_t primary)
{
	gid_t list[CALLER_MAX_GROUPS];
	int n = CALLER_MAX_GROUPS;

	add_group(c, primary);
	/* On overflow getgrouplist returns -1 but fills the first n; the
	 * extra groups are dropped, which can only narrow what matches. */
	if (getgrouplist(user, primary, list, &n) < 0)
		n = CALLER_MAX_GROUPS;
	for (int i = 0; i < n && i < CALLER_MAX_GROUPS; i++)
		add_group(c, list[i]);
}

/* What cannot change without exec (the program and its hash) is read
 * once per process; the user name is cached per thread and keyed by uid.
 * Both because the enforcement path asks on every signing operation:
 * a user database lookup and a readlink cost ~12 us, an ECDSA signature
 * ~80 us.  Per-thread rather than mutex-guarded so that a fork() while
 * another thread holds a lock cannot leave the child stuck; glibc's
 * pthread_once copes with fork.  A user renamed in /etc/passwd while a
 * process runs keeps its old name in that process. */
static pthread_once_t self_program_once = PTHREAD_ONCE_INIT;
static char self_program[PATH_MAX];

static pthread_once_t self_sha_once = PTHREAD_ONCE_INIT;
static bool self_sha_ok;
static unsigned char self_sha[32];

static __thread struct {
	bool valid;
	uid_t uid;
	char user[CALLER_NAME_MAX];
} self_user;

static void self_program_read(void)
{
	read_link("/proc/self/exe", self_program, sizeof(self_program));
}

static void self_sha_compute(void)
{
	/* /proc/self/exe is the inode that runs, even if the path was replaced */
	self_sha_ok = sha256_path("/proc/self/exe", self_sha) == 0;
}

int caller_identify_self(caller_t *out, bool want_sha256)
{
	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->uid = getuid();
	out->gid = getgid();
	out->pid = getpid();
	out->ppid = getppid();

	if (!self_user.valid || self_user.uid != out->uid) {
		int found = lookup_user(NULL, out->uid, NULL, NULL, self_user.user,
		                        sizeof(self_user.user));
		if (found != 1)
			self_user.user[0] = '\0';
		/* a transient lookup error is retried next time */
		self_user.valid = found >= 0;
		self_user.uid = out->uid;
	}
	memcpy(out->user, self_user.user, sizeof(out->user));

	add_group(out, out->gid);
	gid_t list[CALLER_MAX_GROUPS];
	int n = getgroups(CALLER_MAX_GROUPS, list);
	if (n < 0 && errno == EINVAL) {
		/* more supplementary groups than we keep: take the first ones */
		int all = getgroups(0, NULL);
		gid_t *big = all > 0 ? calloc((size_t)all, sizeof(gid_t)) : NULL;
		if (big == NULL)
			return -1;
		n = getgroups(all, big);
		for (int i = 0; i < n; i++)
			add_group(out, big[i]);
		free(big);
	} else {
		for (int i = 0; i < n; i++)
			add_group(out, list[i]);
	}

	pthread_once(&self_program_once, self_program_read);
	strcpy(out->program, self_program); /* same size, NUL-terminated */
	if (want_sha256 && out->program[0]) {
		pthread_once(&self_sha_once, self_sha_compute);
		if (self_sha_ok) {
			memcpy(out->program_sha256, self_sha, 32);
			out->has_program_sha256 = true;
		}
	}
	out->known = true;
	return 0;
}

int caller_identify_peer(int fd, caller_t *out, bool want_sha256)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int domain = -1;
	socklen_t dlen = sizeof(domain);

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	out->from_peer = true;

	/* Only a unix socket carries kernel-verified credentials; other
	 * sockets report the overflow uid, which must not become a caller. */
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &dlen) != 0 || domain != AF_UNIX)
		return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 || len != sizeof(uc))
		return -1;
	if (uc.pid <= 0 || uc.uid == (uid_t)-1 || uc.gid == (gid_t)-1)
		return -1;

	out->uid = uc.uid;
	out->gid = uc.gid;
	out->pid = uc.pid;
	out->ppid = 0; /* not carried by SO_PEERCRED; /proc would be racy */

	int found = lookup_user(NULL, uc.uid, NULL, NULL, out->user, sizeof(out->user));
	if (found < 0)
		return -1;
	if (found == 1)
		groups_from_db(out, out->user, uc.gid);
	else
		add_group(out, uc.gid);

	char link[64];
	snprintf(link, sizeof(link), "/proc/%ld/exe", (long)uc.pid);
	read_link(link, out->program, sizeof(out->program));
	if (want_sha256 && out->program[0] && sha256_path(link, out->program_sha256) == 0)
		out->has_program_sha256 = true;

	out->known = true;
	return 0;
}

int caller_from_names(caller_t *out, const char *user, const char *const *groups, size_t n_groups,
                      const char *program)
{
	unsigned long id;
	int found;

	if (out == NULL)
		return -1;
	memset(out, 0, sizeof(*out));
	if (user == NULL || *user == '\0')
		return -1;

	if (parse_id(user, &id)) {
		out->uid = (uid_t)id;
		out->gid = (gid_t)-1;
		found = lookup_user(NULL, out->uid, NULL, &out->gid, out->user, sizeof(out->user));
	} else {
		found = lookup_user(user, 0, &out->uid, &out->gid, out->user, sizeof(out->user));
		if (found == 0)
			return -1; /* a name nobody has cannot be a caller */
	}
	if (found < 0)
		return -1;

	if (groups != NULL && n_groups > 0) {
		for (size_t i = 0; i < n_groups; i++) {
			gid_t g;
			if (parse_id(groups[i], &id))
				g = (gid_t)id;
			else if (lookup_group(groups[i], &g) != 1)
				return -1;
			add_group(out, g);
		}
		if (out->gid == (gid_t)-1)
			out->gid = out->groups[0];
	} else if (found == 1) {
		groups_from_db(out, out->user, out->gid);
	}

	if (program != NULL && *program) {
		if (strlen(program) >= sizeof(out->program))
			return -1;
		strcpy(out->program, program);
		if (sha256_path(program, out->program_sha256) == 0)
			out->has_program_sha256 = true;
	}
	out->known = true;
	return 0;
}

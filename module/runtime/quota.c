/* signgate: counters shared across processes (see quota.h).
 *
 * File format: one fixed-width line "PERIOD_START COUNT\n" (20 + 1 + 10
 * + 1 = 32 bytes).  Fixed width means an update is a single 32-byte
 * pwrite at offset 0, never a write followed by a truncate, so a crash
 * cannot leave a half-old, half-new counter behind.
 */
#include "quota.h"
#include "codec.h"
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#define QUOTA_RECORD_LEN 32
#define QUOTA_LOCK_WAIT_NS (2LL * 1000 * 1000 * 1000)

/* "q-" + hex SHA-256 of the counter name: any name (rule names, caller
 * names, ticket ids) maps to a fixed, safe file name. */
static int counter_file_name(const char *name, char out[2 + 64 + 1])
{
	unsigned char md[32];
	unsigned int len = 0;

	if (EVP_Digest(name, strlen(name), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		return -1;
	out[0] = 'q';
	out[1] = '-';
	return codec_hex_encode(out + 2, 64 + 1, md, 32) ? 0 : -1;
}

/* Open (optionally create) the counter file and check it is ours. */
static int open_counter(const char *state_dir, const char *name, bool create)
{
	char fname[67];
	int fd = -1;
	/* a counter another user could swap or reset would lift the quota */
	int dfd = state_dir_open(AT_FDCWD, state_dir, "state directory");

	if (dfd < 0)
		return -1;
	if (counter_file_name(name, fname) != 0)
		goto out;
	/* O_NOFOLLOW: a planted symlink must not redirect our writes. */
	fd = openat(dfd, fname, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | (create ? O_CREAT : 0),
	            0600);
	if (fd < 0) {
		if (!create && errno == ENOENT)
			fd = -2;
		goto out;
	}
	if (!state_file_ours(fd, false)) {
		close(fd);
		fd = -1;
	}
out:
	close(dfd);
	return fd;
}

/* Classic POSIX record locks belong to the process, so two threads of one
 * signing process would both "hold" them; open-file-description locks
 * belong to the open file.  Kernels without them (before 3.15) get the
 * classic lock plus a process-wide mutex. */
static pthread_mutex_t classic_lock_mutex = PTHREAD_MUTEX_INITIALIZER;

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Lock the whole file, waiting at most ~2 s: a stuck holder must turn
 * into a denial, not a hung signing tool.  Returns 1 with an OFD lock,
 * 2 with classic lock + mutex held, -1 on failure. */
static int lock_counter(int fd)
{
	int cmd = F_OFD_SETLK;
	int64_t deadline = mono_ns() + QUOTA_LOCK_WAIT_NS;

	for (;;) {
		struct flock fl = {
			.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0
		};
		if (fcntl(fd, cmd, &fl) == 0)
			return cmd == F_OFD_SETLK ? 1 : 2;
		if (errno == EINVAL && cmd == F_OFD_SETLK) {
			cmd = F_SETLK;
			pthread_mutex_lock(&classic_lock_mutex);
			continue;
		}
		if (errno != EAGAIN && errno != EACCES && errno != EINTR)
			break;
		if (mono_ns() >= deadline)
			break;
		struct timespec pause = { 0, 1000 * 1000 };
		nanosleep(&pause, NULL);
	}
	if (cmd == F_SETLK)
		pthread_mutex_unlock(&classic_lock_mutex);
	return -1;
}

static void unlock_counter(int fd, int how)
{
	struct flock fl = { .l_type = F_UNLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };
	(void)fcntl(fd, how == 1 ? F_OFD_SETLK : F_SETLK, &fl);
	if (how == 2)
		pthread_mutex_unlock(&classic_lock_mutex);
}

/* Read the record.  An empty file is a fresh counter.  Anything else that
 * is not exactly our format is an error: a damaged counter denies. */
static int read_counter(int fd, int64_t *start, uint32_t *count)
{
	char buf[QUOTA_RECORD_LEN + 1];
	ssize_t n;

	do
		n = pread(fd, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n == 0) {
		*start = INT64_MIN;
		*count = 0;
		return 0;
	}
	if (n != QUOTA_RECORD_LEN || buf[20] != ' ' || buf[31] != '\n')
		return -1;
	buf[31] = '\0';
	buf[20] = '\0';

	char *end;
	errno = 0;
	long long s = strtoll(buf, &end, 10);
	if (errno || end == buf || *end != '\0')
		return -1;
	unsigned long long c = strtoull(buf + 21, &end, 10);
	if (errno || end == buf + 21 || *end != '\0' || strchr(buf + 21, '-') || c > UINT32_MAX)
		return -1;
	*start = s;
	*count = (uint32_t)c;
	return 0;
}

static int write_counter(int fd, int64_t start, uint32_t count)
{
	char buf[QUOTA_RECORD_LEN + 1];
	int n = snprintf(buf, sizeof(buf), "%20" PRId64 " %10" PRIu32 "\n", start, count);
	if (n != QUOTA_RECORD_LEN)
		return -1;
	ssize_t w;
	do
		w = pwrite(fd, buf, QUOTA_RECORD_LEN, 0);
	while (w < 0 && errno == EINTR);
	return w == QUOTA_RECORD_LEN ? 0 : -1;
}

/* Start of the period containing now: floor(now / period) * period, with
 * a true floor for times before the epoch.  period 0 = one period for ever. */
static int64_t period_start(time_t now, uint32_t period_s)
{
	if (period_s == 0)
		return 0;
	int64_t t = (int64_t)now, p = period_s;
	int64_t q = t / p;
	if (t % p < 0)
		q--;
	return q * p;
}

int quota_take(const char *state_dir, const char *name, uint32_t limit, uint32_t period_s,
               time_t now)
{
	int64_t start;
	uint32_t count;
	int rc = -1, how;

	if (state_dir == NULL || name == NULL) {
		state_set_error("no state store");
		return -1;
	}
	if (state_is_postgresql(state_dir))
		return state_pg_take(state_dir, name, limit, period_s, period_start(now, period_s));
	int fd = open_counter(state_dir, name, true);
	if (fd < 0)
		goto out;
	if ((how = lock_counter(fd)) < 0)
		goto out;
	if (read_counter(fd, &start, &count) != 0)
		goto out_unlock;

	int64_t window = period_start(now, period_s);
	if (start != window) {
		/* A new period (or a clock that went back: the stored period is
		 * not ours either way, and counting into it would be wrong). */
		start = window;
		count = 0;
	}
	if (count >= limit) {
		rc = 0;
		goto out_unlock;
	}
	if (write_counter(fd, start, count + 1) != 0)
		goto out_unlock;
	rc = 1;
out_unlock:
	unlock_counter(fd, how);
out:
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		state_set_error("state directory %s unusable: the counter cannot be kept",
		                state_dir);
	return rc;
}

int quota_give_back(const char *state_dir, const char *name, uint32_t period_s, time_t now)
{
	int64_t start;
	uint32_t count;
	int rc = -1, how;

	if (state_dir == NULL || name == NULL)
		return -1;
	if (state_is_postgresql(state_dir))
		return state_pg_give_back(state_dir, name, period_start(now, period_s));
	int fd = open_counter(state_dir, name, false);
	if (fd == -2)
		return 0; /* nothing was ever taken */
	if (fd < 0)
		return -1;
	if ((how = lock_counter(fd)) < 0)
		goto out;
	if (read_counter(fd, &start, &count) != 0)
		goto out_unlock;
	/* Only a unit of the current period comes back; after a rollover the
	 * new period never counted it. */
	if (start == period_start(now, period_s) && count > 0 &&
	    write_counter(fd, start, count - 1) != 0)
		goto out_unlock;
	rc = 0;
out_unlock:
	unlock_counter(fd, how);
out:
	close(fd);
	return rc;
}

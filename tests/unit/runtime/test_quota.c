/* Unit tests for module/runtime/quota.c: limits, periods, give-back, safety of the
 * state directory, and one quota shared by processes and threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quota.h"

static const time_t T0 = 1767225600; /* 2026-01-01T00:00:00Z, a multiple of 1d */

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char p[512];
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			if (unlinkat(dirfd(d), e->d_name, 0) != 0)
				rm_rf(p), rmdir(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

static int setup_dir(void **state)
{
	char *dir = strdup("/tmp/sg-quota-XXXXXX");
	if (dir == NULL || mkdtemp(dir) == NULL)
		return -1;
	*state = dir;
	return 0;
}

static int teardown_dir(void **state)
{
	rm_rf(*state);
	free(*state);
	return 0;
}

/* The only file in dir (the counter), for inspecting and tampering. */
static void counter_path(const char *dir, char *out, size_t len)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(out, len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	assert_int_equal(n, 1);
}

static void test_limit(void **state)
{
	const char *dir = *state;
	for (int i = 0; i < 5; i++)
		assert_int_equal(quota_take(dir, "rule-a", 5, 3600, T0 + i), 1);
	assert_int_equal(quota_take(dir, "rule-a", 5, 3600, T0 + 10), 0);
	assert_int_equal(quota_take(dir, "rule-a", 5, 3600, T0 + 3599), 0);
	/* another counter is independent */
	assert_int_equal(quota_take(dir, "rule-b", 1, 3600, T0), 1);
	assert_int_equal(quota_take(dir, "rule-b", 1, 3600, T0), 0);
	/* a raised limit applies to the same counter */
	assert_int_equal(quota_take(dir, "rule-a", 6, 3600, T0 + 20), 1);
	assert_int_equal(quota_take(dir, "rule-a", 6, 3600, T0 + 20), 0);
	/* limit 0 never allows */
	assert_int_equal(quota_take(dir, "rule-zero", 0, 3600, T0), 0);
}

static void test_file_name_and_mode(void **state)
{
	const char *dir = *state;
	mode_t old = umask(0);
	int rc = quota_take(dir, "../../etc/passwd\n/x", 3, 60, T0);
	umask(old);
	assert_int_equal(rc, 1);
	char p[512];
	counter_path(dir, p, sizeof(p));
	const char *base = strrchr(p, '/') + 1;
	assert_memory_equal(base, "q-", 2);
	assert_int_equal(strlen(base), 66);
	assert_int_equal(strspn(base + 2, "0123456789abcdef"), 64);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, 32);
}

static void test_period_rollover(void **state)
{
	const char *dir = *state;
	const uint32_t day = 86400;
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + 100), 1);
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + 200), 1);
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + day - 1), 0);
	/* next window: floor(now/period)*period */
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + day), 1);
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + day + 5), 1);
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + 2 * day - 1), 0);
	/* a clock set back lands in another window: a fresh count there */
	assert_int_equal(quota_take(dir, "r", 2, day, T0 + 10), 1);
	/* period 0 = one window for ever */
	assert_int_equal(quota_take(dir, "forever", 1, 0, T0), 1);
	assert_int_equal(quota_take(dir, "forever", 1, 0, T0 + 100 * (time_t)day), 0);
	/* times before the epoch floor correctly */
	assert_int_equal(quota_take(dir, "neg", 1, 10, -5), 1);
	assert_int_equal(quota_take(dir, "neg", 1, 10, -10), 0);
	assert_int_equal(quota_take(dir, "neg", 1, 10, -11), 1);
	assert_int_equal(quota_take(dir, "neg", 1, 10, 0), 1);
}

static void test_give_back(void **state)
{
	const char *dir = *state;
	/* nothing taken yet: giving back is a no-op and creates nothing */
	assert_int_equal(quota_give_back(dir, "g", 60, T0), 0);
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	assert_int_equal(n, 0);

	assert_int_equal(quota_take(dir, "g", 2, 60, T0), 1);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0), 1);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0), 0);
	assert_int_equal(quota_give_back(dir, "g", 60, T0 + 1), 0);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0 + 2), 1);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0 + 2), 0);
	/* never below zero */
	for (int i = 0; i < 5; i++)
		assert_int_equal(quota_give_back(dir, "g", 60, T0 + 3), 0);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0 + 3), 1);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0 + 3), 1);
	assert_int_equal(quota_take(dir, "g", 2, 60, T0 + 3), 0);
	/* a give-back after rollover does not credit the new period */
	assert_int_equal(quota_take(dir, "h", 1, 60, T0 + 59), 1);
	assert_int_equal(quota_take(dir, "h", 1, 60, T0 + 60), 1);
	assert_int_equal(quota_give_back(dir, "h", 60, T0 + 59), 0);
	assert_int_equal(quota_take(dir, "h", 1, 60, T0 + 61), 0);
}

static void test_unsafe_state_dir(void **state)
{
	const char *dir = *state;
	char sub[512];

	assert_int_equal(quota_take(NULL, "x", 1, 60, T0), -1);
	assert_int_equal(quota_take(dir, NULL, 1, 60, T0), -1);
	snprintf(sub, sizeof(sub), "%s/missing", dir);
	assert_int_equal(quota_take(sub, "x", 1, 60, T0), -1);

	snprintf(sub, sizeof(sub), "%s/ww", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(sub, 0777), 0);
	assert_int_equal(quota_take(sub, "x", 1, 60, T0), -1);
	assert_int_equal(quota_give_back(sub, "x", 60, T0), -1);
	assert_int_equal(chmod(sub, 0770), 0);
	assert_int_equal(quota_take(sub, "x", 1, 60, T0), -1);
	assert_int_equal(chmod(sub, 01777), 0);
	assert_int_equal(quota_take(sub, "x", 1, 60, T0), -1);
	assert_int_equal(chmod(sub, 0755), 0);
	assert_int_equal(quota_take(sub, "x", 1, 60, T0), 1);

	/* a file where the directory should be */
	snprintf(sub, sizeof(sub), "%s/file", dir);
	int fd = open(sub, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(quota_take(sub, "x", 1, 60, T0), -1);

	/* owned by someone else (needs root to arrange) */
	if (geteuid() == 0) {
		snprintf(sub, sizeof(sub), "%s/other", dir);
		assert_int_equal(mkdir(sub, 0700), 0);
		assert_int_equal(chown(sub, 12345, 12345), 0);
		assert_int_equal(quota_take(sub, "x", 1, 60, T0), -1);
	}
}

static void test_unsafe_counter_file(void **state)
{
	const char *dir = *state;
	char p[512], other[512];

	assert_int_equal(quota_take(dir, "c", 10, 60, T0), 1);
	counter_path(dir, p, sizeof(p));

	/* group/world-writable counter */
	assert_int_equal(chmod(p, 0666), 0);
	assert_int_equal(quota_take(dir, "c", 10, 60, T0), -1);
	assert_int_equal(chmod(p, 0600), 0);
	assert_int_equal(quota_take(dir, "c", 10, 60, T0), 1);

	/* damaged content denies rather than resets */
	static const char *bad[] = {
		"garbage\n",
		"                   x          1\n",
		"          1767225600         -1\n",
		"          1767225600 4294967296\n",
		"          1767225600          1 ",
		"          1767225600          1\nextra",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int fd = open(p, O_WRONLY | O_TRUNC);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, bad[i], strlen(bad[i])), (ssize_t)strlen(bad[i]));
		close(fd);
		if (quota_take(dir, "c", 10, 60, T0) != -1)
			fail_msg("accepted damaged counter #%zu", i);
		assert_int_equal(quota_give_back(dir, "c", 60, T0), -1);
	}

	/* a symlink planted in place of the counter is not followed */
	snprintf(other, sizeof(other), "%s/target", dir);
	int fd = open(other, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(other, p), 0);
	assert_int_equal(quota_take(dir, "c", 10, 60, T0), -1);
	struct stat st;
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_size, 0);
	unlink(p);
	unlink(other);
}

/* A lock held elsewhere makes quota_take give up after about 2 s. */
static void test_lock_timeout(void **state)
{
	const char *dir = *state;
	char p[512];
	assert_int_equal(quota_take(dir, "locked", 10, 60, T0), 1);
	counter_path(dir, p, sizeof(p));

	int sync[2];
	assert_int_equal(pipe(sync), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		int fd = open(p, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
		if (fd < 0 || fcntl(fd, F_SETLK, &fl) != 0)
			_exit(1);
		char b = 'x';
		if (write(sync[1], &b, 1) != 1)
			_exit(1);
		sleep(4);
		_exit(0);
	}
	char b;
	assert_int_equal(read(sync[0], &b, 1), 1);
	struct timespec a, z;
	clock_gettime(CLOCK_MONOTONIC, &a);
	int rc = quota_take(dir, "locked", 10, 60, T0);
	clock_gettime(CLOCK_MONOTONIC, &z);
	double secs = (double)(z.tv_sec - a.tv_sec) + (double)(z.tv_nsec - a.tv_nsec) / 1e9;
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	close(sync[0]);
	close(sync[1]);
	assert_int_equal(rc, -1);
	assert_true(secs >= 1.5 && secs < 3.5);
	/* the holder is gone: usable again */
	assert_int_equal(quota_take(dir, "locked", 10, 60, T0), 1);
}

enum { SHARED_LIMIT = 300, N_PROCS = 2, N_THREADS = 4 };

static int take_all(const char *dir)
{
	int taken = 0;
	for (;;) {
		int rc = quota_take(dir, "shared", SHARED_LIMIT, 3600, T0);
		if (rc == 1)
			taken++;
		else
			return rc == 0 ? taken : -1;
	}
}

/* Two processes race for one quota: together they get exactly the limit. */
static void test_two_processes(void **state)
{
	const char *dir = *state;
	int go[2], res[N_PROCS][2];
	pid_t pids[N_PROCS];

	assert_int_equal(pipe(go), 0);
	for (int i = 0; i < N_PROCS; i++) {
		assert_int_equal(pipe(res[i]), 0);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char b;
			close(go[1]);
			/* start together: both block until the parent closes go */
			while (read(go[0], &b, 1) > 0)
				;
			int n = take_all(dir);
			_exit(write(res[i][1], &n, sizeof(n)) == sizeof(n) ? 0 : 1);
		}
		close(res[i][1]);
	}
	close(go[0]);
	close(go[1]);

	int total = 0;
	for (int i = 0; i < N_PROCS; i++) {
		int n = -1, status;
		assert_int_equal(read(res[i][0], &n, sizeof(n)), sizeof(n));
		close(res[i][0]);
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_true(n >= 0);
		print_message("process %d took %d\n", i, n);
		total += n;
	}
	assert_int_equal(total, SHARED_LIMIT);
	assert_int_equal(quota_take(dir, "shared", SHARED_LIMIT, 3600, T0), 0);
}

static void *thread_take(void *arg)
{
	const char *dir = arg;
	return (void *)(intptr_t)take_all(dir);
}

/* Threads of one process, too: fcntl locks must not be per process here. */
static void test_threads(void **state)
{
	const char *dir = *state;
	pthread_t th[N_THREADS];
	for (int i = 0; i < N_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, thread_take, (void *)dir), 0);
	int total = 0;
	for (int i = 0; i < N_THREADS; i++) {
		void *r;
		pthread_join(th[i], &r);
		assert_true((intptr_t)r >= 0);
		total += (int)(intptr_t)r;
	}
	assert_int_equal(total, SHARED_LIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_limit, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_file_name_and_mode, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_period_rollover, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_give_back, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unsafe_state_dir, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_unsafe_counter_file, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_lock_timeout, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_two_processes, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_threads, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* Unit tests for module/runtime/state.c: the file store's revocation list (the
 * kill switch), its cache and its safety checks, and state locators. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "quota.h"
#include "state.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sg-state-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	state_revocation_cache_flush();
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_locator(void **state)
{
	(void)state;
	assert_true(state_is_postgresql("postgresql:2000:/etc/signgate/state.conninfo"));
	assert_false(state_is_postgresql("/var/lib/signgate"));
	assert_false(state_is_postgresql(NULL));
}

static void test_revoke_unrevoke(void **state)
{
	char why[STATE_REASON_MAX + 1];
	bool was = true;
	(void)state;
	assert_int_equal(state_key_revoked(dir, "k1", why, sizeof why), 0);
	assert_int_equal(state_revoke(dir, "k1", "leaked\nsecond line", "test"), 0);
	assert_int_equal(state_key_revoked(dir, "k1", why, sizeof why), 1);
	/* control characters never reach the audit */
	assert_string_equal(why, "leaked?second line");
	assert_int_equal(state_key_revoked(dir, "k2", why, sizeof why), 0);
	assert_int_equal(state_unrevoke(dir, "k1", &was), 0);
	assert_true(was);
	assert_int_equal(state_key_revoked(dir, "k1", why, sizeof why), 0);
	assert_int_equal(state_unrevoke(dir, "k1", &was), 0);
	assert_false(was);
}

/* Another process's revocation is seen within the cache bound, not at
 * once (the cache is what makes the check cheap), and not later. */
static void test_cache_bound(void **state)
{
	char why[64];
	(void)state;
	assert_int_equal(state_key_revoked(dir, "k", why, sizeof why), 0); /* cached now */
	char cmd[256];
	/* write the entry as signgate revoke does, behind the cache's back */
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/revoked' && chmod 0755 '%s/revoked'", dir, dir);
	assert_int_equal(system(cmd), 0);
	pid_t p = fork();
	if (p == 0) {
		state_revocation_cache_flush();
		_exit(state_revoke(dir, "k", "from elsewhere", "child") == 0 ? 0 : 1);
	}
	int st;
	waitpid(p, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int r;
	while ((r = state_key_revoked(dir, "k", why, sizeof why)) == 0) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		assert_true((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000 <
		            STATE_REVOCATION_CACHE_MS + 200);
		usleep(20000);
	}
	assert_int_equal(r, 1);
	assert_string_equal(why, "from elsewhere");
}

/* A missing state directory holds no revocations (hosts without quotas
 * need none); an unsafe one, or an entry others could write, refuses. */
static void test_unsafe(void **state)
{
	char why[64], path[128], missing[96];
	(void)state;
	snprintf(missing, sizeof missing, "%s/does-not-exist", dir);
	assert_int_equal(state_key_revoked(missing, "k", why, sizeof why), 0);
	assert_int_equal(state_revoke(missing, "k", "x", "t"), -1);

	assert_int_equal(state_revoke(dir, "k", "x", "t"), 0);
	snprintf(path, sizeof path, "%s/revoked", dir);
	assert_int_equal(chmod(path, 0777), 0);
	state_revocation_cache_flush();
	assert_int_equal(state_key_revoked(dir, "other", why, sizeof why), -1);
	assert_true(strstr(state_error(), "revoked/") != NULL);
	assert_int_equal(chmod(path, 0755), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	state_revocation_cache_flush();
	assert_int_equal(state_key_revoked(dir, "other", why, sizeof why), -1);
	assert_int_equal(chmod(dir, 0700), 0);
	state_revocation_cache_flush();
	assert_int_equal(state_key_revoked(dir, "other", why, sizeof why), 0);
	assert_int_equal(state_key_revoked(dir, "k", why, sizeof why), 1);
}

/* The file store's failures say why (the audit detail of state-unavailable). */
static void test_quota_error_text(void **state)
{
	char missing[96];
	(void)state;
	snprintf(missing, sizeof missing, "%s/nope", dir);
	assert_int_equal(quota_take(missing, "rule:r", 1, 0, time(NULL)), -1);
	assert_true(strstr(state_error(), "unusable") != NULL);
	assert_int_equal(quota_take(dir, "rule:r", 1, 0, time(NULL)), 1);
	assert_int_equal(quota_take(dir, "rule:r", 1, 0, time(NULL)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_locator),
		cmocka_unit_test_setup_teardown(test_revoke_unrevoke, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsafe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_error_text, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

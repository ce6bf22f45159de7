/* Unit tests for module/runtime/cfgref.c: a retired config lives exactly
 * as long as its last reference; references of an earlier lifetime (after
 * cfgref_fini, in a forked child) are never followed.  Run under ASan,
 * a config freed too early is a use-after-free report, one never freed a
 * leak. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfgref.h"

static config_t *cfg_new(void)
{
	char err[CONFIG_ERR_MAX];
	config_t *c =
	        config_load_string("backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	                           "audit = { enabled = false; };\n",
	                           "test", err, sizeof(err));
	if (!c)
		fail_msg("config_load_string: %s", err);
	return c;
}

static cfgref_stats_t stats(void)
{
	cfgref_stats_t s;
	cfgref_stats(&s);
	return s;
}

static int teardown(void **state)
{
	(void)state;
	cfgref_fini();
	return 0;
}

static void test_retired_freed_at_last_drop(void **state)
{
	(void)state;
	config_t *a = cfg_new(), *b = cfg_new();
	cfgref_t r1 = { 0 }, r2 = { 0 };
	uint64_t freed0 = stats().freed;

	assert_true(cfgref_publish(a));
	assert_ptr_equal(cfgref_hold(&r1), a);
	assert_ptr_equal(cfgref_hold(&r2), a);
	assert_true(cfgref_publish(b));
	/* a is retired, held twice: still readable */
	assert_int_equal(stats().alive, 2);
	assert_int_equal(stats().retired, 1);
	assert_ptr_equal(cfgref_config(&r1), a);
	assert_non_null(cfgref_config(&r1)->path);
	cfgref_drop(&r1);
	assert_null(r1.node);
	assert_int_equal(stats().freed, freed0);
	cfgref_drop(&r2);
	assert_int_equal(stats().freed, freed0 + 1);
	assert_int_equal(stats().alive, 1);
	cfgref_drop(&r2); /* twice: nothing */
	assert_int_equal(stats().freed, freed0 + 1);
}

static void test_unheld_freed_at_publish(void **state)
{
	(void)state;
	uint64_t freed0 = stats().freed;
	assert_true(cfgref_publish(cfg_new()));
	assert_true(cfgref_publish(cfg_new()));
	assert_int_equal(stats().freed, freed0 + 1);
	assert_int_equal(stats().alive, 1);
}

static void test_hold_moves_and_assign(void **state)
{
	(void)state;
	config_t *a = cfg_new(), *b = cfg_new();
	cfgref_t t = { 0 }, s = { 0 };
	uint64_t freed0 = stats().freed;

	assert_true(cfgref_publish(a));
	cfgref_hold(&t);
	cfgref_assign(&s, &t); /* a session keeps what a call decided under */
	cfgref_assign(&s, &t); /* again: no second reference */
	cfgref_drop(&t);
	assert_true(cfgref_publish(b));
	assert_int_equal(stats().retired, 1);
	assert_ptr_equal(cfgref_config(&s), a);
	/* hold on a ref moves it to the config in force, freeing the old */
	assert_ptr_equal(cfgref_hold(&s), b);
	assert_int_equal(stats().freed, freed0 + 1);
	assert_int_equal(stats().retired, 0);
	uint64_t sb = cfgref_serial(&s);
	assert_true(sb > 0);
	cfgref_drop(&s);
	assert_true(cfgref_publish(cfg_new()));
	cfgref_hold(&s);
	assert_true(cfgref_serial(&s) > sb);
	cfgref_drop(&s);
}

static void test_null_config(void **state)
{
	(void)state;
	cfgref_t r = { 0 };
	assert_true(cfgref_publish(NULL)); /* invalid file: deny all */
	assert_null(cfgref_hold(&r));
	assert_null(cfgref_config(&r));
	assert_int_equal(cfgref_serial(&r), 0);
	assert_int_equal(stats().alive, 0);
	cfgref_drop(&r);
}

static void test_fini_then_stale_refs(void **state)
{
	(void)state;
	cfgref_t r = { 0 }, s = { 0 };
	assert_true(cfgref_publish(cfg_new()));
	cfgref_hold(&r);
	assert_true(cfgref_publish(cfg_new()));
	cfgref_hold(&s);
	cfgref_fini(); /* frees both, held or not */
	assert_int_equal(stats().alive, 0);
	/* a new lifetime, maybe a new config at the same address */
	assert_true(cfgref_publish(cfg_new()));
	assert_null(cfgref_config(&r)); /* never followed */
	assert_int_equal(cfgref_serial(&s), 0);
	cfgref_drop(&r);
	cfgref_assign(&s, &r);
	cfgref_drop(&s);
	assert_int_equal(stats().alive, 1); /* the new one untouched */
	cfgref_t n = { 0 };
	assert_non_null(cfgref_hold(&n));
	cfgref_drop(&n);
}

static void test_fork_child_forgets(void **state)
{
	(void)state;
	cfgref_t r = { 0 };
	assert_true(cfgref_publish(cfg_new()));
	cfgref_hold(&r);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		cfgref_stats_t s;
		cfgref_stats(&s);
		cfgref_drop(&r); /* the parent's: not followed, nothing freed */
		bool ok = s.alive == 0 && cfgref_hold(&r) == NULL;
		_exit(ok ? 0 : 1);
	}
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(cfgref_config(&r)); /* the parent's is intact */
	cfgref_drop(&r);
}

/* Threads hold, read and drop while the config is replaced: every read is
 * of a live config (ASan), and all retired ones end freed. */
static volatile int g_stop;

static void *reader(void *arg)
{
	(void)arg;
	cfgref_t r = { 0 };
	unsigned long n = 0;
	while (!g_stop) {
		const config_t *c = cfgref_hold(&r);
		if (c && c->path)
			n += strlen(c->path);
		cfgref_drop(&r);
	}
	return (void *)n;
}

static void test_threads(void **state)
{
	(void)state;
	pthread_t th[4];
	assert_true(cfgref_publish(cfg_new()));
	g_stop = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, NULL), 0);
	for (int i = 0; i < 200; i++)
		assert_true(cfgref_publish(cfg_new()));
	g_stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(stats().alive, 1);
	assert_int_equal(stats().retired, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_retired_freed_at_last_drop, teardown),
		cmocka_unit_test_teardown(test_unheld_freed_at_publish, teardown),
		cmocka_unit_test_teardown(test_hold_moves_and_assign, teardown),
		cmocka_unit_test_teardown(test_null_config, teardown),
		cmocka_unit_test_teardown(test_fini_then_stale_refs, teardown),
		cmocka_unit_test_teardown(test_fork_child_forgets, teardown),
		cmocka_unit_test_teardown(test_threads, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

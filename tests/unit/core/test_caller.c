/* caller.c: group membership is decided only by the gids the caller's
 * identity recorded, never by gids past n_groups or past the array, and an
 * unknown caller (NULL) is in no group. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caller.h"

static void test_null_caller_in_no_group(void **state)
{
	(void)state;
	assert_false(caller_in_group(NULL, 0));
	assert_false(caller_in_group(NULL, 1000));
}

static void test_member_and_not(void **state)
{
	(void)state;
	caller_t c;
	memset(&c, 0, sizeof(c));
	c.known = true;
	c.gid = 100;
	c.groups[0] = 100;
	c.groups[1] = 27;
	c.groups[2] = 5000;
	c.n_groups = 3;
	assert_true(caller_in_group(&c, 100));
	assert_true(caller_in_group(&c, 27));
	assert_true(caller_in_group(&c, 5000)); /* the last recorded gid counts */
	assert_false(caller_in_group(&c, 0));   /* root's group: not recorded */
	assert_false(caller_in_group(&c, 28));
}

/* gids stored after n_groups are stale, not the caller's: not members. */
static void test_only_first_n_groups(void **state)
{
	(void)state;
	caller_t c;
	memset(&c, 0, sizeof(c));
	c.groups[0] = 10;
	c.groups[1] = 20;
	c.groups[2] = 30;
	c.n_groups = 2;
	assert_true(caller_in_group(&c, 20));
	assert_false(caller_in_group(&c, 30));
	c.n_groups = 0;
	assert_false(caller_in_group(&c, 10));
	/* a zeroed caller has no groups: gid 0 is not matched by the zeros */
	assert_false(caller_in_group(&c, 0));
}

/* An n_groups beyond the array (a corrupted or hostile count) reads no
 * further than CALLER_MAX_GROUPS entries: the bytes of program[], which
 * follows groups[] in caller_t, are never taken for a gid. */
static void test_count_past_the_array(void **state)
{
	(void)state;
	caller_t c;
	memset(&c, 0, sizeof(c));
	for (size_t i = 0; i < CALLER_MAX_GROUPS; i++)
		c.groups[i] = (gid_t)(1000 + i);
	memset(c.program, 'A', sizeof(c.program) - 1);
	gid_t from_program;
	memcpy(&from_program, c.program, sizeof(from_program)); /* 0x41414141 */
	c.n_groups = (size_t)-1;
	assert_true(caller_in_group(&c, 1000));
	assert_true(caller_in_group(&c, (gid_t)(1000 + CALLER_MAX_GROUPS - 1)));
	assert_false(caller_in_group(&c, (gid_t)(1000 + CALLER_MAX_GROUPS)));
	assert_false(caller_in_group(&c, from_program));
	c.n_groups = CALLER_MAX_GROUPS + 1;
	assert_false(caller_in_group(&c, from_program));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_caller_in_no_group),
		cmocka_unit_test(test_member_and_not),
		cmocka_unit_test(test_only_first_n_groups),
		cmocka_unit_test(test_count_past_the_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

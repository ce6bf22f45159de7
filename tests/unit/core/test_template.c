/* template.c: duplicate attribute types are found wherever they are and
 * however long the template; typed readers never read a value as a type
 * of another size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static void test_no_duplicates(void **state)
{
	(void)state;
	CK_ULONG one = 1;
	CK_ATTRIBUTE t[] = { { CKA_CLASS, &one, sizeof(one) },
		             { CKA_ID, "a", 1 },
		             { CKA_LABEL, "b", 1 } };
	assert_int_equal(template_check(t, 3, NULL), CKR_OK);
	assert_int_equal(template_check(t, 0, NULL), CKR_OK);
	assert_int_equal(template_check(NULL, 0, NULL), CKR_OK);
	assert_int_equal(template_check(NULL, 2, NULL), CKR_ARGUMENTS_BAD);
}

static void test_duplicates_anywhere(void **state)
{
	(void)state;
	CK_ATTRIBUTE t[5] = { { CKA_ID, "x", 1 },
		              { CKA_LABEL, "l", 1 },
		              { CKA_TOKEN, NULL, 0 },
		              { CKA_PRIVATE, NULL, 0 },
		              { CKA_SIGN, NULL, 0 } };
	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++) {
			if (i == j)
				continue;
			CK_ATTRIBUTE c[5];
			CK_ATTRIBUTE_TYPE dup = 0;
			memcpy(c, t, sizeof(c));
			c[j].type = c[i].type;
			assert_int_equal(template_check(c, 5, &dup), CKR_TEMPLATE_INCONSISTENT);
			assert_int_equal(dup, t[i].type);
		}
}

/* Above TEMPLATE_SMALL the check sorts: same answers, first and last. */
static void test_large_templates(void **state)
{
	(void)state;
	const CK_ULONG n = 5000;
	CK_ATTRIBUTE *t = calloc(n, sizeof(*t));
	CK_ATTRIBUTE_TYPE dup = 0;
	assert_non_null(t);
	for (CK_ULONG i = 0; i < n; i++)
		t[i].type = CKA_VENDOR_DEFINED + n - i;
	assert_int_equal(template_check(t, n, NULL), CKR_OK);
	t[n - 1].type = t[0].type;
	assert_int_equal(template_check(t, n, &dup), CKR_TEMPLATE_INCONSISTENT);
	assert_int_equal(dup, t[0].type);
	t[n - 1].type = CKA_VENDOR_DEFINED + 1;
	t[TEMPLATE_SMALL + 1].type = CKA_ID;
	t[TEMPLATE_SMALL + 2].type = CKA_ID;
	assert_int_equal(template_check(t, TEMPLATE_SMALL + 3, NULL), CKR_TEMPLATE_INCONSISTENT);
	/* a count no memory can hold is refused, never multiplied */
	assert_int_equal(template_check(t, (CK_ULONG)-1, NULL), CKR_HOST_MEMORY);
	free(t);
}

static void test_ulong(void **state)
{
	(void)state;
	unsigned char buf[sizeof(CK_ULONG) + 1];
	CK_ULONG v = CKO_PRIVATE_KEY, out = 0;
	memcpy(buf + 1, &v, sizeof(v));
	CK_ATTRIBUTE t[] = { { CKA_CLASS, buf + 1, sizeof(CK_ULONG) },
		             { CKA_KEY_TYPE, &v, 4 },
		             { CKA_MODULUS_BITS, NULL, sizeof(CK_ULONG) } };
	assert_int_equal(template_get_ulong(t, 3, CKA_CLASS, &out), TEMPLATE_OK);
	assert_int_equal(out, CKO_PRIVATE_KEY);
	assert_int_equal(template_get_ulong(t, 3, CKA_KEY_TYPE, &out), TEMPLATE_BAD);
	assert_int_equal(template_get_ulong(t, 3, CKA_MODULUS_BITS, &out), TEMPLATE_BAD);
	assert_int_equal(template_get_ulong(t, 3, CKA_ID, &out), TEMPLATE_ABSENT);
	assert_int_equal(template_get_ulong(NULL, 0, CKA_ID, &out), TEMPLATE_ABSENT);
}

static void test_bool(void **state)
{
	(void)state;
	CK_BBOOL yes = 2, no = CK_FALSE;
	CK_ULONG wide = 1;
	bool out = false;
	CK_ATTRIBUTE t[] = { { CKA_TOKEN, &yes, 1 },
		             { CKA_PRIVATE, &no, 1 },
		             { CKA_SIGN, &wide, sizeof(wide) } };
	assert_int_equal(template_get_bool(t, 3, CKA_TOKEN, &out), TEMPLATE_OK);
	assert_true(out);
	assert_int_equal(template_get_bool(t, 3, CKA_PRIVATE, &out), TEMPLATE_OK);
	assert_false(out);
	assert_int_equal(template_get_bool(t, 3, CKA_SIGN, &out), TEMPLATE_BAD);
	assert_int_equal(template_get_bool(t, 3, CKA_DECRYPT, &out), TEMPLATE_ABSENT);
	/* a CK_BBOOL without a value, of the right size: not a value either */
	CK_ATTRIBUTE n[] = { { CKA_TOKEN, NULL, sizeof(CK_BBOOL) } };
	out = true;
	assert_int_equal(template_get_bool(n, 1, CKA_TOKEN, &out), TEMPLATE_BAD);
	assert_true(out); /* untouched */
}

/* A duplicate in a small template is refused without a place to say
 * which type repeated. */
static void test_duplicate_without_dup_out(void **state)
{
	(void)state;
	CK_ATTRIBUTE t[] = { { CKA_ID, "a", 1 }, { CKA_LABEL, "l", 1 }, { CKA_ID, "b", 1 } };
	assert_int_equal(template_check(t, 3, NULL), CKR_TEMPLATE_INCONSISTENT);
}

static void test_bytes(void **state)
{
	(void)state;
	const unsigned char *p = NULL;
	size_t len = 99;
	CK_ATTRIBUTE t[] = { { CKA_ID, "\x02", 1 },
		             { CKA_LABEL, NULL, 0 },
		             { CKA_VALUE, NULL, 5 },
		             { CKA_PUBLIC_KEY_INFO, "abc", CK_UNAVAILABLE_INFORMATION },
		             { CKA_SUBJECT, "abcdef", 6 } };
	assert_int_equal(template_get_bytes(t, 5, CKA_ID, 64, &p, &len), TEMPLATE_OK);
	assert_int_equal(len, 1);
	assert_int_equal(p[0], 2);
	assert_int_equal(template_get_bytes(t, 5, CKA_LABEL, 64, &p, &len), TEMPLATE_OK);
	assert_int_equal(len, 0);
	assert_int_equal(template_get_bytes(t, 5, CKA_VALUE, 64, &p, &len), TEMPLATE_BAD);
	assert_int_equal(template_get_bytes(t, 5, CKA_PUBLIC_KEY_INFO, 64, &p, &len), TEMPLATE_BAD);
	assert_int_equal(template_get_bytes(t, 5, CKA_SUBJECT, 5, &p, &len), TEMPLATE_BAD);
	assert_int_equal(template_get_bytes(t, 5, CKA_SUBJECT, 6, &p, &len), TEMPLATE_OK);
	assert_int_equal(template_get_bytes(t, 5, CKA_ISSUER, 6, &p, &len), TEMPLATE_ABSENT);
	assert_ptr_equal(template_find(t, 5, CKA_SUBJECT), &t[4]);
	assert_null(template_find(t, 5, CKA_ISSUER));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_duplicates),
		cmocka_unit_test(test_duplicates_anywhere),
		cmocka_unit_test(test_large_templates),
		cmocka_unit_test(test_ulong),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_duplicate_without_dup_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

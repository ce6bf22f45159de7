/* token.c: the one copy of token names, exposure, PIN-file reading and
 * key governance that the module (gate.c, enforce.c) and the tools share.
 *
 *  - a padded PKCS#11 field equals a config name only without its padding,
 *    byte for byte (no prefix, no NUL inside, trailing NULs are padding);
 *  - backend.tokens exposes by label or serial; unset exposes every token;
 *  - the PIN file: trailing CR/LF dropped, the rest kept; empty refused;
 *    group-readable refused in the module's mode, read in the tools'
 *    mode (inventory reports it as a finding);
 *  - token_key_govern: an object whose identity is not established is
 *    key-unknown (other token: key-other-token), never "ungoverned"; a
 *    governed key's ID without its fingerprint is key-mismatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "token.h"

static void pad(CK_UTF8CHAR *f, size_t size, const char *s)
{
	memset(f, ' ', size);
	memcpy(f, s, strlen(s));
}

static void test_field(void **state)
{
	(void)state;
	CK_UTF8CHAR label[32], serial[16];
	char out[33];

	pad(label, sizeof label, "release");
	assert_true(token_field_is(label, sizeof label, "release"));
	assert_false(token_field_is(label, sizeof label, "releas"));
	assert_false(token_field_is(label, sizeof label, "release2"));
	assert_false(token_field_is(label, sizeof label, ""));
	assert_int_equal(token_field_len(label, sizeof label), 7);
	/* trailing NULs are padding too */
	memset(label + 7, '\0', sizeof label - 7);
	assert_true(token_field_is(label, sizeof label, "release"));
	/* a NUL inside is not: "rel\0ease" is not "rel" */
	pad(label, sizeof label, "rel ease");
	label[3] = '\0';
	assert_false(token_field_is(label, sizeof label, "rel"));
	/* a leading space is kept */
	pad(label, sizeof label, " lead");
	assert_true(token_field_is(label, sizeof label, " lead"));
	token_field_copy(out, sizeof out, label, sizeof label);
	assert_string_equal(out, " lead");
	pad(serial, sizeof serial, "0123456789abcdef");
	token_field_copy(out, 8, serial, sizeof serial);
	assert_string_equal(out, "0123456");
}

static void test_exposed(void **state)
{
	(void)state;
	CK_TOKEN_INFO ti;
	char *names[] = { "release", "0042" };
	config_backend_t all = { 0 }, some = { .tokens = names, .n_tokens = 2 };

	memset(&ti, 0, sizeof ti);
	pad(ti.label, sizeof ti.label, "other");
	pad(ti.serialNumber, sizeof ti.serialNumber, "0042");
	assert_true(token_info_exposed(&all, &ti));
	assert_true(token_info_exposed(&some, &ti)); /* by serial */
	assert_true(token_info_named(&ti, "0042"));
	pad(ti.serialNumber, sizeof ti.serialNumber, "00421");
	assert_false(token_info_exposed(&some, &ti));
	pad(ti.label, sizeof ti.label, "release");
	assert_true(token_info_exposed(&some, &ti)); /* by label */
	assert_false(token_info_exposed(NULL, &ti));
	assert_true(token_exposed(&some, "release", ""));
	assert_false(token_exposed(&some, "releases", ""));
	assert_true(token_exposed(&all, "x", ""));
	assert_false(token_named("", "", "")); /* an empty serial names nothing */
	assert_true(token_named("0042", "x", "0042"));
}

static char dir[64];

static const char *pin_file(const char *name, const char *content, size_t len, mode_t mode)
{
	static char path[128];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(content, 1, len, f);
	fclose(f);
	chmod(path, mode);
	return path;
}

static void test_pin(void **state)
{
	(void)state;
	CK_UTF8CHAR pin[TOKEN_PIN_MAX + 1];
	CK_ULONG len = 0;
	char err[256];
	const char *p;

	p = pin_file("crlf", "1234\r\n", 6, 0600);
	assert_int_equal(
	        token_pin_read(p, TOKEN_PIN_STRICT, pin, sizeof pin, &len, err, sizeof err), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(pin, "1234", 4);
	/* only the trailing line end goes: an inner newline is part of the PIN */
	p = pin_file("two", "12\n34\n", 6, 0600);
	assert_int_equal(
	        token_pin_read(p, TOKEN_PIN_STRICT, pin, sizeof pin, &len, err, sizeof err), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(pin, "12\n34", 5);
	p = pin_file("empty", "\n", 1, 0600);
	assert_int_equal(
	        token_pin_read(p, TOKEN_PIN_STRICT, pin, sizeof pin, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "empty"));
	/* a group-readable PIN file: the module refuses it, inventory reads it */
	p = pin_file("loose", "1234\n", 5, 0640);
	assert_int_equal(
	        token_pin_read(p, TOKEN_PIN_STRICT, pin, sizeof pin, &len, err, sizeof err), -1);
	assert_non_null(strstr(err, "insecure"));
	assert_int_equal(
	        token_pin_read(p, TOKEN_PIN_ANY_MODE, pin, sizeof pin, &len, err, sizeof err), 0);
	assert_int_equal(len, 4);
	/* longer than the buffer */
	char big[TOKEN_PIN_MAX + 8];
	memset(big, '7', sizeof big);
	p = pin_file("big", big, sizeof big, 0600);
	assert_int_equal(
	        token_pin_read(p, TOKEN_PIN_STRICT, pin, sizeof pin, &len, err, sizeof err), -1);
	assert_int_equal(
	        token_pin_read(NULL, TOKEN_PIN_STRICT, pin, sizeof pin, &len, err, sizeof err), -1);
}

static void test_govern(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX];
	const char *text =
	        "backend = { module = \"/nonexistent.so\"; };\n"
	        "roles = ( { name = \"r\"; users = [ 0 ]; } );\n"
	        "keys = ( { name = \"k\"; token = \"release\"; id = \"01\"; label = \"kl\";\n"
	        "  fingerprint = \"sha256:1111111111111111111111111111111111111111111111111111111111111111\";\n"
	        "  mechanisms = [ \"ECDSA\" ]; } );\n"
	        "rules = ( { name = \"s\"; roles = [ \"r\" ]; keys = [ \"k\" ]; } );\n";
	config_t *cfg = config_load_string(text, "t.conf", err, sizeof err);
	assert_non_null(cfg);
	key_attrs_t ka;
	policy_reason_t why;

	memset(&ka, 0, sizeof ka);
	ka.standing = KEY_KNOWN;
	ka.id[0] = 1;
	ka.id_len = 1;
	strcpy(ka.label, "kl");
	/* the governed key's ID and label, no established fingerprint */
	assert_null(token_key_govern(cfg, "release", "", &ka, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH);
	ka.has_fp = true;
	memset(ka.fp, 0x11, 32);
	assert_ptr_equal(token_key_govern(cfg, "release", "", &ka, &why), &cfg->keys[0]);
	assert_int_equal(why, REASON_ALLOWED);
	/* the same on another token: not this key */
	assert_null(token_key_govern(cfg, "other", "", &ka, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH); /* its material elsewhere: a copy */
	/* identity not established: never ungoverned */
	ka.standing = KEY_UNKNOWN;
	assert_null(token_key_govern(cfg, "release", "", &ka, &why));
	assert_int_equal(why, REASON_KEY_UNKNOWN);
	ka.standing = KEY_OTHER_TOKEN;
	assert_null(token_key_govern(cfg, "release", "", &ka, &why));
	assert_int_equal(why, REASON_KEY_OTHER_TOKEN);
	/* a label longer than the module reads matches no governed label */
	ka.standing = KEY_KNOWN;
	ka.id_len = 0;
	ka.label_long = true;
	ka.has_fp = false;
	assert_null(token_key_govern(cfg, "release", "", &ka, &why));
	assert_int_equal(why, REASON_KEY_UNGOVERNED);
	assert_null(token_key_govern(NULL, "release", "", &ka, &why));
	assert_int_equal(why, REASON_KEY_UNGOVERNED);
	config_free(cfg);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sg-token-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_exposed),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_govern),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests for module/runtime/secure_open.c: the one reader of every file the
 * module trusts (config, validator keys, PIN file, SIGNGATE_TICKET). */
#include <errno.h>
#include <fcntl.h>
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

#include "secure_open.h"

static char dir[64], path[128];

static void put(const char *p, const char *text, mode_t mode)
{
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(chmod(p, mode), 0);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof dir, "/tmp/sg-test-secure.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof path, "%s/f", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Reads and refuses with a message that starts with the path. */
static bool rd(const char *p, unsigned flags, size_t max, char *err)
{
	char *buf = NULL;
	size_t len = 0;
	bool ok = secure_read_file(p, flags, max, &buf, &len, NULL, err, 512);
	if (ok) {
		assert_non_null(buf);
		assert_int_equal(buf[len], '\0');
		free(buf);
	} else {
		assert_null(buf);
		assert_int_equal(strncmp(err, p, strlen(p)), 0);
	}
	return ok;
}

static void test_reads_whole_file(void **state)
{
	(void)state;
	char *buf = NULL, err[512];
	size_t len = 0;
	struct stat st;
	put(path, "hello\n", 0600);
	assert_true(secure_read_file(path, 0, 64, &buf, &len, &st, err, sizeof err));
	assert_int_equal(len, 6);
	assert_string_equal(buf, "hello\n");
	assert_true(S_ISREG(st.st_mode));
	free(buf);
	put(path, "", 0644);
	assert_true(rd(path, 0, 64, err));
}

static void test_modes(void **state)
{
	(void)state;
	char err[512];
	put(path, "x", 0620);
	assert_false(rd(path, 0, 64, err));
	assert_non_null(strstr(err, "insecure permissions 0620: group- or world-writable"));
	put(path, "x", 0602);
	assert_false(rd(path, 0, 64, err));
	assert_non_null(strstr(err, "insecure permissions 0602"));
	/* a public key may be readable by all, a secret not */
	put(path, "x", 0644);
	assert_true(rd(path, 0, 64, err));
	assert_false(rd(path, SECURE_OPEN_SECRET, 64, err));
	assert_non_null(
	        strstr(err, "insecure permissions 0644: a secret readable by group or others"));
	put(path, "x", 0640);
	assert_false(rd(path, SECURE_OPEN_SECRET, 64, err));
	put(path, "x", 0604);
	assert_false(rd(path, SECURE_OPEN_SECRET, 64, err));
	put(path, "x", 0600);
	assert_true(rd(path, SECURE_OPEN_SECRET, 64, err));
	put(path, "x", 0400);
	assert_true(rd(path, SECURE_OPEN_SECRET, 64, err));
	/* the tools' lax mode skips owner and mode, not the file type */
	put(path, "x", 0666);
	assert_true(rd(path, SECURE_OPEN_ANY_OWNER, 64, err));
}

static void test_owner(void **state)
{
	(void)state;
	char err[512];
	if (geteuid() != 0)
		skip();
	put(path, "x", 0600);
	assert_int_equal(chown(path, 4242, 4242), 0);
	assert_false(rd(path, 0, 64, err));
	assert_non_null(strstr(err, "insecure permissions: owned by uid 4242, not root or uid 0"));
	assert_true(rd(path, SECURE_OPEN_ANY_OWNER, 64, err));
}

static void test_types(void **state)
{
	(void)state;
	char err[512], link[160], fifo[160];
	/* a directory, a device, a FIFO (without hanging), a missing file */
	assert_false(rd(dir, 0, 64, err));
	assert_non_null(strstr(err, "not a regular file"));
	assert_false(rd("/dev/zero", SECURE_OPEN_ANY_OWNER, 64, err));
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(fifo, sizeof fifo, "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_false(rd(fifo, 0, 64, err));
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(link, sizeof link, "%s/missing", dir);
	assert_false(rd(link, 0, 64, err));
	assert_non_null(strstr(err, "cannot open: No such file"));
	/* a symbolic link: followed unless NOFOLLOW */
	put(path, "x", 0600);
	snprintf(link, sizeof link, "%s/link", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_true(rd(link, 0, 64, err));
	assert_false(rd(link, SECURE_OPEN_NOFOLLOW, 64, err));
	assert_non_null(strstr(err, "insecure: a symbolic link"));
}

static void test_size(void **state)
{
	(void)state;
	char err[512];
	put(path, "0123456789", 0600);
	assert_true(rd(path, 0, 10, err));
	assert_false(rd(path, 0, 9, err));
	assert_non_null(strstr(err, "file too large (10 bytes, at most 9)"));
	assert_false(rd("", 0, 9, err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads_whole_file),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_owner),
		cmocka_unit_test(test_types),
		cmocka_unit_test(test_size),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

/* Unit tests for module/runtime/identify.c: own identity, socket peers, names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "caller.h"
#include "identify.h"

static void sha256_file(const char *path, unsigned char out[32])
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestInit_ex(ctx, EVP_sha256(), NULL), 1);
	unsigned char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(EVP_DigestUpdate(ctx, buf, n), 1);
	unsigned int len = 0;
	assert_int_equal(EVP_DigestFinal_ex(ctx, out, &len), 1);
	EVP_MD_CTX_free(ctx);
	fclose(f);
}

static void self_exe(char *out, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", out, len - 1);
	assert_true(n > 0);
	out[n] = '\0';
}

static void test_self(void **state)
{
	(void)state;
	caller_t c;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(caller_identify_self(&c, false), 0);
	assert_true(c.known);
	assert_false(c.from_peer);
	assert_int_equal(c.uid, getuid());
	assert_int_equal(c.gid, getgid());
	assert_int_equal(c.pid, getpid());
	assert_int_equal(c.ppid, getppid());
	struct passwd *pw = getpwuid(getuid());
	if (pw)
		assert_string_equal(c.user, pw->pw_name);
	assert_true(caller_in_group(&c, getgid()));
	gid_t list[256];
	int n = getgroups(256, list);
	assert_true(n >= 0);
	for (int i = 0; i < n; i++)
		assert_true(caller_in_group(&c, list[i]));
	/* no duplicates */
	for (size_t i = 0; i < c.n_groups; i++)
		for (size_t j = i + 1; j < c.n_groups; j++)
			assert_int_not_equal(c.groups[i], c.groups[j]);
	char exe[PATH_MAX];
	self_exe(exe, sizeof(exe));
	assert_string_equal(c.program, exe);
	assert_non_null(strstr(c.program, "test_identify"));
	assert_false(c.has_program_sha256);
}

static void test_self_sha256(void **state)
{
	(void)state;
	caller_t c, d;
	unsigned char want[32];
	char exe[PATH_MAX];
	self_exe(exe, sizeof(exe));
	sha256_file(exe, want);
	assert_int_equal(caller_identify_self(&c, true), 0);
	assert_true(c.has_program_sha256);
	assert_memory_equal(c.program_sha256, want, 32);
	assert_int_equal(caller_identify_self(&d, true), 0);
	assert_memory_equal(d.program_sha256, want, 32);
}

static void *self_thread(void *arg)
{
	caller_t *c = arg;
	if (caller_identify_self(c, true) != 0)
		c->known = false;
	return NULL;
}

/* The cached hash is filled once even when many threads ask at once. */
static void test_self_threads(void **state)
{
	(void)state;
	enum { T = 8 };
	pthread_t th[T];
	caller_t *cs = calloc(T, sizeof(caller_t));
	assert_non_null(cs);
	for (int i = 0; i < T; i++)
		assert_int_equal(pthread_create(&th[i], NULL, self_thread, &cs[i]), 0);
	for (int i = 0; i < T; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < T; i++) {
		assert_true(cs[i].known);
		assert_true(cs[i].has_program_sha256);
		assert_memory_equal(cs[i].program_sha256, cs[0].program_sha256, 32);
	}
	free(cs);
}

/* The per-process caches follow fork() and a change of uid. */
static void test_self_after_fork_and_setuid(void **state)
{
	(void)state;
	caller_t parent;
	assert_int_equal(caller_identify_self(&parent, true), 0);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		caller_t c;
		if (caller_identify_self(&c, true) != 0 || c.pid != getpid() ||
		    c.ppid != parent.pid || strcmp(c.program, parent.program) != 0 ||
		    memcmp(c.program_sha256, parent.program_sha256, 32) != 0)
			_exit(1);
		if (geteuid() == 0) {
			struct passwd *pw = getpwnam("nobody");
			if (pw == NULL)
				_exit(0);
			uid_t nuid = pw->pw_uid;
			gid_t ngid = pw->pw_gid;
			if (setgroups(0, NULL) != 0 || setgid(ngid) != 0 || setuid(nuid) != 0)
				_exit(2);
			if (caller_identify_self(&c, false) != 0 || c.uid != nuid ||
			    c.gid != ngid || strcmp(c.user, "nobody") != 0 ||
			    caller_in_group(&c, 0))
				_exit(3);
		}
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_peer_socketpair_self(void **state)
{
	(void)state;
	int sv[2];
	caller_t c, self;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(caller_identify_peer(sv[0], &c, true), 0);
	assert_int_equal(caller_identify_self(&self, true), 0);
	assert_true(c.known);
	assert_true(c.from_peer);
	assert_int_equal(c.uid, getuid());
	assert_int_equal(c.gid, getgid());
	assert_int_equal(c.pid, getpid());
	assert_string_equal(c.program, self.program);
	assert_true(c.has_program_sha256);
	assert_memory_equal(c.program_sha256, self.program_sha256, 32);
	assert_true(caller_in_group(&c, getgid()));
	if (self.user[0])
		assert_string_equal(c.user, self.user);
	close(sv[0]);
	close(sv[1]);
}

/* A child connects to our listening socket: the peer is the child, not us. */
/* No test may hang on a peer that failed: accept() gives up after 10 s. */
static void accept_timeout(int ls)
{
	struct timeval tv = { .tv_sec = 10 };
	(void)setsockopt(ls, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static void peer_child_case(uid_t as_uid, gid_t as_gid)
{
	char dir[] = "/tmp/sg-caller-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0755), 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 1), 0);
	assert_int_equal(chmod(sa.sun_path, 0777), 0);
	accept_timeout(ls);

	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		if (as_uid != (uid_t)-1 &&
		    (setgroups(0, NULL) != 0 || setgid(as_gid) != 0 || setuid(as_uid) != 0))
			_exit(3);
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0)
			_exit(2);
		char b;
		/* stay alive until the parent has looked at us */
		while (read(s, &b, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	int cs = accept(ls, NULL, NULL);
	if (cs < 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		fail_msg("child did not connect");
	}
	caller_t c;
	int rc = caller_identify_peer(cs, &c, true);
	char b = 'x';
	assert_int_equal(write(cs, &b, 1), 1);
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(rc, 0);
	assert_true(c.known);
	assert_int_equal(c.pid, child);
	assert_int_not_equal(c.pid, getpid());
	assert_int_equal(c.uid, as_uid == (uid_t)-1 ? getuid() : as_uid);
	if (as_uid != (uid_t)-1) {
		/* groups come from the user database, never from the broker */
		struct passwd *pw = getpwuid(as_uid);
		assert_non_null(pw);
		assert_string_equal(c.user, pw->pw_name);
		assert_int_equal(c.gid, as_gid);
		assert_true(caller_in_group(&c, as_gid));
		assert_false(caller_in_group(&c, getgid()) && getgid() != as_gid);
	}
	/* the child runs the same executable (root may read any /proc/PID/exe) */
	char exe[PATH_MAX];
	self_exe(exe, sizeof(exe));
	assert_string_equal(c.program, exe);
	assert_true(c.has_program_sha256);
	close(cs);
	close(ls);
	unlink(sa.sun_path);
	rmdir(dir);
}

static void test_peer_forked_child(void **state)
{
	(void)state;
	peer_child_case((uid_t)-1, (gid_t)-1);
}

/* The broker's situation: the peer is another user. */
static void test_peer_other_user(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam("nobody");
	if (geteuid() != 0 || pw == NULL)
		skip();
	peer_child_case(pw->pw_uid, pw->pw_gid);
}

/* A broker that may not read the peer's /proc/PID/exe still knows the
 * peer's uid and pid, with the program left empty (never its own). */
static void test_peer_program_unreadable(void **state)
{
	(void)state;
	struct passwd *pw = getpwnam("nobody");
	if (geteuid() != 0 || pw == NULL)
		skip();
	uid_t nuid = pw->pw_uid;
	gid_t ngid = pw->pw_gid;
	char dir[] = "/tmp/sg-caller-XXXXXX";
	assert_non_null(mkdtemp(dir));
	assert_int_equal(chown(dir, nuid, ngid), 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/s", dir);
	int ready[2];
	assert_int_equal(pipe(ready), 0);

	pid_t broker = fork();
	assert_true(broker >= 0);
	if (broker == 0) {
		/* the broker: an unprivileged user serving the socket */
		close(ready[0]);
		if (setgroups(0, NULL) != 0 || setgid(ngid) != 0 || setuid(nuid) != 0)
			_exit(10);
		int ls = socket(AF_UNIX, SOCK_STREAM, 0);
		if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    listen(ls, 1) != 0)
			_exit(11);
		accept_timeout(ls);
		char b = 'r';
		if (write(ready[1], &b, 1) != 1)
			_exit(12);
		int cs = accept(ls, NULL, NULL);
		if (cs < 0)
			_exit(13);
		caller_t c;
		if (caller_identify_peer(cs, &c, true) != 0 || !c.known)
			_exit(14);
		if (c.uid != 0 || c.pid != getppid())
			_exit(15);
		if (c.program[0] != '\0' || c.has_program_sha256)
			_exit(16);
		_exit(0);
	}
	close(ready[1]); /* a broker that fails must not leave us waiting */
	char b;
	if (read(ready[0], &b, 1) != 1) {
		int st;
		waitpid(broker, &st, 0);
		rmdir(dir);
		fail_msg("broker failed to start: %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	}
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	int status;
	assert_int_equal(waitpid(broker, &status, 0), broker);
	close(s);
	close(ready[0]);
	unlink(sa.sun_path);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void expect_unknown_peer(int fd)
{
	caller_t c;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(caller_identify_peer(fd, &c, true), -1);
	assert_false(c.known);
	/* never our own identity as a fallback */
	assert_int_not_equal(c.pid, getpid());
	assert_string_equal(c.program, "");
	assert_int_equal(c.n_groups, 0);
}

static void test_peer_not_a_socket(void **state)
{
	(void)state;
	int p[2];
	assert_int_equal(pipe(p), 0);
	expect_unknown_peer(p[0]);
	close(p[0]);
	close(p[1]);
	int fd = open("/dev/null", O_RDONLY);
	assert_true(fd >= 0);
	expect_unknown_peer(fd);
	close(fd);
	expect_unknown_peer(-1);
	expect_unknown_peer(9999);
}

static void test_peer_wrong_sockets(void **state)
{
	(void)state;
	/* unconnected unix socket: no peer */
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	expect_unknown_peer(s);
	close(s);
	/* an inet socket carries no credentials */
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s >= 0) {
		expect_unknown_peer(s);
		close(s);
	}
	assert_int_equal(caller_identify_peer(0, NULL, false), -1);
}

static void test_from_names_current_user(void **state)
{
	(void)state;
	struct passwd *pw = getpwuid(getuid());
	if (pw == NULL)
		skip();
	char name[64];
	snprintf(name, sizeof(name), "%s", pw->pw_name);
	uid_t uid = pw->pw_uid;
	gid_t gid = pw->pw_gid;
	caller_t c;
	assert_int_equal(caller_from_names(&c, name, NULL, 0, NULL), 0);
	assert_true(c.known);
	assert_int_equal(c.uid, uid);
	assert_int_equal(c.gid, gid);
	assert_string_equal(c.user, name);
	assert_true(caller_in_group(&c, gid));
	assert_string_equal(c.program, "");
	assert_false(c.has_program_sha256);

	char num[32];
	snprintf(num, sizeof(num), "%u", (unsigned)uid);
	caller_t d;
	assert_int_equal(caller_from_names(&d, num, NULL, 0, NULL), 0);
	assert_int_equal(d.uid, uid);
	assert_string_equal(d.user, name);
	assert_int_equal(d.n_groups, c.n_groups);
}

static void test_from_names_root(void **state)
{
	(void)state;
	caller_t c;
	assert_int_equal(caller_from_names(&c, "root", NULL, 0, "/bin/sh"), 0);
	assert_int_equal(c.uid, 0);
	assert_int_equal(c.gid, 0);
	assert_true(caller_in_group(&c, 0));
	assert_string_equal(c.program, "/bin/sh");
	assert_true(c.has_program_sha256);
	unsigned char want[32];
	sha256_file("/bin/sh", want);
	assert_memory_equal(c.program_sha256, want, 32);

	/* explicit groups replace the database lookup; names and numbers */
	const char *groups[] = { "root", "0", "4242" };
	assert_int_equal(caller_from_names(&c, "0", groups, 3, "/nonexistent/prog"), 0);
	assert_int_equal(c.n_groups, 2);
	assert_true(caller_in_group(&c, 0));
	assert_true(caller_in_group(&c, 4242));
	assert_false(caller_in_group(&c, 1));
	assert_string_equal(c.program, "/nonexistent/prog");
	assert_false(c.has_program_sha256);
}

static void test_from_names_unknown(void **state)
{
	(void)state;
	caller_t c;
	/* a name nobody has is refused */
	assert_int_equal(caller_from_names(&c, "no-such-user-sg", NULL, 0, NULL), -1);
	assert_false(c.known);
	assert_int_equal(caller_from_names(&c, "", NULL, 0, NULL), -1);
	assert_int_equal(caller_from_names(&c, NULL, NULL, 0, NULL), -1);
	const char *bad[] = { "no-such-group-sg" };
	assert_int_equal(caller_from_names(&c, "root", bad, 1, NULL), -1);
	assert_false(c.known);

	/* a uid without a passwd entry is still a caller, without a name */
	if (getpwuid(54321) == NULL) {
		assert_int_equal(caller_from_names(&c, "54321", NULL, 0, NULL), 0);
		assert_true(c.known);
		assert_int_equal(c.uid, 54321);
		assert_string_equal(c.user, "");
		assert_int_equal(c.n_groups, 0);
		const char *g[] = { "100" };
		assert_int_equal(caller_from_names(&c, "54321", g, 1, NULL), 0);
		assert_true(caller_in_group(&c, 100));
	}
	/* not a number, not a name */
	assert_int_equal(caller_from_names(&c, "12ab", NULL, 0, NULL), -1);
}

static void test_in_group(void **state)
{
	(void)state;
	caller_t c;
	memset(&c, 0, sizeof(c));
	assert_false(caller_in_group(&c, 0));
	assert_false(caller_in_group(NULL, 0));
	c.n_groups = 2;
	c.groups[0] = 10;
	c.groups[1] = 20;
	assert_true(caller_in_group(&c, 20));
	assert_false(caller_in_group(&c, 30));
	c.n_groups = CALLER_MAX_GROUPS + 5; /* corrupt count must not overrun */
	assert_false(caller_in_group(&c, 12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_self),
		cmocka_unit_test(test_self_sha256),
		cmocka_unit_test(test_self_threads),
		cmocka_unit_test(test_self_after_fork_and_setuid),
		cmocka_unit_test(test_peer_socketpair_self),
		cmocka_unit_test(test_peer_forked_child),
		cmocka_unit_test(test_peer_other_user),
		cmocka_unit_test(test_peer_program_unreadable),
		cmocka_unit_test(test_peer_not_a_socket),
		cmocka_unit_test(test_peer_wrong_sockets),
		cmocka_unit_test(test_from_names_current_user),
		cmocka_unit_test(test_from_names_root),
		cmocka_unit_test(test_from_names_unknown),
		cmocka_unit_test(test_in_group),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

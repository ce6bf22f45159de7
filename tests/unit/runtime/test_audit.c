/* Unit tests for module/runtime/audit.c: the three formats and their escaping,
 * syslog framing, the hash chain, dropped counts and bounded delivery,
 * all through a real AF_UNIX datagram socket bound in a temp dir. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"

static char tmpdir[40];
static char sock_path[100];

static int bind_socket(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	unlink(path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

static void configure(audit_format_t fmt, bool cee, bool rfc5424, int timeout_ms, const char *path)
{
	config_audit_t c = {
		.enabled = true,
		.required = true,
		.format = fmt,
		.cee = cee,
		.rfc5424 = rfc5424,
		.facility = LOG_AUTHPRIV,
		.ident = "signgate",
		.socket_path = (char *)path,
		.timeout_ms = timeout_ms,
	};
	assert_int_equal(audit_configure(&c), 0);
}

/* Receive one datagram (NUL-terminated) or fail the test. */
static size_t recv_one(int fd, char *buf, size_t cap)
{
	ssize_t n = recv(fd, buf, cap - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	return (size_t)n;
}

typedef struct kv {
	size_t n;
	char key[64][64];
	char val[64][2048];
} kv_t;

static void collect(void *ctx, const char *key, const char *val, size_t vlen)
{
	kv_t *kv = ctx;
	if (kv->n >= 64)
		return;
	snprintf(kv->key[kv->n], sizeof(kv->key[0]), "%s", key);
	if (vlen >= sizeof(kv->val[0]))
		vlen = sizeof(kv->val[0]) - 1;
	memcpy(kv->val[kv->n], val, vlen);
	kv->val[kv->n][vlen] = '\0';
	kv->n++;
}

static const char *get(const kv_t *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++)
		if (!strcmp(kv->key[i], key))
			return kv->val[i];
	return NULL;
}

static const char HOSTILE[] =
        "a \"quoted\" back\\slash\nnew=line|pipe\ttab\x01 \xff bad utf8 \xc3\xa9t\xc3\xa9 chain=00 }";

static caller_t test_caller(void)
{
	caller_t c;
	memset(&c, 0, sizeof(c));
	c.known = true;
	c.uid = 1001;
	c.gid = 1002;
	c.pid = 4242;
	c.ppid = 1;
	strcpy(c.user, "alice");
	strcpy(c.program, "/usr/bin/osslsigncode");
	c.has_program_sha256 = true;
	memset(c.program_sha256, 0xab, 32);
	return c;
}

static audit_record_t test_record(const caller_t *c, const ticket_claims_t *t)
{
	static const unsigned char id[] = { 0x01 };
	static unsigned char fp[32], data[32], cfg[32];
	memset(fp, 0x11, 32);
	memset(data, 0x22, 32);
	memset(cfg, 0x33, 32);
	audit_record_t r = {
		.event = AUDIT_SIGN,
		.allowed = false,
		.reason = "key-revoked",
		.detail = HOSTILE,
		.rule = "release-signing",
		.role = "release",
		.caller = c,
		.ticket = t,
		.token_label = "signgate-test",
		.token_serial = "abc123",
		.key_name = "app-rsa",
		.key_id = id,
		.key_id_len = 1,
		.key_label = "rsa-release",
		.key_fingerprint = fp,
		.mechanism = "SHA256-RSA-PKCS",
		.hash = "SHA256",
		.data_sha256 = data,
		.data_len = 1234,
		.ckr = 0x101,
		.operation = "C_Sign",
		.config_sha256 = cfg,
	};
	return r;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/sg-audit-unit.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof(sock_path), "%s/log.sock", tmpdir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(sock_path);
	char p[160];
	snprintf(p, sizeof(p), "%s/other.sock", tmpdir);
	unlink(p);
	rmdir(tmpdir);
	return 0;
}

/* Send a record in fmt, check framing, chain and that every hostile
 * field comes back unchanged (apart from the documented lossy cases). */
static void check_format(audit_format_t fmt, bool cee, bool rfc5424)
{
	int fd = bind_socket(sock_path);
	configure(fmt, cee, rfc5424, 200, sock_path);
	caller_t c = test_caller();
	ticket_claims_t t;
	memset(&t, 0, sizeof(t));
	strcpy(t.issuer, "ci-validator");
	strcpy(t.product, "app");
	strcpy(t.pipeline, "build|deploy=1");
	strcpy(t.run, "run 42");
	strcpy(t.jti, "jti-1");
	audit_record_t r = test_record(&c, &t);
	assert_int_equal(audit_emit(&r), 0);

	char buf[AUDIT_MAX_RECORD + 1];
	size_t n = recv_one(fd, buf, sizeof(buf));
	assert_null(memchr(buf, '\n', n)); /* one line, always */
	/* <PRI>: authpriv (10<<3) | warning (4) = 84 */
	regex_t re;
	const char *pat =
	        rfc5424 ? "^<84>1 [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\\.[0-9]{6}Z [^ ]+ signgate [0-9]+ - - "
	                : "^<84>[A-Z][a-z]{2} [ 123][0-9] [0-9:]{8} signgate\\[[0-9]+\\]: ";
	assert_int_equal(regcomp(&re, pat, REG_EXTENDED | REG_NOSUB), 0);
	if (regexec(&re, buf, 0, NULL, 0) != 0)
		fail_msg("bad framing: %s", buf);
	regfree(&re);
	if (cee)
		assert_non_null(strstr(buf, "]: @cee: {\"time\":\""));

	audit_text_t tx;
	assert_int_equal(audit_text_find(buf, n, &tx), 0);
	assert_int_equal(tx.format, fmt);
	assert_true(tx.has_chain);
	assert_true(audit_text_chain_ok(&tx));

	static kv_t kv;
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(audit_text_fields(&tx, collect, &kv), 0);
	assert_string_equal(get(&kv, "event"), "sign");
	assert_string_equal(get(&kv, "outcome"), "deny");
	assert_string_equal(get(&kv, "reason"), "key-revoked");
	assert_string_equal(get(&kv, "user"), "alice");
	assert_string_equal(get(&kv, "uid"), "1001");
	assert_string_equal(get(&kv, "gid"), "1002");
	assert_string_equal(get(&kv, "pid"), "4242");
	assert_string_equal(get(&kv, "ppid"), "1");
	assert_string_equal(get(&kv, "program"), "/usr/bin/osslsigncode");
	assert_string_equal(get(&kv, "program_sha256"),
	                    "abababababababababababababababababababababababababababababababab");
	assert_string_equal(get(&kv, "issuer"), "ci-validator");
	assert_string_equal(get(&kv, "pipeline"), "build|deploy=1");
	assert_string_equal(get(&kv, "run"), "run 42");
	assert_string_equal(get(&kv, "key"), "app-rsa");
	assert_string_equal(get(&kv, "key_id"), "01");
	assert_string_equal(get(&kv, "token_serial"), "abc123");
	assert_string_equal(get(&kv, "data_len"), "1234");
	assert_string_equal(get(&kv, "ckr"), "0x00000101");
	assert_string_equal(get(&kv, "ckr_name"), "CKR_USER_NOT_LOGGED_IN");
	assert_string_equal(get(&kv, "op"), "C_Sign");
	assert_string_equal(get(&kv, "version"), SIGNGATE_VERSION);
	assert_non_null(get(&kv, "instance"));
	assert_int_equal(strlen(get(&kv, "instance")), 32);
	assert_non_null(get(&kv, "seq"));
	assert_int_equal(strlen(get(&kv, "prev")), 64);
	assert_int_equal(strlen(get(&kv, "chain")), 64);
	assert_non_null(get(&kv, "time"));
	assert_int_equal(strlen(get(&kv, "time")), 27); /* 2026-11-22T09:54:03.123456Z */

	/* the hostile detail: quotes, backslash, newline, '=', '|' survive;
	 * invalid UTF-8 becomes U+FFFD; CEF has no escape for tab/controls */
	const char *d = get(&kv, "detail");
	assert_non_null(d);
	if (fmt == AUDIT_FORMAT_CEF)
		assert_string_equal(
		        d,
		        "a \"quoted\" back\\slash\nnew=line|pipe\xEF\xBF\xBDtab\xEF\xBF\xBD \xEF\xBF\xBD bad utf8 \xc3\xa9t\xc3\xa9 chain=00 }");
	else
		assert_string_equal(
		        d,
		        "a \"quoted\" back\\slash\nnew=line|pipe\ttab\x01 \xEF\xBF\xBD bad utf8 \xc3\xa9t\xc3\xa9 chain=00 }");
	if (fmt == AUDIT_FORMAT_CEF) {
		assert_string_equal(get(&kv, "cef_event"), "sign");
		assert_string_equal(get(&kv, "cef_severity"), "7");
		assert_non_null(strstr(tx.body, "CEF:0|signgate|signgate|" SIGNGATE_VERSION
		                                "|sign|sign denied|7|"));
		assert_non_null(strstr(tx.body, "new\\=line|pipe"));
	}
	if (fmt == AUDIT_FORMAT_LOGFMT)
		assert_true(strncmp(tx.body, "time=", 5) == 0);
	close(fd);
}

static void test_json(void **state)
{
	(void)state;
	check_format(AUDIT_FORMAT_JSON, false, false);
}
static void test_json_cee(void **state)
{
	(void)state;
	check_format(AUDIT_FORMAT_JSON, true, false);
}
static void test_cef(void **state)
{
	(void)state;
	check_format(AUDIT_FORMAT_CEF, false, false);
}
static void test_logfmt(void **state)
{
	(void)state;
	check_format(AUDIT_FORMAT_LOGFMT, false, false);
}
static void test_rfc5424(void **state)
{
	(void)state;
	check_format(AUDIT_FORMAT_JSON, false, true);
}
static void test_rfc5424_cef(void **state)
{
	(void)state;
	check_format(AUDIT_FORMAT_CEF, false, true);
}

static void sha256_hex(const char *s, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int l;
	EVP_Digest(s, n, md, &l, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

/* Records in order: seq+1 each, prev = the previous chain, and chain =
 * SHA-256 of the message text before the chain field (computed here
 * independently of audit.c's reader). */
static void test_chain(void **state)
{
	(void)state;
	int fd = bind_socket(sock_path);
	configure(AUDIT_FORMAT_JSON, false, false, 200, sock_path);
	audit_record_t r = { .event = AUDIT_MODULE_START, .allowed = true };
	char prev_chain[65] = "";
	long prev_seq = -1;
	for (int i = 0; i < 5; i++) {
		assert_int_equal(audit_emit(&r), 0);
		char buf[AUDIT_MAX_RECORD + 1];
		size_t n = recv_one(fd, buf, sizeof(buf));
		/* <PRI> authpriv|info = 86 */
		assert_true(strncmp(buf, "<86>", 4) == 0);
		char *body = strstr(buf, "{\"time\":\"");
		char *suffix = strstr(buf, ",\"chain\":\"");
		assert_non_null(body);
		assert_non_null(suffix);
		assert_int_equal(buf + n - suffix, 10 + 64 + 2);
		char want[65];
		sha256_hex(body, (size_t)(suffix - body), want);
		assert_memory_equal(suffix + 10, want, 64);
		char *seqp = strstr(buf, ",\"seq\":");
		assert_non_null(seqp);
		long seq = strtol(seqp + 7, NULL, 10);
		char *prevp = strstr(buf, ",\"prev\":\"");
		assert_non_null(prevp);
		if (prev_seq >= 0) {
			assert_int_equal(seq, prev_seq + 1);
			assert_memory_equal(prevp + 9, prev_chain, 64);
		}
		memcpy(prev_chain, want, 65);
		prev_seq = seq;
		/* the chain field is the last one; the prev field directly before it */
		assert_true(prevp + 9 + 64 == suffix - 1);
	}
	/* an edited byte breaks the record's own chain */
	audit_emit(&r);
	char buf[AUDIT_MAX_RECORD + 1];
	size_t n = recv_one(fd, buf, sizeof(buf));
	char *ev = strstr(buf, "module-start");
	assert_non_null(ev);
	ev[0] = 'M';
	audit_text_t tx;
	assert_int_equal(audit_text_find(buf, n, &tx), 0);
	assert_false(audit_text_chain_ok(&tx));
	close(fd);
}

/* Missing socket: -1 at once, counted; when the socket is back the next
 * record says how many were dropped and seq did not skip. */
static void test_missing_socket_dropped(void **state)
{
	(void)state;
	int fd = bind_socket(sock_path);
	configure(AUDIT_FORMAT_LOGFMT, false, false, 200, sock_path);
	audit_record_t r = { .event = AUDIT_LOGIN, .allowed = true };
	assert_int_equal(audit_emit(&r), 0);
	char buf[AUDIT_MAX_RECORD + 1];
	size_t n = recv_one(fd, buf, sizeof(buf));
	audit_text_t tx;
	static kv_t kv;
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(audit_text_find(buf, n, &tx), 0);
	assert_int_equal(audit_text_fields(&tx, collect, &kv), 0);
	long seq0 = strtol(get(&kv, "seq"), NULL, 10);
	assert_null(get(&kv, "dropped"));
	close(fd);
	unlink(sock_path);

	uint64_t before = audit_dropped();
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 3; i++)
		assert_int_equal(audit_emit(&r), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 100);
	assert_int_equal(audit_dropped(), before + 3);

	fd = bind_socket(sock_path);
	assert_int_equal(audit_emit(&r), 0);
	n = recv_one(fd, buf, sizeof(buf));
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(audit_text_find(buf, n, &tx), 0);
	assert_true(audit_text_chain_ok(&tx));
	assert_int_equal(audit_text_fields(&tx, collect, &kv), 0);
	assert_int_equal(strtol(get(&kv, "seq"), NULL, 10), seq0 + 1);
	assert_string_equal(get(&kv, "dropped"), "3");
	assert_int_equal(audit_dropped(), 0);
	close(fd);
}

/* A bound socket nobody reads fills up: the send that finds it full
 * waits at most timeout_ms and fails; the ones right after fail at once. */
static void test_full_socket_bounded(void **state)
{
	(void)state;
	int fd = bind_socket(sock_path);
	configure(AUDIT_FORMAT_JSON, false, false, 150, sock_path);
	audit_record_t r = { .event = AUDIT_SIGN, .allowed = true, .detail = "fill" };
	int sent = 0;
	long worst_ms = 0;
	for (int i = 0; i < 100000; i++) {
		struct timespec a, b;
		clock_gettime(CLOCK_MONOTONIC, &a);
		int rc = audit_emit(&r);
		clock_gettime(CLOCK_MONOTONIC, &b);
		long ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
		if (rc != 0) {
			worst_ms = ms;
			break;
		}
		sent++;
	}
	assert_true(sent > 0);
	/* bounded: about timeout_ms, never much more */
	assert_true(worst_ms >= 140);
	assert_true(worst_ms < 1000);
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(audit_emit(&r), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < 50);
	assert_true(audit_dropped() >= 2);
	/* reader drains one: the next record gets through and reports the drops */
	char buf[AUDIT_MAX_RECORD + 1];
	while (recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT) > 0) {
	}
	assert_int_equal(audit_emit(&r), 0);
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, ",\"dropped\":"));
	close(fd);
}

/* The daemon restarts (new socket at the same path): one reconnect. */
static void test_reconnect(void **state)
{
	(void)state;
	int fd = bind_socket(sock_path);
	configure(AUDIT_FORMAT_JSON, false, false, 200, sock_path);
	audit_record_t r = { .event = AUDIT_SIGN, .allowed = true };
	char buf[AUDIT_MAX_RECORD + 1];
	assert_int_equal(audit_emit(&r), 0);
	recv_one(fd, buf, sizeof(buf));
	close(fd);
	fd = bind_socket(sock_path);
	assert_int_equal(audit_emit(&r), 0);
	recv_one(fd, buf, sizeof(buf));
	close(fd);
}

/* A forked child is a new instance starting at seq 1 with a zero prev. */
static void test_fork_new_instance(void **state)
{
	(void)state;
	int fd = bind_socket(sock_path);
	configure(AUDIT_FORMAT_JSON, false, false, 200, sock_path);
	audit_record_t r = { .event = AUDIT_SIGN, .allowed = true };
	assert_int_equal(audit_emit(&r), 0);
	char buf[AUDIT_MAX_RECORD + 1], buf2[AUDIT_MAX_RECORD + 1];
	recv_one(fd, buf, sizeof(buf));
	pid_t pid = fork();
	if (pid == 0) {
		audit_atfork_child();
		_exit(audit_emit(&r) == 0 ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	recv_one(fd, buf2, sizeof(buf2));
	char *i1 = strstr(buf, "\"instance\":\""), *i2 = strstr(buf2, "\"instance\":\"");
	assert_non_null(i1);
	assert_non_null(i2);
	assert_memory_not_equal(i1, i2, 12 + 32);
	assert_non_null(strstr(buf2, ",\"seq\":1,"));
	assert_non_null(strstr(
	        buf2,
	        "\"prev\":\"0000000000000000000000000000000000000000000000000000000000000000\""));
	/* the fork handler audit registers does it without being asked */
	pid = fork();
	if (pid == 0)
		_exit(audit_emit(&r) == 0 ? 0 : 1);
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	char buf3[AUDIT_MAX_RECORD + 1];
	recv_one(fd, buf3, sizeof(buf3));
	char *i3 = strstr(buf3, "\"instance\":\"");
	assert_non_null(i3);
	assert_memory_not_equal(i1, i3, 12 + 32);
	assert_memory_not_equal(i2, i3, 12 + 32);
	assert_non_null(strstr(buf3, ",\"seq\":1,"));
	char want_pid[32];
	snprintf(want_pid, sizeof(want_pid), "signgate[%d]: ", (int)pid);
	assert_non_null(strstr(buf3, want_pid));
	close(fd);
}

/* Reads the log socket until told to stop; keeps the first datagram
 * holding journal_error. */
typedef struct drain {
	int fd;
	volatile bool stop;
	char found[AUDIT_MAX_RECORD + 1];
	volatile ssize_t found_len;
} drain_t;

static void *drain_main(void *arg)
{
	drain_t *d = arg;
	char buf[AUDIT_MAX_RECORD + 1];
	while (!d->stop) {
		struct pollfd p = { .fd = d->fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		ssize_t n = recv(d->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (d->found_len == 0 && strstr(buf, "journal_error")) {
			memcpy(d->found, buf, (size_t)n + 1);
			d->found_len = n;
		}
	}
	return NULL;
}

/* The journal: processes writing concurrently share one sequence and one
 * keyed chain; every record's MAC verifies; a journal that cannot be
 * written fails the record (and syslog gets a copy marked journal_error). */
static void test_journal_host_order(void **state)
{
	(void)state;
	char jpath[200], kpath[200], line[AUDIT_MAX_RECORD + 2];
	snprintf(jpath, sizeof(jpath), "%s/audit.journal", tmpdir);
	snprintf(kpath, sizeof(kpath), "%s/mac.key", tmpdir);
	FILE *kf = fopen(kpath, "w");
	assert_non_null(kf);
	fputs("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", kf);
	fclose(kf);
	chmod(kpath, 0600);
	unsigned char key[32];
	char err[256];
	assert_int_equal(audit_mac_key_load(kpath, key, err, sizeof(err)), 0);
	int fd = bind_socket(sock_path);
	drain_t dr = { .fd = fd };
	pthread_t drainer;
	assert_int_equal(pthread_create(&drainer, NULL, drain_main, &dr), 0);
	config_audit_t c = {
		.enabled = true,
		.required = true,
		.format = AUDIT_FORMAT_LOGFMT,
		.facility = LOG_AUTHPRIV,
		.ident = "signgate",
		.socket_path = sock_path,
		.timeout_ms = 2000,
		.journal = jpath,
		.mac_key = kpath,
	};
	assert_int_equal(audit_configure(&c), 0);
	audit_record_t r = { .event = AUDIT_SIGN, .allowed = true, .reason = "allowed" };
	enum { KIDS = 4, EACH = 150 };
	pid_t kids[KIDS];
	for (int k = 0; k < KIDS; k++) {
		kids[k] = fork();
		if (kids[k] == 0) {
			int bad = 0;
			for (int i = 0; i < EACH; i++)
				bad |= audit_emit(&r) != 0;
			_exit(bad);
		}
	}
	for (int i = 0; i < EACH; i++)
		assert_int_equal(audit_emit(&r), 0);
	for (int k = 0; k < KIDS; k++) {
		int st;
		waitpid(kids[k], &st, 0);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	FILE *jf = fopen(jpath, "r");
	assert_non_null(jf);
	unsigned long n = 0;
	char prev_chain[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	char instances[KIDS + 1][33];
	int n_inst = 0;
	while (fgets(line, sizeof(line), jf)) {
		audit_text_t t;
		assert_int_equal(audit_text_find(line, strlen(line), &t), 0);
		assert_true(audit_text_mac_ok(&t, key));
		assert_false(audit_text_chain_ok(&t)); /* keyed, not a bare SHA-256 */
		n++;
		char want[64];
		snprintf(want, sizeof(want), " seq=%lu prev=%s chain=", n, prev_chain);
		assert_non_null(strstr(line, want));
		char *ch = strstr(line, " chain=");
		memcpy(prev_chain, ch + 7, 64);
		char *in = strstr(line, " instance=");
		assert_non_null(in);
		bool seen = false;
		for (int i = 0; i < n_inst; i++)
			seen |= !memcmp(instances[i], in + 10, 32);
		if (!seen && n_inst <= KIDS) {
			memcpy(instances[n_inst], in + 10, 32);
			instances[n_inst++][32] = '\0';
		}
	}
	fclose(jf);
	assert_int_equal(n, (KIDS + 1) * EACH);
	assert_int_equal(n_inst, KIDS + 1);
	audit_journal_head_t h;
	char spath[220];
	snprintf(spath, sizeof(spath), "%s.state", jpath);
	assert_int_equal(audit_journal_head_read(spath, &h), 0);
	assert_int_equal(h.seq, n);
	assert_string_equal(h.chain, prev_chain);

	/* the journal's name taken by a directory: the record fails, syslog
	 * hears of it */
	char dpath[200];
	snprintf(dpath, sizeof(dpath), "%s/dir.journal", tmpdir);
	mkdir(dpath, 0700);
	c.journal = dpath;
	assert_int_equal(audit_configure(&c), 0);
	assert_int_equal(audit_emit(&r), -1);
	/* copies the full socket did not take wait in the backlog, which each
	 * later record pushes out first */
	for (int i = 0; i < 200 && !dr.found_len; i++) {
		usleep(10000);
		if (!dr.found_len)
			assert_int_equal(audit_emit(&r), -1);
	}
	dr.stop = true;
	pthread_join(drainer, NULL);
	assert_true(dr.found_len > 0);
	ssize_t got = dr.found_len;
	memcpy(line, dr.found, (size_t)got + 1);
	assert_non_null(strstr(line, "journal_error=\"Is a directory\""));
	assert_null(strstr(line, " seq="));
	audit_text_t t;
	assert_int_equal(audit_text_find(line, (size_t)got, &t), 0);
	assert_true(audit_text_mac_ok(&t, key));
	rmdir(dpath);
	audit_shutdown();
	unlink(jpath);
	unlink(spath);
	unlink(kpath);
	close(fd);
}

/* Unterminated fixed-size arrays and huge values stay bounded. */
static void test_long_values(void **state)
{
	(void)state;
	int fd = bind_socket(sock_path);
	configure(AUDIT_FORMAT_LOGFMT, false, false, 200, sock_path);
	caller_t c = test_caller();
	memset(c.user, 'u', sizeof(c.user));       /* no terminator */
	memset(c.program, '"', sizeof(c.program)); /* escapes double it */
	ticket_claims_t t;
	memset(&t, 'x', sizeof(t));
	static char huge[20000];
	memset(huge, '\n', sizeof(huge) - 1);
	audit_record_t r = test_record(&c, &t);
	r.detail = huge;
	r.reason = huge;
	r.rule = huge;
	assert_int_equal(audit_emit(&r), 0);
	char buf[AUDIT_MAX_RECORD + 1];
	size_t n = recv_one(fd, buf, sizeof(buf));
	assert_true(n <= AUDIT_MAX_RECORD);
	audit_text_t tx;
	assert_int_equal(audit_text_find(buf, n, &tx), 0);
	assert_true(audit_text_chain_ok(&tx));
	static kv_t kv;
	memset(&kv, 0, sizeof(kv));
	assert_int_equal(audit_text_fields(&tx, collect, &kv), 0);
	assert_true(strlen(get(&kv, "user")) <= sizeof(c.user));
	close(fd);
}

static void test_not_configured_disabled(void **state)
{
	(void)state;
	audit_record_t r0 = { .event = AUDIT_SIGN, .allowed = true };
	assert_int_equal(audit_emit(&r0), -1); /* not configured: fail closed */
	config_audit_t c = { .enabled = false };
	assert_int_equal(audit_configure(&c), 0);
	audit_record_t r = { .event = AUDIT_SIGN, .allowed = true };
	assert_int_equal(audit_emit(&r), 0); /* disabled: nothing to deliver */
	assert_int_equal(audit_emit(NULL), -1);
	assert_string_equal(audit_event_name(AUDIT_CONFIG_REFUSED), "config-refused");
	assert_string_equal(audit_ckr_name(0), "CKR_OK");
	assert_null(audit_ckr_name(0x12345));
}

/* The reader finds records inside rsyslog file lines and ignores others. */
static void test_find_in_lines(void **state)
{
	(void)state;
	audit_text_t tx;
	const char *plain = "Nov 22 09:54:03 host sshd[1]: Accepted publickey for bob";
	assert_int_equal(audit_text_find(plain, strlen(plain), &tx), -1);
	const char *lf =
	        "2026-11-22T09:54:03.123456+00:00 host signgate[7]: time=x seq=1 chain=zz\n";
	assert_int_equal(audit_text_find(lf, strlen(lf), &tx), 0);
	assert_int_equal(tx.format, AUDIT_FORMAT_LOGFMT);
	assert_false(tx.has_chain);
	const char *cee = "Nov 22 09:54:03 host signgate[7]: @cee: {\"time\":\"x\"}";
	assert_int_equal(audit_text_find(cee, strlen(cee), &tx), 0);
	assert_int_equal(tx.format, AUDIT_FORMAT_JSON);
	assert_int_equal(tx.body[0], '{');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_configured_disabled),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_json_cee),
		cmocka_unit_test(test_cef),
		cmocka_unit_test(test_logfmt),
		cmocka_unit_test(test_rfc5424),
		cmocka_unit_test(test_rfc5424_cef),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_missing_socket_dropped),
		cmocka_unit_test(test_full_socket_bounded),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_fork_new_instance),
		cmocka_unit_test(test_journal_host_order),
		cmocka_unit_test(test_long_values),
		cmocka_unit_test(test_find_in_lines),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

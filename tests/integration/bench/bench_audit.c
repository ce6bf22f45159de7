/* signgate-bench-audit: what one audit record costs the signing thread.
 *
 * A forked child binds a datagram socket and reads it as fast as it can
 * (a stand-in for rsyslogd that never falls behind); this process then
 * times, in batches:
 *   - a bare send() of a datagram of the same size (the floor: the
 *     kernel's part, which no design can avoid while handing every record
 *     to the log before the signature is returned);
 *   - audit_emit() of a realistic signature record in each format
 *     (formatting, hash chain, send).
 * The difference is signgate's own cost per record.  Then the journal
 * (audit.journal, JSON): appended with write() and with fdatasync(), with
 * and without a checkpoint after every record, against a bare O_APPEND
 * write() of a line of the same size; and HMAC-SHA256 against SHA-256 of
 * one record (the keyed chain's extra cost).  Prints a table and RESULT
 * lines; asserts nothing.
 *
 *   signgate-bench-audit [--records N] [--batch-size K]
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "bench_common.h"
#include "audit.h"
#include "caller.h"
#include "identify.h"
#include "config.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* The reader stores the size of the last datagram here (shared page). */
static volatile long *g_last_len;

static pid_t start_reader(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	int big = 4 << 20;
	pid_t pid;

	if (fd < 0 || strlen(path) >= sizeof(sa.sun_path))
		return -1;
	strcpy(sa.sun_path, path);
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		char buf[AUDIT_MAX_RECORD + 64];
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), 0);
			if (n < 0 && errno != EINTR)
				_exit(0);
			if (n > 0)
				*g_last_len = n;
		}
	}
	close(fd);
	return pid;
}

typedef struct stat2 {
	double p50, p99;
} stat2_t;

static stat2_t summarise(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return (stat2_t){ v[(n - 1) / 2], v[(size_t)((n - 1) * 0.99)] };
}

int main(int argc, char **argv)
{
	int records = 20000, batch = 50, failed = 0;
	char dir[] = "/tmp/signgate-bench-audit.XXXXXX", path[128];
	static const char *const fmt_names[] = { "json", "cef", "logfmt" };
	pid_t reader;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--records") && i + 1 < argc)
			records = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--batch-size") && i + 1 < argc)
			batch = atoi(argv[++i]);
		else {
			fprintf(stderr,
			        "usage: signgate-bench-audit [--records N] [--batch-size K]\n");
			return 2;
		}
	}
	if (records < batch || batch < 1)
		return 2;
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/log.sock", dir);
	g_last_len =
	        mmap(NULL, sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (g_last_len == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	reader = start_reader(path);
	if (reader < 0) {
		perror("reader socket");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);

	caller_t me;
	if (caller_identify_self(&me, false) != 0) {
		fprintf(stderr, "signgate-bench-audit: cannot identify this process\n");
		failed = 1;
		goto out;
	}
	unsigned char fp[32], data_sha[32], id[1] = { 0x02 };
	memset(fp, 0x5a, sizeof(fp));
	memset(data_sha, 0xa5, sizeof(data_sha));
	audit_record_t rec = {
		.event = AUDIT_SIGN,
		.allowed = true,
		.reason = "allowed",
		.detail = "allowed by rule release-signing for role release",
		.rule = "release-signing",
		.role = "release",
		.caller = &me,
		.token_label = "signgate-test",
		.token_serial = "1a2b3c4d5e6f7a8b",
		.key_name = "app-ec",
		.key_id = id,
		.key_id_len = sizeof(id),
		.key_label = "ec-release",
		.key_fingerprint = fp,
		.mechanism = "ECDSA",
		.hash = "SHA256",
		.data_sha256 = data_sha,
		.data_len = 32,
		.ckr = 0,
		.operation = "C_Sign",
	};

	int n_batches = records / batch;
	double *t_emit = malloc((size_t)n_batches * sizeof(double));
	double *t_send = malloc((size_t)n_batches * sizeof(double));
	double *t_diff = malloc((size_t)n_batches * sizeof(double));
	char *msg = calloc(1, AUDIT_MAX_RECORD);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!t_emit || !t_send || !t_diff || !msg || fd < 0) {
		failed = 1;
		goto out;
	}
	strcpy(sa.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("connect");
		failed = 1;
		goto out;
	}

	printf("audit micro-benchmark: %d records per format; a child process drains the socket.\n"
	       "Batches of %d audit_emit() calls alternate with batches of %d bare send()s of a\n"
	       "datagram of the same size to the same reader (the floor); per-record p50/p99 over batches.\n",
	       records, batch, batch);
	printf("%-8s %6s %10s %10s %10s %10s %14s\n", "format", "bytes", "emit p50", "emit p99",
	       "send p50", "send p99", "emit-send p50");

	for (int f = 0; f < 3; f++) {
		config_audit_t ac = {
			.enabled = true,
			.required = true,
			.format = (audit_format_t)f,
			.facility = LOG_AUTHPRIV,
			.ident = "signgate",
			.socket_path = path,
			.timeout_ms = 200,
		};
		if (audit_configure(&ac) != 0) {
			fprintf(stderr, "signgate-bench-audit: audit_configure failed\n");
			failed = 1;
			goto out;
		}
		for (int w = 0; w < 200; w++)
			audit_emit(&rec);
		usleep(100000); /* let the reader see the last record: its size */
		size_t len = (size_t)*g_last_len;
		if (len == 0 || len > AUDIT_MAX_RECORD) {
			fprintf(stderr, "signgate-bench-audit: no record reached the reader\n");
			failed = 1;
			goto out;
		}
		memset(msg, 'x', len);
		for (int b = 0; b < n_batches; b++) {
			double t0 = now_ns();
			for (int k = 0; k < batch; k++)
				if (audit_emit(&rec) != 0)
					failed = 1;
			double t1 = now_ns();
			for (int k = 0; k < batch; k++)
				if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
					failed = 1;
			double t2 = now_ns();
			t_emit[b] = (t1 - t0) / batch;
			t_send[b] = (t2 - t1) / batch;
			t_diff[b] = t_emit[b] - t_send[b];
		}
		stat2_t e = summarise(t_emit, n_batches), sd = summarise(t_send, n_batches);
		stat2_t d = summarise(t_diff, n_batches);
		printf("%-8s %6zu %10.0f %10.0f %10.0f %10.0f %14.0f\n", fmt_names[f], len, e.p50,
		       e.p99, sd.p50, sd.p99, d.p50);
		printf("RESULT status=%s tag=audit format=%s bytes=%zu emit_p50_ns=%.0f emit_p99_ns=%.0f "
		       "send_p50_ns=%.0f send_p99_ns=%.0f own_cost_p50_ns=%.0f\n",
		       failed ? "error" : "ok", fmt_names[f], len, e.p50, e.p99, sd.p50, sd.p99,
		       d.p50);
	}

	/* --- the journal ------------------------------------------------------ */
	char jpath[160], mpath[160], cpath[160], line_path[160];
	snprintf(jpath, sizeof(jpath), "%s/audit.journal", dir);
	snprintf(mpath, sizeof(mpath), "%s/mac.key", dir);
	snprintf(cpath, sizeof(cpath), "%s/ckpt.key", dir);
	snprintf(line_path, sizeof(line_path), "%s/bare.journal", dir);
	{
		int kfd = open(mpath, O_WRONLY | O_CREAT | O_EXCL, 0600);
		const char *hexkey =
		        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
		if (kfd < 0 || write(kfd, hexkey, strlen(hexkey)) != (ssize_t)strlen(hexkey))
			failed = 1;
		if (kfd >= 0)
			close(kfd);
		EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		FILE *cf = fopen(cpath, "w");
		if (!k || !cf || !PEM_write_PrivateKey(cf, k, NULL, NULL, 0, NULL, NULL))
			failed = 1;
		if (cf)
			fclose(cf);
		chmod(cpath, 0600);
		EVP_PKEY_free(k);
	}
	printf("\njournal (JSON, syslog copy to the same reader): per-record p50/p99 over batches;\n"
	       "bare = one O_APPEND write() of a line of the record's size (the floor).\n");
	printf("%-26s %10s %10s %10s %14s\n", "mode", "emit p50", "emit p99", "bare p50",
	       "emit-bare-send");
	static const struct {
		const char *name;
		bool fdatasync;
		int every;
	} jm[] = {
		{ "write", false, 0 },
		{ "write+checkpoint-each", false, 1 },
		{ "fdatasync", true, 0 },
	};
	double journal_write_p50 = 0, send_floor = 0;
	for (size_t m = 0; m < sizeof(jm) / sizeof(jm[0]); m++) {
		unlink(jpath);
		char sp[200];
		snprintf(sp, sizeof(sp), "%s.state", jpath);
		unlink(sp);
		config_audit_t ac = {
			.enabled = true,
			.required = true,
			.format = AUDIT_FORMAT_JSON,
			.facility = LOG_AUTHPRIV,
			.ident = "signgate",
			.socket_path = path,
			.timeout_ms = 200,
			.journal = jpath,
			.sync_fdatasync = jm[m].fdatasync,
			.mac_key = mpath,
			.checkpoint_key = jm[m].every ? cpath : NULL,
			.checkpoint_every = jm[m].every,
			.checkpoint_seconds = 0,
		};
		if (audit_configure(&ac) != 0) {
			failed = 1;
			goto out;
		}
		int lfd = open(line_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
		int nb = jm[m].fdatasync ? (n_batches / 10 > 2 ? n_batches / 10 : 2) : n_batches;
		for (int w = 0; w < 50; w++)
			audit_emit(&rec);
		size_t len = (size_t)*g_last_len + 1;
		memset(msg, 'x', len);
		for (int b = 0; b < nb; b++) {
			double t0 = now_ns();
			for (int k = 0; k < batch; k++)
				if (audit_emit(&rec) != 0)
					failed = 1;
			double t1 = now_ns();
			for (int k = 0; k < batch; k++) {
				if (write(lfd, msg, len) != (ssize_t)len)
					failed = 1;
				if (jm[m].fdatasync)
					fdatasync(lfd);
			}
			double t2 = now_ns();
			t_emit[b] = (t1 - t0) / batch;
			t_send[b] = (t2 - t1) / batch;
		}
		close(lfd);
		stat2_t e = summarise(t_emit, nb), w2 = summarise(t_send, nb);
		if (m == 0)
			journal_write_p50 = e.p50;
		/* the syslog copy's send, measured above for JSON */
		send_floor = send_floor ? send_floor : 0;
		printf("%-26s %10.0f %10.0f %10.0f %14.0f\n", jm[m].name, e.p50, e.p99, w2.p50,
		       e.p50 - w2.p50);
		printf("RESULT status=%s tag=audit-journal mode=%s emit_p50_ns=%.0f emit_p99_ns=%.0f "
		       "bare_write_p50_ns=%.0f\n",
		       failed ? "error" : "ok", jm[m].name, e.p50, e.p99, w2.p50);
		if (m == 1)
			printf("checkpoint (Ed25519 sign + a second record): %.0f ns each; at one per 1000 "
			       "records: %.1f ns per record\n",
			       e.p50 - journal_write_p50, (e.p50 - journal_write_p50) / 1000.0);
	}
	{
		/* the keyed chain's own cost: HMAC-SHA256 vs SHA-256 of one record */
		unsigned char md[64], key[32] = { 1 };
		size_t l;
		unsigned int ul;
		size_t len = (size_t)*g_last_len;
		int n = 20000;
		double t0 = now_ns();
		for (int i = 0; i < n; i++)
			EVP_Digest(msg, len, md, &ul, EVP_sha256(), NULL);
		double t1 = now_ns();
		EVP_MAC *hm = EVP_MAC_fetch(NULL, "HMAC", NULL);
		EVP_MAC_CTX *hc = EVP_MAC_CTX_new(hm);
		char dg[] = "SHA256";
		OSSL_PARAM prm[] = { OSSL_PARAM_construct_utf8_string("digest", dg, 0),
			             OSSL_PARAM_construct_end() };
		EVP_MAC_init(hc, key, sizeof(key), prm);
		double t2 = now_ns();
		for (int i = 0; i < n; i++) {
			EVP_MAC_init(hc, NULL, 0, NULL);
			EVP_MAC_update(hc, (unsigned char *)msg, len);
			EVP_MAC_final(hc, md, &l, sizeof(md));
		}
		double t3 = now_ns();
		EVP_MAC_CTX_free(hc);
		EVP_MAC_free(hm);
		printf("chain over %zu bytes: SHA-256 %.0f ns, HMAC-SHA256 (keyed ctx reused) %.0f ns\n",
		       len, (t1 - t0) / n, (t3 - t2) / n);
		printf("RESULT status=ok tag=audit-mac bytes=%zu sha256_ns=%.0f hmac_ns=%.0f\n",
		       len, (t1 - t0) / n, (t3 - t2) / n);
	}
	unlink(jpath);
	{
		char sp[200];
		snprintf(sp, sizeof(sp), "%s.state", jpath);
		unlink(sp);
	}
	unlink(line_path);
	unlink(mpath);
	unlink(cpath);

	audit_shutdown();
	close(fd);
	free(t_emit);
	free(t_send);
	free(t_diff);
	free(msg);
out:
	kill(reader, SIGTERM);
	waitpid(reader, NULL, 0);
	unlink(path);
	rmdir(dir);
	return failed;
}

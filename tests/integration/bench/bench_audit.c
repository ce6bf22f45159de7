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
 * The difference is signgate's own cost per record.  Prints a table and
 * RESULT lines; asserts nothing.
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

#include "audit.h"
#include "caller.h"
#include "config.h"

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
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

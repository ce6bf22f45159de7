/* Test helper: emit N audit records (allowed and denied signatures, from
 * T threads) to a syslog socket with the real audit code, as the module
 * would.  usage: audit-emit SOCKET FORMAT N [THREADS] [rfc5424] [cee]
 * Exit 0 when every record was delivered. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "audit.h"

static int n_per_thread;
static int failures;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static void *emit_some(void *arg)
{
	int t = (int)(long)arg;
	caller_t c;
	memset(&c, 0, sizeof(c));
	c.known = true;
	c.uid = 1000 + (unsigned)t;
	c.gid = 100;
	c.pid = 4000 + t;
	c.ppid = 1;
	snprintf(c.user, sizeof(c.user), "user%d", t);
	snprintf(c.program, sizeof(c.program), "/usr/bin/tool%d", t % 2);
	ticket_claims_t tk;
	memset(&tk, 0, sizeof(tk));
	strcpy(tk.issuer, "ci-validator");
	strcpy(tk.product, t % 2 ? "app" : "lib");
	strcpy(tk.run, "run \"42\"");
	static const unsigned char id[] = { 0x01 };
	unsigned char data[32];
	for (int i = 0; i < n_per_thread; i++) {
		memset(data, i, sizeof(data));
		bool allow = i % 4 != 3;
		audit_record_t r = {
			.event = AUDIT_SIGN,
			.allowed = allow,
			.reason =
			        allow ? "allowed" : (i % 8 == 3 ? "key-revoked" : "outside-window"),
			.detail = "hostile \"detail\" = | \\ \n end",
			.rule = "release-signing",
			.role = "release",
			.caller = &c,
			.ticket = &tk,
			.token_label = "signgate-test",
			.key_name = i % 2 ? "test-rsa" : "test-ec",
			.key_id = id,
			.key_id_len = 1,
			.key_label = "rsa-release",
			.mechanism = "SHA256-RSA-PKCS",
			.hash = "SHA256",
			.data_sha256 = data,
			.data_len = 100 + (size_t)i,
			.ckr = allow ? 0 : 0x101,
			.operation = "C_Sign",
		};
		if (audit_emit(&r) != 0) {
			pthread_mutex_lock(&fail_lock);
			failures++;
			pthread_mutex_unlock(&fail_lock);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr,
		        "usage: audit-emit SOCKET json|cef|logfmt N [THREADS] [rfc5424] [cee]\n");
		return 2;
	}
	config_audit_t cfg = {
		.enabled = true,
		.required = true,
		.facility = LOG_AUTHPRIV,
		.ident = "signgate",
		.socket_path = argv[1],
		.timeout_ms = 2000,
	};
	cfg.format = !strcmp(argv[2], "cef")      ? AUDIT_FORMAT_CEF
	             : !strcmp(argv[2], "logfmt") ? AUDIT_FORMAT_LOGFMT
	                                          : AUDIT_FORMAT_JSON;
	int threads = argc > 4 ? atoi(argv[4]) : 1;
	for (int i = 5; i < argc; i++) {
		if (!strcmp(argv[i], "rfc5424"))
			cfg.rfc5424 = true;
		if (!strcmp(argv[i], "cee"))
			cfg.cee = true;
	}
	if (threads < 1 || threads > 64)
		return 2;
	n_per_thread = atoi(argv[3]) / threads;
	if (audit_configure(&cfg) != 0)
		return 1;
	pthread_t th[64];
	for (int t = 0; t < threads; t++)
		pthread_create(&th[t], NULL, emit_some, (void *)(long)t);
	for (int t = 0; t < threads; t++)
		pthread_join(th[t], NULL);
	audit_shutdown();
	if (failures)
		fprintf(stderr, "audit-emit: %d records not delivered\n", failures);
	return failures ? 1 : 0;
}

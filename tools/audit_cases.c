/* signgate audit --to-cases: recorded decisions as regression cases.
 *
 * Reads JSON audit records (config/AUDIT-SCHEMA.md) from syslog files and
 * writes one `signgate test` case (docs/policy-tests.md) per recorded
 * key use or key administration, allowed or denied, with the caller,
 * key, mechanism, hash and time of the record and the outcome and reason
 * it had.  Run against the config that was in force (`config_sha256` of
 * the records), the cases reproduce the decisions; run against a changed
 * config, they show which recorded decisions it would change.
 *
 * A record does not carry everything a decision looked at; the case
 * states what the record implies instead:
 *  - groups: the user's groups from the user database (as the module
 *    sees them in-process), or the primary gid for an unknown account;
 *  - ticket checks: not recorded.  With --config, an allowed record's
 *    rule tells them (the rule allowed, so its checks passed);
 *  - runtime state: quota-exhausted becomes `quota_left = 0`,
 *    ticket-exhausted `uses_left = 0`, audit-unavailable
 *    `audit = "unavailable"`, ticket-too-old a ticket older than any
 *    limit, artifact-mismatch a digest not among the ticket's artifacts,
 *    ticket-invalid the ticket status in the record's detail;
 *  - records the engine cannot re-decide (logins, tickets, config
 *    events, mechanisms signgate has no name for) are skipped, each with a
 *    comment in the output.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "config.h"
#include "mech.h"
#include "policy.h"
#include "policy_input.h"

static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fputc('?', f); /* not in any value the policy names */
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool jint(json_t *o, const char *k, long long *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_integer(v))
		return false;
	*out = json_integer_value(v);
	return true;
}

typedef struct conv {
	FILE *out;
	const config_t *cfg; /* optional: rules' checks for allowed records */
	size_t n_cases, n_skipped;
} conv_t;

static void skip(conv_t *cv, const char *file, long line, const char *why)
{
	fprintf(cv->out, "  # skipped %s:%ld: %s\n", file, line, why);
	cv->n_skipped++;
}

static void convert(conv_t *cv, json_t *rec, const char *file, long line)
{
	const char *event = jstr(rec, "event"), *outcome = jstr(rec, "outcome");
	const char *reason = jstr(rec, "reason"), *time_s = jstr(rec, "time");
	const char *mech = jstr(rec, "mechanism"), *hash = jstr(rec, "hash");
	const char *key = jstr(rec, "key"), *product = jstr(rec, "product");
	const char *user = jstr(rec, "user"), *program = jstr(rec, "program");
	const char *rule = jstr(rec, "rule"), *detail = jstr(rec, "detail");
	long long uid, gid;
	bool is_sign;

	if (!event || !outcome || !reason || !time_s)
		return;
	if (!strcmp(event, "sign"))
		is_sign = true;
	else if (!strcmp(event, "admin"))
		is_sign = false;
	else
		return; /* not a key use: logins, tickets, config and module events */
	if (strcmp(outcome, "allow") && strcmp(outcome, "deny"))
		return skip(cv, file, line, "outcome is neither allow nor deny");
	if (!jint(rec, "uid", &uid))
		return skip(cv, file, line, "no caller uid in the record");
	/* Reasons that judge the bytes or the call sequence a caller handed
	 * over (config/REFERENCE.md, "Runtime-only reasons"), or the token's
	 * own failure: a case, which carries no data and no calls, cannot
	 * reproduce them. */
	static const char *const runtime_only[] = {
		"key-unknown",
		"key-other-token",
		"template-duplicate",
		"hash-disguised",
		"hash-truncated",
		"data-malformed",
		"pss-params-invalid",
		"backend-fault",
		"login-changed",
		"operation-blocked",
		"operation-not-initialized",
		"decrypt-failed",
		"unwrap-failed",
		"derive-failed",
		"handle-inconsistent",
	};
	for (size_t i = 0; i < sizeof(runtime_only) / sizeof(runtime_only[0]); i++)
		if (!strcmp(reason, runtime_only[i]))
			return skip(cv, file, line,
			            "a runtime-only reason: the data or call sequence decided");
	mech_id_t m = mech ? mech_from_name(mech) : MECH_UNKNOWN;
	if (is_sign && m == MECH_UNKNOWN)
		return skip(cv, file, line, "mechanism signgate has no name for");

	FILE *f = cv->out;
	char name[512];
	snprintf(name, sizeof name, "%s %s %s %s %s (%s:%ld)", time_s, event, outcome, reason,
	         key ? key : "-", file, line);
	/* libconfig takes no comma after the last element: one before
	 * every case but the first. */
	fprintf(f, "%s  {\n    name = ", cv->n_cases ? "  ,\n" : "");
	put_str(f, name);
	fprintf(f, ";\n    at = ");
	put_str(f, time_s);
	fprintf(f, ";\n    caller = { ");
	if (user) {
		fprintf(f, "user = ");
		put_str(f, user);
		fprintf(f, "; ");
	}
	fprintf(f, "uid = %lld; ", uid);
	if (jint(rec, "gid", &gid))
		fprintf(f, "gid = %lld; ", gid);
	if (program && program[0] == '/') {
		fprintf(f, "program = ");
		put_str(f, program);
		fprintf(f, "; ");
		const char *psha = jstr(rec, "program_sha256");
		if (psha && strlen(psha) == 64) {
			fprintf(f, "program_sha256 = ");
			put_str(f, psha);
			fprintf(f, "; ");
		}
	}
	fprintf(f, "};\n");
	fprintf(f, "    operation = \"%s\";\n", is_sign ? "sign" : "admin");
	if (key) {
		fprintf(f, "    key = ");
		put_str(f, key);
		fprintf(f, ";\n");
	} else if (jstr(rec, "token") && (jstr(rec, "key_id") || jstr(rec, "key_label"))) {
		/* Not a governed key (or a look-alike): the object as recorded. */
		fprintf(f, "    object = { token = ");
		put_str(f, jstr(rec, "token"));
		if (jstr(rec, "key_id")) {
			fprintf(f, "; id = ");
			put_str(f, jstr(rec, "key_id"));
		}
		if (jstr(rec, "key_label")) {
			fprintf(f, "; label = ");
			put_str(f, jstr(rec, "key_label"));
		}
		if (jstr(rec, "key_fp")) {
			fprintf(f, "; fingerprint = ");
			put_str(f, jstr(rec, "key_fp"));
		}
		fprintf(f, "; };\n");
	} else if (!is_sign) {
		fprintf(f, "    key = \"-\";\n"); /* administration that names no key */
	} else {
		fprintf(f, "    object = { token = \"(unknown)\"; label = \"(unknown)\"; };\n");
	}
	hash_alg_t h = hash ? hash_from_name(hash) : HASH_UNKNOWN;
	if (h == HASH_UNKNOWN)
		hash = NULL; /* "UNKNOWN": no hash the module could name */
	else if (m != MECH_RSA_PKCS && m != MECH_ECDSA && m != MECH_RSA_PKCS_PSS)
		hash = NULL; /* the mechanism fixes it, or none applies (raw RSA, EdDSA) */
	if (is_sign) {
		fprintf(f, "    mechanism = ");
		put_str(f, mech_name(m));
		fprintf(f, ";\n");
		if (hash) {
			fprintf(f, "    hash = ");
			put_str(f, hash);
			fprintf(f, ";\n");
		} else if (!strcmp(reason, "hash-forbidden") &&
		           (m == MECH_RSA_PKCS || m == MECH_ECDSA)) {
			/* refused on the data, with no hash the module could name */
			const char *op = jstr(rec, "op");
			if (op && strcmp(op, "C_SignInit"))
				fprintf(f, "    hash = \"unparseable\";\n");
		}
	}

	/* The ticket, as far as the record tells it. */
	const policy_rule_t *r = cv->cfg && rule ? policy_rule_by_name(cv->cfg, rule) : NULL;
	bool ticket = product || jstr(rec, "jti") || !strncmp(reason, "ticket-", 7) ||
	              !strcmp(reason, "artifact-mismatch");
	if (!strcmp(reason, "ticket-missing"))
		ticket = false;
	if (ticket) {
		fprintf(f, "    ticket = { ");
		if (product) {
			fprintf(f, "product = ");
			put_str(f, product);
			fprintf(f, "; ");
		}
		if (jstr(rec, "issuer")) {
			fprintf(f, "issuer = ");
			put_str(f, jstr(rec, "issuer"));
			fprintf(f, "; ");
		}
		if (jstr(rec, "jti")) {
			fprintf(f, "jti = ");
			put_str(f, jstr(rec, "jti"));
			fprintf(f, "; ");
		}
		if (!strcmp(reason, "ticket-invalid")) {
			const char *st = detail && !strncmp(detail, "ticket-", 7)
			                         ? detail
			                         : "ticket-bad-signature";
			fprintf(f, "status = ");
			put_str(f, st);
			fprintf(f, "; ");
		}
		if (!strcmp(reason, "ticket-too-old"))
			fprintf(f, "age = \"500w\"; ");
		if (!strcmp(reason, "ticket-exhausted"))
			fprintf(f, "max_uses = 1; uses_left = 0; ");
		if (!strcmp(reason, "artifact-mismatch"))
			fprintf(f, "artifacts = [ \"%064d\" ]; ", 0);
		if (r && !strcmp(outcome, "allow") && r->n_checks) {
			fprintf(f, "checks = [ ");
			for (size_t i = 0; i < r->n_checks; i++) {
				put_str(f, r->checks[i]);
				fprintf(f, "%s", i + 1 < r->n_checks ? ", " : " ");
			}
			fprintf(f, "]; ");
		}
		fprintf(f, "};\n");
	}
	if (!strcmp(reason, "artifact-mismatch"))
		fprintf(f, "    data_digest = \"%s\";\n",
		        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
	if (!strcmp(reason, "quota-exhausted"))
		fprintf(f, "    quota_left = 0;\n");
	if (!strcmp(reason, "audit-unavailable"))
		fprintf(f, "    audit = \"unavailable\";\n");
	if (!strcmp(reason, "config-invalid"))
		fprintf(f, "    config = \"invalid\";\n");
	if (!strcmp(reason, "state-unavailable"))
		fprintf(f, "    state = \"unavailable\";\n");
	static const char killed[] = "revoked (signgate revoke): ";
	if (!strcmp(reason, "key-revoked") && detail &&
	    !strncmp(detail, killed, sizeof killed - 1)) {
		fprintf(f, "    state_revoked = ");
		put_str(f, detail + sizeof killed - 1);
		fprintf(f, ";\n");
	}
	fprintf(f, "    expect = \"%s\";\n    reason = ", outcome);
	put_str(f, reason);
	fprintf(f, ";\n");
	if (rule && !strcmp(outcome, "allow")) {
		fprintf(f, "    rule = ");
		put_str(f, rule);
		fprintf(f, ";\n");
	}
	fprintf(f, "  }\n");
	cv->n_cases++;
}

static int read_log(conv_t *cv, FILE *in, const char *file)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long ln = 0;
	while ((n = getline(&line, &cap, in)) >= 0) {
		ln++;
		/* The record is the JSON object in the line, after the syslog
		 * header and an optional "@cee: " cookie. */
		char *brace = strchr(line, '{');
		if (!brace)
			continue;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		json_error_t je;
		json_t *rec = json_loads(brace, JSON_REJECT_DUPLICATES, &je);
		if (!rec || !json_is_object(rec)) {
			json_decref(rec);
			continue; /* not a signgate JSON record */
		}
		if (json_object_get(rec, "event") && json_object_get(rec, "chain"))
			convert(cv, rec, file, ln);
		json_decref(rec);
	}
	free(line);
	return ferror(in) ? -1 : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate audit --to-cases FILE [--config CONFIG] [LOG...]\n"
	           "  Writes every recorded key use and key administration (JSON records,\n"
	           "  allowed and denied) as a `signgate test` case to FILE ('-' = stdout).\n"
	           "  --config CONFIG  the config in force: fills the ticket checks of\n"
	           "                   allowed records from the rule that allowed them\n"
	           "Exit status: 0 written, 2 usage or input error.\n");
}

int cmd_audit_to_cases(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to-cases", required_argument, NULL, 'o' },
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_path = NULL, *conf = NULL;
	int c, rc = 2;
	conv_t cv = { 0 };
	config_t *cfg = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out_path = optarg; break;
		case 'c': conf = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!out_path) {
		usage(stderr);
		return 2;
	}
	if (conf) {
		char err[CONFIG_ERR_MAX];
		if (!(cfg = policy_input_config(conf, err, sizeof err))) {
			fprintf(stderr, "%s\n", err);
			return 2;
		}
		cv.cfg = cfg;
	}
	/* Written to a temporary name, renamed when complete: a half-written
	 * cases file must not pass for the whole log. */
	char tmp[4096];
	bool to_stdout = !strcmp(out_path, "-");
	if (!to_stdout && snprintf(tmp, sizeof tmp, "%s.tmp", out_path) >= (int)sizeof tmp) {
		fprintf(stderr, "signgate audit: path too long\n");
		goto out;
	}
	cv.out = to_stdout ? stdout : fopen(tmp, "w");
	if (!cv.out) {
		perror(tmp);
		goto out;
	}
	fprintf(cv.out,
	        "# signgate test cases from recorded decisions (signgate audit --to-cases)\n"
	        "cases = (\n");
	if (optind == argc) {
		if (read_log(&cv, stdin, "(stdin)") < 0)
			goto fail;
	}
	for (int i = optind; i < argc; i++) {
		FILE *in = strcmp(argv[i], "-") ? fopen(argv[i], "r") : stdin;
		if (!in) {
			perror(argv[i]);
			goto fail;
		}
		int r = read_log(&cv, in, argv[i]);
		if (in != stdin)
			fclose(in);
		if (r < 0) {
			fprintf(stderr, "%s: read error\n", argv[i]);
			goto fail;
		}
	}
	fprintf(cv.out, ");\n");
	if (!to_stdout) {
		if (fclose(cv.out) != 0 || rename(tmp, out_path) != 0) {
			perror(out_path);
			cv.out = NULL;
			goto fail;
		}
		cv.out = NULL;
	}
	fprintf(stderr, "signgate audit: %zu cases written to %s, %zu records skipped\n",
	        cv.n_cases, to_stdout ? "standard output" : out_path, cv.n_skipped);
	rc = 0;
	goto out;
fail:
	if (cv.out && !to_stdout) {
		fclose(cv.out);
		remove(tmp);
	}
out:
	config_free(cfg);
	return rc;
}

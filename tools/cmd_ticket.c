/* signgate ticket: make validator keys, issue, verify and show tickets.
 *
 *   signgate ticket keygen --out validator.pem [--alg EdDSA|ES256] [--pub FILE]
 *   signgate ticket issue --key K --issuer I --product P --run R [options]
 *   signgate ticket verify --config C [--at TIME] TICKET|-|@FILE
 *   signgate ticket show TICKET|-|@FILE
 *
 * verify answers with the module's own code (config_load + ticket_verify),
 * so "accepted" here means the module would accept the ticket's signature,
 * issuer and times.  What each rule that wants a ticket makes of it (checks,
 * age, product, audience) is then decided by the module's engine,
 * policy_decide, for a caller (--user, default the user running it): the
 * same decision, reason and detail the module gives at C_SignInit.
 * --key K [--mechanism M] [--hash H] decides one signature and sets the
 * exit status by it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "caller.h"
#include "commands.h"
#include "config.h"
#include "debug.h"
#include "identify.h"
#include "policy.h"
#include "ticket.h"
#include "codec.h"

#define DEFAULT_TTL_S (30 * 60)

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate ticket keygen --out FILE [--alg EdDSA|ES256] [--pub FILE]\n"
	           "       signgate ticket issue --key FILE --issuer NAME --product P --run ID\n"
	           "              [--pipeline NAME] [--check NAME=RESULT]... [--artifact FILE]...\n"
	           "              [--digest sha256:HEX]... [--aud NAME]... [--ttl DURATION]\n"
	           "              [--at TIME] [--nbf TIME] [--exp TIME] [--max-uses N] [--jti ID]\n"
	           "              [--commit SHA]\n"
	           "       signgate ticket verify --config FILE [--at TIME] [--user U]\n"
	           "              [--key K [--mechanism M] [--hash H]] TICKET|-|@FILE\n"
	           "       signgate ticket show TICKET|-|@FILE\n"
	           "\n"
	           "DURATION: 30s, 15m, 1h, 1d.  TIME: now, RFC 3339 (2026-11-22T10:00:00Z),\n"
	           "@EPOCH, or relative to now (+10m, -2h).  A ticket argument '-' reads\n"
	           "stdin, @FILE reads a file.  verify decides, with the module's engine, what\n"
	           "each rule wanting a ticket makes of it for user U (default: you); with\n"
	           "--key, one signature (mechanism default: the key's first).\n"
	           "Exit: 0 ok/accepted (and allowed with --key), 1 refused (or denied with\n"
	           "--key), 2 usage or error.\n");
}

/* --- small parsers -------------------------------------------------------- */

static bool parse_duration(const char *s, int64_t *out)
{
	char *end;
	long long n;
	int64_t mul;

	errno = 0;
	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0)
		return false;
	if (!strcmp(end, "s"))
		mul = 1;
	else if (!strcmp(end, "m"))
		mul = 60;
	else if (!strcmp(end, "h"))
		mul = 3600;
	else if (!strcmp(end, "d"))
		mul = 86400;
	else
		return false;
	if (n > 100LL * 365 * 86400 / mul)
		return false;
	*out = (int64_t)n * mul;
	return true;
}

static bool parse_time(const char *s, time_t now, time_t *out)
{
	struct tm tm;
	int64_t d;
	char *end;
	int n = 0;

	if (!strcmp(s, "now")) {
		*out = now;
		return true;
	}
	if (*s == '+' || *s == '-') {
		if (!parse_duration(s + 1, &d))
			return false;
		*out = *s == '+' ? now + (time_t)d : now - (time_t)d;
		return true;
	}
	if (*s == '@') {
		long long v;
		errno = 0;
		v = strtoll(s + 1, &end, 10);
		if (errno || end == s + 1 || *end || v < 0)
			return false;
		*out = (time_t)v;
		return true;
	}
	memset(&tm, 0, sizeof(tm));
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    n != 19)
		return false;
	s += n;
	if (*s == '.') /* fractional seconds: ignored */
		for (s++; *s >= '0' && *s <= '9'; s++)
			;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	if (tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
	    tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
		return false;
	*out = timegm(&tm);
	if (!strcmp(s, "Z") || !strcmp(s, "z"))
		return true;
	if ((s[0] == '+' || s[0] == '-') && strlen(s) == 6 && s[3] == ':') {
		int hh, mm;
		if (sscanf(s + 1, "%2d:%2d", &hh, &mm) != 2 || hh > 23 || mm > 59)
			return false;
		*out -= (s[0] == '+' ? 1 : -1) * (time_t)(hh * 3600 + mm * 60);
		return true;
	}
	return false;
}

static void format_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%lld", (long long)t);
}

static bool parse_hex_digest(const char *s, unsigned char out[32])
{
	size_t n;
	return strncmp(s, "sha256:", 7) == 0 && strlen(s) == 7 + 64 &&
	       codec_hex_decode(s + 7, 64, CODEC_HEX_UPPER, out, 32, &n);
}

static bool sha256_file(const char *path, unsigned char out[32])
{
	unsigned char buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	FILE *f = fopen(path, "rb");
	bool ok = false;
	size_t n;

	if (!ctx || !f || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto out;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (EVP_DigestUpdate(ctx, buf, n) != 1)
			goto out;
	ok = !ferror(f) && EVP_DigestFinal_ex(ctx, out, NULL) == 1;
out:
	if (f)
		fclose(f);
	EVP_MD_CTX_free(ctx);
	return ok;
}

static bool copy_field(char *dst, size_t cap, const char *src, const char *what)
{
	if (strlen(src) >= cap || !*src) {
		fprintf(stderr, "signgate ticket: %s must be 1..%zu bytes\n", what, cap - 1);
		return false;
	}
	strcpy(dst, src);
	return true;
}

/* TICKET, "-" (stdin) or "@FILE".  Surrounding whitespace is dropped
 * (files end in a newline); anything else is the verifier's business. */
static char *read_ticket_arg(const char *arg, size_t *len)
{
	size_t cap = TICKET_MAX_LEN + 64, n = 0, start = 0;
	char *buf = NULL;
	FILE *f = NULL;

	if (strcmp(arg, "-") != 0 && arg[0] != '@') {
		buf = strdup(arg);
		n = buf ? strlen(buf) : 0;
	} else {
		f = strcmp(arg, "-") ? fopen(arg + 1, "rb") : stdin;
		if (!f) {
			fprintf(stderr, "signgate ticket: %s: %s\n", arg + 1, strerror(errno));
			return NULL;
		}
		buf = malloc(cap + 1);
		if (buf)
			n = fread(buf, 1, cap, f);
		if (f != stdin)
			fclose(f);
		if (!buf)
			return NULL;
		buf[n] = '\0';
		/* Longer than any ticket: keep it so that verify says why. */
	}
	if (!buf)
		return NULL;
	while (n && strchr(" \t\r\n", buf[n - 1]))
		buf[--n] = '\0';
	while (start < n && strchr(" \t\r\n", buf[start]))
		start++;
	memmove(buf, buf + start, n - start + 1);
	*len = n - start;
	return buf;
}

/* --- keygen ---------------------------------------------------------------- */

static bool write_pem(const char *path, mode_t mode, EVP_PKEY *pk, bool private)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	FILE *f;
	bool ok;

	if (fd < 0) {
		fprintf(stderr, "signgate ticket keygen: %s: %s%s\n", path, strerror(errno),
		        errno == EEXIST ? " (not overwriting a key)" : "");
		return false;
	}
	/* The umask may have widened nothing, but be exact about it. */
	if (fchmod(fd, mode) != 0 || !(f = fdopen(fd, "w"))) {
		close(fd);
		return false;
	}
	ok = private ? PEM_write_PrivateKey(f, pk, NULL, NULL, 0, NULL, NULL) == 1
	             : PEM_write_PUBKEY(f, pk) == 1;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		fprintf(stderr, "signgate ticket keygen: cannot write %s\n", path);
		unlink(path);
	}
	return ok;
}

static int ticket_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "pub", required_argument, NULL, 'p' },
		{ "alg", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *out = NULL, *pub = NULL, *alg = "EdDSA";
	char pubbuf[4096];
	EVP_PKEY *pk = NULL;
	int c, rc = 2;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pub = optarg; break;
		case 'a': alg = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!out || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!pub) {
		size_t n = strlen(out);
		if (n > 4 && !strcmp(out + n - 4, ".pem"))
			snprintf(pubbuf, sizeof(pubbuf), "%.*s.pub.pem", (int)(n - 4), out);
		else
			snprintf(pubbuf, sizeof(pubbuf), "%s.pub.pem", out);
		pub = pubbuf;
	}
	if (!strcmp(alg, "EdDSA") || !strcasecmp(alg, "ed25519"))
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else if (!strcmp(alg, "ES256") || !strcasecmp(alg, "p-256"))
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	else {
		fprintf(stderr, "signgate ticket keygen: --alg must be EdDSA or ES256\n");
		return 2;
	}
	if (!pk) {
		fprintf(stderr, "signgate ticket keygen: key generation failed\n");
		return 2;
	}
	if (!write_pem(out, 0600, pk, true))
		goto out;
	if (!write_pem(pub, 0644, pk, false)) {
		unlink(out);
		goto out;
	}
	printf("private key (%s, keep it on the validator, mode 0600): %s\n",
	       ticket_alg_for_key(pk), out);
	printf("public key (for the signgate config's validators): %s\n", pub);
	rc = 0;
out:
	EVP_PKEY_free(pk);
	return rc;
}

/* --- issue ----------------------------------------------------------------- */

static EVP_PKEY *load_private_key(const char *path)
{
	struct stat st;
	EVP_PKEY *pk = NULL;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, "signgate ticket issue: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077))
		fprintf(stderr,
		        "signgate ticket issue: warning: %s is readable by others "
		        "(mode %03o); a validator key should be 0600\n",
		        path, (unsigned)(st.st_mode & 0777));
	pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!pk)
		fprintf(stderr, "signgate ticket issue: %s: not a PEM private key\n", path);
	else if (!ticket_alg_for_key(pk)) {
		fprintf(stderr,
		        "signgate ticket issue: %s: only Ed25519 and EC P-256 keys "
		        "sign tickets\n",
		        path);
		EVP_PKEY_free(pk);
		pk = NULL;
	}
	return pk;
}

static int ticket_issue_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "product", required_argument, NULL, 'P' },
		{ "pipeline", required_argument, NULL, 'p' },
		{ "run", required_argument, NULL, 'r' },
		{ "check", required_argument, NULL, 'c' },
		{ "artifact", required_argument, NULL, 'f' },
		{ "digest", required_argument, NULL, 'd' },
		{ "aud", required_argument, NULL, 'A' },
		{ "ttl", required_argument, NULL, 't' },
		{ "at", required_argument, NULL, 'T' },
		{ "nbf", required_argument, NULL, 'n' },
		{ "exp", required_argument, NULL, 'e' },
		{ "max-uses", required_argument, NULL, 'm' },
		{ "jti", required_argument, NULL, 'j' },
		{ "commit", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static ticket_claims_t cl;
	const char *keyfile = NULL, *nbf_s = NULL, *exp_s = NULL;
	time_t now = time(NULL), at = now, t;
	int64_t ttl = DEFAULT_TTL_S;
	EVP_PKEY *pk = NULL;
	char *tok = NULL;
	int c, rc = 2;

	memset(&cl, 0, sizeof(cl));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keyfile = optarg; break;
		case 'i':
			if (!copy_field(cl.issuer, sizeof(cl.issuer), optarg, "--issuer"))
				return 2;
			break;
		case 'P':
			if (!copy_field(cl.product, sizeof(cl.product), optarg, "--product"))
				return 2;
			break;
		case 'p':
			if (!copy_field(cl.pipeline, sizeof(cl.pipeline), optarg, "--pipeline"))
				return 2;
			break;
		case 'C':
			if (!copy_field(cl.commit, sizeof(cl.commit), optarg, "--commit"))
				return 2;
			break;
		case 'r':
			if (!copy_field(cl.run, sizeof(cl.run), optarg, "--run"))
				return 2;
			break;
		case 'j':
			if (!copy_field(cl.jti, sizeof(cl.jti), optarg, "--jti"))
				return 2;
			break;
		case 'c': {
			char *eq = strchr(optarg, '=');
			ticket_check_t *ck;
			if (!eq || eq == optarg || !eq[1]) {
				fprintf(stderr,
				        "signgate ticket issue: --check wants NAME=RESULT\n");
				return 2;
			}
			if (cl.n_checks == TICKET_MAX_CHECKS) {
				fprintf(stderr, "signgate ticket issue: at most %d checks\n",
				        TICKET_MAX_CHECKS);
				return 2;
			}
			ck = &cl.checks[cl.n_checks];
			*eq = '\0';
			if (!copy_field(ck->name, sizeof(ck->name), optarg, "check name") ||
			    !copy_field(ck->result, sizeof(ck->result), eq + 1, "check result"))
				return 2;
			for (size_t i = 0; i < cl.n_checks; i++)
				if (!strcmp(cl.checks[i].name, ck->name)) {
					fprintf(stderr,
					        "signgate ticket issue: check '%s' given twice\n",
					        ck->name);
					return 2;
				}
			ck->pass = !strcmp(ck->result, "pass");
			cl.n_checks++;
			break;
		}
		case 'f':
		case 'd':
			if (cl.n_digests == TICKET_MAX_DIGESTS) {
				fprintf(stderr, "signgate ticket issue: at most %d artifacts\n",
				        TICKET_MAX_DIGESTS);
				return 2;
			}
			if (c == 'f' && !sha256_file(optarg, cl.digests[cl.n_digests])) {
				fprintf(stderr, "signgate ticket issue: cannot hash %s: %s\n",
				        optarg, strerror(errno));
				return 2;
			}
			if (c == 'd' && !parse_hex_digest(optarg, cl.digests[cl.n_digests])) {
				fprintf(stderr,
				        "signgate ticket issue: --digest wants sha256:<64 hex>\n");
				return 2;
			}
			cl.n_digests++;
			break;
		case 'A':
			if (cl.n_aud == TICKET_MAX_AUD) {
				fprintf(stderr, "signgate ticket issue: at most %d --aud\n",
				        TICKET_MAX_AUD);
				return 2;
			}
			if (!copy_field(cl.aud[cl.n_aud], sizeof(cl.aud[0]), optarg, "--aud"))
				return 2;
			cl.n_aud++;
			break;
		case 't':
			if (!parse_duration(optarg, &ttl) || ttl == 0) {
				fprintf(stderr, "signgate ticket issue: bad --ttl '%s'\n", optarg);
				return 2;
			}
			break;
		case 'T':
			if (!parse_time(optarg, now, &at)) {
				fprintf(stderr, "signgate ticket issue: bad --at '%s'\n", optarg);
				return 2;
			}
			break;
		case 'n': nbf_s = optarg; break;
		case 'e': exp_s = optarg; break;
		case 'm': {
			char *end;
			unsigned long long v;
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' || v < 1 ||
			    v > UINT32_MAX) {
				fprintf(stderr, "signgate ticket issue: --max-uses wants 1..%u\n",
				        UINT32_MAX);
				return 2;
			}
			cl.max_uses = (uint32_t)v;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!keyfile || !cl.issuer[0] || !cl.product[0] || !cl.run[0] || optind != argc) {
		fprintf(stderr,
		        "signgate ticket issue: --key, --issuer, --product and --run are required\n");
		usage(stderr);
		return 2;
	}
	cl.iat = cl.nbf = at;
	cl.exp = at + ttl;
	if (nbf_s) {
		if (!parse_time(nbf_s, now, &t)) {
			fprintf(stderr, "signgate ticket issue: bad --nbf '%s'\n", nbf_s);
			return 2;
		}
		cl.nbf = t;
		if (!exp_s)
			cl.exp = t + ttl;
	}
	if (exp_s) {
		if (!parse_time(exp_s, now, &t)) {
			fprintf(stderr, "signgate ticket issue: bad --exp '%s'\n", exp_s);
			return 2;
		}
		cl.exp = t;
	}
	if (cl.exp < cl.nbf || cl.exp < cl.iat) {
		fprintf(stderr, "signgate ticket issue: exp is before nbf or iat\n");
		return 2;
	}
	if (!cl.jti[0]) {
		unsigned char r[16];
		if (RAND_bytes(r, sizeof(r)) != 1) {
			fprintf(stderr, "signgate ticket issue: no randomness for jti\n");
			return 2;
		}
		codec_hex_encode(cl.jti, sizeof(cl.jti), r, sizeof(r));
	}
	pk = load_private_key(keyfile);
	if (!pk)
		goto out;
	tok = ticket_issue(pk, &cl);
	if (!tok) {
		fprintf(stderr,
		        "signgate ticket issue: cannot issue (claims refused or signing failed)\n");
		goto out;
	}
	printf("%s\n", tok);
	rc = 0;
out:
	free(tok);
	EVP_PKEY_free(pk);
	return rc;
}

/* --- verify ---------------------------------------------------------------- */

static void print_checks(FILE *f, const ticket_claims_t *c)
{
	if (!c->n_checks)
		fputs("(none)", f);
	for (size_t i = 0; i < c->n_checks; i++)
		fprintf(f, "%s%s:%s", i ? "," : "", c->checks[i].name, c->checks[i].result);
}

/* The first signing mechanism a key allows (the decision needs one). */
static mech_id_t key_first_mech(const policy_key_t *k)
{
	for (int m = MECH_UNKNOWN + 1; m < MECH_COUNT; m++)
		if ((k->mech_allowed >> m) & 1u)
			return (mech_id_t)m;
	return MECH_UNKNOWN;
}

/* The module's decision at C_SignInit for this caller, key and ticket. */
static void decide_with_ticket(const config_t *cfg, const caller_t *caller, const policy_key_t *k,
                               mech_id_t m, hash_alg_t h, const ticket_claims_t *c, time_t now,
                               policy_decision_t *d)
{
	policy_request_t req = { 0 };
	req.action = POLICY_ACTION_SIGN;
	req.caller = caller;
	req.key = k;
	req.mech = m;
	req.hash = h;
	req.hash_deferred = h == HASH_UNKNOWN;
	req.now = now;
	req.ticket = c;
	policy_decide(cfg, &req, d);
	SG_DEBUG(SG_DBG_POLICY, "ticket verify: key %s mechanism %s: %s %s rule=%s role=%s",
	         k->name, mech_name(m), d->allow ? "allow" : "deny", policy_reason_name(d->reason),
	         d->rule ? d->rule->name : "-", d->role ? d->role->name : "-");
	if (!d->allow)
		SG_DEBUG(SG_DBG_POLICY, "  why: %s", d->detail);
}

static void print_decision(const policy_key_t *k, mech_id_t m, const policy_decision_t *d)
{
	printf("decision:  %s\nreason:    %s\nkey:       %s, mechanism %s\nrule:      %s\n",
	       d->allow ? "allow" : "deny", policy_reason_name(d->reason), k->name, mech_name(m),
	       d->rule ? d->rule->name : "-");
	if (!d->allow)
		printf("detail:    %s\n", d->detail);
}

/* Each rule that wants a ticket: what the module's engine decides for
 * each of its keys with this ticket (quota and the data not evaluated;
 * the mechanism is each key's first, its hash checked on the data). */
static void print_rules(const config_t *cfg, const caller_t *caller, const ticket_claims_t *c,
                        time_t now)
{
	bool any = false;

	for (size_t r = 0; r < cfg->n_rules; r++) {
		const policy_rule_t *rule = &cfg->rules[r];
		size_t usable = 0, n_keys = 0;
		char why[400] = "";

		if (!rule->require_ticket && !rule->n_checks)
			continue;
		if (!any)
			printf("rules that want a ticket (the module's decision for %s, uid %u; quota and "
			       "the data not evaluated):\n",
			       caller->user[0] ? caller->user : "?", (unsigned)caller->uid);
		any = true;
		size_t nk = rule->all_keys ? cfg->n_keys : rule->n_keys;
		for (size_t i = 0; i < nk; i++) {
			const policy_key_t *key = &cfg->keys[rule->all_keys ? i : rule->keys[i]];
			mech_id_t m = key_first_mech(key);
			policy_decision_t d;
			if (m == MECH_UNKNOWN)
				continue;
			n_keys++;
			decide_with_ticket(cfg, caller, key, m, HASH_UNKNOWN, c, now, &d);
			if (d.allow && d.rule == rule)
				usable++;
			else if (!why[0] && d.allow)
				snprintf(why, sizeof(why), "key %s: allowed by rule %s first",
				         key->name, d.rule ? d.rule->name : "?");
			else if (!why[0])
				snprintf(why, sizeof(why), "%s: %s", policy_reason_name(d.reason),
				         d.detail);
		}
		if (usable)
			printf("  %-24s yes (%zu of %zu keys)\n", rule->name, usable, n_keys);
		else
			printf("  %-24s no: %s\n", rule->name, why[0] ? why : "no signing key");
	}
	if (!any)
		printf("no rule in the config wants a ticket\n");
}

static int ticket_verify_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 'T' },
		{ "user", required_argument, NULL, 'u' },
		{ "key", required_argument, NULL, 'k' },
		{ "mechanism", required_argument, NULL, 'm' },
		{ "hash", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *cfgpath = NULL, *user = NULL, *key_s = NULL, *mech_s = NULL, *hash_s = NULL;
	caller_t caller;
	time_t now = time(NULL), at = now;
	char err[CONFIG_ERR_MAX], detail[256], exp_s[32];
	ticket_claims_t cl;
	ticket_status_t st;
	config_t *cfg = NULL;
	char *tok = NULL;
	size_t len = 0;
	int c, rc = 2;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cfgpath = optarg; break;
		case 'u': user = optarg; break;
		case 'k': key_s = optarg; break;
		case 'm': mech_s = optarg; break;
		case 'H': hash_s = optarg; break;
		case 'T':
			if (!parse_time(optarg, now, &at)) {
				fprintf(stderr, "signgate ticket verify: bad --at '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!cfgpath || optind != argc - 1 || ((mech_s || hash_s) && !key_s)) {
		usage(stderr);
		return 2;
	}
	/* The caller the decision is made for: --user, else whoever runs this. */
	char self[32];
	snprintf(self, sizeof(self), "%u", (unsigned)getuid());
	if (caller_from_names(&caller, user ? user : self, NULL, 0, NULL) < 0) {
		fprintf(stderr, "signgate ticket verify: user '%s' is unknown on this system\n",
		        user ? user : self);
		return 2;
	}
	/* The same owner and mode checks as the module: a config it would
	 * refuse gives no answer here either. */
	cfg = config_load(cfgpath, true, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "signgate ticket verify: %s\n", err);
		return 2;
	}
	const policy_key_t *key = NULL;
	mech_id_t mech = MECH_UNKNOWN;
	hash_alg_t hash = HASH_UNKNOWN;
	if (key_s) {
		if (!(key = policy_key_by_name(cfg, key_s))) {
			fprintf(stderr, "signgate ticket verify: no key '%s' in %s\n", key_s,
			        cfgpath);
			goto out;
		}
		mech = mech_s ? mech_from_name(mech_s) : key_first_mech(key);
		if (mech == MECH_UNKNOWN) {
			fprintf(stderr, "signgate ticket verify: unknown mechanism '%s'\n",
			        mech_s ? mech_s : "");
			goto out;
		}
		hash = hash_s ? hash_from_name(hash_s) : mech_fixed_hash(mech);
		if (hash_s && hash == HASH_UNKNOWN) {
			fprintf(stderr, "signgate ticket verify: unknown hash '%s'\n", hash_s);
			goto out;
		}
	}
	tok = read_ticket_arg(argv[optind], &len);
	if (!tok)
		goto out;
	st = ticket_verify_detail(cfg, tok, len, at, &cl, detail, sizeof(detail));
	if (st == TICKET_OK)
		SG_DEBUG(SG_DBG_TICKET, "ticket verify: verified: issuer %s product %s run %s",
		         cl.issuer, cl.product, cl.run);
	else
		SG_DEBUG(SG_DBG_TICKET, "ticket verify: refused: %s: %s", ticket_status_name(st),
		         detail);
	if (st != TICKET_OK) {
		printf("refused: %s: %s\n", ticket_status_name(st), detail);
		if (key) {
			/* What the module makes of a ticket that was presented but
			 * did not verify (enforce.c decide_use): as if none, and a
			 * rule that wants one says ticket-invalid. */
			policy_decision_t d;
			decide_with_ticket(cfg, &caller, key, mech, hash, NULL, at, &d);
			if (!d.allow && d.reason == REASON_TICKET_MISSING) {
				d.reason = REASON_TICKET_INVALID;
				snprintf(d.detail, sizeof(d.detail), "%s", ticket_status_name(st));
			}
			print_decision(key, mech, &d);
		}
		rc = 1;
		goto out;
	}
	format_time(cl.exp, exp_s, sizeof(exp_s));
	printf("accepted: issuer=%s product=%s run=%s checks=", cl.issuer, cl.product, cl.run);
	print_checks(stdout, &cl);
	printf(" exp=%s\n", exp_s);
	printf("  jti=%s pipeline=%s iat=%lld age=%llds expires-in=%llds", cl.jti,
	       cl.pipeline[0] ? cl.pipeline : "-", (long long)cl.iat, (long long)(at - cl.iat),
	       (long long)(cl.exp - at));
	if (cl.max_uses)
		printf(" max_uses=%u", cl.max_uses);
	printf("\n  aud=");
	for (size_t i = 0; i < cl.n_aud; i++)
		printf("%s%s", i ? "," : "", cl.aud[i]);
	printf("%s artifacts=%zu\n", cl.n_aud ? "" : "(any)", cl.n_digests);
	for (size_t i = 0; i < cl.n_digests; i++) {
		char h[CODEC_HEX_SIZE(32)];
		codec_hex_encode(h, sizeof h, cl.digests[i], 32);
		printf("    sha256:%s\n", h);
	}
	print_rules(cfg, &caller, &cl, at);
	rc = 0;
	if (key) {
		policy_decision_t d;
		decide_with_ticket(cfg, &caller, key, mech, hash, &cl, at, &d);
		print_decision(key, mech, &d);
		rc = d.allow ? 0 : 1;
	}
out:
	free(tok);
	config_free(cfg);
	return rc;
}

/* --- show ------------------------------------------------------------------ */

static int ticket_show_cmd(int argc, char **argv)
{
	char *tok, *hjson = NULL, *pjson = NULL, detail[256], t1[32], t2[32], t3[32];
	ticket_claims_t cl;
	ticket_status_t st;
	size_t len = 0;

	if (argc != 2 || !strcmp(argv[1], "--help")) {
		usage(argc == 2 ? stdout : stderr);
		return argc == 2 ? 0 : 2;
	}
	tok = read_ticket_arg(argv[1], &len);
	if (!tok)
		return 2;
	st = ticket_decode_unverified(tok, len, &hjson, &pjson, &cl, detail, sizeof(detail));
	free(tok);
	printf("UNVERIFIED: decoded without checking the signature or the issuer; "
	       "use 'signgate ticket verify'\n");
	if (hjson)
		printf("header: %s\n", hjson);
	if (pjson)
		printf("claims: %s\n", pjson);
	/* The signature is never printed: it is what makes the ticket usable. */
	printf("signature: (not shown)\n");
	if (st == TICKET_OK) {
		format_time(cl.iat, t1, sizeof(t1));
		format_time(cl.nbf, t2, sizeof(t2));
		format_time(cl.exp, t3, sizeof(t3));
		printf("times: iat=%s nbf=%s exp=%s\n", t1, t2, t3);
	} else {
		printf("%s: %s\n", ticket_status_name(st), detail);
	}
	free(hjson);
	free(pjson);
	return st == TICKET_OK ? 0 : 1;
}

int cmd_ticket(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "keygen"))
		return ticket_keygen(argc - 1, argv + 1);
	if (!strcmp(argv[1], "issue"))
		return ticket_issue_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return ticket_verify_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "show"))
		return ticket_show_cmd(argc - 1, argv + 1);
	fprintf(stderr, "signgate ticket: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

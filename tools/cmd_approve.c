/* signgate approve / signgate approval: the two-person rule (issue 16).
 *
 *   signgate approve --key KEY --approver NAME --product P --run R
 *          [--artifact FILE]... [--digest sha256:HEX]... [--ticket T|@FILE]
 *          [--ttl 24h] [--at TIME] [--out FILE]
 *   signgate approval bundle [--ticket T|@FILE] APPROVAL_FILE...
 *   signgate approval verify --config C [--at TIME] [--user USER] FILE...
 *
 * approve signs with `ssh-keygen -Y sign -n signgate-approval` when KEY is
 * an OpenSSH private key (the approver's own SSH key, agent and passphrase
 * prompts as ssh-keygen does them), or with OpenSSL when KEY is a PEM
 * private key (Ed25519, EC P-256).  Both give the same SSHSIG format.
 *
 * verify answers with the module's own code (approval_verify and
 * policy_approvals_count): what each approval proves, and for which rules
 * the set is enough.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "approval.h"
#include "caller.h"
#include "commands.h"
#include "config.h"
#include "policy.h"
#include "ticket.h"
#include "codec.h"

#define FILE_MAX (BUNDLE_MAX_LEN + 16)

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	char *buf;
	size_t n;
	if (!f)
		return NULL;
	buf = malloc(FILE_MAX + 1);
	n = buf ? fread(buf, 1, FILE_MAX, f) : 0;
	if (f != stdin)
		fclose(f);
	if (!buf || n >= FILE_MAX) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* A ticket argument: the ticket, or @FILE. */
static char *ticket_arg(const char *s)
{
	size_t n;
	char *t = s[0] == '@' ? read_file(s + 1, &n) : strdup(s);
	if (!t)
		return NULL;
	n = strlen(t);
	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' '))
		t[--n] = '\0';
	return t;
}

static bool parse_ttl(const char *s, int64_t *out)
{
	uint32_t v;
	if (!config_parse_duration(s, &v))
		return false;
	*out = v;
	return true;
}

/* now, @EPOCH, +DURATION, -DURATION, or RFC 3339. */
static bool parse_at(const char *s, time_t *out)
{
	time_t now = time(NULL);
	int64_t d;
	if (!strcmp(s, "now")) {
		*out = now;
		return true;
	}
	if ((s[0] == '+' || s[0] == '-') && parse_ttl(s + 1, &d)) {
		*out = s[0] == '+' ? now + (time_t)d : now - (time_t)d;
		return true;
	}
	if (s[0] == '@') {
		char *end;
		long long v = strtoll(s + 1, &end, 10);
		if (end == s + 1 || *end || v < 0)
			return false;
		*out = (time_t)v;
		return true;
	}
	return config_parse_rfc3339(s, out);
}

static bool sha256_file(const char *path, unsigned char out[32])
{
	FILE *f = fopen(path, "re");
	unsigned char buf[65536];
	size_t n;
	EVP_MD_CTX *c;
	bool ok;
	if (!f)
		return false;
	c = EVP_MD_CTX_new();
	ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL);
	while (ok && (n = fread(buf, 1, sizeof buf, f)) > 0)
		ok = EVP_DigestUpdate(c, buf, n);
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(c, out, NULL);
	EVP_MD_CTX_free(c);
	fclose(f);
	return ok;
}

static bool parse_digest(const char *s, unsigned char out[32])
{
	size_t n;
	return !strncmp(s, "sha256:", 7) && strlen(s) == 71 &&
	       codec_hex_decode(s + 7, 64, CODEC_HEX_UPPER, out, 32, &n);
}

/* ssh-keygen -Y sign over the statement; returns the approval or NULL. */
static char *sign_with_ssh(const char *key, const char *statement)
{
	char dir[] = "/tmp/signgate-approve.XXXXXX", msg[64], sig[80];
	char *out = NULL, *armor = NULL;
	size_t al = 0;
	int fd, st;
	pid_t pid;
	if (!mkdtemp(dir))
		return NULL;
	snprintf(msg, sizeof msg, "%s/statement", dir);
	snprintf(sig, sizeof sig, "%s/statement.sig", dir);
	fd = open(msg, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, statement, strlen(statement)) != (ssize_t)strlen(statement)) {
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	pid = fork();
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, 1); /* stdout is the approval's; stderr stays for prompts */
		execlp("ssh-keygen", "ssh-keygen", "-q", "-Y", "sign", "-f", key, "-n",
		       APPROVAL_NAMESPACE, msg, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "signgate approve: ssh-keygen -Y sign failed\n");
		goto out;
	}
	armor = read_file(sig, &al);
	if (!armor)
		goto out;
	out = malloc(strlen(statement) + al + 1);
	if (out) {
		strcpy(out, statement);
		strcat(out, armor);
	}
out:
	free(armor);
	unlink(sig);
	unlink(msg);
	rmdir(dir);
	return out;
}

static int approve_usage(FILE *f)
{
	fprintf(f, "usage: signgate approve --key KEY --approver NAME --product P --run R\n"
	           "         [--artifact FILE]... [--digest sha256:HEX]... [--ticket T|@FILE]\n"
	           "         [--ttl 24h] [--at TIME] [--out FILE]\n"
	           "KEY: an OpenSSH private key (signed with ssh-keygen -Y sign) or a PEM\n"
	           "Ed25519 / EC P-256 private key.  Prints the approval (or writes --out).\n");
	return 2;
}

int cmd_approve(int argc, char **argv)
{
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
		                              { "approver", required_argument, NULL, 'a' },
		                              { "product", required_argument, NULL, 'p' },
		                              { "run", required_argument, NULL, 'r' },
		                              { "artifact", required_argument, NULL, 'f' },
		                              { "digest", required_argument, NULL, 'd' },
		                              { "ticket", required_argument, NULL, 't' },
		                              { "ttl", required_argument, NULL, 'l' },
		                              { "at", required_argument, NULL, 'A' },
		                              { "out", required_argument, NULL, 'o' },
		                              { "help", no_argument, NULL, 'h' },
		                              { 0 } };
	approval_t a = { 0 };
	const char *key = NULL, *outp = NULL;
	int64_t ttl = 24 * 3600;
	time_t at = time(NULL);
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'a': snprintf(a.approver, sizeof a.approver, "%s", optarg); break;
		case 'p': snprintf(a.product, sizeof a.product, "%s", optarg); break;
		case 'r': snprintf(a.run, sizeof a.run, "%s", optarg); break;
		case 'f':
		case 'd':
			if (a.n_digests >= APPROVAL_MAX_DIGESTS) {
				fprintf(stderr, "signgate approve: at most %d artifacts\n",
				        APPROVAL_MAX_DIGESTS);
				return 2;
			}
			if (c == 'f' ? !sha256_file(optarg, a.digests[a.n_digests])
			             : !parse_digest(optarg, a.digests[a.n_digests])) {
				fprintf(stderr, "signgate approve: %s: %s\n", optarg,
				        c == 'f' ? "cannot read" : "not sha256:<64 hex>");
				return 2;
			}
			a.n_digests++;
			break;
		case 't': {
			char *t = ticket_arg(optarg), *hj = NULL, *pj = NULL;
			ticket_claims_t cl;
			if (!t || ticket_decode_unverified(t, strlen(t), &hj, &pj, &cl, NULL, 0) !=
			                  TICKET_OK) {
				fprintf(stderr, "signgate approve: --ticket is not a ticket\n");
				free(t);
				free(hj);
				free(pj);
				return 2;
			}
			snprintf(a.ticket, sizeof a.ticket, "%s", cl.jti);
			free(t);
			free(hj);
			free(pj);
			break;
		}
		case 'l':
			if (!parse_ttl(optarg, &ttl) || ttl <= 0) {
				fprintf(stderr,
				        "signgate approve: --ttl: not a duration (30m, 24h, 2d)\n");
				return 2;
			}
			break;
		case 'A':
			if (!parse_at(optarg, &at)) {
				fprintf(stderr, "signgate approve: --at: not a time\n");
				return 2;
			}
			break;
		case 'o': outp = optarg; break;
		case 'h': approve_usage(stdout); return 0;
		default: return approve_usage(stderr);
		}
	}
	if (!key || !a.approver[0] || !a.product[0] || !a.run[0] || optind != argc)
		return approve_usage(stderr);
	a.iat = (int64_t)at;
	a.exp = (int64_t)at + ttl;
	unsigned char nonce[16];
	if (RAND_bytes(nonce, sizeof nonce) != 1)
		return 2;
	codec_hex_encode(a.nonce, sizeof a.nonce, nonce, sizeof nonce);
	char *statement = approval_statement(&a);
	if (!statement) {
		fprintf(stderr,
		        "signgate approve: approver, product, run and ticket must be names of "
		        "letters, digits and ._@+-:/ (at most 63)\n");
		return 2;
	}
	char *approval = NULL;
	size_t kl = 0;
	char *ktext = read_file(key, &kl);
	if (!ktext) {
		fprintf(stderr, "signgate approve: cannot read %s\n", key);
		free(statement);
		return 2;
	}
	if (strstr(ktext, "-----BEGIN OPENSSH PRIVATE KEY-----")) {
		approval = sign_with_ssh(key, statement);
	} else {
		BIO *b = BIO_new_mem_buf(ktext, (int)kl);
		EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		if (!pk)
			fprintf(stderr,
			        "signgate approve: %s is neither an OpenSSH nor a PEM private key\n",
			        key);
		else if (!(approval = approval_sign_pem(pk, statement)))
			fprintf(stderr,
			        "signgate approve: only Ed25519 and EC P-256 PEM keys can sign\n");
		EVP_PKEY_free(pk);
	}
	OPENSSL_cleanse(ktext, kl);
	free(ktext);
	free(statement);
	if (!approval)
		return 1;
	FILE *o = outp ? fopen(outp, "we") : stdout;
	int rc = o && fputs(approval, o) >= 0 ? 0 : 2;
	if (o && o != stdout && fclose(o) != 0)
		rc = 2;
	free(approval);
	return rc;
}

/* --- signgate approval ------------------------------------------------- */

static int approval_usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate approval bundle [--ticket T|@FILE] APPROVAL_FILE...\n"
	        "       signgate approval verify --config C [--at TIME] [--user USER] [--ticket T|@FILE]\n"
	        "              APPROVAL_FILE|BUNDLE_FILE...\n"
	        "Exit: 0 ok (verify: every approval verified), 1 refused, 2 usage or error.\n");
	return 2;
}

static int approval_bundle(int argc, char **argv)
{
	char *ticket = NULL, *texts[BUNDLE_MAX_APPROVALS];
	size_t lens[BUNDLE_MAX_APPROVALS], n = 0;
	int rc = 2;
	optind = 1;
	if (argc > 2 && !strcmp(argv[1], "--ticket")) {
		if (!(ticket = ticket_arg(argv[2])) || !ticket_looks_like(ticket, strlen(ticket))) {
			fprintf(stderr, "signgate approval bundle: --ticket is not a ticket\n");
			free(ticket);
			return 2;
		}
		argv += 2;
		argc -= 2;
	}
	for (int i = 1; i < argc; i++) {
		if (n >= BUNDLE_MAX_APPROVALS) {
			fprintf(stderr, "signgate approval bundle: at most %d approvals\n",
			        BUNDLE_MAX_APPROVALS);
			goto out;
		}
		if (!(texts[n] = read_file(argv[i], &lens[n])) || lens[n] > APPROVAL_MAX_LEN) {
			fprintf(stderr, "signgate approval bundle: %s: cannot read or too long\n",
			        argv[i]);
			free(texts[n]);
			goto out;
		}
		n++;
	}
	if (!ticket && !n)
		return approval_usage(stderr);
	char *b = bundle_encode(ticket, (const char *const *)texts, lens, n);
	if (b) {
		printf("%s\n", b);
		free(b);
		rc = 0;
	}
out:
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(ticket);
	return rc;
}

static void fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "@%lld", (long long)t);
}

static int approval_verify_cmd(int argc, char **argv)
{
	static const struct option opts[] = { { "config", required_argument, NULL, 'c' },
		                              { "at", required_argument, NULL, 'A' },
		                              { "user", required_argument, NULL, 'u' },
		                              { "ticket", required_argument, NULL, 't' },
		                              { 0 } };
	const char *cpath = NULL, *user = NULL, *ticket_s = NULL;
	time_t at = time(NULL);
	char err[CONFIG_ERR_MAX];
	int c, bad = 0;
	approval_t list[BUNDLE_MAX_APPROVALS];
	size_t n = 0;
	ticket_claims_t tk;
	bool have_ticket = false;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c': cpath = optarg; break;
		case 'u': user = optarg; break;
		case 't': ticket_s = optarg; break;
		case 'A':
			if (!parse_at(optarg, &at)) {
				fprintf(stderr, "signgate approval verify: --at: not a time\n");
				return 2;
			}
			break;
		default: return approval_usage(stderr);
		}
	}
	if (!cpath || optind >= argc)
		return approval_usage(stderr);
	config_t *cfg = config_load(cpath, false, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	if (ticket_s) {
		char *t = ticket_arg(ticket_s), detail[200];
		ticket_status_t ts =
		        t ? ticket_verify_detail(cfg, t, strlen(t), at, &tk, detail, sizeof detail)
		          : TICKET_MALFORMED;
		printf("ticket %s%s%s\n", ts == TICKET_OK ? "accepted" : ticket_status_name(ts),
		       ts == TICKET_OK || !t ? "" : ": ", ts == TICKET_OK || !t ? "" : detail);
		have_ticket = ts == TICKET_OK;
		bad += !have_ticket;
		free(t);
	}
	for (int i = optind; i < argc; i++) {
		size_t len;
		char *text = read_file(argv[i], &len), detail[200];
		bundle_t b;
		if (!text) {
			fprintf(stderr, "signgate approval verify: %s: cannot read\n", argv[i]);
			config_free(cfg);
			return 2;
		}
		while (len && (text[len - 1] == '\n' || text[len - 1] == '\r') &&
		       bundle_looks_like(text, len))
			text[--len] = '\0';
		const char *parts[BUNDLE_MAX_APPROVALS];
		size_t plen[BUNDLE_MAX_APPROVALS], np = 0;
		memset(&b, 0, sizeof b);
		if (bundle_looks_like(text, len)) {
			if (!bundle_parse(text, len, &b, detail, sizeof detail)) {
				printf("%s: bundle refused: %s\n", argv[i], detail);
				bad++;
				free(text);
				continue;
			}
			if (b.ticket) {
				ticket_status_t ts =
				        ticket_verify_detail(cfg, b.ticket, strlen(b.ticket), at,
				                             &tk, detail, sizeof detail);
				printf("%s: ticket %s%s%s\n", argv[i],
				       ts == TICKET_OK ? "accepted" : ticket_status_name(ts),
				       ts == TICKET_OK ? "" : ": ", ts == TICKET_OK ? "" : detail);
				if (ts == TICKET_OK)
					have_ticket = true;
				else
					bad++;
			}
			for (size_t j = 0; j < b.n_approvals; j++) {
				parts[np] = b.approvals[j];
				plen[np++] = b.approval_len[j];
			}
		} else {
			parts[np] = text;
			plen[np++] = len;
		}
		for (size_t j = 0; j < np; j++) {
			approval_t a;
			approval_status_t st = approval_verify(cfg, parts[j], plen[j], at, &a,
			                                       detail, sizeof detail);
			if (st != APPROVAL_OK) {
				printf("%s: approval %zu refused: %s: %s\n", argv[i], j + 1,
				       approval_status_name(st), detail);
				bad++;
				continue;
			}
			char t1[32], t2[32];
			fmt_time(a.iat, t1, sizeof t1);
			fmt_time(a.exp, t2, sizeof t2);
			printf("%s: approval %zu verified: approver=%s product=%s run=%s artifacts=%zu%s%s "
			       "issued=%s expires=%s\n",
			       argv[i], j + 1, a.approver, a.product, a.run, a.n_digests,
			       a.ticket[0] ? " ticket=" : "", a.ticket, t1, t2);
			if (n < BUNDLE_MAX_APPROVALS)
				list[n++] = a;
		}
		bundle_free(&b);
		free(text);
	}
	caller_t who = { .known = true };
	if (user)
		snprintf(who.user, sizeof who.user, "%s", user);
	for (size_t r = 0; r < cfg->n_rules; r++) {
		const policy_rule_t *rule = &cfg->rules[r];
		char names[160];
		if (!rule->approvals_count)
			continue;
		policy_request_t req = { .caller = &who,
			                 .now = at,
			                 .ticket = have_ticket ? &tk : NULL,
			                 .approvals = list,
			                 .n_approvals = n };
		/* Per key of the rule (products differ); none: as if any. */
		size_t nk = rule->n_keys ? rule->n_keys : 1;
		for (size_t k = 0; k < nk; k++) {
			req.key = rule->n_keys ? &cfg->keys[rule->keys[k]] : NULL;
			unsigned got = policy_approvals_count(cfg, rule, &req, names, sizeof names);
			printf("rule %s%s%s: %u of %u approvals%s%s%s -> %s\n", rule->name,
			       req.key ? " key " : "", req.key ? req.key->name : "", got,
			       rule->approvals_count, got ? " (" : "", got ? names : "",
			       got ? ")" : "",
			       got >= rule->approvals_count ? "satisfied" : "not enough");
		}
	}
	if (!user)
		printf("(the requester is not excluded: name them with --user USER)\n");
	config_free(cfg);
	return bad ? 1 : 0;
}

int cmd_approval(int argc, char **argv)
{
	if (argc < 2)
		return approval_usage(stderr);
	if (!strcmp(argv[1], "bundle"))
		return approval_bundle(argc - 1, argv + 1);
	if (!strcmp(argv[1], "verify"))
		return approval_verify_cmd(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		approval_usage(stdout);
		return 0;
	}
	return approval_usage(stderr);
}

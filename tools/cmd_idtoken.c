/* signgate id-token: CI identity tokens, seen as the module sees them.
 *
 *   explain [--config C] [--at TIME] TOKEN|-|@FILE
 *       verify a token with the config's identity providers (the module's
 *       own code: idtoken_verify), print its claims and, for every claim
 *       role, whether it matches and if not which claim does not.  Replay
 *       counting is not touched (nothing is written to the state store).
 *   jwks ISSUER --out FILE [--ca-file F] [--timeout S]
 *       fetch ISSUER/.well-known/openid-configuration and the JWKS its
 *       jwks_uri names, over HTTPS only (libcurl), check that it parses as
 *       the module would, and replace FILE atomically (same directory,
 *       mode 0644, rename).  For a timer on hosts that may reach the
 *       issuer; signing never depends on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#ifdef HAVE_LIBCURL
#include <curl/curl.h>
#endif

#include "caller.h"
#include "identify.h"
#include "commands.h"
#include "config.h"
#include "idtoken.h"
#include "policy.h"
#include "ticket.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate id-token explain [--config C] [--at TIME] [--user U] TOKEN|-|@FILE\n"
	        "       signgate id-token jwks ISSUER --out FILE [--ca-file F] [--timeout S]\n"
	        "explain: verify the token, print its claims and which claim roles match.\n"
	        "         Exit status 0 when it verifies and some role matches, 1 otherwise.\n"
	        "jwks:    fetch the issuer's JWKS over HTTPS (OIDC discovery) and write FILE\n"
	        "         atomically; --ca-file trusts that CA bundle instead of the system's.\n");
}

/* The token from the argument: itself, "-" (stdin) or "@FILE". */
static char *read_token(const char *arg, size_t *len)
{
	char *buf = calloc(1, TICKET_MAX_LEN + 2);
	size_t n = 0;

	if (!buf)
		return NULL;
	if (!strcmp(arg, "-") || arg[0] == '@') {
		FILE *f = !strcmp(arg, "-") ? stdin : fopen(arg + 1, "re");
		if (!f) {
			fprintf(stderr, "signgate id-token: cannot read %s: %s\n", arg + 1,
			        strerror(errno));
			free(buf);
			return NULL;
		}
		n = fread(buf, 1, TICKET_MAX_LEN + 1, f);
		if (f != stdin)
			fclose(f);
	} else {
		n = strnlen(arg, TICKET_MAX_LEN + 1);
		memcpy(buf, arg, n);
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "at", required_argument, NULL, 't' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *at = NULL, *user = NULL;
	static idtoken_claims_t c;
	char err[CONFIG_ERR_MAX], detail[256];
	time_t now = time(NULL);
	int opt, rc = 1;
	size_t len = 0;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 't': at = optarg; break;
		case 'u': user = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (at && !config_parse_rfc3339(at, &now)) {
		fprintf(stderr, "signgate id-token: --at '%s' is not an RFC 3339 date-time\n", at);
		return 2;
	}
	config_t *cfg = config_load(conf ? conf : config_path_choose(NULL), false, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	char *tok = read_token(argv[optind], &len);
	if (!tok) {
		config_free(cfg);
		return 2;
	}
	idtoken_status_t st = idtoken_verify(cfg, tok, len, now, &c, detail, sizeof detail);
	memset(tok, 0, len);
	free(tok);
	printf("token:     %s (%s)\n", st == IDTOKEN_OK ? "verified" : idtoken_status_name(st),
	       detail);
	if (c.jti[0]) {
		printf("provider:  %s\nissuer:    %s\nkid:       %s (%s)\njti:       %s\n",
		       c.provider, c.issuer, c.kid, c.alg, c.jti);
		printf("issued:    %lld, expires %lld (in %lld s), lifetime %lld s\n",
		       (long long)c.iat, (long long)c.exp, (long long)(c.exp - (int64_t)now),
		       (long long)(c.exp - c.iat));
		printf("claims:\n");
		for (int i = 0; i < IDC_COUNT; i++) {
			const char *v = idtoken_claim(&c, (idtoken_claim_t)i);
			if (v)
				printf("  %-22s %s%s\n", idtoken_claim_name((idtoken_claim_t)i), v,
				       i >= IDC_MATCHABLE_COUNT ? "   (audit only)" : "");
		}
	}
	caller_t caller = { .known = true };
	if (user && caller_from_names(&caller, user, NULL, 0, NULL) < 0) {
		fprintf(stderr, "signgate id-token: user '%s' is unknown on this system\n", user);
		config_free(cfg);
		return 2;
	}
	printf("roles:\n");
	size_t n_claim_roles = 0;
	for (size_t i = 0; i < cfg->n_roles; i++) {
		const policy_role_t *r = &cfg->roles[i];
		char why[200];
		if (!r->idp)
			continue;
		n_claim_roles++;
		/* Without --user only the token's side is judged. */
		policy_role_t claims_only = *r;
		bool os_part = !r->any_identity || r->n_programs;
		if (!user) {
			claims_only.any_identity = true;
			claims_only.n_programs = 0;
		}
		why[0] = '\0';
		bool ok = st == IDTOKEN_OK &&
		          policy_role_matches_token(cfg, user ? r : &claims_only, &caller, NULL, &c,
		                                    now, why, sizeof why);
		if (st != IDTOKEN_OK)
			snprintf(why, sizeof why, "the token did not verify (%s)",
			         idtoken_status_name(st));
		else if (ok && !user && os_part)
			snprintf(why, sizeof why,
			         "claims match; the caller must also be one of the "
			         "role's users/groups/programs (try --user)");
		printf("  %-20s %s%s%s\n", r->name, ok ? "match" : "no match",
		       ok && !why[0] ? "" : ": ", ok && !why[0] ? "" : why);
		if (ok)
			rc = 0;
		for (size_t j = 0; j < cfg->n_rules && ok; j++)
			for (size_t k = 0; k < cfg->rules[j].n_roles; k++)
				if (cfg->rules[j].roles[k] == i)
					printf("  %-20s   rule %s\n", "", cfg->rules[j].name);
	}
	if (!n_claim_roles)
		printf("  (the config has no claim roles)\n");
	config_free(cfg);
	return rc;
}

#ifdef HAVE_LIBCURL
typedef struct body {
	char *p;
	size_t n;
	bool too_big;
} body_t;

static size_t body_write(char *data, size_t size, size_t nmemb, void *ctx)
{
	body_t *b = ctx;
	size_t add = size * nmemb;
	if (b->n + add > IDTOKEN_JWKS_MAX_BYTES) {
		b->too_big = true;
		return 0;
	}
	char *np = realloc(b->p, b->n + add + 1);
	if (!np)
		return 0;
	b->p = np;
	memcpy(b->p + b->n, data, add);
	b->n += add;
	b->p[b->n] = '\0';
	return add;
}

/* GET an https URL into b; 0 ok. */
static int fetch(const char *url, const char *ca_file, long timeout, body_t *b)
{
	CURL *h = curl_easy_init();
	char errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;

	memset(b, 0, sizeof(*b));
	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_URL, url);
	/* https only, redirects too; certificates and names verified. */
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca_file);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "signgate-id-token/" SIGNGATE_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	rc = curl_easy_perform(h);
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK || status != 200) {
		fprintf(stderr, "signgate id-token: GET %s: %s\n", url,
		        b->too_big       ? "response too large"
		        : rc != CURLE_OK ? (errbuf[0] ? errbuf : curl_easy_strerror(rc))
		                         : "HTTP status not 200");
		if (rc == CURLE_OK)
			fprintf(stderr, "signgate id-token: HTTP status %ld\n", status);
		free(b->p);
		b->p = NULL;
		return -1;
	}
	return 0;
}

static int write_atomic(const char *path, const char *data, size_t n)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 32];
	int fd;

	snprintf(dir, sizeof dir, "%s", path);
	snprintf(tmp, sizeof tmp, "%s/.jwks.XXXXXX", dirname(dir));
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, "signgate id-token: cannot create a file next to %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) != 0 || write(fd, data, n) != (ssize_t)n || fsync(fd) != 0 ||
	    close(fd) != 0) {
		fprintf(stderr, "signgate id-token: cannot write %s: %s\n", tmp, strerror(errno));
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "signgate id-token: cannot replace %s: %s\n", path,
		        strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}
#endif

static int jwks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "ca-file", required_argument, NULL, 'C' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *ca = NULL;
	long timeout = 20;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'C': ca = optarg; break;
		case 't': timeout = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc - 1 || !out || timeout < 1 || timeout > 600) {
		usage(stderr);
		return 2;
	}
	const char *issuer = argv[optind];
	if (strncmp(issuer, "https://", 8) != 0) {
		fprintf(stderr, "signgate id-token: the issuer must be an https:// URL\n");
		return 2;
	}
#ifndef HAVE_LIBCURL
	(void)ca;
	(void)out;
	fprintf(stderr, "signgate id-token: built without libcurl (install libcurl4-openssl-dev "
	                "and rebuild)\n");
	return 2;
#else
	char url[2048];
	body_t disc, keys;
	json_error_t jerr;
	int rc = 1;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	snprintf(url, sizeof url, "%s%s.well-known/openid-configuration", issuer,
	         issuer[strlen(issuer) - 1] == '/' ? "" : "/");
	if (fetch(url, ca, timeout, &disc) != 0)
		goto out;
	json_t *d = json_loadb(disc.p, disc.n, JSON_REJECT_DUPLICATES, &jerr);
	const char *iss = json_string_value(json_object_get(d, "issuer"));
	const char *uri = json_string_value(json_object_get(d, "jwks_uri"));
	/* OIDC Discovery 4.3: the document's issuer is the issuer asked for. */
	if (!iss || strcmp(iss, issuer) != 0) {
		fprintf(stderr,
		        "signgate id-token: discovery document names issuer '%s', not '%s'\n",
		        iss ? iss : "(none)", issuer);
		json_decref(d);
		free(disc.p);
		goto out;
	}
	if (!uri || strncmp(uri, "https://", 8) != 0) {
		fprintf(stderr, "signgate id-token: discovery document has no https jwks_uri\n");
		json_decref(d);
		free(disc.p);
		goto out;
	}
	snprintf(url, sizeof url, "%s", uri);
	json_decref(d);
	free(disc.p);
	if (fetch(url, ca, timeout, &keys) != 0)
		goto out;
	idtoken_jwk_t *k = NULL;
	size_t nk = 0;
	char why[200];
	if (idtoken_jwks_parse(keys.p, keys.n, &k, &nk, why, sizeof why) != 0) {
		fprintf(stderr, "signgate id-token: %s: %s (file left as it was)\n", url, why);
		free(keys.p);
		goto out;
	}
	if (write_atomic(out, keys.p, keys.n) == 0) {
		printf("%s: %zu signing key%s from %s:", out, nk, nk == 1 ? "" : "s", url);
		for (size_t i = 0; i < nk; i++)
			printf(" %s (%s)", k[i].kid, idtoken_alg_name(k[i].alg));
		printf("\n");
		rc = 0;
	}
	idtoken_jwks_free(k, nk);
	free(keys.p);
out:
	curl_global_cleanup();
	return rc;
#endif
}

int cmd_id_token(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "explain"))
		return explain(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "jwks"))
		return jwks(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return 2;
}

/* signgate credential: make (and check) role credential hashes.
 *
 * The secret is read from standard input, never from the command line,
 * where other users could see it in the process list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "commands.h"
#include "config.h"
#include "policy.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate credential hash [--iterations N] < secret\n"
	        "       signgate credential verify HASH < secret\n"
	        "  hash:   print \"pbkdf2-sha256$ITER$SALT$HASH\" for a role's credential setting\n"
	        "          (default %d iterations; the first line of stdin is the secret)\n"
	        "  verify: exit 0 when the secret matches HASH, 1 otherwise\n",
	        POLICY_CREDENTIAL_ITER);
}

/* One line from stdin, without its newline. */
static int read_secret(char *buf, size_t len)
{
	if (!fgets(buf, (int)len, stdin))
		return -1;
	size_t n = strlen(buf);
	if (n == len - 1 && buf[n - 1] != '\n') {
		fprintf(stderr, "signgate credential: secret too long (at most %zu bytes)\n",
		        len - 2);
		return -1;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (!n) {
		fprintf(stderr, "signgate credential: empty secret\n");
		return -1;
	}
	return 0;
}

int cmd_credential(int argc, char **argv)
{
	char secret[1026];
	int rc = 2;
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "hash")) {
		unsigned long iter = POLICY_CREDENTIAL_ITER;
		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "--iterations") && i + 1 < argc) {
				char *end;
				iter = strtoul(argv[++i], &end, 10);
				if (*end || iter < 1000 || iter > 100000000) {
					fprintf(stderr,
					        "signgate credential: --iterations must be 1000..100000000\n");
					return 2;
				}
			} else {
				usage(stderr);
				return 2;
			}
		}
		if (read_secret(secret, sizeof secret) < 0)
			goto out;
		char out[256];
		if (policy_credential_hash_iter(secret, (uint32_t)iter, out, sizeof out) < 0) {
			fprintf(stderr, "signgate credential: hashing failed\n");
			rc = 1;
			goto out;
		}
		printf("%s\n", out);
		rc = 0;
	} else if (!strcmp(argv[1], "verify") && argc == 3) {
		if (!policy_credential_parse(argv[2], NULL, NULL, NULL, NULL, NULL)) {
			fprintf(stderr,
			        "signgate credential: not a pbkdf2-sha256$ITER$SALT$HASH string\n");
			return 2;
		}
		if (read_secret(secret, sizeof secret) < 0)
			goto out;
		/* Reuse the engine's matcher through a one-role config. */
		char text[600];
		snprintf(text, sizeof text,
		         "backend = { module = \"/nonexistent\"; };\n"
		         "roles = ( { name = \"r\"; users = [ 0 ]; credential = \"%s\"; } );\n",
		         argv[2]);
		char err[CONFIG_ERR_MAX];
		config_t *cfg = config_load_string(text, "<credential>", err, sizeof err);
		if (!cfg) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		rc = policy_credential_match(cfg, NULL, secret, strlen(secret)) ? 0 : 1;
		printf("%s\n", rc == 0 ? "match" : "no match");
		config_free(cfg);
	} else {
		usage(stderr);
	}
out:
	OPENSSL_cleanse(secret, sizeof secret);
	return rc;
}

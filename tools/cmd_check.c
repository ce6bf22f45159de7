/* signgate check: validate a config as the module would load it.
 *
 * Ownership and permissions are only checked with --strict: a config is
 * usually validated before it is installed (in CI, by its author), when
 * it does not yet belong to root.  The module itself always checks them.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate check [--strict] [--quiet] CONFIG\n"
	           "  Validate CONFIG; print \"CONFIG: OK (N roles, N keys, N rules)\" or\n"
	           "  \"FILE:LINE: setting 'PATH': message\" and exit 1.\n"
	           "  --strict  also refuse insecure ownership/permissions, as the module does\n"
	           "  --quiet   no warnings (names the system does not know)\n");
}

int cmd_check(int argc, char **argv)
{
	bool strict = false, quiet = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strict"))
			strict = true;
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = true;
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "signgate check: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		} else if (!path)
			path = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	char err[CONFIG_ERR_MAX];
	config_t *cfg = config_load(path, strict, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (!quiet)
		for (size_t i = 0; i < cfg->n_roles; i++)
			for (size_t j = 0; j < cfg->roles[i].n_unresolved; j++) {
				const char *u = cfg->roles[i].unresolved[j];
				const char *colon = strchr(u, ':');
				fprintf(stderr, "%s:%d: warning: role '%s': %.*s '%s' does not exist on this system\n",
				        path, cfg->roles[i].line, cfg->roles[i].name, (int)(colon ? colon - u : 0), u,
				        colon ? colon + 1 : u);
			}
	printf("%s: OK (%zu roles, %zu keys, %zu rules)\n", path, cfg->n_roles, cfg->n_keys, cfg->n_rules);
	config_free(cfg);
	return 0;
}

/* signgate state / revoke / unrevoke: the policy state store.
 *
 *   signgate state init|migrate|status [--config C]
 *   signgate revoke KEY --reason TEXT [--config C]
 *   signgate unrevoke KEY [--config C]
 *
 * The store is the config's (`state` group or `state_dir`): the file
 * store on this host, or the PostgreSQL database all hosts share.
 */
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "state.h"

static config_t *load(const char *path, const char *cmd)
{
	char err[CONFIG_ERR_MAX];
	if (!path)
		path = config_path_choose(NULL);
	config_t *cfg = config_load(path, false, err, sizeof err);
	if (!cfg)
		fprintf(stderr, "signgate %s: %s\n", cmd, err);
	return cfg;
}

static void state_usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate state init|migrate|status [--config CONFIG]\n"
	        "  init     create the schema (version %d) in the config's PostgreSQL database\n"
	        "  migrate  bring an older schema to version %d\n"
	        "  status   connect and print the store and its schema version\n"
	        "  The file store (state_dir) needs neither init nor migrate.\n",
	        STATE_SCHEMA_VERSION, STATE_SCHEMA_VERSION);
}

int cmd_state(int argc, char **argv)
{
	const char *path = NULL, *sub = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			state_usage(stdout);
			return 0;
		} else if (!sub && argv[i][0] != '-')
			sub = argv[i];
		else {
			state_usage(stderr);
			return 2;
		}
	}
	state_admin_op_t op;
	if (!sub) {
		state_usage(stderr);
		return 2;
	} else if (!strcmp(sub, "init"))
		op = STATE_ADMIN_INIT;
	else if (!strcmp(sub, "migrate"))
		op = STATE_ADMIN_MIGRATE;
	else if (!strcmp(sub, "status"))
		op = STATE_ADMIN_STATUS;
	else {
		state_usage(stderr);
		return 2;
	}
	config_t *cfg = load(path, "state");
	if (!cfg)
		return 1;
	int rc = 0, version = 0;
	if (cfg->state.store == CONFIG_STATE_FILES) {
		printf("state store: files in %s (no schema to %s)\n", cfg->state.dir,
		       op == STATE_ADMIN_STATUS ? "check" : sub);
	} else if (state_pg_admin(cfg->state_dir, op, &version) != 0) {
		fprintf(stderr, "signgate state %s: %s\n", sub, state_error());
		rc = 1;
	} else if (op == STATE_ADMIN_STATUS) {
		printf("state store: postgresql (%s): schema version %d%s\n",
		       cfg->state.conninfo_file, version,
		       version == STATE_SCHEMA_VERSION  ? ", current"
		       : version == 0                   ? ": no schema, run `signgate state init`"
		       : version < STATE_SCHEMA_VERSION ? ": older, run `signgate state migrate`"
		                                        : ": newer than this signgate knows");
		rc = version == STATE_SCHEMA_VERSION ? 0 : 1;
	} else {
		printf("state store: postgresql (%s): schema version %d\n",
		       cfg->state.conninfo_file, version);
	}
	config_free(cfg);
	return rc;
}

static const policy_key_t *key_named(const config_t *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_keys; i++)
		if (!strcmp(cfg->keys[i].name, name))
			return &cfg->keys[i];
	return NULL;
}

static int revoke_common(int argc, char **argv, bool revoke)
{
	const char *path = NULL, *key = NULL, *reason = NULL, *cmd = revoke ? "revoke" : "unrevoke";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			path = argv[++i];
		else if (revoke && !strcmp(argv[i], "--reason") && i + 1 < argc)
			reason = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: signgate %s KEY%s [--config CONFIG]\n", cmd,
			       revoke ? " --reason TEXT" : "");
			return 0;
		} else if (!key && argv[i][0] != '-')
			key = argv[i];
		else
			key = NULL, argc = 0;
	}
	if (!key || (revoke && (!reason || !*reason))) {
		fprintf(stderr, "usage: signgate %s KEY%s [--config CONFIG]\n", cmd,
		        revoke ? " --reason TEXT" : "");
		return 2;
	}
	if (revoke && strlen(reason) > STATE_REASON_MAX) {
		fprintf(stderr, "signgate revoke: reason longer than %d bytes\n", STATE_REASON_MAX);
		return 2;
	}
	config_t *cfg = load(path, cmd);
	if (!cfg)
		return 1;
	int rc = 0;
	/* A typo must not look like a key taken out of service. */
	if (revoke && !key_named(cfg, key)) {
		fprintf(stderr, "signgate revoke: no key '%s' in %s\n", key, cfg->path);
		config_free(cfg);
		return 1;
	}
	if (revoke) {
		char by[300], host[256] = "";
		struct passwd *pw = getpwuid(getuid());
		gethostname(host, sizeof host - 1);
		snprintf(by, sizeof by, "%s@%s", pw ? pw->pw_name : "?", host);
		if (state_revoke(cfg->state_dir, key, reason, by) != 0) {
			fprintf(stderr, "signgate revoke: %s\n", state_error());
			rc = 1;
		} else {
			printf("revoked %s: every host refuses it within about %d ms\n", key,
			       STATE_REVOCATION_CACHE_MS);
		}
	} else {
		bool was = false;
		if (state_unrevoke(cfg->state_dir, key, &was) != 0) {
			fprintf(stderr, "signgate unrevoke: %s\n", state_error());
			rc = 1;
		} else {
			printf(was ? "unrevoked %s\n" : "%s was not revoked\n", key);
		}
	}
	config_free(cfg);
	return rc;
}

int cmd_revoke(int argc, char **argv)
{
	return revoke_common(argc, argv, true);
}

int cmd_unrevoke(int argc, char **argv)
{
	return revoke_common(argc, argv, false);
}

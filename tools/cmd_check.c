/* signgate check: validate a config as the module would load it.
 *
 * Ownership and permissions are only checked with --strict: a config is
 * usually validated before it is installed (in CI, by its author), when
 * it does not yet belong to root.  The module itself always checks them.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "audit.h"

#include "commands.h"
#include "config.h"
#include "state.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate check [--strict] [--quiet] [--offline] CONFIG\n"
	           "  Validate CONFIG; print \"CONFIG: OK (N roles, N keys, N rules)\" or\n"
	           "  \"FILE:LINE: setting 'PATH': message\" and exit 1.\n"
	           "  --strict  also refuse insecure ownership/permissions, as the module does\n"
	           "  --quiet   no warnings (unknown users/groups, keys without fingerprint,\n"
	           "            roles any user can enter)\n"
	           "  --offline do not connect to a PostgreSQL state store (by default its\n"
	           "            connection and schema version are checked too)\n");
}

/* Where the audit records go, as seen by this user now: a journal that
 * cannot be written refuses every signature (audit.required), a missing
 * socket loses the syslog copy. */
static void audit_warnings(const config_t *cfg, const char *path)
{
	const config_audit_t *a = &cfg->audit;
	struct stat st;
	char err[512];
	if (!a->enabled)
		return;
	if (a->socket_path) {
		const char *serr = stat(a->socket_path, &st) != 0 ? strerror(errno)
		                   : !S_ISSOCK(st.st_mode)        ? "not a socket"
		                                                  : NULL;
		if (serr)
			fprintf(stderr,
			        "%s: warning: audit.socket %s: %s: no syslog daemon listens there%s\n",
			        path, a->socket_path, serr,
			        a->journal    ? " (records go to the journal only)"
			        : a->required ? " (signatures will be refused)"
			                      : "");
	}
	if (!a->journal)
		return;
	const char *why = NULL;
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", a->journal);
	char *d = dirname(dir);
	if (stat(a->journal, &st) == 0) {
		if (!S_ISREG(st.st_mode))
			why = "not a regular file";
		else if (access(a->journal, W_OK) != 0)
			why = strerror(errno);
	} else if (errno != ENOENT) {
		why = strerror(errno);
	} else if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode)) {
		why = "its directory does not exist";
	} else if (access(d, W_OK) != 0) {
		why = "its directory is not writable by this user";
	}
	if (why)
		fprintf(stderr, "%s: warning: audit.journal %s: %s%s\n", path, a->journal, why,
		        a->required ? " (signatures will be refused)" : "");
	unsigned char key[32];
	if (a->mac_key && audit_mac_key_load(a->mac_key, key, err, sizeof(err)) != 0)
		fprintf(stderr, "%s: warning: %s\n", path, err);
	if (a->checkpoint_key) {
		void *k = audit_checkpoint_key_load(a->checkpoint_key, err, sizeof(err));
		if (!k)
			fprintf(stderr, "%s: warning: %s\n", path, err);
		EVP_PKEY_free(k);
	}
}

static bool role_has_member(const policy_role_t *r)
{
	return r->any_identity || r->n_uids || r->n_gids || r->n_user_names > r->n_unresolved;
}

/* Settings that load but can no longer (or may never) take effect, where
 * refusing them would stop a running deployment: time passes a key's
 * not_after, accounts are removed, and whether a key's token is one that
 * backend.tokens exposes depends on the token (label or serial). */
static void never_in_force(const config_t *cfg, const char *path)
{
	time_t now = time(NULL);
	for (size_t i = 0; i < cfg->n_keys; i++) {
		const policy_key_t *k = &cfg->keys[i];
		bool exposed = cfg->backend.n_tokens == 0;
		for (size_t j = 0; j < cfg->backend.n_tokens && !exposed; j++)
			exposed = !strcmp(cfg->backend.tokens[j], k->token);
		if (!exposed)
			fprintf(stderr,
			        "%s:%d: warning: key '%s': token '%s' is not in backend.tokens; "
			        "unless it is the serial or label of a token listed there, the module never "
			        "shows this key\n",
			        path, k->line, k->name, k->token);
		if (k->not_after && k->not_after <= now)
			fprintf(stderr,
			        "%s:%d: warning: key '%s' is past its not_after: it can no longer "
			        "sign\n",
			        path, k->line, k->name);
	}
	for (size_t i = 0; i < cfg->n_rules; i++) {
		const policy_rule_t *r = &cfg->rules[i];
		bool member = false, signs = r->all_keys;
		for (size_t j = 0; j < r->n_roles && !member; j++)
			member = role_has_member(&cfg->roles[r->roles[j]]);
		if (!member)
			fprintf(stderr,
			        "%s:%d: warning: rule '%s' can never apply: none of its roles has a "
			        "member that exists on this system\n",
			        path, r->line, r->name);
		for (size_t j = 0; j < r->n_keys && !signs; j++) {
			const policy_key_t *k = &cfg->keys[r->keys[j]];
			signs = !k->revoked && !(k->not_after && k->not_after <= now);
		}
		if (r->sign && !r->admin && !signs)
			fprintf(stderr,
			        "%s:%d: warning: rule '%s' can never sign: every key it names is "
			        "revoked or past its not_after\n",
			        path, r->line, r->name);
	}
}

/* Things that load but are probably not what the administrator meant. */
/* The file store, as seen by this user now: a rule with a quota (or a
 * ticket with max_uses) is refused with state-unavailable when the
 * directory is missing or not writable. */
static void state_warnings(const config_t *cfg, const char *path)
{
	bool counts = cfg->n_validators > 0;
	struct stat st;

	if (cfg->state.store == CONFIG_STATE_POSTGRESQL || !cfg->state_dir)
		return;
	for (size_t i = 0; i < cfg->n_rules; i++)
		counts |= cfg->rules[i].quota_count > 0;
	if (!counts)
		return;
	if (stat(cfg->state_dir, &st) != 0 || !S_ISDIR(st.st_mode))
		fprintf(stderr,
		        "%s: warning: state directory %s: %s: every decision that counts (quota, "
		        "ticket max_uses) will be refused as state-unavailable\n",
		        path, cfg->state_dir, errno ? strerror(errno) : "not a directory");
	else if (access(cfg->state_dir, W_OK | X_OK) != 0)
		fprintf(stderr,
		        "%s: warning: state directory %s is not writable by this user: counting "
		        "decisions are refused as state-unavailable\n",
		        path, cfg->state_dir);
}

static void warnings(const config_t *cfg, const char *path)
{
	audit_warnings(cfg, path);
	state_warnings(cfg, path);
	for (size_t i = 0; i < cfg->n_roles; i++) {
		const policy_role_t *r = &cfg->roles[i];
		for (size_t j = 0; j < r->n_unresolved; j++) {
			const char *u = r->unresolved[j];
			const char *colon = strchr(u, ':');
			fprintf(stderr,
			        "%s:%d: warning: role '%s': %.*s '%s' does not exist on this system\n",
			        path, r->line, r->name, (int)(colon ? colon - u : 0), u,
			        colon ? colon + 1 : u);
		}
		if (!role_has_member(r))
			fprintf(stderr,
			        "%s:%d: warning: role '%s' has no member that exists on this system\n",
			        path, r->line, r->name);
		if (r->any_identity && !r->credential)
			for (size_t j = 0; j < r->n_programs; j++)
				if (!r->programs[j].has_sha256)
					fprintf(stderr,
					        "%s:%d: warning: role '%s' admits any user running %s; "
					        "add users/groups or the program's sha256\n",
					        path, r->line, r->name, r->programs[j].path);
	}
	for (size_t i = 0; i < cfg->n_keys; i++)
		if (!cfg->keys[i].has_fingerprint)
			fprintf(stderr,
			        "%s:%d: warning: key '%s' has no fingerprint: an object with its %s "
			        "would be taken for it\n",
			        path, cfg->keys[i].line, cfg->keys[i].name,
			        cfg->keys[i].has_id ? "token and ID (and label)"
			                            : "token and label");
	never_in_force(cfg, path);
}

int cmd_check(int argc, char **argv)
{
	bool strict = false, quiet = false, offline = false;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--strict"))
			strict = true;
		else if (!strcmp(argv[i], "--quiet") || !strcmp(argv[i], "-q"))
			quiet = true;
		else if (!strcmp(argv[i], "--offline"))
			offline = true;
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
		warnings(cfg, path);
	printf("%s: OK (%zu roles, %zu keys, %zu rules)\n", path, cfg->n_roles, cfg->n_keys,
	       cfg->n_rules);
	int rc = 0;
	if (cfg->state.store == CONFIG_STATE_POSTGRESQL && !offline) {
		/* The shared store is part of whether this config can sign. */
		int version = 0;
		if (state_pg_admin(cfg->state_dir, STATE_ADMIN_STATUS, &version) != 0) {
			fprintf(stderr, "%s: state store: %s\n", path, state_error());
			rc = 1;
		} else if (version != STATE_SCHEMA_VERSION) {
			fprintf(stderr,
			        "%s: state store: schema version %d, this signgate needs %d (%s)\n",
			        path, version, STATE_SCHEMA_VERSION,
			        version == 0                     ? "signgate state init"
			        : version < STATE_SCHEMA_VERSION ? "signgate state migrate"
			                                         : "upgrade signgate");
			rc = 1;
		} else {
			printf("%s: state store: postgresql, schema version %d\n", path, version);
		}
	}
	config_free(cfg);
	return rc;
}

/* signgate doctor: the deployment as the module will see it.
 *
 * Each check prints one line: ok, warn or FAIL, what was checked, and for
 * anything but ok what to do about it.  FAIL means signing will fail or
 * can go around the gate; exit status 1 when any check fails, 0
 * otherwise, 2 on a usage error.  The checks read files and the token the
 * way the module does (the same loader, the same PIN file, the same key
 * matching as `signgate inventory`); nothing is changed.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "commands.h"
#include "config.h"
#include "inventory.h"
#include "state.h"

#define EXIT_USAGE 2

typedef enum status { ST_OK = 0, ST_WARN, ST_FAIL } status_t;
static const char *const status_names[] = { "ok", "warn", "FAIL" };

typedef struct doctor {
	bool json;
	json_t *lines;
	int n_fail, n_warn;
} doctor_t;

__attribute__((format(printf, 5, 6))) static void say(doctor_t *d, status_t st, const char *check,
                                                      const char *fix, const char *fmt, ...)
{
	char detail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof detail, fmt, ap);
	va_end(ap);
	if (st == ST_FAIL)
		d->n_fail++;
	else if (st == ST_WARN)
		d->n_warn++;
	if (d->json) {
		json_array_append_new(d->lines,
		                      json_pack("{s:s, s:s, s:s, s:s?}", "check", check, "status",
		                                st == ST_FAIL ? "fail" : status_names[st], "detail",
		                                detail, "fix", st != ST_OK ? fix : NULL));
		return;
	}
	printf("%-5s %-17s %s\n", status_names[st], check, detail);
	if (st != ST_OK && fix && fix[0])
		printf("%-5s %-17s fix: %s\n", "", "", fix);
}

/* ---- files ---------------------------------------------------------------------- */

/* A file the module reads: regular, owned by root or the account signgate
 * runs as, not writable by others; secrets also not readable by others. */
static void check_file(doctor_t *d, const char *check, const char *path, bool secret, uid_t service)
{
	struct stat st;
	char fix[PATH_MAX + 64];

	if (stat(path, &st) != 0) {
		say(d, ST_FAIL, check, "create it, or correct the path in the config", "%s: %s",
		    path, strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		say(d, ST_FAIL, check, "point the config at a regular file",
		    "%s: not a regular file", path);
		return;
	}
	if (st.st_uid != 0 && st.st_uid != service) {
		snprintf(fix, sizeof fix, "chown root (or the service account) %s", path);
		say(d, ST_FAIL, check, fix,
		    "%s: owned by uid %lu, not root or uid %lu: the module refuses it", path,
		    (unsigned long)st.st_uid, (unsigned long)service);
		return;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(fix, sizeof fix, "chmod go-w %s", path);
		say(d, ST_FAIL, check, fix,
		    "%s: mode %04o, writable by %s: whoever can write it decides", path,
		    (unsigned)(st.st_mode & 07777),
		    st.st_mode & S_IWOTH ? "everyone" : "the group");
		return;
	}
	if (secret && (st.st_mode & (S_IRGRP | S_IROTH))) {
		snprintf(fix, sizeof fix, "chmod 0600 %s", path);
		say(d, ST_FAIL, check, fix,
		    "%s: mode %04o, readable by %s: they can use the token without signgate", path,
		    (unsigned)(st.st_mode & 07777),
		    st.st_mode & S_IROTH ? "everyone" : "the group");
		return;
	}
	if (secret && st.st_size == 0) {
		say(d, ST_FAIL, check, "write the token's user PIN into it", "%s: empty", path);
		return;
	}
	if (access(path, R_OK) != 0) {
		say(d, ST_FAIL, check, "run signgate as an account that can read it",
		    "%s: not readable: %s", path, strerror(errno));
		return;
	}
	say(d, ST_OK, check, NULL, "%s (mode %04o, uid %lu)", path, (unsigned)(st.st_mode & 07777),
	    (unsigned long)st.st_uid);
}

static bool any_quota_or_ticket(const config_t *cfg)
{
	if (cfg->n_validators)
		return true; /* tickets may carry max_uses, counted in the state */
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (cfg->rules[i].quota_count)
			return true;
	return false;
}

static void check_state_pg(doctor_t *d, const config_t *cfg)
{
	int version = 0;

	if (state_pg_admin(cfg->state_dir, STATE_ADMIN_STATUS, &version) != 0) {
		say(d, ST_FAIL, "state", "start the database, or fix the conninfo file",
		    "PostgreSQL store: %s: every governed signature is refused (state-unavailable)",
		    state_error());
		return;
	}
	if (version != STATE_SCHEMA_VERSION) {
		say(d, ST_FAIL, "state",
		    version == 0                     ? "signgate state init"
		    : version < STATE_SCHEMA_VERSION ? "signgate state migrate"
		                                     : "upgrade signgate",
		    "PostgreSQL store: schema version %d, this signgate needs %d: the module refuses it",
		    version, STATE_SCHEMA_VERSION);
		return;
	}
	say(d, ST_OK, "state", NULL, "PostgreSQL store reachable, schema version %d", version);
}

static void check_state(doctor_t *d, const config_t *cfg)
{
	struct stat st;
	const char *dir = cfg->state_dir;
	char fix[PATH_MAX + 64];
	bool needed = any_quota_or_ticket(cfg);

	if (!dir) {
		say(d, needed ? ST_FAIL : ST_OK, "state", "set state_dir",
		    "no state directory configured");
		return;
	}
	if (cfg->state.store == CONFIG_STATE_POSTGRESQL) {
		check_state_pg(d, cfg);
		return;
	}
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(fix, sizeof fix,
		         "mkdir -m 0700 %s (owned by the account signgate runs as)", dir);
		say(d, needed ? ST_FAIL : ST_WARN, "state", fix, "%s: %s: %s", dir,
		    errno ? strerror(errno) : "not a directory",
		    needed ? "every decision that counts (quota, ticket max_uses) is refused"
		           : "nothing counts yet, but a quota or ticket limit added later would be refused");
		return;
	}
	if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
		snprintf(fix, sizeof fix, "chmod o-w %s", dir);
		say(d, ST_FAIL, "state", fix,
		    "%s: writable by everyone: anyone can reset quota counters", dir);
		return;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		say(d, ST_FAIL, "state", "make it writable by the account signgate runs as",
		    "%s: not writable by this account: %s", dir, strerror(errno));
		return;
	}
	say(d, ST_OK, "state", NULL, "%s writable", dir);
}

/* The durable journal: its directory must take new files and the file
 * appends, and its keys are secrets like the PIN file. */
static void check_journal(doctor_t *d, const config_t *cfg, uid_t service)
{
	const config_audit_t *a = &cfg->audit;
	char dir[PATH_MAX], fix[PATH_MAX + 64];
	struct stat st;

	if (!a->journal)
		return;
	snprintf(dir, sizeof dir, "%s", a->journal);
	char *slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode) || access(dir, W_OK | X_OK) != 0) {
		snprintf(fix, sizeof fix,
		         "install -d -m 0700 %s (owned by the account signgate runs as)", dir);
		say(d, a->required ? ST_FAIL : ST_WARN, "audit-journal", fix,
		    "%s: directory not usable by this account: %s", dir,
		    a->required ? "every signature is refused" : "records are lost");
	} else if (stat(a->journal, &st) == 0 &&
	           (!S_ISREG(st.st_mode) || access(a->journal, W_OK) != 0)) {
		say(d, a->required ? ST_FAIL : ST_WARN, "audit-journal",
		    "make it a regular file this account can append to",
		    "%s: not a writable regular file", a->journal);
	} else if (stat(a->journal, &st) == 0 && (st.st_mode & (S_IWGRP | S_IWOTH))) {
		snprintf(fix, sizeof fix, "chmod go-w %s", a->journal);
		say(d, ST_FAIL, "audit-journal", fix,
		    "%s: writable by others: records can be removed", a->journal);
	} else {
		say(d, ST_OK, "audit-journal", NULL, "%s (sync: %s)", a->journal,
		    a->sync_fdatasync ? "fdatasync" : "write");
	}
	if (a->mac_key)
		check_file(d, "audit-mac-key", a->mac_key, true, service);
	if (a->checkpoint_key)
		check_file(d, "audit-checkpoint-key", a->checkpoint_key, true, service);
}

static void check_audit(doctor_t *d, const config_t *cfg)
{
	const config_audit_t *a = &cfg->audit;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char fix[PATH_MAX + 128];
	int fd, rc;

	if (!a->enabled) {
		say(d, ST_WARN, "audit", "set audit.enabled = true",
		    "audit is off: no record of any decision");
		return;
	}
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", a->socket_path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	rc = fd < 0 ? -1 : connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int e = errno;
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		snprintf(fix, sizeof fix,
		         "start a syslog daemon listening on %s (rsyslog), or set "
		         "audit.socket to where one listens",
		         a->socket_path);
		/* With a journal the journal is the record of truth; syslog
		 * failing refuses signatures only with audit.syslog_required. */
		bool refuses = a->required && (!a->journal || a->syslog_required);
		say(d, refuses ? ST_FAIL : ST_WARN, "audit-socket", fix, "%s: %s: %s",
		    a->socket_path, strerror(e),
		    refuses      ? "with audit.required every signature is refused"
		    : a->journal ? "the SOC's copy is missing (the journal keeps the records)"
		                 : "records are dropped (audit.required is off)");
		return;
	}
	say(d, ST_OK, "audit-socket", NULL, "%s accepts records", a->socket_path);
}

/* ---- token and keys --------------------------------------------------------------- */

static void key_finding(void *arg, const char *sev, const char *code, const char *subject,
                        const char *detail)
{
	doctor_t *d = arg;
	status_t st = ST_WARN;
	const char *fix = "see signgate inventory";

	/* Signing with a governed key fails when the key or its token is not
	 * there; the rest (look-alikes, drift, copies) is what inventory is for. */
	if (!strcmp(code, "key-missing") && strcmp(sev, "info"))
		st = ST_FAIL,
		fix = "import the key, or correct its token/id/fingerprint in the config";
	else if (!strcmp(code, "token-missing"))
		st = ST_FAIL, fix = "initialise the token, or correct backend.tokens";
	else if (!strcmp(sev, "info") || !strcmp(sev, "low"))
		return;
	say(d, st, code, fix, "%s: %s", subject, detail);
}

static void check_token(doctor_t *d, const config_t *cfg, const char *conf_path)
{
	char err[1024];

	if (!cfg->backend.pin_file) {
		say(d, ST_WARN, "token",
		    "set backend.pin_file so that callers never need the token PIN",
		    "no backend.pin_file: compatibility mode, the caller's PIN goes to the token; keys not checked");
		return;
	}
	if (inventory_check_keys(cfg, conf_path, key_finding, d, err, sizeof err) < 0) {
		say(d, ST_FAIL, "token", "fix the backend module, the token or the PIN file", "%s",
		    err);
		return;
	}
	size_t fp = 0;
	for (size_t i = 0; i < cfg->n_keys; i++)
		fp += cfg->keys[i].has_fingerprint;
	say(d, ST_OK, "token", NULL,
	    "%s loads, each exposed token logs in with %s; %zu governed keys "
	    "(%zu with a fingerprint) checked",
	    cfg->backend.module, cfg->backend.pin_file, cfg->n_keys, fp);
}

/* ---- p11-kit ------------------------------------------------------------------------ */

typedef struct p11mod {
	char name[NAME_MAX + 1];
	char file[PATH_MAX];
	char module[PATH_MAX];
	bool critical, proxy;
	char reserved[PATH_MAX];
} p11mod_t;

static void trim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Does a comma/space separated list name p11-kit-proxy? */
static bool names_proxy(const char *list)
{
	return strstr(list, "p11-kit-proxy") != NULL;
}

static bool p11mod_read(const char *path, p11mod_t *m)
{
	FILE *f = fopen(path, "re");
	char line[PATH_MAX + 64];
	bool enable_in = false, in_enable = false, in_disable = false;

	if (!f)
		return false;
	m->proxy = true;
	while (fgets(line, sizeof line, f)) {
		char *v = strchr(line, ':');
		if (line[0] == '#' || !v)
			continue;
		*v++ = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		trim(v);
		trim(line);
		if (!strcmp(line, "module"))
			snprintf(m->module, sizeof m->module, "%s", v);
		else if (!strcmp(line, "critical"))
			m->critical = !strcmp(v, "yes") || !strcmp(v, "true");
		else if (!strcmp(line, "x-init-reserved"))
			snprintf(m->reserved, sizeof m->reserved, "%s", v);
		else if (!strcmp(line, "enable-in"))
			enable_in = true, in_enable = names_proxy(v);
		else if (!strcmp(line, "disable-in"))
			in_disable = names_proxy(v);
	}
	fclose(f);
	if ((enable_in && !in_enable) || in_disable)
		m->proxy = false;
	return true;
}

/* The modules p11-kit-proxy loads: the first file of each name in the
 * directories, in p11-kit's order; a blank "module:" masks a name. */
static size_t p11mods_effective(const char *dirs, p11mod_t **out)
{
	p11mod_t *v = NULL;
	size_t n = 0;
	char *copy = strdup(dirs), *save = NULL;

	for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir;
	     dir = strtok_r(NULL, ":", &save)) {
		DIR *dp = opendir(dir);
		struct dirent *e;
		if (!dp)
			continue;
		while ((e = readdir(dp))) {
			size_t len = strlen(e->d_name);
			if (len < 8 || strcmp(e->d_name + len - 7, ".module"))
				continue;
			bool seen = false;
			for (size_t i = 0; i < n && !seen; i++)
				seen = !strcmp(v[i].name, e->d_name);
			if (seen)
				continue;
			p11mod_t *nv = realloc(v, (n + 1) * sizeof *v);
			if (!nv)
				break;
			v = nv;
			memset(&v[n], 0, sizeof v[n]);
			snprintf(v[n].name, sizeof v[n].name, "%s", e->d_name);
			snprintf(v[n].file, sizeof v[n].file, "%s/%s", dir, e->d_name);
			if (p11mod_read(v[n].file, &v[n]))
				n++;
		}
		closedir(dp);
	}
	free(copy);
	*out = v;
	return n;
}

static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return a[0] && b[0] && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

static void check_p11kit(doctor_t *d, const config_t *cfg, const char *conf_path, const char *dirs)
{
	p11mod_t *mods = NULL;
	size_t n = p11mods_effective(dirs, &mods);
	bool registered = false;
	char fix[PATH_MAX * 2];

	for (size_t i = 0; i < n; i++) {
		p11mod_t *m = &mods[i];
		if (!m->module[0])
			continue; /* masked */
		if (strstr(m->module, "signgate-pkcs11")) {
			registered = true;
			if (access(m->module, R_OK) != 0) {
				snprintf(
				        fix, sizeof fix,
				        "set module: in %s to where signgate-pkcs11.so is installed",
				        m->file);
				say(d, ST_FAIL, "p11-kit", fix, "%s names %s, which does not exist",
				    m->file, m->module);
			} else if (m->critical) {
				snprintf(fix, sizeof fix, "set critical: no in %s", m->file);
				say(d, ST_WARN, "p11-kit", fix,
				    "%s is critical: a user who may not read the "
				    "policy loses every p11-kit token, not only signgate's",
				    m->file);
			} else {
				say(d, ST_OK, "p11-kit", NULL, "%s registers %s", m->file,
				    m->module);
			}
			if (m->reserved[0] && cfg && !same_file(m->reserved, conf_path))
				say(d, ST_WARN, "p11-kit",
				    "make x-init-reserved name the config signgate should load",
				    "%s: x-init-reserved %s is not %s", m->file, m->reserved,
				    conf_path);
			continue;
		}
		if (cfg && m->proxy && same_file(m->module, cfg->backend.module)) {
			snprintf(fix, sizeof fix,
			         "mask it: printf 'module:\\n' > /etc/pkcs11/modules/%s "
			         "(or add \"disable-in: p11-kit-proxy\")",
			         m->name);
			say(d, ST_FAIL, "p11-kit-bypass", fix,
			    "%s registers the real module %s with p11-kit-proxy: "
			    "every program using the proxy (the openssl engine's default, GnuTLS) reaches the "
			    "token directly, around signgate",
			    m->file, m->module);
		}
	}
	if (!registered)
		say(d, ST_OK, "p11-kit", NULL,
		    "signgate is not registered with p11-kit (%s); tools load it "
		    "by path",
		    dirs);
	free(mods);
}

/* ---- broker ------------------------------------------------------------------------- */

static bool readable_by(const struct stat *st, uid_t uid, gid_t gid)
{
	if (uid == 0 || st->st_uid == uid)
		return st->st_uid == uid ? (st->st_mode & S_IRUSR) != 0 : true;
	if (st->st_gid == gid)
		return (st->st_mode & S_IRGRP) != 0;
	return (st->st_mode & S_IROTH) != 0;
}

static void check_broker(doctor_t *d, const config_t *cfg, const char *conf_path, const char *user,
                         const char *sock)
{
	struct passwd *pw = getpwnam(user);
	struct stat st;
	char fix[PATH_MAX + 128];

	if (!pw) {
		snprintf(fix, sizeof fix,
		         "useradd --system --no-create-home --shell /usr/sbin/nologin %s", user);
		say(d, ST_FAIL, "broker-account", fix, "no service account '%s'", user);
	} else {
		const char *files[] = { conf_path, cfg ? cfg->backend.pin_file : NULL };
		bool ok = true;
		for (size_t i = 0; i < 2; i++) {
			if (!files[i] || stat(files[i], &st) != 0)
				continue;
			if (!readable_by(&st, pw->pw_uid, pw->pw_gid)) {
				snprintf(fix, sizeof fix, "chown %s %s (mode 0600)", user,
				         files[i]);
				say(d, ST_FAIL, "broker-account", fix,
				    "%s cannot read %s: every connection fails", user, files[i]);
				ok = false;
			}
		}
		if (ok)
			say(d, ST_OK, "broker-account", NULL,
			    "%s (uid %lu) can read the config and PIN file", user,
			    (unsigned long)pw->pw_uid);
	}
	if (stat(sock, &st) != 0 || !S_ISSOCK(st.st_mode)) {
		say(d, ST_FAIL, "broker-socket",
		    "start the broker (systemctl start signgate-broker)", "%s: %s", sock,
		    errno ? strerror(errno) : "not a socket");
		return;
	}
	say(d, ST_OK, "broker-socket", NULL, "%s is a socket", sock);
}

/* ---- command ------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate doctor [--config C] [--json] [--p11-kit-dirs DIR[:DIR...]]\n"
	        "                       [--broker [--service-user USER] [--socket PATH]]\n"
	        "  Checks the deployment as the module will see it: config, PIN file, validator\n"
	        "  keys, state directory, audit socket, backend and token login, governed keys,\n"
	        "  p11-kit registration (and a proxy that exposes the real module), broker.\n"
	        "  --config C          default: $SIGNGATE_CONF, else /etc/signgate/signgate.conf\n"
	        "  --p11-kit-dirs D    module directories to read (default: p11-kit's own)\n"
	        "  --broker            also check the broker: service account and socket\n"
	        "                      (implied by mode = \"broker\" in the config)\n"
	        "  --service-user U    the broker's account (default signgate)\n"
	        "  --socket PATH       the broker's socket (default /run/signgate/pkcs11.sock)\n"
	        "Exit status: 0 nothing fails, 1 something would make signing fail or go around\n"
	        "the gate, 2 usage error.\n");
}

int cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "p11-kit-dirs", required_argument, NULL, 'p' },
		{ "broker", no_argument, NULL, 'b' },
		{ "service-user", required_argument, NULL, 'u' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *dirs = NULL, *user = "signgate",
	           *sock = "/run/signgate/pkcs11.sock";
	bool broker = false;
	doctor_t d = { 0 };
	char userdirs[PATH_MAX * 3];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'j': d.json = true; break;
		case 'p': dirs = optarg; break;
		case 'b': broker = true; break;
		case 'u': user = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!conf)
		conf = config_path_choose(NULL);
	if (!dirs) {
		/* p11-kit's order; it ignores the user's directory for root */
		const char *home = getenv("HOME");
		if (geteuid() != 0 && home)
			snprintf(userdirs, sizeof userdirs,
			         "%s/.config/pkcs11/modules:/etc/pkcs11/modules:"
			         "/usr/share/p11-kit/modules",
			         home);
		else
			snprintf(userdirs, sizeof userdirs,
			         "/etc/pkcs11/modules:/usr/share/p11-kit/modules");
		dirs = userdirs;
	}
	if (d.json)
		d.lines = json_array();
	else
		printf("signgate doctor: %s\n", conf);

	char err[CONFIG_ERR_MAX];
	config_t *cfg = config_load(conf, true, err, sizeof err);
	if (!cfg) {
		say(&d, ST_FAIL, "config", "fix the config (signgate check CONFIG)", "%s", err);
	} else {
		say(&d, ST_OK, "config", NULL,
		    "%s loads as the module loads it (%zu roles, %zu keys, %zu rules)", conf,
		    cfg->n_roles, cfg->n_keys, cfg->n_rules);
		if (strcmp(conf, CONFIG_DEFAULT_PATH) && access(CONFIG_DEFAULT_PATH, F_OK) != 0)
			say(&d, ST_WARN, "config-path",
			    "also install the config as " CONFIG_DEFAULT_PATH
			    " (or set SIGNGATE_CONF for every signing tool)",
			    "programs that load signgate through p11-kit and initialise it themselves (GnuTLS) "
			    "pass no x-init-reserved and load %s, which does not exist",
			    CONFIG_DEFAULT_PATH);
		uid_t service = geteuid();
		if (cfg->backend.pin_file)
			check_file(&d, "pin-file", cfg->backend.pin_file, true, service);
		for (size_t i = 0; i < cfg->n_validators; i++)
			check_file(&d, "validator-key", cfg->validators[i].public_key_path, false,
			           service);
		check_state(&d, cfg);
		check_audit(&d, cfg);
		check_journal(&d, cfg, service);
		check_token(&d, cfg, conf);
		if (cfg->mode == CONFIG_MODE_BROKER)
			broker = true;
	}
	check_p11kit(&d, cfg, conf, dirs);
	if (broker)
		check_broker(&d, cfg, conf, user, sock);

	int rc = d.n_fail ? 1 : 0;
	if (d.json) {
		json_t *root =
		        json_pack("{s:s, s:o, s:i, s:i, s:i}", "config", conf, "checks", d.lines,
		                  "failures", d.n_fail, "warnings", d.n_warn, "exit", rc);
		json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		printf("\n");
		json_decref(root);
	} else {
		printf("result: %d failure%s, %d warning%s%s\n", d.n_fail, d.n_fail == 1 ? "" : "s",
		       d.n_warn, d.n_warn == 1 ? "" : "s",
		       rc ? ": signing will fail or can go around the gate (exit 1)" : "");
	}
	config_free(cfg);
	return rc;
}

/* signgate: the strict config loader.
 *
 * libconfig parses; everything else is ours: every setting is checked
 * against a schema (unknown names, wrong types, missing required
 * settings and bad values are refused with "FILE:LINE: setting 'PATH':
 * message"), names are resolved, and the policy indexes are built.  The
 * result is immutable.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

/* libconfig calls its handle config_t, as we do: rename theirs here. */
#define config_t lc_config_t
#include <libconfig.h>
#undef config_t

#include "approval.h"
#include "codec.h"
#include "config.h"
#include "debug.h"
#include "idtoken.h"
#include "policy.h"
#include "secure_open.h"

#define CONFIG_MAX_BYTES (64u * 1024u * 1024u)
#define KEY_LABEL_MAX 128 /* keycache.h: key_attrs_t.label[129] */
#define AUDIT_IDENT_MAX 48

/* The loader's context: where messages go, and whether one was written
 * (the first error wins; later ones would only be consequences). */
typedef struct loader {
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
	bool check_owner; /* owner/mode of files the config names (validator keys) */
} loader_t;

static void path_of(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	size_t n = 0;
	for (const config_setting_t *p = s; p && n < 32; p = config_setting_parent(p)) {
		if (!config_setting_parent(p))
			break; /* the root has no name */
		chain[n++] = p;
	}
	size_t off = 0;
	buf[0] = '\0';
	while (n-- > 0) {
		const config_setting_t *p = chain[n];
		const char *nm = config_setting_name(p);
		int w;
		if (nm)
			w = snprintf(buf + off, len - off, "%s%s", off ? "." : "", nm);
		else
			w = snprintf(buf + off, len - off, "[%d]", config_setting_index(p));
		if (w < 0 || (size_t)w >= len - off)
			return;
		off += (size_t)w;
	}
}

/* "FILE:LINE: setting 'PATH': message" (s may be NULL: "FILE: message"). */
static void __attribute__((format(printf, 3, 4)))
fail(loader_t *ld, const config_setting_t *s, const char *fmt, ...)
{
	if (ld->failed)
		return;
	ld->failed = true;
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!ld->err || !ld->errlen)
		return;
	if (s) {
		char path[200];
		path_of(s, path, sizeof path);
		snprintf(ld->err, ld->errlen, "%s:%u: setting '%s': %s", ld->name,
		         (unsigned)config_setting_source_line(s), path, msg);
	} else {
		snprintf(ld->err, ld->errlen, "%s: %s", ld->name, msg);
	}
}

/* "FILE:LINE: setting 'PATH.member': message" for a member that is missing. */
static void fail_missing(loader_t *ld, const config_setting_t *group, const char *member)
{
	if (ld->failed)
		return;
	ld->failed = true;
	if (!ld->err || !ld->errlen)
		return;
	char path[200];
	path_of(group, path, sizeof path);
	/* the root group has no line of its own: name the first */
	unsigned line = config_setting_source_line(group);
	snprintf(ld->err, ld->errlen, "%s:%u: setting '%s%s%s': required setting missing", ld->name,
	         line ? line : 1, path, path[0] ? "." : "", member);
}

static void *xcalloc(loader_t *ld, size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);
	if (!p)
		fail(ld, NULL, "out of memory");
	return p;
}

static char *xstrdup(loader_t *ld, const char *s)
{
	char *p = strdup(s);
	if (!p)
		fail(ld, NULL, "out of memory");
	return p;
}

/* ---- schema helpers ----------------------------------------------------- */

/* Refuse members of a group that are not in `allowed` (NULL-terminated). */
static bool check_members(loader_t *ld, const config_setting_t *group, const char *const *allowed)
{
	int n = config_setting_length(group);
	for (int i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const char *nm = config_setting_name(m);
		bool ok = false;
		for (size_t j = 0; nm && allowed[j]; j++)
			if (!strcmp(nm, allowed[j])) {
				ok = true;
				break;
			}
		if (!ok) {
			fail(ld, m, "unknown setting");
			return false;
		}
	}
	return true;
}

static config_setting_t *member(const config_setting_t *group, const char *name)
{
	return config_setting_get_member(group, name);
}

static bool want_group(loader_t *ld, const config_setting_t *s)
{
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		fail(ld, s, "must be a group { ... }");
		return false;
	}
	return true;
}

/* String member: *out = NULL when absent and not required. */
static bool get_str(loader_t *ld, const config_setting_t *g, const char *name, bool required,
                    const char **out, config_setting_t **where)
{
	*out = NULL;
	config_setting_t *s = member(g, name);
	if (where)
		*where = s;
	if (!s) {
		if (required)
			fail_missing(ld, g, name);
		return !required;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		fail(ld, s, "must be a string");
		return false;
	}
	*out = config_setting_get_string(s);
	return true;
}

static bool get_str_dup(loader_t *ld, const config_setting_t *g, const char *name, bool required,
                        char **out, config_setting_t **where)
{
	const char *v;
	*out = NULL;
	if (!get_str(ld, g, name, required, &v, where))
		return false;
	if (v && !(*out = xstrdup(ld, v)))
		return false;
	return true;
}

static bool get_bool(loader_t *ld, const config_setting_t *g, const char *name, bool dflt,
                     bool *out)
{
	*out = dflt;
	config_setting_t *s = member(g, name);
	if (!s)
		return true;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		fail(ld, s, "must be true or false");
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

static bool get_int(loader_t *ld, const config_setting_t *g, const char *name, long long lo,
                    long long hi, long long dflt, long long *out, config_setting_t **where)
{
	*out = dflt;
	config_setting_t *s = member(g, name);
	if (where)
		*where = s;
	if (!s)
		return true;
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64) {
		fail(ld, s, "must be an integer");
		return false;
	}
	long long v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		fail(ld, s, "must be between %lld and %lld", lo, hi);
		return false;
	}
	*out = v;
	return true;
}

static bool is_list_like(const config_setting_t *s)
{
	int t = config_setting_type(s);
	return t == CONFIG_TYPE_ARRAY || t == CONFIG_TYPE_LIST;
}

/* A list of strings, written as [ "a", "b" ] or ( "a", "b" ). */
static bool get_strlist(loader_t *ld, const config_setting_t *g, const char *name, bool required,
                        char ***out, size_t *n_out, config_setting_t **where)
{
	*out = NULL;
	*n_out = 0;
	config_setting_t *s = member(g, name);
	if (where)
		*where = s;
	if (!s) {
		if (required)
			fail_missing(ld, g, name);
		return !required;
	}
	if (!is_list_like(s)) {
		fail(ld, s, "must be a list of strings [ \"...\", ... ]");
		return false;
	}
	int n = config_setting_length(s);
	char **v = xcalloc(ld, (size_t)n, sizeof *v);
	if (!v)
		return false;
	*out = v;
	for (int i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			fail(ld, e, "must be a string");
			return false;
		}
		if (!(v[i] = xstrdup(ld, config_setting_get_string(e))))
			return false;
		*n_out = (size_t)i + 1;
	}
	return true;
}

static void strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool check_abs_path(loader_t *ld, const config_setting_t *s, const char *v)
{
	if (v[0] != '/') {
		fail(ld, s, "must be an absolute path");
		return false;
	}
	if (strlen(v) >= PATH_MAX) {
		fail(ld, s, "path too long");
		return false;
	}
	return true;
}

/* An absolute path: get_str_dup, then check_abs_path when it is there. */
static bool get_path_dup(loader_t *ld, const config_setting_t *g, const char *name, bool required,
                         char **out, config_setting_t **where)
{
	config_setting_t *w;
	if (!get_str_dup(ld, g, name, required, out, &w))
		return false;
	if (where)
		*where = w;
	return !*out || check_abs_path(ld, w, *out);
}

/* One of n fixed words: *out = its index in names, dflt when absent.
 * Anything else: 'must be "a", "b" or "c"'. */
static bool get_choice(loader_t *ld, const config_setting_t *g, const char *name,
                       const char *const *names, size_t n, size_t dflt, size_t *out)
{
	const char *v;
	config_setting_t *w;
	char msg[200];
	size_t off = 0;
	*out = dflt;
	if (!get_str(ld, g, name, false, &v, &w))
		return false;
	if (!v)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v, names[i])) {
			*out = i;
			return true;
		}
	msg[0] = '\0';
	for (size_t i = 0; i < n && off < sizeof msg; i++) {
		int k = snprintf(msg + off, sizeof msg - off, "%s\"%s\"",
		                 i == 0       ? ""
		                 : i == n - 1 ? " or "
		                              : ", ",
		                 names[i]);
		if (k < 0)
			break;
		off += (size_t)k;
	}
	fail(ld, w, "must be %s", msg);
	return false;
}

/* An optional group of settings named only from allowed: *out = NULL
 * when absent. */
static bool get_group(loader_t *ld, const config_setting_t *parent, const char *name,
                      const char *const *allowed, config_setting_t **out)
{
	*out = member(parent, name);
	return !*out || (want_group(ld, *out) && check_members(ld, *out, allowed));
}

/* A required integer setting in [lo, hi]. */
static bool get_int_required(loader_t *ld, const config_setting_t *g, const char *name,
                             long long lo, long long hi, long long *out)
{
	if (!member(g, name)) {
		fail_missing(ld, g, name);
		return false;
	}
	return get_int(ld, g, name, lo, hi, 0, out, NULL);
}

/* A token's label or serial as the config names it.  PKCS#11 pads both
 * with spaces and signgate compares them with the padding removed, so a
 * value that is blank or ends in a space could never be found: refused
 * rather than normalised, so that the file says what is compared. */
#define TOKEN_NAME_MAX 32

static bool check_token_name(loader_t *ld, const config_setting_t *s, const char *v)
{
	size_t n = strlen(v);
	if (!n || n > TOKEN_NAME_MAX) {
		fail(ld, s, "token label or serial must be 1 to %d characters", TOKEN_NAME_MAX);
		return false;
	}
	if (strspn(v, " ") == n) {
		fail(ld, s, "blank: name the token by its label or serial");
		return false;
	}
	if (v[n - 1] == ' ') {
		size_t t = n;
		while (t && v[t - 1] == ' ')
			t--;
		fail(ld, s,
		     "ends in a space, which no token label or serial can (PKCS#11 pads them "
		     "with spaces, and the padding is not compared): write \"%.*s\"",
		     (int)t, v);
		return false;
	}
	return true;
}

/* ---- backend, state_dir, mode, audit ----------------------------------- */

static bool load_backend(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "module", "tokens", "pin_file", "init_args", NULL };
	config_setting_t *g = member(root, "backend"), *w;
	if (!g) {
		fail_missing(ld, root, "backend");
		return false;
	}
	if (!want_group(ld, g) || !check_members(ld, g, allowed))
		return false;
	if (!get_path_dup(ld, g, "module", true, &cfg->backend.module, NULL))
		return false;
	if (!get_strlist(ld, g, "tokens", false, &cfg->backend.tokens, &cfg->backend.n_tokens, &w))
		return false;
	if (w && cfg->backend.n_tokens == 0) {
		fail(ld, w,
		     "empty list: name at least one token, or omit the setting to expose all");
		return false;
	}
	for (size_t i = 0; i < cfg->backend.n_tokens; i++)
		if (!check_token_name(ld, config_setting_get_elem(w, (unsigned)i),
		                      cfg->backend.tokens[i]))
			return false;
	if (!get_path_dup(ld, g, "pin_file", false, &cfg->backend.pin_file, NULL))
		return false;
	/* Some modules take their own settings in pReserved (NSS softokn: its
	 * database directory): passed to the real C_Initialize as a string. */
	if (!get_str_dup(ld, g, "init_args", false, &cfg->backend.init_args, &w))
		return false;
	if (cfg->backend.init_args) {
		size_t n = strlen(cfg->backend.init_args);
		if (n == 0 || n > 4096) {
			fail(ld, w, "must be 1 to 4096 characters");
			return false;
		}
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)cfg->backend.init_args[i] < 0x20) {
				fail(ld, w, "control character in init_args");
				return false;
			}
	}
	return true;
}

static const struct {
	const char *name;
	int value;
} facilities[] = {
	{ "auth", LOG_AUTH },     { "authpriv", LOG_AUTHPRIV }, { "daemon", LOG_DAEMON },
	{ "user", LOG_USER },     { "local0", LOG_LOCAL0 },     { "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },     { "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 }, { "local6", LOG_LOCAL6 },     { "local7", LOG_LOCAL7 },
	{ "security", LOG_AUTH },
};

/* The durable journal and its keys (see config/AUDIT-SCHEMA.md). */
static bool load_audit_journal(loader_t *ld, config_audit_t *a, const config_setting_t *g)
{
	config_setting_t *w;
	long long n;
	static const char *const syncs[] = { "write", "fdatasync" };
	size_t sync;
	if (!get_path_dup(ld, g, "journal", false, &a->journal, NULL) ||
	    !get_choice(ld, g, "sync", syncs, 2, 0, &sync))
		return false;
	if (sync == 1)
		a->sync_fdatasync = true;
	if (!get_path_dup(ld, g, "mac_key", false, &a->mac_key, NULL) ||
	    !get_path_dup(ld, g, "checkpoint_key", false, &a->checkpoint_key, NULL))
		return false;
	if (!get_int(ld, g, "checkpoint_every", 0, 100000000, 1000, &n, NULL))
		return false;
	a->checkpoint_every = (int)n;
	if (!get_int(ld, g, "checkpoint_seconds", 0, 86400 * 7, 60, &n, NULL))
		return false;
	a->checkpoint_seconds = (int)n;
	if (!get_bool(ld, g, "syslog_required", false, &a->syslog_required))
		return false;
	/* settings that only mean something with a journal */
	static const char *const journal_only[] = { "sync",
		                                    "mac_key",
		                                    "checkpoint_key",
		                                    "checkpoint_every",
		                                    "checkpoint_seconds",
		                                    "syslog_required",
		                                    NULL };
	for (size_t i = 0; !a->journal && journal_only[i]; i++)
		if ((w = member(g, journal_only[i]))) {
			fail(ld, w, "needs audit.journal");
			return false;
		}
	if (a->journal && !a->mac_key) {
		fail(ld, member(g, "journal"),
		     "a journal needs audit.mac_key (make one with `signgate audit keygen`)");
		return false;
	}
	return true;
}

static bool load_audit(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "enabled",
		                               "required",
		                               "format",
		                               "cee",
		                               "rfc5424",
		                               "facility",
		                               "ident",
		                               "socket",
		                               "timeout_ms",
		                               "journal",
		                               "sync",
		                               "mac_key",
		                               "checkpoint_key",
		                               "checkpoint_every",
		                               "checkpoint_seconds",
		                               "syslog_required",
		                               NULL };
	config_audit_t *a = &cfg->audit;
	a->enabled = true;
	a->required = true;
	a->format = AUDIT_FORMAT_JSON;
	a->facility = LOG_AUTHPRIV;
	a->timeout_ms = 200;
	a->checkpoint_every = 1000;
	a->checkpoint_seconds = 60;
	static const char *const formats[] = { "json", "cef", "logfmt" };
	static const audit_format_t format_of[] = { AUDIT_FORMAT_JSON, AUDIT_FORMAT_CEF,
		                                    AUDIT_FORMAT_LOGFMT };
	config_setting_t *g, *w;
	const char *v;
	long long n;
	size_t f;
	if (!get_group(ld, root, "audit", allowed, &g))
		return false;
	if (g) {
		if (!get_bool(ld, g, "enabled", true, &a->enabled) ||
		    !get_bool(ld, g, "required", true, &a->required) ||
		    !get_bool(ld, g, "cee", false, &a->cee) ||
		    !get_bool(ld, g, "rfc5424", false, &a->rfc5424))
			return false;
		if (!get_choice(ld, g, "format", formats, 3, 0, &f))
			return false;
		a->format = format_of[f];
		if (a->cee && a->format != AUDIT_FORMAT_JSON) {
			fail(ld, member(g, "cee"), "the @cee: cookie needs format = \"json\"");
			return false;
		}
		if (!get_str(ld, g, "facility", false, &v, &w))
			return false;
		if (v) {
			bool found = false;
			for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
				if (!strcmp(v, facilities[i].name)) {
					a->facility = facilities[i].value;
					found = true;
				}
			if (!found) {
				fail(ld, w,
				     "unknown facility (auth, authpriv, daemon, user, local0..local7)");
				return false;
			}
		}
		if (!get_str(ld, g, "ident", false, &v, &w))
			return false;
		if (v) {
			size_t len = strlen(v);
			bool ok = len > 0 && len <= AUDIT_IDENT_MAX;
			for (size_t i = 0; ok && i < len; i++)
				if (!isgraph((unsigned char)v[i]) || v[i] == '[' || v[i] == ']' ||
				    v[i] == ':')
					ok = false;
			if (!ok) {
				fail(ld, w,
				     "must be 1 to %d printable characters without spaces, ':' or brackets",
				     AUDIT_IDENT_MAX);
				return false;
			}
			if (!(a->ident = xstrdup(ld, v)))
				return false;
		}
		if (!get_str(ld, g, "socket", false, &v, &w))
			return false;
		if (v) {
			if (!check_abs_path(ld, w, v))
				return false;
			if (strlen(v) >= 108) { /* sizeof(sockaddr_un.sun_path) */
				fail(ld, w, "socket path longer than 107 bytes");
				return false;
			}
			if (!(a->socket_path = xstrdup(ld, v)))
				return false;
		}
		if (!get_int(ld, g, "timeout_ms", 1, 60000, 200, &n, NULL))
			return false;
		a->timeout_ms = (int)n;
		if (!load_audit_journal(ld, a, g))
			return false;
	}
	if (!a->ident && !(a->ident = xstrdup(ld, "signgate")))
		return false;
	if (!a->socket_path && !(a->socket_path = xstrdup(ld, "/dev/log")))
		return false;
	return true;
}

/* `state = { store = "files"; dir = ...; }` or `state = { store =
 * "postgresql"; conninfo_file = ...; timeout_ms = ...; }`; the older
 * top-level `state_dir = "..."` is the same as the files store with that
 * dir (one or the other, not both). */
static bool load_state(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "store", "dir", "conninfo_file", "timeout_ms",
		                               NULL };
	config_setting_t *g = member(root, "state"), *legacy;
	config_state_t *st = &cfg->state;
	const char *v;
	long long n;

	if (!get_str(ld, root, "state_dir", false, &v, &legacy))
		return false;
	if (legacy && g) {
		fail(ld, legacy, "give either state_dir or the state group, not both");
		return false;
	}
	st->store = CONFIG_STATE_FILES;
	st->timeout_ms = 2000;
	if (legacy) {
		if (!check_abs_path(ld, legacy, v) || !(st->dir = xstrdup(ld, v)))
			return false;
	} else if (g) {
		if (!want_group(ld, g) || !check_members(ld, g, allowed))
			return false;
		static const char *const stores[] = { "files", "postgresql" };
		size_t store;
		if (!get_choice(ld, g, "store", stores, 2, 0, &store))
			return false;
		if (store == 1)
			st->store = CONFIG_STATE_POSTGRESQL;
		if (st->store == CONFIG_STATE_FILES) {
			if (member(g, "conninfo_file") || member(g, "timeout_ms")) {
				fail(ld,
				     member(g, "conninfo_file") ? member(g, "conninfo_file")
				                                : member(g, "timeout_ms"),
				     "only with store = \"postgresql\"");
				return false;
			}
			if (!get_path_dup(ld, g, "dir", false, &st->dir, NULL))
				return false;
		} else {
			if (member(g, "dir")) {
				fail(ld, member(g, "dir"), "only with store = \"files\"");
				return false;
			}
			if (!get_path_dup(ld, g, "conninfo_file", true, &st->conninfo_file, NULL))
				return false;
			if (!get_int(ld, g, "timeout_ms", 10, 60000, 2000, &n, NULL))
				return false;
			st->timeout_ms = (int)n;
		}
	}
	if (st->store == CONFIG_STATE_FILES) {
		if (!st->dir && !(st->dir = xstrdup(ld, "/var/lib/signgate")))
			return false;
		return (cfg->state_dir = xstrdup(ld, st->dir)) != NULL;
	}
	char buf[64 + PATH_MAX];
	if ((size_t)snprintf(buf, sizeof buf, "postgresql:%d:%s", st->timeout_ms,
	                     st->conninfo_file) >= sizeof buf) {
		fail(ld, member(g, "conninfo_file"), "path too long");
		return false;
	}
	return (cfg->state_dir = xstrdup(ld, buf)) != NULL;
}

static bool load_policy(loader_t *ld, config_t *cfg, const config_setting_t *root);

static bool load_top(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = {
		"backend",    "state_dir",          "state", "mode", "audit",
		"validators", "identity_providers", "roles", "keys", "rules",
		"approvers",  "approver_groups",    NULL
	};
	static const char *const modes[] = { "in-process", "broker", "auto" };
	size_t mode;
	if (!check_members(ld, root, allowed))
		return false;
	if (!load_backend(ld, cfg, root))
		return false;
	if (!load_state(ld, cfg, root))
		return false;
	if (!get_choice(ld, root, "mode", modes, 3, 0, &mode))
		return false;
	cfg->mode = mode == 2   ? CONFIG_MODE_AUTO
	            : mode == 1 ? CONFIG_MODE_BROKER
	                        : CONFIG_MODE_IN_PROCESS;
	if (!load_audit(ld, cfg, root))
		return false;
	return load_policy(ld, cfg, root);
}

/* ---- names: a small open-addressing map (duplicates, references) ------- */

typedef struct nmap {
	const char **names;
	size_t *vals;
	size_t cap; /* power of two */
	size_t count;
} nmap_t;

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static bool nmap_init(loader_t *ld, nmap_t *m, size_t n)
{
	m->cap = 16;
	while (m->cap < n * 2 + 1)
		m->cap <<= 1;
	m->names = xcalloc(ld, m->cap, sizeof *m->names);
	m->vals = xcalloc(ld, m->cap, sizeof *m->vals);
	return m->names && m->vals;
}

static void nmap_free(nmap_t *m)
{
	free(m->names);
	free(m->vals);
	m->names = NULL;
	m->vals = NULL;
}

static size_t nmap_put(nmap_t *m, const char *name, size_t val);

/* Double the table (only the resolver cache grows; the others are sized
 * for their lists up front).  On allocation failure the old table stays. */
static void nmap_grow(nmap_t *m)
{
	nmap_t n = { .cap = m->cap * 2 };
	n.names = calloc(n.cap, sizeof *n.names);
	n.vals = calloc(n.cap, sizeof *n.vals);
	if (!n.names || !n.vals) {
		free(n.names);
		free(n.vals);
		return;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->names[i])
			nmap_put(&n, m->names[i], m->vals[i]);
	nmap_free(m);
	*m = n;
}

/* Insert; returns SIZE_MAX when new, else the value already stored. */
static size_t nmap_put(nmap_t *m, const char *name, size_t val)
{
	if ((m->count + 1) * 2 > m->cap)
		nmap_grow(m);
	size_t i = (size_t)str_hash(name) & (m->cap - 1);
	while (m->names[i]) {
		if (!strcmp(m->names[i], name))
			return m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	if ((m->count + 1) * 4 > m->cap * 3)
		return SIZE_MAX - 1; /* full: treated as "not stored" by callers */
	m->names[i] = name;
	m->vals[i] = val;
	m->count++;
	return SIZE_MAX;
}

static size_t nmap_get(const nmap_t *m, const char *name)
{
	if (!m->names)
		return SIZE_MAX;
	size_t i = (size_t)str_hash(name) & (m->cap - 1);
	while (m->names[i]) {
		if (!strcmp(m->names[i], name))
			return m->vals[i];
		i = (i + 1) & (m->cap - 1);
	}
	return SIZE_MAX;
}

/* ---- value parsers ------------------------------------------------------ */

/* Names end up in audit records and ticket claims (64-byte fields). */
static bool check_name(loader_t *ld, const config_setting_t *s, const char *v)
{
	size_t len = strlen(v);
	if (len == 0 || len > 63) {
		fail(ld, s, "must be 1 to 63 characters");
		return false;
	}
	for (size_t i = 0; i < len; i++)
		if (!isgraph((unsigned char)v[i]) || v[i] == '"' || v[i] == '\\') {
			fail(ld, s, "must be printable, without spaces, quotes or backslashes");
			return false;
		}
	return true;
}

/* Hex, either case, optionally with ':' between bytes ("01", "0a:1b"). */
static bool parse_hex(const char *v, unsigned char *out, size_t max, size_t *n_out)
{
	return codec_hex_decode(v, strlen(v), CODEC_HEX_UPPER | CODEC_HEX_COLONS, out, max,
	                        n_out) &&
	       *n_out > 0;
}

static bool parse_duration(const char *v, uint32_t *out)
{
	if (!isdigit((unsigned char)v[0]))
		return false;
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || !end[0] || end[1])
		return false;
	unsigned long long mul;
	switch (end[0]) {
	case 's': mul = 1; break;
	case 'm': mul = 60; break;
	case 'h': mul = 3600; break;
	case 'd': mul = 86400; break;
	case 'w': mul = 7 * 86400; break;
	default: return false;
	}
	if (n == 0 || n > 10ull * 366 * 86400 / mul) /* at most about ten years */
		return false;
	*out = (uint32_t)(n * mul);
	return true;
}

static bool parse_2d(const char *p, int *out)
{
	if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
		return false;
	*out = (p[0] - '0') * 10 + (p[1] - '0');
	return true;
}

/* RFC 3339 date-time: 2026-01-01T00:00:00Z, fractions and offsets allowed. */
static bool parse_rfc3339(const char *v, time_t *out)
{
	int y1, y2, mo, d, h, mi, s;
	if (strlen(v) < 20 || !parse_2d(v, &y1) || !parse_2d(v + 2, &y2) || v[4] != '-' ||
	    !parse_2d(v + 5, &mo) || v[7] != '-' || !parse_2d(v + 8, &d) ||
	    (v[10] != 'T' && v[10] != 't' && v[10] != ' ') || !parse_2d(v + 11, &h) ||
	    v[13] != ':' || !parse_2d(v + 14, &mi) || v[16] != ':' || !parse_2d(v + 17, &s))
		return false;
	int year = y1 * 100 + y2;
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (year < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 ||
	    s > 60)
		return false;
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	if (mo == 2 && d == 29 && !leap)
		return false;
	const char *p = v + 19;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return false;
		while (isdigit((unsigned char)*p))
			p++;
	}
	long off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om;
		if (!parse_2d(p + 1, &oh) || p[3] != ':' || !parse_2d(p + 4, &om) || oh > 23 ||
		    om > 59)
			return false;
		off = (oh * 60L + om) * 60L * (*p == '-' ? -1 : 1);
		p += 6;
	} else {
		return false;
	}
	if (*p)
		return false;
	struct tm tm = { .tm_year = year - 1900,
		         .tm_mon = mo - 1,
		         .tm_mday = d,
		         .tm_hour = h,
		         .tm_min = mi,
		         .tm_sec = s > 59 ? 59 : s };
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return false;
	*out = t - off;
	return true;
}

/* Fixed offsets only: the engine must not read zoneinfo files on the
 * signing path, and an offset never changes under a running policy. */
static bool parse_tz(const char *v, int *out_min)
{
	if (!strcmp(v, "UTC") || !strcmp(v, "Z") || !strcmp(v, "utc")) {
		*out_min = 0;
		return true;
	}
	int oh, om;
	if ((v[0] != '+' && v[0] != '-') || !parse_2d(v + 1, &oh) || v[3] != ':' ||
	    !parse_2d(v + 4, &om) || v[6] || oh > 14 || om > 59)
		return false;
	*out_min = (oh * 60 + om) * (v[0] == '-' ? -1 : 1);
	return true;
}

/* "HH:MM-HH:MM"; to may be 24:00; from > to spans midnight. */
static bool parse_hours(const char *v, int *from, int *to)
{
	int h1, m1, h2, m2;
	if (strlen(v) != 11 || !parse_2d(v, &h1) || v[2] != ':' || !parse_2d(v + 3, &m1) ||
	    v[5] != '-' || !parse_2d(v + 6, &h2) || v[8] != ':' || !parse_2d(v + 9, &m2))
		return false;
	if (h1 > 23 || m1 > 59 || m2 > 59 || h2 > 24 || (h2 == 24 && m2 != 0))
		return false;
	*from = h1 * 60 + m1;
	*to = h2 * 60 + m2;
	return *from != *to;
}

static int parse_day(const char *v)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	for (int i = 0; i < 7; i++)
		if (!strcasecmp(v, days[i]))
			return i;
	return -1;
}

/* ---- lists of named groups ---------------------------------------------- */

/* A list of groups ( { ... }, ... ): *l = NULL and *n = 0 when absent. */
static bool get_list(loader_t *ld, const config_setting_t *parent, const char *name,
                     config_setting_t **l, size_t *n)
{
	*l = member(parent, name);
	*n = *l ? (size_t)config_setting_length(*l) : 0;
	if (*l && !is_list_like(*l)) {
		fail(ld, *l, "must be a list ( { ... }, ... )");
		return false;
	}
	return true;
}

/* Element i of such a list, a group of settings named only from
 * allowed; NULL (and the loader failed) otherwise. */
static config_setting_t *list_group(loader_t *ld, const config_setting_t *l, size_t i,
                                    const char *const *allowed)
{
	config_setting_t *g = config_setting_get_elem(l, (unsigned)i);
	return want_group(ld, g) && check_members(ld, g, allowed) ? g : NULL;
}

/* The group's required name = "..." (check_name), copied into *out. */
static bool get_name_dup(loader_t *ld, const config_setting_t *g, char **out,
                         config_setting_t **where)
{
	return get_str_dup(ld, g, "name", true, out, where) && check_name(ld, *where, *out);
}

/* Element i of a list of named groups (validators, approvers, roles,
 * keys, rules): list_group, then *count = i + 1 (config_free frees what
 * the entry holds from here on), then its name (*name, setting *where),
 * which no earlier element in names may have: "duplicate KIND name". */
static config_setting_t *named_group(loader_t *ld, const config_setting_t *l, size_t i,
                                     const char *const *allowed, const char *kind, nmap_t *names,
                                     size_t *count, char **name, config_setting_t **where)
{
	config_setting_t *g = list_group(ld, l, i, allowed);
	if (!g)
		return NULL;
	*count = i + 1;
	if (!get_name_dup(ld, g, name, where))
		return NULL;
	size_t prev = nmap_put(names, *name, i);
	if (prev != SIZE_MAX) {
		fail(ld, *where, "duplicate %s name '%s' (first at line %u)", kind, *name,
		     (unsigned)config_setting_source_line(
		             config_setting_get_elem(l, (unsigned)prev)));
		return NULL;
	}
	return g;
}

/* A duration setting ("30s", "15m", ...); examples fill the message. */
static bool get_duration(loader_t *ld, const config_setting_t *g, const char *name, bool required,
                         const char *examples, uint32_t *out)
{
	const char *v;
	config_setting_t *w;
	if (!get_str(ld, g, name, required, &v, &w))
		return false;
	if (v && !parse_duration(v, out)) {
		fail(ld, w, "must be a duration such as %s", examples);
		return false;
	}
	return true;
}

/* ---- validators ----------------------------------------------------------- */

#define PUBKEY_MAX_BYTES 65536

static bool load_pubkey(loader_t *ld, const config_setting_t *s, const char *path, void **out)
{
	char ferr[CONFIG_ERR_MAX], *pem = NULL;
	size_t len = 0;
	/* A validator key decides which tickets are believed: it gets the
	 * config's own owner and mode checks (secure_open.c), and a device or
	 * FIFO named here must not hang the loader. */
	if (!secure_read_file(path, ld->check_owner ? 0 : SECURE_OPEN_ANY_OWNER, PUBKEY_MAX_BYTES,
	                      &pem, &len, NULL, ferr, sizeof ferr)) {
		fail(ld, s, "cannot read public key %s", ferr);
		return false;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	free(pem);
	if (!pk) {
		fail(ld, s, "%s is not a PEM public key (BEGIN PUBLIC KEY)", path);
		return false;
	}
	bool ok = false;
	if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519) {
		ok = true;
	} else if (EVP_PKEY_get_id(pk) == EVP_PKEY_EC) {
		char grp[64];
		size_t glen = 0;
		if (EVP_PKEY_get_group_name(pk, grp, sizeof grp, &glen) &&
		    (!strcmp(grp, "prime256v1") || !strcmp(grp, "P-256")))
			ok = true;
	}
	if (!ok) {
		EVP_PKEY_free(pk);
		fail(ld, s, "%s: only Ed25519 and EC P-256 validator keys are accepted", path);
		return false;
	}
	*out = pk;
	return true;
}

static bool load_validators(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "name", "public_key", NULL };
	config_setting_t *l, *w;
	size_t n;
	if (!get_list(ld, root, "validators", &l, &n))
		return false;
	if (!l)
		return true;
	nmap_t names = { 0 };
	bool ok = false;
	if (!(cfg->validators = xcalloc(ld, n, sizeof *cfg->validators)) ||
	    !nmap_init(ld, &names, n))
		goto out;
	for (size_t i = 0; i < n; i++) {
		config_validator_t *v = &cfg->validators[i];
		config_setting_t *g = named_group(ld, l, i, allowed, "validator", &names,
		                                  &cfg->n_validators, &v->name, &w);
		if (!g)
			goto out;
		if (!get_path_dup(ld, g, "public_key", true, &v->public_key_path, &w) ||
		    !load_pubkey(ld, w, v->public_key_path, &v->pkey))
			goto out;
	}
	ok = true;
out:
	nmap_free(&names);
	return ok;
}

/* ---- identity providers (CI OIDC issuers) ------------------------------- */

/* Read and parse a pinned JWKS file; remember what it was (config_changed). */
static bool load_jwks(loader_t *ld, const config_setting_t *s, config_idp_t *p)
{
	struct stat st;
	char why[200], ferr[CONFIG_ERR_MAX], *buf = NULL;
	size_t len = 0;
	/* The keys decide who may sign: the config's own owner and mode
	 * checks (secure_open.c); a FIFO or device must not hang the loader. */
	if (!secure_read_file(p->jwks_path, ld->check_owner ? 0 : SECURE_OPEN_ANY_OWNER,
	                      IDTOKEN_JWKS_MAX_BYTES, &buf, &len, &st, ferr, sizeof ferr)) {
		fail(ld, s, "cannot read JWKS %s", ferr);
		return false;
	}
	int rc = idtoken_jwks_parse(buf, len, &p->keys, &p->n_keys, why, sizeof why);
	free(buf);
	if (rc != 0) {
		fail(ld, s, "JWKS %s: %s", p->jwks_path, why);
		return false;
	}
	p->jwks_dev = st.st_dev;
	p->jwks_ino = st.st_ino;
	p->jwks_size = st.st_size;
	p->jwks_mtime = st.st_mtim.tv_sec;
	p->jwks_mtime_ns = st.st_mtim.tv_nsec;
	p->jwks_ctime = st.st_ctim.tv_sec;
	p->jwks_ctime_ns = st.st_ctim.tv_nsec;
	return true;
}

static bool load_idp_duration(loader_t *ld, const config_setting_t *g, const char *name,
                              uint32_t dflt, uint32_t max, uint32_t *out)
{
	const char *v;
	config_setting_t *w;
	*out = dflt;
	if (!get_str(ld, g, name, false, &v, &w))
		return false;
	if (!v)
		return true;
	if (!strcmp(v, "0s")) {
		*out = 0;
	} else if (!parse_duration(v, out)) {
		fail(ld, w, "must be a duration such as \"30s\", \"15m\", \"1h\"");
		return false;
	}
	if (*out > max) {
		fail(ld, w, "must be at most %u s", max);
		return false;
	}
	return true;
}

static bool load_idps(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = {
		"name",       "issuer",         "audience",           "jwks",
		"algorithms", "max_clock_skew", "max_token_lifetime", "max_uses",
		NULL
	};
	config_setting_t *l, *w;
	size_t n;
	if (!get_list(ld, root, "identity_providers", &l, &n))
		return false;
	if (!l)
		return true;
	if (!(cfg->idps = xcalloc(ld, n, sizeof *cfg->idps)))
		return false;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *g = list_group(ld, l, i, allowed);
		config_idp_t *p = &cfg->idps[i];
		if (!g)
			return false;
		cfg->n_idps = i + 1;
		p->line = config_setting_source_line(g);
		if (!get_name_dup(ld, g, &p->name, &w))
			return false;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->idps[j].name, p->name)) {
				fail(ld, w,
				     "duplicate identity provider name '%s' (first at line %d)",
				     p->name, cfg->idps[j].line);
				return false;
			}
		if (!get_str_dup(ld, g, "issuer", true, &p->issuer, &w))
			return false;
		/* Exactly as in iss: an OIDC issuer is an https URL without a
		 * trailing slash variant to guess at. */
		if (strncmp(p->issuer, "https://", 8) != 0 || strlen(p->issuer) < 9 ||
		    strlen(p->issuer) >= IDTOKEN_VALUE_MAX || strpbrk(p->issuer, " \t\"\\")) {
			fail(ld, w, "must be the issuer's https URL exactly as in the tokens' iss");
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(cfg->idps[j].issuer, p->issuer)) {
				fail(ld, w, "issuer already configured for provider '%s' (line %d)",
				     cfg->idps[j].name, cfg->idps[j].line);
				return false;
			}
		if (!get_str_dup(ld, g, "audience", true, &p->audience, &w))
			return false;
		if (!p->audience[0] || strlen(p->audience) >= IDTOKEN_VALUE_MAX) {
			fail(ld, w, "must be 1 to %d characters", IDTOKEN_VALUE_MAX - 1);
			return false;
		}
		/* GitHub's default audience is the repository owner's URL: any
		 * workflow of the owner can mint it for any purpose. */
		if (!strncmp(p->audience, "https://github.com/", 19) ||
		    !strcmp(p->audience, "sts.amazonaws.com") || !strcmp(p->audience, p->issuer)) {
			fail(ld, w,
			     "must be signgate's own value, not a default audience other relying "
			     "parties accept too");
			return false;
		}
		if (!get_path_dup(ld, g, "jwks", true, &p->jwks_path, &w) || !load_jwks(ld, w, p))
			return false;
		char **algs = NULL;
		size_t na = 0;
		if (!get_strlist(ld, g, "algorithms", false, &algs, &na, &w)) {
			strv_free(algs, na);
			return false;
		}
		p->algorithms = algs ? 0 : 1u << IDTOKEN_ALG_RS256;
		if (algs && !na) {
			fail(ld, w, "must name at least one algorithm");
			strv_free(algs, na);
			return false;
		}
		for (size_t j = 0; j < na; j++) {
			int a = idtoken_alg_by_name(algs[j]);
			if (a < 0) {
				fail(ld, config_setting_get_elem(w, (unsigned)j),
				     "'%s': only \"RS256\" and \"ES256\" (never none or HMAC)",
				     algs[j]);
				strv_free(algs, na);
				return false;
			}
			p->algorithms |= 1u << a;
		}
		strv_free(algs, na);
		if (!load_idp_duration(ld, g, "max_clock_skew", 60, 600, &p->max_clock_skew_s) ||
		    !load_idp_duration(ld, g, "max_token_lifetime", 3600, 86400,
		                       &p->max_token_lifetime_s))
			return false;
		if (!p->max_token_lifetime_s) {
			fail(ld, member(g, "max_token_lifetime"), "must be more than 0s");
			return false;
		}
		long long mu;
		if (!get_int(ld, g, "max_uses", 1, 1000000, 1, &mu, NULL))
			return false;
		p->max_uses = (uint32_t)mu;
	}
	return true;
}

/* A role's claims = { repository_id = "123"; ref = [ "refs/tags/v*" ]; ... }. */
static bool load_role_claims(loader_t *ld, config_t *cfg, policy_role_t *r,
                             const config_setting_t *g)
{
	config_setting_t *pw, *cw = member(g, "claims");
	const char *pname;
	if (!get_str(ld, g, "identity_provider", false, &pname, &pw))
		return false;
	r->idp = 0;
	if (!pname && !cw)
		return true;
	if (!pname) {
		fail(ld, cw, "claims need identity_provider (whose tokens carry them)");
		return false;
	}
	for (size_t i = 0; i < cfg->n_idps; i++)
		if (!strcmp(cfg->idps[i].name, pname))
			r->idp = i + 1;
	if (!r->idp) {
		fail(ld, pw, "no identity provider '%s' under identity_providers", pname);
		return false;
	}
	if (!cw || config_setting_type(cw) != CONFIG_TYPE_GROUP || !config_setting_length(cw)) {
		fail(ld, cw ? cw : pw,
		     cw ? "must be a non-empty group { claim = \"value\"; ... }"
		        : "a role with identity_provider needs claims");
		return false;
	}
	if (r->credential) {
		fail(ld, pw, "a claim role cannot also have a credential");
		return false;
	}
	size_t n = (size_t)config_setting_length(cw);
	bool stable = false;
	if (!(r->claims = xcalloc(ld, n, sizeof *r->claims)))
		return false;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(cw, (unsigned)i);
		const char *cname = config_setting_name(e);
		int c = idtoken_claim_by_name(cname);
		policy_claim_match_t *m = &r->claims[i];
		if (cname && !strcmp(cname, "sub")) {
			fail(ld, e,
			     "sub is never matched: its format changes with environments and "
			     "organisation settings; match the claims it is made of");
			return false;
		}
		if (c < 0 || c >= IDC_MATCHABLE_COUNT) {
			fail(ld, e, "not a claim roles can match (see REFERENCE.md, claim roles)");
			return false;
		}
		m->claim = c;
		r->n_claims = i + 1;
		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			if (!(m->values = xcalloc(ld, 1, sizeof *m->values)) ||
			    !(m->values[0] = xstrdup(ld, config_setting_get_string(e))))
				return false;
			m->n_values = 1;
		} else if (!get_strlist(ld, cw, cname, true, &m->values, &m->n_values, NULL)) {
			return false;
		} else if (!m->n_values) {
			fail(ld, e, "must name at least one value");
			return false;
		}
		for (size_t j = 0; j < m->n_values; j++)
			if (!m->values[j][0] || strlen(m->values[j]) >= IDTOKEN_VALUE_MAX) {
				fail(ld, e, "values must be 1 to %d characters",
				     IDTOKEN_VALUE_MAX - 1);
				return false;
			}
		if (idtoken_claim_is_stable_id((idtoken_claim_t)c)) {
			for (size_t j = 0; j < m->n_values; j++)
				if (strpbrk(m->values[j], "*?[")) {
					fail(ld, e, "numeric ids are matched exactly, not by glob");
					return false;
				}
			stable = true;
		}
	}
	if (!stable) {
		fail(ld, cw,
		     "must name repository_id or repository_owner_id (GitHub), project_id "
		     "or namespace_id (GitLab): names can be re-registered, ids cannot");
		return false;
	}
	return true;
}

/* ---- approvers (issue 16) ------------------------------------------------ */

static bool load_approver_pem(loader_t *ld, const config_setting_t *s, const char *path,
                              config_approver_key_t *k)
{
	struct stat st;
	char buf[65537], why[160];
	if (stat(path, &st) < 0) {
		fail(ld, s, "cannot read public key %s: %s", path, strerror(errno));
		return false;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > 65536) {
		fail(ld, s, "public key %s is not a regular file of at most 64 KiB", path);
		return false;
	}
	FILE *f = fopen(path, "re");
	if (!f) {
		fail(ld, s, "cannot read public key %s: %s", path, strerror(errno));
		return false;
	}
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	if (!approval_pem_key_parse(buf, n, k, why, sizeof why)) {
		fail(ld, s, "%s: %s", path, why);
		return false;
	}
	return true;
}

static bool load_approvers(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "name", "users", "keys", NULL };
	static const char *const gallowed[] = { "name", "members", NULL };
	config_setting_t *l, *gl, *w;
	nmap_t names = { 0 }, gnames = { 0 };
	bool ok = false;
	char **sv = NULL;
	size_t sn = 0, n, gn;
	if (!get_list(ld, root, "approvers", &l, &n) ||
	    !get_list(ld, root, "approver_groups", &gl, &gn))
		return false;
	if (!(cfg->approvers = xcalloc(ld, n, sizeof *cfg->approvers)) ||
	    !nmap_init(ld, &names, n) ||
	    !(cfg->approver_groups = xcalloc(ld, gn, sizeof *cfg->approver_groups)) ||
	    !nmap_init(ld, &gnames, gn))
		goto out;
	for (size_t i = 0; i < n; i++) {
		config_approver_t *a = &cfg->approvers[i];
		config_setting_t *g = named_group(ld, l, i, allowed, "approver", &names,
		                                  &cfg->n_approvers, &a->name, &w);
		if (!g)
			goto out;
		a->line = (int)config_setting_source_line(g);
		if (!get_strlist(ld, g, "users", false, &a->users, &a->n_users, &w))
			goto out;
		if (!get_strlist(ld, g, "keys", true, &sv, &sn, &w))
			goto out;
		if (sn == 0) {
			fail(ld, w, "an approver needs at least one key");
			goto out;
		}
		if (!(a->keys = xcalloc(ld, sn, sizeof *a->keys)))
			goto out;
		for (size_t j = 0; j < sn; j++) {
			config_setting_t *e = config_setting_get_elem(w, (unsigned)j);
			char why[200];
			if (sv[j][0] == '/') {
				if (!check_abs_path(ld, e, sv[j]) ||
				    !load_approver_pem(ld, e, sv[j], &a->keys[j]))
					goto out;
			} else if (!approval_ssh_key_parse(sv[j], &a->keys[j], why, sizeof why)) {
				fail(ld, e,
				     "%s (an SSH public key line, or the absolute path of a PEM key)",
				     why);
				goto out;
			}
			a->n_keys = j + 1;
			for (size_t q = 0; q < i; q++)
				for (size_t r = 0; r < cfg->approvers[q].n_keys; r++)
					if (!memcmp(cfg->approvers[q].keys[r].fp, a->keys[j].fp,
					            32)) {
						fail(ld, e,
						     "key is also approver '%s''s: one key, one person",
						     cfg->approvers[q].name);
						goto out;
					}
		}
		strv_free(sv, sn);
		sv = NULL;
		sn = 0;
	}
	for (size_t i = 0; i < gn; i++) {
		config_approver_group_t *ag = &cfg->approver_groups[i];
		config_setting_t *g = named_group(ld, gl, i, gallowed, "approver group", &gnames,
		                                  &cfg->n_approver_groups, &ag->name, &w);
		if (!g)
			goto out;
		ag->line = (int)config_setting_source_line(g);
		if (!get_strlist(ld, g, "members", true, &sv, &sn, &w))
			goto out;
		if (!(ag->members = xcalloc(ld, sn, sizeof *ag->members)))
			goto out;
		for (size_t j = 0; j < sn; j++) {
			size_t idx = nmap_get(&names, sv[j]);
			if (idx == SIZE_MAX) {
				fail(ld, config_setting_get_elem(w, (unsigned)j),
				     "no approver named '%s'", sv[j]);
				goto out;
			}
			ag->members[ag->n_members++] = idx;
		}
		strv_free(sv, sn);
		sv = NULL;
		sn = 0;
	}
	ok = true;
out:
	strv_free(sv, sn);
	nmap_free(&names);
	nmap_free(&gnames);
	return ok;
}

/* `approvals = { count = 2; from = [ "release-managers" ]; max_age = "24h"; }` */
static bool load_rule_approvals(loader_t *ld, const config_t *cfg, policy_rule_t *r,
                                const config_setting_t *rg)
{
	static const char *const allowed[] = { "count", "from", "max_age", NULL };
	config_setting_t *g, *w;
	long long cnt;
	char **sv = NULL;
	size_t sn = 0;
	bool ok = false;
	if (!get_group(ld, rg, "approvals", allowed, &g))
		return false;
	if (!g)
		return true;
	if (!get_int_required(ld, g, "count", 1, 16, &cnt))
		return false;
	r->approvals_count = (uint32_t)cnt;
	if (!get_strlist(ld, g, "from", true, &sv, &sn, &w))
		goto out;
	if (sn == 0) {
		fail(ld, w, "name at least one approver group");
		goto out;
	}
	if (!(r->approvals_from = xcalloc(ld, sn, sizeof *r->approvals_from)))
		goto out;
	size_t members = 0;
	for (size_t j = 0; j < sn; j++) {
		size_t idx = SIZE_MAX;
		for (size_t q = 0; q < cfg->n_approver_groups; q++)
			if (!strcmp(cfg->approver_groups[q].name, sv[j]))
				idx = q;
		if (idx == SIZE_MAX) {
			fail(ld, config_setting_get_elem(w, (unsigned)j),
			     "no approver group named '%s'", sv[j]);
			goto out;
		}
		r->approvals_from[r->n_approvals_from++] = idx;
		members += cfg->approver_groups[idx].n_members;
	}
	if (members < r->approvals_count) {
		fail(ld, member(g, "count"),
		     "needs %u approvers, but the groups named have %zu members",
		     r->approvals_count, members);
		goto out;
	}
	if (!get_duration(ld, g, "max_age", false, "\"30s\", \"15m\", \"1h\", \"1d\"",
	                  &r->approvals_max_age_s))
		goto out;
	ok = true;
out:
	strv_free(sv, sn);
	return ok;
}

static void free_approvers(config_t *cfg)
{
	for (size_t i = 0; i < cfg->n_approvers; i++) {
		config_approver_t *a = &cfg->approvers[i];
		free(a->name);
		strv_free(a->users, a->n_users);
		for (size_t j = 0; j < a->n_keys; j++)
			EVP_PKEY_free(a->keys[j].pkey);
		free(a->keys);
	}
	free(cfg->approvers);
	for (size_t i = 0; i < cfg->n_approver_groups; i++) {
		free(cfg->approver_groups[i].name);
		free(cfg->approver_groups[i].members);
	}
	free(cfg->approver_groups);
}

/* ---- roles -------------------------------------------------------------- */

static bool parse_uint_id(const char *v, unsigned long *out)
{
	if (!isdigit((unsigned char)v[0]))
		return false;
	char *end;
	errno = 0;
	unsigned long n = strtoul(v, &end, 10);
	if (errno || *end || n >= 0xffffffffUL)
		return false;
	*out = n;
	return true;
}

static bool add_unresolved(loader_t *ld, policy_role_t *r, const char *what, const char *name)
{
	char **nv = realloc(r->unresolved, (r->n_unresolved + 1) * sizeof *nv);
	if (!nv) {
		fail(ld, NULL, "out of memory");
		return false;
	}
	r->unresolved = nv;
	size_t len = strlen(what) + strlen(name) + 2;
	if (!(nv[r->n_unresolved] = malloc(len))) {
		fail(ld, NULL, "out of memory");
		return false;
	}
	snprintf(nv[r->n_unresolved], len, "%s:%s", what, name);
	r->n_unresolved++;
	return true;
}

/* users or groups: names or numbers, in [ ] or ( ).  Names the system
 * does not know are kept in role.unresolved (reported by the tools:
 * offboarding lag), never an error: a removed account must not stop
 * every signature. */
_Static_assert(sizeof(uid_t) == sizeof(unsigned) && sizeof(gid_t) == sizeof(unsigned),
               "uids and gids are stored through one unsigned array");

#define ID_UNRESOLVED (SIZE_MAX - 1)

static bool load_ids(loader_t *ld, policy_role_t *r, const config_setting_t *g, bool groups,
                     nmap_t *cache)
{
	const char *key = groups ? "groups" : "users";
	config_setting_t *s = member(g, key);
	if (!s)
		return true;
	if (!is_list_like(s)) {
		fail(ld, s, "must be a list of names or numbers");
		return false;
	}
	size_t n = (size_t)config_setting_length(s);
	unsigned *ids = xcalloc(ld, n, sizeof(unsigned));
	char **names = xcalloc(ld, n, sizeof(char *));
	if (!ids || !names) {
		free(ids);
		free(names);
		return false;
	}
	if (groups) {
		r->gids = (gid_t *)(void *)ids;
		r->group_names = names;
	} else {
		r->uids = (uid_t *)(void *)ids;
		r->user_names = names;
	}
	size_t n_ids = 0, n_names = 0;
	char buf[4096];
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		int t = config_setting_type(e);
		char num[24];
		const char *name;
		unsigned long id;
		bool have_id = false;
		if (t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64) {
			long long v = config_setting_get_int64(e);
			if (v < 0 || v >= 0xffffffffLL) {
				fail(ld, e, "not a valid %s", groups ? "gid" : "uid");
				goto count; /* counts first: config_free frees what was made */
			}
			id = (unsigned long)v;
			have_id = true;
			snprintf(num, sizeof num, "%lu", id);
			name = num;
		} else if (t == CONFIG_TYPE_STRING) {
			name = config_setting_get_string(e);
			if (!name[0] || strlen(name) >= 64) {
				fail(ld, e, "must be a %s name or number",
				     groups ? "group" : "user");
				goto count; /* counts first: config_free frees what was made */
			}
			size_t cached = nmap_get(cache, name);
			if (parse_uint_id(name, &id)) {
				have_id = true;
			} else if (cached != SIZE_MAX) {
				/* the user database is slow (NSS): one lookup per name */
				have_id = cached != ID_UNRESOLVED;
				id = have_id ? (unsigned long)cached : 0;
			} else if (groups) {
				struct group gr, *res = NULL;
				if (getgrnam_r(name, &gr, buf, sizeof buf, &res) == 0 && res) {
					id = res->gr_gid;
					have_id = true;
				}
			} else {
				struct passwd pw, *res = NULL;
				if (getpwnam_r(name, &pw, buf, sizeof buf, &res) == 0 && res) {
					id = res->pw_uid;
					have_id = true;
				}
			}
			if (cached == SIZE_MAX && !parse_uint_id(name, &id))
				nmap_put(cache, config_setting_get_string(e),
				         have_id ? (size_t)id : ID_UNRESOLVED);
			if (!have_id && !add_unresolved(ld, r, groups ? "group" : "user", name))
				goto count; /* counts first: config_free frees what was made */
		} else {
			fail(ld, e, "must be a %s name or number", groups ? "group" : "user");
			goto count; /* counts first: config_free frees what was made */
		}
		if (!(names[n_names++] = xstrdup(ld, name)))
			goto count;
		if (have_id)
			ids[n_ids++] = (unsigned)id;
	}
count:
	if (groups) {
		r->n_gids = n_ids;
		r->n_group_names = n_names;
	} else {
		r->n_uids = n_ids;
		r->n_user_names = n_names;
	}
	return !ld->failed;
}

static bool parse_sha256_hex(const char *v, unsigned char out[32])
{
	size_t n;
	if (!strncasecmp(v, "sha256:", 7))
		v += 7;
	if (strlen(v) != 64 && strlen(v) != 95) /* plain or colon-separated */
		return false;
	return parse_hex(v, out, 32, &n) && n == 32;
}

static bool load_programs(loader_t *ld, policy_role_t *r, const config_setting_t *g)
{
	static const char *const allowed[] = { "path", "sha256", NULL };
	config_setting_t *s = member(g, "programs"), *w;
	if (!s)
		return true;
	if (!is_list_like(s)) {
		fail(ld, s, "must be a list of paths or ( { path = ...; sha256 = ...; } )");
		return false;
	}
	size_t n = (size_t)config_setting_length(s);
	if (!(r->programs = xcalloc(ld, n, sizeof *r->programs)))
		return false;
	for (size_t i = 0; i < n; i++) {
		config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		policy_program_t *p = &r->programs[i];
		const char *path = NULL, *sha = NULL;
		w = e;
		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			path = config_setting_get_string(e);
		} else if (config_setting_type(e) == CONFIG_TYPE_GROUP) {
			config_setting_t *ws;
			if (!check_members(ld, e, allowed) ||
			    !get_str(ld, e, "path", true, &path, &w) ||
			    !get_str(ld, e, "sha256", false, &sha, &ws))
				return false;
			if (sha && !parse_sha256_hex(sha, p->sha256)) {
				fail(ld, ws, "must be 64 hex digits (SHA-256 of the executable)");
				return false;
			}
			p->has_sha256 = sha != NULL;
		} else {
			fail(ld, e, "must be a path or { path = ...; sha256 = ...; }");
			return false;
		}
		if (!check_abs_path(ld, w, path) || !(p->path = xstrdup(ld, path)))
			return false;
		r->n_programs = i + 1;
	}
	return true;
}

/* pbkdf2-sha256$ITER$SALT_B64$HASH_B64: the same check as the engine's. */
static bool valid_credential(const char *v)
{
	return policy_credential_parse(v, NULL, NULL, NULL, NULL, NULL);
}

static bool load_roles(loader_t *ld, config_t *cfg, const config_setting_t *root, nmap_t *names)
{
	static const char *const allowed[] = { "name",     "users",      "groups",
		                               "programs", "credential", "identity_provider",
		                               "claims",   NULL };
	config_setting_t *l, *w;
	size_t n;
	if (!get_list(ld, root, "roles", &l, &n))
		return false;
	nmap_t user_cache = { 0 }, group_cache = { 0 };
	bool ok = false;
	if (!(cfg->roles = xcalloc(ld, n, sizeof *cfg->roles)) || !nmap_init(ld, names, n) ||
	    !nmap_init(ld, &user_cache, 16) || !nmap_init(ld, &group_cache, 16))
		goto out;
	for (size_t i = 0; i < n; i++) {
		policy_role_t *r = &cfg->roles[i];
		config_setting_t *g =
		        named_group(ld, l, i, allowed, "role", names, &cfg->n_roles, &r->name, &w);
		if (!g)
			goto out;
		r->line = config_setting_source_line(g);
		if (!load_ids(ld, r, g, false, &user_cache) ||
		    !load_ids(ld, r, g, true, &group_cache) || !load_programs(ld, r, g))
			goto out;
		if (!get_str_dup(ld, g, "credential", false, &r->credential, &w))
			goto out;
		if (r->credential && !valid_credential(r->credential)) {
			fail(ld, w,
			     "must be \"pbkdf2-sha256$ITERATIONS$SALT$HASH\" (make one with: signgate credential hash)");
			goto out;
		}
		if (!load_role_claims(ld, cfg, r, g))
			goto out;
		r->any_identity = !member(g, "users") && !member(g, "groups");
		if (r->any_identity && !r->n_programs && !r->credential && !r->idp) {
			fail(ld, g,
			     "role names no users, groups, programs or credential: it would match every caller");
			goto out;
		}
	}
	ok = true;
out:
	nmap_free(&user_cache);
	nmap_free(&group_cache);
	return ok;
}

/* ---- keys --------------------------------------------------------------- */

static bool load_time(loader_t *ld, const config_setting_t *g, const char *name, time_t *out)
{
	const char *v;
	config_setting_t *w;
	*out = 0;
	if (!get_str(ld, g, name, false, &v, &w))
		return false;
	if (v && !parse_rfc3339(v, out)) {
		fail(ld, w, "must be an RFC 3339 date-time such as \"2026-01-01T00:00:00Z\"");
		return false;
	}
	return true;
}

/* ecdsa_truncate = [ "SHA384" ]: raw CKM_ECDSA inputs of these hashes may
 * be longer than the key's curve order; the token then signs only their
 * leftmost bits (see REFERENCE.md, "What raw ECDSA hash policy proves").
 * Each must be a hash the key allows, on a key that lists ECDSA. */
static bool load_ecdsa_truncate(loader_t *ld, const config_setting_t *g, policy_key_t *k)
{
	char **v = NULL;
	size_t n = 0;
	config_setting_t *w;
	bool ok = get_strlist(ld, g, "ecdsa_truncate", false, &v, &n, &w);

	if (ok && w && !(k->mech_allowed & (1ull << MECH_ECDSA))) {
		fail(ld, w, "the key does not list mechanism ECDSA, the only one this applies to");
		ok = false;
	}
	for (size_t j = 0; ok && j < n; j++) {
		hash_alg_t h = hash_from_name(v[j]);
		if (h == HASH_UNKNOWN || h == HASH_NONE) {
			fail(ld, config_setting_get_elem(w, (unsigned)j), "unknown hash '%s'",
			     v[j]);
			ok = false;
		} else if (!(k->hash_allowed & (1u << h))) {
			fail(ld, config_setting_get_elem(w, (unsigned)j),
			     "hash %s is not in the key's 'hashes'", hash_name(h));
			ok = false;
		} else {
			k->ecdsa_truncate |= 1u << h;
		}
	}
	strv_free(v, n);
	return ok;
}

/* The mechanisms that can be listed for a use, for messages: "RSA-PKCS, ...". */
static void mech_names_for(unsigned use, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int m = MECH_UNKNOWN + 1; m < MECH_COUNT && off < len; m++)
		if (mech_uses((mech_id_t)m) & use) {
			int w = snprintf(buf + off, len - off, "%s%s", off ? ", " : "",
			                 mech_name((mech_id_t)m));
			if (w < 0)
				return;
			off += (size_t)w;
		}
}

/* A private-key use other than signing, granted by its own group on the
 * key: `decrypt = { mechanisms = [ "RSA-PKCS-OAEP" ]; };`.  Absent: not
 * granted (*out = 0).  Only mechanisms that can do the use are taken. */
static bool load_key_use(loader_t *ld, const config_setting_t *g, const char *name, unsigned use,
                         uint64_t *out)
{
	static const char *const allowed[] = { "mechanisms", NULL };
	config_setting_t *u, *wm;
	char **mv = NULL;
	size_t mn = 0;
	char can[160];
	bool ok;

	*out = 0;
	if (!get_group(ld, g, name, allowed, &u))
		return false;
	if (!u)
		return true;
	ok = get_strlist(ld, u, "mechanisms", true, &mv, &mn, &wm);
	for (size_t j = 0; ok && j < mn; j++) {
		mech_id_t m = mech_from_name(mv[j]);
		if (m == MECH_UNKNOWN) {
			fail(ld, config_setting_get_elem(wm, (unsigned)j), "unknown mechanism '%s'",
			     mv[j]);
			ok = false;
		} else if (!(mech_uses(m) & use)) {
			mech_names_for(use, can, sizeof can);
			fail(ld, config_setting_get_elem(wm, (unsigned)j),
			     "mechanism %s cannot %s (%s can)", mv[j], name, can);
			ok = false;
		} else {
			*out |= 1ull << m;
		}
	}
	if (ok && mn == 0) {
		fail(ld, wm, "empty: list the mechanisms the key may %s with, or omit '%s'", name,
		     name);
		ok = false;
	}
	strv_free(mv, mn);
	return ok;
}

static bool load_keys(loader_t *ld, config_t *cfg, const config_setting_t *root, nmap_t *names)
{
	static const char *const allowed[] = { "name",           "token",       "id",
		                               "label",          "fingerprint", "products",
		                               "mechanisms",     "hashes",      "not_before",
		                               "not_after",      "revoked",     "revoked_reason",
		                               "decrypt",        "unwrap",      "derive",
		                               "ecdsa_truncate", NULL };
	config_setting_t *l, *w;
	size_t n;
	if (!get_list(ld, root, "keys", &l, &n))
		return false;
	if (!(cfg->keys = xcalloc(ld, n, sizeof *cfg->keys)) || !nmap_init(ld, names, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		policy_key_t *k = &cfg->keys[i];
		const char *v;
		config_setting_t *g =
		        named_group(ld, l, i, allowed, "key", names, &cfg->n_keys, &k->name, &w);
		if (!g)
			return false;
		k->line = config_setting_source_line(g);
		if (!get_str_dup(ld, g, "token", true, &k->token, &w) ||
		    !check_token_name(ld, w, k->token))
			return false;
		if (!get_str(ld, g, "id", false, &v, &w))
			return false;
		if (v) {
			if (!parse_hex(v, k->id, sizeof k->id, &k->id_len)) {
				fail(ld, w,
				     "must be the CKA_ID in hex (\"01\", \"a1b2\"), at most 64 bytes");
				return false;
			}
			k->has_id = true;
		}
		if (!get_str_dup(ld, g, "label", false, &k->label, &w))
			return false;
		/* An empty label would match every unlabelled object; one longer
		 * than signgate reads of CKA_LABEL (keycache.h) would match none. */
		if (k->label && (!k->label[0] || strlen(k->label) > KEY_LABEL_MAX)) {
			fail(ld, w, "CKA_LABEL must be 1 to %d bytes", KEY_LABEL_MAX);
			return false;
		}
		if (!k->has_id && !k->label) {
			fail_missing(ld, g, "id");
			return false;
		}
		if (!get_str(ld, g, "fingerprint", false, &v, &w))
			return false;
		if (v) {
			if (strncasecmp(v, "sha256:", 7) || !parse_sha256_hex(v, k->fingerprint)) {
				fail(ld, w,
				     "must be \"sha256:\" and 64 hex digits (SHA-256 of the SubjectPublicKeyInfo DER)");
				return false;
			}
			k->has_fingerprint = true;
		}
		if (!get_strlist(ld, g, "products", false, &k->products, &k->n_products, &w))
			return false;
		for (size_t j = 0; j < k->n_products; j++)
			if (!check_name(ld, config_setting_get_elem(w, (unsigned)j),
			                k->products[j]))
				return false;

		/* decrypt, unwrap, derive: capabilities of their own, off unless
		 * the key has the group */
		if (!load_key_use(ld, g, "decrypt", MECH_USE_DECRYPT, &k->decrypt_mechs) ||
		    !load_key_use(ld, g, "unwrap", MECH_USE_UNWRAP, &k->unwrap_mechs) ||
		    !load_key_use(ld, g, "derive", MECH_USE_DERIVE, &k->derive_mechs))
			return false;
		bool other_use = k->decrypt_mechs || k->unwrap_mechs || k->derive_mechs;

		/* mechanisms (required, unless the key only decrypts, unwraps or
		 * derives) and hashes (default SHA-256/384/512) */
		char **mv = NULL, **hv = NULL;
		size_t mn = 0, hn = 0;
		config_setting_t *wm, *wh;
		bool ok = get_strlist(ld, g, "mechanisms", !other_use, &mv, &mn, &wm) &&
		          get_strlist(ld, g, "hashes", false, &hv, &hn, &wh);
		for (size_t j = 0; ok && j < mn; j++) {
			mech_id_t m = mech_from_name(mv[j]);
			if (m == MECH_UNKNOWN) {
				fail(ld, config_setting_get_elem(wm, (unsigned)j),
				     "unknown mechanism '%s'", mv[j]);
				ok = false;
			} else if (!(mech_uses(m) & MECH_USE_SIGN)) {
				fail(ld, config_setting_get_elem(wm, (unsigned)j),
				     "mechanism %s does not sign: list it in the key's decrypt, unwrap or derive group",
				     mv[j]);
				ok = false;
			} else {
				k->mech_allowed |= 1ull << m;
			}
		}
		/* Raw RSA decryption or unwrapping is the signing primitive
		 * itself: on a key that signs only through hashed or padded
		 * mechanisms it would sign anything, past the hash policy. */
		if (ok && k->mech_allowed && !(k->mech_allowed & (1ull << MECH_RSA_X_509)) &&
		    ((k->decrypt_mechs | k->unwrap_mechs) & (1ull << MECH_RSA_X_509))) {
			const char *use =
			        k->decrypt_mechs & (1ull << MECH_RSA_X_509) ? "decrypt" : "unwrap";
			fail(ld, member(g, use),
			     "RSA-X-509 %s is a raw RSA signature: on a key that signs, list RSA-X-509 in "
			     "'mechanisms' too (accepting any input) or do not grant it",
			     use);
			ok = false;
		}
		if (ok && wm && mn == 0) {
			fail(ld, wm,
			     other_use ? "empty: list the signing mechanisms, or omit 'mechanisms' "
			                 "(the key then does not sign)"
			               : "empty: list the mechanisms this key may be used with");
			ok = false;
		}
		for (size_t j = 0; ok && j < hn; j++) {
			hash_alg_t h = hash_from_name(hv[j]);
			if (h == HASH_UNKNOWN || h == HASH_NONE) {
				fail(ld, config_setting_get_elem(wh, (unsigned)j),
				     "unknown hash '%s'", hv[j]);
				ok = false;
			} else {
				k->hash_allowed |= 1u << h;
			}
		}
		if (ok && !wh)
			k->hash_allowed = 1u << HASH_SHA256 | 1u << HASH_SHA384 | 1u << HASH_SHA512;
		if (ok && wh && hn == 0) {
			fail(ld, wh, "empty: list the hashes, or omit for SHA256, SHA384, SHA512");
			ok = false;
		}
		/* A listed mechanism whose own hash is not allowed could never be
		 * used: say so now rather than deny at signing time. */
		for (size_t j = 0; ok && j < mn; j++) {
			hash_alg_t fh = mech_fixed_hash(mech_from_name(mv[j]));
			if (fh != HASH_UNKNOWN && fh != HASH_NONE &&
			    !(k->hash_allowed & (1u << fh))) {
				fail(ld, config_setting_get_elem(wm, (unsigned)j),
				     "mechanism %s hashes with %s, which 'hashes' does not allow",
				     mv[j], hash_name(fh));
				ok = false;
			}
		}
		strv_free(mv, mn);
		strv_free(hv, hn);
		if (!ok || !load_ecdsa_truncate(ld, g, k))
			return false;

		if (!load_time(ld, g, "not_before", &k->not_before) ||
		    !load_time(ld, g, "not_after", &k->not_after))
			return false;
		if (k->not_before && k->not_after && k->not_after <= k->not_before) {
			fail(ld, member(g, "not_after"), "must be later than not_before");
			return false;
		}
		if (!get_bool(ld, g, "revoked", false, &k->revoked) ||
		    !get_str_dup(ld, g, "revoked_reason", false, &k->revoked_reason, &w))
			return false;
		if (k->revoked_reason && !k->revoked) {
			fail(ld, w, "revoked_reason without revoked = true");
			return false;
		}
	}
	return true;
}

/* ---- rules -------------------------------------------------------------- */

/* product -> keys, built once so that rules expand products in O(keys). */
typedef struct product_index {
	nmap_t map; /* product -> slot */
	size_t *start, *count, *keys;
} product_index_t;

static bool product_index_build(loader_t *ld, const config_t *cfg, product_index_t *pi)
{
	size_t total = 0, slots = 0;
	for (size_t i = 0; i < cfg->n_keys; i++)
		total += cfg->keys[i].n_products;
	if (!nmap_init(ld, &pi->map, total) || !(pi->start = xcalloc(ld, total, sizeof(size_t))) ||
	    !(pi->count = xcalloc(ld, total, sizeof(size_t))) ||
	    !(pi->keys = xcalloc(ld, total, sizeof(size_t))))
		return false;
	for (size_t i = 0; i < cfg->n_keys; i++)
		for (size_t j = 0; j < cfg->keys[i].n_products; j++) {
			size_t s = nmap_put(&pi->map, cfg->keys[i].products[j], slots);
			if (s == SIZE_MAX)
				s = slots++;
			pi->count[s]++;
		}
	size_t off = 0;
	for (size_t s = 0; s < slots; s++) {
		pi->start[s] = off;
		off += pi->count[s];
		pi->count[s] = 0;
	}
	for (size_t i = 0; i < cfg->n_keys; i++)
		for (size_t j = 0; j < cfg->keys[i].n_products; j++) {
			size_t s = nmap_get(&pi->map, cfg->keys[i].products[j]);
			if (pi->count[s] && pi->keys[pi->start[s] + pi->count[s] - 1] == i)
				continue; /* product listed twice on one key */
			pi->keys[pi->start[s] + pi->count[s]++] = i;
		}
	return true;
}

static void product_index_free(product_index_t *pi)
{
	nmap_free(&pi->map);
	free(pi->start);
	free(pi->count);
	free(pi->keys);
}

static bool load_quota(loader_t *ld, policy_rule_t *r, const config_setting_t *g)
{
	static const char *const allowed[] = { "count", "period", "per", NULL };
	static const char *const pers[] = { "caller", "rule" };
	config_setting_t *q;
	long long n;
	size_t per;
	if (!get_group(ld, g, "quota", allowed, &q))
		return false;
	if (!q)
		return true;
	if (!get_int_required(ld, q, "count", 1, 1000000000, &n))
		return false;
	r->quota_count = (uint32_t)n;
	if (!get_duration(ld, q, "period", true, "\"30s\", \"15m\", \"1h\", \"1d\", \"7d\"",
	                  &r->quota_period_s) ||
	    !get_choice(ld, q, "per", pers, 2, 0, &per))
		return false;
	r->quota_scope = per == 1 ? QUOTA_PER_RULE : QUOTA_PER_CALLER;
	return true;
}

/* A rule that grants decrypt, unwrap or derive where none of its keys
 * allows that use could never take effect: refuse it rather than let an
 * administrator believe the use is granted. */
static bool rule_use_possible(loader_t *ld, const config_t *cfg, const policy_rule_t *r,
                              const config_setting_t *g)
{
	static const char *const uses[] = { "decrypt", "unwrap", "derive" };
	const bool granted[] = { r->decrypt, r->unwrap, r->derive };
	for (size_t u = 0; u < 3; u++) {
		if (!granted[u])
			continue;
		size_t n = r->all_keys ? cfg->n_keys : r->n_keys;
		bool some = false;
		for (size_t j = 0; !some && j < n; j++) {
			const policy_key_t *k = &cfg->keys[r->all_keys ? j : r->keys[j]];
			uint64_t m = u == 0   ? k->decrypt_mechs
			             : u == 1 ? k->unwrap_mechs
			                      : k->derive_mechs;
			some = m != 0;
		}
		if (!some) {
			fail(ld, member(g, uses[u]),
			     "no key of this rule allows %s: give the key a '%s = { "
			     "mechanisms = [ ... ]; }' group",
			     uses[u], uses[u]);
			return false;
		}
	}
	return true;
}

static bool load_rules(loader_t *ld, config_t *cfg, const config_setting_t *root,
                       const nmap_t *role_names, const nmap_t *key_names)
{
	static const char *const allowed[] = { "name",
		                               "roles",
		                               "keys",
		                               "products",
		                               "all_keys",
		                               "sign",
		                               "admin",
		                               "days",
		                               "hours",
		                               "timezone",
		                               "quota",
		                               "checks",
		                               "max_ticket_age",
		                               "require_ticket",
		                               "ticket_commit_is_token_sha",
		                               "decrypt",
		                               "unwrap",
		                               "derive",
		                               "approvals",
		                               NULL };
	config_setting_t *l, *w;
	size_t n;
	nmap_t names = { 0 };
	product_index_t pi = { 0 };
	size_t *mark = NULL;
	char **sv = NULL;
	size_t sn = 0;
	bool ok = false;
	if (!get_list(ld, root, "rules", &l, &n))
		return false;
	if (!(cfg->rules = xcalloc(ld, n, sizeof *cfg->rules)) || !nmap_init(ld, &names, n) ||
	    !product_index_build(ld, cfg, &pi) || !(mark = xcalloc(ld, cfg->n_keys, sizeof *mark)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		policy_rule_t *r = &cfg->rules[i];
		const char *v;
		config_setting_t *g =
		        named_group(ld, l, i, allowed, "rule", &names, &cfg->n_rules, &r->name, &w);
		if (!g)
			goto out;
		r->line = config_setting_source_line(g);

		/* roles */
		if (!get_strlist(ld, g, "roles", true, &sv, &sn, &w))
			goto out;
		if (sn == 0) {
			fail(ld, w, "empty: name the roles this rule applies to");
			goto out;
		}
		if (!(r->roles = xcalloc(ld, sn, sizeof *r->roles)))
			goto out;
		for (size_t j = 0; j < sn; j++) {
			size_t ri = nmap_get(role_names, sv[j]);
			if (ri == SIZE_MAX) {
				fail(ld, config_setting_get_elem(w, (unsigned)j),
				     "undefined role '%s'", sv[j]);
				goto out;
			}
			bool dup = false;
			for (size_t k = 0; k < r->n_roles; k++)
				dup |= r->roles[k] == ri;
			if (!dup)
				r->roles[r->n_roles++] = ri;
		}
		strv_free(sv, sn);
		sv = NULL;

		/* keys, products, all_keys */
		config_setting_t *wk, *wp;
		if (!get_strlist(ld, g, "keys", false, &sv, &sn, &wk) ||
		    !get_strlist(ld, g, "products", false, &r->products, &r->n_products, &wp) ||
		    !get_bool(ld, g, "all_keys", false, &r->all_keys))
			goto out;
		size_t cap = sn;
		for (size_t j = 0; j < r->n_products; j++) {
			size_t s = nmap_get(&pi.map, r->products[j]);
			if (s == SIZE_MAX) {
				fail(ld, config_setting_get_elem(wp, (unsigned)j),
				     "product '%s' has no keys", r->products[j]);
				goto out;
			}
			cap += pi.count[s];
		}
		if (!(r->keys = xcalloc(ld, cap, sizeof *r->keys)))
			goto out;
		for (size_t j = 0; j < sn; j++) {
			size_t ki = nmap_get(key_names, sv[j]);
			if (ki == SIZE_MAX) {
				fail(ld, config_setting_get_elem(wk, (unsigned)j),
				     "undefined key '%s'", sv[j]);
				goto out;
			}
			if (mark[ki] != i + 1) {
				mark[ki] = i + 1;
				r->keys[r->n_keys++] = ki;
			}
		}
		for (size_t j = 0; j < r->n_products; j++) {
			size_t s = nmap_get(&pi.map, r->products[j]);
			for (size_t k = 0; k < pi.count[s]; k++) {
				size_t ki = pi.keys[pi.start[s] + k];
				if (mark[ki] != i + 1) {
					mark[ki] = i + 1;
					r->keys[r->n_keys++] = ki;
				}
			}
		}
		strv_free(sv, sn);
		sv = NULL;
		if (!r->n_keys && !r->all_keys) {
			fail(ld, g, "rule grants no key: name keys, products or all_keys = true");
			goto out;
		}

		/* capabilities */
		if (!get_bool(ld, g, "sign", true, &r->sign) ||
		    !get_bool(ld, g, "admin", false, &r->admin) ||
		    !get_bool(ld, g, "decrypt", false, &r->decrypt) ||
		    !get_bool(ld, g, "unwrap", false, &r->unwrap) ||
		    !get_bool(ld, g, "derive", false, &r->derive))
			goto out;
		if (!r->sign && !r->admin && !r->decrypt && !r->unwrap && !r->derive) {
			fail(ld, g,
			     "rule grants nothing: sign, admin, decrypt, unwrap and derive are all false");
			goto out;
		}
		if (!rule_use_possible(ld, cfg, r, g))
			goto out;

		/* time window */
		r->days = 0x7f;
		if (!get_strlist(ld, g, "days", false, &sv, &sn, &w))
			goto out;
		if (w) {
			r->days = 0;
			for (size_t j = 0; j < sn; j++) {
				int d = parse_day(sv[j]);
				if (d < 0) {
					fail(ld, config_setting_get_elem(w, (unsigned)j),
					     "unknown day '%s' (Mon, Tue, Wed, Thu, Fri, Sat, Sun)",
					     sv[j]);
					goto out;
				}
				r->days |= (uint8_t)(1u << d);
			}
			if (!r->days) {
				fail(ld, w,
				     "empty: the rule could never apply (omit for every day)");
				goto out;
			}
		}
		strv_free(sv, sn);
		sv = NULL;
		r->minute_from = r->minute_to = -1;
		if (!get_str(ld, g, "hours", false, &v, &w))
			goto out;
		if (v && !parse_hours(v, &r->minute_from, &r->minute_to)) {
			fail(ld, w,
			     "must be \"HH:MM-HH:MM\" (24-hour clock; from before to, or across midnight)");
			goto out;
		}
		if (!get_str(ld, g, "timezone", false, &v, &w))
			goto out;
		if (v && !parse_tz(v, &r->tz_offset_min)) {
			fail(ld, w,
			     "must be \"UTC\" or a fixed offset \"+HH:MM\" / \"-HH:MM\" "
			     "(zone names such as Europe/Berlin are not supported)");
			goto out;
		}
		if (!(r->tz_name = xstrdup(ld, v ? v : "UTC")))
			goto out;

		if (!load_quota(ld, r, g))
			goto out;

		/* validation tickets */
		if (!get_strlist(ld, g, "checks", false, &r->checks, &r->n_checks, &w))
			goto out;
		for (size_t j = 0; j < r->n_checks; j++)
			if (!check_name(ld, config_setting_get_elem(w, (unsigned)j), r->checks[j]))
				goto out;
		if (!get_duration(ld, g, "max_ticket_age", false,
		                  "\"30s\", \"15m\", \"1h\", \"1d\"", &r->max_ticket_age_s))
			goto out;
		bool req_set = member(g, "require_ticket") != NULL;
		if (!get_bool(ld, g, "require_ticket", false, &r->require_ticket))
			goto out;
		if (req_set && !r->require_ticket && (r->n_checks || r->max_ticket_age_s)) {
			fail(ld, member(g, "require_ticket"),
			     "false contradicts checks / max_ticket_age, which need a ticket");
			goto out;
		}
		if (!get_bool(ld, g, "ticket_commit_is_token_sha", false,
		              &r->ticket_commit_is_token_sha))
			goto out;
		if (r->ticket_commit_is_token_sha && req_set && !r->require_ticket) {
			fail(ld, member(g, "require_ticket"),
			     "false contradicts ticket_commit_is_token_sha");
			goto out;
		}
		if (r->n_checks || r->max_ticket_age_s || r->ticket_commit_is_token_sha)
			r->require_ticket = true;
		if (r->require_ticket && !cfg->n_validators) {
			fail(ld, g,
			     "rule requires a validation ticket, but no validators are configured");
			goto out;
		}
		if (!load_rule_approvals(ld, cfg, r, g))
			goto out;
	}
	ok = true;
out:
	strv_free(sv, sn);
	nmap_free(&names);
	product_index_free(&pi);
	free(mark);
	return ok;
}

static bool load_policy(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	nmap_t roles = { 0 }, keys = { 0 };
	bool ok = load_validators(ld, cfg, root) && load_idps(ld, cfg, root) &&
	          load_approvers(ld, cfg, root) && load_roles(ld, cfg, root, &roles) &&
	          load_keys(ld, cfg, root, &keys) && load_rules(ld, cfg, root, &roles, &keys);
	nmap_free(&roles);
	nmap_free(&keys);
	return ok;
}

/* ---- text checks before libconfig sees it ------------------------------ */

/* libconfig would follow @include to another file, whose ownership and
 * contents we never checked; a NUL would silently truncate the text. */
static bool prescan(loader_t *ld, const char *text, size_t len)
{
	unsigned line = 1;
	bool at_line_start = true;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '\0') {
			if (ld->err && ld->errlen)
				snprintf(ld->err, ld->errlen, "%s:%u: NUL byte in config", ld->name,
				         line);
			ld->failed = true;
			return false;
		}
		if (c == '\n') {
			line++;
			at_line_start = true;
			continue;
		}
		if (at_line_start && (c == ' ' || c == '\t' || c == '\r'))
			continue;
		if (at_line_start && c == '@' && len - i >= 8 &&
		    !strncasecmp(text + i, "@include", 8)) {
			if (ld->err && ld->errlen)
				snprintf(
				        ld->err, ld->errlen,
				        "%s:%u: @include is not allowed (one file holds the whole config)",
				        ld->name, line);
			ld->failed = true;
			return false;
		}
		at_line_start = false;
	}
	return true;
}

/* libconfig says only "duplicate setting name": find which one.  The
 * duplicate is an identifier on that line, assigned with '=' or ':',
 * that was already assigned earlier in the text. */
static bool is_ident_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '*';
}

static size_t assignment_at(const char *text, size_t i, size_t len)
{
	if (!(isalpha((unsigned char)text[i]) || text[i] == '*') ||
	    (i > 0 && is_ident_char((unsigned char)text[i - 1])))
		return 0;
	size_t e = i;
	while (e < len && is_ident_char((unsigned char)text[e]))
		e++;
	size_t j = e;
	while (j < len && (text[j] == ' ' || text[j] == '\t'))
		j++;
	return j < len && (text[j] == '=' || text[j] == ':') ? e - i : 0;
}

static void duplicate_name(const char *text, size_t len, int line, char *out, size_t outlen)
{
	size_t start = 0;
	out[0] = '\0';
	for (int l = 1; l < line && start < len; start++)
		if (text[start] == '\n')
			l++;
	for (size_t i = start; i < len && text[i] != '\n'; i++) {
		size_t n = assignment_at(text, i, len);
		if (!n)
			continue;
		for (size_t k = 0; k < i; k++)
			if (assignment_at(text, k, i) == n && !memcmp(text + k, text + i, n)) {
				snprintf(out, outlen, "%.*s", (int)n, text + i);
				return;
			}
		i += n - 1;
	}
}

static config_t *load_text(const char *text, size_t len, const char *name, bool check_owner,
                           char *err, size_t errlen)
{
	loader_t ld = { .name = name, .err = err, .errlen = errlen, .check_owner = check_owner };
	if (err && errlen)
		err[0] = '\0';
	if (!prescan(&ld, text, len))
		return NULL;

	/* config_read_string needs a NUL-terminated copy. */
	char *copy = malloc(len + 1);
	if (!copy) {
		fail(&ld, NULL, "out of memory");
		return NULL;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';

	lc_config_t lc;
	config_init(&lc);
	config_set_options(&lc, 0); /* no auto-conversion between types */
	config_t *cfg = NULL;
	if (config_read_string(&lc, copy) != CONFIG_TRUE) {
		const char *msg = config_error_text(&lc) ? config_error_text(&lc) : "syntax error";
		char dup[64];
		if (!strcmp(msg, "duplicate setting name") &&
		    (duplicate_name(copy, len, config_error_line(&lc), dup, sizeof dup), dup[0])) {
			if (err && errlen)
				snprintf(err, errlen, "%s:%d: setting '%s': duplicate setting",
				         name, config_error_line(&lc), dup);
		} else if (err && errlen) {
			snprintf(err, errlen, "%s:%d: %s", name, config_error_line(&lc), msg);
		}
		goto out;
	}
	cfg = calloc(1, sizeof *cfg);
	if (!cfg || !(cfg->path = strdup(name))) {
		fail(&ld, NULL, "out of memory");
		goto fail;
	}
	if (!load_top(&ld, cfg, config_root_setting(&lc)))
		goto fail;
	cfg->policy = policy_build(cfg, err, errlen);
	if (!cfg->policy) {
		ld.failed = true;
		goto fail;
	}
	goto out;
fail:
	config_free(cfg);
	cfg = NULL;
out:
	config_destroy(&lc);
	free(copy);
	return cfg;
}

/* ---- public ----------------------------------------------------------- */

const char *config_path_choose(const char *init_reserved)
{
	/* secure_getenv: a setuid program loading the module must not let its
	 * invoker choose the policy. */
	const char *env = secure_getenv("SIGNGATE_CONF");
	if (env && env[0])
		return env;
	if (init_reserved && init_reserved[0])
		return init_reserved;
	return CONFIG_DEFAULT_PATH;
}

config_t *config_load_string(const char *text, const char *name, char *err, size_t errlen)
{
	if (!text)
		text = "";
	return load_text(text, strlen(text), name ? name : "<string>", true, err, errlen);
}

config_t *config_load(const char *path, bool check_owner, char *err, size_t errlen)
{
	loader_t ld = { .name = path ? path : "(null)", .err = err, .errlen = errlen };
	config_t *cfg = NULL;
	char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		fail(&ld, NULL, "no config path");
		return NULL;
	}
	/* Same checks as every other file the module trusts: secure_open.c */
	if (!secure_read_file(path, check_owner ? 0 : SECURE_OPEN_ANY_OWNER, CONFIG_MAX_BYTES, &buf,
	                      &len, &st, err, errlen))
		goto out;
	cfg = load_text(buf, len, path, check_owner, err, errlen);
	if (!cfg)
		goto out;
	unsigned int mdlen = 0;
	if (!EVP_Digest(buf, len, cfg->sha256, &mdlen, EVP_sha256(), NULL)) {
		config_free(cfg);
		cfg = NULL;
		fail(&ld, NULL, "cannot hash the config");
		goto out;
	}
	cfg->mtime = st.st_mtim.tv_sec;
	cfg->mtime_ns = st.st_mtim.tv_nsec;
	cfg->ctime = st.st_ctim.tv_sec;
	cfg->ctime_ns = st.st_ctim.tv_nsec;
	cfg->dev = st.st_dev;
	cfg->ino = st.st_ino;
	cfg->size = st.st_size;
out:
	free(buf);
	if (cfg)
		SG_DEBUG(SG_DBG_CONFIG, "%s loaded: %zu roles, %zu keys, %zu rules, %zu validators",
		         path, cfg->n_roles, cfg->n_keys, cfg->n_rules, cfg->n_validators);
	else
		SG_DEBUG(SG_DBG_CONFIG, "%s refused: %s", path, err && errlen ? err : "?");
	return cfg;
}

static void free_policy_parts(config_t *cfg)
{
	for (size_t i = 0; i < cfg->n_idps; i++) {
		free(cfg->idps[i].name);
		free(cfg->idps[i].issuer);
		free(cfg->idps[i].audience);
		free(cfg->idps[i].jwks_path);
		idtoken_jwks_free(cfg->idps[i].keys, cfg->idps[i].n_keys);
	}
	free(cfg->idps);
	for (size_t i = 0; i < cfg->n_validators; i++) {
		free(cfg->validators[i].name);
		free(cfg->validators[i].public_key_path);
		EVP_PKEY_free(cfg->validators[i].pkey);
	}
	free(cfg->validators);
	for (size_t i = 0; i < cfg->n_roles; i++) {
		policy_role_t *r = &cfg->roles[i];
		free(r->name);
		free(r->uids);
		strv_free(r->user_names, r->n_user_names);
		free(r->gids);
		strv_free(r->group_names, r->n_group_names);
		for (size_t j = 0; j < r->n_programs; j++)
			free(r->programs[j].path);
		free(r->programs);
		free(r->credential);
		strv_free(r->unresolved, r->n_unresolved);
		for (size_t j = 0; j < r->n_claims; j++)
			strv_free(r->claims[j].values, r->claims[j].n_values);
		free(r->claims);
	}
	free(cfg->roles);
	for (size_t i = 0; i < cfg->n_keys; i++) {
		policy_key_t *k = &cfg->keys[i];
		free(k->name);
		free(k->token);
		free(k->label);
		strv_free(k->products, k->n_products);
		free(k->revoked_reason);
	}
	free(cfg->keys);
	for (size_t i = 0; i < cfg->n_rules; i++) {
		policy_rule_t *r = &cfg->rules[i];
		free(r->name);
		free(r->roles);
		free(r->keys);
		strv_free(r->products, r->n_products);
		free(r->tz_name);
		strv_free(r->checks, r->n_checks);
		free(r->approvals_from);
	}
	free(cfg->rules);
	free_approvers(cfg);
}

void config_free(config_t *cfg)
{
	if (!cfg)
		return;
	policy_free(cfg->policy);
	free_policy_parts(cfg);
	free(cfg->path);
	free(cfg->backend.module);
	strv_free(cfg->backend.tokens, cfg->backend.n_tokens);
	free(cfg->backend.pin_file);
	free(cfg->backend.init_args);
	free(cfg->audit.ident);
	free(cfg->audit.socket_path);
	free(cfg->audit.journal);
	free(cfg->audit.mac_key);
	free(cfg->audit.checkpoint_key);
	free(cfg->state_dir);
	free(cfg->state.dir);
	free(cfg->state.conninfo_file);
	free(cfg);
}

bool config_parse_rfc3339(const char *s, time_t *out)
{
	return s && out && parse_rfc3339(s, out);
}

bool config_parse_duration(const char *s, uint32_t *out_seconds)
{
	return s && out_seconds && parse_duration(s, out_seconds);
}

bool config_changed(const config_t *cfg)
{
	struct stat st;
	if (!cfg || !cfg->path || stat(cfg->path, &st) < 0)
		return true;
	/* A pinned JWKS that changed reloads the whole config, so that keys
	 * and policy are swapped together. */
	for (size_t i = 0; i < cfg->n_idps; i++) {
		const config_idp_t *p = &cfg->idps[i];
		struct stat js;
		if (stat(p->jwks_path, &js) < 0 || js.st_mtim.tv_sec != p->jwks_mtime ||
		    js.st_mtim.tv_nsec != p->jwks_mtime_ns || js.st_ctim.tv_sec != p->jwks_ctime ||
		    js.st_ctim.tv_nsec != p->jwks_ctime_ns || js.st_dev != p->jwks_dev ||
		    js.st_ino != p->jwks_ino || js.st_size != p->jwks_size)
			return true;
	}
	return st.st_mtim.tv_sec != cfg->mtime || st.st_mtim.tv_nsec != cfg->mtime_ns ||
	       st.st_ctim.tv_sec != cfg->ctime || st.st_ctim.tv_nsec != cfg->ctime_ns ||
	       st.st_dev != cfg->dev || st.st_ino != cfg->ino || st.st_size != cfg->size;
}

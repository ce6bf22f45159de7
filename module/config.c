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

#include "config.h"
#include "policy.h"

#define CONFIG_MAX_BYTES (64u * 1024u * 1024u)
#define AUDIT_IDENT_MAX 48

/* The loader's context: where messages go, and whether one was written
 * (the first error wins; later ones would only be consequences). */
typedef struct loader {
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
} loader_t;

static void path_of(const config_setting_t *s, char *buf, size_t len)
{
	const config_setting_t *chain[32];
	size_t n = 0;
	for (const config_setting_t *p = s; p && n < 32; p = config_setting_parent(p)) {
		if (!config_setting_parent(p))
			break;  /* the root has no name */
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
	snprintf(ld->err, ld->errlen, "%s:%u: setting '%s%s%s': required setting missing",
	         ld->name, (unsigned)config_setting_source_line(group), path,
	         path[0] ? "." : "", member);
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

static bool get_bool(loader_t *ld, const config_setting_t *g, const char *name, bool dflt, bool *out)
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

/* ---- backend, state_dir, mode, audit ----------------------------------- */

static bool load_backend(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "module", "tokens", "pin_file", NULL };
	config_setting_t *g = member(root, "backend"), *w;
	if (!g) {
		fail_missing(ld, root, "backend");
		return false;
	}
	if (!want_group(ld, g) || !check_members(ld, g, allowed))
		return false;
	if (!get_str_dup(ld, g, "module", true, &cfg->backend.module, &w) ||
	    !check_abs_path(ld, w, cfg->backend.module))
		return false;
	if (!get_strlist(ld, g, "tokens", false, &cfg->backend.tokens, &cfg->backend.n_tokens, &w))
		return false;
	if (w && cfg->backend.n_tokens == 0) {
		fail(ld, w, "empty list: name at least one token, or omit the setting to expose all");
		return false;
	}
	for (size_t i = 0; i < cfg->backend.n_tokens; i++)
		if (!cfg->backend.tokens[i][0] || strlen(cfg->backend.tokens[i]) > 32) {
			fail(ld, config_setting_get_elem(w, (unsigned)i),
			     "token label or serial must be 1 to 32 characters");
			return false;
		}
	if (!get_str_dup(ld, g, "pin_file", false, &cfg->backend.pin_file, &w))
		return false;
	if (cfg->backend.pin_file && !check_abs_path(ld, w, cfg->backend.pin_file))
		return false;
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

static bool load_audit(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "enabled", "required", "format", "cee", "rfc5424",
		                               "facility", "ident", "socket", "timeout_ms", NULL };
	config_audit_t *a = &cfg->audit;
	a->enabled = true;
	a->required = true;
	a->format = AUDIT_FORMAT_JSON;
	a->facility = LOG_AUTHPRIV;
	a->timeout_ms = 200;
	config_setting_t *g = member(root, "audit"), *w;
	const char *v;
	long long n;
	if (g && (!want_group(ld, g) || !check_members(ld, g, allowed)))
		return false;
	if (g) {
		if (!get_bool(ld, g, "enabled", true, &a->enabled) ||
		    !get_bool(ld, g, "required", true, &a->required) ||
		    !get_bool(ld, g, "cee", false, &a->cee) ||
		    !get_bool(ld, g, "rfc5424", false, &a->rfc5424))
			return false;
		if (!get_str(ld, g, "format", false, &v, &w))
			return false;
		if (v) {
			if (!strcmp(v, "json"))
				a->format = AUDIT_FORMAT_JSON;
			else if (!strcmp(v, "cef"))
				a->format = AUDIT_FORMAT_CEF;
			else if (!strcmp(v, "logfmt"))
				a->format = AUDIT_FORMAT_LOGFMT;
			else {
				fail(ld, w, "must be \"json\", \"cef\" or \"logfmt\"");
				return false;
			}
		}
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
				fail(ld, w, "unknown facility (auth, authpriv, daemon, user, local0..local7)");
				return false;
			}
		}
		if (!get_str(ld, g, "ident", false, &v, &w))
			return false;
		if (v) {
			size_t len = strlen(v);
			bool ok = len > 0 && len <= AUDIT_IDENT_MAX;
			for (size_t i = 0; ok && i < len; i++)
				if (!isgraph((unsigned char)v[i]) || v[i] == '[' || v[i] == ']' || v[i] == ':')
					ok = false;
			if (!ok) {
				fail(ld, w, "must be 1 to %d printable characters without spaces, ':' or brackets",
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
			if (strlen(v) >= 108) {  /* sizeof(sockaddr_un.sun_path) */
				fail(ld, w, "socket path longer than 107 bytes");
				return false;
			}
			if (!(a->socket_path = xstrdup(ld, v)))
				return false;
		}
		if (!get_int(ld, g, "timeout_ms", 1, 60000, 200, &n, NULL))
			return false;
		a->timeout_ms = (int)n;
	}
	if (!a->ident && !(a->ident = xstrdup(ld, "signgate")))
		return false;
	if (!a->socket_path && !(a->socket_path = xstrdup(ld, "/dev/log")))
		return false;
	return true;
}

static bool load_top(loader_t *ld, config_t *cfg, const config_setting_t *root)
{
	static const char *const allowed[] = { "backend", "state_dir", "mode", "audit",
		                               "validators", "roles", "keys", "rules", NULL };
	config_setting_t *w;
	const char *v;
	if (!check_members(ld, root, allowed))
		return false;
	if (!load_backend(ld, cfg, root))
		return false;
	if (!get_str(ld, root, "state_dir", false, &v, &w))
		return false;
	if (v && !check_abs_path(ld, w, v))
		return false;
	if (!(cfg->state_dir = xstrdup(ld, v ? v : "/var/lib/signgate")))
		return false;
	if (!get_str(ld, root, "mode", false, &v, &w))
		return false;
	cfg->mode = CONFIG_MODE_IN_PROCESS;
	if (v) {
		if (!strcmp(v, "in-process"))
			cfg->mode = CONFIG_MODE_IN_PROCESS;
		else if (!strcmp(v, "broker"))
			cfg->mode = CONFIG_MODE_BROKER;
		else if (!strcmp(v, "auto"))
			cfg->mode = CONFIG_MODE_AUTO;
		else {
			fail(ld, w, "must be \"in-process\", \"broker\" or \"auto\"");
			return false;
		}
	}
	if (!load_audit(ld, cfg, root))
		return false;
	return true;
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
				snprintf(ld->err, ld->errlen, "%s:%u: NUL byte in config", ld->name, line);
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
		if (at_line_start && c == '@' && len - i >= 8 && !strncasecmp(text + i, "@include", 8)) {
			if (ld->err && ld->errlen)
				snprintf(ld->err, ld->errlen, "%s:%u: @include is not allowed (one file holds the whole config)",
				         ld->name, line);
			ld->failed = true;
			return false;
		}
		at_line_start = false;
	}
	return true;
}

static config_t *load_text(const char *text, size_t len, const char *name, char *err, size_t errlen)
{
	loader_t ld = { .name = name, .err = err, .errlen = errlen };
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
	config_set_options(&lc, 0);  /* no auto-conversion between types */
	config_t *cfg = NULL;
	if (config_read_string(&lc, copy) != CONFIG_TRUE) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%d: %s", name, config_error_line(&lc),
			         config_error_text(&lc) ? config_error_text(&lc) : "syntax error");
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
	return load_text(text, strlen(text), name ? name : "<string>", err, errlen);
}

config_t *config_load(const char *path, bool check_owner, char *err, size_t errlen)
{
	loader_t ld = { .name = path ? path : "(null)", .err = err, .errlen = errlen };
	config_t *cfg = NULL;
	char *buf = NULL;
	int fd = -1;
	struct stat st;

	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		fail(&ld, NULL, "no config path");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fail(&ld, NULL, "cannot open: %s", strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		fail(&ld, NULL, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(&ld, NULL, "insecure permissions: not a regular file");
		goto out;
	}
	if (check_owner) {
		if (st.st_mode & (S_IWGRP | S_IWOTH)) {
			fail(&ld, NULL, "insecure permissions %04o: group- or world-writable (chmod go-w)",
			     (unsigned)(st.st_mode & 07777));
			goto out;
		}
		if (st.st_uid != 0 && st.st_uid != geteuid()) {
			fail(&ld, NULL, "insecure permissions: owned by uid %u, not root or uid %u",
			     (unsigned)st.st_uid, (unsigned)geteuid());
			goto out;
		}
	}
	if ((unsigned long long)st.st_size > CONFIG_MAX_BYTES) {
		fail(&ld, NULL, "file too large (%lld bytes)", (long long)st.st_size);
		goto out;
	}
	size_t cap = (size_t)st.st_size, len = 0;
	buf = malloc(cap + 1);
	if (!buf) {
		fail(&ld, NULL, "out of memory");
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, cap + 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			fail(&ld, NULL, "cannot read: %s", strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > cap) {  /* the file grew while we read it */
			fail(&ld, NULL, "file changed while being read");
			goto out;
		}
	}
	cfg = load_text(buf, len, path, err, errlen);
	if (!cfg)
		goto out;
	unsigned int mdlen = 0;
	if (!EVP_Digest(buf, len, cfg->sha256, &mdlen, EVP_sha256(), NULL)) {
		config_free(cfg);
		cfg = NULL;
		fail(&ld, NULL, "cannot hash the config");
		goto out;
	}
	cfg->mtime = st.st_mtime;
	cfg->ino = st.st_ino;
	cfg->size = st.st_size;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return cfg;
}

static void free_policy_parts(config_t *cfg)
{
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
	}
	free(cfg->rules);
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
	free(cfg->audit.ident);
	free(cfg->audit.socket_path);
	free(cfg->state_dir);
	free(cfg);
}

bool config_changed(const config_t *cfg)
{
	struct stat st;
	if (!cfg || !cfg->path || stat(cfg->path, &st) < 0)
		return true;
	return st.st_mtime != cfg->mtime || st.st_ino != cfg->ino || st.st_size != cfg->size;
}

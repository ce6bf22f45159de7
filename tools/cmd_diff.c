/* signgate diff: who gains or loses which right between two configs.
 *
 * Every identity (users resolved as `who-can-sign` resolves them, the
 * groups the policy names, and roles that select callers by program or
 * credential only) is paired with every key it has a right on, in each
 * config.  A right reaches an identity through grant paths, one per
 * (rule, role); each path carries its conditions (time window, quota,
 * ticket and checks, programs, credential), the key carries mechanisms
 * and hashes.  A right WIDENS when the new config has a path no old path
 * covers (a wider window, fewer checks, a higher quota, any program ...)
 * or the key gained a mechanism or hash; the exit status says so (3), so
 * that a pipeline can ask for a second reviewer.
 *
 * The rights themselves are a table (right_kinds): a new kind of right
 * is one entry.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "commands.h"
#include "config.h"
#include "mech.h"
#include "policy.h"
#include "policy_input.h"
#include "report.h"
#include "codec.h"

/* ---- kinds of rights ------------------------------------------------------- */

static bool rule_sign(const policy_rule_t *r)
{
	return r->sign;
}
static bool rule_admin(const policy_rule_t *r)
{
	return r->admin;
}
static uint64_t key_sign_mechs(const policy_key_t *k)
{
	return k->mech_allowed;
}
static bool rule_decrypt(const policy_rule_t *r)
{
	return r->decrypt;
}
static bool rule_unwrap(const policy_rule_t *r)
{
	return r->unwrap;
}
static bool rule_derive(const policy_rule_t *r)
{
	return r->derive;
}
static uint64_t key_decrypt_mechs(const policy_key_t *k)
{
	return k->decrypt_mechs;
}
static uint64_t key_unwrap_mechs(const policy_key_t *k)
{
	return k->unwrap_mechs;
}
static uint64_t key_derive_mechs(const policy_key_t *k)
{
	return k->derive_mechs;
}

static const struct right_kind {
	const char *name;
	bool (*rule_grants)(const policy_rule_t *r);
	/* The key's own mechanisms for this right; NULL = none apply.  A key
	 * with none cannot be used this way whatever the rules say. */
	uint64_t (*key_mechs)(const policy_key_t *k);
	bool hashes;       /* the key's `hashes` apply */
	bool key_validity; /* a revoked key has no such right */
} right_kinds[] = {
	{ "sign", rule_sign, key_sign_mechs, true, true },
	{ "admin", rule_admin, NULL, false, false },
	{ "decrypt", rule_decrypt, key_decrypt_mechs, false, true },
	{ "unwrap", rule_unwrap, key_unwrap_mechs, false, true },
	{ "derive", rule_derive, key_derive_mechs, false, true },
};
#define N_RIGHTS (sizeof right_kinds / sizeof right_kinds[0])

/* ---- grant paths ---------------------------------------------------------------- */

#define WEEK_MIN (7 * 1440)
#define NO_KEY_NAME "(token)" /* administration that names no key (all_keys) */

typedef struct grant {
	char ident[REPORT_NAME_MAX + 16]; /* "user alice", "group signers", "role ci" */
	const char *key;                  /* key name or NO_KEY_NAME */
	size_t right;                     /* index into right_kinds */
	const policy_rule_t *rule;
	const policy_role_t *role;
	const policy_key_t *k; /* NULL for NO_KEY_NAME */
	const uint8_t *window; /* WEEK_MIN bits of the rule */
} grant_t;

typedef struct side {
	const char *path;
	config_t *cfg;
	uint8_t (*windows)[WEEK_MIN / 8]; /* per rule */
	grant_t *g;
	size_t n, cap;
} side_t;

/* The engine's window test (module/core/policy.c), over one week of UTC
 * minutes: windows repeat weekly, so a week says everything. */
static bool minute_in_window(const policy_rule_t *r, int64_t now)
{
	int64_t local = now + (int64_t)r->tz_offset_min * 60;
	int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int minute = (int)((local - day * 86400) / 60);
	int wday = (int)(((day + 4) % 7 + 7) % 7);
	if (!((r->days >> wday) & 1u))
		return false;
	if (r->minute_from < 0)
		return true;
	if (r->minute_from < r->minute_to)
		return minute >= r->minute_from && minute < r->minute_to;
	return minute >= r->minute_from || minute < r->minute_to;
}

static int grant_add(side_t *s, const char *ident, size_t right, const policy_rule_t *r,
                     const policy_role_t *ro, const policy_key_t *k)
{
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 64;
		grant_t *v = realloc(s->g, nc * sizeof *v);
		if (!v)
			return -1;
		s->g = v;
		s->cap = nc;
	}
	grant_t *g = &s->g[s->n++];
	snprintf(g->ident, sizeof g->ident, "%s", ident);
	g->key = k ? k->name : NO_KEY_NAME;
	g->right = right;
	g->rule = r;
	g->role = ro;
	g->k = k;
	g->window = s->windows[r - s->cfg->rules];
	return 0;
}

/* Every right a (rule, role) gives one identity. */
static int grants_of(side_t *s, const char *ident, const policy_rule_t *r, const policy_role_t *ro,
                     const policy_key_t *k)
{
	for (size_t i = 0; i < N_RIGHTS; i++) {
		const struct right_kind *rk = &right_kinds[i];
		if (!rk->rule_grants(r))
			continue;
		if (!k) {
			if (rk->key_mechs)
				continue; /* only administration exists without a key */
		} else {
			if (rk->key_mechs && !rk->key_mechs(k))
				continue;
			if (rk->key_validity && k->revoked)
				continue;
		}
		if (grant_add(s, ident, i, r, ro, k) < 0)
			return -1;
	}
	return 0;
}

static int grants_for_rule_role(side_t *s, const char *ident, const policy_rule_t *r,
                                const policy_role_t *ro, size_t key)
{
	const config_t *cfg = s->cfg;
	if (key != REPORT_NO_KEY)
		return grants_of(s, ident, r, ro, &cfg->keys[key]);
	return grants_of(s, ident, r, ro, NULL);
}

static int side_build(side_t *s)
{
	const config_t *cfg = s->cfg;
	s->windows = calloc(cfg->n_rules + 1, sizeof *s->windows);
	if (!s->windows)
		return -1;
	for (size_t r = 0; r < cfg->n_rules; r++)
		for (int m = 0; m < WEEK_MIN; m++)
			if (minute_in_window(&cfg->rules[r], (int64_t)m * 60))
				s->windows[r][m / 8] |= (uint8_t)(1u << (m % 8));

	/* Users (and uids, and "any caller" roles) as who-can-sign resolves them. */
	report_model_t m;
	if (report_model_build(cfg, &m) < 0)
		return -1;
	int rc = 0;
	char ident[REPORT_NAME_MAX + 16];
	for (size_t i = 0; i < m.n_grants && !rc; i++) {
		const report_grant_t *g = &m.grants[i];
		const report_identity_t *id = &m.ids[g->ident];
		const policy_role_t *ro = &cfg->roles[g->role];
		if (id->kind == REPORT_ID_ANY)
			snprintf(ident, sizeof ident, "role %s", ro->name);
		else if (id->kind == REPORT_ID_UID)
			snprintf(ident, sizeof ident, "uid %s", id->name + 4);
		else
			snprintf(ident, sizeof ident, "user %s", id->name);
		rc = grants_for_rule_role(s, ident, &cfg->rules[g->rule], ro, g->key);
	}
	report_model_free(&m);

	/* The groups the policy names, as identities of their own: a right
	 * given to a group is a change even while the group has no members. */
	for (size_t r = 0; r < cfg->n_rules && !rc; r++) {
		const policy_rule_t *rule = &cfg->rules[r];
		for (size_t i = 0; i < rule->n_roles && !rc; i++) {
			const policy_role_t *ro = &cfg->roles[rule->roles[i]];
			/* Names this machine does not know (a CI runner without the
			 * directory) are still the identities the policy names. */
			for (size_t j = 0; j < ro->n_user_names + ro->n_group_names && !rc; j++) {
				if (j < ro->n_user_names) {
					const char *u = ro->user_names[j];
					if ((u[0] >= '0' && u[0] <= '9') || getpwnam(u))
						continue; /* resolved above (or a uid) */
					snprintf(ident, sizeof ident, "user %s", u);
				} else {
					snprintf(ident, sizeof ident, "group %s",
					         ro->group_names[j - ro->n_user_names]);
				}
				if (rule->all_keys) {
					for (size_t k = 0; k < cfg->n_keys && !rc; k++)
						rc = grants_for_rule_role(s, ident, rule, ro, k);
					if (!rc)
						rc = grants_for_rule_role(s, ident, rule, ro,
						                          REPORT_NO_KEY);
				} else {
					for (size_t k = 0; k < rule->n_keys && !rc; k++)
						rc = grants_for_rule_role(s, ident, rule, ro,
						                          rule->keys[k]);
				}
			}
		}
	}
	return rc;
}

static int grant_cmp(const void *a, const void *b)
{
	const grant_t *x = a, *y = b;
	int c = strcmp(x->ident, y->ident);
	if (!c)
		c = strcmp(x->key, y->key);
	if (!c)
		c = x->right < y->right ? -1 : x->right > y->right;
	return c;
}

/* ---- comparing paths ------------------------------------------------------------ */

static bool window_subset(const uint8_t *a, const uint8_t *b)
{
	for (size_t i = 0; i < WEEK_MIN / 8; i++)
		if (a[i] & ~b[i])
			return false;
	return true;
}

static bool str_in(char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static bool program_in(const policy_role_t *ro, const policy_program_t *p)
{
	for (size_t i = 0; i < ro->n_programs; i++) {
		const policy_program_t *q = &ro->programs[i];
		if (!strcmp(q->path, p->path) &&
		    (!q->has_sha256 || (p->has_sha256 && !memcmp(q->sha256, p->sha256, 32))))
			return true;
	}
	return false;
}

static double quota_rate(const policy_rule_t *r)
{
	return r->quota_count ? (double)r->quota_count / (double)r->quota_period_s : 1e300;
}

/* Does old path p allow at least everything new path q allows? */
static bool path_covers(const grant_t *p, const grant_t *q)
{
	const policy_rule_t *pr = p->rule, *qr = q->rule;
	const policy_role_t *po = p->role, *qo = q->role;
	if (!window_subset(q->window, p->window))
		return false;
	if (po->n_programs) {
		if (!qo->n_programs)
			return false;
		for (size_t i = 0; i < qo->n_programs; i++)
			if (!program_in(po, &qo->programs[i]))
				return false;
	}
	if (po->credential && !qo->credential)
		return false;
	if (pr->require_ticket) {
		if (!qr->require_ticket)
			return false;
		for (size_t i = 0; i < pr->n_checks; i++)
			if (!str_in(qr->checks, qr->n_checks, pr->checks[i]))
				return false;
		uint32_t pa = pr->max_ticket_age_s ? pr->max_ticket_age_s : UINT32_MAX;
		uint32_t qa = qr->max_ticket_age_s ? qr->max_ticket_age_s : UINT32_MAX;
		if (qa > pa)
			return false;
	}
	if (pr->quota_count) {
		if (!qr->quota_count || quota_rate(qr) > quota_rate(pr))
			return false;
		/* one counter per caller gives each caller what one counter gave all */
		if (pr->quota_scope == QUOTA_PER_RULE && qr->quota_scope == QUOTA_PER_CALLER)
			return false;
	}
	return true;
}

/* ---- describing a right --------------------------------------------------------- */

typedef struct strset {
	char **v;
	size_t n, cap;
} strset_t;

static void set_add(strset_t *s, const char *x)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], x))
			return;
	if (s->n == s->cap) {
		size_t nc = s->cap ? s->cap * 2 : 8;
		char **v = realloc(s->v, nc * sizeof *v);
		if (!v)
			return;
		s->v = v;
		s->cap = nc;
	}
	char *d = strdup(x);
	if (d)
		s->v[s->n++] = d;
}

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, joined with "; ", freed. */
static char *set_join(strset_t *s)
{
	size_t len = 1;
	qsort(s->v, s->n, sizeof *s->v, strp_cmp);
	for (size_t i = 0; i < s->n; i++)
		len += strlen(s->v[i]) + 2;
	char *out = malloc(len);
	if (out) {
		out[0] = '\0';
		for (size_t i = 0; i < s->n; i++) {
			if (i)
				strcat(out, "; ");
			strcat(out, s->v[i]);
		}
	}
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	memset(s, 0, sizeof *s);
	return out;
}

static void hex32(const unsigned char *p, char out[65])
{
	codec_hex_encode(out, 65, p, 32);
}

static void mechs_text(uint64_t mask, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (int m = MECH_UNKNOWN + 1; m < 64; m++)
		if ((mask >> m) & 1u) {
			int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
			                 mech_name((mech_id_t)m));
			if (w < 0 || (size_t)w >= outlen - len)
				return;
			len += (size_t)w;
		}
	if (!len)
		snprintf(out, outlen, "none");
}

static void hashes_text(uint32_t mask, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (int h = HASH_UNKNOWN + 1; h < HASH_COUNT; h++)
		if ((mask >> h) & 1u) {
			int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
			                 hash_name((hash_alg_t)h));
			if (w < 0 || (size_t)w >= outlen - len)
				return;
			len += (size_t)w;
		}
	if (!len)
		snprintf(out, outlen, "none");
}

/* The fields a right is shown and compared by. */
enum { F_VIA, F_MECHS, F_HASHES, F_WINDOW, F_QUOTA, F_TICKET, F_PROGRAMS, F_CREDENTIAL, F_COUNT };
static const char *const field_names[F_COUNT] = {
	"via", "mechanisms", "hashes", "window", "quota", "ticket", "programs", "credential",
};

typedef struct right_desc {
	char *f[F_COUNT];
} right_desc_t;

static void describe(const grant_t *g, size_t n, right_desc_t *d)
{
	strset_t s[F_COUNT] = { 0 };
	char buf[1024], b2[128], b3[128];
	const struct right_kind *rk = &right_kinds[g[0].right];
	for (size_t i = 0; i < n; i++) {
		const policy_rule_t *r = g[i].rule;
		const policy_role_t *ro = g[i].role;
		snprintf(buf, sizeof buf, "rule %s, role %s", r->name, ro->name);
		set_add(&s[F_VIA], buf);
		report_days_format(r->days, b2, sizeof b2);
		report_hours_format(r, b3, sizeof b3);
		if ((r->days & 0x7f) == 0x7f && r->minute_from < 0)
			set_add(&s[F_WINDOW], "always");
		else {
			snprintf(buf, sizeof buf, "%s %s (%s)", b2, b3, r->tz_name);
			set_add(&s[F_WINDOW], buf);
		}
		if (r->quota_count) {
			report_duration_format(r->quota_period_s, b2, sizeof b2);
			snprintf(buf, sizeof buf, "%u per %s per %s", r->quota_count, b2,
			         r->quota_scope == QUOTA_PER_CALLER ? "caller" : "rule");
			set_add(&s[F_QUOTA], buf);
		} else {
			set_add(&s[F_QUOTA], "none");
		}
		if (r->require_ticket) {
			size_t len = (size_t)snprintf(buf, sizeof buf, "required");
			if (r->n_checks) {
				len += (size_t)snprintf(buf + len, sizeof buf - len, ", checks");
				char *cs[64];
				size_t nc = r->n_checks < 64 ? r->n_checks : 64;
				memcpy(cs, r->checks, nc * sizeof *cs);
				qsort(cs, nc, sizeof *cs, strp_cmp);
				for (size_t j = 0; j < nc && len < sizeof buf; j++)
					len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s",
					                        j ? "," : " ", cs[j]);
			}
			if (r->max_ticket_age_s && len < sizeof buf) {
				report_duration_format(r->max_ticket_age_s, b2, sizeof b2);
				snprintf(buf + len, sizeof buf - len, ", max age %s", b2);
			}
			set_add(&s[F_TICKET], buf);
		} else {
			set_add(&s[F_TICKET], "not required");
		}
		if (!ro->n_programs)
			set_add(&s[F_PROGRAMS], "any");
		for (size_t j = 0; j < ro->n_programs; j++) {
			char h[65] = "";
			if (ro->programs[j].has_sha256)
				hex32(ro->programs[j].sha256, h);
			snprintf(buf, sizeof buf, "%s%s%s", ro->programs[j].path,
			         h[0] ? " sha256:" : "", h);
			set_add(&s[F_PROGRAMS], buf);
		}
		set_add(&s[F_CREDENTIAL], ro->credential ? "required" : "not required");
	}
	if (g[0].k && rk->key_mechs) {
		mechs_text(rk->key_mechs(g[0].k), buf, sizeof buf);
		set_add(&s[F_MECHS], buf);
	}
	if (g[0].k && rk->hashes) {
		hashes_text(g[0].k->hash_allowed, buf, sizeof buf);
		set_add(&s[F_HASHES], buf);
	}
	for (int f = 0; f < F_COUNT; f++)
		d->f[f] = s[f].n ? set_join(&s[f]) : NULL;
}

static void desc_free(right_desc_t *d)
{
	for (int f = 0; f < F_COUNT; f++)
		free(d->f[f]);
}

/* ---- the report ----------------------------------------------------------------- */

typedef struct report {
	json_t *rights, *keys, *settings;
	size_t n_changes, n_widen;
	bool json;
} report_t;

static void out_line(report_t *rep, bool widens, bool narrows, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void out_line(report_t *rep, bool widens, bool narrows, const char *fmt, ...)
{
	rep->n_changes++;
	if (widens)
		rep->n_widen++;
	if (rep->json)
		return;
	va_list ap;
	va_start(ap, fmt);
	printf("%c ", widens ? '+' : narrows ? '-' : '~');
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
}

static json_t *json_desc(const right_desc_t *d)
{
	json_t *o = json_object();
	for (int f = 0; f < F_COUNT; f++)
		if (d->f[f])
			json_object_set_new(o, field_names[f], json_string(d->f[f]));
	return o;
}

/* One (identity, key, right): old paths o[0..no), new paths n[0..nn). */
static void compare_right(report_t *rep, const grant_t *o, size_t no, const grant_t *n, size_t nn)
{
	const grant_t *any = no ? o : n;
	const struct right_kind *rk = &right_kinds[any->right];
	right_desc_t od = { 0 }, nd = { 0 };
	bool widens = false, narrows = false;
	const char *change;

	if (no)
		describe(o, no, &od);
	if (nn)
		describe(n, nn, &nd);
	for (size_t i = 0; i < nn && !widens; i++) {
		bool covered = false;
		for (size_t j = 0; j < no && !covered; j++)
			covered = path_covers(&o[j], &n[i]);
		widens = !covered;
	}
	for (size_t i = 0; i < no && !narrows; i++) {
		bool covered = false;
		for (size_t j = 0; j < nn && !covered; j++)
			covered = path_covers(&n[j], &o[i]);
		narrows = !covered;
	}
	/* The key's own mechanisms and hashes for this right. */
	if (no && nn && o[0].k && n[0].k) {
		if (rk->key_mechs) {
			uint64_t om = rk->key_mechs(o[0].k), nm = rk->key_mechs(n[0].k);
			widens |= (nm & ~om) != 0;
			narrows |= (om & ~nm) != 0;
		}
		if (rk->hashes) {
			widens |= (n[0].k->hash_allowed & ~o[0].k->hash_allowed) != 0;
			narrows |= (o[0].k->hash_allowed & ~n[0].k->hash_allowed) != 0;
		}
	}
	bool differs = false;
	for (int f = 0; f < F_COUNT; f++)
		if ((od.f[f] == NULL) != (nd.f[f] == NULL) ||
		    (od.f[f] && nd.f[f] && strcmp(od.f[f], nd.f[f])))
			differs = true;
	if (!no)
		change = "gained";
	else if (!nn)
		change = "lost";
	else if (widens || narrows || differs)
		change = widens ? "widened" : narrows ? "narrowed" : "changed";
	else
		goto out;

	if (rep->json) {
		json_t *e = json_pack("{s:s,s:s,s:s,s:s,s:b,s:b}", "identity", any->ident, "key",
		                      any->key, "right", rk->name, "change", change, "widens",
		                      widens, "narrows", narrows);
		json_t *ch = json_array();
		for (int f = 0; f < F_COUNT; f++) {
			if (no && nn && od.f[f] && nd.f[f] && !strcmp(od.f[f], nd.f[f]))
				continue;
			if (!od.f[f] && !nd.f[f])
				continue;
			json_t *c = json_pack("{s:s}", "field", field_names[f]);
			if (od.f[f])
				json_object_set_new(c, "old", json_string(od.f[f]));
			if (nd.f[f])
				json_object_set_new(c, "new", json_string(nd.f[f]));
			json_array_append_new(ch, c);
		}
		json_object_set_new(e, "changes", ch);
		if (no)
			json_object_set_new(e, "old", json_desc(&od));
		if (nn)
			json_object_set_new(e, "new", json_desc(&nd));
		json_array_append_new(rep->rights, e);
	}
	out_line(rep, widens, narrows && !widens, "%s: %s %s on %s", any->ident, change, rk->name,
	         any->key);
	if (!rep->json) {
		for (int f = 0; f < F_COUNT; f++) {
			const char *a = od.f[f], *b = nd.f[f];
			if (!a && !b)
				continue;
			if (!no)
				printf("      %-11s %s\n", field_names[f], b);
			else if (!nn && f == F_VIA)
				printf("      %-11s was %s\n", field_names[f], a);
			else if (!nn)
				continue;
			else if (!a || !b || strcmp(a, b))
				printf("      %-11s %s -> %s\n", field_names[f], a ? a : "-",
				       b ? b : "-");
		}
	}
out:
	desc_free(&od);
	desc_free(&nd);
}

static void compare_rights(report_t *rep, side_t *a, side_t *b)
{
	qsort(a->g, a->n, sizeof *a->g, grant_cmp);
	qsort(b->g, b->n, sizeof *b->g, grant_cmp);
	size_t i = 0, j = 0;
	while (i < a->n || j < b->n) {
		int c = i == a->n ? 1 : j == b->n ? -1 : grant_cmp(&a->g[i], &b->g[j]);
		size_t i2 = i, j2 = j;
		if (c <= 0)
			while (i2 < a->n && !grant_cmp(&a->g[i2], &a->g[i]))
				i2++;
		if (c >= 0)
			while (j2 < b->n && !grant_cmp(&b->g[j2], &b->g[j]))
				j2++;
		compare_right(rep, a->g + i, i2 - i, b->g + j, j2 - j);
		i = i2;
		j = j2;
	}
}

/* ---- keys ------------------------------------------------------------------------ */

static json_t *json_strv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void key_field(report_t *rep, json_t *changes, const char *key, const char *field,
                      const char *old, const char *new, bool widens, bool narrows)
{
	if (rep->json) {
		json_t *c = json_pack("{s:s,s:b,s:b}", "field", field, "widens", widens, "narrows",
		                      narrows);
		if (old)
			json_object_set_new(c, "old", json_string(old));
		if (new)
			json_object_set_new(c, "new", json_string(new));
		json_array_append_new(changes, c);
	}
	out_line(rep, widens, narrows, "key %s: %s %s -> %s", key, field, old ? old : "-",
	         new ? new : "-");
}

static void time_text(time_t t, char *out, size_t len)
{
	if (!t)
		snprintf(out, len, "none");
	else
		report_time_format(t, out, len);
}

static void products_text(const policy_key_t *k, char *out, size_t len)
{
	size_t l = 0;
	out[0] = '\0';
	for (size_t i = 0; i < k->n_products && l < len; i++)
		l += (size_t)snprintf(out + l, len - l, "%s%s", i ? ", " : "", k->products[i]);
	if (!k->n_products)
		snprintf(out, len, "none");
}

static void binding_text(const policy_key_t *k, char *out, size_t len)
{
	char id[140] = "", fp[65] = "";
	codec_hex_encode(id, sizeof id, k->id, k->id_len);
	if (k->has_fingerprint)
		hex32(k->fingerprint, fp);
	snprintf(out, len, "token %s, id %s, label %s, fingerprint %s", k->token,
	         k->has_id ? id : "-", k->label ? k->label : "-", fp[0] ? fp : "-");
}

static bool str_sets_equal(const policy_key_t *o, const policy_key_t *n)
{
	for (size_t i = 0; i < n->n_products; i++)
		if (!str_in(o->products, o->n_products, n->products[i]))
			return false;
	for (size_t i = 0; i < o->n_products; i++)
		if (!str_in(n->products, n->n_products, o->products[i]))
			return false;
	return true;
}

static void compare_key(report_t *rep, const policy_key_t *o, const policy_key_t *n)
{
	const policy_key_t *k = o ? o : n;
	json_t *e = NULL, *ch = NULL;
	char a[1024], b[1024];
	if (rep->json) {
		e = json_pack("{s:s}", "key", k->name);
		ch = json_array();
	}
	if (!o || !n) {
		if (e) {
			json_object_set_new(e, "change", json_string(o ? "removed" : "added"));
			json_object_set_new(e, "products", json_strv(k->products, k->n_products));
		}
		products_text(k, a, sizeof a);
		/* Adding a key grants nothing by itself: the rights it brings are
		 * listed with the identities. */
		out_line(rep, false, o != NULL, "key %s: %s (products: %s)", k->name,
		         o ? "removed" : "added", a);
		goto done;
	}
	if (e)
		json_object_set_new(e, "change",
		                    json_string(o->revoked != n->revoked
		                                        ? (n->revoked ? "revoked" : "unrevoked")
		                                : !str_sets_equal(o, n) ? "re-scoped"
		                                                        : "changed"));
	if (o->revoked != n->revoked)
		key_field(rep, ch, k->name, "revoked", o->revoked ? "true" : "false",
		          n->revoked ? "true" : "false", !n->revoked, n->revoked);
	products_text(o, a, sizeof a);
	products_text(n, b, sizeof b);
	if (strcmp(a, b)) {
		bool gained = false, lost = false;
		for (size_t i = 0; i < n->n_products; i++)
			gained |= !str_in(o->products, o->n_products, n->products[i]);
		for (size_t i = 0; i < o->n_products; i++)
			lost |= !str_in(n->products, n->n_products, o->products[i]);
		/* Tickets for another product now sign with this key. */
		key_field(rep, ch, k->name, "products (re-scoped)", a, b, gained, lost && !gained);
	}
	binding_text(o, a, sizeof a);
	binding_text(n, b, sizeof b);
	if (strcmp(a, b)) {
		/* Another object on the token may now carry this key's rights,
		 * unless only a fingerprint was added (that pins the key). */
		bool pinned = !o->has_fingerprint && n->has_fingerprint &&
		              !strcmp(o->token, n->token) && o->has_id == n->has_id &&
		              o->id_len == n->id_len && !memcmp(o->id, n->id, o->id_len) &&
		              !strcmp(o->label ? o->label : "", n->label ? n->label : "");
		key_field(rep, ch, k->name, "binding", a, b, !pinned, pinned);
	}
	for (size_t i = 0; i < N_RIGHTS; i++) {
		const struct right_kind *rk = &right_kinds[i];
		if (!rk->key_mechs)
			continue;
		uint64_t om = rk->key_mechs(o), nm = rk->key_mechs(n);
		if (om != nm) {
			char f[64];
			snprintf(f, sizeof f, "%s mechanisms", rk->name);
			mechs_text(om, a, sizeof a);
			mechs_text(nm, b, sizeof b);
			key_field(rep, ch, k->name, f, a, b, (nm & ~om) != 0, (nm & ~om) == 0);
		}
	}
	if (o->hash_allowed != n->hash_allowed) {
		hashes_text(o->hash_allowed, a, sizeof a);
		hashes_text(n->hash_allowed, b, sizeof b);
		bool w = (n->hash_allowed & ~o->hash_allowed) != 0;
		key_field(rep, ch, k->name, "hashes", a, b, w, !w);
	}
	if (o->not_before != n->not_before) {
		time_text(o->not_before, a, sizeof a);
		time_text(n->not_before, b, sizeof b);
		bool w = !n->not_before || (o->not_before && n->not_before < o->not_before);
		key_field(rep, ch, k->name, "not_before", a, b, w, !w);
	}
	if (o->not_after != n->not_after) {
		time_text(o->not_after, a, sizeof a);
		time_text(n->not_after, b, sizeof b);
		bool w = !n->not_after || (o->not_after && n->not_after > o->not_after);
		key_field(rep, ch, k->name, "not_after", a, b, w, !w);
	}
done:
	if (e) {
		if (!json_object_get(e, "change"))
			json_object_set_new(e, "change", json_string("changed"));
		json_object_set_new(e, "changes", ch);
		if (json_array_size(ch) ||
		    strcmp(json_string_value(json_object_get(e, "change")), "changed"))
			json_array_append_new(rep->keys, e);
		else
			json_decref(e);
	}
}

static void compare_keys(report_t *rep, const config_t *a, const config_t *b)
{
	for (size_t i = 0; i < a->n_keys; i++)
		compare_key(rep, &a->keys[i], policy_key_by_name(b, a->keys[i].name));
	for (size_t i = 0; i < b->n_keys; i++)
		if (!policy_key_by_name(a, b->keys[i].name))
			compare_key(rep, NULL, &b->keys[i]);
}

/* ---- settings that change what every right is worth ----------------------------- */

static void setting(report_t *rep, const char *name, const char *old, const char *new, bool widens)
{
	if (rep->json) {
		json_t *c = json_pack("{s:s,s:b}", "setting", name, "widens", widens);
		if (old)
			json_object_set_new(c, "old", json_string(old));
		if (new)
			json_object_set_new(c, "new", json_string(new));
		json_array_append_new(rep->settings, c);
	}
	out_line(rep, widens, !widens, "%s: %s -> %s", name, old ? old : "-", new ? new : "-");
}

static void compare_settings(report_t *rep, const config_t *a, const config_t *b)
{
	/* Fewer records, or signatures no longer refused without one. */
	if (a->audit.enabled != b->audit.enabled)
		setting(rep, "audit.enabled", a->audit.enabled ? "true" : "false",
		        b->audit.enabled ? "true" : "false", !b->audit.enabled);
	if (a->audit.required != b->audit.required)
		setting(rep, "audit.required", a->audit.required ? "true" : "false",
		        b->audit.required ? "true" : "false", !b->audit.required);
	/* A new trusted issuer can vouch for any ticket. */
	for (size_t i = 0; i < b->n_validators; i++) {
		bool found = false;
		for (size_t j = 0; !found && j < a->n_validators; j++)
			found = !strcmp(a->validators[j].name, b->validators[i].name) &&
			        !strcmp(a->validators[j].public_key_path,
			                b->validators[i].public_key_path);
		if (!found)
			setting(rep, "validator", NULL, b->validators[i].name, true);
	}
	for (size_t i = 0; i < a->n_validators; i++) {
		bool found = false;
		for (size_t j = 0; !found && j < b->n_validators; j++)
			found = !strcmp(a->validators[i].name, b->validators[j].name) &&
			        !strcmp(a->validators[i].public_key_path,
			                b->validators[j].public_key_path);
		if (!found)
			setting(rep, "validator", a->validators[i].name, NULL, false);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate diff [--json] OLD NEW\n"
	           "  Rights gained, lost and changed between two configs: for every identity\n"
	           "  (users and groups as who-can-sign resolves them, program- and\n"
	           "  credential-selected roles) and key; keys added, removed, revoked,\n"
	           "  re-scoped.  OLD and NEW may be pipes: diff <(git show HEAD~1:FILE) FILE.\n"
	           "  Lines start with + (widens a right), - (narrows), ~ (neither).\n"
	           "Exit status: 0 no right widens, 3 some right widens, 1 error.\n");
}

int cmd_diff(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	report_t rep = { 0 };
	side_t sides[2] = { 0 };
	int c, rc = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hj", opts, NULL)) != -1) {
		switch (c) {
		case 'j': rep.json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (argc - optind != 2) {
		usage(stderr);
		return 1;
	}
	for (int i = 0; i < 2; i++) {
		char err[CONFIG_ERR_MAX];
		sides[i].path = argv[optind + i];
		sides[i].cfg = policy_input_config(sides[i].path, err, sizeof err);
		if (!sides[i].cfg) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		if (side_build(&sides[i]) < 0) {
			fprintf(stderr, "signgate diff: out of memory\n");
			goto out;
		}
	}
	if (rep.json) {
		rep.rights = json_array();
		rep.keys = json_array();
		rep.settings = json_array();
	}
	if (!rep.json)
		printf("signgate diff %s %s\n", sides[0].path, sides[1].path);
	compare_settings(&rep, sides[0].cfg, sides[1].cfg);
	compare_keys(&rep, sides[0].cfg, sides[1].cfg);
	compare_rights(&rep, &sides[0], &sides[1]);
	if (rep.json) {
		json_t *o = json_pack("{s:s,s:s,s:b,s:I,s:I}", "old", sides[0].path, "new",
		                      sides[1].path, "widens", rep.n_widen > 0, "changes",
		                      (json_int_t)rep.n_changes, "widening_changes",
		                      (json_int_t)rep.n_widen);
		json_object_set_new(o, "settings", rep.settings);
		json_object_set_new(o, "keys", rep.keys);
		json_object_set_new(o, "rights", rep.rights);
		rep.settings = rep.keys = rep.rights = NULL;
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(o);
	} else if (!rep.n_changes) {
		printf("no change in rights\n");
	} else {
		printf("%zu changes, %zu widen a right%s\n", rep.n_changes, rep.n_widen,
		       rep.n_widen ? " (exit 3: needs a second review)" : "");
	}
	rc = rep.n_widen ? 3 : 0;
out:
	for (int i = 0; i < 2; i++) {
		free(sides[i].g);
		free(sides[i].windows);
		config_free(sides[i].cfg);
	}
	json_decref(rep.rights);
	json_decref(rep.keys);
	json_decref(rep.settings);
	return rc;
}

/* signgate who-can-sign: identity -> keys, with every condition.
 *
 * Answers "who can sign what, right now?" from the policy and the user
 * database as they are at this moment: groups resolve to their current
 * members (supplementary members and users whose primary group it is),
 * and names or ids the system no longer knows are flagged, because an
 * offboarded account that is still in the policy is a right nobody
 * revoked.  The model (report.h) is shared with `signgate inventory`.
 *
 * Each grant of a signing key to a user also says what the module would
 * decide for that user now ("now:"): policy_decide with the user's
 * identity, the key, its first mechanism and no ticket -- so a grant that
 * is listed but refused (revoked or expired key, outside the window, a
 * ticket needed) says so with the module's reason.
 */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "commands.h"
#include "config.h"
#include "debug.h"
#include "identify.h"
#include "mech.h"
#include "policy.h"
#include "report.h"
#include "codec.h"

/* ---- formatting helpers (report.h) ---------------------------------------- */

void report_time_format(time_t t, char *out, size_t outlen)
{
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, outlen, "@%lld", (long long)t);
}

void report_days_format(uint8_t days, char *out, size_t outlen)
{
	static const char *const names[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const int order[7] = { 1, 2, 3, 4, 5, 6, 0 }; /* Monday first, as people write it */
	if ((days & 0x7f) == 0x7f) {
		snprintf(out, outlen, "every day");
		return;
	}
	if (!(days & 0x7f)) {
		snprintf(out, outlen, "no day");
		return;
	}
	size_t len = 0;
	out[0] = '\0';
	for (int i = 0; i < 7; i++)
		if ((days >> order[i]) & 1u) {
			int n = snprintf(out + len, outlen - len, "%s%s", len ? "," : "",
			                 names[order[i]]);
			if (n < 0 || (size_t)n >= outlen - len)
				return;
			len += (size_t)n;
		}
}

void report_hours_format(const policy_rule_t *r, char *out, size_t outlen)
{
	if (r->minute_from < 0)
		snprintf(out, outlen, "all day");
	else
		snprintf(out, outlen, "%02d:%02d-%02d:%02d", r->minute_from / 60,
		         r->minute_from % 60, r->minute_to / 60, r->minute_to % 60);
}

void report_duration_format(uint32_t s, char *out, size_t outlen)
{
	if (s && s % 604800 == 0)
		snprintf(out, outlen, "%uw", s / 604800);
	else if (s && s % 86400 == 0)
		snprintf(out, outlen, "%ud", s / 86400);
	else if (s && s % 3600 == 0)
		snprintf(out, outlen, "%uh", s / 3600);
	else if (s && s % 60 == 0)
		snprintf(out, outlen, "%um", s / 60);
	else
		snprintf(out, outlen, "%us", s);
}

/* ---- the model -------------------------------------------------------------- */

typedef struct account {
	char *name;
	uid_t uid;
	gid_t gid;
} account_t;

typedef struct member {
	size_t ident;
	char via[REPORT_NAME_MAX + 16];
} member_t;

typedef struct builder {
	report_model_t *m;
	size_t cap_ids, cap_grants, cap_unknown;
	account_t *accounts;
	size_t n_accounts; /* the whole user database, for primary groups */
	bool oom;
} builder_t;

static void *grow(builder_t *b, void *v, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return v;
	size_t nc = *cap ? *cap * 2 : 16;
	void *nv = realloc(v, nc * size);
	if (!nv) {
		b->oom = true;
		return NULL;
	}
	*cap = nc;
	return nv;
}

static size_t ident_get(builder_t *b, report_id_kind_t kind, const char *name, uid_t uid)
{
	report_model_t *m = b->m;
	for (size_t i = 0; i < m->n_ids; i++)
		if (m->ids[i].kind == kind && !strcmp(m->ids[i].name, name))
			return i;
	report_identity_t *v = grow(b, m->ids, &b->cap_ids, m->n_ids, sizeof *v);
	if (!v)
		return SIZE_MAX;
	m->ids = v;
	report_identity_t *id = &m->ids[m->n_ids];
	memset(id, 0, sizeof *id);
	id->kind = kind;
	snprintf(id->name, sizeof id->name, "%s", name);
	id->uid = uid;
	return m->n_ids++;
}

static void unknown_add(builder_t *b, size_t role, const char *kind, const char *name)
{
	report_model_t *m = b->m;
	for (size_t i = 0; i < m->n_unknown; i++)
		if (m->unknown[i].role == role && !strcmp(m->unknown[i].kind, kind) &&
		    !strcmp(m->unknown[i].name, name))
			return;
	report_unknown_t *v = grow(b, m->unknown, &b->cap_unknown, m->n_unknown, sizeof *v);
	if (!v)
		return;
	m->unknown = v;
	report_unknown_t *u = &m->unknown[m->n_unknown++];
	u->role = role;
	snprintf(u->kind, sizeof u->kind, "%s", kind);
	snprintf(u->name, sizeof u->name, "%s", name);
}

static bool numeric(const char *s, unsigned long *out)
{
	char *end;
	if (!s[0] || s[0] < '0' || s[0] > '9')
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (*end)
		return false;
	*out = v;
	return true;
}

static int load_accounts(builder_t *b)
{
	size_t cap = 0;
	struct passwd *pw;
	setpwent();
	while ((pw = getpwent())) {
		account_t *v = grow(b, b->accounts, &cap, b->n_accounts, sizeof *v);
		if (!v)
			break;
		b->accounts = v;
		if (!(v[b->n_accounts].name = strdup(pw->pw_name))) {
			b->oom = true;
			break;
		}
		v[b->n_accounts].uid = pw->pw_uid;
		v[b->n_accounts].gid = pw->pw_gid;
		b->n_accounts++;
	}
	endpwent();
	return b->oom ? -1 : 0;
}

static void member_add(builder_t *b, member_t **ms, size_t *n, size_t *cap, size_t ident,
                       const char *via)
{
	if (ident == SIZE_MAX)
		return;
	for (size_t i = 0; i < *n; i++)
		if ((*ms)[i].ident == ident)
			return; /* first way in wins: a user named directly and in a group is listed once */
	member_t *v = grow(b, *ms, cap, *n, sizeof *v);
	if (!v)
		return;
	*ms = v;
	v[*n].ident = ident;
	snprintf(v[*n].via, sizeof v[*n].via, "%s", via);
	(*n)++;
}

/* Who matches role ri today. */
static member_t *role_members(builder_t *b, const config_t *cfg, size_t ri, size_t *n_out)
{
	const policy_role_t *ro = &cfg->roles[ri];
	member_t *ms = NULL;
	size_t n = 0, cap = 0;
	char via[REPORT_NAME_MAX + 16], buf[REPORT_NAME_MAX + 8];
	unsigned long num;

	if (ro->any_identity)
		member_add(b, &ms, &n, &cap, ident_get(b, REPORT_ID_ANY, "*", (uid_t)-1),
		           "any caller");
	for (size_t i = 0; i < ro->n_user_names; i++) {
		const char *u = ro->user_names[i];
		struct passwd *pw = numeric(u, &num) ? getpwuid((uid_t)num) : getpwnam(u);
		if (pw) {
			if (numeric(u, &num))
				snprintf(via, sizeof via, "uid %s", u);
			else
				snprintf(via, sizeof via, "user %s", u);
			member_add(b, &ms, &n, &cap,
			           ident_get(b, REPORT_ID_USER, pw->pw_name, pw->pw_uid), via);
		} else if (numeric(u, &num)) {
			/* A bare uid still matches a process running under it. */
			unknown_add(b, ri, "uid", u);
			snprintf(buf, sizeof buf, "uid:%s", u);
			snprintf(via, sizeof via, "uid %s", u);
			member_add(b, &ms, &n, &cap, ident_get(b, REPORT_ID_UID, buf, (uid_t)num),
			           via);
		} else {
			unknown_add(b, ri, "user", u);
		}
	}
	for (size_t i = 0; i < ro->n_group_names; i++) {
		const char *g = ro->group_names[i];
		bool is_num = numeric(g, &num);
		struct group *gr = is_num ? getgrgid((gid_t)num) : getgrnam(g);
		gid_t gid;
		if (!gr) {
			unknown_add(b, ri, is_num ? "gid" : "group", g);
			if (!is_num)
				continue;
			gid = (gid_t)num;
		} else {
			gid = gr->gr_gid;
			/* getgrnam's buffer is reused by getpwnam below: copy the names first */
			size_t nm = 0;
			while (gr->gr_mem && gr->gr_mem[nm])
				nm++;
			char **names = calloc(nm + 1, sizeof *names);
			if (!names) {
				b->oom = true;
				break;
			}
			for (size_t j = 0; j < nm; j++)
				names[j] = strdup(gr->gr_mem[j]);
			snprintf(via, sizeof via, "group %s", gr->gr_name);
			for (size_t j = 0; j < nm; j++) {
				struct passwd *pw = names[j] ? getpwnam(names[j]) : NULL;
				if (pw)
					member_add(b, &ms, &n, &cap,
					           ident_get(b, REPORT_ID_USER, pw->pw_name,
					                     pw->pw_uid),
					           via);
				free(names[j]);
			}
			free(names);
		}
		snprintf(via, sizeof via, "group %s (primary)", g);
		for (size_t j = 0; j < b->n_accounts; j++)
			if (b->accounts[j].gid == gid)
				member_add(b, &ms, &n, &cap,
				           ident_get(b, REPORT_ID_USER, b->accounts[j].name,
				                     b->accounts[j].uid),
				           via);
	}
	*n_out = n;
	return ms;
}

static void grant_add(builder_t *b, size_t ident, size_t rule, size_t role, size_t key,
                      const char *via)
{
	report_model_t *m = b->m;
	report_grant_t *v = grow(b, m->grants, &b->cap_grants, m->n_grants, sizeof *v);
	if (!v)
		return;
	m->grants = v;
	report_grant_t *g = &m->grants[m->n_grants++];
	g->ident = ident;
	g->rule = rule;
	g->role = role;
	g->key = key;
	snprintf(g->via, sizeof g->via, "%s", via);
}

int report_model_build(const config_t *cfg, report_model_t *m)
{
	builder_t b = { .m = m };
	memset(m, 0, sizeof *m);
	member_t **members = calloc(cfg->n_roles + 1, sizeof *members);
	size_t *n_members = calloc(cfg->n_roles + 1, sizeof *n_members);
	m->role_members = calloc(cfg->n_roles + 1, sizeof *m->role_members);
	if (!members || !n_members || !m->role_members || load_accounts(&b) < 0) {
		b.oom = true;
		goto out;
	}
	for (size_t ri = 0; ri < cfg->n_roles && !b.oom; ri++) {
		members[ri] = role_members(&b, cfg, ri, &n_members[ri]);
		for (size_t j = 0; j < n_members[ri]; j++)
			if (m->ids[members[ri][j].ident].kind == REPORT_ID_USER)
				m->role_members[ri]++;
	}
	for (size_t r = 0; r < cfg->n_rules && !b.oom; r++) {
		const policy_rule_t *rule = &cfg->rules[r];
		for (size_t i = 0; i < rule->n_roles; i++) {
			size_t ri = rule->roles[i];
			for (size_t j = 0; j < n_members[ri]; j++) {
				const member_t *mb = &members[ri][j];
				if (rule->all_keys) {
					for (size_t k = 0; k < cfg->n_keys; k++)
						grant_add(&b, mb->ident, r, ri, k, mb->via);
					grant_add(&b, mb->ident, r, ri, REPORT_NO_KEY, mb->via);
				} else {
					for (size_t k = 0; k < rule->n_keys; k++)
						grant_add(&b, mb->ident, r, ri, rule->keys[k],
						          mb->via);
				}
			}
		}
	}
out:
	for (size_t ri = 0; members && ri < cfg->n_roles; ri++)
		free(members[ri]);
	free(members);
	free(n_members);
	for (size_t i = 0; i < b.n_accounts; i++)
		free(b.accounts[i].name);
	free(b.accounts);
	if (b.oom) {
		report_model_free(m);
		return -1;
	}
	return 0;
}

void report_model_free(report_model_t *m)
{
	free(m->ids);
	free(m->grants);
	free(m->unknown);
	free(m->role_members);
	memset(m, 0, sizeof *m);
}

/* ---- output ------------------------------------------------------------------- */

typedef struct view {
	const config_t *cfg;
	const report_model_t *m;
	time_t now;
	const char *user, *key, *product; /* filters */
	const policy_key_t *key_sel;
	uid_t user_uid;
	bool user_has_uid;
	char user_name[REPORT_NAME_MAX];
} view_t;

static const char *key_state(const policy_key_t *k, time_t now)
{
	if (k->revoked)
		return "revoked";
	if (k->not_before && now < k->not_before)
		return "not-yet-valid";
	if (k->not_after && now >= k->not_after)
		return "expired";
	return "usable";
}

static bool key_has_product(const policy_key_t *k, const char *p)
{
	for (size_t i = 0; i < k->n_products; i++)
		if (!strcmp(k->products[i], p))
			return true;
	return false;
}

static bool ident_selected(const view_t *v, const report_identity_t *id)
{
	if (!v->user)
		return true;
	if (id->kind == REPORT_ID_ANY)
		return true; /* "any caller" includes the user (under its program/credential) */
	if (id->kind == REPORT_ID_USER)
		return (v->user_name[0] && !strcmp(id->name, v->user_name)) ||
		       (v->user_has_uid && id->uid == v->user_uid);
	return v->user_has_uid && id->uid == v->user_uid;
}

static bool grant_selected(const view_t *v, const report_grant_t *g)
{
	if (!ident_selected(v, &v->m->ids[g->ident]))
		return false;
	if (v->key_sel)
		return g->key == (size_t)(v->key_sel - v->cfg->keys);
	if (v->product)
		return g->key != REPORT_NO_KEY &&
		       key_has_product(&v->cfg->keys[g->key], v->product);
	return true;
}

/* Does role ri reach the selected key(s) through some rule? */
static bool role_selected(const view_t *v, size_t ri)
{
	const config_t *cfg = v->cfg;
	if (!v->key_sel && !v->product)
		return true;
	for (size_t r = 0; r < cfg->n_rules; r++) {
		const policy_rule_t *rule = &cfg->rules[r];
		bool role_in = false;
		for (size_t i = 0; i < rule->n_roles; i++)
			role_in |= rule->roles[i] == ri;
		if (!role_in)
			continue;
		if (rule->all_keys)
			return true;
		for (size_t k = 0; k < rule->n_keys; k++) {
			const policy_key_t *key = &cfg->keys[rule->keys[k]];
			if (v->key_sel ? key == v->key_sel : key_has_product(key, v->product))
				return true;
		}
	}
	return false;
}

static bool unknown_selected(const view_t *v, const report_unknown_t *u)
{
	if (v->user) /* the names that could be this user: a group says nothing about one user */
		return (!strcmp(u->kind, "user") || !strcmp(u->kind, "uid")) &&
		       !strcmp(u->name, v->user);
	return role_selected(v, u->role);
}

/* A role in some rule that no account matches today (and not "any caller"). */
static bool role_empty(const view_t *v, size_t ri)
{
	const config_t *cfg = v->cfg;
	if (v->user || cfg->roles[ri].any_identity || v->m->role_members[ri])
		return false;
	for (size_t r = 0; r < cfg->n_rules; r++)
		for (size_t i = 0; i < cfg->rules[r].n_roles; i++)
			if (cfg->rules[r].roles[i] == ri)
				return role_selected(v, ri);
	return false;
}

static int cmp_grant_ctx_sort(const void *a, const void *b, void *ctx)
{
	const view_t *v = ctx;
	const report_grant_t *x = a, *y = b;
	const report_identity_t *ix = &v->m->ids[x->ident], *iy = &v->m->ids[y->ident];
	if (ix->kind != iy->kind)
		return (int)ix->kind - (int)iy->kind;
	int c = strcmp(ix->name, iy->name);
	if (c)
		return c;
	const char *kx = x->key == REPORT_NO_KEY ? "" : v->cfg->keys[x->key].name;
	const char *ky = y->key == REPORT_NO_KEY ? "" : v->cfg->keys[y->key].name;
	if ((c = strcmp(kx, ky)))
		return c;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

static void strlist_join(char *const *v, size_t n, const char *sep, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		int w = snprintf(out + len, outlen - len, "%s%s", i ? sep : "", v[i]);
		if (w < 0 || (size_t)w >= outlen - len)
			return;
		len += (size_t)w;
	}
}

static void mechs_join(const policy_key_t *k, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (int m = MECH_UNKNOWN + 1; m < MECH_COUNT; m++)
		if ((k->mech_allowed >> m) & 1u) {
			int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
			                 mech_name((mech_id_t)m));
			if (w < 0 || (size_t)w >= outlen - len)
				return;
			len += (size_t)w;
		}
}

static void hashes_join(const policy_key_t *k, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (int h = HASH_UNKNOWN + 1; h < HASH_COUNT; h++)
		if ((k->hash_allowed >> h) & 1u) {
			int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
			                 hash_name((hash_alg_t)h));
			if (w < 0 || (size_t)w >= outlen - len)
				return;
			len += (size_t)w;
		}
}

static void caps_format(const policy_rule_t *r, char *out, size_t outlen)
{
	/* "sign", "sign+admin", "sign+decrypt+unwrap" ... in a fixed order */
	const char *const names[] = { "sign", "admin", "decrypt", "unwrap", "derive" };
	const bool on[] = { r->sign, r->admin, r->decrypt, r->unwrap, r->derive };
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < 5; i++) {
		if (!on[i])
			continue;
		int w = snprintf(out + len, outlen - len, "%s%s", len ? "+" : "", names[i]);
		if (w < 0 || (size_t)w >= outlen - len)
			return;
		len += (size_t)w;
	}
}

/* Mechanisms of a bit set over mech_id_t, joined. */
static void mech_set_join(uint64_t set, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (int m = MECH_UNKNOWN + 1; m < MECH_COUNT; m++)
		if ((set >> m) & 1u) {
			int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
			                 mech_name((mech_id_t)m));
			if (w < 0 || (size_t)w >= outlen - len)
				return;
			len += (size_t)w;
		}
}

/* The private-key uses beyond signing a grant gives on a key: the rule
 * grants the use and the key lists mechanisms for it (both needed). */
static void print_key_uses(const policy_rule_t *r, const policy_key_t *k)
{
	const char *const names[] = { "decrypt:", "unwrap:", "derive:" };
	const bool granted[] = { r->decrypt, r->unwrap, r->derive };
	const uint64_t sets[] = { k->decrypt_mechs, k->unwrap_mechs, k->derive_mechs };
	char buf[256];
	for (size_t i = 0; i < 3; i++) {
		if (!granted[i])
			continue;
		mech_set_join(sets[i], buf, sizeof buf);
		printf("      %-11s %s\n", names[i],
		       sets[i] ? buf : "(the key allows none: not granted)");
	}
}

static void hex_format(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	codec_hex_encode(out, outlen, p, n); /* "" if it does not fit */
}

/* The rule's approvals (issue 16): how many, from which groups, how old.
 * The config a rule belongs to is the one loaded by the caller. */
static const config_t *g_approvals_cfg;

static void approval_groups(const policy_rule_t *r, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; g_approvals_cfg && i < r->n_approvals_from && off < len; i++) {
		const config_approver_group_t *g =
		        &g_approvals_cfg->approver_groups[r->approvals_from[i]];
		int w = snprintf(buf + off, len - off, "%s%s (", i ? ", " : "", g->name);
		off += w > 0 ? (size_t)w : 0;
		for (size_t j = 0; j < g->n_members && off < len; j++) {
			w = snprintf(buf + off, len - off, "%s%s", j ? " " : "",
			             g_approvals_cfg->approvers[g->members[j]].name);
			off += w > 0 ? (size_t)w : 0;
		}
		if (off < len) {
			w = snprintf(buf + off, len - off, ")");
			off += w > 0 ? (size_t)w : 0;
		}
	}
}

static void print_approvals(const policy_rule_t *r)
{
	char buf[1024], age[64];
	if (!r->approvals_count) {
		printf("      %-11s not required\n", "approvals:");
		return;
	}
	approval_groups(r, buf, sizeof buf);
	if (r->approvals_max_age_s)
		report_duration_format(r->approvals_max_age_s, age, sizeof age);
	printf("      %-11s %u distinct, from %s; max age %s; never the requester's own\n",
	       "approvals:", r->approvals_count, buf,
	       r->approvals_max_age_s ? age : "(until they expire)");
}

/* The rule's and role's conditions, common to a key grant and an all-keys grant. */
static void print_conditions(const config_t *cfg, const policy_rule_t *r, const policy_role_t *ro)
{
	char buf[1024], buf2[256];
	report_days_format(r->days, buf, sizeof buf);
	report_hours_format(r, buf2, sizeof buf2);
	printf("      %-11s %s, %s (%s)\n", "window:", buf, buf2, r->tz_name);
	if (r->quota_count) {
		report_duration_format(r->quota_period_s, buf2, sizeof buf2);
		printf("      %-11s %u per %s, per %s\n", "quota:", r->quota_count, buf2,
		       r->quota_scope == QUOTA_PER_CALLER ? "caller" : "rule");
	} else {
		printf("      %-11s none\n", "quota:");
	}
	if (r->require_ticket) {
		strlist_join(r->checks, r->n_checks, ", ", buf, sizeof buf);
		if (r->max_ticket_age_s)
			report_duration_format(r->max_ticket_age_s, buf2, sizeof buf2);
		printf("      %-11s required; checks: %s; max age %s\n",
		       "ticket:", r->n_checks ? buf : "(none)",
		       r->max_ticket_age_s ? buf2 : "(until it expires)");
	} else {
		printf("      %-11s not required\n", "ticket:");
	}
	print_approvals(r);
	for (size_t i = 0; i < ro->n_programs; i++) {
		char fp[72] = "";
		if (ro->programs[i].has_sha256)
			hex_format(ro->programs[i].sha256, 32, fp, sizeof fp);
		printf("      %-11s %s%s%s\n", i ? "" : "programs:", ro->programs[i].path,
		       fp[0] ? " sha256:" : "", fp);
	}
	if (ro->credential)
		printf("      %-11s the role's credential, presented at login\n", "credential:");
	if (ro->idp) {
		printf("      %-11s a CI identity token of provider %s, with:\n",
		       "id-token:", ro->idp <= cfg->n_idps ? cfg->idps[ro->idp - 1].name : "?");
		for (size_t i = 0; i < ro->n_claims; i++) {
			const policy_claim_match_t *m = &ro->claims[i];
			printf("      %-11s   %s =", "",
			       idtoken_claim_name((idtoken_claim_t)m->claim));
			for (size_t j = 0; j < m->n_values; j++)
				printf("%s \"%s\"", j ? " or" : "", m->values[j]);
			printf("\n");
		}
	}
}

/* What the module decides now for this grant's user and key (signing,
 * the key's first mechanism, the hash checked on the data, no ticket or
 * approvals).  False when that cannot be said from names alone: not a
 * user account, no key, a rule that does not sign, a role that also
 * needs a program, a credential or an ID token. */
static bool grant_now(const view_t *v, const report_grant_t *g, policy_decision_t *d)
{
	const config_t *cfg = v->cfg;
	const report_identity_t *id = &v->m->ids[g->ident];
	const policy_rule_t *r = &cfg->rules[g->rule];
	const policy_role_t *ro = &cfg->roles[g->role];
	if (id->kind != REPORT_ID_USER || g->key == REPORT_NO_KEY || !r->sign || ro->n_programs ||
	    ro->credential || ro->idp)
		return false;
	const policy_key_t *k = &cfg->keys[g->key];
	mech_id_t m = MECH_UNKNOWN;
	for (int i = MECH_UNKNOWN + 1; i < MECH_COUNT && m == MECH_UNKNOWN; i++)
		if ((k->mech_allowed >> i) & 1u)
			m = (mech_id_t)i;
	caller_t caller;
	if (m == MECH_UNKNOWN || caller_from_names(&caller, id->name, NULL, 0, NULL) < 0)
		return false;
	policy_request_t req = { 0 };
	req.action = POLICY_ACTION_SIGN;
	req.caller = &caller;
	req.key = k;
	req.mech = m;
	req.hash = mech_fixed_hash(m);
	req.hash_deferred = req.hash == HASH_UNKNOWN;
	req.now = v->now;
	policy_decide(cfg, &req, d);
	SG_DEBUG(SG_DBG_POLICY, "who-can-sign: user %s key %s %s: %s %s rule=%s", id->name, k->name,
	         mech_name(m), d->allow ? "allow" : "deny", policy_reason_name(d->reason),
	         d->rule ? d->rule->name : "-");
	return true;
}

static void print_grant(const view_t *v, const report_grant_t *g)
{
	const config_t *cfg = v->cfg;
	const policy_rule_t *r = &cfg->rules[g->rule];
	const policy_role_t *ro = &cfg->roles[g->role];
	char buf[1024], caps[48];
	caps_format(r, caps, sizeof caps);
	if (g->key == REPORT_NO_KEY) {
		printf("  %-16s %-11s rule %s, role %s (%s)\n", "(all keys)", caps, r->name,
		       ro->name, g->via);
		if (r->admin)
			printf("      %-11s generate, import, destroy, change any key; init token and PINs\n",
			       "admin:");
		if (r->sign)
			printf("      %-11s every governed key, with its own mechanisms and hashes\n",
			       "sign:");
		if (r->decrypt || r->unwrap || r->derive)
			printf("      %-11s every governed key whose own decrypt/unwrap/derive group allows it\n",
			       "key uses:");
		print_conditions(v->cfg, r, ro);
		return;
	}
	const policy_key_t *k = &cfg->keys[g->key];
	printf("  %-16s %-11s rule %s, role %s (%s)\n", k->name, caps, r->name, ro->name, g->via);
	strlist_join(k->products, k->n_products, ", ", buf, sizeof buf);
	printf("      %-11s %s   (token %s)\n", "products:", k->n_products ? buf : "(none)",
	       k->token);
	if (r->sign) {
		mechs_join(k, buf, sizeof buf);
		printf("      %-11s %s\n", "mechanisms:", buf);
		hashes_join(k, buf, sizeof buf);
		printf("      %-11s %s\n", "hashes:", buf);
	}
	print_key_uses(r, k);
	print_conditions(v->cfg, r, ro);
	char nb[32] = "-", na[32] = "-";
	if (k->not_before)
		report_time_format(k->not_before, nb, sizeof nb);
	if (k->not_after)
		report_time_format(k->not_after, na, sizeof na);
	if (k->not_before || k->not_after)
		printf("      %-11s %s .. %s, now %s", "valid:", nb, na, key_state(k, v->now));
	else
		printf("      %-11s no dates, now %s", "valid:", key_state(k, v->now));
	if (k->revoked && k->revoked_reason && k->revoked_reason[0])
		printf(" (%s)", k->revoked_reason);
	printf("\n");
	policy_decision_t d;
	if (grant_now(v, g, &d)) {
		if (d.allow)
			printf("      %-11s allow (rule %s)\n",
			       "now:", d.rule ? d.rule->name : "?");
		else
			printf("      %-11s deny %s: %s\n", "now:", policy_reason_name(d.reason),
			       d.detail);
	}
}

static json_t *json_strv(char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *json_time_or_null(time_t t)
{
	char b[32];
	if (!t)
		return json_null();
	report_time_format(t, b, sizeof b);
	return json_string(b);
}

static json_t *json_grant(const view_t *v, const report_grant_t *g)
{
	const config_t *cfg = v->cfg;
	const policy_rule_t *r = &cfg->rules[g->rule];
	const policy_role_t *ro = &cfg->roles[g->role];
	char buf[256];
	json_t *o = json_object();
	json_object_set_new(o, "rule", json_string(r->name));
	json_object_set_new(o, "role", json_string(ro->name));
	json_object_set_new(o, "via", json_string(g->via));
	json_object_set_new(o, "sign", json_boolean(r->sign));
	json_object_set_new(o, "admin", json_boolean(r->admin));
	json_object_set_new(o, "decrypt", json_boolean(r->decrypt));
	json_object_set_new(o, "unwrap", json_boolean(r->unwrap));
	json_object_set_new(o, "derive", json_boolean(r->derive));
	json_object_set_new(o, "all_keys", json_boolean(r->all_keys));
	if (g->key == REPORT_NO_KEY) {
		json_object_set_new(o, "key", json_null());
	} else {
		const policy_key_t *k = &cfg->keys[g->key];
		json_object_set_new(o, "key", json_string(k->name));
		json_object_set_new(o, "token", json_string(k->token));
		json_object_set_new(o, "products", json_strv(k->products, k->n_products));
		json_t *ms = json_array(), *hs = json_array();
		for (int m = MECH_UNKNOWN + 1; m < MECH_COUNT; m++)
			if ((k->mech_allowed >> m) & 1u)
				json_array_append_new(ms, json_string(mech_name((mech_id_t)m)));
		for (int h = HASH_UNKNOWN + 1; h < HASH_COUNT; h++)
			if ((k->hash_allowed >> h) & 1u)
				json_array_append_new(hs, json_string(hash_name((hash_alg_t)h)));
		json_object_set_new(o, "mechanisms", ms);
		json_object_set_new(o, "hashes", hs);
		/* decrypt / unwrap / derive: granted when the rule grants the use
		 * and the key lists mechanisms for it */
		const char *const un[] = { "decrypt", "unwrap", "derive" };
		const bool rg[] = { r->decrypt, r->unwrap, r->derive };
		const uint64_t ks[] = { k->decrypt_mechs, k->unwrap_mechs, k->derive_mechs };
		for (size_t u = 0; u < 3; u++) {
			json_t *um = json_array();
			for (int m = MECH_UNKNOWN + 1; rg[u] && m < MECH_COUNT; m++)
				if ((ks[u] >> m) & 1u)
					json_array_append_new(um,
					                      json_string(mech_name((mech_id_t)m)));
			snprintf(buf, sizeof buf, "%s_mechanisms", un[u]);
			json_object_set_new(o, buf, um);
		}
		json_t *val = json_object();
		json_object_set_new(val, "not_before", json_time_or_null(k->not_before));
		json_object_set_new(val, "not_after", json_time_or_null(k->not_after));
		json_object_set_new(val, "state", json_string(key_state(k, v->now)));
		json_object_set_new(val, "revoked", json_boolean(k->revoked));
		json_object_set_new(val, "revoked_reason",
		                    k->revoked_reason ? json_string(k->revoked_reason)
		                                      : json_null());
		json_object_set_new(o, "validity", val);
	}
	policy_decision_t d;
	if (grant_now(v, g, &d))
		json_object_set_new(o, "now",
		                    json_pack("{s:s,s:s,s:o,s:s}", "decision",
		                              d.allow ? "allow" : "deny", "reason",
		                              policy_reason_name(d.reason), "rule",
		                              d.rule ? json_string(d.rule->name) : json_null(),
		                              "detail", d.detail));
	else
		json_object_set_new(o, "now", json_null());
	static const char *const dn[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	json_t *w = json_object(), *days = json_array();
	for (int d = 1; d <= 7; d++)
		if ((r->days >> (d % 7)) & 1u)
			json_array_append_new(days, json_string(dn[d % 7]));
	json_object_set_new(w, "days", days);
	if (r->minute_from < 0) {
		json_object_set_new(w, "hours", json_null());
	} else {
		report_hours_format(r, buf, sizeof buf);
		json_object_set_new(w, "hours", json_string(buf));
	}
	json_object_set_new(w, "timezone", json_string(r->tz_name));
	json_object_set_new(o, "window", w);
	if (r->quota_count) {
		report_duration_format(r->quota_period_s, buf, sizeof buf);
		json_object_set_new(
		        o, "quota",
		        json_pack("{s:I,s:s,s:I,s:s}", "count", (json_int_t)r->quota_count,
		                  "period", buf, "period_s", (json_int_t)r->quota_period_s, "per",
		                  r->quota_scope == QUOTA_PER_CALLER ? "caller" : "rule"));
	} else {
		json_object_set_new(o, "quota", json_null());
	}
	json_t *t = json_object();
	json_object_set_new(t, "required", json_boolean(r->require_ticket));
	json_object_set_new(t, "checks", json_strv(r->checks, r->n_checks));
	json_object_set_new(t, "max_age_s",
	                    r->max_ticket_age_s ? json_integer(r->max_ticket_age_s) : json_null());
	json_object_set_new(o, "ticket", t);
	if (r->approvals_count) {
		json_t *ap = json_object(), *from = json_array();
		for (size_t i = 0; g_approvals_cfg && i < r->n_approvals_from; i++)
			json_array_append_new(
			        from,
			        json_string(g_approvals_cfg->approver_groups[r->approvals_from[i]]
			                            .name));
		json_object_set_new(ap, "count", json_integer(r->approvals_count));
		json_object_set_new(ap, "from", from);
		json_object_set_new(ap, "max_age_s",
		                    r->approvals_max_age_s ? json_integer(r->approvals_max_age_s)
		                                           : json_null());
		json_object_set_new(o, "approvals", ap);
	} else {
		json_object_set_new(o, "approvals", json_null());
	}
	json_t *ps = json_array();
	for (size_t i = 0; i < ro->n_programs; i++) {
		char fp[72];
		json_t *p = json_object();
		json_object_set_new(p, "path", json_string(ro->programs[i].path));
		if (ro->programs[i].has_sha256) {
			hex_format(ro->programs[i].sha256, 32, fp, sizeof fp);
			json_object_set_new(p, "sha256", json_string(fp));
		} else {
			json_object_set_new(p, "sha256", json_null());
		}
		json_array_append_new(ps, p);
	}
	json_object_set_new(o, "programs", ps);
	json_object_set_new(o, "credential_required", json_boolean(ro->credential != NULL));
	if (ro->idp) {
		json_t *it = json_object(), *cl = json_object();
		json_object_set_new(
		        it, "provider",
		        json_string(ro->idp <= cfg->n_idps ? cfg->idps[ro->idp - 1].name : "?"));
		for (size_t i = 0; i < ro->n_claims; i++)
			json_object_set_new(
			        cl, idtoken_claim_name((idtoken_claim_t)ro->claims[i].claim),
			        json_strv(ro->claims[i].values, ro->claims[i].n_values));
		json_object_set_new(it, "claims", cl);
		json_object_set_new(o, "id_token", it);
	} else {
		json_object_set_new(o, "id_token", json_null());
	}
	return o;
}

static const char *kind_name(report_id_kind_t k)
{
	return k == REPORT_ID_USER ? "user" : k == REPORT_ID_UID ? "uid" : "any";
}

/* The rules whose roles include role ri, comma-separated. */
static void rules_of_role(const config_t *cfg, size_t ri, char *out, size_t outlen)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t r = 0; r < cfg->n_rules; r++)
		for (size_t i = 0; i < cfg->rules[r].n_roles; i++)
			if (cfg->rules[r].roles[i] == ri) {
				int w = snprintf(out + len, outlen - len, "%s%s", len ? ", " : "",
				                 cfg->rules[r].name);
				if (w < 0 || (size_t)w >= outlen - len)
					return;
				len += (size_t)w;
			}
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate who-can-sign --config C [--key K | --user U | --product P] [--json]\n"
	        "  Identities -> governed keys, with every condition, from the policy and the\n"
	        "  user database as they are now.  Groups resolve to their current members\n"
	        "  (supplementary and primary); names and ids that no longer exist are flagged.\n"
	        "  --key K      only the governed key named K\n"
	        "  --user U     only user U (name or uid); grants to any caller are included\n"
	        "  --product P  only keys of product P\n"
	        "  --json       machine-readable output\n"
	        "Exit status: 0 report printed, 2 usage or config error.\n");
}

int cmd_who_can_sign(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "user", required_argument, NULL, 'u' },
		{ "product", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	bool json = false;
	view_t v = { 0 };
	int c, n_sel = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'k':
			v.key = optarg;
			n_sel++;
			break;
		case 'u':
			v.user = optarg;
			n_sel++;
			break;
		case 'p':
			v.product = optarg;
			n_sel++;
			break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !conf || n_sel > 1) {
		if (n_sel > 1)
			fprintf(stderr,
			        "signgate who-can-sign: give at most one of --key, --user, --product\n");
		usage(stderr);
		return 2;
	}
	char err[CONFIG_ERR_MAX];
	config_t *cfg = config_load(conf, false, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	g_approvals_cfg = cfg;
	int rc = 2;
	report_model_t m;
	report_grant_t *sel = NULL;
	json_t *root = NULL;
	bool user_exists = false;
	if (report_model_build(cfg, &m) < 0) {
		fprintf(stderr, "signgate who-can-sign: out of memory\n");
		config_free(cfg);
		return 2;
	}
	v.cfg = cfg;
	v.m = &m;
	v.now = time(NULL);
	if (v.key && !(v.key_sel = policy_key_by_name(cfg, v.key))) {
		fprintf(stderr, "signgate who-can-sign: no key '%s' in %s\n", v.key, conf);
		goto out;
	}
	if (v.product) {
		bool found = false;
		for (size_t k = 0; k < cfg->n_keys && !found; k++)
			found = key_has_product(&cfg->keys[k], v.product);
		if (!found) {
			fprintf(stderr, "signgate who-can-sign: no key of product '%s' in %s\n",
			        v.product, conf);
			goto out;
		}
	}
	if (v.user) {
		unsigned long num;
		struct passwd *pw = numeric(v.user, &num) ? getpwuid((uid_t)num) : getpwnam(v.user);
		if (pw) {
			user_exists = true;
			snprintf(v.user_name, sizeof v.user_name, "%s", pw->pw_name);
			v.user_uid = pw->pw_uid;
			v.user_has_uid = true;
		} else if (numeric(v.user, &num)) {
			v.user_uid = (uid_t)num;
			v.user_has_uid = true;
		}
	}

	size_t n_sel_g = 0;
	if (!(sel = calloc(m.n_grants + 1, sizeof *sel))) {
		fprintf(stderr, "signgate who-can-sign: out of memory\n");
		goto out;
	}
	for (size_t i = 0; i < m.n_grants; i++)
		if (grant_selected(&v, &m.grants[i]))
			sel[n_sel_g++] = m.grants[i];
	qsort_r(sel, n_sel_g, sizeof *sel, cmp_grant_ctx_sort, &v);

	char when[32], buf[512];
	report_time_format(v.now, when, sizeof when);
	if (json) {
		root = json_object();
		json_object_set_new(root, "config", json_string(conf));
		json_object_set_new(root, "generated", json_string(when));
		json_t *f = json_object();
		if (v.key)
			json_object_set_new(f, "key", json_string(v.key));
		if (v.user)
			json_object_set_new(f, "user", json_string(v.user));
		if (v.product)
			json_object_set_new(f, "product", json_string(v.product));
		if (v.user)
			json_object_set_new(f, "user_exists", json_boolean(user_exists));
		json_object_set_new(root, "filter", f);
		json_t *ids = json_array(), *cur = NULL, *grants = NULL;
		size_t last = SIZE_MAX;
		for (size_t i = 0; i < n_sel_g; i++) {
			if (sel[i].ident != last) {
				const report_identity_t *id = &m.ids[sel[i].ident];
				last = sel[i].ident;
				cur = json_object();
				json_object_set_new(cur, "kind", json_string(kind_name(id->kind)));
				json_object_set_new(cur, "name", json_string(id->name));
				json_object_set_new(cur, "uid",
				                    id->kind == REPORT_ID_ANY
				                            ? json_null()
				                            : json_integer((json_int_t)id->uid));
				json_object_set_new(cur, "exists",
				                    json_boolean(id->kind != REPORT_ID_UID));
				grants = json_array();
				json_object_set_new(cur, "grants", grants);
				json_array_append_new(ids, cur);
			}
			json_array_append_new(grants, json_grant(&v, &sel[i]));
		}
		json_object_set_new(root, "identities", ids);
		json_t *unk = json_array();
		for (size_t i = 0; i < m.n_unknown; i++) {
			const report_unknown_t *u = &m.unknown[i];
			if (!unknown_selected(&v, u))
				continue;
			rules_of_role(cfg, u->role, buf, sizeof buf);
			json_t *rules = json_array();
			for (size_t r = 0; r < cfg->n_rules; r++)
				for (size_t j = 0; j < cfg->rules[r].n_roles; j++)
					if (cfg->rules[r].roles[j] == u->role)
						json_array_append_new(
						        rules, json_string(cfg->rules[r].name));
			json_array_append_new(unk,
			                      json_pack("{s:s,s:s,s:s,s:o}", "kind", u->kind,
			                                "name", u->name, "role",
			                                cfg->roles[u->role].name, "rules", rules));
		}
		json_object_set_new(root, "unknown", unk);
		json_t *empty = json_array();
		for (size_t ri = 0; ri < cfg->n_roles; ri++) {
			if (!role_empty(&v, ri))
				continue;
			json_t *rules = json_array();
			for (size_t r = 0; r < cfg->n_rules; r++)
				for (size_t j = 0; j < cfg->rules[r].n_roles; j++)
					if (cfg->rules[r].roles[j] == ri)
						json_array_append_new(
						        rules, json_string(cfg->rules[r].name));
			json_array_append_new(empty,
			                      json_pack("{s:s,s:o}", "role", cfg->roles[ri].name,
			                                "rules", rules));
		}
		json_object_set_new(root, "roles_without_members", empty);
		if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0) {
			fprintf(stderr, "signgate who-can-sign: cannot write output\n");
			goto out;
		}
		printf("\n");
	} else {
		printf("Who can sign what, per %s, at %s", conf, when);
		if (v.key)
			printf(" (key %s)", v.key);
		if (v.user)
			printf(" (user %s)", v.user);
		if (v.product)
			printf(" (product %s)", v.product);
		printf("\n");
		if (v.user && !user_exists)
			printf("\nuser '%s' has no account on this system\n", v.user);
		size_t last = SIZE_MAX;
		for (size_t i = 0; i < n_sel_g; i++) {
			if (sel[i].ident != last) {
				const report_identity_t *id = &m.ids[sel[i].ident];
				last = sel[i].ident;
				if (id->kind == REPORT_ID_USER)
					printf("\n%s (uid %u)\n", id->name, (unsigned)id->uid);
				else if (id->kind == REPORT_ID_UID)
					printf("\nuid %u  ** NO ACCOUNT: offboarded? **\n",
					       (unsigned)id->uid);
				else
					printf("\nany caller (the role selects by program, credential or CI "
					       "identity token only)\n");
			}
			if (cfg->rules[sel[i].rule].all_keys && sel[i].key != REPORT_NO_KEY &&
			    !v.key_sel && !v.product)
				continue; /* shown once as "(all keys)"; --key or --json lists each */
			print_grant(&v, &sel[i]);
		}
		if (!n_sel_g)
			printf("\nnobody: no identity that exists today is granted %s\n",
			       v.key       ? "this key"
			       : v.product ? "a key of this product"
			                   : "any key");
		bool header = false;
		for (size_t i = 0; i < m.n_unknown; i++) {
			const report_unknown_t *u = &m.unknown[i];
			if (!unknown_selected(&v, u))
				continue;
			if (!header) {
				printf("\nOffboarding lag: the policy names identities this system does not know\n");
				header = true;
			}
			rules_of_role(cfg, u->role, buf, sizeof buf);
			printf("  %-5s %-16s in role %s (rules: %s)\n", u->kind, u->name,
			       cfg->roles[u->role].name, buf[0] ? buf : "none");
		}
		header = false;
		for (size_t ri = 0; ri < cfg->n_roles; ri++) {
			if (!role_empty(&v, ri))
				continue;
			if (!header) {
				printf("\nRoles that match no account today (their rules cannot fire)\n");
				header = true;
			}
			rules_of_role(cfg, ri, buf, sizeof buf);
			printf("  %-22s rules: %s\n", cfg->roles[ri].name, buf);
		}
	}
	rc = 0;
out:
	json_decref(root);
	free(sel);
	report_model_free(&m);
	config_free(cfg);
	return rc;
}

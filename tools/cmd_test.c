/* signgate test: policy regression cases, run through the module's engine.
 *
 * A cases file (libconfig, docs/policy-tests.md) names callers, keys,
 * mechanisms, times, ticket claims and the runtime state around a
 * decision (quota left, ticket uses left, audit delivery), each with the
 * outcome and reason expected.  Every case is decided the way
 * module/p11/enforce.c decides a key use: policy_key_lookup() for an object
 * given by token/ID/label/fingerprint, policy_decide() with the request
 * enforce.c builds (hash deferred for mechanisms whose hash comes with
 * the data), then policy_decide_data() with the facts enforce_sign_data()
 * gathers when the data arrives (the inspector's reading of the case's
 * data, its SHA-256, the counters' answers), then the audit delivery.
 * No token is needed: the cases test the policy, not the token.
 */
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

/* libconfig calls its handle config_t, as we do: rename theirs here. */
#define config_t lc_config_t
#include <libconfig.h>
#undef config_t

#include "caller.h"
#include "identify.h"
#include "commands.h"
#include "config.h"
#include "policy.h"
#include "policy_input.h"
#include "test_cases.h"
#include "codec.h"

/* ---- operations ----------------------------------------------------------- */

/* One entry per operation a case can name: a new policy action is one
 * line here (and one in the cases documentation). */
static const struct op_kind {
	const char *name;
	policy_action_t action;
	bool needs_mech;    /* a mechanism is part of the request */
	bool sign_data;     /* the data checks of a signature: its hash, artifact digests */
	bool key_use;       /* a private-key use: kill switch, rule quota, ticket uses */
	bool audit_refuses; /* an undeliverable record refuses it (audit.required) */
	/* Audit-only reason when the policy allowed and the token failed the
	 * operation (case setting token = "fails"); REASON_ALLOWED = none. */
	policy_reason_t token_failed;
} op_kinds[] = {
	{ "sign", POLICY_ACTION_SIGN, true, true, true, true, REASON_ALLOWED },
	{ "admin", POLICY_ACTION_ADMIN, false, false, false, false, REASON_ALLOWED },
	{ "decrypt", POLICY_ACTION_DECRYPT, true, false, true, false, REASON_DECRYPT_FAILED },
	{ "unwrap", POLICY_ACTION_UNWRAP, true, false, true, false, REASON_UNWRAP_FAILED },
	{ "derive", POLICY_ACTION_DERIVE, true, false, true, false, REASON_DERIVE_FAILED },
};

static const struct op_kind *op_find(const char *name)
{
	for (size_t i = 0; i < sizeof op_kinds / sizeof op_kinds[0]; i++)
		if (!strcmp(op_kinds[i].name, name))
			return &op_kinds[i];
	return NULL;
}

/* ---- reading a case ---------------------------------------------------------- */

typedef struct case_ctx {
	const char *file;
	const config_t *cfg;
	char err[400];
} case_ctx_t;

#define CASE_FAIL(ctx, s, ...)                                                                 \
	do {                                                                                   \
		int n_ = snprintf((ctx)->err, sizeof(ctx)->err, "%s:%d: ", (ctx)->file,        \
		                  config_setting_source_line(s));                              \
		if (n_ > 0 && (size_t)n_ < sizeof(ctx)->err)                                   \
			snprintf((ctx)->err + n_, sizeof(ctx)->err - (size_t)n_, __VA_ARGS__); \
		return -1;                                                                     \
	} while (0)

/* Refuse settings this format does not know (a typo must not turn a
 * case into one that tests less). */
static int only_known(case_ctx_t *ctx, const config_setting_t *g, const char *const *names)
{
	for (int i = 0; i < config_setting_length(g); i++) {
		const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
		const char *nm = config_setting_name(s);
		bool ok = false;
		for (size_t j = 0; !ok && names[j]; j++)
			ok = nm && !strcmp(nm, names[j]);
		if (!ok)
			CASE_FAIL(ctx, s, "unknown setting '%s'", nm ? nm : "?");
	}
	return 0;
}

static int get_str(case_ctx_t *ctx, const config_setting_t *g, const char *name, const char **out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	*out = NULL;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		CASE_FAIL(ctx, s, "'%s' must be a string", name);
	*out = config_setting_get_string(s);
	return 1;
}

static int get_int(case_ctx_t *ctx, const config_setting_t *g, const char *name, long long *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64)
		CASE_FAIL(ctx, s, "'%s' must be an integer", name);
	*out = config_setting_get_int64(s);
	if (*out < 0)
		CASE_FAIL(ctx, s, "'%s' must not be negative", name);
	return 1;
}

static int get_bool(case_ctx_t *ctx, const config_setting_t *g, const char *name, bool *out)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		CASE_FAIL(ctx, s, "'%s' must be true or false", name);
	*out = config_setting_get_bool(s);
	return 1;
}

/* A list of strings (or, with numbers_ok, of strings and integers). */
static int get_strv(case_ctx_t *ctx, const config_setting_t *g, const char *name, char *buf,
                    size_t width, size_t max, size_t *n, bool numbers_ok)
{
	const config_setting_t *s = config_setting_get_member(g, name);
	*n = 0;
	if (!s)
		return 0;
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST)
		CASE_FAIL(ctx, s, "'%s' must be a list", name);
	for (int i = 0; i < config_setting_length(s); i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		if (*n == max)
			CASE_FAIL(ctx, e, "'%s': at most %zu entries", name, max);
		char *slot = buf + *n * width;
		if (config_setting_type(e) == CONFIG_TYPE_STRING) {
			const char *v = config_setting_get_string(e);
			if (strlen(v) >= width)
				CASE_FAIL(ctx, e, "'%s': entry longer than %zu characters", name,
				          width - 1);
			snprintf(slot, width, "%s", v);
		} else if (numbers_ok && config_setting_type(e) == CONFIG_TYPE_INT) {
			snprintf(slot, width, "%d", config_setting_get_int(e));
		} else {
			CASE_FAIL(ctx, e, "'%s' entries must be strings", name);
		}
		(*n)++;
	}
	return 1;
}

/* Hex, either case, ':' allowed between bytes (as in the config's key
 * ids); returns the length or -1. */
static long hex_decode(const char *s, unsigned char *out, size_t max)
{
	size_t n;
	if (!codec_hex_decode(s, strlen(s), CODEC_HEX_UPPER | CODEC_HEX_COLONS, out, max, &n))
		return -1;
	return (long)n;
}

static int get_sha256(case_ctx_t *ctx, const config_setting_t *g, const char *name,
                      unsigned char out[32])
{
	const char *v;
	int r = get_str(ctx, g, name, &v);
	if (r <= 0)
		return r;
	if (!strncmp(v, "sha256:", 7))
		v += 7;
	if (strlen(v) != 64 || hex_decode(v, out, 32) != 32)
		CASE_FAIL(ctx, config_setting_get_member(g, name), "'%s' must be 64 hex digits",
		          name);
	return 1;
}

static bool sha256_file(const char *path, unsigned char out[32])
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	/* an executable is a regular file; /dev/zero would never end */
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return false;
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	bool ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	unsigned char buf[65536];
	size_t r;
	while (ok && (r = fread(buf, 1, sizeof buf, f)) > 0)
		ok = EVP_DigestUpdate(md, buf, r);
	ok = ok && !ferror(f) && EVP_DigestFinal_ex(md, out, NULL);
	EVP_MD_CTX_free(md);
	fclose(f);
	return ok;
}

static bool numeric_id(const char *s, unsigned long *out)
{
	char *end;
	if (!s[0] || s[0] < '0' || s[0] > '9')
		return false;
	*out = strtoul(s, &end, 10);
	return !*end;
}

/* The caller: from the user database when it knows the user (groups
 * too, unless the case lists them), else from the case alone (a case
 * written elsewhere, or recorded from an account since removed). */
static int read_caller(case_ctx_t *ctx, const config_setting_t *c, caller_t *out)
{
	static const char *const known_names[] = { "user",   "uid",     "gid",
		                                   "groups", "program", "program_sha256",
		                                   "known",  NULL };
	const char *user = NULL, *program = NULL;
	char groups[CALLER_MAX_GROUPS][64];
	const char *gp[CALLER_MAX_GROUPS];
	size_t n_groups = 0;
	long long uid = -1, gid = -1;
	bool known = true;
	unsigned long num;

	memset(out, 0, sizeof *out);
	if (config_setting_type(c) != CONFIG_TYPE_GROUP)
		CASE_FAIL(ctx, c, "'caller' must be a group { user = ...; }");
	if (only_known(ctx, c, known_names) < 0 || get_str(ctx, c, "user", &user) < 0 ||
	    get_int(ctx, c, "uid", &uid) < 0 || get_int(ctx, c, "gid", &gid) < 0 ||
	    get_strv(ctx, c, "groups", groups[0], sizeof groups[0], CALLER_MAX_GROUPS, &n_groups,
	             true) < 0 ||
	    get_str(ctx, c, "program", &program) < 0 || get_bool(ctx, c, "known", &known) < 0)
		return -1;
	if (!known)
		return 0; /* caller-unknown: identity could not be determined */
	for (size_t i = 0; i < n_groups; i++)
		gp[i] = groups[i];

	char uidbuf[24];
	const char *who = user;
	if (!who && uid >= 0) {
		snprintf(uidbuf, sizeof uidbuf, "%lld", uid);
		who = uidbuf;
	}
	if (!who)
		CASE_FAIL(ctx, c, "'caller' needs 'user' or 'uid'");
	if (caller_from_names(out, who, n_groups ? gp : NULL, n_groups, NULL) < 0) {
		/* Not known here: take the case's word for it. */
		memset(out, 0, sizeof *out);
		if (user && !numeric_id(user, &num))
			snprintf(out->user, sizeof out->user, "%s", user);
		else if (user)
			uid = (long long)num;
		if (uid < 0)
			CASE_FAIL(ctx, c, "user '%s' is unknown on this system: give its 'uid'",
			          user);
		out->uid = (uid_t)uid;
		out->gid = gid >= 0 ? (gid_t)gid : (gid_t)uid;
		for (size_t i = 0; i < n_groups; i++) {
			struct group *gr;
			if (numeric_id(groups[i], &num))
				out->groups[out->n_groups++] = (gid_t)num;
			else if ((gr = getgrnam(groups[i])))
				out->groups[out->n_groups++] = gr->gr_gid;
			else
				CASE_FAIL(ctx, c,
				          "group '%.63s' is unknown on this system: give its gid",
				          groups[i]);
		}
	} else if (user && uid >= 0 && (uid_t)uid != out->uid) {
		CASE_FAIL(ctx, c, "user '%s' has uid %u here, not %lld", user, (unsigned)out->uid,
		          uid);
	}
	if (gid >= 0)
		out->gid = (gid_t)gid;
	if (program) {
		if (program[0] != '/' || strlen(program) >= sizeof out->program)
			CASE_FAIL(ctx, c, "'program' must be an absolute path");
		snprintf(out->program, sizeof out->program, "%s", program);
		int r = get_sha256(ctx, c, "program_sha256", out->program_sha256);
		if (r < 0)
			return -1;
		out->has_program_sha256 = r > 0 || sha256_file(program, out->program_sha256);
	}
	out->known = true;
	return 0;
}

static int read_ticket(case_ctx_t *ctx, const config_setting_t *t, time_t now, ticket_claims_t *tk,
                       ticket_status_t *status, long long *uses_left)
{
	static const char *const known_names[] = { "issuer",    "product",  "checks",    "issued",
		                                   "age",       "audience", "artifacts", "max_uses",
		                                   "uses_left", "status",   "jti",       NULL };
	const char *issuer = NULL, *product = NULL, *issued = NULL, *age = NULL, *st = NULL;
	const char *jti = NULL;
	char checks[TICKET_MAX_CHECKS][96], arts[TICKET_MAX_DIGESTS][80];
	size_t n_checks = 0, n_arts = 0;
	long long max_uses = 0;

	memset(tk, 0, sizeof *tk);
	*status = TICKET_OK;
	if (config_setting_type(t) != CONFIG_TYPE_GROUP)
		CASE_FAIL(ctx, t, "'ticket' must be a group { product = ...; }");
	if (only_known(ctx, t, known_names) < 0 || get_str(ctx, t, "issuer", &issuer) < 0 ||
	    get_str(ctx, t, "product", &product) < 0 || get_str(ctx, t, "issued", &issued) < 0 ||
	    get_str(ctx, t, "age", &age) < 0 || get_str(ctx, t, "status", &st) < 0 ||
	    get_str(ctx, t, "jti", &jti) < 0 ||
	    get_strv(ctx, t, "checks", checks[0], sizeof checks[0], TICKET_MAX_CHECKS, &n_checks,
	             false) < 0 ||
	    get_strv(ctx, t, "audience", tk->aud[0], sizeof tk->aud[0], TICKET_MAX_AUD, &tk->n_aud,
	             false) < 0 ||
	    get_strv(ctx, t, "artifacts", arts[0], sizeof arts[0], TICKET_MAX_DIGESTS, &n_arts,
	             false) < 0 ||
	    get_int(ctx, t, "max_uses", &max_uses) < 0 ||
	    get_int(ctx, t, "uses_left", uses_left) < 0)
		return -1;
	snprintf(tk->issuer, sizeof tk->issuer, "%s", issuer ? issuer : "signgate-test");
	snprintf(tk->product, sizeof tk->product, "%s", product ? product : "");
	snprintf(tk->jti, sizeof tk->jti, "%s", jti ? jti : "case");
	tk->iat = (int64_t)now;
	if (issued && age)
		CASE_FAIL(ctx, t, "give 'issued' or 'age', not both");
	if (issued) {
		time_t at;
		if (!config_parse_rfc3339(issued, &at))
			CASE_FAIL(ctx, t, "'issued' must be an RFC 3339 date-time");
		tk->iat = (int64_t)at;
	} else if (age) {
		uint32_t s;
		if (!config_parse_duration(age, &s))
			CASE_FAIL(ctx, t, "'age' must be a duration (\"5m\", \"2h\")");
		tk->iat = (int64_t)now - s;
	}
	tk->nbf = tk->iat;
	tk->exp = (int64_t)now + 3600;
	tk->max_uses = max_uses > UINT32_MAX ? UINT32_MAX : (uint32_t)max_uses;
	for (size_t i = 0; i < n_checks; i++) {
		ticket_check_t *c = &tk->checks[tk->n_checks++];
		char *eq = strchr(checks[i], '=');
		if (eq)
			*eq = '\0';
		snprintf(c->name, sizeof c->name, "%.63s", checks[i]);
		snprintf(c->result, sizeof c->result, "%.15s", eq ? eq + 1 : "pass");
		c->pass = !strcmp(c->result, "pass");
	}
	for (size_t i = 0; i < n_arts; i++) {
		const char *a = arts[i];
		if (!strncmp(a, "sha256:", 7))
			a += 7;
		if (strlen(a) != 64 || hex_decode(a, tk->digests[tk->n_digests++], 32) != 32)
			CASE_FAIL(ctx, t,
			          "'artifacts' entries must be SHA-256 digests (64 hex digits)");
	}
	if (st) {
		static const ticket_status_t all[] = { TICKET_OK,
			                               TICKET_MALFORMED,
			                               TICKET_BAD_ALG,
			                               TICKET_UNKNOWN_ISSUER,
			                               TICKET_BAD_SIGNATURE,
			                               TICKET_EXPIRED,
			                               TICKET_NOT_YET_VALID };
		bool found = false;
		for (size_t i = 0; !found && i < sizeof all / sizeof all[0]; i++) {
			const char *nm = ticket_status_name(all[i]);
			/* "expired" or "ticket-expired" */
			if (!strcmp(st, nm) || !strcmp(st, nm + strlen("ticket-"))) {
				*status = all[i];
				found = true;
			}
		}
		if (!found)
			CASE_FAIL(ctx, t,
			          "'status' must be ok, malformed, bad-alg, unknown-issuer, "
			          "bad-signature, expired or not-yet-valid");
	}
	return 0;
}

/* ---- deciding a case ------------------------------------------------------------ */

typedef struct case_result {
	char name[128];
	int line;
	bool pass;
	bool allow;
	policy_reason_t reason;
	const char *reason_name;
	char rule[64];
	char detail[200];
	char message[400]; /* why it failed */
} case_result_t;

static bool mech_hash_from_data(mech_id_t m)
{
	return m == MECH_RSA_PKCS || m == MECH_ECDSA;
}

static void result_deny(case_result_t *res, policy_reason_t r, const char *detail)
{
	res->allow = false;
	res->reason = r;
	snprintf(res->detail, sizeof res->detail, "%s", detail);
}

/* What the module learns from the data of a signature, as a case states
 * it: the data bytes themselves, or what the inspector established from
 * them (the hash, the digest bound). */
typedef struct case_data {
	const unsigned char *bytes; /* "data": NULL = not given */
	size_t len;
	unsigned order_bits;         /* "ec_order_bits": the curve of an ECDSA key */
	bool hash_given;             /* "hash" for RSA-PKCS / ECDSA: the inspector's hash */
	hash_alg_t hash;             /* HASH_UNKNOWN with hash_given: "unparseable" */
	const unsigned char *digest; /* "data_digest": NULL = not given */
} case_data_t;

/* Fill q's inspection result and data SHA-256 the way enforce_sign_data()
 * gathers them: data bytes go through the module's inspector; a stated
 * hash or digest becomes the result the inspector gives for such data.
 * False when the case states nothing about the data (its checks are then
 * not made, as `signgate explain` does not make them). */
static bool case_data_facts(const case_data_t *cd, const policy_key_t *key,
                            policy_data_request_t *q, inspect_result_t *ir, unsigned char sha[32])
{
	policy_data_kind_t kind = policy_data_kind(q->mech);

	memset(ir, 0, sizeof *ir);
	if (cd->bytes) {
		switch (kind) {
		case POLICY_DATA_RAW:
			if (q->mech == MECH_RSA_PKCS)
				inspect_digestinfo(cd->bytes, cd->len, ir);
			else if (q->mech == MECH_ECDSA)
				inspect_ecdsa(cd->bytes, cd->len, cd->order_bits,
				              key ? key->ecdsa_truncate : 0, ir);
			else if (q->mech == MECH_RSA_X_509)
				inspect_rsa_x509(cd->bytes, cd->len, ir);
			else
				inspect_pss_input(q->hash, cd->bytes, cd->len, ir);
			q->inspect = ir;
			break;
		case POLICY_DATA_HASHED:
			inspect_cms_attributes(mech_fixed_hash(q->mech), cd->bytes, cd->len, ir);
			q->inspect = ir;
			break;
		case POLICY_DATA_PLAIN: break;
		}
		SHA256(cd->bytes, cd->len, sha);
		q->data_sha256 = sha;
		return true;
	}
	/* A hash is a fact of the data only where the data tells it. */
	bool hash_fact = cd->hash_given && q->hash_pending;
	if (!hash_fact && !cd->digest)
		return false;
	if (kind == POLICY_DATA_PLAIN) {
		/* not inspected; the digest is that of the whole data */
		q->data_sha256 = cd->digest;
		return true;
	}
	if (hash_fact && cd->hash == HASH_UNKNOWN) {
		/* no DigestInfo of a known hash, no digest length of one */
		ir->status = INSPECT_HASH_UNKNOWN;
		ir->hash = HASH_UNKNOWN;
		ir->basis = INSPECT_BASIS_NONE;
		snprintf(ir->detail, sizeof ir->detail,
		         "input is no DigestInfo / no known hash length");
		q->inspect = ir;
		return true;
	}
	ir->status = INSPECT_OK;
	if (kind == POLICY_DATA_HASHED)
		ir->hash = mech_fixed_hash(q->mech); /* CMS signed attributes */
	else if (hash_fact)
		ir->hash = cd->hash;
	else if (q->hash != HASH_UNKNOWN)
		ir->hash = q->hash; /* PSS: its parameters' hash */
	else
		ir->hash = HASH_SHA256; /* the data is a digest, data_digest a SHA-256 */
	ir->basis = inspect_mech_basis(q->mech);
	if (cd->digest) {
		memcpy(ir->digest, cd->digest, 32);
		ir->digest_len = 32;
	}
	q->inspect = ir;
	return true;
}

/* Run one case; -1 when the case itself is malformed (ctx->err). */
static int run_case(case_ctx_t *ctx, const config_setting_t *cs, case_result_t *res)
{
	static const char *const known_names[] = {
		"name",       "caller", "key",    "object",      "operation",     "mechanism",
		"hash",       "at",     "ticket", "data_digest", "login_role",    "credential",
		"quota_left", "audit",  "config", "token",       "state",         "state_revoked",
		"expect",     "reason", "rule",   "data",        "ec_order_bits", NULL
	};
	const char *name = NULL, *key = NULL, *op_s = "sign", *mech_s = NULL, *hash_s = NULL;
	const char *at = NULL, *login_s = NULL, *cred = NULL, *audit_s = NULL, *config_s = NULL;
	const char *expect = NULL, *want_reason = NULL, *want_rule = NULL, *token_s = NULL;
	const char *state_s = NULL, *state_revoked = NULL, *data_s = NULL;
	long long quota_left = -1, uses_left = -1, ec_order_bits = -1;
	const config_t *cfg = ctx->cfg;
	caller_t caller;
	ticket_claims_t tk;
	ticket_status_t tstatus = TICKET_OK;
	bool have_ticket = false, have_digest = false;
	unsigned char digest[32];
	static unsigned char data_buf[8192];
	policy_request_t req = { 0 };
	policy_decision_t d;
	policy_reason_t why = REASON_KEY_UNGOVERNED;

	memset(res, 0, sizeof *res);
	res->line = config_setting_source_line(cs);
	if (config_setting_type(cs) != CONFIG_TYPE_GROUP)
		CASE_FAIL(ctx, cs, "each case must be a group { name = ...; }");
	if (only_known(ctx, cs, known_names) < 0 || get_str(ctx, cs, "name", &name) < 0 ||
	    get_str(ctx, cs, "key", &key) < 0 || get_str(ctx, cs, "operation", &op_s) < 0 ||
	    get_str(ctx, cs, "mechanism", &mech_s) < 0 || get_str(ctx, cs, "hash", &hash_s) < 0 ||
	    get_str(ctx, cs, "at", &at) < 0 || get_str(ctx, cs, "login_role", &login_s) < 0 ||
	    get_str(ctx, cs, "credential", &cred) < 0 || get_str(ctx, cs, "audit", &audit_s) < 0 ||
	    get_str(ctx, cs, "config", &config_s) < 0 || get_str(ctx, cs, "expect", &expect) < 0 ||
	    get_str(ctx, cs, "reason", &want_reason) < 0 ||
	    get_str(ctx, cs, "rule", &want_rule) < 0 ||
	    get_int(ctx, cs, "quota_left", &quota_left) < 0 ||
	    get_str(ctx, cs, "token", &token_s) < 0 || get_str(ctx, cs, "state", &state_s) < 0 ||
	    get_str(ctx, cs, "state_revoked", &state_revoked) < 0 ||
	    get_str(ctx, cs, "data", &data_s) < 0 ||
	    get_int(ctx, cs, "ec_order_bits", &ec_order_bits) < 0)
		return -1;
	if (!op_s)
		op_s = "sign";
	if (!name || !name[0])
		CASE_FAIL(ctx, cs, "a case needs a 'name'");
	snprintf(res->name, sizeof res->name, "%s", name);
	if (!expect || (strcmp(expect, "allow") && strcmp(expect, "deny")))
		CASE_FAIL(ctx, cs, "case '%s': 'expect' must be \"allow\" or \"deny\"", name);
	const struct op_kind *op = op_find(op_s);
	if (!op)
		CASE_FAIL(ctx, config_setting_get_member(cs, "operation"),
		          "case '%s': unknown operation '%s'", name, op_s);
	req.action = op->action;
	if (token_s && strcmp(token_s, "ok") && strcmp(token_s, "fails"))
		CASE_FAIL(ctx, cs, "case '%s': 'token' must be \"ok\" or \"fails\"", name);
	bool token_fails = token_s && !strcmp(token_s, "fails");
	if (state_s && strcmp(state_s, "ok") && strcmp(state_s, "unavailable"))
		CASE_FAIL(ctx, cs, "case '%s': 'state' must be \"ok\" or \"unavailable\"", name);
	if (token_fails && op->token_failed == REASON_ALLOWED)
		CASE_FAIL(ctx, cs, "case '%s': a failing token is no decision of %s", name,
		          op->name);

	req.now = time(NULL);
	if (at && !config_parse_rfc3339(at, &req.now))
		CASE_FAIL(ctx, config_setting_get_member(cs, "at"),
		          "case '%s': 'at' must be an RFC 3339 date-time", name);

	const config_setting_t *c = config_setting_get_member(cs, "caller");
	if (!c)
		CASE_FAIL(ctx, cs, "case '%s' needs a 'caller'", name);
	if (read_caller(ctx, c, &caller) < 0)
		return -1;
	req.caller = &caller;

	if (op->needs_mech) {
		if (!mech_s)
			CASE_FAIL(ctx, cs, "case '%s': 'mechanism' is required for %s", name,
			          op->name);
		req.mech = mech_from_name(mech_s);
		if (req.mech == MECH_UNKNOWN)
			CASE_FAIL(ctx, cs, "case '%s': unknown mechanism '%s'", name, mech_s);
	}
	/* The hash the data turns out to be over; "unparseable" = an input
	 * the module cannot read a hash from (not a DigestInfo, odd length). */
	hash_alg_t data_hash = HASH_UNKNOWN;
	bool data_hash_given = false;
	if (hash_s) {
		data_hash_given = true;
		if (strcmp(hash_s, "unparseable") &&
		    (data_hash = hash_from_name(hash_s)) == HASH_UNKNOWN)
			CASE_FAIL(ctx, cs, "case '%s': unknown hash '%s'", name, hash_s);
	}

	const config_setting_t *t = config_setting_get_member(cs, "ticket");
	if (t) {
		if (read_ticket(ctx, t, req.now, &tk, &tstatus, &uses_left) < 0)
			return -1;
		have_ticket = true;
	}
	int r = get_sha256(ctx, cs, "data_digest", digest);
	if (r < 0)
		return -1;
	have_digest = r > 0;

	/* The module's state around the decision. */
	if (config_s && strcmp(config_s, "invalid") && strcmp(config_s, "valid"))
		CASE_FAIL(ctx, cs, "case '%s': 'config' must be \"valid\" or \"invalid\"", name);
	if (audit_s && strcmp(audit_s, "unavailable") && strcmp(audit_s, "ok"))
		CASE_FAIL(ctx, cs, "case '%s': 'audit' must be \"ok\" or \"unavailable\"", name);
	const config_t *in_force = config_s && !strcmp(config_s, "invalid") ? NULL : cfg;

	/* The key: by name, or as the object the module would see. */
	const config_setting_t *obj = config_setting_get_member(cs, "object");
	if (key && obj)
		CASE_FAIL(ctx, cs, "case '%s': give 'key' or 'object', not both", name);
	if (key) {
		req.key = policy_key_by_name(cfg, key);
		if (!req.key && strcmp(key, "-"))
			CASE_FAIL(ctx, cs,
			          "case '%s': no key '%s' in the config (use 'object' for an "
			          "ungoverned key)",
			          name, key);
		if (!strcmp(key, "-") && op->action != POLICY_ACTION_ADMIN)
			CASE_FAIL(ctx, cs, "case '%s': key \"-\" (no key) is for operation admin",
			          name);
	} else if (obj) {
		static const char *const obj_names[] = { "token", "id", "label", "fingerprint",
			                                 NULL };
		const char *token = NULL, *id_s = NULL, *label = NULL;
		unsigned char id[64];
		long id_len = 0;
		policy_key_ref_t ref = { 0 };
		if (config_setting_type(obj) != CONFIG_TYPE_GROUP)
			CASE_FAIL(ctx, obj, "'object' must be a group { token = ...; id = ...; }");
		if (only_known(ctx, obj, obj_names) < 0 || get_str(ctx, obj, "token", &token) < 0 ||
		    get_str(ctx, obj, "id", &id_s) < 0 || get_str(ctx, obj, "label", &label) < 0)
			return -1;
		if (!token)
			CASE_FAIL(ctx, obj, "case '%s': 'object' needs 'token'", name);
		if (id_s && (id_len = hex_decode(id_s, id, sizeof id)) < 0)
			CASE_FAIL(ctx, obj, "case '%s': 'id' must be hex", name);
		r = get_sha256(ctx, obj, "fingerprint", ref.fingerprint);
		if (r < 0)
			return -1;
		ref.has_fingerprint = r > 0;
		ref.token_label = token;
		ref.token_serial = "";
		ref.id = id_s ? id : NULL;
		ref.id_len = (size_t)id_len;
		ref.label = label ? label : "";
		req.key = in_force ? policy_key_lookup(cfg, &ref, &why) : NULL;
	} else {
		CASE_FAIL(ctx, cs, "case '%s' needs a 'key' (name) or an 'object'", name);
	}

	/* A credential presented at C_Login: checked as the module does. */
	if (login_s) {
		req.login_role = policy_role_by_name(cfg, login_s);
		if (!req.login_role)
			CASE_FAIL(ctx, cs, "case '%s': no role '%s' in the config", name, login_s);
	}
	if (cred) {
		const policy_role_t *proved =
		        policy_credential_match(cfg, &caller, cred, strlen(cred));
		if (!proved || (req.login_role && proved != req.login_role)) {
			result_deny(res, REASON_BAD_CREDENTIAL, "credential refused at C_Login");
			goto judge;
		}
		req.login_role = proved;
	}

	/* The request enforce_key_use() builds: the hash is deferred to the
	 * data for mechanisms that take it with the data (decided at *Init
	 * without it, as the module does). */
	bool deferred_to_data = false;
	if (op->needs_mech) {
		req.hash = mech_fixed_hash(req.mech);
		if (op->sign_data && mech_hash_from_data(req.mech)) {
			deferred_to_data = true;
		} else if (data_hash_given && op->sign_data && req.mech == MECH_RSA_PKCS_PSS) {
			/* PSS: the hash of its parameters, known at *Init */
			if (!strcmp(hash_s, "unparseable"))
				CASE_FAIL(
				        ctx, cs,
				        "case '%s': hash \"unparseable\" is for RSA-PKCS and ECDSA",
				        name);
			req.hash = data_hash;
		} else if (data_hash_given && (!op->sign_data || data_hash != req.hash)) {
			/* The module reads no hash for this mechanism (raw RSA,
			 * EdDSA, decryption ...) or the mechanism fixes its own
			 * (SHA256-RSA-PKCS; PSS parameters naming another hash are
			 * refused by the module as CKR_MECHANISM_PARAM_INVALID). */
			CASE_FAIL(ctx, cs, "case '%s': mechanism %s takes no hash '%s'", name,
			          mech_name(req.mech), hash_s);
		}
		req.hash_deferred = req.hash == HASH_UNKNOWN;
	}

	/* The data of a signature, as the module would see it. */
	case_data_t cdata = { .hash_given = data_hash_given && deferred_to_data,
		              .hash = data_hash,
		              .digest = have_digest ? digest : NULL };
	if (data_s) {
		long n = hex_decode(data_s, data_buf, sizeof data_buf);
		if (n < 0)
			CASE_FAIL(ctx, cs, "case '%s': 'data' must be hex (at most %zu bytes)",
			          name, sizeof data_buf);
		if (!op->sign_data)
			CASE_FAIL(ctx, cs, "case '%s': 'data' is the data of a signature", name);
		if (have_digest || (data_hash_given && deferred_to_data))
			CASE_FAIL(ctx, cs,
			          "case '%s': with 'data', the module reads the hash and digest "
			          "from it: give no 'hash' or 'data_digest'",
			          name);
		cdata.bytes = data_buf;
		cdata.len = (size_t)n;
		if (req.mech == MECH_ECDSA) {
			if (ec_order_bits <= 0 || ec_order_bits > 1024)
				CASE_FAIL(ctx, cs,
				          "case '%s': ECDSA 'data' needs the key's 'ec_order_bits' "
				          "(256 for P-256)",
				          name);
			cdata.order_bits = (unsigned)ec_order_bits;
		}
	}
	if (ec_order_bits >= 0 && (!data_s || req.mech != MECH_ECDSA))
		CASE_FAIL(ctx, cs, "case '%s': 'ec_order_bits' is for ECDSA 'data'", name);
	if (cdata.hash_given && !have_digest && have_ticket && tk.n_digests)
		CASE_FAIL(ctx, cs,
		          "case '%s': the ticket lists artifacts: give the digest signed "
		          "('data_digest' or 'data')",
		          name);
	req.ticket = have_ticket && tstatus == TICKET_OK ? &tk : NULL;
	/* As the module asks: a refused ticket, a look-alike object */
	req.ticket_status = have_ticket ? tstatus : TICKET_OK;
	req.key_reason = obj && req.action != POLICY_ACTION_ADMIN ? why : REASON_KEY_UNGOVERNED;
	policy_decide(in_force, &req, &d);
	res->allow = d.allow;
	res->reason = d.reason;
	snprintf(res->detail, sizeof res->detail, "%s", d.detail);
	if (d.rule)
		snprintf(res->rule, sizeof res->rule, "%s", d.rule->name);
	if (!d.allow)
		goto judge;

	/* The kill switch (signgate revoke) in the state store, read after
	 * the policy allowed a use of a governed key; a store that cannot
	 * answer refuses. */
	if (op->key_use && req.key && state_s && !strcmp(state_s, "unavailable")) {
		result_deny(res, REASON_STATE_UNAVAILABLE, "the state store could not answer");
		goto judge;
	}
	if (op->key_use && req.key && state_revoked) {
		char why_s[200];
		snprintf(why_s, sizeof why_s, "revoked (signgate revoke): %.150s", state_revoked);
		result_deny(res, REASON_KEY_REVOKED, why_s);
		goto judge;
	}

	/* enforce_sign_data() and, for unwrap and derive, the counters taken
	 * before the token sees them: the facts of the case, decided by
	 * policy_decide_data().  The case's quota_left / uses_left are the
	 * state store's answers when the decision asks for a counter. */
	if (op->key_use) {
		policy_data_decision_t dd;
		inspect_result_t ir;
		unsigned char data_sha[32];
		policy_data_request_t q = {
			.op = op->sign_data                         ? POLICY_DATA_SIGN
			      : op->action == POLICY_ACTION_DECRYPT ? POLICY_DATA_DECRYPT
			                                            : POLICY_DATA_KEY_USE,
			.caller = &caller,
			.key = req.key,
			.rule = d.rule,
			.role = d.role,
			.mech = req.mech,
			.hash = deferred_to_data ? HASH_UNKNOWN : req.hash,
			.hash_pending = deferred_to_data,
			.now = req.now,
			.ticket = req.ticket,
			.approvals_cfg = in_force,
		};
		if (op->sign_data && !case_data_facts(&cdata, req.key, &q, &ir, data_sha)) {
			/* No data stated: the case is about the decision at
			 * *Init and the counters; the data's rules are not
			 * judged (the request of a key use without data). */
			q.op = POLICY_DATA_DECRYPT;
		}
		for (int asked = 0; asked < 3; asked++) {
			policy_decide_data(in_force, &q, &dd);
			if (dd.need == POLICY_NEED_QUOTA)
				q.quota = quota_left == 0 ? POLICY_COUNT_EXHAUSTED
				                          : POLICY_COUNT_TAKEN;
			else if (dd.need == POLICY_NEED_TICKET_USE)
				q.ticket_use = uses_left == 0 ? POLICY_COUNT_EXHAUSTED
				                              : POLICY_COUNT_TAKEN;
			else
				break;
		}
		if (dd.need != POLICY_NEED_NOTHING) /* fail closed: never an allow */
			dd.d.allow = false;
		if (!dd.d.allow) {
			res->allow = false;
			res->reason = dd.d.reason;
			snprintf(res->detail, sizeof res->detail, "%s", dd.d.detail);
			snprintf(res->rule, sizeof res->rule, "%s",
			         dd.d.rule ? dd.d.rule->name : "");
			goto judge;
		}
	}
	if (op->audit_refuses && audit_s && !strcmp(audit_s, "unavailable") && cfg->audit.enabled &&
	    cfg->audit.required) {
		result_deny(res, REASON_AUDIT_UNAVAILABLE,
		            "the signature's audit record was not delivered");
		goto judge;
	}
	/* The policy allowed and the counters were taken: the token fails it. */
	if (token_fails) {
		result_deny(res, op->token_failed,
		            "the policy allowed, the token failed the operation");
		goto judge;
	}

judge:
	res->reason_name = policy_reason_name(res->reason);
	res->pass = true;
	bool want_allow = !strcmp(expect, "allow");
	if (want_allow != res->allow) {
		res->pass = false;
		snprintf(res->message, sizeof res->message, "expected %s, got %s %s%s%s", expect,
		         res->allow ? "allow" : "deny", res->reason_name,
		         res->detail[0] ? ": " : "", res->detail);
	} else if (want_reason && strcmp(want_reason, res->reason_name)) {
		res->pass = false;
		snprintf(res->message, sizeof res->message, "expected reason %s, got %s%s%s",
		         want_reason, res->reason_name, res->detail[0] ? ": " : "", res->detail);
	} else if (want_rule && strcmp(want_rule, res->rule)) {
		res->pass = false;
		snprintf(res->message, sizeof res->message, "expected rule %s, got %s", want_rule,
		         res->rule[0] ? res->rule : "(none)");
	}
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		switch (ch) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&apos;", f); break;
		default:
			/* XML 1.0 has no way to write most control characters */
			if (ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r')
				fputc('?', f);
			else
				fputc(ch, f);
		}
	}
}

typedef struct suite {
	const char *file;
	case_result_t *res;
	size_t n, cap;
	size_t failed;
} suite_t;

static int write_junit(const char *path, const suite_t *suites, size_t n_suites)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t total = 0, failed = 0;
	for (size_t i = 0; i < n_suites; i++) {
		total += suites[i].n;
		failed += suites[i].failed;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"signgate test\" tests=\"%zu\" failures=\"%zu\">\n", total,
	        failed);
	for (size_t i = 0; i < n_suites; i++) {
		const suite_t *s = &suites[i];
		fprintf(f, "  <testsuite name=\"");
		xml_escape(f, s->file);
		fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n", s->n, s->failed);
		for (size_t j = 0; j < s->n; j++) {
			const case_result_t *r = &s->res[j];
			fprintf(f, "    <testcase classname=\"");
			xml_escape(f, s->file);
			fprintf(f, "\" name=\"");
			xml_escape(f, r->name);
			fprintf(f, "\"");
			if (r->pass) {
				fprintf(f, "/>\n");
				continue;
			}
			fprintf(f, ">\n      <failure message=\"");
			xml_escape(f, r->message);
			fprintf(f, "\" type=\"policy\">");
			xml_escape(f, s->file);
			fprintf(f, ":%d: ", r->line);
			xml_escape(f, r->message);
			fprintf(f, "</failure>\n    </testcase>\n");
		}
		fprintf(f, "  </testsuite>\n");
	}
	fprintf(f, "</testsuites>\n");
	if (fclose(f) != 0) {
		perror(path);
		return -1;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate test [--junit FILE] [--quiet] CONFIG CASES...\n"
	        "  Runs every case of the CASES files (docs/policy-tests.md) through the\n"
	        "  module's decision engine with CONFIG and compares outcome and reason.\n"
	        "  --junit FILE  also write the results as JUnit XML\n"
	        "  --quiet       print only failing cases and the summary\n"
	        "Exit status: 0 all passed, 1 a case failed, 2 usage, config or cases file error.\n");
}

/* Run the cases of one file's text into s; -1 on a malformed file. */
static int run_text(const char *path, const char *text, const config_t *cfg, suite_t *s, bool quiet)
{
	case_ctx_t ctx = { .file = path, .cfg = cfg };
	lc_config_t lc;
	config_init(&lc);
	int rc = -1;
	if (!config_read_string(&lc, text)) {
		fprintf(stderr, "%s:%d: %s\n", path, config_error_line(&lc),
		        config_error_text(&lc));
		goto out;
	}
	const config_setting_t *root = config_root_setting(&lc);
	for (int i = 0; i < config_setting_length(root); i++) {
		const config_setting_t *e = config_setting_get_elem(root, (unsigned)i);
		if (strcmp(config_setting_name(e), "cases")) {
			fprintf(stderr,
			        "%s:%d: unknown setting '%s' (a cases file holds 'cases')\n", path,
			        config_setting_source_line(e), config_setting_name(e));
			goto out;
		}
	}
	const config_setting_t *cases = config_lookup(&lc, "cases");
	if (!cases || config_setting_type(cases) != CONFIG_TYPE_LIST) {
		fprintf(stderr, "%s: needs 'cases = ( { ... }, ... );'\n", path);
		goto out;
	}
	for (int i = 0; i < config_setting_length(cases); i++) {
		if (s->n == s->cap) {
			size_t nc = s->cap ? s->cap * 2 : 32;
			case_result_t *v = realloc(s->res, nc * sizeof *v);
			if (!v) {
				fprintf(stderr, "%s: out of memory\n", path);
				goto out;
			}
			s->res = v;
			s->cap = nc;
		}
		case_result_t *r = &s->res[s->n];
		ctx.err[0] = '\0';
		if (run_case(&ctx, config_setting_get_elem(cases, (unsigned)i), r) < 0) {
			fprintf(stderr, "%s\n", ctx.err);
			goto out;
		}
		for (size_t j = 0; j < s->n; j++)
			if (!strcmp(s->res[j].name, r->name)) {
				fprintf(stderr,
				        "%s:%d: case name '%s' used twice (first at line %d)\n",
				        path, r->line, r->name, s->res[j].line);
				goto out;
			}
		s->n++;
		if (!r->pass)
			s->failed++;
		if (r->pass && quiet)
			continue;
		if (!r->pass)
			printf("FAIL  %s (%s:%d): %s\n", r->name, path, r->line, r->message);
		else if (r->rule[0])
			printf("ok    %s: %s %s (rule %s)\n", r->name, r->allow ? "allow" : "deny",
			       r->reason_name, r->rule);
		else
			printf("ok    %s: %s %s\n", r->name, r->allow ? "allow" : "deny",
			       r->reason_name);
	}
	rc = 0;
out:
	config_destroy(&lc);
	return rc;
}

static int run_file(const char *path, const config_t *cfg, suite_t *s, bool quiet)
{
	char err[CONFIG_ERR_MAX];
	char *text = policy_input_read(path, NULL, err, sizeof err);
	if (!text) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	int rc = run_text(path, text, cfg, s, quiet);
	free(text);
	return rc;
}

int test_cases_run_text(const config_t *cfg, const char *name, const char *text, size_t *passed,
                        size_t *failed)
{
	suite_t s = { .file = name };
	int rc = run_text(name, text, cfg, &s, true);
	*passed = s.n - s.failed;
	*failed = s.failed;
	free(s.res);
	return rc;
}

int cmd_test(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "junit", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *junit = NULL;
	bool quiet = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'j': junit = optarg; break;
		case 'q': quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (argc - optind < 2) {
		usage(stderr);
		return 2;
	}
	char err[CONFIG_ERR_MAX];
	config_t *cfg = policy_input_config(argv[optind], err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	size_t n_suites = (size_t)(argc - optind - 1);
	suite_t *suites = calloc(n_suites, sizeof *suites);
	int rc = 2;
	size_t passed = 0, failed = 0;
	if (!suites)
		goto out;
	for (size_t i = 0; i < n_suites; i++) {
		suites[i].file = argv[optind + 1 + i];
		if (run_file(suites[i].file, cfg, &suites[i], quiet) < 0)
			goto out;
		failed += suites[i].failed;
		passed += suites[i].n - suites[i].failed;
	}
	printf("%zu passed, %zu failed\n", passed, failed);
	if (junit && write_junit(junit, suites, n_suites) < 0)
		goto out;
	rc = failed ? 1 : 0;
out:
	for (size_t i = 0; suites && i < n_suites; i++)
		free(suites[i].res);
	free(suites);
	config_free(cfg);
	return rc;
}

/* signgate: the policy engine.
 *
 * policy_build() turns the loaded config into hash indexes (governed keys
 * by token and CKA_ID, by token and label, by fingerprint; names; the
 * rules that name each key), so that a decision looks at the rules of one
 * key only and costs the same with 10 rules as with 10,000.
 * policy_decide() (at *Init) and policy_decide_data() (at the data, with
 * the counters' answers) are pure: no allocation, no I/O, no locks, no
 * clock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "policy.h"
#include "codec.h"

/* CK_RV values (pkcs11.h is not needed for a few constants). */
#define CKR_OK_ 0x00000000UL
#define CKR_FUNCTION_FAILED_ 0x00000006UL
#define CKR_MECHANISM_INVALID_ 0x00000070UL
#define CKR_PIN_INCORRECT_ 0x000000A0UL
#define CKR_FUNCTION_REJECTED_ 0x00000200UL
#define CKR_DATA_INVALID_ 0x00000020UL
#define CKR_DATA_LEN_RANGE_ 0x00000021UL
#define CKR_MECHANISM_PARAM_INVALID_ 0x00000071UL
#define CKR_DEVICE_ERROR_ 0x00000030UL
#define CKR_KEY_HANDLE_INVALID_ 0x00000060UL
#define CKR_OPERATION_NOT_INITIALIZED_ 0x00000091UL
#define CKR_TEMPLATE_INCONSISTENT_ 0x000000D1UL

typedef struct cred {
	bool set;
	uint32_t iter;
	unsigned char salt[64];
	size_t salt_len;
	unsigned char hash[32];
} cred_t;

/* An open-addressing table of indexes + 1 (0 = empty slot). */
typedef struct itab {
	uint32_t *slot;
	size_t mask;
} itab_t;

struct policy {
	itab_t key_by_id;    /* (token, CKA_ID) of keys with an id */
	itab_t key_by_label; /* (token, CKA_LABEL) of keys without an id */
	itab_t key_by_fp;    /* fingerprint */
	itab_t key_by_name, role_by_name, rule_by_name;
	size_t *key_rules_start; /* n_keys + 1 offsets into key_rules */
	size_t *key_rules;
	size_t *all_keys_rules;
	size_t n_all_keys_rules;
	cred_t *creds; /* per role */
	/* roles by identity, to tell "in no role" from "no rule" without
	 * scanning every role: sorted (key, role) pairs; names by hash (a
	 * collision only adds a candidate, every candidate is checked). */
	struct role_ref *by_uid, *by_gid, *by_name;
	size_t n_by_uid, n_by_gid, n_by_name;
	size_t *any_identity_roles;
	size_t n_any_identity;
};

struct role_ref {
	uint64_t key;
	size_t role;
};

/* ---- hashing ------------------------------------------------------------ */

#define FNV_OFF 1469598103934665603ull
#define FNV_PRIME 1099511628211ull

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * FNV_PRIME;
	return h;
}

/* PKCS#11 pads token labels and serials with spaces. */
static size_t trimmed_len(const char *s, size_t max)
{
	size_t n = strnlen(s, max);
	while (n && s[n - 1] == ' ')
		n--;
	return n;
}

static uint64_t tok_bytes_hash(const char *tok, size_t toklen, const void *b, size_t n)
{
	uint64_t h = fnv(FNV_OFF, tok, toklen);
	h = fnv(h, "\0", 1);
	return fnv(h, b, n);
}

static bool itab_init(itab_t *t, size_t n)
{
	size_t cap = 16;
	while (cap < n * 2 + 1)
		cap <<= 1;
	t->slot = calloc(cap, sizeof *t->slot);
	t->mask = cap - 1;
	return t->slot != NULL;
}

static void itab_free(itab_t *t)
{
	free(t->slot);
	t->slot = NULL;
}

static void itab_insert(itab_t *t, uint64_t h, size_t idx)
{
	size_t i = (size_t)h & t->mask;
	while (t->slot[i])
		i = (i + 1) & t->mask;
	t->slot[i] = (uint32_t)(idx + 1);
}

static const policy_t *pol(const config_t *cfg)
{
	return cfg ? cfg->policy : NULL;
}

/* ---- key identity ------------------------------------------------------- */

static bool key_id_eq(const policy_key_t *k, const char *tok, size_t toklen,
                      const unsigned char *id, size_t idlen)
{
	return k->has_id && k->id_len == idlen && !memcmp(k->id, id, idlen) &&
	       strlen(k->token) == toklen && !memcmp(k->token, tok, toklen);
}

static bool key_label_eq(const policy_key_t *k, const char *tok, size_t toklen, const char *label)
{
	return !k->has_id && k->label && !strcmp(k->label, label) && strlen(k->token) == toklen &&
	       !memcmp(k->token, tok, toklen);
}

static const policy_key_t *find_by_id(const config_t *cfg, const policy_t *p, const char *tok,
                                      const unsigned char *id, size_t idlen)
{
	const itab_t *t = &p->key_by_id;
	size_t toklen = trimmed_len(tok, 64);
	size_t i = (size_t)tok_bytes_hash(tok, toklen, id, idlen) & t->mask;
	for (; t->slot[i]; i = (i + 1) & t->mask) {
		const policy_key_t *k = &cfg->keys[t->slot[i] - 1];
		if (key_id_eq(k, tok, toklen, id, idlen))
			return k;
	}
	return NULL;
}

static const policy_key_t *find_by_label(const config_t *cfg, const policy_t *p, const char *tok,
                                         const char *label)
{
	const itab_t *t = &p->key_by_label;
	size_t toklen = trimmed_len(tok, 64);
	size_t i = (size_t)tok_bytes_hash(tok, toklen, label, strlen(label)) & t->mask;
	for (; t->slot[i]; i = (i + 1) & t->mask) {
		const policy_key_t *k = &cfg->keys[t->slot[i] - 1];
		if (key_label_eq(k, tok, toklen, label))
			return k;
	}
	return NULL;
}

static const policy_key_t *find_by_fp(const config_t *cfg, const policy_t *p,
                                      const unsigned char fp[32])
{
	const itab_t *t = &p->key_by_fp;
	size_t i = (size_t)fnv(FNV_OFF, fp, 32) & t->mask;
	for (; t->slot[i]; i = (i + 1) & t->mask) {
		const policy_key_t *k = &cfg->keys[t->slot[i] - 1];
		if (!memcmp(k->fingerprint, fp, 32))
			return k;
	}
	return NULL;
}

static size_t name_find(const itab_t *t, const char *name, const void *base, size_t stride)
{
	if (!t->slot || !name)
		return SIZE_MAX;
	size_t i = (size_t)fnv(FNV_OFF, name, strlen(name)) & t->mask;
	for (; t->slot[i]; i = (i + 1) & t->mask) {
		size_t idx = t->slot[i] - 1;
		/* every named struct starts with `char *name` */
		const char *const *nm =
		        (const char *const *)(const void *)((const char *)base + idx * stride);
		if (!strcmp(*nm, name))
			return idx;
	}
	return SIZE_MAX;
}

/* ---- credentials -------------------------------------------------------- */

/* Standard base64, padding optional (but exact when present). */
static bool b64_decode(const char *s, size_t n, unsigned char *out, size_t max, size_t *out_len)
{
	return codec_b64_decode(s, n, 0, out, max, out_len);
}

bool policy_credential_parse(const char *s, uint32_t *iter, unsigned char *salt, size_t *salt_len,
                             unsigned char hash[32], size_t *hash_len)
{
	static const char prefix[] = "pbkdf2-sha256$";
	unsigned char sbuf[64], hbuf[64];
	size_t sl, hl;
	if (!s || strncmp(s, prefix, sizeof prefix - 1))
		return false;
	const char *p = s + sizeof prefix - 1;
	unsigned long long it = 0;
	const char *d = p;
	while (*p >= '0' && *p <= '9' && p - d < 10)
		it = it * 10 + (unsigned)(*p++ - '0');
	if (p == d || *p != '$' || it < 1000 || it > 100000000ull)
		return false;
	const char *s1 = ++p, *e1 = strchr(s1, '$');
	if (!e1)
		return false;
	const char *s2 = e1 + 1;
	if (strchr(s2, '$'))
		return false;
	if (!b64_decode(s1, (size_t)(e1 - s1), sbuf, sizeof sbuf, &sl) || sl < 8 ||
	    !b64_decode(s2, strlen(s2), hbuf, sizeof hbuf, &hl) || hl != 32)
		return false;
	if (iter)
		*iter = (uint32_t)it;
	if (salt)
		memcpy(salt, sbuf, sl);
	if (salt_len)
		*salt_len = sl;
	if (hash)
		memcpy(hash, hbuf, 32);
	if (hash_len)
		*hash_len = hl;
	return true;
}

int policy_credential_hash_iter(const char *secret, uint32_t iter, char *out, size_t outlen)
{
	unsigned char salt[16], hash[32];
	char s64[32], h64[48];
	if (!secret || iter < 1000 || iter > 100000000u)
		return -1;
	if (RAND_bytes(salt, sizeof salt) != 1 ||
	    !PKCS5_PBKDF2_HMAC(secret, (int)strlen(secret), salt, sizeof salt, (int)iter,
	                       EVP_sha256(), sizeof hash, hash))
		return -1;
	if (!codec_b64_encode(s64, sizeof s64, salt, sizeof salt, 0) ||
	    !codec_b64_encode(h64, sizeof h64, hash, sizeof hash, 0)) {
		OPENSSL_cleanse(hash, sizeof hash);
		return -1;
	}
	OPENSSL_cleanse(hash, sizeof hash);
	int n = snprintf(out, outlen, "pbkdf2-sha256$%u$%s$%s", iter, s64, h64);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int policy_credential_hash(const char *secret, char *out, size_t outlen)
{
	return policy_credential_hash_iter(secret, POLICY_CREDENTIAL_ITER, out, outlen);
}

/* ---- build --------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const config_t *cfg, int line, const char *fmt,
                    const char *a, const char *b, int l2)
{
	if (!err || !errlen)
		return;
	char msg[300];
	snprintf(msg, sizeof msg, fmt, a, b, l2);
	snprintf(err, errlen, "%s:%d: %s", cfg->path ? cfg->path : "<config>", line, msg);
}

static int role_ref_cmp(const void *a, const void *b)
{
	const struct role_ref *x = a, *y = b;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->role < y->role ? -1 : x->role > y->role;
}

static uint64_t name_key(const char *name)
{
	return fnv(FNV_OFF, name, strlen(name));
}

static bool build_role_index(const config_t *cfg, policy_t *p)
{
	size_t nu = 0, ng = 0, nn = 0;
	for (size_t i = 0; i < cfg->n_roles; i++) {
		nu += cfg->roles[i].n_uids;
		ng += cfg->roles[i].n_gids;
		nn += cfg->roles[i].n_user_names;
	}
	p->by_uid = calloc(nu + 1, sizeof *p->by_uid);
	p->by_gid = calloc(ng + 1, sizeof *p->by_gid);
	p->by_name = calloc(nn + 1, sizeof *p->by_name);
	p->any_identity_roles = calloc(cfg->n_roles + 1, sizeof(size_t));
	if (!p->by_uid || !p->by_gid || !p->by_name || !p->any_identity_roles)
		return false;
	for (size_t i = 0; i < cfg->n_roles; i++) {
		const policy_role_t *r = &cfg->roles[i];
		for (size_t j = 0; j < r->n_uids; j++)
			p->by_uid[p->n_by_uid++] = (struct role_ref){ r->uids[j], i };
		for (size_t j = 0; j < r->n_gids; j++)
			p->by_gid[p->n_by_gid++] = (struct role_ref){ r->gids[j], i };
		for (size_t j = 0; j < r->n_user_names; j++)
			p->by_name[p->n_by_name++] =
			        (struct role_ref){ name_key(r->user_names[j]), i };
		if (r->any_identity)
			p->any_identity_roles[p->n_any_identity++] = i;
	}
	qsort(p->by_uid, p->n_by_uid, sizeof *p->by_uid, role_ref_cmp);
	qsort(p->by_gid, p->n_by_gid, sizeof *p->by_gid, role_ref_cmp);
	qsort(p->by_name, p->n_by_name, sizeof *p->by_name, role_ref_cmp);
	return true;
}

policy_t *policy_build(const config_t *cfg, char *err, size_t errlen)
{
	policy_t *p = calloc(1, sizeof *p);
	if (!p)
		goto oom;
	size_t nk = cfg->n_keys, nr = cfg->n_rules;
	if (!itab_init(&p->key_by_id, nk) || !itab_init(&p->key_by_label, nk) ||
	    !itab_init(&p->key_by_fp, nk) || !itab_init(&p->key_by_name, nk) ||
	    !itab_init(&p->role_by_name, cfg->n_roles) || !itab_init(&p->rule_by_name, nr))
		goto oom;

	for (size_t i = 0; i < nk; i++) {
		const policy_key_t *k = &cfg->keys[i];
		size_t toklen = trimmed_len(k->token, 64);
		if (k->has_id) {
			const policy_key_t *o = find_by_id(cfg, p, k->token, k->id, k->id_len);
			if (o) {
				set_err(err, errlen, cfg, k->line,
				        "setting 'keys': key '%s' has the same token and id as key '%s' (line %d)",
				        k->name, o->name, o->line);
				goto fail;
			}
			itab_insert(&p->key_by_id,
			            tok_bytes_hash(k->token, toklen, k->id, k->id_len), i);
		} else {
			const policy_key_t *o = find_by_label(cfg, p, k->token, k->label);
			if (o) {
				set_err(err, errlen, cfg, k->line,
				        "setting 'keys': key '%s' has the same token and label as key '%s' (line %d)",
				        k->name, o->name, o->line);
				goto fail;
			}
			itab_insert(&p->key_by_label,
			            tok_bytes_hash(k->token, toklen, k->label, strlen(k->label)),
			            i);
		}
		if (k->has_fingerprint)
			itab_insert(&p->key_by_fp, fnv(FNV_OFF, k->fingerprint, 32), i);
		itab_insert(&p->key_by_name, fnv(FNV_OFF, k->name, strlen(k->name)), i);
	}
	for (size_t i = 0; i < cfg->n_roles; i++)
		itab_insert(&p->role_by_name,
		            fnv(FNV_OFF, cfg->roles[i].name, strlen(cfg->roles[i].name)), i);
	for (size_t i = 0; i < nr; i++)
		itab_insert(&p->rule_by_name,
		            fnv(FNV_OFF, cfg->rules[i].name, strlen(cfg->rules[i].name)), i);

	/* rules per key, in config order (CSR) */
	size_t total = 0, n_all = 0;
	if (!(p->key_rules_start = calloc(nk + 1, sizeof(size_t))))
		goto oom;
	for (size_t r = 0; r < nr; r++) {
		if (cfg->rules[r].all_keys) {
			n_all++;
			continue;
		}
		total += cfg->rules[r].n_keys;
		for (size_t j = 0; j < cfg->rules[r].n_keys; j++)
			p->key_rules_start[cfg->rules[r].keys[j] + 1]++;
	}
	for (size_t i = 0; i < nk; i++)
		p->key_rules_start[i + 1] += p->key_rules_start[i];
	size_t *fill = calloc(nk + 1, sizeof(size_t));
	p->key_rules = calloc(total + 1, sizeof(size_t));
	p->all_keys_rules = calloc(n_all + 1, sizeof(size_t));
	if (!fill || !p->key_rules || !p->all_keys_rules) {
		free(fill);
		goto oom;
	}
	for (size_t r = 0; r < nr; r++) {
		if (cfg->rules[r].all_keys) {
			p->all_keys_rules[p->n_all_keys_rules++] = r;
			continue;
		}
		for (size_t j = 0; j < cfg->rules[r].n_keys; j++) {
			size_t k = cfg->rules[r].keys[j];
			p->key_rules[p->key_rules_start[k] + fill[k]++] = r;
		}
	}
	free(fill);

	if (!build_role_index(cfg, p))
		goto oom;
	if (!(p->creds = calloc(cfg->n_roles + 1, sizeof *p->creds)))
		goto oom;
	for (size_t i = 0; i < cfg->n_roles; i++) {
		cred_t *c = &p->creds[i];
		if (!cfg->roles[i].credential)
			continue;
		size_t hl;
		if (!policy_credential_parse(cfg->roles[i].credential, &c->iter, c->salt,
		                             &c->salt_len, c->hash, &hl)) {
			set_err(err, errlen, cfg, cfg->roles[i].line,
			        "setting 'roles': role '%s' has a malformed credential%s",
			        cfg->roles[i].name, "", 0);
			goto fail;
		}
		c->set = true;
	}
	return p;
oom:
	if (err && errlen)
		snprintf(err, errlen, "%s: out of memory", cfg->path ? cfg->path : "<config>");
fail:
	policy_free(p);
	return NULL;
}

void policy_free(policy_t *p)
{
	if (!p)
		return;
	itab_free(&p->key_by_id);
	itab_free(&p->key_by_label);
	itab_free(&p->key_by_fp);
	itab_free(&p->key_by_name);
	itab_free(&p->role_by_name);
	itab_free(&p->rule_by_name);
	free(p->key_rules_start);
	free(p->key_rules);
	free(p->all_keys_rules);
	free(p->by_uid);
	free(p->by_gid);
	free(p->by_name);
	free(p->any_identity_roles);
	if (p->creds)
		OPENSSL_cleanse(p->creds, sizeof(cred_t)); /* hashes are not secrets, but cheap */
	free(p->creds);
	free(p);
}

/* ---- lookups ------------------------------------------------------------- */

const policy_key_t *policy_key_by_name(const config_t *cfg, const char *name)
{
	const policy_t *p = pol(cfg);
	if (!p)
		return NULL;
	size_t i = name_find(&p->key_by_name, name, cfg->keys, sizeof *cfg->keys);
	return i == SIZE_MAX ? NULL : &cfg->keys[i];
}

const policy_role_t *policy_role_by_name(const config_t *cfg, const char *name)
{
	const policy_t *p = pol(cfg);
	if (!p)
		return NULL;
	size_t i = name_find(&p->role_by_name, name, cfg->roles, sizeof *cfg->roles);
	return i == SIZE_MAX ? NULL : &cfg->roles[i];
}

const policy_rule_t *policy_rule_by_name(const config_t *cfg, const char *name)
{
	const policy_t *p = pol(cfg);
	if (!p)
		return NULL;
	size_t i = name_find(&p->rule_by_name, name, cfg->rules, sizeof *cfg->rules);
	return i == SIZE_MAX ? NULL : &cfg->rules[i];
}

const size_t *policy_rules_of_key(const config_t *cfg, const policy_key_t *k, size_t *n)
{
	const policy_t *p = pol(cfg);
	*n = 0;
	if (!p || !k || k < cfg->keys || k >= cfg->keys + cfg->n_keys)
		return NULL;
	size_t i = (size_t)(k - cfg->keys);
	*n = p->key_rules_start[i + 1] - p->key_rules_start[i];
	return p->key_rules + p->key_rules_start[i];
}

const size_t *policy_all_keys_rules(const config_t *cfg, size_t *n)
{
	const policy_t *p = pol(cfg);
	*n = p ? p->n_all_keys_rules : 0;
	return p ? p->all_keys_rules : NULL;
}

const policy_key_t *policy_key_lookup(const config_t *cfg, const policy_key_ref_t *ref,
                                      policy_reason_t *reason)
{
	policy_reason_t dummy;
	if (!reason)
		reason = &dummy;
	*reason = REASON_KEY_UNGOVERNED;
	if (!pol(cfg) || !ref)
		return NULL;
	const char *toks[2] = { ref->token_label, ref->token_serial };
	const policy_key_t *k = NULL;
	for (int t = 0; t < 2 && !k; t++)
		if (toks[t] && ref->id && ref->id_len)
			k = find_by_id(cfg, cfg->policy, toks[t], ref->id, ref->id_len);
	for (int t = 0; t < 2 && !k; t++)
		if (toks[t] && ref->label)
			k = find_by_label(cfg, cfg->policy, toks[t], ref->label);
	if (k) {
		if (k->has_fingerprint) {
			/* The fingerprint decides: an object that merely carries the
			 * governed key's ID or label is a look-alike. */
			if (!ref->has_fingerprint || memcmp(ref->fingerprint, k->fingerprint, 32)) {
				*reason = REASON_KEY_MISMATCH;
				return NULL;
			}
		} else if (k->has_id && k->label && (!ref->label || strcmp(ref->label, k->label))) {
			/* No fingerprint to decide: both ID and label must agree. */
			*reason = REASON_KEY_MISMATCH;
			return NULL;
		}
		*reason = REASON_ALLOWED;
		return k;
	}
	/* The same key material under another ID, label or token: a copy. */
	if (ref->has_fingerprint && find_by_fp(cfg, cfg->policy, ref->fingerprint))
		*reason = REASON_KEY_MISMATCH;
	return NULL;
}

/* ---- decision ------------------------------------------------------------ */

static const char *const reason_names[REASON_COUNT] = {
	[REASON_ALLOWED] = "allowed",
	[REASON_CONFIG_INVALID] = "config-invalid",
	[REASON_CALLER_UNKNOWN] = "caller-unknown",
	[REASON_NO_ROLE] = "no-role",
	[REASON_KEY_UNGOVERNED] = "key-ungoverned",
	[REASON_KEY_MISMATCH] = "key-mismatch",
	[REASON_KEY_REVOKED] = "key-revoked",
	[REASON_KEY_NOT_YET_VALID] = "key-not-yet-valid",
	[REASON_KEY_EXPIRED] = "key-expired",
	[REASON_NO_RULE] = "no-rule",
	[REASON_MECHANISM_FORBIDDEN] = "mechanism-forbidden",
	[REASON_HASH_FORBIDDEN] = "hash-forbidden",
	[REASON_OUTSIDE_WINDOW] = "outside-window",
	[REASON_QUOTA_EXHAUSTED] = "quota-exhausted",
	[REASON_NO_ADMIN_CAPABILITY] = "no-admin-capability",
	[REASON_TICKET_MISSING] = "ticket-missing",
	[REASON_TICKET_INVALID] = "ticket-invalid",
	[REASON_TICKET_TOO_OLD] = "ticket-too-old",
	[REASON_TICKET_WRONG_PRODUCT] = "ticket-wrong-product",
	[REASON_TICKET_CHECK_FAILED] = "ticket-check-failed",
	[REASON_TICKET_EXHAUSTED] = "ticket-exhausted",
	[REASON_ARTIFACT_MISMATCH] = "artifact-mismatch",
	[REASON_BAD_CREDENTIAL] = "bad-credential",
	[REASON_AUDIT_UNAVAILABLE] = "audit-unavailable",
	[REASON_NO_DECRYPT_CAPABILITY] = "no-decrypt-capability",
	[REASON_NO_UNWRAP_CAPABILITY] = "no-unwrap-capability",
	[REASON_NO_DERIVE_CAPABILITY] = "no-derive-capability",
	[REASON_DECRYPT_FAILED] = "decrypt-failed",
	[REASON_UNWRAP_FAILED] = "unwrap-failed",
	[REASON_DERIVE_FAILED] = "derive-failed",
	[REASON_STATE_UNAVAILABLE] = "state-unavailable",
	[REASON_KEY_UNKNOWN] = "key-unknown",
	[REASON_KEY_OTHER_TOKEN] = "key-other-token",
	[REASON_TEMPLATE_DUPLICATE] = "template-duplicate",
	[REASON_HASH_DISGUISED] = "hash-disguised",
	[REASON_HASH_TRUNCATED] = "hash-truncated",
	[REASON_DATA_MALFORMED] = "data-malformed",
	[REASON_PSS_PARAMS_INVALID] = "pss-params-invalid",
	[REASON_TOKEN_MISSING] = "token-missing",
	[REASON_TOKEN_MALFORMED] = "token-malformed",
	[REASON_TOKEN_ALGORITHM] = "token-algorithm",
	[REASON_TOKEN_ISSUER] = "token-issuer",
	[REASON_TOKEN_UNKNOWN_KID] = "token-unknown-kid",
	[REASON_TOKEN_SIGNATURE] = "token-signature",
	[REASON_TOKEN_AUDIENCE] = "token-audience",
	[REASON_TOKEN_EXPIRED] = "token-expired",
	[REASON_TOKEN_NOT_YET_VALID] = "token-not-yet-valid",
	[REASON_TOKEN_LIFETIME] = "token-lifetime",
	[REASON_TOKEN_REPLAYED] = "token-replayed",
	[REASON_CLAIMS_MISMATCH] = "claims-mismatch",
	[REASON_TOKEN_COMMIT_MISMATCH] = "token-commit-mismatch",
	[REASON_APPROVALS_MISSING] = "approvals-missing",
	[REASON_APPROVAL_INVALID] = "approval-invalid",
	[REASON_LOGIN_CHANGED] = "login-changed",
	[REASON_OPERATION_BLOCKED] = "operation-blocked",
	[REASON_OPERATION_NOT_INITIALIZED] = "operation-not-initialized",
	[REASON_OPERATION_STATE] = "operation-state",
	[REASON_BACKEND_FAULT] = "backend-fault",
	[REASON_HANDLE_INCONSISTENT] = "handle-inconsistent",
	[REASON_TICKET_MALFORMED] = "ticket-malformed",
	[REASON_TICKET_BAD_ALG] = "ticket-bad-alg",
	[REASON_TICKET_UNKNOWN_ISSUER] = "ticket-unknown-issuer",
	[REASON_TICKET_BAD_SIGNATURE] = "ticket-bad-signature",
	[REASON_TICKET_EXPIRED] = "ticket-expired",
	[REASON_TICKET_NOT_YET_VALID] = "ticket-not-yet-valid",
	[REASON_TICKET_ACCEPTED] = "ticket-accepted",
	[REASON_TOKEN_ACCEPTED] = "token-accepted",
	[REASON_BUNDLE_ACCEPTED] = "bundle-accepted",
	[REASON_APPROVALS_ACCEPTED] = "approvals-accepted",
	[REASON_CREDENTIAL_ACCEPTED] = "credential-accepted",
	[REASON_OS_IDENTITY] = "os-identity",
	[REASON_LOGIN_FORWARDED] = "forwarded",
	[REASON_COMPAT_MODE_FORWARDED] = "compat-mode-forwarded",
	[REASON_CONFIG_LOADED] = "config-loaded",
	[REASON_CONFIG_RELOADED] = "config-reloaded",
	[REASON_MODULE_START] = "module-start",
	[REASON_MODULE_STOP] = "module-stop",
	[REASON_CHECKPOINT] = "checkpoint",
};

static const char *const action_names[POLICY_ACTION_COUNT] = {
	[POLICY_ACTION_SIGN] = "sign",       [POLICY_ACTION_ADMIN] = "admin",
	[POLICY_ACTION_DECRYPT] = "decrypt", [POLICY_ACTION_UNWRAP] = "unwrap",
	[POLICY_ACTION_DERIVE] = "derive",
};

const char *policy_action_name(policy_action_t a)
{
	if ((unsigned)a >= POLICY_ACTION_COUNT)
		return "unknown";
	return action_names[a];
}

const char *policy_reason_name(policy_reason_t r)
{
	if ((unsigned)r >= REASON_COUNT || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

unsigned long policy_reason_ckr(policy_reason_t r)
{
	switch (r) {
	case REASON_ALLOWED:
	case REASON_TICKET_ACCEPTED:
	case REASON_TOKEN_ACCEPTED:
	case REASON_BUNDLE_ACCEPTED:
	case REASON_APPROVALS_ACCEPTED:
	case REASON_CREDENTIAL_ACCEPTED:
	case REASON_OS_IDENTITY:
	case REASON_LOGIN_FORWARDED:
	case REASON_COMPAT_MODE_FORWARDED:
	case REASON_CONFIG_LOADED:
	case REASON_CONFIG_RELOADED:
	case REASON_MODULE_START:
	case REASON_MODULE_STOP:
	case REASON_CHECKPOINT: return CKR_OK_;
	case REASON_TICKET_MALFORMED:
	case REASON_TICKET_BAD_ALG:
	case REASON_TICKET_UNKNOWN_ISSUER:
	case REASON_TICKET_BAD_SIGNATURE:
	case REASON_TICKET_EXPIRED:
	case REASON_TICKET_NOT_YET_VALID:
		return CKR_PIN_INCORRECT_; /* recorded at C_Login, where they are refused */
	case REASON_KEY_OTHER_TOKEN:
		return CKR_KEY_HANDLE_INVALID_; /* administration: CKR_OBJECT_HANDLE_INVALID */
	case REASON_TEMPLATE_DUPLICATE: return CKR_TEMPLATE_INCONSISTENT_;
	case REASON_OPERATION_NOT_INITIALIZED: return CKR_OPERATION_NOT_INITIALIZED_;
	case REASON_BACKEND_FAULT: return CKR_DEVICE_ERROR_;
	case REASON_MECHANISM_FORBIDDEN:
	case REASON_HASH_FORBIDDEN: return CKR_MECHANISM_INVALID_;
	case REASON_BAD_CREDENTIAL:
	case REASON_TICKET_INVALID:
	case REASON_APPROVAL_INVALID: return CKR_PIN_INCORRECT_;
	case REASON_HASH_DISGUISED:
	case REASON_DATA_MALFORMED: return CKR_DATA_INVALID_;
	case REASON_HASH_TRUNCATED: return CKR_DATA_LEN_RANGE_;
	case REASON_PSS_PARAMS_INVALID: return CKR_MECHANISM_PARAM_INVALID_;
	default: return CKR_FUNCTION_REJECTED_;
	}
}

bool policy_hash_allowed(const policy_key_t *k, mech_id_t m, hash_alg_t h)
{
	if (!k || (unsigned)h >= HASH_COUNT || (unsigned)m >= MECH_COUNT)
		return false;
	hash_alg_t fixed = mech_fixed_hash(m);
	if (h == HASH_UNKNOWN && fixed != HASH_UNKNOWN)
		h = fixed;
	if (m == MECH_EDDSA)
		return h == HASH_NONE;
	if (h == HASH_UNKNOWN || h == HASH_NONE)
		/* Raw RSA was listed on purpose: its input has no hash to read. */
		return m == MECH_RSA_X_509;
	return (k->hash_allowed >> h) & 1u;
}

static bool id_in(const unsigned *v, size_t n, unsigned x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static bool role_identity_matches(const policy_role_t *role, const caller_t *c)
{
	if (!role->any_identity) {
		bool who = id_in(role->uids, role->n_uids, c->uid);
		for (size_t i = 0; !who && c->user[0] && i < role->n_user_names; i++)
			who = !strcmp(role->user_names[i], c->user);
		for (size_t i = 0; !who && i < role->n_gids; i++)
			who = role->gids[i] == c->gid ||
			      id_in(c->groups, c->n_groups, role->gids[i]);
		if (!who)
			return false;
	}
	if (role->n_programs) {
		bool prog = false;
		for (size_t i = 0; !prog && i < role->n_programs; i++) {
			const policy_program_t *p = &role->programs[i];
			if (!c->program[0] || strcmp(p->path, c->program))
				continue;
			prog = !p->has_sha256 ||
			       (c->has_program_sha256 && !memcmp(p->sha256, c->program_sha256, 32));
		}
		if (!prog)
			return false;
	}
	return true;
}

bool policy_role_matches(const policy_role_t *role, const caller_t *caller,
                         const policy_role_t *login_role)
{
	if (!role || !caller || !caller->known)
		return false;
	if (role->credential && login_role != role)
		return false;
	if (role->idp)
		return false; /* needs a token: policy_role_matches_token */
	return role_identity_matches(role, caller);
}

policy_reason_t policy_idtoken_reason(idtoken_status_t s)
{
	switch (s) {
	case IDTOKEN_OK: return REASON_ALLOWED;
	case IDTOKEN_ALGORITHM: return REASON_TOKEN_ALGORITHM;
	case IDTOKEN_ISSUER: return REASON_TOKEN_ISSUER;
	case IDTOKEN_UNKNOWN_KID: return REASON_TOKEN_UNKNOWN_KID;
	case IDTOKEN_SIGNATURE: return REASON_TOKEN_SIGNATURE;
	case IDTOKEN_AUDIENCE: return REASON_TOKEN_AUDIENCE;
	case IDTOKEN_EXPIRED: return REASON_TOKEN_EXPIRED;
	case IDTOKEN_NOT_YET_VALID: return REASON_TOKEN_NOT_YET_VALID;
	case IDTOKEN_LIFETIME: return REASON_TOKEN_LIFETIME;
	case IDTOKEN_REPLAYED: return REASON_TOKEN_REPLAYED;
	case IDTOKEN_MALFORMED:
	default: return REASON_TOKEN_MALFORMED;
	}
}

/* The token's side of a claim role (OS identity aside): 0 when it
 * matches, else the reason, with why naming the first claim that failed. */
static policy_reason_t claims_failure(const config_t *cfg, const policy_role_t *role,
                                      const idtoken_claims_t *tok, time_t now, char *why, size_t wl)
{
	const config_idp_t *p = role->idp <= cfg->n_idps ? &cfg->idps[role->idp - 1] : NULL;
	if (!tok) {
		snprintf(why, wl, "role %s needs an ID token of provider %s", role->name,
		         p ? p->name : "?");
		return REASON_TOKEN_MISSING;
	}
	/* By issuer, not only by name: a reload may have renamed providers. */
	if (!p || strcmp(tok->provider, p->name) != 0 || strcmp(tok->issuer, p->issuer) != 0) {
		snprintf(why, wl, "role %s needs a token of provider %s, not of %.60s", role->name,
		         p ? p->name : "?", tok->issuer);
		return REASON_CLAIMS_MISMATCH;
	}
	/* Accepted once at login, judged again at every use. */
	if ((int64_t)now - (int64_t)p->max_clock_skew_s >= tok->exp) {
		snprintf(why, wl, "ID token expired %lld s ago",
		         (long long)((int64_t)now - tok->exp));
		return REASON_TOKEN_EXPIRED;
	}
	for (size_t i = 0; i < role->n_claims; i++) {
		const policy_claim_match_t *m = &role->claims[i];
		const char *v = idtoken_claim(tok, (idtoken_claim_t)m->claim);
		bool ok = false;
		for (size_t j = 0; v && !ok && j < m->n_values; j++)
			ok = idtoken_value_matches(m->values[j], v);
		if (!ok) {
			if (!v)
				snprintf(why, wl, "role %s: token has no claim %s", role->name,
				         idtoken_claim_name((idtoken_claim_t)m->claim));
			else
				snprintf(why, wl, "role %s: %s '%.60s' is not %s'%.60s'",
				         role->name, idtoken_claim_name((idtoken_claim_t)m->claim),
				         v, m->n_values > 1 ? "any of " : "", m->values[0]);
			return REASON_CLAIMS_MISMATCH;
		}
	}
	return REASON_ALLOWED;
}

bool policy_role_matches_token(const config_t *cfg, const policy_role_t *role,
                               const caller_t *caller, const policy_role_t *login_role,
                               const idtoken_claims_t *tok, time_t now, char *why, size_t wl)
{
	char tmp[160];
	if (!why) {
		why = tmp;
		wl = sizeof tmp;
	}
	why[0] = '\0';
	if (!role || !caller || !caller->known || !cfg)
		return false;
	if (role->credential && login_role != role)
		return false;
	if (!role_identity_matches(role, caller)) {
		snprintf(why, wl, "caller is not the OS identity of role %s", role->name);
		return false;
	}
	if (!role->idp)
		return true;
	return claims_failure(cfg, role, tok, now, why, wl) == REASON_ALLOWED;
}

static bool role_matches_req(const config_t *cfg, const policy_role_t *role,
                             const policy_request_t *req)
{
	if (!role->idp)
		return policy_role_matches(role, req->caller, req->login_role);
	return policy_role_matches_token(cfg, role, req->caller, req->login_role, req->idtoken,
	                                 req->now, NULL, 0);
}

static const policy_role_t *rule_role(const config_t *cfg, const policy_rule_t *r,
                                      const policy_request_t *req)
{
	for (size_t i = 0; i < r->n_roles; i++) {
		const policy_role_t *role = &cfg->roles[r->roles[i]];
		if (role_matches_req(cfg, role, req))
			return role;
	}
	return NULL;
}

/* No role of the rule matched: is there a claim role the caller would be
 * in but for the token?  Then the denial names the token's failure. */
static bool role_of_token_provider(const config_t *cfg, const policy_role_t *role,
                                   const idtoken_claims_t *tok)
{
	return tok && role->idp && role->idp <= cfg->n_idps &&
	       !strcmp(cfg->idps[role->idp - 1].name, tok->provider);
}

static const policy_role_t *rule_token_failure(const config_t *cfg, const policy_rule_t *r,
                                               const policy_request_t *req, policy_reason_t *reason,
                                               char *detail, size_t dlen)
{
	const policy_role_t *role = NULL;
	for (size_t i = 0; i < r->n_roles; i++) {
		const policy_role_t *c = &cfg->roles[r->roles[i]];
		if (!c->idp || !req->caller || !req->caller->known ||
		    !role_identity_matches(c, req->caller))
			continue;
		/* The role of the token's own provider explains best. */
		if (!role || (!role_of_token_provider(cfg, role, req->idtoken) &&
		              role_of_token_provider(cfg, c, req->idtoken)))
			role = c;
	}
	if (!role)
		return NULL;
	if (!req->idtoken && req->idtoken_status != IDTOKEN_OK) {
		*reason = policy_idtoken_reason(req->idtoken_status);
		snprintf(detail, dlen, "role %s: the ID token presented failed (%s)", role->name,
		         idtoken_status_name(req->idtoken_status));
	} else {
		*reason = claims_failure(cfg, role, req->idtoken, req->now, detail, dlen);
	}
	return role;
}

static bool in_window(const policy_rule_t *r, time_t now)
{
	int64_t local = (int64_t)now + (int64_t)r->tz_offset_min * 60;
	int64_t day = local >= 0 ? local / 86400 : (local - 86399) / 86400;
	int minute = (int)((local - day * 86400) / 60);
	int wday = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
	if (!((r->days >> wday) & 1u))
		return false;
	if (r->minute_from < 0)
		return true;
	if (r->minute_from < r->minute_to)
		return minute >= r->minute_from && minute < r->minute_to;
	return minute >= r->minute_from || minute < r->minute_to; /* across midnight */
}

static bool name_eq64(const char *a, const char *b)
{
	return !strncmp(a, b, 64);
}

static bool key_has_product(const policy_key_t *k, const char *prod)
{
	for (size_t i = 0; i < k->n_products; i++)
		if (name_eq64(k->products[i], prod))
			return true;
	return false;
}

/* What each action needs from a rule and a key. */
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

static const struct action_grant {
	const char *what;              /* for details: "decryption" */
	policy_reason_t no_capability; /* the rule (or key) does not grant it */
	uint64_t (*mechs_of)(
	        const policy_key_t *); /* the key's mechanisms for it; NULL: sign/admin */
} action_grants[POLICY_ACTION_COUNT] = {
	[POLICY_ACTION_SIGN] = { "signing", REASON_NO_RULE, NULL },
	[POLICY_ACTION_ADMIN] = { "key administration", REASON_NO_ADMIN_CAPABILITY, NULL },
	[POLICY_ACTION_DECRYPT] = { "decryption", REASON_NO_DECRYPT_CAPABILITY, key_decrypt_mechs },
	[POLICY_ACTION_UNWRAP] = { "unwrapping", REASON_NO_UNWRAP_CAPABILITY, key_unwrap_mechs },
	[POLICY_ACTION_DERIVE] = { "key derivation", REASON_NO_DERIVE_CAPABILITY,
	                           key_derive_mechs },
};

static const struct action_grant *action_grant(policy_action_t a)
{
	return (unsigned)a < POLICY_ACTION_COUNT ? &action_grants[a] : NULL;
}

static bool rule_grants(const policy_rule_t *r, policy_action_t a)
{
	switch (a) {
	case POLICY_ACTION_SIGN: return r->sign;
	case POLICY_ACTION_ADMIN: return r->admin;
	case POLICY_ACTION_DECRYPT: return r->decrypt;
	case POLICY_ACTION_UNWRAP: return r->unwrap;
	case POLICY_ACTION_DERIVE: return r->derive;
	default: return false;
	}
}

/* Stages a rule passes, so that the denial names the rule that came
 * closest and the first condition it failed. */
enum { ST_TOKEN = 1, ST_ROLE, ST_ACTION, ST_MECH, ST_HASH, ST_WINDOW, ST_TICKET, ST_ALLOW };

static int eval_rule(const config_t *cfg, const policy_rule_t *r, const policy_request_t *req,
                     const policy_role_t **role_out, policy_reason_t *reason, char *detail,
                     size_t dlen)
{
	const policy_key_t *k = req->key;
	const policy_role_t *role = rule_role(cfg, r, req);
	*role_out = role;
	if (!role) {
		*reason = REASON_NO_RULE;
		*role_out = rule_token_failure(cfg, r, req, reason, detail, dlen);
		return *role_out ? ST_TOKEN : 0;
	}
	const struct action_grant *g = action_grant(req->action);
	if (!g || !rule_grants(r, req->action)) {
		*reason = g ? g->no_capability : REASON_NO_RULE;
		snprintf(detail, dlen, "rule %s does not grant %s", r->name,
		         g ? g->what : "this action");
		return ST_ROLE;
	}
	if (g->mechs_of) {
		/* decrypt, unwrap, derive: the key must list the mechanism for
		 * this use; its signing mechanisms count for nothing here. */
		uint64_t km = g->mechs_of(k);
		if (!km) {
			*reason = g->no_capability;
			snprintf(detail, dlen, "key %s does not allow %s", k->name, g->what);
			return ST_ACTION;
		}
		if (req->mech <= MECH_UNKNOWN || req->mech >= MECH_COUNT ||
		    !((km >> req->mech) & 1u)) {
			*reason = REASON_MECHANISM_FORBIDDEN;
			snprintf(detail, dlen, "mechanism %s not allowed for %s with key %s",
			         mech_name(req->mech), g->what, k->name);
			return ST_ACTION;
		}
	}
	if (req->action == POLICY_ACTION_SIGN) {
		if (req->mech <= MECH_UNKNOWN || req->mech >= MECH_COUNT ||
		    !((k->mech_allowed >> req->mech) & 1u)) {
			*reason = REASON_MECHANISM_FORBIDDEN;
			snprintf(detail, dlen, "mechanism %s not allowed for key %s",
			         mech_name(req->mech), k->name);
			return ST_ACTION;
		}
		if (!req->hash_deferred && !policy_hash_allowed(k, req->mech, req->hash)) {
			*reason = REASON_HASH_FORBIDDEN;
			if (req->hash == HASH_UNKNOWN)
				snprintf(
				        detail, dlen,
				        "hash not determinable (no DigestInfo or unknown length) for key %s",
				        k->name);
			else
				snprintf(detail, dlen, "hash %s not allowed for key %s",
				         hash_name(req->hash), k->name);
			return ST_MECH;
		}
	}
	if (!in_window(r, req->now)) {
		*reason = REASON_OUTSIDE_WINDOW;
		snprintf(detail, dlen, "outside the time window of rule %s (%s)", r->name,
		         r->tz_name);
		return ST_HASH;
	}
	if (r->require_ticket) {
		const ticket_claims_t *t = req->ticket;
		if (!t) {
			*reason = REASON_TICKET_MISSING;
			snprintf(detail, dlen, "rule %s requires a validation ticket", r->name);
			return ST_WINDOW;
		}
		if (r->max_ticket_age_s &&
		    (int64_t)req->now - t->iat > (int64_t)r->max_ticket_age_s) {
			*reason = REASON_TICKET_TOO_OLD;
			snprintf(detail, dlen, "ticket issued %lld s ago, rule %s allows %u s",
			         (long long)((int64_t)req->now - t->iat), r->name,
			         r->max_ticket_age_s);
			return ST_WINDOW;
		}
		if (k) {
			/* A key without products can only be named by the audience. */
			if (!k->n_products && !t->n_aud) {
				*reason = REASON_TICKET_WRONG_PRODUCT;
				snprintf(
				        detail, dlen,
				        "key %s has no products: the ticket's audience must name it",
				        k->name);
				return ST_WINDOW;
			}
			if (k->n_products && (!t->product[0] || !key_has_product(k, t->product))) {
				*reason = REASON_TICKET_WRONG_PRODUCT;
				snprintf(detail, dlen,
				         "ticket product '%.63s' is not a product of key %s",
				         t->product, k->name);
				return ST_WINDOW;
			}
			if (t->n_aud) {
				bool aud_ok = false;
				for (size_t i = 0; !aud_ok && i < t->n_aud && i < TICKET_MAX_AUD;
				     i++)
					aud_ok = name_eq64(t->aud[i], k->name) ||
					         key_has_product(k, t->aud[i]);
				if (!aud_ok) {
					*reason = REASON_TICKET_WRONG_PRODUCT;
					snprintf(
					        detail, dlen,
					        "ticket audience does not name key %s or its products",
					        k->name);
					return ST_WINDOW;
				}
			}
		}
		if (r->ticket_commit_is_token_sha) {
			/* The commit the validator checked is the commit the CI job
			 * runs on: compared as hex, case-insensitively. */
			const char *sha = idtoken_claim(req->idtoken, IDC_SHA);
			if (!sha || !t->commit[0] || strcasecmp(sha, t->commit) != 0) {
				*reason = REASON_TOKEN_COMMIT_MISMATCH;
				snprintf(
				        detail, dlen,
				        "rule %s: ticket commit '%.40s' is not the ID token's sha '%.40s'",
				        r->name, t->commit[0] ? t->commit : "(none)",
				        sha ? sha : "(no token)");
				return ST_WINDOW;
			}
		}
		for (size_t i = 0; i < r->n_checks; i++) {
			const ticket_check_t *found = NULL;
			for (size_t j = 0; !found && j < t->n_checks && j < TICKET_MAX_CHECKS; j++)
				if (name_eq64(t->checks[j].name, r->checks[i]))
					found = &t->checks[j];
			if (!found || !found->pass) {
				*reason = REASON_TICKET_CHECK_FAILED;
				if (found)
					snprintf(detail, dlen,
					         "check %s: result '%.15s', rule %s needs pass",
					         r->checks[i], found->result, r->name);
				else
					snprintf(detail, dlen,
					         "check %s missing from the ticket (rule %s)",
					         r->checks[i], r->name);
				return ST_WINDOW;
			}
		}
	}
	if (r->approvals_count) {
		unsigned got = policy_approvals_count(cfg, r, req, NULL, 0);
		if (got < r->approvals_count) {
			char groups[80];
			size_t off = 0;
			groups[0] = '\0';
			for (size_t i = 0; i < r->n_approvals_from && off < sizeof groups; i++) {
				int w = snprintf(groups + off, sizeof groups - off, "%s%s",
				                 i ? "/" : "",
				                 cfg->approver_groups[r->approvals_from[i]].name);
				if (w < 0)
					break;
				off += (size_t)w;
			}
			*reason = REASON_APPROVALS_MISSING;
			snprintf(detail, dlen,
			         "rule %s: %u more approval%s needed from %s (%u of %u counted)",
			         r->name, r->approvals_count - got,
			         r->approvals_count - got == 1 ? "" : "s", groups, got,
			         r->approvals_count);
			return ST_TICKET;
		}
	}
	*reason = REASON_ALLOWED;
	return ST_ALLOW;
}

/* ---- approvals (issue 16) ------------------------------------------------ */

static bool approver_is_caller(const config_approver_t *ap, const caller_t *c)
{
	if (!c || !c->user[0])
		return false;
	if (!strcmp(ap->name, c->user))
		return true;
	for (size_t i = 0; i < ap->n_users; i++)
		if (!strcmp(ap->users[i], c->user))
			return true;
	return false;
}

static bool approval_counts(const config_t *cfg, const policy_rule_t *r,
                            const policy_request_t *req, const approval_t *a, const char *product,
                            const char *run, size_t *idx)
{
	const ticket_claims_t *t = req->ticket;
	int64_t now = (int64_t)req->now;
	if (strcmp(a->product, product) || strcmp(a->run, run))
		return false;
	/* An approval of a ticket counts only with that ticket. */
	if (a->ticket[0] && (!t || strcmp(a->ticket, t->jti)))
		return false;
	if (req->key && req->key->n_products && !key_has_product(req->key, a->product))
		return false;
	if (now > a->exp + APPROVAL_LEEWAY_S || now + APPROVAL_LEEWAY_S < a->iat)
		return false;
	if (r->approvals_max_age_s && now - a->iat > (int64_t)r->approvals_max_age_s)
		return false;
	if (!approval_still_trusted(cfg, a))
		return false;
	const config_approver_t *ap = approval_approver(cfg, a->approver);
	size_t ai = (size_t)(ap - cfg->approvers);
	bool member = false;
	for (size_t g = 0; !member && g < r->n_approvals_from; g++)
		member = approval_in_group(&cfg->approver_groups[r->approvals_from[g]], ai);
	if (!member || approver_is_caller(ap, req->caller))
		return false;
	if (req->artifact && !approval_covers_digest(a, req->artifact))
		return false;
	*idx = ai;
	return true;
}

unsigned policy_approvals_count(const config_t *cfg, const policy_rule_t *r,
                                const policy_request_t *req, char *names, size_t nlen)
{
	unsigned best = 0;
	size_t n =
	        req->n_approvals < BUNDLE_MAX_APPROVALS ? req->n_approvals : BUNDLE_MAX_APPROVALS;
	if (names && nlen)
		names[0] = '\0';
	if (!req->approvals || !n)
		return 0;
	/* The subject: the ticket's product and run; without a ticket, each
	 * (product, run) the approvals name, the best one counting. */
	size_t subjects = req->ticket ? 1 : n;
	for (size_t s = 0; s < subjects; s++) {
		const char *product =
		        req->ticket ? req->ticket->product : req->approvals[s].product;
		const char *run = req->ticket ? req->ticket->run : req->approvals[s].run;
		size_t seen[BUNDLE_MAX_APPROVALS];
		unsigned got = 0;
		for (size_t i = 0; i < n; i++) {
			size_t ai;
			bool dup = false;
			if (!approval_counts(cfg, r, req, &req->approvals[i], product, run, &ai))
				continue;
			for (unsigned j = 0; j < got; j++)
				dup |= seen[j] == ai;
			if (!dup)
				seen[got++] = ai;
		}
		if (got > best) {
			best = got;
			if (names && nlen) {
				size_t off = 0;
				names[0] = '\0';
				for (unsigned j = 0; j < got && off < nlen; j++) {
					int w = snprintf(names + off, nlen - off, "%s%s",
					                 j ? "," : "",
					                 cfg->approvers[seen[j]].name);
					if (w < 0)
						break;
					off += (size_t)w;
				}
			}
		}
	}
	return best;
}

/* Any role among the entries with this key that the caller is in? */
static bool some_role_with_key(const config_t *cfg, const struct role_ref *v, size_t n,
                               uint64_t key, const policy_request_t *req)
{
	size_t lo = 0, hi = n;
	while (lo < hi) { /* first entry with v[i].key >= key */
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && v[lo].key == key; lo++)
		if (role_matches_req(cfg, &cfg->roles[v[lo].role], req))
			return true;
	return false;
}

/* Is the caller in any role?  Only on the denial path; through the
 * identity indexes, so it does not grow with the number of roles. */
static bool in_some_role(const config_t *cfg, const policy_request_t *req)
{
	const policy_t *p = cfg->policy;
	const caller_t *c = req->caller;
	if (some_role_with_key(cfg, p->by_uid, p->n_by_uid, c->uid, req) ||
	    (c->user[0] &&
	     some_role_with_key(cfg, p->by_name, p->n_by_name, name_key(c->user), req)) ||
	    some_role_with_key(cfg, p->by_gid, p->n_by_gid, c->gid, req))
		return true;
	for (size_t i = 0; i < c->n_groups && i < CALLER_MAX_GROUPS; i++)
		if (some_role_with_key(cfg, p->by_gid, p->n_by_gid, c->groups[i], req))
			return true;
	for (size_t i = 0; i < p->n_any_identity; i++)
		if (role_matches_req(cfg, &cfg->roles[p->any_identity_roles[i]], req))
			return true;
	return false;
}

static void deny(policy_decision_t *out, policy_reason_t r)
{
	out->allow = false;
	out->reason = r;
	out->ckr = policy_reason_ckr(r);
}

static void decide_request(const config_t *cfg, const policy_request_t *req, policy_decision_t *out)
{
	out->allow = false;
	out->rule = NULL;
	out->role = NULL;
	out->detail[0] = '\0';
	out->approvers[0] = '\0';
	if (!pol(cfg) || !req) {
		deny(out, REASON_CONFIG_INVALID);
		snprintf(out->detail, sizeof out->detail, "no valid config in force");
		return;
	}
	if (!req->caller || !req->caller->known) {
		deny(out, REASON_CALLER_UNKNOWN);
		snprintf(out->detail, sizeof out->detail,
		         "caller identity could not be determined");
		return;
	}
	const policy_key_t *k = req->key;
	if ((unsigned)req->action >= POLICY_ACTION_COUNT) {
		deny(out, REASON_NO_RULE);
		snprintf(out->detail, sizeof out->detail, "unknown action");
		return;
	}
	/* Every use of a key's private part (all but administration) needs a
	 * governed, valid key. */
	if (req->action != POLICY_ACTION_ADMIN) {
		if (!k) {
			deny(out, REASON_KEY_UNGOVERNED);
			snprintf(out->detail, sizeof out->detail,
			         "key is not governed by the policy");
			return;
		}
		if (k->revoked) {
			deny(out, REASON_KEY_REVOKED);
			snprintf(out->detail, sizeof out->detail, "key %s is revoked%s%.100s",
			         k->name, k->revoked_reason ? ": " : "",
			         k->revoked_reason ? k->revoked_reason : "");
			return;
		}
		if (k->not_before && req->now < k->not_before) {
			deny(out, REASON_KEY_NOT_YET_VALID);
			snprintf(out->detail, sizeof out->detail,
			         "key %s is not valid before its not_before", k->name);
			return;
		}
		if (k->not_after && req->now >= k->not_after) {
			deny(out, REASON_KEY_EXPIRED);
			snprintf(out->detail, sizeof out->detail, "key %s expired (not_after)",
			         k->name);
			return;
		}
	}

	size_t n_key = 0, n_all = 0;
	const size_t *key_rules = k ? policy_rules_of_key(cfg, k, &n_key) : NULL;
	const size_t *all_rules = policy_all_keys_rules(cfg, &n_all);
	int best = -1;
	policy_reason_t best_reason = REASON_NO_RULE;
	char detail[sizeof out->detail];
	for (size_t pass = 0; pass < 2; pass++) {
		const size_t *list = pass ? all_rules : key_rules;
		size_t n = pass ? n_all : n_key;
		for (size_t i = 0; i < n; i++) {
			const policy_rule_t *r = &cfg->rules[list[i]];
			const policy_role_t *role;
			policy_reason_t reason;
			detail[0] = '\0';
			int st = eval_rule(cfg, r, req, &role, &reason, detail, sizeof detail);
			if (st == ST_ALLOW) {
				out->allow = true;
				out->reason = REASON_ALLOWED;
				out->ckr = CKR_OK_;
				out->rule = r;
				out->role = role;
				/* Nothing to explain on the signing hot path: rule and role
				 * say why; the text is for denials. */
				out->detail[0] = '\0';
				if (r->approvals_count)
					policy_approvals_count(cfg, r, req, out->approvers,
					                       sizeof out->approvers);
				return;
			}
			if (st > best) {
				best = st;
				best_reason = reason;
				out->rule = st ? r : NULL;
				out->role = role;
				memcpy(out->detail, detail, sizeof detail);
			}
		}
	}
	if (best > 0) {
		deny(out, best_reason);
		return;
	}
	/* No rule of this key names a role of the caller.  Is the caller in
	 * any role at all? */
	if (!in_some_role(cfg, req)) {
		deny(out, REASON_NO_ROLE);
		snprintf(out->detail, sizeof out->detail, "caller uid %u (%.40s) is in no role",
		         (unsigned)req->caller->uid, req->caller->user);
		return;
	}
	if (req->action == POLICY_ACTION_ADMIN) {
		deny(out, REASON_NO_ADMIN_CAPABILITY);
		snprintf(out->detail, sizeof out->detail,
		         "no rule grants key administration %s%.63s to the caller's roles",
		         k ? "of key " : "without a key (all_keys)", k ? k->name : "");
		return;
	}
	deny(out, REASON_NO_RULE);
	snprintf(out->detail, sizeof out->detail, "no rule grants key %s to the caller's roles%s%s",
	         k->name, req->action == POLICY_ACTION_SIGN ? "" : " for ",
	         req->action == POLICY_ACTION_SIGN ? "" : action_grant(req->action)->what);
}

void policy_decide(const config_t *cfg, const policy_request_t *req, policy_decision_t *out)
{
	decide_request(cfg, req, out);
	if (out->allow || !req)
		return;
	/* A ticket was presented but did not verify: say so rather than
	 * "missing" (the code stays that of a policy refusal). */
	if (out->reason == REASON_TICKET_MISSING && req->ticket_status != TICKET_OK) {
		out->reason = REASON_TICKET_INVALID;
		snprintf(out->detail, sizeof out->detail, "%s",
		         ticket_status_name(req->ticket_status));
	}
	/* An object with no governed key because it is dressed as one, or
	 * because its identity is unknown: the denial says which. */
	if (!req->key &&
	    (req->key_reason == REASON_KEY_MISMATCH || req->key_reason == REASON_KEY_UNKNOWN) &&
	    (req->action == POLICY_ACTION_ADMIN || out->reason == REASON_KEY_UNGOVERNED ||
	     out->reason == REASON_NO_ROLE)) {
		out->reason = req->key_reason;
		if (req->key_reason == REASON_KEY_UNKNOWN) {
			out->ckr = policy_reason_ckr(REASON_KEY_UNKNOWN);
			snprintf(
			        out->detail, sizeof out->detail, "%s",
			        req->action == POLICY_ACTION_ADMIN
			                ? "identity of the object could not be established; administration "
			                  "needs a rule over all keys"
			                : "identity of the key could not be established");
		}
	}
}

/* ---- the data of an allowed operation -------------------------------------- */

policy_data_kind_t policy_data_kind(mech_id_t m)
{
	if (m == MECH_RSA_PKCS || m == MECH_ECDSA || m == MECH_RSA_X_509 ||
	    (m == MECH_RSA_PKCS_PSS && mech_fixed_hash(m) == HASH_UNKNOWN))
		return POLICY_DATA_RAW;
	if ((unsigned)m < MECH_COUNT && mech_fixed_hash(m) != HASH_UNKNOWN)
		return POLICY_DATA_HASHED;
	return POLICY_DATA_PLAIN;
}

bool policy_ticket_binds(const ticket_claims_t *t, const unsigned char *digest, size_t len)
{
	if (!t || t->n_digests == 0)
		return true;
	if (!digest || len != 32)
		return false;
	for (size_t i = 0; i < t->n_digests && i < TICKET_MAX_DIGESTS; i++)
		if (CRYPTO_memcmp(t->digests[i], digest, 32) == 0)
			return true;
	return false;
}

void policy_quota_counter(const policy_rule_t *r, const caller_t *c, char *name, size_t len)
{
	if (r->quota_scope == QUOTA_PER_CALLER)
		snprintf(name, len, "rule:%s:uid:%lu", r->name, c ? (unsigned long)c->uid : 0UL);
	else
		snprintf(name, len, "rule:%s", r->name);
}

void policy_ticket_counter(const ticket_claims_t *t, char *name, size_t len)
{
	snprintf(name, len, "ticket:%s", t->jti);
}

policy_reason_t policy_ticket_reason(ticket_status_t s)
{
	switch (s) {
	case TICKET_OK: return REASON_TICKET_ACCEPTED;
	case TICKET_BAD_ALG: return REASON_TICKET_BAD_ALG;
	case TICKET_UNKNOWN_ISSUER: return REASON_TICKET_UNKNOWN_ISSUER;
	case TICKET_BAD_SIGNATURE: return REASON_TICKET_BAD_SIGNATURE;
	case TICKET_EXPIRED: return REASON_TICKET_EXPIRED;
	case TICKET_NOT_YET_VALID: return REASON_TICKET_NOT_YET_VALID;
	case TICKET_MALFORMED:
	default: return REASON_TICKET_MALFORMED;
	}
}

static void data_deny(policy_data_decision_t *o, const policy_data_request_t *req, bool name_rule,
                      policy_reason_t r, unsigned long ckr, const char *detail)
{
	o->d.allow = false;
	o->d.reason = r;
	o->d.ckr = ckr;
	o->d.rule = name_rule ? req->rule : NULL;
	o->d.role = name_rule ? req->role : NULL;
	o->need = POLICY_NEED_NOTHING;
	snprintf(o->d.detail, sizeof o->d.detail, "%s", detail ? detail : "");
}

/* The rule's quota and the ticket's uses, in that order; at_data: the
 * counters of a signature or decryption (their detail says so). */
static bool decide_counters(const policy_data_request_t *req, policy_data_decision_t *o)
{
	const policy_rule_t *r = req->rule;
	bool at_data = req->op != POLICY_DATA_KEY_USE;
	if (r && r->quota_count) {
		switch (req->quota) {
		case POLICY_COUNT_UNASKED: o->need = POLICY_NEED_QUOTA; return false;
		case POLICY_COUNT_EXHAUSTED:
			data_deny(o, req, true, REASON_QUOTA_EXHAUSTED, CKR_FUNCTION_REJECTED_,
			          at_data ? "signature quota used up for this period"
			                  : "quota used up for this period");
			return false;
		case POLICY_COUNT_UNAVAILABLE:
			data_deny(o, req, true, REASON_STATE_UNAVAILABLE, CKR_FUNCTION_REJECTED_,
			          req->state_error);
			return false;
		case POLICY_COUNT_TAKEN: break;
		}
	}
	const ticket_claims_t *t = req->ticket;
	if (t && t->max_uses) {
		switch (req->ticket_use) {
		case POLICY_COUNT_UNASKED: o->need = POLICY_NEED_TICKET_USE; return false;
		case POLICY_COUNT_EXHAUSTED:
			data_deny(o, req, true, REASON_TICKET_EXHAUSTED, CKR_FUNCTION_REJECTED_,
			          "ticket used max_uses times");
			return false;
		case POLICY_COUNT_UNAVAILABLE:
			data_deny(o, req, true, REASON_STATE_UNAVAILABLE, CKR_FUNCTION_REJECTED_,
			          req->state_error);
			return false;
		case POLICY_COUNT_TAKEN: break;
		}
	}
	return true;
}

/* The data of a signature: the hash it establishes, the artifact it
 * binds, the approvals that cover it.  False when denied. */
static bool decide_sign_data(const policy_data_request_t *req, policy_data_decision_t *o)
{
	const inspect_result_t *ir = req->inspect;
	const ticket_claims_t *tk = req->ticket;
	policy_data_kind_t kind = policy_data_kind(req->mech);
	const unsigned char *dig = NULL;
	size_t dlen = 0;
	bool is_digest = false;
	char why[sizeof o->d.detail];

	if (kind == POLICY_DATA_RAW) {
		if (req->multipart) {
			/* PKCS#11 defines these mechanisms single-part only.
			 * CKR_FUNCTION_REJECTED, not the data code: pkcs11-tool
			 * retries every refused C_Sign as C_SignUpdate and shows
			 * that answer, which must still read as a refusal. */
			data_deny(o, req, true, REASON_DATA_MALFORMED, CKR_FUNCTION_REJECTED_,
			          "a raw mechanism takes its input in one C_Sign");
			return false;
		}
		if (!ir) {
			o->hash = HASH_UNKNOWN;
			data_deny(o, req, true, REASON_HASH_FORBIDDEN, CKR_MECHANISM_INVALID_,
			          "the data was not inspected");
			return false;
		}
		if (inspect_refused(ir)) {
			policy_reason_t r;
			switch (ir->status) {
			case INSPECT_HASH_DISGUISED: r = REASON_HASH_DISGUISED; break;
			case INSPECT_HASH_TRUNCATED: r = REASON_HASH_TRUNCATED; break;
			case INSPECT_MALFORMED: r = REASON_DATA_MALFORMED; break;
			case INSPECT_PSS_PARAMS_INVALID: r = REASON_PSS_PARAMS_INVALID; break;
			default: r = REASON_HASH_FORBIDDEN; break; /* no known hash */
			}
			o->hash = HASH_UNKNOWN;
			data_deny(o, req, true, r, policy_reason_ckr(r), ir->detail);
			return false;
		}
		o->hash = ir->hash;
		dig = ir->digest_len ? ir->digest : NULL;
		dlen = ir->digest_len;
		is_digest = true;
	} else if (kind == POLICY_DATA_HASHED && ir) {
		/* Each part on its own, as Java sends its signed attributes
		 * whole in one C_SignUpdate: a part that presents itself as a
		 * SET is held to the same rules as a whole input. */
		if (inspect_refused(ir)) {
			data_deny(o, req, true, REASON_DATA_MALFORMED,
			          policy_reason_ckr(REASON_DATA_MALFORMED), ir->detail);
			return false;
		}
		if (ir->status == INSPECT_OK) {
			dig = ir->digest;
			dlen = ir->digest_len;
		}
	}

	if (req->hash_pending || is_digest) {
		/* Raw RSA that is no PKCS#1 block establishes no hash; the key
		 * lists RSA-X-509 on purpose (policy_hash_allowed). */
		if (o->hash == HASH_UNKNOWN && req->mech != MECH_RSA_X_509) {
			data_deny(o, req, false, REASON_HASH_FORBIDDEN,
			          policy_reason_ckr(REASON_HASH_FORBIDDEN),
			          "no hash established from the data");
			return false;
		}
		/* Everything but the hash was decided at *Init, moments ago;
		 * the data only tells the hash. */
		if (!policy_hash_allowed(req->key, req->mech, o->hash)) {
			const char *basis = ir ? inspect_basis_name(ir->basis) : NULL;
			snprintf(why, sizeof why, "hash %s (from %s) not allowed for key %s",
			         hash_name(o->hash), basis ? basis : "?",
			         req->key ? req->key->name : "?");
			data_deny(o, req, true, REASON_HASH_FORBIDDEN,
			          policy_reason_ckr(REASON_HASH_FORBIDDEN), why);
			return false;
		}
	}
	/* A ticket that lists artifacts binds every signature made under it.
	 * Data that is neither a digest nor CMS signed attributes, signed
	 * single-part with SHA-256, is over SHA-256(data); any other
	 * signature cannot be tied to an artifact: refused. */
	if (!dig && tk && tk->n_digests) {
		if (!req->multipart && req->data_sha256 &&
		    mech_fixed_hash(req->mech) == HASH_SHA256) {
			dig = req->data_sha256;
			dlen = 32;
		} else if (req->multipart && mech_fixed_hash(req->mech) == HASH_SHA256 &&
		           req->op == POLICY_DATA_SIGN) {
			/* over all the parts: checked before C_SignFinal */
			o->bind_at_final = true;
		} else {
			data_deny(
			        o, req, true, REASON_ARTIFACT_MISMATCH, CKR_FUNCTION_REJECTED_,
			        "the ticket lists artifacts; the artifact of this signature cannot be "
			        "established (multi-part, or a hash other than SHA-256)");
			return false;
		}
	}
	if (dig && !policy_ticket_binds(tk, dig, dlen)) {
		data_deny(o, req, true, REASON_ARTIFACT_MISMATCH, CKR_FUNCTION_REJECTED_,
		          "the data signed is not over an artifact the ticket lists");
		return false;
	}
	o->artifact = dig;
	if (dig && req->rule && req->rule->approvals_count) {
		/* The approvals judged again with the artifact known, against the
		 * config of the rule.  Approvals name SHA-256 digests: other hash
		 * lengths match none that lists artifacts. */
		static const unsigned char none[32];
		const policy_rule_t *r = req->rule;
		policy_request_t areq = { .action = POLICY_ACTION_SIGN,
			                  .caller = req->caller,
			                  .key = req->key,
			                  .now = req->now,
			                  .ticket = tk,
			                  .approvals = req->approvals,
			                  .n_approvals = req->n_approvals,
			                  .artifact = dlen == 32 ? dig : none };
		unsigned got = req->approvals_cfg ? policy_approvals_count(req->approvals_cfg, r,
		                                                           &areq, o->d.approvers,
		                                                           sizeof o->d.approvers)
		                                  : 0;
		if (!req->approvals_cfg || got < r->approvals_count) {
			if (req->approvals_cfg)
				snprintf(
				        why, sizeof why,
				        "rule %s: %u more approval%s needed that cover the data signed (%u of %u counted)",
				        r->name, r->approvals_count - got,
				        r->approvals_count - got == 1 ? "" : "s", got,
				        r->approvals_count);
			else
				why[0] = '\0';
			data_deny(o, req, true, REASON_APPROVALS_MISSING, CKR_FUNCTION_REJECTED_,
			          why);
			return false;
		}
	}
	return true;
}

void policy_decide_data(const config_t *cfg, const policy_data_request_t *req,
                        policy_data_decision_t *out)
{
	memset(&out->d, 0, sizeof out->d);
	out->need = POLICY_NEED_NOTHING;
	out->hash = req ? req->hash : HASH_UNKNOWN;
	out->artifact = NULL;
	out->bind_at_final = false;
	if (!cfg || !req) {
		data_deny(out, req, false, REASON_CONFIG_INVALID, CKR_FUNCTION_REJECTED_,
		          "no valid config in force");
		return;
	}
	/* The ticket bound to the operation at *Init, never the login state
	 * of the moment; still only valid for its window. */
	const ticket_claims_t *t = req->ticket;
	if (t && ((t->exp && (int64_t)req->now > t->exp + TICKET_LEEWAY_S) ||
	          (t->nbf && (int64_t)req->now + TICKET_LEEWAY_S < t->nbf))) {
		data_deny(out, req, true, REASON_TICKET_INVALID, CKR_FUNCTION_REJECTED_,
		          ticket_status_name(t->exp && (int64_t)req->now > t->exp + TICKET_LEEWAY_S
		                                     ? TICKET_EXPIRED
		                                     : TICKET_NOT_YET_VALID));
		return;
	}
	if ((req->op == POLICY_DATA_SIGN || req->op == POLICY_DATA_SIGN_RECOVER ||
	     req->op == POLICY_DATA_MESSAGE_SIGN) &&
	    !decide_sign_data(req, out))
		return;
	/* Quotas and ticket uses are taken before the token signs (and given
	 * back if no signature comes of it). */
	if (!decide_counters(req, out))
		return;
	out->d.allow = true;
	out->d.reason = REASON_ALLOWED;
	out->d.ckr = CKR_OK_;
	out->d.rule = req->rule;
	out->d.role = req->role;
}

void policy_decide_final(const ticket_claims_t *t, const policy_rule_t *r,
                         const policy_role_t *role, const unsigned char *digest,
                         policy_decision_t *out)
{
	memset(out, 0, sizeof *out);
	out->rule = r;
	out->role = role;
	if (digest && policy_ticket_binds(t, digest, 32)) {
		out->allow = true;
		out->reason = REASON_ALLOWED;
		out->ckr = CKR_OK_;
		return;
	}
	out->reason = REASON_ARTIFACT_MISMATCH;
	out->ckr = CKR_FUNCTION_REJECTED_;
	snprintf(out->detail, sizeof out->detail,
	         "the data signed is not an artifact the ticket lists");
}

/* ---- credentials at login ------------------------------------------------- */

const policy_role_t *policy_credential_match(const config_t *cfg, const caller_t *caller,
                                             const char *pin, size_t pin_len)
{
	const policy_t *p = pol(cfg);
	const policy_role_t *found = NULL;
	if (!p || !pin || pin_len == 0 || pin_len > 4096)
		return NULL;
	for (size_t i = 0; i < cfg->n_roles && !found; i++) {
		const cred_t *c = &p->creds[i];
		const policy_role_t *role = &cfg->roles[i];
		if (!c->set)
			continue;
		if (caller && (!caller->known || !role_identity_matches(role, caller)))
			continue;
		unsigned char h[32];
		if (!PKCS5_PBKDF2_HMAC(pin, (int)pin_len, c->salt, (int)c->salt_len, (int)c->iter,
		                       EVP_sha256(), sizeof h, h))
			continue;
		if (CRYPTO_memcmp(h, c->hash, sizeof h) == 0)
			found = role;
		OPENSSL_cleanse(h, sizeof h);
	}
	return found;
}

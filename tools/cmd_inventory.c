/* signgate inventory: the token's keys against the policy, and drift.
 *
 * Opens the tokens as the module does (runtime/token.c: the config's
 * backend and init_args, the tokens backend.tokens exposes, login with the
 * PIN file), reads every key object on them, establishes each object's
 * identity with the module's own code (runtime/keycache.c: RSA from its
 * modulus, EC private keys by proof -- a challenge signed by the object
 * and verified under a public key the policy names, never a public key
 * merely sharing its CKA_ID) and asks the module's lookup which governed
 * key it is (token_key_govern, policy_key_lookup): a key shown as governed
 * here is one the module takes for it, a look-alike or copy is one it
 * refuses as key-mismatch.
 * Then reports what an administrator should know, each with a severity:
 *
 *   critical  PIN file readable by group/others; policy writable by group/others
 *   high      key look-alike (governed key's ID/label, other material); copy
 *             of a governed key under another ID, label or token; governed key
 *             missing from its token; revoked key still on the token; admin
 *             capability on all keys or for any caller; loose PIN file
 *             (writable) or a policy/PIN file owned by someone unexpected
 *   medium    ungoverned key; ID or label drifted; key shared by several
 *             products; expired key still on the token; rule that can never
 *             fire; identity the system no longer knows; admin capability on
 *             named keys; rotation due within 7 days
 *   low       rotation due within --expiry-days; governed key without a
 *             fingerprint; policy readable by others
 *   info      retired (revoked/expired) governed key gone from the token;
 *             public key without its private key
 *
 * Exit status: 0; 3 when a finding is at or above --fail-on; 2 usage,
 * config or token error.  The PIN is never printed.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <p11-kit/pkcs11.h>

#include "commands.h"
#include "config.h"
#include "debug.h"
#include "inventory.h"
#include "keycache.h"
#include "policy.h"
#include "report.h"
#include "spki.h"
#include "token.h"
#include "codec.h"

#define EXIT_FINDING 3
#define EXIT_USAGE 2

typedef enum sev { SEV_INFO = 0, SEV_LOW, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_COUNT } sev_t;
static const char *const sev_names[SEV_COUNT] = { "info", "low", "medium", "high", "critical" };

static int sev_from_name(const char *s)
{
	for (int i = 0; i < SEV_COUNT; i++)
		if (!strcasecmp(s, sev_names[i]))
			return i;
	return -1;
}

typedef struct finding {
	sev_t sev;
	const char *code; /* stable: "ungoverned-key", "key-missing", ... */
	char subject[320];
	char detail[512];
	char node[96]; /* dot node to highlight ("" = none) */
	size_t rule;   /* rule to highlight (SIZE_MAX = none) */
} finding_t;

typedef struct token {
	CK_SLOT_ID slot;
	char label[33], serial[17];
} token_t;

typedef struct tkey {
	size_t tok; /* index into tokens */
	bool has_private, has_public;
	CK_KEY_TYPE type;
	unsigned char id[64];
	size_t id_len;
	char label[129];
	bool has_fp; /* identity established as the module does (keycache) */
	unsigned char fp[32];
	bool shown_fp; /* fingerprint for the report: has_fp, or proven against a
	                                public key the policy does not name */
	unsigned char sfp[32];
	char desc[24];           /* "RSA-2048", "EC-P256" */
	policy_reason_t why;     /* the module's lookup: REASON_ALLOWED = governed */
	const policy_key_t *gov; /* governed key this is, as the module looks it up */
	bool copy;               /* ... or a copy of its material (another ID/label/token) */
} tkey_t;

typedef struct inv {
	const config_t *cfg;
	const char *conf_path;
	report_model_t model;
	time_t now;
	int expiry_days;
	uid_t owner_ok;
	bool has_owner_ok;
	const char *token_filter;
	token_t *tokens;
	size_t n_tokens;
	tkey_t *keys;
	size_t n_keys, cap_keys;
	finding_t *f;
	size_t n_f, cap_f;
	bool *gov_present; /* per governed key: found on its token */
	bool *gov_scanned; /* per governed key: its token was scanned */
} inv_t;

/* ---- findings ---------------------------------------------------------------- */

__attribute__((format(printf, 6, 7))) static void add(inv_t *iv, sev_t sev, const char *code,
                                                      const char *node, const char *subject,
                                                      const char *fmt, ...)
{
	if (iv->n_f == iv->cap_f) {
		size_t nc = iv->cap_f ? iv->cap_f * 2 : 32;
		finding_t *nv = realloc(iv->f, nc * sizeof *nv);
		if (!nv)
			return; /* a report short of memory loses a line, never crashes */
		iv->f = nv;
		iv->cap_f = nc;
	}
	finding_t *f = &iv->f[iv->n_f++];
	memset(f, 0, sizeof *f);
	f->sev = sev;
	f->code = code;
	f->rule = SIZE_MAX;
	snprintf(f->subject, sizeof f->subject, "%s", subject);
	snprintf(f->node, sizeof f->node, "%s", node ? node : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof f->detail, fmt, ap);
	va_end(ap);
}

/* ---- small helpers ------------------------------------------------------------- */

/* Append to a fixed buffer; truncates quietly (a report line, not data). */
__attribute__((format(printf, 4, 5))) static void appendf(char *buf, size_t size, size_t *len,
                                                          const char *fmt, ...)
{
	if (*len >= size - 1)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(buf + *len, size - *len, fmt, ap);
	va_end(ap);
	if (w > 0)
		*len += (size_t)w < size - *len ? (size_t)w : size - *len - 1;
}

static void hex(const unsigned char *p, size_t n, char *out, size_t outlen)
{
	codec_hex_encode(out, outlen, p, n); /* "" if it does not fit */
}

static bool key_on_token(const policy_key_t *k, const token_t *t)
{
	return token_named(k->token, t->label, t->serial);
}

/* ---- reading the token ------------------------------------------------------------ */

static bool attr_get(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                     CK_ATTRIBUTE_TYPE type, unsigned char **val, size_t *len)
{
	CK_ATTRIBUTE a = { type, NULL, 0 };
	*val = NULL;
	*len = 0;
	if (fl->C_GetAttributeValue(s, o, &a, 1) != CKR_OK ||
	    a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > 1 << 20)
		return false;
	if (!(a.pValue = malloc(a.ulValueLen ? a.ulValueLen : 1)))
		return false;
	if (fl->C_GetAttributeValue(s, o, &a, 1) != CKR_OK) {
		free(a.pValue);
		return false;
	}
	*val = a.pValue;
	*len = a.ulValueLen;
	return true;
}

static const char *curve_name(const unsigned char *p, size_t n)
{
	static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48,
		                              0xce, 0x3d, 0x03, 0x01, 0x07 };
	static const unsigned char p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
	static const unsigned char p521[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23 };
	if (n == sizeof p256 && !memcmp(p, p256, n))
		return "P256";
	if (n == sizeof p384 && !memcmp(p, p384, n))
		return "P384";
	if (n == sizeof p521 && !memcmp(p, p521, n))
		return "P521";
	return "?";
}

/* What the report calls the key ("RSA-2048", "EC-P256"): description
 * only, never identity. */
static void key_desc(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                     CK_KEY_TYPE type, char *desc, size_t len)
{
	unsigned char *v = NULL;
	size_t vl;
	if (type == CKK_RSA) {
		snprintf(desc, len, "RSA");
		if (attr_get(fl, s, o, CKA_MODULUS, &v, &vl)) {
			size_t z = 0;
			while (z < vl && !v[z])
				z++;
			snprintf(desc, len, "RSA-%zu", (vl - z) * 8);
		}
	} else if (type == CKK_EC) {
		snprintf(desc, len, "EC");
		if (attr_get(fl, s, o, CKA_EC_PARAMS, &v, &vl))
			snprintf(desc, len, "EC-%s", curve_name(v, vl));
	} else {
		snprintf(desc, len, "type-0x%lx", (unsigned long)type);
	}
	free(v);
}

/* One key object, read as the module reads it (keycache_get): ID, label,
 * type, the fingerprint where its identity is established (its own
 * public part, or a proof against a fingerprint the policy names), and
 * which governed key the module takes it for. */
static void read_key(const inv_t *iv, CK_FUNCTION_LIST_PTR fl, const token_t *t,
                     CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o, tkey_t *k)
{
	key_attrs_t ka;
	memset(&ka, 0, sizeof ka);
	if (keycache_get(t->slot, s, o, &ka) != CKR_OK)
		ka.standing = KEY_UNKNOWN;
	memcpy(k->id, ka.id, ka.id_len <= sizeof k->id ? ka.id_len : 0);
	k->id_len = ka.id_len <= sizeof k->id ? ka.id_len : 0;
	snprintf(k->label, sizeof k->label, "%s", ka.label);
	k->type = ka.type;
	if (ka.standing != KEY_KNOWN) {
		/* As at the module's *Init: not established is not "ungoverned". */
		CK_ULONG type = CKK_VENDOR_DEFINED;
		CK_ATTRIBUTE a = { CKA_KEY_TYPE, &type, sizeof type };
		if (fl->C_GetAttributeValue(s, o, &a, 1) == CKR_OK)
			k->type = type;
	}
	key_desc(fl, s, o, k->type, k->desc, sizeof k->desc);
	k->has_fp = ka.has_fp;
	memcpy(k->fp, ka.fp, 32);
	k->shown_fp = ka.has_fp;
	memcpy(k->sfp, ka.fp, 32);
	k->gov = token_key_govern(iv->cfg, t->label, t->serial, &ka, &k->why);
	SG_DEBUG(SG_DBG_POLICY, "inventory: token %s object %lu (%s, label '%s'): %s%s%s", t->label,
	         (unsigned long)o, k->desc, k->label, k->gov ? "governed as " : "",
	         k->gov ? k->gov->name : policy_reason_name(k->why),
	         ka.fp_source == KEY_FP_PROVEN ? " (identity proven by a signature)" : "");
}

static CK_OBJECT_HANDLE *find_all(CK_FUNCTION_LIST_PTR fl, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                                  size_t *n)
{
	CK_ATTRIBUTE t = { CKA_CLASS, &cls, sizeof cls };
	CK_OBJECT_HANDLE *v = NULL, batch[64];
	CK_ULONG got;
	size_t cap = 0;
	*n = 0;
	if (fl->C_FindObjectsInit(s, &t, 1) != CKR_OK)
		return NULL;
	while (fl->C_FindObjects(s, batch, 64, &got) == CKR_OK && got) {
		if (*n + got > cap) {
			size_t nc = (cap + got) * 2;
			CK_OBJECT_HANDLE *nv = realloc(v, nc * sizeof *nv);
			if (!nv)
				break;
			v = nv;
			cap = nc;
		}
		memcpy(v + *n, batch, got * sizeof *batch);
		*n += got;
	}
	fl->C_FindObjectsFinal(s);
	return v;
}

static tkey_t *key_new(inv_t *iv)
{
	if (iv->n_keys == iv->cap_keys) {
		size_t nc = iv->cap_keys ? iv->cap_keys * 2 : 16;
		tkey_t *nv = realloc(iv->keys, nc * sizeof *nv);
		if (!nv)
			return NULL;
		iv->keys = nv;
		iv->cap_keys = nc;
	}
	tkey_t *k = &iv->keys[iv->n_keys];
	memset(k, 0, sizeof *k);
	return k;
}

/* Private keys first; each pairs with the public key objects of the same
 * key material (same fingerprint), never with one that merely shares its
 * CKA_ID (a public key planted under a governed key's ID lends nothing).
 * Public keys that pair with no private key are listed on their own. */
static int scan_token(inv_t *iv, token_view_t *tv, size_t ti)
{
	CK_FUNCTION_LIST_PTR fl = tv->f;
	const token_t *t = &iv->tokens[ti];
	CK_SESSION_HANDLE s = tv->slots[ti].session;
	size_t n_priv = 0, n_pub = 0;
	CK_OBJECT_HANDLE *priv = find_all(fl, s, CKO_PRIVATE_KEY, &n_priv);
	CK_OBJECT_HANDLE *pub = find_all(fl, s, CKO_PUBLIC_KEY, &n_pub);
	tkey_t *pubs = calloc(n_pub + 1, sizeof *pubs);
	bool *paired = calloc(n_pub + 1, sizeof *paired);
	int rc = -1;
	if (!pubs || !paired)
		goto out;
	for (size_t i = 0; i < n_pub; i++)
		read_key(iv, fl, t, s, pub[i], &pubs[i]);
	size_t first = iv->n_keys;
	for (size_t i = 0; i < n_priv; i++) {
		tkey_t *k = key_new(iv);
		if (!k)
			goto out;
		read_key(iv, fl, t, s, priv[i], k);
		k->tok = ti;
		k->has_private = true;
		iv->n_keys++;
	}
	/* For the report only: the fingerprint of private keys whose identity
	 * the module would not establish (their public key is named by no
	 * policy), proven the same way against every candidate public key. */
	token_view_prove_any(true);
	for (size_t i = first; i < iv->n_keys; i++) {
		tkey_t *k = &iv->keys[i];
		key_attrs_t ka;
		if (k->shown_fp || keycache_get(t->slot, s, priv[i - first], &ka) != CKR_OK ||
		    !ka.has_fp)
			continue;
		memcpy(k->sfp, ka.fp, 32);
		k->shown_fp = true;
	}
	token_view_prove_any(false);
	for (size_t i = first; i < iv->n_keys; i++) {
		tkey_t *k = &iv->keys[i];
		for (size_t j = 0; j < n_pub; j++) {
			tkey_t *p = &pubs[j];
			if (!k->shown_fp || !p->shown_fp || memcmp(p->sfp, k->sfp, 32))
				continue;
			k->has_public = true;
			paired[j] = true;
		}
	}
	for (size_t j = 0; j < n_pub; j++) {
		if (paired[j])
			continue;
		tkey_t *k = key_new(iv);
		if (!k)
			goto out;
		*k = pubs[j];
		k->tok = ti;
		k->has_public = true;
		k->gov = NULL; /* a public key signs nothing: never governed */
		iv->n_keys++;
	}
	rc = 0;
out:
	free(priv);
	free(pub);
	free(pubs);
	free(paired);
	return rc;
}

static int scan(inv_t *iv, char *err, size_t errlen)
{
	token_view_t tv;
	int rc = -1;

	/* Loose PIN-file permissions are a finding here (check_file), not a
	 * reason to stop; the PIN is parsed as the module parses it. */
	if (token_view_open(&tv, iv->cfg, TOKEN_PIN_ANY_MODE, iv->token_filter, err, errlen) < 0)
		return -1;
	if (!(iv->tokens = calloc(tv.n_slots + 1, sizeof *iv->tokens))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < tv.n_slots; i++) {
		token_t *t = &iv->tokens[iv->n_tokens++];
		t->slot = tv.slots[i].slot;
		memcpy(t->label, tv.slots[i].label, sizeof t->label);
		memcpy(t->serial, tv.slots[i].serial, sizeof t->serial);
	}
	for (size_t i = 0; i < iv->n_tokens; i++) {
		if (scan_token(iv, &tv, i) < 0) {
			snprintf(err, errlen, "token %s: out of memory reading keys",
			         iv->tokens[i].label);
			goto out;
		}
	}
	rc = 0;
out:
	token_view_close(&tv);
	return rc;
}

/* ---- analysis ------------------------------------------------------------------------ */

static bool tok_key_has_governed_name(const inv_t *iv, const tkey_t *t, const policy_key_t **which)
{
	const config_t *cfg = iv->cfg;
	for (size_t i = 0; i < cfg->n_keys; i++) {
		const policy_key_t *k = &cfg->keys[i];
		if (!key_on_token(k, &iv->tokens[t->tok]))
			continue;
		if ((k->has_id && k->id_len == t->id_len && !memcmp(k->id, t->id, t->id_len)) ||
		    (k->label && !strcmp(k->label, t->label))) {
			*which = k;
			return true;
		}
	}
	return false;
}

static bool id_label_match(const policy_key_t *k, const tkey_t *t)
{
	bool id_ok = !k->has_id || (k->id_len == t->id_len && !memcmp(k->id, t->id, t->id_len));
	bool label_ok = !k->label || !strcmp(k->label, t->label);
	return id_ok && label_ok;
}

static void tkey_node(const inv_t *iv, const tkey_t *t, char *out, size_t outlen)
{
	snprintf(out, outlen, "tok:%zu", (size_t)(t - iv->keys));
}

static void tkey_subject(const inv_t *iv, const tkey_t *t, char *out, size_t outlen)
{
	char idh[130];
	hex(t->id, t->id_len, idh, sizeof idh);
	snprintf(out, outlen, "%s id %s label '%s'", iv->tokens[t->tok].label, idh[0] ? idh : "-",
	         t->label);
}

static void analyse_sharing(inv_t *iv);

static void analyse_keys(inv_t *iv)
{
	const config_t *cfg = iv->cfg;
	char node[96], subj[320], fps[80], idh[130], idp[130];

	/* governed keys: present, missing, drifted, copied, retired, expiring */
	for (size_t gi = 0; gi < cfg->n_keys; gi++) {
		const policy_key_t *k = &cfg->keys[gi];
		snprintf(node, sizeof node, "key:%s", k->name);
		bool scanned = false;
		for (size_t t = 0; t < iv->n_tokens; t++)
			scanned |= key_on_token(k, &iv->tokens[t]);
		iv->gov_scanned[gi] = scanned;
		if (!scanned && iv->token_filter)
			continue; /* another token: not this report's business */
		bool retired = k->revoked || (k->not_after && iv->now >= k->not_after);
		if (!k->has_fingerprint)
			add(iv, SEV_LOW, "no-fingerprint", node, k->name,
			    "governed by ID/label only: a relabelled look-alike is caught only when both ID and "
			    "label are checked; add fingerprint = \"sha256:...\"");
		/* The object the module takes for k: its lookup (token, CKA_ID
		 * then label, confirmed by the fingerprint keycache establishes). */
		tkey_t *match = NULL;
		bool public_only = false;
		for (size_t i = 0; i < iv->n_keys; i++) {
			tkey_t *t = &iv->keys[i];
			if (!key_on_token(k, &iv->tokens[t->tok]))
				continue;
			if (!t->has_private) {
				public_only |= k->has_fingerprint && t->has_fp &&
				               !memcmp(t->fp, k->fingerprint, 32);
				continue;
			}
			if (t->gov != k)
				continue;
			if (!match || (!id_label_match(k, match) && id_label_match(k, t)))
				match = t;
		}
		if (!scanned) {
			add(iv, retired ? SEV_INFO : SEV_HIGH, "key-missing", node, k->name,
			    "token '%s' is not present or not exposed by backend.tokens", k->token);
			continue;
		}
		if (!match) {
			/* the same material on another token, under other names, or
			 * only as a public key */
			const char *elsewhere = NULL;
			for (size_t i = 0; k->has_fingerprint && i < iv->n_keys && !elsewhere; i++)
				if (iv->keys[i].has_private && iv->keys[i].has_fp &&
				    !memcmp(iv->keys[i].fp, k->fingerprint, 32))
					elsewhere = iv->tokens[iv->keys[i].tok].label;
			if (retired)
				add(iv, SEV_INFO, "key-missing", node, k->name,
				    "%s key is gone from token %s: the policy entry can be removed",
				    k->revoked ? "revoked" : "expired", k->token);
			else {
				/* A private key with its ID/label whose identity cannot be
				 * proven (an EC key no public key the policy names verifies):
				 * the module cannot confirm it either. */
				bool unverifiable = false;
				for (size_t i = 0; i < iv->n_keys && !unverifiable; i++)
					unverifiable =
					        iv->keys[i].has_private && !iv->keys[i].has_fp &&
					        key_on_token(k, &iv->tokens[iv->keys[i].tok]) &&
					        id_label_match(k, &iv->keys[i]);
				add(iv, SEV_HIGH, "key-missing", node, k->name,
				    "no private key on token %s that the module takes for it%s%s%s%s",
				    k->token, public_only ? " (only the public key is there)" : "",
				    unverifiable
				            ? " (a private key with its ID/label is there, but its identity "
				              "cannot be established: no public key the policy names verifies "
				              "its signature)"
				            : "",
				    elsewhere ? "; the material is on token " : "",
				    elsewhere ? elsewhere : "");
			}
			continue;
		}
		iv->gov_present[gi] = true;
		match->gov = k;
		if (!id_label_match(k, match)) {
			hex(match->id, match->id_len, idh, sizeof idh);
			hex(k->id, k->id_len, idp, sizeof idp);
			char what[320] = "";
			if (k->has_id &&
			    (k->id_len != match->id_len || memcmp(k->id, match->id, k->id_len)))
				snprintf(what, sizeof what, "ID %s on the token, policy says %s",
				         idh[0] ? idh : "(none)", idp);
			if (k->label && strcmp(k->label, match->label)) {
				size_t l = strlen(what);
				snprintf(what + l, sizeof what - l,
				         "%slabel '%s' on the token, policy says '%s'",
				         l ? "; " : "", match->label, k->label);
			}
			add(iv, SEV_MEDIUM, "key-drift", node, k->name, "%s", what);
		}
		for (size_t i = 0; i < iv->n_keys; i++) {
			tkey_t *t = &iv->keys[i];
			if (t == match || !t->has_private || !t->has_fp || !k->has_fingerprint ||
			    memcmp(t->fp, k->fingerprint, 32))
				continue;
			t->gov = k;
			t->copy = true;
			tkey_node(iv, t, node, sizeof node);
			tkey_subject(iv, t, subj, sizeof subj);
			add(iv, SEV_HIGH, "key-copy", node, subj,
			    "a copy of governed key %s (same key material under another ID, label or token): "
			    "it outlives rotation and revocation of the original",
			    k->name);
			snprintf(node, sizeof node, "key:%s", k->name);
		}
		if (k->revoked)
			add(iv, SEV_HIGH, "revoked-key-present", node, k->name,
			    "revoked%s%s, still on token %s: destroy it",
			    k->revoked_reason ? ": " : "",
			    k->revoked_reason ? k->revoked_reason : "", k->token);
		else if (k->not_after && iv->now >= k->not_after) {
			char na[32];
			report_time_format(k->not_after, na, sizeof na);
			add(iv, SEV_MEDIUM, "expired-key-present", node, k->name,
			    "expired %s, still on token %s: destroy it", na, k->token);
		} else if (k->not_after &&
		           k->not_after - iv->now <= (time_t)iv->expiry_days * 86400) {
			char na[32];
			report_time_format(k->not_after, na, sizeof na);
			long days = (long)((k->not_after - iv->now) / 86400);
			add(iv, days <= 7 ? SEV_MEDIUM : SEV_LOW, "rotation-due", node, k->name,
			    "expires %s (in %ld day%s): rotate", na, days, days == 1 ? "" : "s");
		}
	}

	/* token keys the module takes for no governed key */
	for (size_t i = 0; i < iv->n_keys; i++) {
		tkey_t *t = &iv->keys[i];
		if (t->gov)
			continue;
		tkey_node(iv, t, node, sizeof node);
		tkey_subject(iv, t, subj, sizeof subj);
		if (t->shown_fp)
			spki_fp_format(t->sfp, fps, sizeof fps);
		else
			snprintf(fps, sizeof fps, "(no fingerprint: public part not readable)");
		if (!t->has_private) {
			bool governed_pub = false;
			for (size_t g = 0; g < cfg->n_keys && t->has_fp; g++)
				governed_pub |= cfg->keys[g].has_fingerprint &&
				                !memcmp(cfg->keys[g].fingerprint, t->fp, 32);
			if (!governed_pub)
				add(iv, SEV_INFO, "public-key-only", node, subj,
				    "%s %s: a public key without its private key", t->desc, fps);
			continue;
		}
		bool copy = false;
		for (size_t g = 0; g < cfg->n_keys && t->has_fp; g++)
			if (cfg->keys[g].has_fingerprint &&
			    !memcmp(cfg->keys[g].fingerprint, t->fp, 32)) {
				add(iv, SEV_HIGH, "key-copy", node, subj,
				    "the key material of governed key %s, on a token the policy does not name for it",
				    cfg->keys[g].name);
				copy = true;
				t->gov = &cfg->keys[g];
				t->copy = true;
				break;
			}
		if (copy)
			continue;
		const policy_key_t *which = NULL;
		if (t->why == REASON_KEY_UNKNOWN || t->why == REASON_KEY_OTHER_TOKEN)
			add(iv, SEV_HIGH, "key-unknown", node, subj,
			    "%s: its identity cannot be established (an attribute the module reads is missing, "
			    "unreadable or too long): the module refuses it (%s)",
			    t->desc, policy_reason_name(t->why));
		else if (t->why == REASON_KEY_MISMATCH ||
		         tok_key_has_governed_name(iv, t, &which)) {
			if (!which)
				tok_key_has_governed_name(iv, t, &which);
			add(iv, SEV_HIGH, "lookalike-key", node, subj,
			    "%s %s carries the ID or label of governed key %s but %s", t->desc, fps,
			    which ? which->name : "?",
			    t->has_fp ? "is other key material" : "cannot be confirmed as it");
		} else
			add(iv, SEV_MEDIUM, "ungoverned-key", node, subj,
			    "%s %s: no policy governs it (signgate refuses it; direct token users do not)",
			    t->desc, fps);
	}

	/* blast radius: products per key material (entries with the same
	 * fingerprint are one key, whatever their names) */
	analyse_sharing(iv);
}

/* Has product p been seen in the keys grouped with key gi before (gj, q)? */
static bool product_seen(const config_t *cfg, const bool *group, size_t gj, size_t q)
{
	const char *p = cfg->keys[gj].products[q];
	for (size_t g = 0; g <= gj; g++) {
		if (!group[g])
			continue;
		size_t lim = g == gj ? q : cfg->keys[g].n_products;
		for (size_t i = 0; i < lim; i++)
			if (!strcmp(cfg->keys[g].products[i], p))
				return true;
	}
	return false;
}

static void analyse_sharing(inv_t *iv)
{
	const config_t *cfg = iv->cfg;
	bool *done = calloc(cfg->n_keys + 1, sizeof *done);
	bool *group = calloc(cfg->n_keys + 1, sizeof *group);
	char node[96], prods[384], names[256];
	for (size_t gi = 0; done && group && gi < cfg->n_keys; gi++) {
		if (done[gi])
			continue;
		const policy_key_t *k = &cfg->keys[gi];
		size_t n_prod = 0, n_names = 0, lp = 0, ln = 0;
		prods[0] = names[0] = '\0';
		memset(group, 0, cfg->n_keys * sizeof *group);
		for (size_t gj = gi; gj < cfg->n_keys; gj++) {
			const policy_key_t *o = &cfg->keys[gj];
			group[gj] = gj == gi || (k->has_fingerprint && o->has_fingerprint &&
			                         !memcmp(k->fingerprint, o->fingerprint, 32));
			if (!group[gj])
				continue;
			done[gj] = true;
			appendf(names, sizeof names, &ln, "%s%s", n_names++ ? ", " : "", o->name);
			for (size_t q = 0; q < o->n_products; q++)
				if (!product_seen(cfg, group, gj, q))
					appendf(prods, sizeof prods, &lp, "%s%s",
					        n_prod++ ? ", " : "", o->products[q]);
		}
		snprintf(node, sizeof node, "key:%s", k->name);
		if (n_prod > 1)
			add(iv, SEV_MEDIUM, "shared-key", node, names,
			    "one key signs for %zu products (%s): a compromise or revocation hits all of them",
			    n_prod, prods);
		else if (n_names > 1)
			add(iv, SEV_MEDIUM, "shared-key", node, names,
			    "one key material governed under %zu names", n_names);
	}
	free(done);
	free(group);
}

static size_t role_uid_members(const inv_t *iv, size_t ri)
{
	size_t n = 0;
	for (size_t i = 0; i < iv->model.n_unknown; i++)
		n += iv->model.unknown[i].role == ri && !strcmp(iv->model.unknown[i].kind, "uid");
	return n;
}

static void analyse_rules(inv_t *iv)
{
	const config_t *cfg = iv->cfg;
	char why[384], node[96];
	for (size_t ri = 0; ri < cfg->n_rules; ri++) {
		const policy_rule_t *r = &cfg->rules[ri];
		size_t l = 0;
		why[0] = '\0';
		node[0] = '\0';
		bool members = false;
		for (size_t i = 0; i < r->n_roles; i++) {
			const policy_role_t *ro = &cfg->roles[r->roles[i]];
			members |= ro->any_identity || iv->model.role_members[r->roles[i]] ||
			           role_uid_members(iv, r->roles[i]);
		}
		if (!members) {
			appendf(why, sizeof why, &l, "%srole%s ", l ? "; " : "",
			        r->n_roles > 1 ? "s" : "");
			for (size_t i = 0; i < r->n_roles; i++)
				appendf(why, sizeof why, &l, "%s%s", i ? ", " : "",
				        cfg->roles[r->roles[i]].name);
			appendf(why, sizeof why, &l, " match%s no existing user or group member",
			        r->n_roles > 1 ? "" : "es");
			snprintf(node, sizeof node, "role:%s", cfg->roles[r->roles[0]].name);
		}
		if (!r->days || (r->minute_from >= 0 && r->minute_from == r->minute_to))
			appendf(why, sizeof why, &l, "%sthe time window is empty", l ? "; " : "");
		if (!r->all_keys && r->n_keys) {
			bool all_known = true, any_present = false, any_live = false;
			for (size_t k = 0; k < r->n_keys; k++) {
				size_t gi = r->keys[k];
				const policy_key_t *key = &cfg->keys[gi];
				all_known &= iv->gov_scanned[gi] || !iv->token_filter;
				any_present |= iv->gov_present[gi];
				any_live |= iv->gov_present[gi] && !key->revoked &&
				            !(key->not_after && iv->now >= key->not_after);
			}
			if (all_known && !any_present)
				appendf(why, sizeof why, &l, "%s%s on the token", l ? "; " : "",
				        r->n_keys > 1 ? "none of its keys is" : "its key is not");
			else if (all_known && r->sign && !r->admin && !any_live)
				appendf(why, sizeof why, &l, "%s%s revoked or expired",
				        l ? "; " : "",
				        r->n_keys > 1 ? "all its keys are" : "its key is");
		}
		if (l) {
			add(iv, SEV_MEDIUM, "rule-never-fires", node, r->name, "%s", why);
			iv->f[iv->n_f - 1].rule = ri;
		}
		if (r->approvals_count) {
			/* the two-person rule (issue 16): say what a signature needs */
			char groups[256] = "";
			size_t gl = 0;
			for (size_t i = 0; i < r->n_approvals_from; i++)
				appendf(groups, sizeof groups, &gl, "%s%s", i ? ", " : "",
				        cfg->approver_groups[r->approvals_from[i]].name);
			char rnode[96];
			snprintf(rnode, sizeof rnode, "rule:%s", r->name);
			char age[48] = "";
			if (r->approvals_max_age_s)
				snprintf(age, sizeof age, ", none older than %u s",
				         r->approvals_max_age_s);
			add(iv, SEV_INFO, "approvals-required", rnode, r->name,
			    "signatures need %u distinct approvals from %s%s (never the requester's own)",
			    r->approvals_count, groups, age);
			iv->f[iv->n_f - 1].rule = ri;
		}
	}
}

static void analyse_identities(inv_t *iv)
{
	const config_t *cfg = iv->cfg;
	const report_model_t *m = &iv->model;
	char node[96], subj[320], buf[256];
	for (size_t i = 0; i < m->n_unknown; i++) {
		const report_unknown_t *u = &m->unknown[i];
		snprintf(node, sizeof node, "unk:%s:%s", u->kind, u->name);
		snprintf(subj, sizeof subj, "%s %s", u->kind, u->name);
		add(iv, SEV_MEDIUM, "unknown-identity", node, subj,
		    "role %s names a %s this system does not know (offboarding lag?)",
		    cfg->roles[u->role].name, u->kind);
	}
	/* admin capability, one finding per identity */
	for (size_t id = 0; id < m->n_ids; id++) {
		bool admin = false, all = false;
		size_t l = 0;
		buf[0] = '\0';
		for (size_t g = 0; g < m->n_grants; g++) {
			const report_grant_t *gr = &m->grants[g];
			const policy_rule_t *r = &cfg->rules[gr->rule];
			if (gr->ident != id || !r->admin)
				continue;
			all |= r->all_keys;
			char needle[72];
			snprintf(needle, sizeof needle, "%s", r->name);
			if (admin && strstr(buf, needle))
				continue;
			admin = true;
			int w = snprintf(buf + l, sizeof buf - l, "%s%s%s", l ? ", " : "", r->name,
			                 r->all_keys ? " (all keys)" : "");
			if (w > 0)
				l += (size_t)w < sizeof buf - l ? (size_t)w : sizeof buf - l - 1;
		}
		if (!admin)
			continue;
		const report_identity_t *ident = &m->ids[id];
		snprintf(node, sizeof node, "id:%s", ident->name);
		if (ident->kind == REPORT_ID_USER)
			snprintf(subj, sizeof subj, "user %s", ident->name);
		else if (ident->kind == REPORT_ID_UID)
			snprintf(subj, sizeof subj, "uid %u", (unsigned)ident->uid);
		else
			snprintf(subj, sizeof subj, "any caller");
		add(iv, all || ident->kind == REPORT_ID_ANY ? SEV_HIGH : SEV_MEDIUM,
		    "admin-capability", node, subj,
		    "may create, destroy, copy or relabel keys through rule%s %s",
		    strchr(buf, ',') ? "s" : "", buf);
	}
}

static void check_file(inv_t *iv, const char *path, bool is_pin, bool has_secrets)
{
	struct stat st;
	char node[96];
	const char *what = is_pin ? "PIN file" : "policy file";
	snprintf(node, sizeof node, "file:%s", path);
	if (stat(path, &st) < 0) {
		add(iv, is_pin ? SEV_HIGH : SEV_MEDIUM, "file-unreadable", node, path, "%s: %s",
		    what, strerror(errno));
		return;
	}
	mode_t m = st.st_mode & 07777;
	if (m & (S_IWGRP | S_IWOTH))
		add(iv, is_pin ? SEV_HIGH : SEV_CRITICAL,
		    is_pin ? "pin-file-permissions" : "policy-file-permissions", node, path,
		    "%s mode %04o: writable by %s%s", what, (unsigned)m,
		    m & S_IWOTH ? "everyone" : "the group",
		    is_pin ? ""
		           : " (anyone who can write it decides who signs; the module refuses to load it)");
	if (m & (S_IRGRP | S_IROTH)) {
		if (is_pin)
			add(iv, SEV_CRITICAL, "pin-file-permissions", node, path,
			    "PIN file mode %04o: readable by %s: they can log in to the token and sign without signgate",
			    (unsigned)m, m & S_IROTH ? "everyone" : "the group");
		else
			add(iv, has_secrets ? SEV_MEDIUM : SEV_LOW, "policy-file-permissions", node,
			    path, "policy file mode %04o: readable by %s%s", (unsigned)m,
			    m & S_IROTH ? "everyone" : "the group",
			    has_secrets ? " (it holds role credential hashes)" : "");
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    !(iv->has_owner_ok && st.st_uid == iv->owner_ok)) {
		struct passwd *pw = getpwuid(st.st_uid);
		add(iv, SEV_HIGH, is_pin ? "pin-file-permissions" : "policy-file-permissions", node,
		    path, "%s owned by %s (uid %u), not root%s%s", what, pw ? pw->pw_name : "?",
		    (unsigned)st.st_uid,
		    iv->has_owner_ok ? " or the --owner account" : " or the user running inventory",
		    "");
	}
}

/* ---- output ------------------------------------------------------------------------------ */

static int cmp_finding(const void *a, const void *b)
{
	const finding_t *x = a, *y = b;
	if (x->sev != y->sev)
		return (int)y->sev - (int)x->sev;
	int c = strcmp(x->code, y->code);
	return c ? c : strcmp(x->subject, y->subject);
}

static void print_table(const inv_t *iv, const char *when)
{
	char idh[130], fps[80];
	printf("signgate inventory of %s at %s\n", iv->conf_path, when);
	for (size_t t = 0; t < iv->n_tokens; t++) {
		size_t n = 0;
		for (size_t i = 0; i < iv->n_keys; i++)
			n += iv->keys[i].tok == t;
		printf("\ntoken %s (serial %s): %zu key%s\n", iv->tokens[t].label,
		       iv->tokens[t].serial, n, n == 1 ? "" : "s");
		printf("  %-8s %-9s %-6s %-18s %-26s %s\n", "OBJECTS", "TYPE", "ID", "LABEL",
		       "FINGERPRINT", "GOVERNED AS");
		for (size_t i = 0; i < iv->n_keys; i++) {
			const tkey_t *k = &iv->keys[i];
			if (k->tok != t)
				continue;
			hex(k->id, k->id_len, idh, sizeof idh);
			if (k->shown_fp) {
				spki_fp_format(k->sfp, fps, sizeof fps);
				fps[23] = '\0';
				strcat(fps, "...");
			} else {
				snprintf(fps, sizeof fps, "-");
			}
			char as[96];
			if (k->copy)
				snprintf(as, sizeof as, "-  (copy of %s)", k->gov->name);
			else
				snprintf(as, sizeof as, "%s",
				         k->gov           ? k->gov->name
				         : k->has_private ? "-  (ungoverned)"
				                          : "-");
			printf("  %-8s %-9s %-6s %-18s %-26s %s\n",
			       k->has_private ? (k->has_public ? "priv+pub" : "private") : "public",
			       k->desc, idh[0] ? idh : "-", k->label[0] ? k->label : "-", fps, as);
		}
	}
	size_t n_missing = 0;
	for (size_t g = 0; g < iv->cfg->n_keys; g++)
		if (!iv->gov_present[g] && (iv->gov_scanned[g] || !iv->token_filter)) {
			if (!n_missing++)
				printf("\ngoverned keys not on their token:");
			printf(" %s (%s)", iv->cfg->keys[g].name, iv->cfg->keys[g].token);
		}
	if (n_missing)
		printf("\n");
	size_t count[SEV_COUNT] = { 0 };
	for (size_t i = 0; i < iv->n_f; i++)
		count[iv->f[i].sev]++;
	printf("\nfindings: %zu critical, %zu high, %zu medium, %zu low, %zu info\n",
	       count[SEV_CRITICAL], count[SEV_HIGH], count[SEV_MEDIUM], count[SEV_LOW],
	       count[SEV_INFO]);
	if (iv->n_f)
		printf("  %-9s %-24s %s\n", "SEVERITY", "FINDING", "SUBJECT / DETAIL");
	for (size_t i = 0; i < iv->n_f; i++) {
		const finding_t *f = &iv->f[i];
		printf("  %-9s %-24s %s\n  %-9s %-24s   %s\n", sev_names[f->sev], f->code,
		       f->subject, "", "", f->detail);
	}
}

static json_t *json_report(const inv_t *iv, const char *when, int fail_on, int status)
{
	char idh[130], fps[80];
	json_t *root = json_object();
	json_object_set_new(root, "config", json_string(iv->conf_path));
	json_object_set_new(root, "generated", json_string(when));
	json_t *toks = json_array();
	for (size_t t = 0; t < iv->n_tokens; t++) {
		json_t *keys = json_array();
		for (size_t i = 0; i < iv->n_keys; i++) {
			const tkey_t *k = &iv->keys[i];
			if (k->tok != t)
				continue;
			hex(k->id, k->id_len, idh, sizeof idh);
			if (k->shown_fp)
				spki_fp_format(k->sfp, fps, sizeof fps);
			/* identity: what the module's lookup says of this private key
			 * ("governed", or the reason it refuses it: key-mismatch,
			 * key-ungoverned, key-unknown); null for a public key. */
			json_t *ident = !k->has_private ? json_null()
			                : k->why == REASON_ALLOWED
			                        ? json_string("governed")
			                        : json_string(policy_reason_name(k->why));
			json_array_append_new(
			        keys,
			        json_pack("{s:b,s:b,s:s,s:s,s:s,s:o,s:b,s:o,s:o,s:o}", "private",
			                  k->has_private, "public", k->has_public, "type", k->desc,
			                  "id", idh, "label", k->label, "fingerprint",
			                  k->shown_fp ? json_string(fps) : json_null(),
			                  "fingerprint_established", k->has_fp, "identity", ident,
			                  "governed_as",
			                  k->gov && !k->copy ? json_string(k->gov->name)
			                                     : json_null(),
			                  "copy_of",
			                  k->copy ? json_string(k->gov->name) : json_null()));
		}
		json_array_append_new(toks,
		                      json_pack("{s:s,s:s,s:o}", "label", iv->tokens[t].label,
		                                "serial", iv->tokens[t].serial, "keys", keys));
	}
	json_object_set_new(root, "tokens", toks);
	json_t *gov = json_array();
	for (size_t g = 0; g < iv->cfg->n_keys; g++) {
		const policy_key_t *k = &iv->cfg->keys[g];
		if (!iv->gov_scanned[g] && iv->token_filter)
			continue;
		json_array_append_new(gov, json_pack("{s:s,s:s,s:b}", "name", k->name, "token",
		                                     k->token, "present", iv->gov_present[g]));
	}
	json_object_set_new(root, "governed_keys", gov);
	json_t *fs = json_array();
	size_t count[SEV_COUNT] = { 0 };
	for (size_t i = 0; i < iv->n_f; i++) {
		const finding_t *f = &iv->f[i];
		count[f->sev]++;
		json_array_append_new(fs, json_pack("{s:s,s:s,s:s,s:s}", "severity",
		                                    sev_names[f->sev], "code", f->code, "subject",
		                                    f->subject, "detail", f->detail));
	}
	json_object_set_new(root, "findings", fs);
	json_t *sum = json_object();
	for (int s = SEV_COUNT - 1; s >= 0; s--)
		json_object_set_new(sum, sev_names[s], json_integer((json_int_t)count[s]));
	json_object_set_new(root, "summary", sum);
	json_object_set_new(root, "fail_on",
	                    fail_on < 0 ? json_null() : json_string(sev_names[fail_on]));
	json_object_set_new(root, "exit_status", json_integer(status));
	return root;
}

/* ---- Graphviz ----------------------------------------------------------------------------- */

static void dot_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
	putchar('"');
}

/* Worst finding on a node: -1 none. */
static int node_sev(const inv_t *iv, const char *node)
{
	int s = -1;
	for (size_t i = 0; i < iv->n_f; i++)
		if (!strcmp(iv->f[i].node, node) && (int)iv->f[i].sev > s)
			s = (int)iv->f[i].sev;
	return s;
}

static const char *sev_fill(int s)
{
	return s >= SEV_HIGH     ? "#ff7b7b"
	       : s == SEV_MEDIUM ? "#ffb347"
	       : s == SEV_LOW    ? "#fff09a"
	                         : "#ffffff";
}

static void dot_node(const inv_t *iv, const char *id, const char *label, const char *shape,
                     const char *extra)
{
	int s = node_sev(iv, id);
	char tip[1024] = "";
	size_t l = 0;
	for (size_t i = 0; i < iv->n_f && l < sizeof tip - 1; i++)
		if (!strcmp(iv->f[i].node, id)) {
			int w = snprintf(tip + l, sizeof tip - l, "%s%s: %s", l ? "\n" : "",
			                 sev_names[iv->f[i].sev], iv->f[i].code);
			if (w > 0)
				l += (size_t)w < sizeof tip - l ? (size_t)w : sizeof tip - l - 1;
		}
	printf("  ");
	dot_str(id);
	printf(" [shape=%s, style=\"filled%s\", fillcolor=\"%s\"%s%s, label=", shape,
	       extra && strstr(extra, "dashed") ? ",dashed" : "", sev_fill(s),
	       s >= SEV_HIGH     ? ", color=\"#c00000\", penwidth=2"
	       : s == SEV_MEDIUM ? ", color=\"#d07000\""
	                         : "",
	       extra && !strstr(extra, "dashed") ? extra : "");
	char full[1200];
	if (tip[0])
		snprintf(full, sizeof full, "%s\n[%s]", label, tip);
	else
		snprintf(full, sizeof full, "%s", label);
	dot_str(full);
	printf("];\n");
}

static bool rule_flagged(const inv_t *iv, size_t ri)
{
	for (size_t i = 0; i < iv->n_f; i++)
		if (iv->f[i].rule == ri)
			return true;
	return false;
}

static void print_dot(const inv_t *iv, const char *when)
{
	const config_t *cfg = iv->cfg;
	const report_model_t *m = &iv->model;
	char id[128], id2[128], label[512], idh[130];

	printf("digraph signgate {\n  rankdir=LR; nodesep=0.25; ranksep=0.9;\n");
	printf("  graph [fontname=\"Helvetica\"]; node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=9];\n");
	printf("  labelloc=t; label=");
	snprintf(label, sizeof label, "signgate: who can sign what (%s, %s)", iv->conf_path, when);
	dot_str(label);
	printf(";\n");

	/* identities -> roles */
	printf("  subgraph cluster_ids { label=\"identities\"; color=\"#bbbbbb\";\n");
	for (size_t i = 0; i < m->n_ids; i++) {
		const report_identity_t *x = &m->ids[i];
		snprintf(id, sizeof id, "id:%s", x->name);
		if (x->kind == REPORT_ID_USER)
			snprintf(label, sizeof label, "%s\nuid %u", x->name, (unsigned)x->uid);
		else if (x->kind == REPORT_ID_UID)
			snprintf(label, sizeof label, "uid %u\n(no account)", (unsigned)x->uid);
		else
			snprintf(label, sizeof label, "any caller");
		dot_node(iv, id, label, "ellipse", x->kind == REPORT_ID_UID ? "dashed" : NULL);
	}
	for (size_t i = 0; i < m->n_unknown; i++) {
		const report_unknown_t *u = &m->unknown[i];
		if (!strcmp(u->kind, "uid"))
			continue; /* shown as an identity above */
		snprintf(id, sizeof id, "unk:%s:%s", u->kind, u->name);
		snprintf(label, sizeof label, "%s %s\n(no such %s)", u->kind, u->name, u->kind);
		dot_node(iv, id, label, "ellipse", "dashed");
	}
	printf("  }\n");
	printf("  subgraph cluster_roles { label=\"roles\"; color=\"#bbbbbb\";\n");
	for (size_t r = 0; r < cfg->n_roles; r++) {
		const policy_role_t *ro = &cfg->roles[r];
		snprintf(id, sizeof id, "role:%s", ro->name);
		snprintf(label, sizeof label, "%s%s%s", ro->name,
		         ro->n_programs ? "\n(program-bound)" : "",
		         ro->credential ? "\n(credential)" : "");
		dot_node(iv, id, label, "box", NULL);
	}
	printf("  }\n");
	/* one edge per identity and role, labelled with how it is in the role */
	for (size_t g = 0; g < m->n_grants; g++) {
		const report_grant_t *gr = &m->grants[g];
		bool dup = false;
		for (size_t h = 0; h < g && !dup; h++)
			dup = m->grants[h].ident == gr->ident && m->grants[h].role == gr->role;
		if (dup)
			continue;
		snprintf(id, sizeof id, "id:%s", m->ids[gr->ident].name);
		snprintf(id2, sizeof id2, "role:%s", cfg->roles[gr->role].name);
		printf("  ");
		dot_str(id);
		printf(" -> ");
		dot_str(id2);
		printf(" [label=");
		dot_str(strncmp(gr->via, "user ", 5) ? gr->via : "");
		printf("];\n");
	}
	for (size_t i = 0; i < m->n_unknown; i++) {
		const report_unknown_t *u = &m->unknown[i];
		if (!strcmp(u->kind, "uid"))
			continue;
		snprintf(id, sizeof id, "unk:%s:%s", u->kind, u->name);
		snprintf(id2, sizeof id2, "role:%s", cfg->roles[u->role].name);
		printf("  ");
		dot_str(id);
		printf(" -> ");
		dot_str(id2);
		printf(" [style=dashed, color=\"#c00000\"];\n");
	}

	/* keys (governed, then token keys no policy governs) and products */
	printf("  subgraph cluster_keys { label=\"keys\"; color=\"#bbbbbb\";\n");
	for (size_t g = 0; g < cfg->n_keys; g++) {
		const policy_key_t *k = &cfg->keys[g];
		snprintf(id, sizeof id, "key:%s", k->name);
		hex(k->id, k->id_len, idh, sizeof idh);
		snprintf(label, sizeof label, "%s\n%s id %s%s", k->name, k->token,
		         idh[0] ? idh : "-", iv->gov_present[g] ? "" : "\n(not on token)");
		dot_node(iv, id, label, "component", iv->gov_present[g] ? NULL : "dashed");
	}
	for (size_t i = 0; i < iv->n_keys; i++) {
		const tkey_t *t = &iv->keys[i];
		if (t->gov || !t->has_private)
			continue;
		tkey_node(iv, t, id, sizeof id);
		hex(t->id, t->id_len, idh, sizeof idh);
		snprintf(label, sizeof label, "%s (ungoverned)\n%s id %s\n%s",
		         t->label[0] ? t->label : "(no label)", iv->tokens[t->tok].label,
		         idh[0] ? idh : "-", t->desc);
		dot_node(iv, id, label, "component", "dashed");
	}
	printf("  }\n");
	for (size_t i = 0; i < iv->n_keys; i++) {
		const tkey_t *t = &iv->keys[i];
		if (!t->gov || !t->has_private)
			continue;
		tkey_node(iv, t, id, sizeof id);
		if (node_sev(iv, id) < 0)
			continue; /* the governed key itself; a copy (with a finding) is drawn next to it */
		hex(t->id, t->id_len, idh, sizeof idh);
		snprintf(label, sizeof label, "copy of %s\n%s id %s label %s", t->gov->name,
		         iv->tokens[t->tok].label, idh[0] ? idh : "-", t->label);
		dot_node(iv, id, label, "component", "dashed");
		snprintf(id2, sizeof id2, "key:%s", t->gov->name);
		printf("  ");
		dot_str(id2);
		printf(" -> ");
		dot_str(id);
		printf(" [style=dashed, color=\"#c00000\", label=\"same material\"];\n");
	}
	printf("  subgraph cluster_products { label=\"products\"; color=\"#bbbbbb\";\n");
	for (size_t g = 0; g < cfg->n_keys; g++)
		for (size_t p = 0; p < cfg->keys[g].n_products; p++) {
			bool seen = false;
			for (size_t h = 0; h <= g && !seen; h++)
				for (size_t q = 0; q < cfg->keys[h].n_products && !seen; q++)
					seen = (h < g || q < p) &&
					       !strcmp(cfg->keys[h].products[q],
					               cfg->keys[g].products[p]);
			if (seen)
				continue;
			snprintf(id, sizeof id, "product:%s", cfg->keys[g].products[p]);
			dot_node(iv, id, cfg->keys[g].products[p], "folder", NULL);
		}
	printf("  }\n");

	/* roles -> keys, one edge per rule; admin in red, dead rules dashed */
	for (size_t r = 0; r < cfg->n_rules; r++) {
		const policy_rule_t *rule = &cfg->rules[r];
		bool dead = rule_flagged(iv, r);
		for (size_t i = 0; i < rule->n_roles; i++) {
			snprintf(id, sizeof id, "role:%s", cfg->roles[rule->roles[i]].name);
			size_t n = rule->all_keys ? cfg->n_keys : rule->n_keys;
			for (size_t k = 0; k < n; k++) {
				snprintf(id2, sizeof id2, "key:%s",
				         cfg->keys[rule->all_keys ? k : rule->keys[k]].name);
				snprintf(label, sizeof label, "%s%s%s", rule->name,
				         rule->sign ? "" : "", rule->admin ? " (admin)" : "");
				printf("  ");
				dot_str(id);
				printf(" -> ");
				dot_str(id2);
				printf(" [label=");
				dot_str(label);
				printf("%s%s];\n",
				       rule->admin
				               ? ", color=\"#c00000\", fontcolor=\"#c00000\", penwidth=2"
				               : "",
				       dead ? ", style=dashed" : "");
			}
		}
	}
	for (size_t g = 0; g < cfg->n_keys; g++)
		for (size_t p = 0; p < cfg->keys[g].n_products; p++) {
			snprintf(id, sizeof id, "key:%s", cfg->keys[g].name);
			snprintf(id2, sizeof id2, "product:%s", cfg->keys[g].products[p]);
			printf("  ");
			dot_str(id);
			printf(" -> ");
			dot_str(id2);
			printf(";\n");
		}
	/* files with findings */
	for (size_t i = 0; i < iv->n_f; i++) {
		if (strncmp(iv->f[i].node, "file:", 5))
			continue;
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = !strcmp(iv->f[j].node, iv->f[i].node);
		if (!dup)
			dot_node(iv, iv->f[i].node, iv->f[i].subject, "note", NULL);
	}
	printf("  subgraph cluster_legend { label=\"findings\"; color=\"#bbbbbb\";\n"
	       "    \"legend:high\" [shape=box, style=filled, fillcolor=\"#ff7b7b\", label=\"high / critical\"];\n"
	       "    \"legend:medium\" [shape=box, style=filled, fillcolor=\"#ffb347\", label=\"medium\"];\n"
	       "    \"legend:low\" [shape=box, style=filled, fillcolor=\"#fff09a\", label=\"low\"];\n"
	       "  }\n}\n");
}

/* ---- the command ------------------------------------------------------------------------------ */

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate inventory --config C [--token LABEL] [--json | --dot]\n"
	        "                          [--fail-on SEVERITY] [--expiry-days N] [--owner USER]\n"
	        "  Reads every key on the exposed tokens (backend module and PIN file from the\n"
	        "  config), matches them to governed keys by public-key fingerprint, and reports\n"
	        "  findings with a severity: info, low, medium, high, critical.\n"
	        "  --token LABEL     only this token (label or serial)\n"
	        "  --json            machine-readable report\n"
	        "  --dot             Graphviz digraph: identities -> roles -> keys -> products\n"
	        "  --fail-on SEV     exit 3 when a finding is at or above SEV\n"
	        "  --expiry-days N   report keys expiring within N days (default 30)\n"
	        "  --owner USER      account that may own the policy and PIN files besides root\n"
	        "                    and the user running inventory (the broker's service account)\n"
	        "Exit status: 0; 3 a finding at or above --fail-on; 2 usage, config or token error.\n");
}

int cmd_inventory(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "token", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "dot", no_argument, NULL, 'd' },
		{ "fail-on", required_argument, NULL, 'f' },
		{ "expiry-days", required_argument, NULL, 'e' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL;
	bool json = false, dot = false;
	int fail_on = -1, c;
	inv_t iv = { .expiry_days = 30 };

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 't': iv.token_filter = optarg; break;
		case 'j': json = true; break;
		case 'd': dot = true; break;
		case 'f':
			if ((fail_on = sev_from_name(optarg)) < 0) {
				fprintf(stderr,
				        "signgate inventory: --fail-on must be info, low, medium, high or critical\n");
				return EXIT_USAGE;
			}
			break;
		case 'e': {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 36500) {
				fprintf(stderr,
				        "signgate inventory: --expiry-days must be a number of days (0-36500)\n");
				return EXIT_USAGE;
			}
			iv.expiry_days = (int)v;
			break;
		}
		case 'o': {
			struct passwd *pw = getpwnam(optarg);
			if (!pw) {
				fprintf(stderr, "signgate inventory: --owner: no user '%s'\n",
				        optarg);
				return EXIT_USAGE;
			}
			iv.owner_ok = pw->pw_uid;
			iv.has_owner_ok = true;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || !conf || (json && dot)) {
		if (json && dot)
			fprintf(stderr, "signgate inventory: --json and --dot are exclusive\n");
		usage(stderr);
		return EXIT_USAGE;
	}
	char err[CONFIG_ERR_MAX + 256];
	/* Loose permissions are findings here, not a reason to stop. */
	config_t *cfg = config_load(conf, false, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return EXIT_USAGE;
	}
	int rc = EXIT_USAGE;
	iv.cfg = cfg;
	iv.conf_path = conf;
	iv.now = time(NULL);
	iv.gov_present = calloc(cfg->n_keys + 1, sizeof *iv.gov_present);
	iv.gov_scanned = calloc(cfg->n_keys + 1, sizeof *iv.gov_scanned);
	if (!iv.gov_present || !iv.gov_scanned || report_model_build(cfg, &iv.model) < 0) {
		fprintf(stderr, "signgate inventory: out of memory\n");
		goto out;
	}
	if (scan(&iv, err, sizeof err) < 0) {
		fprintf(stderr, "signgate inventory: %s\n", err);
		goto out;
	}
	bool secrets = false;
	for (size_t r = 0; r < cfg->n_roles; r++)
		secrets |= cfg->roles[r].credential != NULL;
	check_file(&iv, conf, false, secrets);
	check_file(&iv, cfg->backend.pin_file, true, true);
	analyse_keys(&iv);
	analyse_identities(&iv);
	analyse_rules(&iv);
	if (iv.n_f)
		qsort(iv.f, iv.n_f, sizeof *iv.f, cmp_finding);

	int worst = -1;
	for (size_t i = 0; i < iv.n_f; i++)
		if ((int)iv.f[i].sev > worst)
			worst = (int)iv.f[i].sev;
	rc = fail_on >= 0 && worst >= fail_on ? EXIT_FINDING : 0;
	char when[32];
	report_time_format(iv.now, when, sizeof when);
	if (json) {
		json_t *root = json_report(&iv, when, fail_on, rc);
		if (json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER) < 0)
			rc = EXIT_USAGE;
		printf("\n");
		json_decref(root);
	} else if (dot) {
		print_dot(&iv, when);
	} else {
		print_table(&iv, when);
		if (fail_on >= 0)
			printf("\n--fail-on %s: %s\n", sev_names[fail_on],
			       rc ? "a finding at or above it (exit 3)" : "nothing at or above it");
	}
out:
	free(iv.tokens);
	free(iv.keys);
	free(iv.f);
	free(iv.gov_present);
	free(iv.gov_scanned);
	report_model_free(&iv.model);
	config_free(cfg);
	return rc;
}

/* ---- for signgate doctor ------------------------------------------------------------ */

int inventory_check_keys(const config_t *cfg, const char *conf_path, inventory_key_cb cb, void *arg,
                         char *err, size_t errlen)
{
	inv_t iv = { .cfg = cfg, .conf_path = conf_path, .expiry_days = 30, .now = time(NULL) };
	int rc = -1;

	iv.gov_present = calloc(cfg->n_keys + 1, sizeof *iv.gov_present);
	iv.gov_scanned = calloc(cfg->n_keys + 1, sizeof *iv.gov_scanned);
	if (!iv.gov_present || !iv.gov_scanned || report_model_build(cfg, &iv.model) < 0) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (scan(&iv, err, errlen) < 0)
		goto out;
	/* A token the config names that the backend does not show: every key
	 * on it is unusable. */
	for (size_t i = 0; i < cfg->backend.n_tokens; i++) {
		bool seen = false;
		for (size_t t = 0; t < iv.n_tokens && !seen; t++)
			seen = !strcmp(cfg->backend.tokens[i], iv.tokens[t].label) ||
			       !strcmp(cfg->backend.tokens[i], iv.tokens[t].serial);
		if (!seen) {
			char d[320];
			snprintf(d, sizeof d,
			         "backend.tokens names '%s' but %s shows no initialised token with "
			         "that label or serial",
			         cfg->backend.tokens[i], cfg->backend.module);
			cb(arg, "high", "token-missing", cfg->backend.tokens[i], d);
		}
	}
	analyse_keys(&iv);
	for (size_t i = 0; i < iv.n_f; i++)
		cb(arg, sev_names[iv.f[i].sev], iv.f[i].code, iv.f[i].subject, iv.f[i].detail);
	rc = 0;
out:
	free(iv.tokens);
	free(iv.keys);
	free(iv.f);
	free(iv.gov_present);
	free(iv.gov_scanned);
	report_model_free(&iv.model);
	return rc;
}

/* signgate: key attributes and identity per object handle, read once. */
#include "keycache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "inspect.h"
#include "spki.h"

/* Handles are looked up on every *Init: a small chained hash table under
 * one mutex is cheap next to a token operation and keeps this simple.
 * Every entry is also on a list in insertion order, for eviction. */
#define KC_BUCKETS 1024
/* Candidate public keys looked at per search when proving an identity. */
#define KC_CANDIDATES 16

typedef struct kc_node {
	struct kc_node *next;          /* bucket chain */
	struct kc_node *older, *newer; /* insertion order */
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE obj;
	key_attrs_t attrs;
} kc_node_t;

static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;
static kc_node_t *kc_table[KC_BUCKETS];
static kc_node_t *kc_oldest, *kc_newest;
static size_t kc_count;
static size_t kc_max = KEYCACHE_MAX_DEFAULT;
static keycache_ops_t kc_ops;
/* Bumped by every invalidation, so that a read that raced with one is
 * not cached. */
static unsigned long kc_generation;
/* signgate's own lookup session is shared: one search at a time. */
static pthread_mutex_t kc_search_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t kc_hash(CK_SLOT_ID slot, CK_OBJECT_HANDLE obj)
{
	uint64_t h = (uint64_t)obj * 0x9e3779b97f4a7c15ULL ^ (uint64_t)slot;
	return (size_t)(h >> 20) % KC_BUCKETS;
}

void keycache_init(const keycache_ops_t *ops)
{
	pthread_mutex_lock(&kc_lock);
	if (ops)
		kc_ops = *ops;
	else
		memset(&kc_ops, 0, sizeof(kc_ops));
	pthread_mutex_unlock(&kc_lock);
}

/* Unlink n from its bucket (pp points at the link to it) and the list. */
static void kc_unlink_locked(kc_node_t **pp, kc_node_t *n)
{
	*pp = n->next;
	if (n->older)
		n->older->newer = n->newer;
	else
		kc_oldest = n->newer;
	if (n->newer)
		n->newer->older = n->older;
	else
		kc_newest = n->older;
	kc_count--;
	free(n);
}

/* Drop entries for which drop(n, arg) holds. */
static void kc_drop_locked(bool (*drop)(const kc_node_t *n, const void *arg), const void *arg)
{
	kc_generation++;
	for (size_t i = 0; i < KC_BUCKETS; i++) {
		kc_node_t **pp = &kc_table[i];
		while (*pp) {
			kc_node_t *n = *pp;
			if (drop(n, arg))
				kc_unlink_locked(pp, n);
			else
				pp = &n->next;
		}
	}
}

static bool drop_all(const kc_node_t *n, const void *arg)
{
	(void)n;
	(void)arg;
	return true;
}

static bool drop_session_objects(const kc_node_t *n, const void *arg)
{
	return n->slot == *(const CK_SLOT_ID *)arg && !n->attrs.is_token;
}

static bool drop_handle(const kc_node_t *n, const void *arg)
{
	return n->obj == *(const CK_OBJECT_HANDLE *)arg;
}

void keycache_clear(void)
{
	pthread_mutex_lock(&kc_lock);
	kc_drop_locked(drop_all, NULL);
	pthread_mutex_unlock(&kc_lock);
}

/* Fork (the module's fork handlers): the cache lock is held across it,
 * so the child finds the table consistent and can clear it later (in its
 * C_Initialize, not in the handler: clearing frees).  Both locks are
 * made anew in the child; the search lock is held across token calls,
 * so it is not taken at the fork, only replaced.  No allocation here. */
void keycache_atfork_prepare(void)
{
	pthread_mutex_lock(&kc_lock);
}

void keycache_atfork_parent(void)
{
	pthread_mutex_unlock(&kc_lock);
}

void keycache_atfork_child(void)
{
	pthread_mutex_init(&kc_lock, NULL);
	pthread_mutex_init(&kc_search_lock, NULL);
}

void keycache_fini(void)
{
	pthread_mutex_lock(&kc_lock);
	kc_drop_locked(drop_all, NULL);
	memset(&kc_ops, 0, sizeof(kc_ops));
	pthread_mutex_unlock(&kc_lock);
}

void keycache_invalidate_session_objects(CK_SLOT_ID slot)
{
	pthread_mutex_lock(&kc_lock);
	kc_drop_locked(drop_session_objects, &slot);
	pthread_mutex_unlock(&kc_lock);
}

void keycache_invalidate(CK_OBJECT_HANDLE obj)
{
	/* The slot is not known to every caller of this; dropping every
	 * slot's entry for the handle costs at most a re-read. */
	pthread_mutex_lock(&kc_lock);
	kc_drop_locked(drop_handle, &obj);
	pthread_mutex_unlock(&kc_lock);
}

static void kc_evict_locked(size_t keep)
{
	while (kc_count > keep && kc_oldest) {
		kc_node_t *victim = kc_oldest, **pp = &kc_table[kc_hash(victim->slot, victim->obj)];
		while (*pp != victim)
			pp = &(*pp)->next;
		kc_unlink_locked(pp, victim);
	}
}

void keycache_set_max(size_t max)
{
	pthread_mutex_lock(&kc_lock);
	kc_max = max ? max : 1;
	kc_evict_locked(kc_max);
	pthread_mutex_unlock(&kc_lock);
}

size_t keycache_count(void)
{
	size_t n;
	pthread_mutex_lock(&kc_lock);
	n = kc_count;
	pthread_mutex_unlock(&kc_lock);
	return n;
}

/* --- reading ------------------------------------------------------------ */

/* One attribute into a caller-sized buffer.  Returns the token's code;
 * CKR_OK only with a value (CK_UNAVAILABLE_INFORMATION is
 * CKR_ATTRIBUTE_TYPE_INVALID here). */
static CK_RV get_attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                      CK_ATTRIBUTE_TYPE type, void *buf, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, buf, *len };
	CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK)
		return rv;
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return CKR_ATTRIBUTE_TYPE_INVALID;
	if (a.ulValueLen > *len)
		return CKR_BUFFER_TOO_SMALL;
	*len = a.ulValueLen;
	return CKR_OK;
}

/* Is o found by a search on slot's token?  Handles are only meaningful
 * per token, and some modules (SoftHSM) number objects across all their
 * tokens: an object of another token used through this session reads
 * (partly) as something else.  A search in signgate's own session on
 * this slot lists only this token's objects (and this application's
 * session objects on it), whatever the backend.  1 found, 0 not found,
 * -1 could not search (treated as unknown). */
static int kc_on_token(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_OBJECT_HANDLE o,
                       const key_attrs_t *k, bool has_cls, bool has_id)
{
	CK_OBJECT_CLASS cls = k->cls;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)k->id, k->id_len },
	};
	CK_OBJECT_HANDLE found[64];
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s;
	int on = -1;

	if (!kc_ops.lookup_session)
		return -1;
	s = kc_ops.lookup_session(slot);
	if (s == CK_INVALID_HANDLE)
		return -1;
	/* Narrow the search by what could be read; with nothing readable,
	 * list the whole token. */
	pthread_mutex_lock(&kc_search_lock);
	if (f->C_FindObjectsInit(s, tmpl, !has_cls ? 0 : has_id ? 2 : 1) == CKR_OK) {
		on = 0;
		while (on == 0) {
			if (f->C_FindObjects(s, found, 64, &n) != CKR_OK) {
				on = -1;
				break;
			}
			if (n == 0 || n > 64)
				break;
			for (CK_ULONG i = 0; i < n; i++)
				if (found[i] == o)
					on = 1;
		}
		f->C_FindObjectsFinal(s);
	}
	pthread_mutex_unlock(&kc_search_lock);
	return on;
}

/* The SPKI of a public key object (or of what a private key exposes)
 * from its intrinsic attributes; 0 when there is none. */
static size_t kc_spki(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                      CK_KEY_TYPE type, unsigned char *out, size_t cap)
{
	if (type == CKK_RSA) {
		unsigned char n[2048], e[16];
		CK_ULONG nl = sizeof(n), el = sizeof(e);
		if (get_attr(f, s, o, CKA_MODULUS, n, &nl) == CKR_OK &&
		    get_attr(f, s, o, CKA_PUBLIC_EXPONENT, e, &el) == CKR_OK)
			return spki_der_rsa(n, nl, e, el, out, cap);
	} else if (type == CKK_EC) {
		unsigned char params[128], point[256];
		CK_ULONG pl = sizeof(params), ptl = sizeof(point);
		if (get_attr(f, s, o, CKA_EC_PARAMS, params, &pl) == CKR_OK &&
		    get_attr(f, s, o, CKA_EC_POINT, point, &ptl) == CKR_OK)
			return spki_der_ec(params, pl, point, ptl, out, cap);
	}
	return 0;
}

/* CKA_PUBLIC_KEY_INFO as the object states it (settable on SoftHSM:
 * never trusted for a private key without proof). */
static size_t kc_pki(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                     unsigned char *out, size_t cap)
{
	CK_ULONG l = cap;
	if (get_attr(f, s, o, CKA_PUBLIC_KEY_INFO, out, &l) == CKR_OK && l > 0)
		return l;
	return 0;
}

/* ECDSA r||s (as PKCS#11 returns it) to DER, for OpenSSL. */
static int ecdsa_raw_to_der(const unsigned char *sig, size_t len, unsigned char **der)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r, *s;
	int dl = -1;

	if (!es || len == 0 || len % 2) {
		ECDSA_SIG_free(es);
		return -1;
	}
	r = BN_bin2bn(sig, (int)(len / 2), NULL);
	s = BN_bin2bn(sig + len / 2, (int)(len / 2), NULL);
	if (r && s && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL;
		dl = i2d_ECDSA_SIG(es, der);
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return dl;
}

/* Does private key priv (of slot) hold the private half of spki?  One
 * signature over a fresh random challenge, in a session of signgate's
 * own opened for it (the caller's session and its operation state are
 * left alone; the signature never leaves this function).  1 proven,
 * 0 signed but did not verify (or the SPKI is not a key of this type),
 * -1 could not sign (not logged in, no CKA_SIGN, token error): not a
 * verdict, so not cached. */
static int kc_prove(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_OBJECT_HANDLE priv,
                    CK_KEY_TYPE type, const unsigned char *spki, size_t spki_len)
{
	const unsigned char *p = spki;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &p, (long)spki_len);
	EVP_PKEY_CTX *ctx = NULL;
	unsigned char chal[32], sig[2048], *der = NULL;
	CK_ULONG sl = sizeof(sig);
	CK_MECHANISM m = { type == CKK_EC ? CKM_ECDSA : CKM_RSA_PKCS, NULL, 0 };
	CK_SESSION_HANDLE ps = CK_INVALID_HANDLE;
	CK_RV rv;
	int verdict = 0, dl;

	if (!pk || p != spki + spki_len ||
	    EVP_PKEY_get_base_id(pk) != (type == CKK_EC ? EVP_PKEY_EC : EVP_PKEY_RSA))
		goto out;
	if (RAND_bytes(chal, sizeof(chal)) != 1) {
		verdict = -1;
		goto out;
	}
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &ps) != CKR_OK) {
		verdict = -1;
		goto out;
	}
	if (kc_ops.session_hide)
		kc_ops.session_hide(ps, true);
	rv = f->C_SignInit(ps, &m, priv);
	if (rv == CKR_OK)
		rv = f->C_Sign(ps, chal, sizeof(chal), sig, &sl);
	/* Closing the session ends whatever operation a failure left. */
	f->C_CloseSession(ps);
	if (kc_ops.session_hide)
		kc_ops.session_hide(ps, false);
	if (rv != CKR_OK || sl == 0 || sl > sizeof(sig)) {
		verdict = -1;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new(pk, NULL);
	if (!ctx || EVP_PKEY_verify_init(ctx) != 1)
		goto out;
	if (type == CKK_EC) {
		dl = ecdsa_raw_to_der(sig, sl, &der);
		verdict = dl > 0 && EVP_PKEY_verify(ctx, der, (size_t)dl, chal, sizeof(chal)) == 1;
	} else {
		/* CKM_RSA_PKCS over raw bytes: PKCS#1 v1.5 type 1 without a
		 * DigestInfo, which is what OpenSSL checks with no digest set. */
		verdict = EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) == 1 &&
		          EVP_PKEY_verify(ctx, sig, sl, chal, sizeof(chal)) == 1;
	}
out:
	OPENSSL_free(der);
	OPENSSL_cleanse(sig, sizeof(sig));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(pk);
	return verdict;
}

/* Try one candidate SPKI: if the policy names it, prove it. */
static int kc_try_candidate(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_OBJECT_HANDLE priv,
                            key_attrs_t *k, const unsigned char *spki, size_t len, bool *transient)
{
	unsigned char fp[32];
	int r;

	if (!len)
		return 0;
	EVP_Digest(spki, len, fp, NULL, EVP_sha256(), NULL);
	if (!kc_ops.fp_named || !kc_ops.fp_named(fp))
		return 0;
	r = kc_prove(f, slot, priv, k->type, spki, len);
	if (r < 0)
		*transient = true;
	if (r != 1)
		return 0;
	memcpy(k->fp, fp, 32);
	k->has_fp = true;
	k->fp_source = KEY_FP_PROVEN;
	return 1;
}

/* Public key objects on the same token sharing the private key's CKA_ID
 * (or, without one, its CKA_LABEL), each tried in turn: a planted
 * look-alike public key can neither lend its identity (its proof fails)
 * nor hide the real one (every candidate is tried). */
static void kc_prove_by_candidates(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_OBJECT_HANDLE priv,
                                   key_attrs_t *k, bool *transient)
{
	CK_OBJECT_CLASS pub = CKO_PUBLIC_KEY;
	CK_KEY_TYPE type = k->type;
	CK_ATTRIBUTE tmpl[3] = {
		{ CKA_CLASS, &pub, sizeof(pub) },
		{ CKA_KEY_TYPE, &type, sizeof(type) },
	};
	CK_OBJECT_HANDLE found[KC_CANDIDATES];
	CK_ULONG n = 0;
	CK_SESSION_HANDLE s;
	static unsigned char spki[SPKI_DER_MAX];
	bool searched = false;

	if (k->id_len)
		tmpl[2] = (CK_ATTRIBUTE){ CKA_ID, k->id, k->id_len };
	else if (k->label[0])
		tmpl[2] = (CK_ATTRIBUTE){ CKA_LABEL, k->label, strlen(k->label) };
	else
		return;
	if (!kc_ops.lookup_session)
		return;
	s = kc_ops.lookup_session(slot);
	if (s == CK_INVALID_HANDLE) {
		*transient = true;
		return;
	}
	/* The search session and spki[] are shared: one at a time. */
	pthread_mutex_lock(&kc_search_lock);
	while (!k->has_fp) {
		if (!searched) {
			if (f->C_FindObjectsInit(s, tmpl, 3) != CKR_OK) {
				*transient = true;
				break;
			}
			searched = true;
		}
		if (f->C_FindObjects(s, found, KC_CANDIDATES, &n) != CKR_OK) {
			*transient = true;
			break;
		}
		if (n == 0 || n > KC_CANDIDATES)
			break;
		for (CK_ULONG i = 0; i < n && !k->has_fp; i++) {
			size_t l = kc_spki(f, s, found[i], k->type, spki, sizeof(spki));
			if (!l)
				l = kc_pki(f, s, found[i], spki, sizeof(spki));
			kc_try_candidate(f, slot, priv, k, spki, l, transient);
		}
	}
	if (searched)
		f->C_FindObjectsFinal(s);
	pthread_mutex_unlock(&kc_search_lock);
}

/* Read obj's attributes and establish its identity.  *cacheable is false
 * for results that may change without the object changing (a proof
 * that could not be made now). */
static CK_RV kc_read(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_SESSION_HANDLE s,
                     CK_OBJECT_HANDLE o, key_attrs_t *k, bool *cacheable)
{
	CK_BBOOL token = CK_FALSE;
	CK_RV rv;
	CK_ULONG len;
	bool has_cls, has_id = false, readable;

	memset(k, 0, sizeof(*k));
	*cacheable = false;
	len = sizeof(k->cls);
	rv = get_attr(f, s, o, CKA_CLASS, &k->cls, &len);
	if (rv == CKR_OBJECT_HANDLE_INVALID)
		return rv;
	/* Every other failure leaves the identity unknown (a read that comes
	 * back empty is never "not governed"); but first: is the object this
	 * token's at all?  That is decided by a search, not by what its
	 * attributes read as through this session. */
	has_cls = rv == CKR_OK && len == sizeof(k->cls);
	len = sizeof(token);
	readable = has_cls && get_attr(f, s, o, CKA_TOKEN, &token, &len) == CKR_OK &&
	           len == sizeof(token);
	k->is_token = token != CK_FALSE;
	if (has_cls) {
		len = sizeof(k->id);
		rv = get_attr(f, s, o, CKA_ID, k->id, &len);
		if (rv == CKR_OK) {
			k->id_len = len;
			has_id = true;
		} else if (rv != CKR_ATTRIBUTE_TYPE_INVALID) {
			readable = false; /* an ID too long to hold, or unreadable */
		}
		len = sizeof(k->label) - 1;
		rv = get_attr(f, s, o, CKA_LABEL, k->label, &len);
		if (rv == CKR_OK)
			k->label[len] = '\0';
		else if (rv == CKR_BUFFER_TOO_SMALL)
			k->label_long = true;
		else if (rv != CKR_ATTRIBUTE_TYPE_INVALID)
			readable = false;
	}

	switch (kc_on_token(f, slot, o, k, has_cls, has_id)) {
	case 1: break;
	case 0: k->standing = KEY_OTHER_TOKEN; return CKR_OK;
	default: return CKR_OK;
	}
	if (!readable)
		return CKR_OK;
	k->standing = KEY_KNOWN;
	*cacheable = true;

	if (k->cls != CKO_PRIVATE_KEY && k->cls != CKO_PUBLIC_KEY && k->cls != CKO_SECRET_KEY)
		return CKR_OK;
	len = sizeof(k->type);
	if (get_attr(f, s, o, CKA_KEY_TYPE, &k->type, &len) != CKR_OK)
		return CKR_OK;
	if (k->cls == CKO_SECRET_KEY || (k->type != CKK_RSA && k->type != CKK_EC))
		return CKR_OK;

	static __thread unsigned char spki[SPKI_DER_MAX];
	size_t sl;
	if (k->type == CKK_EC) {
		unsigned char params[128];
		CK_ULONG pl = sizeof(params);
		if (get_attr(f, s, o, CKA_EC_PARAMS, params, &pl) != CKR_OK)
			return CKR_OK;
		/* raw CKM_ECDSA input is judged against what the curve uses */
		k->ec_order_bits = inspect_ec_order_bits(params, pl);
	}
	/* RSA keys carry their public half intrinsically (the token refuses
	 * to change CKA_MODULUS); EC public key objects carry their point. */
	if (k->type == CKK_RSA || k->cls == CKO_PUBLIC_KEY) {
		sl = kc_spki(f, s, o, k->type, spki, sizeof(spki));
		if (!sl && k->cls == CKO_PUBLIC_KEY)
			sl = kc_pki(f, s, o, spki, sizeof(spki));
		if (sl) {
			EVP_Digest(spki, sl, k->fp, NULL, EVP_sha256(), NULL);
			k->has_fp = true;
			k->fp_source = KEY_FP_OWN;
			return CKR_OK;
		}
		if (k->cls == CKO_PUBLIC_KEY)
			return CKR_OK;
	}

	/* A private key without an intrinsic public part: prove it.  What
	 * it states about itself (CKA_EC_POINT, CKA_PUBLIC_KEY_INFO, which
	 * SoftHSM lets C_SetAttributeValue change) is a candidate only. */
	bool transient = false;
	sl = kc_spki(f, s, o, k->type, spki, sizeof(spki));
	if (!kc_try_candidate(f, slot, o, k, spki, sl, &transient)) {
		sl = kc_pki(f, s, o, spki, sizeof(spki));
		if (!kc_try_candidate(f, slot, o, k, spki, sl, &transient))
			kc_prove_by_candidates(f, slot, o, k, &transient);
	}
	if (!k->has_fp && transient)
		*cacheable = false;
	return CKR_OK;
}

CK_RV keycache_get(CK_SLOT_ID slot, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE obj, key_attrs_t *out)
{
	size_t b = kc_hash(slot, obj);
	CK_FUNCTION_LIST_PTR f;
	kc_node_t *n;
	unsigned long gen;
	bool cacheable = false;
	CK_RV rv;

	pthread_mutex_lock(&kc_lock);
	for (n = kc_table[b]; n; n = n->next) {
		if (n->obj == obj && n->slot == slot) {
			*out = n->attrs;
			pthread_mutex_unlock(&kc_lock);
			return CKR_OK;
		}
	}
	f = kc_ops.real;
	gen = kc_generation;
	pthread_mutex_unlock(&kc_lock);
	if (!f)
		return CKR_CRYPTOKI_NOT_INITIALIZED;

	/* Read outside the lock: token calls are slow and other sessions
	 * must not wait for them. */
	rv = kc_read(f, slot, sess, obj, out, &cacheable);
	if (rv != CKR_OK || !cacheable || out->standing != KEY_KNOWN)
		return rv;

	n = calloc(1, sizeof(*n));
	if (!n)
		return CKR_OK; /* uncached, still correct */
	n->slot = slot;
	n->obj = obj;
	n->attrs = *out;
	pthread_mutex_lock(&kc_lock);
	if (gen == kc_generation) {
		kc_evict_locked(kc_max - 1);
		n->next = kc_table[b];
		kc_table[b] = n;
		n->older = kc_newest;
		if (kc_newest)
			kc_newest->newer = n;
		else
			kc_oldest = n;
		kc_newest = n;
		kc_count++;
		n = NULL;
	}
	pthread_mutex_unlock(&kc_lock);
	free(n);
	return CKR_OK;
}

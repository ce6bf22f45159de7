/* signgate: key attributes per object handle, read once. */
#include "keycache.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inspect.h"
#include "spki.h"

/* Handles are looked up on every *Init: a small chained hash table under
 * one mutex is cheap next to a token operation and keeps this simple. */
#define KC_BUCKETS 1024

typedef struct kc_node {
	struct kc_node *next;
	CK_SLOT_ID slot;
	CK_OBJECT_HANDLE obj;
	key_attrs_t attrs;
} kc_node_t;

static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;
static kc_node_t *kc_table[KC_BUCKETS];
static CK_FUNCTION_LIST_PTR kc_real;
static CK_SESSION_HANDLE (*kc_lookup_session)(CK_SLOT_ID slot);
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

void keycache_init(CK_FUNCTION_LIST_PTR real, CK_SESSION_HANDLE (*lookup_session)(CK_SLOT_ID))
{
	pthread_mutex_lock(&kc_lock);
	kc_real = real;
	kc_lookup_session = lookup_session;
	pthread_mutex_unlock(&kc_lock);
}

static void kc_clear_locked(bool session_only)
{
	kc_generation++;
	for (size_t i = 0; i < KC_BUCKETS; i++) {
		kc_node_t **pp = &kc_table[i];
		while (*pp) {
			kc_node_t *n = *pp;
			if (!session_only || !n->attrs.is_token) {
				*pp = n->next;
				free(n);
			} else {
				pp = &n->next;
			}
		}
	}
}

void keycache_clear(void)
{
	pthread_mutex_lock(&kc_lock);
	kc_clear_locked(false);
	pthread_mutex_unlock(&kc_lock);
}

void keycache_fini(void)
{
	pthread_mutex_lock(&kc_lock);
	kc_clear_locked(false);
	kc_real = NULL;
	kc_lookup_session = NULL;
	pthread_mutex_unlock(&kc_lock);
}

void keycache_invalidate_session_objects(void)
{
	pthread_mutex_lock(&kc_lock);
	kc_clear_locked(true);
	pthread_mutex_unlock(&kc_lock);
}

void keycache_invalidate(CK_OBJECT_HANDLE obj)
{
	pthread_mutex_lock(&kc_lock);
	kc_generation++;
	/* The slot is not known to every caller of this; handles are
	 * unique enough that dropping every slot's entry is harmless. */
	for (size_t i = 0; i < KC_BUCKETS; i++) {
		kc_node_t **pp = &kc_table[i];
		while (*pp) {
			kc_node_t *n = *pp;
			if (n->obj == obj) {
				*pp = n->next;
				free(n);
			} else {
				pp = &n->next;
			}
		}
	}
	pthread_mutex_unlock(&kc_lock);
}

/* One attribute into a caller-sized buffer; false when absent. */
static bool get_attr(CK_FUNCTION_LIST_PTR f, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE o,
                     CK_ATTRIBUTE_TYPE type, void *buf, CK_ULONG *len)
{
	CK_ATTRIBUTE a = { type, buf, *len };
	CK_RV rv = f->C_GetAttributeValue(s, o, &a, 1);
	if (rv != CKR_OK || a.ulValueLen == CK_UNAVAILABLE_INFORMATION)
		return false;
	*len = a.ulValueLen;
	return true;
}

/* EC private keys do not carry the point: take it from the public key
 * object with the same CKA_ID, as the libp11 engine does.  Exactly one
 * such object must exist, else the fingerprint stays unknown (and the
 * key is not taken for a governed one). */
static bool ec_public_point(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, const key_attrs_t *k,
                            unsigned char *point, CK_ULONG *point_len)
{
	CK_SESSION_HANDLE s;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{ CKA_CLASS, &cls, sizeof(cls) },
		{ CKA_ID, (void *)k->id, k->id_len },
	};
	CK_OBJECT_HANDLE found[2];
	CK_ULONG n = 0;
	bool ok = false;

	if (!kc_lookup_session || !k->id_len)
		return false;
	s = kc_lookup_session(slot);
	if (s == CK_INVALID_HANDLE)
		return false;
	pthread_mutex_lock(&kc_search_lock);
	if (f->C_FindObjectsInit(s, tmpl, 2) == CKR_OK) {
		if (f->C_FindObjects(s, found, 2, &n) == CKR_OK && n == 1)
			ok = get_attr(f, s, found[0], CKA_EC_POINT, point, point_len);
		f->C_FindObjectsFinal(s);
	}
	pthread_mutex_unlock(&kc_search_lock);
	return ok;
}

static CK_RV kc_read(CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_SESSION_HANDLE s,
                     CK_OBJECT_HANDLE o, key_attrs_t *k)
{
	CK_BBOOL token = CK_FALSE;
	CK_ATTRIBUTE base[] = {
		{ CKA_CLASS, &k->cls, sizeof(k->cls) },
	};
	CK_RV rv;
	CK_ULONG len;

	memset(k, 0, sizeof(*k));
	rv = f->C_GetAttributeValue(s, o, base, 1);
	if (rv != CKR_OK)
		return rv;

	len = sizeof(token);
	if (get_attr(f, s, o, CKA_TOKEN, &token, &len))
		k->is_token = token == CK_TRUE;
	len = sizeof(k->id);
	if (get_attr(f, s, o, CKA_ID, k->id, &len))
		k->id_len = len;
	len = sizeof(k->label) - 1;
	if (get_attr(f, s, o, CKA_LABEL, k->label, &len))
		k->label[len] = '\0';
	if (k->cls != CKO_PRIVATE_KEY && k->cls != CKO_PUBLIC_KEY && k->cls != CKO_SECRET_KEY)
		return CKR_OK;
	len = sizeof(k->type);
	if (!get_attr(f, s, o, CKA_KEY_TYPE, &k->type, &len))
		return CKR_OK;

	if (k->type == CKK_RSA) {
		unsigned char n[1024], e[16];
		CK_ULONG nl = sizeof(n), el = sizeof(e);
		if (get_attr(f, s, o, CKA_MODULUS, n, &nl) &&
		    get_attr(f, s, o, CKA_PUBLIC_EXPONENT, e, &el) &&
		    spki_fp_rsa(n, nl, e, el, k->fp) == 0)
			k->has_fp = true;
	} else if (k->type == CKK_EC) {
		unsigned char params[128], point[256];
		CK_ULONG pl = sizeof(params), ptl = sizeof(point);
		bool have_point;
		if (!get_attr(f, s, o, CKA_EC_PARAMS, params, &pl))
			return CKR_OK;
		/* raw CKM_ECDSA input is judged against what the curve uses */
		k->ec_order_bits = inspect_ec_order_bits(params, pl);
		if (k->cls == CKO_PUBLIC_KEY)
			have_point = get_attr(f, s, o, CKA_EC_POINT, point, &ptl);
		else
			have_point = ec_public_point(f, slot, k, point, &ptl);
		if (have_point && spki_fp_ec(params, pl, point, ptl, k->fp) == 0)
			k->has_fp = true;
	}
	return CKR_OK;
}

CK_RV keycache_get(CK_SLOT_ID slot, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE obj, key_attrs_t *out)
{
	size_t b = kc_hash(slot, obj);
	CK_FUNCTION_LIST_PTR f;
	kc_node_t *n;
	unsigned long gen;
	CK_RV rv;

	pthread_mutex_lock(&kc_lock);
	for (n = kc_table[b]; n; n = n->next) {
		if (n->obj == obj && n->slot == slot) {
			*out = n->attrs;
			pthread_mutex_unlock(&kc_lock);
			return CKR_OK;
		}
	}
	f = kc_real;
	gen = kc_generation;
	pthread_mutex_unlock(&kc_lock);
	if (!f)
		return CKR_CRYPTOKI_NOT_INITIALIZED;

	/* Read outside the lock: token calls are slow and other sessions
	 * must not wait for them. */
	rv = kc_read(f, slot, sess, obj, out);
	if (rv != CKR_OK)
		return rv;

	n = calloc(1, sizeof(*n));
	if (!n)
		return CKR_OK; /* uncached, still correct */
	n->slot = slot;
	n->obj = obj;
	n->attrs = *out;
	pthread_mutex_lock(&kc_lock);
	if (gen == kc_generation) {
		n->next = kc_table[b];
		kc_table[b] = n;
		n = NULL;
	}
	pthread_mutex_unlock(&kc_lock);
	free(n);
	return CKR_OK;
}

/* keycache.c over a small in-memory token (a fake CK_FUNCTION_LIST):
 * what SoftHSM cannot show because it never reuses a handle, and what
 * it cannot express (a CKA_CLASS that reads as unavailable).
 *
 *  - a session object's cached identity is dropped when a session of its
 *    slot closes, so a reused handle never inherits it (defect 9);
 *  - the cache holds at most keycache_max entries; a miss reads again;
 *  - CKA_CLASS unavailable (CKR_OK) is KEY_UNKNOWN, never ungoverned;
 *  - a handle not found on the session's token is KEY_OTHER_TOKEN;
 *  - an EC private key's identity is proven against each named
 *    candidate public key with its CKA_ID; no signature is made for
 *    candidates the policy does not name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "keycache.h"

#define MAXOBJ 64
#define LOOKUP 900 /* the lookup session of every slot */

typedef struct fobj {
	bool used;
	CK_OBJECT_HANDLE h;
	CK_SLOT_ID slot;
	CK_OBJECT_CLASS cls;
	bool class_unavailable;
	CK_BBOOL token;
	unsigned char id[8];
	size_t id_len;
	EVP_PKEY *key; /* private: signs; public: its PUBLIC_KEY_INFO */
} fobj_t;

static fobj_t objs[MAXOBJ];
static int attr_reads, sign_calls;
static CK_SLOT_ID session_slot[1024];
static CK_OBJECT_HANDLE found_list[MAXOBJ];
static CK_ULONG found_n, found_pos;
static CK_OBJECT_HANDLE sign_key;
static unsigned char named_fp[4][32];
static int n_named;

static const unsigned char p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

static fobj_t *get(CK_OBJECT_HANDLE h)
{
	for (int i = 0; i < MAXOBJ; i++)
		if (objs[i].used && objs[i].h == h)
			return &objs[i];
	return NULL;
}

static CK_RV put(CK_ATTRIBUTE *a, const void *v, size_t n)
{
	if (!a->pValue) {
		a->ulValueLen = n;
		return CKR_OK;
	}
	if (a->ulValueLen < n) {
		a->ulValueLen = CK_UNAVAILABLE_INFORMATION;
		return CKR_BUFFER_TOO_SMALL;
	}
	memcpy(a->pValue, v, n);
	a->ulValueLen = n;
	return CKR_OK;
}

static CK_RV f_GetAttributeValue(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_PTR t,
                                 CK_ULONG n)
{
	(void)s;
	fobj_t *o = get(h);
	CK_KEY_TYPE kt = CKK_EC;
	unsigned char *der = NULL;
	CK_RV rv = CKR_OK;
	if (!o)
		return CKR_OBJECT_HANDLE_INVALID;
	attr_reads++;
	for (CK_ULONG i = 0; i < n; i++) {
		switch (t[i].type) {
		case CKA_CLASS:
			if (o->class_unavailable) {
				t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
				break;
			}
			rv = put(&t[i], &o->cls, sizeof(o->cls));
			break;
		case CKA_TOKEN: rv = put(&t[i], &o->token, 1); break;
		case CKA_ID: rv = put(&t[i], o->id, o->id_len); break;
		case CKA_LABEL: rv = put(&t[i], "", 0); break;
		case CKA_KEY_TYPE: rv = put(&t[i], &kt, sizeof(kt)); break;
		case CKA_EC_PARAMS: rv = put(&t[i], p256, sizeof(p256)); break;
		case CKA_PUBLIC_KEY_INFO:
			if (o->cls == CKO_PUBLIC_KEY && o->key) {
				int l = i2d_PUBKEY(o->key, &der);
				rv = put(&t[i], der, (size_t)l);
				OPENSSL_free(der);
			} else {
				rv = put(&t[i], "", 0); /* SoftHSM's EC private keys */
			}
			break;
		default:
			t[i].ulValueLen = CK_UNAVAILABLE_INFORMATION;
			rv = CKR_ATTRIBUTE_TYPE_INVALID;
		}
	}
	return rv;
}

static CK_RV f_FindObjectsInit(CK_SESSION_HANDLE s, CK_ATTRIBUTE_PTR t, CK_ULONG n)
{
	CK_SLOT_ID slot = session_slot[s % 1024];
	found_n = found_pos = 0;
	for (int i = 0; i < MAXOBJ; i++) {
		fobj_t *o = &objs[i];
		bool match = o->used && o->slot == slot;
		for (CK_ULONG j = 0; match && j < n; j++) {
			if (t[j].type == CKA_CLASS)
				match = !o->class_unavailable &&
				        *(CK_OBJECT_CLASS *)t[j].pValue == o->cls;
			else if (t[j].type == CKA_ID)
				match = t[j].ulValueLen == o->id_len &&
				        !memcmp(t[j].pValue, o->id, o->id_len);
			else if (t[j].type == CKA_KEY_TYPE)
				match = *(CK_KEY_TYPE *)t[j].pValue == CKK_EC;
		}
		if (match)
			found_list[found_n++] = o->h;
	}
	return CKR_OK;
}

static CK_RV f_FindObjects(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE_PTR out, CK_ULONG max,
                           CK_ULONG_PTR n)
{
	(void)s;
	*n = 0;
	while (found_pos < found_n && *n < max)
		out[(*n)++] = found_list[found_pos++];
	return CKR_OK;
}

static CK_RV f_FindObjectsFinal(CK_SESSION_HANDLE s)
{
	(void)s;
	return CKR_OK;
}

static CK_SESSION_HANDLE next_session = 100;

static CK_RV f_OpenSession(CK_SLOT_ID slot, CK_FLAGS fl, CK_VOID_PTR app, CK_NOTIFY nt,
                           CK_SESSION_HANDLE_PTR s)
{
	(void)fl;
	(void)app;
	(void)nt;
	*s = next_session++;
	session_slot[*s % 1024] = slot;
	return CKR_OK;
}

static CK_RV f_CloseSession(CK_SESSION_HANDLE s)
{
	(void)s;
	return CKR_OK;
}

static CK_RV f_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	(void)s;
	fobj_t *o = get(k);
	if (!o || o->cls != CKO_PRIVATE_KEY || m->mechanism != CKM_ECDSA)
		return CKR_KEY_HANDLE_INVALID;
	sign_key = k;
	return CKR_OK;
}

static CK_RV f_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR in, CK_ULONG inl, CK_BYTE_PTR sig,
                    CK_ULONG_PTR sl)
{
	(void)s;
	fobj_t *o = get(sign_key);
	unsigned char der[128];
	size_t dl = sizeof(der);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(o->key, NULL);
	sign_calls++;
	assert_int_equal(EVP_PKEY_sign_init(ctx), 1);
	assert_int_equal(EVP_PKEY_sign(ctx, der, &dl, in, inl), 1);
	EVP_PKEY_CTX_free(ctx);
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)dl);
	assert_non_null(es);
	assert_true(*sl >= 64);
	BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + 32, 32);
	*sl = 64;
	ECDSA_SIG_free(es);
	return CKR_OK;
}

static CK_FUNCTION_LIST fake = {
	.C_GetAttributeValue = f_GetAttributeValue,
	.C_FindObjectsInit = f_FindObjectsInit,
	.C_FindObjects = f_FindObjects,
	.C_FindObjectsFinal = f_FindObjectsFinal,
	.C_OpenSession = f_OpenSession,
	.C_CloseSession = f_CloseSession,
	.C_SignInit = f_SignInit,
	.C_Sign = f_Sign,
};

/* Every slot's lookup session is LOOKUP + slot. */
static CK_SESSION_HANDLE lookup(CK_SLOT_ID slot)
{
	session_slot[(LOOKUP + slot) % 1024] = slot;
	return LOOKUP + slot;
}

static bool named(const unsigned char fp[32])
{
	for (int i = 0; i < n_named; i++)
		if (!memcmp(named_fp[i], fp, 32))
			return true;
	return false;
}

static void fp_of(EVP_PKEY *k, unsigned char fp[32])
{
	unsigned char *der = NULL;
	int l = i2d_PUBKEY(k, &der);
	SHA256(der, (size_t)l, fp);
	OPENSSL_free(der);
}

static fobj_t *add(CK_OBJECT_HANDLE h, CK_SLOT_ID slot, CK_OBJECT_CLASS cls, bool token,
                   unsigned char id, EVP_PKEY *key)
{
	for (int i = 0; i < MAXOBJ; i++)
		if (!objs[i].used) {
			objs[i] = (fobj_t){ .used = true,
				            .h = h,
				            .slot = slot,
				            .cls = cls,
				            .token = token,
				            .id = { id },
				            .id_len = 1,
				            .key = key };
			return &objs[i];
		}
	fail();
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	memset(objs, 0, sizeof(objs));
	n_named = 0;
	attr_reads = sign_calls = 0;
	keycache_ops_t ops = { .real = &fake, .lookup_session = lookup, .fp_named = named };
	keycache_init(&ops);
	keycache_set_max(KEYCACHE_MAX_DEFAULT);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	keycache_fini();
	return 0;
}

static void test_session_object_dropped_on_close(void **state)
{
	(void)state;
	key_attrs_t ka;
	add(10, 1, CKO_DATA, false, 0xaa, NULL);
	add(11, 1, CKO_DATA, true, 0xbb, NULL);
	add(12, 2, CKO_DATA, false, 0xcc, NULL);
	assert_int_equal(keycache_get(1, 5, 10, &ka), CKR_OK);
	assert_int_equal(ka.standing, KEY_KNOWN);
	assert_int_equal(ka.id[0], 0xaa);
	assert_int_equal(keycache_get(1, 5, 11, &ka), CKR_OK);
	assert_int_equal(keycache_get(2, 6, 12, &ka), CKR_OK);
	assert_int_equal(keycache_count(), 3);

	/* The session that held object 10 closes; the token reuses handle
	 * 10 for another object. */
	get(10)->id[0] = 0xdd;
	keycache_invalidate_session_objects(1);
	assert_int_equal(keycache_count(), 2); /* token object 11 and slot 2's entry stay */
	int before = attr_reads;
	assert_int_equal(keycache_get(1, 5, 10, &ka), CKR_OK);
	assert_int_equal(ka.id[0], 0xdd);
	assert_true(attr_reads > before);
	before = attr_reads;
	assert_int_equal(keycache_get(1, 5, 11, &ka), CKR_OK);
	assert_int_equal(keycache_get(2, 6, 12, &ka), CKR_OK);
	assert_int_equal(attr_reads, before); /* both still cached */
}

static void test_bound(void **state)
{
	(void)state;
	key_attrs_t ka;
	keycache_set_max(8);
	for (CK_OBJECT_HANDLE h = 100; h < 120; h++) {
		add(h, 1, CKO_DATA, true, (unsigned char)h, NULL);
		assert_int_equal(keycache_get(1, 5, h, &ka), CKR_OK);
		assert_true(keycache_count() <= 8);
	}
	assert_int_equal(keycache_count(), 8);
	/* the newest is cached, the oldest was evicted and is read again */
	int before = attr_reads;
	assert_int_equal(keycache_get(1, 5, 119, &ka), CKR_OK);
	assert_int_equal(attr_reads, before);
	assert_int_equal(keycache_get(1, 5, 100, &ka), CKR_OK);
	assert_true(attr_reads > before);
	assert_int_equal(ka.id[0], 100);
	keycache_set_max(2);
	assert_int_equal(keycache_count(), 2);
	keycache_invalidate(100);
	assert_int_equal(keycache_count(), 1);
}

static void test_class_unavailable_is_unknown(void **state)
{
	(void)state;
	key_attrs_t ka;
	add(20, 1, CKO_PRIVATE_KEY, true, 0x02, NULL)->class_unavailable = true;
	assert_int_equal(keycache_get(1, 5, 20, &ka), CKR_OK);
	assert_int_equal(ka.standing, KEY_UNKNOWN);
	assert_false(ka.has_fp);
	assert_int_equal(keycache_count(), 0); /* never cached */
	assert_int_equal(keycache_get(1, 5, 21, &ka), CKR_OBJECT_HANDLE_INVALID);
}

static void test_other_token(void **state)
{
	(void)state;
	key_attrs_t ka;
	add(30, 2, CKO_PRIVATE_KEY, true, 0x02, NULL);
	/* slot 2's object through a session of slot 1: it reads fine, but a
	 * search on slot 1's token does not find it */
	assert_int_equal(keycache_get(1, 5, 30, &ka), CKR_OK);
	assert_int_equal(ka.standing, KEY_OTHER_TOKEN);
	assert_int_equal(keycache_get(2, 6, 30, &ka), CKR_OK);
	assert_int_equal(ka.standing, KEY_KNOWN);
}

static void test_ec_identity_by_proof(void **state)
{
	(void)state;
	key_attrs_t ka;
	EVP_PKEY *real = EVP_EC_gen("P-256"), *other = EVP_EC_gen("P-256"),
	         *third = EVP_EC_gen("P-256");
	unsigned char fp_real[32], fp_other[32];
	assert_non_null(real);
	fp_of(real, fp_real);
	fp_of(other, fp_other);

	add(40, 1, CKO_PRIVATE_KEY, true, 0x02, real);
	add(41, 1, CKO_PUBLIC_KEY, true, 0x02, other); /* planted first */
	add(42, 1, CKO_PUBLIC_KEY, true, 0x02, real);
	add(43, 1, CKO_PRIVATE_KEY, true, 0x02, third); /* relabelled look-alike */

	/* Nothing named: no signature is made, no identity. */
	assert_int_equal(keycache_get(1, 5, 40, &ka), CKR_OK);
	assert_int_equal(ka.standing, KEY_KNOWN);
	assert_false(ka.has_fp);
	assert_int_equal(sign_calls, 0);

	/* Both candidates named (two governed keys): each is tried. */
	keycache_clear();
	memcpy(named_fp[0], fp_other, 32);
	memcpy(named_fp[1], fp_real, 32);
	n_named = 2;
	assert_int_equal(keycache_get(1, 5, 40, &ka), CKR_OK);
	assert_true(ka.has_fp);
	assert_int_equal(ka.fp_source, KEY_FP_PROVEN);
	assert_memory_equal(ka.fp, fp_real, 32);
	int calls = sign_calls;
	assert_true(calls >= 1 && calls <= 2);
	/* once per handle */
	assert_int_equal(keycache_get(1, 5, 40, &ka), CKR_OK);
	assert_int_equal(sign_calls, calls);

	/* The look-alike proves to no candidate. */
	assert_int_equal(keycache_get(1, 5, 43, &ka), CKR_OK);
	assert_int_equal(ka.standing, KEY_KNOWN);
	assert_false(ka.has_fp);

	/* A public key object: its own SPKI, no proof. */
	calls = sign_calls;
	assert_int_equal(keycache_get(1, 5, 41, &ka), CKR_OK);
	assert_true(ka.has_fp);
	assert_int_equal(ka.fp_source, KEY_FP_OWN);
	assert_memory_equal(ka.fp, fp_other, 32);
	assert_int_equal(sign_calls, calls);
	keycache_clear();
	EVP_PKEY_free(real);
	EVP_PKEY_free(other);
	EVP_PKEY_free(third);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_session_object_dropped_on_close, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(test_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_class_unavailable_is_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_token, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec_identity_by_proof, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target: the template helpers (module/core/template.c) and the
 * SPKI builders fed from template values (module/core/spki.c).
 *
 * The input is a caller's template in a compact form, records of
 *   type (1 byte: an index into the attribute types signgate reads, or
 *         0xff followed by 4 raw bytes), flags (1 byte: bit 0 NULL
 *         pValue, bit 1 ulValueLen = CK_UNAVAILABLE_INFORMATION),
 *   len (1 byte), value (len bytes).
 * Each value gets its own exact-size allocation, so that reading past a
 * value is caught by ASan.  template_check is compared with a plain
 * quadratic oracle (including templates above TEMPLATE_SMALL, made by
 * repeating the records), and every typed reader must agree with what
 * the record says.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spki.h"
#include "template.h"

static const CK_ATTRIBUTE_TYPE types[] = {
	CKA_CLASS,    CKA_KEY_TYPE,        CKA_ID,      CKA_LABEL,           CKA_TOKEN,
	CKA_PRIVATE,  CKA_PUBLIC_KEY_INFO, CKA_MODULUS, CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS,
	CKA_EC_POINT, CKA_VALUE,           CKA_SIGN,    CKA_MODULUS_BITS,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))
#define MAXATTR 512

static bool oracle_dup(const CK_ATTRIBUTE *t, CK_ULONG n)
{
	for (CK_ULONG i = 0; i < n; i++)
		for (CK_ULONG j = i + 1; j < n; j++)
			if (t[i].type == t[j].type)
				return true;
	return false;
}

static void check_readers(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	const CK_ATTRIBUTE *a = template_find(t, n, type);
	CK_ULONG ul;
	bool b;
	const unsigned char *p;
	size_t len;

	template_read_t r = template_get_ulong(t, n, type, &ul);
	if ((r == TEMPLATE_ABSENT) != (a == NULL))
		abort();
	if (r == TEMPLATE_OK &&
	    (a->ulValueLen != sizeof(CK_ULONG) || memcmp(&ul, a->pValue, sizeof(ul))))
		abort();
	r = template_get_bool(t, n, type, &b);
	if (r == TEMPLATE_OK && (a->ulValueLen != 1 || b != (*(const CK_BBOOL *)a->pValue != 0)))
		abort();
	r = template_get_bytes(t, n, type, 64, &p, &len);
	if (r == TEMPLATE_OK) {
		if (len > 64 || len != a->ulValueLen || (len && !p))
			abort();
		volatile unsigned char sink = 0;
		for (size_t i = 0; i < len; i++)
			sink ^= p[i]; /* every byte said to be there is readable */
		(void)sink;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	CK_ATTRIBUTE t[MAXATTR];
	void *vals[MAXATTR];
	CK_ULONG n = 0;
	size_t i = 0;

	while (i + 3 <= size && n < MAXATTR / 8) {
		CK_ATTRIBUTE_TYPE type;
		if (data[i] == 0xff) {
			if (i + 7 > size)
				break;
			type = (CK_ATTRIBUTE_TYPE)data[i + 1] |
			       (CK_ATTRIBUTE_TYPE)data[i + 2] << 8 |
			       (CK_ATTRIBUTE_TYPE)data[i + 3] << 16 |
			       (CK_ATTRIBUTE_TYPE)data[i + 4] << 24;
			i += 4;
		} else {
			type = types[data[i] % NTYPES];
		}
		uint8_t flags = data[i + 1];
		size_t len = data[i + 2];
		i += 3;
		if (len > size - i)
			len = size - i;
		vals[n] = NULL;
		if (!(flags & 1)) {
			vals[n] = malloc(len ? len : 1);
			if (!vals[n])
				break;
			memcpy(vals[n], data + i, len);
		}
		t[n].type = type;
		t[n].pValue = vals[n];
		t[n].ulValueLen = (flags & 2) ? CK_UNAVAILABLE_INFORMATION : (CK_ULONG)len;
		i += len;
		n++;
	}

	/* As given, and repeated up to 8 times (large templates sort). */
	for (CK_ULONG reps = 1; reps <= 8 && n * reps <= MAXATTR; reps *= 2) {
		CK_ULONG m = n * reps;
		for (CK_ULONG k = n; k < m; k++) {
			t[k] = t[k % n];
			/* keep the copies distinct unless the input says otherwise */
			if (data[0] & 1)
				t[k].type ^= (CK_ATTRIBUTE_TYPE)(k / n) << 24;
		}
		CK_ATTRIBUTE_TYPE dup = 0;
		CK_RV rv = template_check(t, m, &dup);
		bool want = oracle_dup(t, m);
		if (rv != (want ? CKR_TEMPLATE_INCONSISTENT : CKR_OK))
			abort();
		if (want) {
			CK_ULONG c = 0;
			for (CK_ULONG k = 0; k < m; k++)
				c += t[k].type == dup;
			if (c < 2)
				abort();
		}
	}
	if (template_check(t, n, NULL) == CKR_OK) {
		for (size_t k = 0; k < NTYPES; k++)
			check_readers(t, n, types[k]);

		/* What signgate builds from template values must not read
		 * past them either. */
		const unsigned char *pa = NULL, *pb = NULL;
		size_t la = 0, lb = 0;
		unsigned char fp[32], der[SPKI_DER_MAX];
		if (template_get_bytes(t, n, CKA_EC_PARAMS, 4096, &pa, &la) == TEMPLATE_OK &&
		    template_get_bytes(t, n, CKA_EC_POINT, 4096, &pb, &lb) == TEMPLATE_OK) {
			int r1 = spki_fp_ec(pa, la, pb, lb, fp);
			size_t d = spki_der_ec(pa, la, pb, lb, der, sizeof(der));
			if ((r1 == 0) != (d > 0))
				abort();
		}
		if (template_get_bytes(t, n, CKA_MODULUS, 4096, &pa, &la) == TEMPLATE_OK &&
		    template_get_bytes(t, n, CKA_PUBLIC_EXPONENT, 4096, &pb, &lb) == TEMPLATE_OK) {
			int r1 = spki_fp_rsa(pa, la, pb, lb, fp);
			size_t d = spki_der_rsa(pa, la, pb, lb, der, sizeof(der));
			if ((r1 == 0) != (d > 0))
				abort();
		}
	}
	for (CK_ULONG k = 0; k < n; k++)
		free(vals[k]);
	return 0;
}

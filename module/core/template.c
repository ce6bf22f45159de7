/* signgate: pure helpers over caller-supplied PKCS#11 templates. */
#include "template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int type_cmp(const void *a, const void *b)
{
	CK_ATTRIBUTE_TYPE x = *(const CK_ATTRIBUTE_TYPE *)a, y = *(const CK_ATTRIBUTE_TYPE *)b;
	return x < y ? -1 : x > y;
}

CK_RV template_check(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE *dup)
{
	CK_ATTRIBUTE_TYPE *types;

	if (n == 0)
		return CKR_OK;
	if (!t)
		return CKR_ARGUMENTS_BAD;
	if (n <= TEMPLATE_SMALL) {
		/* The common case: a handful of attributes, no allocation. */
		for (CK_ULONG i = 1; i < n; i++)
			for (CK_ULONG j = 0; j < i; j++)
				if (t[i].type == t[j].type) {
					if (dup)
						*dup = t[i].type;
					return CKR_TEMPLATE_INCONSISTENT;
				}
		return CKR_OK;
	}
	/* Large templates: sort a copy of the types, O(n log n), so that a
	 * caller cannot make signgate spend n^2 on its own template. */
	if (n > SIZE_MAX / sizeof(*types))
		return CKR_HOST_MEMORY;
	types = malloc((size_t)n * sizeof(*types));
	if (!types)
		return CKR_HOST_MEMORY;
	for (CK_ULONG i = 0; i < n; i++)
		types[i] = t[i].type;
	qsort(types, (size_t)n, sizeof(*types), type_cmp);
	for (CK_ULONG i = 1; i < n; i++)
		if (types[i] == types[i - 1]) {
			if (dup)
				*dup = types[i];
			free(types);
			return CKR_TEMPLATE_INCONSISTENT;
		}
	free(types);
	return CKR_OK;
}

const CK_ATTRIBUTE *template_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type)
{
	for (CK_ULONG i = 0; t && i < n; i++)
		if (t[i].type == type)
			return &t[i];
	return NULL;
}

template_read_t template_get_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                                   CK_ULONG *out)
{
	const CK_ATTRIBUTE *a = template_find(t, n, type);
	if (!a)
		return TEMPLATE_ABSENT;
	if (!a->pValue || a->ulValueLen != sizeof(CK_ULONG))
		return TEMPLATE_BAD;
	memcpy(out, a->pValue, sizeof(CK_ULONG)); /* the caller's buffer may be unaligned */
	return TEMPLATE_OK;
}

template_read_t template_get_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                                  bool *out)
{
	const CK_ATTRIBUTE *a = template_find(t, n, type);
	if (!a)
		return TEMPLATE_ABSENT;
	if (!a->pValue || a->ulValueLen != sizeof(CK_BBOOL))
		return TEMPLATE_BAD;
	*out = *(const CK_BBOOL *)a->pValue != CK_FALSE;
	return TEMPLATE_OK;
}

template_read_t template_get_bytes(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                                   size_t max, const unsigned char **p, size_t *len)
{
	const CK_ATTRIBUTE *a = template_find(t, n, type);
	if (!a)
		return TEMPLATE_ABSENT;
	if (a->ulValueLen == CK_UNAVAILABLE_INFORMATION || a->ulValueLen > max ||
	    (!a->pValue && a->ulValueLen))
		return TEMPLATE_BAD;
	*p = a->pValue;
	*len = (size_t)a->ulValueLen;
	return TEMPLATE_OK;
}

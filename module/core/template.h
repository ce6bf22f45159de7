/* signgate: pure helpers over caller-supplied PKCS#11 templates.
 *
 * A template is the caller's: its length, its pointers and its values are
 * all attacker-controlled.  signgate reads a template to decide (is this
 * object dressed as a governed key?) and the token applies the same
 * template afterwards, so both must see the same thing: a template that
 * names an attribute type twice is refused outright (the token may apply
 * the last occurrence where signgate would read the first), and a value
 * of the wrong size is never read as the type it claims to be.
 *
 * No PKCS#11 calls, no I/O; template_check may allocate (large templates).
 */
#ifndef SIGNGATE_TEMPLATE_H
#define SIGNGATE_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "pkcs11_3.h"

/* Templates up to this many entries are checked without allocating. */
#define TEMPLATE_SMALL 64

/* CKR_OK when every attribute type occurs at most once;
 * CKR_TEMPLATE_INCONSISTENT when one repeats (*dup, if non-NULL, is set
 * to that type); CKR_ARGUMENTS_BAD for t == NULL with n > 0;
 * CKR_HOST_MEMORY when a large template cannot be sorted. */
CK_RV template_check(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE *dup);

/* The (first) attribute of this type, or NULL. */
const CK_ATTRIBUTE *template_find(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type);

/* Typed readers.  Each returns TEMPLATE_ABSENT when the type is not in
 * the template, TEMPLATE_BAD when it is there but cannot be read as that
 * type (NULL value, CK_UNAVAILABLE_INFORMATION, wrong size), TEMPLATE_OK
 * with the value otherwise. */
typedef enum template_read {
	TEMPLATE_BAD = -1,
	TEMPLATE_ABSENT = 0,
	TEMPLATE_OK = 1,
} template_read_t;

/* CK_ULONG-sized values: CKA_CLASS, CKA_KEY_TYPE, CKA_MODULUS_BITS ... */
template_read_t template_get_ulong(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                                   CK_ULONG *out);
/* CK_BBOOL values; any non-zero byte reads as true (as tokens do). */
template_read_t template_get_bool(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                                  bool *out);
/* Byte strings (CKA_ID, CKA_LABEL, CKA_PUBLIC_KEY_INFO ...): *p may be
 * NULL only when *len is 0.  Lengths above max are TEMPLATE_BAD. */
template_read_t template_get_bytes(const CK_ATTRIBUTE *t, CK_ULONG n, CK_ATTRIBUTE_TYPE type,
                                   size_t max, const unsigned char **p, size_t *len);

#endif

/* What the bench programs share: see bench_common.h. */
#include "bench_common.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

void text_printf(text_t *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			abort();
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = (t->cap + (size_t)n + 1) * 2;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf)
			abort();
	}
}

void fake_fingerprint(size_t i, unsigned char fp[32])
{
	uint64_t x = 0x9e3779b97f4a7c15ULL * (i + 1);
	for (int b = 0; b < 32; b++) {
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ULL;
		fp[b] = (unsigned char)(x >> 56);
	}
}

void text_fake_key(text_t *t, size_t i, const char *token, size_t id, bool last)
{
	unsigned char fp[32];
	fake_fingerprint(i, fp);
	text_printf(t,
	            "  { name = \"key%05zu\"; token = \"%s\"; id = \"%08zx\"; "
	            "label = \"label-%zu\"; fingerprint = \"sha256:",
	            i, token, id, i);
	for (int b = 0; b < 32; b++)
		text_printf(t, "%02x", fp[b]);
	text_printf(t,
	            "\"; products = [ \"prod%zu\" ]; "
	            "mechanisms = [ \"ECDSA\", \"SHA256-RSA-PKCS\", \"RSA-PKCS\" ]; "
	            "hashes = [ \"SHA256\" ]; }%s\n",
	            i, last ? "" : ",");
}

int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

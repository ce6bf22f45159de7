/* What the bench programs (bench_policy.c, bench_reload.c, bench_audit.c)
 * share: a growing text buffer for generated configs, fake key
 * fingerprints, and the comparison qsort needs for percentiles. */
#ifndef SIGNGATE_BENCH_COMMON_H
#define SIGNGATE_BENCH_COMMON_H

#include <stdbool.h>
#include <stddef.h>

/* A NUL-terminated text that grows as it is written; buf is malloc'ed
 * (NULL until the first write).  Start it as { NULL, 0, 0 }. */
typedef struct text {
	char *buf;
	size_t len, cap;
} text_t;

/* Append to t as printf would; aborts when memory runs out. */
void text_printf(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A fingerprint per key that differs for every i (not a real SPKI hash:
 * the engine compares bytes, it never recomputes them). */
void fake_fingerprint(size_t i, unsigned char fp[32]);

/* The config entry of the fake key number i on token with CKA_ID id
 * (key%05zu, label-%zu, a fake fingerprint, product prod%zu), followed
 * by "," unless last. */
void text_fake_key(text_t *t, size_t i, const char *token, size_t id, bool last);

/* qsort's comparison of two doubles, ascending. */
int cmp_double(const void *a, const void *b);

#endif

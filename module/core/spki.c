/* signgate: SubjectPublicKeyInfo fingerprints built from token attributes. */
#include "spki.h"
#include "codec.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

/* Big enough for RSA-16384 and any EC point. */
#define SPKI_MAX 4096

/* A tiny DER writer over a fixed buffer: len is kept even on overflow
 * so that the caller sees it and refuses. */
typedef struct der {
	unsigned char buf[SPKI_MAX];
	size_t len;
	int overflow;
} der_t;

static void der_put(der_t *d, const void *p, size_t n)
{
	if (d->overflow || n > sizeof(d->buf) - d->len) {
		d->overflow = 1;
		return;
	}
	memcpy(d->buf + d->len, p, n);
	d->len += n;
}

static void der_put_len(der_t *d, size_t n)
{
	unsigned char b[5];
	if (n < 0x80) {
		b[0] = (unsigned char)n;
		der_put(d, b, 1);
	} else if (n < 0x100) {
		b[0] = 0x81;
		b[1] = (unsigned char)n;
		der_put(d, b, 2);
	} else if (n < 0x10000) {
		b[0] = 0x82;
		b[1] = (unsigned char)(n >> 8);
		b[2] = (unsigned char)n;
		der_put(d, b, 3);
	} else {
		d->overflow = 1;
	}
}

static size_t der_len_size(size_t n)
{
	return n < 0x80 ? 1 : n < 0x100 ? 2 : 3;
}

static void der_put_hdr(der_t *d, unsigned char tag, size_t n)
{
	der_put(d, &tag, 1);
	der_put_len(d, n);
}

/* INTEGER content of an unsigned big-endian number: no leading zeros
 * but one where the high bit is set. */
static void strip_int(const unsigned char **p, size_t *n)
{
	while (*n > 1 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

static size_t int_content_len(const unsigned char *p, size_t n)
{
	return n + ((p[0] & 0x80) ? 1 : 0);
}

static void der_put_uint(der_t *d, const unsigned char *p, size_t n)
{
	size_t cl = int_content_len(p, n);
	der_put_hdr(d, 0x02, cl);
	if (cl > n)
		der_put(d, "\0", 1);
	der_put(d, p, n);
}

static int finish(const der_t *d, unsigned char fp[32])
{
	if (d->overflow)
		return -1;
	SHA256(d->buf, d->len, fp);
	return 0;
}

static void build_rsa(der_t *d, const unsigned char *n, size_t n_len, const unsigned char *e,
                      size_t e_len)
{
	static const unsigned char alg[] = { 0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
		                             0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00 };
	if (!n || !e || !n_len || !e_len) {
		d->overflow = 1;
		return;
	}
	strip_int(&n, &n_len);
	strip_int(&e, &e_len);

	size_t ni = int_content_len(n, n_len), ei = int_content_len(e, e_len);
	size_t rsakey = 1 + der_len_size(ni) + ni + 1 + der_len_size(ei) + ei;
	size_t bits = 1 + 1 + der_len_size(rsakey) + rsakey; /* unused-bits byte + SEQUENCE */
	size_t spki = sizeof(alg) + 1 + der_len_size(bits) + bits;

	der_put_hdr(d, 0x30, spki);
	der_put(d, alg, sizeof(alg));
	der_put_hdr(d, 0x03, bits);
	der_put(d, "\0", 1);
	der_put_hdr(d, 0x30, rsakey);
	der_put_uint(d, n, n_len);
	der_put_uint(d, e, e_len);
}

int spki_fp_rsa(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
                unsigned char fp[32])
{
	der_t d = { .len = 0 };
	build_rsa(&d, n, n_len, e, e_len);
	return finish(&d, fp);
}

/* CKA_EC_POINT is specified as a DER OCTET STRING; unwrap it when it is
 * one whose content is a point (0x02/0x03 compressed, 0x04 uncompressed). */
static void ec_point_unwrap(const unsigned char **p, size_t *n)
{
	const unsigned char *q = *p;
	size_t len = *n, hl, cl;

	if (len < 3 || q[0] != 0x04)
		return;
	if (q[1] < 0x80) {
		cl = q[1];
		hl = 2;
	} else if (q[1] == 0x81 && len > 3) {
		cl = q[2];
		hl = 3;
	} else if (q[1] == 0x82 && len > 4) {
		cl = ((size_t)q[2] << 8) | q[3];
		hl = 4;
	} else {
		return;
	}
	if (hl + cl != len || cl == 0)
		return;
	if (q[hl] != 0x02 && q[hl] != 0x03 && q[hl] != 0x04)
		return;
	*p = q + hl;
	*n = cl;
}

static void build_ec(der_t *d, const unsigned char *params, size_t params_len,
                     const unsigned char *point, size_t point_len)
{
	static const unsigned char ec_oid[] = {
		0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
	};

	/* Only a named curve (an OID) identifies a key unambiguously. */
	if (!params || params_len < 3 || params[0] != 0x06 || (size_t)params[1] + 2 != params_len ||
	    !point || !point_len) {
		d->overflow = 1;
		return;
	}
	ec_point_unwrap(&point, &point_len);

	size_t alg = sizeof(ec_oid) + params_len;
	size_t bits = 1 + point_len;
	size_t spki = 1 + der_len_size(alg) + alg + 1 + der_len_size(bits) + bits;

	der_put_hdr(d, 0x30, spki);
	der_put_hdr(d, 0x30, alg);
	der_put(d, ec_oid, sizeof(ec_oid));
	der_put(d, params, params_len);
	der_put_hdr(d, 0x03, bits);
	der_put(d, "\0", 1);
	der_put(d, point, point_len);
}

int spki_fp_ec(const unsigned char *params, size_t params_len, const unsigned char *point,
               size_t point_len, unsigned char fp[32])
{
	der_t d = { .len = 0 };
	build_ec(&d, params, params_len, point, point_len);
	return finish(&d, fp);
}

static size_t copy_out(const der_t *d, unsigned char *out, size_t cap)
{
	if (d->overflow || d->len > cap)
		return 0;
	memcpy(out, d->buf, d->len);
	return d->len;
}

size_t spki_der_rsa(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
                    unsigned char *out, size_t cap)
{
	der_t d = { .len = 0 };
	build_rsa(&d, n, n_len, e, e_len);
	return copy_out(&d, out, cap);
}

size_t spki_der_ec(const unsigned char *params, size_t params_len, const unsigned char *point,
                   size_t point_len, unsigned char *out, size_t cap)
{
	der_t d = { .len = 0 };
	build_ec(&d, params, params_len, point, point_len);
	return copy_out(&d, out, cap);
}

void spki_fp_format(const unsigned char fp[32], char *out, size_t outlen)
{
	if (outlen < 72) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	memcpy(out, "sha256:", 7);
	(void)codec_hex_encode(out + 7, outlen - 7, fp, 32);
}

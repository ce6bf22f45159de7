/* signgate: hex, base64 / base64url and a bounded buffer (see codec.h). */
#include "codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char hex_digits[] = "0123456789abcdef";
static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* --- hex ------------------------------------------------------------------ */

bool codec_hex_encode(char *out, size_t outsize, const void *in, size_t n)
{
	const unsigned char *p = in;

	if (n > (SIZE_MAX - 1) / 2 || outsize < CODEC_HEX_SIZE(n)) {
		if (outsize)
			out[0] = '\0';
		return false;
	}
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex_digits[p[i] >> 4];
		out[2 * i + 1] = hex_digits[p[i] & 15];
	}
	out[2 * n] = '\0';
	return true;
}

int codec_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int hex_digit_flags(int c, unsigned flags)
{
	if (c >= 'A' && c <= 'F' && !(flags & CODEC_HEX_UPPER))
		return -1;
	return codec_hex_digit(c);
}

bool codec_hex_decode(const char *in, size_t n, unsigned flags, unsigned char *out, size_t outmax,
                      size_t *outlen)
{
	size_t i = 0, o = 0;

	if (n && !in)
		return false;
	while (i < n) {
		if (n - i < 2)
			return false; /* odd number of digits */
		int hi = hex_digit_flags((unsigned char)in[i], flags);
		int lo = hex_digit_flags((unsigned char)in[i + 1], flags);
		if (hi < 0 || lo < 0 || o >= outmax)
			return false;
		out[o++] = (unsigned char)(hi << 4 | lo);
		i += 2;
		/* a separator only between two bytes: not leading, trailing or doubled */
		if ((flags & CODEC_HEX_COLONS) && i + 1 < n && in[i] == ':')
			i++;
	}
	*outlen = o;
	return true;
}

/* --- base64 --------------------------------------------------------------- */

static int b64_value(int c, unsigned flags)
{
	bool url = flags & CODEC_B64_URL;

	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == (url ? '-' : '+'))
		return 62;
	if (c == (url ? '_' : '/'))
		return 63;
	return -1;
}

bool codec_b64_char(int c, unsigned flags)
{
	return b64_value(c, flags) >= 0;
}

size_t codec_b64_encoded_len(size_t n, unsigned flags)
{
	if (n > SIZE_MAX / 4 * 3 - 3)
		return SIZE_MAX;
	if (flags & CODEC_B64_PAD_NONE)
		return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
	return (n + 2) / 3 * 4;
}

bool codec_b64_encode(char *out, size_t outsize, const void *in, size_t n, unsigned flags)
{
	const unsigned char *p = in;
	const char *a = (flags & CODEC_B64_URL) ? b64_url : b64_std;
	bool pad = !(flags & CODEC_B64_PAD_NONE);
	size_t len = codec_b64_encoded_len(n, flags), o = 0, i = 0;

	if (len == SIZE_MAX || outsize <= len) {
		if (outsize)
			out[0] = '\0';
		return false;
	}
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		out[o++] = a[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		if (pad) {
			out[o++] = '=';
			out[o++] = '=';
		}
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = a[v >> 18 & 63];
		out[o++] = a[v >> 12 & 63];
		out[o++] = a[v >> 6 & 63];
		if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
	return true;
}

char *codec_b64_encode_alloc(const void *in, size_t n, unsigned flags)
{
	size_t len = codec_b64_encoded_len(n, flags);
	char *out;

	if (len == SIZE_MAX || !(out = malloc(len + 1)))
		return NULL;
	if (!codec_b64_encode(out, len + 1, in, n, flags)) {
		free(out);
		return NULL;
	}
	return out;
}

bool codec_b64_decode(const char *in, size_t n, unsigned flags, unsigned char *out, size_t outmax,
                      size_t *outlen)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, digits = 0, pad = 0;

	if (n && !in)
		return false;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)in[i];
		if ((flags & CODEC_B64_SKIP_NEWLINES) && (c == '\n' || c == '\r'))
			continue;
		if (c == '=') {
			if (flags & CODEC_B64_PAD_NONE)
				return false;
			pad++;
			continue;
		}
		if (pad)
			return false; /* data after padding */
		int v = b64_value(c, flags);
		if (v < 0)
			return false;
		digits++;
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outmax)
				return false;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* 1 digit left over is 6 bits: no encoder writes that */
	if (digits % 4 == 1)
		return false;
	/* padding, if any, completes the last group of four exactly */
	if (pad && (digits % 4 == 0 || pad != 4 - digits % 4))
		return false;
	if ((flags & CODEC_B64_PAD_REQUIRED) && (digits + pad) % 4 != 0)
		return false;
	/* unused low bits of the last digit must be zero: one text per value */
	if (bits && (acc & ((1u << bits) - 1)) != 0)
		return false;
	*outlen = o;
	return true;
}

/* --- bounded buffer ------------------------------------------------------- */

void codec_buf_init(codec_buf_t *b, void *data, size_t size)
{
	b->data = data;
	b->size = data ? size : 0;
	b->rpos = b->wpos = 0;
	b->readonly = false;
}

void codec_buf_reader(codec_buf_t *b, const void *data, size_t n)
{
	/* The cast is safe: a read-only buffer is never written through. */
	b->data = (unsigned char *)(uintptr_t)data;
	b->size = data ? n : 0;
	b->rpos = 0;
	b->wpos = b->size;
	b->readonly = true;
}

/* data + pos, without arithmetic on a NULL pointer (an empty buffer). */
static unsigned char *at(const codec_buf_t *b, size_t pos)
{
	return b->data ? b->data + pos : NULL;
}

/* Room for n more bytes?  Also refuses read-only buffers. */
static bool can_write(const codec_buf_t *b, size_t n)
{
	return !b->readonly && n <= b->size - b->wpos;
}

bool codec_buf_write(codec_buf_t *b, const void *p, size_t n)
{
	if (!can_write(b, n))
		return false;
	if (n)
		memcpy(b->data + b->wpos, p, n);
	b->wpos += n;
	return true;
}

bool codec_buf_write_byte(codec_buf_t *b, unsigned char c)
{
	return codec_buf_write(b, &c, 1);
}

bool codec_buf_write_str(codec_buf_t *b, const char *s)
{
	return codec_buf_write(b, s, strlen(s));
}

bool codec_buf_write_hex(codec_buf_t *b, const void *p, size_t n)
{
	/* +1: codec_hex_encode writes a NUL, which is then not counted */
	if (n > (SIZE_MAX - 1) / 2 || !can_write(b, 2 * n + 1))
		return false;
	if (!codec_hex_encode((char *)b->data + b->wpos, 2 * n + 1, p, n))
		return false;
	b->wpos += 2 * n;
	return true;
}

bool codec_buf_write_b64(codec_buf_t *b, const void *p, size_t n, unsigned flags)
{
	size_t len = codec_b64_encoded_len(n, flags);

	if (len == SIZE_MAX || !can_write(b, len + 1))
		return false;
	if (!codec_b64_encode((char *)b->data + b->wpos, len + 1, p, n, flags))
		return false;
	b->wpos += len;
	return true;
}

bool codec_buf_terminate(codec_buf_t *b)
{
	if (!can_write(b, 1))
		return false;
	b->data[b->wpos] = '\0';
	return true;
}

bool codec_buf_read_ptr(codec_buf_t *b, size_t n, const unsigned char **p)
{
	if (n > b->wpos - b->rpos)
		return false;
	*p = at(b, b->rpos);
	b->rpos += n;
	return true;
}

bool codec_buf_read(codec_buf_t *b, void *out, size_t n)
{
	const unsigned char *p;

	if (!codec_buf_read_ptr(b, n, &p))
		return false;
	if (n)
		memcpy(out, p, n);
	return true;
}

bool codec_buf_skip(codec_buf_t *b, size_t n)
{
	const unsigned char *p;

	return codec_buf_read_ptr(b, n, &p);
}

bool codec_buf_read_until(codec_buf_t *b, unsigned char delim, const unsigned char **p, size_t *n)
{
	size_t avail = b->wpos - b->rpos;
	const unsigned char *start = at(b, b->rpos);
	const unsigned char *d = avail ? memchr(start, delim, avail) : NULL;

	if (!d)
		return false;
	*p = start;
	*n = (size_t)(d - start);
	b->rpos += *n + 1;
	return true;
}

bool codec_buf_read_hex(codec_buf_t *b, size_t n, unsigned flags, codec_buf_t *out)
{
	size_t len;

	if (n > b->wpos - b->rpos || out->readonly)
		return false;
	if (!codec_hex_decode((const char *)at(b, b->rpos), n, flags, at(out, out->wpos),
	                      out->size - out->wpos, &len))
		return false;
	out->wpos += len;
	b->rpos += n;
	return true;
}

bool codec_buf_read_b64(codec_buf_t *b, size_t n, unsigned flags, codec_buf_t *out)
{
	size_t len;

	if (n > b->wpos - b->rpos || out->readonly)
		return false;
	if (!codec_b64_decode((const char *)at(b, b->rpos), n, flags, at(out, out->wpos),
	                      out->size - out->wpos, &len))
		return false;
	out->wpos += len;
	b->rpos += n;
	return true;
}

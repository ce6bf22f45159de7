/* libFuzzer target: module/core/codec.c.
 *
 * The first input byte picks the flags and the operation, the rest is
 * the text (or the bytes) to work on, copied into an allocation of
 * exactly its size so that ASan sees any read past the length.  Checked
 * beyond "no crash":
 *   - whatever hex or base64 text is accepted decodes to bytes that
 *     encode back to the same text, modulo what the flags allow (case,
 *     ':' separators, optional padding, line breaks): one text per value;
 *   - any bytes encode and decode back to themselves;
 *   - decoded output never exceeds outmax (written into an allocation of
 *     exactly outmax bytes);
 *   - a program of buffer operations taken from the input keeps
 *     rpos <= wpos <= size and never writes past the bound.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void fuzz_hex(const char *t, size_t n, unsigned flags, size_t outmax)
{
	unsigned char *out = malloc(outmax ? outmax : 1);
	size_t len = 0;

	if (!out)
		return;
	if (codec_hex_decode(t, n, flags, out, outmax, &len)) {
		char *back = malloc(CODEC_HEX_SIZE(len));
		size_t j = 0;
		check(len <= outmax && len <= n / 2);
		check(back && codec_hex_encode(back, CODEC_HEX_SIZE(len), out, len));
		/* the text without separators, lower-cased, is the encoding */
		for (size_t i = 0; i < n; i++) {
			if (t[i] == ':') {
				check(flags & CODEC_HEX_COLONS);
				continue;
			}
			if (t[i] >= 'A' && t[i] <= 'F')
				check(flags & CODEC_HEX_UPPER);
			check(back[j++] == lower(t[i]));
		}
		check(j == 2 * len && back[j] == '\0');
		free(back);
	}
	free(out);
}

static void fuzz_b64(const char *t, size_t n, unsigned flags, size_t outmax)
{
	unsigned char *out = malloc(outmax ? outmax : 1);
	size_t len = 0;

	if (!out)
		return;
	if (codec_b64_decode(t, n, flags, out, outmax, &len)) {
		/* what was accepted, without line breaks */
		char *clean = malloc(n + 1);
		size_t c = 0;
		bool padded = false;
		check(clean != NULL);
		for (size_t i = 0; i < n; i++) {
			if (t[i] == '\n' || t[i] == '\r') {
				check(flags & CODEC_B64_SKIP_NEWLINES);
				continue;
			}
			padded |= t[i] == '=';
			clean[c++] = t[i];
		}
		check(!padded || !(flags & CODEC_B64_PAD_NONE));
		check(len <= outmax && len <= c / 4 * 3 + 2);
		unsigned eflags =
		        (flags & CODEC_B64_URL) | (padded || len % 3 == 0 ? 0 : CODEC_B64_PAD_NONE);
		char *back = codec_b64_encode_alloc(out, len, eflags);
		check(back && strlen(back) == c && !memcmp(back, clean, c));
		free(back);
		free(clean);
	}
	free(out);
}

static void fuzz_roundtrip(const unsigned char *d, size_t n, unsigned flags)
{
	unsigned eflags = flags & (CODEC_B64_URL | CODEC_B64_PAD_NONE);
	char *t = codec_b64_encode_alloc(d, n, eflags);
	unsigned char *back = malloc(n ? n : 1);
	size_t len = 0;

	check(t && back);
	check(strlen(t) == codec_b64_encoded_len(n, eflags));
	check(codec_b64_decode(t, strlen(t), eflags, back, n, &len) && len == n);
	check(n == 0 || memcmp(back, d, n) == 0);
	if (n && codec_b64_decode(t, strlen(t), eflags, back, n - 1, &len))
		abort(); /* one byte short must fail */
	free(t);

	char *h = malloc(CODEC_HEX_SIZE(n));
	check(h && codec_hex_encode(h, CODEC_HEX_SIZE(n), d, n));
	check(codec_hex_decode(h, 2 * n, 0, back, n, &len) && len == n);
	check(n == 0 || memcmp(back, d, n) == 0);
	free(h);
	free(back);
}

/* Buffer program: each step is one byte (operation, and a length from
 * the next byte); data for writes comes from the input itself. */
static void fuzz_buf(const unsigned char *d, size_t n)
{
	enum { SIZE = 64 };
	unsigned char *mem = malloc(SIZE), *dst = malloc(16);
	codec_buf_t b, ro, out;
	const unsigned char *p;
	size_t len;

	if (!mem || !dst)
		abort();
	codec_buf_init(&b, mem, SIZE);
	codec_buf_reader(&ro, d, n);
	for (size_t i = 0; i + 1 < n; i += 2) {
		size_t k = d[i + 1] % 80; /* sometimes past the bound */
		size_t avail = n - i - 2 < k ? n - i - 2 : k;
		size_t w0 = b.wpos, r0 = b.rpos;
		bool ok = false;
		switch (d[i] % 12) {
		case 0: ok = codec_buf_write(&b, d + i + 2, avail); break;
		case 1: ok = codec_buf_write_byte(&b, d[i + 1]); break;
		case 2: ok = codec_buf_write_hex(&b, d + i + 2, avail); break;
		case 3: ok = codec_buf_write_b64(&b, d + i + 2, avail, d[i + 1] & 3); break;
		case 4: ok = codec_buf_terminate(&b); break;
		case 5: ok = codec_buf_read(&b, dst, k % 16); break;
		case 6: ok = codec_buf_skip(&b, k); break;
		case 7: ok = codec_buf_read_ptr(&b, k, &p); break;
		case 8: ok = codec_buf_read_until(&b, d[i + 1], &p, &len); break;
		case 9:
			codec_buf_init(&out, dst, 16);
			ok = codec_buf_read_hex(&b, k, d[i + 1] & 3, &out);
			check(out.wpos <= out.size);
			break;
		case 10:
			codec_buf_init(&out, dst, 16);
			ok = codec_buf_read_b64(&b, k, d[i + 1] & 15, &out);
			check(out.wpos <= out.size);
			break;
		case 11:
			/* the read-only view of the input: reads fine, writes never */
			check(!codec_buf_write_byte(&ro, 0));
			ok = codec_buf_read_until(&ro, d[i + 1], &p, &len);
			check(ro.rpos <= ro.wpos && ro.wpos == ro.size && ro.size == n);
			break;
		}
		check(b.rpos <= b.wpos && b.wpos <= b.size && b.size == SIZE);
		if (!ok && d[i] % 12 != 11)
			check(b.wpos == w0 && b.rpos == r0); /* failed calls move nothing */
	}
	free(mem);
	free(dst);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	unsigned sel = data[0];
	size_t n = size - 1;
	/* the text in an allocation of exactly its size, no NUL after it */
	char *t = malloc(n ? n : 1);

	if (!t)
		return 0;
	memcpy(t, data + 1, n);
	switch (sel >> 5) {
	case 0:
	case 1: fuzz_hex(t, n, sel & 3, (sel >> 2) & 1 ? n / 4 : n); break;
	case 2:
	case 3:
	case 4: fuzz_b64(t, n, sel & 15, (sel >> 4) & 1 ? n / 2 : n); break;
	case 5:
	case 6: fuzz_roundtrip((const unsigned char *)t, n, sel); break;
	default: fuzz_buf((const unsigned char *)t, n); break;
	}
	free(t);
	return 0;
}

/* signgate: the one codec — hex, base64 / base64url, and a bounded buffer.
 *
 * Every text encoding the module and the tools read or write goes through
 * here, so that there is one set of rules for what is accepted:
 *
 *  - hex is written in lower case; read strictly (even length, hex digits
 *    only), with upper case and ':' between bytes accepted only where a
 *    caller asks for it (CODEC_HEX_*), because some texts (audit chains)
 *    must have exactly one spelling and others (config fingerprints
 *    copied from other tools) traditionally had more.
 *  - base64 / base64url are read strictly: only the chosen alphabet, no
 *    length an encoder cannot produce, zero unused bits in the last
 *    character, padding as the caller says (CODEC_B64_*).
 *  - codec_buf_t is a fixed-size buffer with a read and a write cursor in
 *    the spirit of s2n-tls's stuffer: no function ever reads or writes
 *    outside [0, size), and each says whether it did what was asked; the
 *    result must be looked at (warn_unused_result), and a failed call
 *    leaves the cursors where they were.
 *
 * Pure: no I/O, no clock; only codec_b64_encode_alloc allocates.
 */
#ifndef SIGNGATE_CODEC_H
#define SIGNGATE_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#define CODEC_MUST_CHECK __attribute__((warn_unused_result))

/* --- hex ------------------------------------------------------------------ */

/* Bytes of text for n bytes, with the terminating NUL. */
#define CODEC_HEX_SIZE(n) (2 * (size_t)(n) + 1)

enum {
	CODEC_HEX_UPPER = 1u << 0,  /* also accept 'A'..'F' */
	CODEC_HEX_COLONS = 1u << 1, /* one ':' may follow any byte but the last ("0a:1b") */
};

/* Lower-case hex of in[0..n) and a NUL into out[0..outsize).  If it does
 * not fit, out is "" (when outsize > 0) and the result false. */
bool codec_hex_encode(char *out, size_t outsize, const void *in, size_t n);

/* The value of one hex digit (either case), -1 for anything else. */
int codec_hex_digit(int c);

/* Decode in[0..n) (not NUL-terminated; a NUL inside is a bad digit) into
 * out[0..outmax); *outlen gets the byte count.  False, with out
 * unspecified, on an odd number of digits, a character that is not a
 * digit (or an upper-case one without CODEC_HEX_UPPER, or a misplaced
 * ':'), or more than outmax bytes.  Empty input is 0 bytes. */
CODEC_MUST_CHECK bool codec_hex_decode(const char *in, size_t n, unsigned flags, unsigned char *out,
                                       size_t outmax, size_t *outlen);

/* --- base64 --------------------------------------------------------------- */

enum {
	CODEC_B64_URL = 1u << 0,           /* '-' '_' instead of '+' '/' (RFC 4648 section 5) */
	CODEC_B64_PAD_NONE = 1u << 1,      /* decode: '=' is an error; encode: write none */
	CODEC_B64_PAD_REQUIRED = 1u << 2,  /* decode: length must be a multiple of 4 */
	CODEC_B64_SKIP_NEWLINES = 1u << 3, /* decode: ignore '\n' and '\r' (armored blocks) */
};
/* Without PAD_NONE or PAD_REQUIRED, padding is optional when decoding, but
 * if present it must be exactly the padding an encoder writes (one or two
 * '=' completing the last group of four), and the encoder writes it. */

/* Characters (without NUL) of the encoding of n bytes. */
size_t codec_b64_encoded_len(size_t n, unsigned flags);

/* Encode into out[0..outsize) with a NUL; false (out "" when outsize > 0)
 * if it does not fit. */
bool codec_b64_encode(char *out, size_t outsize, const void *in, size_t n, unsigned flags);

/* The same into a malloc'd string; NULL if out of memory. */
char *codec_b64_encode_alloc(const void *in, size_t n, unsigned flags);

/* Decode in[0..n) into out[0..outmax); *outlen gets the byte count.  False
 * on a character outside the alphabet (a NUL included), a length no
 * encoder writes, non-zero unused bits, padding the flags do not allow or
 * that is not exactly right, data after padding, or more than outmax
 * bytes.  Empty input is 0 bytes. */
CODEC_MUST_CHECK bool codec_b64_decode(const char *in, size_t n, unsigned flags, unsigned char *out,
                                       size_t outmax, size_t *outlen);

/* Is c in the alphabet (padding not included)? */
bool codec_b64_char(int c, unsigned flags);

/* --- bounded buffer ------------------------------------------------------- */

/* data[0..size) is the bound.  Bytes [rpos, wpos) have been written and
 * not yet read; rpos <= wpos <= size always holds.  A buffer made with
 * codec_buf_reader() is read-only: writes fail. */
typedef struct codec_buf {
	unsigned char *data;
	size_t size;
	size_t rpos, wpos;
	bool readonly;
} codec_buf_t;

/* An empty buffer over data[0..size) to write into. */
void codec_buf_init(codec_buf_t *b, void *data, size_t size);
/* A full, read-only buffer over the n bytes at data. */
void codec_buf_reader(codec_buf_t *b, const void *data, size_t n);

static inline size_t codec_buf_unread(const codec_buf_t *b)
{
	return b->wpos - b->rpos;
}
static inline size_t codec_buf_space(const codec_buf_t *b)
{
	return b->size - b->wpos;
}

/* Writing: all or nothing. */
CODEC_MUST_CHECK bool codec_buf_write(codec_buf_t *b, const void *p, size_t n);
CODEC_MUST_CHECK bool codec_buf_write_byte(codec_buf_t *b, unsigned char c);
CODEC_MUST_CHECK bool codec_buf_write_str(codec_buf_t *b, const char *s); /* without its NUL */
CODEC_MUST_CHECK bool codec_buf_write_hex(codec_buf_t *b, const void *p, size_t n);
CODEC_MUST_CHECK bool codec_buf_write_b64(codec_buf_t *b, const void *p, size_t n, unsigned flags);
/* A NUL after the written bytes, not counted as written (the buffer can
 * then be used as a C string); false if there is no room for it. */
CODEC_MUST_CHECK bool codec_buf_terminate(codec_buf_t *b);

/* Reading: all or nothing. */
CODEC_MUST_CHECK bool codec_buf_read(codec_buf_t *b, void *out, size_t n);
CODEC_MUST_CHECK bool codec_buf_skip(codec_buf_t *b, size_t n);
/* Point *p at the next n unread bytes and consume them. */
CODEC_MUST_CHECK bool codec_buf_read_ptr(codec_buf_t *b, size_t n, const unsigned char **p);
/* The bytes up to (not including) the next delim: *p, *n; the delimiter
 * is consumed too.  False, consuming nothing, if there is no delim. */
CODEC_MUST_CHECK bool codec_buf_read_until(codec_buf_t *b, unsigned char delim,
                                           const unsigned char **p, size_t *n);
/* Decode the next n unread bytes as hex / base64 and append the result to
 * out; on false nothing is consumed from b and out's cursors are as they
 * were (bytes past out's write cursor may have been scribbled on). */
CODEC_MUST_CHECK bool codec_buf_read_hex(codec_buf_t *b, size_t n, unsigned flags,
                                         codec_buf_t *out);
CODEC_MUST_CHECK bool codec_buf_read_b64(codec_buf_t *b, size_t n, unsigned flags,
                                         codec_buf_t *out);

#endif

/* Unit tests for module/core/codec.c: hex, base64 / base64url and the
 * bounded buffer, every rejection the callers rely on, and the callers'
 * own acceptance rules that now go through the codec (credentials,
 * fingerprints, the CKM / CKR name tables). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <p11-kit/pkcs11.h>

#include "codec.h"
#include "mech.h"
#include "policy.h"
#include "spki.h"

/* --- hex ------------------------------------------------------------------ */

static void test_hex_encode(void **state)
{
	(void)state;
	static const unsigned char in[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	char out[CODEC_HEX_SIZE(sizeof in)];

	assert_true(codec_hex_encode(out, sizeof out, in, sizeof in));
	assert_string_equal(out, "00017f80abff");
	/* exactly the room needed: 2n digits and the NUL */
	char exact[5];
	assert_true(codec_hex_encode(exact, sizeof exact, in + 4, 2));
	assert_string_equal(exact, "abff");
	/* one byte short: nothing but "" */
	memset(exact, 'x', sizeof exact);
	assert_false(codec_hex_encode(exact, 4, in + 4, 2));
	assert_string_equal(exact, "");
	/* no room at all: nothing written */
	assert_false(codec_hex_encode(exact, 0, in, 1));
	/* empty input */
	assert_true(codec_hex_encode(out, sizeof out, in, 0));
	assert_string_equal(out, "");
}

static void test_hex_roundtrip(void **state)
{
	(void)state;
	unsigned char all[256], back[256];
	char text[CODEC_HEX_SIZE(256)];
	size_t n = 0;

	for (int i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	assert_true(codec_hex_encode(text, sizeof text, all, sizeof all));
	assert_int_equal(strlen(text), 512);
	assert_true(codec_hex_decode(text, 512, 0, back, sizeof back, &n));
	assert_int_equal(n, 256);
	assert_memory_equal(all, back, 256);
	/* empty is zero bytes */
	assert_true(codec_hex_decode("", 0, 0, back, sizeof back, &n));
	assert_int_equal(n, 0);
	assert_true(codec_hex_decode(NULL, 0, 0, NULL, 0, &n));
	assert_int_equal(n, 0);
}

static void test_hex_rejects(void **state)
{
	(void)state;
	unsigned char out[8];
	size_t n = 99;

	/* odd length */
	assert_false(codec_hex_decode("abc", 3, 0, out, sizeof out, &n));
	assert_false(
	        codec_hex_decode("a", 1, CODEC_HEX_UPPER | CODEC_HEX_COLONS, out, sizeof out, &n));
	/* not a digit, in either position */
	assert_false(codec_hex_decode("0g", 2, 0, out, sizeof out, &n));
	assert_false(codec_hex_decode("g0", 2, 0, out, sizeof out, &n));
	assert_false(codec_hex_decode(" 0", 2, CODEC_HEX_UPPER, out, sizeof out, &n));
	assert_false(codec_hex_decode("+f", 2, CODEC_HEX_UPPER, out, sizeof out, &n));
	assert_false(codec_hex_decode("0x", 2, CODEC_HEX_UPPER, out, sizeof out, &n));
	/* embedded NUL: the length says 4, the NUL is not a digit */
	assert_false(codec_hex_decode("ab\0c", 4, CODEC_HEX_UPPER, out, sizeof out, &n));
	assert_false(codec_hex_decode("a\0", 2, 0, out, sizeof out, &n));
	/* upper case only when asked for */
	assert_false(codec_hex_decode("AB", 2, 0, out, sizeof out, &n));
	assert_false(codec_hex_decode("aB", 2, CODEC_HEX_COLONS, out, sizeof out, &n));
	assert_true(codec_hex_decode("aB", 2, CODEC_HEX_UPPER, out, sizeof out, &n));
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 0xab);
	/* overlong output: one byte more than outmax */
	assert_true(codec_hex_decode("0102", 4, 0, out, 2, &n));
	assert_false(codec_hex_decode("010203", 6, 0, out, 2, &n));
	assert_false(codec_hex_decode("01", 2, 0, out, 0, &n));
	assert_int_equal(n, 2); /* a failed call leaves *outlen alone */
}

static void test_hex_colons(void **state)
{
	(void)state;
	unsigned char out[8];
	size_t n;
	const unsigned f = CODEC_HEX_UPPER | CODEC_HEX_COLONS;

	assert_true(codec_hex_decode("0a:1B:2c", 8, f, out, sizeof out, &n));
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 0x0a);
	assert_int_equal(out[1], 0x1b);
	assert_int_equal(out[2], 0x2c);
	/* separators optional per byte, as config key ids always were */
	assert_true(codec_hex_decode("0a1b:2c", 7, f, out, sizeof out, &n));
	assert_int_equal(n, 3);
	/* only between bytes: not leading, trailing, doubled, or inside a byte */
	assert_false(codec_hex_decode(":0a", 3, f, out, sizeof out, &n));
	assert_false(codec_hex_decode("0a:", 3, f, out, sizeof out, &n));
	assert_false(codec_hex_decode("0a::1b", 6, f, out, sizeof out, &n));
	assert_false(codec_hex_decode("0:a1b", 5, f, out, sizeof out, &n));
	assert_false(codec_hex_decode(":", 1, f, out, sizeof out, &n));
	/* and not at all without the flag */
	assert_false(codec_hex_decode("0a:1b", 5, CODEC_HEX_UPPER, out, sizeof out, &n));
}

static void test_hex_digit(void **state)
{
	(void)state;
	assert_int_equal(codec_hex_digit('0'), 0);
	assert_int_equal(codec_hex_digit('9'), 9);
	assert_int_equal(codec_hex_digit('a'), 10);
	assert_int_equal(codec_hex_digit('F'), 15);
	assert_int_equal(codec_hex_digit('g'), -1);
	assert_int_equal(codec_hex_digit(0), -1);
	assert_int_equal(codec_hex_digit(0xff), -1);
	assert_int_equal(codec_hex_digit(-1), -1);
}

/* --- base64 --------------------------------------------------------------- */

/* RFC 4648 section 10 */
static const struct {
	const char *in, *std, *url_nopad;
} rfc4648[] = {
	{ "", "", "" },
	{ "f", "Zg==", "Zg" },
	{ "fo", "Zm8=", "Zm8" },
	{ "foo", "Zm9v", "Zm9v" },
	{ "foob", "Zm9vYg==", "Zm9vYg" },
	{ "fooba", "Zm9vYmE=", "Zm9vYmE" },
	{ "foobar", "Zm9vYmFy", "Zm9vYmFy" },
};

static void test_b64_vectors(void **state)
{
	(void)state;
	char out[16];
	unsigned char dec[16];
	size_t n;
	const unsigned url = CODEC_B64_URL | CODEC_B64_PAD_NONE;

	for (size_t i = 0; i < sizeof rfc4648 / sizeof rfc4648[0]; i++) {
		const char *in = rfc4648[i].in;
		size_t len = strlen(in);
		assert_int_equal(codec_b64_encoded_len(len, 0), strlen(rfc4648[i].std));
		assert_int_equal(codec_b64_encoded_len(len, url), strlen(rfc4648[i].url_nopad));
		assert_true(codec_b64_encode(out, sizeof out, in, len, 0));
		assert_string_equal(out, rfc4648[i].std);
		assert_true(codec_b64_encode(out, sizeof out, in, len, url));
		assert_string_equal(out, rfc4648[i].url_nopad);
		/* padded text: fine by default and when required */
		assert_true(codec_b64_decode(rfc4648[i].std, strlen(rfc4648[i].std), 0, dec,
		                             sizeof dec, &n));
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
		assert_true(codec_b64_decode(rfc4648[i].std, strlen(rfc4648[i].std),
		                             CODEC_B64_PAD_REQUIRED, dec, sizeof dec, &n));
		/* unpadded: fine by default and with PAD_NONE */
		assert_true(codec_b64_decode(rfc4648[i].url_nopad, strlen(rfc4648[i].url_nopad), 0,
		                             dec, sizeof dec, &n));
		assert_int_equal(n, len);
		assert_true(codec_b64_decode(rfc4648[i].url_nopad, strlen(rfc4648[i].url_nopad),
		                             url, dec, sizeof dec, &n));
		assert_int_equal(n, len);
		assert_memory_equal(dec, in, len);
		if (len % 3) {
			/* padding where it is forbidden, none where it is required */
			assert_false(codec_b64_decode(rfc4648[i].std, strlen(rfc4648[i].std), url,
			                              dec, sizeof dec, &n));
			assert_false(codec_b64_decode(rfc4648[i].url_nopad,
			                              strlen(rfc4648[i].url_nopad),
			                              CODEC_B64_PAD_REQUIRED, dec, sizeof dec, &n));
		}
	}
	/* the two alphabets differ in 62 and 63 */
	static const unsigned char hi[] = { 0xfb, 0xff, 0xbf };
	assert_true(codec_b64_encode(out, sizeof out, hi, 3, 0));
	assert_string_equal(out, "+/+/");
	assert_true(codec_b64_encode(out, sizeof out, hi, 3, CODEC_B64_URL));
	assert_string_equal(out, "-_-_");
	assert_false(codec_b64_decode("+/+/", 4, CODEC_B64_URL, dec, sizeof dec, &n));
	assert_false(codec_b64_decode("-_-_", 4, 0, dec, sizeof dec, &n));
	assert_true(codec_b64_char('-', CODEC_B64_URL));
	assert_false(codec_b64_char('-', 0));
	assert_false(codec_b64_char('=', 0));
}

static void test_b64_roundtrip(void **state)
{
	(void)state;
	static const unsigned flag_sets[] = {
		0,
		CODEC_B64_PAD_NONE,
		CODEC_B64_URL,
		CODEC_B64_URL | CODEC_B64_PAD_NONE,
	};
	unsigned char in[100], dec[100];
	char text[200];
	size_t n;

	for (size_t i = 0; i < sizeof in; i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (size_t f = 0; f < sizeof flag_sets / sizeof flag_sets[0]; f++) {
		for (size_t len = 0; len <= sizeof in; len++) {
			unsigned flags = flag_sets[f];
			assert_true(codec_b64_encode(text, sizeof text, in, len, flags));
			assert_int_equal(strlen(text), codec_b64_encoded_len(len, flags));
			assert_true(
			        codec_b64_decode(text, strlen(text), flags, dec, sizeof dec, &n));
			assert_int_equal(n, len);
			assert_memory_equal(in, dec, len);
			/* exactly the room needed, and one byte less */
			assert_true(codec_b64_decode(text, strlen(text), flags, dec, len, &n));
			if (len)
				assert_false(codec_b64_decode(text, strlen(text), flags, dec,
				                              len - 1, &n));
			char *a = codec_b64_encode_alloc(in, len, flags);
			assert_non_null(a);
			assert_string_equal(a, text);
			free(a);
		}
	}
}

static void test_b64_rejects(void **state)
{
	(void)state;
	unsigned char out[16];
	size_t n;
	char text[8];

	/* a length no encoder writes: one digit left over */
	assert_false(codec_b64_decode("Z", 1, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm9vY", 5, CODEC_B64_URL, out, sizeof out, &n));
	assert_false(codec_b64_decode("Z===", 4, 0, out, sizeof out, &n));
	/* non-zero unused bits: "Zg" is f, "Zh" would be f too */
	assert_false(codec_b64_decode("Zh", 2, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zh==", 4, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm9=", 4, 0, out, sizeof out, &n));
	/* padding that is not exactly right */
	assert_false(codec_b64_decode("Zg=", 3, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zg===", 5, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm8==", 5, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm9v=", 5, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm9v====", 8, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("=", 1, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("==", 2, 0, out, sizeof out, &n));
	/* data after padding */
	assert_false(codec_b64_decode("Zg==Zg==", 8, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm8=v", 5, 0, out, sizeof out, &n));
	/* padding where forbidden */
	assert_false(codec_b64_decode("Zg==", 4, CODEC_B64_PAD_NONE, out, sizeof out, &n));
	/* outside the alphabet, NUL included */
	assert_false(codec_b64_decode("Zm 9v", 5, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm9v\0", 5, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm\0v", 4, 0, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm.v", 4, CODEC_B64_URL, out, sizeof out, &n));
	assert_false(codec_b64_decode("Zm9v\xc3\xa4", 6, 0, out, sizeof out, &n));
	/* line breaks only when asked for */
	assert_false(codec_b64_decode("Zm9v\nYmFy", 9, 0, out, sizeof out, &n));
	assert_true(codec_b64_decode("Zm9v\nYmE=\r\n", 11, CODEC_B64_SKIP_NEWLINES, out, sizeof out,
	                             &n));
	assert_int_equal(n, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_false(
	        codec_b64_decode("Zm9v\tYmFy", 9, CODEC_B64_SKIP_NEWLINES, out, sizeof out, &n));
	/* overlong output */
	assert_false(codec_b64_decode("Zm9vYmFy", 8, 0, out, 5, &n));
	assert_false(codec_b64_decode("Zg", 2, 0, out, 0, &n));
	/* encoding that does not fit */
	memset(text, 'x', sizeof text);
	assert_false(codec_b64_encode(text, 4, "f", 1, 0)); /* "Zg==" + NUL is 5 */
	assert_string_equal(text, "");
	assert_true(codec_b64_encode(text, 5, "f", 1, 0));
	assert_true(codec_b64_encode(text, 3, "f", 1, CODEC_B64_PAD_NONE));
	assert_string_equal(text, "Zg");
	assert_false(codec_b64_encode(text, 0, "f", 1, 0));
	/* lengths that would overflow */
	assert_int_equal(codec_b64_encoded_len(SIZE_MAX, 0), SIZE_MAX);
	assert_null(codec_b64_encode_alloc("", SIZE_MAX, 0));
}

/* --- bounded buffer ------------------------------------------------------- */

static void test_buf_write_bound(void **state)
{
	(void)state;
	unsigned char mem[8];
	codec_buf_t b;

	memset(mem, 0xee, sizeof mem);
	codec_buf_init(&b, mem, 6);
	assert_int_equal(codec_buf_space(&b), 6);
	assert_true(codec_buf_write(&b, "abcd", 4));
	/* all or nothing: 3 bytes do not fit into 2, the cursor stays */
	assert_false(codec_buf_write(&b, "xyz", 3));
	assert_int_equal(b.wpos, 4);
	assert_false(codec_buf_write_str(&b, "xyz"));
	assert_true(codec_buf_write_byte(&b, 'e'));
	assert_true(codec_buf_write_str(&b, "f"));
	assert_false(codec_buf_write_byte(&b, 'g'));
	assert_false(codec_buf_terminate(&b)); /* no room for a NUL */
	assert_int_equal(codec_buf_unread(&b), 6);
	assert_memory_equal(mem, "abcdef", 6);
	assert_int_equal(mem[6], 0xee); /* never past the bound */
	assert_int_equal(mem[7], 0xee);
	/* zero-length writes always succeed, even when full */
	assert_true(codec_buf_write(&b, NULL, 0));

	/* hex and base64 into the buffer, all or nothing as well */
	codec_buf_init(&b, mem, sizeof mem);
	assert_true(codec_buf_write_hex(&b, "\x01\xff", 2));
	assert_false(codec_buf_write_hex(&b, "\x01\x02", 2)); /* 4 digits + NUL > 4 left */
	assert_int_equal(b.wpos, 4);
	assert_true(codec_buf_terminate(&b));
	assert_string_equal((char *)mem, "01ff");
	codec_buf_init(&b, mem, sizeof mem);
	assert_true(codec_buf_write_b64(&b, "foo", 3, 0));
	assert_false(codec_buf_write_b64(&b, "f", 1, 0)); /* "Zg==" + NUL > 4 left */
	assert_true(codec_buf_write_b64(&b, "f", 1, CODEC_B64_PAD_NONE));
	assert_true(codec_buf_terminate(&b));
	assert_string_equal((char *)mem, "Zm9vZg");
	assert_int_equal(mem[7], 0xee);

	/* a buffer over nothing */
	codec_buf_init(&b, NULL, 10);
	assert_int_equal(b.size, 0);
	assert_false(codec_buf_write_byte(&b, 'a'));
	assert_false(codec_buf_terminate(&b));
}

static void test_buf_read_bound(void **state)
{
	(void)state;
	static const char text[] = "ab.cd..e";
	codec_buf_t b;
	const unsigned char *p;
	size_t n;
	char out[8];

	codec_buf_reader(&b, text, strlen(text));
	/* a reader is full and read-only */
	assert_int_equal(codec_buf_unread(&b), 8);
	assert_false(codec_buf_write_byte(&b, 'x'));
	assert_false(codec_buf_terminate(&b));

	assert_true(codec_buf_read_until(&b, '.', &p, &n));
	assert_int_equal(n, 2);
	assert_memory_equal(p, "ab", 2);
	assert_true(codec_buf_read_until(&b, '.', &p, &n));
	assert_memory_equal(p, "cd", 2);
	assert_true(codec_buf_read_until(&b, '.', &p, &n));
	assert_int_equal(n, 0); /* an empty part */
	/* no delimiter left: false, nothing consumed */
	assert_false(codec_buf_read_until(&b, '.', &p, &n));
	assert_int_equal(codec_buf_unread(&b), 1);
	/* reading past the end: false, nothing consumed */
	assert_false(codec_buf_read(&b, out, 2));
	assert_false(codec_buf_skip(&b, 2));
	assert_false(codec_buf_read_ptr(&b, 2, &p));
	assert_int_equal(codec_buf_unread(&b), 1);
	assert_true(codec_buf_read(&b, out, 1));
	assert_int_equal(out[0], 'e');
	assert_int_equal(codec_buf_unread(&b), 0);
	assert_true(codec_buf_read(&b, out, 0));
	assert_false(codec_buf_skip(&b, 1));
	assert_false(codec_buf_read_until(&b, '.', &p, &n));

	/* SIZE_MAX never wraps the cursor */
	codec_buf_reader(&b, text, strlen(text));
	assert_true(codec_buf_skip(&b, 1));
	assert_false(codec_buf_skip(&b, SIZE_MAX));
	assert_false(codec_buf_read_ptr(&b, SIZE_MAX, &p));
	assert_int_equal(b.rpos, 1);

	/* an empty reader */
	codec_buf_reader(&b, NULL, 5);
	assert_int_equal(codec_buf_unread(&b), 0);
	assert_false(codec_buf_read_until(&b, '.', &p, &n));
	assert_true(codec_buf_read_ptr(&b, 0, &p));
}

static void test_buf_decode(void **state)
{
	(void)state;
	static const char text[] = "0aff.Zm9v.Zg==";
	unsigned char mem[5];
	codec_buf_t in, out;

	memset(mem, 0, sizeof mem);
	codec_buf_reader(&in, text, strlen(text));
	codec_buf_init(&out, mem, 4);
	assert_true(codec_buf_read_hex(&in, 4, 0, &out));
	assert_int_equal(out.wpos, 2);
	assert_true(codec_buf_skip(&in, 1));
	/* "foo" is 3 bytes, 2 left: false, neither cursor moves */
	assert_false(codec_buf_read_b64(&in, 4, 0, &out));
	assert_int_equal(in.rpos, 5);
	assert_int_equal(out.wpos, 2);
	assert_int_equal(mem[4], 0); /* never past the bound */
	assert_true(codec_buf_skip(&in, 5));
	assert_true(codec_buf_read_b64(&in, 4, 0, &out));
	assert_int_equal(out.wpos, 3);
	assert_memory_equal(mem,
	                    "\x0a\xff"
	                    "f",
	                    3);
	/* more than is unread */
	assert_false(codec_buf_read_hex(&in, 1, 0, &out));
	/* into a read-only buffer */
	codec_buf_t ro;
	codec_buf_reader(&in, "00", 2);
	codec_buf_reader(&ro, mem, sizeof mem);
	assert_false(codec_buf_read_hex(&in, 2, 0, &ro));
	/* bad text consumes nothing */
	codec_buf_reader(&in, "0g", 2);
	codec_buf_init(&out, mem, sizeof mem);
	assert_false(codec_buf_read_hex(&in, 2, 0, &out));
	assert_int_equal(in.rpos, 0);
	assert_int_equal(out.wpos, 0);
}

/* --- the callers' rules ---------------------------------------------------- */

static void test_credential_base64(void **state)
{
	(void)state;
	char cred[160];

	assert_int_equal(policy_credential_hash_iter("s3cret", 1000, cred, sizeof cred), 0);
	assert_true(policy_credential_parse(cred, NULL, NULL, NULL, NULL, NULL));
	/* the same hash without its padding is still accepted */
	char nopad[160];
	size_t j = 0;
	for (size_t i = 0; cred[i]; i++)
		if (cred[i] != '=')
			nopad[j++] = cred[i];
	nopad[j] = '\0';
	assert_true(policy_credential_parse(nopad, NULL, NULL, NULL, NULL, NULL));
	/* extra padding is not (it was before the codec: any number of '=') */
	char extra[170];
	snprintf(extra, sizeof extra, "%s==", cred);
	assert_false(policy_credential_parse(extra, NULL, NULL, NULL, NULL, NULL));
}

static void test_spki_fingerprint_text(void **state)
{
	(void)state;
	unsigned char fp[32];
	char out[72], small[71];

	for (int i = 0; i < 32; i++)
		fp[i] = (unsigned char)(0xa0 + i);
	spki_fp_format(fp, out, sizeof out);
	assert_string_equal(
	        out, "sha256:a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
	spki_fp_format(fp, small, sizeof small);
	assert_string_equal(small, "");
}

static void test_name_tables(void **state)
{
	(void)state;
	/* every governed mechanism names itself from the one table */
	for (int m = MECH_UNKNOWN + 1; m < MECH_COUNT; m++) {
		unsigned long ckm = mech_to_ckm((mech_id_t)m);
		const char *cn = mech_ckm_name(ckm);
		assert_int_equal(mech_from_ckm(ckm), m);
		assert_non_null(cn);
		assert_memory_equal(cn, "CKM_", 4);
		/* the CKM_ name is the policy name with '_' for '-' */
		assert_int_equal(mech_from_name(cn), m);
	}
	assert_string_equal(mech_ckm_name(CKM_SHA256_RSA_PKCS_PSS), "CKM_SHA256_RSA_PKCS_PSS");
	assert_string_equal(mech_ckm_name(CKM_EDDSA), "CKM_EDDSA");
	assert_string_equal(mech_ckm_name(CKM_AES_GCM), "CKM_AES_GCM"); /* not governed */
	assert_string_equal(mech_ckm_name(0x7fff0001UL), "CKM_0x7fff0001");
	assert_int_equal(mech_from_ckm(CKM_AES_GCM), MECH_UNKNOWN);
	/* the CK_RV names: the most common denial has one */
	assert_string_equal(ckr_name(CKR_FUNCTION_REJECTED), "CKR_FUNCTION_REJECTED");
	assert_string_equal(ckr_name(CKR_OK), "CKR_OK");
	assert_string_equal(ckr_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	assert_string_equal(ckr_name(CKR_KEY_FUNCTION_NOT_PERMITTED),
	                    "CKR_KEY_FUNCTION_NOT_PERMITTED");
	assert_null(ckr_name(0x12345));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex_encode),
		cmocka_unit_test(test_hex_roundtrip),
		cmocka_unit_test(test_hex_rejects),
		cmocka_unit_test(test_hex_colons),
		cmocka_unit_test(test_hex_digit),
		cmocka_unit_test(test_b64_vectors),
		cmocka_unit_test(test_b64_roundtrip),
		cmocka_unit_test(test_b64_rejects),
		cmocka_unit_test(test_buf_write_bound),
		cmocka_unit_test(test_buf_read_bound),
		cmocka_unit_test(test_buf_decode),
		cmocka_unit_test(test_credential_base64),
		cmocka_unit_test(test_spki_fingerprint_text),
		cmocka_unit_test(test_name_tables),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* libFuzzer target: the data inspector (module/core/inspect.c).
 *
 * The first byte picks the entry point, the rest is its input:
 *   0 DigestInfo (CKM_RSA_PKCS)      1 raw RSA block (CKM_RSA_X_509)
 *   2 raw ECDSA: order size and opt-in mask from two bytes, then the input
 *   3 PSS parameters (hashAlg, mgf, sLen from bytes) and a raw PSS input
 *   4 CMS signed attributes for a hashing mechanism (hash from one byte)
 *   5 CKA_EC_PARAMS -> curve order size
 *   6 mech_digestinfo_parse (the wrapper the tools use)
 * Besides memory errors (ASan/UBSan) it checks what the gate relies on:
 * a refusal never names a hash or a digest; an established hash always
 * has a basis; a DigestInfo's digest ends the input; an accepted raw
 * ECDSA input is a known digest length, no longer than the order unless
 * opted in, and no shorter digest in disguise.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "inspect.h"

static void check(int ok)
{
	if (!ok)
		abort();
}

static void check_common(const inspect_result_t *r)
{
	check(memchr(r->detail, '\0', sizeof(r->detail)) != NULL);
	check(r->digest_len <= sizeof(r->digest));
	if (inspect_refused(r)) {
		check(r->hash == HASH_UNKNOWN);
		check(r->basis == INSPECT_BASIS_NONE);
		check(r->digest_len == 0);
		check(r->detail[0] != '\0');
	}
	check((r->hash == HASH_UNKNOWN) == (r->basis == INSPECT_BASIS_NONE));
}

static unsigned long read_ul(const uint8_t **p, size_t *n)
{
	unsigned long v = 0;
	for (int i = 0; i < 4 && *n; i++, (*p)++, (*n)--)
		v = v << 8 | **p;
	return v;
}

static const unsigned order_sizes[] = { 0, 160, 224, 255, 256, 384, 448, 521 };
static const unsigned long hash_ckms[] = { CKM_SHA_1,  CKM_SHA224, CKM_SHA256,
	                                   CKM_SHA384, CKM_SHA512, CKM_MD5 };
static const unsigned long mgfs[] = { CKG_MGF1_SHA1,   CKG_MGF1_SHA224, CKG_MGF1_SHA256,
	                              CKG_MGF1_SHA384, CKG_MGF1_SHA512, 0 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	inspect_result_t r;

	if (size < 1)
		return 0;
	uint8_t sel = data[0] % 7;
	const uint8_t *p = data + 1;
	size_t n = size - 1;

	switch (sel) {
	case 0:
		inspect_digestinfo(p, n, &r);
		check_common(&r);
		if (r.status == INSPECT_OK) {
			check(r.basis == INSPECT_BASIS_DIGESTINFO);
			check(r.digest_len == hash_len(r.hash) && r.digest_len <= n);
			check(memcmp(r.digest, p + n - r.digest_len, r.digest_len) == 0);
		}
		break;
	case 1:
		inspect_rsa_x509(p, n, &r);
		check_common(&r);
		break;
	case 2: {
		if (n < 2)
			return 0;
		unsigned bits = order_sizes[p[0] % 8];
		uint32_t mask = p[1];
		p += 2;
		n -= 2;
		inspect_ecdsa(p, n, bits, mask, &r);
		check_common(&r);
		if (r.status == INSPECT_OK) {
			size_t used = n * 8 > bits ? (bits + 7) / 8 : n, z = 0;
			check(r.basis == INSPECT_BASIS_INPUT_LENGTH);
			check(hash_len(r.hash) == n);
			check(n * 8 <= bits || (mask & (1u << r.hash)));
			while (z < used && p[z] == 0)
				z++;
			/* no shorter known digest fits behind the leading zeros */
			static const size_t lens[] = { 20, 28, 32, 48, 64 };
			for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
				check(lens[i] >= used || z < used - lens[i]);
		}
		break;
	}
	case 3: {
		if (n < 3)
			return 0;
		unsigned long ckm = hash_ckms[p[0] % 6], mgf = mgfs[p[1] % 6];
		hash_alg_t mh = (hash_alg_t)(p[2] % HASH_COUNT);
		p += 3;
		n -= 3;
		unsigned long slen = read_ul(&p, &n);
		inspect_pss_params(mh, ckm, mgf, slen, &r);
		check_common(&r);
		if (r.status == INSPECT_OK) {
			check(r.basis == INSPECT_BASIS_PSS_PARAMS);
			check(mh == HASH_UNKNOWN || mh == r.hash);
			inspect_pss_input(r.hash, p, n, &r);
			check_common(&r);
			check(r.status != INSPECT_OK || n == hash_len(r.hash));
		}
		break;
	}
	case 4: {
		if (n < 1)
			return 0;
		hash_alg_t mh = (hash_alg_t)(p[0] % HASH_COUNT);
		inspect_cms_attributes(mh, p + 1, n - 1, &r);
		check(memchr(r.detail, '\0', sizeof(r.detail)) != NULL);
		if (inspect_refused(&r)) {
			check(r.hash == HASH_UNKNOWN && r.digest_len == 0);
		} else if (r.status == INSPECT_OK) {
			check(r.digest_len >= 20 && r.digest_len <= 64);
			check(n - 1 >= 2 && p[1] == 0x31);
		} else {
			check(r.digest_len == 0);
		}
		break;
	}
	case 5: {
		unsigned bits = inspect_ec_order_bits(p, n);
		check(bits <= 571);
		break;
	}
	case 6: {
		const unsigned char *dig = NULL;
		hash_alg_t h = mech_digestinfo_parse(p, n, &dig);
		check((h == HASH_UNKNOWN) == (dig == NULL));
		if (dig)
			check(dig + hash_len(h) == p + n);
		break;
	}
	}
	return 0;
}

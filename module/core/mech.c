/* signgate: mechanism names and hash algorithms (see mech.h). */
#include "mech.h"
#include "inspect.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <p11-kit/pkcs11.h>

/* Dense id -> CKM and policy name.  Order follows mech_id_t. */
static const struct mech_entry {
	unsigned long ckm;
	const char *name;
	hash_alg_t fixed_hash;
} mech_table[MECH_COUNT] = {
	[MECH_UNKNOWN]             = { CK_UNAVAILABLE_INFORMATION, "UNKNOWN", HASH_UNKNOWN },
	[MECH_RSA_PKCS]            = { CKM_RSA_PKCS, "RSA-PKCS", HASH_UNKNOWN },
	[MECH_RSA_PKCS_PSS]        = { CKM_RSA_PKCS_PSS, "RSA-PKCS-PSS", HASH_UNKNOWN },
	[MECH_RSA_X_509]           = { CKM_RSA_X_509, "RSA-X-509", HASH_UNKNOWN },
	[MECH_SHA1_RSA_PKCS]       = { CKM_SHA1_RSA_PKCS, "SHA1-RSA-PKCS", HASH_SHA1 },
	[MECH_SHA224_RSA_PKCS]     = { CKM_SHA224_RSA_PKCS, "SHA224-RSA-PKCS", HASH_SHA224 },
	[MECH_SHA256_RSA_PKCS]     = { CKM_SHA256_RSA_PKCS, "SHA256-RSA-PKCS", HASH_SHA256 },
	[MECH_SHA384_RSA_PKCS]     = { CKM_SHA384_RSA_PKCS, "SHA384-RSA-PKCS", HASH_SHA384 },
	[MECH_SHA512_RSA_PKCS]     = { CKM_SHA512_RSA_PKCS, "SHA512-RSA-PKCS", HASH_SHA512 },
	[MECH_SHA1_RSA_PKCS_PSS]   = { CKM_SHA1_RSA_PKCS_PSS, "SHA1-RSA-PKCS-PSS", HASH_SHA1 },
	[MECH_SHA224_RSA_PKCS_PSS] = { CKM_SHA224_RSA_PKCS_PSS, "SHA224-RSA-PKCS-PSS", HASH_SHA224 },
	[MECH_SHA256_RSA_PKCS_PSS] = { CKM_SHA256_RSA_PKCS_PSS, "SHA256-RSA-PKCS-PSS", HASH_SHA256 },
	[MECH_SHA384_RSA_PKCS_PSS] = { CKM_SHA384_RSA_PKCS_PSS, "SHA384-RSA-PKCS-PSS", HASH_SHA384 },
	[MECH_SHA512_RSA_PKCS_PSS] = { CKM_SHA512_RSA_PKCS_PSS, "SHA512-RSA-PKCS-PSS", HASH_SHA512 },
	[MECH_ECDSA]               = { CKM_ECDSA, "ECDSA", HASH_UNKNOWN },
	[MECH_ECDSA_SHA1]          = { CKM_ECDSA_SHA1, "ECDSA-SHA1", HASH_SHA1 },
	[MECH_ECDSA_SHA224]        = { CKM_ECDSA_SHA224, "ECDSA-SHA224", HASH_SHA224 },
	[MECH_ECDSA_SHA256]        = { CKM_ECDSA_SHA256, "ECDSA-SHA256", HASH_SHA256 },
	[MECH_ECDSA_SHA384]        = { CKM_ECDSA_SHA384, "ECDSA-SHA384", HASH_SHA384 },
	[MECH_ECDSA_SHA512]        = { CKM_ECDSA_SHA512, "ECDSA-SHA512", HASH_SHA512 },
	/* EdDSA signs the message itself (pure Ed25519/Ed448). */
	[MECH_EDDSA]               = { CKM_EDDSA, "EDDSA", HASH_NONE },
	/* Not signing mechanisms (mech_uses()). */
	[MECH_RSA_PKCS_OAEP]       = { CKM_RSA_PKCS_OAEP, "RSA-PKCS-OAEP", HASH_UNKNOWN },
	[MECH_ECDH1_DERIVE]        = { CKM_ECDH1_DERIVE, "ECDH1-DERIVE", HASH_UNKNOWN },
	[MECH_ECDH1_COFACTOR_DERIVE] = { CKM_ECDH1_COFACTOR_DERIVE, "ECDH1-COFACTOR-DERIVE", HASH_UNKNOWN },
};

static const struct hash_entry {
	const char *name;
	size_t len;
	/* DER contents of the AlgorithmIdentifier OID (without tag/length). */
	unsigned char oid[9];
	unsigned char oid_len;
} hash_table[HASH_COUNT] = {
	[HASH_UNKNOWN] = { "UNKNOWN", 0, {0}, 0 },
	[HASH_SHA1]   = { "SHA1", 20,
	                  { 0x2b, 0x0e, 0x03, 0x02, 0x1a }, 5 },
	[HASH_SHA224] = { "SHA224", 28,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04 }, 9 },
	[HASH_SHA256] = { "SHA256", 32,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 }, 9 },
	[HASH_SHA384] = { "SHA384", 48,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 }, 9 },
	[HASH_SHA512] = { "SHA512", 64,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 }, 9 },
	[HASH_NONE]   = { "NONE", 0, {0}, 0 },
};

static char ascii_upper(char c)
{
	return (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
}

/* Compare a user-written name with a canonical one: case-insensitive,
 * '_' and '-' interchangeable, so config authors may write either the
 * pkcs11-tool spelling or the PKCS#11 constant's. */
static bool name_eq(const char *user, const char *canon)
{
	for (; *user && *canon; user++, canon++) {
		char a = ascii_upper(*user), b = *canon;
		if (a == '_')
			a = '-';
		if (a != b)
			return false;
	}
	return *user == '\0' && *canon == '\0';
}

/* Like name_eq but ignoring every '-' and '_' ("sha-256" == "SHA256"). */
static bool name_eq_nosep(const char *user, const char *canon)
{
	for (;;) {
		while (*user == '-' || *user == '_')
			user++;
		if (ascii_upper(*user) != *canon)
			return false;
		if (*user == '\0')
			return true;
		user++;
		canon++;
	}
}

mech_id_t mech_from_ckm(unsigned long ckm)
{
	switch (ckm) {
	case CKM_RSA_PKCS:            return MECH_RSA_PKCS;
	case CKM_RSA_PKCS_PSS:        return MECH_RSA_PKCS_PSS;
	case CKM_RSA_X_509:           return MECH_RSA_X_509;
	case CKM_SHA1_RSA_PKCS:       return MECH_SHA1_RSA_PKCS;
	case CKM_SHA224_RSA_PKCS:     return MECH_SHA224_RSA_PKCS;
	case CKM_SHA256_RSA_PKCS:     return MECH_SHA256_RSA_PKCS;
	case CKM_SHA384_RSA_PKCS:     return MECH_SHA384_RSA_PKCS;
	case CKM_SHA512_RSA_PKCS:     return MECH_SHA512_RSA_PKCS;
	case CKM_SHA1_RSA_PKCS_PSS:   return MECH_SHA1_RSA_PKCS_PSS;
	case CKM_SHA224_RSA_PKCS_PSS: return MECH_SHA224_RSA_PKCS_PSS;
	case CKM_SHA256_RSA_PKCS_PSS: return MECH_SHA256_RSA_PKCS_PSS;
	case CKM_SHA384_RSA_PKCS_PSS: return MECH_SHA384_RSA_PKCS_PSS;
	case CKM_SHA512_RSA_PKCS_PSS: return MECH_SHA512_RSA_PKCS_PSS;
	case CKM_ECDSA:               return MECH_ECDSA;
	case CKM_ECDSA_SHA1:          return MECH_ECDSA_SHA1;
	case CKM_ECDSA_SHA224:        return MECH_ECDSA_SHA224;
	case CKM_ECDSA_SHA256:        return MECH_ECDSA_SHA256;
	case CKM_ECDSA_SHA384:        return MECH_ECDSA_SHA384;
	case CKM_ECDSA_SHA512:        return MECH_ECDSA_SHA512;
	case CKM_EDDSA:               return MECH_EDDSA;
	case CKM_RSA_PKCS_OAEP:       return MECH_RSA_PKCS_OAEP;
	case CKM_ECDH1_DERIVE:        return MECH_ECDH1_DERIVE;
	case CKM_ECDH1_COFACTOR_DERIVE: return MECH_ECDH1_COFACTOR_DERIVE;
	default:                      return MECH_UNKNOWN;
	}
}

unsigned long mech_to_ckm(mech_id_t id)
{
	if ((unsigned)id >= MECH_COUNT || id == MECH_UNKNOWN)
		return CK_UNAVAILABLE_INFORMATION;
	return mech_table[id].ckm;
}

mech_id_t mech_from_name(const char *name)
{
	if (name == NULL)
		return MECH_UNKNOWN;
	if (strncasecmp(name, "CKM_", 4) == 0 || strncasecmp(name, "CKM-", 4) == 0)
		name += 4;
	for (int i = MECH_UNKNOWN + 1; i < MECH_COUNT; i++)
		if (name_eq(name, mech_table[i].name))
			return (mech_id_t)i;
	return MECH_UNKNOWN;
}

const char *mech_name(mech_id_t id)
{
	if ((unsigned)id >= MECH_COUNT)
		return mech_table[MECH_UNKNOWN].name;
	return mech_table[id].name;
}

/* Names for the CKM values the audit log and `explain` are likely to
 * meet beyond the governed signing mechanisms: decrypt/unwrap/derive
 * paths that amount to private-key use, digests and key generation. */
static const struct { unsigned long ckm; const char *name; } ckm_names[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN" },
	{ CKM_RSA_PKCS, "CKM_RSA_PKCS" },
	{ CKM_RSA_9796, "CKM_RSA_9796" },
	{ CKM_RSA_X_509, "CKM_RSA_X_509" },
	{ CKM_MD5_RSA_PKCS, "CKM_MD5_RSA_PKCS" },
	{ CKM_SHA1_RSA_PKCS, "CKM_SHA1_RSA_PKCS" },
	{ CKM_RSA_PKCS_OAEP, "CKM_RSA_PKCS_OAEP" },
	{ CKM_RSA_PKCS_PSS, "CKM_RSA_PKCS_PSS" },
	{ CKM_SHA1_RSA_PKCS_PSS, "CKM_SHA1_RSA_PKCS_PSS" },
	{ CKM_SHA256_RSA_PKCS, "CKM_SHA256_RSA_PKCS" },
	{ CKM_SHA384_RSA_PKCS, "CKM_SHA384_RSA_PKCS" },
	{ CKM_SHA512_RSA_PKCS, "CKM_SHA512_RSA_PKCS" },
	{ CKM_SHA256_RSA_PKCS_PSS, "CKM_SHA256_RSA_PKCS_PSS" },
	{ CKM_SHA384_RSA_PKCS_PSS, "CKM_SHA384_RSA_PKCS_PSS" },
	{ CKM_SHA512_RSA_PKCS_PSS, "CKM_SHA512_RSA_PKCS_PSS" },
	{ CKM_SHA224_RSA_PKCS, "CKM_SHA224_RSA_PKCS" },
	{ CKM_SHA224_RSA_PKCS_PSS, "CKM_SHA224_RSA_PKCS_PSS" },
	{ CKM_MD5, "CKM_MD5" },
	{ CKM_SHA_1, "CKM_SHA_1" },
	{ CKM_SHA256, "CKM_SHA256" },
	{ CKM_SHA224, "CKM_SHA224" },
	{ CKM_SHA384, "CKM_SHA384" },
	{ CKM_SHA512, "CKM_SHA512" },
	{ CKM_SHA_1_HMAC, "CKM_SHA_1_HMAC" },
	{ CKM_SHA256_HMAC, "CKM_SHA256_HMAC" },
	{ CKM_SHA384_HMAC, "CKM_SHA384_HMAC" },
	{ CKM_SHA512_HMAC, "CKM_SHA512_HMAC" },
	{ CKM_GENERIC_SECRET_KEY_GEN, "CKM_GENERIC_SECRET_KEY_GEN" },
	{ CKM_EC_KEY_PAIR_GEN, "CKM_EC_KEY_PAIR_GEN" },
	{ CKM_ECDSA, "CKM_ECDSA" },
	{ CKM_ECDSA_SHA1, "CKM_ECDSA_SHA1" },
	{ CKM_ECDSA_SHA224, "CKM_ECDSA_SHA224" },
	{ CKM_ECDSA_SHA256, "CKM_ECDSA_SHA256" },
	{ CKM_ECDSA_SHA384, "CKM_ECDSA_SHA384" },
	{ CKM_ECDSA_SHA512, "CKM_ECDSA_SHA512" },
	{ CKM_ECDH1_DERIVE, "CKM_ECDH1_DERIVE" },
	{ CKM_ECDH1_COFACTOR_DERIVE, "CKM_ECDH1_COFACTOR_DERIVE" },
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, "CKM_EC_EDWARDS_KEY_PAIR_GEN" },
	{ CKM_EDDSA, "CKM_EDDSA" },
	{ CKM_AES_KEY_GEN, "CKM_AES_KEY_GEN" },
	{ CKM_AES_ECB, "CKM_AES_ECB" },
	{ CKM_AES_CBC, "CKM_AES_CBC" },
	{ CKM_AES_CBC_PAD, "CKM_AES_CBC_PAD" },
	{ CKM_AES_CTR, "CKM_AES_CTR" },
	{ CKM_AES_GCM, "CKM_AES_GCM" },
	{ CKM_AES_KEY_WRAP, "CKM_AES_KEY_WRAP" },
	{ CKM_AES_KEY_WRAP_PAD, "CKM_AES_KEY_WRAP_PAD" },
	{ CKM_DES3_KEY_GEN, "CKM_DES3_KEY_GEN" },
	{ CKM_DES3_CBC, "CKM_DES3_CBC" },
	{ CKM_DH_PKCS_KEY_PAIR_GEN, "CKM_DH_PKCS_KEY_PAIR_GEN" },
	{ CKM_DH_PKCS_DERIVE, "CKM_DH_PKCS_DERIVE" },
	{ CKM_DSA_KEY_PAIR_GEN, "CKM_DSA_KEY_PAIR_GEN" },
	{ CKM_DSA, "CKM_DSA" },
	{ CKM_DSA_SHA1, "CKM_DSA_SHA1" },
};

const char *mech_ckm_name(unsigned long ckm)
{
	/* Per thread so that two threads formatting audit records at once
	 * never see each other's text; no allocation. */
	static __thread char unknown[2 + 2 + 2 * sizeof(unsigned long) + 4 + 1];

	for (size_t i = 0; i < sizeof(ckm_names) / sizeof(ckm_names[0]); i++)
		if (ckm_names[i].ckm == ckm)
			return ckm_names[i].name;
	snprintf(unknown, sizeof(unknown), "CKM_0x%lx", ckm);
	return unknown;
}

hash_alg_t hash_from_name(const char *name)
{
	if (name == NULL)
		return HASH_UNKNOWN;
	for (int i = HASH_UNKNOWN + 1; i < HASH_COUNT; i++)
		if (name_eq_nosep(name, hash_table[i].name))
			return (hash_alg_t)i;
	return HASH_UNKNOWN;
}

const char *hash_name(hash_alg_t h)
{
	if ((unsigned)h >= HASH_COUNT)
		return hash_table[HASH_UNKNOWN].name;
	return hash_table[h].name;
}

size_t hash_len(hash_alg_t h)
{
	if ((unsigned)h >= HASH_COUNT)
		return 0;
	return hash_table[h].len;
}

unsigned mech_uses(mech_id_t id)
{
	switch (id) {
	case MECH_RSA_PKCS:
	case MECH_RSA_X_509:
		return MECH_USE_SIGN | MECH_USE_DECRYPT | MECH_USE_UNWRAP;
	case MECH_RSA_PKCS_OAEP:
		return MECH_USE_DECRYPT | MECH_USE_UNWRAP;
	case MECH_ECDH1_DERIVE:
	case MECH_ECDH1_COFACTOR_DERIVE:
		return MECH_USE_DERIVE;
	default:
		return id > MECH_UNKNOWN && id < MECH_COUNT ? MECH_USE_SIGN : 0;
	}
}

hash_alg_t mech_fixed_hash(mech_id_t id)
{
	if ((unsigned)id >= MECH_COUNT)
		return HASH_UNKNOWN;
	return mech_table[id].fixed_hash;
}

/* One DigestInfo parser for the whole tree: the inspector's (OpenSSL's
 * DER decoder, whole input, canonical re-encoding).  A canonical
 * DigestInfo ends with its digest. */
hash_alg_t mech_digestinfo_parse(const unsigned char *data, size_t len,
                                 const unsigned char **digest)
{
	inspect_result_t r;

	if (digest)
		*digest = NULL;
	inspect_digestinfo(data, len, &r);
	if (r.status != INSPECT_OK || r.hash == HASH_UNKNOWN)
		return HASH_UNKNOWN;
	if (digest)
		*digest = data + len - hash_len(r.hash);
	return r.hash;
}

hash_alg_t mech_hash_by_length(size_t len)
{
	switch (len) {
	case 20: return HASH_SHA1;
	case 28: return HASH_SHA224;
	case 32: return HASH_SHA256;
	case 48: return HASH_SHA384;
	case 64: return HASH_SHA512;
	default: return HASH_UNKNOWN;
	}
}

hash_alg_t mech_hash_from_ckm_digest(unsigned long ckm_digest)
{
	switch (ckm_digest) {
	case CKM_SHA_1:  return HASH_SHA1;
	case CKM_SHA224: return HASH_SHA224;
	case CKM_SHA256: return HASH_SHA256;
	case CKM_SHA384: return HASH_SHA384;
	case CKM_SHA512: return HASH_SHA512;
	default:         return HASH_UNKNOWN;
	}
}

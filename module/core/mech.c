/* signgate: mechanism names and hash algorithms (see mech.h). */
#include "mech.h"
#include "inspect.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <p11-kit/pkcs11.h>

/* The one table of the governed mechanisms: dense id -> CKM value, policy
 * name, the CKM_ constant's name (audit, explain) and the hash the
 * mechanism fixes.  Order follows mech_id_t.  Other CKM values the audit
 * may name are in ckm_names below. */
#define M(ckm) ckm, #ckm
static const struct mech_entry {
	unsigned long ckm;
	const char *ckm_name;
	const char *name;
	hash_alg_t fixed_hash;
} mech_table[MECH_COUNT] = {
	[MECH_UNKNOWN] = { CK_UNAVAILABLE_INFORMATION, NULL, "UNKNOWN", HASH_UNKNOWN },
	[MECH_RSA_PKCS] = { M(CKM_RSA_PKCS), "RSA-PKCS", HASH_UNKNOWN },
	[MECH_RSA_PKCS_PSS] = { M(CKM_RSA_PKCS_PSS), "RSA-PKCS-PSS", HASH_UNKNOWN },
	[MECH_RSA_X_509] = { M(CKM_RSA_X_509), "RSA-X-509", HASH_UNKNOWN },
	[MECH_SHA1_RSA_PKCS] = { M(CKM_SHA1_RSA_PKCS), "SHA1-RSA-PKCS", HASH_SHA1 },
	[MECH_SHA224_RSA_PKCS] = { M(CKM_SHA224_RSA_PKCS), "SHA224-RSA-PKCS", HASH_SHA224 },
	[MECH_SHA256_RSA_PKCS] = { M(CKM_SHA256_RSA_PKCS), "SHA256-RSA-PKCS", HASH_SHA256 },
	[MECH_SHA384_RSA_PKCS] = { M(CKM_SHA384_RSA_PKCS), "SHA384-RSA-PKCS", HASH_SHA384 },
	[MECH_SHA512_RSA_PKCS] = { M(CKM_SHA512_RSA_PKCS), "SHA512-RSA-PKCS", HASH_SHA512 },
	[MECH_SHA1_RSA_PKCS_PSS] = { M(CKM_SHA1_RSA_PKCS_PSS), "SHA1-RSA-PKCS-PSS", HASH_SHA1 },
	[MECH_SHA224_RSA_PKCS_PSS] = { M(CKM_SHA224_RSA_PKCS_PSS), "SHA224-RSA-PKCS-PSS",
	                               HASH_SHA224 },
	[MECH_SHA256_RSA_PKCS_PSS] = { M(CKM_SHA256_RSA_PKCS_PSS), "SHA256-RSA-PKCS-PSS",
	                               HASH_SHA256 },
	[MECH_SHA384_RSA_PKCS_PSS] = { M(CKM_SHA384_RSA_PKCS_PSS), "SHA384-RSA-PKCS-PSS",
	                               HASH_SHA384 },
	[MECH_SHA512_RSA_PKCS_PSS] = { M(CKM_SHA512_RSA_PKCS_PSS), "SHA512-RSA-PKCS-PSS",
	                               HASH_SHA512 },
	[MECH_ECDSA] = { M(CKM_ECDSA), "ECDSA", HASH_UNKNOWN },
	[MECH_ECDSA_SHA1] = { M(CKM_ECDSA_SHA1), "ECDSA-SHA1", HASH_SHA1 },
	[MECH_ECDSA_SHA224] = { M(CKM_ECDSA_SHA224), "ECDSA-SHA224", HASH_SHA224 },
	[MECH_ECDSA_SHA256] = { M(CKM_ECDSA_SHA256), "ECDSA-SHA256", HASH_SHA256 },
	[MECH_ECDSA_SHA384] = { M(CKM_ECDSA_SHA384), "ECDSA-SHA384", HASH_SHA384 },
	[MECH_ECDSA_SHA512] = { M(CKM_ECDSA_SHA512), "ECDSA-SHA512", HASH_SHA512 },
	/* EdDSA signs the message itself (pure Ed25519/Ed448). */
	[MECH_EDDSA] = { M(CKM_EDDSA), "EDDSA", HASH_NONE },
	/* Not signing mechanisms (mech_uses()). */
	[MECH_RSA_PKCS_OAEP] = { M(CKM_RSA_PKCS_OAEP), "RSA-PKCS-OAEP", HASH_UNKNOWN },
	[MECH_ECDH1_DERIVE] = { M(CKM_ECDH1_DERIVE), "ECDH1-DERIVE", HASH_UNKNOWN },
	[MECH_ECDH1_COFACTOR_DERIVE] = { M(CKM_ECDH1_COFACTOR_DERIVE), "ECDH1-COFACTOR-DERIVE",
	                                 HASH_UNKNOWN },
};
#undef M

static const struct hash_entry {
	const char *name;
	size_t len;
	/* DER contents of the AlgorithmIdentifier OID (without tag/length). */
	unsigned char oid[9];
	unsigned char oid_len;
} hash_table[HASH_COUNT] = {
	[HASH_UNKNOWN] = { "UNKNOWN", 0, { 0 }, 0 },
	[HASH_SHA1] = { "SHA1", 20, { 0x2b, 0x0e, 0x03, 0x02, 0x1a }, 5 },
	[HASH_SHA224] = { "SHA224",
	                  28,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04 },
	                  9 },
	[HASH_SHA256] = { "SHA256",
	                  32,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01 },
	                  9 },
	[HASH_SHA384] = { "SHA384",
	                  48,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02 },
	                  9 },
	[HASH_SHA512] = { "SHA512",
	                  64,
	                  { 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03 },
	                  9 },
	[HASH_NONE] = { "NONE", 0, { 0 }, 0 },
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
	for (int i = MECH_UNKNOWN + 1; i < MECH_COUNT; i++)
		if (mech_table[i].ckm == ckm)
			return (mech_id_t)i;
	return MECH_UNKNOWN;
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
 * meet beyond the governed mechanisms of mech_table (which name
 * themselves): other signing and decryption mechanisms, digests and key
 * generation. */
static const struct {
	unsigned long ckm;
	const char *name;
} ckm_names[] = {
	{ CKM_RSA_PKCS_KEY_PAIR_GEN, "CKM_RSA_PKCS_KEY_PAIR_GEN" },
	{ CKM_RSA_9796, "CKM_RSA_9796" },
	{ CKM_MD5_RSA_PKCS, "CKM_MD5_RSA_PKCS" },
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
	{ CKM_EC_EDWARDS_KEY_PAIR_GEN, "CKM_EC_EDWARDS_KEY_PAIR_GEN" },
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
	mech_id_t id = mech_from_ckm(ckm);

	if (id != MECH_UNKNOWN)
		return mech_table[id].ckm_name;
	for (size_t i = 0; i < sizeof(ckm_names) / sizeof(ckm_names[0]); i++)
		if (ckm_names[i].ckm == ckm)
			return ckm_names[i].name;
	snprintf(unknown, sizeof(unknown), "CKM_0x%lx", ckm);
	return unknown;
}

/* The one table of CK_RV names (audit ckr_name, the tools' messages). */
const char *ckr_name(unsigned long ckr)
{
	static const struct {
		unsigned long v;
		const char *n;
	} t[] = {
		{ 0x000, "CKR_OK" },
		{ 0x001, "CKR_CANCEL" },
		{ 0x002, "CKR_HOST_MEMORY" },
		{ 0x003, "CKR_SLOT_ID_INVALID" },
		{ 0x005, "CKR_GENERAL_ERROR" },
		{ 0x006, "CKR_FUNCTION_FAILED" },
		{ 0x007, "CKR_ARGUMENTS_BAD" },
		{ 0x010, "CKR_ATTRIBUTE_READ_ONLY" },
		{ 0x011, "CKR_ATTRIBUTE_SENSITIVE" },
		{ 0x012, "CKR_ATTRIBUTE_TYPE_INVALID" },
		{ 0x013, "CKR_ATTRIBUTE_VALUE_INVALID" },
		{ 0x020, "CKR_DATA_INVALID" },
		{ 0x021, "CKR_DATA_LEN_RANGE" },
		{ 0x030, "CKR_DEVICE_ERROR" },
		{ 0x031, "CKR_DEVICE_MEMORY" },
		{ 0x032, "CKR_DEVICE_REMOVED" },
		{ 0x050, "CKR_FUNCTION_CANCELED" },
		{ 0x054, "CKR_FUNCTION_NOT_SUPPORTED" },
		{ 0x060, "CKR_KEY_HANDLE_INVALID" },
		{ 0x062, "CKR_KEY_SIZE_RANGE" },
		{ 0x063, "CKR_KEY_TYPE_INCONSISTENT" },
		{ 0x068, "CKR_KEY_FUNCTION_NOT_PERMITTED" },
		{ 0x070, "CKR_MECHANISM_INVALID" },
		{ 0x071, "CKR_MECHANISM_PARAM_INVALID" },
		{ 0x082, "CKR_OBJECT_HANDLE_INVALID" },
		{ 0x090, "CKR_OPERATION_ACTIVE" },
		{ 0x091, "CKR_OPERATION_NOT_INITIALIZED" },
		{ 0x0A0, "CKR_PIN_INCORRECT" },
		{ 0x0A1, "CKR_PIN_INVALID" },
		{ 0x0A2, "CKR_PIN_LEN_RANGE" },
		{ 0x0A3, "CKR_PIN_EXPIRED" },
		{ 0x0A4, "CKR_PIN_LOCKED" },
		{ 0x0B0, "CKR_SESSION_CLOSED" },
		{ 0x0B3, "CKR_SESSION_HANDLE_INVALID" },
		{ 0x0B5, "CKR_SESSION_READ_ONLY" },
		{ 0x0C0, "CKR_SIGNATURE_INVALID" },
		{ 0x0C1, "CKR_SIGNATURE_LEN_RANGE" },
		{ 0x0D0, "CKR_TEMPLATE_INCOMPLETE" },
		{ 0x0D1, "CKR_TEMPLATE_INCONSISTENT" },
		{ 0x0E0, "CKR_TOKEN_NOT_PRESENT" },
		{ 0x0E1, "CKR_TOKEN_NOT_RECOGNIZED" },
		{ 0x0E2, "CKR_TOKEN_WRITE_PROTECTED" },
		{ 0x100, "CKR_USER_ALREADY_LOGGED_IN" },
		{ 0x101, "CKR_USER_NOT_LOGGED_IN" },
		{ 0x102, "CKR_USER_PIN_NOT_INITIALIZED" },
		{ 0x103, "CKR_USER_TYPE_INVALID" },
		{ 0x150, "CKR_BUFFER_TOO_SMALL" },
		{ 0x190, "CKR_CRYPTOKI_NOT_INITIALIZED" },
		{ 0x191, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
		{ 0x1B0, "CKR_ACTION_PROHIBITED" },
		/* the most common denial, and what decryption and unwrapping fail with */
		{ 0x200, "CKR_FUNCTION_REJECTED" },
		{ 0x040, "CKR_ENCRYPTED_DATA_INVALID" },
		{ 0x041, "CKR_ENCRYPTED_DATA_LEN_RANGE" },
		{ 0x0F0, "CKR_UNWRAPPING_KEY_HANDLE_INVALID" },
		{ 0x110, "CKR_WRAPPED_KEY_INVALID" },
		{ 0x113, "CKR_WRAPPING_KEY_HANDLE_INVALID" },
		{ 0x0F1, "CKR_UNWRAPPING_KEY_SIZE_RANGE" },
		{ 0x160, "CKR_SAVED_STATE_INVALID" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].v == ckr)
			return t[i].n;
	return NULL;
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
	case MECH_RSA_X_509: return MECH_USE_SIGN | MECH_USE_DECRYPT | MECH_USE_UNWRAP;
	case MECH_RSA_PKCS_OAEP: return MECH_USE_DECRYPT | MECH_USE_UNWRAP;
	case MECH_ECDH1_DERIVE:
	case MECH_ECDH1_COFACTOR_DERIVE: return MECH_USE_DERIVE;
	default: return id > MECH_UNKNOWN && id < MECH_COUNT ? MECH_USE_SIGN : 0;
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
	case CKM_SHA_1: return HASH_SHA1;
	case CKM_SHA224: return HASH_SHA224;
	case CKM_SHA256: return HASH_SHA256;
	case CKM_SHA384: return HASH_SHA384;
	case CKM_SHA512: return HASH_SHA512;
	default: return HASH_UNKNOWN;
	}
}

/* signgate: mechanism names and hash algorithms.
 *
 * Policy names mechanisms as pkcs11-tool does ("SHA256-RSA-PKCS-PSS",
 * "ECDSA", "RSA-X-509"); the engine works on a small dense id so that a
 * key's allowed set is one bit mask.  mech_hash_of() finds the hash a
 * signature will be made over, from the mechanism itself, its parameters
 * (PSS), the DigestInfo of CKM_RSA_PKCS, or the input length of a bare
 * ECDSA/EdDSA-less hash.  Pure functions, no I/O.
 */
#ifndef SIGNGATE_MECH_H
#define SIGNGATE_MECH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum mech_id {
	MECH_UNKNOWN = 0,
	MECH_RSA_PKCS,     /* CKM_RSA_PKCS: DigestInfo supplied by caller */
	MECH_RSA_PKCS_PSS, /* CKM_RSA_PKCS_PSS: hash supplied by caller */
	MECH_RSA_X_509,    /* raw RSA: only if listed */
	MECH_SHA1_RSA_PKCS,
	MECH_SHA224_RSA_PKCS,
	MECH_SHA256_RSA_PKCS,
	MECH_SHA384_RSA_PKCS,
	MECH_SHA512_RSA_PKCS,
	MECH_SHA1_RSA_PKCS_PSS,
	MECH_SHA224_RSA_PKCS_PSS,
	MECH_SHA256_RSA_PKCS_PSS,
	MECH_SHA384_RSA_PKCS_PSS,
	MECH_SHA512_RSA_PKCS_PSS,
	MECH_ECDSA, /* hash supplied by caller */
	MECH_ECDSA_SHA1,
	MECH_ECDSA_SHA224,
	MECH_ECDSA_SHA256,
	MECH_ECDSA_SHA384,
	MECH_ECDSA_SHA512,
	MECH_EDDSA,
	/* Not signing mechanisms: decryption, unwrapping and derivation with
	 * a private key are capabilities of their own (mech_uses()). */
	MECH_RSA_PKCS_OAEP, /* decrypt, unwrap */
	MECH_ECDH1_DERIVE,  /* derive */
	MECH_ECDH1_COFACTOR_DERIVE,
	MECH_COUNT
} mech_id_t;

/* What a mechanism does with a private key.  The policy grants each use
 * separately: signing through a key's `mechanisms`, the others through
 * its `decrypt`, `unwrap` and `derive` groups. */
enum {
	MECH_USE_SIGN = 1u << 0,
	MECH_USE_DECRYPT = 1u << 1,
	MECH_USE_UNWRAP = 1u << 2,
	MECH_USE_DERIVE = 1u << 3,
};

typedef enum hash_alg {
	HASH_UNKNOWN = 0, /* unparseable / not determinable */
	HASH_SHA1,
	HASH_SHA224,
	HASH_SHA256,
	HASH_SHA384,
	HASH_SHA512,
	HASH_NONE, /* mechanism signs the message itself (EdDSA) */
	HASH_COUNT
} hash_alg_t;

/* CK_MECHANISM_TYPE is unsigned long; kept as such to avoid pkcs11.h here. */
mech_id_t mech_from_ckm(unsigned long ckm);
unsigned long mech_to_ckm(mech_id_t id);
mech_id_t mech_from_name(const char *name);   /* case-insensitive, '-' or '_' */
const char *mech_name(mech_id_t id);          /* "SHA256-RSA-PKCS" */
const char *mech_ckm_name(unsigned long ckm); /* "CKM_SHA256_RSA_PKCS" or "CKM_0x..." */
/* CK_RV is unsigned long too: "CKR_FUNCTION_REJECTED", NULL if unknown. */
const char *ckr_name(unsigned long ckr);

hash_alg_t hash_from_name(const char *name); /* "SHA256", "sha-256" */
const char *hash_name(hash_alg_t h);
size_t hash_len(hash_alg_t h);

/* MECH_USE_* bits: the uses a mechanism can be listed for.  RSA-PKCS and
 * RSA-X-509 sign, decrypt and unwrap; RSA-PKCS-OAEP decrypts and unwraps;
 * ECDH1-DERIVE and ECDH1-COFACTOR-DERIVE derive; the rest only sign.
 * 0 for MECH_UNKNOWN. */
unsigned mech_uses(mech_id_t id);

/* The hash a mechanism fixes by itself, HASH_UNKNOWN if the caller
 * supplies it (RSA_PKCS, PSS, ECDSA, X_509). */
hash_alg_t mech_fixed_hash(mech_id_t id);

/* RSA-PKCS input: parse a DER DigestInfo strictly.  Returns the hash and
 * points *digest at the digest bytes; HASH_UNKNOWN if not a DigestInfo. */
hash_alg_t mech_digestinfo_parse(const unsigned char *data, size_t len,
                                 const unsigned char **digest);

/* Hash of a bare-digest input (ECDSA, PSS without hashing) by its length:
 * 20, 28, 32, 48, 64 bytes; HASH_UNKNOWN otherwise. */
hash_alg_t mech_hash_by_length(size_t len);

/* PSS parameters: CK_RSA_PKCS_PSS_PARAMS.hashAlg (a CKM_SHA* value). */
hash_alg_t mech_hash_from_ckm_digest(unsigned long ckm_digest);

#endif

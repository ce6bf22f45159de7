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
	MECH_RSA_PKCS,            /* CKM_RSA_PKCS: DigestInfo supplied by caller */
	MECH_RSA_PKCS_PSS,        /* CKM_RSA_PKCS_PSS: hash supplied by caller */
	MECH_RSA_X_509,           /* raw RSA: only if listed */
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
	MECH_ECDSA,               /* hash supplied by caller */
	MECH_ECDSA_SHA1,
	MECH_ECDSA_SHA224,
	MECH_ECDSA_SHA256,
	MECH_ECDSA_SHA384,
	MECH_ECDSA_SHA512,
	MECH_EDDSA,
	MECH_COUNT
} mech_id_t;

typedef enum hash_alg {
	HASH_UNKNOWN = 0,   /* unparseable / not determinable */
	HASH_SHA1,
	HASH_SHA224,
	HASH_SHA256,
	HASH_SHA384,
	HASH_SHA512,
	HASH_NONE,          /* mechanism signs the message itself (EdDSA) */
	HASH_COUNT
} hash_alg_t;

/* CK_MECHANISM_TYPE is unsigned long; kept as such to avoid pkcs11.h here. */
mech_id_t mech_from_ckm(unsigned long ckm);
unsigned long mech_to_ckm(mech_id_t id);
mech_id_t mech_from_name(const char *name);   /* case-insensitive, '-' or '_' */
const char *mech_name(mech_id_t id);          /* "SHA256-RSA-PKCS" */
const char *mech_ckm_name(unsigned long ckm); /* "CKM_SHA256_RSA_PKCS" or "CKM_0x..." */

hash_alg_t hash_from_name(const char *name);  /* "SHA256", "sha-256" */
const char *hash_name(hash_alg_t h);
size_t hash_len(hash_alg_t h);

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

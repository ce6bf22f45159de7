/* signgate: the data inspector.
 *
 * What a signature will be made over, established from the bytes the
 * caller hands to the token and nothing else: the DigestInfo of
 * CKM_RSA_PKCS (and of an EMSA-PKCS1-v1_5 block given to CKM_RSA_X_509),
 * the parameters of CKM_RSA_PKCS_PSS, the value a curve actually uses
 * from a raw CKM_ECDSA input, and the messageDigest of CMS signed
 * attributes sent whole to a hashing mechanism.
 *
 * Pure: inputs in, a result out.  No I/O, no PKCS#11 calls, no clock.
 * DER is decoded with OpenSSL's ASN.1 decoders and accepted only when the
 * whole input is consumed and its re-encoding is byte-identical, so that
 * what is judged here is exactly what any verifier will read.
 */
#ifndef SIGNGATE_INSPECT_H
#define SIGNGATE_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mech.h"

/* Outcome of one inspection.  INSPECT_OK and INSPECT_NOT_CMS are not
 * refusals; everything else is. */
typedef enum inspect_status {
	INSPECT_OK = 0,
	INSPECT_NOT_CMS,            /* input is a plain message, not signed attributes */
	INSPECT_MALFORMED,          /* not strict DER of the expected structure */
	INSPECT_HASH_UNKNOWN,       /* no hash the gate knows (OID, length) */
	INSPECT_HASH_DISGUISED,     /* leading zeros make it a shorter digest */
	INSPECT_HASH_TRUNCATED,     /* longer than the curve order, not opted in */
	INSPECT_CURVE_UNKNOWN,      /* the key's order size is not known */
	INSPECT_PSS_PARAMS_INVALID, /* hashAlg, MGF or sLen unacceptable */
	INSPECT_LENGTH_MISMATCH,    /* raw PSS input is not the params' hash length */
	INSPECT_STATUS_COUNT
} inspect_status_t;

/* How the hash was established, for the audit's hash_basis. */
typedef enum inspect_basis {
	INSPECT_BASIS_NONE = 0,     /* not established: the audit names no hash */
	INSPECT_BASIS_MECHANISM,    /* the mechanism hashes itself (SHA256-RSA-PKCS ...) */
	INSPECT_BASIS_DIGESTINFO,   /* DER DigestInfo (RSA-PKCS, PKCS#1 block of RSA-X-509) */
	INSPECT_BASIS_PSS_PARAMS,   /* CK_RSA_PKCS_PSS_PARAMS.hashAlg */
	INSPECT_BASIS_INPUT_LENGTH, /* raw CKM_ECDSA input length, judged against the curve */
	INSPECT_BASIS_COUNT
} inspect_basis_t;

#define INSPECT_DIGEST_MAX 64
#define INSPECT_DETAIL_MAX 112

typedef struct inspect_result {
	inspect_status_t status;
	hash_alg_t hash;       /* established hash, HASH_UNKNOWN if none */
	inspect_basis_t basis; /* INSPECT_BASIS_NONE iff hash is HASH_UNKNOWN */
	/* The digest the signature binds (for artifact tickets): the
	 * DigestInfo's digest, the raw ECDSA/PSS input, the CMS
	 * messageDigest.  digest_len 0 = none. */
	unsigned char digest[INSPECT_DIGEST_MAX];
	size_t digest_len;
	char detail[INSPECT_DETAIL_MAX]; /* short, human, no secrets */
} inspect_result_t;

/* Is this status a refusal? */
static inline bool inspect_refused(const inspect_result_t *r)
{
	return r->status != INSPECT_OK && r->status != INSPECT_NOT_CMS;
}

const char *inspect_status_name(inspect_status_t s); /* "hash-disguised" ... */
const char *inspect_basis_name(inspect_basis_t b);   /* "digestinfo", NULL for NONE */

/* Where a mechanism's hash comes from when the gate establishes one:
 * SHA256-RSA-PKCS -> MECHANISM, RSA-PKCS/RSA-X-509 -> DIGESTINFO,
 * RSA-PKCS-PSS -> PSS_PARAMS, ECDSA -> INPUT_LENGTH; NONE if unknown. */
inspect_basis_t inspect_mech_basis(mech_id_t m);

/* CKM_RSA_PKCS input: a DER DigestInfo, nothing before or after. */
void inspect_digestinfo(const unsigned char *in, size_t len, inspect_result_t *r);

/* CKM_RSA_X_509 input.  If the block (after leading zero bytes, which
 * the token treats as the same integer) starts with 0x01 it is taken for
 * an EMSA-PKCS1-v1_5 signature block and must be exactly
 * 01 FF..FF(at least 8) 00 and a payload; a payload that starts like a
 * DigestInfo (0x30) must be a strict one, and its hash is established
 * like RSA-PKCS.  Any other block is accepted with no hash established
 * (raw RSA signs what it is given: listing RSA-X-509 allows that). */
void inspect_rsa_x509(const unsigned char *in, size_t len, inspect_result_t *r);

/* Raw CKM_ECDSA input for a key whose group order has order_bits bits.
 * truncate_ok: bit set over hash_alg_t of hashes the key's policy lets
 * be longer than the order (config 'ecdsa_truncate'). */
void inspect_ecdsa(const unsigned char *in, size_t len, unsigned order_bits, uint32_t truncate_ok,
                   inspect_result_t *r);

/* CK_RSA_PKCS_PSS_PARAMS of a PSS mechanism.  mech_hash is the hash the
 * mechanism fixes (HASH_UNKNOWN for CKM_RSA_PKCS_PSS).  hash_ckm is
 * hashAlg (CKM_SHA256 ...), mgf is CKG_MGF1_SHA256 ..., slen sLen. */
void inspect_pss_params(hash_alg_t mech_hash, unsigned long hash_ckm, unsigned long mgf,
                        unsigned long slen, inspect_result_t *r);

/* Raw CKM_RSA_PKCS_PSS input: exactly the length of params_hash. */
void inspect_pss_input(hash_alg_t params_hash, const unsigned char *in, size_t len,
                       inspect_result_t *r);

/* Input of a hashing mechanism (SHA256-RSA-PKCS ...).  If it is CMS
 * signed attributes (a DER SET whose header spans the input, or any
 * indefinite-length SET), they must decode strictly as a SET OF
 * Attribute with exactly one messageDigest attribute holding exactly one
 * OCTET STRING of a known digest length: INSPECT_OK with the digest.
 * Anything else starting otherwise is INSPECT_NOT_CMS (a plain message).
 * The hash is the mechanism's (mech_hash, basis "mechanism"). */
void inspect_cms_attributes(hash_alg_t mech_hash, const unsigned char *in, size_t len,
                            inspect_result_t *r);

/* Order size in bits of the curve named by DER CKA_EC_PARAMS (a named
 * curve OID or explicit parameters); 0 if unknown or malformed. */
unsigned inspect_ec_order_bits(const unsigned char *params, size_t len);

#endif

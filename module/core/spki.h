/* signgate: public key fingerprints.
 *
 * A governed key is identified by the SHA-256 of its SubjectPublicKeyInfo
 * (what `openssl pkey -pubout -outform DER | sha256sum` gives), built
 * here from the attributes a token exposes, so that a relabelled or
 * copied look-alike is never taken for it.  Pure, no allocation.
 */
#ifndef SIGNGATE_SPKI_H
#define SIGNGATE_SPKI_H

#include <stddef.h>

/* RSA from CKA_MODULUS and CKA_PUBLIC_EXPONENT (big-endian). */
int spki_fp_rsa(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
                unsigned char fp[32]);

/* EC from CKA_EC_PARAMS (DER, a named curve OID) and CKA_EC_POINT (DER
 * OCTET STRING, or the bare point as some modules return it). */
int spki_fp_ec(const unsigned char *params, size_t params_len, const unsigned char *point,
               size_t point_len, unsigned char fp[32]);

/* The same SubjectPublicKeyInfo as DER into out (cap bytes), for
 * verification: returns its length, 0 when it cannot be built or does
 * not fit.  SPKI_DER_MAX is always enough. */
#define SPKI_DER_MAX 4096
size_t spki_der_rsa(const unsigned char *n, size_t n_len, const unsigned char *e, size_t e_len,
                    unsigned char *out, size_t cap);
size_t spki_der_ec(const unsigned char *params, size_t params_len, const unsigned char *point,
                   size_t point_len, unsigned char *out, size_t cap);

/* "sha256:" + 64 hex digits into out (at least 72 bytes). */
void spki_fp_format(const unsigned char fp[32], char *out, size_t outlen);

#endif

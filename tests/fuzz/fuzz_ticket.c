/* libFuzzer target: ticket parsing and verification.
 *
 * The input is a ticket as it would arrive in a PIN or SIGNGATE_TICKET.
 * A fixed config trusts two validators (the public keys below, whose
 * private halves signed the seed corpus in corpus/ticket/ and were then
 * thrown away), and "now" is fixed inside the seeds' validity, so that
 * mutations of a good ticket run through every stage: base64url, JSON,
 * issuer and algorithm, signature, claims, times.  The unverified decoder
 * and the claim helpers run on every input as well, since they parse the
 * claims without a good signature.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "config.h"
#include "ticket.h"

/* Seeds were issued with --at @1800000000 and a 30 min ttl. */
#define FUZZ_NOW ((time_t)1800000060)

static const char ed_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MCowBQYDK2VwAyEANysZ5tYqVHB23cjKacWfqmYT3Nb97MwuooKiTJQft4I=\n"
                             "-----END PUBLIC KEY-----\n";
static const char ec_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE2DjoSVpZGPAR/rZW99UCa+9knJPU\n"
                             "buRRkunxcAsNZkK7ELb/yb7oDTkjpBHBz6mK0qiIpeQbB5nINeZUR7l61w==\n"
                             "-----END PUBLIC KEY-----\n";

static config_validator_t validators[2];
static config_t cfg;

static void *load_pub(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	if (!pk)
		abort();
	return pk;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	validators[0] = (config_validator_t){ .name = "fuzz-ed", .pkey = load_pub(ed_pub) };
	validators[1] = (config_validator_t){ .name = "fuzz-ec", .pkey = load_pub(ec_pub) };
	cfg.validators = validators;
	cfg.n_validators = 2;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char zero[32];
	char *products[] = { "app" };
	ticket_claims_t c;
	char detail[256];
	char *h = NULL, *p = NULL;
	char *tok;
	ticket_status_t st;

	/* A private copy without a terminating NUL: the verifier must honour
	 * len and never read past it (ASan catches it if it does). */
	tok = malloc(size ? size : 1);
	if (!tok)
		return 0;
	memcpy(tok, data, size);

	(void)ticket_looks_like(tok, size);
	st = ticket_verify_detail(&cfg, tok, size, FUZZ_NOW, &c, detail, sizeof(detail));
	if (memchr(detail, '\0', sizeof(detail)) == NULL)
		abort();
	if (st == TICKET_OK || st == TICKET_EXPIRED || st == TICKET_NOT_YET_VALID) {
		/* Verified claims must be within their bounds. */
		if (c.n_checks > TICKET_MAX_CHECKS || c.n_aud > TICKET_MAX_AUD ||
		    c.n_digests > TICKET_MAX_DIGESTS || !c.issuer[0] ||
		    strnlen(c.product, sizeof(c.product)) == sizeof(c.product))
			abort();
		(void)ticket_check_passed(&c, "unit-tests");
		(void)ticket_has_digest(&c, zero);
		(void)ticket_audience_allows(&c, "app-rsa", products, 1);
	} else if (c.issuer[0] || c.n_checks) {
		abort(); /* refusals leave nothing behind */
	}
	(void)ticket_status_name(st);

	st = ticket_decode_unverified(tok, size, &h, &p, &c, detail, sizeof(detail));
	(void)st;
	free(h);
	free(p);
	free(tok);
	return 0;
}

/* libFuzzer target: CI identity token parsing and verification, and the
 * JWKS parser.
 *
 * An input starting with '{' is a JWKS document (idtoken_jwks_parse, as
 * the config loader and `signgate id-token jwks` run it); anything else is
 * a token as it would arrive in a PIN or SIGNGATE_ID_TOKEN, verified with
 * a fixed provider whose pinned JWKS is below (its private key signed the
 * seeds in corpus/idtoken/ and was then thrown away), "now" fixed inside
 * the seeds' validity, so that mutations of a good token run through every
 * stage: base64url, JSON, alg, issuer, kid, signature, claims, audience,
 * times.  The unverified decoder, the PIN/ticket classifier, the audit
 * field builder and claim matching run on every input as well.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "idtoken.h"

/* Seeds were minted with IDP_NOW=1800000000 and a 300 s lifetime. */
#define FUZZ_NOW ((time_t)1800000060)

static const char jwks[] =
        "{\"keys\": [{\"kty\": \"RSA\", \"alg\": \"RS256\", \"use\": \"sig\", \"kid\": \"k1\", \"n\": \"8O0WMflUa8BI4VvhPMipajHlnKAyN53aNvA3z7LqynvYAGKKl4SqohYxjS4WJKq0YZPCohMTxPDc7pGQGrS6EOS45mUg3Aw0CxgADHJn66gAQCIJoKsQVGKXIw-dwZirBpfAEdBPLPnw99UZTdKW3URg0lmC0GLtybLtVJAdoxqpBK48OCfcs6qTbJ-rv_VW4JIvrykvTR6LMCzVZXZ8g8rFl9RGD-244zzxOEgY57csdrwBIym4hfI5_4SEEc_WDsxBj4GF9BKu7QXn4Gve2sV3wJaIlFjupglxDyMIsZb8WlET3LPe_FNgC-A886xAjKRSNHlGgcEQuRfk_pkC7w\", \"e\": \"AQAB\"}]}";

static config_idp_t idps[2];
static config_t cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[200];

	(void)argc;
	(void)argv;
	for (int i = 0; i < 2; i++) {
		idps[i].name = i ? "gitlab" : "github";
		idps[i].issuer = i ? "https://gitlab.example.test"
		                   : "https://token.actions.githubusercontent.com";
		idps[i].audience = "signgate-test";
		idps[i].algorithms = 3;
		idps[i].max_clock_skew_s = 60;
		idps[i].max_token_lifetime_s = 3600;
		idps[i].max_uses = 1;
		if (idtoken_jwks_parse(jwks, sizeof(jwks) - 1, &idps[i].keys, &idps[i].n_keys, err,
		                       sizeof err) != 0)
			abort();
	}
	cfg.idps = idps;
	cfg.n_idps = 2;
	return 0;
}

static size_t sink;

static void field(void *ctx, const char *key, const char *val)
{
	(void)ctx;
	sink += strlen(key) + (val ? strlen(val) : 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static idtoken_claims_t c;
	char detail[256], *h = NULL, *p = NULL;
	const char *tok = (const char *)data;

	if (size && data[0] == '{') {
		idtoken_jwk_t *k = NULL;
		size_t n = 0;
		if (idtoken_jwks_parse(tok, size, &k, &n, detail, sizeof detail) == 0)
			idtoken_jwks_free(k, n);
		return 0;
	}
	(void)idtoken_looks_like(&cfg, tok, size);
	if (idtoken_decode_unverified(tok, size, &h, &p)) {
		free(h);
		free(p);
	} else {
		free(h);
		free(p);
	}
	idtoken_status_t st = idtoken_verify(&cfg, tok, size, FUZZ_NOW, &c, detail, sizeof detail);
	if (st > IDTOKEN_STATUS_COUNT)
		abort();
	if (strnlen(detail, sizeof detail) == sizeof detail)
		abort();
	if (c.jti[0]) {
		idtoken_audit_fields(&c, field, NULL);
		for (int i = 0; i < IDC_COUNT; i++) {
			const char *v = idtoken_claim(&c, (idtoken_claim_t)i);
			if (v && strnlen(v, IDTOKEN_VALUE_MAX) == IDTOKEN_VALUE_MAX)
				abort();
			(void)idtoken_value_matches("refs/tags/v*", v);
		}
	}
	return 0;
}

/* Unit tests for module/core/policy.c: key lookup, the decision table (every
 * reason the engine gives), credentials, and cost independent of size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "policy.h"

#define FP(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define PROG_SHA "1111111111111111111111111111111111111111111111111111111111111111"

static config_t *cfg;
static char tmpdir[64];

/* 2026-06-03 is a Wednesday. */
#define T0 ((time_t)1780480800) /* 2026-06-03T10:00:00Z */

static int setup(void **state)
{
	(void)state;
	char pub[128], cred[200], err[CONFIG_ERR_MAX];
	static char text[12288];
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sg-test-policy.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(pub, sizeof pub, "%s/v.pub", tmpdir);
	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	FILE *f = fopen(pub, "w");
	PEM_write_PUBKEY(f, pk);
	fclose(f);
	EVP_PKEY_free(pk);
	if (policy_credential_hash_iter("s3cret", 1000, cred, sizeof cred) < 0)
		return -1;
	snprintf(text, sizeof text,
	  "backend = { module = \"/m.so\"; };\n"
	  "validators = ( { name = \"ci\"; public_key = \"%s\"; } );\n"
	  "roles = (\n"
	  " { name = \"rel\"; users = [ 1001 ]; },\n"
	  " { name = \"grp\"; groups = [ 2000 ]; },\n"
	  " { name = \"prog\"; programs = ( { path = \"/usr/bin/signer\"; sha256 = \"" PROG_SHA "\"; } ); },\n"
	  " { name = \"cred\"; users = [ 1003 ]; credential = \"%s\"; },\n"
	  " { name = \"tick\"; users = [ 1004 ]; },\n"
	  " { name = \"other\"; users = [ 1005 ]; },\n"
	  " { name = \"adm\"; users = [ 0 ]; },\n"
	  " { name = \"named\"; users = [ \"u1006\" ]; },\n"
	  " { name = \"dec\"; users = [ 1101 ]; },\n"
	  " { name = \"dec-tick\"; users = [ 1102 ]; },\n"
	  " { name = \"signonly\"; users = [ 1103 ]; }\n"
	  ");\n"
	  "keys = (\n"
	  " { name = \"rsa\"; token = \"tok\"; id = \"01\"; label = \"rsa-l\"; fingerprint = \"" FP("aa") "\";\n"
	  "   products = [ \"app\" ]; mechanisms = [ \"SHA256-RSA-PKCS\", \"RSA-PKCS\", \"RSA-PKCS-PSS\" ];\n"
	  "   hashes = [ \"SHA256\", \"SHA384\" ]; },\n"
	  " { name = \"ec\"; token = \"tok\"; id = \"02\"; fingerprint = \"" FP("bb") "\"; products = [ \"lib\" ];\n"
	  "   mechanisms = [ \"ECDSA\" ]; },\n"
	  " { name = \"legacy\"; token = \"tok\"; id = \"03\"; mechanisms = [ \"SHA1-RSA-PKCS\", \"RSA-PKCS\", \"RSA-X-509\" ];\n"
	  "   hashes = [ \"SHA1\", \"SHA256\" ]; },\n"
	  " { name = \"revoked\"; token = \"tok\"; id = \"04\"; mechanisms = [ \"ECDSA\" ]; revoked = true; revoked_reason = \"leaked\"; },\n"
	  " { name = \"future\"; token = \"tok\"; id = \"05\"; mechanisms = [ \"ECDSA\" ]; not_before = \"2030-01-01T00:00:00Z\"; },\n"
	  " { name = \"old\"; token = \"tok\"; id = \"06\"; mechanisms = [ \"ECDSA\" ]; not_after = \"2020-01-01T00:00:00Z\"; },\n"
	  " { name = \"nofp\"; token = \"tok\"; id = \"07\"; label = \"nofp-l\"; mechanisms = [ \"ECDSA\" ]; },\n"
	  " { name = \"bylabel\"; token = \"SER123\"; label = \"only-label\"; mechanisms = [ \"EDDSA\" ]; },\n"
	  /* decrypt, unwrap, derive: capabilities of their own */
	  " { name = \"enc\"; token = \"tok\"; id = \"21\"; fingerprint = \"" FP("dd") "\"; products = [ \"app\" ];\n"
	  "   mechanisms = [ \"RSA-PKCS\", \"SHA256-RSA-PKCS\" ];\n"
	  "   decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\" ]; }; unwrap = { mechanisms = [ \"RSA-PKCS\" ]; }; },\n"
	  " { name = \"ecdh\"; token = \"tok\"; id = \"22\"; mechanisms = [ \"ECDSA\" ];\n"
	  "   derive = { mechanisms = [ \"ECDH1-DERIVE\" ]; }; },\n"
	  " { name = \"enc-old\"; token = \"tok\"; id = \"23\"; decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\" ]; };\n"
	  "   not_after = \"2020-01-01T00:00:00Z\"; },\n"
	  " { name = \"enc-rev\"; token = \"tok\"; id = \"24\"; decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\" ]; };\n"
	  "   revoked = true; }\n"
	  ");\n"
	  "rules = (\n"
	  " { name = \"r-rel\"; roles = [ \"rel\" ]; keys = [ \"rsa\", \"revoked\", \"future\", \"old\", \"legacy\", \"nofp\", \"bylabel\" ]; },\n"
	  " { name = \"r-grp\"; roles = [ \"grp\" ]; products = [ \"lib\" ]; days = [ \"Mon\", \"Tue\", \"Wed\", \"Thu\", \"Fri\" ];\n"
	  "   hours = \"08:00-18:00\"; timezone = \"+02:00\"; quota = { count = 10; period = \"1d\"; }; },\n"
	  " { name = \"r-night\"; roles = [ \"other\" ]; keys = [ \"nofp\" ]; hours = \"22:00-06:00\"; },\n"
	  " { name = \"r-prog\"; roles = [ \"prog\" ]; keys = [ \"rsa\" ]; },\n"
	  " { name = \"r-cred\"; roles = [ \"cred\" ]; keys = [ \"ec\" ]; },\n"
	  " { name = \"r-tick\"; roles = [ \"tick\" ]; keys = [ \"rsa\" ]; checks = [ \"unit\", \"scan\" ]; max_ticket_age = \"1h\"; },\n"
	  " { name = \"r-tick-nofp\"; roles = [ \"tick\" ]; keys = [ \"nofp\" ]; require_ticket = true; },\n"
	  " { name = \"r-adm-ec\"; roles = [ \"rel\" ]; keys = [ \"ec\" ]; sign = false; admin = true; },\n"
	  " { name = \"r-admin\"; roles = [ \"adm\" ]; all_keys = true; sign = false; admin = true; },\n"
	  " { name = \"r-named\"; roles = [ \"named\" ]; keys = [ \"bylabel\" ]; },\n"
	  " { name = \"r-dec\"; roles = [ \"dec\" ]; keys = [ \"enc\", \"ecdh\", \"enc-old\", \"enc-rev\" ];\n"
	  "   decrypt = true; unwrap = true; hours = \"08:00-18:00\"; },\n"
	  " { name = \"r-derive\"; roles = [ \"dec\" ]; keys = [ \"ecdh\" ]; sign = false; derive = true; },\n"
	  " { name = \"r-dec-tick\"; roles = [ \"dec-tick\" ]; keys = [ \"enc\" ]; sign = false; decrypt = true;\n"
	  "   checks = [ \"scan\" ]; },\n"
	  " { name = \"r-signonly\"; roles = [ \"signonly\" ]; keys = [ \"enc\", \"ecdh\" ]; }\n"
	  ");\n", pub, cred);
	cfg = config_load_string(text, "p.conf", err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(cfg);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static caller_t mk_caller(uid_t uid, gid_t gid, const char *program, bool prog_sha_ok)
{
	caller_t c;
	memset(&c, 0, sizeof c);
	c.known = true;
	c.uid = uid;
	c.gid = gid;
	c.n_groups = 1;
	c.groups[0] = gid;
	snprintf(c.user, sizeof c.user, "u%u", (unsigned)uid);
	if (program) {
		snprintf(c.program, sizeof c.program, "%s", program);
		c.has_program_sha256 = true;
		memset(c.program_sha256, prog_sha_ok ? 0x11 : 0x22, 32);
	}
	return c;
}

/* ---- the decision table ------------------------------------------------- */

enum tk { TK_NONE = 0, TK_GOOD, TK_OLD, TK_WRONG_PRODUCT, TK_WRONG_AUD, TK_AUD_KEY, TK_AUD_NOFP, TK_CHECK_FAIL, TK_CHECK_MISSING };

typedef struct row {
	const char *what;
	uid_t uid;
	gid_t supp;                  /* a supplementary group, 0 = none */
	const char *program;
	bool prog_sha_ok;
	const char *login_role;
	const char *key;             /* NULL: no key (admin) or ungoverned (sign) */
	policy_action_t action;
	mech_id_t mech;
	hash_alg_t hash;
	bool deferred;
	time_t now;
	enum tk ticket;
	policy_reason_t expect;
	const char *rule;            /* rule reported (allowed or closest), NULL = none */
} row_t;

#define SIGN POLICY_ACTION_SIGN
#define ADMIN POLICY_ACTION_ADMIN
#define DECRYPT POLICY_ACTION_DECRYPT
#define UNWRAP POLICY_ACTION_UNWRAP
#define DERIVE POLICY_ACTION_DERIVE

static const row_t rows[] = {
	{ "allowed by uid", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "fixed hash given", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_SHA256, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "rsa-pkcs sha384", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_SHA384, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "rsa-pkcs deferred", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_UNKNOWN, 1, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "rsa-pkcs unparseable", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "rsa-pkcs sha1", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_SHA1, 0, T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "pss sha512 not listed", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS_PSS, HASH_SHA512, 0, T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "sha1 listed", 1001, 0, NULL, 0, NULL, "legacy", SIGN, MECH_SHA1_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "sha1 digestinfo listed", 1001, 0, NULL, 0, NULL, "legacy", SIGN, MECH_RSA_PKCS, HASH_SHA1, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "raw rsa listed", 1001, 0, NULL, 0, NULL, "legacy", SIGN, MECH_RSA_X_509, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "raw rsa not listed", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_X_509, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-rel" },
	{ "ecdsa on rsa key", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-rel" },
	{ "unknown mechanism", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_UNKNOWN, HASH_SHA256, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-rel" },
	{ "eddsa by label", 1001, 0, NULL, 0, NULL, "bylabel", SIGN, MECH_EDDSA, HASH_NONE, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "eddsa with a hash", 1001, 0, NULL, 0, NULL, "bylabel", SIGN, MECH_EDDSA, HASH_SHA256, 0, T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "revoked", 1001, 0, NULL, 0, NULL, "revoked", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_KEY_REVOKED, NULL },
	{ "not yet valid", 1001, 0, NULL, 0, NULL, "future", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_KEY_NOT_YET_VALID, NULL },
	{ "expired", 1001, 0, NULL, 0, NULL, "old", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_KEY_EXPIRED, NULL },
	{ "ungoverned", 1001, 0, NULL, 0, NULL, NULL, SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_KEY_UNGOVERNED, NULL },
	{ "no role", 4242, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "role but no rule for key", 1005, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "by name (unresolved at load)", 1006, 0, NULL, 0, NULL, "bylabel", SIGN, MECH_EDDSA, HASH_NONE, 0, T0, 0, REASON_ALLOWED, "r-named" },
	{ "in a role by name, no rule", 1006, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "in a role by group, no rule", 3000, 2000, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "in a role by program, no rule", 4242, 0, "/usr/bin/signer", 1, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "rule grants admin only", 1001, 0, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_NO_RULE, "r-adm-ec" },
	{ "group in window", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_ALLOWED, "r-grp" },
	{ "group evening", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0 + 7 * 3600, 0, REASON_OUTSIDE_WINDOW, "r-grp" },
	{ "group saturday", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0 + 3 * 86400, 0, REASON_OUTSIDE_WINDOW, "r-grp" },
	{ "group tz edge 17:59", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0 + 5 * 3600 + 59 * 60, 0, REASON_ALLOWED, "r-grp" },
	{ "group tz edge 18:00", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0 + 6 * 3600, 0, REASON_OUTSIDE_WINDOW, "r-grp" },
	{ "group bad hash", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_UNKNOWN, 0, T0, 0, REASON_HASH_FORBIDDEN, "r-grp" },
	{ "overnight at 23:00", 1005, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0 + 13 * 3600, 0, REASON_ALLOWED, "r-night" },
	{ "overnight at 05:00", 1005, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0 - 5 * 3600, 0, REASON_ALLOWED, "r-night" },
	{ "overnight at 10:00", 1005, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_OUTSIDE_WINDOW, "r-night" },
	{ "program + sha256", 4242, 0, "/usr/bin/signer", 1, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-prog" },
	{ "program wrong sha256", 4242, 0, "/usr/bin/signer", 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "other program", 4242, 0, "/usr/bin/other", 1, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "credential proven", 1003, 0, NULL, 0, "cred", "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_ALLOWED, "r-cred" },
	{ "credential not proven", 1003, 0, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "credential of another", 1001, 0, NULL, 0, "cred", "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_NO_RULE, "r-adm-ec" },
	{ "ticket good", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_GOOD, REASON_ALLOWED, "r-tick" },
	{ "ticket aud key name", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_AUD_KEY, REASON_ALLOWED, "r-tick" },
	{ "ticket missing", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_NONE, REASON_TICKET_MISSING, "r-tick" },
	{ "ticket too old", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_OLD, REASON_TICKET_TOO_OLD, "r-tick" },
	{ "ticket wrong product", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_WRONG_PRODUCT, REASON_TICKET_WRONG_PRODUCT, "r-tick" },
	{ "ticket wrong audience", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_WRONG_AUD, REASON_TICKET_WRONG_PRODUCT, "r-tick" },
	{ "ticket check failed", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_CHECK_FAIL, REASON_TICKET_CHECK_FAILED, "r-tick" },
	{ "ticket check missing", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_CHECK_MISSING, REASON_TICKET_CHECK_FAILED, "r-tick" },
	{ "ticket for key without products, no aud", 1004, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, TK_GOOD, REASON_TICKET_WRONG_PRODUCT, "r-tick-nofp" },
	{ "ticket for key without products, aud other", 1004, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, TK_WRONG_AUD, REASON_TICKET_WRONG_PRODUCT, "r-tick-nofp" },
	{ "ticket for key without products, aud names it", 1004, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, TK_AUD_NOFP, REASON_ALLOWED, "r-tick-nofp" },
	{ "ticket ignored when not required", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_WRONG_PRODUCT, REASON_ALLOWED, "r-rel" },
	{ "admin of key", 1001, 0, NULL, 0, NULL, "ec", ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-adm-ec" },
	{ "admin not granted", 1001, 0, NULL, 0, NULL, "rsa", ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ADMIN_CAPABILITY, "r-rel" },
	{ "admin no key, key-only grant", 1001, 0, NULL, 0, NULL, NULL, ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ADMIN_CAPABILITY, NULL },
	{ "admin all keys, no key", 0, 0, NULL, 0, NULL, NULL, ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-admin" },
	{ "admin all keys, revoked key", 0, 0, NULL, 0, NULL, "revoked", ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-admin" },
	{ "admin rule cannot sign", 0, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, "r-admin" },
	{ "admin no role", 4242, 0, NULL, 0, NULL, NULL, ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	/* decrypt, unwrap, derive (issue 12): the rule must grant the use and
	 * the key must list the mechanism for it; signing implies nothing */
	{ "decrypt granted", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-dec" },
	{ "decrypt with a signing mechanism", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "decrypt raw rsa", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_X_509, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "decrypt unknown mechanism", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "decrypt, key grants none", 1101, 0, NULL, 0, NULL, "ecdh", DECRYPT, MECH_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DECRYPT_CAPABILITY, "r-dec" },
	{ "decrypt outside window", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0 + 9 * 3600, 0, REASON_OUTSIDE_WINDOW, "r-dec" },
	{ "decrypt expired key", 1101, 0, NULL, 0, NULL, "enc-old", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_KEY_EXPIRED, NULL },
	{ "decrypt revoked key", 1101, 0, NULL, 0, NULL, "enc-rev", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_KEY_REVOKED, NULL },
	{ "decrypt ungoverned", 1101, 0, NULL, 0, NULL, NULL, DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_KEY_UNGOVERNED, NULL },
	{ "decrypt no role", 4242, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "decrypt role without rule", 1005, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "sign-only rule does not decrypt", 1103, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DECRYPT_CAPABILITY, "r-signonly" },
	{ "sign-only rule signs RSA-PKCS", 1103, 0, NULL, 0, NULL, "enc", SIGN, MECH_RSA_PKCS, HASH_SHA256, 0, T0, 0, REASON_ALLOWED, "r-signonly" },
	{ "sign-only rule does not unwrap", 1103, 0, NULL, 0, NULL, "enc", UNWRAP, MECH_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_UNWRAP_CAPABILITY, "r-signonly" },
	{ "sign-only rule does not derive", 1103, 0, NULL, 0, NULL, "ecdh", DERIVE, MECH_ECDH1_DERIVE, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DERIVE_CAPABILITY, "r-signonly" },
	{ "admin rule does not decrypt", 0, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DECRYPT_CAPABILITY, "r-admin" },
	{ "unwrap granted", 1101, 0, NULL, 0, NULL, "enc", UNWRAP, MECH_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-dec" },
	{ "unwrap mechanism not listed", 1101, 0, NULL, 0, NULL, "enc", UNWRAP, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "derive, rule grants none", 1101, 0, NULL, 0, NULL, "enc", DERIVE, MECH_ECDH1_DERIVE, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DERIVE_CAPABILITY, "r-dec" },
	{ "derive granted", 1101, 0, NULL, 0, NULL, "ecdh", DERIVE, MECH_ECDH1_DERIVE, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-derive" },
	{ "derive cofactor not listed", 1101, 0, NULL, 0, NULL, "ecdh", DERIVE, MECH_ECDH1_COFACTOR_DERIVE, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-derive" },
	{ "derive with a signing mechanism", 1101, 0, NULL, 0, NULL, "ecdh", DERIVE, MECH_ECDSA, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-derive" },
	{ "decrypt ticket missing", 1102, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, TK_NONE, REASON_TICKET_MISSING, "r-dec-tick" },
	{ "decrypt ticket good", 1102, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, TK_GOOD, REASON_ALLOWED, "r-dec-tick" },
	{ "decrypt ticket check failed", 1102, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, TK_CHECK_FAIL, REASON_TICKET_CHECK_FAILED, "r-dec-tick" },
	{ "ticket rule does not sign", 1102, 0, NULL, 0, NULL, "enc", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_GOOD, REASON_NO_RULE, "r-dec-tick" },
};

static void fill_ticket(ticket_claims_t *t, enum tk kind, time_t now)
{
	memset(t, 0, sizeof *t);
	snprintf(t->issuer, sizeof t->issuer, "ci");
	snprintf(t->product, sizeof t->product, "%s", kind == TK_WRONG_PRODUCT ? "lib" : "app");
	t->iat = now - (kind == TK_OLD ? 7200 : 60);
	t->exp = now + 3600;
	t->n_checks = kind == TK_CHECK_MISSING ? 1 : 2;
	snprintf(t->checks[0].name, sizeof t->checks[0].name, "unit");
	snprintf(t->checks[0].result, sizeof t->checks[0].result, "pass");
	t->checks[0].pass = true;
	snprintf(t->checks[1].name, sizeof t->checks[1].name, "scan");
	snprintf(t->checks[1].result, sizeof t->checks[1].result, kind == TK_CHECK_FAIL ? "fail" : "pass");
	t->checks[1].pass = kind != TK_CHECK_FAIL;
	if (kind == TK_WRONG_AUD || kind == TK_AUD_KEY || kind == TK_AUD_NOFP) {
		t->n_aud = 1;
		snprintf(t->aud[0], sizeof t->aud[0], "%s",
		         kind == TK_AUD_KEY ? "rsa" : kind == TK_AUD_NOFP ? "nofp" : "ec");
	}
}

static void test_decision_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		const row_t *r = &rows[i];
		caller_t c = mk_caller(r->uid, r->uid, r->program, r->prog_sha_ok);
		if (r->supp)
			c.groups[c.n_groups++] = r->supp;
		ticket_claims_t t;
		policy_request_t req = {
			.action = r->action, .caller = &c, .mech = r->mech, .hash = r->hash,
			.hash_deferred = r->deferred, .now = r->now,
		};
		if (r->key) {
			req.key = policy_key_by_name(cfg, r->key);
			assert_non_null(req.key);
		}
		if (r->login_role)
			req.login_role = policy_role_by_name(cfg, r->login_role);
		if (r->ticket) {
			fill_ticket(&t, r->ticket, r->now);
			req.ticket = &t;
		}
		policy_decision_t d;
		memset(&d, 0xa5, sizeof d);
		policy_decide(cfg, &req, &d);
		if (d.reason != r->expect)
			fail_msg("%s: reason %s, expected %s (%s)", r->what, policy_reason_name(d.reason),
			         policy_reason_name(r->expect), d.detail);
		if (d.allow != (r->expect == REASON_ALLOWED))
			fail_msg("%s: allow flag wrong", r->what);
		if (r->rule && (!d.rule || strcmp(d.rule->name, r->rule)))
			fail_msg("%s: rule %s, expected %s", r->what, d.rule ? d.rule->name : "-", r->rule);
		if (!r->rule && d.rule)
			fail_msg("%s: rule %s, expected none", r->what, d.rule->name);
		if (d.allow && !d.role)
			fail_msg("%s: allowed without a role", r->what);
		/* Denials explain themselves; an allow names its rule and role
		 * and leaves the text empty (it would cost on every signature). */
		if (!d.allow && (!d.detail[0] || strlen(d.detail) >= sizeof d.detail))
			fail_msg("%s: no detail", r->what);
		if (d.allow && d.detail[0])
			fail_msg("%s: allow with a detail text '%s'", r->what, d.detail);
		assert_int_equal(d.ckr, policy_reason_ckr(d.reason));
	}
}

static void test_detail_and_ckr(void **state)
{
	(void)state;
	caller_t c = mk_caller(1001, 1001, NULL, false);
	policy_request_t req = { .action = SIGN, .caller = &c, .key = policy_key_by_name(cfg, "rsa"),
		                 .mech = MECH_RSA_X_509, .now = T0 };
	policy_decision_t d;
	policy_decide(cfg, &req, &d);
	assert_string_equal(d.detail, "mechanism RSA-X-509 not allowed for key rsa");
	assert_int_equal(d.ckr, 0x70); /* CKR_MECHANISM_INVALID */
	req.key = policy_key_by_name(cfg, "revoked");
	policy_decide(cfg, &req, &d);
	assert_non_null(strstr(d.detail, "leaked"));
	assert_int_equal(d.ckr, 0x200); /* CKR_FUNCTION_REJECTED */

	/* unknown caller, no config */
	c.known = false;
	policy_decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_CALLER_UNKNOWN);
	assert_false(d.allow);
	c.known = true;
	policy_decide(NULL, &req, &d);
	assert_int_equal(d.reason, REASON_CONFIG_INVALID);
	assert_false(d.allow);
	req.caller = NULL;
	policy_decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_CALLER_UNKNOWN);

	/* out-of-range values from a confused caller are refused, not shifted */
	const policy_key_t *k = policy_key_by_name(cfg, "rsa");
	assert_false(policy_hash_allowed(k, MECH_RSA_PKCS, (hash_alg_t)40));
	assert_false(policy_hash_allowed(k, (mech_id_t)99, HASH_SHA256));
	assert_false(policy_hash_allowed(NULL, MECH_RSA_PKCS, HASH_SHA256));
	assert_true(policy_hash_allowed(k, MECH_RSA_PKCS, HASH_SHA256));
	assert_true(policy_hash_allowed(k, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN));  /* fixed by the mechanism */
	req.caller = &c;
	req.key = k;
	req.mech = (mech_id_t)99;
	policy_decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_MECHANISM_FORBIDDEN);
	req.mech = MECH_RSA_PKCS;
	req.hash = (hash_alg_t)77;
	policy_decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_HASH_FORBIDDEN);

	assert_int_equal(policy_reason_ckr(REASON_BAD_CREDENTIAL), 0xA0);
	assert_int_equal(policy_reason_ckr(REASON_HASH_FORBIDDEN), 0x70);
	assert_int_equal(policy_reason_ckr(REASON_QUOTA_EXHAUSTED), 0x200);
	assert_int_equal(policy_reason_ckr(REASON_ALLOWED), 0);
}

/* The new actions' details and codes: what `explain` and the audit say. */
static void test_key_use_details(void **state)
{
	(void)state;
	caller_t c = mk_caller(1101, 1101, NULL, false);
	policy_request_t req = { .action = DECRYPT, .caller = &c, .key = policy_key_by_name(cfg, "enc"),
		                 .mech = MECH_RSA_PKCS, .now = T0 };
	policy_decision_t d;
	policy_decide(cfg, &req, &d);
	assert_string_equal(d.detail, "mechanism RSA-PKCS not allowed for decryption with key enc");
	assert_int_equal(d.ckr, 0x70); /* CKR_MECHANISM_INVALID */
	req.key = policy_key_by_name(cfg, "ecdh");
	policy_decide(cfg, &req, &d);
	assert_string_equal(d.detail, "key ecdh does not allow decryption");
	assert_int_equal(d.ckr, 0x200); /* CKR_FUNCTION_REJECTED */
	c = mk_caller(1103, 1103, NULL, false);
	req.key = policy_key_by_name(cfg, "enc");
	req.mech = MECH_RSA_PKCS_OAEP;
	policy_decide(cfg, &req, &d);
	assert_string_equal(d.detail, "rule r-signonly does not grant decryption");
	assert_int_equal(d.ckr, 0x200);
	/* an out-of-range action is refused, never taken for another */
	req.action = (policy_action_t)POLICY_ACTION_COUNT;
	policy_decide(cfg, &req, &d);
	assert_false(d.allow);
	req.action = (policy_action_t)99;
	policy_decide(cfg, &req, &d);
	assert_false(d.allow);

	assert_string_equal(policy_action_name(SIGN), "sign");
	assert_string_equal(policy_action_name(ADMIN), "admin");
	assert_string_equal(policy_action_name(DECRYPT), "decrypt");
	assert_string_equal(policy_action_name(UNWRAP), "unwrap");
	assert_string_equal(policy_action_name(DERIVE), "derive");
	assert_string_equal(policy_action_name((policy_action_t)99), "unknown");
	assert_string_equal(policy_reason_name(REASON_NO_DECRYPT_CAPABILITY), "no-decrypt-capability");
	assert_string_equal(policy_reason_name(REASON_NO_UNWRAP_CAPABILITY), "no-unwrap-capability");
	assert_string_equal(policy_reason_name(REASON_NO_DERIVE_CAPABILITY), "no-derive-capability");
	assert_string_equal(policy_reason_name(REASON_DECRYPT_FAILED), "decrypt-failed");
	assert_string_equal(policy_reason_name(REASON_UNWRAP_FAILED), "unwrap-failed");
	assert_string_equal(policy_reason_name(REASON_DERIVE_FAILED), "derive-failed");
	assert_int_equal(policy_reason_ckr(REASON_NO_DECRYPT_CAPABILITY), 0x200);
}

static void test_reason_names(void **state)
{
	(void)state;
	assert_string_equal(policy_reason_name(REASON_KEY_REVOKED), "key-revoked");
	assert_string_equal(policy_reason_name(REASON_NO_ROLE), "no-role");
	assert_string_equal(policy_reason_name(REASON_TICKET_WRONG_PRODUCT), "ticket-wrong-product");
	assert_string_equal(policy_reason_name(REASON_COUNT), "unknown");
	/* every reason has a distinct kebab-case name */
	for (int i = 0; i < REASON_COUNT; i++) {
		const char *n = policy_reason_name((policy_reason_t)i);
		assert_string_not_equal(n, "unknown");
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '-' || (*p >= '0' && *p <= '9'));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, policy_reason_name((policy_reason_t)j));
	}
}

/* ---- key lookup ------------------------------------------------------------ */

static void test_key_lookup(void **state)
{
	(void)state;
	policy_reason_t why;
	unsigned char id1[] = { 0x01 }, id2[] = { 0x02 }, id7[] = { 0x07 }, id9[] = { 0x09 };
	policy_key_ref_t ref = { .token_label = "tok                             ", .id = id1, .id_len = 1,
		                 .label = "rsa-l", .has_fingerprint = true };
	memset(ref.fingerprint, 0xaa, 32);
	assert_ptr_equal(policy_key_lookup(cfg, &ref, &why), policy_key_by_name(cfg, "rsa"));
	assert_int_equal(why, REASON_ALLOWED);

	/* relabelled real key: the fingerprint decides */
	ref.label = "renamed";
	assert_ptr_equal(policy_key_lookup(cfg, &ref, &why), policy_key_by_name(cfg, "rsa"));

	/* a look-alike with the same ID and label but other key material */
	ref.label = "rsa-l";
	memset(ref.fingerprint, 0xcc, 32);
	assert_null(policy_key_lookup(cfg, &ref, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH);
	/* no fingerprint known for the object: not confirmed */
	ref.has_fingerprint = false;
	assert_null(policy_key_lookup(cfg, &ref, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH);

	/* a copy of the governed key under another ID */
	ref.has_fingerprint = true;
	memset(ref.fingerprint, 0xbb, 32);
	ref.id = id9;
	assert_null(policy_key_lookup(cfg, &ref, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH);

	/* something else entirely */
	memset(ref.fingerprint, 0x99, 32);
	assert_null(policy_key_lookup(cfg, &ref, &why));
	assert_int_equal(why, REASON_KEY_UNGOVERNED);

	/* other token */
	ref.token_label = "other";
	ref.id = id2;
	memset(ref.fingerprint, 0xbb, 32);
	assert_null(policy_key_lookup(cfg, &ref, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH); /* same material, another token */
	ref.token_label = "tok";
	assert_ptr_equal(policy_key_lookup(cfg, &ref, &why), policy_key_by_name(cfg, "ec"));

	/* no fingerprint configured: ID and label must both agree */
	ref.id = id7;
	ref.label = "nofp-l";
	ref.has_fingerprint = false;
	assert_ptr_equal(policy_key_lookup(cfg, &ref, &why), policy_key_by_name(cfg, "nofp"));
	ref.label = "other-label";
	assert_null(policy_key_lookup(cfg, &ref, &why));
	assert_int_equal(why, REASON_KEY_MISMATCH);

	/* by label, token given by serial */
	policy_key_ref_t lref = { .token_label = "some-label", .token_serial = "SER123          ",
		                  .label = "only-label" };
	assert_ptr_equal(policy_key_lookup(cfg, &lref, &why), policy_key_by_name(cfg, "bylabel"));
	lref.label = "only-label2";
	assert_null(policy_key_lookup(cfg, &lref, &why));
	assert_int_equal(why, REASON_KEY_UNGOVERNED);
	assert_null(policy_key_lookup(NULL, &lref, &why));
	assert_int_equal(why, REASON_KEY_UNGOVERNED);
}

static void test_rules_of_key(void **state)
{
	(void)state;
	size_t n;
	const size_t *r = policy_rules_of_key(cfg, policy_key_by_name(cfg, "ec"), &n);
	assert_int_equal(n, 3); /* r-grp (product lib), r-cred, r-adm-ec */
	assert_string_equal(cfg->rules[r[0]].name, "r-grp");
	assert_string_equal(cfg->rules[r[1]].name, "r-cred");
	assert_string_equal(cfg->rules[r[2]].name, "r-adm-ec");
	r = policy_all_keys_rules(cfg, &n);
	assert_int_equal(n, 1);
	assert_string_equal(cfg->rules[r[0]].name, "r-admin");
}

/* ---- credentials -------------------------------------------------------------- */

static void test_credentials(void **state)
{
	(void)state;
	caller_t c = mk_caller(1003, 1003, NULL, false);
	assert_ptr_equal(policy_credential_match(cfg, &c, "s3cret", 6), policy_role_by_name(cfg, "cred"));
	assert_null(policy_credential_match(cfg, &c, "s3cre", 5));
	assert_null(policy_credential_match(cfg, &c, "s3cret!", 7));
	assert_null(policy_credential_match(cfg, &c, "", 0));
	/* another uid: the role's identity does not match */
	caller_t o = mk_caller(1001, 1001, NULL, false);
	assert_null(policy_credential_match(cfg, &o, "s3cret", 6));
	/* NULL caller (tools): any role */
	assert_non_null(policy_credential_match(cfg, NULL, "s3cret", 6));

	char h[200];
	uint32_t iter;
	unsigned char salt[64], hash[32];
	size_t sl, hl;
	assert_int_equal(policy_credential_hash("x", h, sizeof h), 0);
	assert_true(policy_credential_parse(h, &iter, salt, &sl, hash, &hl));
	assert_int_equal(iter, POLICY_CREDENTIAL_ITER);
	assert_int_equal(sl, 16);
	assert_int_equal(hl, 32);
	assert_int_equal(policy_credential_hash("x", h, 20), -1);  /* too small */
	assert_false(policy_credential_parse("pbkdf2-sha256$999$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0, 0, 0));
	assert_true(policy_credential_parse("pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0, 0, 0));
	assert_false(policy_credential_parse("pbkdf2-sha256$1000$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0, 0, 0)); /* salt < 8 */
	assert_false(policy_credential_parse("pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAA", 0, 0, 0, 0, 0));
	assert_false(policy_credential_parse("pbkdf2-sha256$1000$c2Fs*HNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0, 0, 0));
	assert_false(policy_credential_parse("pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$x", 0, 0, 0, 0, 0));
	assert_false(policy_credential_parse("argon2$1000$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0, 0, 0));
}

/* ---- cost does not grow with the policy ---------------------------------------- */

static double decide_ns(const config_t *c, const policy_request_t *req)
{
	policy_decision_t d;
	struct timespec a, b;
	const int n = 20000;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < n; i++)
		policy_decide(c, req, &d);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_true(d.allow);
	return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n;
}

static config_t *generated(size_t n)
{
	size_t cap = 256 + n * 300;
	char *t = malloc(cap), err[CONFIG_ERR_MAX];
	size_t o = 0;
	o += (size_t)snprintf(t + o, cap - o, "backend = { module = \"/m\"; };\n"
	                      "roles = ( { name = \"r\"; users = [ 1001 ]; } );\nkeys = (\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s{ name = \"k%zu\"; token = \"t\"; id = \"%08zx\"; "
		                      "mechanisms = [ \"ECDSA\" ]; }\n", i ? "," : "", i, i);
	o += (size_t)snprintf(t + o, cap - o, ");\nrules = (\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o, "%s{ name = \"x%zu\"; roles = [ \"r\" ]; keys = [ \"k%zu\" ]; }\n",
		                      i ? "," : "", i, i);
	snprintf(t + o, cap - o, ");\n");
	config_t *c = config_load_string(t, "gen.conf", err, sizeof err);
	free(t);
	if (!c)
		fail_msg("%s", err);
	return c;
}

static void test_cost_flat(void **state)
{
	(void)state;
	config_t *small = generated(10), *big = generated(10000);
	caller_t c = mk_caller(1001, 1001, NULL, false);
	unsigned char id[4] = { 0, 0, 0x13, 0x37 };
	policy_key_ref_t ref = { .token_label = "t", .id = id, .id_len = 4 };
	policy_reason_t why;
	const policy_key_t *kb = policy_key_lookup(big, &ref, &why);
	assert_non_null(kb);
	id[2] = 0;
	id[3] = 7;
	const policy_key_t *ks = policy_key_lookup(small, &ref, &why);
	assert_non_null(ks);
	policy_request_t rs = { .action = SIGN, .caller = &c, .key = ks, .mech = MECH_ECDSA,
		                .hash = HASH_SHA256, .now = T0 };
	policy_request_t rb = rs;
	rb.key = kb;
	double ts = decide_ns(small, &rs), tb = decide_ns(big, &rb);
	print_message("policy_decide: %.0f ns with 10 rules, %.0f ns with 10000 rules\n", ts, tb);
	/* generous bound: only catches a scan over all rules */
	assert_true(tb < ts * 5 + 2000);
	config_free(small);
	config_free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_detail_and_ckr),
		cmocka_unit_test(test_key_use_details),
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_key_lookup),
		cmocka_unit_test(test_rules_of_key),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_cost_flat),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

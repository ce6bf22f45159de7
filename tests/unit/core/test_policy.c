/* Unit tests for module/core/policy.c: key lookup, the decision tables (at
 * *Init: policy_decide; at the data: policy_decide_data), every step of
 * config/REFERENCE.md's "How a decision is made" in its order, every reason
 * name (each produced by a decision here, or listed with why it is not),
 * credentials, and cost independent of size. */
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
#include "approval.h"
#include "policy.h"

#define FP(c) "sha256:" c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c c
#define PROG_SHA "1111111111111111111111111111111111111111111111111111111111111111"
#define GH_ISS "https://token.actions.githubusercontent.com"
#define ALICE_KEY \
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAID2Eg8vWKHUeeOjSEVeetnLvoDNU3yPMSjOQrMlUXN+h alice"
#define BOB_KEY \
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjep5ztgLL8KQ+YEtuvsu7ZEkW3z66dGIZKD9SDzO/4 bob"

static config_t *cfg;
static config_t *cfg2; /* identity providers, approvers, commit binding */
static char tmpdir[64];

/* Every reason a decision in this file produced (test_reason_coverage). */
static bool produced[REASON_COUNT];

static void saw(policy_reason_t r)
{
	if ((unsigned)r < REASON_COUNT)
		produced[r] = true;
}

static void decide(const config_t *c, const policy_request_t *req, policy_decision_t *d)
{
	policy_decide(c, req, d);
	saw(d->reason);
}

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
	snprintf(
	        text, sizeof text,
	        "backend = { module = \"/m.so\"; };\n"
	        "validators = ( { name = \"ci\"; public_key = \"%s\"; } );\n"
	        "roles = (\n"
	        " { name = \"rel\"; users = [ 1001 ]; },\n"
	        " { name = \"grp\"; groups = [ 2000 ]; },\n"
	        " { name = \"prog\"; programs = ( { path = \"/usr/bin/signer\"; sha256 = \"" PROG_SHA
	        "\"; } ); },\n"
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
	        " { name = \"rsa\"; token = \"tok\"; id = \"01\"; label = \"rsa-l\"; fingerprint = \"" FP(
	                "aa") "\";\n"
	                      "   products = [ \"app\" ]; mechanisms = [ \"SHA256-RSA-PKCS\", \"RSA-PKCS\", \"RSA-PKCS-PSS\" ];\n"
	                      "   hashes = [ \"SHA256\", \"SHA384\" ]; },\n"
	                      " { name = \"ec\"; token = \"tok\"; id = \"02\"; fingerprint = \"" FP(
	                              "bb") "\"; products = [ \"lib\" ];\n"
	                                    "   mechanisms = [ \"ECDSA\" ]; },\n"
	                                    " { name = \"legacy\"; token = \"tok\"; id = \"03\"; mechanisms = [ \"SHA1-RSA-PKCS\", \"RSA-PKCS\", \"RSA-X-509\" ];\n"
	                                    "   hashes = [ \"SHA1\", \"SHA256\" ]; },\n"
	                                    " { name = \"revoked\"; token = \"tok\"; id = \"04\"; mechanisms = [ \"ECDSA\" ]; revoked = true; revoked_reason = \"leaked\"; },\n"
	                                    " { name = \"future\"; token = \"tok\"; id = \"05\"; mechanisms = [ \"ECDSA\" ]; not_before = \"2030-01-01T00:00:00Z\"; },\n"
	                                    " { name = \"old\"; token = \"tok\"; id = \"06\"; mechanisms = [ \"ECDSA\" ]; not_after = \"2020-01-01T00:00:00Z\"; },\n"
	                                    " { name = \"nofp\"; token = \"tok\"; id = \"07\"; label = \"nofp-l\"; mechanisms = [ \"ECDSA\" ]; },\n"
	                                    " { name = \"bylabel\"; token = \"SER123\"; label = \"only-label\"; mechanisms = [ \"EDDSA\" ]; },\n"
	                                    /* decrypt, unwrap, derive: capabilities of their own */
	                                    " { name = \"enc\"; token = \"tok\"; id = \"21\"; fingerprint = \"" FP(
	                                            "dd") "\"; products = [ \"app\" ];\n"
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
	                                                  ");\n",
	        pub, cred);
	cfg = config_load_string(text, "p.conf", err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}

	/* Claim roles, approvals and the commit binding: a pinned JWKS (one
	 * EC P-256 public key) and two approvers' SSH keys. */
	char jwks[128];
	snprintf(jwks, sizeof jwks, "%s/jwks.json", tmpdir);
	f = fopen(jwks, "w");
	if (!f)
		return -1;
	fputs("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"e1\","
	      "\"x\":\"Fxkf-J4wfVHydNZIhrumgF8aROzoed5rLgj4zP6DTSY\","
	      "\"y\":\"T80G8lyRfWIwseMQ2Gvcntu132t2GjA-oZWcbXB8-qc\"}]}\n",
	      f);
	fclose(f);
	snprintf(
	        text, sizeof text,
	        "backend = { module = \"/m.so\"; };\n"
	        "validators = ( { name = \"ci\"; public_key = \"%s\"; } );\n"
	        "identity_providers = ( { name = \"github\"; issuer = \"" GH_ISS
	        "\"; audience = \"signgate\";\n"
	        "  jwks = \"%s\"; algorithms = [ \"ES256\" ]; } );\n"
	        "approvers = (\n"
	        " { name = \"alice\"; keys = [ \"" ALICE_KEY "\" ]; },\n"
	        " { name = \"bob\"; keys = [ \"" BOB_KEY "\" ]; users = [ \"u1301\" ]; }\n"
	        ");\n"
	        "approver_groups = ( { name = \"rm\"; members = [ \"alice\", \"bob\" ]; } );\n"
	        "roles = (\n"
	        " { name = \"gh\"; users = [ 1201 ]; identity_provider = \"github\";\n"
	        "   claims = { repository_id = \"74\"; ref_type = \"tag\"; }; },\n"
	        " { name = \"dev\"; users = [ 1301 ]; },\n"
	        " { name = \"ci\"; users = [ 1302 ]; }\n"
	        ");\n"
	        "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; products = [ \"app\" ];\n"
	        "   mechanisms = [ \"ECDSA\", \"SHA256-RSA-PKCS\" ]; } );\n"
	        "rules = (\n"
	        " { name = \"r-gh\"; roles = [ \"gh\" ]; keys = [ \"k\" ]; },\n"
	        " { name = \"r-two\"; roles = [ \"dev\" ]; keys = [ \"k\" ]; approvals = { count = 1; from = [ \"rm\" ]; };\n"
	        "   quota = { count = 5; period = \"1d\"; per = \"rule\"; }; },\n"
	        " { name = \"r-commit\"; roles = [ \"ci\" ]; keys = [ \"k\" ]; ticket_commit_is_token_sha = true; }\n"
	        ");\n",
	        pub, jwks);
	cfg2 = config_load_string(text, "p2.conf", err, sizeof err);
	if (!cfg2) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	config_free(cfg);
	config_free(cfg2);
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

enum tk {
	TK_NONE = 0,
	TK_GOOD,
	TK_OLD,
	TK_WRONG_PRODUCT,
	TK_WRONG_AUD,
	TK_AUD_KEY,
	TK_AUD_NOFP,
	TK_CHECK_FAIL,
	TK_CHECK_MISSING
};

typedef struct row {
	const char *what;
	uid_t uid;
	gid_t supp; /* a supplementary group, 0 = none */
	const char *program;
	bool prog_sha_ok;
	const char *login_role;
	const char *key; /* NULL: no key (admin) or ungoverned (sign) */
	policy_action_t action;
	mech_id_t mech;
	hash_alg_t hash;
	bool deferred;
	time_t now;
	enum tk ticket;
	policy_reason_t expect;
	const char *rule; /* rule reported (allowed or closest), NULL = none */
} row_t;

#define SIGN POLICY_ACTION_SIGN
#define ADMIN POLICY_ACTION_ADMIN
#define DECRYPT POLICY_ACTION_DECRYPT
#define UNWRAP POLICY_ACTION_UNWRAP
#define DERIVE POLICY_ACTION_DERIVE

static const row_t rows[] = {
	{ "allowed by uid", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN,
	  0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "fixed hash given", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_SHA256, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "rsa-pkcs sha384", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_SHA384, 0, T0,
	  0, REASON_ALLOWED, "r-rel" },
	{ "rsa-pkcs deferred", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_UNKNOWN, 1,
	  T0, 0, REASON_ALLOWED, "r-rel" },
	{ "rsa-pkcs unparseable", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_UNKNOWN,
	  0, T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "rsa-pkcs sha1", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS, HASH_SHA1, 0, T0, 0,
	  REASON_HASH_FORBIDDEN, "r-rel" },
	{ "pss sha512 not listed", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_PKCS_PSS,
	  HASH_SHA512, 0, T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "sha1 listed", 1001, 0, NULL, 0, NULL, "legacy", SIGN, MECH_SHA1_RSA_PKCS, HASH_UNKNOWN,
	  0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "sha1 digestinfo listed", 1001, 0, NULL, 0, NULL, "legacy", SIGN, MECH_RSA_PKCS,
	  HASH_SHA1, 0, T0, 0, REASON_ALLOWED, "r-rel" },
	{ "raw rsa listed", 1001, 0, NULL, 0, NULL, "legacy", SIGN, MECH_RSA_X_509, HASH_UNKNOWN, 0,
	  T0, 0, REASON_ALLOWED, "r-rel" },
	{ "raw rsa not listed", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_RSA_X_509, HASH_UNKNOWN,
	  0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-rel" },
	{ "ecdsa on rsa key", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0,
	  0, REASON_MECHANISM_FORBIDDEN, "r-rel" },
	{ "unknown mechanism", 1001, 0, NULL, 0, NULL, "rsa", SIGN, MECH_UNKNOWN, HASH_SHA256, 0,
	  T0, 0, REASON_MECHANISM_FORBIDDEN, "r-rel" },
	{ "eddsa by label", 1001, 0, NULL, 0, NULL, "bylabel", SIGN, MECH_EDDSA, HASH_NONE, 0, T0,
	  0, REASON_ALLOWED, "r-rel" },
	{ "eddsa with a hash", 1001, 0, NULL, 0, NULL, "bylabel", SIGN, MECH_EDDSA, HASH_SHA256, 0,
	  T0, 0, REASON_HASH_FORBIDDEN, "r-rel" },
	{ "revoked", 1001, 0, NULL, 0, NULL, "revoked", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0,
	  REASON_KEY_REVOKED, NULL },
	{ "not yet valid", 1001, 0, NULL, 0, NULL, "future", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0,
	  0, REASON_KEY_NOT_YET_VALID, NULL },
	{ "expired", 1001, 0, NULL, 0, NULL, "old", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0,
	  REASON_KEY_EXPIRED, NULL },
	{ "ungoverned", 1001, 0, NULL, 0, NULL, NULL, SIGN, MECH_ECDSA, HASH_SHA256, 0, T0, 0,
	  REASON_KEY_UNGOVERNED, NULL },
	{ "no role", 4242, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0,
	  0, REASON_NO_ROLE, NULL },
	{ "role but no rule for key", 1005, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "by name (unresolved at load)", 1006, 0, NULL, 0, NULL, "bylabel", SIGN, MECH_EDDSA,
	  HASH_NONE, 0, T0, 0, REASON_ALLOWED, "r-named" },
	{ "in a role by name, no rule", 1006, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "in a role by group, no rule", 3000, 2000, NULL, 0, NULL, "rsa", SIGN,
	  MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "in a role by program, no rule", 4242, 0, "/usr/bin/signer", 1, NULL, "ec", SIGN,
	  MECH_ECDSA, HASH_SHA256, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "rule grants admin only", 1001, 0, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0, 0, REASON_NO_RULE, "r-adm-ec" },
	{ "group in window", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0,
	  0, REASON_ALLOWED, "r-grp" },
	{ "group evening", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0 + 7 * 3600, 0, REASON_OUTSIDE_WINDOW, "r-grp" },
	{ "group saturday", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0 + 3 * 86400, 0, REASON_OUTSIDE_WINDOW, "r-grp" },
	{ "group tz edge 17:59", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0 + 5 * 3600 + 59 * 60, 0, REASON_ALLOWED, "r-grp" },
	{ "group tz edge 18:00", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0 + 6 * 3600, 0, REASON_OUTSIDE_WINDOW, "r-grp" },
	{ "group bad hash", 3000, 2000, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_UNKNOWN, 0, T0,
	  0, REASON_HASH_FORBIDDEN, "r-grp" },
	{ "overnight at 23:00", 1005, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0 + 13 * 3600, 0, REASON_ALLOWED, "r-night" },
	{ "overnight at 05:00", 1005, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0 - 5 * 3600, 0, REASON_ALLOWED, "r-night" },
	{ "overnight at 10:00", 1005, 0, NULL, 0, NULL, "nofp", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0, 0, REASON_OUTSIDE_WINDOW, "r-night" },
	{ "program + sha256", 4242, 0, "/usr/bin/signer", 1, NULL, "rsa", SIGN,
	  MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-prog" },
	{ "program wrong sha256", 4242, 0, "/usr/bin/signer", 0, NULL, "rsa", SIGN,
	  MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "other program", 4242, 0, "/usr/bin/other", 1, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "credential proven", 1003, 0, NULL, 0, "cred", "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0, T0,
	  0, REASON_ALLOWED, "r-cred" },
	{ "credential not proven", 1003, 0, NULL, 0, NULL, "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0, 0, REASON_NO_ROLE, NULL },
	{ "credential of another", 1001, 0, NULL, 0, "cred", "ec", SIGN, MECH_ECDSA, HASH_SHA256, 0,
	  T0, 0, REASON_NO_RULE, "r-adm-ec" },
	{ "ticket good", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0,
	  T0, TK_GOOD, REASON_ALLOWED, "r-tick" },
	{ "ticket aud key name", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, TK_AUD_KEY, REASON_ALLOWED, "r-tick" },
	{ "ticket missing", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN,
	  0, T0, TK_NONE, REASON_TICKET_MISSING, "r-tick" },
	{ "ticket too old", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS, HASH_UNKNOWN,
	  0, T0, TK_OLD, REASON_TICKET_TOO_OLD, "r-tick" },
	{ "ticket wrong product", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, TK_WRONG_PRODUCT, REASON_TICKET_WRONG_PRODUCT, "r-tick" },
	{ "ticket wrong audience", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, TK_WRONG_AUD, REASON_TICKET_WRONG_PRODUCT, "r-tick" },
	{ "ticket check failed", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, TK_CHECK_FAIL, REASON_TICKET_CHECK_FAILED, "r-tick" },
	{ "ticket check missing", 1004, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, TK_CHECK_MISSING, REASON_TICKET_CHECK_FAILED, "r-tick" },
	{ "ticket for key without products, no aud", 1004, 0, NULL, 0, NULL, "nofp", SIGN,
	  MECH_ECDSA, HASH_SHA256, 0, T0, TK_GOOD, REASON_TICKET_WRONG_PRODUCT, "r-tick-nofp" },
	{ "ticket for key without products, aud other", 1004, 0, NULL, 0, NULL, "nofp", SIGN,
	  MECH_ECDSA, HASH_SHA256, 0, T0, TK_WRONG_AUD, REASON_TICKET_WRONG_PRODUCT,
	  "r-tick-nofp" },
	{ "ticket for key without products, aud names it", 1004, 0, NULL, 0, NULL, "nofp", SIGN,
	  MECH_ECDSA, HASH_SHA256, 0, T0, TK_AUD_NOFP, REASON_ALLOWED, "r-tick-nofp" },
	{ "ticket ignored when not required", 1001, 0, NULL, 0, NULL, "rsa", SIGN,
	  MECH_SHA256_RSA_PKCS, HASH_UNKNOWN, 0, T0, TK_WRONG_PRODUCT, REASON_ALLOWED, "r-rel" },
	{ "admin of key", 1001, 0, NULL, 0, NULL, "ec", ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0, 0,
	  REASON_ALLOWED, "r-adm-ec" },
	{ "admin not granted", 1001, 0, NULL, 0, NULL, "rsa", ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0,
	  T0, 0, REASON_NO_ADMIN_CAPABILITY, "r-rel" },
	{ "admin no key, key-only grant", 1001, 0, NULL, 0, NULL, NULL, ADMIN, MECH_UNKNOWN,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_ADMIN_CAPABILITY, NULL },
	{ "admin all keys, no key", 0, 0, NULL, 0, NULL, NULL, ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0,
	  T0, 0, REASON_ALLOWED, "r-admin" },
	{ "admin all keys, revoked key", 0, 0, NULL, 0, NULL, "revoked", ADMIN, MECH_UNKNOWN,
	  HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-admin" },
	{ "admin rule cannot sign", 0, 0, NULL, 0, NULL, "rsa", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, "r-admin" },
	{ "admin no role", 4242, 0, NULL, 0, NULL, NULL, ADMIN, MECH_UNKNOWN, HASH_UNKNOWN, 0, T0,
	  0, REASON_NO_ROLE, NULL },
	/* decrypt, unwrap, derive (issue 12): the rule must grant the use and
	 * the key must list the mechanism for it; signing implies nothing */
	{ "decrypt granted", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_ALLOWED, "r-dec" },
	{ "decrypt with a signing mechanism", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "decrypt raw rsa", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_X_509, HASH_UNKNOWN,
	  0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "decrypt unknown mechanism", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_UNKNOWN,
	  HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "decrypt, key grants none", 1101, 0, NULL, 0, NULL, "ecdh", DECRYPT, MECH_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_DECRYPT_CAPABILITY, "r-dec" },
	{ "decrypt outside window", 1101, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0 + 9 * 3600, 0, REASON_OUTSIDE_WINDOW, "r-dec" },
	{ "decrypt expired key", 1101, 0, NULL, 0, NULL, "enc-old", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_KEY_EXPIRED, NULL },
	{ "decrypt revoked key", 1101, 0, NULL, 0, NULL, "enc-rev", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_KEY_REVOKED, NULL },
	{ "decrypt ungoverned", 1101, 0, NULL, 0, NULL, NULL, DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_KEY_UNGOVERNED, NULL },
	{ "decrypt no role", 4242, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_ROLE, NULL },
	{ "decrypt role without rule", 1005, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_RULE, NULL },
	{ "sign-only rule does not decrypt", 1103, 0, NULL, 0, NULL, "enc", DECRYPT,
	  MECH_RSA_PKCS_OAEP, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DECRYPT_CAPABILITY, "r-signonly" },
	{ "sign-only rule signs RSA-PKCS", 1103, 0, NULL, 0, NULL, "enc", SIGN, MECH_RSA_PKCS,
	  HASH_SHA256, 0, T0, 0, REASON_ALLOWED, "r-signonly" },
	{ "sign-only rule does not unwrap", 1103, 0, NULL, 0, NULL, "enc", UNWRAP, MECH_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_UNWRAP_CAPABILITY, "r-signonly" },
	{ "sign-only rule does not derive", 1103, 0, NULL, 0, NULL, "ecdh", DERIVE,
	  MECH_ECDH1_DERIVE, HASH_UNKNOWN, 0, T0, 0, REASON_NO_DERIVE_CAPABILITY, "r-signonly" },
	{ "admin rule does not decrypt", 0, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_DECRYPT_CAPABILITY, "r-admin" },
	{ "unwrap granted", 1101, 0, NULL, 0, NULL, "enc", UNWRAP, MECH_RSA_PKCS, HASH_UNKNOWN, 0,
	  T0, 0, REASON_ALLOWED, "r-dec" },
	{ "unwrap mechanism not listed", 1101, 0, NULL, 0, NULL, "enc", UNWRAP, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-dec" },
	{ "derive, rule grants none", 1101, 0, NULL, 0, NULL, "enc", DERIVE, MECH_ECDH1_DERIVE,
	  HASH_UNKNOWN, 0, T0, 0, REASON_NO_DERIVE_CAPABILITY, "r-dec" },
	{ "derive granted", 1101, 0, NULL, 0, NULL, "ecdh", DERIVE, MECH_ECDH1_DERIVE, HASH_UNKNOWN,
	  0, T0, 0, REASON_ALLOWED, "r-derive" },
	{ "derive cofactor not listed", 1101, 0, NULL, 0, NULL, "ecdh", DERIVE,
	  MECH_ECDH1_COFACTOR_DERIVE, HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN,
	  "r-derive" },
	{ "derive with a signing mechanism", 1101, 0, NULL, 0, NULL, "ecdh", DERIVE, MECH_ECDSA,
	  HASH_UNKNOWN, 0, T0, 0, REASON_MECHANISM_FORBIDDEN, "r-derive" },
	{ "decrypt ticket missing", 1102, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, TK_NONE, REASON_TICKET_MISSING, "r-dec-tick" },
	{ "decrypt ticket good", 1102, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, TK_GOOD, REASON_ALLOWED, "r-dec-tick" },
	{ "decrypt ticket check failed", 1102, 0, NULL, 0, NULL, "enc", DECRYPT, MECH_RSA_PKCS_OAEP,
	  HASH_UNKNOWN, 0, T0, TK_CHECK_FAIL, REASON_TICKET_CHECK_FAILED, "r-dec-tick" },
	{ "ticket rule does not sign", 1102, 0, NULL, 0, NULL, "enc", SIGN, MECH_SHA256_RSA_PKCS,
	  HASH_UNKNOWN, 0, T0, TK_GOOD, REASON_NO_RULE, "r-dec-tick" },
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
	snprintf(t->checks[1].result, sizeof t->checks[1].result,
	         kind == TK_CHECK_FAIL ? "fail" : "pass");
	t->checks[1].pass = kind != TK_CHECK_FAIL;
	if (kind == TK_WRONG_AUD || kind == TK_AUD_KEY || kind == TK_AUD_NOFP) {
		t->n_aud = 1;
		snprintf(t->aud[0], sizeof t->aud[0], "%s",
		         kind == TK_AUD_KEY    ? "rsa"
		         : kind == TK_AUD_NOFP ? "nofp"
		                               : "ec");
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
			.action = r->action,
			.caller = &c,
			.mech = r->mech,
			.hash = r->hash,
			.hash_deferred = r->deferred,
			.now = r->now,
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
		decide(cfg, &req, &d);
		if (d.reason != r->expect)
			fail_msg("%s: reason %s, expected %s (%s)", r->what,
			         policy_reason_name(d.reason), policy_reason_name(r->expect),
			         d.detail);
		if (d.allow != (r->expect == REASON_ALLOWED))
			fail_msg("%s: allow flag wrong", r->what);
		if (r->rule && (!d.rule || strcmp(d.rule->name, r->rule)))
			fail_msg("%s: rule %s, expected %s", r->what, d.rule ? d.rule->name : "-",
			         r->rule);
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
	policy_request_t req = { .action = SIGN,
		                 .caller = &c,
		                 .key = policy_key_by_name(cfg, "rsa"),
		                 .mech = MECH_RSA_X_509,
		                 .now = T0 };
	policy_decision_t d;
	decide(cfg, &req, &d);
	assert_string_equal(d.detail, "mechanism RSA-X-509 not allowed for key rsa");
	assert_int_equal(d.ckr, 0x70); /* CKR_MECHANISM_INVALID */
	req.key = policy_key_by_name(cfg, "revoked");
	decide(cfg, &req, &d);
	assert_non_null(strstr(d.detail, "leaked"));
	assert_int_equal(d.ckr, 0x200); /* CKR_FUNCTION_REJECTED */

	/* unknown caller, no config */
	c.known = false;
	decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_CALLER_UNKNOWN);
	assert_false(d.allow);
	c.known = true;
	decide(NULL, &req, &d);
	assert_int_equal(d.reason, REASON_CONFIG_INVALID);
	assert_false(d.allow);
	req.caller = NULL;
	decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_CALLER_UNKNOWN);

	/* out-of-range values from a confused caller are refused, not shifted */
	const policy_key_t *k = policy_key_by_name(cfg, "rsa");
	assert_false(policy_hash_allowed(k, MECH_RSA_PKCS, (hash_alg_t)40));
	assert_false(policy_hash_allowed(k, (mech_id_t)99, HASH_SHA256));
	assert_false(policy_hash_allowed(NULL, MECH_RSA_PKCS, HASH_SHA256));
	assert_true(policy_hash_allowed(k, MECH_RSA_PKCS, HASH_SHA256));
	assert_true(policy_hash_allowed(k, MECH_SHA256_RSA_PKCS,
	                                HASH_UNKNOWN)); /* fixed by the mechanism */
	req.caller = &c;
	req.key = k;
	req.mech = (mech_id_t)99;
	decide(cfg, &req, &d);
	assert_int_equal(d.reason, REASON_MECHANISM_FORBIDDEN);
	req.mech = MECH_RSA_PKCS;
	req.hash = (hash_alg_t)77;
	decide(cfg, &req, &d);
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
	policy_request_t req = { .action = DECRYPT,
		                 .caller = &c,
		                 .key = policy_key_by_name(cfg, "enc"),
		                 .mech = MECH_RSA_PKCS,
		                 .now = T0 };
	policy_decision_t d;
	decide(cfg, &req, &d);
	assert_string_equal(d.detail, "mechanism RSA-PKCS not allowed for decryption with key enc");
	assert_int_equal(d.ckr, 0x70); /* CKR_MECHANISM_INVALID */
	req.key = policy_key_by_name(cfg, "ecdh");
	decide(cfg, &req, &d);
	assert_string_equal(d.detail, "key ecdh does not allow decryption");
	assert_int_equal(d.ckr, 0x200); /* CKR_FUNCTION_REJECTED */
	c = mk_caller(1103, 1103, NULL, false);
	req.key = policy_key_by_name(cfg, "enc");
	req.mech = MECH_RSA_PKCS_OAEP;
	decide(cfg, &req, &d);
	assert_string_equal(d.detail, "rule r-signonly does not grant decryption");
	assert_int_equal(d.ckr, 0x200);
	/* an out-of-range action is refused, never taken for another */
	req.action = (policy_action_t)POLICY_ACTION_COUNT;
	decide(cfg, &req, &d);
	assert_false(d.allow);
	req.action = (policy_action_t)99;
	decide(cfg, &req, &d);
	assert_false(d.allow);

	assert_string_equal(policy_action_name(SIGN), "sign");
	assert_string_equal(policy_action_name(ADMIN), "admin");
	assert_string_equal(policy_action_name(DECRYPT), "decrypt");
	assert_string_equal(policy_action_name(UNWRAP), "unwrap");
	assert_string_equal(policy_action_name(DERIVE), "derive");
	assert_string_equal(policy_action_name((policy_action_t)99), "unknown");
	assert_string_equal(policy_reason_name(REASON_NO_DECRYPT_CAPABILITY),
	                    "no-decrypt-capability");
	assert_string_equal(policy_reason_name(REASON_NO_UNWRAP_CAPABILITY),
	                    "no-unwrap-capability");
	assert_string_equal(policy_reason_name(REASON_NO_DERIVE_CAPABILITY),
	                    "no-derive-capability");
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
	assert_string_equal(policy_reason_name(REASON_TICKET_WRONG_PRODUCT),
	                    "ticket-wrong-product");
	assert_string_equal(policy_reason_name(REASON_COUNT), "unknown");
	/* every reason has a distinct kebab-case name */
	for (int i = 0; i < REASON_COUNT; i++) {
		const char *n = policy_reason_name((policy_reason_t)i);
		assert_string_not_equal(n, "unknown");
		for (const char *p = n; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') || *p == '-' ||
			            (*p >= '0' && *p <= '9'));
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, policy_reason_name((policy_reason_t)j));
	}
}

/* ---- claim roles, approvals, the commit binding (cfg2) ------------------- */

static void fill_idtoken(idtoken_claims_t *t, const char *ref_type, int64_t exp, const char *sha)
{
	memset(t, 0, sizeof *t);
	snprintf(t->provider, sizeof t->provider, "github");
	snprintf(t->issuer, sizeof t->issuer, GH_ISS);
	snprintf(t->jti, sizeof t->jti, "jti-1");
	t->iat = T0 - 60;
	t->nbf = T0 - 60;
	t->exp = exp;
	t->present = 1ull << IDC_REPOSITORY_ID;
	snprintf(t->v[IDC_REPOSITORY_ID], sizeof t->v[0], "74");
	if (ref_type) {
		t->present |= 1ull << IDC_REF_TYPE;
		snprintf(t->v[IDC_REF_TYPE], sizeof t->v[0], "%s", ref_type);
	}
	if (sha) {
		t->present |= 1ull << IDC_SHA;
		snprintf(t->v[IDC_SHA], sizeof t->v[0], "%s", sha);
	}
}

static void fill_approval(approval_t *a, const char *who, const unsigned char *digest)
{
	memset(a, 0, sizeof *a);
	snprintf(a->approver, sizeof a->approver, "%s", who);
	snprintf(a->product, sizeof a->product, "app");
	snprintf(a->run, sizeof a->run, "42");
	a->iat = T0 - 60;
	a->exp = T0 + 3600;
	const config_approver_t *ap = approval_approver(cfg2, who);
	assert_non_null(ap);
	memcpy(a->key_fp, ap->keys[0].fp, 32);
	if (digest) {
		a->n_digests = 1;
		memcpy(a->digests[0], digest, 32);
	}
}

static void expect_reason(const config_t *c, const policy_request_t *req, policy_reason_t want,
                          const char *rule, const char *detail_part, const char *what)
{
	policy_decision_t d;
	memset(&d, 0xa5, sizeof d);
	decide(c, req, &d);
	if (d.reason != want)
		fail_msg("%s: reason %s, expected %s (%s)", what, policy_reason_name(d.reason),
		         policy_reason_name(want), d.detail);
	if (d.allow != (want == REASON_ALLOWED))
		fail_msg("%s: allow flag wrong", what);
	if (rule && (!d.rule || strcmp(d.rule->name, rule)))
		fail_msg("%s: rule %s, expected %s", what, d.rule ? d.rule->name : "-", rule);
	if (detail_part && !strstr(d.detail, detail_part))
		fail_msg("%s: detail '%s' lacks '%s'", what, d.detail, detail_part);
	if (want != REASON_TICKET_INVALID && d.ckr != policy_reason_ckr(d.reason))
		fail_msg("%s: ckr 0x%lx", what, d.ckr);
}

static void test_claims_approvals_commit(void **state)
{
	(void)state;
	const policy_key_t *k = policy_key_by_name(cfg2, "k");
	caller_t gh = mk_caller(1201, 1201, NULL, false);
	idtoken_claims_t tok;
	policy_request_t req = { .action = SIGN,
		                 .caller = &gh,
		                 .key = k,
		                 .mech = MECH_ECDSA,
		                 .hash = HASH_SHA256,
		                 .now = T0 };

	/* step 5: a claim role the caller misses only for its token */
	expect_reason(cfg2, &req, REASON_TOKEN_MISSING, "r-gh", "needs an ID token", "no token");
	fill_idtoken(&tok, "tag", T0 + 300, NULL);
	req.idtoken = &tok;
	expect_reason(cfg2, &req, REASON_ALLOWED, "r-gh", NULL, "token matches");
	fill_idtoken(&tok, "branch", T0 + 300, NULL);
	expect_reason(cfg2, &req, REASON_CLAIMS_MISMATCH, "r-gh", "ref_type 'branch' is not 'tag'",
	              "claim differs");
	fill_idtoken(&tok, NULL, T0 + 300, NULL);
	expect_reason(cfg2, &req, REASON_CLAIMS_MISMATCH, "r-gh", "token has no claim ref_type",
	              "claim missing");
	fill_idtoken(&tok, "tag", T0 - 3600, NULL);
	expect_reason(cfg2, &req, REASON_TOKEN_EXPIRED, "r-gh", "expired",
	              "token expired since login");
	fill_idtoken(&tok, "tag", T0 + 300, NULL);
	snprintf(tok.issuer, sizeof tok.issuer, "https://gitlab.example");
	expect_reason(cfg2, &req, REASON_CLAIMS_MISMATCH, "r-gh", "not of", "another issuer");
	/* a token that failed verification: the denial names the failure */
	req.idtoken = NULL;
	for (int st = IDTOKEN_MALFORMED; st <= IDTOKEN_REPLAYED; st++) {
		req.idtoken_status = (idtoken_status_t)st;
		expect_reason(cfg2, &req, policy_idtoken_reason((idtoken_status_t)st), "r-gh",
		              idtoken_status_name((idtoken_status_t)st), "token refused");
		assert_string_equal(policy_reason_name(policy_idtoken_reason((idtoken_status_t)st)),
		                    idtoken_status_name((idtoken_status_t)st));
	}
	assert_int_equal(policy_idtoken_reason(IDTOKEN_OK), REASON_ALLOWED);
	req.idtoken_status = IDTOKEN_OK;
	/* not in the claim role's OS identity: no role at all */
	caller_t other = mk_caller(4242, 4242, NULL, false);
	req.caller = &other;
	expect_reason(cfg2, &req, REASON_NO_ROLE, NULL, "in no role", "other caller");

	/* the two-person rule at *Init: distinct approvers, never the caller */
	caller_t dev = mk_caller(1301, 1301, NULL, false);
	approval_t apv[2];
	req.caller = &dev;
	expect_reason(cfg2, &req, REASON_APPROVALS_MISSING, "r-two",
	              "rule r-two: 1 more approval needed from rm (0 of 1 counted)",
	              "no approvals");
	fill_approval(&apv[0], "bob", NULL);
	req.approvals = apv;
	req.n_approvals = 1;
	expect_reason(cfg2, &req, REASON_APPROVALS_MISSING, "r-two", NULL,
	              "approved by the caller");
	fill_approval(&apv[1], "alice", NULL);
	req.n_approvals = 2;
	policy_decision_t d;
	decide(cfg2, &req, &d);
	assert_true(d.allow);
	assert_string_equal(d.approvers, "alice");
	apv[1].key_fp[0] ^= 1; /* signed by a key alice no longer has */
	expect_reason(cfg2, &req, REASON_APPROVALS_MISSING, "r-two", NULL,
	              "untrusted approval key");
	fill_approval(&apv[1], "alice", NULL);
	apv[1].exp = T0 - 3600;
	expect_reason(cfg2, &req, REASON_APPROVALS_MISSING, "r-two", NULL, "expired approval");
	req.approvals = NULL;
	req.n_approvals = 0;

	/* the ticket's commit is the token's sha */
	caller_t ci = mk_caller(1302, 1302, NULL, false);
	ticket_claims_t t;
	fill_ticket(&t, TK_GOOD, T0);
	snprintf(t.commit, sizeof t.commit, "0123abcd");
	req.caller = &ci;
	req.ticket = &t;
	fill_idtoken(&tok, "tag", T0 + 300, "0123ABCD");
	req.idtoken = &tok;
	expect_reason(cfg2, &req, REASON_ALLOWED, "r-commit", NULL, "commit is the token's sha");
	fill_idtoken(&tok, "tag", T0 + 300, "ffff0000");
	expect_reason(cfg2, &req, REASON_TOKEN_COMMIT_MISMATCH, "r-commit",
	              "is not the ID token's sha", "other commit");
	req.idtoken = NULL;
	expect_reason(cfg2, &req, REASON_TOKEN_COMMIT_MISMATCH, "r-commit", "(no token)",
	              "no token");
	/* a ticket was presented but did not verify: ticket-invalid, with the
	 * code of a policy refusal (not the login's CKR_PIN_INCORRECT) */
	req.ticket = NULL;
	req.ticket_status = TICKET_EXPIRED;
	decide(cfg2, &req, &d);
	assert_int_equal(d.reason, REASON_TICKET_INVALID);
	assert_string_equal(d.detail, "ticket-expired");
	assert_int_equal(d.ckr, 0x200);
	req.ticket_status = TICKET_OK;
	expect_reason(cfg2, &req, REASON_TICKET_MISSING, "r-commit", NULL, "no ticket");
}

/* Why an object has no governed key changes the denial's reason. */
static void test_key_reason(void **state)
{
	(void)state;
	caller_t rel = mk_caller(1001, 1001, NULL, false), adm = mk_caller(0, 0, NULL, false);
	policy_request_t req = { .action = SIGN,
		                 .caller = &rel,
		                 .mech = MECH_ECDSA,
		                 .hash = HASH_SHA256,
		                 .now = T0,
		                 .key_reason = REASON_KEY_MISMATCH };
	expect_reason(cfg, &req, REASON_KEY_MISMATCH, NULL, NULL, "look-alike signs");
	req.action = DECRYPT;
	expect_reason(cfg, &req, REASON_KEY_MISMATCH, NULL, NULL, "look-alike decrypts");
	req.action = ADMIN;
	expect_reason(cfg, &req, REASON_KEY_MISMATCH, NULL, NULL, "look-alike wrapped");
	req.key_reason = REASON_KEY_UNGOVERNED;
	req.action = SIGN;
	expect_reason(cfg, &req, REASON_KEY_UNGOVERNED, NULL, "not governed", "ungoverned");
	/* step 1 before step 2: an unknown caller is that first */
	req.key_reason = REASON_KEY_MISMATCH;
	rel.known = false;
	expect_reason(cfg, &req, REASON_CALLER_UNKNOWN, NULL, NULL, "unknown caller, look-alike");
	rel.known = true;
	/* an object of unknown identity: only administration over all keys */
	req.action = ADMIN;
	req.key_reason = REASON_KEY_UNKNOWN;
	expect_reason(cfg, &req, REASON_KEY_UNKNOWN, NULL, "needs a rule over all keys",
	              "unknown object");
	req.caller = &adm;
	expect_reason(cfg, &req, REASON_ALLOWED, "r-admin", NULL, "unknown object, all_keys admin");
	/* a key that is governed after all: the reason given is ignored */
	req.caller = &rel;
	req.action = SIGN;
	req.key = policy_key_by_name(cfg, "rsa");
	req.mech = MECH_SHA256_RSA_PKCS;
	req.hash = HASH_UNKNOWN;
	expect_reason(cfg, &req, REASON_ALLOWED, "r-rel", NULL, "governed key");
	policy_decide(NULL, &req, &(policy_decision_t){ 0 });
	req.action = ADMIN;
	req.key = NULL;
	req.key_reason = REASON_KEY_UNKNOWN;
	expect_reason(NULL, &req, REASON_KEY_UNKNOWN, NULL, NULL, "unknown object, no config");
}

/* Step 1 to 5 in their order: a request failing several conditions gets
 * the reason of the first (config/REFERENCE.md, "How a decision is made"). */
static void test_decision_order(void **state)
{
	(void)state;
	caller_t rel = mk_caller(1001, 1001, NULL, false),
	         nobody = mk_caller(4242, 4242, NULL, false);
	policy_request_t req = { .action = SIGN,
		                 .caller = &nobody,
		                 .key = policy_key_by_name(cfg, "revoked"),
		                 .mech = MECH_RSA_X_509,
		                 .hash = HASH_SHA1,
		                 .now = T0 };
	/* 1: no config, then the caller */
	expect_reason(NULL, &req, REASON_CONFIG_INVALID, NULL, "no valid config", "1 config");
	nobody.known = false;
	expect_reason(cfg, &req, REASON_CALLER_UNKNOWN, NULL, NULL, "1 caller");
	nobody.known = true;
	/* 2: not governed, before anything about the caller's roles */
	req.key = NULL;
	expect_reason(cfg, &req, REASON_KEY_UNGOVERNED, NULL, NULL, "2 ungoverned");
	/* 3: validity, before the rules and the caller's roles */
	req.key = policy_key_by_name(cfg, "revoked");
	expect_reason(cfg, &req, REASON_KEY_REVOKED, NULL, "leaked", "3 revoked");
	req.key = policy_key_by_name(cfg, "future");
	expect_reason(cfg, &req, REASON_KEY_NOT_YET_VALID, NULL, NULL, "3 not yet valid");
	req.key = policy_key_by_name(cfg, "old");
	expect_reason(cfg, &req, REASON_KEY_EXPIRED, NULL, NULL, "3 expired");
	/* 4: in a rule: grant, mechanism, hash, window, ticket, approvals */
	req.key = policy_key_by_name(cfg, "rsa");
	req.caller = &rel;
	expect_reason(cfg, &req, REASON_MECHANISM_FORBIDDEN, "r-rel", NULL,
	              "4 mechanism before hash");
	req.mech = MECH_RSA_PKCS;
	expect_reason(cfg, &req, REASON_HASH_FORBIDDEN, "r-rel", "hash SHA1 not allowed", "4 hash");
	caller_t grp = mk_caller(3000, 3000, NULL, false);
	grp.groups[grp.n_groups++] = 2000;
	req.caller = &grp;
	req.key = policy_key_by_name(cfg, "ec");
	req.mech = MECH_ECDSA;
	req.hash = HASH_UNKNOWN;
	req.now = T0 + 3 * 86400; /* Saturday: the hash is judged first */
	expect_reason(cfg, &req, REASON_HASH_FORBIDDEN, "r-grp", "not determinable",
	              "4 hash before window");
	req.hash = HASH_SHA256;
	expect_reason(cfg, &req, REASON_OUTSIDE_WINDOW, "r-grp", "outside the time window",
	              "4 window");
	caller_t tick = mk_caller(1004, 1004, NULL, false);
	ticket_claims_t t;
	req.caller = &tick;
	req.key = policy_key_by_name(cfg, "rsa");
	req.mech = MECH_SHA256_RSA_PKCS;
	req.hash = HASH_UNKNOWN;
	req.now = T0;
	fill_ticket(&t, TK_OLD, T0);
	t.checks[1].pass = false;
	req.ticket = &t;
	expect_reason(cfg, &req, REASON_TICKET_TOO_OLD, "r-tick", NULL,
	              "4 ticket age before checks");
	/* 5: the closest rule's failure; no-role / no-rule */
	req.ticket = NULL;
	req.caller = &nobody;
	expect_reason(cfg, &req, REASON_NO_ROLE, NULL, "is in no role", "5 no role");
	caller_t other = mk_caller(1005, 1005, NULL, false);
	req.caller = &other;
	expect_reason(cfg, &req, REASON_NO_RULE, NULL, "no rule grants key rsa", "5 no rule");
	req.action = DECRYPT;
	expect_reason(cfg, &req, REASON_NO_RULE, NULL, "for decryption", "5 no rule to decrypt");
	/* administration: no validity step, admin instead of sign */
	req.action = ADMIN;
	req.caller = &rel;
	req.key = policy_key_by_name(cfg, "revoked");
	expect_reason(cfg, &req, REASON_NO_ADMIN_CAPABILITY, "r-rel", NULL,
	              "admin of a revoked key");
	req.key = NULL;
	expect_reason(cfg, &req, REASON_NO_ADMIN_CAPABILITY, NULL, "without a key",
	              "admin without a key");
}

/* ---- at the data: policy_decide_data ------------------------------------- */

static const unsigned char DIG_A[32] = { 0xa1, 0xa2, 0xa3 }, DIG_B[32] = { 0xb1, 0xb2, 0xb3 };

enum insp {
	IN_NONE = 0,
	IN_DI256,
	IN_DI1,
	IN_DI1_LEGACY,
	IN_EC256,
	IN_DISGUISED,
	IN_TRUNC,
	IN_MALFORMED,
	IN_PSSBAD,
	IN_UNKNOWN,
	IN_LENGTH,
	IN_NOHASH,
	IN_CMS_A,
	IN_CMS_B,
	IN_NOTCMS
};
enum dtk { DT_NONE = 0, DT_PLAIN, DT_EXPIRED, DT_FUTURE, DT_ART_A, DT_ART_B, DT_USES };
enum drule { RL_REL = 0, RL_QUOTA, RL_NONE };

typedef struct drow {
	const char *what;
	policy_data_op_t op;
	const char *key;
	mech_id_t mech;
	hash_alg_t hash; /* known at *Init */
	bool pending, multipart;
	enum insp insp;
	enum dtk ticket;
	const unsigned char *data_sha;
	enum drule rule;
	policy_count_t quota, ticket_use;
	/* expected */
	policy_reason_t expect;
	unsigned long ckr;
	policy_need_t need;
	hash_alg_t out_hash;
	bool bind_final;
	const char *detail; /* part of it, NULL = any */
} drow_t;

#define DSIGN POLICY_DATA_SIGN
#define NEED0 POLICY_NEED_NOTHING
#define UNASKED POLICY_COUNT_UNASKED
#define TAKEN POLICY_COUNT_TAKEN
#define EXHAUSTED POLICY_COUNT_EXHAUSTED
#define UNAVAIL POLICY_COUNT_UNAVAILABLE
#define H_UNK HASH_UNKNOWN
#define H256 HASH_SHA256

static const drow_t drows[] = {
	/* D1 the ticket bound at *Init, at now */
	{ "D1 ticket expired since *Init", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0,
	  IN_NOTCMS, DT_EXPIRED, NULL, RL_REL, 0, 0, REASON_TICKET_INVALID, 0x200, NEED0, H256, 0,
	  "ticket-expired" },
	{ "D1 ticket not yet valid", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS,
	  DT_FUTURE, NULL, RL_REL, 0, 0, REASON_TICKET_INVALID, 0x200, NEED0, H256, 0,
	  "ticket-not-yet-valid" },
	{ "D1 decryption: ticket expired", POLICY_DATA_DECRYPT, "enc", MECH_RSA_PKCS_OAEP, H_UNK, 0,
	  0, IN_NONE, DT_EXPIRED, NULL, RL_REL, 0, 0, REASON_TICKET_INVALID, 0x200, NEED0, H_UNK, 0,
	  NULL },
	{ "D1 before D2", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 1, IN_NONE, DT_EXPIRED, NULL,
	  RL_REL, 0, 0, REASON_TICKET_INVALID, 0x200, NEED0, H_UNK, 0, NULL },
	/* D2 raw mechanisms are single-part */
	{ "D2 RSA-PKCS in parts", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 1, IN_NONE, DT_NONE, NULL,
	  RL_REL, 0, 0, REASON_DATA_MALFORMED, 0x200, NEED0, H_UNK, 0, "one C_Sign" },
	{ "D2 ECDSA in parts", POLICY_DATA_MESSAGE_SIGN, "ec", MECH_ECDSA, H_UNK, 1, 1, IN_NONE,
	  DT_NONE, NULL, RL_REL, 0, 0, REASON_DATA_MALFORMED, 0x200, NEED0, H_UNK, 0, NULL },
	/* D3 the inspector's refusals */
	{ "D3 disguised", DSIGN, "ec", MECH_ECDSA, H_UNK, 1, 0, IN_DISGUISED, DT_NONE, NULL, RL_REL,
	  0, 0, REASON_HASH_DISGUISED, 0x20, NEED0, H_UNK, 0, "insp" },
	{ "D3 truncated", DSIGN, "ec", MECH_ECDSA, H_UNK, 1, 0, IN_TRUNC, DT_NONE, NULL, RL_REL, 0,
	  0, REASON_HASH_TRUNCATED, 0x21, NEED0, H_UNK, 0, NULL },
	{ "D3 malformed DigestInfo", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_MALFORMED,
	  DT_NONE, NULL, RL_REL, 0, 0, REASON_DATA_MALFORMED, 0x20, NEED0, H_UNK, 0, NULL },
	{ "D3 PSS params", DSIGN, "rsa", MECH_RSA_PKCS_PSS, HASH_SHA256, 0, 0, IN_PSSBAD, DT_NONE,
	  NULL, RL_REL, 0, 0, REASON_PSS_PARAMS_INVALID, 0x71, NEED0, H_UNK, 0, NULL },
	{ "D3 unknown hash", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_UNKNOWN, DT_NONE, NULL,
	  RL_REL, 0, 0, REASON_HASH_FORBIDDEN, 0x70, NEED0, H_UNK, 0, NULL },
	{ "D3 PSS input length", DSIGN, "rsa", MECH_RSA_PKCS_PSS, HASH_SHA256, 0, 0, IN_LENGTH,
	  DT_NONE, NULL, RL_REL, 0, 0, REASON_HASH_FORBIDDEN, 0x70, NEED0, H_UNK, 0, NULL },
	{ "D3 raw not inspected", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_NONE, DT_NONE, NULL,
	  RL_REL, 0, 0, REASON_HASH_FORBIDDEN, 0x70, NEED0, H_UNK, 0, NULL },
	{ "D3 CMS attributes malformed", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 1,
	  IN_MALFORMED, DT_NONE, NULL, RL_REL, 0, 0, REASON_DATA_MALFORMED, 0x20, NEED0, H256, 0,
	  NULL },
	{ "D3 before D7", DSIGN, "ec", MECH_ECDSA, H_UNK, 1, 0, IN_DISGUISED, DT_NONE, NULL,
	  RL_QUOTA, EXHAUSTED, 0, REASON_HASH_DISGUISED, 0x20, NEED0, H_UNK, 0, NULL },
	/* D4 the hash the data established */
	{ "D4 SHA-256 DigestInfo", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI256, DT_NONE,
	  NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D4 SHA-1 DigestInfo", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI1, DT_NONE, NULL,
	  RL_REL, 0, 0, REASON_HASH_FORBIDDEN, 0x70, NEED0, HASH_SHA1, 0,
	  "hash SHA1 (from digestinfo) not allowed for key rsa" },
	{ "D4 no hash established", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_NOHASH, DT_NONE,
	  NULL, RL_REL, 0, 0, REASON_HASH_FORBIDDEN, 0x70, NEED0, H_UNK, 0, "no hash established" },
	{ "D4 raw RSA without a hash", DSIGN, "legacy", MECH_RSA_X_509, H_UNK, 0, 0, IN_NOHASH,
	  DT_NONE, NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H_UNK, 0, NULL },
	{ "D4 ECDSA by length", DSIGN, "ec", MECH_ECDSA, H_UNK, 1, 0, IN_EC256, DT_NONE, NULL,
	  RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D4 plain data of a hashing mechanism", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0,
	  IN_NOTCMS, DT_NONE, NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D4 before D5", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI1, DT_ART_B, NULL, RL_REL,
	  0, 0, REASON_HASH_FORBIDDEN, 0x70, NEED0, HASH_SHA1, 0, NULL },
	/* D5 the ticket's artifacts */
	{ "D5 DigestInfo is an artifact", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI256,
	  DT_ART_A, NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D5 DigestInfo is another", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI256, DT_ART_B,
	  NULL, RL_REL, 0, 0, REASON_ARTIFACT_MISMATCH, 0x200, NEED0, H256, 0,
	  "not over an artifact" },
	{ "D5 SHA-1 digest binds none", DSIGN, "legacy", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI1_LEGACY,
	  DT_ART_A, NULL, RL_REL, 0, 0, REASON_ARTIFACT_MISMATCH, 0x200, NEED0, HASH_SHA1, 0,
	  NULL },
	{ "D5 CMS messageDigest", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_CMS_A,
	  DT_ART_A, NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D5 CMS messageDigest of another", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 1,
	  IN_CMS_B, DT_ART_A, NULL, RL_REL, 0, 0, REASON_ARTIFACT_MISMATCH, 0x200, NEED0, H256, 0,
	  NULL },
	{ "D5 SHA-256 of the data", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS,
	  DT_ART_A, DIG_A, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D5 SHA-256 of other data", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS,
	  DT_ART_A, DIG_B, RL_REL, 0, 0, REASON_ARTIFACT_MISMATCH, 0x200, NEED0, H256, 0, NULL },
	{ "D5 parts: at C_SignFinal", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 1, IN_NOTCMS,
	  DT_ART_A, NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 1, NULL },
	{ "D5 message parts: cannot bind", POLICY_DATA_MESSAGE_SIGN, "rsa", MECH_SHA256_RSA_PKCS,
	  H256, 0, 1, IN_NOTCMS, DT_ART_A, NULL, RL_REL, 0, 0, REASON_ARTIFACT_MISMATCH, 0x200,
	  NEED0, H256, 0, "cannot be established" },
	{ "D5 SHA-1 mechanism: cannot bind", DSIGN, "legacy", MECH_SHA1_RSA_PKCS, HASH_SHA1, 0, 0,
	  IN_NOTCMS, DT_ART_A, DIG_A, RL_REL, 0, 0, REASON_ARTIFACT_MISMATCH, 0x200, NEED0,
	  HASH_SHA1, 0, "cannot be established" },
	{ "D5 no artifacts listed", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI256, DT_PLAIN,
	  NULL, RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D5 before D7", DSIGN, "rsa", MECH_RSA_PKCS, H_UNK, 1, 0, IN_DI256, DT_ART_B, NULL,
	  RL_QUOTA, EXHAUSTED, 0, REASON_ARTIFACT_MISMATCH, 0x200, NEED0, H256, 0, NULL },
	/* D7 counters: the rule's quota, then the ticket's uses */
	{ "D7 quota to take", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS, DT_USES,
	  NULL, RL_QUOTA, UNASKED, UNASKED, REASON_ALLOWED, 0, POLICY_NEED_QUOTA, H256, 0, NULL },
	{ "D7 then the ticket use", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS,
	  DT_USES, NULL, RL_QUOTA, TAKEN, UNASKED, REASON_ALLOWED, 0, POLICY_NEED_TICKET_USE, H256,
	  0, NULL },
	{ "D7 both taken", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS, DT_USES, NULL,
	  RL_QUOTA, TAKEN, TAKEN, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D7 quota exhausted", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS, DT_USES,
	  NULL, RL_QUOTA, EXHAUSTED, EXHAUSTED, REASON_QUOTA_EXHAUSTED, 0x200, NEED0, H256, 0,
	  "signature quota used up for this period" },
	{ "D7 quota store down", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS, DT_NONE,
	  NULL, RL_QUOTA, UNAVAIL, 0, REASON_STATE_UNAVAILABLE, 0x200, NEED0, H256, 0,
	  "store down" },
	{ "D7 ticket used up", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS, DT_USES,
	  NULL, RL_REL, 0, EXHAUSTED, REASON_TICKET_EXHAUSTED, 0x200, NEED0, H256, 0, "max_uses" },
	{ "D7 ticket store down", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS,
	  DT_USES, NULL, RL_REL, 0, UNAVAIL, REASON_STATE_UNAVAILABLE, 0x200, NEED0, H256, 0,
	  "store down" },
	{ "D7 no limits", DSIGN, "rsa", MECH_SHA256_RSA_PKCS, H256, 0, 0, IN_NOTCMS, DT_PLAIN, NULL,
	  RL_REL, 0, 0, REASON_ALLOWED, 0, NEED0, H256, 0, NULL },
	{ "D7 decryption counted", POLICY_DATA_DECRYPT, "enc", MECH_RSA_PKCS_OAEP, H_UNK, 0, 0,
	  IN_NONE, DT_NONE, NULL, RL_QUOTA, EXHAUSTED, 0, REASON_QUOTA_EXHAUSTED, 0x200, NEED0,
	  H_UNK, 0, "signature quota" },
	{ "D7 decryption: data not judged", POLICY_DATA_DECRYPT, "enc", MECH_RSA_PKCS, H_UNK, 1, 1,
	  IN_MALFORMED, DT_ART_B, NULL, RL_QUOTA, TAKEN, 0, REASON_ALLOWED, 0, NEED0, H_UNK, 0,
	  NULL },
	{ "D7 unwrap, derive", POLICY_DATA_KEY_USE, "enc", MECH_RSA_PKCS, H_UNK, 0, 0, IN_NONE,
	  DT_USES, NULL, RL_QUOTA, EXHAUSTED, 0, REASON_QUOTA_EXHAUSTED, 0x200, NEED0, H_UNK, 0,
	  "quota used up for this period" },
	{ "D7 unwrap: ticket use", POLICY_DATA_KEY_USE, "enc", MECH_RSA_PKCS, H_UNK, 0, 0, IN_NONE,
	  DT_USES, NULL, RL_NONE, 0, UNASKED, REASON_ALLOWED, 0, POLICY_NEED_TICKET_USE, H_UNK, 0,
	  NULL },
};

static void fill_inspect(inspect_result_t *r, enum insp kind)
{
	static const struct {
		inspect_status_t st;
		hash_alg_t h;
		inspect_basis_t b;
		const unsigned char *dig;
		size_t dlen;
	} k[] = {
		[IN_DI256] = { INSPECT_OK, HASH_SHA256, INSPECT_BASIS_DIGESTINFO, DIG_A, 32 },
		[IN_DI1] = { INSPECT_OK, HASH_SHA1, INSPECT_BASIS_DIGESTINFO, DIG_A, 20 },
		[IN_DI1_LEGACY] = { INSPECT_OK, HASH_SHA1, INSPECT_BASIS_DIGESTINFO, DIG_A, 20 },
		[IN_EC256] = { INSPECT_OK, HASH_SHA256, INSPECT_BASIS_INPUT_LENGTH, DIG_A, 32 },
		[IN_DISGUISED] = { INSPECT_HASH_DISGUISED, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL,
		                   0 },
		[IN_TRUNC] = { INSPECT_HASH_TRUNCATED, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL, 0 },
		[IN_MALFORMED] = { INSPECT_MALFORMED, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL, 0 },
		[IN_PSSBAD] = { INSPECT_PSS_PARAMS_INVALID, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL,
		                0 },
		[IN_UNKNOWN] = { INSPECT_HASH_UNKNOWN, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL, 0 },
		[IN_LENGTH] = { INSPECT_LENGTH_MISMATCH, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL,
		                0 },
		[IN_NOHASH] = { INSPECT_OK, HASH_UNKNOWN, INSPECT_BASIS_NONE, NULL, 0 },
		[IN_CMS_A] = { INSPECT_OK, HASH_SHA256, INSPECT_BASIS_MECHANISM, DIG_A, 32 },
		[IN_CMS_B] = { INSPECT_OK, HASH_SHA256, INSPECT_BASIS_MECHANISM, DIG_B, 32 },
		[IN_NOTCMS] = { INSPECT_NOT_CMS, HASH_SHA256, INSPECT_BASIS_MECHANISM, NULL, 0 },
	};
	memset(r, 0, sizeof *r);
	r->status = k[kind].st;
	r->hash = k[kind].h;
	r->basis = k[kind].b;
	if (k[kind].dig)
		memcpy(r->digest, k[kind].dig, k[kind].dlen);
	r->digest_len = k[kind].dlen;
	snprintf(r->detail, sizeof r->detail, "inspector: %s", inspect_status_name(r->status));
}

static void fill_data_ticket(ticket_claims_t *t, enum dtk kind)
{
	fill_ticket(t, TK_GOOD, T0);
	snprintf(t->jti, sizeof t->jti, "jti-7");
	if (kind == DT_EXPIRED)
		t->exp = T0 - TICKET_LEEWAY_S - 1;
	if (kind == DT_FUTURE)
		t->nbf = T0 + TICKET_LEEWAY_S + 1;
	if (kind == DT_ART_A || kind == DT_ART_B) {
		t->n_digests = 2;
		memset(t->digests[0], 0xee, 32);
		memcpy(t->digests[1], kind == DT_ART_A ? DIG_A : DIG_B, 32);
	}
	if (kind == DT_USES)
		t->max_uses = 2;
}

static void test_data_table(void **state)
{
	(void)state;
	caller_t c = mk_caller(1001, 1001, NULL, false);
	policy_rule_t quota_rule = *policy_rule_by_name(cfg, "r-rel");
	quota_rule.quota_count = 3;
	quota_rule.quota_period_s = 86400;
	for (size_t i = 0; i < sizeof drows / sizeof drows[0]; i++) {
		const drow_t *r = &drows[i];
		inspect_result_t ir;
		ticket_claims_t t;
		policy_data_request_t q = {
			.op = r->op,
			.caller = &c,
			.key = policy_key_by_name(cfg, r->key),
			.mech = r->mech,
			.hash = r->hash,
			.hash_pending = r->pending,
			.multipart = r->multipart,
			.now = T0,
			.data_sha256 = r->data_sha,
			.quota = r->quota,
			.ticket_use = r->ticket_use,
			.state_error = "the state store down",
		};
		assert_non_null(q.key);
		q.rule = r->rule == RL_QUOTA ? &quota_rule
		         : r->rule == RL_REL ? policy_rule_by_name(cfg, "r-rel")
		                             : NULL;
		q.role = policy_role_by_name(cfg, "rel");
		if (r->insp != IN_NONE) {
			fill_inspect(&ir, r->insp);
			q.inspect = &ir;
		}
		if (r->ticket != DT_NONE) {
			fill_data_ticket(&t, r->ticket);
			q.ticket = &t;
		}
		policy_data_decision_t o;
		memset(&o, 0xa5, sizeof o);
		policy_decide_data(cfg, &q, &o);
		if (o.need != r->need)
			fail_msg("%s: need %d, expected %d", r->what, o.need, r->need);
		if (r->need != POLICY_NEED_NOTHING) {
			if (o.d.allow)
				fail_msg("%s: allowed before the counter is taken", r->what);
			continue;
		}
		saw(o.d.reason);
		if (o.d.reason != r->expect)
			fail_msg("%s: reason %s, expected %s (%s)", r->what,
			         policy_reason_name(o.d.reason), policy_reason_name(r->expect),
			         o.d.detail);
		if (o.d.allow != (r->expect == REASON_ALLOWED))
			fail_msg("%s: allow flag wrong", r->what);
		if (o.d.ckr != r->ckr)
			fail_msg("%s: ckr 0x%lx, expected 0x%lx", r->what, o.d.ckr, r->ckr);
		if (o.hash != r->out_hash)
			fail_msg("%s: hash %s, expected %s", r->what, hash_name(o.hash),
			         hash_name(r->out_hash));
		if (o.bind_at_final != r->bind_final)
			fail_msg("%s: bind_at_final %d", r->what, o.bind_at_final);
		if (r->detail && !strstr(o.d.detail, r->detail))
			fail_msg("%s: detail '%s' lacks '%s'", r->what, o.d.detail, r->detail);
		if (!o.d.allow && !o.d.detail[0])
			fail_msg("%s: no detail", r->what);
		/* the denial names the rule of the operation (except a hash the
		 * data did not establish at all: as the module has always said) */
		bool names =
		        r->expect != REASON_ALLOWED && strcmp(r->what, "D4 no hash established");
		if (names && q.rule && o.d.rule != q.rule)
			fail_msg("%s: rule not named", r->what);
		if (o.d.allow && (o.d.rule != q.rule || o.d.role != q.role))
			fail_msg("%s: allowed without its rule and role", r->what);
	}

	/* no config in force */
	policy_data_request_t q = { .op = DSIGN, .caller = &c, .now = T0 };
	policy_data_decision_t o;
	policy_decide_data(NULL, &q, &o);
	saw(o.d.reason);
	assert_int_equal(o.d.reason, REASON_CONFIG_INVALID);
	assert_string_equal(o.d.detail, "no valid config in force");
	assert_null(o.d.rule);
	policy_decide_data(cfg, NULL, &o);
	assert_int_equal(o.d.reason, REASON_CONFIG_INVALID);
}

/* D6: the approvals judged again with the artifact known (cfg2's r-two,
 * which also has a quota). */
static void test_data_approvals(void **state)
{
	(void)state;
	caller_t dev = mk_caller(1301, 1301, NULL, false);
	approval_t apv[2];
	inspect_result_t ir;
	fill_inspect(&ir, IN_EC256);
	fill_approval(&apv[0], "alice", DIG_A);
	fill_approval(&apv[1], "bob", DIG_A);
	policy_data_request_t q = {
		.op = DSIGN,
		.caller = &dev,
		.key = policy_key_by_name(cfg2, "k"),
		.rule = policy_rule_by_name(cfg2, "r-two"),
		.role = policy_role_by_name(cfg2, "dev"),
		.mech = MECH_ECDSA,
		.hash_pending = true,
		.now = T0,
		.inspect = &ir,
		.approvals_cfg = cfg2,
		.approvals = apv,
		.n_approvals = 2,
		.quota = POLICY_COUNT_TAKEN,
	};
	policy_data_decision_t o;
	policy_decide_data(cfg2, &q, &o);
	assert_true(o.d.allow);
	assert_string_equal(o.d.approvers, "alice");
	assert_ptr_equal(o.artifact, ir.digest);
	/* alice approved another artifact; bob's approval never counts for bob */
	fill_approval(&apv[0], "alice", DIG_B);
	policy_decide_data(cfg2, &q, &o);
	saw(o.d.reason);
	assert_int_equal(o.d.reason, REASON_APPROVALS_MISSING);
	assert_string_equal(
	        o.d.detail,
	        "rule r-two: 1 more approval needed that cover the data signed (0 of 1 counted)");
	assert_ptr_equal(o.d.rule, q.rule);
	/* an approval without artifacts covers any */
	fill_approval(&apv[0], "alice", NULL);
	policy_decide_data(cfg2, &q, &o);
	assert_true(o.d.allow);
	/* a digest that is not SHA-256 is covered by no approval listing artifacts */
	fill_approval(&apv[0], "alice", DIG_A);
	ir.digest_len = 48;
	ir.hash = HASH_SHA384;
	policy_decide_data(cfg2, &q, &o);
	assert_int_equal(o.d.reason, REASON_APPROVALS_MISSING);
	ir.digest_len = 32;
	ir.hash = HASH_SHA256;
	/* no approvals config: refused */
	q.approvals_cfg = NULL;
	policy_decide_data(cfg2, &q, &o);
	assert_int_equal(o.d.reason, REASON_APPROVALS_MISSING);
	q.approvals_cfg = cfg2;
	/* D6 before D7: the quota is not asked for */
	q.quota = POLICY_COUNT_UNASKED;
	fill_approval(&apv[0], "alice", DIG_B);
	policy_decide_data(cfg2, &q, &o);
	assert_int_equal(o.need, POLICY_NEED_NOTHING);
	assert_int_equal(o.d.reason, REASON_APPROVALS_MISSING);
	fill_approval(&apv[0], "alice", DIG_A);
	policy_decide_data(cfg2, &q, &o);
	assert_int_equal(o.need, POLICY_NEED_QUOTA);
	assert_false(o.d.allow);
	/* no artifact (plain data of a hashing mechanism): judged at *Init only */
	fill_inspect(&ir, IN_NOTCMS);
	q.mech = MECH_SHA256_RSA_PKCS;
	q.hash = HASH_SHA256;
	q.hash_pending = false;
	q.quota = POLICY_COUNT_TAKEN;
	fill_approval(&apv[0], "alice", DIG_B);
	policy_decide_data(cfg2, &q, &o);
	assert_true(o.d.allow);
	assert_null(o.artifact);
}

/* D5 at C_SignFinal of a multi-part signature, and the helpers. */
static void test_data_final_and_helpers(void **state)
{
	(void)state;
	ticket_claims_t t;
	policy_decision_t d;
	const policy_rule_t *r = policy_rule_by_name(cfg, "r-rel");
	const policy_role_t *role = policy_role_by_name(cfg, "rel");
	fill_data_ticket(&t, DT_ART_A);
	policy_decide_final(&t, r, role, DIG_A, &d);
	assert_true(d.allow);
	assert_ptr_equal(d.rule, r);
	policy_decide_final(&t, r, role, DIG_B, &d);
	saw(d.reason);
	assert_int_equal(d.reason, REASON_ARTIFACT_MISMATCH);
	assert_int_equal(d.ckr, 0x200);
	assert_string_equal(d.detail, "the data signed is not an artifact the ticket lists");
	assert_ptr_equal(d.role, role);
	policy_decide_final(&t, r, role, NULL, &d); /* the parts' digest could not be made */
	assert_false(d.allow);
	policy_decide_final(NULL, r, role, DIG_B, &d);
	assert_true(d.allow);

	assert_true(policy_ticket_binds(NULL, NULL, 0));
	assert_true(policy_ticket_binds(&t, DIG_A, 32));
	assert_false(policy_ticket_binds(&t, DIG_A, 20));
	assert_false(policy_ticket_binds(&t, NULL, 32));

	assert_int_equal(policy_data_kind(MECH_RSA_PKCS), POLICY_DATA_RAW);
	assert_int_equal(policy_data_kind(MECH_ECDSA), POLICY_DATA_RAW);
	assert_int_equal(policy_data_kind(MECH_RSA_X_509), POLICY_DATA_RAW);
	assert_int_equal(policy_data_kind(MECH_RSA_PKCS_PSS), POLICY_DATA_RAW);
	assert_int_equal(policy_data_kind(MECH_SHA256_RSA_PKCS), POLICY_DATA_HASHED);
	assert_int_equal(policy_data_kind(MECH_SHA256_RSA_PKCS_PSS), POLICY_DATA_HASHED);
	assert_int_equal(policy_data_kind(MECH_RSA_PKCS_OAEP), POLICY_DATA_PLAIN);
	assert_int_equal(policy_data_kind((mech_id_t)999), POLICY_DATA_PLAIN);

	char name[96];
	caller_t c = mk_caller(1001, 1001, NULL, false);
	policy_rule_t qr = *r;
	qr.quota_scope = QUOTA_PER_CALLER;
	policy_quota_counter(&qr, &c, name, sizeof name);
	assert_string_equal(name, "rule:r-rel:uid:1001");
	qr.quota_scope = QUOTA_PER_RULE;
	policy_quota_counter(&qr, &c, name, sizeof name);
	assert_string_equal(name, "rule:r-rel");
	policy_ticket_counter(&t, name, sizeof name);
	assert_string_equal(name, "ticket:jti-7");
}

/* The ticket statuses a record can carry are reasons with the names
 * ticket_status_name() has always given them. */
static void test_ticket_reasons(void **state)
{
	(void)state;
	for (int st = TICKET_MALFORMED; st <= TICKET_NOT_YET_VALID; st++) {
		policy_reason_t r = policy_ticket_reason((ticket_status_t)st);
		saw(r);
		assert_string_equal(policy_reason_name(r), ticket_status_name((ticket_status_t)st));
		assert_int_equal(policy_reason_ckr(r), 0xA0); /* refused at C_Login */
	}
	assert_int_equal(policy_ticket_reason(TICKET_OK), REASON_TICKET_ACCEPTED);
	assert_int_equal(policy_ticket_reason((ticket_status_t)99), REASON_TICKET_MALFORMED);
	saw(policy_ticket_reason(TICKET_OK));
}

/* Reasons no decision function produces, and why.  Each is still named in
 * core (policy_reason_name) and its code is policy_reason_ckr's. */
static const struct {
	policy_reason_t r;
	unsigned long ckr;
	const char *why;
} outside[] = {
	{ REASON_BAD_CREDENTIAL, 0xA0,
	  "C_Login: the PIN matches no role credential (policy_credential_match)" },
	{ REASON_AUDIT_UNAVAILABLE, 0x200,
	  "the signature's record could not be delivered (audit.required)" },
	{ REASON_DECRYPT_FAILED, 0x200,
	  "audit only: the token failed an allowed decryption (its own CKR)" },
	{ REASON_UNWRAP_FAILED, 0x200, "audit only: the token failed an allowed unwrap" },
	{ REASON_DERIVE_FAILED, 0x200, "audit only: the token failed an allowed derivation" },
	{ REASON_KEY_OTHER_TOKEN, 0x60,
	  "the handle is not on the session's token (keycache), before any policy" },
	{ REASON_TEMPLATE_DUPLICATE, 0xD1,
	  "a template repeats a type (template_check), before anything is read" },
	{ REASON_APPROVAL_INVALID, 0xA0,
	  "C_Login: an approval of the bundle did not verify (approval.c)" },
	{ REASON_LOGIN_CHANGED, 0x200,
	  "state machine: data after a logout (CKR_USER_NOT_LOGGED_IN) or new login" },
	{ REASON_OPERATION_BLOCKED, 0x200,
	  "state machine: the token did not end a refused operation" },
	{ REASON_OPERATION_NOT_INITIALIZED, 0x91,
	  "state machine: a data call on no tracked operation" },
	{ REASON_OPERATION_STATE, 0x200,
	  "state machine: C_Get/SetOperationState of a governed operation" },
	{ REASON_BACKEND_FAULT, 0x30, "the token's answer overflowed the caller's buffer" },
	{ REASON_HANDLE_INCONSISTENT, 0x200, "the token rejected a handle, then accepted it" },
	{ REASON_TOKEN_ACCEPTED, 0, "record of an ID token accepted at login" },
	{ REASON_BUNDLE_ACCEPTED, 0, "record of a bundle accepted at login" },
	{ REASON_APPROVALS_ACCEPTED, 0, "record of SIGNGATE_BUNDLE's approvals verified" },
	{ REASON_CREDENTIAL_ACCEPTED, 0, "record of a role credential accepted at login" },
	{ REASON_OS_IDENTITY, 0, "record of a login without credentials configured" },
	{ REASON_LOGIN_FORWARDED, 0,
	  "record of an SO or context-specific login passed to the token" },
	{ REASON_COMPAT_MODE_FORWARDED, 0, "record of a login passed to the token (no pin_file)" },
	{ REASON_CONFIG_LOADED, 0, "lifecycle record" },
	{ REASON_CONFIG_RELOADED, 0, "lifecycle record" },
	{ REASON_MODULE_START, 0, "lifecycle record" },
	{ REASON_MODULE_STOP, 0, "lifecycle record" },
	{ REASON_CHECKPOINT, 0, "audit chain checkpoint record" },
};

/* Every reason: a name, a code, and a decision in this file that gives it
 * (or an entry above saying why none does).  Runs last. */
static void test_reason_coverage(void **state)
{
	(void)state;
	bool listed[REASON_COUNT] = { 0 };
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++) {
		policy_reason_t r = outside[i].r;
		if (produced[r])
			fail_msg(
			        "%s is listed as produced outside the decision, but a decision gave it",
			        policy_reason_name(r));
		if (policy_reason_ckr(r) != outside[i].ckr)
			fail_msg("%s: ckr 0x%lx, documented 0x%lx", policy_reason_name(r),
			         policy_reason_ckr(r), outside[i].ckr);
		assert_true(outside[i].why[0]);
		listed[r] = true;
	}
	for (int i = 0; i < REASON_COUNT; i++) {
		policy_reason_t r = (policy_reason_t)i;
		assert_string_not_equal(policy_reason_name(r), "unknown");
		unsigned long ckr = policy_reason_ckr(r);
		/* a CK_RV signgate documents: OK for the accepting records, else a refusal */
		assert_true(ckr == 0 || ckr == 0x20 || ckr == 0x21 || ckr == 0x30 || ckr == 0x60 ||
		            ckr == 0x70 || ckr == 0x71 || ckr == 0x91 || ckr == 0xA0 ||
		            ckr == 0xD1 || ckr == 0x200);
		if (!produced[r] && !listed[r])
			fail_msg(
			        "reason %s is produced by no decision in this file and not listed in outside[]",
			        policy_reason_name(r));
	}
	assert_string_equal(policy_reason_name((policy_reason_t)-1), "unknown");
}

/* ---- key lookup ------------------------------------------------------------ */

static void test_key_lookup(void **state)
{
	(void)state;
	policy_reason_t why;
	unsigned char id1[] = { 0x01 }, id2[] = { 0x02 }, id7[] = { 0x07 }, id9[] = { 0x09 };
	policy_key_ref_t ref = { .token_label = "tok                             ",
		                 .id = id1,
		                 .id_len = 1,
		                 .label = "rsa-l",
		                 .has_fingerprint = true };
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
	policy_key_ref_t lref = { .token_label = "some-label",
		                  .token_serial = "SER123          ",
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

/* policy_build refuses what the indexes cannot hold: two keys one object. */
static void test_build_refuses(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX];
	static const char *const dup[] = {
		"keys = ( { name = \"a\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; },\n"
		"         { name = \"b\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n",
		"keys = ( { name = \"a\"; token = \"t\"; label = \"l\"; mechanisms = [ \"ECDSA\" ]; },\n"
		"         { name = \"b\"; token = \"t\"; label = \"l\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	};
	static const char *const want[] = { "same token and id as key 'a'",
		                            "same token and label as key 'a'" };
	for (size_t i = 0; i < 2; i++) {
		char text[1024];
		snprintf(
		        text, sizeof text,
		        "backend = { module = \"/m.so\"; };\nroles = ( { name = \"r\"; users = [ 1 ]; } );\n%s"
		        "rules = ( { name = \"x\"; roles = [ \"r\" ]; keys = [ \"a\" ]; } );\n",
		        dup[i]);
		config_t *c = config_load_string(text, "dup.conf", err, sizeof err);
		if (c) {
			config_free(c);
			fail_msg("two keys of one object accepted");
		}
		if (!strstr(err, want[i]))
			fail_msg("error '%s' lacks '%s'", err, want[i]);
	}
	/* the lookup's reason is optional; base64 with '+' and '/' parses */
	unsigned char id1[] = { 0x01 };
	policy_key_ref_t ref = { .token_label = "tok", .id = id1, .id_len = 1, .label = "rsa-l" };
	assert_null(policy_key_lookup(cfg, &ref, NULL));
	assert_true(policy_credential_parse(
	        "pbkdf2-sha256$1000$+/+/+/+/+/8=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0,
	        0, 0, 0, 0));
	assert_int_equal(policy_credential_hash_iter(NULL, 1000, err, sizeof err), -1);
	assert_int_equal(policy_credential_hash_iter("x", 999, err, sizeof err), -1);
}

/* ---- credentials -------------------------------------------------------------- */

static void test_credentials(void **state)
{
	(void)state;
	caller_t c = mk_caller(1003, 1003, NULL, false);
	assert_ptr_equal(policy_credential_match(cfg, &c, "s3cret", 6),
	                 policy_role_by_name(cfg, "cred"));
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
	assert_int_equal(policy_credential_hash("x", h, 20), -1); /* too small */
	assert_false(policy_credential_parse(
	        "pbkdf2-sha256$999$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0,
	        0, 0, 0));
	assert_true(policy_credential_parse(
	        "pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0,
	        0, 0, 0, 0));
	assert_false(policy_credential_parse(
	        "pbkdf2-sha256$1000$c2FsdA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0,
	        0, 0)); /* salt < 8 */
	assert_false(
	        policy_credential_parse("pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAA", 0, 0, 0, 0, 0));
	assert_false(policy_credential_parse(
	        "pbkdf2-sha256$1000$c2Fs*HNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0,
	        0, 0, 0, 0));
	assert_false(policy_credential_parse(
	        "pbkdf2-sha256$1000$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=$x", 0,
	        0, 0, 0, 0));
	assert_false(policy_credential_parse(
	        "argon2$1000$c2FsdHNhbHQ=$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 0, 0, 0, 0,
	        0));
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
	o += (size_t)snprintf(t + o, cap - o,
	                      "backend = { module = \"/m\"; };\n"
	                      "roles = ( { name = \"r\"; users = [ 1001 ]; } );\nkeys = (\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(t + o, cap - o,
		                      "%s{ name = \"k%zu\"; token = \"t\"; id = \"%08zx\"; "
		                      "mechanisms = [ \"ECDSA\" ]; }\n",
		                      i ? "," : "", i, i);
	o += (size_t)snprintf(t + o, cap - o, ");\nrules = (\n");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(
		        t + o, cap - o,
		        "%s{ name = \"x%zu\"; roles = [ \"r\" ]; keys = [ \"k%zu\" ]; }\n",
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
	policy_request_t rs = { .action = SIGN,
		                .caller = &c,
		                .key = ks,
		                .mech = MECH_ECDSA,
		                .hash = HASH_SHA256,
		                .now = T0 };
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
		cmocka_unit_test(test_build_refuses),
		cmocka_unit_test(test_credentials),
		cmocka_unit_test(test_cost_flat),
		cmocka_unit_test(test_claims_approvals_commit),
		cmocka_unit_test(test_key_reason),
		cmocka_unit_test(test_decision_order),
		cmocka_unit_test(test_data_table),
		cmocka_unit_test(test_data_approvals),
		cmocka_unit_test(test_data_final_and_helpers),
		cmocka_unit_test(test_ticket_reasons),
		cmocka_unit_test(test_reason_coverage), /* last: counts what the others produced */
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

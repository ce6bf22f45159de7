/* Unit tests for module/core/approval.c and the approval count in policy.c:
 * every approval_status_t, the strict statement rules, bundles, SSH key
 * lines, and the counting rules (distinct, self, groups, age, removal,
 * artifact, product and run).  Approvals are made with approval_sign_pem
 * over keys generated here; the config is built by hand, and the loader's
 * approver settings are checked through config_load_string. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "approval.h"
#include "config.h"
#include "policy.h"

#define NOW ((time_t)1800000000)

static const char rsa2048_line[] =
        "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCxDK7uBe0rPQDRy8mAiiKCexf4zMcIlriu6RPHrrv2Wd9FsjXmnsCE/AOPsphkoreUSMwmqC3GmW5NDctJzn6X9fP/Stdk1dZRPDdI6xUCFpjic/Duu0BUhflGStf5tsUDxk7o3C908Cekx1uvbNGu2/Zn8f/fM6QHWbLW+FoYlRErMXbOzqf7XsX7Vtm1zQp9vV/niTHXQ9i/I/QA3qZEreQT/pxasnjYsl87VLLr4Ub5dp1fEloe8ivSiX7sRqWQaBTf2RQLyAiwxiMTgDZihIAKohInx9sgDFCOeMDbMVDO9zHh9LqeMNSIYfyYqYP62F44/103dA/LKRif6X77";
static const char ed_line[] =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFtocEkIIC6Ng246kCwSldursT1DXkbLFC/WDI7NWrvq fuzz";

static EVP_PKEY *priv[4]; /* alice (Ed25519), bob (P-256), carol (Ed25519), rogue */
static config_approver_key_t keys[3];
static config_approver_t approvers[3];
static size_t members[3] = { 0, 1, 2 };
static config_approver_group_t groups[1];
static size_t from[1] = { 0 };
static policy_rule_t rule;
static config_t cfg;
static caller_t caller = { .known = true, .user = "ci" };

static EVP_PKEY *gen(int nid)
{
	EVP_PKEY *pk = NULL;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(nid, NULL);
	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	if (nid == EVP_PKEY_EC)
		assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1),
		                 1);
	assert_int_equal(EVP_PKEY_keygen(c, &pk), 1);
	EVP_PKEY_CTX_free(c);
	return pk;
}

static void key_of(EVP_PKEY *pk, config_approver_key_t *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *p;
	assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
	long n = BIO_get_mem_data(b, &p);
	assert_true(approval_pem_key_parse(p, (size_t)n, k, NULL, 0));
	BIO_free(b);
}

static int setup(void **state)
{
	(void)state;
	priv[0] = gen(EVP_PKEY_ED25519);
	priv[1] = gen(EVP_PKEY_EC);
	priv[2] = gen(EVP_PKEY_ED25519);
	priv[3] = gen(EVP_PKEY_ED25519);
	static const char *names[3] = { "alice", "bob", "carol" };
	for (int i = 0; i < 3; i++) {
		key_of(priv[i], &keys[i]);
		approvers[i] = (config_approver_t){ .name = (char *)names[i],
			                            .keys = &keys[i],
			                            .n_keys = 1 };
	}
	groups[0] = (config_approver_group_t){ .name = "rm", .members = members, .n_members = 3 };
	rule = (policy_rule_t){ .name = "release",
		                .approvals_count = 2,
		                .approvals_from = from,
		                .n_approvals_from = 1,
		                .approvals_max_age_s = 86400 };
	cfg.approvers = approvers;
	cfg.n_approvers = 3;
	cfg.approver_groups = groups;
	cfg.n_approver_groups = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++)
		EVP_PKEY_free(priv[i]);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(keys[i].pkey);
	return 0;
}

/* make KEY NAME PRODUCT RUN IAT TTL [DIGEST] */
static char *make(int key, const char *name, const char *product, const char *run, int64_t iat,
                  int64_t ttl, const unsigned char *digest)
{
	approval_t a = { 0 };
	snprintf(a.approver, sizeof a.approver, "%s", name);
	snprintf(a.product, sizeof a.product, "%s", product);
	snprintf(a.run, sizeof a.run, "%s", run);
	a.iat = iat;
	a.exp = iat + ttl;
	memcpy(a.nonce, "0123456789abcdef0123456789abcdef", 32);
	if (digest) {
		memcpy(a.digests[0], digest, 32);
		a.n_digests = 1;
	}
	char *st = approval_statement(&a);
	assert_non_null(st);
	char *out = approval_sign_pem(priv[key], st);
	assert_non_null(out);
	free(st);
	return out;
}

static approval_status_t verify(const char *text, approval_t *a)
{
	char detail[200];
	return approval_verify(&cfg, text, strlen(text), NOW, a, detail, sizeof detail);
}

static void test_good_ed25519_and_p256(void **state)
{
	(void)state;
	approval_t a;
	char *x = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_OK);
	assert_string_equal(a.approver, "alice");
	assert_string_equal(a.run, "4711");
	assert_memory_equal(a.key_fp, keys[0].fp, 32);
	free(x);
	x = make(1, "bob", "app", "4711", NOW - 60, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_OK);
	free(x);
}

static void test_statuses(void **state)
{
	(void)state;
	approval_t a;
	char *x = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	char *t = strdup(x);
	*strstr(t, "run: 4711") = 'R'; /* statement changed: line invalid */
	assert_int_equal(verify(t, &a), APPROVAL_MALFORMED);
	strcpy(t, x);
	strstr(t, "run: 4711")[8] = '2'; /* run 4712: signature no longer matches */
	assert_int_equal(verify(t, &a), APPROVAL_BAD_SIGNATURE);
	free(t);
	free(x);
	x = make(3, "alice", "app", "4711", NOW - 60, 3600, NULL); /* rogue key, alice's name */
	assert_int_equal(verify(x, &a), APPROVAL_UNKNOWN_KEY);
	free(x);
	x = make(0, "mallory", "app", "4711", NOW - 60, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_UNKNOWN_APPROVER);
	free(x);
	x = make(0, "alice", "app", "4711", NOW - 7200, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_EXPIRED);
	assert_string_equal(a.approver, "alice"); /* good signature: named */
	free(x);
	x = make(0, "alice", "app", "4711", NOW + 600, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_NOT_YET_VALID);
	free(x);
	/* bob's P-256 key under carol's name: carol has an Ed25519 key */
	x = make(1, "carol", "app", "4711", NOW - 60, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_UNKNOWN_KEY);
	free(x);
}

static void test_strict_statement(void **state)
{
	(void)state;
	approval_t a;
	size_t ml;
	static const char *bad[] = {
		"",
		"signgate-approval v2\n",
		"signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\n",
		"signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\n\n-----BEGIN SSH SIGNATURE-----\n",
		"signgate-approval v1\nproduct: app\napprover: alice\nrun: 1\nissued-at: 1\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\n-----BEGIN SSH SIGNATURE-----\n",
		"signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 5\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\n-----BEGIN SSH SIGNATURE-----\n",
		"signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nartifact: sha256:ABCD\nissued-at: 1\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\n-----BEGIN SSH SIGNATURE-----\n",
		"signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\nnonce: 0123456789ABCDEF0123456789abcdef\n-----BEGIN SSH SIGNATURE-----\n",
		"signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\nextra: x\n-----BEGIN SSH SIGNATURE-----\n",
		"signgate-approval v1\napprover: al ice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\nnonce: 0123456789abcdef0123456789abcdef\n-----BEGIN SSH SIGNATURE-----\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(approval_parse(bad[i], strlen(bad[i]), &a, &ml, NULL, 0),
		                 APPROVAL_MALFORMED);
	/* a signature block that is not base64, or not SSHSIG */
	char *x = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	char *p = strstr(x, "-----BEGIN SSH SIGNATURE-----\n") + 30;
	p[0] = '!';
	assert_int_equal(verify(x, &a), APPROVAL_MALFORMED);
	p[0] = 'A';
	assert_int_equal(verify(x, &a), APPROVAL_MALFORMED);
	free(x);
}

static void test_ssh_key_lines(void **state)
{
	(void)state;
	config_approver_key_t k;
	char err[200];
	assert_true(approval_ssh_key_parse(ed_line, &k, err, sizeof err));
	assert_int_equal(k.kind, APPROVER_KEY_ED25519);
	EVP_PKEY_free(k.pkey);
	assert_false(approval_ssh_key_parse(rsa2048_line, &k, err, sizeof err));
	assert_non_null(strstr(err, "3072"));
	assert_false(approval_ssh_key_parse("ssh-dss AAAAB3NzaC1kc3M=", &k, err, sizeof err));
	assert_false(approval_ssh_key_parse("ssh-ed25519", &k, err, sizeof err));
	assert_false(approval_ssh_key_parse("ssh-ed25519 !!!!", &k, err, sizeof err));
	/* the type written must be the type inside */
	char line[200];
	snprintf(line, sizeof line, "ecdsa-sha2-nistp256 %s", strchr(ed_line, ' ') + 1);
	assert_false(approval_ssh_key_parse(line, &k, err, sizeof err));
}

static void test_bundles(void **state)
{
	(void)state;
	char *a = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	char *b = make(1, "bob", "app", "4711", NOW - 60, 3600, NULL);
	const char *texts[2] = { a, b };
	size_t lens[2] = { strlen(a), strlen(b) };
	char *enc = bundle_encode("x.y.z", texts, lens, 2);
	bundle_t out;
	char detail[200];
	assert_non_null(enc);
	assert_true(bundle_looks_like(enc, strlen(enc)));
	assert_true(bundle_parse(enc, strlen(enc), &out, detail, sizeof detail));
	assert_string_equal(out.ticket, "x.y.z");
	assert_int_equal(out.n_approvals, 2);
	assert_int_equal(out.approval_len[1], strlen(b));
	assert_memory_equal(out.approvals[1], b, strlen(b));
	bundle_free(&out);
	/* the same with line breaks between fields (a file) */
	for (char *p = enc; *p; p++)
		if (*p == '~')
			*p = '\n';
	assert_true(bundle_parse(enc, strlen(enc), &out, detail, sizeof detail));
	assert_int_equal(out.n_approvals, 2);
	bundle_free(&out);
	free(enc);
	static const char *bad[] = { "sgb1~",      "sgb1~x:abc", "sgb1~t:a~t:b",
		                     "sgb1~a:!!!", "sgb2~t:a",   "sgb1~a:" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_false(bundle_parse(bad[i], strlen(bad[i]), &out, detail, sizeof detail));
		assert_int_equal(out.n_approvals, 0);
		assert_null(out.ticket);
	}
	/* at most BUNDLE_MAX_APPROVALS */
	const char *many[BUNDLE_MAX_APPROVALS + 1];
	size_t ml[BUNDLE_MAX_APPROVALS + 1];
	for (int i = 0; i <= BUNDLE_MAX_APPROVALS; i++) {
		many[i] = a;
		ml[i] = strlen(a);
	}
	enc = bundle_encode(NULL, many, ml, BUNDLE_MAX_APPROVALS + 1);
	assert_false(bundle_parse(enc, strlen(enc), &out, detail, sizeof detail));
	free(enc);
	free(a);
	free(b);
}

static unsigned count(approval_t *list, size_t n, const ticket_claims_t *t,
                      const unsigned char *art, char *names)
{
	policy_request_t req = { .caller = &caller,
		                 .now = NOW,
		                 .approvals = list,
		                 .n_approvals = n,
		                 .ticket = t,
		                 .artifact = art };
	return policy_approvals_count(&cfg, &rule, &req, names, 160);
}

static void get(int key, const char *name, const char *product, const char *run, int64_t iat,
                int64_t ttl, const unsigned char *digest, approval_t *out)
{
	char *x = make(key, name, product, run, iat, ttl, digest);
	char detail[200];
	approval_status_t st = approval_verify(&cfg, x, strlen(x), NOW, out, detail, sizeof detail);
	assert_true(st == APPROVAL_OK || st == APPROVAL_EXPIRED);
	free(x);
}

static void test_counting(void **state)
{
	(void)state;
	approval_t l[4];
	char names[160];
	unsigned char art[32] = { 1 }, other[32] = { 2 };
	get(0, "alice", "app", "4711", NOW - 60, 3600, NULL, &l[0]);
	get(1, "bob", "app", "4711", NOW - 60, 3600, NULL, &l[1]);
	assert_int_equal(count(l, 2, NULL, NULL, names), 2);
	assert_string_equal(names, "alice,bob");
	/* one person twice counts once */
	get(0, "alice", "app", "4711", NOW - 30, 3600, NULL, &l[1]);
	assert_int_equal(count(l, 2, NULL, NULL, names), 1);
	/* the requester does not count */
	get(1, "bob", "app", "4711", NOW - 60, 3600, NULL, &l[1]);
	snprintf(caller.user, sizeof caller.user, "bob");
	assert_int_equal(count(l, 2, NULL, NULL, names), 1);
	snprintf(caller.user, sizeof caller.user, "ci");
	/* another run: the best subject counts one */
	get(1, "bob", "app", "4712", NOW - 60, 3600, NULL, &l[1]);
	assert_int_equal(count(l, 2, NULL, NULL, names), 1);
	/* with a ticket, the ticket's product and run */
	ticket_claims_t t = { 0 };
	snprintf(t.product, sizeof t.product, "app");
	snprintf(t.run, sizeof t.run, "4712");
	snprintf(t.jti, sizeof t.jti, "j1");
	assert_int_equal(count(l, 2, &t, NULL, names), 1);
	assert_string_equal(names, "bob");
	/* too old for max_age, though not expired */
	get(1, "bob", "app", "4711", NOW - 90000, 7 * 86400, NULL, &l[1]);
	assert_int_equal(count(l, 2, NULL, NULL, names), 1);
	/* expired */
	get(1, "bob", "app", "4711", NOW - 7200, 3600, NULL, &l[1]);
	assert_int_equal(count(l, 2, NULL, NULL, names), 1);
	/* artifacts: an approval listing one covers only it */
	get(1, "bob", "app", "4711", NOW - 60, 3600, art, &l[1]);
	assert_int_equal(count(l, 2, NULL, art, names), 2);
	assert_int_equal(count(l, 2, NULL, other, names), 1);
	assert_int_equal(count(l, 2, NULL, NULL, names), 2); /* at *Init: not yet known */
	/* removed from the config (reload): no longer counts */
	cfg.n_approvers = 1;
	assert_int_equal(count(l, 2, NULL, art, names), 1);
	cfg.n_approvers = 3;
	/* not in the rule's groups */
	groups[0].n_members = 1;
	assert_int_equal(count(l, 2, NULL, art, names), 1);
	groups[0].n_members = 3;
	/* key replaced in the config: the approval's key no longer trusted */
	unsigned char save[32];
	memcpy(save, keys[1].fp, 32);
	keys[1].fp[0] ^= 1;
	assert_int_equal(count(l, 2, NULL, art, names), 1);
	memcpy(keys[1].fp, save, 32);
}

static void test_config_loader(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX], text[4096];
	const char *base =
	        "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	        "roles = ( { name = \"ci\"; users = [ 0 ]; } );\n"
	        "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n";
	snprintf(text, sizeof text,
	         "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; },\n"
	         "  { name = \"b\"; keys = [ \"%s\" ]; } );\n"
	         "approver_groups = ( { name = \"g\"; members = [ \"a\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 1; from = [ \"g\" ]; max_age = \"1d\"; }; } );\n",
	         base, ed_line, rsa2048_line);
	config_t *c = config_load_string(text, "t.conf", err, sizeof err);
	assert_null(c);
	assert_non_null(strstr(err, "t.conf:5: setting 'approvers[1].keys[0]'"));
	assert_non_null(strstr(err, "3072"));
	snprintf(text, sizeof text,
	         "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; } );\n"
	         "approver_groups = ( { name = \"g\"; members = [ \"a\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 1; from = [ \"g\" ]; max_age = \"1d\"; }; } );\n",
	         base, ed_line);
	c = config_load_string(text, "t.conf", err, sizeof err);
	assert_non_null(c);
	assert_int_equal(c->rules[0].approvals_count, 1);
	assert_int_equal(c->rules[0].approvals_max_age_s, 86400);
	assert_int_equal(c->n_approvers, 1);
	config_free(c);
	snprintf(text, sizeof text,
	         "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; } );\n"
	         "approver_groups = ( { name = \"g\"; members = [ \"a\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 2; from = [ \"g\" ]; }; } );\n",
	         base, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(
	        strstr(err, "t.conf:7: setting 'rules[0].approvals.count': needs 2 approvers"));
	snprintf(text, sizeof text,
	         "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 1; from = [ \"nope\" ]; }; } );\n",
	         base, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "no approver group named 'nope'"));
	snprintf(text, sizeof text,
	         "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; },\n"
	         " { name = \"b\"; keys = [ \"%s\" ]; } );\n",
	         base, ed_line, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "one key, one person"));
	snprintf(text, sizeof text,
	         "%sapprover_groups = ( { name = \"g\"; members = [ \"x\" ]; } );\n", base);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "no approver named 'x'"));
	snprintf(text, sizeof text,
	         "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; color = 1; } );\n", base,
	         ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "unknown setting"));
}

/* --- SSHSIG made here, field by field ---------------------------------------
 * An independent writer of OpenSSH's PROTOCOL.sshsig, so that each field
 * the verifier checks can be set wrong on its own, and so that the RSA and
 * P-384 keys that only ssh-keygen would otherwise sign with are covered. */

typedef struct buf {
	unsigned char p[8192];
	size_t n;
} buf_t;

static void put(buf_t *b, const void *d, size_t n)
{
	assert_true(b->n + n <= sizeof b->p);
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void put_u32(buf_t *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		               (unsigned char)(v >> 8), (unsigned char)v };
	put(b, x, 4);
}

static void put_str(buf_t *b, const void *d, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, d, n);
}

static void put_cstr(buf_t *b, const char *s)
{
	put_str(b, s, strlen(s));
}

static void put_mpint(buf_t *b, const BIGNUM *bn)
{
	unsigned char x[1100];
	int n = BN_bn2bin(bn, x + 1);
	x[0] = 0;
	if (n > 0 && (x[1] & 0x80))
		put_str(b, x, (size_t)n + 1);
	else
		put_str(b, x + 1, (size_t)n);
}

static char *b64std(const unsigned char *p, size_t n)
{
	char *out = malloc(n / 3 * 4 + 8);
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

/* The SSH public key blob of pk (Ed25519, RSA, EC P-256 or P-384). */
static void ssh_pub(EVP_PKEY *pk, buf_t *b)
{
	if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519) {
		unsigned char raw[32];
		size_t rl = sizeof raw;
		assert_int_equal(EVP_PKEY_get_raw_public_key(pk, raw, &rl), 1);
		put_cstr(b, "ssh-ed25519");
		put_str(b, raw, rl);
	} else if (EVP_PKEY_get_id(pk) == EVP_PKEY_RSA) {
		BIGNUM *n = NULL, *e = NULL;
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n), 1);
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
		put_cstr(b, "ssh-rsa");
		put_mpint(b, e);
		put_mpint(b, n);
		BN_free(n);
		BN_free(e);
	} else {
		unsigned char q[100];
		size_t ql = 0;
		assert_int_equal(EVP_PKEY_get_octet_string_param(
		                         pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q, sizeof q, &ql),
		                 1);
		put_cstr(b, ql == 65 ? "ecdsa-sha2-nistp256" : "ecdsa-sha2-nistp384");
		put_cstr(b, ql == 65 ? "nistp256" : "nistp384");
		put_str(b, q, ql);
	}
}

/* "TYPE BASE64 comment" for an authorized_keys-style line. */
static char *ssh_line(EVP_PKEY *pk)
{
	static buf_t b;
	b.n = 0;
	ssh_pub(pk, &b);
	uint32_t tl =
	        (uint32_t)b.p[0] << 24 | (uint32_t)b.p[1] << 16 | (uint32_t)b.p[2] << 8 | b.p[3];
	char *enc = b64std(b.p, b.n);
	char *line = malloc(strlen(enc) + tl + 16);
	sprintf(line, "%.*s %s test", (int)tl, (const char *)b.p + 4, enc);
	free(enc);
	return line;
}

typedef struct forge {
	uint32_t version;         /* 1 */
	const char *ns;           /* APPROVAL_NAMESPACE */
	const char *reserved;     /* "" */
	const char *hash;         /* "sha512" */
	const char *sigtype;      /* NULL: the key's own (rsa-sha2-512 for RSA) */
	const unsigned char *pub; /* NULL: the key's own blob */
	size_t pub_len;
	bool trailing;       /* a byte after the signature field */
	bool sig_trailing;   /* a byte after the signature inside that field */
	bool inner_trailing; /* ECDSA: a byte after r and s */
} forge_t;

/* statement + an SSHSIG armor made by pk as f says. */
static char *forge(const char *statement, EVP_PKEY *pk, const forge_t *f)
{
	static buf_t data, sigf, blob, pub, inner;
	const char *hash = f->hash ? f->hash : "sha512";
	unsigned char h[64], raw[1024];
	unsigned int hl = 0;
	size_t rl = sizeof raw;
	const EVP_MD *hmd = !strcmp(hash, "sha256") ? EVP_sha256() : EVP_sha512();
	int id = EVP_PKEY_get_id(pk);

	data.n = sigf.n = blob.n = pub.n = inner.n = 0;
	assert_int_equal(EVP_Digest(statement, strlen(statement), h, &hl, hmd, NULL), 1);
	put(&data, "SSHSIG", 6);
	put_cstr(&data, f->ns ? f->ns : APPROVAL_NAMESPACE);
	put_cstr(&data, f->reserved ? f->reserved : "");
	put_cstr(&data, hash);
	put_str(&data, h, hl);

	const char *sigtype = f->sigtype;
	const EVP_MD *smd = NULL;
	if (id == EVP_PKEY_RSA) {
		if (!sigtype)
			sigtype = "rsa-sha2-512";
		smd = !strcmp(sigtype, "rsa-sha2-256") ? EVP_sha256()
		      : !strcmp(sigtype, "ssh-rsa")    ? EVP_sha1()
		                                       : EVP_sha512();
	} else if (id == EVP_PKEY_EC) {
		bool p384 = EVP_PKEY_get_bits(pk) == 384;
		if (!sigtype)
			sigtype = p384 ? "ecdsa-sha2-nistp384" : "ecdsa-sha2-nistp256";
		smd = p384 ? EVP_sha384() : EVP_sha256();
	} else if (!sigtype) {
		sigtype = "ssh-ed25519";
	}
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(c, NULL, smd, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(c, raw, &rl, data.p, data.n), 1);
	EVP_MD_CTX_free(c);
	put_cstr(&sigf, sigtype);
	if (id == EVP_PKEY_EC) {
		const unsigned char *d = raw;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)rl);
		assert_non_null(es);
		put_mpint(&inner, ECDSA_SIG_get0_r(es));
		put_mpint(&inner, ECDSA_SIG_get0_s(es));
		ECDSA_SIG_free(es);
		if (f->inner_trailing)
			put(&inner, "x", 1);
		put_str(&sigf, inner.p, inner.n);
	} else {
		put_str(&sigf, raw, rl);
	}
	if (f->sig_trailing)
		put(&sigf, "x", 1);

	put(&blob, "SSHSIG", 6);
	put_u32(&blob, f->version ? f->version : 1);
	if (f->pub) {
		put_str(&blob, f->pub, f->pub_len);
	} else {
		ssh_pub(pk, &pub);
		put_str(&blob, pub.p, pub.n);
	}
	put_cstr(&blob, f->ns ? f->ns : APPROVAL_NAMESPACE);
	put_cstr(&blob, f->reserved ? f->reserved : "");
	put_cstr(&blob, hash);
	put_str(&blob, sigf.p, sigf.n);
	if (f->trailing)
		put(&blob, "x", 1);

	char *enc = b64std(blob.p, blob.n);
	char *out = malloc(strlen(statement) + strlen(enc) + 200);
	sprintf(out, "%s-----BEGIN SSH SIGNATURE-----\n%s\n-----END SSH SIGNATURE-----\n",
	        statement, enc);
	free(enc);
	return out;
}

static char *statement_of(const char *name)
{
	approval_t a = { 0 };
	snprintf(a.approver, sizeof a.approver, "%s", name);
	snprintf(a.product, sizeof a.product, "app");
	snprintf(a.run, sizeof a.run, "4711");
	a.iat = NOW - 60;
	a.exp = NOW + 3600;
	memcpy(a.nonce, "0123456789abcdef0123456789abcdef", 32);
	char *st = approval_statement(&a);
	assert_non_null(st);
	return st;
}

static approval_status_t verify_in(const config_t *c, const char *text, char *detail)
{
	approval_t a;
	detail[0] = '\0';
	approval_status_t st = approval_verify(c, text, strlen(text), NOW, &a, detail, 200);
	if (st != APPROVAL_OK && st != APPROVAL_EXPIRED && st != APPROVAL_NOT_YET_VALID)
		assert_int_equal(a.approver[0], '\0'); /* nothing of a refused approval */
	return st;
}

static void expect(const config_t *c, char *text, approval_status_t want, const char *needle)
{
	char detail[200];
	approval_status_t st = verify_in(c, text, detail);
	if (st != want)
		fail_msg("status %s, want %s (%s)", approval_status_name(st),
		         approval_status_name(want), detail);
	if (needle && !strstr(detail, needle))
		fail_msg("detail '%s' lacks '%s'", detail, needle);
	free(text);
}

/* RSA (3072 bits, rsa-sha2-256 and -512) and ECDSA P-384 approvers, whose
 * keys come as SSH public key lines, as ssh-keygen signs with them. */
static void test_rsa_and_p384_approvers(void **state)
{
	(void)state;
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_non_null(rsa);
	assert_non_null(p384);
	config_approver_key_t k[2];
	char err[200];
	char *l = ssh_line(rsa);
	assert_true(approval_ssh_key_parse(l, &k[0], err, sizeof err));
	assert_int_equal(k[0].kind, APPROVER_KEY_RSA);
	free(l);
	l = ssh_line(p384);
	assert_true(approval_ssh_key_parse(l, &k[1], err, sizeof err));
	assert_int_equal(k[1].kind, APPROVER_KEY_ECDSA_P384);
	free(l);
	config_approver_t ap[2] = { { .name = "dave", .keys = &k[0], .n_keys = 1 },
		                    { .name = "erin", .keys = &k[1], .n_keys = 1 } };
	config_t c = { .approvers = ap, .n_approvers = 2 };
	char *dave = statement_of("dave"), *erin = statement_of("erin");

	expect(&c, forge(dave, rsa, &(forge_t){ 0 }), APPROVAL_OK, NULL);
	expect(&c, forge(dave, rsa, &(forge_t){ .sigtype = "rsa-sha2-256" }), APPROVAL_OK, NULL);
	expect(&c, forge(dave, rsa, &(forge_t){ .hash = "sha256" }), APPROVAL_OK, NULL);
	/* ssh-rsa signatures are SHA-1: refused even when they verify */
	expect(&c, forge(dave, rsa, &(forge_t){ .sigtype = "ssh-rsa" }), APPROVAL_BAD_SIGNATURE,
	       "signature of approver 'dave' does not verify");
	/* the signature type must be the key's */
	expect(&c, forge(dave, rsa, &(forge_t){ .sigtype = "rsa-sha2-384" }),
	       APPROVAL_BAD_SIGNATURE, NULL);
	expect(&c, forge(erin, p384, &(forge_t){ 0 }), APPROVAL_OK, NULL);
	expect(&c, forge(erin, p384, &(forge_t){ .sigtype = "ecdsa-sha2-nistp256" }),
	       APPROVAL_BAD_SIGNATURE, NULL);
	/* dave's statement under erin's key: erin's key is not dave's */
	expect(&c, forge(dave, p384, &(forge_t){ 0 }), APPROVAL_UNKNOWN_KEY,
	       "signed by a key approver 'dave' does not have");
	free(dave);
	free(erin);
	EVP_PKEY_free(k[0].pkey);
	EVP_PKEY_free(k[1].pkey);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(p384);
}

/* Each SSHSIG field wrong on its own: malformed, with the field named. */
static void test_sshsig_fields(void **state)
{
	(void)state;
	char *st = statement_of("alice");
	static buf_t pb;

	expect(&cfg, forge(st, priv[0], &(forge_t){ 0 }), APPROVAL_OK, NULL);
	expect(&cfg, forge(st, priv[0], &(forge_t){ .hash = "sha256" }), APPROVAL_OK, NULL);
	expect(&cfg, forge(st, priv[0], &(forge_t){ .version = 2 }), APPROVAL_MALFORMED,
	       "signature: SSHSIG version is not 1");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .ns = "file" }), APPROVAL_MALFORMED,
	       "signature: namespace is not \"signgate-approval\"");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .reserved = "x" }), APPROVAL_MALFORMED,
	       "signature: reserved field is not empty");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .hash = "sha384" }), APPROVAL_MALFORMED,
	       "signature: hash algorithm is not sha256 or sha512");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .trailing = true }), APPROVAL_MALFORMED,
	       "signature: SSHSIG blob does not parse");
	/* the ed25519 signature type on a P-256 key, and vice versa */
	expect(&cfg, forge(st, priv[0], &(forge_t){ .sigtype = "ssh-ed25519x" }),
	       APPROVAL_BAD_SIGNATURE, NULL);
	char *bob = statement_of("bob");
	expect(&cfg, forge(bob, priv[1], &(forge_t){ 0 }), APPROVAL_OK, NULL);
	expect(&cfg, forge(bob, priv[1], &(forge_t){ .sigtype = "ecdsa-sha2-nistp384" }),
	       APPROVAL_BAD_SIGNATURE, NULL);
	/* bytes after the signature, or after ECDSA's r and s: not a signature */
	expect(&cfg, forge(bob, priv[1], &(forge_t){ .inner_trailing = true }),
	       APPROVAL_BAD_SIGNATURE, "signature of approver 'bob' does not verify");
	expect(&cfg, forge(bob, priv[1], &(forge_t){ .sig_trailing = true }),
	       APPROVAL_BAD_SIGNATURE, "signature of approver 'bob' does not verify");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .sig_trailing = true }), APPROVAL_BAD_SIGNATURE,
	       "signature of approver 'alice' does not verify");
	free(bob);

	/* public key blobs inside the signature that do not parse */
	pb.n = 0;
	expect(&cfg, forge(st, priv[0], &(forge_t){ .pub = pb.p, .pub_len = 0 }),
	       APPROVAL_MALFORMED, "public key blob does not parse");
	pb.n = 0;
	put_cstr(&pb, "ssh-ed25519");
	put_str(&pb, "0123456789abcdef0123456789abcde", 31);
	expect(&cfg, forge(st, priv[0], &(forge_t){ .pub = pb.p, .pub_len = pb.n }),
	       APPROVAL_MALFORMED, "ssh-ed25519 key does not parse");
	pb.n = 0;
	put_cstr(&pb, "ecdsa-sha2-nistp256");
	put_cstr(&pb, "nistp384");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .pub = pb.p, .pub_len = pb.n }),
	       APPROVAL_MALFORMED, "ecdsa key does not parse");
	/* a P-256 point that is not on the curve */
	unsigned char q[65] = { 0x04 };
	q[64] = 1;
	pb.n = 0;
	put_cstr(&pb, "ecdsa-sha2-nistp256");
	put_cstr(&pb, "nistp256");
	put_str(&pb, q, sizeof q);
	expect(&cfg, forge(st, priv[0], &(forge_t){ .pub = pb.p, .pub_len = pb.n }),
	       APPROVAL_MALFORMED, "public key is not valid");
	pb.n = 0;
	put_cstr(&pb, "ssh-rsa");
	put_str(&pb, "\x01\x00\x01", 3);
	expect(&cfg, forge(st, priv[0], &(forge_t){ .pub = pb.p, .pub_len = pb.n }),
	       APPROVAL_MALFORMED, "ssh-rsa key does not parse");
	pb.n = 0;
	put_cstr(&pb, "ssh-dss");
	expect(&cfg, forge(st, priv[0], &(forge_t){ .pub = pb.p, .pub_len = pb.n }),
	       APPROVAL_MALFORMED, "key type ssh-dss is not accepted");
	free(st);
}

/* ssh-rsa key blobs: at least 3072 bits, a positive odd exponent other
 * than 1, positive mpints. */
static void test_ssh_rsa_keys(void **state)
{
	(void)state;
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
	assert_non_null(rsa);
	BIGNUM *n = NULL;
	assert_int_equal(EVP_PKEY_get_bn_param(rsa, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	static buf_t b;
	config_approver_key_t k;
	char err[200], line[2048];
	struct {
		const char *e; /* exponent bytes (mpint content) */
		size_t el;
		bool negative_n;
		bool ok;
		const char *msg;
	} cases[] = {
		{ "\x01\x00\x01", 3, false, true, NULL },
		{ "\x01\x00\x02", 3, false, false, "public key is not valid" }, /* even */
		{ "\x01", 1, false, false, "public key is not valid" },         /* 1 */
		{ "\x81", 1, false, false, "public key is not valid" },         /* negative */
		{ "\x01\x00\x01", 3, true, false, "public key is not valid" },  /* negative n */
		{ "\x01\x00\x01\x01\x00\x01\x01\x00\x01\x01\x00\x01\x01\x00\x01\x01\x00", 17, false,
		  false, "ssh-rsa key does not parse" }, /* e of 17 bytes */
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		unsigned char nb[400];
		int nl = BN_bn2bin(n, nb);
		b.n = 0;
		put_cstr(&b, "ssh-rsa");
		put_str(&b, cases[i].e, cases[i].el);
		if (cases[i].negative_n)
			put_str(&b, nb, (size_t)nl); /* high bit set, no 00 in front */
		else
			put_mpint(&b, n);
		char *enc = b64std(b.p, b.n);
		snprintf(line, sizeof line, "ssh-rsa %s", enc);
		free(enc);
		bool ok = approval_ssh_key_parse(line, &k, err, sizeof err);
		if (ok != cases[i].ok)
			fail_msg("case %zu: %s (%s)", i, ok ? "accepted" : "refused", err);
		if (ok)
			EVP_PKEY_free(k.pkey);
		else if (!strstr(err, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err, cases[i].msg);
	}
	BN_free(n);
	EVP_PKEY_free(rsa);
	/* not a line at all */
	assert_false(approval_ssh_key_parse(NULL, &k, err, sizeof err));
	assert_string_equal(err, "not an SSH public key line");
	char *huge = malloc(9000);
	memset(huge, 'A', 8999);
	memcpy(huge, "ssh-ed25519 ", 12);
	huge[8999] = '\0';
	assert_false(approval_ssh_key_parse(huge, &k, err, sizeof err));
	assert_string_equal(err, "not an SSH public key line");
	free(huge);
	assert_false(approval_ssh_key_parse("ssh-ed25519", &k, err, sizeof err));
	assert_string_equal(err, "not an SSH public key line (TYPE BASE64 [COMMENT])");
}

static void test_pem_keys(void **state)
{
	(void)state;
	config_approver_key_t k;
	char err[200];
	const char *junk = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n";
	assert_false(approval_pem_key_parse(junk, strlen(junk), &k, err, sizeof err));
	assert_string_equal(err, "not a PEM public key (BEGIN PUBLIC KEY)");
	const char *types[][2] = { { "RSA", NULL }, { "EC", "P-384" } };
	for (int i = 0; i < 2; i++) {
		EVP_PKEY *pk = types[i][1]
		                       ? EVP_PKEY_Q_keygen(NULL, NULL, types[i][0], types[i][1])
		                       : EVP_PKEY_Q_keygen(NULL, NULL, types[i][0], (size_t)2048);
		assert_non_null(pk);
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
		long n = BIO_get_mem_data(b, &p);
		assert_false(approval_pem_key_parse(p, (size_t)n, &k, err, sizeof err));
		assert_string_equal(err,
		                    "only Ed25519 and EC P-256 PEM approver keys are accepted");
		assert_null(k.pkey);
		BIO_free(b);
		EVP_PKEY_free(pk);
	}
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(approval_status_name(APPROVAL_OK), "approval-ok");
	assert_string_equal(approval_status_name(APPROVAL_MALFORMED), "approval-malformed");
	assert_string_equal(approval_status_name(APPROVAL_UNKNOWN_APPROVER),
	                    "approval-unknown-approver");
	assert_string_equal(approval_status_name(APPROVAL_UNKNOWN_KEY), "approval-unknown-key");
	assert_string_equal(approval_status_name(APPROVAL_BAD_SIGNATURE), "approval-bad-signature");
	assert_string_equal(approval_status_name(APPROVAL_EXPIRED), "approval-expired");
	assert_string_equal(approval_status_name(APPROVAL_NOT_YET_VALID), "approval-not-yet-valid");
	/* a value outside the enum is reported as malformed, never as ok */
	assert_string_equal(approval_status_name((approval_status_t)99), "approval-malformed");
}

/* Each statement line wrong on its own: the detail names the line. */
static void test_statement_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		const char *msg;
	} cases[] = {
		{ "signgate-approval v2\napprover: a\n",
		  "statement does not start with \"signgate-approval v1\"" },
		{ "signgate-approval v1\napprover: alice\nrun: 1\n",
		  "statement: product line missing or invalid" },
		{ "signgate-approval v1\napprover: alice\nproduct: a b\n",
		  "statement: product line missing or invalid" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nartifact: sha256:"
		  "000000000000000000000000000000000000000000000000000000000000000G\n",
		  "statement: artifact digest is not lower-case hex" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nartifact: sha512:"
		  "0000000000000000000000000000000000000000000000000000000000000000\n",
		  "statement: artifact must be sha256:<64 hex>, at most 16" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nticket: a b\n",
		  "statement: ticket line invalid" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: -1\n",
		  "statement: issued-at line missing or invalid" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1234567890123\n",
		  "statement: issued-at line missing or invalid" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\n"
		  "nonce: 0123\n",
		  "statement: nonce line missing or not 32 hex digits" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 1\n",
		  "statement: expires line missing, invalid or not after issued-at" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\n"
		  "nonce: 0123456789abcdef0123456789abcdeF\n",
		  "statement: nonce is not lower-case hex" },
		{ "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\nexpires: 2\n"
		  "nonce: 0123456789abcdef0123456789abcdef\nx: y\n",
		  "statement: unexpected line after nonce" },
		{ "signgate-approval v1\napprover: \nproduct: app\n",
		  "statement: approver line missing or invalid" },
	};
	char text[1024], detail[200];
	approval_t a;
	size_t ml;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(text, sizeof text,
		         "%s-----BEGIN SSH SIGNATURE-----\nAAAA\n-----END SSH SIGNATURE-----\n",
		         cases[i].text);
		detail[0] = '\0';
		memset(&a, 0x55, sizeof a);
		assert_int_equal(approval_parse(text, strlen(text), &a, &ml, detail, sizeof detail),
		                 APPROVAL_MALFORMED);
		if (!strstr(detail, cases[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, detail, cases[i].msg);
		assert_int_equal(a.approver[0], '\0'); /* zeroed */
		assert_int_equal(a.n_digests, 0);
	}
	/* 17 artifact lines: one more than an approval may carry */
	size_t off = (size_t)snprintf(
	        text, sizeof text, "signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\n");
	static char big[4096];
	memcpy(big, text, off);
	for (int i = 0; i <= APPROVAL_MAX_DIGESTS; i++)
		off += (size_t)snprintf(big + off, sizeof big - off, "artifact: sha256:%064d\n", i);
	snprintf(big + off, sizeof big - off, "-----BEGIN SSH SIGNATURE-----\n");
	assert_int_equal(approval_parse(big, strlen(big), &a, &ml, detail, sizeof detail),
	                 APPROVAL_MALFORMED);
	assert_non_null(strstr(detail, "at most 16"));
	/* a NUL byte anywhere */
	char *x = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	size_t xl = strlen(x);
	x[25] = '\0';
	assert_int_equal(approval_parse(x, xl, &a, &ml, detail, sizeof detail), APPROVAL_MALFORMED);
	assert_string_equal(detail, "approval contains a NUL byte");
	free(x);
	/* empty, too long, no signature block */
	assert_int_equal(approval_parse("", 0, &a, &ml, detail, sizeof detail), APPROVAL_MALFORMED);
	assert_string_equal(detail, "approval is empty or longer than 8192 bytes");
	assert_int_equal(approval_parse(big, APPROVAL_MAX_LEN + 1, &a, &ml, detail, sizeof detail),
	                 APPROVAL_MALFORMED);
	assert_string_equal(detail, "approval is empty or longer than 8192 bytes");
	assert_int_equal(
	        approval_parse("signgate-approval v1\n", 21, &a, &ml, detail, sizeof detail),
	        APPROVAL_MALFORMED);
	assert_string_equal(detail, "no SSH SIGNATURE block after the statement");
}

/* The armor around the SSHSIG: BEGIN line, END line, base64. */
static void test_armor(void **state)
{
	(void)state;
	char *x = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	char detail[200];
	assert_int_equal(verify_in(&cfg, x, detail), APPROVAL_OK);
	/* CRLF line ends after the END line are tolerated */
	char *y = malloc(strlen(x) + 4);
	strcpy(y, x);
	strcat(y, "\r\n");
	assert_int_equal(verify_in(&cfg, y, detail), APPROVAL_OK);
	free(y);
	/* no END line */
	char *end = strstr(x, "-----END SSH SIGNATURE-----");
	assert_non_null(end);
	strcpy(end, "\n");
	assert_int_equal(verify_in(&cfg, x, detail), APPROVAL_MALFORMED);
	assert_string_equal(detail, "signature: SSH SIGNATURE block is not valid base64 armor");
	free(x);
	/* the BEGIN line not followed by a line break */
	x = make(0, "alice", "app", "4711", NOW - 60, 3600, NULL);
	char *begin = strstr(x, "-----BEGIN SSH SIGNATURE-----\n");
	begin[29] = ' ';
	assert_int_equal(verify_in(&cfg, x, detail), APPROVAL_MALFORMED);
	assert_string_equal(detail, "signature: SSH SIGNATURE block is not valid base64 armor");
	free(x);
	/* data after padding */
	x = forge("signgate-approval v1\napprover: alice\nproduct: app\nrun: 1\nissued-at: 1\n"
	          "expires: 2\nnonce: 0123456789abcdef0123456789abcdef\n",
	          priv[0], &(forge_t){ 0 });
	char *pad = strstr(x, "=");
	if (pad) {
		pad[0] = 'A';
		pad[1] = '=';
		assert_int_equal(verify_in(&cfg, x, detail), APPROVAL_MALFORMED);
	}
	free(x);
}

static void test_bundle_edges(void **state)
{
	(void)state;
	bundle_t out;
	char detail[200];
	/* empty fields between separators are skipped */
	assert_true(bundle_parse("sgb1~~t:abc~\r\n", 14, &out, detail, sizeof detail));
	assert_string_equal(out.ticket, "abc");
	assert_int_equal(out.n_approvals, 0);
	bundle_free(&out);
	/* only separators */
	assert_false(bundle_parse("sgb1~~~", 7, &out, detail, sizeof detail));
	assert_string_equal(detail, "bundle is empty");
	/* a NUL byte */
	assert_false(bundle_parse("sgb1~t:a\0b", 10, &out, detail, sizeof detail));
	assert_string_equal(detail, "bundle contains a NUL byte");
	/* an approval whose base64url is longer than any approval */
	size_t n = 4 + 3 + (APPROVAL_MAX_LEN + 8) / 3 * 4 + 8;
	char *big = malloc(n + 1);
	memcpy(big, "sgb1~a:", 7);
	memset(big + 7, 'A', n - 7);
	big[n] = '\0';
	assert_false(bundle_parse(big, n, &out, detail, sizeof detail));
	assert_string_equal(detail, "bundle: approval 1 too long");
	assert_int_equal(out.n_approvals, 0);
	free(big);
	/* a ticket longer than 8192 */
	n = 7 + 8193;
	big = malloc(n + 1);
	memcpy(big, "sgb1~t:", 7);
	memset(big + 7, 'x', n - 7);
	big[n] = '\0';
	assert_false(bundle_parse(big, n, &out, detail, sizeof detail));
	assert_string_equal(detail, "bundle: more than one ticket, or one too long");
	assert_null(out.ticket);
	free(big);
	/* larger than BUNDLE_MAX_LEN, and not a bundle at all */
	assert_false(bundle_parse("sgb1~t:a", BUNDLE_MAX_LEN + 1, &out, detail, sizeof detail));
	assert_string_equal(detail, "not a bundle (sgb1~...) of at most 65536 bytes");
	assert_false(bundle_looks_like("sgb1~", 5));
	assert_false(bundle_looks_like(NULL, 10));
	assert_true(bundle_looks_like("sgb1\r\nt:x", 9));
	assert_false(bundle_looks_like("sgb1:t:x", 8));
	bundle_free(NULL);
	/* base64url that is not canonical: data after padding, a final
	 * character with bits left over, a lone sixth bit */
	static const char *noncanon[] = { "sgb1~a:AA=A", "sgb1~a:AB", "sgb1~a:AAAAB",
		                          "sgb1~a:AA===" };
	for (size_t i = 0; i < sizeof noncanon / sizeof noncanon[0]; i++) {
		assert_false(bundle_parse(noncanon[i], strlen(noncanon[i]), &out, detail,
		                          sizeof detail));
		assert_string_equal(detail, "bundle: approval 1 is not base64url");
	}
	/* short enough to pass the length estimate, but decoding to more than
	 * APPROVAL_MAX_LEN bytes */
	n = 7 + 10926;
	big = malloc(n + 1);
	memcpy(big, "sgb1~a:", 7);
	memset(big + 7, 'A', n - 7);
	big[n] = '\0';
	assert_false(bundle_parse(big, n, &out, detail, sizeof detail));
	assert_string_equal(detail, "bundle: approval 1 is not base64url");
	free(big);
	/* an encoded bundle of nothing but a ticket */
	char *enc = bundle_encode("t1", NULL, NULL, 0);
	assert_string_equal(enc, "sgb1~t:t1");
	free(enc);
	enc = bundle_encode(NULL, NULL, NULL, 0);
	assert_string_equal(enc, "sgb1");
	free(enc);
}

/* A statement naming a ticket round-trips; tools cannot make statements
 * that the parser would refuse; signing needs an Ed25519 or P-256
 * private key. */
static void test_statement_and_signing(void **state)
{
	(void)state;
	approval_t a = { 0 }, b;
	size_t ml;
	char detail[200];
	snprintf(a.approver, sizeof a.approver, "alice");
	snprintf(a.product, sizeof a.product, "app");
	snprintf(a.run, sizeof a.run, "7");
	snprintf(a.ticket, sizeof a.ticket, "jti-42");
	a.iat = 100;
	a.exp = 200;
	a.n_digests = 2;
	memset(a.digests[0], 0xab, 32);
	memset(a.digests[1], 0x01, 32);
	memcpy(a.nonce, "00112233445566778899aabbccddeeff", 32);
	char *st = approval_statement(&a);
	assert_non_null(st);
	assert_string_equal(
	        st,
	        "signgate-approval v1\napprover: alice\nproduct: app\nrun: 7\n"
	        "artifact: sha256:abababababababababababababababababababababababababababababababab\n"
	        "artifact: sha256:0101010101010101010101010101010101010101010101010101010101010101\n"
	        "ticket: jti-42\nissued-at: 100\nexpires: 200\n"
	        "nonce: 00112233445566778899aabbccddeeff\n");
	char *x = approval_sign_pem(priv[0], st);
	assert_non_null(x);
	assert_int_equal(approval_parse(x, strlen(x), &b, &ml, detail, sizeof detail), APPROVAL_OK);
	assert_int_equal(ml, strlen(st));
	assert_string_equal(b.ticket, "jti-42");
	assert_int_equal(b.n_digests, 2);
	assert_memory_equal(b.digests[1], a.digests[1], 32);
	assert_true(approval_covers_digest(&b, a.digests[0]));
	unsigned char other[32] = { 0 };
	assert_false(approval_covers_digest(&b, other));
	free(x);
	/* a public key cannot sign; an RSA key is not an approval key */
	assert_null(approval_sign_pem(keys[1].pkey, st));
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_null(approval_sign_pem(rsa, st));
	EVP_PKEY_free(rsa);
	/* nor is P-384 (SSHSIG from a PEM key is Ed25519 or P-256 only) */
	EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	assert_null(approval_sign_pem(p384, st));
	EVP_PKEY_free(p384);
	free(st);
	/* invalid fields: no statement */
	approval_t bad = a;
	snprintf(bad.ticket, sizeof bad.ticket, "a b");
	assert_null(approval_statement(&bad));
	bad = a;
	bad.exp = bad.iat;
	assert_null(approval_statement(&bad));
	bad = a;
	bad.n_digests = APPROVAL_MAX_DIGESTS + 1;
	assert_null(approval_statement(&bad));
	bad = a;
	bad.nonce[5] = '\0';
	assert_null(approval_statement(&bad));
	bad = a;
	bad.run[0] = '\0';
	assert_null(approval_statement(&bad));
	/* the approver lookup and trust after a reload */
	assert_null(approval_approver(&cfg, "mallory"));
	assert_null(approval_approver(NULL, "alice"));
	assert_string_equal(approval_approver(&cfg, "carol")->name, "carol");
	approval_t t = { 0 };
	snprintf(t.approver, sizeof t.approver, "mallory");
	assert_false(approval_still_trusted(&cfg, &t));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_ed25519_and_p256),
		cmocka_unit_test(test_statuses),
		cmocka_unit_test(test_strict_statement),
		cmocka_unit_test(test_ssh_key_lines),
		cmocka_unit_test(test_bundles),
		cmocka_unit_test(test_counting),
		cmocka_unit_test(test_config_loader),
		cmocka_unit_test(test_rsa_and_p384_approvers),
		cmocka_unit_test(test_sshsig_fields),
		cmocka_unit_test(test_ssh_rsa_keys),
		cmocka_unit_test(test_pem_keys),
		cmocka_unit_test(test_status_names),
		cmocka_unit_test(test_statement_lines),
		cmocka_unit_test(test_armor),
		cmocka_unit_test(test_bundle_edges),
		cmocka_unit_test(test_statement_and_signing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

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

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "approval.h"
#include "config.h"
#include "policy.h"

#define NOW ((time_t)1800000000)

static const char rsa2048_line[] = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCxDK7uBe0rPQDRy8mAiiKCexf4zMcIlriu6RPHrrv2Wd9FsjXmnsCE/AOPsphkoreUSMwmqC3GmW5NDctJzn6X9fP/Stdk1dZRPDdI6xUCFpjic/Duu0BUhflGStf5tsUDxk7o3C908Cekx1uvbNGu2/Zn8f/fM6QHWbLW+FoYlRErMXbOzqf7XsX7Vtm1zQp9vV/niTHXQ9i/I/QA3qZEreQT/pxasnjYsl87VLLr4Ub5dp1fEloe8ivSiX7sRqWQaBTf2RQLyAiwxiMTgDZihIAKohInx9sgDFCOeMDbMVDO9zHh9LqeMNSIYfyYqYP62F44/103dA/LKRif6X77";
static const char ed_line[] =
	"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFtocEkIIC6Ng246kCwSldursT1DXkbLFC/WDI7NWrvq fuzz";

static EVP_PKEY *priv[4];           /* alice (Ed25519), bob (P-256), carol (Ed25519), rogue */
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
		assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(c, NID_X9_62_prime256v1), 1);
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
		approvers[i] = (config_approver_t){ .name = (char *)names[i], .keys = &keys[i], .n_keys = 1 };
	}
	groups[0] = (config_approver_group_t){ .name = "rm", .members = members, .n_members = 3 };
	rule = (policy_rule_t){ .name = "release", .approvals_count = 2, .approvals_from = from,
		                .n_approvals_from = 1, .approvals_max_age_s = 86400 };
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
	*strstr(t, "run: 4711") = 'R';               /* statement changed: line invalid */
	assert_int_equal(verify(t, &a), APPROVAL_MALFORMED);
	strcpy(t, x);
	strstr(t, "run: 4711")[8] = '2';             /* run 4712: signature no longer matches */
	assert_int_equal(verify(t, &a), APPROVAL_BAD_SIGNATURE);
	free(t);
	free(x);
	x = make(3, "alice", "app", "4711", NOW - 60, 3600, NULL);   /* rogue key, alice's name */
	assert_int_equal(verify(x, &a), APPROVAL_UNKNOWN_KEY);
	free(x);
	x = make(0, "mallory", "app", "4711", NOW - 60, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_UNKNOWN_APPROVER);
	free(x);
	x = make(0, "alice", "app", "4711", NOW - 7200, 3600, NULL);
	assert_int_equal(verify(x, &a), APPROVAL_EXPIRED);
	assert_string_equal(a.approver, "alice");    /* good signature: named */
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
		assert_int_equal(approval_parse(bad[i], strlen(bad[i]), &a, &ml, NULL, 0), APPROVAL_MALFORMED);
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
	static const char *bad[] = { "sgb1~", "sgb1~x:abc", "sgb1~t:a~t:b", "sgb1~a:!!!", "sgb2~t:a",
		                     "sgb1~a:" };
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

static unsigned count(approval_t *list, size_t n, const ticket_claims_t *t, const unsigned char *art,
                      char *names)
{
	policy_request_t req = { .caller = &caller, .now = NOW, .approvals = list, .n_approvals = n,
		                 .ticket = t, .artifact = art };
	return policy_approvals_count(&cfg, &rule, &req, names, 160);
}

static void get(int key, const char *name, const char *product, const char *run, int64_t iat, int64_t ttl,
                const unsigned char *digest, approval_t *out)
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
	assert_int_equal(count(l, 2, NULL, NULL, names), 2);   /* at *Init: not yet known */
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
	const char *base = "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
	                   "roles = ( { name = \"ci\"; users = [ 0 ]; } );\n"
	                   "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n";
	snprintf(text, sizeof text, "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; },\n"
	         "  { name = \"b\"; keys = [ \"%s\" ]; } );\n"
	         "approver_groups = ( { name = \"g\"; members = [ \"a\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 1; from = [ \"g\" ]; max_age = \"1d\"; }; } );\n",
	         base, ed_line, rsa2048_line);
	config_t *c = config_load_string(text, "t.conf", err, sizeof err);
	assert_null(c);
	assert_non_null(strstr(err, "t.conf:5: setting 'approvers[1].keys[0]'"));
	assert_non_null(strstr(err, "3072"));
	snprintf(text, sizeof text, "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; } );\n"
	         "approver_groups = ( { name = \"g\"; members = [ \"a\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 1; from = [ \"g\" ]; max_age = \"1d\"; }; } );\n", base, ed_line);
	c = config_load_string(text, "t.conf", err, sizeof err);
	assert_non_null(c);
	assert_int_equal(c->rules[0].approvals_count, 1);
	assert_int_equal(c->rules[0].approvals_max_age_s, 86400);
	assert_int_equal(c->n_approvers, 1);
	config_free(c);
	snprintf(text, sizeof text, "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; } );\n"
	         "approver_groups = ( { name = \"g\"; members = [ \"a\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 2; from = [ \"g\" ]; }; } );\n", base, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "t.conf:7: setting 'rules[0].approvals.count': needs 2 approvers"));
	snprintf(text, sizeof text, "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; } );\n"
	         "rules = ( { name = \"r\"; roles = [ \"ci\" ]; keys = [ \"k\" ];\n"
	         "  approvals = { count = 1; from = [ \"nope\" ]; }; } );\n", base, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "no approver group named 'nope'"));
	snprintf(text, sizeof text, "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; },\n"
	         " { name = \"b\"; keys = [ \"%s\" ]; } );\n", base, ed_line, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "one key, one person"));
	snprintf(text, sizeof text, "%sapprover_groups = ( { name = \"g\"; members = [ \"x\" ]; } );\n", base);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "no approver named 'x'"));
	snprintf(text, sizeof text, "%sapprovers = ( { name = \"a\"; keys = [ \"%s\" ]; color = 1; } );\n",
	         base, ed_line);
	assert_null(config_load_string(text, "t.conf", err, sizeof err));
	assert_non_null(strstr(err, "unknown setting"));
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

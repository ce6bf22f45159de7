/* Unit tests for module/runtime/config.c: the strict loader.  Every refusal must
 * name the file, the line and the setting. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "config.h"
#include "policy.h"

#define BACKEND "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"

static char tmpdir[64];
static char ed_pub[128], rsa_pub[128];

static void write_pub(const char *path, EVP_PKEY *pk)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_PUBKEY(f, pk), 1);
	fclose(f);
	EVP_PKEY_free(pk);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof tmpdir, "/tmp/sg-test-config.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	snprintf(ed_pub, sizeof ed_pub, "%s/ed.pub", tmpdir);
	snprintf(rsa_pub, sizeof rsa_pub, "%s/rsa.pub", tmpdir);
	write_pub(ed_pub, EVP_PKEY_Q_keygen(NULL, NULL, "ED25519"));
	write_pub(rsa_pub, EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static config_t *load(const char *text, char *err)
{
	return config_load_string(text, "t.conf", err, CONFIG_ERR_MAX);
}

/* ---- good configs ------------------------------------------------------ */

static void test_minimal_defaults(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX];
	config_t *c = load(BACKEND, err);
	assert_non_null(c);
	assert_string_equal(c->backend.module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_null(c->backend.tokens);
	assert_null(c->backend.pin_file);
	assert_true(c->audit.enabled);
	assert_true(c->audit.required);
	assert_int_equal(c->audit.format, AUDIT_FORMAT_JSON);
	assert_false(c->audit.cee);
	assert_false(c->audit.rfc5424);
	assert_int_equal(c->audit.facility, 10 << 3); /* LOG_AUTHPRIV */
	assert_string_equal(c->audit.ident, "signgate");
	assert_string_equal(c->audit.socket_path, "/dev/log");
	assert_int_equal(c->audit.timeout_ms, 200);
	assert_null(c->audit.journal);
	assert_int_equal(c->mode, CONFIG_MODE_IN_PROCESS);
	assert_string_equal(c->state_dir, "/var/lib/signgate");
	assert_int_equal(c->n_roles + c->n_keys + c->n_rules + c->n_validators, 0);
	assert_non_null(c->policy);
	config_free(c);
}

static void test_full(void **state)
{
	(void)state;
	char text[8192], err[CONFIG_ERR_MAX];
	snprintf(
	        text, sizeof text,
	        "backend = { module = \"/m.so\"; tokens = [ \"t1\", \"t2\" ]; pin_file = \"/p\"; };\n"
	        "state_dir = \"/s\"; mode = \"broker\";\n"
	        "audit = { enabled = false; required = false; format = \"logfmt\"; rfc5424 = true;\n"
	        "  facility = \"local3\"; ident = \"sg\"; socket = \"/run/log\"; timeout_ms = 50; };\n"
	        "validators = ( { name = \"ci\"; public_key = \"%s\"; } );\n"
	        "roles = ( { name = \"rel\"; users = ( \"root\", 1001, \"no-such-user-xyz\" );\n"
	        "            groups = [ \"0\", \"no-such-group-xyz\" ];\n"
	        "            programs = ( \"/usr/bin/a\", { path = \"/usr/bin/b\"; sha256 = \"%064d\"; } ); } );\n"
	        "keys = ( { name = \"k1\"; token = \"t1\"; id = \"0a:1B\"; label = \"l\";\n"
	        "  fingerprint = \"sha256:%064d\"; products = [ \"app\" ];\n"
	        "  mechanisms = [ \"SHA256-RSA-PKCS\", \"rsa_pkcs\", \"ECDSA\" ]; hashes = [ \"SHA384\", \"sha-256\" ];\n"
	        "  not_before = \"2026-01-01T00:00:00Z\"; not_after = \"2027-01-01T01:00:00+01:00\";\n"
	        "  revoked = true; revoked_reason = \"leaked\"; },\n"
	        "  { name = \"k2\"; token = \"t1\"; label = \"only-label\"; products = [ \"app\", \"lib\" ]; mechanisms = [ \"EDDSA\" ]; } );\n"
	        "rules = ( { name = \"r1\"; roles = [ \"rel\" ]; products = [ \"app\" ]; keys = [ \"k1\" ];\n"
	        "  days = [ \"Mon\", \"fri\" ]; hours = \"22:00-06:00\"; timezone = \"-05:30\";\n"
	        "  quota = { count = 5; period = \"2w\"; per = \"rule\"; };\n"
	        "  checks = [ \"tests\" ]; max_ticket_age = \"15m\"; },\n"
	        "  { name = \"r2\"; roles = [ \"rel\" ]; all_keys = true; sign = false; admin = true; } );\n",
	        ed_pub, 0, 1);
	config_t *c = load(text, err);
	if (!c)
		fail_msg("%s", err);
	assert_int_equal(c->backend.n_tokens, 2);
	assert_string_equal(c->backend.pin_file, "/p");
	assert_int_equal(c->mode, CONFIG_MODE_BROKER);
	assert_false(c->audit.enabled);
	assert_int_equal(c->audit.format, AUDIT_FORMAT_LOGFMT);
	assert_int_equal(c->audit.facility, 19 << 3);
	assert_int_equal(c->audit.timeout_ms, 50);
	assert_int_equal(c->n_validators, 1);
	assert_non_null(c->validators[0].pkey);

	const policy_role_t *r = &c->roles[0];
	assert_int_equal(r->n_uids, 2); /* root, 1001 */
	assert_int_equal(r->uids[0], 0);
	assert_int_equal(r->uids[1], 1001);
	assert_int_equal(r->n_user_names, 3);
	assert_int_equal(r->n_gids, 1);
	assert_int_equal(r->n_unresolved, 2);
	assert_string_equal(r->unresolved[0], "user:no-such-user-xyz");
	assert_string_equal(r->unresolved[1], "group:no-such-group-xyz");
	assert_int_equal(r->n_programs, 2);
	assert_false(r->programs[0].has_sha256);
	assert_true(r->programs[1].has_sha256);
	assert_int_equal(r->line, 6);

	const policy_key_t *k = &c->keys[0];
	assert_int_equal(k->id_len, 2);
	assert_int_equal(k->id[0], 0x0a);
	assert_int_equal(k->id[1], 0x1b);
	assert_true(k->has_fingerprint);
	assert_int_equal(k->fingerprint[31], 0x01);
	assert_true(k->mech_allowed & (1ull << MECH_RSA_PKCS));
	assert_false(k->mech_allowed & (1ull << MECH_RSA_X_509));
	assert_int_equal(k->hash_allowed, (1u << HASH_SHA256) | (1u << HASH_SHA384));
	assert_int_equal(k->not_before, 1767225600);
	assert_int_equal(k->not_after, 1798761600);
	assert_true(k->revoked);
	assert_string_equal(k->revoked_reason, "leaked");
	assert_false(c->keys[1].has_id);
	assert_false(c->keys[1].has_fingerprint);

	const policy_rule_t *ru = &c->rules[0];
	assert_int_equal(ru->n_keys, 2); /* k1 once, k2 through "app" */
	assert_int_equal(ru->days, (1 << 1) | (1 << 5));
	assert_int_equal(ru->minute_from, 22 * 60);
	assert_int_equal(ru->minute_to, 6 * 60);
	assert_int_equal(ru->tz_offset_min, -330);
	assert_int_equal(ru->quota_count, 5);
	assert_int_equal(ru->quota_period_s, 14 * 86400);
	assert_int_equal(ru->quota_scope, QUOTA_PER_RULE);
	assert_true(ru->require_ticket);
	assert_int_equal(ru->max_ticket_age_s, 900);
	assert_true(ru->sign);
	assert_false(ru->admin);
	assert_true(c->rules[1].all_keys);
	assert_true(c->rules[1].admin);
	assert_false(c->rules[1].sign);
	assert_int_equal(c->rules[1].days, 0x7f);
	assert_int_equal(c->rules[1].minute_from, -1);
	assert_int_equal(c->rules[1].quota_scope, QUOTA_PER_RULE); /* no quota */
	assert_int_equal(c->rules[1].quota_count, 0);

	assert_ptr_equal(policy_key_by_name(c, "k2"), &c->keys[1]);
	assert_ptr_equal(policy_role_by_name(c, "rel"), &c->roles[0]);
	assert_ptr_equal(policy_rule_by_name(c, "r2"), &c->rules[1]);
	assert_null(policy_key_by_name(c, "nope"));
	config_free(c);
}

/* ---- refusals: each message names file, line and setting -------------- */

typedef struct bad {
	const char *what;
	const char *text;   /* after BACKEND unless it starts with '!' */
	const char *expect; /* substring of the message */
} bad_t;

#define ROLE "roles = ( { name = \"r\"; users = [ 0 ]; } );\n"
#define KEY(extra)                                                                                \
	"keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; " extra \
	" } );\n"
#define RULE(extra) \
	"rules = ( { name = \"x\"; roles = [ \"r\" ]; keys = [ \"k\" ]; " extra " } );\n"

static const bad_t bads[] = {
	{ "unknown top", "foo = 1;\n", "t.conf:2: setting 'foo': unknown setting" },
	{ "unknown backend", "!backend = { module = \"/m\"; modul = \"/x\"; };\n",
	  "t.conf:1: setting 'backend.modul': unknown setting" },
	{ "missing backend", "!state_dir = \"/x\";\n",
	  "t.conf:1: setting 'backend': required setting missing" },
	{ "missing module", "!backend = {\n tokens = [ \"a\" ]; };\n",
	  "t.conf:1: setting 'backend.module': required setting missing" },
	{ "relative module", "!backend = { module = \"lib.so\"; };\n",
	  "t.conf:1: setting 'backend.module': must be an absolute path" },
	{ "module type", "!backend = { module = 5; };\n",
	  "t.conf:1: setting 'backend.module': must be a string" },
	{ "empty tokens", "!backend = { module = \"/m\"; tokens = [ ]; };\n",
	  "setting 'backend.tokens': empty list" },
	{ "duplicate", "!backend = { module = \"/m\";\n module = \"/n\"; };\n",
	  "t.conf:2: setting 'module': duplicate setting" },
	{ "duplicate top", "state_dir = \"/a\";\nstate_dir = \"/b\";\n",
	  "t.conf:3: setting 'state_dir': duplicate setting" },
	{ "include", "\n  @include \"other.conf\"\n", "t.conf:3: @include is not allowed" },
	{ "syntax", "roles = ( \n{ name = ; } );\n", "t.conf:3: syntax error" },
	{ "mode", "mode = \"daemon\";\n", "t.conf:2: setting 'mode': must be" },
	{ "state_dir", "state_dir = \"var\";\n",
	  "t.conf:2: setting 'state_dir': must be an absolute path" },
	{ "audit type", "audit = { enabled = 1; };\n",
	  "t.conf:2: setting 'audit.enabled': must be true or false" },
	{ "audit format", "audit = { format = \"xml\"; };\n", "setting 'audit.format': must be" },
	{ "audit facility", "audit = { facility = \"kern\"; };\n",
	  "setting 'audit.facility': unknown facility" },
	{ "audit timeout", "audit = { timeout_ms = 0; };\n",
	  "setting 'audit.timeout_ms': must be between 1 and 60000" },
	{ "audit ident", "audit = { ident = \"a b\"; };\n", "setting 'audit.ident'" },
	{ "audit cee", "audit = { format = \"cef\"; cee = true; };\n", "setting 'audit.cee'" },
	{ "audit unknown", "audit = { level = 1; };\n", "setting 'audit.level': unknown setting" },
	{ "audit group", "audit = 1;\n", "setting 'audit': must be a group" },
	{ "journal relative", "audit = { journal = \"audit.journal\"; mac_key = \"/k\"; };\n",
	  "setting 'audit.journal': must be an absolute path" },
	{ "journal no key", "audit = { journal = \"/j\"; };\n",
	  "setting 'audit.journal': a journal needs audit.mac_key" },
	{ "journal sync", "audit = { journal = \"/j\"; mac_key = \"/k\"; sync = \"always\"; };\n",
	  "setting 'audit.sync': must be \"write\" or \"fdatasync\"" },
	{ "journal-only setting", "audit = { checkpoint_every = 10; };\n",
	  "setting 'audit.checkpoint_every': needs audit.journal" },
	{ "journal-only sync", "audit = { sync = \"write\"; };\n",
	  "setting 'audit.sync': needs audit.journal" },
	{ "checkpoint range",
	  "audit = { journal = \"/j\"; mac_key = \"/k\"; checkpoint_every = -1; };\n",
	  "setting 'audit.checkpoint_every': must be between 0 and" },
	{ "checkpoint key rel",
	  "audit = { journal = \"/j\"; mac_key = \"/k\"; checkpoint_key = \"k.pem\"; };\n",
	  "setting 'audit.checkpoint_key': must be an absolute path" },
	{ "syslog_required type",
	  "audit = { journal = \"/j\"; mac_key = \"/k\"; syslog_required = \"yes\"; };\n",
	  "setting 'audit.syslog_required': must be true or false" },
	{ "roles not list", "roles = { name = \"r\"; };\n", "setting 'roles': must be a list" },
	{ "role unknown", "roles = ( { name = \"r\"; user = [ 0 ]; } );\n",
	  "t.conf:2: setting 'roles[0].user': unknown setting" },
	{ "role no name", "roles = ( { users = [ 0 ]; } );\n",
	  "setting 'roles[0].name': required setting missing" },
	{ "role dup",
	  "roles = ( { name = \"r\"; users = [ 0 ]; },\n { name = \"r\"; users = [ 1 ]; } );\n",
	  "t.conf:3: setting 'roles[1].name': duplicate role name 'r' (first at line 2)" },
	{ "role matches all", "roles = ( { name = \"r\"; } );\n",
	  "setting 'roles[0]': role names no users" },
	{ "role bad uid", "roles = ( { name = \"r\"; users = ( -1 ); } );\n",
	  "setting 'roles[0].users[0]': not a valid uid" },
	{ "role bad user after good ones",
	  "roles = ( { name = \"r\"; users = ( \"root\", \"nobody-xyz\", 1.5 ); } );\n",
	  "setting 'roles[0].users[2]': must be a user name or number" },
	{ "role bad group after good ones",
	  "roles = ( { name = \"r\"; groups = ( \"0\", true ); } );\n",
	  "setting 'roles[0].groups[1]': must be a group name or number" },
	{ "role program rel", "roles = ( { name = \"r\"; programs = [ \"bin/x\" ]; } );\n",
	  "setting 'roles[0].programs[0]': must be an absolute path" },
	{ "role program sha",
	  "roles = ( { name = \"r\"; programs = ( { path = \"/x\"; sha256 = \"abc\"; } ); } );\n",
	  "setting 'roles[0].programs[0].sha256': must be 64 hex digits" },
	{ "role credential",
	  "roles = ( { name = \"r\"; users = [ 0 ]; credential = \"plain\"; } );\n",
	  "setting 'roles[0].credential': must be \"pbkdf2-sha256" },
	{ "role name", "roles = ( { name = \"a b\"; users = [ 0 ]; } );\n",
	  "setting 'roles[0].name': must be printable" },
	{ "key dup",
	  ROLE
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; },\n"
	  "  { name = \"k\"; token = \"t\"; id = \"02\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "t.conf:4: setting 'keys[1].name': duplicate key name 'k' (first at line 3)" },
	{ "key same id",
	  ROLE
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; },\n"
	  "  { name = \"j\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "t.conf:4: setting 'keys': key 'j' has the same token and id as key 'k' (line 3)" },
	{ "key no id", "keys = ( { name = \"k\"; token = \"t\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "setting 'keys[0].id': required setting missing" },
	{ "key no token",
	  "keys = ( { name = \"k\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "setting 'keys[0].token': required setting missing" },
	{ "key no mechs", "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; } );\n",
	  "setting 'keys[0].mechanisms': required setting missing" },
	{ "key bad id",
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"0g\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "setting 'keys[0].id': must be the CKA_ID in hex" },
	{ "key odd id",
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"012\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "setting 'keys[0].id': must be the CKA_ID in hex" },
	{ "key bad fp", KEY("fingerprint = \"sha256:abcd\";"),
	  "setting 'keys[0].fingerprint': must be \"sha256:\"" },
	{ "key fp no prefix",
	  KEY("fingerprint = \"0000000000000000000000000000000000000000000000000000000000000000\";"),
	  "setting 'keys[0].fingerprint'" },
	{ "key unknown mech",
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\", \"RSA-FOO\" ]; } );\n",
	  "t.conf:2: setting 'keys[0].mechanisms[1]': unknown mechanism 'RSA-FOO'" },
	{ "key unknown hash", KEY("hashes = [ \"MD5\" ];"),
	  "setting 'keys[0].hashes[0]': unknown hash 'MD5'" },
	{ "key mech hash",
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"SHA1-RSA-PKCS\" ]; } );\n",
	  "setting 'keys[0].mechanisms[0]': mechanism SHA1-RSA-PKCS hashes with SHA1" },
	{ "key bad date", KEY("not_after = \"2027-02-30T00:00:00Z\";"),
	  "setting 'keys[0].not_after': must be an RFC 3339 date-time" },
	{ "key date no zone", KEY("not_after = \"2027-01-01T00:00:00\";"),
	  "setting 'keys[0].not_after': must be an RFC 3339" },
	{ "key date order",
	  KEY("not_before = \"2027-01-01T00:00:00Z\"; not_after = \"2026-01-01T00:00:00Z\";"),
	  "setting 'keys[0].not_after': must be later" },
	{ "key revoked type", KEY("revoked = \"yes\";"),
	  "setting 'keys[0].revoked': must be true or false" },
	{ "key reason alone", KEY("revoked_reason = \"x\";"), "setting 'keys[0].revoked_reason'" },
	{ "rule undefined role",
	  ROLE KEY(
	          "") "rules = ( { name = \"x\"; roles = [ \"r\", \"ghost\" ]; keys = [ \"k\" ]; } );\n",
	  "t.conf:4: setting 'rules[0].roles[1]': undefined role 'ghost'" },
	{ "rule undefined key",
	  ROLE KEY("") "rules = ( { name = \"x\"; roles = [ \"r\" ]; keys = [ \"nokey\" ]; } );\n",
	  "t.conf:4: setting 'rules[0].keys[0]': undefined key 'nokey'" },
	{ "rule product no keys",
	  ROLE KEY(
	          "products = [ \"app\" ];") "rules = ( { name = \"x\"; roles = [ \"r\" ]; products = [ \"lib\" ]; } );\n",
	  "setting 'rules[0].products[0]': product 'lib' has no keys" },
	{ "rule dup",
	  ROLE KEY(
	          "") "rules = ( { name = \"x\"; roles = [ \"r\" ]; keys = [ \"k\" ]; },\n { name = \"x\"; roles = [ \"r\" ]; keys = [ \"k\" ]; } );\n",
	  "t.conf:5: setting 'rules[1].name': duplicate rule name 'x' (first at line 4)" },
	{ "rule no key", ROLE KEY("") "rules = ( { name = \"x\"; roles = [ \"r\" ]; } );\n",
	  "setting 'rules[0]': rule grants no key" },
	{ "rule no roles", ROLE KEY("") "rules = ( { name = \"x\"; keys = [ \"k\" ]; } );\n",
	  "setting 'rules[0].roles': required setting missing" },
	{ "rule nothing", ROLE KEY("") RULE("sign = false;"),
	  "setting 'rules[0]': rule grants nothing" },
	{ "rule day", ROLE KEY("") RULE("days = [ \"Mon\", \"Funday\" ];"),
	  "setting 'rules[0].days[1]': unknown day 'Funday'" },
	{ "rule hours", ROLE KEY("") RULE("hours = \"9-17\";"),
	  "setting 'rules[0].hours': must be \"HH:MM-HH:MM\"" },
	{ "rule hours equal", ROLE KEY("") RULE("hours = \"09:00-09:00\";"),
	  "setting 'rules[0].hours'" },
	{ "rule tz", ROLE KEY("") RULE("timezone = \"Europe/Berlin\";"),
	  "setting 'rules[0].timezone': must be \"UTC\" or a fixed offset" },
	{ "rule quota count", ROLE KEY("") RULE("quota = { count = 0; period = \"1d\"; };"),
	  "setting 'rules[0].quota.count': must be between" },
	{ "rule quota period", ROLE KEY("") RULE("quota = { count = 1; period = \"1 day\"; };"),
	  "setting 'rules[0].quota.period': must be a duration" },
	{ "rule quota per",
	  ROLE KEY("") RULE("quota = { count = 1; period = \"1d\"; per = \"user\"; };"),
	  "setting 'rules[0].quota.per'" },
	{ "rule quota missing", ROLE KEY("") RULE("quota = { period = \"1d\"; };"),
	  "setting 'rules[0].quota.count': required setting missing" },
	{ "rule quota unknown",
	  ROLE KEY("") RULE("quota = { count = 1; period = \"1d\"; burst = 2; };"),
	  "setting 'rules[0].quota.burst': unknown setting" },
	{ "rule age", ROLE KEY("") RULE("max_ticket_age = \"0s\";"),
	  "setting 'rules[0].max_ticket_age': must be a duration" },
	{ "rule ticket contradiction",
	  ROLE KEY("") RULE("checks = [ \"a\" ]; require_ticket = false;"),
	  "setting 'rules[0].require_ticket'" },
	{ "rule ticket no validators", ROLE KEY("") RULE("checks = [ \"a\" ];"),
	  "setting 'rules[0]': rule requires a validation ticket, but no validators" },
	{ "rule unknown", ROLE KEY("") RULE("weekday = 1;"),
	  "setting 'rules[0].weekday': unknown setting" },
/* decrypt, unwrap, derive: capabilities of their own (issue 12) */
#define RKEY(extra)                                                                                  \
	"keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"RSA-PKCS\" ]; " extra \
	" } );\n"
	{ "key decrypt not group", ROLE RKEY("decrypt = [ \"RSA-PKCS\" ];"),
	  "t.conf:3: setting 'keys[0].decrypt': must be a group" },
	{ "key decrypt no mechs", ROLE RKEY("decrypt = { };"),
	  "setting 'keys[0].decrypt.mechanisms': required setting missing" },
	{ "key decrypt empty", ROLE RKEY("decrypt = { mechanisms = [ ]; };"),
	  "setting 'keys[0].decrypt.mechanisms': empty" },
	{ "key decrypt unknown member",
	  ROLE RKEY("decrypt = { mechanisms = [ \"RSA-PKCS\" ]; hashes = [ \"SHA256\" ]; };"),
	  "setting 'keys[0].decrypt.hashes': unknown setting" },
	{ "key decrypt signing mech",
	  ROLE RKEY("decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\", \"SHA256-RSA-PKCS\" ]; };"),
	  "t.conf:3: setting 'keys[0].decrypt.mechanisms[1]': mechanism SHA256-RSA-PKCS cannot decrypt (RSA-PKCS, RSA-X-509, RSA-PKCS-OAEP can)" },
	{ "key decrypt unknown mech", ROLE RKEY("decrypt = { mechanisms = [ \"AES-CBC\" ]; };"),
	  "setting 'keys[0].decrypt.mechanisms[0]': unknown mechanism 'AES-CBC'" },
	{ "key derive rsa mech", ROLE RKEY("derive = { mechanisms = [ \"RSA-PKCS\" ]; };"),
	  "setting 'keys[0].derive.mechanisms[0]': mechanism RSA-PKCS cannot derive (ECDH1-DERIVE, ECDH1-COFACTOR-DERIVE can)" },
	{ "key unwrap ecdh", ROLE RKEY("unwrap = { mechanisms = [ \"ECDH1-DERIVE\" ]; };"),
	  "setting 'keys[0].unwrap.mechanisms[0]': mechanism ECDH1-DERIVE cannot unwrap" },
	{ "key signing with oaep",
	  ROLE
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"RSA-PKCS-OAEP\" ]; } );\n",
	  "setting 'keys[0].mechanisms[0]': mechanism RSA-PKCS-OAEP does not sign" },
	{ "key signing with ecdh",
	  ROLE
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\", \"ECDH1-DERIVE\" ]; } );\n",
	  "setting 'keys[0].mechanisms[1]': mechanism ECDH1-DERIVE does not sign" },
	{ "key raw decrypt on signing key",
	  ROLE RKEY("decrypt = { mechanisms = [ \"RSA-X-509\" ]; };"),
	  "t.conf:3: setting 'keys[0].decrypt': RSA-X-509 decrypt is a raw RSA signature" },
	{ "key raw unwrap on signing key",
	  ROLE RKEY("unwrap = { mechanisms = [ \"RSA-X-509\" ]; };"),
	  "setting 'keys[0].unwrap': RSA-X-509 unwrap is a raw RSA signature" },
	{ "key use only, mechanisms empty",
	  ROLE "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ ];\n"
	       " decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\" ]; }; } );\n",
	  "setting 'keys[0].mechanisms': empty: list the signing mechanisms, or omit 'mechanisms'" },
	{ "rule decrypt type", ROLE RKEY("") RULE("decrypt = \"yes\";"),
	  "setting 'rules[0].decrypt': must be true or false" },
	{ "rule decrypt, key cannot", ROLE RKEY("") RULE("decrypt = true;"),
	  "t.conf:4: setting 'rules[0].decrypt': no key of this rule allows decrypt" },
	{ "rule unwrap, key only decrypts",
	  ROLE RKEY("decrypt = { mechanisms = [ \"RSA-PKCS\" ]; };") RULE("unwrap = true;"),
	  "setting 'rules[0].unwrap': no key of this rule allows unwrap" },
	{ "rule all_keys derive, no key can",
	  ROLE RKEY(
	          "") "rules = ( { name = \"x\"; roles = [ \"r\" ]; all_keys = true; derive = true; } );\n",
	  "setting 'rules[0].derive': no key of this rule allows derive" },
	{ "rule nothing of five",
	  ROLE RKEY("") RULE("sign = false; decrypt = false; unwrap = false; derive = false;"),
	  "setting 'rules[0]': rule grants nothing: sign, admin, decrypt, unwrap and derive are all false" },
	/* the loader's shared stanzas (a list of groups, a name, a path, one
	 * of some words, a duration, a required count): whole messages */
	{ "mode words", "mode = \"daemon\";\n",
	  "t.conf:2: setting 'mode': must be \"in-process\", \"broker\" or \"auto\"" },
	{ "audit format words", "audit = { format = \"xml\"; };\n",
	  "t.conf:2: setting 'audit.format': must be \"json\", \"cef\" or \"logfmt\"" },
	{ "state store words", "state = { store = \"redis\"; };\n",
	  "t.conf:2: setting 'state.store': must be \"files\" or \"postgresql\"" },
	{ "quota per words",
	  ROLE KEY("") RULE("quota = { count = 1; period = \"1d\"; per = \"user\"; };"),
	  "t.conf:4: setting 'rules[0].quota.per': must be \"caller\" or \"rule\"" },
	{ "quota period duration", ROLE KEY("") RULE("quota = { count = 1; period = \"1 day\"; };"),
	  "t.conf:4: setting 'rules[0].quota.period': must be a duration such as \"30s\", \"15m\", \"1h\", \"1d\", \"7d\"" },
	{ "quota period missing", ROLE KEY("") RULE("quota = { count = 1; };"),
	  "t.conf:4: setting 'rules[0].quota.period': required setting missing" },
	{ "ticket age duration", ROLE KEY("") RULE("max_ticket_age = \"1y\";"),
	  "t.conf:4: setting 'rules[0].max_ticket_age': must be a duration such as \"30s\", \"15m\", \"1h\", \"1d\"" },
	{ "approvals count missing", ROLE KEY("") RULE("approvals = { from = [ \"g\" ]; };"),
	  "t.conf:4: setting 'rules[0].approvals.count': required setting missing" },
	{ "approvals not group", ROLE KEY("") RULE("approvals = 2;"),
	  "t.conf:4: setting 'rules[0].approvals': must be a group { ... }" },
	{ "validators not list", "validators = { name = \"v\"; };\n",
	  "t.conf:2: setting 'validators': must be a list ( { ... }, ... )" },
	{ "idps not list", "identity_providers = 1;\n",
	  "t.conf:2: setting 'identity_providers': must be a list ( { ... }, ... )" },
	{ "approver groups not list", "approver_groups = \"g\";\n",
	  "t.conf:2: setting 'approver_groups': must be a list ( { ... }, ... )" },
	{ "key not group", "keys = ( 1 );\n",
	  "t.conf:2: setting 'keys[0]': must be a group { ... }" },
	{ "validator unknown", "validators = ( { name = \"v\"; key = \"/k\"; } );\n",
	  "t.conf:2: setting 'validators[0].key': unknown setting" },
	{ "validator name", "validators = ( { name = \"a b\"; public_key = \"/k\"; } );\n",
	  "t.conf:2: setting 'validators[0].name': must be printable, without spaces, quotes or backslashes" },
	{ "validator no name", "validators = ( { public_key = \"/k\"; } );\n",
	  "t.conf:2: setting 'validators[0].name': required setting missing" },
	{ "validator key relative", "validators = ( { name = \"v\"; public_key = \"k.pem\"; } );\n",
	  "t.conf:2: setting 'validators[0].public_key': must be an absolute path" },
	{ "pin_file relative", "!backend = { module = \"/m\"; pin_file = \"pin\"; };\n",
	  "t.conf:1: setting 'backend.pin_file': must be an absolute path" },
	{ "state dir relative", "state = { dir = \"var\"; };\n",
	  "t.conf:2: setting 'state.dir': must be an absolute path" },
	{ "mac_key relative", "audit = { journal = \"/j\"; mac_key = \"k\"; };\n",
	  "t.conf:2: setting 'audit.mac_key': must be an absolute path" },
	{ "role twice",
	  "roles = ( { name = \"r\"; users = [ 0 ]; },\n { name = \"r\"; users = [ 1 ]; } );\n",
	  "t.conf:3: setting 'roles[1].name': duplicate role name 'r' (first at line 2)" },
	{ "key twice",
	  ROLE
	  "keys = ( { name = \"k\"; token = \"t\"; id = \"01\"; mechanisms = [ \"ECDSA\" ]; },\n"
	  " { name = \"k\"; token = \"t\"; id = \"02\"; mechanisms = [ \"ECDSA\" ]; } );\n",
	  "t.conf:4: setting 'keys[1].name': duplicate key name 'k' (first at line 3)" },
	{ "rule twice",
	  ROLE KEY("") "rules = ( { name = \"x\"; roles = [ \"r\" ]; keys = [ \"k\" ]; },\n"
	               " { name = \"x\"; roles = [ \"r\" ]; keys = [ \"k\" ]; } );\n",
	  "t.conf:5: setting 'rules[1].name': duplicate rule name 'x' (first at line 4)" },
	{ "nul byte", "state_dir = \"/a\";\n", NULL }, /* handled in its own test */
};

static void run_bad(const bad_t *b)
{
	char text[4096], err[CONFIG_ERR_MAX];
	if (b->text[0] == '!')
		snprintf(text, sizeof text, "%s", b->text + 1);
	else
		snprintf(text, sizeof text, BACKEND "%s", b->text);
	config_t *c = load(text, err);
	if (c) {
		config_free(c);
		fail_msg("%s: accepted", b->what);
	}
	if (!strstr(err, b->expect))
		fail_msg("%s: message \"%s\" lacks \"%s\"", b->what, err, b->expect);
	assert_true(!strncmp(err, "t.conf:", 7));
}

/* The capability model as loaded: off unless both the key's group and
 * the rule say so; a key that only decrypts needs no signing mechanism. */
static void test_key_uses(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX];
	config_t *c = load(
	        BACKEND ROLE
	        "keys = (\n"
	        " { name = \"sig\"; token = \"t\"; id = \"01\"; mechanisms = [ \"RSA-PKCS\", \"SHA256-RSA-PKCS\" ]; },\n"
	        " { name = \"dec\"; token = \"t\"; id = \"02\";\n"
	        "   decrypt = { mechanisms = [ \"RSA-PKCS-OAEP\", \"rsa_pkcs\" ]; };\n"
	        "   unwrap = { mechanisms = [ \"CKM_RSA_PKCS_OAEP\" ]; }; },\n"
	        " { name = \"ec\"; token = \"t\"; id = \"03\"; mechanisms = [ \"ECDSA\" ];\n"
	        "   derive = { mechanisms = [ \"ECDH1-DERIVE\", \"ECDH1-COFACTOR-DERIVE\" ]; }; },\n"
	        " { name = \"raw\"; token = \"t\"; id = \"04\"; mechanisms = [ \"RSA-X-509\" ];\n"
	        "   decrypt = { mechanisms = [ \"RSA-X-509\" ]; }; }\n"
	        ");\n"
	        "rules = (\n"
	        " { name = \"s\"; roles = [ \"r\" ]; keys = [ \"sig\" ]; },\n"
	        " { name = \"d\"; roles = [ \"r\" ]; keys = [ \"dec\", \"sig\" ]; sign = false; decrypt = true; unwrap = true; },\n"
	        " { name = \"e\"; roles = [ \"r\" ]; all_keys = true; sign = false; derive = true; }\n"
	        ");\n",
	        err);
	if (!c)
		fail_msg("%s", err);
	const policy_key_t *sig = policy_key_by_name(c, "sig"), *dec = policy_key_by_name(c, "dec"),
	                   *ec = policy_key_by_name(c, "ec"), *raw = policy_key_by_name(c, "raw");
	/* signing mechanisms grant nothing else */
	assert_int_equal(sig->decrypt_mechs | sig->unwrap_mechs | sig->derive_mechs, 0);
	assert_int_equal(dec->mech_allowed, 0);
	assert_int_equal(dec->decrypt_mechs, 1ull << MECH_RSA_PKCS_OAEP | 1ull << MECH_RSA_PKCS);
	assert_int_equal(dec->unwrap_mechs, 1ull << MECH_RSA_PKCS_OAEP);
	assert_int_equal(dec->derive_mechs, 0);
	assert_int_equal(ec->derive_mechs,
	                 1ull << MECH_ECDH1_DERIVE | 1ull << MECH_ECDH1_COFACTOR_DERIVE);
	assert_int_equal(raw->decrypt_mechs, 1ull << MECH_RSA_X_509);
	const policy_rule_t *s = policy_rule_by_name(c, "s"), *d = policy_rule_by_name(c, "d"),
	                    *e = policy_rule_by_name(c, "e");
	assert_true(s->sign);
	assert_false(s->decrypt || s->unwrap || s->derive || s->admin);
	assert_true(d->decrypt && d->unwrap);
	assert_false(d->sign || d->derive);
	assert_true(e->derive);
	assert_false(e->decrypt || e->unwrap);
	config_free(c);
}

static void test_bad_configs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++)
		if (bads[i].expect)
			run_bad(&bads[i]);
}

static void test_validators(void **state)
{
	(void)state;
	char text[1024], err[CONFIG_ERR_MAX];
	snprintf(text, sizeof text,
	         BACKEND "validators = ( { name = \"v\"; public_key = \"%s\"; } );\n", rsa_pub);
	assert_null(load(text, err));
	assert_non_null(strstr(err, "t.conf:2: setting 'validators[0].public_key'"));
	assert_non_null(strstr(err, "only Ed25519 and EC P-256"));

	snprintf(text, sizeof text,
	         BACKEND "validators = ( { name = \"v\"; public_key = \"%s/none.pem\"; } );\n",
	         tmpdir);
	assert_null(load(text, err));
	assert_non_null(strstr(err, "t.conf:2: setting 'validators[0].public_key': cannot read"));

	snprintf(text, sizeof text,
	         BACKEND "validators = ( { name = \"v\"; public_key = \"/dev/zero\"; } );\n");
	assert_null(load(text, err));
	assert_non_null(strstr(err, "not a regular file"));

	snprintf(text, sizeof text,
	         BACKEND "validators = ( { name = \"v\"; public_key = \"%s\"; },\n"
	                 "{ name = \"v\"; public_key = \"%s\"; } );\n",
	         ed_pub, ed_pub);
	assert_null(load(text, err));
	assert_non_null(strstr(
	        err, "t.conf:3: setting 'validators[1].name': duplicate validator name 'v'"));

	snprintf(text, sizeof text,
	         BACKEND "validators = ( { name = \"v\"; public_key = \"%s\"; } );\n"
	                 "roles = ( { name = \"r\"; users = [ 0 ]; } );\n" KEY("")
	                         RULE("checks = [ \"unit\" ];"),
	         ed_pub);
	config_t *c = load(text, err);
	if (!c)
		fail_msg("%s", err);
	assert_true(c->rules[0].require_ticket);
	config_free(c);
}

static void test_nul_byte(void **state)
{
	(void)state;
	char path[128], err[CONFIG_ERR_MAX];
	snprintf(path, sizeof path, "%s/nul.conf", tmpdir);
	FILE *f = fopen(path, "w");
	fwrite(BACKEND "\n\0x", 1, sizeof(BACKEND) + 2, f);
	fclose(f);
	chmod(path, 0600);
	assert_null(config_load(path, true, err, sizeof err));
	assert_non_null(strstr(err, "nul.conf:3: NUL byte"));
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_file_checks(void **state)
{
	(void)state;
	char path[128], err[CONFIG_ERR_MAX];
	snprintf(path, sizeof path, "%s/a.conf", tmpdir);
	write_file(path, BACKEND, 0600);
	config_t *c = config_load(path, true, err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	assert_string_equal(c->path, path);
	/* sha256 of the bytes */
	unsigned char md[32];
	unsigned int mdlen;
	EVP_Digest(BACKEND, strlen(BACKEND), md, &mdlen, EVP_sha256(), NULL);
	assert_memory_equal(c->sha256, md, 32);
	assert_false(config_changed(c));
	write_file(path, BACKEND "mode = \"auto\";\n", 0600);
	assert_true(config_changed(c));
	config_free(c);
	/* same size, same second: still a change */
	write_file(path, BACKEND "state_dir = \"/aaaa\";\n", 0600);
	c = config_load(path, true, err, sizeof err);
	assert_non_null(c);
	assert_false(config_changed(c));
	write_file(path, BACKEND "state_dir = \"/bbbb\";\n", 0600);
	assert_true(config_changed(c));
	config_free(c);
	/* a permission change alone is seen too (the file may now be insecure) */
	c = config_load(path, true, err, sizeof err);
	assert_non_null(c);
	assert_int_equal(chmod(path, 0640), 0);
	assert_true(config_changed(c));
	config_free(c);

	write_file(path, BACKEND, 0620);
	assert_null(config_load(path, true, err, sizeof err));
	assert_non_null(strstr(err, "a.conf: insecure permissions"));
	write_file(path, BACKEND, 0602);
	assert_null(config_load(path, true, err, sizeof err));
	assert_non_null(strstr(err, "insecure permissions"));
	/* without the owner check the same file loads (signgate check) */
	c = config_load(path, false, err, sizeof err);
	assert_non_null(c);
	config_free(c);

	if (geteuid() == 0) {
		write_file(path, BACKEND, 0600);
		assert_int_equal(chown(path, 4242, 4242), 0);
		assert_null(config_load(path, true, err, sizeof err));
		assert_non_null(strstr(err, "insecure permissions: owned by uid 4242"));
	}
	assert_null(config_load(tmpdir, true, err, sizeof err));
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
	assert_null(config_load(path, true, err, sizeof err));
	assert_non_null(strstr(err, "missing.conf: cannot open"));
}

static void test_path_choose(void **state)
{
	(void)state;
	unsetenv("SIGNGATE_CONF");
	assert_string_equal(config_path_choose(NULL), CONFIG_DEFAULT_PATH);
	assert_string_equal(config_path_choose(""), CONFIG_DEFAULT_PATH);
	assert_string_equal(config_path_choose("/r.conf"), "/r.conf");
	setenv("SIGNGATE_CONF", "/e.conf", 1);
	assert_string_equal(config_path_choose("/r.conf"), "/e.conf");
	setenv("SIGNGATE_CONF", "", 1);
	assert_string_equal(config_path_choose("/r.conf"), "/r.conf");
	unsetenv("SIGNGATE_CONF");
}

static void test_parsers(void **state)
{
	(void)state;
	time_t t;
	uint32_t d;
	assert_true(config_parse_rfc3339("1970-01-01T00:00:00Z", &t));
	assert_int_equal(t, 0);
	assert_true(config_parse_rfc3339("2024-02-29T12:00:00.123+02:00", &t));
	assert_int_equal(t, 1709200800);
	assert_false(config_parse_rfc3339("2023-02-29T12:00:00Z", &t));
	assert_false(config_parse_rfc3339("2023-01-01", &t));
	assert_false(config_parse_rfc3339("2023-01-01T24:00:00Z", &t));
	assert_false(config_parse_rfc3339("2023-01-01T00:00:00Zx", &t));
	assert_true(config_parse_duration("30s", &d) && d == 30);
	assert_true(config_parse_duration("15m", &d) && d == 900);
	assert_true(config_parse_duration("1h", &d) && d == 3600);
	assert_true(config_parse_duration("7d", &d) && d == 7 * 86400);
	assert_false(config_parse_duration("0s", &d));
	assert_false(config_parse_duration("1", &d));
	assert_false(config_parse_duration("h", &d));
	assert_false(config_parse_duration("-1h", &d));
	assert_false(config_parse_duration("99999999999d", &d));
}

/* ---- values that load but could never match (issue 12, defect 8) ------- */

#define KEYTOK(tok, extra)                                            \
	"keys = ( { name = \"p\"; token = \"" tok "\"; id = \"25\"; " \
	"mechanisms = [ \"EDDSA\" ]; " extra " } );\n"

static const bad_t never_match[] = {
	/* the config fuzz target's crash: a blank token was accepted, then never found */
	{ "key token blank", KEYTOK(" ", ""), "t.conf:2: setting 'keys[0].token': blank" },
	{ "key token spaces", KEYTOK("   ", ""), "setting 'keys[0].token': blank" },
	{ "key token trailing space", KEYTOK("hsm ", ""),
	  "setting 'keys[0].token': ends in a space, which no token label or serial can" },
	{ "key token trailing spaces named", KEYTOK("my hsm  ", ""), "write \"my hsm\"" },
	{ "key token empty", KEYTOK("", ""),
	  "setting 'keys[0].token': token label or serial must be 1 to 32" },
	{ "key token too long", KEYTOK("123456789012345678901234567890123", ""),
	  "setting 'keys[0].token': token label or serial must be 1 to 32" },
	{ "backend token blank",
	  "!backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; tokens = [ \"a\", \" \" ]; };\n",
	  "t.conf:1: setting 'backend.tokens[1]': blank" },
	{ "backend token trailing space",
	  "!backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; tokens = [ \"a \" ]; };\n",
	  "setting 'backend.tokens[0]': ends in a space" },
	{ "key label empty", KEYTOK("t", "label = \"\";"),
	  "setting 'keys[0].label': CKA_LABEL must be 1 to 128 bytes" },
	{ "key label too long",
	  KEYTOK("t", "label = \""
	              "0123456789012345678901234567890123456789012345678901234567890123"
	              "01234567890123456789012345678901234567890123456789012345678901234\";"),
	  "setting 'keys[0].label': CKA_LABEL must be 1 to 128 bytes" },
};

static void test_never_match(void **state)
{
	(void)state;
	char err[CONFIG_ERR_MAX];
	for (size_t i = 0; i < sizeof never_match / sizeof never_match[0]; i++)
		run_bad(&never_match[i]);
	/* what stays accepted: a leading space, 32 characters, a 128-byte label,
	 * a label ending in a space (CKA_LABEL is not padded) */
	config_t *c = load(BACKEND KEYTOK(" hsm", "label = \"a \";"), err);
	if (!c)
		fail_msg("%s", err);
	config_free(c);
	c = load(BACKEND KEYTOK(
	                 "12345678901234567890123456789012",
	                 "label = \""
	                 "0123456789012345678901234567890123456789012345678901234567890123"
	                 "0123456789012345678901234567890123456789012345678901234567890123\";"),
	         err);
	if (!c)
		fail_msg("%s", err);
	config_free(c);
}

/* Validator keys get the config's owner and mode checks when the config
 * does (the module always; signgate check only with --strict). */
static void test_validator_key_files(void **state)
{
	(void)state;
	char conf[128], pub[128], text[1024], err[CONFIG_ERR_MAX];
	snprintf(conf, sizeof conf, "%s/v.conf", tmpdir);
	snprintf(pub, sizeof pub, "%s/v.pub", tmpdir);
	char cmd[400];
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", ed_pub, pub);
	assert_int_equal(system(cmd), 0);
	snprintf(text, sizeof text,
	         BACKEND "validators = ( { name = \"v\"; public_key = \"%s\"; } );\n", pub);
	write_file(conf, text, 0600);

	assert_int_equal(chmod(pub, 0644), 0);
	config_t *c = config_load(conf, true, err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	config_free(c);

	assert_int_equal(chmod(pub, 0664), 0);
	assert_null(config_load(conf, true, err, sizeof err));
	assert_non_null(strstr(err, "v.conf:2: setting 'validators[0].public_key'"));
	assert_non_null(strstr(err, pub));
	assert_non_null(strstr(err, "insecure permissions 0664: group- or world-writable"));
	assert_int_equal(chmod(pub, 0646), 0);
	assert_null(config_load(conf, true, err, sizeof err));
	assert_non_null(strstr(err, "insecure permissions 0646"));
	/* signgate check without --strict: the same file loads */
	c = config_load(conf, false, err, sizeof err);
	if (!c)
		fail_msg("%s", err);
	config_free(c);
	assert_int_equal(chmod(pub, 0644), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(pub, 4242, 4242), 0);
		assert_null(config_load(conf, true, err, sizeof err));
		assert_non_null(strstr(err, "insecure permissions: owned by uid 4242"));
		assert_int_equal(chown(pub, 0, 0), 0);
	}
	/* a FIFO named as the key: refused at once, not waited on */
	unlink(pub);
	assert_int_equal(mkfifo(pub, 0644), 0);
	assert_null(config_load(conf, true, err, sizeof err));
	assert_non_null(strstr(err, "not a regular file"));
	unlink(pub);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal_defaults),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_bad_configs),
		cmocka_unit_test(test_key_uses),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_file_checks),
		cmocka_unit_test(test_path_choose),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_never_match),
		cmocka_unit_test(test_validator_key_files),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

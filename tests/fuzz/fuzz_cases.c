/* libFuzzer target: the `signgate test` cases file (tools/cmd_test.c).
 *
 * libconfig parses; the interpretation is ours: callers, ticket claims,
 * hex digests, object references, runtime state.  The input is a cases
 * file's text, run against a fixed policy that has every kind of rule
 * (ticket checks, window, quota, credential).  Whatever the text, the
 * runner must answer (a result or a FILE:LINE error), never crash.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "test_cases.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A credential of 1000 iterations (the minimum) keeps runs fast. */
static const char policy_text[] =
        "backend = { module = \"/usr/lib/softhsm/libsofthsm2.so\"; };\n"
        "roles = ( { name = \"release\"; users = ( \"ci-alice\", 4242 ); },\n"
        "  { name = \"office\"; groups = [ 4243 ]; programs = [ \"/usr/bin/true\" ]; },\n"
        "  { name = \"ops\"; users = [ 4244 ]; credential = "
        "\"pbkdf2-sha256$1000$VAL3W3+TC5IjAXqElWdrVw==$So5u7JJE/0JSfpRAkKNJHUEtEtKU2Ry4O9adTcJ9wc4=\"; } );\n"
        "keys = ( { name = \"app-rsa\"; token = \"prod\"; id = \"01\"; products = [ \"app\" ];\n"
        "    fingerprint = \"sha256:1111111111111111111111111111111111111111111111111111111111111111\";\n"
        "    mechanisms = [ \"RSA-PKCS\", \"SHA256-RSA-PKCS\", \"ECDSA\", \"RSA-PKCS-PSS\" ]; },\n"
        "  { name = \"old\"; token = \"prod\"; label = \"old\"; mechanisms = [ \"ECDSA\" ]; revoked = true; } );\n"
        "rules = ( { name = \"office-hours\"; roles = [ \"office\", \"release\" ]; keys = [ \"app-rsa\", \"old\" ];\n"
        "    days = [ \"Mon\", \"Fri\" ]; hours = \"22:00-06:00\"; timezone = \"+01:00\";\n"
        "    quota = { count = 3; period = \"1h\"; }; },\n"
        "  { name = \"ops-admin\"; roles = [ \"ops\" ]; all_keys = true; sign = false; admin = true; } );\n";

static config_t *cfg;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!cfg) {
		char err[CONFIG_ERR_MAX];
		cfg = config_load_string(policy_text, "fuzz-policy.conf", err, sizeof err);
		if (!cfg) {
			fprintf(stderr, "%s\n", err);
			abort();
		}
		/* the runner prints a line per failing case */
		if (!freopen("/dev/null", "w", stdout))
			abort();
	}
	if (size > 64 * 1024)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	size_t passed = 0, failed = 0;
	(void)test_cases_run_text(cfg, "fuzz.cases", text, &passed, &failed);
	free(text);
	return 0;
}

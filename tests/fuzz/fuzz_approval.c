/* libFuzzer target: approvals (SSHSIG) and bundles.
 *
 * The input is what a caller controls: a bundle given as the PIN or in
 * SIGNGATE_BUNDLE, or one approval.  A fixed config trusts two approvers
 * (an ssh-ed25519 key line and an EC P-256 PEM key, whose private halves
 * signed the seeds in corpus/approval/ and were then thrown away); "now"
 * is inside the seeds' validity, so that mutations of a good approval run
 * through every stage: bundle fields, base64url, statement lines, armor,
 * the SSHSIG blob, key match and signature.  The input is also tried as
 * an SSH public key line (the config's approvers), and every verified set
 * is counted by policy_approvals_count().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "approval.h"
#include "config.h"
#include "policy.h"

#define FUZZ_NOW ((time_t)1800000060)

static const char ssh_pub[] =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFtocEkIIC6Ng246kCwSldursT1DXkbLFC/WDI7NWrvq fuzz";
static const char ec_pub[] = "-----BEGIN PUBLIC KEY-----\n"
                             "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAElV1Ph1K67hHWLpvwHj2Tqf4IJX1R\n"
                             "P2seWK0Kzq7XLhLetrvLh2jiap/6pKT7X8Ra+74inJod6v48ciJN0OKINw==\n"
                             "-----END PUBLIC KEY-----\n";

static config_approver_key_t keys[2];
static config_approver_t approvers[2];
static size_t members[2] = { 0, 1 };
static config_approver_group_t groups[1];
static size_t from[1] = { 0 };
static policy_rule_t rule;
static config_t cfg;
static caller_t caller = { .known = true, .user = "nobody" };

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (!approval_ssh_key_parse(ssh_pub, &keys[0], NULL, 0) ||
	    !approval_pem_key_parse(ec_pub, sizeof ec_pub - 1, &keys[1], NULL, 0))
		abort();
	approvers[0] = (config_approver_t){ .name = "fuzz-ssh", .keys = &keys[0], .n_keys = 1 };
	approvers[1] = (config_approver_t){ .name = "fuzz-ec", .keys = &keys[1], .n_keys = 1 };
	groups[0] = (config_approver_group_t){ .name = "g", .members = members, .n_members = 2 };
	rule = (policy_rule_t){ .name = "r",
		                .approvals_count = 2,
		                .approvals_from = from,
		                .n_approvals_from = 1,
		                .approvals_max_age_s = 86400 };
	cfg.approvers = approvers;
	cfg.n_approvers = 2;
	cfg.approver_groups = groups;
	cfg.n_approver_groups = 1;
	return 0;
}

static approval_t verified[BUNDLE_MAX_APPROVALS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	char detail[200];
	bundle_t b;
	size_t n = 0;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (bundle_looks_like(s, size)) {
		if (bundle_parse(s, size, &b, detail, sizeof detail)) {
			for (size_t i = 0; i < b.n_approvals; i++)
				if (approval_verify(&cfg, b.approvals[i], b.approval_len[i],
				                    FUZZ_NOW, &verified[n], detail,
				                    sizeof detail) == APPROVAL_OK)
					n++;
			bundle_free(&b);
		}
	} else {
		if (approval_verify(&cfg, s, size, FUZZ_NOW, &verified[0], detail, sizeof detail) ==
		    APPROVAL_OK)
			n = 1;
		config_approver_key_t k;
		if (size < 4096 && !memchr(s, '\0', size) &&
		    approval_ssh_key_parse(s, &k, detail, sizeof detail))
			EVP_PKEY_free(k.pkey);
	}
	unsigned char art[32] = { 0 };
	art[31] = 1;
	policy_request_t req = { .caller = &caller,
		                 .now = FUZZ_NOW,
		                 .approvals = verified,
		                 .n_approvals = n,
		                 .artifact = art };
	char names[160];
	(void)policy_approvals_count(&cfg, &rule, &req, names, sizeof names);
	free(s);
	return 0;
}

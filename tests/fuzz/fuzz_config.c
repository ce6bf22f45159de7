/* libFuzzer target: the config loader and the engine over what it loaded.
 *
 * The input is a config file's text.  Whatever loads is then used: keys
 * are looked up by their own token/ID/label and decided on for a fixed
 * caller, so that a config the loader accepts can never make the engine
 * read out of bounds.  Loading never touches the file system except for
 * validators' public keys (regular files only) and the user database.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256 * 1024)
		return 0;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	char err[CONFIG_ERR_MAX];
	config_t *cfg = config_load_string(text, "fuzz.conf", err, sizeof err);
	free(text);
	if (!cfg) {
		/* every refusal names the file */
		if (strncmp(err, "fuzz.conf", 9) != 0)
			abort();
		return 0;
	}
	caller_t c;
	memset(&c, 0, sizeof c);
	c.known = true;
	c.uid = 1001;
	c.gid = 1001;
	c.n_groups = 1;
	c.groups[0] = 1001;
	ticket_claims_t t;
	memset(&t, 0, sizeof t);
	strcpy(t.product, "app");
	t.n_checks = 1;
	strcpy(t.checks[0].name, "unit");
	t.checks[0].pass = true;
	for (size_t i = 0; i < cfg->n_keys && i < 64; i++) {
		const policy_key_t *k = &cfg->keys[i];
		policy_key_ref_t ref = { .token_label = k->token,
			                 .id = k->has_id ? k->id : NULL,
			                 .id_len = k->id_len,
			                 .label = k->label,
			                 .has_fingerprint = k->has_fingerprint };
		memcpy(ref.fingerprint, k->fingerprint, 32);
		policy_reason_t why;
		const policy_key_t *found = policy_key_lookup(cfg, &ref, &why);
		if (!found)
			abort(); /* a key must find itself */
		for (int m = 0; m < MECH_COUNT; m += 3) {
			policy_request_t req = { .action = (policy_action_t)(m & 1),
				                 .caller = &c,
				                 .key = found,
				                 .mech = (mech_id_t)m,
				                 .hash = (hash_alg_t)(m % HASH_COUNT),
				                 .now = 1780480800 + m * 7200,
				                 .ticket = (m & 2) ? &t : NULL };
			policy_decision_t d;
			policy_decide(cfg, &req, &d);
			if (d.allow && !d.rule)
				abort();
		}
		/* decrypt, unwrap, derive: allowed only when the rule grants the
		 * use and the key lists the mechanism for it, never through a
		 * signing mechanism */
		for (int m = 0; m < MECH_COUNT; m++) {
			for (int a = POLICY_ACTION_DECRYPT; a <= POLICY_ACTION_DERIVE; a++) {
				policy_request_t req = { .action = (policy_action_t)a,
					                 .caller = &c,
					                 .key = found,
					                 .mech = (mech_id_t)m,
					                 .now = 1780480800 + m * 3600,
					                 .ticket = (m & 1) ? &t : NULL };
				policy_decision_t d;
				policy_decide(cfg, &req, &d);
				if (!d.allow)
					continue;
				if (!d.rule)
					abort();
				uint64_t km = a == POLICY_ACTION_DECRYPT  ? found->decrypt_mechs
				              : a == POLICY_ACTION_UNWRAP ? found->unwrap_mechs
				                                          : found->derive_mechs;
				bool granted = a == POLICY_ACTION_DECRYPT  ? d.rule->decrypt
				               : a == POLICY_ACTION_UNWRAP ? d.rule->unwrap
				                                           : d.rule->derive;
				if (!granted || !((km >> m) & 1u))
					abort();
			}
		}
	}
	policy_request_t adm = { .action = POLICY_ACTION_ADMIN, .caller = &c, .now = 1780480800 };
	policy_decision_t d;
	policy_decide(cfg, &adm, &d);
	config_free(cfg);
	return 0;
}

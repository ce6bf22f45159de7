/* signgate explain: would this caller be allowed, and why?
 *
 * Runs the module's own engine (policy_decide) on a caller made from
 * names, so that what it prints is what the module would decide.
 * Quotas and ticket signatures are not evaluated here: the quota is
 * shown, and tickets are simulated from --product / --check.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "caller.h"
#include "identify.h"
#include "approval.h"
#include "commands.h"
#include "config.h"
#include "policy.h"

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate explain --config C --user U [--group G]... [--program P]\n"
	        "                        --key K [--mechanism M] [--hash H]\n"
	        "                        [--action sign|admin|decrypt|unwrap|derive]\n"
	        "                        [--at TIME] [--product P] [--check NAME[=RESULT]]...\n"
	        "                        [--ticket-age DURATION] [--login-role ROLE]\n"
	        "                        [--approval FILE]...\n"
	        "                        [--id-token TOKEN|@FILE]\n"
	        "  --key K         a governed key's name (\"-\" with --action admin: no key)\n"
	        "  --mechanism M   e.g. SHA256-RSA-PKCS, RSA-PKCS, ECDSA (required for sign);\n"
	        "                  RSA-PKCS-OAEP, RSA-PKCS, ECDH1-DERIVE ... (required for\n"
	        "                  decrypt, unwrap and derive)\n"
	        "  --hash H        hash the data is made with (default: the mechanism's own;\n"
	        "                  for RSA-PKCS/PSS/ECDSA the module checks it on the data)\n"
	        "  --at TIME       RFC 3339 time of the decision (default: now)\n"
	        "  --product P     simulate a validation ticket for product P\n"
	        "  --check N[=R]   a check in the simulated ticket (result R, default pass)\n"
	        "  --ticket-age D  age of the simulated ticket (default 0s)\n"
	        "  --approval F    an approval (signgate approve), verified and counted; the\n"
	        "                  simulated ticket takes the first one's run and ticket id\n"
	        "  --login-role R  the caller proved role R's credential at login\n"
	        "  --id-token T    a CI identity token presented (verified with the config's\n"
	        "                  identity_providers at --at; not counted against max_uses)\n"
	        "Exit status: 0 allow, 1 deny, 2 usage or config error.\n");
}

#define MAX_GROUPS 64

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },  { "user", required_argument, NULL, 'u' },
		{ "group", required_argument, NULL, 'g' },   { "program", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },     { "mechanism", required_argument, NULL, 'm' },
		{ "hash", required_argument, NULL, 'H' },    { "at", required_argument, NULL, 't' },
		{ "approval", required_argument, NULL, 'V' },
		{ "product", required_argument, NULL, 'P' }, { "check", required_argument, NULL, 'C' },
		{ "action", required_argument, NULL, 'a' },  { "ticket-age", required_argument, NULL, 'A' },
		{ "login-role", required_argument, NULL, 'L' }, { "help", no_argument, NULL, 'h' },
		{ "id-token", required_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *user = NULL, *program = NULL, *key = NULL, *mech_s = NULL;
	const char *hash_s = NULL, *at = NULL, *product = NULL, *action_s = "sign", *age_s = NULL;
	const char *login_role_s = NULL, *idtoken_s = NULL;
	static idtoken_claims_t idt;
	const char *groups[MAX_GROUPS];
	size_t n_groups = 0;
	static ticket_claims_t ticket;
	bool have_ticket = false;
	const char *approval_files[BUNDLE_MAX_APPROVALS];
	size_t n_approval_files = 0;
	static approval_t approvals[BUNDLE_MAX_APPROVALS];
	int c;

	memset(&ticket, 0, sizeof ticket);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'u': user = optarg; break;
		case 'g':
			if (n_groups == MAX_GROUPS) {
				fprintf(stderr, "signgate explain: too many --group\n");
				return 2;
			}
			groups[n_groups++] = optarg;
			break;
		case 'p': program = optarg; break;
		case 'k': key = optarg; break;
		case 'm': mech_s = optarg; break;
		case 'H': hash_s = optarg; break;
		case 't': at = optarg; break;
		case 'P': product = optarg; have_ticket = true; break;
		case 'A': age_s = optarg; have_ticket = true; break;
		case 'a': action_s = optarg; break;
		case 'L': login_role_s = optarg; break;
		case 'V':
			if (n_approval_files == BUNDLE_MAX_APPROVALS) {
				fprintf(stderr, "signgate explain: too many --approval\n");
				return 2;
			}
			approval_files[n_approval_files++] = optarg;
			break;
		case 'I': idtoken_s = optarg; break;
		case 'C': {
			if (ticket.n_checks == TICKET_MAX_CHECKS) {
				fprintf(stderr, "signgate explain: too many --check\n");
				return 2;
			}
			ticket_check_t *tc = &ticket.checks[ticket.n_checks++];
			const char *eq = strchr(optarg, '=');
			size_t nl = eq ? (size_t)(eq - optarg) : strlen(optarg);
			snprintf(tc->name, sizeof tc->name, "%.*s", (int)nl, optarg);
			snprintf(tc->result, sizeof tc->result, "%s", eq ? eq + 1 : "pass");
			tc->pass = !strcmp(tc->result, "pass");
			have_ticket = true;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !conf || !user || !key) {
		usage(stderr);
		return 2;
	}
	policy_request_t req = { 0 };
	req.action = POLICY_ACTION_COUNT;
	for (int a = 0; a < POLICY_ACTION_COUNT; a++)
		if (!strcmp(action_s, policy_action_name((policy_action_t)a)))
			req.action = (policy_action_t)a;
	if (req.action == POLICY_ACTION_COUNT) {
		fprintf(stderr, "signgate explain: --action must be sign, admin, decrypt, unwrap or derive\n");
		return 2;
	}
	/* decrypt, unwrap, derive: a mechanism, no hash */
	bool key_use = req.action != POLICY_ACTION_SIGN && req.action != POLICY_ACTION_ADMIN;
	req.now = time(NULL);
	if (at && !config_parse_rfc3339(at, &req.now)) {
		fprintf(stderr, "signgate explain: --at '%s' is not an RFC 3339 date-time\n", at);
		return 2;
	}
	if (key_use) {
		if (!mech_s || hash_s) {
			fprintf(stderr, "signgate explain: --action %s needs --mechanism and takes no --hash\n",
			        action_s);
			return 2;
		}
		req.mech = mech_from_name(mech_s);
		if (req.mech == MECH_UNKNOWN) {
			fprintf(stderr, "signgate explain: unknown mechanism '%s'\n", mech_s);
			return 2;
		}
	}
	if (req.action == POLICY_ACTION_SIGN) {
		if (!mech_s) {
			fprintf(stderr, "signgate explain: --mechanism is required for signing\n");
			return 2;
		}
		req.mech = mech_from_name(mech_s);
		if (req.mech == MECH_UNKNOWN) {
			fprintf(stderr, "signgate explain: unknown mechanism '%s'\n", mech_s);
			return 2;
		}
		if (hash_s) {
			req.hash = hash_from_name(hash_s);
			if (req.hash == HASH_UNKNOWN) {
				fprintf(stderr, "signgate explain: unknown hash '%s'\n", hash_s);
				return 2;
			}
		} else {
			req.hash = mech_fixed_hash(req.mech);
			req.hash_deferred = req.hash == HASH_UNKNOWN;
		}
	}

	char err[CONFIG_ERR_MAX];
	config_t *cfg = config_load(conf, false, err, sizeof err);
	if (!cfg) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int rc = 2;
	caller_t caller;
	if (caller_from_names(&caller, user, n_groups ? groups : NULL, n_groups, program) < 0) {
		fprintf(stderr, "signgate explain: user '%s' or a group is unknown on this system\n", user);
		goto out;
	}
	req.caller = &caller;
	if (strcmp(key, "-")) {
		req.key = policy_key_by_name(cfg, key);
		if (!req.key)
			printf("note: '%s' is not a key in %s: treated as an ungoverned key\n", key, conf);
	}
	if (login_role_s) {
		req.login_role = policy_role_by_name(cfg, login_role_s);
		if (!req.login_role) {
			fprintf(stderr, "signgate explain: no role '%s' in %s\n", login_role_s, conf);
			goto out;
		}
	}
	if (have_ticket) {
		uint32_t age = 0;
		if (age_s && !config_parse_duration(age_s, &age)) {
			fprintf(stderr, "signgate explain: --ticket-age '%s' is not a duration\n", age_s);
			goto out;
		}
		snprintf(ticket.issuer, sizeof ticket.issuer, "explain");
		snprintf(ticket.product, sizeof ticket.product, "%s", product ? product : "");
		ticket.iat = (int64_t)req.now - age;
		ticket.nbf = ticket.iat;
		ticket.exp = (int64_t)req.now + 3600;
		req.ticket = &ticket;
	}

	if (idtoken_s) {
		char tok[TICKET_MAX_LEN + 2], detail[256];
		size_t n = 0;
		if (idtoken_s[0] == '@') {
			FILE *f = fopen(idtoken_s + 1, "re");
			if (!f) {
				fprintf(stderr, "signgate explain: cannot read %s\n", idtoken_s + 1);
				goto out;
			}
			n = fread(tok, 1, sizeof tok - 1, f);
			fclose(f);
		} else {
			n = strnlen(idtoken_s, sizeof tok - 1);
			memcpy(tok, idtoken_s, n);
		}
		while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
			n--;
		tok[n] = '\0';
		idtoken_status_t ist = idtoken_verify(cfg, tok, n, req.now, &idt, detail, sizeof detail);
		printf("id-token:  %s (%s)\n", ist == IDTOKEN_OK ? "verified" : idtoken_status_name(ist),
		       detail);
		if (ist == IDTOKEN_OK)
			req.idtoken = &idt;
		else
			req.idtoken_status = ist;
	}

	/* --approval FILE: verified with the module's code, then counted */
	for (size_t i = 0; i < n_approval_files; i++) {
		FILE *f = fopen(approval_files[i], "re");
		char text[APPROVAL_MAX_LEN + 1], why[200];
		size_t n = f ? fread(text, 1, APPROVAL_MAX_LEN, f) : 0;
		if (f)
			fclose(f);
		text[n] = '\0';
		approval_status_t st = approval_verify(cfg, text, n, req.now, &approvals[req.n_approvals], why,
		                                       sizeof why);
		if (st != APPROVAL_OK) {
			printf("approval:  %s: %s: %s (not counted)\n", approval_files[i], approval_status_name(st), why);
			continue;
		}
		/* The simulated ticket is the one the approvals speak of. */
		if (have_ticket && req.n_approvals == 0) {
			snprintf(ticket.run, sizeof ticket.run, "%s", approvals[0].run);
			snprintf(ticket.jti, sizeof ticket.jti, "%s", approvals[0].ticket);
		}
		req.n_approvals++;
	}
	req.approvals = req.n_approvals ? approvals : NULL;

	policy_decision_t d;
	policy_decide(cfg, &req, &d);
	printf("decision:  %s\n", d.allow ? "allow" : "deny");
	printf("reason:    %s", policy_reason_name(d.reason));
	if (!d.allow)
		printf(" (CK_RV 0x%lx)", d.ckr);
	printf("\n");
	printf("rule:      %s\n", d.rule ? d.rule->name : "-");
	printf("role:      %s\n", d.role ? d.role->name : "-");
	if (d.allow)
		printf("detail:    allowed by rule %s for role %s\n", d.rule ? d.rule->name : "?",
		       d.role ? d.role->name : "?");
	else
		printf("detail:    %s\n", d.detail);
	printf("caller:    uid %u (%s), gid %u, %zu groups, program %s\n", (unsigned)caller.uid,
	       caller.user[0] ? caller.user : "?", (unsigned)caller.gid, caller.n_groups,
	       caller.program[0] ? caller.program : "(any)");
	if (req.action == POLICY_ACTION_SIGN)
		printf("mechanism: %s, hash %s\n", mech_name(req.mech),
		       req.hash_deferred ? "(read from the data at signing time)" : hash_name(req.hash));
	if (key_use)
		printf("mechanism: %s, for %s (a capability of its own: the rule must grant %s and the key "
		       "list the mechanism in its %s group)\n",
		       mech_name(req.mech), action_s, action_s, action_s);
	if (d.allow && d.rule && d.rule->quota_count)
		printf("quota:     %u per %u s, per %s (counted by the module at %s)\n",
		       d.rule->quota_count, d.rule->quota_period_s,
		       d.rule->quota_scope == QUOTA_PER_CALLER ? "caller" : "rule",
		       key_use ? "every attempt, failed ones included" : "signing time");
	if (d.rule && d.rule->approvals_count) {
		printf("approvals: %u distinct from", d.rule->approvals_count);
		for (size_t i = 0; i < d.rule->n_approvals_from; i++)
			printf("%s %s", i ? "," : "", cfg->approver_groups[d.rule->approvals_from[i]].name);
		if (d.rule->approvals_max_age_s)
			printf(", at most %u s old", d.rule->approvals_max_age_s);
		printf("; counted here: %s\n", d.allow ? d.approvers : "see detail");
	}
	if (d.allow && d.rule && d.rule->require_ticket && have_ticket)
		printf("ticket:    simulated (claims from --product/--check; signature not verified)\n");
	rc = d.allow ? 0 : 1;
out:
	config_free(cfg);
	return rc;
}

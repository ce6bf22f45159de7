/* signgate explain: would this caller be allowed, and why?
 *
 * Runs the module's own engine (policy_decide) on a caller made from
 * names, so that what it prints is what the module would decide.
 * Quotas are shown, not consumed.  A ticket is either simulated from
 * --product / --check or given with --ticket, verified as the module
 * verifies it.  The key is a governed key's name (--key), or an object on
 * the token (--token with --id and/or --label): then it is read and its
 * identity established with the module's own code (runtime/token.c,
 * keycache.c), so that a look-alike, a copy or a key whose identity cannot
 * be proven is refused here for the same reason as at C_SignInit.
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
#include "debug.h"
#include "keycache.h"
#include "policy.h"
#include "spki.h"
#include "token.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate explain --config C --user U [--group G]... [--program P]\n"
	           "                        (--key K | --token T [--id HEX] [--label L])\n"
	           "                        [--mechanism M] [--hash H] [--ticket TICKET|@FILE]\n"
	           "                        [--action sign|admin|decrypt|unwrap|derive]\n"
	           "                        [--at TIME] [--product P] [--check NAME[=RESULT]]...\n"
	           "                        [--ticket-age DURATION] [--login-role ROLE]\n"
	           "                        [--approval FILE]...\n"
	           "                        [--id-token TOKEN|@FILE]\n"
	           "  --key K         a governed key's name (\"-\" with --action admin: no key)\n"
	           "  --token T       a key object on token T (label or serial), selected by\n"
	           "  --id HEX        its CKA_ID and/or\n"
	           "  --label L       its CKA_LABEL: read with the config's backend and PIN file\n"
	           "                  and identified as the module does (each matching private\n"
	           "                  key object is decided)\n"
	           "  --ticket T      a validation ticket (or @FILE), verified as the module does\n"
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

/* policy_decide, then what the module makes of the answer at *Init
 * (p11/enforce.c decide_use and enforce_key_use): a presented ticket that
 * did not verify turns ticket-missing into ticket-invalid; an object the
 * policy does not take for a governed key is refused with the lookup's
 * reason (key-mismatch for a look-alike or copy). */
static void decide(const config_t *cfg, const policy_request_t *req, bool ticket_bad,
                   ticket_status_t ts, policy_reason_t key_why, policy_decision_t *d)
{
	policy_decide(cfg, req, d);
	if (!d->allow && d->reason == REASON_TICKET_MISSING && ticket_bad) {
		d->reason = REASON_TICKET_INVALID;
		snprintf(d->detail, sizeof d->detail, "%s", ticket_status_name(ts));
	}
	if (!req->key && !d->allow && req->action != POLICY_ACTION_ADMIN &&
	    (d->reason == REASON_KEY_UNGOVERNED || d->reason == REASON_NO_ROLE))
		d->reason = key_why;
	SG_DEBUG(SG_DBG_POLICY, "explain: %s %s %s key=%s rule=%s role=%s mechanism=%s",
	         policy_action_name(req->action), d->allow ? "allow" : "deny",
	         policy_reason_name(d->reason), req->key ? req->key->name : "-",
	         d->rule ? d->rule->name : "-", d->role ? d->role->name : "-",
	         mech_name(req->mech));
	if (!d->allow)
		SG_DEBUG(SG_DBG_POLICY, "  why: %s", d->detail);
}

static void print_decision(const policy_request_t *req, const policy_decision_t *d)
{
	(void)req;
	printf("decision:  %s\n", d->allow ? "allow" : "deny");
	printf("reason:    %s", policy_reason_name(d->reason));
	if (!d->allow)
		printf(" (CK_RV 0x%lx)", d->ckr);
	printf("\n");
	printf("rule:      %s\n", d->rule ? d->rule->name : "-");
	printf("role:      %s\n", d->role ? d->role->name : "-");
	if (d->allow)
		printf("detail:    allowed by rule %s for role %s\n", d->rule ? d->rule->name : "?",
		       d->role ? d->role->name : "?");
	else
		printf("detail:    %s\n", d->detail);
}

/* --token/--id/--label: every private key object that matches, read and
 * identified with the module's code, then decided.  0 all allowed, 1 a
 * denial (or no such object), 2 the token cannot be read. */
static int explain_objects(const config_t *cfg, policy_request_t *req, const char *tok,
                           const unsigned char *id, size_t id_len, const char *label,
                           bool ticket_bad, ticket_status_t ts)
{
	token_view_t tv;
	char err[CONFIG_ERR_MAX + 128];
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE tmpl[3] = { { CKA_CLASS, &cls, sizeof cls } };
	CK_ULONG nt = 1, got = 0;
	CK_OBJECT_HANDLE found[16];
	int rc = 1;

	/* The module reads the PIN file as a secret: so does this. */
	if (token_view_open(&tv, cfg, TOKEN_PIN_STRICT, tok, err, sizeof err) < 0) {
		fprintf(stderr, "signgate explain: %s\n", err);
		return 2;
	}
	const token_slot_t *t = &tv.slots[0];
	if (id)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_ID, (void *)id, id_len };
	if (label)
		tmpl[nt++] = (CK_ATTRIBUTE){ CKA_LABEL, (void *)label, strlen(label) };
	if (tv.f->C_FindObjectsInit(t->session, tmpl, nt) != CKR_OK ||
	    tv.f->C_FindObjects(t->session, found, 16, &got) != CKR_OK) {
		fprintf(stderr, "signgate explain: cannot search token %s\n", t->label);
		rc = 2;
		got = 0;
	}
	tv.f->C_FindObjectsFinal(t->session);
	if (!got && rc != 2)
		printf("object:    no private key with that ID/label on token %s\n", t->label);
	for (CK_ULONG i = 0; i < got && i < 16; i++) {
		key_attrs_t ka;
		policy_reason_t why = REASON_KEY_UNGOVERNED;
		policy_decision_t d;
		char fps[80] = "-";
		memset(&ka, 0, sizeof ka);
		if (keycache_get(t->slot, t->session, found[i], &ka) != CKR_OK)
			ka.standing = KEY_UNKNOWN;
		req->key = token_key_govern(cfg, t->label, t->serial, &ka, &why);
		if (ka.has_fp)
			spki_fp_format(ka.fp, fps, sizeof fps);
		printf("%sobject:    token %s handle %lu label '%s': %s%s (fingerprint %s%s)\n",
		       i ? "\n" : "", t->label, (unsigned long)found[i], ka.label,
		       req->key ? "governed key " : "",
		       req->key ? req->key->name : policy_reason_name(why), fps,
		       ka.fp_source == KEY_FP_PROVEN ? ", proven by a signature"
		       : ka.fp_source == KEY_FP_OWN  ? ", from its public part"
		                                     : "");
		if (ka.standing != KEY_KNOWN) {
			/* enforce_key_use: refused before any decision */
			memset(&d, 0, sizeof d);
			d.reason = why;
			d.ckr = ka.standing == KEY_OTHER_TOKEN ? CKR_KEY_HANDLE_INVALID
			                                       : CKR_FUNCTION_REJECTED;
			snprintf(d.detail, sizeof d.detail,
			         "identity of the key could not be established");
			SG_DEBUG(SG_DBG_POLICY, "explain: %s deny %s",
			         policy_action_name(req->action), policy_reason_name(why));
		} else {
			decide(cfg, req, ticket_bad, ts, why, &d);
		}
		print_decision(req, &d);
		if (!d.allow)
			rc = 1;
		else if (i == 0)
			rc = 0;
	}
	token_view_close(&tv);
	return rc;
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "user", required_argument, NULL, 'u' },
		{ "group", required_argument, NULL, 'g' },
		{ "program", required_argument, NULL, 'p' },
		{ "key", required_argument, NULL, 'k' },
		{ "mechanism", required_argument, NULL, 'm' },
		{ "hash", required_argument, NULL, 'H' },
		{ "at", required_argument, NULL, 't' },
		{ "approval", required_argument, NULL, 'V' },
		{ "product", required_argument, NULL, 'P' },
		{ "check", required_argument, NULL, 'C' },
		{ "action", required_argument, NULL, 'a' },
		{ "ticket-age", required_argument, NULL, 'A' },
		{ "login-role", required_argument, NULL, 'L' },
		{ "help", no_argument, NULL, 'h' },
		{ "id-token", required_argument, NULL, 'I' },
		{ "token", required_argument, NULL, 'T' },
		{ "id", required_argument, NULL, 'i' },
		{ "label", required_argument, NULL, 'l' },
		{ "ticket", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 },
	};
	const char *conf = NULL, *user = NULL, *program = NULL, *key = NULL, *mech_s = NULL;
	const char *hash_s = NULL, *at = NULL, *product = NULL, *action_s = "sign", *age_s = NULL;
	const char *login_role_s = NULL, *idtoken_s = NULL;
	const char *obj_token = NULL, *obj_id = NULL, *obj_label = NULL, *ticket_s = NULL;
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
		case 'P':
			product = optarg;
			have_ticket = true;
			break;
		case 'A':
			age_s = optarg;
			have_ticket = true;
			break;
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
		case 'T': obj_token = optarg; break;
		case 'i': obj_id = optarg; break;
		case 'l': obj_label = optarg; break;
		case 'K': ticket_s = optarg; break;
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
	bool by_object = obj_token || obj_id || obj_label;
	if (optind != argc || !conf || !user || (!key == !by_object) ||
	    (by_object && (!obj_token || (!obj_id && !obj_label))) || (ticket_s && have_ticket)) {
		if (key && by_object)
			fprintf(stderr,
			        "signgate explain: --key or --token/--id/--label, not both\n");
		else if (by_object)
			fprintf(stderr,
			        "signgate explain: --token and --id and/or --label select an object\n");
		else if (ticket_s && have_ticket)
			fprintf(stderr,
			        "signgate explain: --ticket or a simulated ticket, not both\n");
		usage(stderr);
		return 2;
	}
	unsigned char idb[64];
	size_t idb_len = 0;
	if (obj_id) {
		size_t hl = strlen(obj_id);
		for (size_t i = 0; i + 1 < hl + 1 && i < hl; i += 2) {
			unsigned v;
			if (hl % 2 || hl / 2 > sizeof idb || sscanf(obj_id + i, "%2x", &v) != 1 ||
			    !strchr("0123456789abcdefABCDEF", obj_id[i]) ||
			    !strchr("0123456789abcdefABCDEF", obj_id[i + 1])) {
				fprintf(stderr,
				        "signgate explain: --id wants hex digits (at most 64 bytes)\n");
				return 2;
			}
			idb[idb_len++] = (unsigned char)v;
		}
	}
	policy_request_t req = { 0 };
	req.action = POLICY_ACTION_COUNT;
	for (int a = 0; a < POLICY_ACTION_COUNT; a++)
		if (!strcmp(action_s, policy_action_name((policy_action_t)a)))
			req.action = (policy_action_t)a;
	if (req.action == POLICY_ACTION_COUNT) {
		fprintf(stderr,
		        "signgate explain: --action must be sign, admin, decrypt, unwrap or derive\n");
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
			fprintf(stderr,
			        "signgate explain: --action %s needs --mechanism and takes no --hash\n",
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
		fprintf(stderr,
		        "signgate explain: user '%s' or a group is unknown on this system\n", user);
		goto out;
	}
	req.caller = &caller;
	if (key && strcmp(key, "-")) {
		req.key = policy_key_by_name(cfg, key);
		if (!req.key)
			printf("note: '%s' is not a key in %s: treated as an ungoverned key\n", key,
			       conf);
	}
	if (login_role_s) {
		req.login_role = policy_role_by_name(cfg, login_role_s);
		if (!req.login_role) {
			fprintf(stderr, "signgate explain: no role '%s' in %s\n", login_role_s,
			        conf);
			goto out;
		}
	}
	if (have_ticket) {
		uint32_t age = 0;
		if (age_s && !config_parse_duration(age_s, &age)) {
			fprintf(stderr, "signgate explain: --ticket-age '%s' is not a duration\n",
			        age_s);
			goto out;
		}
		snprintf(ticket.issuer, sizeof ticket.issuer, "explain");
		snprintf(ticket.product, sizeof ticket.product, "%s", product ? product : "");
		ticket.iat = (int64_t)req.now - age;
		ticket.nbf = ticket.iat;
		ticket.exp = (int64_t)req.now + 3600;
		req.ticket = &ticket;
	}

	/* --ticket: verified as the module verifies a presented ticket; one
	 * that does not verify counts as none, and a rule that wants one then
	 * says ticket-invalid (enforce.c decide_use). */
	ticket_status_t ticket_st = TICKET_OK;
	if (ticket_s) {
		char tok[TICKET_MAX_LEN + 2], detail[256];
		size_t n = 0;
		if (ticket_s[0] == '@') {
			FILE *f = fopen(ticket_s + 1, "re");
			if (!f) {
				fprintf(stderr, "signgate explain: cannot read %s\n", ticket_s + 1);
				goto out;
			}
			n = fread(tok, 1, sizeof tok - 1, f);
			fclose(f);
		} else {
			n = strnlen(ticket_s, sizeof tok - 1);
			memcpy(tok, ticket_s, n);
		}
		while (n && (tok[n - 1] == '\n' || tok[n - 1] == '\r' || tok[n - 1] == ' '))
			n--;
		tok[n] = '\0';
		ticket_st =
		        ticket_verify_detail(cfg, tok, n, req.now, &ticket, detail, sizeof detail);
		if (ticket_st == TICKET_OK)
			SG_DEBUG(SG_DBG_TICKET,
			         "explain: ticket verified: issuer %s product %s run %s",
			         ticket.issuer, ticket.product, ticket.run);
		else
			SG_DEBUG(SG_DBG_TICKET, "explain: ticket refused: %s: %s",
			         ticket_status_name(ticket_st), detail);
		printf("ticket:    %s%s%s\n",
		       ticket_st == TICKET_OK ? "verified" : ticket_status_name(ticket_st),
		       ticket_st == TICKET_OK ? "" : ": ", ticket_st == TICKET_OK ? "" : detail);
		if (ticket_st == TICKET_OK)
			req.ticket = &ticket;
	}

	if (idtoken_s) {
		char tok[TICKET_MAX_LEN + 2], detail[256];
		size_t n = 0;
		if (idtoken_s[0] == '@') {
			FILE *f = fopen(idtoken_s + 1, "re");
			if (!f) {
				fprintf(stderr, "signgate explain: cannot read %s\n",
				        idtoken_s + 1);
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
		idtoken_status_t ist =
		        idtoken_verify(cfg, tok, n, req.now, &idt, detail, sizeof detail);
		printf("id-token:  %s (%s)\n",
		       ist == IDTOKEN_OK ? "verified" : idtoken_status_name(ist), detail);
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
		approval_status_t st = approval_verify(
		        cfg, text, n, req.now, &approvals[req.n_approvals], why, sizeof why);
		if (st != APPROVAL_OK) {
			printf("approval:  %s: %s: %s (not counted)\n", approval_files[i],
			       approval_status_name(st), why);
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
	if (by_object) {
		rc = explain_objects(cfg, &req, obj_token, obj_id ? idb : NULL, idb_len, obj_label,
		                     ticket_s && ticket_st != TICKET_OK, ticket_st);
		goto out;
	}
	decide(cfg, &req, ticket_s && ticket_st != TICKET_OK, ticket_st, REASON_KEY_UNGOVERNED, &d);
	print_decision(&req, &d);
	printf("caller:    uid %u (%s), gid %u, %zu groups, program %s\n", (unsigned)caller.uid,
	       caller.user[0] ? caller.user : "?", (unsigned)caller.gid, caller.n_groups,
	       caller.program[0] ? caller.program : "(any)");
	if (req.action == POLICY_ACTION_SIGN)
		printf("mechanism: %s, hash %s\n", mech_name(req.mech),
		       req.hash_deferred ? "(read from the data at signing time)"
		                         : hash_name(req.hash));
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
			printf("%s %s", i ? "," : "",
			       cfg->approver_groups[d.rule->approvals_from[i]].name);
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

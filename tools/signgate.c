/* signgate: the administrator's command.  Dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "debug.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "check", cmd_check, "CONFIG            validate a config, print file:line: message" },
	{ "doctor", cmd_doctor,
	  "[--config C]      check the deployment: files, token, keys, p11-kit" },
	{ "explain", cmd_explain, "--config C ...    allow or deny, the rule and the reason" },
	{ "ticket", cmd_ticket, "keygen|issue|verify validation tickets" },
	{ "id-token", cmd_id_token,
	  "explain|jwks     CI identity tokens: verify and match, fetch JWKS" },
	{ "approve", cmd_approve, "--key K --approver A --product P --run R  sign an approval" },
	{ "approval", cmd_approval,
	  "bundle|verify     bundle approvals with a ticket, check them" },
	{ "audit", cmd_audit, "[FILE...]         summarise audit records, verify the hash chain" },
	{ "who-can-sign", cmd_who_can_sign,
	  "--config C ...    identities -> keys, with conditions" },
	{ "inventory", cmd_inventory, "--config C ...    token keys against the policy, findings" },
	{ "credential", cmd_credential,
	  "hash              make a role credential hash for the config" },
	{ "state", cmd_state, "init|migrate|status the policy state store (PostgreSQL schema)" },
	{ "revoke", cmd_revoke, "KEY --reason TEXT  kill switch: every host refuses KEY" },
	{ "unrevoke", cmd_unrevoke, "KEY               undo signgate revoke" },
	{ "test", cmd_test, "CONFIG CASES...   run policy test cases through the engine" },
	{ "diff", cmd_diff,
	  "OLD NEW           rights gained, lost and changed between two configs" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: signgate COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-13s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\nsigngate version %s\n", SIGNGATE_VERSION);
}

int main(int argc, char **argv)
{
	sg_debug_init();
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("signgate %s\n", SIGNGATE_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "signgate: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

/* Placeholder until this subcommand lands. */
#include <stdio.h>
#include "commands.h"

int cmd_ticket(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "signgate: this build has no 'ticket' command yet\n");
	return 2;
}

/* Placeholder until this subcommand lands. */
#include <stdio.h>
#include "commands.h"

int cmd_inventory(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "signgate: this build has no 'inventory' command yet\n");
	return 2;
}

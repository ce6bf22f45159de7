/* Placeholder until this subcommand lands. */
#include <stdio.h>
#include "commands.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "signgate: this build has no 'check' command yet\n");
	return 2;
}

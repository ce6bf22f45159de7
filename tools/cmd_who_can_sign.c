/* Placeholder until this subcommand lands. */
#include <stdio.h>
#include "commands.h"

int cmd_who_can_sign(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "signgate: this build has no 'who_can_sign' command yet\n");
	return 2;
}

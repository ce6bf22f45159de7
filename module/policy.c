/* signgate: the policy engine (indexes and decisions). */
#include <stdlib.h>

#include "policy.h"

struct policy {
	int unused;
};

policy_t *policy_build(const config_t *cfg, char *err, size_t errlen)
{
	(void)cfg;
	(void)err;
	(void)errlen;
	return calloc(1, sizeof(policy_t));
}

void policy_free(policy_t *p)
{
	free(p);
}

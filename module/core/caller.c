/* signgate: pure helpers over the caller's identity. */
#include "caller.h"

bool caller_in_group(const caller_t *c, gid_t g)
{
	if (c == NULL)
		return false;
	for (size_t i = 0; i < c->n_groups && i < CALLER_MAX_GROUPS; i++)
		if (c->groups[i] == g)
			return true;
	return false;
}

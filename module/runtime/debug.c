/* signgate: per-area debug output (debug.h). */
#include "debug.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

unsigned sg_debug_mask;

static const struct {
	const char *name;
	unsigned bit;
} areas[] = {
	{ "policy", SG_DBG_POLICY }, { "audit", SG_DBG_AUDIT },   { "p11", SG_DBG_P11 },
	{ "ticket", SG_DBG_TICKET }, { "config", SG_DBG_CONFIG }, { "state", SG_DBG_STATE },
};

static const char *area_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
		if (areas[i].bit == bit)
			return areas[i].name;
	return "debug";
}

void sg_debug_init(void)
{
	const char *v = secure_getenv("SIGNGATE_DEBUG");
	char buf[256], *save = NULL;
	unsigned mask = 0;

	if (!v || !v[0]) {
		sg_debug_mask = 0;
		return;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	for (char *w = strtok_r(buf, ", ", &save); w; w = strtok_r(NULL, ", ", &save)) {
		bool known = false;
		if (!strcmp(w, "all")) {
			mask = ~0u;
			continue;
		}
		for (size_t i = 0; i < sizeof(areas) / sizeof(areas[0]); i++)
			if (!strcmp(w, areas[i].name)) {
				mask |= areas[i].bit;
				known = true;
			}
		if (!known)
			fprintf(stderr,
			        "signgate: SIGNGATE_DEBUG: unknown area '%s' (areas: policy, audit, "
			        "p11, ticket, config, state, all)\n",
			        w);
	}
	sg_debug_mask = mask;
}

void sg_debug_print(unsigned area, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	/* one write per line, so lines of several threads do not interleave */
	char out[1100];
	int m = snprintf(out, sizeof(out), "signgate[%s] %d: %s\n", area_name(area), (int)getpid(),
	                 line);
	if (m > 0) {
		ssize_t w = write(2, out, (size_t)m < sizeof(out) ? (size_t)m : sizeof(out) - 1);
		(void)w;
	}
}

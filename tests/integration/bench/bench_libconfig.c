#include "bench_libconfig.h"

#include <libconfig.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double bench_libconfig_parse_ms(const char *text)
{
	config_t c;
	double t0 = now_ms();
	int ok;

	config_init(&c);
	ok = config_read_string(&c, text);
	config_destroy(&c);
	return ok == CONFIG_TRUE ? now_ms() - t0 : -1;
}

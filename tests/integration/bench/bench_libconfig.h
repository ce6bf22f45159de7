/* The floor under signgate's config load: libconfig parsing the same text
 * into its own tree, with no validation and no indexes.  A separate unit
 * because libconfig's config_t and signgate's config_t share a name. */
#ifndef SIGNGATE_BENCH_LIBCONFIG_H
#define SIGNGATE_BENCH_LIBCONFIG_H

/* Milliseconds to parse and free text; negative if libconfig refuses it. */
double bench_libconfig_parse_ms(const char *text);

#endif

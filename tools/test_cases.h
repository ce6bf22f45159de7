/* signgate test: the cases runner without the command around it, for
 * the fuzz target (tests/fuzz/fuzz_cases.c).  Implemented in cmd_test.c. */
#ifndef SIGNGATE_TEST_CASES_H
#define SIGNGATE_TEST_CASES_H

#include <stddef.h>

#include "config.h"

/* Parse text as a cases file (docs/policy-tests.md) and run every case
 * against cfg; failing cases are printed to stdout, errors to stderr.
 * Returns 0, or -1 when the text is not a valid cases file. */
int test_cases_run_text(const config_t *cfg, const char *name, const char *text, size_t *passed,
                        size_t *failed);

#endif

/* signgate: the lifetime of loaded configs (reference counts).
 *
 * The module decides under the config in force, and keeps pointers into
 * it (keys, rules, roles) for as long as an operation it allowed is in
 * progress.  A reload must neither pull a config away from under a call
 * or an operation nor keep every old config until C_Finalize (a
 * 10,000-key config takes some 57 MiB).  So every holder of a config
 * pointer holds a reference:
 *
 *   - cfgref_publish() makes a config the one in force; the one before is
 *     retired and freed as soon as its last reference is dropped (at once
 *     when nobody holds it);
 *   - cfgref_hold() takes a reference on the config in force, dropping
 *     what the ref held before; cfgref_drop() gives it back;
 *   - cfgref_assign() makes a second reference to what another holds.
 *
 * A reference is a value (cfgref_t, all zero = none) that belongs to one
 * lifetime of the registry: cfgref_fini() (C_Finalize, when no call is in
 * progress) frees every config whatever its count and starts a new
 * lifetime, and in a forked child the registry forgets the parent's
 * configs without touching the heap.  Dropping a reference of an earlier
 * lifetime does nothing, so holders that outlive C_Finalize or a fork (a
 * session table wiped later, a thread's pin) are harmless.
 *
 * All functions are thread-safe; one mutex, held for a few instructions
 * and never across config_free() or any call out.
 */
#ifndef SIGNGATE_CFGREF_H
#define SIGNGATE_CFGREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct cfgref_node;

typedef struct cfgref {
	struct cfgref_node *node; /* NULL: no reference (or a NULL config) */
	uint64_t life;            /* the registry's lifetime it was taken in */
} cfgref_t;

/* Make cfg (owned from now on; NULL = no valid config: deny all) the
 * config in force.  Returns false if there was no memory to track it:
 * then cfg has been freed and NULL is in force (fail closed). */
bool cfgref_publish(config_t *cfg);

/* ref gets a reference on the config in force (the one it held before
 * is dropped, unless it is that same config).  Returns the config, NULL
 * when none is in force. */
const config_t *cfgref_hold(cfgref_t *ref);

/* Give the reference back (ref becomes empty).  Frees the config if it
 * was retired and this was its last reference. */
void cfgref_drop(cfgref_t *ref);

/* dst holds what src holds (a reference of its own); no-op when it
 * already does. */
void cfgref_assign(cfgref_t *dst, const cfgref_t *src);

/* The config a reference holds (NULL: none, or one of an earlier
 * lifetime). */
const config_t *cfgref_config(const cfgref_t *ref);

/* A number that differs for every config ever published (0 for none):
 * for caches that must start afresh with each config. */
uint64_t cfgref_serial(const cfgref_t *ref);

/* Free everything (C_Finalize: no call in progress) and start a new
 * lifetime. */
void cfgref_fini(void);

/* Counts for tests and the bench: configs alive (in force + retired but
 * still referenced) and how many were ever freed. */
typedef struct cfgref_stats {
	size_t alive;
	size_t retired;
	uint64_t freed;
} cfgref_stats_t;
void cfgref_stats(cfgref_stats_t *out);

#endif

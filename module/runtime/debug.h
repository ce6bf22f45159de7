/* signgate: SIGNGATE_DEBUG=area[,area...] prints on standard error why
 * things happen, per area, in the module and in the tools.
 *
 * Off by default.  When off, a debug point costs one load and one branch
 * that is predicted not taken (sg_debug_mask is 0): nothing is formatted.
 * The areas: policy (every decision and its reason), audit (records not
 * delivered), p11 (initialisation, login), ticket (tickets and ID tokens
 * presented), config (which file, loads and refusals), state (the state
 * store), or "all".  Never secrets: what is printed is what the audit
 * record carries.
 */
#ifndef SIGNGATE_DEBUG_H
#define SIGNGATE_DEBUG_H

enum {
	SG_DBG_POLICY = 1u << 0,
	SG_DBG_AUDIT = 1u << 1,
	SG_DBG_P11 = 1u << 2,
	SG_DBG_TICKET = 1u << 3,
	SG_DBG_CONFIG = 1u << 4,
	SG_DBG_STATE = 1u << 5,
};

/* The areas switched on; 0 until sg_debug_init() found SIGNGATE_DEBUG. */
extern unsigned sg_debug_mask;

/* Read SIGNGATE_DEBUG (secure_getenv: never in a setuid program).  Safe to
 * call more than once; unknown area names are reported once on stderr. */
void sg_debug_init(void);

void sg_debug_print(unsigned area, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SG_DEBUG(area, ...)                                             \
	do {                                                            \
		if (__builtin_expect((sg_debug_mask & (area)) != 0, 0)) \
			sg_debug_print((area), __VA_ARGS__);            \
	} while (0)

#endif

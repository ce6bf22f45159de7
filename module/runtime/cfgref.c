/* signgate: reference-counted lifetime of loaded configs (cfgref.h). */
#include "cfgref.h"

#include "debug.h"

#include <pthread.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

struct cfgref_node {
	config_t *cfg;
	unsigned long refs; /* references held (being in force is not one) */
	uint64_t serial;
	bool current;             /* the config in force */
	struct cfgref_node *next; /* retired list */
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cfgref_node *g_cur;     /* under g_mu */
static struct cfgref_node *g_retired; /* retired, still referenced; under g_mu */
static uint64_t g_life = 1;           /* under g_mu */
static uint64_t g_serial;             /* under g_mu */
static uint64_t g_freed;              /* under g_mu */

/* In a forked child only the forking thread exists: the lock may have
 * been held by another, and the configs may be in use by no one or by
 * the parent's copy of a call.  Forget them (a leak in the child, no heap
 * work in a fork handler) and start a new lifetime.  Registered when the
 * library is loaded, so that it runs before any later child handler
 * (the gate's wipes sessions, which drops their references). */
static void cfgref_atfork_child(void)
{
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	g_mu = fresh;
	g_cur = NULL;
	g_retired = NULL;
	g_life++;
}

__attribute__((constructor)) static void cfgref_register_atfork(void)
{
	pthread_atfork(NULL, NULL, cfgref_atfork_child);
}

static size_t alive_locked(void)
{
	size_t k = g_cur ? 1 : 0;
	for (struct cfgref_node *n = g_retired; n; n = n->next)
		k++;
	return k;
}

static void node_free(struct cfgref_node *n)
{
	if (!n)
		return;
	/* SIGNGATE_DEBUG=config: the reload tests count these */
	SG_DEBUG(SG_DBG_CONFIG, "config #%llu freed", (unsigned long long)n->serial);
	config_free(n->cfg);
	free(n);
#ifdef __GLIBC__
	/* A large config is many small allocations: give the pages back
	 * rather than keep them until the next load reuses them. */
	malloc_trim(0);
#endif
}

static void retired_unlink_locked(struct cfgref_node *n)
{
	for (struct cfgref_node **p = &g_retired; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			return;
		}
}

/* Drop ref's reference under g_mu; returns the node to free, if any. */
static struct cfgref_node *drop_locked(cfgref_t *ref)
{
	struct cfgref_node *n = ref->node, *dead = NULL;
	if (n && ref->life == g_life) {
		if (n->refs > 0)
			n->refs--;
		if (n->refs == 0 && !n->current) {
			retired_unlink_locked(n);
			g_freed++;
			dead = n;
		}
	}
	ref->node = NULL;
	ref->life = 0;
	return dead;
}

bool cfgref_publish(config_t *cfg)
{
	struct cfgref_node *n = NULL, *dead = NULL;
	bool ok = true;

	if (cfg) {
		n = calloc(1, sizeof(*n));
		if (!n) {
			config_free(cfg);
			ok = false;
		} else {
			n->cfg = cfg;
			n->current = true;
		}
	}
	pthread_mutex_lock(&g_mu);
	if (n)
		n->serial = ++g_serial;
	if (g_cur) {
		g_cur->current = false;
		if (g_cur->refs == 0) {
			g_freed++;
			dead = g_cur;
		} else {
			g_cur->next = g_retired;
			g_retired = g_cur;
		}
	}
	g_cur = n;
	size_t alive = alive_locked();
	pthread_mutex_unlock(&g_mu);
	/* alive: in force + retired but still held (the one freed now not counted) */
	SG_DEBUG(SG_DBG_CONFIG, "config #%llu in force; configs alive: %zu",
	         (unsigned long long)(n ? n->serial : 0), alive);
	node_free(dead);
	return ok;
}

const config_t *cfgref_hold(cfgref_t *ref)
{
	struct cfgref_node *dead = NULL;
	const config_t *cfg;

	pthread_mutex_lock(&g_mu);
	if (ref->node != g_cur || ref->life != g_life) {
		dead = drop_locked(ref);
		ref->node = g_cur;
		ref->life = g_life;
		if (g_cur)
			g_cur->refs++;
	}
	cfg = g_cur ? g_cur->cfg : NULL;
	pthread_mutex_unlock(&g_mu);
	node_free(dead);
	return cfg;
}

void cfgref_drop(cfgref_t *ref)
{
	struct cfgref_node *dead;
	if (!ref->node) {
		ref->life = 0;
		return;
	}
	pthread_mutex_lock(&g_mu);
	dead = drop_locked(ref);
	pthread_mutex_unlock(&g_mu);
	node_free(dead);
}

void cfgref_assign(cfgref_t *dst, const cfgref_t *src)
{
	struct cfgref_node *dead = NULL;

	if (dst == src)
		return;
	pthread_mutex_lock(&g_mu);
	if (dst->node != src->node || dst->life != src->life || dst->life != g_life) {
		dead = drop_locked(dst);
		if (src->node && src->life == g_life) {
			src->node->refs++;
			*dst = *src;
		}
	}
	pthread_mutex_unlock(&g_mu);
	node_free(dead);
}

const config_t *cfgref_config(const cfgref_t *ref)
{
	/* Only a live reference keeps its node alive: one of an earlier
	 * lifetime may point to freed memory and is never read. */
	const config_t *cfg = NULL;
	if (!ref->node)
		return NULL;
	pthread_mutex_lock(&g_mu);
	if (ref->life == g_life)
		cfg = ref->node->cfg;
	pthread_mutex_unlock(&g_mu);
	return cfg;
}

uint64_t cfgref_serial(const cfgref_t *ref)
{
	uint64_t s = 0;
	if (!ref->node)
		return 0;
	pthread_mutex_lock(&g_mu);
	if (ref->life == g_life)
		s = ref->node->serial;
	pthread_mutex_unlock(&g_mu);
	return s;
}

void cfgref_fini(void)
{
	struct cfgref_node *cur, *ret;

	pthread_mutex_lock(&g_mu);
	cur = g_cur;
	ret = g_retired;
	g_cur = NULL;
	g_retired = NULL;
	g_life++;
	pthread_mutex_unlock(&g_mu);
	while (ret) {
		struct cfgref_node *next = ret->next;
		node_free(ret);
		ret = next;
	}
	node_free(cur);
}

void cfgref_stats(cfgref_stats_t *out)
{
	pthread_mutex_lock(&g_mu);
	out->alive = alive_locked();
	out->retired = out->alive - (g_cur ? 1 : 0);
	out->freed = g_freed;
	pthread_mutex_unlock(&g_mu);
}

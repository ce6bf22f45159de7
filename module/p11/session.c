/* signgate: the per-session state table.
 *
 * Open addressing over the real module's session handles.  The table
 * lock (a rwlock) is held only while probing, adding or removing, never
 * while a PKCS#11 call runs: a lookup finds the entry under the read
 * lock, drops it, then takes the entry's own mutex and checks the entry
 * still belongs to that handle.  Entries are never freed before
 * session_table_fini (removed ones go to a free list), so a pointer
 * found under the read lock stays valid memory after the lock is
 * dropped.  Lock order: entry mutex, then table lock (adding, removing,
 * listing while a session is held); under the table lock an entry is
 * only ever taken with trylock.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"

#define TABLE_MIN 64

static sg_session_t tombstone;
#define TOMB (&tombstone)

static pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static sg_session_t **slots; /* NULL, TOMB or an entry */
static size_t n_slots;       /* power of two, or 0 */
static size_t n_live, n_tomb;

static sg_session_t **all; /* every entry ever allocated */
static size_t n_all, cap_all;
static sg_session_t **free_list;
static size_t n_free, cap_free;

static CK_SESSION_HANDLE *poisoned;
static size_t n_poisoned, cap_poisoned;

static size_t handle_hash(CK_SESSION_HANDLE h)
{
	uint64_t x = (uint64_t)h;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (size_t)x;
}

static bool grow_array(void *arrp, size_t *cap, size_t need, size_t elem)
{
	void **arr = arrp;
	if (need <= *cap)
		return true;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	void *n = realloc(*arr, ncap * elem);
	if (!n)
		return false;
	*arr = n;
	*cap = ncap;
	return true;
}

int session_table_init(void)
{
	pthread_rwlock_wrlock(&table_lock);
	if (!slots) {
		slots = calloc(TABLE_MIN, sizeof(*slots));
		if (!slots) {
			pthread_rwlock_unlock(&table_lock);
			return -ENOMEM;
		}
		n_slots = TABLE_MIN;
		n_live = n_tomb = 0;
	}
	pthread_rwlock_unlock(&table_lock);
	return 0;
}

void session_op_clear(sg_op_state_t *op)
{
	if (op->data_md)
		EVP_MD_CTX_free(op->data_md);
	memset(op, 0, sizeof(*op));
}

void session_op_data_reset(sg_op_state_t *op)
{
	if (op->data_md)
		EVP_MD_CTX_free(op->data_md);
	op->data_md = NULL;
	op->data_len = 0;
	memset(op->data_sha256, 0, sizeof(op->data_sha256));
	op->has_data_sha256 = false;
	op->data_checked = false;
	if (op->hash_pending)
		op->hash = HASH_UNKNOWN;
}

/* Everything but the mutex back to zero. */
static void entry_wipe(sg_session_t *s)
{
	session_op_clear(&s->op);
	cfgref_drop(&s->cfg_hold);
	pthread_mutex_t lock = s->lock;
	memset(s, 0, sizeof(*s));
	s->lock = lock;
}

void session_table_fini(void)
{
	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < n_all; i++) {
		session_op_clear(&all[i]->op);
		cfgref_drop(&all[i]->cfg_hold);
		memset(&all[i]->ticket, 0, sizeof(all[i]->ticket));
		pthread_mutex_destroy(&all[i]->lock);
		free(all[i]);
	}
	free(all);
	free(free_list);
	free(slots);
	free(poisoned);
	all = free_list = slots = NULL;
	poisoned = NULL;
	n_all = cap_all = n_free = cap_free = n_slots = n_live = n_tomb = 0;
	n_poisoned = cap_poisoned = 0;
	pthread_rwlock_unlock(&table_lock);
}

/* Probe for h; returns the slot index or (size_t)-1.  Table lock held. */
static size_t probe_find(CK_SESSION_HANDLE h)
{
	if (!n_slots)
		return (size_t)-1;
	size_t mask = n_slots - 1;
	for (size_t i = handle_hash(h) & mask, n = 0; n < n_slots; i = (i + 1) & mask, n++) {
		sg_session_t *e = slots[i];
		if (!e)
			return (size_t)-1;
		if (e != TOMB && e->handle == h)
			return i;
	}
	return (size_t)-1;
}

static void insert_slot(sg_session_t **tab, size_t size, sg_session_t *e)
{
	size_t mask = size - 1;
	size_t i = handle_hash(e->handle) & mask;
	while (tab[i] && tab[i] != TOMB)
		i = (i + 1) & mask;
	tab[i] = e;
}

/* Keep the load (live + tombstones) at most one half.  Write lock held. */
static bool table_make_room(void)
{
	if (n_slots && (n_live + n_tomb + 1) * 2 <= n_slots)
		return true;
	size_t size = TABLE_MIN;
	while (size < (n_live + 1) * 4)
		size *= 2;
	sg_session_t **tab = calloc(size, sizeof(*tab));
	if (!tab)
		return false;
	for (size_t i = 0; i < n_slots; i++)
		if (slots[i] && slots[i] != TOMB)
			insert_slot(tab, size, slots[i]);
	free(slots);
	slots = tab;
	n_slots = size;
	n_tomb = 0;
	return true;
}

static sg_session_t *entry_new(void)
{
	if (n_free)
		return free_list[--n_free];
	if (!grow_array(&all, &cap_all, n_all + 1, sizeof(*all)) ||
	    !grow_array(&free_list, &cap_free, n_all + 1, sizeof(*free_list)))
		return NULL;
	sg_session_t *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	if (pthread_mutex_init(&s->lock, NULL) != 0) {
		free(s);
		return NULL;
	}
	all[n_all++] = s;
	return s;
}

sg_session_t *session_add(CK_SESSION_HANDLE h, CK_SLOT_ID slot)
{
	sg_session_t *s;

	pthread_rwlock_wrlock(&table_lock);
	s = entry_new();
	pthread_rwlock_unlock(&table_lock);
	if (!s)
		return NULL;
	/* Entry first, then the table, as in removal.  A reader may still
	 * be validating this recycled entry: it lets go at once. */
	pthread_mutex_lock(&s->lock);
	entry_wipe(s);
	pthread_rwlock_wrlock(&table_lock);
	if (!table_make_room()) {
		free_list[n_free++] = s;
		pthread_rwlock_unlock(&table_lock);
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	/* The real module handed h out again: whatever we knew under that
	 * handle is stale. */
	size_t old = probe_find(h);
	if (old != (size_t)-1) {
		sg_session_t *e = slots[old];
		slots[old] = TOMB;
		n_live--;
		n_tomb++;
		/* If a thread still holds it (closing that old session), it
		 * recycles the entry itself in session_remove_locked. */
		if (pthread_mutex_trylock(&e->lock) == 0) {
			entry_wipe(e);
			free_list[n_free++] = e;
			pthread_mutex_unlock(&e->lock);
		}
	}
	s->used = true;
	s->handle = h;
	s->slot = slot;
	insert_slot(slots, n_slots, s);
	n_live++;
	pthread_rwlock_unlock(&table_lock);
	return s;
}

sg_session_t *session_get(CK_SESSION_HANDLE h)
{
	sg_session_t *s = NULL;

	pthread_rwlock_rdlock(&table_lock);
	size_t i = probe_find(h);
	if (i != (size_t)-1)
		s = slots[i];
	pthread_rwlock_unlock(&table_lock);
	if (!s)
		return NULL;
	pthread_mutex_lock(&s->lock);
	/* Removed (or removed and reused) while we waited for the lock. */
	if (!s->used || s->handle != h) {
		pthread_mutex_unlock(&s->lock);
		return NULL;
	}
	return s;
}

void session_put(sg_session_t *s)
{
	if (s)
		pthread_mutex_unlock(&s->lock);
}

void session_remove_locked(sg_session_t *s)
{
	pthread_rwlock_wrlock(&table_lock);
	size_t i = probe_find(s->handle);
	if (i != (size_t)-1 && slots[i] == s) {
		slots[i] = TOMB;
		n_live--;
		n_tomb++;
	}
	entry_wipe(s);
	/* free_list has room for every entry ever allocated. */
	free_list[n_free++] = s;
	pthread_rwlock_unlock(&table_lock);
	pthread_mutex_unlock(&s->lock);
}

void session_remove(CK_SESSION_HANDLE h)
{
	sg_session_t *s = session_get(h);
	if (s)
		session_remove_locked(s);
}

size_t session_list(CK_SLOT_ID slot, CK_SESSION_HANDLE **out)
{
	size_t n = 0;

	*out = NULL;
	pthread_rwlock_rdlock(&table_lock);
	if (n_live) {
		*out = malloc(n_live * sizeof(**out));
		for (size_t i = 0; *out && i < n_slots; i++) {
			sg_session_t *e = slots[i];
			/* slot is set before insertion and never changes while
			 * the entry is in the table. */
			if (e && e != TOMB && (slot == (CK_SLOT_ID)-1 || e->slot == slot))
				(*out)[n++] = e->handle;
		}
	}
	pthread_rwlock_unlock(&table_lock);
	if (!n) {
		free(*out);
		*out = NULL;
	}
	return n;
}

void session_foreach(CK_SLOT_ID slot, void (*fn)(sg_session_t *s, void *arg), void *arg)
{
	CK_SESSION_HANDLE *handles;
	size_t n = session_list(slot, &handles);

	for (size_t i = 0; i < n; i++) {
		sg_session_t *s = session_get(handles[i]);
		if (!s)
			continue;
		fn(s, arg);
		session_put(s);
	}
	free(handles);
}

void session_poison(CK_SESSION_HANDLE h)
{
	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < n_poisoned; i++)
		if (poisoned[i] == h)
			goto out;
	if (grow_array(&poisoned, &cap_poisoned, n_poisoned + 1, sizeof(*poisoned)))
		poisoned[n_poisoned++] = h;
out:
	pthread_rwlock_unlock(&table_lock);
}

void session_unpoison(CK_SESSION_HANDLE h)
{
	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < n_poisoned; i++) {
		if (poisoned[i] == h) {
			poisoned[i] = poisoned[--n_poisoned];
			break;
		}
	}
	pthread_rwlock_unlock(&table_lock);
}

bool session_is_poisoned(CK_SESSION_HANDLE h)
{
	bool found = false;

	pthread_rwlock_rdlock(&table_lock);
	for (size_t i = 0; i < n_poisoned && !found; i++)
		found = poisoned[i] == h;
	pthread_rwlock_unlock(&table_lock);
	return found;
}

/* Fork (gate.c).  The table lock is taken across the fork, so the child
 * finds the table consistent (no thread was half-way through growing
 * it); it is never held across a call out, so this waits for a probe at
 * most.  In the child the lock is made anew: the thread that took it
 * has another id there.  Nothing here allocates or frees. */
void session_atfork_prepare(void)
{
	pthread_rwlock_wrlock(&table_lock);
}

void session_atfork_parent(void)
{
	pthread_rwlock_unlock(&table_lock);
}

void session_atfork_child(void)
{
	pthread_rwlock_init(&table_lock, NULL);
}

/* The child's C_Initialize (outside the fork handler): the parent's
 * sessions still exist in the real module's copied memory; they are
 * poisoned so the child cannot reach them around the policy.  Every
 * entry's lock is made anew (a parent thread may have held it) and the
 * entry forgotten without freeing what it points to (that thread may
 * have been freeing it).  Nothing here calls into the real module. */
void session_table_after_fork(void)
{
	pthread_rwlock_wrlock(&table_lock);
	for (size_t i = 0; i < n_slots; i++) {
		sg_session_t *e = slots[i];
		if (e && e != TOMB) {
			if (grow_array(&poisoned, &cap_poisoned, n_poisoned + 1, sizeof(*poisoned)))
				poisoned[n_poisoned++] = e->handle;
		}
		slots[i] = NULL;
	}
	n_live = n_tomb = 0;
	n_free = 0;
	for (size_t i = 0; i < n_all; i++) {
		memset(all[i], 0, sizeof(*all[i]));
		pthread_mutex_init(&all[i]->lock, NULL);
		free_list[n_free++] = all[i];
	}
	pthread_rwlock_unlock(&table_lock);
}

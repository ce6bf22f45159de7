/* signgate: enforcement glue between the PKCS#11 layer and the policy.
 *
 * gate.c forwards calls; every call that could yield a signature, a raw
 * private-key operation or a key change asks here first.  This file owns
 * the config in force (and its reload), the caller's identity, the
 * application's login state (tickets, role credentials), the per-slot
 * view of tokens, quotas and the audit records of decisions.  The
 * decisions themselves are policy_decide()'s.
 */
#include "enforce.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "audit.h"
#include "cfgref.h"
#include "debug.h"
#include "caller.h"
#include "identify.h"
#include "idtoken.h"
#include "inspect.h"
#include "keycache.h"
#include "mech.h"
#include "policy.h"
#include "quota.h"
#include "state.h"
#include "template.h"
#include "secure_open.h"
#include "ticket.h"
#include "token.h"
#include "approval.h"

#define ENF_MAX_SLOTS 64

typedef struct enf_slot {
	CK_SLOT_ID id;
	char label[33];
	char serial[17];
	bool exposed;
	CK_SESSION_HANDLE lookup; /* signgate's own session for searches */
} enf_slot_t;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* state below */
/* Held only by the thread that looks at the file (others try it and go
 * on with the config in force): never wanted by a signer.  Held for a
 * stat() and, when a loader thread is started, a pthread_create(); across
 * the whole load only when no thread may be made (g_no_threads, or
 * pthread_create failed). */
static pthread_mutex_t g_reload_lock = PTHREAD_MUTEX_INITIALIZER;
/* The loader thread (issue 13): loads a changed config off the signing
 * call, publishes it and audits the reload.  g_loader_running (with
 * g_reload_lock) from its start until it is joined, by the next check
 * after it is done or by enforce_fini; g_loader_done is its last act.
 * g_loader_pid: a forked child never joins the parent's loader. */
static bool g_no_threads; /* CKF_LIBRARY_CANT_CREATE_OS_THREADS at C_Initialize */
static bool g_loader_running;
static bool g_loader_done; /* atomic */
static pthread_t g_loader;
static pid_t g_loader_pid;
static char g_loader_path[PATH_MAX];
static char g_path[PATH_MAX];
static struct stat g_seen; /* the file as last looked at */
static time_t g_last_check;
static caller_t g_caller;
static CK_FUNCTION_LIST_PTR g_real;
static enf_slot_t g_slots[ENF_MAX_SLOTS];
static size_t g_nslots;

/* PKCS#11 login state is the application's, not a session's. */
static bool g_logged_in;
static bool g_has_ticket;
static ticket_claims_t g_ticket;
static char g_login_role[128]; /* role proven by a credential, "" none */
/* Changes at every caller login and logout: an operation remembers the
 * generation it was decided under (sg_op_state_t.login_gen). */
static uint64_t g_login_gen;

/* Fast paths for the common case of no ticket and no credential login:
 * read without the lock on every decision. */
static bool g_ticket_any; /* a login ticket or SIGNGATE_TICKET exists */
static bool g_role_any;   /* g_login_role is set */

/* Approvals (issue 16): verified at C_Login from a bundle given as the
 * PIN, else from SIGNGATE_BUNDLE (verified once at first use). */
static size_t g_n_approvals;
static approval_t g_approvals[BUNDLE_MAX_APPROVALS];
static bool g_approvals_any; /* g_n_approvals or g_env_n_approvals may be set */
static bool g_env_bundle_done;
static size_t g_env_n_approvals;
static approval_t g_env_approvals[BUNDLE_MAX_APPROVALS];

static void approvals_reset_locked(void);
static bool env_bundle_ticket(char *buf, size_t len);

/* SIGNGATE_TICKET, verified once at first use. */
static bool g_env_ticket_done;
static ticket_status_t g_env_ticket_status;
static bool g_env_ticket_present;
static ticket_claims_t g_env_ticket;

/* CI identity tokens (idtoken.h), like tickets: given at C_Login (alone
 * or with a ticket), or in SIGNGATE_ID_TOKEN, verified and counted once. */
static bool g_has_idtoken;
static idtoken_claims_t g_idtoken;
static bool g_idtoken_any; /* a login or environment token exists */
static bool g_env_idtoken_done;
static bool g_env_idtoken_present;
static idtoken_status_t g_env_idtoken_status;
static idtoken_claims_t g_env_idtoken;

static void idtoken_state_reset(void)
{
	g_has_idtoken = false;
	g_env_idtoken_done = false;
	g_env_idtoken_present = false;
	g_idtoken_any = false;
	OPENSSL_cleanse(&g_idtoken, sizeof(g_idtoken));
	OPENSSL_cleanse(&g_env_idtoken, sizeof(g_env_idtoken));
}

/* --- the config's lifetime (cfgref.h) -----------------------------------
 *
 * The config in force (NULL = invalid file: deny all) is cfgref's.  Who
 * uses a config pointer holds a reference:
 *   - a call into enforce: every public enforce_* function that reads the
 *     config opens a scope (CFG_SCOPE) whose outermost level looks at the
 *     file (cfg_reload_check) and pins the config in force for this
 *     thread; cfg_get() and enforce_config() inside return the pin, so
 *     one call decides under one config however the file changes;
 *   - an operation in progress: its session holds the config its key,
 *     rule and role were decided under (sg_session_t.cfg_hold), until the
 *     session starts another operation or is closed;
 *   - gate.c, calling enforce_config() outside any enforce call: a pin
 *     of the thread's own (tl_loose), valid until the thread's next call
 *     into enforce.
 * A retired config is freed when the last of these lets it go. */
static __thread cfgref_t tl_pin;
static __thread const config_t *tl_cfg; /* tl_pin's config */
static __thread unsigned tl_depth;
static __thread cfgref_t tl_loose;
static __thread cfgref_t tl_pending_cfg; /* keeps g_pending's config alive (key use) */

static void cfg_reload_check(void);

/* A thread that ends lets go of what it holds between calls. */
static pthread_key_t g_thread_key;
static pthread_once_t g_thread_key_once = PTHREAD_ONCE_INIT;

static void cfg_thread_exit(void *unused)
{
	(void)unused;
	cfgref_drop(&tl_loose);
	cfgref_drop(&tl_pending_cfg);
}

static bool g_thread_key_ok;

static void cfg_thread_key_create(void)
{
	/* Without a key (none left), what a thread holds at its end stays
	 * until C_Finalize: memory, never safety. */
	g_thread_key_ok = pthread_key_create(&g_thread_key, cfg_thread_exit) == 0;
}

/* Before this thread keeps a reference beyond the call. */
static void cfg_thread_keeps(void)
{
	pthread_once(&g_thread_key_once, cfg_thread_key_create);
	if (g_thread_key_ok)
		pthread_setspecific(g_thread_key, (void *)1);
}

static int cfg_scope_begin(void)
{
	if (tl_depth++ == 0) {
		cfgref_drop(&tl_loose);
		cfg_reload_check();
		tl_cfg = cfgref_hold(&tl_pin);
	}
	return 0;
}

static void cfg_scope_end(int *unused)
{
	(void)unused;
	if (--tl_depth == 0) {
		tl_cfg = NULL;
		cfgref_drop(&tl_pin);
	}
}

#define CFG_SCOPE() \
	__attribute__((cleanup(cfg_scope_end), unused)) int cfg_scope_ = cfg_scope_begin()

static const config_t *cfg_get(void)
{
	if (tl_depth)
		return tl_cfg;
	/* Not inside an enforce call (should not happen): a loose pin. */
	cfg_thread_keeps();
	return cfgref_hold(&tl_loose);
}

static bool stat_same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec &&
	       a->st_mode == b->st_mode && a->st_uid == b->st_uid;
}

static void audit_config_event(audit_event_t ev, bool ok, const char *reason, const char *detail,
                               const unsigned char *sha)
{
	audit_record_t r = {
		.event = ev,
		.allowed = ok,
		.reason = reason,
		.detail = detail,
		.caller = &g_caller,
		.config_sha256 = sha,
		.operation = ev == AUDIT_MODULE_START  ? "C_Initialize"
		             : ev == AUDIT_MODULE_STOP ? "C_Finalize"
		                                       : "config",
	};
	audit_emit(&r);
}

/* Load the file at path, swap it in (or NULL: deny everything while the
 * file is invalid) and audit which.  Runs on the loader thread, or inline
 * on the noticing call when no thread may be made. */
static void cfg_load_and_publish(const char *path)
{
	char err[CONFIG_ERR_MAX];
	config_t *fresh;

	/* No lock a signer needs is held while loading (names of users and
	 * groups may go to NSS): they go on under the config in force. */
	SG_DEBUG(SG_DBG_CONFIG, "reload: loading %s", path);
	fresh = config_load(path, true, err, sizeof(err));
	/* fresh stays in force (alive) until the next publish: only one
	 * loader runs at a time, and enforce_fini waits for it first. */
	if (!cfgref_publish(fresh) && fresh) {
		fresh = NULL;
		snprintf(err, sizeof(err), "no memory to track the new config");
	}

	if (fresh) {
		audit_configure(&fresh->audit);
		audit_config_event(AUDIT_CONFIG_RELOAD, true,
		                   policy_reason_name(REASON_CONFIG_RELOADED), fresh->path,
		                   fresh->sha256);
	} else {
		fprintf(stderr,
		        "signgate: config refused, denying everything until it is fixed: %s\n",
		        err);
		audit_config_event(AUDIT_CONFIG_REFUSED, false,
		                   policy_reason_name(REASON_CONFIG_INVALID), err, NULL);
	}
	SG_DEBUG(SG_DBG_CONFIG, "reload: %s in force", fresh ? "the new config" : "no config");
}

static void *cfg_loader_main(void *unused)
{
	(void)unused;
	cfg_load_and_publish(g_loader_path);
	__atomic_store_n(&g_loader_done, true, __ATOMIC_RELEASE);
	return NULL;
}

/* With g_reload_lock held: wait for a loader of this process, if one was
 * started (quick once it is done).  In a forked child the loader was the
 * parent's: it is forgotten, never waited for (what it loaded is leaked). */
static void cfg_loader_join_locked(void)
{
	if (!g_loader_running)
		return;
	if (g_loader_pid == getpid())
		pthread_join(g_loader, NULL);
	g_loader_running = false;
	__atomic_store_n(&g_loader_done, false, __ATOMIC_RELAXED);
}

/* Start the loader thread for g_path; false if no thread may be made
 * (then the caller loads inline).  Signals stay with the application's
 * threads: the loader blocks them all. */
static bool cfg_loader_start_locked(void)
{
	sigset_t all, old;
	int rc;

	if (g_no_threads)
		return false;
	snprintf(g_loader_path, sizeof(g_loader_path), "%s", g_path);
	__atomic_store_n(&g_loader_done, false, __ATOMIC_RELAXED);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&g_loader, NULL, cfg_loader_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		SG_DEBUG(SG_DBG_CONFIG, "reload: no loader thread (%s): loading inline",
		         strerror(rc));
		return false;
	}
	g_loader_running = true;
	g_loader_pid = getpid();
	SG_DEBUG(SG_DBG_CONFIG, "reload: loader thread started");
	return true;
}

/* Look at the file at most once a second (the signing path pays one
 * time() and one compare otherwise); when it changed, a loader thread
 * loads it while this call goes on under the config in force. */
static void cfg_maybe_reload(void)
{
	struct stat st;
	bool changed;

	if (stat(g_path, &st) != 0)
		memset(&st, 0, sizeof(st));
	pthread_mutex_lock(&g_lock);
	changed = !stat_same(&st, &g_seen);
	if (changed)
		g_seen = st;
	pthread_mutex_unlock(&g_lock);
	if (!changed)
		return;
	SG_DEBUG(SG_DBG_CONFIG, "reload: %s changed", g_path);
	if (!cfg_loader_start_locked())
		cfg_load_and_publish(g_path);
}

static void cfg_reload_check(void)
{
	time_t now = time(NULL);
	if (__atomic_load_n(&g_last_check, __ATOMIC_RELAXED) != now &&
	    pthread_mutex_trylock(&g_reload_lock) == 0) {
		__atomic_store_n(&g_last_check, now, __ATOMIC_RELAXED);
		/* A loader still at work: look again in a second (a change
		 * made meanwhile is seen then). */
		if (g_loader_running && !__atomic_load_n(&g_loader_done, __ATOMIC_ACQUIRE)) {
			pthread_mutex_unlock(&g_reload_lock);
			return;
		}
		cfg_loader_join_locked();
		if (g_path[0])
			cfg_maybe_reload();
		pthread_mutex_unlock(&g_reload_lock);
	}
}

const config_t *enforce_config(void)
{
	if (tl_depth)
		return tl_cfg;
	cfg_reload_check();
	cfg_thread_keeps();
	return cfgref_hold(&tl_loose);
}

/* In broker mode (behind p11-kit server) the connection is on standard
 * input; the caller is its peer, never this process. */
static void caller_setup(const config_t *cfg)
{
	struct stat st;
	bool broker = cfg->mode == CONFIG_MODE_BROKER;

	if (cfg->mode == CONFIG_MODE_AUTO && fstat(0, &st) == 0 && S_ISSOCK(st.st_mode))
		broker = true;
	memset(&g_caller, 0, sizeof(g_caller));
	if (broker) {
		if (caller_identify_peer(0, &g_caller, true) != 0)
			g_caller.known = false;
	} else if (caller_identify_self(&g_caller, true) != 0) {
		g_caller.known = false;
	}
}

CK_RV enforce_init(const char *init_reserved, bool no_threads, const config_backend_t **backend)
{
	sg_debug_init();
	char err[CONFIG_ERR_MAX];
	const char *path = config_path_choose(init_reserved);
	config_t *cfg;

	if (!path || strlen(path) >= sizeof(g_path)) {
		fprintf(stderr, "signgate: no usable config path\n");
		return CKR_FUNCTION_FAILED;
	}
	SG_DEBUG(SG_DBG_CONFIG, "config %s (%s)", path,
	         secure_getenv("SIGNGATE_CONF") && secure_getenv("SIGNGATE_CONF")[0]
	                 ? "SIGNGATE_CONF"
	         : init_reserved ? "C_Initialize pReserved"
	                         : "the default path");
	cfg = config_load(path, true, err, sizeof(err));
	if (!cfg) {
		fprintf(stderr, "signgate: %s\n", err);
		return CKR_FUNCTION_FAILED;
	}

	if (!cfgref_publish(cfg))
		return CKR_HOST_MEMORY;
	pthread_mutex_lock(&g_reload_lock);
	g_no_threads = no_threads;
	pthread_mutex_unlock(&g_reload_lock);
	pthread_mutex_lock(&g_lock);
	snprintf(g_path, sizeof(g_path), "%s", path);
	if (stat(path, &g_seen) != 0)
		memset(&g_seen, 0, sizeof(g_seen));
	g_last_check = time(NULL);
	g_logged_in = false;
	g_has_ticket = false;
	g_login_role[0] = '\0';
	g_env_ticket_done = false;
	g_env_ticket_present = false;
	g_ticket_any = false;
	g_role_any = false;
	idtoken_state_reset();
	approvals_reset_locked();
	g_nslots = 0;
	g_real = NULL;
	pthread_mutex_unlock(&g_lock);

	caller_setup(cfg);
	audit_configure(&cfg->audit);
	audit_config_event(AUDIT_MODULE_START, true, policy_reason_name(REASON_MODULE_START), NULL,
	                   NULL);
	audit_config_event(AUDIT_CONFIG_LOAD, true, policy_reason_name(REASON_CONFIG_LOADED),
	                   cfg->path, cfg->sha256);
	*backend = &cfg->backend;
	return CKR_OK;
}

static enf_slot_t *slot_find_locked(CK_SLOT_ID id)
{
	for (size_t i = 0; i < g_nslots; i++)
		if (g_slots[i].id == id)
			return &g_slots[i];
	return NULL;
}

/* Learn a slot's token (label, serial, exposure) once.  Called with
 * g_lock held; the token is read with it released (g_lock is never held
 * across a call into the real module), so two threads may both read a
 * new slot: the first to come back adds it.  Entries stay where they are
 * until enforce_fini. */
static enf_slot_t *slot_learn_locked(CK_SLOT_ID id)
{
	CK_TOKEN_INFO ti;
	CK_FUNCTION_LIST_PTR real = g_real;
	enf_slot_t *sl = slot_find_locked(id);
	CK_RV rv;

	if (sl)
		return sl;
	if (!real || g_nslots >= ENF_MAX_SLOTS)
		return NULL;
	pthread_mutex_unlock(&g_lock);
	rv = real->C_GetTokenInfo(id, &ti);
	pthread_mutex_lock(&g_lock);
	if (rv != CKR_OK || g_real != real)
		return NULL;
	if ((sl = slot_find_locked(id)))
		return sl;
	if (g_nslots >= ENF_MAX_SLOTS)
		return NULL;
	sl = &g_slots[g_nslots++];
	memset(sl, 0, sizeof(*sl));
	sl->id = id;
	sl->lookup = CK_INVALID_HANDLE;
	/* token.c: the one copy of token names and exposure (gate.c logs in
	 * to the same tokens, the tools read the same). */
	token_field_copy(sl->label, sizeof(sl->label), ti.label, sizeof(ti.label));
	token_field_copy(sl->serial, sizeof(sl->serial), ti.serialNumber, sizeof(ti.serialNumber));
	const config_t *ecfg = cfg_get();
	sl->exposed = ecfg && token_info_exposed(&ecfg->backend, &ti);
	return sl;
}

static CK_SESSION_HANDLE lookup_session(CK_SLOT_ID id)
{
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE, fresh = CK_INVALID_HANDLE;
	CK_FUNCTION_LIST_PTR real = NULL;
	enf_slot_t *sl;

	pthread_mutex_lock(&g_lock);
	sl = slot_learn_locked(id);
	if (sl && sl->exposed) {
		h = sl->lookup;
		real = g_real;
	}
	pthread_mutex_unlock(&g_lock);
	if (h != CK_INVALID_HANDLE || !real)
		return h;
	/* Opened without g_lock; if another thread opened one meanwhile, its
	 * session is kept and this one closed. */
	if (real->C_OpenSession(id, CKF_SERIAL_SESSION, NULL, NULL, &fresh) != CKR_OK)
		return CK_INVALID_HANDLE;
	session_poison(fresh); /* never reachable by callers */
	pthread_mutex_lock(&g_lock);
	if (g_real == real && sl->lookup == CK_INVALID_HANDLE) {
		sl->lookup = fresh;
		fresh = CK_INVALID_HANDLE;
	}
	h = g_real == real ? sl->lookup : CK_INVALID_HANDLE;
	pthread_mutex_unlock(&g_lock);
	if (fresh != CK_INVALID_HANDLE)
		real->C_CloseSession(fresh); /* stays poisoned until the token hands it out again */
	return h;
}

/* Does the config in force name this fingerprint for a key?  Asked only
 * when an identity must be proven (a cache miss on such a key). */
static bool fingerprint_named(const unsigned char fp[32])
{
	const config_t *cfg = cfg_get();
	for (size_t i = 0; cfg && i < cfg->n_keys; i++)
		if (cfg->keys[i].has_fingerprint && !memcmp(cfg->keys[i].fingerprint, fp, 32))
			return true;
	return false;
}

/* The sessions keycache opens for an identity proof are signgate's:
 * poisoned while open, forgotten when closed (the list stays short). */
static void proof_session_hide(CK_SESSION_HANDLE h, bool hide)
{
	if (hide)
		session_poison(h);
	else
		session_unpoison(h);
}

void enforce_backend_ready(CK_FUNCTION_LIST_PTR real)
{
	pthread_mutex_lock(&g_lock);
	g_real = real;
	pthread_mutex_unlock(&g_lock);
	keycache_ops_t ops = {
		.real = real,
		.lookup_session = lookup_session,
		.fp_named = fingerprint_named,
		.session_hide = proof_session_hide,
	};
	keycache_init(&ops);
}

bool enforce_slot_exposed(CK_SLOT_ID slot)
{
	CFG_SCOPE();
	enf_slot_t *sl;
	bool exposed;

	pthread_mutex_lock(&g_lock);
	sl = slot_learn_locked(slot);
	exposed = sl && sl->exposed;
	pthread_mutex_unlock(&g_lock);
	return exposed;
}

/* Token label and serial of a slot for policy and audit. */
static void slot_names(CK_SLOT_ID slot, char label[33], char serial[17])
{
	enf_slot_t *sl;

	pthread_mutex_lock(&g_lock);
	sl = slot_learn_locked(slot);
	if (sl) {
		memcpy(label, sl->label, 33);
		memcpy(serial, sl->serial, 17);
	} else {
		label[0] = serial[0] = '\0';
	}
	pthread_mutex_unlock(&g_lock);
}

void enforce_fini(void)
{
	/* A loader still at work finishes first (its reload record comes
	 * before the stop record, it never publishes into a finalized
	 * module), and so does a call loading inline (an application that
	 * finalizes while another thread signs breaks the PKCS#11 rules). */
	pthread_mutex_lock(&g_reload_lock);
	cfg_loader_join_locked();
	audit_config_event(AUDIT_MODULE_STOP, true, policy_reason_name(REASON_MODULE_STOP), NULL,
	                   NULL);
	keycache_fini();
	pthread_mutex_lock(&g_lock);
	/* The backend closes signgate's lookup sessions in its C_Finalize. */
	g_real = NULL;
	g_nslots = 0;
	/* Every config, whatever holds it: no call is in progress, and the
	 * references of sessions and threads belong to this lifetime only. */
	cfgref_drop(&tl_loose);
	cfgref_fini();
	g_path[0] = '\0';
	g_logged_in = false;
	g_has_ticket = false;
	OPENSSL_cleanse(&g_ticket, sizeof(g_ticket));
	OPENSSL_cleanse(&g_env_ticket, sizeof(g_env_ticket));
	g_env_ticket_done = false;
	g_env_ticket_present = false;
	g_ticket_any = false;
	g_role_any = false;
	idtoken_state_reset();
	approvals_reset_locked();
	pthread_mutex_unlock(&g_lock);
	pthread_mutex_unlock(&g_reload_lock);
	audit_shutdown();
}

void enforce_atfork_child(void)
{
	/* In the fork handler (gate.c): nothing here allocates or frees.
	 * The child owns nothing of the parent's token state: it has to
	 * C_Initialize again, which reloads the config and the caller.
	 * Locks may have been held by other parent threads: make new ones.
	 * Configs are leaked on purpose: another thread may have been using
	 * them at fork time. */
	pthread_mutex_init(&g_lock, NULL);
	pthread_mutex_init(&g_reload_lock, NULL);
	/* A loader thread was the parent's: it does not exist here. */
	g_loader_running = false;
	g_loader_done = false;
	g_real = NULL;
	g_nslots = 0;
	g_path[0] = '\0';
	g_logged_in = false;
	g_has_ticket = false;
	g_env_ticket_done = false;
	g_env_ticket_present = false;
	g_ticket_any = false;
	g_role_any = false;
	idtoken_state_reset();
	approvals_reset_locked();
	/* no allocation or freeing here: the key cache is cleared by the
	 * child's C_Initialize (gate.c), the configs are leaked */
	audit_atfork_child();
}

/* --- helpers for decisions ---------------------------------------------- */

static const char *op_name(sg_op_t op)
{
	switch (op) {
	case SG_OP_SIGN: return "C_Sign";
	case SG_OP_SIGN_RECOVER: return "C_SignRecover";
	case SG_OP_DECRYPT: return "C_Decrypt";
	case SG_OP_MESSAGE_SIGN: return "C_SignMessage";
	case SG_OP_MESSAGE_DECRYPT: return "C_DecryptMessage";
	default: return "none";
	}
}

/* The call an audit record about the operation names: the update call
 * being judged (a refusal at C_SignUpdate says so), else the operation. */
static const char *op_call(const sg_session_t *s)
{
	return s->op.call ? s->op.call : op_name(s->op.op);
}

static const char *use_name(enforce_use_t use)
{
	switch (use) {
	case USE_SIGN: return "C_SignInit";
	case USE_SIGN_RECOVER: return "C_SignRecoverInit";
	case USE_DECRYPT: return "C_DecryptInit";
	case USE_UNWRAP: return "C_UnwrapKey";
	case USE_DERIVE: return "C_DeriveKey";
	case USE_WRAP: return "C_WrapKey";
	case USE_OPERATION_STATE: return "C_OperationState";
	}
	return "?";
}

static const char *admin_name(enforce_admin_t what)
{
	switch (what) {
	case ADMIN_CREATE_OBJECT: return "C_CreateObject";
	case ADMIN_COPY_OBJECT: return "C_CopyObject";
	case ADMIN_SET_ATTRIBUTE: return "C_SetAttributeValue";
	case ADMIN_DESTROY_OBJECT: return "C_DestroyObject";
	case ADMIN_GENERATE_KEY: return "C_GenerateKey";
	case ADMIN_UNWRAP_KEY: return "C_UnwrapKey";
	case ADMIN_DERIVE_KEY: return "C_DeriveKey";
	case ADMIN_INIT_TOKEN: return "C_InitToken";
	case ADMIN_INIT_PIN: return "C_InitPIN";
	case ADMIN_SET_PIN: return "C_SetPIN";
	case ADMIN_SO_LOGIN: return "C_Login(SO)";
	}
	return "?";
}

/* Everything an audit record says about the target of a decision. */
typedef struct target {
	char token[33], serial[17];
	key_attrs_t ka;
	bool have_ka;
	const policy_key_t *gkey;
} target_t;

static void target_fill(target_t *t, CK_SLOT_ID slot, CK_SESSION_HANDLE sess, CK_OBJECT_HANDLE obj)
{
	/* Which fingerprints an identity is proven against depends on the
	 * config: a new config starts from an empty cache. */
	static uint64_t cache_serial; /* not the config's address: a freed one's may come again */
	uint64_t serial = tl_depth ? cfgref_serial(&tl_pin) : 0;
	if (__atomic_exchange_n(&cache_serial, serial, __ATOMIC_ACQ_REL) != serial)
		keycache_clear();

	memset(t, 0, sizeof(*t));
	slot_names(slot, t->token, t->serial);
	if (obj != CK_INVALID_HANDLE && keycache_get(slot, sess, obj, &t->ka) == CKR_OK)
		t->have_ka = true;
}

static const idtoken_claims_t *idtoken_current(const config_t *cfg, idtoken_claims_t *copy,
                                               idtoken_status_t *status);

/* The ID token a record names: set around a record of a token that was
 * not accepted (its claims are known when only times or audience failed),
 * else the token in force.  Thread-local: records of other threads are
 * not affected. */
static __thread const idtoken_claims_t *tl_emit_idtoken;
static __thread bool tl_emit_no_idtoken;

static void emit(audit_event_t ev, bool allowed, const char *reason, const char *detail,
                 const policy_decision_t *d, const ticket_claims_t *tk, const target_t *t,
                 const char *mechanism, const char *hash, const unsigned char *data_sha,
                 size_t data_len, CK_RV ckr, const char *operation, int *delivered)
{
	static __thread idtoken_claims_t idt_copy;
	const idtoken_claims_t *idt = tl_emit_idtoken;
	idtoken_status_t idst;
	if (!idt && !tl_emit_no_idtoken && __atomic_load_n(&g_idtoken_any, __ATOMIC_ACQUIRE) &&
	    cfg_get())
		idt = idtoken_current(cfg_get(), &idt_copy, &idst);
	audit_record_t r = {
		.event = ev,
		.allowed = allowed,
		.reason = reason,
		.detail = detail && detail[0] ? detail : NULL,
		.rule = d && d->rule ? d->rule->name : NULL,
		.role = d && d->role ? d->role->name : NULL,
		.caller = &g_caller,
		.ticket = tk,
		.mechanism = mechanism,
		/* Never a hash the gate did not establish: "UNKNOWN" is none. */
		.hash = hash && strcmp(hash, hash_name(HASH_UNKNOWN)) ? hash : NULL,
		.hash_basis = mechanism ? inspect_basis_name(
		                                  inspect_mech_basis(mech_from_name(mechanism)))
		                        : NULL,
		.data_sha256 = data_sha,
		.data_len = data_len,
		.ckr = ckr,
		.operation = operation,
		.idtoken = idt,
		.approvers = d && d->approvers[0] ? d->approvers : NULL,
	};
	if (t) {
		r.token_label = t->token[0] ? t->token : NULL;
		r.token_serial = t->serial[0] ? t->serial : NULL;
		r.key_name = t->gkey ? t->gkey->name : NULL;
		if (t->have_ka) {
			r.key_id = t->ka.id;
			r.key_id_len = t->ka.id_len;
			r.key_label = t->ka.label;
			r.key_fingerprint = t->ka.has_fp ? t->ka.fp : NULL;
		}
	}
	int rc = audit_emit(&r);
	if (delivered)
		*delivered = rc == 0;
	/* SIGNGATE_DEBUG: the decision and why, as the record says it */
	unsigned area =
	        ev == AUDIT_TICKET ? SG_DBG_TICKET
	        : ev == AUDIT_CONFIG_LOAD || ev == AUDIT_CONFIG_RELOAD || ev == AUDIT_CONFIG_REFUSED
	                ? SG_DBG_CONFIG
	                : SG_DBG_POLICY;
	SG_DEBUG(area, "%s %s %s%s%s%s%s%s%s%s%s", operation ? operation : "-",
	         allowed ? "allow" : "deny", reason ? reason : "-", r.key_name ? " key=" : "",
	         r.key_name ? r.key_name : "", r.rule ? " rule=" : "", r.rule ? r.rule : "",
	         r.role ? " role=" : "", r.role ? r.role : "", r.mechanism ? " mechanism=" : "",
	         r.mechanism ? r.mechanism : "");
	if (r.detail)
		SG_DEBUG(area, "  why: %s", r.detail);
	if (rc != 0)
		SG_DEBUG(SG_DBG_AUDIT, "%s %s: record not kept (audit_emit %d)",
		         operation ? operation : "-", reason ? reason : "-", rc);
}

/* SIGNGATE_TICKET holds the ticket or names a file holding it.  Read
 * with secure_getenv (a setuid host must not take it from its invoker)
 * and, for a file, through secure_open.c: a regular file of the caller's
 * own (or root's) that nobody else may write, at most a ticket long. */
static void env_ticket_load(const config_t *cfg)
{
	const char *v = secure_getenv("SIGNGATE_TICKET");
	char err[CONFIG_ERR_MAX], *buf = NULL;
	size_t n = 0, got = 0;
	static char bundle_ticket[TICKET_MAX_LEN + 1]; /* under g_lock */

	/* Without SIGNGATE_TICKET, the ticket of SIGNGATE_BUNDLE (issue 16). */
	if ((!v || !v[0]) && env_bundle_ticket(bundle_ticket, sizeof bundle_ticket))
		v = bundle_ticket;

	g_env_ticket_present = false;
	if (!v || !v[0]) {
		__atomic_store_n(&g_env_ticket_done, true, __ATOMIC_RELEASE);
		return;
	}
	g_env_ticket_present = true;
	__atomic_store_n(&g_ticket_any, true, __ATOMIC_RELEASE);
	__atomic_store_n(&g_env_ticket_done, true, __ATOMIC_RELEASE);
	if (ticket_looks_like(v, strlen(v))) {
		g_env_ticket_status = ticket_verify(cfg, v, strlen(v), time(NULL), &g_env_ticket);
	} else if (!secure_read_file(v, SECURE_OPEN_NOFOLLOW, TICKET_MAX_LEN + 2, &buf, &got, NULL,
	                             err, sizeof(err))) {
		fprintf(stderr, "signgate: SIGNGATE_TICKET: %s\n", err);
		g_env_ticket_status = TICKET_MALFORMED;
	} else {
		n = got;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
			n--;
		buf[n] = '\0';
		g_env_ticket_status =
		        n == 0 || n > TICKET_MAX_LEN
		                ? TICKET_MALFORMED
		                : ticket_verify(cfg, buf, n, time(NULL), &g_env_ticket);
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
	audit_record_t r = {
		.event = AUDIT_TICKET,
		.allowed = g_env_ticket_status == TICKET_OK,
		.reason = policy_reason_name(policy_ticket_reason(g_env_ticket_status)),
		.detail = "SIGNGATE_TICKET",
		.caller = &g_caller,
		.ticket = g_env_ticket_status == TICKET_OK ? &g_env_ticket : NULL,
		.operation = "ticket",
	};
	audit_emit(&r);
}

/* The ticket that applies now: the one given at C_Login, else the
 * environment's.  *status tells why none applies when one was presented. */
static const ticket_claims_t *ticket_current(const config_t *cfg, ticket_claims_t *copy,
                                             ticket_status_t *status, bool *presented)
{
	time_t now = time(NULL);
	const ticket_claims_t *t = NULL;

	*status = TICKET_OK;
	*presented = false;
	if (__atomic_load_n(&g_env_ticket_done, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&g_ticket_any, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&g_lock);
	if (g_has_ticket) {
		*copy = g_ticket;
		t = copy;
		*presented = true;
	} else {
		if (!g_env_ticket_done)
			env_ticket_load(cfg);
		if (g_env_ticket_present) {
			*presented = true;
			if (g_env_ticket_status == TICKET_OK) {
				*copy = g_env_ticket;
				t = copy;
			} else {
				*status = g_env_ticket_status;
			}
		}
	}
	pthread_mutex_unlock(&g_lock);
	/* Verified once, but valid only for its window: check it at every use. */
	if (t && t->exp && now > t->exp + TICKET_LEEWAY_S) {
		*status = TICKET_EXPIRED;
		return NULL;
	}
	if (t && t->nbf && now + TICKET_LEEWAY_S < t->nbf) {
		*status = TICKET_NOT_YET_VALID;
		return NULL;
	}
	return t;
}

/* Accept a verified token once: count its jti in the state directory
 * (max_uses of its provider within its lifetime, across processes). */
static idtoken_status_t idtoken_count_use(const config_t *cfg, const idtoken_claims_t *c,
                                          char *detail, size_t dlen, bool *unavailable)
{
	const config_idp_t *p = NULL;
	char name[IDTOKEN_VALUE_MAX + 160];
	int q;

	for (size_t i = 0; i < cfg->n_idps; i++)
		if (!strcmp(cfg->idps[i].name, c->provider))
			p = &cfg->idps[i];
	if (!p)
		return IDTOKEN_ISSUER;
	snprintf(name, sizeof(name), "idtoken:%s:%s", c->issuer, c->jti);
	q = quota_take(cfg->state_dir, name, p->max_uses, 0, time(NULL));
	if (q == 1)
		return IDTOKEN_OK;
	if (q == 0)
		snprintf(detail, dlen, "jti already used %u times (max_uses of provider %s)",
		         p->max_uses, p->name);
	else
		snprintf(detail, dlen, "state store unavailable, uses cannot be counted: %s",
		         state_error());
	*unavailable = q < 0;
	return IDTOKEN_REPLAYED;
}

/* Verify, count and record one token; the record carries its claims
 * whenever they are known, never the token. */
static idtoken_status_t idtoken_accept(const config_t *cfg, const char *tok, size_t len,
                                       const char *how, const target_t *t, CK_RV deny_ckr,
                                       idtoken_claims_t *out)
{
	char detail[200], msg[260];
	idtoken_status_t st =
	        idtoken_verify(cfg, tok, len, time(NULL), out, detail, sizeof(detail));
	bool unavailable = false;

	if (st == IDTOKEN_OK)
		st = idtoken_count_use(cfg, out, detail, sizeof(detail), &unavailable);
	snprintf(msg, sizeof(msg), "%s: %s", how, st == IDTOKEN_OK ? "verified" : detail);
	tl_emit_idtoken = out->jti[0] ? out : NULL;
	tl_emit_no_idtoken = true;
	emit(AUDIT_LOGIN, st == IDTOKEN_OK,
	     st == IDTOKEN_OK ? policy_reason_name(REASON_TOKEN_ACCEPTED)
	     : unavailable    ? policy_reason_name(REASON_STATE_UNAVAILABLE)
	                      : policy_reason_name(policy_idtoken_reason(st)),
	     msg, NULL, NULL, t, NULL, NULL, NULL, 0, st == IDTOKEN_OK ? CKR_OK : deny_ckr,
	     "C_Login", NULL);
	tl_emit_idtoken = NULL;
	tl_emit_no_idtoken = false;
	return st;
}

/* SIGNGATE_ID_TOKEN holds the token or names a file holding it: the
 * caller's own (or root's) that nobody else may write, at most a token long. */
static void env_idtoken_load(const config_t *cfg)
{
	const char *v = secure_getenv("SIGNGATE_ID_TOKEN");
	char err[CONFIG_ERR_MAX], *buf = NULL;
	size_t n = 0, got = 0;

	g_env_idtoken_present = false;
	__atomic_store_n(&g_env_idtoken_done, true, __ATOMIC_RELEASE);
	if (!v || !v[0])
		return;
	g_env_idtoken_present = true;
	__atomic_store_n(&g_idtoken_any, true, __ATOMIC_RELEASE);
	if (ticket_looks_like(v, strlen(v)) || idtoken_looks_like(cfg, v, strlen(v))) {
		g_env_idtoken_status = idtoken_accept(cfg, v, strlen(v), "SIGNGATE_ID_TOKEN", NULL,
		                                      CKR_FUNCTION_REJECTED, &g_env_idtoken);
		return;
	}
	if (!secure_read_file(v, SECURE_OPEN_NOFOLLOW, TICKET_MAX_LEN + 2, &buf, &got, NULL, err,
	                      sizeof(err))) {
		fprintf(stderr, "signgate: SIGNGATE_ID_TOKEN: %s\n", err);
		n = 0;
	} else {
		n = got;
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
			n--;
		buf[n] = '\0';
	}
	g_env_idtoken_status = idtoken_accept(cfg, buf ? buf : "", n, "SIGNGATE_ID_TOKEN", NULL,
	                                      CKR_FUNCTION_REJECTED, &g_env_idtoken);
	if (buf) {
		OPENSSL_cleanse(buf, got);
		free(buf);
	}
}

/* The ID token that applies now: the one given at C_Login, else the
 * environment's.  *status says why none applies when one was presented.
 * Expiry is judged by the policy at every use. */
static const idtoken_claims_t *idtoken_current(const config_t *cfg, idtoken_claims_t *copy,
                                               idtoken_status_t *status)
{
	const idtoken_claims_t *t = NULL;

	*status = IDTOKEN_OK;
	if (__atomic_load_n(&g_env_idtoken_done, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&g_idtoken_any, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&g_lock);
	if (g_has_idtoken) {
		*copy = g_idtoken;
		t = copy;
	} else {
		if (!g_env_idtoken_done && cfg)
			env_idtoken_load(cfg);
		if (g_env_idtoken_present) {
			if (g_env_idtoken_status == IDTOKEN_OK) {
				*copy = g_env_idtoken;
				t = copy;
			} else {
				*status = g_env_idtoken_status;
			}
		}
	}
	pthread_mutex_unlock(&g_lock);
	return t;
}

/* --- approvals (issue 16) --------------------------------------------- */

static void approvals_reset_locked(void)
{
	g_n_approvals = 0;
	g_env_n_approvals = 0;
	g_env_bundle_done = false;
	g_approvals_any = false;
}

/* SIGNGATE_BUNDLE: the bundle itself or the path of a file holding it.
 * malloc'd text or NULL. */
static char *env_bundle_text(size_t *len)
{
	const char *v = secure_getenv("SIGNGATE_BUNDLE");
	char err[CONFIG_ERR_MAX], *buf = NULL;
	if (!v || !v[0])
		return NULL;
	if (bundle_looks_like(v, strlen(v))) {
		*len = strlen(v);
		return strdup(v);
	}
	/* A file: the caller's own (or root's), nobody else may write it. */
	if (!secure_read_file(v, SECURE_OPEN_NOFOLLOW, BUNDLE_MAX_LEN, &buf, len, NULL, err,
	                      sizeof(err))) {
		fprintf(stderr, "signgate: SIGNGATE_BUNDLE: %s\n", err);
		return NULL;
	}
	while (*len && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r' || buf[*len - 1] == ' '))
		(*len)--;
	buf[*len] = '\0';
	return buf;
}

/* Verify a bundle's approvals into out.  An approval that does not
 * verify (malformed, unknown approver or key, bad signature) fails the
 * whole bundle: -1 with the reason in detail.  Expired and future ones
 * are left out (they would not count) and said in detail. */
static int approvals_verify_bundle(const config_t *cfg, const bundle_t *b, approval_t *out,
                                   size_t *n, char *detail, size_t dlen)
{
	time_t now = time(NULL);
	size_t off = 0;
	*n = 0;
	detail[0] = '\0';
	for (size_t i = 0; i < b->n_approvals; i++) {
		char why[160];
		approval_status_t st = approval_verify(cfg, b->approvals[i], b->approval_len[i],
		                                       now, &out[*n], why, sizeof why);
		if (st == APPROVAL_OK) {
			(*n)++;
			continue;
		}
		if (st == APPROVAL_EXPIRED || st == APPROVAL_NOT_YET_VALID) {
			if (off < dlen) {
				int w = snprintf(detail + off, dlen - off,
				                 "%sapproval %zu left out: %s", off ? "; " : "",
				                 i + 1, why);
				off += w > 0 ? (size_t)w : 0;
			}
			memset(&out[*n], 0, sizeof(out[*n]));
			continue;
		}
		snprintf(detail, dlen, "approval %zu: %s: %s", i + 1, approval_status_name(st),
		         why);
		return -1;
	}
	return 0;
}

/* The approvers' names of a verified set, for the login record. */
static void approvals_names(const approval_t *a, size_t n, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%s", i ? "," : "", a[i].approver);
		off += w > 0 ? (size_t)w : 0;
	}
}

/* Under g_lock: SIGNGATE_BUNDLE, verified once. */
static void env_bundle_load_locked(const config_t *cfg)
{
	size_t len = 0;
	char *text = env_bundle_text(&len), detail[200];
	bundle_t b;
	g_env_bundle_done = true;
	g_env_n_approvals = 0;
	if (!text) {
		if (secure_getenv("SIGNGATE_BUNDLE") && secure_getenv("SIGNGATE_BUNDLE")[0]) {
			audit_record_t r = {
				.event = AUDIT_TICKET,
				.allowed = false,
				.reason = policy_reason_name(REASON_APPROVAL_INVALID),
				.detail =
				        "SIGNGATE_BUNDLE: not a bundle nor a readable file of one",
				.caller = &g_caller,
				.operation = "approval"
			};
			audit_emit(&r);
		}
		__atomic_store_n(&g_approvals_any, g_n_approvals > 0, __ATOMIC_RELEASE);
		return;
	}
	bool ok = bundle_parse(text, len, &b, detail, sizeof detail) &&
	          approvals_verify_bundle(cfg, &b, g_env_approvals, &g_env_n_approvals, detail,
	                                  sizeof detail) == 0;
	if (!ok)
		g_env_n_approvals = 0; /* one bad approval: none of the bundle counts */
	char names[160], msg[400];
	approvals_names(g_env_approvals, g_env_n_approvals, names, sizeof names);
	snprintf(msg, sizeof msg, "SIGNGATE_BUNDLE%s%s%s%s", ok ? ": " : "", ok ? names : "",
	         detail[0] ? ": " : "", detail);
	audit_record_t r = { .event = AUDIT_TICKET,
		             .allowed = ok,
		             .reason = policy_reason_name(ok ? REASON_APPROVALS_ACCEPTED
		                                             : REASON_APPROVAL_INVALID),
		             .detail = msg,
		             .caller = &g_caller,
		             .operation = "approval",
		             .approvers = ok && names[0] ? names : NULL };
	audit_emit(&r);
	bundle_free(&b);
	OPENSSL_cleanse(text, len);
	free(text);
	__atomic_store_n(&g_approvals_any, g_n_approvals > 0 || g_env_n_approvals > 0,
	                 __ATOMIC_RELEASE);
}

/* Under g_lock (from env_ticket_load): the ticket of SIGNGATE_BUNDLE. */
static bool env_bundle_ticket(char *buf, size_t len)
{
	size_t n = 0;
	char *text = env_bundle_text(&n);
	bundle_t b;
	bool found = false;
	if (!text)
		return false;
	if (bundle_parse(text, n, &b, NULL, 0) && b.ticket && strlen(b.ticket) < len) {
		snprintf(buf, len, "%s", b.ticket);
		found = true;
	}
	bundle_free(&b);
	OPENSSL_cleanse(text, n);
	free(text);
	return found;
}

/* The approvals that apply now: the login bundle's, else SIGNGATE_BUNDLE's. */
static size_t approvals_current(const config_t *cfg, approval_t *out)
{
	size_t n = 0;
	if (__atomic_load_n(&g_env_bundle_done, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&g_approvals_any, __ATOMIC_ACQUIRE))
		return 0;
	pthread_mutex_lock(&g_lock);
	if (g_n_approvals) {
		n = g_n_approvals;
		memcpy(out, g_approvals, n * sizeof(*out));
	} else {
		if (!g_env_bundle_done)
			env_bundle_load_locked(cfg);
		n = g_env_n_approvals;
		memcpy(out, g_env_approvals, n * sizeof(*out));
	}
	pthread_mutex_unlock(&g_lock);
	return n;
}

/* C_Login with a bundle as the PIN: its ticket (if any) as a ticket PIN,
 * its approvals verified; any part that does not verify refuses the
 * login (CKR_PIN_INCORRECT). */
static CK_RV login_bundle(const config_t *cfg, target_t *t, const char *pin, size_t pin_len)
{
	bundle_t b;
	char detail[200], names[160], msg[400];
	ticket_claims_t claims;
	approval_t *list = calloc(BUNDLE_MAX_APPROVALS, sizeof(*list));
	size_t n = 0;
	if (!list)
		return CKR_HOST_MEMORY;
	if (!bundle_parse(pin, pin_len, &b, detail, sizeof detail)) {
		free(list);
		emit(AUDIT_TICKET, false, policy_reason_name(REASON_APPROVAL_INVALID), detail, NULL,
		     NULL, t, NULL, NULL, NULL, 0, CKR_PIN_INCORRECT, "C_Login", NULL);
		return CKR_PIN_INCORRECT;
	}
	if (b.ticket) {
		ticket_status_t st =
		        ticket_verify(cfg, b.ticket, strlen(b.ticket), time(NULL), &claims);
		if (st != TICKET_OK) {
			bundle_free(&b);
			free(list);
			emit(AUDIT_TICKET, false, policy_reason_name(policy_ticket_reason(st)),
			     "ticket of the bundle given as PIN", NULL, NULL, t, NULL, NULL, NULL,
			     0, CKR_PIN_INCORRECT, "C_Login", NULL);
			return CKR_PIN_INCORRECT;
		}
	}
	if (approvals_verify_bundle(cfg, &b, list, &n, detail, sizeof detail) != 0) {
		bundle_free(&b);
		free(list);
		emit(AUDIT_TICKET, false, policy_reason_name(REASON_APPROVAL_INVALID), detail, NULL,
		     NULL, t, NULL, NULL, NULL, 0, CKR_PIN_INCORRECT, "C_Login", NULL);
		return CKR_PIN_INCORRECT;
	}
	pthread_mutex_lock(&g_lock);
	if (b.ticket) {
		g_ticket = claims;
		g_has_ticket = true;
		__atomic_store_n(&g_ticket_any, true, __ATOMIC_RELEASE);
	}
	g_n_approvals = n;
	memcpy(g_approvals, list, n * sizeof(*list));
	g_logged_in = true;
	__atomic_add_fetch(&g_login_gen, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&g_approvals_any, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g_lock);
	approvals_names(list, n, names, sizeof names);
	snprintf(msg, sizeof msg, "bundle given as PIN: %zu approval%s%s%s", n, n == 1 ? "" : "s",
	         detail[0] ? "; " : "", detail);
	policy_decision_t d = { 0 };
	snprintf(d.approvers, sizeof d.approvers, "%s", names);
	emit(AUDIT_TICKET, true, policy_reason_name(REASON_BUNDLE_ACCEPTED), msg, &d,
	     b.ticket ? &claims : NULL, t, NULL, NULL, NULL, 0, CKR_OK, "C_Login", NULL);
	bundle_free(&b);
	OPENSSL_cleanse(list, BUNDLE_MAX_APPROVALS * sizeof(*list));
	free(list);
	return CKR_OK;
}

static const policy_role_t *login_role(const config_t *cfg)
{
	const policy_role_t *r = NULL;
	if (!__atomic_load_n(&g_role_any, __ATOMIC_ACQUIRE))
		return NULL;
	pthread_mutex_lock(&g_lock);
	if (g_login_role[0]) {
		for (size_t i = 0; i < cfg->n_roles; i++)
			if (!strcmp(cfg->roles[i].name, g_login_role)) {
				r = &cfg->roles[i];
				break;
			}
	}
	pthread_mutex_unlock(&g_lock);
	return r;
}

static bool mech_is_pss(mech_id_t m)
{
	return m == MECH_RSA_PKCS_PSS ||
	       (m >= MECH_SHA1_RSA_PKCS_PSS && m <= MECH_SHA512_RSA_PKCS_PSS);
}

/* Where the hash is supplied with the data rather than fixed. */
static bool mech_hash_from_data(mech_id_t m)
{
	return m == MECH_RSA_PKCS || m == MECH_ECDSA;
}

/* Decide a key use.  Fills d; the ticket pointer, if any, is returned
 * through tk so that the audit can name it.  key_reason: why t has no
 * governed key, when it looks like one or is unknown (policy_request_t). */
static void decide_use(const config_t *cfg, sg_session_t *s, policy_action_t action,
                       const target_t *t, policy_reason_t key_reason, mech_id_t m, hash_alg_t h,
                       bool deferred, policy_decision_t *d, ticket_claims_t *tk_copy,
                       const ticket_claims_t **tk)
{
	ticket_status_t ts;
	bool presented;
	policy_request_t req = { 0 };
	static __thread idtoken_claims_t idt_copy;

	memset(d, 0, sizeof(*d));
	*tk = NULL;
	(void)s;
	(void)presented;
	ts = TICKET_OK;
	if (cfg)
		*tk = ticket_current(cfg, tk_copy, &ts, &presented);

	req.action = action;
	req.caller = &g_caller;
	req.key = t->gkey;
	req.mech = m;
	req.hash = h;
	req.hash_deferred = deferred;
	req.now = time(NULL);
	req.ticket = *tk;
	req.ticket_status = ts;
	req.key_reason = key_reason;
	approval_t apv[BUNDLE_MAX_APPROVALS];
	if (cfg) {
		req.login_role = login_role(cfg);
		req.idtoken = idtoken_current(cfg, &idt_copy, &req.idtoken_status);
		req.n_approvals = approvals_current(cfg, apv);
		req.approvals = req.n_approvals ? apv : NULL;
	}
	policy_decide(cfg, &req, d);
}

/* The target of the operation in progress, as filled at *Init. */
static void target_from_op(const sg_session_t *s, target_t *t)
{
	memcpy(t->token, s->op.token_label, sizeof(t->token));
	memcpy(t->serial, s->op.token_serial, sizeof(t->serial));
	t->ka = s->op.key_attrs;
	t->have_ka = true;
	t->gkey = s->op.gkey;
}

/* Find the governed key behind the target's attributes: token.c, the
 * same lookup the tools make (signgate inventory, explain --object). */
static void target_govern(const config_t *cfg, target_t *t, policy_reason_t *why)
{
	t->gkey = NULL;
	*why = REASON_KEY_UNGOVERNED;
	if (!cfg || !t->have_ka)
		return;
	t->gkey = token_key_govern(cfg, t->token, t->serial, &t->ka, why);
}

/* Is an operation still active in the real session?  Asked without side
 * effects: an *Init of the same kind with no usable key is refused with
 * CKR_OPERATION_ACTIVE while an operation is active (SoftHSM checks the
 * active operation before the key, as modules commonly do); any other
 * answer means none is.  CKR_OK would mean the module started one on an
 * invalid handle: counted as active, so that it is ended too. */
static bool real_op_active(sg_session_t *s)
{
	CK_MECHANISM m = { CKM_RSA_PKCS, NULL, 0 };
	CK_FUNCTION_LIST_PTR f = g_real;
	CK_RV rv;

	if (!f)
		return false;
	switch (s->op.op) {
	case SG_OP_SIGN:
		rv = f->C_SignInit ? f->C_SignInit(s->handle, &m, CK_INVALID_HANDLE)
		                   : CKR_GENERAL_ERROR;
		break;
	case SG_OP_SIGN_RECOVER:
		rv = f->C_SignRecoverInit ? f->C_SignRecoverInit(s->handle, &m, CK_INVALID_HANDLE)
		                          : CKR_GENERAL_ERROR;
		break;
	case SG_OP_DECRYPT:
		rv = f->C_DecryptInit ? f->C_DecryptInit(s->handle, &m, CK_INVALID_HANDLE)
		                      : CKR_GENERAL_ERROR;
		break;
	default: return false; /* 3.0 message operations: gate.c ends them */
	}
	return rv == CKR_OPERATION_ACTIVE || rv == CKR_OK;
}

/* The largest output signgate lends a real operation it ends. */
#define TERMINATE_OUT_MAX (1024UL * 1024UL)

/* One finishing call of the operation's kind, on harmless input. */
static CK_RV real_op_finish_call(sg_session_t *s, CK_BYTE_PTR out, CK_ULONG_PTR out_len)
{
	static const CK_BYTE in[32] = { 0 };
	CK_FUNCTION_LIST_PTR f = g_real;

	/* A module may leave entries NULL: then nothing can end it. */
	switch (s->op.op) {
	case SG_OP_SIGN:
		/* Parts the token has seen end with C_SignFinal; when the first
		 * part was refused before it reached the token (a raw mechanism
		 * offered in parts), the token holds a fresh operation, which a
		 * single-part C_Sign ends. */
		if (s->op.multipart && s->op.parts_forwarded)
			return f->C_SignFinal ? f->C_SignFinal(s->handle, out, out_len)
			                      : CKR_FUNCTION_NOT_SUPPORTED;
		if (!f->C_Sign)
			return CKR_FUNCTION_NOT_SUPPORTED;
		return f->C_Sign(s->handle, (CK_BYTE_PTR)in, s->op.mech == MECH_RSA_X_509 ? 0 : 1,
		                 out, out_len);
	case SG_OP_SIGN_RECOVER:
		return f->C_SignRecover
		               ? f->C_SignRecover(s->handle, (CK_BYTE_PTR)in, 1, out, out_len)
		               : CKR_FUNCTION_NOT_SUPPORTED;
	case SG_OP_DECRYPT:
		return f->C_Decrypt ? f->C_Decrypt(s->handle, (CK_BYTE_PTR)in, 1, out, out_len)
		                    : CKR_FUNCTION_NOT_SUPPORTED;
	default: return CKR_OK;
	}
}

/* End an operation in the real module without handing anything out:
 * PKCS#11 2.40 has no cancel, so finish it on harmless input into a
 * buffer of the size the module asks for (length query first; a length
 * that grows between query and call is asked again), wiped and freed.
 * Returns true only when the operation is known ended: the finishing
 * call was not one that leaves it active, and the module no longer
 * reports it active.  A denied operation must not stay active, or the
 * next data call would reach it unchecked: the caller keeps it blocked
 * when this fails. */
static bool real_op_terminate(sg_session_t *s)
{
	CK_RV rv = CKR_OK;

	if (!g_real)
		return true;
	/* 3.0 message operations are ended by gate.c (C_SessionCancel or
	 * the message Final), which knows the message calls. */
	if (s->op.op != SG_OP_SIGN && s->op.op != SG_OP_SIGN_RECOVER && s->op.op != SG_OP_DECRYPT)
		return true;
	for (int tries = 0; tries < 3; tries++) {
		CK_ULONG len = 0, got;
		rv = real_op_finish_call(s, NULL, &len);
		if (rv != CKR_OK)
			break; /* a failed length query ends the operation (PKCS#11) */
		if (len == 0)
			len = 1;
		if (len > TERMINATE_OUT_MAX)
			len = TERMINATE_OUT_MAX;
		CK_BYTE_PTR buf = malloc(len);
		if (!buf) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		got = len;
		rv = real_op_finish_call(s, buf, &got);
		OPENSSL_cleanse(buf, len);
		free(buf);
		if (rv != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv == CKR_BUFFER_TOO_SMALL || rv == CKR_ARGUMENTS_BAD || rv == CKR_HOST_MEMORY)
		return false;
	return !real_op_active(s);
}

static bool op_is_decrypt(sg_op_t op);

/* The operation could not be ended in the real module: keep what is
 * needed to end it later (kind, mechanism, key, multi-part), forget what
 * was counted for it, and refuse everything on it until it ends. */
static void op_block(sg_session_t *s)
{
	const config_t *cfg = cfg_get();

	/* A decryption that reached the token is an attempt: its unit
	 * stays taken (a padding oracle answers by failing). */
	if (s->op.quota_taken && cfg && !op_is_decrypt(s->op.op))
		quota_give_back(cfg->state_dir, s->op.quota_name, s->op.quota_period_s, time(NULL));
	s->op.quota_taken = false;
	session_op_data_reset(&s->op);
	s->op.blocked = true;
}

/* An audit record about the operation in progress (its key, mechanism
 * and bound ticket), refused with a reason of the state machine. */
static void op_emit_deny(sg_session_t *s, policy_reason_t reason, const char *detail, CK_RV ckr)
{
	policy_decision_t d = { 0 };
	target_t t;

	d.rule = s->op.rule;
	d.role = s->op.role;
	target_from_op(s, &t);
	emit(AUDIT_SIGN, false, policy_reason_name(reason), detail, &d,
	     s->op.has_ticket ? &s->op.ticket : NULL, &t, mech_ckm_name(s->op.mechanism),
	     s->op.hash != HASH_UNKNOWN ? hash_name(s->op.hash) : NULL, NULL, 0, ckr, op_call(s),
	     NULL);
}

/* End the refused operation in the real module; if it cannot be ended,
 * it stays blocked (and the audit says so). */
static void op_terminate_or_block(sg_session_t *s)
{
	if (real_op_terminate(s)) {
		session_op_clear(&s->op);
		return;
	}
	op_block(s);
	op_emit_deny(s, REASON_OPERATION_BLOCKED,
	             "the token did not end the refused operation; blocked until it can be ended",
	             CKR_FUNCTION_REJECTED);
}

uint64_t enforce_login_generation(void)
{
	return __atomic_load_n(&g_login_gen, __ATOMIC_ACQUIRE);
}

CK_RV enforce_op_check(sg_session_t *s)
{
	CFG_SCOPE();
	bool logged_in;
	const config_t *cfg = cfg_get();

	if (s->op.op == SG_OP_NONE || s->op.login_gen == enforce_login_generation())
		return CKR_OK;
	pthread_mutex_lock(&g_lock);
	logged_in = g_logged_in;
	pthread_mutex_unlock(&g_lock);
	CK_RV ckr = logged_in ? CKR_FUNCTION_REJECTED : CKR_USER_NOT_LOGGED_IN;
	op_emit_deny(s, REASON_LOGIN_CHANGED,
	             logged_in ? "the caller logged in anew since the operation started"
	                       : "the caller logged out since the operation started",
	             ckr);
	if (s->op.quota_taken && cfg)
		quota_give_back(cfg->state_dir, s->op.quota_name, s->op.quota_period_s, time(NULL));
	s->op.quota_taken = false;
	if (s->op.op == SG_OP_MESSAGE_SIGN || s->op.op == SG_OP_MESSAGE_DECRYPT) {
		/* gate.c ends a message-based operation (op_abort) */
		session_op_clear(&s->op);
		return ckr;
	}
	op_terminate_or_block(s);
	return ckr;
}

CK_RV enforce_op_blocked(sg_session_t *s, bool at_init)
{
	CFG_SCOPE();
	if (real_op_terminate(s)) {
		if (!at_init)
			op_emit_deny(s, REASON_OPERATION_BLOCKED,
			             "the blocked operation is now ended; this call is refused",
			             CKR_FUNCTION_REJECTED);
		session_op_clear(&s->op);
		return at_init ? CKR_OK : CKR_FUNCTION_REJECTED;
	}
	if (at_init)
		return CKR_OPERATION_ACTIVE;
	op_emit_deny(s, REASON_OPERATION_BLOCKED,
	             "the token has not ended a refused operation; nothing reaches it",
	             CKR_FUNCTION_REJECTED);
	return CKR_FUNCTION_REJECTED;
}

CK_RV enforce_op_untracked(sg_session_t *s, sg_op_t kind)
{
	CFG_SCOPE();
	target_t t;

	memset(&t, 0, sizeof(t));
	slot_names(s->slot, t.token, t.serial);
	emit(AUDIT_SIGN, false, policy_reason_name(REASON_OPERATION_NOT_INITIALIZED),
	     "a data call on an operation signgate does not track is not forwarded", NULL, NULL, &t,
	     NULL, NULL, NULL, 0, CKR_OPERATION_NOT_INITIALIZED, op_name(kind), NULL);
	return CKR_OPERATION_NOT_INITIALIZED;
}

bool enforce_op_after_error(sg_session_t *s, CK_RV rv)
{
	CFG_SCOPE();
	(void)rv;
	if (s->op.op == SG_OP_NONE || !real_op_active(s))
		return true;
	/* Against PKCS#11 the token kept the operation active after an
	 * error: end it, or keep it blocked. */
	if (real_op_terminate(s))
		return true;
	op_block(s);
	op_emit_deny(s, REASON_OPERATION_BLOCKED,
	             "the token kept the operation active after an error and did not end it",
	             CKR_FUNCTION_REJECTED);
	return false;
}

CK_RV enforce_op_fault(sg_session_t *s, const char *detail, bool ended)
{
	CFG_SCOPE();
	const config_t *cfg = cfg_get();

	if (s->op.op == SG_OP_NONE)
		return CKR_DEVICE_ERROR;
	op_emit_deny(s, REASON_BACKEND_FAULT, detail, CKR_DEVICE_ERROR);
	if (s->op.quota_taken && cfg)
		quota_give_back(cfg->state_dir, s->op.quota_name, s->op.quota_period_s, time(NULL));
	s->op.quota_taken = false;
	if (ended || s->op.op == SG_OP_MESSAGE_SIGN || s->op.op == SG_OP_MESSAGE_DECRYPT)
		session_op_clear(&s->op);
	else
		op_terminate_or_block(s);
	return CKR_DEVICE_ERROR;
}

static sg_op_t op_for_use(enforce_use_t use)
{
	switch (use) {
	case USE_SIGN: return SG_OP_SIGN;
	case USE_SIGN_RECOVER: return SG_OP_SIGN_RECOVER;
	case USE_DECRYPT: return SG_OP_DECRYPT;
	default: return SG_OP_NONE;
	}
}

/* --- decrypt, unwrap, derive ------------------------------------------- */

/* The policy action for a key use: decryption, unwrapping and derivation
 * are capabilities of their own, never judged as signing. */
static policy_action_t action_for_use(enforce_use_t use)
{
	switch (use) {
	case USE_DECRYPT: return POLICY_ACTION_DECRYPT;
	case USE_UNWRAP: return POLICY_ACTION_UNWRAP;
	case USE_DERIVE: return POLICY_ACTION_DERIVE;
	case USE_WRAP: return POLICY_ACTION_ADMIN;
	default: return POLICY_ACTION_SIGN;
	}
}

static bool op_is_decrypt(sg_op_t op)
{
	return op == SG_OP_DECRYPT || op == SG_OP_MESSAGE_DECRYPT;
}

/* An allowed C_UnwrapKey or C_DeriveKey between its decision
 * (enforce_key_use) and its result (enforce_key_use_done).  Both happen
 * in one gate call on one thread, with the session locked: thread-local,
 * and cleared by every enforce_key_use so that a stale one is never
 * taken for another call's. */
static __thread struct pending_use {
	bool active;
	CK_SESSION_HANDLE session;
	enforce_use_t use;
	CK_MECHANISM_TYPE mechanism;
	const policy_rule_t *rule;
	const policy_role_t *role;
	target_t t;
} g_pending;

/* A counter taken in the state store, as the decision reads it. */
static policy_count_t count_answer(int q)
{
	return q == 1   ? POLICY_COUNT_TAKEN
	       : q == 0 ? POLICY_COUNT_EXHAUSTED
	                : POLICY_COUNT_UNAVAILABLE;
}

/* Take the rule's quota and the ticket's use for a single-call key use
 * (unwrap, derive) before the token sees it, as the decision asks for
 * them; they are not given back, whatever the token answers: a failed
 * attempt is an attempt.  Fills d (allowed, or the denial). */
static void take_use_counters(const config_t *cfg, const policy_decision_t *init,
                              const ticket_claims_t *tk, policy_decision_t *d)
{
	char name[96];
	policy_data_decision_t dd;
	policy_data_request_t q = {
		.op = POLICY_DATA_KEY_USE,
		.caller = &g_caller,
		.rule = init->rule,
		.role = init->role,
		.now = time(NULL),
		.ticket = tk,
	};

	for (;;) {
		policy_decide_data(cfg, &q, &dd);
		if (dd.need == POLICY_NEED_QUOTA) {
			policy_quota_counter(q.rule, &g_caller, name, sizeof(name));
			q.quota = count_answer(quota_take(cfg->state_dir, name, q.rule->quota_count,
			                                  q.rule->quota_period_s, time(NULL)));
		} else if (dd.need == POLICY_NEED_TICKET_USE) {
			policy_ticket_counter(tk, name, sizeof(name));
			q.ticket_use = count_answer(
			        quota_take(cfg->state_dir, name, tk->max_uses, 0, time(NULL)));
		} else {
			break;
		}
		if (q.quota == POLICY_COUNT_UNAVAILABLE || q.ticket_use == POLICY_COUNT_UNAVAILABLE)
			q.state_error = state_error();
	}
	*d = dd.d;
}

bool enforce_key_use_covers_new_key(const sg_session_t *s, enforce_use_t use, CK_ATTRIBUTE_PTR tmpl,
                                    CK_ULONG n)
{
	CFG_SCOPE();
	if (!s || !g_pending.active || g_pending.session != s->handle || g_pending.use != use)
		return false;
	/* Only a secret key, said explicitly: unwrapping or deriving a
	 * private key is importing one, which stays key administration. */
	bool secret = false;
	for (CK_ULONG i = 0; tmpl && i < n; i++) {
		if (tmpl[i].type != CKA_CLASS)
			continue;
		if (!tmpl[i].pValue || tmpl[i].ulValueLen != sizeof(CK_OBJECT_CLASS) ||
		    *(CK_OBJECT_CLASS *)tmpl[i].pValue != CKO_SECRET_KEY || secret)
			return false; /* unreadable, another class, or a second CKA_CLASS */
		secret = true;
	}
	return secret;
}

CK_RV enforce_key_use_done(sg_session_t *s, enforce_use_t use, CK_RV rv, CK_OBJECT_HANDLE new_key)
{
	CFG_SCOPE();
	const config_t *cfg = cfg_get();
	policy_decision_t d = { 0 };
	ticket_claims_t tkc;
	const ticket_claims_t *tk;
	ticket_status_t ts;
	bool presented;
	int delivered = 0;

	if (!s || !g_pending.active || g_pending.session != s->handle || g_pending.use != use)
		return rv;
	g_pending.active = false;
	/* the config g_pending points into: let go when this returns */
	__attribute__((cleanup(cfgref_drop), unused)) cfgref_t pending_cfg = tl_pending_cfg;
	tl_pending_cfg = (cfgref_t){ 0 };
	tk = cfg ? ticket_current(cfg, &tkc, &ts, &presented) : NULL;
	d.rule = g_pending.rule;
	d.role = g_pending.role;
	if (rv != CKR_OK) {
		/* Recorded with the token's answer; the quota stays taken.
		 * Unrecorded, the answer is not passed on (see the decrypt case
		 * in enforce_sign_result). */
		emit(AUDIT_SIGN, false,
		     policy_reason_name(use == USE_UNWRAP ? REASON_UNWRAP_FAILED
		                                          : REASON_DERIVE_FAILED),
		     "the token refused the operation", &d, tk, &g_pending.t,
		     mech_ckm_name(g_pending.mechanism), NULL, NULL, 0, rv, use_name(use),
		     &delivered);
		if (!delivered && cfg && cfg->audit.enabled && cfg->audit.required)
			return CKR_FUNCTION_REJECTED;
		return rv;
	}
	emit(AUDIT_SIGN, true, policy_reason_name(REASON_ALLOWED), NULL, &d, tk, &g_pending.t,
	     mech_ckm_name(g_pending.mechanism), NULL, NULL, 0, CKR_OK, use_name(use), &delivered);
	if (!delivered && cfg && cfg->audit.enabled && cfg->audit.required) {
		/* The new key exists but its record does not: it is not handed
		 * out. */
		if (g_real && new_key != CK_INVALID_HANDLE)
			g_real->C_DestroyObject(s->handle, new_key);
		return CKR_FUNCTION_REJECTED;
	}
	return CKR_OK;
}

/* --- key use ---------------------------------------------------------- */

CK_RV enforce_key_use(sg_session_t *s, enforce_use_t use, CK_MECHANISM_PTR mech,
                      CK_OBJECT_HANDLE key)
{
	CFG_SCOPE();
	const config_t *cfg = enforce_config();
	policy_decision_t d;
	policy_reason_t why;
	ticket_claims_t tkc;
	const ticket_claims_t *tk = NULL;
	target_t t;
	mech_id_t m = MECH_UNKNOWN;
	hash_alg_t h = HASH_UNKNOWN;
	bool pending = false;
	CK_RV rv;
	const char *mname;
	policy_action_t action = action_for_use(use);

	/* Read before the decision: a login after this point makes the
	 * operation's data calls fail (enforce_op_check). */
	uint64_t login_gen = enforce_login_generation();

	g_pending.active = false;
	cfgref_drop(&tl_pending_cfg);
	if (use == USE_OPERATION_STATE) {
		/* Saving or restoring the state of a governed operation would let
		 * it be finished elsewhere, unchecked. */
		if (s->op.op == SG_OP_NONE && key == CK_INVALID_HANDLE)
			return CKR_OK;
		target_fill(&t, s->slot, s->handle, s->op.key);
		emit(AUDIT_SIGN, false, policy_reason_name(REASON_OPERATION_STATE),
		     "operation state of a governed operation", NULL, NULL, &t, NULL, NULL, NULL, 0,
		     CKR_FUNCTION_REJECTED, use_name(use), NULL);
		return CKR_FUNCTION_REJECTED;
	}

	target_fill(&t, s->slot, s->handle, key);
	if (!t.have_ka) {
		/* What the real module would say about a bad handle. */
		key_attrs_t ka;
		rv = keycache_get(s->slot, s->handle, key, &ka);
		return rv == CKR_OK ? CKR_KEY_HANDLE_INVALID : rv;
	}
	target_govern(cfg, &t, &why);
	if (t.ka.standing != KEY_KNOWN) {
		/* Identity not established, or a handle of another token: never
		 * taken for an ungoverned key, refused and recorded. */
		bool other = t.ka.standing == KEY_OTHER_TOKEN;
		rv = other ? CKR_KEY_HANDLE_INVALID : CKR_FUNCTION_REJECTED;
		emit(use == USE_WRAP ? AUDIT_ADMIN : AUDIT_SIGN, false,
		     policy_reason_name(other ? REASON_KEY_OTHER_TOKEN : REASON_KEY_UNKNOWN),
		     other ? "key handle not found on this session's token"
		           : "identity of the key could not be established",
		     NULL, NULL, &t, mech ? mech_ckm_name(mech->mechanism) : NULL, NULL, NULL, 0,
		     rv, use_name(use), NULL);
		return rv;
	}

	/* Secret and public keys are not signing keys of this policy unless
	 * used to sign (HMAC): decrypting, unwrapping or deriving with them
	 * yields no signature. */
	if (!t.gkey && t.ka.cls != CKO_PRIVATE_KEY && use != USE_SIGN && use != USE_SIGN_RECOVER)
		return CKR_OK;

	if (use == USE_WRAP) {
		/* Exporting a governed key is key administration; an ungoverned
		 * private key may be wrapped as the token allows. */
		if (!t.gkey && why != REASON_KEY_MISMATCH)
			return CKR_OK;
		decide_use(cfg, s, POLICY_ACTION_ADMIN, &t, why, MECH_UNKNOWN, HASH_UNKNOWN, true,
		           &d, &tkc, &tk);
		emit(AUDIT_ADMIN, d.allow, policy_reason_name(d.reason), d.detail, &d, tk, &t,
		     mech ? mech_ckm_name(mech->mechanism) : NULL, NULL, NULL, 0,
		     d.allow ? CKR_OK : d.ckr, use_name(use), NULL);
		return d.allow ? CKR_OK : d.ckr;
	}

	if (mech && action != POLICY_ACTION_SIGN) {
		/* decrypt, unwrap, derive: the mechanism, no hash */
		m = mech_from_ckm(mech->mechanism);
	} else if (mech) {
		m = mech_from_ckm(mech->mechanism);
		h = mech_fixed_hash(m);
		if (mech_is_pss(m)) {
			/* The caller's parameters are read only when they are the
			 * size the mechanism needs; otherwise the real module's own
			 * answer is the right one, and nothing is signed. */
			if (!mech->pParameter ||
			    mech->ulParameterLen != sizeof(CK_RSA_PKCS_PSS_PARAMS))
				return CKR_MECHANISM_PARAM_INVALID;
			const CK_RSA_PKCS_PSS_PARAMS *pp = mech->pParameter;
			inspect_result_t ir;
			inspect_pss_params(h, pp->hashAlg, pp->mgf, pp->sLen, &ir);
			if (inspect_refused(&ir)) {
				/* The token would sign with them: a decision, recorded. */
				emit(AUDIT_SIGN, false,
				     policy_reason_name(REASON_PSS_PARAMS_INVALID), ir.detail, NULL,
				     NULL, &t, mech_ckm_name(mech->mechanism), NULL, NULL, 0,
				     CKR_MECHANISM_PARAM_INVALID, use_name(use), NULL);
				return CKR_MECHANISM_PARAM_INVALID;
			}
			h = ir.hash;
		} else if (mech_hash_from_data(m) && (use == USE_SIGN || use == USE_SIGN_RECOVER)) {
			pending = true;
		}
	}
	mname = mech ? mech_ckm_name(mech->mechanism) : NULL;

	/* Decryption, unwrapping and derivation are decided as what they are
	 * (capabilities of their own, with their own mechanisms), never as
	 * signing; raw RSA signing carries no hash to judge. */
	decide_use(cfg, s, action, &t, why, m, h, h == HASH_UNKNOWN, &d, &tkc, &tk);
	if (!d.allow) {
		emit(AUDIT_SIGN, false, policy_reason_name(d.reason), d.detail, &d, tk, &t, mname,
		     pending || action != POLICY_ACTION_SIGN ? NULL : hash_name(h), NULL, 0, d.ckr,
		     use_name(use), NULL);
		return d.ckr;
	}

	/* The kill switch (signgate revoke), shared by every host through the
	 * state store; read at most STATE_REVOCATION_CACHE_MS ago.  A store
	 * that cannot answer refuses: a revocation may be what it holds. */
	if (t.gkey) {
		char rwhy[STATE_REASON_MAX + 1] = "", detail[STATE_REASON_MAX + 40] = "";
		int r = state_key_revoked(cfg->state_dir, t.gkey->name, rwhy, sizeof rwhy);
		if (r != 0) {
			policy_reason_t rr = r > 0 ? REASON_KEY_REVOKED : REASON_STATE_UNAVAILABLE;
			/* rwhy is filled only for a revocation */
			if (r > 0)
				snprintf(detail, sizeof detail, "revoked (signgate revoke): %.*s",
				         (int)(sizeof rwhy - 1), rwhy);
			emit(AUDIT_SIGN, false, policy_reason_name(rr),
			     r > 0 ? detail : state_error(), &d, tk, &t, mname,
			     pending ? NULL : hash_name(h), NULL, 0, policy_reason_ckr(rr),
			     use_name(use), NULL);
			return policy_reason_ckr(rr);
		}
	}

	sg_op_t op = op_for_use(use);
	if (op == SG_OP_NONE) {
		/* unwrap/derive: one call, no data calls to count it at.  The
		 * quota is taken now, before the token sees it, and the record
		 * is written with the token's answer (enforce_key_use_done). */
		policy_decision_t qd;
		take_use_counters(cfg, &d, tk, &qd);
		if (!qd.allow) {
			emit(AUDIT_SIGN, false, policy_reason_name(qd.reason), qd.detail, &d, tk,
			     &t, mname, NULL, NULL, 0, qd.ckr, use_name(use), NULL);
			return qd.ckr;
		}
		g_pending.active = true;
		cfg_thread_keeps();
		cfgref_assign(&tl_pending_cfg, &tl_pin); /* its rule, role, key: till _done */
		g_pending.session = s->handle;
		g_pending.use = use;
		g_pending.mechanism = mech ? mech->mechanism : 0;
		g_pending.rule = d.rule;
		g_pending.role = d.role;
		g_pending.t = t;
		return CKR_OK;
	}
	session_op_clear(&s->op);
	/* What the operation keeps (key, rule, role) stays alive with its
	 * session; the operation before (now cleared) let its config go.  Not
	 * earlier: an unwrap on a session whose signature is in progress
	 * must not let the signature's config go. */
	cfgref_assign(&s->cfg_hold, &tl_pin);
	s->op.op = op;
	s->op.key = key;
	s->op.mechanism = mech ? mech->mechanism : 0;
	s->op.mech = m;
	s->op.hash = pending ? HASH_UNKNOWN : h;
	s->op.hash_pending = pending;
	s->op.gkey = t.gkey;
	s->op.rule = d.rule;
	s->op.role = d.role;
	s->op.approvals_cfg = cfg;
	memcpy(s->op.approvers, d.approvers, sizeof(s->op.approvers));
	s->op.key_attrs = t.ka;
	memcpy(s->op.token_label, t.token, sizeof(s->op.token_label));
	memcpy(s->op.token_serial, t.serial, sizeof(s->op.token_serial));
	s->op.login_gen = login_gen;
	if (tk) {
		s->op.ticket = *tk;
		s->op.has_ticket = true;
	}
	return CKR_OK;
}

/* --- data ------------------------------------------------------------- */

/* Deny the data of the operation in progress as policy_decide_data()
 * decided: the record (with the operation's key, mechanism and bound
 * ticket), the quota unit given back, the real operation ended. */
static void data_deny(sg_session_t *s, const policy_decision_t *d, const ticket_claims_t *tk)
{
	target_t t;
	const config_t *cfg = cfg_get();

	target_from_op(s, &t);
	emit(AUDIT_SIGN, false, policy_reason_name(d->reason), d->detail, d, tk, &t,
	     mech_ckm_name(s->op.mechanism),
	     s->op.hash != HASH_UNKNOWN ? hash_name(s->op.hash) : NULL, NULL, 0, d->ckr, op_call(s),
	     NULL);
	if (s->op.quota_taken && cfg)
		quota_give_back(cfg->state_dir, s->op.quota_name, s->op.quota_period_s, time(NULL));
	s->op.quota_taken = false;
	op_terminate_or_block(s);
}

static policy_data_op_t data_op(sg_op_t op)
{
	switch (op) {
	case SG_OP_SIGN: return POLICY_DATA_SIGN;
	case SG_OP_SIGN_RECOVER: return POLICY_DATA_SIGN_RECOVER;
	case SG_OP_MESSAGE_SIGN: return POLICY_DATA_MESSAGE_SIGN;
	default: return POLICY_DATA_DECRYPT;
	}
}

/* The data of an operation allowed at *Init.  Here only the facts are
 * gathered (the inspector's reading of the data, its SHA-256, the
 * approvals in force, the counters of the state store); what they mean
 * is policy_decide_data()'s. */
CK_RV enforce_sign_data(sg_session_t *s, const CK_BYTE *data, CK_ULONG len)
{
	CFG_SCOPE();
	const config_t *cfg = enforce_config();
	policy_data_decision_t dd;
	inspect_result_t ir;
	unsigned char data_sha[32];
	bool have_sha = false;
	approval_t apv[BUNDLE_MAX_APPROVALS];
	const ticket_claims_t *tk = s->op.has_ticket ? &s->op.ticket : NULL;

	if (s->op.op == SG_OP_NONE)
		return CKR_OK;

	policy_data_request_t q = {
		.op = data_op(s->op.op),
		.caller = &g_caller,
		.key = s->op.gkey,
		.rule = s->op.rule,
		.role = s->op.role,
		.mech = s->op.mech,
		.hash = s->op.hash,
		.hash_pending = s->op.hash_pending,
		.multipart = s->op.multipart,
		.now = time(NULL),
		.ticket = tk,
	};
	if (cfg && q.op != POLICY_DATA_DECRYPT) {
		/* The hash a bare-digest signature is made over, and the digest
		 * it binds, established by the inspector from the data alone. */
		mech_id_t m = s->op.mech;
		switch (policy_data_kind(m)) {
		case POLICY_DATA_RAW:
			if (s->op.multipart)
				break; /* refused unread: single-part only */
			if (m == MECH_RSA_PKCS)
				inspect_digestinfo(data, len, &ir);
			else if (m == MECH_ECDSA)
				inspect_ecdsa(data, len, s->op.key_attrs.ec_order_bits,
				              s->op.gkey ? s->op.gkey->ecdsa_truncate : 0, &ir);
			else if (m == MECH_RSA_X_509)
				inspect_rsa_x509(data, len, &ir);
			else
				inspect_pss_input(s->op.hash, data, len, &ir);
			q.inspect = &ir;
			break;
		case POLICY_DATA_HASHED:
			inspect_cms_attributes(mech_fixed_hash(m), data, len, &ir);
			q.inspect = &ir;
			break;
		case POLICY_DATA_PLAIN: break;
		}
	}
	/* The SHA-256 of exactly what is signed: for the audit record, and
	 * for a ticket that lists artifacts. */
	if (cfg && data && !s->op.multipart && (cfg->audit.enabled || (tk && tk->n_digests))) {
		SHA256(data, len, data_sha);
		have_sha = true;
		q.data_sha256 = data_sha;
	}
	if (cfg && s->op.rule && s->op.rule->approvals_count && s->op.approvals_cfg) {
		q.approvals_cfg = s->op.approvals_cfg;
		q.n_approvals = approvals_current(s->op.approvals_cfg, apv);
		q.approvals = apv;
	}
	if (op_is_decrypt(s->op.op) && !s->op.data_checked) {
		/* Other ciphertext on the same decryption (after a length query
		 * or CKR_BUFFER_TOO_SMALL with different data, or a new message)
		 * is a new attempt at the token: counted again. */
		s->op.quota_taken = false;
		s->op.ticket_use_taken = false;
	}
	q.quota = s->op.quota_taken ? POLICY_COUNT_TAKEN : POLICY_COUNT_UNASKED;
	q.ticket_use = s->op.ticket_use_taken ? POLICY_COUNT_TAKEN : POLICY_COUNT_UNASKED;

	/* Quotas and ticket uses are taken when the decision asks for them,
	 * before the token signs, and given back if no signature comes of it. */
	for (;;) {
		policy_decide_data(cfg, &q, &dd);
		if (dd.need == POLICY_NEED_QUOTA) {
			policy_quota_counter(s->op.rule, &g_caller, s->op.quota_name,
			                     sizeof(s->op.quota_name));
			s->op.quota_period_s = s->op.rule->quota_period_s;
			q.quota = count_answer(quota_take(cfg->state_dir, s->op.quota_name,
			                                  s->op.rule->quota_count,
			                                  s->op.rule->quota_period_s, time(NULL)));
			s->op.quota_taken = q.quota == POLICY_COUNT_TAKEN;
		} else if (dd.need == POLICY_NEED_TICKET_USE) {
			char name[96];
			policy_ticket_counter(tk, name, sizeof(name));
			q.ticket_use = count_answer(
			        quota_take(cfg->state_dir, name, tk->max_uses, 0, time(NULL)));
			s->op.ticket_use_taken = q.ticket_use == POLICY_COUNT_TAKEN;
		} else {
			break;
		}
		if (q.quota == POLICY_COUNT_UNAVAILABLE || q.ticket_use == POLICY_COUNT_UNAVAILABLE)
			q.state_error = state_error();
	}
	s->op.hash = dd.hash;
	if (!dd.d.allow) {
		data_deny(s, &dd.d, dd.d.reason == REASON_CONFIG_INVALID ? NULL : tk);
		return dd.d.ckr;
	}
	s->op.hash_pending = false;
	if (dd.bind_at_final)
		s->op.bind_at_final = true;
	if (dd.artifact && s->op.rule && s->op.rule->approvals_count)
		memcpy(s->op.approvers, dd.d.approvers, sizeof(s->op.approvers));

	/* The SHA-256 of what is signed, for the audit record (and for the
	 * artifact binding of a multi-part signature). */
	if ((cfg->audit.enabled || s->op.bind_at_final) && data) {
		if (!s->op.multipart) {
			if (!have_sha)
				SHA256(data, len, data_sha);
			memcpy(s->op.data_sha256, data_sha, sizeof(data_sha));
			s->op.has_data_sha256 = true;
			s->op.data_len = len;
		} else {
			if (!s->op.data_md) {
				s->op.data_md = EVP_MD_CTX_new();
				if (s->op.data_md &&
				    !EVP_DigestInit_ex(s->op.data_md, EVP_sha256(), NULL)) {
					EVP_MD_CTX_free(s->op.data_md);
					s->op.data_md = NULL;
				}
			}
			if (s->op.data_md)
				EVP_DigestUpdate(s->op.data_md, data, len);
			s->op.data_len += len;
		}
	}
	s->op.data_checked = true;
	return CKR_OK;
}

CK_RV enforce_sign_final(sg_session_t *s)
{
	CFG_SCOPE();
	unsigned char dig[32];
	unsigned int l = 0;
	policy_decision_t d;
	EVP_MD_CTX *c;
	bool ok = false;

	if (s->op.op != SG_OP_SIGN || !s->op.bind_at_final)
		return CKR_OK;
	c = s->op.data_md ? EVP_MD_CTX_new() : NULL;
	if (c && EVP_MD_CTX_copy_ex(c, s->op.data_md) && EVP_DigestFinal_ex(c, dig, &l) && l == 32)
		ok = true;
	EVP_MD_CTX_free(c);
	policy_decide_final(s->op.has_ticket ? &s->op.ticket : NULL, s->op.rule, s->op.role,
	                    ok ? dig : NULL, &d);
	if (d.allow)
		return CKR_OK;
	data_deny(s, &d, s->op.has_ticket ? &s->op.ticket : NULL);
	return d.ckr;
}

CK_RV enforce_sign_result(sg_session_t *s, CK_RV rv, bool produced, CK_BYTE_PTR out,
                          CK_ULONG_PTR out_len)
{
	CFG_SCOPE();
	const config_t *cfg = cfg_get();
	policy_decision_t d = { 0 };
	const ticket_claims_t *tk;
	target_t t;
	int delivered = 0;

	if (s->op.op == SG_OP_NONE)
		return rv;
	/* A length query is not a signature: the operation goes on. */
	if (rv == CKR_BUFFER_TOO_SMALL || (rv == CKR_OK && !produced))
		return rv;

	if (rv != CKR_OK && op_is_decrypt(s->op.op) && (s->op.data_checked || s->op.quota_taken)) {
		/* A decryption that reached the token and failed is an attempt
		 * like any other (a padding oracle answers by failing): it is
		 * recorded with the token's code, and its quota stays taken. */
		if (s->op.data_md) {
			unsigned int l = 0;
			if (EVP_DigestFinal_ex(s->op.data_md, s->op.data_sha256, &l))
				s->op.has_data_sha256 = true;
		}
		tk = s->op.has_ticket ? &s->op.ticket : NULL;
		d.rule = s->op.rule;
		d.role = s->op.role;
		target_from_op(s, &t);
		emit(AUDIT_SIGN, false, policy_reason_name(REASON_DECRYPT_FAILED),
		     "the token returned no plaintext", &d, tk, &t, mech_ckm_name(s->op.mechanism),
		     NULL, s->op.has_data_sha256 ? s->op.data_sha256 : NULL, (size_t)s->op.data_len,
		     rv, op_call(s), &delivered);
		/* A token may keep the operation after a failed call (SoftHSM
		 * after C_DecryptUpdate with RSA: CKR_FUNCTION_NOT_SUPPORTED, and
		 * a C_Decrypt that follows decrypts).  Forgotten here, it would
		 * take the next ciphertext unchecked and uncounted: end it. */
		if (rv != CKR_FUNCTION_CANCELED && rv != CKR_SESSION_CLOSED &&
		    rv != CKR_SESSION_HANDLE_INVALID && rv != CKR_DEVICE_REMOVED &&
		    rv != CKR_TOKEN_NOT_PRESENT && s->op.op == SG_OP_DECRYPT)
			real_op_terminate(s);
		session_op_clear(&s->op);
		/* Unrecorded, the token's answer is not passed on either: with
		 * a success refused for its record, it would tell good padding
		 * from bad. */
		if (!delivered && cfg && cfg->audit.enabled && cfg->audit.required)
			return CKR_FUNCTION_REJECTED;
		return rv;
	}
	if (rv != CKR_OK) {
		/* The real module ended the operation without a result. */
		if (s->op.quota_taken && cfg)
			quota_give_back(cfg->state_dir, s->op.quota_name, s->op.quota_period_s,
			                time(NULL));
		session_op_clear(&s->op);
		return rv;
	}

	if (s->op.data_md) {
		unsigned int l = 0;
		if (EVP_DigestFinal_ex(s->op.data_md, s->op.data_sha256, &l))
			s->op.has_data_sha256 = true;
	}
	tk = s->op.has_ticket ? &s->op.ticket : NULL;
	d.rule = s->op.rule;
	d.role = s->op.role;
	memcpy(d.approvers, s->op.approvers, sizeof(d.approvers));
	target_from_op(s, &t);
	emit(AUDIT_SIGN, true, policy_reason_name(REASON_ALLOWED), NULL, &d, tk, &t,
	     mech_ckm_name(s->op.mechanism),
	     s->op.hash != HASH_UNKNOWN ? hash_name(s->op.hash) : NULL,
	     s->op.has_data_sha256 ? s->op.data_sha256 : NULL, (size_t)s->op.data_len, CKR_OK,
	     op_call(s), &delivered);

	if (!delivered && cfg && cfg->audit.enabled && cfg->audit.required) {
		/* The signature exists but its record does not: it is not
		 * handed out.  The refusal is recorded wherever a record can
		 * still go (syslog when the journal failed, and the reverse). */
		emit(AUDIT_SIGN, false, policy_reason_name(REASON_AUDIT_UNAVAILABLE),
		     "the signature's audit record could not be written; signature withdrawn", &d,
		     tk, &t, mech_ckm_name(s->op.mechanism), NULL, NULL, 0, CKR_FUNCTION_REJECTED,
		     op_call(s), NULL);
		if (out && out_len)
			OPENSSL_cleanse(out, *out_len);
		if (out_len)
			*out_len = 0;
		/* A decryption happened all the same (and answered whether the
		 * ciphertext was good): its quota stays taken. */
		if (s->op.quota_taken && !op_is_decrypt(s->op.op))
			quota_give_back(cfg->state_dir, s->op.quota_name, s->op.quota_period_s,
			                time(NULL));
		session_op_clear(&s->op);
		return CKR_FUNCTION_REJECTED;
	}
	session_op_clear(&s->op);
	return CKR_OK;
}

/* --- key administration ------------------------------------------------- */

/* Attributes whose change alters what key a private key object is (or
 * claims to be): setting or copying them is key administration whatever
 * the key, since identity is established from them.  (Public key objects
 * only ever serve as candidates a proof must confirm.) */
static bool template_sets_identity(const CK_ATTRIBUTE *tmpl, CK_ULONG n)
{
	static const CK_ATTRIBUTE_TYPE identity[] = {
		CKA_CLASS,           CKA_KEY_TYPE,  CKA_PUBLIC_KEY_INFO, CKA_MODULUS,
		CKA_PUBLIC_EXPONENT, CKA_EC_PARAMS, CKA_EC_POINT,        CKA_VALUE,
	};
	for (size_t i = 0; i < sizeof(identity) / sizeof(identity[0]); i++)
		if (template_find(tmpl, n, identity[i]))
			return true;
	return false;
}

/* A governed key on this token with this ID or label: creating or
 * renaming an object to look like it is administration of that key.
 * Admin calls are rare; a scan is fine here. */
static const policy_key_t *governed_lookalike(const config_t *cfg, const char *token,
                                              const char *serial, const unsigned char *id,
                                              size_t id_len, const char *label, size_t label_len)
{
	for (size_t i = 0; cfg && i < cfg->n_keys; i++) {
		const policy_key_t *k = &cfg->keys[i];
		if (k->token && strcmp(k->token, token) && strcmp(k->token, serial))
			continue;
		if (id && k->has_id && k->id_len == id_len && !memcmp(k->id, id, id_len))
			return k;
		if (label && k->label && strlen(k->label) == label_len &&
		    !memcmp(k->label, label, label_len))
			return k;
	}
	return NULL;
}

/* Longest CKA_ID / CKA_LABEL value read from a caller's template; a
 * longer one is refused (CKR_ATTRIBUTE_VALUE_INVALID) rather than read. */
#define ADMIN_VALUE_MAX (1u << 20)

CK_RV enforce_admin(sg_session_t *s, CK_SLOT_ID slot, enforce_admin_t what, CK_OBJECT_HANDLE obj,
                    CK_ATTRIBUTE_PTR tmpl, CK_ULONG n)
{
	CFG_SCOPE();
	const config_t *cfg = enforce_config();
	policy_decision_t d;
	ticket_claims_t tkc;
	const ticket_claims_t *tk = NULL;
	target_t t;
	policy_reason_t why = REASON_KEY_UNGOVERNED;
	bool needs_admin = false, unknown = false;
	const policy_key_t *look = NULL;
	const unsigned char *idv = NULL, *lv = NULL;
	size_t idl = 0, ll = 0;
	template_read_t rid, rl;
	CK_ULONG cls;

	if (s)
		slot = s->slot;
	if (tmpl == NULL && n > 0)
		return CKR_OK; /* the real module answers CKR_ARGUMENTS_BAD */
	/* gate.c refuses these first (and audits); never read a template
	 * the token would read differently. */
	if (tmpl && template_check(tmpl, n, NULL) != CKR_OK)
		return CKR_TEMPLATE_INCONSISTENT;
	/* Values signgate reads to decide must be what they claim to be. */
	rid = template_get_bytes(tmpl, n, CKA_ID, ADMIN_VALUE_MAX, &idv, &idl);
	rl = template_get_bytes(tmpl, n, CKA_LABEL, ADMIN_VALUE_MAX, &lv, &ll);
	if (rid == TEMPLATE_BAD || rl == TEMPLATE_BAD)
		return CKR_ATTRIBUTE_VALUE_INVALID;

	target_fill(&t, slot, s ? s->handle : CK_INVALID_HANDLE, obj);
	if (obj != CK_INVALID_HANDLE) {
		if (!t.have_ka)
			return CKR_OBJECT_HANDLE_INVALID; /* what the token said of it */
		if (t.ka.standing != KEY_KNOWN) {
			/* Governed and unknown: its attributes could not be read as
			 * the object's own, or it is not on this session's token. */
			unknown = true;
			why = t.ka.standing == KEY_OTHER_TOKEN ? REASON_KEY_OTHER_TOKEN
			                                       : REASON_KEY_UNKNOWN;
		} else if (cfg) {
			target_govern(cfg, &t, &why);
			if (!t.gkey)
				t.gkey = governed_lookalike(
				        cfg, t.token, t.serial, t.ka.id, t.ka.id_len,
				        t.ka.label_long ? NULL : t.ka.label, strlen(t.ka.label));
		}
	}

	switch (what) {
	case ADMIN_INIT_TOKEN:
	case ADMIN_INIT_PIN:
	case ADMIN_SET_PIN:
	case ADMIN_SO_LOGIN:
	case ADMIN_GENERATE_KEY: needs_admin = true; break;
	case ADMIN_SET_ATTRIBUTE:
	case ADMIN_COPY_OBJECT:
		needs_admin = t.gkey != NULL || unknown ||
		              (t.ka.cls == CKO_PRIVATE_KEY && template_sets_identity(tmpl, n));
		break;
	case ADMIN_DESTROY_OBJECT: needs_admin = t.gkey != NULL || unknown; break;
	case ADMIN_CREATE_OBJECT:
	case ADMIN_UNWRAP_KEY:
	case ADMIN_DERIVE_KEY: break;
	}
	/* New keys, and any object dressed as a governed key. */
	if (what == ADMIN_CREATE_OBJECT) {
		template_read_t rc = template_get_ulong(tmpl, n, CKA_CLASS, &cls);
		if (rc == TEMPLATE_BAD)
			return CKR_ATTRIBUTE_VALUE_INVALID;
		if (rc == TEMPLATE_OK && (cls == CKO_PRIVATE_KEY || cls == CKO_SECRET_KEY))
			needs_admin = true;
	}
	/* A new key from unwrapping or derivation is administration, unless
	 * it is a secret key made with a key whose unwrap/derive capability
	 * was just granted (a look-alike template still needs admin, below). */
	if ((what == ADMIN_UNWRAP_KEY || what == ADMIN_DERIVE_KEY) &&
	    !enforce_key_use_covers_new_key(s, what == ADMIN_UNWRAP_KEY ? USE_UNWRAP : USE_DERIVE,
	                                    tmpl, n))
		needs_admin = true;
	if (rid == TEMPLATE_OK || rl == TEMPLATE_OK) {
		look = governed_lookalike(cfg, t.token, t.serial, rid == TEMPLATE_OK ? idv : NULL,
		                          idl, rl == TEMPLATE_OK ? (const char *)lv : NULL, ll);
		if (look) {
			needs_admin = true;
			if (!t.gkey && !unknown)
				t.gkey = look;
		}
	}
	if (!needs_admin)
		return CKR_OK;

	if (unknown && why == REASON_KEY_OTHER_TOKEN) {
		/* A handle is only meaningful on its own token: no capability
		 * makes one of another token usable through this session. */
		emit(AUDIT_ADMIN, false, policy_reason_name(why),
		     "object handle not found on this session's token", NULL, NULL, &t, NULL, NULL,
		     NULL, 0, CKR_OBJECT_HANDLE_INVALID, admin_name(what), NULL);
		return CKR_OBJECT_HANDLE_INVALID;
	}
	/* An unknown object is decided as a key nobody is named for: only a
	 * capability over all keys covers it. */
	decide_use(cfg, s, POLICY_ACTION_ADMIN, &t, unknown ? why : REASON_KEY_UNGOVERNED,
	           MECH_UNKNOWN, HASH_UNKNOWN, true, &d, &tkc, &tk);
	emit(AUDIT_ADMIN, d.allow, policy_reason_name(d.allow ? REASON_ALLOWED : d.reason),
	     d.detail, &d, tk, &t, NULL, NULL, NULL, 0, d.allow ? CKR_OK : d.ckr, admin_name(what),
	     NULL);
	return d.allow ? CKR_OK : d.ckr;
}

void enforce_template_refused(sg_session_t *s, enforce_admin_t what, CK_ATTRIBUTE_TYPE dup)
{
	CFG_SCOPE();
	target_t t;
	char detail[96];

	memset(&t, 0, sizeof(t));
	if (s)
		slot_names(s->slot, t.token, t.serial);
	snprintf(detail, sizeof(detail),
	         "attribute type 0x%lx appears more than once in the template", (unsigned long)dup);
	emit(AUDIT_ADMIN, false, policy_reason_name(REASON_TEMPLATE_DUPLICATE), detail, NULL, NULL,
	     &t, NULL, NULL, NULL, 0, CKR_TEMPLATE_INCONSISTENT, admin_name(what), NULL);
}

void enforce_handle_inconsistent(sg_session_t *s, const char *operation, CK_OBJECT_HANDLE obj)
{
	CFG_SCOPE();
	target_t t;
	char detail[128];

	memset(&t, 0, sizeof(t));
	slot_names(s->slot, t.token, t.serial);
	snprintf(detail, sizeof(detail),
	         "the real module rejected key handle %lu, then accepted it: undone",
	         (unsigned long)obj);
	emit(AUDIT_BACKEND_ERROR, false, policy_reason_name(REASON_HANDLE_INCONSISTENT), detail,
	     NULL, NULL, &t, NULL, NULL, NULL, 0, CKR_FUNCTION_REJECTED, operation, NULL);
}

void enforce_admin_done(sg_session_t *s, enforce_admin_t what, CK_OBJECT_HANDLE obj, CK_RV rv)
{
	CFG_SCOPE();
	(void)s;
	if (rv != CKR_OK)
		return;
	switch (what) {
	case ADMIN_INIT_TOKEN: keycache_clear(); break;
	default:
		/* Changed or destroyed: read again.  New (create, copy, generate,
		 * unwrap, derive): a handle the token reuses must not inherit
		 * what was cached for its previous object. */
		if (obj != CK_INVALID_HANDLE)
			keycache_invalidate(obj);
		break;
	}
}

/* --- login ------------------------------------------------------------ */

/* The PIN carries an ID token: "TOKEN", or "TOKEN~TICKET" / "TICKET~TOKEN"
 * for a token and a validation ticket together ('~' is in neither). */
static bool pin_split(const char *pin, size_t len, const char **a, size_t *alen, const char **b,
                      size_t *blen)
{
	const char *sep = memchr(pin, '~', len);
	*a = pin;
	*alen = sep ? (size_t)(sep - pin) : len;
	*b = sep ? sep + 1 : NULL;
	*blen = sep ? len - *alen - 1 : 0;
	return !sep || !memchr(*b, '~', *blen);
}

static bool pin_has_idtoken(const config_t *cfg, const char *pin, size_t len)
{
	const char *a, *b;
	size_t alen, blen;
	if (!cfg->n_idps || len > 2 * TICKET_MAX_LEN + 1 ||
	    !pin_split(pin, len, &a, &alen, &b, &blen))
		return false;
	return idtoken_looks_like(cfg, a, alen) || (b && idtoken_looks_like(cfg, b, blen));
}

static CK_RV login_with_idtoken(const config_t *cfg, const target_t *t, const char *pin, size_t len)
{
	static __thread idtoken_claims_t idt;
	ticket_claims_t tc;
	const char *a, *b, *tok, *tkt = NULL;
	size_t alen, blen, toklen, tktlen = 0;
	idtoken_status_t st;

	pin_split(pin, len, &a, &alen, &b, &blen);
	if (idtoken_looks_like(cfg, a, alen)) {
		tok = a, toklen = alen;
		tkt = b, tktlen = blen;
	} else {
		tok = b, toklen = blen;
		tkt = a, tktlen = alen;
	}
	if (tkt) {
		/* The ticket first: a refused ticket must not use up the token. */
		ticket_status_t ts = ticket_verify(cfg, tkt, tktlen, time(NULL), &tc);
		if (ts != TICKET_OK) {
			emit(AUDIT_TICKET, false, policy_reason_name(policy_ticket_reason(ts)),
			     "ticket given with an ID token as PIN", NULL, NULL, t, NULL, NULL,
			     NULL, 0, CKR_PIN_INCORRECT, "C_Login", NULL);
			return CKR_PIN_INCORRECT;
		}
	}
	st = idtoken_accept(cfg, tok, toklen, "ID token given as PIN", t, CKR_PIN_INCORRECT, &idt);
	if (st != IDTOKEN_OK) {
		OPENSSL_cleanse(&idt, sizeof(idt));
		return CKR_PIN_INCORRECT;
	}
	pthread_mutex_lock(&g_lock);
	g_idtoken = idt;
	g_has_idtoken = true;
	g_logged_in = true;
	__atomic_store_n(&g_idtoken_any, true, __ATOMIC_RELEASE);
	if (tkt) {
		g_ticket = tc;
		g_has_ticket = true;
		__atomic_store_n(&g_ticket_any, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&g_lock);
	OPENSSL_cleanse(&idt, sizeof(idt));
	if (tkt)
		emit(AUDIT_TICKET, true, policy_reason_name(REASON_TICKET_ACCEPTED),
		     "ticket given with an ID token as PIN", NULL, &tc, t, NULL, NULL, NULL, 0,
		     CKR_OK, "C_Login", NULL);
	return CKR_OK;
}

CK_RV enforce_login(sg_session_t *s, CK_USER_TYPE user, CK_UTF8CHAR_PTR pin, CK_ULONG pin_len)
{
	CFG_SCOPE();
	const config_t *cfg = enforce_config();
	ticket_claims_t claims;
	ticket_status_t st;
	const policy_role_t *role;
	target_t t;

	(void)s;
	memset(&t, 0, sizeof(t));
	if (s)
		slot_names(s->slot, t.token, t.serial);
	if (!cfg) {
		emit(AUDIT_LOGIN, false, policy_reason_name(REASON_CONFIG_INVALID),
		     "no valid config in force", NULL, NULL, &t, NULL, NULL, NULL, 0,
		     CKR_PIN_INCORRECT, "C_Login", NULL);
		return CKR_PIN_INCORRECT;
	}
	/* Without a PIN file signgate holds no login of its own: the caller's
	 * PIN goes to the token (compatibility mode, said in the audit). SO
	 * and context-specific logins always need the caller's own PIN. */
	if (!cfg->backend.pin_file || user != CKU_USER) {
		emit(AUDIT_LOGIN, true,
		     policy_reason_name(cfg->backend.pin_file ? REASON_LOGIN_FORWARDED
		                                              : REASON_COMPAT_MODE_FORWARDED),
		     user == CKU_SO     ? "SO login"
		     : user == CKU_USER ? "user login"
		                        : "context-specific login",
		     NULL, NULL, &t, NULL, NULL, NULL, 0, CKR_OK, "C_Login", NULL);
		return ENFORCE_FORWARD_LOGIN;
	}
	if (pin == NULL && pin_len > 0)
		return CKR_ARGUMENTS_BAD;

	if (pin && pin_has_idtoken(cfg, (const char *)pin, pin_len))
		return login_with_idtoken(cfg, &t, (const char *)pin, pin_len);
	if (pin && bundle_looks_like((const char *)pin, pin_len))
		return login_bundle(cfg, &t, (const char *)pin, pin_len);

	if (pin && ticket_looks_like((const char *)pin, pin_len)) {
		st = ticket_verify(cfg, (const char *)pin, pin_len, time(NULL), &claims);
		if (st != TICKET_OK) {
			emit(AUDIT_TICKET, false, policy_reason_name(policy_ticket_reason(st)),
			     "ticket given as PIN", NULL, NULL, &t, NULL, NULL, NULL, 0,
			     CKR_PIN_INCORRECT, "C_Login", NULL);
			return CKR_PIN_INCORRECT;
		}
		pthread_mutex_lock(&g_lock);
		g_ticket = claims;
		g_has_ticket = true;
		g_logged_in = true;
		__atomic_add_fetch(&g_login_gen, 1, __ATOMIC_ACQ_REL);
		__atomic_store_n(&g_ticket_any, true, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&g_lock);
		emit(AUDIT_TICKET, true, policy_reason_name(REASON_TICKET_ACCEPTED),
		     "ticket given as PIN", NULL, &claims, &t, NULL, NULL, NULL, 0, CKR_OK,
		     "C_Login", NULL);
		return CKR_OK;
	}

	role = pin ? policy_credential_match(cfg, &g_caller, (const char *)pin, pin_len) : NULL;
	if (role) {
		pthread_mutex_lock(&g_lock);
		snprintf(g_login_role, sizeof(g_login_role), "%s", role->name);
		g_logged_in = true;
		__atomic_add_fetch(&g_login_gen, 1, __ATOMIC_ACQ_REL);
		__atomic_store_n(&g_role_any, true, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&g_lock);
		policy_decision_t d = { .role = role };
		emit(AUDIT_LOGIN, true, policy_reason_name(REASON_CREDENTIAL_ACCEPTED), NULL, &d,
		     NULL, &t, NULL, NULL, NULL, 0, CKR_OK, "C_Login", NULL);
		return CKR_OK;
	}
	/* No credential matched.  Where the policy names credentials, a PIN
	 * that is none of them is wrong; where it names none, the caller's
	 * OS identity is what policy checks and the PIN carries nothing. */
	bool any_cred = false;
	for (size_t i = 0; i < cfg->n_roles; i++)
		if (cfg->roles[i].credential)
			any_cred = true;
	if (any_cred) {
		emit(AUDIT_LOGIN, false, policy_reason_name(REASON_BAD_CREDENTIAL),
		     "PIN matches no role credential", NULL, NULL, &t, NULL, NULL, NULL, 0,
		     CKR_PIN_INCORRECT, "C_Login", NULL);
		return CKR_PIN_INCORRECT;
	}
	pthread_mutex_lock(&g_lock);
	g_logged_in = true;
	__atomic_add_fetch(&g_login_gen, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_unlock(&g_lock);
	emit(AUDIT_LOGIN, true, policy_reason_name(REASON_OS_IDENTITY),
	     "no credentials configured; PIN not checked", NULL, NULL, &t, NULL, NULL, NULL, 0,
	     CKR_OK, "C_Login", NULL);
	return CKR_OK;
}

void enforce_logout(sg_session_t *s)
{
	CFG_SCOPE();
	(void)s;
	pthread_mutex_lock(&g_lock);
	g_logged_in = false;
	__atomic_add_fetch(&g_login_gen, 1, __ATOMIC_ACQ_REL);
	g_has_ticket = false;
	OPENSSL_cleanse(&g_ticket, sizeof(g_ticket));
	g_login_role[0] = '\0';
	__atomic_store_n(&g_role_any, false, __ATOMIC_RELEASE);
	__atomic_store_n(&g_ticket_any, g_env_ticket_present, __ATOMIC_RELEASE);
	g_has_idtoken = false;
	OPENSSL_cleanse(&g_idtoken, sizeof(g_idtoken));
	__atomic_store_n(&g_idtoken_any, g_env_idtoken_present, __ATOMIC_RELEASE);
	g_n_approvals = 0;
	OPENSSL_cleanse(g_approvals, sizeof(g_approvals));
	__atomic_store_n(&g_approvals_any, g_env_n_approvals > 0 || !g_env_bundle_done,
	                 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g_lock);
}

/* signgate: audit records to the syslog socket and the journal.
 *
 * Journal mode (audit.journal): the journal file is the record of truth.
 * Under the in-process mutex and an exclusive flock on JOURNAL.state
 * (shared by every process on the host that writes the journal), a
 * record gets the next host-wide sequence number and the previous
 * record's chain from the state file, is sealed with an HMAC-SHA256
 * chain, appended to the journal with one O_APPEND write(), and the state
 * file is updated; then the lock is released and the same text goes to
 * syslog without waiting (unless audit.syslog_required).
 *
 * The record is formatted into a stack buffer outside the lock (no
 * allocation on the signing path); only the chain part (instance, seq,
 * dropped, prev, chain) and the send happen under the one mutex, because
 * the chain needs a total order.  A record that could not be handed to the
 * socket does not advance seq or the chain: the log shows no hole, and
 * the next delivered record says how many were dropped.
 */
#include "audit.h"
#include "codec.h"
#include "mech.h"
#include "policy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#ifndef SIGNGATE_VERSION
#define SIGNGATE_VERSION "0"
#endif

/* Per-value output caps keep a hostile string from pushing the record
 * past rsyslog's default 8k message limit (a truncated record would
 * break the chain). */
#define CAP_VALUE 256
#define CAP_LONG 1024
#define CAP_SMALL 64
/* After a send timed out, later sends do not wait again for this long:
 * a stuck daemon costs one timeout, not one per signature. */
#define STALL_NS 1000000000LL

/* --- settings (immutable once published) ------------------------------- */

typedef struct settings {
	bool enabled, required, cee, rfc5424;
	audit_format_t format;
	int facility;
	int timeout_ms;
	char ident[64];
	char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char host[256];
	/* journal mode */
	bool journal_on, fdatasync_on, syslog_required;
	char journal[PATH_MAX];
	char state_path[PATH_MAX + 8];
	unsigned char mac_key[32];
	EVP_PKEY *ckpt_key; /* NULL: no checkpoints */
	int ckpt_every, ckpt_seconds;
	char key_error[320];    /* a key could not be loaded: every journal write fails */
	struct settings *older; /* kept reachable: readers may still use them */
} settings_t;

static _Atomic(settings_t *) g_settings;

/* --- chain state (under g_lock) ----------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
/* The socket, its stall state and the syslog backlog.  Taken after g_lock
 * (never the other way round), or alone for a journal record's copy. */
static pthread_mutex_t g_send_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1;
static char g_fd_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
/* The process the instance belongs to.  Kept current by a fork handler,
 * so the signing path never pays a getpid() system call. */
static _Atomic pid_t g_pid;
static bool g_atfork_registered;
static char g_instance[33];
static uint64_t g_seq;            /* last delivered */
static char g_prev[65];           /* chain of the last delivered record */
static long long g_stalled_until; /* monotonic ns */
static EVP_MD_CTX *g_md_ctx;
static EVP_MD *g_sha256;
static _Atomic uint64_t g_dropped;
static bool g_sock_said; /* the missing-socket line was printed */
/* journal (under g_lock) */
static int g_jfd = -1, g_sfd = -1;
static dev_t g_jdev, g_sdev;
static ino_t g_jino, g_sino;
static char g_jopen_path[PATH_MAX];
static bool g_tail_checked;
static int g_head_reopens; /* head file replaced under us, in a row */
                           /* the journal's last line was compared with the state */
static int g_jerr_said;    /* errno last reported on stderr, 0 = none */
static EVP_MAC *g_hmac;
static EVP_MAC_CTX *g_mac_ctx;
static const settings_t *g_mac_for;
static _Atomic uint64_t g_syslog_missed;
static _Atomic bool g_sync_said; /* an fdatasync failure was reported */

static const char ZERO_CHAIN[65] =
        "0000000000000000000000000000000000000000000000000000000000000000";

const char *audit_event_name(audit_event_t e)
{
	static const char *const names[] = {
		[AUDIT_SIGN] = "sign",
		[AUDIT_ADMIN] = "admin",
		[AUDIT_LOGIN] = "login",
		[AUDIT_TICKET] = "ticket",
		[AUDIT_CONFIG_LOAD] = "config-load",
		[AUDIT_CONFIG_RELOAD] = "config-reload",
		[AUDIT_CONFIG_REFUSED] = "config-refused",
		[AUDIT_MODULE_START] = "module-start",
		[AUDIT_MODULE_STOP] = "module-stop",
		[AUDIT_BACKEND_ERROR] = "backend-error",
		[AUDIT_CHECKPOINT] = "checkpoint",
	};
	if ((unsigned)e < sizeof(names) / sizeof(names[0]) && names[e])
		return names[e];
	return "unknown";
}

const char *audit_ckr_name(unsigned long ckr)
{
	return ckr_name(ckr);
}

/* --- small helpers -------------------------------------------------------- */

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* 64 lower-case hex digits: one text, one chain. */
static bool hex_decode32(const char *s, unsigned char out[32])
{
	size_t n;
	return codec_hex_decode(s, 64, 0, out, 32, &n) && n == 32;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2;
		cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3;
		cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

/* --- output buffer ---------------------------------------------------------- */

typedef struct sbuf {
	char *p;
	size_t len, cap;
	bool overflow;
} sbuf_t;

static void sb_put(sbuf_t *b, const char *s, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_str(sbuf_t *b, const char *s)
{
	sb_put(b, s, strlen(s));
}
static void sb_chr(sbuf_t *b, char c)
{
	sb_put(b, &c, 1);
}

static void sb_u64(sbuf_t *b, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	sb_put(b, tmp + i, sizeof(tmp) - i);
}

static void sb_i64(sbuf_t *b, int64_t v)
{
	if (v < 0) {
		sb_chr(b, '-');
		sb_u64(b, (uint64_t)0 - (uint64_t)v);
	} else {
		sb_u64(b, (uint64_t)v);
	}
}

/* --- the three formats ---------------------------------------------------- */

typedef struct writer {
	sbuf_t *b;
	audit_format_t fmt;
	bool first;
} writer_t;

/* Escaped text of s, at most cap bytes of output; a cut value ends in
 * "...".  Control characters and invalid UTF-8 never reach the log as
 * such: a record is always one line. */
static void put_escaped(writer_t *w, const char *s, size_t cap)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t n = strlen(s), start = w->b->len;
	for (size_t i = 0; i < n;) {
		/* fast path: a run of printable ASCII that needs no escape */
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x7f && u[run] != '\\' &&
		       u[run] != '"' && u[run] != '=')
			run++;
		if (run > i) {
			size_t m = run - i;
			if (w->b->len - start + m > cap - 3) {
				m = cap - 3 - (w->b->len - start);
				sb_put(w->b, s + i, m);
				sb_put(w->b, "...", 3);
				return;
			}
			sb_put(w->b, s + i, m);
			i = run;
			continue;
		}
		char esc[8];
		const char *out = esc;
		size_t olen, step = 1;
		unsigned char c = u[i];
		size_t seq = utf8_seq(u + i, n - i);
		if (seq == 0) {
			out = w->fmt == AUDIT_FORMAT_CEF ? "\xEF\xBF\xBD" : "\\ufffd";
			olen = strlen(out);
		} else if (seq > 1) {
			out = s + i;
			olen = step = seq;
		} else if (c == '\\' || (c == '"' && w->fmt != AUDIT_FORMAT_CEF) ||
		           (c == '=' && w->fmt == AUDIT_FORMAT_CEF)) {
			esc[0] = '\\';
			esc[1] = (char)c;
			olen = 2;
		} else if (c == '\n' || c == '\r' || (c == '\t' && w->fmt != AUDIT_FORMAT_CEF)) {
			esc[0] = '\\';
			esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
			olen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			if (w->fmt == AUDIT_FORMAT_CEF) {
				out = "\xEF\xBF\xBD";
				olen = 3;
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				olen = 6;
			}
		} else {
			esc[0] = (char)c;
			olen = 1;
		}
		if (w->b->len - start + olen > cap - 3) {
			sb_put(w->b, "...", 3);
			return;
		}
		sb_put(w->b, out, olen);
		i += step;
	}
}

static bool logfmt_needs_quotes(const char *s)
{
	if (!*s)
		return true;
	for (const unsigned char *u = (const unsigned char *)s; *u; u++)
		if (*u <= ' ' || *u == '=' || *u == '"' || *u == '\\' || *u >= 0x7f)
			return true;
	return false;
}

/* Keys are literals: their length is known at compile time (KEY()). */
#define KEY(k) k, sizeof(k) - 1

static void put_key(writer_t *w, const char *key, size_t klen)
{
	switch (w->fmt) {
	case AUDIT_FORMAT_JSON:
		sb_put(w->b, w->first ? "{\"" : ",\"", 2);
		sb_put(w->b, key, klen);
		sb_put(w->b, "\":", 2);
		break;
	case AUDIT_FORMAT_CEF:
		/* the CEF header ends in '|', so the first key follows directly */
	case AUDIT_FORMAT_LOGFMT:
		if (!w->first)
			sb_chr(w->b, ' ');
		sb_put(w->b, key, klen);
		sb_chr(w->b, '=');
		break;
	}
	w->first = false;
}

static void field_str_cap(writer_t *w, const char *key, size_t klen, const char *val, size_t cap)
{
	if (!val || !*val)
		return; /* absent fields are left out */
	put_key(w, key, klen);
	bool q = w->fmt == AUDIT_FORMAT_JSON ||
	         (w->fmt == AUDIT_FORMAT_LOGFMT && logfmt_needs_quotes(val));
	if (q)
		sb_chr(w->b, '"');
	put_escaped(w, val, cap);
	if (q)
		sb_chr(w->b, '"');
}

static void field_bounded(writer_t *w, const char *key, size_t klen, const char *val, size_t size,
                          size_t cap)
{
	if (strnlen(val, size) < size) {
		field_str_cap(w, key, klen, val, cap);
	} else {
		char tmp[PATH_MAX + 1];
		if (size > PATH_MAX)
			size = PATH_MAX;
		memcpy(tmp, val, size);
		tmp[size] = '\0';
		field_str_cap(w, key, klen, tmp, cap);
	}
}

/* Plain ASCII that needs no escaping in any format (hex, times, names we make). */
static void field_plain(writer_t *w, const char *key, size_t klen, const char *val)
{
	put_key(w, key, klen);
	bool q = w->fmt == AUDIT_FORMAT_JSON;
	if (q)
		sb_chr(w->b, '"');
	sb_str(w->b, val);
	if (q)
		sb_chr(w->b, '"');
}

static void field_u64(writer_t *w, const char *key, size_t klen, uint64_t v)
{
	put_key(w, key, klen);
	sb_u64(w->b, v);
}

static void field_i64(writer_t *w, const char *key, size_t klen, int64_t v)
{
	put_key(w, key, klen);
	sb_i64(w->b, v);
}

static void field_hex(writer_t *w, const char *key, size_t klen, const unsigned char *v, size_t n)
{
	char hex[2 * 64 + 1];
	if (!v || n == 0)
		return;
	if (n > 64)
		n = 64;
	codec_hex_encode(hex, sizeof(hex), v, n);
	field_plain(w, key, klen, hex);
}

/* --- time -------------------------------------------------------------- */

/* Per-thread caches: gmtime_r/localtime_r once per second, not per record. */
static __thread time_t tls_utc_sec = -1, tls_local_sec = -1;
static __thread char tls_utc[24], tls_local[20];

static void rfc3339_utc(char out[48], const struct timespec *ts)
{
	if (ts->tv_sec != tls_utc_sec) {
		struct tm tm;
		gmtime_r(&ts->tv_sec, &tm);
		strftime(tls_utc, sizeof(tls_utc), "%Y-%m-%dT%H:%M:%S", &tm);
		tls_utc_sec = ts->tv_sec;
	}
	/* by hand: snprintf costs more than the rest of the record's time */
	size_t l = strlen(tls_utc);
	long us = ts->tv_nsec / 1000;
	memcpy(out, tls_utc, l);
	out[l] = '.';
	for (int i = 6; i >= 1; i--) {
		out[l + (size_t)i] = (char)('0' + us % 10);
		us /= 10;
	}
	out[l + 7] = 'Z';
	out[l + 8] = '\0';
}

static const char *rfc3164_local(const struct timespec *ts)
{
	if (ts->tv_sec != tls_local_sec) {
		struct tm tm;
		localtime_r(&ts->tv_sec, &tm);
		/* glibc's syslog(): "%h %e %T" */
		strftime(tls_local, sizeof(tls_local), "%h %e %T", &tm);
		tls_local_sec = ts->tv_sec;
	}
	return tls_local;
}

/* --- configuration ------------------------------------------------------ */

static void instance_new_locked(void)
{
	unsigned char rnd[16];
	size_t got = 0;
	while (got < sizeof(rnd)) {
		ssize_t r = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			/* no entropy source: still unique enough per boot for a log id */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			uint64_t x = (uint64_t)ts.tv_sec * 1000000007ULL ^ (uint64_t)ts.tv_nsec ^
			             (uint64_t)getpid() << 32;
			memcpy(rnd, &x, 8);
			x = (uint64_t)mono_ns() ^ (uint64_t)(uintptr_t)&got;
			memcpy(rnd + 8, &x, 8);
			break;
		}
		got += (size_t)r;
	}
	codec_hex_encode(g_instance, sizeof(g_instance), rnd, sizeof(rnd));
	g_seq = 0;
	memcpy(g_prev, ZERO_CHAIN, sizeof(g_prev));
	atomic_store(&g_pid, getpid());
	g_stalled_until = 0;
	atomic_store(&g_dropped, 0);
}

static void close_fd_locked(void)
{
	if (g_fd >= 0)
		close(g_fd);
	g_fd = -1;
}

static void close_journal_locked(void)
{
	if (g_jfd >= 0)
		close(g_jfd);
	if (g_sfd >= 0)
		close(g_sfd);
	g_jfd = g_sfd = -1;
	g_jopen_path[0] = '\0';
	g_tail_checked = false;
}

/* Journal settings and keys, loaded outside the lock.  A key that cannot
 * be loaded leaves the journal on and broken: every write fails (fail
 * closed), and the reason is said once here. */
static void configure_journal(settings_t *s, const config_audit_t *cfg)
{
	if (!cfg || !cfg->journal || !*cfg->journal)
		return;
	s->journal_on = true;
	s->fdatasync_on = cfg->sync_fdatasync;
	s->syslog_required = cfg->syslog_required;
	s->ckpt_every = cfg->checkpoint_every;
	s->ckpt_seconds = cfg->checkpoint_seconds;
	if (strlen(cfg->journal) >= sizeof(s->journal)) {
		snprintf(s->key_error, sizeof(s->key_error), "journal path too long");
		return;
	}
	strcpy(s->journal, cfg->journal);
	snprintf(s->state_path, sizeof(s->state_path), "%s.state", cfg->journal);
	char err[256];
	if (!cfg->mac_key) {
		snprintf(s->key_error, sizeof(s->key_error), "audit.mac_key is not set");
	} else if (audit_mac_key_load(cfg->mac_key, s->mac_key, err, sizeof(err)) != 0) {
		snprintf(s->key_error, sizeof(s->key_error), "%s", err);
	} else if (cfg->checkpoint_key && !(s->ckpt_key = audit_checkpoint_key_load(
	                                            cfg->checkpoint_key, err, sizeof(err)))) {
		snprintf(s->key_error, sizeof(s->key_error), "%s", err);
	}
	if (s->key_error[0])
		fprintf(stderr, "signgate: audit journal %s: %s; no record can be written\n",
		        s->journal, s->key_error);
}

int audit_configure(const config_audit_t *cfg)
{
	settings_t *s = calloc(1, sizeof(*s));
	if (!s)
		return -1;
	s->enabled = cfg ? cfg->enabled : true;
	s->required = cfg ? cfg->required : true;
	s->format = cfg ? cfg->format : AUDIT_FORMAT_JSON;
	s->cee = cfg ? cfg->cee : false;
	s->rfc5424 = cfg ? cfg->rfc5424 : false;
	s->facility = cfg && cfg->facility > 0 ? cfg->facility : LOG_AUTHPRIV;
	s->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 200;
	snprintf(s->ident, sizeof(s->ident), "%s",
	         cfg && cfg->ident && *cfg->ident ? cfg->ident : "signgate");
	/* an ident is one syslog token: no spaces, no '[' or ':' */
	for (char *p = s->ident; *p; p++)
		if (*p <= ' ' || *p == '[' || *p == ':' || (unsigned char)*p >= 0x7f)
			*p = '_';
	const char *path =
	        cfg && cfg->socket_path && *cfg->socket_path ? cfg->socket_path : "/dev/log";
	if (strlen(path) >= sizeof(s->socket_path)) {
		free(s);
		return -1;
	}
	strcpy(s->socket_path, path);
	configure_journal(s, cfg);
	if (gethostname(s->host, sizeof(s->host)) != 0 || !s->host[0])
		strcpy(s->host, "-");
	s->host[sizeof(s->host) - 1] = '\0';
	for (char *p = s->host; *p; p++)
		if (*p <= ' ' || (unsigned char)*p >= 0x7f)
			*p = '_';

	pthread_mutex_lock(&g_lock);
	if (!g_sha256) {
		g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		g_md_ctx = EVP_MD_CTX_new();
		g_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
		g_mac_ctx = g_hmac ? EVP_MAC_CTX_new(g_hmac) : NULL;
		if (!g_sha256 || !g_md_ctx || !g_mac_ctx) {
			pthread_mutex_unlock(&g_lock);
			free(s);
			return -1;
		}
	}
	if (!g_instance[0] || atomic_load(&g_pid) != getpid())
		instance_new_locked();
	if (!g_atfork_registered) {
		/* the module calls audit_atfork_child too; twice is harmless */
		pthread_atfork(NULL, NULL, audit_atfork_child);
		g_atfork_registered = true;
	}
	pthread_mutex_lock(&g_send_lock);
	if (g_fd >= 0 && strcmp(g_fd_path, s->socket_path) != 0)
		close_fd_locked();
	pthread_mutex_unlock(&g_send_lock);
	if (g_jopen_path[0] && (!s->journal_on || strcmp(g_jopen_path, s->journal) != 0))
		close_journal_locked();
	s->older = atomic_load(&g_settings);
	atomic_store(&g_settings, s);
	pthread_mutex_unlock(&g_lock);
	return 0;
}

uint64_t audit_dropped(void)
{
	return atomic_load(&g_dropped);
}

uint64_t audit_syslog_missed(void)
{
	return atomic_load(&g_syslog_missed);
}

static bool backlog_flush_locked(const settings_t *s, long long deadline);
static void backlog_drop_locked(void);
static size_t g_bl_head, g_bl_n;

void audit_shutdown(void)
{
	settings_t *s = atomic_load(&g_settings);
	pthread_mutex_lock(&g_lock);
	pthread_mutex_lock(&g_send_lock);
	if (s && s->journal_on)
		backlog_flush_locked(s, mono_ns() + (long long)s->timeout_ms * 1000000LL);
	backlog_drop_locked();
	close_fd_locked();
	pthread_mutex_unlock(&g_send_lock);
	close_journal_locked();
	pthread_mutex_unlock(&g_lock);
}

void audit_atfork_child(void)
{
	/* The lock may have been held by a thread that does not exist here. */
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&g_lock, &fresh, sizeof(fresh));
	memcpy(&g_send_lock, &fresh, sizeof(fresh));
	close_fd_locked();
	/* The state file's flock belongs to the open file description the
	 * parent shares: the child takes its own. */
	close_journal_locked();
	/* the parent's to send; another parent thread may have been changing
	 * the queue at fork time, so it is forgotten, not freed */
	g_bl_n = g_bl_head = 0;
	atomic_store(&g_syslog_missed, 0);
	g_sock_said = false;
	g_jerr_said = 0;
	if (g_sha256)
		instance_new_locked();
}

/* --- delivery ------------------------------------------------------------ */

static int connect_locked(const settings_t *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	strcpy(sa.sun_path, s->socket_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		int e = errno;
		close(fd);
		if (!g_sock_said) {
			/* once per process: a missing daemon is otherwise a silent refusal */
			g_sock_said = true;
			fprintf(stderr,
			        "signgate: audit: cannot send to the syslog socket %s: %s (%s)\n",
			        s->socket_path, strerror(e),
			        s->journal_on && !s->syslog_required
			                ? "records go to the journal only"
			        : s->required ? "signatures are refused"
			                      : "records are lost");
		}
		errno = e;
		return -1;
	}
	g_fd = fd;
	strcpy(g_fd_path, s->socket_path);
	return 0;
}

/* Hand one datagram to the socket before deadline (monotonic ns). */
static int send_locked(const settings_t *s, const char *msg, size_t len, long long deadline)
{
	bool reconnected = false;
	if (g_fd < 0) {
		if (connect_locked(s) != 0)
			return -1;
		reconnected = true;
	}
	for (;;) {
		ssize_t r = send(g_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == (ssize_t)len) {
			g_stalled_until = 0;
			return 0;
		}
		if (r >= 0)
			return -1; /* a datagram is never sent in part */
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			long long now = mono_ns();
			if (now < g_stalled_until || now >= deadline) {
				if (now >= deadline)
					g_stalled_until = now + STALL_NS;
				return -1;
			}
			struct pollfd pfd = { .fd = g_fd, .events = POLLOUT };
			int ms = (int)((deadline - now + 999999) / 1000000);
			if (poll(&pfd, 1, ms) < 0 && errno != EINTR)
				return -1;
			continue;
		}
		/* daemon restarted (ECONNREFUSED), socket replaced, ...: once */
		close_fd_locked();
		if (reconnected || connect_locked(s) != 0)
			return -1;
		reconnected = true;
	}
}

/* --- the record ---------------------------------------------------------- */

static int severity_of(const audit_record_t *rec)
{
	if (rec->event == AUDIT_BACKEND_ERROR)
		return LOG_ERR;
	return rec->allowed ? LOG_INFO : LOG_WARNING;
}

struct idt_writer {
	writer_t *w;
	size_t cap;
};

static void idt_field(void *ctx, const char *key, const char *val)
{
	struct idt_writer *iw = ctx;
	field_str_cap(iw->w, key, strlen(key), val, iw->cap);
}

static void format_fields(writer_t *w, const audit_record_t *rec, const settings_t *s,
                          const char *time_str, size_t cap, size_t cap_long)
{
	const char *ev = audit_event_name(rec->event);
	field_plain(w, KEY("time"), time_str);
	field_str_cap(w, KEY("host"), s->host, cap);
	field_plain(w, KEY("event"), ev);
	field_plain(w, KEY("outcome"), rec->allowed ? "allow" : "deny");
	field_str_cap(w, KEY("reason"), rec->reason, cap);
	field_str_cap(w, KEY("detail"), rec->detail, cap_long);
	field_str_cap(w, KEY("rule"), rec->rule, cap);
	field_str_cap(w, KEY("role"), rec->role, cap);
	field_str_cap(w, KEY("approvers"), rec->approvers, cap_long);
	const caller_t *c = rec->caller;
	if (c && c->known) {
		/* fixed-size arrays: a missing terminator is cut, never overread */
		field_bounded(w, KEY("user"), c->user, sizeof(c->user), cap);
		field_u64(w, KEY("uid"), (uint64_t)c->uid);
		field_u64(w, KEY("gid"), (uint64_t)c->gid);
		field_i64(w, KEY("pid"), (int64_t)c->pid);
		field_i64(w, KEY("ppid"), (int64_t)c->ppid);
		field_bounded(w, KEY("program"), c->program, sizeof(c->program), cap_long);
		if (c->has_program_sha256)
			field_hex(w, KEY("program_sha256"), c->program_sha256, 32);
		if (c->from_peer)
			field_plain(w, KEY("caller"), "peer");
	}
	const ticket_claims_t *t = rec->ticket;
	if (t) {
		field_bounded(w, KEY("issuer"), t->issuer, sizeof(t->issuer), cap);
		field_bounded(w, KEY("product"), t->product, sizeof(t->product), cap);
		field_bounded(w, KEY("pipeline"), t->pipeline, sizeof(t->pipeline), cap);
		field_bounded(w, KEY("run"), t->run, sizeof(t->run), cap);
		field_bounded(w, KEY("jti"), t->jti, sizeof(t->jti), cap);
	}
	if (rec->idtoken) {
		struct idt_writer iw = { w, cap_long };
		idtoken_audit_fields(rec->idtoken, idt_field, &iw);
	}
	field_str_cap(w, KEY("token"), rec->token_label, cap);
	field_str_cap(w, KEY("token_serial"), rec->token_serial, cap);
	field_str_cap(w, KEY("key"), rec->key_name, cap);
	field_hex(w, KEY("key_id"), rec->key_id, rec->key_id_len);
	field_str_cap(w, KEY("key_label"), rec->key_label, cap);
	field_hex(w, KEY("key_fp"), rec->key_fingerprint, 32);
	field_str_cap(w, KEY("mechanism"), rec->mechanism, cap);
	field_str_cap(w, KEY("hash"), rec->hash, cap);
	field_str_cap(w, KEY("hash_basis"), rec->hash ? rec->hash_basis : NULL, cap);
	if (rec->data_sha256) {
		field_hex(w, KEY("data_sha256"), rec->data_sha256, 32);
		field_u64(w, KEY("data_len"), rec->data_len);
	}
	if (rec->operation || rec->ckr) {
		char ckr[24];
		static const char hexd[] = "0123456789abcdef";
		unsigned long v = rec->ckr;
		int nd = 8;
		while (nd < 16 && (v >> (4 * nd)))
			nd++;
		ckr[0] = '0';
		ckr[1] = 'x';
		for (int i = 0; i < nd; i++)
			ckr[2 + i] = hexd[(v >> (4 * (nd - 1 - i))) & 15];
		ckr[2 + nd] = '\0';
		field_plain(w, KEY("ckr"), ckr);
		const char *n = audit_ckr_name(rec->ckr);
		if (n)
			field_plain(w, KEY("ckr_name"), n);
	}
	field_str_cap(w, KEY("op"), rec->operation, cap);
	field_hex(w, KEY("config_sha256"), rec->config_sha256, 32);
	field_plain(w, KEY("version"), SIGNGATE_VERSION);
}

/* Syslog framing and the unchained part of the record; returns the
 * offset of the record body (what the chain covers) in b. */
static size_t format_unlocked(sbuf_t *b, const audit_record_t *rec, const settings_t *s,
                              writer_t *w)
{
	struct timespec ts;
	char t3339[48];
	clock_gettime(CLOCK_REALTIME, &ts);
	rfc3339_utc(t3339, &ts);
	int pri = (s->facility & LOG_FACMASK) | severity_of(rec);

	sb_chr(b, '<');
	sb_u64(b, (uint64_t)pri);
	sb_chr(b, '>');
	if (s->rfc5424) {
		sb_str(b, "1 ");
		sb_str(b, t3339);
		sb_chr(b, ' ');
		sb_str(b, s->host);
		sb_chr(b, ' ');
		sb_str(b, s->ident);
		sb_chr(b, ' ');
		sb_i64(b, (int64_t)atomic_load_explicit(&g_pid, memory_order_relaxed));
		sb_str(b, " - - ");
	} else {
		sb_str(b, rfc3164_local(&ts));
		sb_chr(b, ' ');
		sb_str(b, s->ident);
		sb_chr(b, '[');
		sb_i64(b, (int64_t)atomic_load_explicit(&g_pid, memory_order_relaxed));
		sb_str(b, "]: ");
	}
	if (s->format == AUDIT_FORMAT_JSON && s->cee)
		sb_str(b, "@cee: ");
	size_t body = b->len;

	w->b = b;
	w->fmt = s->format;
	w->first = true;
	if (s->format == AUDIT_FORMAT_CEF) {
		const char *ev = audit_event_name(rec->event);
		int sev = rec->event == AUDIT_BACKEND_ERROR ? 8 : rec->allowed ? 3 : 7;
		sb_str(b, "CEF:0|signgate|signgate|" SIGNGATE_VERSION "|");
		sb_str(b, ev);
		sb_chr(b, '|');
		sb_str(b, ev);
		sb_str(b, rec->allowed ? " allowed|" : " denied|");
		sb_u64(b, (uint64_t)sev);
		sb_chr(b, '|');
	}
	size_t start = b->len;
	format_fields(w, rec, s, t3339, CAP_VALUE, CAP_LONG);
	if (b->overflow || b->len > AUDIT_MAX_RECORD - 400) {
		/* hostile lengths: the same record with short values */
		b->overflow = false;
		b->len = start;
		w->first = true;
		format_fields(w, rec, s, t3339, CAP_SMALL, CAP_SMALL);
	}
	return body;
}

/* --- the journal ------------------------------------------------------------ */

/* JOURNAL.state: one fixed-size line,
 *   "SGJ1 ID SEQ CHAIN CHECKPOINT_SEQ CHECKPOINT_TIME\n"
 * with every field at a fixed offset (numbers zero-padded to 20 places),
 * so it is written and read by hand: sscanf()/snprintf() cost more than
 * the rest of the sequence step (callgrind: 12,000 instructions a record). */
#define HEAD_LEN 166
#define HEAD_ID 5
#define HEAD_SEQ 38
#define HEAD_CHAIN 59
#define HEAD_CSEQ 124
#define HEAD_CTIME 145

static void put_dec20(char *out, uint64_t v, size_t width)
{
	for (size_t i = width; i-- > 0;) {
		out[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* The same text as "SGJ1 %.32s %020llu %.64s %020llu %020lld\n". */
static void head_format(char out[HEAD_LEN + 1], const audit_journal_head_t *h)
{
	memcpy(out, "SGJ1 ", 5);
	memcpy(out + HEAD_ID, h->id, 32);
	out[HEAD_SEQ - 1] = ' ';
	put_dec20(out + HEAD_SEQ, h->seq, 20);
	out[HEAD_CHAIN - 1] = ' ';
	memcpy(out + HEAD_CHAIN, h->chain, 64);
	out[HEAD_CSEQ - 1] = ' ';
	put_dec20(out + HEAD_CSEQ, h->checkpoint_seq, 20);
	out[HEAD_CTIME - 1] = ' ';
	if (h->checkpoint_time < 0) {
		out[HEAD_CTIME] = '-';
		put_dec20(out + HEAD_CTIME + 1, (uint64_t)0 - (uint64_t)h->checkpoint_time, 19);
	} else {
		put_dec20(out + HEAD_CTIME, (uint64_t)h->checkpoint_time, 20);
	}
	out[HEAD_LEN - 1] = '\n';
	out[HEAD_LEN] = '\0';
}

static bool is_hex_lower(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool parse_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static int head_parse(const char *buf, size_t n, audit_journal_head_t *h)
{
	uint64_t seq, cseq, t;
	bool neg;
	if (n != HEAD_LEN || memcmp(buf, "SGJ1 ", 5) != 0 || buf[HEAD_SEQ - 1] != ' ' ||
	    buf[HEAD_CHAIN - 1] != ' ' || buf[HEAD_CSEQ - 1] != ' ' || buf[HEAD_CTIME - 1] != ' ' ||
	    buf[HEAD_LEN - 1] != '\n' || !is_hex_lower(buf + HEAD_ID, 32) ||
	    !is_hex_lower(buf + HEAD_CHAIN, 64) || !parse_dec(buf + HEAD_SEQ, 20, &seq) ||
	    !parse_dec(buf + HEAD_CSEQ, 20, &cseq))
		return -1;
	neg = buf[HEAD_CTIME] == '-';
	if (!parse_dec(buf + HEAD_CTIME + neg, 20 - neg, &t) || t > (uint64_t)INT64_MAX)
		return -1;
	memset(h, 0, sizeof(*h));
	memcpy(h->id, buf + HEAD_ID, 32);
	memcpy(h->chain, buf + HEAD_CHAIN, 64);
	h->seq = seq;
	h->checkpoint_seq = cseq;
	h->checkpoint_time = neg ? -(int64_t)t : (int64_t)t;
	return 0;
}

int audit_journal_head_read(const char *state_path, audit_journal_head_t *out)
{
	char buf[HEAD_LEN + 1];
	int fd = open(state_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	ssize_t r = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	return r == HEAD_LEN ? head_parse(buf, (size_t)r, out) : -1;
}

typedef struct tail_ctx {
	char journal[33];
	uint64_t seq;
	bool has_seq;
} tail_ctx_t;

static void tail_field(void *vctx, const char *k, const char *v, size_t n)
{
	tail_ctx_t *t = vctx;
	if (!strcmp(k, "journal") && n == 32) {
		memcpy(t->journal, v, 32);
		t->journal[32] = '\0';
	} else if (!strcmp(k, "seq")) {
		char *end;
		t->seq = strtoull(v, &end, 10);
		t->has_seq = end != v && !*end;
	}
}

/* The journal's last complete record, when the state file lags behind it
 * (deleted, or a power loss in fdatasync mode before its update reached
 * the disk): a fresh sequence must never reuse a number. */
static void head_from_tail_locked(audit_journal_head_t *h)
{
	struct stat st;
	char buf[AUDIT_MAX_RECORD + 2];
	if (fstat(g_jfd, &st) != 0 || st.st_size == 0)
		return;
	size_t want = st.st_size < (off_t)sizeof(buf) ? (size_t)st.st_size : sizeof(buf);
	int rfd = open(g_jopen_path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (rfd < 0)
		return;
	ssize_t r = pread(rfd, buf, want, st.st_size - (off_t)want);
	close(rfd);
	if (r <= 0)
		return;
	size_t n = (size_t)r;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	size_t start = n;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	audit_text_t tx;
	tail_ctx_t tc = { .seq = 0 };
	if (audit_text_find(buf + start, n - start, &tx) != 0 || !tx.has_chain ||
	    audit_text_fields(&tx, tail_field, &tc) != 0 || !tc.has_seq || !tc.journal[0])
		return;
	if (h->id[0] && strcmp(h->id, tc.journal) != 0)
		return; /* another journal's file */
	if (h->id[0] && tc.seq <= h->seq)
		return;
	memcpy(h->id, tc.journal, sizeof(h->id));
	h->seq = tc.seq;
	codec_hex_encode(h->chain, sizeof(h->chain), tx.chain, 32);
}

/* Wait for the host-wide journal lock until deadline (monotonic ns): a
 * process stopped while holding it must not hang every signer. */
static int journal_flock(long long deadline)
{
	long wait_ns = 2000;
	for (;;) {
		if (flock(g_sfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -1;
		if (mono_ns() >= deadline) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct timespec ts = { 0, wait_ns };
		nanosleep(&ts, NULL);
		if (wait_ns < 500000)
			wait_ns *= 2;
	}
}

/* Open the state file (the lock), and after taking the lock the journal:
 * reopened when the path names another file (logrotate `create`, or
 * removed).  `copytruncate` needs nothing: O_APPEND writes at the end. */
static int journal_ready_locked(const settings_t *s, long long deadline, audit_journal_head_t *h)
{
	if (s->key_error[0]) {
		errno = ENOKEY;
		return -1;
	}
	/* A moved or removed journal, or a removed or replaced head file, is
	 * noticed at the next record: one stat() of each path per record (about
	 * half a microsecond each).  A time-based check saved that but let a
	 * record go into the moved file, and a head removed in that window
	 * forked the sequence. */
	struct stat st;
	bool look = true;
	if (look && g_sfd >= 0 &&
	    (stat(s->state_path, &st) != 0 || st.st_ino != g_sino || st.st_dev != g_sdev))
		close_journal_locked();
	if (g_sfd < 0) {
		close_journal_locked();
		g_sfd = open(s->state_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		             0600);
		if (g_sfd < 0)
			return -1;
		if (fstat(g_sfd, &st) != 0 || !S_ISREG(st.st_mode)) {
			close_journal_locked();
			errno = EINVAL;
			return -1;
		}
		g_sino = st.st_ino;
		g_sdev = st.st_dev;
		strcpy(g_jopen_path, s->journal);
		look = true;
	}
	if (journal_flock(deadline) != 0)
		return -1;
	/* The lock is only shared with the other writers if the file locked is
	 * the one at the path now: a head file removed or replaced since it was
	 * opened would let two processes take
	 * the same sequence number.  One stat() under the lock settles it. */
	if (stat(s->state_path, &st) != 0 || st.st_ino != g_sino || st.st_dev != g_sdev) {
		flock(g_sfd, LOCK_UN);
		close_journal_locked();
		if (++g_head_reopens > 8) {
			g_head_reopens = 0;
			errno = ESTALE;
			return -1;
		}
		return journal_ready_locked(s, deadline, h);
	}
	g_head_reopens = 0;
	if (look && (g_jfd < 0 || stat(s->journal, &st) != 0 || st.st_ino != g_jino ||
	             st.st_dev != g_jdev)) {
		if (g_jfd >= 0)
			close(g_jfd);
		g_jfd = open(s->journal,
		             O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY,
		             0600);
		if (g_jfd < 0 || fstat(g_jfd, &st) != 0 || !S_ISREG(st.st_mode)) {
			int e = g_jfd >= 0 ? EINVAL : errno;
			if (g_jfd >= 0)
				close(g_jfd);
			g_jfd = -1;
			flock(g_sfd, LOCK_UN);
			errno = e;
			return -1;
		}
		g_jino = st.st_ino;
		g_jdev = st.st_dev;
		g_tail_checked = false;
	}
	char buf[HEAD_LEN + 1];
	ssize_t r = pread(g_sfd, buf, sizeof(buf), 0);
	if (r != HEAD_LEN || head_parse(buf, (size_t)r, h) != 0) {
		memset(h, 0, sizeof(*h));
		if (r > 0) {
			/* a damaged head must not restart the sequence silently */
			flock(g_sfd, LOCK_UN);
			errno = EBADMSG;
			return -1;
		}
	}
	if (!g_tail_checked) {
		head_from_tail_locked(h);
		g_tail_checked = true;
	}
	if (!h->id[0]) {
		unsigned char rnd[16];
		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
			flock(g_sfd, LOCK_UN);
			return -1;
		}
		codec_hex_encode(h->id, sizeof(h->id), rnd, sizeof(rnd));
		memcpy(h->chain, ZERO_CHAIN, sizeof(h->chain));
		h->seq = 0;
	}
	return 0;
}

static int mac_locked(const settings_t *s, const char *p, size_t n, unsigned char out[32])
{
	static char digest[] = "SHA256";
	size_t l = 0;
	if (g_mac_for != s) {
		OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
			                                                 digest, 0),
			                OSSL_PARAM_construct_end() };
		if (!EVP_MAC_init(g_mac_ctx, s->mac_key, sizeof(s->mac_key), params))
			return -1;
		g_mac_for = s;
	} else if (!EVP_MAC_init(g_mac_ctx, NULL, 0, NULL)) {
		return -1;
	}
	if (!EVP_MAC_update(g_mac_ctx, (const unsigned char *)p, n) ||
	    !EVP_MAC_final(g_mac_ctx, out, &l, 32) || l != 32)
		return -1;
	return 0;
}

static void put_chain(sbuf_t *b, audit_format_t fmt, const char chain[65])
{
	if (fmt == AUDIT_FORMAT_JSON) {
		sb_str(b, ",\"chain\":\"");
		sb_put(b, chain, 64);
		sb_str(b, "\"}");
	} else {
		sb_str(b, " chain=");
		sb_put(b, chain, 64);
	}
}

/* One record, one write(): on a short write (disk full) cut the part that
 * was written, so the journal never holds half a record. */
static int journal_write_locked(const char *line, size_t n)
{
	ssize_t r;
	do
		r = write(g_jfd, line, n);
	while (r < 0 && errno == EINTR);
	if (r == (ssize_t)n)
		return 0;
	if (r >= 0) {
		off_t end = lseek(g_jfd, 0, SEEK_CUR);
		if (end >= r && ftruncate(g_jfd, end - r) != 0) { /* nothing better to do */
		}
		errno = ENOSPC;
	}
	return -1;
}

/* Seal the record in b (journal tail, checkpoint signature, chain) and
 * append it.  h advances only when the record is in the file. */
static int journal_seal_append_locked(const settings_t *s, sbuf_t *b, writer_t *w, size_t body,
                                      audit_journal_head_t *h, bool checkpoint)
{
	uint64_t seq = h->seq + 1;
	field_plain(w, KEY("journal"), h->id);
	field_plain(w, KEY("instance"), g_instance);
	field_u64(w, KEY("seq"), seq);
	field_plain(w, KEY("prev"), h->chain);
	if (checkpoint) {
		unsigned char sig[64];
		size_t siglen = sizeof(sig);
		char hex[129];
		EVP_MD_CTX *c = EVP_MD_CTX_new();
		int ok = c && !b->overflow &&
		         EVP_DigestSignInit(c, NULL, NULL, NULL, s->ckpt_key) == 1 &&
		         EVP_DigestSign(c, sig, &siglen, (const unsigned char *)b->p + body,
		                        b->len - body) == 1 &&
		         siglen == 64;
		EVP_MD_CTX_free(c);
		if (!ok) {
			errno = EINVAL;
			return -1;
		}
		codec_hex_encode(hex, sizeof(hex), sig, 64);
		sb_str(b, s->format == AUDIT_FORMAT_JSON ? ",\"sig\":\"" : " sig=");
		sb_put(b, hex, 128);
		if (s->format == AUDIT_FORMAT_JSON)
			sb_chr(b, '"');
	}
	unsigned char md[32];
	char chain[65];
	if (b->overflow || mac_locked(s, b->p + body, b->len - body, md) != 0) {
		errno = EMSGSIZE;
		return -1;
	}
	codec_hex_encode(chain, sizeof(chain), md, 32);
	put_chain(b, s->format, chain);
	sb_chr(b, '\n');
	if (b->overflow) {
		errno = EMSGSIZE;
		return -1;
	}
	int rc = journal_write_locked(b->p + body, b->len - body);
	b->len--; /* the newline is the journal's, not the datagram's */
	if (rc != 0)
		return -1;
	h->seq = seq;
	memcpy(h->chain, chain, sizeof(h->chain));
	if (checkpoint) {
		h->checkpoint_seq = seq;
		h->checkpoint_time = (int64_t)time(NULL);
	}
	char hb[HEAD_LEN + 1];
	head_format(hb, h);
	int e = errno;
	if (pwrite(g_sfd, hb, HEAD_LEN, 0) != HEAD_LEN) {
		/* the journal's tail still says where it is: the next process
		 * to open it reads it; this one keeps h */
		g_tail_checked = false;
	}
	/* The head is not flushed: after a power loss a lagging head is
	 * corrected from the journal's last line when the journal is opened. */
	errno = e;
	return rc;
}

static void journal_error_say_locked(const settings_t *s, int e)
{
	if (e == g_jerr_said)
		return;
	g_jerr_said = e;
	fprintf(stderr, "signgate: audit journal %s: %s (%s)\n", s->journal,
	        e == ENOKEY    ? s->key_error
	        : e == EBADMSG ? "damaged state file"
	                       : strerror(e),
	        s->required ? "signatures are refused until it can be written"
	                    : "records are lost");
}

static bool checkpoint_due(const settings_t *s, const audit_record_t *rec,
                           const audit_journal_head_t *h)
{
	if (!s->ckpt_key || rec->event == AUDIT_CHECKPOINT)
		return false;
	if (rec->event == AUDIT_MODULE_STOP)
		return true; /* anchors each process's end */
	if (s->ckpt_every > 0 && h->seq - h->checkpoint_seq >= (uint64_t)s->ckpt_every)
		return true;
	return s->ckpt_seconds > 0 && (int64_t)time(NULL) - h->checkpoint_time >= s->ckpt_seconds;
}

static size_t format_unlocked(sbuf_t *b, const audit_record_t *rec, const settings_t *s,
                              writer_t *w);
static int send_locked(const settings_t *s, const char *msg, size_t len, long long deadline);

/* Syslog copies the socket did not take (daemon slow, restarting or
 * gone): kept in order and sent before the next record, so a busy daemon
 * costs the signer nothing and still gets every record.  Bounded; what
 * does not fit is counted (and found by `signgate audit JOURNAL SYSLOG`). */
#define BACKLOG_MAX 1024
static char *g_backlog[BACKLOG_MAX];
static size_t g_backlog_len[BACKLOG_MAX];

static void backlog_push_locked(const char *msg, size_t len)
{
	char *c = g_bl_n < BACKLOG_MAX ? malloc(len) : NULL;
	if (!c) {
		atomic_fetch_add(&g_syslog_missed, 1);
		return;
	}
	memcpy(c, msg, len);
	size_t i = (g_bl_head + g_bl_n) % BACKLOG_MAX;
	g_backlog[i] = c;
	g_backlog_len[i] = len;
	g_bl_n++;
}

static bool backlog_flush_locked(const settings_t *s, long long deadline)
{
	while (g_bl_n) {
		if (send_locked(s, g_backlog[g_bl_head], g_backlog_len[g_bl_head], deadline) != 0)
			return false;
		free(g_backlog[g_bl_head]);
		g_backlog[g_bl_head] = NULL;
		g_bl_head = (g_bl_head + 1) % BACKLOG_MAX;
		g_bl_n--;
	}
	return true;
}

static void backlog_drop_locked(void)
{
	while (g_bl_n) {
		free(g_backlog[g_bl_head]);
		g_backlog[g_bl_head] = NULL;
		g_bl_head = (g_bl_head + 1) % BACKLOG_MAX;
		g_bl_n--;
		atomic_fetch_add(&g_syslog_missed, 1);
	}
}

static int syslog_copy_locked(const settings_t *s, const char *msg, size_t len, long long deadline)
{
	/* The journal holds the record: syslog waits only when required. */
	long long dl = s->syslog_required ? deadline : 0;
	if ((g_bl_n == 0 || backlog_flush_locked(s, 0)) && send_locked(s, msg, len, dl) == 0)
		return 0;
	backlog_push_locked(msg, len);
	return -1;
}

/* Journal mode, the journal part.  Called with g_lock held; b holds the
 * formatted record.  Returns 0 when the record is in the journal; then b
 * (and cb when *ckpt) hold the sealed texts for syslog.  On failure b holds
 * the record marked journal_error (sent when *send_failed_copy). */
static int emit_journal_locked(const settings_t *s, const audit_record_t *rec, sbuf_t *b,
                               writer_t *w, size_t body, long long deadline, sbuf_t *cb, bool *ckpt,
                               bool *send_failed_copy, int *sync_fd)
{
	audit_journal_head_t h;
	size_t pre_tail = b->len;
	bool first = w->first;
	int rc = -1, e = 0;

	*ckpt = *send_failed_copy = false;
	if (journal_ready_locked(s, deadline, &h) != 0) {
		e = errno;
	} else {
		if (journal_seal_append_locked(s, b, w, body, &h, false) == 0)
			rc = 0;
		else
			e = errno;
		if (rc == 0 && checkpoint_due(s, rec, &h)) {
			audit_record_t c = { .event = AUDIT_CHECKPOINT,
				             .allowed = true,
				             .reason = policy_reason_name(REASON_CHECKPOINT) };
			writer_t cw;
			size_t cbody = format_unlocked(cb, &c, s, &cw);
			*ckpt = journal_seal_append_locked(s, cb, &cw, cbody, &h, true) == 0;
			if (!*ckpt)
				fprintf(stderr,
				        "signgate: audit journal %s: checkpoint not written: %s\n",
				        s->journal, strerror(errno));
		}
		flock(g_sfd, LOCK_UN);
	}
	if (rc == 0) {
		g_jerr_said = 0;
		/* fdatasync() after the locks are released: the next record (of
		 * any process) is appended meanwhile, and one flush covers both */
		if (s->fdatasync_on && (*sync_fd = fcntl(g_jfd, F_DUPFD_CLOEXEC, 0)) < 0) {
			journal_error_say_locked(s, errno);
			return -1;
		}
		return 0;
	}
	journal_error_say_locked(s, e);
	/* Not in the journal: syslog still hears of it, marked as such (no
	 * journal sequence), keyed when the key is there. */
	b->len = pre_tail;
	b->overflow = false;
	w->first = first;
	field_plain(w, KEY("instance"), g_instance);
	char why[96];
	snprintf(why, sizeof(why), "%s", e == ENOKEY ? "key not loaded" : strerror(e));
	field_str_cap(w, KEY("journal_error"), why, CAP_SMALL);
	unsigned char md[32];
	char chain[65];
	if (!s->key_error[0] && mac_locked(s, b->p + body, b->len - body, md) == 0) {
		codec_hex_encode(chain, sizeof(chain), md, 32);
		put_chain(b, s->format, chain);
		*send_failed_copy = !b->overflow;
	}
	return -1;
}

int audit_emit(const audit_record_t *rec)
{
	settings_t *s = atomic_load(&g_settings);
	if (!rec)
		return -1;
	if (!s)
		return -1; /* not configured: nothing can be delivered */
	if (!s->enabled)
		return 0;

	char buf[AUDIT_MAX_RECORD];
	sbuf_t b = { .p = buf, .cap = sizeof(buf) };
	writer_t w;
	long long deadline = mono_ns() + (long long)s->timeout_ms * 1000000LL;
	size_t body = format_unlocked(&b, rec, s, &w);

	struct timespec dl = { .tv_sec = deadline / 1000000000LL,
		               .tv_nsec = deadline % 1000000000LL };
	if (pthread_mutex_clocklock(&g_lock, CLOCK_MONOTONIC, &dl) != 0) {
		atomic_fetch_add(&g_dropped, 1);
		return -1;
	}

	if (s->journal_on) {
		char cbuf[2048];
		sbuf_t cb = { .p = cbuf, .cap = sizeof(cbuf) };
		bool ckpt, send_failed;
		int sync_fd = -1;
		int jrc = emit_journal_locked(s, rec, &b, &w, body, deadline, &cb, &ckpt,
		                              &send_failed, &sync_fd);
		/* The host's order is fixed by the journal: the syslog copy is
		 * sent outside the journal lock, so one thread's send overlaps
		 * the next one's append. */
		pthread_mutex_unlock(&g_lock);
		if (sync_fd >= 0) {
			if (fdatasync(sync_fd) != 0) {
				int e = errno;
				if (!atomic_exchange(&g_sync_said, true))
					fprintf(stderr,
					        "signgate: audit journal %s: fdatasync: %s (%s)\n",
					        s->journal, strerror(e),
					        s->required
					                ? "signatures are refused until it works"
					                : "records may be lost");
				jrc = -1;
			} else {
				atomic_store(&g_sync_said, false);
			}
			close(sync_fd);
		}
		pthread_mutex_lock(&g_send_lock);
		if (jrc == 0) {
			if (syslog_copy_locked(s, b.p, b.len, deadline) != 0 && s->syslog_required)
				jrc = -1;
			if (ckpt)
				syslog_copy_locked(s, cb.p, cb.len, deadline);
		} else if (send_failed) {
			syslog_copy_locked(s, b.p, b.len, deadline);
		}
		pthread_mutex_unlock(&g_send_lock);
		return jrc;
	}

	uint64_t dropped = atomic_load(&g_dropped);
	uint64_t seq = g_seq + 1;
	field_plain(&w, KEY("instance"), g_instance);
	field_u64(&w, KEY("seq"), seq);
	if (dropped)
		field_u64(&w, KEY("dropped"), dropped);
	field_plain(&w, KEY("prev"), g_prev);

	int rc = -1;
	unsigned char md[32];
	char chain[65];
	unsigned int mdlen = 0;
	if (b.overflow || !EVP_DigestInit_ex(g_md_ctx, g_sha256, NULL) ||
	    !EVP_DigestUpdate(g_md_ctx, buf + body, b.len - body) ||
	    !EVP_DigestFinal_ex(g_md_ctx, md, &mdlen))
		goto out;
	codec_hex_encode(chain, sizeof(chain), md, 32);
	if (s->format == AUDIT_FORMAT_JSON) {
		sb_str(&b, ",\"chain\":\"");
		sb_put(&b, chain, 64);
		sb_str(&b, "\"}");
	} else {
		sb_str(&b, " chain=");
		sb_put(&b, chain, 64);
	}
	if (b.overflow)
		goto out;
	pthread_mutex_lock(&g_send_lock);
	int sent = send_locked(s, buf, b.len, deadline);
	pthread_mutex_unlock(&g_send_lock);
	if (sent != 0)
		goto out;
	g_seq = seq;
	memcpy(g_prev, chain, sizeof(g_prev));
	if (dropped)
		atomic_fetch_sub(&g_dropped, dropped);
	rc = 0;
out:
	if (rc != 0)
		atomic_fetch_add(&g_dropped, 1);
	pthread_mutex_unlock(&g_lock);
	return rc;
}

/* --- reading records back -------------------------------------------------- */

static const char *find_mem(const char *h, size_t hl, const char *n)
{
	return memmem(h, hl, n, strlen(n));
}

int audit_text_find(const char *line, size_t len, audit_text_t *out)
{
	/* The record starts at the earliest marker: syslog headers never hold
	 * one, and inside a record a marker can only follow its start. */
	static const struct {
		const char *m;
		audit_format_t f;
		size_t skip;
	} markers[] = {
		{ "@cee:", AUDIT_FORMAT_JSON, 5 },
		{ "{\"time\":\"", AUDIT_FORMAT_JSON, 0 },
		{ "CEF:0|signgate|", AUDIT_FORMAT_CEF, 0 },
		{ "time=", AUDIT_FORMAT_LOGFMT, 0 },
	};
	const char *best = NULL;
	size_t bi = 0;
	for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		const char *p = find_mem(line, len, markers[i].m);
		/* logfmt's "time=" must start the message, not sit inside a word */
		while (p && markers[i].f == AUDIT_FORMAT_LOGFMT && p > line && p[-1] != ' ')
			p = find_mem(p + 1, len - (size_t)(p + 1 - line), markers[i].m);
		if (p && (!best || p < best)) {
			best = p;
			bi = i;
		}
	}
	if (!best)
		return -1;
	memset(out, 0, sizeof(*out));
	out->format = markers[bi].f;
	const char *body = best + markers[bi].skip;
	const char *end = line + len;
	if (markers[bi].skip) {
		while (body < end && *body == ' ')
			body++;
		if (body >= end || *body != '{')
			return -1;
	}
	while (end > body && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' '))
		end--;
	out->body = body;
	out->body_len = (size_t)(end - body);

	/* The chain field ends the record: S is looked for at the very end. */
	size_t n = out->body_len;
	if (out->format == AUDIT_FORMAT_JSON) {
		static const char pre[] = ",\"chain\":\"";
		size_t sl = sizeof(pre) - 1 + 64 + 2;
		if (n >= sl && !memcmp(body + n - sl, pre, sizeof(pre) - 1) &&
		    !memcmp(body + n - 2, "\"}", 2) && hex_decode32(body + n - 66, out->chain)) {
			out->has_chain = true;
			out->chained_len = n - sl;
		}
	} else {
		static const char pre[] = " chain=";
		size_t sl = sizeof(pre) - 1 + 64;
		if (n >= sl && !memcmp(body + n - sl, pre, sizeof(pre) - 1) &&
		    hex_decode32(body + n - 64, out->chain)) {
			out->has_chain = true;
			out->chained_len = n - sl;
		}
	}
	/* a checkpoint's signature field sits right before S */
	if (out->has_chain) {
		bool json = out->format == AUDIT_FORMAT_JSON;
		const char *pre = json ? ",\"sig\":\"" : " sig=";
		size_t pl = strlen(pre), gl = pl + 128 + (json ? 1 : 0), p = out->chained_len;
		if (p >= gl && !memcmp(body + p - gl, pre, pl) && (!json || body[p - 1] == '"') &&
		    hex_decode32(body + p - gl + pl, out->sig) &&
		    hex_decode32(body + p - gl + pl + 64, out->sig + 32)) {
			out->has_sig = true;
			out->signed_len = p - gl;
		}
	}
	return 0;
}

bool audit_text_mac_ok(const audit_text_t *t, const unsigned char key[32])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t l = 0;
	if (!t->has_chain)
		return false;
	if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, 32, (const unsigned char *)t->body,
	               t->chained_len, md, sizeof(md), &l) ||
	    l != 32)
		return false;
	return CRYPTO_memcmp(md, t->chain, 32) == 0;
}

bool audit_text_sig_ok(const audit_text_t *t, void *pub)
{
	if (!t->has_sig || !pub)
		return false;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok =
	        c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pub) == 1 &&
	        EVP_DigestVerify(c, t->sig, 64, (const unsigned char *)t->body, t->signed_len) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* --- key files ---------------------------------------------------------- */

/* Open a secret key file with the PIN file's rules. */
static FILE *secret_open(const char *path, const char *what, char *err, size_t errlen)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s %s: not a regular file", what, path);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IWGRP | S_IRWXO)) {
		snprintf(err, errlen,
		         "%s %s: group-writable or accessible by others (mode %04o); "
		         "chmod 0600 it",
		         what, path, (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	FILE *f = fdopen(fd, "r");
	if (!f) {
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
		close(fd);
	}
	return f;
}

int audit_mac_key_load(const char *path, unsigned char key[32], char *err, size_t errlen)
{
	char buf[130];
	FILE *f = secret_open(path, "audit MAC key", err, errlen);
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	bool ok = n == 64 && hex_decode32(buf, key);
	OPENSSL_cleanse(buf, sizeof(buf));
	if (!ok) {
		snprintf(err, errlen,
		         "audit MAC key %s: want 64 lowercase hex digits "
		         "(make one with `signgate audit keygen`)",
		         path);
		return -1;
	}
	return 0;
}

void *audit_checkpoint_key_load(const char *path, char *err, size_t errlen)
{
	FILE *f = secret_open(path, "audit checkpoint key", err, errlen);
	if (!f)
		return NULL;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		snprintf(err, errlen, "audit checkpoint key %s: not an Ed25519 private key (PEM)",
		         path);
		return NULL;
	}
	return k;
}

void *audit_verify_key_load(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	EVP_PKEY *k = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if (!k || EVP_PKEY_get_id(k) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(k);
		snprintf(err, errlen, "%s: not an Ed25519 public key (PEM)", path);
		return NULL;
	}
	return k;
}

bool audit_text_chain_ok(const audit_text_t *t)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!t->has_chain)
		return false;
	if (!EVP_Digest(t->body, t->chained_len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return false;
	return memcmp(md, t->chain, 32) == 0;
}

/* Append the UTF-8 encoding of cp. */
static void sb_utf8(sbuf_t *b, uint32_t cp)
{
	char u[4];
	if (cp < 0x80) {
		u[0] = (char)cp;
		sb_put(b, u, 1);
	} else if (cp < 0x800) {
		u[0] = (char)(0xC0 | cp >> 6);
		u[1] = (char)(0x80 | (cp & 0x3F));
		sb_put(b, u, 2);
	} else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12);
		u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F));
		sb_put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18);
		u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[3] = (char)(0x80 | (cp & 0x3F));
		sb_put(b, u, 4);
	}
}

/* Unescape a logfmt (quoted or bare) or CEF value into b. */
static void unescape_into(sbuf_t *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] != '\\' || i + 1 >= n) {
			sb_chr(b, s[i]);
			continue;
		}
		char c = s[++i];
		switch (c) {
		case 'n': sb_chr(b, '\n'); break;
		case 'r': sb_chr(b, '\r'); break;
		case 't': sb_chr(b, '\t'); break;
		case 'u':
			if (i + 4 < n) {
				int v = 0, ok = 1;
				for (int k = 1; k <= 4; k++) {
					int h = codec_hex_digit((unsigned char)s[i + k]);
					if (h < 0)
						ok = 0;
					v = v << 4 | (h < 0 ? 0 : h);
				}
				if (ok) {
					sb_utf8(b, (uint32_t)v);
					i += 4;
					break;
				}
			}
			sb_chr(b, c);
			break;
		default: sb_chr(b, c); break;
		}
	}
}

static int fields_json(const audit_text_t *t, audit_field_fn fn, void *ctx)
{
	json_error_t err;
	json_t *o = json_loadb(t->body, t->body_len, JSON_REJECT_DUPLICATES, &err);
	if (!o || !json_is_object(o)) {
		json_decref(o);
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		char num[32];
		if (json_is_string(v)) {
			fn(ctx, k, json_string_value(v), json_string_length(v));
		} else if (json_is_integer(v)) {
			int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
			                 json_integer_value(v));
			fn(ctx, k, num, (size_t)n);
		} else if (json_is_true(v) || json_is_false(v)) {
			fn(ctx, k, json_is_true(v) ? "true" : "false", json_is_true(v) ? 4 : 5);
		}
	}
	json_decref(o);
	return 0;
}

static bool is_key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static int fields_logfmt(const audit_text_t *t, audit_field_fn fn, void *ctx)
{
	const char *p = t->body, *end = t->body + t->body_len;
	char val[AUDIT_MAX_RECORD];
	char key[64];
	while (p < end) {
		while (p < end && *p == ' ')
			p++;
		if (p >= end)
			break;
		const char *k = p;
		while (p < end && is_key_char(*p))
			p++;
		if (p >= end || *p != '=' || p == k || (size_t)(p - k) >= sizeof(key))
			return -1;
		memcpy(key, k, (size_t)(p - k));
		key[p - k] = '\0';
		p++;
		sbuf_t b = { .p = val, .cap = sizeof(val) - 1 };
		if (p < end && *p == '"') {
			const char *v = ++p;
			while (p < end && *p != '"')
				p += (*p == '\\' && p + 1 < end) ? 2 : 1;
			if (p >= end)
				return -1;
			unescape_into(&b, v, (size_t)(p - v));
			p++;
		} else {
			const char *v = p;
			while (p < end && *p != ' ')
				p++;
			sb_put(&b, v, (size_t)(p - v));
		}
		val[b.len] = '\0';
		fn(ctx, key, val, b.len);
	}
	return 0;
}

static int fields_cef(const audit_text_t *t, audit_field_fn fn, void *ctx)
{
	static const char *const hdr[] = { NULL,        "cef_vendor", "cef_product", "cef_version",
		                           "cef_event", "cef_name",   "cef_severity" };
	const char *p = t->body, *end = t->body + t->body_len;
	char val[AUDIT_MAX_RECORD];
	/* CEF:0|vendor|product|version|event|name|severity|ext */
	for (int part = 0; part < 7; part++) {
		const char *v = p;
		while (p < end && *p != '|')
			p += (*p == '\\' && p + 1 < end) ? 2 : 1;
		if (p >= end)
			return -1;
		if (hdr[part]) {
			sbuf_t b = { .p = val, .cap = sizeof(val) - 1 };
			unescape_into(&b, v, (size_t)(p - v));
			val[b.len] = '\0';
			fn(ctx, hdr[part], val, b.len);
		}
		p++;
	}
	/* ext: a value runs to the next " key=" whose '=' is not escaped */
	while (p < end) {
		const char *k = p;
		while (p < end && is_key_char(*p))
			p++;
		if (p >= end || *p != '=' || p == k)
			return -1;
		char key[64];
		if ((size_t)(p - k) >= sizeof(key))
			return -1;
		memcpy(key, k, (size_t)(p - k));
		key[p - k] = '\0';
		const char *v = ++p, *vend = end, *next = end;
		for (const char *q = v; q < end; q++) {
			if (*q == '\\') {
				q++;
				continue;
			}
			if (*q != ' ')
				continue;
			const char *r = q + 1;
			while (r < end && is_key_char(*r))
				r++;
			if (r < end && *r == '=' && r > q + 1) {
				vend = q;
				next = q + 1;
				break;
			}
		}
		sbuf_t b = { .p = val, .cap = sizeof(val) - 1 };
		unescape_into(&b, v, (size_t)(vend - v));
		val[b.len] = '\0';
		fn(ctx, key, val, b.len);
		p = next;
	}
	return 0;
}

int audit_text_fields(const audit_text_t *t, audit_field_fn fn, void *ctx)
{
	switch (t->format) {
	case AUDIT_FORMAT_JSON: return fields_json(t, fn, ctx);
	case AUDIT_FORMAT_LOGFMT: return fields_logfmt(t, fn, ctx);
	case AUDIT_FORMAT_CEF: return fields_cef(t, fn, ctx);
	}
	return -1;
}

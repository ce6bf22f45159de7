/* signgate: audit records to the syslog socket.
 *
 * The record is formatted into a stack buffer outside the lock (no
 * allocation on the signing path); only the chain part (instance, seq,
 * dropped, prev, chain) and the send happen under the one mutex, because
 * the chain needs a total order.  A record that could not be handed to the
 * socket does not advance seq or the chain: the log shows no hole, and
 * the next delivered record says how many were dropped.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

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
	struct settings *older;       /* kept reachable: readers may still use them */
} settings_t;

static _Atomic(settings_t *) g_settings;

/* --- chain state (under g_lock) ----------------------------------------- */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_fd = -1;
static char g_fd_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
/* The process the instance belongs to.  Kept current by a fork handler,
 * so the signing path never pays a getpid() system call. */
static _Atomic pid_t g_pid;
static bool g_atfork_registered;
static char g_instance[33];
static uint64_t g_seq;              /* last delivered */
static char g_prev[65];             /* chain of the last delivered record */
static long long g_stalled_until;   /* monotonic ns */
static EVP_MD_CTX *g_md_ctx;
static EVP_MD *g_sha256;
static _Atomic uint64_t g_dropped;

static const char ZERO_CHAIN[65] =
	"0000000000000000000000000000000000000000000000000000000000000000";

const char *audit_event_name(audit_event_t e)
{
	static const char *const names[] = {
		[AUDIT_SIGN] = "sign", [AUDIT_ADMIN] = "admin", [AUDIT_LOGIN] = "login",
		[AUDIT_TICKET] = "ticket", [AUDIT_CONFIG_LOAD] = "config-load",
		[AUDIT_CONFIG_RELOAD] = "config-reload",
		[AUDIT_CONFIG_REFUSED] = "config-refused",
		[AUDIT_MODULE_START] = "module-start", [AUDIT_MODULE_STOP] = "module-stop",
		[AUDIT_BACKEND_ERROR] = "backend-error",
	};
	if ((unsigned)e < sizeof(names) / sizeof(names[0]) && names[e])
		return names[e];
	return "unknown";
}

const char *audit_ckr_name(unsigned long ckr)
{
	static const struct { unsigned long v; const char *n; } t[] = {
		{ 0x000, "CKR_OK" }, { 0x001, "CKR_CANCEL" }, { 0x002, "CKR_HOST_MEMORY" },
		{ 0x003, "CKR_SLOT_ID_INVALID" }, { 0x005, "CKR_GENERAL_ERROR" },
		{ 0x006, "CKR_FUNCTION_FAILED" }, { 0x007, "CKR_ARGUMENTS_BAD" },
		{ 0x010, "CKR_ATTRIBUTE_READ_ONLY" }, { 0x011, "CKR_ATTRIBUTE_SENSITIVE" },
		{ 0x012, "CKR_ATTRIBUTE_TYPE_INVALID" }, { 0x013, "CKR_ATTRIBUTE_VALUE_INVALID" },
		{ 0x020, "CKR_DATA_INVALID" }, { 0x021, "CKR_DATA_LEN_RANGE" },
		{ 0x030, "CKR_DEVICE_ERROR" }, { 0x031, "CKR_DEVICE_MEMORY" },
		{ 0x032, "CKR_DEVICE_REMOVED" }, { 0x050, "CKR_FUNCTION_CANCELED" },
		{ 0x054, "CKR_FUNCTION_NOT_SUPPORTED" }, { 0x060, "CKR_KEY_HANDLE_INVALID" },
		{ 0x062, "CKR_KEY_SIZE_RANGE" }, { 0x063, "CKR_KEY_TYPE_INCONSISTENT" },
		{ 0x068, "CKR_KEY_FUNCTION_NOT_PERMITTED" }, { 0x070, "CKR_MECHANISM_INVALID" },
		{ 0x071, "CKR_MECHANISM_PARAM_INVALID" }, { 0x082, "CKR_OBJECT_HANDLE_INVALID" },
		{ 0x090, "CKR_OPERATION_ACTIVE" }, { 0x091, "CKR_OPERATION_NOT_INITIALIZED" },
		{ 0x0A0, "CKR_PIN_INCORRECT" }, { 0x0A1, "CKR_PIN_INVALID" },
		{ 0x0A2, "CKR_PIN_LEN_RANGE" }, { 0x0A3, "CKR_PIN_EXPIRED" },
		{ 0x0A4, "CKR_PIN_LOCKED" }, { 0x0B0, "CKR_SESSION_CLOSED" },
		{ 0x0B3, "CKR_SESSION_HANDLE_INVALID" }, { 0x0B5, "CKR_SESSION_READ_ONLY" },
		{ 0x0C0, "CKR_SIGNATURE_INVALID" }, { 0x0C1, "CKR_SIGNATURE_LEN_RANGE" },
		{ 0x0D0, "CKR_TEMPLATE_INCOMPLETE" }, { 0x0D1, "CKR_TEMPLATE_INCONSISTENT" },
		{ 0x0E0, "CKR_TOKEN_NOT_PRESENT" }, { 0x0E1, "CKR_TOKEN_NOT_RECOGNIZED" },
		{ 0x0E2, "CKR_TOKEN_WRITE_PROTECTED" }, { 0x100, "CKR_USER_ALREADY_LOGGED_IN" },
		{ 0x101, "CKR_USER_NOT_LOGGED_IN" }, { 0x102, "CKR_USER_PIN_NOT_INITIALIZED" },
		{ 0x103, "CKR_USER_TYPE_INVALID" }, { 0x150, "CKR_BUFFER_TOO_SMALL" },
		{ 0x190, "CKR_CRYPTOKI_NOT_INITIALIZED" }, { 0x191, "CKR_CRYPTOKI_ALREADY_INITIALIZED" },
		{ 0x1B0, "CKR_ACTION_PROHIBITED" },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].v == ckr)
			return t[i].n;
	return NULL;
}

/* --- small helpers -------------------------------------------------------- */

static long long mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void hex_encode(char *out, const unsigned char *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int hex_val(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static bool hex_decode32(const char *s, unsigned char out[32])
{
	for (int i = 0; i < 32; i++) {
		int hi = hex_val((unsigned char)s[2 * i]), lo = hex_val((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0 || (s[2 * i] >= 'A' && s[2 * i] <= 'F') ||
		    (s[2 * i + 1] >= 'A' && s[2 * i + 1] <= 'F'))
			return false;   /* lowercase only: one text, one chain */
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;
	if (c < 0x80) return 1;
	if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
	else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
	else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
	else return 0;
	if (n < len) return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80) return 0;
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

static void sb_str(sbuf_t *b, const char *s) { sb_put(b, s, strlen(s)); }
static void sb_chr(sbuf_t *b, char c) { sb_put(b, &c, 1); }

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
			esc[0] = '\\'; esc[1] = (char)c; olen = 2;
		} else if (c == '\n' || c == '\r' || (c == '\t' && w->fmt != AUDIT_FORMAT_CEF)) {
			esc[0] = '\\'; esc[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't'; olen = 2;
		} else if (c < 0x20 || c == 0x7f) {
			if (w->fmt == AUDIT_FORMAT_CEF) {
				out = "\xEF\xBF\xBD";
				olen = 3;
			} else {
				snprintf(esc, sizeof(esc), "\\u%04x", c);
				olen = 6;
			}
		} else {
			esc[0] = (char)c; olen = 1;
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
	if (!*s) return true;
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
		if (!w->first) sb_chr(w->b, ' ');
		sb_put(w->b, key, klen);
		sb_chr(w->b, '=');
		break;
	}
	w->first = false;
}

static void field_str_cap(writer_t *w, const char *key, size_t klen, const char *val, size_t cap)
{
	if (!val || !*val) return;   /* absent fields are left out */
	put_key(w, key, klen);
	bool q = w->fmt == AUDIT_FORMAT_JSON ||
	         (w->fmt == AUDIT_FORMAT_LOGFMT && logfmt_needs_quotes(val));
	if (q) sb_chr(w->b, '"');
	put_escaped(w, val, cap);
	if (q) sb_chr(w->b, '"');
}

static void field_bounded(writer_t *w, const char *key, size_t klen, const char *val, size_t size,
                          size_t cap)
{
	if (strnlen(val, size) < size) {
		field_str_cap(w, key, klen, val, cap);
	} else {
		char tmp[PATH_MAX + 1];
		if (size > PATH_MAX) size = PATH_MAX;
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
	if (q) sb_chr(w->b, '"');
	sb_str(w->b, val);
	if (q) sb_chr(w->b, '"');
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
	if (!v || n == 0) return;
	if (n > 64) n = 64;
	hex_encode(hex, v, n);
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
			if (errno == EINTR) continue;
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
	hex_encode(g_instance, rnd, sizeof(rnd));
	g_seq = 0;
	memcpy(g_prev, ZERO_CHAIN, sizeof(g_prev));
	atomic_store(&g_pid, getpid());
	g_stalled_until = 0;
	atomic_store(&g_dropped, 0);
}

static void close_fd_locked(void)
{
	if (g_fd >= 0) close(g_fd);
	g_fd = -1;
}

int audit_configure(const config_audit_t *cfg)
{
	settings_t *s = calloc(1, sizeof(*s));
	if (!s) return -1;
	s->enabled = cfg ? cfg->enabled : true;
	s->required = cfg ? cfg->required : true;
	s->format = cfg ? cfg->format : AUDIT_FORMAT_JSON;
	s->cee = cfg ? cfg->cee : false;
	s->rfc5424 = cfg ? cfg->rfc5424 : false;
	s->facility = cfg && cfg->facility > 0 ? cfg->facility : LOG_AUTHPRIV;
	s->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 200;
	snprintf(s->ident, sizeof(s->ident), "%s", cfg && cfg->ident && *cfg->ident ? cfg->ident : "signgate");
	/* an ident is one syslog token: no spaces, no '[' or ':' */
	for (char *p = s->ident; *p; p++)
		if (*p <= ' ' || *p == '[' || *p == ':' || (unsigned char)*p >= 0x7f)
			*p = '_';
	const char *path = cfg && cfg->socket_path && *cfg->socket_path ? cfg->socket_path : "/dev/log";
	if (strlen(path) >= sizeof(s->socket_path)) {
		free(s);
		return -1;
	}
	strcpy(s->socket_path, path);
	if (gethostname(s->host, sizeof(s->host)) != 0 || !s->host[0])
		strcpy(s->host, "-");
	s->host[sizeof(s->host) - 1] = '\0';
	for (char *p = s->host; *p; p++)
		if (*p <= ' ' || (unsigned char)*p >= 0x7f) *p = '_';

	pthread_mutex_lock(&g_lock);
	if (!g_sha256) {
		g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
		g_md_ctx = EVP_MD_CTX_new();
		if (!g_sha256 || !g_md_ctx) {
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
	if (g_fd >= 0 && strcmp(g_fd_path, s->socket_path) != 0)
		close_fd_locked();
	s->older = atomic_load(&g_settings);
	atomic_store(&g_settings, s);
	pthread_mutex_unlock(&g_lock);
	return 0;
}

uint64_t audit_dropped(void)
{
	return atomic_load(&g_dropped);
}

void audit_shutdown(void)
{
	pthread_mutex_lock(&g_lock);
	close_fd_locked();
	pthread_mutex_unlock(&g_lock);
}

void audit_atfork_child(void)
{
	/* The lock may have been held by a thread that does not exist here. */
	pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
	memcpy(&g_lock, &fresh, sizeof(fresh));
	close_fd_locked();
	if (g_sha256) instance_new_locked();
}

/* --- delivery ------------------------------------------------------------ */

static int connect_locked(const settings_t *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) return -1;
	strcpy(sa.sun_path, s->socket_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
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
		if (connect_locked(s) != 0) return -1;
		reconnected = true;
	}
	for (;;) {
		ssize_t r = send(g_fd, msg, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r == (ssize_t)len) {
			g_stalled_until = 0;
			return 0;
		}
		if (r >= 0) return -1;   /* a datagram is never sent in part */
		if (errno == EINTR) continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
			long long now = mono_ns();
			if (now < g_stalled_until || now >= deadline) {
				if (now >= deadline) g_stalled_until = now + STALL_NS;
				return -1;
			}
			struct pollfd pfd = { .fd = g_fd, .events = POLLOUT };
			int ms = (int)((deadline - now + 999999) / 1000000);
			if (poll(&pfd, 1, ms) < 0 && errno != EINTR) return -1;
			continue;
		}
		/* daemon restarted (ECONNREFUSED), socket replaced, ...: once */
		close_fd_locked();
		if (reconnected || connect_locked(s) != 0) return -1;
		reconnected = true;
	}
}

/* --- the record ---------------------------------------------------------- */

static int severity_of(const audit_record_t *rec)
{
	if (rec->event == AUDIT_BACKEND_ERROR) return LOG_ERR;
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
		if (c->from_peer) field_plain(w, KEY("caller"), "peer");
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
	if (rec->data_sha256) {
		field_hex(w, KEY("data_sha256"), rec->data_sha256, 32);
		field_u64(w, KEY("data_len"), rec->data_len);
	}
	if (rec->operation || rec->ckr) {
		char ckr[24];
		static const char hexd[] = "0123456789abcdef";
		unsigned long v = rec->ckr;
		int nd = 8;
		while (nd < 16 && (v >> (4 * nd))) nd++;
		ckr[0] = '0'; ckr[1] = 'x';
		for (int i = 0; i < nd; i++)
			ckr[2 + i] = hexd[(v >> (4 * (nd - 1 - i))) & 15];
		ckr[2 + nd] = '\0';
		field_plain(w, KEY("ckr"), ckr);
		const char *n = audit_ckr_name(rec->ckr);
		if (n) field_plain(w, KEY("ckr_name"), n);
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

int audit_emit(const audit_record_t *rec)
{
	settings_t *s = atomic_load(&g_settings);
	if (!rec) return -1;
	if (!s) return -1;               /* not configured: nothing can be delivered */
	if (!s->enabled) return 0;

	char buf[AUDIT_MAX_RECORD];
	sbuf_t b = { .p = buf, .cap = sizeof(buf) };
	writer_t w;
	long long deadline = mono_ns() + (long long)s->timeout_ms * 1000000LL;
	size_t body = format_unlocked(&b, rec, s, &w);

	struct timespec dl = { .tv_sec = deadline / 1000000000LL, .tv_nsec = deadline % 1000000000LL };
	if (pthread_mutex_clocklock(&g_lock, CLOCK_MONOTONIC, &dl) != 0) {
		atomic_fetch_add(&g_dropped, 1);
		return -1;
	}

	uint64_t dropped = atomic_load(&g_dropped);
	uint64_t seq = g_seq + 1;
	field_plain(&w, KEY("instance"), g_instance);
	field_u64(&w, KEY("seq"), seq);
	if (dropped) field_u64(&w, KEY("dropped"), dropped);
	field_plain(&w, KEY("prev"), g_prev);

	int rc = -1;
	unsigned char md[32];
	char chain[65];
	unsigned int mdlen = 0;
	if (b.overflow ||
	    !EVP_DigestInit_ex(g_md_ctx, g_sha256, NULL) ||
	    !EVP_DigestUpdate(g_md_ctx, buf + body, b.len - body) ||
	    !EVP_DigestFinal_ex(g_md_ctx, md, &mdlen))
		goto out;
	hex_encode(chain, md, 32);
	if (s->format == AUDIT_FORMAT_JSON) {
		sb_str(&b, ",\"chain\":\"");
		sb_put(&b, chain, 64);
		sb_str(&b, "\"}");
	} else {
		sb_str(&b, " chain=");
		sb_put(&b, chain, 64);
	}
	if (b.overflow) goto out;
	if (send_locked(s, buf, b.len, deadline) != 0) goto out;
	g_seq = seq;
	memcpy(g_prev, chain, sizeof(g_prev));
	if (dropped) atomic_fetch_sub(&g_dropped, dropped);
	rc = 0;
out:
	if (rc != 0) atomic_fetch_add(&g_dropped, 1);
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
	static const struct { const char *m; audit_format_t f; size_t skip; } markers[] = {
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
	if (!best) return -1;
	memset(out, 0, sizeof(*out));
	out->format = markers[bi].f;
	const char *body = best + markers[bi].skip;
	const char *end = line + len;
	if (markers[bi].skip) {
		while (body < end && *body == ' ') body++;
		if (body >= end || *body != '{') return -1;
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
		    !memcmp(body + n - 2, "\"}", 2) &&
		    hex_decode32(body + n - 66, out->chain)) {
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
	return 0;
}

bool audit_text_chain_ok(const audit_text_t *t)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	if (!t->has_chain) return false;
	if (!EVP_Digest(t->body, t->chained_len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return false;
	return memcmp(md, t->chain, 32) == 0;
}

/* Append the UTF-8 encoding of cp. */
static void sb_utf8(sbuf_t *b, uint32_t cp)
{
	char u[4];
	if (cp < 0x80) { u[0] = (char)cp; sb_put(b, u, 1); }
	else if (cp < 0x800) { u[0] = (char)(0xC0 | cp >> 6); u[1] = (char)(0x80 | (cp & 0x3F)); sb_put(b, u, 2); }
	else if (cp < 0x10000) {
		u[0] = (char)(0xE0 | cp >> 12); u[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		u[2] = (char)(0x80 | (cp & 0x3F)); sb_put(b, u, 3);
	} else {
		u[0] = (char)(0xF0 | cp >> 18); u[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		u[2] = (char)(0x80 | (cp >> 6 & 0x3F)); u[3] = (char)(0x80 | (cp & 0x3F)); sb_put(b, u, 4);
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
					int h = hex_val((unsigned char)s[i + k]);
					if (h < 0) ok = 0;
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
	json_object_foreach(o, k, v) {
		char num[32];
		if (json_is_string(v)) {
			fn(ctx, k, json_string_value(v), json_string_length(v));
		} else if (json_is_integer(v)) {
			int n = snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
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
		while (p < end && *p == ' ') p++;
		if (p >= end) break;
		const char *k = p;
		while (p < end && is_key_char(*p)) p++;
		if (p >= end || *p != '=' || p == k || (size_t)(p - k) >= sizeof(key)) return -1;
		memcpy(key, k, (size_t)(p - k));
		key[p - k] = '\0';
		p++;
		sbuf_t b = { .p = val, .cap = sizeof(val) - 1 };
		if (p < end && *p == '"') {
			const char *v = ++p;
			while (p < end && *p != '"') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
			if (p >= end) return -1;
			unescape_into(&b, v, (size_t)(p - v));
			p++;
		} else {
			const char *v = p;
			while (p < end && *p != ' ') p++;
			sb_put(&b, v, (size_t)(p - v));
		}
		val[b.len] = '\0';
		fn(ctx, key, val, b.len);
	}
	return 0;
}

static int fields_cef(const audit_text_t *t, audit_field_fn fn, void *ctx)
{
	static const char *const hdr[] = { NULL, "cef_vendor", "cef_product", "cef_version",
	                                   "cef_event", "cef_name", "cef_severity" };
	const char *p = t->body, *end = t->body + t->body_len;
	char val[AUDIT_MAX_RECORD];
	/* CEF:0|vendor|product|version|event|name|severity|ext */
	for (int part = 0; part < 7; part++) {
		const char *v = p;
		while (p < end && *p != '|') p += (*p == '\\' && p + 1 < end) ? 2 : 1;
		if (p >= end) return -1;
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
		while (p < end && is_key_char(*p)) p++;
		if (p >= end || *p != '=' || p == k) return -1;
		char key[64];
		if ((size_t)(p - k) >= sizeof(key)) return -1;
		memcpy(key, k, (size_t)(p - k));
		key[p - k] = '\0';
		const char *v = ++p, *vend = end, *next = end;
		for (const char *q = v; q < end; q++) {
			if (*q == '\\') { q++; continue; }
			if (*q != ' ') continue;
			const char *r = q + 1;
			while (r < end && is_key_char(*r)) r++;
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

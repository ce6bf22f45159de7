/* signgate audit: summarise audit records and verify their hash chains.
 *
 * Reads syslog files (any line layout: the record is found inside the
 * line by audit_text_find) or raw messages, in any of the three formats.
 * Chain checks are per instance (one signing process): each record's own
 * chain (edit), the link to the record before it (edit), missing
 * sequence numbers (gap), duplicates, and sequence numbers going
 * backwards in input order (reorder).  Exit 0 intact, 1 tampering
 * detected, 2 usage or input error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "audit.h"
#include "commands.h"
#include "codec.h"

#define NO_TIME INT64_MIN

typedef struct rec {
	const char *file;
	unsigned long line;
	size_t order; /* input order */
	char *instance;
	uint64_t seq;
	bool has_seq;
	char *prev;
	char chain[65];
	bool has_chain, chain_ok;
	char *event, *outcome, *reason, *key, *product, *user, *program;
	char *time;
	int64_t time_us;
	uint64_t dropped;
	/* journal records */
	char *journal, *pid;
	bool journal_error;   /* sent to syslog because the journal write failed */
	bool in_journal_file; /* the line is a bare record (a journal), not a syslog line */
	bool has_sig, sig_ok, mac_ok;
	bool skip_stats; /* a second copy, or not to be trusted */
	char *text;      /* the record's text (journal records), to compare copies */
} rec_t;

typedef struct parse_ctx {
	rec_t *r;
	bool bad_seq;
} parse_ctx_t;

/* --- time -------------------------------------------------------------- */

static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

/* RFC 3339 (or a date, or "YYYY-MM-DD HH:MM[:SS]"), no zone = UTC. */
static int parse_time(const char *s, int64_t *us)
{
	struct tm tm = { 0 };
	int y, mo, d, h = 0, mi = 0, sec = 0, frac_us = 0;
	const char *p = s;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d))
		return -1;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p++;
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi))
			return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec))
				return -1;
			if (*p == '.') {
				p++;
				int n = 0;
				while (*p >= '0' && *p <= '9') {
					if (n < 6)
						frac_us = frac_us * 10 + (*p - '0');
					n++;
					p++;
				}
				if (n == 0)
					return -1;
				for (; n < 6; n++)
					frac_us *= 10;
			}
		}
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return -1;
		off = sign * (oh * 60 + om);
	}
	if (*p)
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	time_t t = timegm(&tm);
	*us = ((int64_t)t - (int64_t)off * 60) * 1000000 + frac_us;
	return 0;
}

/* --- counters ------------------------------------------------------------ */

typedef struct counter {
	char *name;
	uint64_t n;
	char *first, *last; /* times as written */
	int64_t first_us, last_us;
	struct counter *next;
} counter_t;

typedef struct table {
	counter_t *head;
	size_t n;
} table_t;

static counter_t *table_add(table_t *t, const char *name, const char *time, int64_t us)
{
	counter_t *c;
	for (c = t->head; c; c = c->next)
		if (!strcmp(c->name, name))
			break;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		c->name = strdup(name);
		c->first_us = c->last_us = NO_TIME;
		c->next = t->head;
		t->head = c;
		t->n++;
	}
	c->n++;
	if (time && us != NO_TIME) {
		if (c->first_us == NO_TIME || us < c->first_us) {
			c->first_us = us;
			free(c->first);
			c->first = strdup(time);
		}
		if (c->last_us == NO_TIME || us > c->last_us) {
			c->last_us = us;
			free(c->last);
			c->last = strdup(time);
		}
	}
	return c;
}

static int counter_cmp(const void *a, const void *b)
{
	const counter_t *x = *(counter_t *const *)a, *y = *(counter_t *const *)b;
	if (x->n != y->n)
		return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Entries by count (descending), then name; caller frees the array. */
static counter_t **table_sorted(const table_t *t)
{
	counter_t **v = calloc(t->n + 1, sizeof(*v));
	size_t i = 0;
	if (!v)
		return NULL;
	for (counter_t *c = t->head; c; c = c->next)
		v[i++] = c;
	qsort(v, t->n, sizeof(*v), counter_cmp);
	return v;
}

static void table_free(table_t *t)
{
	counter_t *c = t->head;
	while (c) {
		counter_t *n = c->next;
		free(c->name);
		free(c->first);
		free(c->last);
		free(c);
		c = n;
	}
	t->head = NULL;
	t->n = 0;
}

/* --- reading ------------------------------------------------------------- */

static char *dupn(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Length of the valid UTF-8 sequence at s, 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len = s[0] >= 0xC2 && s[0] <= 0xDF   ? 2
	             : s[0] >= 0xE0 && s[0] <= 0xEF ? 3
	             : s[0] >= 0xF0 && s[0] <= 0xF4 ? 4
	                                            : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	if ((s[0] == 0xE0 && s[1] < 0xA0) || (s[0] == 0xED && s[1] > 0x9F) ||
	    (s[0] == 0xF0 && s[1] < 0x90) || (s[0] == 0xF4 && s[1] > 0x8F))
		return 0;
	return len;
}

/* Values go to the terminal and to --json: keep them valid UTF-8 and
 * free of control characters (a damaged log may hold anything). */
static void set_str(char **dst, const char *v, size_t n)
{
	free(*dst);
	*dst = dupn(v, n);
	if (!*dst)
		return;
	unsigned char *u = (unsigned char *)*dst;
	for (size_t i = 0; i < n;) {
		size_t l = u[i] ? utf8_len(u + i, n - i) : 0;
		if (l == 0 || (l == 1 && (u[i] < 0x20 || u[i] == 0x7f))) {
			u[i++] = '?';
			continue;
		}
		i += l;
	}
}

static void on_field(void *vctx, const char *k, const char *v, size_t n)
{
	parse_ctx_t *ctx = vctx;
	rec_t *r = ctx->r;
	if (!strcmp(k, "instance"))
		set_str(&r->instance, v, n);
	else if (!strcmp(k, "seq")) {
		char *end;
		errno = 0;
		unsigned long long s = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-')
			ctx->bad_seq = true;
		r->seq = s;
		r->has_seq = !ctx->bad_seq;
	} else if (!strcmp(k, "prev"))
		set_str(&r->prev, v, n);
	else if (!strcmp(k, "event"))
		set_str(&r->event, v, n);
	else if (!strcmp(k, "outcome"))
		set_str(&r->outcome, v, n);
	else if (!strcmp(k, "reason"))
		set_str(&r->reason, v, n);
	else if (!strcmp(k, "key"))
		set_str(&r->key, v, n);
	else if (!strcmp(k, "key_label") && !r->key)
		set_str(&r->key, v, n);
	else if (!strcmp(k, "product"))
		set_str(&r->product, v, n);
	else if (!strcmp(k, "user"))
		set_str(&r->user, v, n);
	else if (!strcmp(k, "program"))
		set_str(&r->program, v, n);
	else if (!strcmp(k, "time"))
		set_str(&r->time, v, n);
	else if (!strcmp(k, "dropped"))
		r->dropped = strtoull(v, NULL, 10);
	else if (!strcmp(k, "journal"))
		set_str(&r->journal, v, n);
	else if (!strcmp(k, "journal_error"))
		r->journal_error = true;
	else if (!strcmp(k, "pid"))
		set_str(&r->pid, v, n);
}

static void rec_free(rec_t *r)
{
	free(r->instance);
	free(r->prev);
	free(r->event);
	free(r->outcome);
	free(r->reason);
	free(r->key);
	free(r->product);
	free(r->user);
	free(r->program);
	free(r->time);
	free(r->journal);
	free(r->pid);
	free(r->text);
}

typedef struct input {
	rec_t *v;
	size_t n, cap;
	int64_t since, until; /* NO_TIME = open */
	size_t skipped_unparsed;
	bool have_mac;
	unsigned char mac[32]; /* --mac-key */
	void *verify_key;      /* --verify-key (EVP_PKEY *) */
} input_t;

static int read_stream(input_t *in, FILE *f, const char *name)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned long lineno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		audit_text_t tx;
		if (audit_text_find(line, (size_t)len, &tx) != 0)
			continue;
		rec_t r = { .file = name, .line = lineno, .time_us = NO_TIME };
		parse_ctx_t ctx = { .r = &r };
		if (audit_text_fields(&tx, on_field, &ctx) != 0 || !r.instance ||
		    (!r.has_seq && !r.journal_error)) {
			/* not ours, or damaged past recognition (shows up as a gap) */
			in->skipped_unparsed++;
			rec_free(&r);
			continue;
		}
		r.has_chain = tx.has_chain;
		if (tx.has_chain) {
			codec_hex_encode(r.chain, sizeof r.chain, tx.chain, 32);
			r.chain_ok = audit_text_chain_ok(&tx);
		}
		if (r.journal || r.journal_error) {
			/* keyed: the chain is an HMAC, checked with --mac-key */
			r.in_journal_file = tx.body == line;
			r.mac_ok = in->have_mac && audit_text_mac_ok(&tx, in->mac);
			r.chain_ok = r.mac_ok;
			r.has_sig = tx.has_sig;
			r.sig_ok = in->verify_key && audit_text_sig_ok(&tx, in->verify_key);
			r.text = dupn(tx.body, tx.body_len);
		}
		if (r.time && parse_time(r.time, &r.time_us) != 0)
			r.time_us = NO_TIME;
		if ((in->since != NO_TIME && (r.time_us == NO_TIME || r.time_us < in->since)) ||
		    (in->until != NO_TIME && (r.time_us == NO_TIME || r.time_us > in->until))) {
			rec_free(&r);
			continue;
		}
		if (in->n == in->cap) {
			size_t nc = in->cap ? in->cap * 2 : 256;
			rec_t *nv = realloc(in->v, nc * sizeof(*nv));
			if (!nv) {
				rec_free(&r);
				free(line);
				return -1;
			}
			in->v = nv;
			in->cap = nc;
		}
		r.order = in->n;
		in->v[in->n++] = r;
	}
	free(line);
	return ferror(f) ? -1 : 0;
}

/* --- chain verification ---------------------------------------------------- */

typedef enum {
	P_GAP,
	P_EDIT,
	P_LINK,
	P_DUPLICATE,
	P_REORDER,
	P_NO_CHAIN,
	P_BAD_START,
	P_UNKEYED
} ptype_t;

static const char *const ptype_name[] = {
	[P_GAP] = "gap",         [P_EDIT] = "edit",
	[P_LINK] = "edit",       [P_DUPLICATE] = "duplicate",
	[P_REORDER] = "reorder", [P_NO_CHAIN] = "edit",
	[P_BAD_START] = "edit",  [P_UNKEYED] = "forged",
};

typedef struct problem {
	ptype_t type;
	uint64_t seq, seq_to; /* gap: missing seq..seq_to */
	const rec_t *at;      /* where it shows */
	const rec_t *other;   /* link/reorder: the record before */
} problem_t;

typedef struct instance_report {
	const char *id;
	size_t n_records;
	uint64_t first_seq, last_seq, dropped;
	const char *first_time, *last_time;
	problem_t *problems;
	size_t n_problems, cap_problems;
} instance_report_t;

static void add_problem(instance_report_t *ir, problem_t p)
{
	if (ir->n_problems == ir->cap_problems) {
		size_t nc = ir->cap_problems ? ir->cap_problems * 2 : 8;
		problem_t *np = realloc(ir->problems, nc * sizeof(*np));
		if (!np)
			return;
		ir->problems = np;
		ir->cap_problems = nc;
	}
	ir->problems[ir->n_problems++] = p;
}

static int by_instance_seq(const void *a, const void *b)
{
	const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
	int c = strcmp(x->instance, y->instance);
	if (c)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int by_order(const void *a, const void *b)
{
	const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char ZERO64[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* recs: one instance's records sorted by seq. */
static void verify_instance(rec_t **recs, size_t n, instance_report_t *ir, bool unkeyed_forged)
{
	ir->id = recs[0]->instance;
	ir->n_records = n;
	ir->first_seq = recs[0]->seq;
	ir->last_seq = recs[n - 1]->seq;
	if (unkeyed_forged) {
		/* journal in use: an unkeyed stream is someone else's */
		add_problem(ir,
		            (problem_t){ .type = P_UNKEYED, .seq = recs[0]->seq, .at = recs[0] });
		for (size_t i = 0; i < n; i++)
			recs[i]->skip_stats = true;
	}
	for (size_t i = 0; i < n; i++) {
		const rec_t *r = recs[i];
		ir->dropped += r->dropped;
		if (!r->has_chain)
			add_problem(ir, (problem_t){ .type = P_NO_CHAIN, .seq = r->seq, .at = r });
		else if (!r->chain_ok)
			add_problem(ir, (problem_t){ .type = P_EDIT, .seq = r->seq, .at = r });
		if (r->seq == 1 && (!r->prev || strcmp(r->prev, ZERO64)))
			add_problem(ir, (problem_t){ .type = P_BAD_START, .seq = r->seq, .at = r });
		if (i == 0)
			continue;
		const rec_t *p = recs[i - 1];
		if (r->seq == p->seq) {
			/* the same record twice is a replay; two different ones a forgery
			 * (equal valid chains mean equal text) */
			bool same = r->chain_ok && p->chain_ok && !strcmp(r->chain, p->chain);
			add_problem(ir, (problem_t){ .type = same ? P_DUPLICATE : P_EDIT,
			                             .seq = r->seq,
			                             .at = r,
			                             .other = p });
		} else if (r->seq > p->seq + 1) {
			add_problem(ir, (problem_t){ .type = P_GAP,
			                             .seq = p->seq + 1,
			                             .seq_to = r->seq - 1,
			                             .at = r,
			                             .other = p });
		} else if (!r->prev || !p->has_chain || strcmp(r->prev, p->chain)) {
			add_problem(
			        ir,
			        (problem_t){ .type = P_LINK, .seq = r->seq, .at = r, .other = p });
		}
	}
	/* input order: a record whose seq is below one already seen was moved */
	rec_t **ord = malloc(n * sizeof(*ord));
	if (!ord)
		return;
	memcpy(ord, recs, n * sizeof(*ord));
	qsort(ord, n, sizeof(*ord), by_order);
	const rec_t *max = NULL;
	for (size_t i = 0; i < n; i++) {
		if (max && ord[i]->seq < max->seq)
			add_problem(ir, (problem_t){ .type = P_REORDER,
			                             .seq = ord[i]->seq,
			                             .at = ord[i],
			                             .other = max });
		if (!max || ord[i]->seq > max->seq)
			max = ord[i];
	}
	free(ord);
	int64_t lo = NO_TIME, hi = NO_TIME;
	for (size_t i = 0; i < n; i++) {
		if (recs[i]->time_us == NO_TIME)
			continue;
		if (lo == NO_TIME || recs[i]->time_us < lo) {
			lo = recs[i]->time_us;
			ir->first_time = recs[i]->time;
		}
		if (hi == NO_TIME || recs[i]->time_us > hi) {
			hi = recs[i]->time_us;
			ir->last_time = recs[i]->time;
		}
	}
}

static void describe(const problem_t *p, char *out, size_t len)
{
	switch (p->type) {
	case P_GAP:
		if (p->seq == p->seq_to)
			snprintf(out, len, "seq %llu missing (between %s:%lu and %s:%lu)",
			         (unsigned long long)p->seq, p->other->file, p->other->line,
			         p->at->file, p->at->line);
		else
			snprintf(out, len,
			         "seq %llu-%llu missing (%llu records, between %s:%lu and %s:%lu)",
			         (unsigned long long)p->seq, (unsigned long long)p->seq_to,
			         (unsigned long long)(p->seq_to - p->seq + 1), p->other->file,
			         p->other->line, p->at->file, p->at->line);
		break;
	case P_EDIT:
		if (p->other)
			snprintf(out, len,
			         "seq %llu at %s:%lu conflicts with another seq %llu at %s:%lu",
			         (unsigned long long)p->seq, p->at->file, p->at->line,
			         (unsigned long long)p->other->seq, p->other->file, p->other->line);
		else
			snprintf(out, len, "seq %llu at %s:%lu: content does not match its chain",
			         (unsigned long long)p->seq, p->at->file, p->at->line);
		break;
	case P_NO_CHAIN:
		snprintf(out, len, "seq %llu at %s:%lu: chain field missing or malformed",
		         (unsigned long long)p->seq, p->at->file, p->at->line);
		break;
	case P_BAD_START:
		snprintf(out, len, "seq 1 at %s:%lu: prev is not the zero chain", p->at->file,
		         p->at->line);
		break;
	case P_LINK:
		snprintf(out, len,
		         "seq %llu at %s:%lu: prev does not match the chain of seq %llu at %s:%lu",
		         (unsigned long long)p->seq, p->at->file, p->at->line,
		         (unsigned long long)p->other->seq, p->other->file, p->other->line);
		break;
	case P_UNKEYED:
		snprintf(out, len,
		         "seq %llu at %s:%lu: record without a keyed journal chain "
		         "(the journal's signgate never writes one)",
		         (unsigned long long)p->seq, p->at->file, p->at->line);
		break;
	case P_DUPLICATE:
		snprintf(out, len, "seq %llu at %s:%lu repeats %s:%lu", (unsigned long long)p->seq,
		         p->at->file, p->at->line, p->other->file, p->other->line);
		break;
	case P_REORDER:
		snprintf(out, len, "seq %llu at %s:%lu comes after seq %llu at %s:%lu",
		         (unsigned long long)p->seq, p->at->file, p->at->line,
		         (unsigned long long)p->other->seq, p->other->file, p->other->line);
		break;
	}
}

/* --- journal verification ------------------------------------------------------
 *
 * Journal records (with a `journal` id) form one host-wide chain per
 * journal: one sequence for every process, each chain value an HMAC under
 * the journal's key, checkpoints signed with Ed25519.  The journal file(s)
 * and syslog copies of the same records are checked against each other.
 */

typedef struct jproblem {
	const char *type;
	bool tamper; /* false: a note (delivery, coverage) */
	uint64_t seq, seq_to;
	const rec_t *at;
	char msg[640];
} jproblem_t;

typedef struct jreport {
	const char *id;
	size_t n_journal, n_syslog, n_canon, n_ckpt, n_ckpt_ok;
	uint64_t first_seq, last_seq;
	bool have_head;
	audit_journal_head_t head;
	jproblem_t *p;
	size_t np, capp, n_tamper;
} jreport_t;

static jproblem_t *jadd(jreport_t *jr, const char *type, bool tamper, uint64_t seq, uint64_t seq_to,
                        const rec_t *at)
{
	if (jr->np == jr->capp) {
		size_t nc = jr->capp ? jr->capp * 2 : 8;
		jproblem_t *np = realloc(jr->p, nc * sizeof(*np));
		if (!np)
			return NULL;
		jr->p = np;
		jr->capp = nc;
	}
	jproblem_t *p = &jr->p[jr->np++];
	memset(p, 0, sizeof(*p));
	p->type = type;
	p->tamper = tamper;
	p->seq = seq;
	p->seq_to = seq_to;
	p->at = at;
	if (tamper)
		jr->n_tamper++;
	return p;
}

static int by_journal_seq(const void *a, const void *b)
{
	const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
	int c = strcmp(x->journal, y->journal);
	if (c)
		return c;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	if (x->in_journal_file != y->in_journal_file)
		return x->in_journal_file ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *seq_range(char *buf, size_t len, uint64_t a, uint64_t b)
{
	if (a == b)
		snprintf(buf, len, "seq %llu", (unsigned long long)a);
	else
		snprintf(buf, len, "seq %llu-%llu (%llu records)", (unsigned long long)a,
		         (unsigned long long)b, (unsigned long long)(b - a + 1));
	return buf;
}

/* Who wrote the records [i, j) of recs: "instance X (pid P, PROGRAM)", the
 * distinct ones, for naming a deleted process. */
static void name_writers(rec_t **recs, size_t i, size_t j, char *out, size_t len)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t k = i; k < j && used + 1 < len; k++) {
		bool seen = false;
		for (size_t m = i; m < k; m++)
			if (recs[m]->instance && recs[k]->instance &&
			    !strcmp(recs[m]->instance, recs[k]->instance))
				seen = true;
		if (seen || !recs[k]->instance)
			continue;
		int n = snprintf(out + used, len - used, "%sprocess %s (pid %s, %s)",
		                 used ? "; " : "", recs[k]->instance,
		                 recs[k]->pid ? recs[k]->pid : "?",
		                 recs[k]->program ? recs[k]->program : "program unknown");
		if (n < 0)
			break;
		used += (size_t)n;
	}
	if (used >= len)
		used = len - 1;
}

/* Does any copy of this instance's records remain in the journal files? */
static bool instance_in_journal(rec_t **recs, size_t n, const char *inst)
{
	for (size_t k = 0; k < n; k++)
		if (recs[k]->in_journal_file && recs[k]->instance &&
		    !strcmp(recs[k]->instance, inst))
			return true;
	return false;
}

/* recs: one journal's records sorted by seq, journal copies first.
 * head_paths: the state files beside the journal files given. */
static void verify_journal(input_t *in, rec_t **recs, size_t n, jreport_t *jr, char **head_paths,
                           size_t n_heads)
{
	bool filtered = in->since != NO_TIME || in->until != NO_TIME;
	memset(jr, 0, sizeof(*jr));
	jr->id = recs[0]->journal;
	for (size_t k = 0; k < n_heads; k++) {
		audit_journal_head_t h;
		if (audit_journal_head_read(head_paths[k], &h) == 0 && !strcmp(h.id, jr->id) &&
		    (!jr->have_head || h.seq > jr->head.seq)) {
			jr->head = h;
			jr->have_head = true;
		}
	}
	rec_t **canon = calloc(n + 1, sizeof(*canon));
	unsigned char *kinds = calloc(n + 1, 1); /* per canon: 1 in a journal file, 2 in syslog */
	if (!canon || !kinds) {
		free(canon);
		free(kinds);
		return;
	}
	size_t m = 0;
	uint64_t last_journal = 0, last_syslog = 0;
	bool any_journal = false;
	for (size_t k = 0; k < n; k++) {
		if (recs[k]->in_journal_file) {
			jr->n_journal++;
			any_journal = true;
			if (recs[k]->seq > last_journal)
				last_journal = recs[k]->seq;
		} else {
			jr->n_syslog++;
			/* a forged copy says nothing about where the journal ends */
			if (recs[k]->seq > last_syslog && (!in->have_mac || recs[k]->mac_ok))
				last_syslog = recs[k]->seq;
		}
	}
	/* one record per seq: a copy whose MAC holds, the journal's first */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && recs[j]->seq == recs[i]->seq)
			j++;
		rec_t *best = NULL;
		for (size_t k = i; k < j && !best; k++)
			if (!in->have_mac || recs[k]->mac_ok)
				best = recs[k];
		if (!best)
			best = recs[i];
		for (size_t k = i; k < j; k++)
			if (recs[k] != best || (in->have_mac && !best->mac_ok))
				recs[k]->skip_stats = true;
		/* two different texts for one seq in the same kind of file */
		for (size_t k = i + 1; k < j; k++) {
			const rec_t *a = recs[k - 1], *b = recs[k];
			if (a->in_journal_file != b->in_journal_file)
				continue;
			jproblem_t *p;
			if (a->text && b->text && !strcmp(a->text, b->text)) {
				if ((p = jadd(jr, "duplicate", true, b->seq, b->seq, b)))
					snprintf(p->msg, sizeof(p->msg),
					         "seq %llu at %s:%lu repeats %s:%lu",
					         (unsigned long long)b->seq, b->file, b->line,
					         a->file, a->line);
			}
		}
		for (size_t k = i; k < j; k++)
			kinds[m] |= recs[k]->in_journal_file ? 1 : 2;
		canon[m++] = best;
		i = j;
	}
	jr->n_canon = m;
	jr->first_seq = canon[0]->seq;
	jr->last_seq = canon[m - 1]->seq;

	/* bad MACs: an edit keeps the chain value signgate wrote (the next
	 * record's prev, another copy, or the head still name it); a forgery
	 * is a record nobody links to */
	if (in->have_mac) {
		for (size_t k = 0; k < n; k++) {
			rec_t *r = recs[k];
			if (r->mac_ok)
				continue;
			bool linked = jr->have_head && jr->head.seq == r->seq && r->has_chain &&
			              !strcmp(jr->head.chain, r->chain);
			for (size_t q = 0; q < n && !linked; q++) {
				const rec_t *o = recs[q];
				if (o == r || !o->mac_ok || !r->has_chain)
					continue;
				if ((o->seq == r->seq + 1 && o->prev &&
				     !strcmp(o->prev, r->chain)) ||
				    (o->seq == r->seq && !strcmp(o->chain, r->chain)))
					linked = true;
			}
			jproblem_t *p =
			        jadd(jr, linked ? "edit" : "forged", true, r->seq, r->seq, r);
			if (p)
				snprintf(
				        p->msg, sizeof(p->msg),
				        linked ? "seq %llu at %s:%lu: content changed after signgate sealed it (bad MAC)"
				               : "seq %llu at %s:%lu: bad MAC: not written by signgate (event %s, user %s, "
				                 "program %s)",
				        (unsigned long long)r->seq, r->file, r->line,
				        r->event ? r->event : "?", r->user ? r->user : "?",
				        r->program ? r->program : "?");
		}
	}

	/* order of the host: gaps, links, checkpoints */
	for (size_t k = 0; k < m; k++) {
		const rec_t *r = canon[k];
		if (r->event && !strcmp(r->event, "checkpoint")) {
			jr->n_ckpt++;
			if (r->sig_ok)
				jr->n_ckpt_ok++;
			else if (in->verify_key || !r->has_sig) {
				jproblem_t *p = jadd(jr, "forged", true, r->seq, r->seq, r);
				if (p)
					snprintf(
					        p->msg, sizeof(p->msg),
					        "seq %llu at %s:%lu: checkpoint signature does not verify",
					        (unsigned long long)r->seq, r->file, r->line);
			}
		}
		if (k == 0) {
			if (r->seq == 1 && (!r->prev || strcmp(r->prev, ZERO64))) {
				jproblem_t *p = jadd(jr, "edit", true, 1, 1, r);
				if (p)
					snprintf(p->msg, sizeof(p->msg),
					         "seq 1 at %s:%lu: prev is not the zero chain",
					         r->file, r->line);
			}
			continue;
		}
		const rec_t *pr = canon[k - 1];
		if (r->seq > pr->seq + 1 && filtered) {
			/* --since/--until leave holes of their own */
		} else if (r->seq > pr->seq + 1) {
			char rb[96];
			jproblem_t *p = jadd(jr, "gap", true, pr->seq + 1, r->seq - 1, r);
			if (p)
				snprintf(p->msg, sizeof(p->msg),
				         "%s missing from every input (deleted; between "
				         "%s:%lu and %s:%lu)",
				         seq_range(rb, sizeof(rb), pr->seq + 1, r->seq - 1),
				         pr->file, pr->line, r->file, r->line);
		} else if ((!in->have_mac || (r->mac_ok && pr->mac_ok)) &&
		           (!r->prev || !pr->has_chain || strcmp(r->prev, pr->chain))) {
			jproblem_t *p = jadd(jr, "edit", true, r->seq, r->seq, r);
			if (p)
				snprintf(p->msg, sizeof(p->msg),
				         "seq %llu at %s:%lu: prev does not match the chain "
				         "of seq %llu at %s:%lu",
				         (unsigned long long)r->seq, r->file, r->line,
				         (unsigned long long)pr->seq, pr->file, pr->line);
		}
	}

	/* journal against syslog: runs of seqs present in one only */
	if (any_journal && jr->n_syslog && !filtered) {
		for (size_t k = 0; k < m;) {
			bool jhas = kinds[k] & 1, shas = kinds[k] & 2;
			if (jhas && shas) {
				k++;
				continue;
			}
			size_t e = k + 1;
			while (e < m && canon[e]->seq == canon[e - 1]->seq + 1 &&
			       kinds[e] == kinds[k])
				e++;
			char rb[96], who[400];
			uint64_t a = canon[k]->seq, b = canon[e - 1]->seq;
			if (!jhas && a > last_journal) {
				/* reported below as the truncated tail */
			} else if (!jhas) {
				name_writers(canon, k, e, who, sizeof(who));
				bool whole = true;
				for (size_t t = k; t < e; t++)
					if (canon[t]->instance &&
					    instance_in_journal(recs, n, canon[t]->instance))
						whole = false;
				jproblem_t *p = jadd(jr, whole ? "deleted-process" : "deleted",
				                     true, a, b, canon[k]);
				if (p)
					snprintf(
					        p->msg, sizeof(p->msg),
					        "%s missing from the journal, present in %s "
					        "from line %lu; written by %s%s",
					        seq_range(rb, sizeof(rb), a, b), canon[k]->file,
					        canon[k]->line, who,
					        whole ? " (every record of that process is gone from the journal)"
					              : "");
			} else {
				jproblem_t *p = jadd(jr, "not-in-syslog", false, a, b, canon[k]);
				if (p)
					snprintf(p->msg, sizeof(p->msg),
					         "%s in the journal but not in the syslog input "
					         "(not delivered, or cut from the syslog file)",
					         seq_range(rb, sizeof(rb), a, b));
			}
			k = e;
		}
	}

	/* the tail: judged against the head file, syslog copies and checkpoints */
	if (filtered) {
		jproblem_t *p = jadd(jr, "filtered", false, 0, 0, NULL);
		if (p)
			snprintf(p->msg, sizeof(p->msg),
			         "--since/--until select part of the journal: "
			         "gaps and the tail are not judged");
	} else if (any_journal) {
		uint64_t head = 0;
		const char *by = NULL;
		if (jr->have_head && jr->head.seq > head) {
			head = jr->head.seq;
			by = "the journal head file";
		}
		if (last_syslog > head) {
			head = last_syslog;
			by = "the syslog input";
		}
		uint64_t last_ckpt = 0;
		for (size_t k = 0; k < m; k++)
			if (canon[k]->in_journal_file && canon[k]->sig_ok && canon[k]->event &&
			    !strcmp(canon[k]->event, "checkpoint"))
				last_ckpt = canon[k]->seq;
		char rb[96];
		if (head > last_journal) {
			jproblem_t *p = jadd(jr, "truncated", true, last_journal + 1, head, NULL);
			if (p)
				snprintf(
				        p->msg, sizeof(p->msg),
				        "the journal ends at seq %llu but %s has seq %llu: "
				        "%s cut from the end (last checkpoint in the journal: seq %llu)",
				        (unsigned long long)last_journal, by,
				        (unsigned long long)head,
				        seq_range(rb, sizeof(rb), last_journal + 1, head),
				        (unsigned long long)last_ckpt);
		} else if (jr->have_head && jr->head.seq == last_journal) {
			const rec_t *lr = NULL;
			for (size_t k = 0; k < n; k++)
				if (recs[k]->in_journal_file && recs[k]->seq == last_journal)
					lr = recs[k];
			if (lr && (!lr->has_chain || strcmp(lr->chain, jr->head.chain))) {
				jproblem_t *p =
				        jadd(jr, "edit", true, last_journal, last_journal, lr);
				if (p)
					snprintf(p->msg, sizeof(p->msg),
					         "seq %llu at %s:%lu is not the record the "
					         "journal head file names",
					         (unsigned long long)last_journal, lr->file,
					         lr->line);
			}
		} else if (!jr->have_head && !jr->n_syslog && last_journal > last_ckpt) {
			jproblem_t *p =
			        jadd(jr, "unanchored", false, last_ckpt + 1, last_journal, NULL);
			if (p)
				snprintf(
				        p->msg, sizeof(p->msg),
				        "%s after the last checkpoint (seq %llu): a cut "
				        "there would not show without the head file (JOURNAL.state) or a syslog copy",
				        seq_range(rb, sizeof(rb), last_ckpt + 1, last_journal),
				        (unsigned long long)last_ckpt);
		}
	}

	/* input order within each journal file: seq only goes up */
	rec_t **ord = malloc(n * sizeof(*ord));
	if (ord) {
		memcpy(ord, recs, n * sizeof(*ord));
		qsort(ord, n, sizeof(*ord), by_order);
		const char *files[64];
		const rec_t *maxes[64];
		size_t nf = 0;
		for (size_t k = 0; k < n; k++) {
			if (!ord[k]->in_journal_file)
				continue;
			size_t f = 0;
			while (f < nf && files[f] != ord[k]->file)
				f++;
			if (f == nf) {
				if (nf == 64)
					continue;
				files[nf] = ord[k]->file;
				maxes[nf++] = NULL;
			}
			const rec_t *max = maxes[f];
			if (max && ord[k]->seq < max->seq) {
				jproblem_t *p =
				        jadd(jr, "reorder", true, ord[k]->seq, ord[k]->seq, ord[k]);
				if (p)
					snprintf(
					        p->msg, sizeof(p->msg),
					        "seq %llu at %s:%lu comes after seq %llu at %s:%lu",
					        (unsigned long long)ord[k]->seq, ord[k]->file,
					        ord[k]->line, (unsigned long long)max->seq,
					        max->file, max->line);
			}
			if (!max || ord[k]->seq > max->seq)
				maxes[f] = ord[k];
		}
		free(ord);
	}
	free(kinds);
	free(canon);
}

/* --- output ---------------------------------------------------------------- */

static void print_table(const char *title, const table_t *t, bool times)
{
	printf("\n%s:\n", title);
	if (!t->n) {
		printf("  (none)\n");
		return;
	}
	counter_t **v = table_sorted(t);
	if (!v)
		return;
	for (size_t i = 0; i < t->n; i++) {
		printf("  %-32s %8llu", v[i]->name, (unsigned long long)v[i]->n);
		if (times)
			printf("  first %s  last %s", v[i]->first ? v[i]->first : "-",
			       v[i]->last ? v[i]->last : "-");
		printf("\n");
	}
	free(v);
}

static json_t *json_table(const table_t *t, bool times)
{
	json_t *o = json_object();
	counter_t **v = table_sorted(t);
	if (!v)
		return o;
	for (size_t i = 0; i < t->n; i++) {
		if (times) {
			json_t *e = json_pack("{s:I}", "count", (json_int_t)v[i]->n);
			if (v[i]->first)
				json_object_set_new(e, "first", json_string(v[i]->first));
			if (v[i]->last)
				json_object_set_new(e, "last", json_string(v[i]->last));
			json_object_set_new(o, v[i]->name, e);
		} else {
			json_object_set_new(o, v[i]->name, json_integer((json_int_t)v[i]->n));
		}
	}
	free(v);
	return o;
}

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: signgate audit [--json] [--since TIME] [--until TIME]\n"
	        "                      [--mac-key FILE] [--verify-key PUB] [--head STATE] [FILE...]\n"
	        "       signgate audit keygen [--owner USER] [--force] DIR\n"
	        "  Reads syslog files and journals (or stdin, or '-') and summarises signgate\n"
	        "  audit records in any format (JSON, CEF, logfmt); verifies each instance's\n"
	        "  sequence numbers and hash chain, and each journal's host-wide chain:\n"
	        "  MACs (--mac-key), checkpoint signatures (--verify-key), gaps, edits,\n"
	        "  reordering, duplicates, a cut tail (against JOURNAL.state, found beside\n"
	        "  each journal given, or --head) and journal records missing from syslog\n"
	        "  copies and the reverse.  TIME is RFC 3339 or YYYY-MM-DD (UTC).\n"
	        "  keygen writes DIR/audit-mac.key and DIR/audit-checkpoint.key (0600) and\n"
	        "  DIR/audit-checkpoint.pub (for the SOC).\n"
	        "  Exit: 0 chains intact, 1 tampering detected, 2 usage or input error.\n");
}

static int write_file(const char *dir, const char *name, const char *data, size_t len, mode_t mode,
                      bool force, uid_t uid, gid_t gid)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	int fd =
	        open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL),
	             mode);
	if (fd < 0) {
		fprintf(stderr, "signgate audit keygen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	bool ok = write(fd, data, len) == (ssize_t)len && fchmod(fd, mode) == 0 &&
	          (uid == (uid_t)-1 || fchown(fd, uid, gid) == 0);
	if (close(fd) != 0)
		ok = false;
	if (!ok) {
		fprintf(stderr, "signgate audit keygen: %s: %s\n", path, strerror(errno));
		return -1;
	}
	printf("%s\n", path);
	return 0;
}

static int cmd_keygen(int argc, char **argv)
{
	bool force = false;
	const char *dir = NULL, *owner = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--force"))
			force = true;
		else if (!strcmp(argv[i], "--owner") && i + 1 < argc)
			owner = argv[++i];
		else if (argv[i][0] != '-' && !dir)
			dir = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!dir) {
		usage(stderr);
		return 2;
	}
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	if (owner) {
		struct passwd *pw = getpwnam(owner);
		if (!pw) {
			fprintf(stderr, "signgate audit keygen: no user '%s'\n", owner);
			return 2;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	unsigned char mac[32];
	char hex[66];
	if (RAND_priv_bytes(mac, sizeof(mac)) != 1)
		return 2;
	codec_hex_encode(hex, sizeof(hex), mac, sizeof(mac));
	hex[64] = '\n';
	hex[65] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	BIO *priv = BIO_new(BIO_s_mem()), *pub = BIO_new(BIO_s_mem());
	int rc = 2;
	char *pp, *pu;
	long lp, lu;
	if (!k || !priv || !pub || !PEM_write_bio_PrivateKey(priv, k, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_PUBKEY(pub, k))
		goto out;
	lp = BIO_get_mem_data(priv, &pp);
	lu = BIO_get_mem_data(pub, &pu);
	umask(077);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "signgate audit keygen: %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (write_file(dir, "audit-mac.key", hex, 65, 0600, force, uid, gid) != 0 ||
	    write_file(dir, "audit-checkpoint.key", pp, (size_t)lp, 0600, force, uid, gid) != 0 ||
	    write_file(dir, "audit-checkpoint.pub", pu, (size_t)lu, 0644, force, uid, gid) != 0)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(hex, sizeof(hex));
	EVP_PKEY_free(k);
	BIO_free(priv);
	BIO_free(pub);
	return rc;
}

static void strv_add(char ***v, size_t *n, const char *s)
{
	char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (!nv)
		return;
	*v = nv;
	if (((*v)[*n] = strdup(s)))
		(*n)++;
}

int cmd_audit(int argc, char **argv)
{
	/* --to-cases FILE: recorded decisions as test cases (audit_cases.c) */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strncmp(argv[i], "--to-cases", 10))
			return cmd_audit_to_cases(argc, argv);
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "mac-key", required_argument, NULL, 'm' },
		{ "verify-key", required_argument, NULL, 'k' },
		{ "head", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	input_t in = { .since = NO_TIME, .until = NO_TIME };
	int c, rc = 2;
	char **heads = NULL;
	size_t n_heads = 0;
	char err[512];
	if (argc > 1 && !strcmp(argv[1], "keygen"))
		return cmd_keygen(argc - 1, argv + 1);
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 's':
		case 'u': {
			int64_t t;
			if (parse_time(optarg, &t) != 0) {
				fprintf(stderr,
				        "signgate audit: --%s: not an RFC 3339 time: '%s'\n",
				        c == 's' ? "since" : "until", optarg);
				goto out;
			}
			if (c == 's')
				in.since = t;
			else
				in.until = t;
			break;
		}
		case 'm':
			if (audit_mac_key_load(optarg, in.mac, err, sizeof(err)) != 0) {
				fprintf(stderr, "signgate audit: %s\n", err);
				goto out;
			}
			in.have_mac = true;
			break;
		case 'k':
			EVP_PKEY_free(in.verify_key);
			if (!(in.verify_key = audit_verify_key_load(optarg, err, sizeof(err)))) {
				fprintf(stderr, "signgate audit: --verify-key %s\n", err);
				goto out;
			}
			break;
		case 'H': strv_add(&heads, &n_heads, optarg); break;
		case 'h':
			usage(stdout);
			rc = 0;
			goto out;
		default: usage(stderr); goto out;
		}
	}

	if (optind >= argc) {
		if (read_stream(&in, stdin, "<stdin>") != 0) {
			fprintf(stderr, "signgate audit: reading stdin: %s\n", strerror(errno));
			goto out;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "-")) {
			if (read_stream(&in, stdin, "<stdin>") != 0)
				goto out;
			continue;
		}
		FILE *f = fopen(argv[i], "r");
		if (!f) {
			fprintf(stderr, "signgate audit: %s: %s\n", argv[i], strerror(errno));
			goto out;
		}
		size_t before = in.n;
		int r = read_stream(&in, f, argv[i]);
		fclose(f);
		if (r != 0) {
			fprintf(stderr, "signgate audit: reading %s failed\n", argv[i]);
			goto out;
		}
		/* a journal's head file sits beside it */
		bool journal_file = false;
		for (size_t k = before; k < in.n; k++)
			if (in.v[k].in_journal_file)
				journal_file = true;
		char hp[PATH_MAX];
		if (journal_file && !n_heads &&
		    snprintf(hp, sizeof(hp), "%s.state", argv[i]) < (int)sizeof(hp) &&
		    access(hp, R_OK) == 0)
			strv_add(&heads, &n_heads, hp);
	}

	/* chains: journals (host-wide, keyed) and instances (per process) */
	rec_t **sorted = malloc((in.n + 1) * sizeof(*sorted));
	rec_t **jsorted = malloc((in.n + 1) * sizeof(*jsorted));
	instance_report_t *irs = calloc(in.n + 1, sizeof(*irs));
	jreport_t *jrs = calloc(in.n + 1, sizeof(*jrs));
	size_t n_ir = 0, n_jr = 0, n_problems = 0, n_legacy = 0, n_journal = 0, n_unjournaled = 0,
	       n_unjournaled_bad = 0;
	if (!sorted || !irs || !jsorted || !jrs) {
		free(sorted);
		free(irs);
		free(jsorted);
		free(jrs);
		goto out;
	}
	for (size_t i = 0; i < in.n; i++) {
		rec_t *r = &in.v[i];
		if (r->journal && r->has_seq)
			jsorted[n_journal++] = r;
		else if (r->journal_error) {
			/* the journal could not be written: syslog's copy says so */
			r->skip_stats = true;
			n_unjournaled++;
			if (in.have_mac && !r->mac_ok)
				n_unjournaled_bad++;
		} else
			sorted[n_legacy++] = r;
	}
	n_problems += n_unjournaled_bad;
	bool keyed = in.have_mac || n_journal > 0;
	qsort(jsorted, n_journal, sizeof(*jsorted), by_journal_seq);
	for (size_t i = 0; i < n_journal;) {
		size_t j = i;
		while (j < n_journal && !strcmp(jsorted[j]->journal, jsorted[i]->journal))
			j++;
		verify_journal(&in, jsorted + i, j - i, &jrs[n_jr], heads, n_heads);
		n_problems += jrs[n_jr].n_tamper;
		n_jr++;
		i = j;
	}
	qsort(sorted, n_legacy, sizeof(*sorted), by_instance_seq);
	for (size_t i = 0; i < n_legacy;) {
		size_t j = i;
		while (j < n_legacy && !strcmp(sorted[j]->instance, sorted[i]->instance))
			j++;
		verify_instance(sorted + i, j - i, &irs[n_ir], keyed);
		n_problems += irs[n_ir].n_problems;
		n_ir++;
		i = j;
	}

	/* statistics: one copy of each record, trusted ones only */
	table_t by_key = { 0 }, by_product = { 0 }, by_user = { 0 }, by_program = { 0 },
	        denials = { 0 }, events = { 0 };
	uint64_t n_sign = 0, n_deny = 0, n_withdrawn = 0;
	size_t n_counted = 0;
	for (size_t i = 0; i < in.n; i++) {
		const rec_t *r = &in.v[i];
		if (r->skip_stats)
			continue;
		n_counted++;
		bool allow = r->outcome && !strcmp(r->outcome, "allow");
		char ev[96];
		snprintf(ev, sizeof(ev), "%s %s", r->event ? r->event : "?",
		         r->outcome ? r->outcome : "?");
		table_add(&events, ev, NULL, NO_TIME);
		if (!allow) {
			n_deny++;
			table_add(&denials, r->reason ? r->reason : "(no reason)", NULL, NO_TIME);
			/* journaled, then withdrawn (syslog_required, fdatasync failed):
			 * its allow record is in the journal too */
			if (r->journal && r->event && !strcmp(r->event, "sign") && r->reason &&
			    !strcmp(r->reason, "audit-unavailable"))
				n_withdrawn++;
		}
		if (allow && r->event && !strcmp(r->event, "sign")) {
			n_sign++;
			table_add(&by_key, r->key ? r->key : "(unknown)", r->time, r->time_us);
			table_add(&by_product, r->product ? r->product : "(no ticket)", NULL,
			          NO_TIME);
			table_add(&by_user, r->user ? r->user : "(unknown)", NULL, NO_TIME);
			table_add(&by_program, r->program ? r->program : "(unknown)", NULL,
			          NO_TIME);
		}
	}

	n_sign -= n_withdrawn < n_sign ? n_withdrawn : n_sign;
	if (as_json) {
		json_t *o = json_object();
		json_object_set_new(o, "records", json_integer((json_int_t)n_counted));
		json_object_set_new(o, "withdrawn", json_integer((json_int_t)n_withdrawn));
		json_object_set_new(o, "signatures", json_integer((json_int_t)n_sign));
		json_object_set_new(o, "denials", json_integer((json_int_t)n_deny));
		json_object_set_new(o, "events", json_table(&events, false));
		json_object_set_new(o, "signatures_by_key", json_table(&by_key, true));
		json_object_set_new(o, "signatures_by_product", json_table(&by_product, false));
		json_object_set_new(o, "signatures_by_user", json_table(&by_user, false));
		json_object_set_new(o, "signatures_by_program", json_table(&by_program, false));
		json_object_set_new(o, "denials_by_reason", json_table(&denials, false));
		json_t *ja = json_array();
		for (size_t i = 0; i < n_jr; i++) {
			jreport_t *jr = &jrs[i];
			json_t *e = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "journal",
			                      jr->id, "records", (json_int_t)jr->n_canon,
			                      "in_journal", (json_int_t)jr->n_journal, "in_syslog",
			                      (json_int_t)jr->n_syslog, "first_seq",
			                      (json_int_t)jr->first_seq, "last_seq",
			                      (json_int_t)jr->last_seq, "checkpoints_verified",
			                      (json_int_t)jr->n_ckpt_ok, "macs_checked",
			                      in.have_mac, "intact", jr->n_tamper == 0);
			json_t *pa = json_array();
			for (size_t k = 0; k < jr->np; k++) {
				const jproblem_t *p = &jr->p[k];
				json_t *pe = json_pack("{s:s,s:b,s:I,s:I,s:s}", "type", p->type,
				                       "tampering", p->tamper, "seq",
				                       (json_int_t)p->seq, "seq_to",
				                       (json_int_t)p->seq_to, "message", p->msg);
				if (p->at) {
					json_object_set_new(pe, "file", json_string(p->at->file));
					json_object_set_new(pe, "line",
					                    json_integer((json_int_t)p->at->line));
				}
				json_array_append_new(pa, pe);
			}
			json_object_set_new(e, "problems", pa);
			json_array_append_new(ja, e);
		}
		json_object_set_new(o, "journals", ja);
		json_object_set_new(o, "not_journaled", json_integer((json_int_t)n_unjournaled));
		json_t *ia = json_array();
		for (size_t i = 0; i < n_ir; i++) {
			instance_report_t *ir = &irs[i];
			json_t *e = json_pack(
			        "{s:s,s:I,s:I,s:I,s:I,s:b}", "instance", ir->id, "records",
			        (json_int_t)ir->n_records, "first_seq", (json_int_t)ir->first_seq,
			        "last_seq", (json_int_t)ir->last_seq, "dropped",
			        (json_int_t)ir->dropped, "intact", ir->n_problems == 0);
			if (ir->first_time)
				json_object_set_new(e, "first_time", json_string(ir->first_time));
			if (ir->last_time)
				json_object_set_new(e, "last_time", json_string(ir->last_time));
			json_t *pa = json_array();
			for (size_t k = 0; k < ir->n_problems; k++) {
				const problem_t *p = &ir->problems[k];
				char msg[1024];
				describe(p, msg, sizeof(msg));
				json_t *pe = json_pack(
				        "{s:s,s:I,s:s,s:I,s:s}", "type", ptype_name[p->type], "seq",
				        (json_int_t)p->seq, "file", p->at->file, "line",
				        (json_int_t)p->at->line, "message", msg);
				if (p->type == P_GAP)
					json_object_set_new(pe, "seq_to",
					                    json_integer((json_int_t)p->seq_to));
				json_array_append_new(pa, pe);
			}
			json_object_set_new(e, "problems", pa);
			json_array_append_new(ia, e);
		}
		json_object_set_new(o, "instances", ia);
		json_object_set_new(o, "intact", json_boolean(n_problems == 0));
		char *js = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (js)
			puts(js);
		free(js);
		json_decref(o);
	} else {
		if (n_jr)
			printf("signgate audit: %zu records, %zu journals, %zu instances; %llu signatures, "
			       "%llu denials\n",
			       n_counted, n_jr, n_ir, (unsigned long long)n_sign,
			       (unsigned long long)n_deny);
		else
			printf("signgate audit: %zu records, %zu instances; %llu signatures, %llu denials\n",
			       n_counted, n_ir, (unsigned long long)n_sign,
			       (unsigned long long)n_deny);
		if (n_withdrawn)
			printf("  (%llu journaled signatures were withdrawn before being returned: "
			       "not counted above)\n",
			       (unsigned long long)n_withdrawn);
		print_table("Events", &events, false);
		print_table("Signatures by key (first and last use)", &by_key, true);
		print_table("Signatures by product", &by_product, false);
		print_table("Signatures by user", &by_user, false);
		print_table("Signatures by program", &by_program, false);
		print_table("Denials by reason", &denials, false);
		if (n_jr || n_unjournaled) {
			printf("\nJournals (host-wide keyed chain):\n");
			if (!in.have_mac)
				printf("  note: no --mac-key: record MACs not checked (forgeries cannot be told)\n");
			if (!in.verify_key)
				printf("  note: no --verify-key: checkpoint signatures not checked\n");
			if (n_unjournaled)
				printf("  note: %zu records say the journal could not be written at the source "
				       "(%zu of them with a bad MAC)\n",
				       n_unjournaled, n_unjournaled_bad);
		}
		for (size_t i = 0; i < n_jr; i++) {
			jreport_t *jr = &jrs[i];
			printf("  %s  seq %llu-%llu  %zu records (%zu journal lines, %zu syslog lines), "
			       "%zu checkpoints (%zu verified)  %s\n",
			       jr->id, (unsigned long long)jr->first_seq,
			       (unsigned long long)jr->last_seq, jr->n_canon, jr->n_journal,
			       jr->n_syslog, jr->n_ckpt, jr->n_ckpt_ok,
			       jr->n_tamper ? "TAMPERED" : "intact");
			if (jr->first_seq > 1)
				printf("    note: starts at seq %llu (earlier records not in the input)\n",
				       (unsigned long long)jr->first_seq);
			if (jr->have_head)
				printf("    head: seq %llu\n", (unsigned long long)jr->head.seq);
			for (size_t k = 0; k < jr->np; k++)
				printf("    %s%s: %s\n",
				       jr->p[k].tamper ? "" : "note: ", jr->p[k].type,
				       jr->p[k].msg);
		}
		if (n_ir || !n_jr)
			printf("\nInstances (hash chain):\n");
		if (!n_ir && !n_jr)
			printf("  (none)\n");
		for (size_t i = 0; i < n_ir; i++) {
			instance_report_t *ir = &irs[i];
			printf("  %s  seq %llu-%llu  %zu records  %s\n", ir->id,
			       (unsigned long long)ir->first_seq, (unsigned long long)ir->last_seq,
			       ir->n_records, ir->n_problems ? "TAMPERED" : "intact");
			if (ir->first_seq > 1)
				printf("    note: starts at seq %llu (earlier records not in the input)\n",
				       (unsigned long long)ir->first_seq);
			if (ir->dropped)
				printf("    note: %llu records were not delivered by signgate (dropped at source)\n",
				       (unsigned long long)ir->dropped);
			for (size_t k = 0; k < ir->n_problems; k++) {
				char msg[1024];
				describe(&ir->problems[k], msg, sizeof(msg));
				printf("    %s: %s\n", ptype_name[ir->problems[k].type], msg);
			}
		}
		printf("\n%s\n",
		       n_problems ? "Result: TAMPERING DETECTED" : "Result: all chains intact");
	}
	rc = n_problems ? 1 : 0;

	for (size_t i = 0; i < n_ir; i++)
		free(irs[i].problems);
	for (size_t i = 0; i < n_jr; i++)
		free(jrs[i].p);
	free(irs);
	free(jrs);
	free(sorted);
	free(jsorted);
	table_free(&by_key);
	table_free(&by_product);
	table_free(&by_user);
	table_free(&by_program);
	table_free(&denials);
	table_free(&events);
out:
	for (size_t i = 0; i < in.n; i++)
		rec_free(&in.v[i]);
	free(in.v);
	for (size_t i = 0; i < n_heads; i++)
		free(heads[i]);
	free(heads);
	EVP_PKEY_free(in.verify_key);
	OPENSSL_cleanse(in.mac, sizeof(in.mac));
	return rc;
}

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
#include <time.h>

#include <jansson.h>

#include "audit.h"
#include "commands.h"

#define NO_TIME INT64_MIN

typedef struct rec {
	const char *file;
	unsigned long line;
	size_t order;                 /* input order */
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
		if ((*p)[i] < '0' || (*p)[i] > '9') return -1;
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
		if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi)) return -1;
		if (*p == ':') {
			p++;
			if (digits(&p, 2, &sec)) return -1;
			if (*p == '.') {
				p++;
				int n = 0;
				while (*p >= '0' && *p <= '9') {
					if (n < 6) frac_us = frac_us * 10 + (*p - '0');
					n++;
					p++;
				}
				if (n == 0) return -1;
				for (; n < 6; n++) frac_us *= 10;
			}
		}
	}
	int off = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1, oh, om;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om)) return -1;
		off = sign * (oh * 60 + om);
	}
	if (*p) return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return -1;
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
	char *first, *last;           /* times as written */
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
		if (!strcmp(c->name, name)) break;
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) return NULL;
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
	if (x->n != y->n) return x->n < y->n ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Entries by count (descending), then name; caller frees the array. */
static counter_t **table_sorted(const table_t *t)
{
	counter_t **v = calloc(t->n + 1, sizeof(*v));
	size_t i = 0;
	if (!v) return NULL;
	for (counter_t *c = t->head; c; c = c->next) v[i++] = c;
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
	if (!d) return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* Length of the valid UTF-8 sequence at s, 0 if none. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80) return 1;
	size_t len = s[0] >= 0xC2 && s[0] <= 0xDF ? 2 : s[0] >= 0xE0 && s[0] <= 0xEF ? 3 :
	             s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : 0;
	if (!len || len > n) return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80) return 0;
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
	if (!*dst) return;
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
	if (!strcmp(k, "instance")) set_str(&r->instance, v, n);
	else if (!strcmp(k, "seq")) {
		char *end;
		errno = 0;
		unsigned long long s = strtoull(v, &end, 10);
		if (errno || end == v || *end || v[0] == '-') ctx->bad_seq = true;
		r->seq = s;
		r->has_seq = !ctx->bad_seq;
	}
	else if (!strcmp(k, "prev")) set_str(&r->prev, v, n);
	else if (!strcmp(k, "event")) set_str(&r->event, v, n);
	else if (!strcmp(k, "outcome")) set_str(&r->outcome, v, n);
	else if (!strcmp(k, "reason")) set_str(&r->reason, v, n);
	else if (!strcmp(k, "key")) set_str(&r->key, v, n);
	else if (!strcmp(k, "key_label") && !r->key) set_str(&r->key, v, n);
	else if (!strcmp(k, "product")) set_str(&r->product, v, n);
	else if (!strcmp(k, "user")) set_str(&r->user, v, n);
	else if (!strcmp(k, "program")) set_str(&r->program, v, n);
	else if (!strcmp(k, "time")) set_str(&r->time, v, n);
	else if (!strcmp(k, "dropped")) r->dropped = strtoull(v, NULL, 10);
}

static void rec_free(rec_t *r)
{
	free(r->instance); free(r->prev); free(r->event); free(r->outcome); free(r->reason);
	free(r->key); free(r->product); free(r->user); free(r->program); free(r->time);
}

typedef struct input {
	rec_t *v;
	size_t n, cap;
	int64_t since, until;          /* NO_TIME = open */
	size_t skipped_unparsed;
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
		if (audit_text_find(line, (size_t)len, &tx) != 0) continue;
		rec_t r = { .file = name, .line = lineno, .time_us = NO_TIME };
		parse_ctx_t ctx = { .r = &r };
		if (audit_text_fields(&tx, on_field, &ctx) != 0 || !r.instance || !r.has_seq) {
			/* not ours, or damaged past recognition (shows up as a gap) */
			in->skipped_unparsed++;
			rec_free(&r);
			continue;
		}
		r.has_chain = tx.has_chain;
		if (tx.has_chain) {
			static const char hexd[] = "0123456789abcdef";
			for (int i = 0; i < 32; i++) {
				r.chain[2 * i] = hexd[tx.chain[i] >> 4];
				r.chain[2 * i + 1] = hexd[tx.chain[i] & 15];
			}
			r.chain_ok = audit_text_chain_ok(&tx);
		}
		if (r.time && parse_time(r.time, &r.time_us) != 0) r.time_us = NO_TIME;
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

typedef enum { P_GAP, P_EDIT, P_LINK, P_DUPLICATE, P_REORDER, P_NO_CHAIN, P_BAD_START } ptype_t;

static const char *const ptype_name[] = {
	[P_GAP] = "gap", [P_EDIT] = "edit", [P_LINK] = "edit", [P_DUPLICATE] = "duplicate",
	[P_REORDER] = "reorder", [P_NO_CHAIN] = "edit", [P_BAD_START] = "edit",
};

typedef struct problem {
	ptype_t type;
	uint64_t seq, seq_to;         /* gap: missing seq..seq_to */
	const rec_t *at;              /* where it shows */
	const rec_t *other;           /* link/reorder: the record before */
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
		if (!np) return;
		ir->problems = np;
		ir->cap_problems = nc;
	}
	ir->problems[ir->n_problems++] = p;
}

static int by_instance_seq(const void *a, const void *b)
{
	const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
	int c = strcmp(x->instance, y->instance);
	if (c) return c;
	if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int by_order(const void *a, const void *b)
{
	const rec_t *x = *(rec_t *const *)a, *y = *(rec_t *const *)b;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char ZERO64[] = "0000000000000000000000000000000000000000000000000000000000000000";

/* recs: one instance's records sorted by seq. */
static void verify_instance(rec_t **recs, size_t n, instance_report_t *ir)
{
	ir->id = recs[0]->instance;
	ir->n_records = n;
	ir->first_seq = recs[0]->seq;
	ir->last_seq = recs[n - 1]->seq;
	for (size_t i = 0; i < n; i++) {
		const rec_t *r = recs[i];
		ir->dropped += r->dropped;
		if (!r->has_chain)
			add_problem(ir, (problem_t){ .type = P_NO_CHAIN, .seq = r->seq, .at = r });
		else if (!r->chain_ok)
			add_problem(ir, (problem_t){ .type = P_EDIT, .seq = r->seq, .at = r });
		if (r->seq == 1 && (!r->prev || strcmp(r->prev, ZERO64)))
			add_problem(ir, (problem_t){ .type = P_BAD_START, .seq = r->seq, .at = r });
		if (i == 0) continue;
		const rec_t *p = recs[i - 1];
		if (r->seq == p->seq) {
			/* the same record twice is a replay; two different ones a forgery
			 * (equal valid chains mean equal text) */
			bool same = r->chain_ok && p->chain_ok && !strcmp(r->chain, p->chain);
			add_problem(ir, (problem_t){ .type = same ? P_DUPLICATE : P_EDIT,
			                             .seq = r->seq, .at = r, .other = p });
		} else if (r->seq > p->seq + 1) {
			add_problem(ir, (problem_t){ .type = P_GAP, .seq = p->seq + 1, .seq_to = r->seq - 1,
			                             .at = r, .other = p });
		} else if (!r->prev || !p->has_chain || strcmp(r->prev, p->chain)) {
			add_problem(ir, (problem_t){ .type = P_LINK, .seq = r->seq, .at = r, .other = p });
		}
	}
	/* input order: a record whose seq is below one already seen was moved */
	rec_t **ord = malloc(n * sizeof(*ord));
	if (!ord) return;
	memcpy(ord, recs, n * sizeof(*ord));
	qsort(ord, n, sizeof(*ord), by_order);
	const rec_t *max = NULL;
	for (size_t i = 0; i < n; i++) {
		if (max && ord[i]->seq < max->seq)
			add_problem(ir, (problem_t){ .type = P_REORDER, .seq = ord[i]->seq, .at = ord[i],
			                             .other = max });
		if (!max || ord[i]->seq > max->seq) max = ord[i];
	}
	free(ord);
	int64_t lo = NO_TIME, hi = NO_TIME;
	for (size_t i = 0; i < n; i++) {
		if (recs[i]->time_us == NO_TIME) continue;
		if (lo == NO_TIME || recs[i]->time_us < lo) { lo = recs[i]->time_us; ir->first_time = recs[i]->time; }
		if (hi == NO_TIME || recs[i]->time_us > hi) { hi = recs[i]->time_us; ir->last_time = recs[i]->time; }
	}
}

static void describe(const problem_t *p, char *out, size_t len)
{
	switch (p->type) {
	case P_GAP:
		if (p->seq == p->seq_to)
			snprintf(out, len, "seq %llu missing (between %s:%lu and %s:%lu)",
			         (unsigned long long)p->seq, p->other->file, p->other->line, p->at->file, p->at->line);
		else
			snprintf(out, len, "seq %llu-%llu missing (%llu records, between %s:%lu and %s:%lu)",
			         (unsigned long long)p->seq, (unsigned long long)p->seq_to,
			         (unsigned long long)(p->seq_to - p->seq + 1),
			         p->other->file, p->other->line, p->at->file, p->at->line);
		break;
	case P_EDIT:
		if (p->other)
			snprintf(out, len, "seq %llu at %s:%lu conflicts with another seq %llu at %s:%lu",
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
		snprintf(out, len, "seq 1 at %s:%lu: prev is not the zero chain",
		         p->at->file, p->at->line);
		break;
	case P_LINK:
		snprintf(out, len, "seq %llu at %s:%lu: prev does not match the chain of seq %llu at %s:%lu",
		         (unsigned long long)p->seq, p->at->file, p->at->line,
		         (unsigned long long)p->other->seq, p->other->file, p->other->line);
		break;
	case P_DUPLICATE:
		snprintf(out, len, "seq %llu at %s:%lu repeats %s:%lu",
		         (unsigned long long)p->seq, p->at->file, p->at->line, p->other->file, p->other->line);
		break;
	case P_REORDER:
		snprintf(out, len, "seq %llu at %s:%lu comes after seq %llu at %s:%lu",
		         (unsigned long long)p->seq, p->at->file, p->at->line,
		         (unsigned long long)p->other->seq, p->other->file, p->other->line);
		break;
	}
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
	if (!v) return;
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
	if (!v) return o;
	for (size_t i = 0; i < t->n; i++) {
		if (times) {
			json_t *e = json_pack("{s:I}", "count", (json_int_t)v[i]->n);
			if (v[i]->first) json_object_set_new(e, "first", json_string(v[i]->first));
			if (v[i]->last) json_object_set_new(e, "last", json_string(v[i]->last));
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
	        "usage: signgate audit [--json] [--since TIME] [--until TIME] [FILE...]\n"
	        "  Reads syslog files (or stdin, or '-') and summarises signgate audit\n"
	        "  records in any format (JSON, CEF, logfmt); verifies each instance's\n"
	        "  sequence numbers and hash chain.  TIME is RFC 3339 or YYYY-MM-DD (UTC).\n"
	        "  Exit: 0 chains intact, 1 tampering detected, 2 usage or input error.\n");
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	input_t in = { .since = NO_TIME, .until = NO_TIME };
	int c, rc = 2;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': as_json = true; break;
		case 's':
		case 'u': {
			int64_t t;
			if (parse_time(optarg, &t) != 0) {
				fprintf(stderr, "signgate audit: --%s: not an RFC 3339 time: '%s'\n",
				        c == 's' ? "since" : "until", optarg);
				return 2;
			}
			if (c == 's') in.since = t; else in.until = t;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
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
			if (read_stream(&in, stdin, "<stdin>") != 0) goto out;
			continue;
		}
		FILE *f = fopen(argv[i], "r");
		if (!f) {
			fprintf(stderr, "signgate audit: %s: %s\n", argv[i], strerror(errno));
			goto out;
		}
		int r = read_stream(&in, f, argv[i]);
		fclose(f);
		if (r != 0) {
			fprintf(stderr, "signgate audit: reading %s failed\n", argv[i]);
			goto out;
		}
	}

	/* statistics */
	table_t by_key = { 0 }, by_product = { 0 }, by_user = { 0 }, by_program = { 0 },
	        denials = { 0 }, events = { 0 };
	uint64_t n_sign = 0, n_deny = 0;
	for (size_t i = 0; i < in.n; i++) {
		const rec_t *r = &in.v[i];
		bool allow = r->outcome && !strcmp(r->outcome, "allow");
		char ev[96];
		snprintf(ev, sizeof(ev), "%s %s", r->event ? r->event : "?", r->outcome ? r->outcome : "?");
		table_add(&events, ev, NULL, NO_TIME);
		if (!allow) {
			n_deny++;
			table_add(&denials, r->reason ? r->reason : "(no reason)", NULL, NO_TIME);
		}
		if (allow && r->event && !strcmp(r->event, "sign")) {
			n_sign++;
			table_add(&by_key, r->key ? r->key : "(unknown)", r->time, r->time_us);
			table_add(&by_product, r->product ? r->product : "(no ticket)", NULL, NO_TIME);
			table_add(&by_user, r->user ? r->user : "(unknown)", NULL, NO_TIME);
			table_add(&by_program, r->program ? r->program : "(unknown)", NULL, NO_TIME);
		}
	}

	/* chains, per instance */
	rec_t **sorted = malloc((in.n + 1) * sizeof(*sorted));
	instance_report_t *irs = calloc(in.n + 1, sizeof(*irs));
	size_t n_ir = 0, n_problems = 0;
	if (!sorted || !irs) {
		free(sorted);
		free(irs);
		goto out_tables;
	}
	for (size_t i = 0; i < in.n; i++) sorted[i] = &in.v[i];
	qsort(sorted, in.n, sizeof(*sorted), by_instance_seq);
	for (size_t i = 0; i < in.n;) {
		size_t j = i;
		while (j < in.n && !strcmp(sorted[j]->instance, sorted[i]->instance)) j++;
		verify_instance(sorted + i, j - i, &irs[n_ir]);
		n_problems += irs[n_ir].n_problems;
		n_ir++;
		i = j;
	}

	if (as_json) {
		json_t *o = json_object();
		json_object_set_new(o, "records", json_integer((json_int_t)in.n));
		json_object_set_new(o, "signatures", json_integer((json_int_t)n_sign));
		json_object_set_new(o, "denials", json_integer((json_int_t)n_deny));
		json_object_set_new(o, "events", json_table(&events, false));
		json_object_set_new(o, "signatures_by_key", json_table(&by_key, true));
		json_object_set_new(o, "signatures_by_product", json_table(&by_product, false));
		json_object_set_new(o, "signatures_by_user", json_table(&by_user, false));
		json_object_set_new(o, "signatures_by_program", json_table(&by_program, false));
		json_object_set_new(o, "denials_by_reason", json_table(&denials, false));
		json_t *ia = json_array();
		for (size_t i = 0; i < n_ir; i++) {
			instance_report_t *ir = &irs[i];
			json_t *e = json_pack("{s:s,s:I,s:I,s:I,s:I,s:b}", "instance", ir->id,
			                      "records", (json_int_t)ir->n_records,
			                      "first_seq", (json_int_t)ir->first_seq,
			                      "last_seq", (json_int_t)ir->last_seq,
			                      "dropped", (json_int_t)ir->dropped,
			                      "intact", ir->n_problems == 0);
			if (ir->first_time) json_object_set_new(e, "first_time", json_string(ir->first_time));
			if (ir->last_time) json_object_set_new(e, "last_time", json_string(ir->last_time));
			json_t *pa = json_array();
			for (size_t k = 0; k < ir->n_problems; k++) {
				const problem_t *p = &ir->problems[k];
				char msg[1024];
				describe(p, msg, sizeof(msg));
				json_t *pe = json_pack("{s:s,s:I,s:s,s:I,s:s}", "type", ptype_name[p->type],
				                       "seq", (json_int_t)p->seq, "file", p->at->file,
				                       "line", (json_int_t)p->at->line, "message", msg);
				if (p->type == P_GAP) json_object_set_new(pe, "seq_to", json_integer((json_int_t)p->seq_to));
				json_array_append_new(pa, pe);
			}
			json_object_set_new(e, "problems", pa);
			json_array_append_new(ia, e);
		}
		json_object_set_new(o, "instances", ia);
		json_object_set_new(o, "intact", json_boolean(n_problems == 0));
		char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s) puts(s);
		free(s);
		json_decref(o);
	} else {
		printf("signgate audit: %zu records, %zu instances; %llu signatures, %llu denials\n",
		       in.n, n_ir, (unsigned long long)n_sign, (unsigned long long)n_deny);
		print_table("Events", &events, false);
		print_table("Signatures by key (first and last use)", &by_key, true);
		print_table("Signatures by product", &by_product, false);
		print_table("Signatures by user", &by_user, false);
		print_table("Signatures by program", &by_program, false);
		print_table("Denials by reason", &denials, false);
		printf("\nInstances (hash chain):\n");
		if (!n_ir) printf("  (none)\n");
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
		printf("\n%s\n", n_problems ? "Result: TAMPERING DETECTED" : "Result: all chains intact");
	}
	rc = n_problems ? 1 : 0;

	for (size_t i = 0; i < n_ir; i++) free(irs[i].problems);
	free(irs);
	free(sorted);
out_tables:
	table_free(&by_key); table_free(&by_product); table_free(&by_user);
	table_free(&by_program); table_free(&denials); table_free(&events);
out:
	for (size_t i = 0; i < in.n; i++) rec_free(&in.v[i]);
	free(in.v);
	return rc;
}

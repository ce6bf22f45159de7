/* signgate: audit records.
 *
 * One record per decision, written by signgate itself to the syslog
 * socket (never openlog(), which would change the host's logging), so
 * that a failed delivery is known and, with audit.required, the
 * signature is refused.  Each record carries a per-process instance id,
 * a sequence number and a hash chain over the previous record.
 */
#ifndef SIGNGATE_AUDIT_H
#define SIGNGATE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "caller.h"
#include "config.h"
#include "idtoken.h"
#include "ticket.h"

typedef enum audit_event {
	AUDIT_SIGN = 0, /* signature returned / denied */
	AUDIT_ADMIN,    /* key administration */
	AUDIT_LOGIN,
	AUDIT_TICKET,
	AUDIT_CONFIG_LOAD,
	AUDIT_CONFIG_RELOAD,
	AUDIT_CONFIG_REFUSED,
	AUDIT_MODULE_START,
	AUDIT_MODULE_STOP,
	AUDIT_BACKEND_ERROR,
	AUDIT_CHECKPOINT, /* journal: signed anchor of the chain head */
} audit_event_t;

const char *audit_event_name(audit_event_t e); /* "sign", "admin", ... */

typedef struct audit_record {
	audit_event_t event;
	bool allowed;       /* outcome */
	const char *reason; /* policy_reason_name() or free text */
	const char *detail;
	const char *rule;
	const char *role;
	const caller_t *caller;
	const ticket_claims_t *ticket;
	const idtoken_claims_t *idtoken; /* CI identity token: claims, never the token */
	/* target */
	const char *token_label, *token_serial;
	const char *key_name;
	const unsigned char *key_id;
	size_t key_id_len;
	const char *key_label;
	const unsigned char *key_fingerprint; /* 32 bytes or NULL */
	const char *mechanism;
	const char *hash;
	const char *hash_basis;           /* how the gate established hash; NULL with no hash */
	const unsigned char *data_sha256; /* 32 bytes or NULL */
	size_t data_len;
	unsigned long ckr;
	const char *operation;              /* "C_Sign", "C_SetAttributeValue", ... */
	const unsigned char *config_sha256; /* config events */
	const char *approvers;              /* approvers that counted, "alice,bob" (issue 16) */
} audit_record_t;

/* Configure from cfg (may be called again on reload; keeps the chain). */
int audit_configure(const config_audit_t *cfg);

/* Format and deliver one record.  Without a journal: returns 0 when the
 * record was handed to the log socket, -1 when it could not be delivered.
 * With audit.journal: 0 when the record was appended to the journal (and,
 * with audit.syslog_required, handed to the socket), -1 otherwise.  The
 * caller denies on -1 when audit.required.  Thread-safe; bounded in time
 * (the journal lock wait is bounded by audit.timeout_ms too). */
int audit_emit(const audit_record_t *rec);

/* Records dropped since the last delivered one (audit.required = false). */
uint64_t audit_dropped(void);

/* Records not journaled / not handed to syslog, since the start of the
 * process (journal mode), for the bench and tests. */
uint64_t audit_syslog_missed(void);

/* Close the socket; the chain state is kept for the process. */
void audit_shutdown(void);

/* After fork in the child: new instance id, sequence from 0. */
void audit_atfork_child(void);

/* --- the record text, for readers and tests ------------------------------
 *
 * The chain covers the record's message text: B is the message after the
 * optional "@cee: " cookie; B = P + S where S is the chain field at its
 * very end (JSON: ',"chain":"HEX"}', CEF and logfmt: ' chain=HEX') and
 * chain = SHA-256(P) in lowercase hex.  P holds the "prev" field (the
 * previous record's chain), so each record commits to its predecessor.
 * See config/AUDIT-SCHEMA.md. */

#define AUDIT_MAX_RECORD 8000 /* one datagram, header included */

typedef struct audit_text {
	audit_format_t format;
	const char *body;        /* first byte of the record (after "@cee: ") */
	size_t body_len;         /* to the end of the line, trailing CR/LF/spaces cut */
	size_t chained_len;      /* length of P */
	bool has_chain;          /* S found and well formed */
	unsigned char chain[32]; /* as written in S */
	/* checkpoint records: P = Q + G, G the signature field right before S
	 * (json ',"sig":"HEX"', cef/logfmt ' sig=HEX'), sig = Ed25519(Q) */
	bool has_sig;
	size_t signed_len; /* length of Q */
	unsigned char sig[64];
} audit_text_t;

/* Find a signgate record anywhere in one log line (a syslog file line or a
 * raw message).  Returns 0 and fills out, or -1 if the line holds none. */
int audit_text_find(const char *line, size_t len, audit_text_t *out);

/* Recompute SHA-256 over P and compare with the chain written in S. */
bool audit_text_chain_ok(const audit_text_t *t);

/* Call fn for each field of the record with its value unescaped (numbers
 * as their decimal text).  CEF header parts are given as "cef_event",
 * "cef_name", "cef_severity", "cef_version".  Returns 0, or -1 when the
 * record does not parse. */
typedef void (*audit_field_fn)(void *ctx, const char *key, const char *val, size_t vlen);
int audit_text_fields(const audit_text_t *t, audit_field_fn fn, void *ctx);

/* Journal records: chain = HMAC-SHA256(key, P).  True when it matches. */
bool audit_text_mac_ok(const audit_text_t *t, const unsigned char key[32]);

/* Checkpoint records: the Ed25519 signature over Q verifies with pub
 * (an EVP_PKEY *). */
bool audit_text_sig_ok(const audit_text_t *t, void *pub);

/* Key files (`signgate audit keygen`).  Secret ones follow the PIN file's
 * rules: a regular file, not group-writable, no access for others.
 * Return 0, or -1 with a message in err. */
int audit_mac_key_load(const char *path, unsigned char key[32], char *err, size_t errlen);
void *audit_checkpoint_key_load(const char *path, char *err, size_t errlen); /* EVP_PKEY * */
void *audit_verify_key_load(const char *path, char *err, size_t errlen);     /* EVP_PKEY * */

/* The journal's head file (JOURNAL.state): the last record's sequence and
 * chain, shared by every process writing that journal.  Returns 0 and
 * fills the fields, -1 when the file is missing or malformed. */
typedef struct audit_journal_head {
	char id[33];
	uint64_t seq;
	char chain[65];
	uint64_t checkpoint_seq;
	int64_t checkpoint_time;
} audit_journal_head_t;
int audit_journal_head_read(const char *state_path, audit_journal_head_t *out);

/* "CKR_PIN_INCORRECT"; NULL for codes it does not know. */
const char *audit_ckr_name(unsigned long ckr);

#endif

/* signgate reports: who can use which governed key, right now.
 *
 * The model behind `signgate who-can-sign` and `signgate inventory`:
 * every rule's roles resolved to the identities that match them today
 * (users named directly, members of the groups named — supplementary
 * members and users whose primary group it is — and "any caller" for
 * roles constrained only by program or credential), each paired with
 * the keys the rule grants.  Names and ids the user database no longer
 * knows are collected as unknown (offboarding lag).
 *
 * Implemented in cmd_who_can_sign.c (kept in the two command files so
 * that the build needs no extra source).
 */
#ifndef SIGNGATE_REPORT_H
#define SIGNGATE_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "config.h"

#define REPORT_NAME_MAX 64
#define REPORT_NO_KEY SIZE_MAX /* grant of an all_keys admin rule: the token itself */

typedef enum report_id_kind {
	REPORT_ID_USER = 0, /* an account in the user database */
	REPORT_ID_UID,      /* a uid the policy names that has no account */
	REPORT_ID_ANY,      /* any caller (role selects by program/credential only) */
} report_id_kind_t;

typedef struct report_identity {
	report_id_kind_t kind;
	char name[REPORT_NAME_MAX]; /* user name; "uid:N"; "*" for any */
	uid_t uid;
} report_identity_t;

typedef struct report_grant {
	size_t ident; /* index into model.ids */
	size_t rule;  /* index into cfg->rules */
	size_t role;  /* index into cfg->roles */
	size_t key;   /* index into cfg->keys, or REPORT_NO_KEY */
	char via[REPORT_NAME_MAX +
	         16]; /* "user alice", "group signers", "uid 4242", "any caller" */
} report_grant_t;

typedef struct report_unknown {
	size_t role;  /* index into cfg->roles */
	char kind[8]; /* "user", "group", "uid", "gid" */
	char name[REPORT_NAME_MAX];
} report_unknown_t;

typedef struct report_model {
	report_identity_t *ids;
	size_t n_ids;
	report_grant_t *grants;
	size_t n_grants;
	report_unknown_t *unknown;
	size_t n_unknown;
	size_t *role_members; /* per role: accounts that match it today */
} report_model_t;

/* Build the model from a loaded config and the user database (NSS).
 * Returns 0, or -1 when out of memory. */
int report_model_build(const config_t *cfg, report_model_t *m);
void report_model_free(report_model_t *m);

/* "2026-01-01T00:00:00Z" (UTC) into out (at least 21 bytes). */
void report_time_format(time_t t, char *out, size_t outlen);

/* Days of a rule: "every day" or "Mon,Tue,...". */
void report_days_format(uint8_t days, char *out, size_t outlen);

/* Hours of a rule: "all day" or "08:00-18:00". */
void report_hours_format(const policy_rule_t *r, char *out, size_t outlen);

/* "1h", "7d", "90s": the shortest exact unit. */
void report_duration_format(uint32_t s, char *out, size_t outlen);

#endif

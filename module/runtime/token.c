/* signgate: tokens, the PIN file and key governance (token.h). */
#include "token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "audit.h"
#include "debug.h"
#include "secure_open.h"

size_t token_field_len(const CK_UTF8CHAR *field, size_t size)
{
	while (size && (field[size - 1] == ' ' || field[size - 1] == '\0'))
		size--;
	return size;
}

bool token_field_is(const CK_UTF8CHAR *field, size_t size, const char *s)
{
	size_t n = token_field_len(field, size);
	return s && strlen(s) == n && memcmp(field, s, n) == 0;
}

void token_field_copy(char *dst, size_t dstlen, const CK_UTF8CHAR *field, size_t size)
{
	size_t n = token_field_len(field, size);
	if (!dstlen)
		return;
	if (n >= dstlen)
		n = dstlen - 1;
	memcpy(dst, field, n);
	dst[n] = '\0';
}

bool token_info_named(const CK_TOKEN_INFO *ti, const char *name)
{
	return token_field_is(ti->label, sizeof(ti->label), name) ||
	       token_field_is(ti->serialNumber, sizeof(ti->serialNumber), name);
}

bool token_info_exposed(const config_backend_t *b, const CK_TOKEN_INFO *ti)
{
	if (!b)
		return false;
	if (!b->n_tokens)
		return true;
	for (size_t i = 0; i < b->n_tokens; i++)
		if (token_info_named(ti, b->tokens[i]))
			return true;
	return false;
}

bool token_named(const char *name, const char *label, const char *serial)
{
	/* The loader refuses blank names: an empty serial matches nothing. */
	return name && name[0] &&
	       ((label && !strcmp(name, label)) || (serial && !strcmp(name, serial)));
}

bool token_exposed(const config_backend_t *b, const char *label, const char *serial)
{
	if (!b)
		return false;
	if (!b->n_tokens)
		return true;
	for (size_t i = 0; i < b->n_tokens; i++)
		if (token_named(b->tokens[i], label, serial))
			return true;
	return false;
}

int token_pin_read(const char *path, unsigned flags, CK_UTF8CHAR *pin, size_t cap, CK_ULONG *len,
                   char *err, size_t errlen)
{
	char *buf = NULL;
	size_t n = 0, got = 0;
	unsigned open_flags = SECURE_OPEN_NOFOLLOW;

	/* A secret: regular file, root's or ours, no access for others and no
	 * write or read for the group, no symbolic link (secure_open.c). */
	if (!(flags & TOKEN_PIN_ANY_MODE))
		open_flags |= SECURE_OPEN_SECRET;
	else
		open_flags |= SECURE_OPEN_ANY_OWNER;
	if (!path || cap < 2) {
		snprintf(err, errlen, "no PIN file");
		return -1;
	}
	if (!secure_read_file(path, open_flags, cap - 1, &buf, &got, NULL, err, errlen))
		return -1;
	n = got;
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n)
		memcpy(pin, buf, n);
	OPENSSL_cleanse(buf, got);
	free(buf);
	if (!n) {
		snprintf(err, errlen, "%s: pin_file is empty", path);
		OPENSSL_cleanse(pin, cap);
		return -1;
	}
	*len = n;
	return 0;
}

const policy_key_t *token_key_govern(const config_t *cfg, const char *label, const char *serial,
                                     const key_attrs_t *ka, policy_reason_t *why)
{
	policy_key_ref_t ref = {
		.token_label = label,
		.token_serial = serial,
		.id = ka ? ka->id : NULL,
		.id_len = ka ? ka->id_len : 0,
		.label = ka ? ka->label : NULL,
		.has_fingerprint = ka && ka->has_fp,
	};
	*why = REASON_KEY_UNGOVERNED;
	if (!cfg || !ka)
		return NULL;
	/* An object whose identity is not established is never "not
	 * governed": the caller sees *why and refuses. */
	if (ka->standing != KEY_KNOWN) {
		*why = ka->standing == KEY_OTHER_TOKEN ? REASON_KEY_OTHER_TOKEN
		                                       : REASON_KEY_UNKNOWN;
		return NULL;
	}
	if (ka->label_long)
		ref.label = NULL;
	if (ka->has_fp)
		memcpy(ref.fingerprint, ka->fp, 32);
	return policy_key_lookup(cfg, &ref, why);
}

/* --- the tools' view ----------------------------------------------------- */

/* keycache asks through callbacks without an argument: the one view a
 * tool has open. */
static const token_view_t *tv_view;
static const config_t *tv_cfg;
static bool tv_any;

static CK_SESSION_HANDLE tv_lookup_session(CK_SLOT_ID slot)
{
	for (size_t i = 0; tv_view && i < tv_view->n_slots; i++)
		if (tv_view->slots[i].slot == slot)
			return tv_view->slots[i].session;
	return CK_INVALID_HANDLE;
}

/* As the module (p11/enforce.c fingerprint_named): only a fingerprint
 * the config names is worth a proof. */
static bool tv_fp_named(const unsigned char fp[32])
{
	if (tv_any)
		return true;
	for (size_t i = 0; tv_cfg && i < tv_cfg->n_keys; i++)
		if (tv_cfg->keys[i].has_fingerprint && !memcmp(tv_cfg->keys[i].fingerprint, fp, 32))
			return true;
	return false;
}

void token_view_close(token_view_t *v)
{
	keycache_fini();
	tv_view = NULL;
	tv_cfg = NULL;
	tv_any = false;
	for (size_t i = 0; v->f && i < v->n_slots; i++) {
		if (v->slots[i].session != CK_INVALID_HANDLE) {
			v->f->C_Logout(v->slots[i].session);
			v->f->C_CloseSession(v->slots[i].session);
		}
	}
	free(v->slots);
	v->slots = NULL;
	v->n_slots = 0;
	if (v->initialized)
		v->f->C_Finalize(NULL);
	v->initialized = false;
	v->f = NULL;
	backend_unload(&v->backend);
}

int token_view_open(token_view_t *v, const config_t *cfg, unsigned pin_flags, const char *only,
                    char *err, size_t errlen)
{
	const config_backend_t *b = &cfg->backend;
	CK_UTF8CHAR pin[TOKEN_PIN_MAX + 1];
	CK_ULONG pin_len = 0, n = 0;
	CK_SLOT_ID *ids = NULL;
	CK_RV rv;
	int rc = -1;

	memset(v, 0, sizeof(*v));
	if (!b->pin_file) {
		snprintf(err, errlen,
		         "%s has no backend.pin_file: the token is read logged in with it, "
		         "as the module does",
		         cfg->path ? cfg->path : "the config");
		return -1;
	}
	if (token_pin_read(b->pin_file, pin_flags, pin, sizeof(pin), &pin_len, err, errlen) < 0)
		return -1;
	if (backend_load(&v->backend, b->module, err, errlen) != CKR_OK)
		goto out;
	v->f = v->backend.list;
	/* As the module's C_Initialize: the backend's own pReserved. */
	CK_C_INITIALIZE_ARGS ia = { .flags = CKF_OS_LOCKING_OK, .pReserved = b->init_args };
	rv = v->f->C_Initialize(&ia);
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		snprintf(err, errlen, "%s: C_Initialize failed (0x%lx)", b->module,
		         (unsigned long)rv);
		goto out;
	}
	v->initialized = rv == CKR_OK;
	for (int tries = 0; tries < 8; tries++) {
		free(ids);
		ids = NULL;
		if ((rv = v->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK)
			break;
		if (!(ids = calloc(n + 1, sizeof(*ids)))) {
			rv = CKR_HOST_MEMORY;
			break;
		}
		if ((rv = v->f->C_GetSlotList(CK_TRUE, ids, &n)) != CKR_BUFFER_TOO_SMALL)
			break;
	}
	if (rv != CKR_OK) {
		snprintf(err, errlen, "%s: cannot list slots (0x%lx)", b->module,
		         (unsigned long)rv);
		goto out;
	}
	if (!(v->slots = calloc(n + 1, sizeof(*v->slots)))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (v->f->C_GetTokenInfo(ids[i], &ti) != CKR_OK ||
		    !(ti.flags & CKF_TOKEN_INITIALIZED))
			continue; /* SoftHSM always shows one empty slot */
		if (!token_info_exposed(b, &ti)) {
			SG_DEBUG(SG_DBG_CONFIG, "token '%.*s' not exposed by backend.tokens",
			         (int)token_field_len(ti.label, sizeof(ti.label)),
			         (const char *)ti.label);
			continue;
		}
		if (only && !token_info_named(&ti, only))
			continue;
		token_slot_t *t = &v->slots[v->n_slots];
		t->slot = ids[i];
		t->session = CK_INVALID_HANDLE;
		token_field_copy(t->label, sizeof(t->label), ti.label, sizeof(ti.label));
		token_field_copy(t->serial, sizeof(t->serial), ti.serialNumber,
		                 sizeof(ti.serialNumber));
		v->n_slots++;
	}
	if (only && !v->n_slots) {
		snprintf(err, errlen,
		         "no exposed token '%s' (the config's backend.tokens decide what is "
		         "exposed)",
		         only);
		goto out;
	}
	for (size_t i = 0; i < v->n_slots; i++) {
		token_slot_t *t = &v->slots[i];
		rv = v->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &t->session);
		if (rv != CKR_OK) {
			t->session = CK_INVALID_HANDLE;
			snprintf(err, errlen, "token %s: C_OpenSession failed (0x%lx)", t->label,
			         (unsigned long)rv);
			goto out;
		}
		rv = v->f->C_Login(t->session, CKU_USER, pin, pin_len);
		if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
			const char *name = audit_ckr_name(rv);
			snprintf(err, errlen,
			         "token %s: login with the PIN from %s failed: %s (0x%lx)",
			         t->label, b->pin_file, name ? name : "CKR_...", (unsigned long)rv);
			goto out;
		}
	}
	tv_view = v;
	tv_cfg = cfg;
	keycache_ops_t ops = {
		.real = v->f,
		.lookup_session = tv_lookup_session,
		.fp_named = tv_fp_named,
	};
	keycache_clear();
	keycache_init(&ops);
	rc = 0;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	free(ids);
	if (rc < 0)
		token_view_close(v);
	return rc;
}

void token_view_prove_any(bool any)
{
	tv_any = any;
	keycache_clear();
}

const token_slot_t *token_view_find(const token_view_t *v, const char *name)
{
	for (size_t i = 0; i < v->n_slots; i++)
		if (token_named(name, v->slots[i].label, v->slots[i].serial))
			return &v->slots[i];
	return NULL;
}

/* signgate: tokens -- which ones the config exposes, the PIN file, and
 * which governed key a token object is.  One copy, used by the module
 * (p11/gate.c, p11/enforce.c) and by the tools (signgate inventory,
 * explain), so that a tool cannot see a token, a PIN or a key otherwise
 * than the module does.
 *
 * PKCS#11 pads a token's label (32 bytes) and serial number (16 bytes)
 * with spaces; a name in the config is compared with the field without
 * its padding (trailing spaces, and trailing NULs some modules leave),
 * byte for byte: "release" is token "release", never "release2" or a
 * label with a NUL inside.
 */
#ifndef SIGNGATE_TOKEN_H
#define SIGNGATE_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "keycache.h"
#include "model.h"
#include "pkcs11_3.h"
#include "policy.h"

/* The length of a padded PKCS#11 string field without its padding. */
size_t token_field_len(const CK_UTF8CHAR *field, size_t size);

/* The field without its padding equals s. */
bool token_field_is(const CK_UTF8CHAR *field, size_t size, const char *s);

/* The field without its padding into dst (NUL-terminated, cut to fit). */
void token_field_copy(char *dst, size_t dstlen, const CK_UTF8CHAR *field, size_t size);

/* Does name (from the config) name this token, by label or serial? */
bool token_info_named(const CK_TOKEN_INFO *ti, const char *name);

/* Does backend.tokens expose this token?  All tokens when it is not set. */
bool token_info_exposed(const config_backend_t *b, const CK_TOKEN_INFO *ti);

/* The same for a token known by its unpadded label and serial. */
bool token_named(const char *name, const char *label, const char *serial);
bool token_exposed(const config_backend_t *b, const char *label, const char *serial);

/* --- the PIN file ------------------------------------------------------- */

#define TOKEN_PIN_MAX 256

enum {
	/* The module: a secret (regular file named directly, root's or the
	 * effective user's, no access for group or others). */
	TOKEN_PIN_STRICT = 0,
	/* A tool that reports loose permissions as findings (signgate
	 * inventory): owner and mode not checked here; the same parse. */
	TOKEN_PIN_ANY_MODE = 1u << 0,
};

/* The PIN: the whole file without its trailing line ends (CR, LF), at
 * most TOKEN_PIN_MAX bytes, not empty.  Returns 0 with pin[0..*len), or
 * -1 with "PATH: ..." in err and pin wiped. */
int token_pin_read(const char *path, unsigned flags, CK_UTF8CHAR *pin, size_t cap, CK_ULONG *len,
                   char *err, size_t errlen);

/* --- which governed key an object is ----------------------------------- */

/* The governed key behind key attributes read through keycache on the
 * token (label, serial): NULL with *why REASON_KEY_UNGOVERNED,
 * REASON_KEY_MISMATCH (a look-alike or a copy), REASON_KEY_UNKNOWN
 * (identity not established) or REASON_KEY_OTHER_TOKEN.  What the module
 * decides at every *Init (p11/enforce.c) and what the tools report. */
const policy_key_t *token_key_govern(const config_t *cfg, const char *label, const char *serial,
                                     const key_attrs_t *ka, policy_reason_t *why);

/* --- the tools' view of the tokens ------------------------------------- */

typedef struct token_slot {
	CK_SLOT_ID slot;
	char label[33], serial[17];
	CK_SESSION_HANDLE session; /* logged in with the PIN file */
} token_slot_t;

typedef struct token_view {
	backend_t backend;
	CK_FUNCTION_LIST_PTR f;
	bool initialized;
	token_slot_t *slots; /* the exposed, initialised tokens */
	size_t n_slots;
} token_view_t;

/* Load the config's backend (with its init_args, as the module does),
 * take the tokens backend.tokens exposes (only `only`, a label or
 * serial, when not NULL), open a session on each and log in with the
 * PIN file (pin_flags as for token_pin_read).  Key identity is then
 * established by keycache exactly as in the module: fingerprints are
 * proven against the ones cfg names.  Returns 0, or -1 with err set
 * (everything opened is closed again). */
int token_view_open(token_view_t *v, const config_t *cfg, unsigned pin_flags, const char *only,
                    char *err, size_t errlen);
void token_view_close(token_view_t *v);

/* Beyond the module: prove an identity against every candidate public
 * key, named by the config or not (signgate inventory shows the
 * fingerprint of keys no policy names; whether a key is governed is
 * always decided with this off).  Empties the key cache. */
void token_view_prove_any(bool any);

/* The view's slot of a token by label or serial; NULL when not exposed. */
const token_slot_t *token_view_find(const token_view_t *v, const char *name);

#endif

/* The boilerplate the C test programs under tests/integration/ share:
 * failing a case, checking a CK_RV, loading a PKCS#11 module, finding the
 * test token by label, opening a logged-in session, finding a key by its
 * CKA_ID.
 *
 * A program sets case_name (named in every failure: "FAIL <case>: ...")
 * and links tests/lib/p11test.c (p11test_dep in tests/meson.build).
 * The fatal helpers call fail(), which exits 1: a test program checks and
 * stops at the first thing that is not as expected. */
#ifndef SIGNGATE_P11TEST_H
#define SIGNGATE_P11TEST_H

#include <stdbool.h>
#include <stdio.h>

#include "pkcs11_3.h"

/* The case being run, for failure messages. */
extern const char *case_name;

/* "FAIL <case_name>: <message>" on stderr, exit 1. */
__attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...);

/* Fail unless the call returns want, naming the call and both codes. */
#define CHECK_RV(call, want)                                                                       \
	do {                                                                                       \
		CK_RV rv_ = (call);                                                                \
		if (rv_ != (CK_RV)(want))                                                          \
			fail("%s = 0x%lx, expected 0x%lx (%s)", #call, rv_, (CK_RV)(want), #want); \
	} while (0)

/* The same, with the source line first (for programs whose cases repeat
 * the same call many times). */
#define CHECK_RV_LINE(call, want)                                                              \
	do {                                                                                   \
		CK_RV rv_ = (call);                                                            \
		if (rv_ != (CK_RV)(want))                                                      \
			fail("line %d: %s = 0x%lx, expected 0x%lx (%s)", __LINE__, #call, rv_, \
			     (CK_RV)(want), #want);                                            \
	} while (0)

/* For programs that go on after a failed check and count the failures
 * in an int `failures` of their own: "FAIL file:line: <message>" on
 * stderr and failures++ unless cond holds. */
#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			failures++;                                          \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fputc('\n', stderr);                                 \
		}                                                            \
	} while (0)

/* The same for a CK_RV, with what names the call (CHECK_RV above stops
 * the test instead). */
#define EXPECT_RV(got, want, what)                                                          \
	CHECK((got) == (want), "%s: got CKR 0x%lx, want 0x%lx", what, (unsigned long)(got), \
	      (unsigned long)(want))

/* The value of an environment variable that must be set and not empty. */
const char *p11t_env(const char *name);

/* dlopen the module at path and take its C_GetFunctionList (not
 * initialised).  *dl (if not NULL) receives the dlopen handle. */
CK_FUNCTION_LIST_PTR p11t_load(const char *path, void **dl);

/* The module's PKCS#11 3.0 interface, through C_GetInterface of the
 * dlopen handle dl (path only names the module in failures). */
CK_FUNCTION_LIST_3_0_PTR p11t_interface30(void *dl, const char *path);

/* For programs with failure handling of their own (exit codes, messages),
 * these fail nothing: */

/* dlopen the module at path and take its C_GetFunctionList; NULL with
 * *why set (dlerror's text, or that the function list is missing). */
CK_FUNCTION_LIST_PTR p11t_open_module(const char *path, int dlflags, const char **why);

/* The first object of class cls with CKA_ID id[0..idlen) (one
 * C_FindObjects of at most one object), or CK_INVALID_HANDLE when there is
 * none or a call fails. */
CK_OBJECT_HANDLE p11t_object(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                             const unsigned char *id, size_t idlen);

/* The same with the one-byte CKA_ID id. */
CK_OBJECT_HANDLE p11t_key(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                          unsigned char id);

/* The first private key with CKA_ID id[0..idlen). */
CK_OBJECT_HANDLE p11t_private_key(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s,
                                  const unsigned char *id, size_t idlen);

/* C_Initialize with CKF_OS_LOCKING_OK and pReserved = reserved (signgate
 * reads it as its config path; NULL for none): the call's CK_RV. */
CK_RV p11t_initialize(CK_FUNCTION_LIST_PTR l, const char *reserved);

/* A session on slot with flags (CKF_SERIAL_SESSION added) logged in as
 * user with pin (already logged in is fine), or CK_INVALID_HANDLE when
 * opening or the login fails. */
CK_SESSION_HANDLE p11t_try_open_login(CK_FUNCTION_LIST_PTR l, CK_SLOT_ID slot, CK_FLAGS flags,
                                      const char *pin);

/* The whole file at path, NUL-terminated, in malloc'ed memory, its
 * length in *len (if not NULL); NULL when it cannot be read (errno). */
char *p11t_read_file(const char *path, size_t *len);

/* Replace the file at path by data[0..len) in one step (written to
 * path.tmp with mode 0600, renamed over path: a new inode, as an editor
 * or a deployment does, so the module sees a change); 0, or -1 (errno). */
int p11t_replace_file(const char *path, const void *data, size_t len);

/* The slot of the token whose label is label (padded with blanks), or
 * (CK_SLOT_ID)-1 when there is none: for programs with failure handling
 * of their own. */
CK_SLOT_ID p11t_slot_by_label(CK_FUNCTION_LIST_PTR l, const char *label);

/* The same; fail when the token is not there. */
CK_SLOT_ID p11t_token_slot(CK_FUNCTION_LIST_PTR l, const char *label);

/* The slot of the fixture's token ($SG_TOKEN, tests/lib/fixture.sh). */
CK_SLOT_ID p11t_sg_token_slot(CK_FUNCTION_LIST_PTR l);

/* A read-write session on slot. */
CK_SESSION_HANDLE p11t_open_rw(CK_FUNCTION_LIST_PTR l, CK_SLOT_ID slot);

/* A read-write session logged in as user with pin (already logged in by
 * another session of the application is fine). */
CK_SESSION_HANDLE p11t_open_login(CK_FUNCTION_LIST_PTR l, CK_SLOT_ID slot, const char *pin);

/* The one object of class cls with the one-byte CKA_ID id. */
CK_OBJECT_HANDLE p11t_find(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_CLASS cls,
                           unsigned char id);

/* A CKM_SHA256_RSA_PKCS signature of "data" with an RSA-2048 key, which
 * must succeed. */
void p11t_sign_ok(CK_FUNCTION_LIST_PTR l, CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key);

#endif

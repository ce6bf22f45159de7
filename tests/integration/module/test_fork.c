/* signgate module test: fork while other threads are inside the module.
 *
 * The backend is tests/lib/faultbackend.c with every C_Sign slowed down
 * (SG_FAULT=C_Sign:sleep=MS:*): the main thread forks while a thread
 * signing in the parent is inside C_Sign, holding its session's lock
 * (after the key cache, the policy and the audit locks), and while
 * another thread makes refused data calls all the time (the session
 * table, session, policy and audit locks, and an audit record each).
 * Both stay out of SoftHSM itself at the fork: SoftHSM is not fork-safe
 * (a child inherits its internal mutexes as a parent thread held them;
 * seen here as a child hanging in SoftHSM's C_OpenSession when a parent
 * thread was opening sessions at the fork).  For each of several forks:
 *  - a child that does not call C_Initialize gets
 *    CKR_CRYPTOKI_NOT_INITIALIZED from every entry point, C_Finalize
 *    included, and is offered the 2.40 interface only;
 *  - a child that calls C_Initialize gets CKR_OK, cannot reach the
 *    parent's sessions (CKR_SESSION_HANDLE_INVALID), opens sessions
 *    (reusing the parent's session entries), logs in and signs, and a
 *    signature verifies; it forks a grandchild that does the same; its
 *    C_Finalize is CKR_OK.
 * A child that hangs (a lock held by a thread that does not exist in
 * it) is killed by alarm() and counts as a failure.  The parent's
 * threads go on signing after the forks.
 *
 * Env (fork.sh): SIGNGATE_MODULE SG_TOKEN SG_USER_PIN SIGNGATE_CONF.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "p11test.h"

#define SLOW_SIGN_MS "400"
#define ROUNDS 6

static CK_FUNCTION_LIST_PTR f;
static CK_C_GetInterfaceList get_interface_list;
static const char *token_label, *user_pin;
static atomic_bool stop;
static atomic_int signed_in_parent;
static atomic_bool signer_inside;
static atomic_int signer_seq; /* C_Sign calls the signer began */
static atomic_ulong signer_session;

/* Sign a hash with the EC key and verify the signature: 1 when both work. */
static int sign_verify(CK_SESSION_HANDLE h)
{
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32] = { 5 }, sig[128];
	CK_ULONG len = sizeof(sig);
	CK_OBJECT_HANDLE k = p11t_key(f, h, CKO_PRIVATE_KEY, 0x02);
	CK_OBJECT_HANDLE pub = p11t_key(f, h, CKO_PUBLIC_KEY, 0x02);

	if (!k || !pub || f->C_SignInit(h, &ec, k) != CKR_OK ||
	    f->C_Sign(h, hash, sizeof(hash), sig, &len) != CKR_OK)
		return 0;
	return f->C_VerifyInit(h, &ec, pub) == CKR_OK &&
	       f->C_Verify(h, hash, sizeof(hash), sig, len) == CKR_OK;
}

/* The slow signer: almost always inside C_Sign, its session held. */
static void *signer(void *arg)
{
	CK_SLOT_ID slot = *(CK_SLOT_ID *)arg;
	CK_SESSION_HANDLE h = p11t_try_open_login(f, slot, 0, user_pin);
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_BYTE hash[32] = { 6 }, sig[128];

	if (h == CK_INVALID_HANDLE)
		return NULL;
	atomic_store(&signer_session, h);
	CK_OBJECT_HANDLE k = p11t_key(f, h, CKO_PRIVATE_KEY, 0x02);
	while (!atomic_load(&stop)) {
		CK_ULONG len = sizeof(sig);
		if (f->C_SignInit(h, &ec, k) != CKR_OK)
			continue;
		atomic_store(&signer_inside, true);
		atomic_fetch_add(&signer_seq, 1);
		if (f->C_Sign(h, hash, sizeof(hash), sig, &len) == CKR_OK)
			atomic_fetch_add(&signed_in_parent, 1);
		atomic_store(&signer_inside, false);
	}
	f->C_CloseSession(h);
	return NULL;
}

/* Data calls on an operation that was never started, all the time:
 * refused inside signgate (session table, session, policy and audit
 * locks), never reaching SoftHSM. */
static void *churner(void *arg)
{
	CK_SLOT_ID slot = *(CK_SLOT_ID *)arg;
	CK_SESSION_HANDLE h;
	CK_BYTE data[32] = { 4 };

	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h) != CKR_OK)
		return NULL;
	while (!atomic_load(&stop))
		f->C_SignUpdate(h, data, sizeof(data));
	f->C_CloseSession(h);
	return NULL;
}

#define CHILD_CHECK(cond, ...)                                             \
	do {                                                               \
		if (!(cond)) {                                             \
			fprintf(stderr, "FAIL (pid %d): ", (int)getpid()); \
			fprintf(stderr, __VA_ARGS__);                      \
			fputc('\n', stderr);                               \
			bad++;                                             \
		}                                                          \
	} while (0)

/* A child that has not called C_Initialize: nothing works, nothing
 * reaches the real module. */
static int child_uninitialised(CK_SESSION_HANDLE parent_session)
{
	int bad = 0;
	CK_INFO info;
	CK_ULONG n = 0;
	CK_SESSION_HANDLE h;
	CK_BYTE buf[32] = { 0 }, sig[128];
	CK_ULONG len = sizeof(sig);
	CK_MECHANISM ec = { CKM_ECDSA, NULL, 0 };
	CK_RV rv;

	rv = f->C_GetInfo(&info);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetInfo: CKR 0x%lx", rv);
	rv = f->C_GetSlotList(CK_TRUE, NULL, &n);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSlotList: CKR 0x%lx", rv);
	rv = f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL, NULL, &h);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_OpenSession: CKR 0x%lx", rv);
	rv = f->C_SignInit(parent_session, &ec, 1);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED,
	            "C_SignInit on the parent's session: CKR 0x%lx", rv);
	rv = f->C_Sign(parent_session, buf, sizeof(buf), sig, &len);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_Sign on the parent's session: CKR 0x%lx",
	            rv);
	rv = f->C_GetSessionInfo(parent_session, NULL);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_GetSessionInfo: CKR 0x%lx", rv);
	rv = f->C_CloseAllSessions(0);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_CloseAllSessions: CKR 0x%lx", rv);
	rv = get_interface_list(NULL, &n);
	CHILD_CHECK(rv == CKR_OK && n == 1, "C_GetInterfaceList: CKR 0x%lx, %lu interfaces", rv,
	            (unsigned long)n);
	rv = f->C_Finalize(NULL);
	CHILD_CHECK(rv == CKR_CRYPTOKI_NOT_INITIALIZED, "C_Finalize: CKR 0x%lx", rv);
	return bad;
}

/* A child that initialises again: works on its own sessions only. */
static int child_reinitialised(CK_SESSION_HANDLE parent_session, bool fork_again)
{
	int bad = 0;
	CK_SESSION_INFO si;
	CK_RV rv = p11t_initialize(f, NULL);

	CHILD_CHECK(rv == CKR_OK, "C_Initialize: CKR 0x%lx", rv);
	if (rv != CKR_OK)
		return bad;
	rv = f->C_GetSessionInfo(parent_session, &si);
	CHILD_CHECK(rv == CKR_SESSION_HANDLE_INVALID, "the parent's session: CKR 0x%lx", rv);
	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	CHILD_CHECK(slot != (CK_SLOT_ID)-1, "token not found");
	/* several sessions: the entries of the parent's sessions (the slow
	 * signer's locked one among them) are reused */
	CK_SESSION_HANDLE hs[12];
	for (int i = 0; i < 12; i++) {
		rv = f->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &hs[i]);
		CHILD_CHECK(rv == CKR_OK, "C_OpenSession %d: CKR 0x%lx", i, rv);
	}
	CK_SESSION_HANDLE h = p11t_try_open_login(f, slot, 0, user_pin);
	CHILD_CHECK(h != CK_INVALID_HANDLE, "open and login");
	CHILD_CHECK(sign_verify(h), "sign and verify in the child");
	for (int i = 0; i < 12; i++) {
		CHILD_CHECK(sign_verify(hs[i]), "sign and verify in the child's session %d", i);
		f->C_CloseSession(hs[i]);
	}
	if (fork_again) {
		pid_t g = fork();
		if (g == 0) {
			alarm(30);
			int gbad = child_uninitialised(h) + child_reinitialised(h, false);
			_exit(gbad ? 1 : 0);
		}
		int st = 0;
		waitpid(g, &st, 0);
		CHILD_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "grandchild failed (status %d)",
		            st);
		CHILD_CHECK(sign_verify(h), "the child signs after its own fork");
	}
	rv = f->C_Finalize(NULL);
	CHILD_CHECK(rv == CKR_OK, "C_Finalize: CKR 0x%lx", rv);
	return bad;
}

int main(void)
{
	const char *path = getenv("SIGNGATE_MODULE");
	pthread_t ts, tc;
	int failures = 0;

	token_label = getenv("SG_TOKEN");
	user_pin = getenv("SG_USER_PIN");
	if (!path || !token_label || !user_pin || !getenv("SIGNGATE_CONF")) {
		fprintf(stderr, "run from fork.sh\n");
		return 77;
	}
	void *dl;
	case_name = "test_fork";
	f = p11t_load(path, &dl);
	*(void **)&get_interface_list = dlsym(dl, "C_GetInterfaceList");
	if (!get_interface_list)
		return 1;
	if (p11t_initialize(f, NULL) != CKR_OK) {
		fprintf(stderr, "FAIL: C_Initialize\n");
		return 1;
	}
	CK_SLOT_ID slot = p11t_slot_by_label(f, token_label);
	CK_SESSION_HANDLE mine = p11t_try_open_login(f, slot, 0, user_pin);
	if (mine == CK_INVALID_HANDLE || !sign_verify(mine)) {
		fprintf(stderr, "FAIL: the parent cannot sign\n");
		return 1;
	}
	/* from now on every C_Sign takes a while */
	setenv("SG_FAULT", "C_Sign:sleep=" SLOW_SIGN_MS ":*", 1);
	pthread_create(&ts, NULL, signer, &slot);
	pthread_create(&tc, NULL, churner, &slot);
	for (int round = 0; round < ROUNDS; round++) {
		/* fork while the signer is in its slow C_Sign, at different
		 * points of it (inside signgate or in the backend's wait) */
		int seq = atomic_load(&signer_seq);
		while (atomic_load(&signer_seq) == seq || !atomic_load(&signer_inside))
			usleep(1000);
		usleep(1000 + 25000 * round);
		fflush(NULL);
		pid_t pid = fork();
		if (pid == 0) {
			alarm(30);
			/* the child signs at full speed */
			setenv("SG_FAULT", "", 1);
			CK_SESSION_HANDLE ps = atomic_load(&signer_session);
			int bad = child_uninitialised(ps);
			if (round % 2 == 0)
				bad += child_reinitialised(ps, round == 0);
			_exit(bad ? 1 : 0);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "FAIL: child of round %d (%s): status 0x%x%s\n", round,
			        round % 2 == 0 ? "re-initialised" : "not re-initialised", status,
			        WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? " (hung)"
			                                                           : "");
			failures++;
		} else {
			printf("round %d: child (%s) passed\n", round,
			       round % 2 == 0 ? "C_Initialize, sign" : "not initialised");
		}
	}
	int before = atomic_load(&signed_in_parent);
	usleep(500000);
	atomic_store(&stop, true);
	pthread_join(ts, NULL);
	pthread_join(tc, NULL);
	if (atomic_load(&signed_in_parent) <= before) {
		fprintf(stderr, "FAIL: the parent's signer stopped signing after the forks\n");
		failures++;
	}
	setenv("SG_FAULT", "", 1);
	if (!sign_verify(mine)) {
		fprintf(stderr, "FAIL: the parent cannot sign after the forks\n");
		failures++;
	}
	if (f->C_Finalize(NULL) != CKR_OK) {
		fprintf(stderr, "FAIL: C_Finalize\n");
		failures++;
	}
	if (failures)
		return 1;
	printf("PASS (%d signatures in the parent meanwhile)\n", atomic_load(&signed_in_parent));
	return 0;
}

/* A changed config is loaded off the signing call (issue 13).
 *
 * Usage: reload-async MODE, MODE "threads" (C_Initialize with
 * CKF_OS_LOCKING_OK), "no-threads" (CKF_LIBRARY_CANT_CREATE_OS_THREADS
 * added: the module may make no thread, the old inline load) or "fork"
 * (threads, and a fork while the loader loads: the child initialises,
 * with a config of its own ($SIGNGATE_CONF.child, as .deny) is refused,
 * sees its own reload of $SIGNGATE_CONF.child.allow and finalizes, never
 * waiting for the parent's loader).
 * SIGNGATE_CONF is a large config (reload-async.sh: 10,000 keys beside
 * the test keys, some 0.5-1 s to load) that lets this caller sign with
 * the RSA test key; $SIGNGATE_CONF.deny is as large and leaves the RSA
 * key out of the rule.  The program signs, renames .deny over the config,
 * waits until the module looks at the file again and makes the noticing
 * call (C_SignInit).  With a loader thread that call decides under the
 * config before (CKR_OK) and the new one denies a moment later (polled,
 * up to 60 s: the load under ASan is slow); without, the noticing call
 * itself loads and denies.  It writes "reload-async: noticing call
 * returned" on stderr as soon as the call returns, so that reload-async.sh
 * can check its order against the module's SIGNGATE_DEBUG=config lines
 * (the loader's "reload: the new config in force").
 * Exit 0 pass, 1 fail, 77 skip. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "p11test.h"

static CK_FUNCTION_LIST_PTR f;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* C_SignInit with SHA256-RSA-PKCS; an allowed operation is finished. */
static CK_RV sign_try(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE key)
{
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };
	CK_RV rv = f->C_SignInit(s, &m, key);
	if (rv == CKR_OK) {
		unsigned char sig[512];
		CK_ULONG sl = sizeof(sig);
		CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OK);
	}
	return rv;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	bool forking = !strcmp(mode, "fork");
	bool threads = forking || !strcmp(mode, "threads");
	const char *conf = p11t_env("SIGNGATE_CONF");
	char from[4200];
	CK_C_INITIALIZE_ARGS args = { 0 };
	CK_MECHANISM m = { CKM_SHA256_RSA_PKCS, NULL, 0 };

	if (!threads && strcmp(mode, "no-threads"))
		fail("usage: reload-async threads|no-threads|fork");
	f = p11t_load(p11t_env("SIGNGATE_MODULE"), NULL);
	args.flags = CKF_OS_LOCKING_OK | (threads ? 0 : CKF_LIBRARY_CANT_CREATE_OS_THREADS);
	CHECK_RV(f->C_Initialize(&args), CKR_OK);
	CK_SESSION_HANDLE s = p11t_open_login(f, p11t_sg_token_slot(f), getenv("SG_USER_PIN"));
	CK_OBJECT_HANDLE rsa = p11t_find(f, s, CKO_PRIVATE_KEY, 0x01);
	CHECK_RV(sign_try(s, rsa), CKR_OK);

	snprintf(from, sizeof(from), "%s.deny", conf);
	if (rename(from, conf) != 0)
		fail("rename %s", from);
	/* The file is looked at most once a second: the next call notices. */
	sleep_ms(1200);
	fprintf(stderr, "reload-async: noticing call\n");
	CK_RV rv = f->C_SignInit(s, &m, rsa);
	fprintf(stderr, "reload-async: noticing call returned 0x%lx\n", (unsigned long)rv);
	if (rv == CKR_OK) {
		unsigned char sig[512];
		CK_ULONG sl = sizeof(sig);
		CHECK_RV(f->C_Sign(s, (CK_BYTE_PTR) "data", 4, sig, &sl), CKR_OK);
	}
	if (forking) {
		/* Fork while the parent's loader loads: the child has no loader
		 * thread and must never wait for one (C_Finalize would hang, or
		 * join a thread id of another process).  It initialises anew
		 * (loading the new config itself) and finalizes, within 30 s. */
		pid_t pid = fork();
		if (pid < 0)
			fail("fork");
		if (pid == 0) {
			alarm(30);
			/* A config file of the child's own (the parent's stays as
			 * it is): as the parent's new one, then .allow. */
			char child_conf[4096];
			snprintf(child_conf, sizeof(child_conf), "%s.child", conf);
			setenv("SIGNGATE_CONF", child_conf, 1);
			CK_RV crv = f->C_Initialize(&args);
			if (crv != CKR_OK) {
				fprintf(stderr, "reload-async: child C_Initialize = 0x%lx\n",
				        (unsigned long)crv);
				_exit(2);
			}
			CK_SESSION_HANDLE cs =
			        p11t_open_login(f, p11t_sg_token_slot(f), getenv("SG_USER_PIN"));
			crv = f->C_SignInit(cs, &m, rsa);
			if (crv != CKR_FUNCTION_REJECTED) {
				fprintf(stderr, "reload-async: child C_SignInit = 0x%lx\n",
				        (unsigned long)crv);
				_exit(3);
			}
			/* The parent's loader, still busy in its memory, must
			 * not stop the child's own reloads either. */
			snprintf(from, sizeof(from), "%s.allow", child_conf);
			if (rename(from, child_conf) != 0)
				_exit(5);
			sleep_ms(1200);
			for (int t = 0; t < 200 && crv != CKR_OK; t++) { /* 20 s < alarm */
				sleep_ms(100);
				crv = sign_try(cs, rsa);
			}
			if (crv != CKR_OK) {
				fprintf(stderr,
				        "reload-async: the child's reload was not seen in 20 s\n");
				_exit(6);
			}
			crv = f->C_Finalize(NULL);
			_exit(crv == CKR_OK ? 0 : 4);
		}
		int st = 0;
		if (waitpid(pid, &st, 0) != pid)
			fail("waitpid");
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			fail("the child of a fork during the load: status 0x%x%s", st,
			     WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? " (hung)" : "");
		fprintf(stderr, "reload-async: child passed\n");
	}
	if (threads) {
		/* Decided under the config in force while the loader loads. */
		if (rv != CKR_OK)
			fail("the noticing call paid the load: 0x%lx under the new config",
			     (unsigned long)rv);
		for (int t = 0; t < 600 && rv == CKR_OK; t++) {
			sleep_ms(100);
			rv = sign_try(s, rsa);
		}
		if (rv != CKR_FUNCTION_REJECTED)
			fail("60 s after the change: C_SignInit = 0x%lx, expected the new "
			     "config's CKR_FUNCTION_REJECTED",
			     (unsigned long)rv);
	} else {
		/* No thread may be made: the noticing call loaded it. */
		if (rv != CKR_FUNCTION_REJECTED)
			fail("inline load: the noticing call = 0x%lx, expected the new "
			     "config's CKR_FUNCTION_REJECTED",
			     (unsigned long)rv);
	}
	fprintf(stderr, "reload-async: new config seen\n");
	CHECK_RV(f->C_Finalize(NULL), CKR_OK);
	printf("PASS reload-async %s\n", mode);
	return 0;
}

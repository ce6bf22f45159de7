/* One signature through a PKCS#11 module, exactly one C_Sign, so that a
 * test sees the CK_RV of that call and nothing else (pkcs11-tool retries
 * a refused C_Sign as C_SignUpdate and reports the second answer).
 *
 * Usage: p11sign MODULE TOKEN-LABEL ID-HEX MECH IN OUT [HASH MGF-HASH SLEN]
 *   MECH: RSA-PKCS, RSA-X-509, RSA-PKCS-PSS, SHA256-RSA-PKCS,
 *         SHA256-RSA-PKCS-PSS, SHA384-RSA-PKCS-PSS, ECDSA
 *   HASH, MGF-HASH: SHA1 SHA224 SHA256 SHA384 SHA512 (PSS parameters)
 * PIN: $P11SIGN_PIN (default "x": signgate logs in with its PIN file).
 * Prints "rv=0x..." of C_SignInit or C_Sign; writes the signature (ECDSA
 * as DER, as OpenSSL verifies it).  Exit 0 signed, 2 refused, 1 error. */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>

#include "p11test.h"

static void die(const char *what)
{
	fprintf(stderr, "p11sign: %s\n", what);
	exit(1);
}

static const struct {
	const char *name;
	CK_MECHANISM_TYPE ckm;
} mechs[] = {
	{ "RSA-PKCS", CKM_RSA_PKCS },
	{ "RSA-X-509", CKM_RSA_X_509 },
	{ "RSA-PKCS-PSS", CKM_RSA_PKCS_PSS },
	{ "SHA256-RSA-PKCS", CKM_SHA256_RSA_PKCS },
	{ "SHA256-RSA-PKCS-PSS", CKM_SHA256_RSA_PKCS_PSS },
	{ "SHA384-RSA-PKCS-PSS", CKM_SHA384_RSA_PKCS_PSS },
	{ "ECDSA", CKM_ECDSA },
};

static const struct {
	const char *name;
	CK_MECHANISM_TYPE ckm;
	CK_RSA_PKCS_MGF_TYPE mgf;
} hashes[] = {
	{ "SHA1", CKM_SHA_1, CKG_MGF1_SHA1 },      { "SHA224", CKM_SHA224, CKG_MGF1_SHA224 },
	{ "SHA256", CKM_SHA256, CKG_MGF1_SHA256 }, { "SHA384", CKM_SHA384, CKG_MGF1_SHA384 },
	{ "SHA512", CKM_SHA512, CKG_MGF1_SHA512 },
};

static size_t hash_index(const char *name)
{
	for (size_t i = 0; i < sizeof(hashes) / sizeof(hashes[0]); i++)
		if (!strcmp(hashes[i].name, name))
			return i;
	die("unknown hash");
	return 0;
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	static unsigned char buf[1 << 16];
	if (!fp)
		die("cannot open input");
	*len = fread(buf, 1, sizeof(buf), fp);
	fclose(fp);
	return buf;
}

int main(int argc, char **argv)
{
	if (argc != 7 && argc != 10)
		die("usage: p11sign MODULE TOKEN ID MECH IN OUT [HASH MGF-HASH SLEN]");
	const char *pin = getenv("P11SIGN_PIN") ? getenv("P11SIGN_PIN") : "x";
	const char *why;
	CK_FUNCTION_LIST_PTR f = p11t_open_module(argv[1], RTLD_NOW | RTLD_LOCAL, &why);
	if (!f)
		die(why);
	if (f->C_Initialize(NULL) != CKR_OK)
		die("cannot initialise the module");

	CK_SLOT_ID slot = p11t_slot_by_label(f, argv[2]);
	if (slot == (CK_SLOT_ID)-1)
		die("no token with that label");
	CK_SESSION_HANDLE s;
	if (f->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &s) != CKR_OK)
		die("C_OpenSession");
	CK_RV rv = f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR)pin, strlen(pin));
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN)
		die("C_Login");

	unsigned char id[64];
	size_t id_len = strlen(argv[3]) / 2;
	if (id_len == 0 || id_len > sizeof(id))
		die("bad id");
	for (size_t i = 0; i < id_len; i++)
		sscanf(argv[3] + 2 * i, "%2hhx", &id[i]);
	CK_OBJECT_HANDLE key = p11t_private_key(f, s, id, id_len);
	if (key == CK_INVALID_HANDLE)
		die("private key not found");

	CK_MECHANISM m = { 0, NULL, 0 };
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++)
		if (!strcmp(mechs[i].name, argv[4]))
			m.mechanism = mechs[i].ckm;
	if (!m.mechanism)
		die("unknown mechanism");
	CK_RSA_PKCS_PSS_PARAMS pss;
	if (argc == 10) {
		pss.hashAlg = hashes[hash_index(argv[7])].ckm;
		pss.mgf = hashes[hash_index(argv[8])].mgf;
		pss.sLen = strtoul(argv[9], NULL, 10);
		m.pParameter = &pss;
		m.ulParameterLen = sizeof(pss);
	}

	size_t in_len;
	unsigned char *in = read_file(argv[5], &in_len);
	unsigned char sig[2048];
	CK_ULONG sig_len = sizeof(sig);
	rv = f->C_SignInit(s, &m, key);
	if (rv == CKR_OK)
		rv = f->C_Sign(s, in, in_len, sig, &sig_len);
	printf("rv=0x%08lx\n", rv);
	if (rv != CKR_OK) {
		f->C_Finalize(NULL);
		return 2;
	}

	FILE *out = fopen(argv[6], "wb");
	if (!out)
		die("cannot write output");
	if (m.mechanism == CKM_ECDSA) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, (int)sig_len / 2, NULL);
		BIGNUM *sv = BN_bin2bn(sig + sig_len / 2, (int)sig_len / 2, NULL);
		unsigned char *der = NULL;
		if (!es || !r || !sv || !ECDSA_SIG_set0(es, r, sv))
			die("ECDSA_SIG");
		int dl = i2d_ECDSA_SIG(es, &der);
		if (dl <= 0)
			die("i2d_ECDSA_SIG");
		fwrite(der, 1, (size_t)dl, out);
		OPENSSL_free(der);
		ECDSA_SIG_free(es);
	} else {
		fwrite(sig, 1, sig_len, out);
	}
	fclose(out);
	f->C_Finalize(NULL);
	return 0;
}

/* signgate: approvals, SSHSIG verification and bundles (see approval.h).
 *
 * Every parser here is bounded: lengths are checked against what is left
 * before anything is read, and no input is larger than APPROVAL_MAX_LEN
 * (an approval) or BUNDLE_MAX_LEN (a bundle).  The SSHSIG format follows
 * OpenSSH's PROTOCOL.sshsig: the blob is
 *
 *     "SSHSIG" uint32(1) string(publickey) string(namespace)
 *     string(reserved) string(hash_algorithm) string(signature)
 *
 * and the key signs
 *
 *     "SSHSIG" string(namespace) string(reserved) string(hash_algorithm)
 *     string(H(message)).
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "approval.h"
#include "codec.h"

#define SSHSIG_BEGIN "-----BEGIN SSH SIGNATURE-----"
#define SSHSIG_END "-----END SSH SIGNATURE-----"
#define STATEMENT_HEADER "signgate-approval v1\n"
#define SSH_BLOB_MAX 2048

const char *approval_status_name(approval_status_t s)
{
	switch (s) {
	case APPROVAL_OK: return "approval-ok";
	case APPROVAL_MALFORMED: return "approval-malformed";
	case APPROVAL_UNKNOWN_APPROVER: return "approval-unknown-approver";
	case APPROVAL_UNKNOWN_KEY: return "approval-unknown-key";
	case APPROVAL_BAD_SIGNATURE: return "approval-bad-signature";
	case APPROVAL_EXPIRED: return "approval-expired";
	case APPROVAL_NOT_YET_VALID: return "approval-not-yet-valid";
	}
	return "approval-malformed";
}

static void say(char *detail, size_t dlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void say(char *detail, size_t dlen, const char *fmt, ...)
{
	va_list ap;
	if (!detail || !dlen)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, dlen, fmt, ap);
	va_end(ap);
}

/* --- base64 (standard and URL alphabets, padding optional): codec.h ----- */

/* Decode, skipping line breaks when skip_ws; returns the length or -1. */
static long b64_decode(const char *in, size_t len, bool url, bool skip_ws, unsigned char *out,
                       size_t max)
{
	unsigned flags = (url ? CODEC_B64_URL : 0) | (skip_ws ? CODEC_B64_SKIP_NEWLINES : 0);
	size_t n;
	return codec_b64_decode(in, len, flags, out, max, &n) && n <= LONG_MAX ? (long)n : -1;
}

/* Standard base64 is padded (as ssh-keygen writes it), base64url not. */
static char *b64_encode(const unsigned char *in, size_t len, bool url)
{
	return codec_b64_encode_alloc(in, len, url ? CODEC_B64_URL | CODEC_B64_PAD_NONE : 0);
}

/* --- SSH wire format ---------------------------------------------------- */

typedef struct rd {
	const unsigned char *p;
	size_t left;
} rd_t;

static bool rd_u32(rd_t *r, uint32_t *v)
{
	if (r->left < 4)
		return false;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return true;
}

static bool rd_str(rd_t *r, const unsigned char **s, size_t *len)
{
	uint32_t n;
	if (!rd_u32(r, &n) || n > r->left)
		return false;
	*s = r->p;
	*len = n;
	r->p += n;
	r->left -= n;
	return true;
}

static bool str_is(const unsigned char *s, size_t len, const char *lit)
{
	return len == strlen(lit) && memcmp(s, lit, len) == 0;
}

/* An SSH mpint as a positive BIGNUM (no negative numbers, minimal form
 * not insisted upon beyond what OpenSSL accepts). */
static BIGNUM *mpint_bn(const unsigned char *s, size_t len)
{
	if (len > 0 && (s[0] & 0x80))
		return NULL;
	return BN_bin2bn(s, (int)len, NULL);
}

typedef struct wbuf {
	unsigned char *p;
	size_t n, cap;
	bool bad;
} wbuf_t;

static void wb_put(wbuf_t *w, const void *d, size_t len)
{
	if (w->bad)
		return;
	if (w->n + len > w->cap) {
		size_t cap = (w->cap ? w->cap * 2 : 256) + len;
		unsigned char *q = realloc(w->p, cap);
		if (!q) {
			w->bad = true;
			return;
		}
		w->p = q;
		w->cap = cap;
	}
	memcpy(w->p + w->n, d, len);
	w->n += len;
}

static void wb_u32(wbuf_t *w, uint32_t v)
{
	unsigned char b[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
		               (unsigned char)(v >> 8), (unsigned char)v };
	wb_put(w, b, 4);
}

static void wb_str(wbuf_t *w, const void *d, size_t len)
{
	wb_u32(w, (uint32_t)len);
	wb_put(w, d, len);
}

static void wb_mpint(wbuf_t *w, const BIGNUM *bn)
{
	unsigned char b[1024];
	int n = BN_num_bytes(bn);
	if (n < 0 || (size_t)n + 1 > sizeof b) {
		w->bad = true;
		return;
	}
	b[0] = 0;
	BN_bn2bin(bn, b + 1);
	if (n > 0 && (b[1] & 0x80))
		wb_str(w, b, (size_t)n + 1);
	else
		wb_str(w, b + 1, (size_t)n);
}

/* --- keys --------------------------------------------------------------- */

static bool key_fingerprint(EVP_PKEY *pk, unsigned char fp[32])
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);
	if (n <= 0)
		return false;
	EVP_Digest(der, (size_t)n, fp, NULL, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return true;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *b)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pk = NULL;
	if (params && ctx && EVP_PKEY_fromdata_init(ctx) == 1 &&
	    EVP_PKEY_fromdata(ctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1)
		pk = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pk;
}

static EVP_PKEY *ec_key(const char *group, const unsigned char *q, size_t qlen)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	EVP_PKEY *pk = NULL;
	if (!b)
		return NULL;
	if (OSSL_PARAM_BLD_push_utf8_string(b, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) &&
	    OSSL_PARAM_BLD_push_octet_string(b, OSSL_PKEY_PARAM_PUB_KEY, q, qlen))
		pk = pkey_fromdata("EC", b);
	OSSL_PARAM_BLD_free(b);
	/* fromdata does not always check the point: do. */
	if (pk) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
		if (!c || EVP_PKEY_public_check(c) != 1) {
			EVP_PKEY_free(pk);
			pk = NULL;
		}
		EVP_PKEY_CTX_free(c);
	}
	return pk;
}

/* An SSH public key blob as an OpenSSL key. */
static bool ssh_blob_key(const unsigned char *blob, size_t len, config_approver_key_t *k, char *err,
                         size_t errlen)
{
	rd_t r = { blob, len };
	const unsigned char *t, *a, *b;
	size_t tl, al, bl;
	EVP_PKEY *pk = NULL;

	memset(k, 0, sizeof(*k));
	if (!rd_str(&r, &t, &tl)) {
		say(err, errlen, "public key blob does not parse");
		return false;
	}
	if (str_is(t, tl, "ssh-ed25519")) {
		if (!rd_str(&r, &a, &al) || al != 32 || r.left) {
			say(err, errlen, "ssh-ed25519 key does not parse");
			return false;
		}
		pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, 32);
		k->kind = APPROVER_KEY_ED25519;
	} else if (str_is(t, tl, "ecdsa-sha2-nistp256") || str_is(t, tl, "ecdsa-sha2-nistp384")) {
		bool p256 = str_is(t, tl, "ecdsa-sha2-nistp256");
		if (!rd_str(&r, &a, &al) || !str_is(a, al, p256 ? "nistp256" : "nistp384") ||
		    !rd_str(&r, &b, &bl) || bl != (p256 ? 65u : 97u) || b[0] != 4 || r.left) {
			say(err, errlen, "ecdsa key does not parse");
			return false;
		}
		pk = ec_key(p256 ? "P-256" : "P-384", b, bl);
		k->kind = p256 ? APPROVER_KEY_ECDSA_P256 : APPROVER_KEY_ECDSA_P384;
	} else if (str_is(t, tl, "ssh-rsa")) {
		if (!rd_str(&r, &a, &al) || !rd_str(&r, &b, &bl) || r.left || al > 16 ||
		    bl > 1025) {
			say(err, errlen, "ssh-rsa key does not parse");
			return false;
		}
		BIGNUM *e = mpint_bn(a, al), *n = mpint_bn(b, bl);
		OSSL_PARAM_BLD *pb = OSSL_PARAM_BLD_new();
		if (e && n && pb && BN_num_bits(n) >= 3072 && BN_is_odd(e) && !BN_is_one(e) &&
		    OSSL_PARAM_BLD_push_BN(pb, OSSL_PKEY_PARAM_RSA_N, n) &&
		    OSSL_PARAM_BLD_push_BN(pb, OSSL_PKEY_PARAM_RSA_E, e))
			pk = pkey_fromdata("RSA", pb);
		else if (n && BN_num_bits(n) < 3072) {
			BN_free(e);
			BN_free(n);
			OSSL_PARAM_BLD_free(pb);
			say(err, errlen, "ssh-rsa key has fewer than 3072 bits");
			return false;
		}
		BN_free(e);
		BN_free(n);
		OSSL_PARAM_BLD_free(pb);
		k->kind = APPROVER_KEY_RSA;
	} else {
		say(err, errlen,
		    "key type %.*s is not accepted (ssh-ed25519, ecdsa-sha2-nistp256/384, "
		    "ssh-rsa of 3072 bits or more)",
		    (int)(tl > 40 ? 40 : tl), (const char *)t);
		return false;
	}
	if (!pk || !key_fingerprint(pk, k->fp)) {
		EVP_PKEY_free(pk);
		say(err, errlen, "public key is not valid");
		return false;
	}
	k->pkey = pk;
	return true;
}

bool approval_ssh_key_parse(const char *line, config_approver_key_t *k, char *err, size_t errlen)
{
	unsigned char blob[SSH_BLOB_MAX];
	const char *sp, *b64, *end;
	size_t tl;
	memset(k, 0, sizeof(*k));
	if (!line || strlen(line) > 8192) {
		say(err, errlen, "not an SSH public key line");
		return false;
	}
	sp = strchr(line, ' ');
	if (!sp) {
		say(err, errlen, "not an SSH public key line (TYPE BASE64 [COMMENT])");
		return false;
	}
	tl = (size_t)(sp - line);
	b64 = sp + 1;
	end = strchr(b64, ' ');
	if (!end)
		end = b64 + strlen(b64);
	long n = b64_decode(b64, (size_t)(end - b64), false, false, blob, sizeof blob);
	if (n <= 0) {
		say(err, errlen, "SSH public key is not valid base64");
		return false;
	}
	if (!ssh_blob_key(blob, (size_t)n, k, err, errlen))
		return false;
	/* The type in front must be the type inside. */
	rd_t r = { blob, (size_t)n };
	const unsigned char *t;
	size_t l;
	if (!rd_str(&r, &t, &l) || l != tl || memcmp(t, line, tl) != 0) {
		EVP_PKEY_free(k->pkey);
		k->pkey = NULL;
		say(err, errlen, "key type written does not match the key");
		return false;
	}
	return true;
}

bool approval_pem_key_parse(const char *pem, size_t len, config_approver_key_t *k, char *err,
                            size_t errlen)
{
	memset(k, 0, sizeof(*k));
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!pk) {
		say(err, errlen, "not a PEM public key (BEGIN PUBLIC KEY)");
		return false;
	}
	if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519) {
		k->kind = APPROVER_KEY_ED25519;
	} else {
		char grp[64];
		size_t gl = 0;
		if (EVP_PKEY_get_id(pk) != EVP_PKEY_EC ||
		    !EVP_PKEY_get_group_name(pk, grp, sizeof grp, &gl) ||
		    (strcmp(grp, "prime256v1") && strcmp(grp, "P-256"))) {
			EVP_PKEY_free(pk);
			say(err, errlen,
			    "only Ed25519 and EC P-256 PEM approver keys are accepted");
			return false;
		}
		k->kind = APPROVER_KEY_ECDSA_P256;
	}
	if (!key_fingerprint(pk, k->fp)) {
		EVP_PKEY_free(pk);
		say(err, errlen, "public key is not valid");
		return false;
	}
	k->pkey = pk;
	return true;
}

/* The SSH public key blob of an Ed25519 or P-256 key (to write SSHSIG). */
static bool pkey_ssh_blob(EVP_PKEY *pk, wbuf_t *w)
{
	if (EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519) {
		unsigned char raw[32];
		size_t rl = sizeof raw;
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rl) != 1 || rl != 32)
			return false;
		wb_str(w, "ssh-ed25519", 11);
		wb_str(w, raw, 32);
		return !w->bad;
	}
	if (EVP_PKEY_get_id(pk) == EVP_PKEY_EC) {
		unsigned char q[65];
		size_t ql = 0;
		if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, q,
		                                    sizeof q, &ql) != 1 ||
		    ql != 65)
			return false;
		wb_str(w, "ecdsa-sha2-nistp256", 19);
		wb_str(w, "nistp256", 8);
		wb_str(w, q, ql);
		return !w->bad;
	}
	return false;
}

/* --- SSHSIG ------------------------------------------------------------- */

typedef struct sshsig {
	const unsigned char *pubkey;
	size_t pubkey_len;
	const unsigned char *hash_alg;
	size_t hash_alg_len;
	const unsigned char *sig;
	size_t sig_len;
} sshsig_t;

static bool sshsig_parse(const unsigned char *blob, size_t len, sshsig_t *s, char *detail,
                         size_t dlen)
{
	rd_t r = { blob, len };
	uint32_t ver;
	const unsigned char *ns, *res;
	size_t nsl, resl;
	if (len < 6 || memcmp(blob, "SSHSIG", 6) != 0) {
		say(detail, dlen, "signature: not an SSHSIG blob");
		return false;
	}
	r.p += 6;
	r.left -= 6;
	if (!rd_u32(&r, &ver) || ver != 1) {
		say(detail, dlen, "signature: SSHSIG version is not 1");
		return false;
	}
	if (!rd_str(&r, &s->pubkey, &s->pubkey_len) || !rd_str(&r, &ns, &nsl) ||
	    !rd_str(&r, &res, &resl) || !rd_str(&r, &s->hash_alg, &s->hash_alg_len) ||
	    !rd_str(&r, &s->sig, &s->sig_len) || r.left) {
		say(detail, dlen, "signature: SSHSIG blob does not parse");
		return false;
	}
	if (!str_is(ns, nsl, APPROVAL_NAMESPACE)) {
		say(detail, dlen, "signature: namespace is not \"" APPROVAL_NAMESPACE "\"");
		return false;
	}
	if (resl != 0) {
		say(detail, dlen, "signature: reserved field is not empty");
		return false;
	}
	if (!str_is(s->hash_alg, s->hash_alg_len, "sha512") &&
	    !str_is(s->hash_alg, s->hash_alg_len, "sha256")) {
		say(detail, dlen, "signature: hash algorithm is not sha256 or sha512");
		return false;
	}
	return true;
}

/* What the key signs. */
static bool sshsig_signed_data(const unsigned char *msg, size_t msg_len, const char *hash_alg,
                               wbuf_t *w)
{
	unsigned char h[64];
	unsigned int hl = 0;
	const EVP_MD *md = !strcmp(hash_alg, "sha256") ? EVP_sha256() : EVP_sha512();
	if (!EVP_Digest(msg, msg_len, h, &hl, md, NULL))
		return false;
	wb_put(w, "SSHSIG", 6);
	wb_str(w, APPROVAL_NAMESPACE, strlen(APPROVAL_NAMESPACE));
	wb_str(w, "", 0);
	wb_str(w, hash_alg, strlen(hash_alg));
	wb_str(w, h, hl);
	return !w->bad;
}

static bool verify_raw(EVP_PKEY *pk, const EVP_MD *md, const unsigned char *sig, size_t sl,
                       const unsigned char *data, size_t dl)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c && EVP_DigestVerifyInit(c, NULL, md, NULL, pk) == 1 &&
	          EVP_DigestVerify(c, sig, sl, data, dl) == 1;
	EVP_MD_CTX_free(c);
	return ok;
}

/* Verify the SSHSIG signature field with key k over the signed data. */
static bool sshsig_verify_sig(const config_approver_key_t *k, const unsigned char *sigf,
                              size_t sigf_len, const unsigned char *data, size_t dl)
{
	rd_t r = { sigf, sigf_len };
	const unsigned char *t, *s;
	size_t tl, sl;
	if (!rd_str(&r, &t, &tl) || !rd_str(&r, &s, &sl) || r.left)
		return false;
	switch (k->kind) {
	case APPROVER_KEY_ED25519:
		return str_is(t, tl, "ssh-ed25519") && sl == 64 &&
		       verify_raw(k->pkey, NULL, s, sl, data, dl);
	case APPROVER_KEY_RSA:
		if (str_is(t, tl, "rsa-sha2-512"))
			return verify_raw(k->pkey, EVP_sha512(), s, sl, data, dl);
		if (str_is(t, tl, "rsa-sha2-256"))
			return verify_raw(k->pkey, EVP_sha256(), s, sl, data, dl);
		return false; /* ssh-rsa (SHA-1) is not accepted */
	case APPROVER_KEY_ECDSA_P256:
	case APPROVER_KEY_ECDSA_P384: {
		bool p256 = k->kind == APPROVER_KEY_ECDSA_P256;
		if (!str_is(t, tl, p256 ? "ecdsa-sha2-nistp256" : "ecdsa-sha2-nistp384"))
			return false;
		rd_t e = { s, sl };
		const unsigned char *rb, *sb;
		size_t rl, sbl;
		if (!rd_str(&e, &rb, &rl) || !rd_str(&e, &sb, &sbl) || e.left || rl > 49 ||
		    sbl > 49)
			return false;
		BIGNUM *R = mpint_bn(rb, rl), *S = mpint_bn(sb, sbl);
		ECDSA_SIG *es = ECDSA_SIG_new();
		unsigned char *der = NULL;
		int dn = -1;
		if (R && S && es && ECDSA_SIG_set0(es, R, S)) {
			R = S = NULL;
			dn = i2d_ECDSA_SIG(es, &der);
		}
		BN_free(R);
		BN_free(S);
		ECDSA_SIG_free(es);
		bool ok = dn > 0 && verify_raw(k->pkey, p256 ? EVP_sha256() : EVP_sha384(), der,
		                               (size_t)dn, data, dl);
		OPENSSL_free(der);
		return ok;
	}
	}
	return false;
}

/* --- the statement ------------------------------------------------------ */

static bool name_ok(const char *s, size_t n)
{
	if (n == 0 || n > 63)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && !strchr("._@+-:/", c))
			return false;
	}
	return true;
}

static bool parse_int64(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	if (n == 0 || n > 12)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* One "key: value\n" line at *p (within end); value bounds out. */
static bool take_line(const char **p, const char *end, const char *key, const char **v, size_t *vl)
{
	size_t kl = strlen(key);
	const char *q = *p;
	if ((size_t)(end - q) < kl + 2 || memcmp(q, key, kl) != 0 || q[kl] != ':' ||
	    q[kl + 1] != ' ')
		return false;
	q += kl + 2;
	const char *nl = memchr(q, '\n', (size_t)(end - q));
	if (!nl)
		return false;
	*v = q;
	*vl = (size_t)(nl - q);
	*p = nl + 1;
	return true;
}

static bool copy_name(char *dst, const char *v, size_t vl)
{
	if (!name_ok(v, vl))
		return false;
	memcpy(dst, v, vl);
	dst[vl] = '\0';
	return true;
}

approval_status_t approval_parse(const char *text, size_t len, approval_t *out, size_t *msg_len,
                                 char *detail, size_t dlen)
{
	const char *p = text, *end, *v;
	size_t vl;
	memset(out, 0, sizeof(*out));
	if (!text || len == 0 || len > APPROVAL_MAX_LEN) {
		say(detail, dlen, "approval is empty or longer than %d bytes", APPROVAL_MAX_LEN);
		return APPROVAL_MALFORMED;
	}
	if (memchr(text, '\0', len)) {
		say(detail, dlen, "approval contains a NUL byte");
		return APPROVAL_MALFORMED;
	}
	/* The statement ends where the signature begins. */
	end = memmem(text, len, "\n" SSHSIG_BEGIN, strlen(SSHSIG_BEGIN) + 1);
	if (!end) {
		say(detail, dlen, "no SSH SIGNATURE block after the statement");
		return APPROVAL_MALFORMED;
	}
	end++;
	*msg_len = (size_t)(end - text);
	if ((size_t)(end - p) < strlen(STATEMENT_HEADER) ||
	    memcmp(p, STATEMENT_HEADER, strlen(STATEMENT_HEADER))) {
		say(detail, dlen, "statement does not start with \"signgate-approval v1\"");
		goto bad;
	}
	p += strlen(STATEMENT_HEADER);
	if (!take_line(&p, end, "approver", &v, &vl) || !copy_name(out->approver, v, vl)) {
		say(detail, dlen, "statement: approver line missing or invalid");
		goto bad;
	}
	if (!take_line(&p, end, "product", &v, &vl) || !copy_name(out->product, v, vl)) {
		say(detail, dlen, "statement: product line missing or invalid");
		goto bad;
	}
	if (!take_line(&p, end, "run", &v, &vl) || !copy_name(out->run, v, vl)) {
		say(detail, dlen, "statement: run line missing or invalid");
		goto bad;
	}
	while (take_line(&p, end, "artifact", &v, &vl)) {
		if (out->n_digests >= APPROVAL_MAX_DIGESTS || vl != 7 + 64 ||
		    memcmp(v, "sha256:", 7)) {
			say(detail, dlen, "statement: artifact must be sha256:<64 hex>, at most %d",
			    APPROVAL_MAX_DIGESTS);
			goto bad;
		}
		size_t dn;
		if (!codec_hex_decode(v + 7, 64, 0, out->digests[out->n_digests], 32, &dn)) {
			say(detail, dlen, "statement: artifact digest is not lower-case hex");
			goto bad;
		}
		out->n_digests++;
	}
	if (take_line(&p, end, "ticket", &v, &vl) && !copy_name(out->ticket, v, vl)) {
		say(detail, dlen, "statement: ticket line invalid");
		goto bad;
	}
	if (!take_line(&p, end, "issued-at", &v, &vl) || !parse_int64(v, vl, &out->iat)) {
		say(detail, dlen, "statement: issued-at line missing or invalid");
		goto bad;
	}
	if (!take_line(&p, end, "expires", &v, &vl) || !parse_int64(v, vl, &out->exp) ||
	    out->exp <= out->iat) {
		say(detail, dlen,
		    "statement: expires line missing, invalid or not after issued-at");
		goto bad;
	}
	if (!take_line(&p, end, "nonce", &v, &vl) || vl != 32) {
		say(detail, dlen, "statement: nonce line missing or not 32 hex digits");
		goto bad;
	}
	unsigned char nonce[16];
	size_t nn;
	if (!codec_hex_decode(v, 32, 0, nonce, sizeof nonce, &nn)) {
		say(detail, dlen, "statement: nonce is not lower-case hex");
		goto bad;
	}
	memcpy(out->nonce, v, 32);
	if (p != end) {
		say(detail, dlen, "statement: unexpected line after nonce");
		goto bad;
	}
	return APPROVAL_OK;
bad:
	memset(out, 0, sizeof(*out));
	return APPROVAL_MALFORMED;
}

/* The armored block after the statement, decoded. */
static long armor_decode(const char *s, size_t len, unsigned char *out, size_t max)
{
	size_t bl = strlen(SSHSIG_BEGIN), el = strlen(SSHSIG_END);
	if (len < bl + 1 || memcmp(s, SSHSIG_BEGIN, bl) || s[bl] != '\n')
		return -1;
	s += bl + 1;
	len -= bl + 1;
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len < el || memcmp(s + len - el, SSHSIG_END, el))
		return -1;
	len -= el;
	return b64_decode(s, len, false, true, out, max);
}

const config_approver_t *approval_approver(const config_t *cfg, const char *name)
{
	for (size_t i = 0; cfg && i < cfg->n_approvers; i++)
		if (!strcmp(cfg->approvers[i].name, name))
			return &cfg->approvers[i];
	return NULL;
}

approval_status_t approval_verify(const config_t *cfg, const char *text, size_t len, time_t now,
                                  approval_t *out, char *detail, size_t dlen)
{
	size_t msg_len;
	unsigned char blob[4096];
	sshsig_t sg;
	config_approver_key_t sk;
	approval_status_t st = approval_parse(text, len, out, &msg_len, detail, dlen);
	if (st != APPROVAL_OK)
		return st;
	long bn = armor_decode(text + msg_len, len - msg_len, blob, sizeof blob);
	if (bn <= 0) {
		say(detail, dlen, "signature: SSH SIGNATURE block is not valid base64 armor");
		goto malformed;
	}
	if (!sshsig_parse(blob, (size_t)bn, &sg, detail, dlen))
		goto malformed;
	if (!ssh_blob_key(sg.pubkey, sg.pubkey_len, &sk, detail, dlen))
		goto malformed;
	const config_approver_t *ap = approval_approver(cfg, out->approver);
	if (!ap) {
		EVP_PKEY_free(sk.pkey);
		say(detail, dlen, "no approver '%s' in the config", out->approver);
		memset(out, 0, sizeof(*out));
		return APPROVAL_UNKNOWN_APPROVER;
	}
	const config_approver_key_t *k = NULL;
	for (size_t i = 0; i < ap->n_keys; i++)
		if (ap->keys[i].kind == sk.kind && CRYPTO_memcmp(ap->keys[i].fp, sk.fp, 32) == 0)
			k = &ap->keys[i];
	EVP_PKEY_free(sk.pkey);
	if (!k) {
		say(detail, dlen, "signed by a key approver '%s' does not have", out->approver);
		memset(out, 0, sizeof(*out));
		return APPROVAL_UNKNOWN_KEY;
	}
	char hash_alg[8];
	memcpy(hash_alg, sg.hash_alg, sg.hash_alg_len);
	hash_alg[sg.hash_alg_len] = '\0';
	wbuf_t w = { 0 };
	bool ok = sshsig_signed_data((const unsigned char *)text, msg_len, hash_alg, &w) &&
	          sshsig_verify_sig(k, sg.sig, sg.sig_len, w.p, w.n);
	free(w.p);
	if (!ok) {
		say(detail, dlen, "signature of approver '%s' does not verify", out->approver);
		memset(out, 0, sizeof(*out));
		return APPROVAL_BAD_SIGNATURE;
	}
	memcpy(out->key_fp, k->fp, 32);
	if ((int64_t)now > out->exp + APPROVAL_LEEWAY_S) {
		say(detail, dlen, "approval of '%s' expired", out->approver);
		return APPROVAL_EXPIRED;
	}
	if ((int64_t)now + APPROVAL_LEEWAY_S < out->iat) {
		say(detail, dlen, "approval of '%s' is issued in the future", out->approver);
		return APPROVAL_NOT_YET_VALID;
	}
	return APPROVAL_OK;
malformed:
	memset(out, 0, sizeof(*out));
	return APPROVAL_MALFORMED;
}

bool approval_still_trusted(const config_t *cfg, const approval_t *a)
{
	const config_approver_t *ap = approval_approver(cfg, a->approver);
	if (!ap)
		return false;
	for (size_t i = 0; i < ap->n_keys; i++)
		if (CRYPTO_memcmp(ap->keys[i].fp, a->key_fp, 32) == 0)
			return true;
	return false;
}

bool approval_in_group(const config_approver_group_t *g, size_t approver)
{
	for (size_t i = 0; i < g->n_members; i++)
		if (g->members[i] == approver)
			return true;
	return false;
}

bool approval_covers_digest(const approval_t *a, const unsigned char d[32])
{
	if (a->n_digests == 0)
		return true;
	for (size_t i = 0; i < a->n_digests; i++)
		if (CRYPTO_memcmp(a->digests[i], d, 32) == 0)
			return true;
	return false;
}

/* --- bundles ------------------------------------------------------------ */

bool bundle_looks_like(const char *s, size_t len)
{
	return s && len > 5 && memcmp(s, BUNDLE_PREFIX, 4) == 0 &&
	       (s[4] == '~' || s[4] == '\n' || s[4] == '\r');
}

void bundle_free(bundle_t *b)
{
	if (!b)
		return;
	if (b->ticket) {
		OPENSSL_cleanse(b->ticket, strlen(b->ticket));
		free(b->ticket);
	}
	for (size_t i = 0; i < b->n_approvals; i++)
		free(b->approvals[i]);
	memset(b, 0, sizeof(*b));
}

static bool is_sep(char c)
{
	return c == '~' || c == '\n' || c == '\r';
}

bool bundle_parse(const char *s, size_t len, bundle_t *out, char *detail, size_t dlen)
{
	memset(out, 0, sizeof(*out));
	if (!bundle_looks_like(s, len) || len > BUNDLE_MAX_LEN) {
		say(detail, dlen, "not a bundle (sgb1~...) of at most %d bytes", BUNDLE_MAX_LEN);
		return false;
	}
	if (memchr(s, '\0', len)) {
		say(detail, dlen, "bundle contains a NUL byte");
		return false;
	}
	size_t i = 4;
	while (i < len) {
		while (i < len && is_sep(s[i]))
			i++;
		size_t st = i;
		while (i < len && !is_sep(s[i]))
			i++;
		size_t fl = i - st;
		const char *f = s + st;
		if (fl == 0)
			continue;
		if (fl > 2 && f[0] == 't' && f[1] == ':') {
			if (out->ticket || fl - 2 > 8192) {
				say(detail, dlen, "bundle: more than one ticket, or one too long");
				goto bad;
			}
			if (!(out->ticket = strndup(f + 2, fl - 2)))
				goto oom;
		} else if (fl > 2 && f[0] == 'a' && f[1] == ':') {
			if (out->n_approvals >= BUNDLE_MAX_APPROVALS) {
				say(detail, dlen, "bundle: more than %d approvals",
				    BUNDLE_MAX_APPROVALS);
				goto bad;
			}
			if ((fl - 2) / 4 * 3 > APPROVAL_MAX_LEN + 3) {
				say(detail, dlen, "bundle: approval %zu too long",
				    out->n_approvals + 1);
				goto bad;
			}
			unsigned char *a = malloc(APPROVAL_MAX_LEN + 4);
			if (!a)
				goto oom;
			long n = b64_decode(f + 2, fl - 2, true, false, a, APPROVAL_MAX_LEN);
			if (n <= 0) {
				free(a);
				say(detail, dlen, "bundle: approval %zu is not base64url",
				    out->n_approvals + 1);
				goto bad;
			}
			a[n] = '\0';
			out->approvals[out->n_approvals] = (char *)a;
			out->approval_len[out->n_approvals++] = (size_t)n;
		} else {
			say(detail, dlen,
			    "bundle: field %.2s is neither t: (ticket) nor a: (approval)", f);
			goto bad;
		}
	}
	if (!out->ticket && !out->n_approvals) {
		say(detail, dlen, "bundle is empty");
		goto bad;
	}
	return true;
oom:
	say(detail, dlen, "out of memory");
bad:
	bundle_free(out);
	return false;
}

char *bundle_encode(const char *ticket, const char *const *approvals, const size_t *lens, size_t n)
{
	wbuf_t w = { 0 };
	wb_put(&w, BUNDLE_PREFIX, 4);
	if (ticket) {
		wb_put(&w, "~t:", 3);
		wb_put(&w, ticket, strlen(ticket));
	}
	for (size_t i = 0; i < n; i++) {
		char *e = b64_encode((const unsigned char *)approvals[i], lens[i], true);
		if (!e) {
			w.bad = true;
			break;
		}
		wb_put(&w, "~a:", 3);
		wb_put(&w, e, strlen(e));
		free(e);
	}
	wb_put(&w, "", 1);
	if (w.bad) {
		free(w.p);
		return NULL;
	}
	return (char *)w.p;
}

/* --- making approvals --------------------------------------------------- */

char *approval_statement(const approval_t *a)
{
	wbuf_t w = { 0 };
	char line[256];
	if (!name_ok(a->approver, strlen(a->approver)) ||
	    !name_ok(a->product, strlen(a->product)) || !name_ok(a->run, strlen(a->run)) ||
	    (a->ticket[0] && !name_ok(a->ticket, strlen(a->ticket))) ||
	    a->n_digests > APPROVAL_MAX_DIGESTS || a->exp <= a->iat || strlen(a->nonce) != 32)
		return NULL;
	wb_put(&w, STATEMENT_HEADER, strlen(STATEMENT_HEADER));
	snprintf(line, sizeof line, "approver: %s\nproduct: %s\nrun: %s\n", a->approver, a->product,
	         a->run);
	wb_put(&w, line, strlen(line));
	for (size_t i = 0; i < a->n_digests; i++) {
		char hex[65];
		codec_hex_encode(hex, sizeof hex, a->digests[i], 32);
		snprintf(line, sizeof line, "artifact: sha256:%s\n", hex);
		wb_put(&w, line, strlen(line));
	}
	if (a->ticket[0]) {
		snprintf(line, sizeof line, "ticket: %s\n", a->ticket);
		wb_put(&w, line, strlen(line));
	}
	snprintf(line, sizeof line, "issued-at: %" PRId64 "\nexpires: %" PRId64 "\nnonce: %s\n",
	         a->iat, a->exp, a->nonce);
	wb_put(&w, line, strlen(line));
	wb_put(&w, "", 1);
	if (w.bad) {
		free(w.p);
		return NULL;
	}
	return (char *)w.p;
}

char *approval_sign_pem(void *pkey, const char *statement)
{
	EVP_PKEY *pk = pkey;
	wbuf_t data = { 0 }, sig = { 0 }, blob = { 0 }, pub = { 0 };
	unsigned char raw[256];
	size_t rl = sizeof raw;
	char *out = NULL, *b64 = NULL;
	bool ed = EVP_PKEY_get_id(pk) == EVP_PKEY_ED25519;
	EVP_MD_CTX *c = NULL;

	if (!pkey_ssh_blob(pk, &pub) || !sshsig_signed_data((const unsigned char *)statement,
	                                                    strlen(statement), "sha512", &data))
		goto out;
	c = EVP_MD_CTX_new();
	if (!c || EVP_DigestSignInit(c, NULL, ed ? NULL : EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(c, raw, &rl, data.p, data.n) != 1)
		goto out;
	if (ed) {
		wb_str(&sig, "ssh-ed25519", 11);
		wb_str(&sig, raw, rl);
	} else {
		const unsigned char *d = raw;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &d, (long)rl);
		if (!es)
			goto out;
		wbuf_t inner = { 0 };
		wb_mpint(&inner, ECDSA_SIG_get0_r(es));
		wb_mpint(&inner, ECDSA_SIG_get0_s(es));
		ECDSA_SIG_free(es);
		wb_str(&sig, "ecdsa-sha2-nistp256", 19);
		wb_str(&sig, inner.p, inner.n);
		free(inner.p);
	}
	wb_put(&blob, "SSHSIG", 6);
	wb_u32(&blob, 1);
	wb_str(&blob, pub.p, pub.n);
	wb_str(&blob, APPROVAL_NAMESPACE, strlen(APPROVAL_NAMESPACE));
	wb_str(&blob, "", 0);
	wb_str(&blob, "sha512", 6);
	wb_str(&blob, sig.p, sig.n);
	if (sig.bad || blob.bad || !(b64 = b64_encode(blob.p, blob.n, false)))
		goto out;
	{
		wbuf_t o = { 0 };
		size_t bl = strlen(b64);
		wb_put(&o, statement, strlen(statement));
		wb_put(&o, SSHSIG_BEGIN "\n", strlen(SSHSIG_BEGIN) + 1);
		for (size_t i = 0; i < bl; i += 70) {
			wb_put(&o, b64 + i, bl - i > 70 ? 70 : bl - i);
			wb_put(&o, "\n", 1);
		}
		wb_put(&o, SSHSIG_END "\n", strlen(SSHSIG_END) + 1);
		wb_put(&o, "", 1);
		if (o.bad)
			free(o.p);
		else
			out = (char *)o.p;
	}
out:
	EVP_MD_CTX_free(c);
	free(data.p);
	free(sig.p);
	free(blob.p);
	free(pub.p);
	free(b64);
	return out;
}

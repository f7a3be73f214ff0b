#include "crypto/jws.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/mem.h"

#define HMAC_KEY_MAX 1024

static const char *
ossl_reason(void)
{
	unsigned long code = ERR_peek_last_error();
	const char *r = code ? ERR_reason_error_string(code) : NULL;

	ERR_clear_error();
	return r ? r : "unknown OpenSSL error";
}

char *
jws_b64url_encode(const unsigned char *data, size_t len)
{
	char *out;
	int n;

	if (len > (size_t)INT_MAX / 2)
		return NULL;
	out = malloc(4 * ((len + 2) / 3) + 1);
	if (out == NULL)
		return NULL;
	n = len ? EVP_EncodeBlock((unsigned char *)out, data, (int)len) : 0;
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++) {
		if (*p == '+')
			*p = '-';
		else if (*p == '/')
			*p = '_';
	}
	return out;
}

int
jws_b64url_decode(const char *s, unsigned char **out, size_t *outlen, struct err *e)
{
	size_t n = strlen(s), len, pad;
	char *std = NULL;
	unsigned char *buf = NULL;
	int got, rc = LB_ERR;

	*out = NULL;
	*outlen = 0;
	while (n > 0 && s[n - 1] == '=')
		n--;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
		    ch == '+' || ch == '/'))
			return err_set(e, LB_ERR, "base64url: invalid character at offset %zu", i);
	}
	if (n % 4 == 1)
		return err_set(e, LB_ERR, "base64url: truncated input (%zu characters)", n);
	pad = (4 - n % 4) % 4;
	len = n + pad;
	if ((std = malloc(len + 1)) == NULL || (buf = malloc(len / 4 * 3 + 1)) == NULL) {
		err_set(e, LB_ERR, "base64url: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		std[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
	memset(std + n, '=', pad);
	std[len] = '\0';
	got = len ? EVP_DecodeBlock(buf, (unsigned char *)std, (int)len) : 0;
	if (got < 0 || (size_t)got < pad) {
		err_set(e, LB_ERR, "base64url: invalid input");
		goto out;
	}
	/* EVP_DecodeBlock counts the zero bytes that padding stands for. */
	*outlen = (size_t)got - pad;
	buf[*outlen] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
out:
	if (std != NULL)
		OPENSSL_clear_free(std, len + 1);
	if (buf != NULL)
		OPENSSL_clear_free(buf, len / 4 * 3 + 1);
	return rc;
}

int
jws_key_generate(enum jws_key_type t, EVP_PKEY **out, struct err *e)
{
	*out = t == JWS_KEY_RSA_2048 ? EVP_RSA_gen(2048) : EVP_EC_gen("P-256");
	if (*out == NULL)
		return err_set(e, LB_ERR, "account key generation failed: %s", ossl_reason());
	return 0;
}

int
jws_key_load(const char *path, EVP_PKEY **out, struct err *e)
{
	FILE *fp;

	*out = NULL;
	if ((fp = fopen(path, "re")) == NULL) {
		int saved = errno;

		return err_set(e, saved == ENOENT ? LB_ENOTFOUND : LB_ERR,
		    "account key %s: %s", path, strerror(saved));
	}
	*out = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (*out == NULL)
		return err_set(e, LB_ERR, "account key %s: not a PEM private key: %s",
		    path, ossl_reason());
	if (jws_alg(*out) == NULL) {
		EVP_PKEY_free(*out);
		*out = NULL;
		return err_set(e, LB_ERR, "account key %s: unsupported key type "
		    "(EC P-256, P-384 or RSA expected)", path);
	}
	return 0;
}

int
jws_key_save(EVP_PKEY *k, const char *path, struct err *e)
{
	/* A name of its own per call, not per process: run --jobs workers
	 * may save the same key path at once, and a shared temporary name
	 * would let one unlink or link the other's half-written file. */
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	FILE *fp = NULL;
	int fd = -1, rc = LB_ERR;
	bool made = false;

	if (tmp == NULL)
		return err_set(e, LB_ERR, "account key %s: out of memory", path);
	/* mkostemp creates the file 0600 */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		err_set(e, LB_ERR, "account key %s: %s", tmp, strerror(errno));
		goto out;
	}
	made = true;
	if ((fp = fdopen(fd, "w")) == NULL) {
		err_set(e, LB_ERR, "account key %s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (!PEM_write_PrivateKey(fp, k, NULL, NULL, 0, NULL, NULL) ||
	    fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
		err_set(e, LB_ERR, "account key %s: write failed", tmp);
		goto out;
	}
	/* link() refuses an existing target: a key another run saved first
	 * is never replaced, and readers never see a half-written file. */
	if (link(tmp, path) != 0) {
		int saved = errno;

		rc = err_set(e, saved == EEXIST ? LB_EEXIST : LB_ERR, "account key %s: %s",
		    path, strerror(saved));
		goto out;
	}
	rc = 0;
out:
	if (fp != NULL)
		fclose(fp);
	if (fd >= 0)
		close(fd);
	if (made)
		unlink(tmp);
	free(tmp);
	return rc;
}

int
jws_key_load_or_create(const char *path, enum jws_key_type t, EVP_PKEY **out,
    struct err *e)
{
	EVP_PKEY *k = NULL;
	int rc;

	rc = jws_key_load(path, out, e);
	if (rc != LB_ENOTFOUND)
		return rc;
	if ((rc = jws_key_generate(t, &k, e)) != 0)
		return rc;
	rc = jws_key_save(k, path, e);
	EVP_PKEY_free(k);
	if (rc != 0 && rc != LB_EEXIST)
		return rc;
	/* Load what is on disk, ours or a concurrent writer's. */
	return jws_key_load(path, out, e);
}

/* Group name → (JWS alg, JWK crv, coordinate bytes); NULL when unsupported. */
static const char *
ec_params(EVP_PKEY *k, const char **crv, size_t *size)
{
	char group[64];
	size_t len;

	if (!EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group,
	    sizeof(group), &len))
		return NULL;
	if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
		*crv = "P-256";
		*size = 32;
		return "ES256";
	}
	if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
		*crv = "P-384";
		*size = 48;
		return "ES384";
	}
	return NULL;
}

const char *
jws_alg(EVP_PKEY *k)
{
	const char *crv;
	size_t size;

	if (k == NULL)
		return NULL;
	if (EVP_PKEY_is_a(k, "RSA"))
		return "RS256";
	if (EVP_PKEY_is_a(k, "EC"))
		return ec_params(k, &crv, &size);
	return NULL;
}

/* b64url of a key parameter; width > 0 left-pads to that many bytes. */
static char *
bn_param_b64(EVP_PKEY *k, const char *param, size_t width)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	char *out = NULL;
	int n;

	if (!EVP_PKEY_get_bn_param(k, param, &bn))
		return NULL;
	if (width > 0)
		n = (size_t)BN_num_bytes(bn) <= width && width <= sizeof(buf) ?
		    BN_bn2binpad(bn, buf, (int)width) : -1;
	else
		n = (size_t)BN_num_bytes(bn) <= sizeof(buf) ? BN_bn2bin(bn, buf) : -1;
	if (n >= 0)
		out = jws_b64url_encode(buf, (size_t)n);
	BN_free(bn);
	return out;
}

json_t *
jws_jwk(EVP_PKEY *k)
{
	char *a = NULL, *b = NULL;
	const char *crv;
	size_t size;
	json_t *jwk = NULL;

	if (k != NULL && EVP_PKEY_is_a(k, "RSA")) {
		a = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_E, 0);
		b = bn_param_b64(k, OSSL_PKEY_PARAM_RSA_N, 0);
		if (a != NULL && b != NULL)
			jwk = json_pack("{s:s, s:s, s:s}", "e", a, "kty", "RSA", "n", b);
	} else if (k != NULL && EVP_PKEY_is_a(k, "EC") && ec_params(k, &crv, &size)) {
		a = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_X, size);
		b = bn_param_b64(k, OSSL_PKEY_PARAM_EC_PUB_Y, size);
		if (a != NULL && b != NULL)
			jwk = json_pack("{s:s, s:s, s:s, s:s}", "crv", crv, "kty", "EC",
			    "x", a, "y", b);
	}
	free(a);
	free(b);
	return jwk;
}

int
jws_thumbprint(EVP_PKEY *k, char **out, struct err *e)
{
	json_t *jwk = jws_jwk(k);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	char *text = NULL;
	int rc = LB_ERR;

	*out = NULL;
	if (jwk == NULL)
		return err_set(e, LB_ERR, "JWK of the account key: unsupported key");
	/* RFC 7638: required members only, lexicographic order, no
	 * whitespace; jansson's sorted compact form is exactly that. */
	text = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS);
	if (text == NULL || !EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL)) {
		err_set(e, LB_ERR, "JWK thumbprint failed");
		goto out;
	}
	if ((*out = jws_b64url_encode(md, mdlen)) == NULL) {
		err_set(e, LB_ERR, "JWK thumbprint: out of memory");
		goto out;
	}
	rc = 0;
out:
	free(text);
	json_decref(jwk);
	return rc;
}

/* RFC 7518 §3.4: DER ECDSA-Sig-Value → fixed-width R || S. */
static int
ecdsa_der_to_raw(const unsigned char *der, size_t derlen, size_t width,
    unsigned char *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	const BIGNUM *r, *s;
	int ok;

	if (sig == NULL)
		return -1;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, (int)width) == (int)width &&
	    BN_bn2binpad(s, raw + width, (int)width) == (int)width;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -1;
}

/* Signs input with the account key: RS256 as is, ES256/384 as R || S. */
static int
key_sign(EVP_PKEY *k, const char *alg, const char *input, unsigned char **sig,
    size_t *siglen, struct err *e)
{
	const EVP_MD *md = strcmp(alg, "ES384") == 0 ? EVP_sha384() : EVP_sha256();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	size_t derlen = 0, width = strcmp(alg, "ES384") == 0 ? 48 : 32;
	int rc = LB_ERR;

	*sig = NULL;
	if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, md, NULL, k) != 1 ||
	    EVP_DigestSign(ctx, NULL, &derlen, (const unsigned char *)input,
	    strlen(input)) != 1 || (der = malloc(derlen)) == NULL ||
	    EVP_DigestSign(ctx, der, &derlen, (const unsigned char *)input,
	    strlen(input)) != 1) {
		err_set(e, LB_ERR, "JWS %s signature failed: %s", alg, ossl_reason());
		goto out;
	}
	if (alg[0] == 'E') {
		if ((*sig = malloc(2 * width)) == NULL ||
		    ecdsa_der_to_raw(der, derlen, width, *sig) != 0) {
			free(*sig);
			*sig = NULL;
			err_set(e, LB_ERR, "JWS %s: bad ECDSA signature encoding", alg);
			goto out;
		}
		*siglen = 2 * width;
	} else {
		*sig = der;
		*siglen = derlen;
		der = NULL;
	}
	rc = 0;
out:
	free(der);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* The parts of a JWS before signing: b64url(protected), b64url(payload)
 * and the signing input "p.p". */
struct jws_parts {
	char *prot, *payload, *input;
};

static void
parts_free(struct jws_parts *p)
{
	free(p->prot);
	free(p->payload);
	free(p->input);
}

static int
parts_make(json_t *hdr, const char *payload, struct jws_parts *p, struct err *e)
{
	char *htext = json_dumps(hdr, JSON_COMPACT);

	memset(p, 0, sizeof(*p));
	if (htext == NULL)
		return err_set(e, LB_ERR, "JWS: out of memory");
	p->prot = jws_b64url_encode((unsigned char *)htext, strlen(htext));
	p->payload = jws_b64url_encode((const unsigned char *)payload, strlen(payload));
	free(htext);
	if (p->prot == NULL || p->payload == NULL ||
	    (p->input = xasprintf("%s.%s", p->prot, p->payload)) == NULL) {
		parts_free(p);
		return err_set(e, LB_ERR, "JWS: out of memory");
	}
	return 0;
}

static int
parts_finish(struct jws_parts *p, const unsigned char *sig, size_t siglen,
    json_t **out, struct err *e)
{
	char *s = jws_b64url_encode(sig, siglen);

	*out = s == NULL ? NULL : json_pack("{s:s, s:s, s:s}", "protected", p->prot,
	    "payload", p->payload, "signature", s);
	free(s);
	if (*out == NULL)
		return err_set(e, LB_ERR, "JWS: out of memory");
	return 0;
}

int
jws_sign_obj(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
    const char *payload, json_t **out, struct err *e)
{
	const char *alg = jws_alg(k);
	json_t *hdr = NULL, *jwk = NULL;
	struct jws_parts p = { 0 };
	unsigned char *sig = NULL;
	size_t siglen = 0;
	int rc = LB_ERR;

	*out = NULL;
	if (alg == NULL)
		return err_set(e, LB_ERR, "JWS: unsupported account key type");
	if ((hdr = json_pack("{s:s, s:s}", "alg", alg, "url", url)) == NULL)
		return err_set(e, LB_ERR, "JWS: out of memory");
	if (nonce != NULL && json_object_set_new(hdr, "nonce", json_string(nonce)) != 0)
		goto oom;
	if (kid != NULL) {
		if (json_object_set_new(hdr, "kid", json_string(kid)) != 0)
			goto oom;
	} else if ((jwk = jws_jwk(k)) == NULL || json_object_set(hdr, "jwk", jwk) != 0)
		goto oom;
	if ((rc = parts_make(hdr, payload ? payload : "", &p, e)) != 0)
		goto out;
	if ((rc = key_sign(k, alg, p.input, &sig, &siglen, e)) != 0)
		goto out;
	rc = parts_finish(&p, sig, siglen, out, e);
	goto out;
oom:
	rc = err_set(e, LB_ERR, "JWS: out of memory");
out:
	free(sig);
	parts_free(&p);
	json_decref(jwk);
	json_decref(hdr);
	return rc;
}

int
jws_sign(EVP_PKEY *k, const char *kid, const char *nonce, const char *url,
    const char *payload, char **out, struct err *e)
{
	json_t *obj;
	int rc;

	*out = NULL;
	if ((rc = jws_sign_obj(k, kid, nonce, url, payload, &obj, e)) != 0)
		return rc;
	*out = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (*out == NULL)
		return err_set(e, LB_ERR, "JWS: out of memory");
	return 0;
}

int
jws_eab(EVP_PKEY *acct, const char *eab_kid, const char *hmac_key,
    const char *url, json_t **out, struct err *e)
{
	json_t *hdr = NULL, *jwk = NULL;
	struct jws_parts p = { 0 };
	unsigned char *key = NULL, mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	size_t keylen = 0;
	char *payload = NULL;
	int rc = LB_ERR;

	*out = NULL;
	if (jws_b64url_decode(hmac_key, &key, &keylen, e) != 0)
		return err_prefix(e, "EAB key of kid %s", eab_kid);
	if (keylen == 0 || keylen > HMAC_KEY_MAX) {
		err_set(e, LB_ERR, "EAB key of kid %s: %zu bytes after decoding",
		    eab_kid, keylen);
		goto out;
	}
	if ((jwk = jws_jwk(acct)) == NULL ||
	    (payload = json_dumps(jwk, JSON_COMPACT | JSON_SORT_KEYS)) == NULL ||
	    (hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid,
	    "url", url)) == NULL) {
		err_set(e, LB_ERR, "EAB: out of memory or unsupported account key");
		goto out;
	}
	if ((rc = parts_make(hdr, payload, &p, e)) != 0)
		goto out;
	if (HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)p.input,
	    strlen(p.input), mac, &maclen) == NULL) {
		rc = err_set(e, LB_ERR, "EAB HMAC failed: %s", ossl_reason());
		goto out;
	}
	rc = parts_finish(&p, mac, maclen, out, e);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	if (key != NULL)
		OPENSSL_clear_free(key, keylen + 1);
	free(payload);
	parts_free(&p);
	json_decref(jwk);
	json_decref(hdr);
	return rc;
}

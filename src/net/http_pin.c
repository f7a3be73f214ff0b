/* Trust: with pin_sha256 the SHA-256 of the leaf certificate (DER) must
 * equal the pin, or one of the comma-separated pins (each unit of an HA
 * pair has its own self-signed certificate). The check runs inside the
 * handshake (an OpenSSL verify callback installed through
 * CURLOPT_SSL_CTX_FUNCTION), so a mismatching peer never receives a
 * request byte, credentials included. The pin replaces chain and host
 * name verification (self-signed appliances); it is honoured even when
 * insecure is also set. Without a pin: ca_file or the system store. */
#include "net/http_int.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int pin_ex_idx = -1;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void
pin_index_init(void)
{
	pin_ex_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

int
http_pin_init(void)
{
	if (pthread_once(&pin_once, pin_index_init) != 0 || pin_ex_idx < 0)
		return -1;
	return 0;
}

int
http_pin_parse(const char *pin, unsigned char out[32])
{
	size_t n = 0;
	const char *p = pin;

	if (pin == NULL)
		return -1;
	while (*p != '\0') {
		if (*p == ':') {
			p++;
			continue;
		}
		if (!isxdigit((unsigned char)p[0]) || !isxdigit((unsigned char)p[1]))
			return -1;
		if (n == 32)
			return -1;
		char hex[3] = { p[0], p[1], '\0' };
		out[n++] = (unsigned char)strtoul(hex, NULL, 16);
		p += 2;
	}
	return n == 32 ? 0 : -1;
}

/* Spaces around an entry are allowed. */
int
http_pins_parse(struct http_client *c, const char *list)
{
	char one[128];
	const char *p = list, *end;
	size_t len;

	c->npins = 0;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strcspn(p, ",");
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0 || len >= sizeof(one) || c->npins == HTTP_PIN_MAX)
			return -1;
		memcpy(one, p, len);
		one[len] = '\0';
		if (http_pin_parse(one, c->pins[c->npins]) != 0)
			return -1;
		c->npins++;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

static void
fingerprint_hex(const unsigned char *md, char *out)
{
	for (int i = 0; i < 32; i++)
		sprintf(out + 3 * i, i == 31 ? "%02X" : "%02X:", md[i]);
}

static bool
pin_listed(const struct http_client *c, const unsigned char *md)
{
	for (size_t i = 0; i < c->npins; i++)
		if (CRYPTO_memcmp(md, c->pins[i], 32) == 0)
			return true;
	return false;
}

/* Cut with "(+N more)" when they would not fit in len. */
void
http_pins_hex(const struct http_client *c, char *buf, size_t len)
{
	char hex[32 * 3], more[32];
	size_t off = 0, need;

	buf[0] = '\0';
	for (size_t i = 0; i < c->npins; i++) {
		fingerprint_hex(c->pins[i], hex);
		need = strlen(hex) + (i == 0 ? 0 : 2);
		snprintf(more, sizeof(more), " (+%zu more)", c->npins - i);
		if (off + need + (i + 1 < c->npins ? strlen(more) : 0) >= len) {
			snprintf(buf + off, len - off, "%s", more);
			return;
		}
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
		    i == 0 ? "" : ", ", hex);
	}
}

static int
pin_verify_cb(int ok, X509_STORE_CTX *sctx)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(sctx,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct http_client *c;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	X509 *leaf;

	(void)ok;
	if (ssl == NULL)
		return 0;
	c = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), pin_ex_idx);
	if (c == NULL)
		return 0;
	/* The pin stands in for the chain: problems above the leaf (unknown
	 * issuer, self-signed) do not matter, only the leaf's identity. */
	if (X509_STORE_CTX_get_error_depth(sctx) != 0) {
		X509_STORE_CTX_set_error(sctx, X509_V_OK);
		return 1;
	}
	leaf = X509_STORE_CTX_get0_cert(sctx);
	if (leaf == NULL || !X509_digest(leaf, EVP_sha256(), md, &mdlen) ||
	    mdlen != 32) {
		c->pin_mismatch = true;
		snprintf(c->pin_seen, sizeof(c->pin_seen), "(none)");
		return 0;
	}
	if (!pin_listed(c, md)) {
		c->pin_mismatch = true;
		fingerprint_hex(md, c->pin_seen);
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	X509_STORE_CTX_set_error(sctx, X509_V_OK);
	return 1;
}

static CURLcode
ssl_ctx_cb(CURL *curl, void *sslctx, void *parm)
{
	SSL_CTX *ctx = sslctx;

	(void)curl;
	if (!SSL_CTX_set_ex_data(ctx, pin_ex_idx, parm))
		return CURLE_SSL_CERTPROBLEM;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, pin_verify_cb);
	return CURLE_OK;
}

void
http_set_tls(struct http_client *c)
{
	CURL *h = c->curl;

	if (c->has_pin) {
		/* Chain and name checks give way to the pin, which the
		 * callback enforces during the handshake. */
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, ssl_ctx_cb);
		curl_easy_setopt(h, CURLOPT_SSL_CTX_DATA, c);
		/* The store is not consulted: skip loading the system bundle
		 * (tens of ms per connection). */
		curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
		curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
	} else if (c->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
		if (c->ca_file != NULL)
			curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	}
}

/* HTTP client over one libcurl easy handle per http_client.
 *
 * Scheme policy: https only. Plain http is accepted only when the host of
 * the URL is a loopback literal (127.0.0.0/8, ::1) or "localhost", so that
 * tests and local stand-ins can use it; an http:// URL to any other host is
 * refused before a connection is made. Redirects are never followed.
 *
 * Pinning: with pin_sha256 the SHA-256 of the leaf certificate (DER) must
 * equal the pin, or one of the comma-separated pins (each unit of an HA
 * pair has its own self-signed certificate). The check runs inside the
 * handshake (an OpenSSL verify callback installed through
 * CURLOPT_SSL_CTX_FUNCTION), so a mismatching
 * peer never receives a request byte, credentials included. The pin
 * replaces chain and host name verification (self-signed appliances); it
 * is honoured even when insecure is also set.
 *
 * Retry-After values above RETRY_AFTER_MAX_S are not waited for: the
 * response is returned so that the caller (an ACME or SCM poller) can
 * defer to a later run instead of blocking. */
#include "net/http.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/log.h"
#include "util/mem.h"

#define RETRY_AFTER_MAX_S 60
#define HDR_MAX 256
#define TRACE_BODY_MAX (64 * 1024)
#define REDACTED "[REDACTED]"

struct http_client {
	char *name;
	char *base_url;
	char *ca_file;
	bool insecure;
	bool has_pin;
	bool bad_pin;
	unsigned char pins[HTTP_PIN_MAX][32];
	size_t npins;
	long timeout_s;
	int attempts;
	long base_ms;
	long cap_ms;
	unsigned long nreq;
	CURL *curl;
	/* Per transfer, written by the callbacks. */
	bool pin_mismatch;
	char pin_seen[32 * 3];
	bool too_big;
};

/* Header names and JSON field names whose values never reach a trace. */
static const char *const redact_names[] = {
	"authorization", "proxy-authorization", "cookie", "set-cookie",
	"x-f5-auth-token", "x-nitro-pass", "password", "passphrase", "token",
	"sessionid", "hmac", "eab_hmac_key", "secret", "private_key",
	"nitro_auth_token", "client_secret",
};

static int pin_ex_idx = -1;
static pthread_once_t pin_once = PTHREAD_ONCE_INIT;

static void
pin_index_init(void)
{
	pin_ex_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* ---- small parsers, exported for tests ---- */

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

/* "PIN[,PIN...]" into c->pins; spaces around an entry are allowed, an
 * empty entry or more than HTTP_PIN_MAX entries is not. */
static int
pins_parse(struct http_client *c, const char *list)
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

long
http_parse_retry_after(const char *value, time_t now)
{
	const char *p;
	char *end;
	long v;
	time_t t;

	if (value == NULL)
		return -1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (*value == '\0')
		return -1;
	if (isdigit((unsigned char)*value)) {
		for (p = value; isdigit((unsigned char)*p); p++)
			;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
			return -1;
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno == ERANGE)
			return -1;
		return v;
	}
	/* IMF-fixdate and the obsolete forms all start with a day name;
	 * curl_getdate alone would also take odd strings like "-5". */
	if (!isalpha((unsigned char)*value))
		return -1;
	t = curl_getdate(value, NULL);
	if (t == -1)
		return -1;
	return t > now ? (long)(t - now) : 0;
}

long
http_backoff_ms(int attempt, long base_ms, long cap_ms, double rnd)
{
	long d = base_ms;

	if (base_ms <= 0 || cap_ms <= 0 || attempt < 1)
		return 0;
	for (int i = 1; i < attempt && d < cap_ms; i++)
		d = d > cap_ms / 2 ? cap_ms : d * 2;
	if (d > cap_ms)
		d = cap_ms;
	if (rnd < 0 || rnd >= 1)
		rnd = 0;
	return (long)(rnd * (double)d);
}

char *
http_escape(const char *s)
{
	char *t, *out;

	if (s == NULL)
		return NULL;
	/* curl_easy_escape takes a handle only for legacy reasons. */
	t = curl_easy_escape(NULL, s, (int)strlen(s));
	if (t == NULL)
		return NULL;
	out = strdup(t);
	curl_free(t);
	return out;
}

/* ---- trace redaction ---- */

static bool
name_redacted(const char *name, size_t len, const char *const *extra,
    size_t nextra)
{
	for (size_t i = 0; i < sizeof(redact_names) / sizeof(redact_names[0]); i++)
		if (strlen(redact_names[i]) == len &&
		    strncasecmp(redact_names[i], name, len) == 0)
			return true;
	for (size_t i = 0; i < nextra; i++)
		if (extra[i] != NULL && strlen(extra[i]) == len &&
		    strncasecmp(extra[i], name, len) == 0)
			return true;
	return false;
}

struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void
sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *t = realloc(b->s, cap);
		if (t == NULL) {
			b->oom = true;
			return;
		}
		b->s = t;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

static bool
is_ident(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* key=value, key: value, "key":"value" and key='value' in free text. */
static void
redact_scan(struct sbuf *b, const char *s, size_t n, const char *const *extra,
    size_t nextra)
{
	size_t i = 0;

	while (i < n) {
		if (!is_ident((unsigned char)s[i]) ||
		    (i > 0 && is_ident((unsigned char)s[i - 1]))) {
			sb_add(b, s + i, 1);
			i++;
			continue;
		}
		size_t k = i;
		while (k < n && is_ident((unsigned char)s[k]))
			k++;
		if (!name_redacted(s + i, k - i, extra, nextra)) {
			sb_add(b, s + i, k - i);
			i = k;
			continue;
		}
		size_t j = k;
		if (j < n && (s[j] == '"' || s[j] == '\''))
			j++;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		if (j >= n || (s[j] != '=' && s[j] != ':')) {
			sb_add(b, s + i, k - i);
			i = k;
			continue;
		}
		j++;
		while (j < n && (s[j] == ' ' || s[j] == '\t'))
			j++;
		sb_add(b, s + i, j - i);
		if (j < n && (s[j] == '"' || s[j] == '\'')) {
			char q = s[j];
			size_t v = j + 1;
			while (v < n && s[v] != q) {
				if (s[v] == '\\' && v + 1 < n)
					v++;
				v++;
			}
			sb_add(b, s + j, 1);
			sb_str(b, REDACTED);
			i = v; /* the closing quote is copied next */
		} else {
			size_t v = j;
			while (v < n && strchr(" \t\r\n&,;}\"')]", s[v]) == NULL)
				v++;
			if (v > j)
				sb_str(b, REDACTED);
			i = v;
		}
	}
}

/* "Name: value" lines, optionally behind the "> " / "< " trace markers. */
static bool
redact_header_line(struct sbuf *b, const char *s, size_t n,
    const char *const *extra, size_t nextra)
{
	size_t i = 0, k;

	if (n >= 2 && (s[0] == '>' || s[0] == '<') && s[1] == ' ')
		i = 2;
	for (k = i; k < n && (is_ident((unsigned char)s[k])); k++)
		;
	if (k == i || k >= n || s[k] != ':')
		return false;
	if (!name_redacted(s + i, k - i, extra, nextra))
		return false;
	sb_add(b, s, k + 1);
	sb_str(b, " " REDACTED);
	return true;
}

/* A string value may itself quote secrets (an error message echoing the
 * request, an embedded JSON document): returns a redacted copy, or NULL
 * when nothing changed. */
static json_t *
redact_string(json_t *v, const char *const *extra, size_t nextra)
{
	struct sbuf b = { 0 };
	json_t *out = NULL;

	redact_scan(&b, json_string_value(v), json_string_length(v), extra,
	    nextra);
	if (b.s != NULL && (b.len != json_string_length(v) ||
	    memcmp(b.s, json_string_value(v), b.len) != 0))
		out = json_stringn(b.s, b.len);
	free(b.s);
	return out;
}

static void
redact_json_value(json_t *v, const char *const *extra, size_t nextra)
{
	json_t *n;

	if (json_is_object(v)) {
		void *it;
		for (it = json_object_iter(v); it != NULL;
		    it = json_object_iter_next(v, it)) {
			const char *key = json_object_iter_key(it);
			json_t *val = json_object_iter_value(it);
			if (name_redacted(key, strlen(key), extra, nextra) &&
			    !json_is_object(val) && !json_is_array(val) &&
			    !json_is_null(val))
				json_object_iter_set_new(v, it,
				    json_string(REDACTED));
			else if (json_is_string(val)) {
				if ((n = redact_string(val, extra, nextra)))
					json_object_iter_set_new(v, it, n);
			} else
				redact_json_value(val, extra, nextra);
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *val = json_array_get(v, i);
			if (json_is_string(val)) {
				if ((n = redact_string(val, extra, nextra)))
					json_array_set_new(v, i, n);
			} else
				redact_json_value(val, extra, nextra);
		}
	}
}

/* Returns a malloc'd redacted dump when s[0..n) is a JSON object/array. */
static char *
redact_json(const char *s, size_t n, const char *const *extra, size_t nextra)
{
	json_error_t jerr;
	json_t *j;
	char *out;
	size_t i = 0;

	while (i < n && isspace((unsigned char)s[i]))
		i++;
	if (i == n || (s[i] != '{' && s[i] != '['))
		return NULL;
	j = json_loadb(s, n, 0, &jerr);
	if (j == NULL)
		return NULL;
	redact_json_value(j, extra, nextra);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

static void
redact_lines(struct sbuf *b, const char *s, size_t n, const char *const *extra,
    size_t nextra)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(s + i, '\n', n - i);
		size_t e = nl ? (size_t)(nl - s) : n;
		size_t le = e;
		if (le > i && s[le - 1] == '\r')
			le--;
		if (!redact_header_line(b, s + i, le - i, extra, nextra))
			redact_scan(b, s + i, le - i, extra, nextra);
		sb_add(b, s + le, e - le);
		if (nl != NULL)
			sb_add(b, "\n", 1);
		i = e + 1;
	}
}

char *
http_redact_trace(const char *text, const char *const *extra, size_t nextra)
{
	struct sbuf b = { 0 };
	const char *sep;
	size_t n, head;
	char *js;

	if (text == NULL)
		return NULL;
	n = strlen(text);
	if ((js = redact_json(text, n, extra, nextra)) != NULL)
		return js;
	sep = strstr(text, "\n\n");
	head = sep ? (size_t)(sep - text) + 2 : n;
	if (sep == NULL && (sep = strstr(text, "\r\n\r\n")) != NULL)
		head = (size_t)(sep - text) + 4;
	redact_lines(&b, text, head, extra, nextra);
	if (head < n) {
		if ((js = redact_json(text + head, n - head, extra, nextra)) != NULL) {
			sb_str(&b, js);
			free(js);
		} else
			redact_lines(&b, text + head, n - head, extra, nextra);
	}
	if (b.s == NULL && !b.oom)
		return strdup("");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* ---- client ---- */

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

/* The expected pins for a mismatch message, cut with "(+N more)" when
 * they would not fit in len. */
static void
pins_hex(const struct http_client *c, char *buf, size_t len)
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

struct http_client *
http_client_new(const char *name, const char *base_url,
    const struct http_tls *tls, long timeout_s)
{
	struct http_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->name = strdup(name ? name : "http");
	c->base_url = strdup(base_url ? base_url : "");
	c->curl = curl_easy_init();
	if (c->name == NULL || c->base_url == NULL || c->curl == NULL)
		goto fail;
	c->timeout_s = timeout_s > 0 ? timeout_s : 30;
	c->attempts = 3;
	c->base_ms = 500;
	c->cap_ms = 8000;
	if (tls != NULL) {
		if (tls->ca_file != NULL &&
		    (c->ca_file = strdup(tls->ca_file)) == NULL)
			goto fail;
		if (tls->pin_sha256 != NULL && tls->pin_sha256[0] != '\0') {
			c->has_pin = true;
			c->bad_pin = pins_parse(c, tls->pin_sha256) != 0;
		}
		c->insecure = tls->insecure;
	}
	/* run --jobs opens clients from several threads */
	if (c->has_pin && (pthread_once(&pin_once, pin_index_init) != 0 || pin_ex_idx < 0))
		goto fail;
	if (c->insecure && !c->has_pin)
		log_warn("TLS verification disabled for %s", c->name);
	return c;
fail:
	http_client_free(c);
	return NULL;
}

void
http_client_free(struct http_client *c)
{
	if (c == NULL)
		return;
	if (c->curl != NULL)
		curl_easy_cleanup(c->curl);
	free(c->name);
	free(c->base_url);
	free(c->ca_file);
	OPENSSL_cleanse(c->pins, sizeof(c->pins));
	free(c);
}

void
http_client_set_retry(struct http_client *c, int attempts, long base_ms,
    long cap_ms)
{
	c->attempts = attempts < 1 ? 1 : attempts;
	c->base_ms = base_ms < 0 ? 0 : base_ms;
	c->cap_ms = cap_ms < 0 ? 0 : cap_ms;
}

unsigned long
http_client_requests(const struct http_client *c)
{
	return c->nreq;
}

void
http_resp_free(struct http_resp *r)
{
	if (r == NULL)
		return;
	free(r->body);
	strv_free(r->hdr_names, r->nhdr);
	strv_free(r->hdr_values, r->nhdr);
	memset(r, 0, sizeof(*r));
}

const char *
http_resp_header(const struct http_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdr_names[i], name) == 0)
			return r->hdr_values[i];
	return NULL;
}

size_t
http_resp_headers(const struct http_resp *r, const char *name,
    const char **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nhdr; i++)
		if (strcasecmp(r->hdr_names[i], name) == 0) {
			if (n < max)
				out[n] = r->hdr_values[i];
			n++;
		}
	return n;
}

struct xfer {
	struct http_client *c;
	struct http_resp *r;
	size_t cap;
	bool oom;
};

static size_t
write_cb(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct xfer *x = ud;
	struct http_resp *r = x->r;
	size_t n = size * nmemb;

	if (r->body_len + n > HTTP_BODY_MAX) {
		x->c->too_big = true;
		return 0;
	}
	if (r->body_len + n + 1 > x->cap) {
		size_t cap = x->cap ? x->cap : 4096;
		while (cap < r->body_len + n + 1)
			cap *= 2;
		char *t = realloc(r->body, cap);
		if (t == NULL) {
			x->oom = true;
			return 0;
		}
		r->body = t;
		x->cap = cap;
	}
	memcpy(r->body + r->body_len, ptr, n);
	r->body_len += n;
	r->body[r->body_len] = '\0';
	return n;
}

static void
drop_headers(struct http_resp *r)
{
	strv_free(r->hdr_names, r->nhdr);
	strv_free(r->hdr_values, r->nhdr);
	r->hdr_names = r->hdr_values = NULL;
	r->nhdr = 0;
}

static size_t
header_cb(char *buf, size_t size, size_t nitems, void *ud)
{
	struct xfer *x = ud;
	struct http_resp *r = x->r;
	size_t n = size * nitems, k, v, e;
	char *name, *value, **nn, **vv;

	/* A new status line (after 1xx) starts a new header block. */
	if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
		drop_headers(r);
		return n;
	}
	for (k = 0; k < n && buf[k] != ':'; k++)
		;
	if (k == 0 || k == n || r->nhdr >= HDR_MAX)
		return n;
	for (v = k + 1; v < n && (buf[v] == ' ' || buf[v] == '\t'); v++)
		;
	for (e = n; e > v && isspace((unsigned char)buf[e - 1]); e--)
		;
	name = strndup(buf, k);
	value = strndup(buf + v, e - v);
	nn = reallocarray(r->hdr_names, r->nhdr + 1, sizeof(*nn));
	if (nn != NULL)
		r->hdr_names = nn;
	vv = reallocarray(r->hdr_values, r->nhdr + 1, sizeof(*vv));
	if (vv != NULL)
		r->hdr_values = vv;
	if (name == NULL || value == NULL || nn == NULL || vv == NULL) {
		free(name);
		free(value);
		x->oom = true;
		return 0;
	}
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	r->hdr_names[r->nhdr] = name;
	r->hdr_values[r->nhdr] = value;
	r->nhdr++;
	return n;
}

static char *
join_url(const char *base, const char *path)
{
	size_t bl = strlen(base);

	if (strncasecmp(path, "https://", 8) == 0 ||
	    strncasecmp(path, "http://", 7) == 0)
		return strdup(path);
	if (bl > 0 && base[bl - 1] == '/' && path[0] == '/')
		return xasprintf("%.*s%s", (int)(bl - 1), base, path);
	if ((bl == 0 || base[bl - 1] != '/') && path[0] != '/' &&
	    path[0] != '?' && path[0] != '\0')
		return xasprintf("%s/%s", base, path);
	return xasprintf("%s%s", base, path);
}

/* Only a literal: a name such as "127.attacker.example" resolves
 * wherever its owner likes. */
static bool
loopback_host(const char *h)
{
	struct in_addr a4;

	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return strcmp(h, "[::1]") == 0 || strcmp(h, "::1") == 0 ||
	    strcasecmp(h, "localhost") == 0;
}

/* Returns the curl protocol list for url, or NULL when it is refused. */
static const char *
url_protocols(const char *url, struct err *e, const char *name)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL;
	const char *proto = NULL;

	if (u == NULL) {
		err_set(e, LB_ERR, "%s: out of memory", name);
		return NULL;
	}
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		err_set(e, LB_ECONFIG, "%s: malformed URL \"%s\"", name, url);
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		proto = "https";
	else if (strcasecmp(scheme, "http") == 0 && loopback_host(host))
		proto = "http";
	else
		err_set(e, LB_ECONFIG, "%s: refusing %s: only https is allowed "
		    "(plain http only to loopback)", name, url);
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return proto;
}

void
http_sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static double
jitter(void)
{
	uint64_t v;

	if (RAND_bytes((unsigned char *)&v, sizeof(v)) != 1)
		v = ((uint64_t)random() << 31) ^ (uint64_t)random();
	return (double)(v >> 11) / (double)(1ULL << 53);
}

static const char *const *
req_extra(const struct http_req *req, size_t *n)
{
	*n = req->nredact;
	return req->redact;
}

static void
chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

/* Logs the trace text b of one request or response, redacted, then wipes
 * it: the unredacted copy holds whatever the exchange carries (a login
 * body's password, an auth header, a session id or token). */
static void
trace_emit(struct http_client *c, const char *what, struct sbuf *b,
    const char *const *extra, size_t nextra)
{
	char *red, *full = NULL;

	if (b->s == NULL)
		return;
	/* Every registered secret goes before the cut: cut first, and a
	 * secret straddling the cut would show its first half. */
	red = http_redact_trace(b->s, extra, nextra);
	if (red != NULL)
		full = log_redact(red);
	if (full != NULL) {
		chomp(full);
		log_trace("http %s: %s\n%.*s", c->name, what, TRACE_BODY_MAX, full);
	}
	free(red);
	free(full);
	OPENSSL_cleanse(b->s, b->len);
	free(b->s);
}

static void
trace_request(struct http_client *c, const struct http_req *req,
    const char *url)
{
	struct sbuf b = { 0 };
	size_t nextra;
	const char *const *extra = req_extra(req, &nextra);

	if (!log_enabled(LL_TRACE))
		return;
	sb_str(&b, "> ");
	sb_str(&b, req->method);
	sb_str(&b, " ");
	sb_str(&b, url);
	sb_str(&b, "\n");
	for (size_t i = 0; i < req->nheaders; i++) {
		sb_str(&b, "> ");
		sb_str(&b, req->headers[i].name);
		sb_str(&b, ": ");
		sb_str(&b, req->headers[i].value);
		sb_str(&b, "\n");
	}
	if (req->body != NULL) {
		sb_str(&b, "\n");
		sb_add(&b, req->body, strnlen(req->body, req->body_len));
	}
	trace_emit(c, "request", &b, extra, nextra);
}

static void
trace_response(struct http_client *c, const struct http_req *req,
    const struct http_resp *r)
{
	struct sbuf b = { 0 };
	size_t nextra;
	const char *const *extra = req_extra(req, &nextra);
	char st[32];

	if (!log_enabled(LL_TRACE))
		return;
	snprintf(st, sizeof(st), "< %ld\n", r->status);
	sb_str(&b, st);
	for (size_t i = 0; i < r->nhdr; i++) {
		sb_str(&b, "< ");
		sb_str(&b, r->hdr_names[i]);
		sb_str(&b, ": ");
		sb_str(&b, r->hdr_values[i]);
		sb_str(&b, "\n");
	}
	if (r->body_len > 0) {
		sb_str(&b, "\n");
		sb_add(&b, r->body, strnlen(r->body, r->body_len));
	}
	trace_emit(c, "response", &b, extra, nextra);
}

/* The list may carry credentials (X-Nitro-Pass, Authorization). */
static void
free_headers(struct curl_slist *l)
{
	for (struct curl_slist *p = l; p != NULL; p = p->next)
		OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(l);
}

static struct curl_slist *
build_headers(const struct http_req *req)
{
	struct curl_slist *l = NULL, *t;
	char *line;

	/* Expect: 100-continue only adds a round trip. */
	if ((t = curl_slist_append(l, "Expect:")) == NULL)
		return NULL;
	l = t;
	if (req->body == NULL) {
		/* A body-less POST/PUT would get curl's form content type. */
		if ((t = curl_slist_append(l, "Content-Type:")) == NULL)
			goto fail;
		l = t;
	} else {
		line = xasprintf("Content-Type: %s", req->content_type ?
		    req->content_type : "application/json");
		t = line ? curl_slist_append(l, line) : NULL;
		free(line);
		if (t == NULL)
			goto fail;
		l = t;
	}
	for (size_t i = 0; i < req->nheaders; i++) {
		const char *v = req->headers[i].value;
		/* "Name;" is curl's way to send a header with an empty value. */
		line = (v == NULL || *v == '\0') ?
		    xasprintf("%s;", req->headers[i].name) :
		    xasprintf("%s: %s", req->headers[i].name, v);
		t = line ? curl_slist_append(l, line) : NULL;
		if (line != NULL) {
			OPENSSL_cleanse(line, strlen(line));
			free(line);
		}
		if (t == NULL)
			goto fail;
		l = t;
	}
	return l;
fail:
	free_headers(l);
	return NULL;
}

static void
set_tls(struct http_client *c)
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

static void
set_method(CURL *h, const struct http_req *req)
{
	const char *m = req->method;

	if (strcmp(m, "GET") == 0 && req->body == NULL)
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	else if (strcmp(m, "HEAD") == 0)
		curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
	else {
		if (req->body != NULL || strcmp(m, "POST") == 0 ||
		    strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)(req->body ? req->body_len : 0));
			curl_easy_setopt(h, CURLOPT_POSTFIELDS,
			    req->body ? req->body : "");
		}
		if (strcmp(m, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, m);
	}
}

static bool
unreach_code(CURLcode cc)
{
	switch (cc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return true;
	default:
		return false;
	}
}

/* Errors that another attempt cannot fix. */
static bool
final_code(CURLcode cc)
{
	return cc == CURLE_PEER_FAILED_VERIFICATION ||
	    cc == CURLE_UNSUPPORTED_PROTOCOL;
}

/* One attempt. Returns 0 with a response, or an LB_E* code; *retry says
 * whether another attempt may help. */
static int
perform(struct http_client *c, const struct http_req *req, const char *url,
    const char *shown, const char *proto, struct curl_slist *hdrs,
    struct http_resp *resp, struct err *e, bool *retry)
{
	char ebuf[CURL_ERROR_SIZE] = "";
	struct xfer x = { .c = c, .r = resp };
	CURL *h = c->curl;
	CURLcode cc;
	long ms;
	char pin_hex[640];
	struct timespec t0, t1;

	*retry = false;
	http_resp_free(resp);
	c->pin_mismatch = false;
	c->too_big = false;
	/* reset keeps the connection cache and TLS sessions: keep-alive. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, proto);
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	/* Appliance management planes are tested with HTTP/1.1. */
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->timeout_s < 10 ?
	    c->timeout_s : 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "lbcert/" LBCERT_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
	set_tls(c);
	set_method(h, req);
	/* libcurl silently sends a request again when a reused connection
	 * dies without an answer; a fresh one is never retried that way. */
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, req->send_once ? 1L : 0L);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cc = curl_easy_perform(h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->nreq++;
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	/* The handle keeps pointers to ebuf and x: unhook them. */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, NULL);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);

	if (cc == CURLE_OK) {
		if (resp->body == NULL && (resp->body = strdup("")) == NULL)
			return err_set(e, LB_ERR, "%s: out of memory", c->name);
		log_debug("http %s: %s %s -> %ld (%ld ms)", c->name,
		    req->method, shown, resp->status, ms);
		trace_response(c, req, resp);
		return 0;
	}
	log_debug("http %s: %s %s -> %s (%ld ms)", c->name, req->method, shown,
	    curl_easy_strerror(cc), ms);
	if (c->pin_mismatch) {
		pins_hex(c, pin_hex, sizeof(pin_hex));
		return err_set(e, LB_EUNREACH, "%s: %s: certificate fingerprint "
		    "mismatch: server presented SHA-256 %s, expected %s%s",
		    c->name, shown, c->pin_seen, c->npins > 1 ? "one of " : "",
		    pin_hex);
	}
	if (c->too_big || cc == CURLE_FILESIZE_EXCEEDED)
		return err_set(e, LB_ERR, "%s: %s %s: response body larger than "
		    "%u bytes, transfer aborted", c->name, req->method, shown,
		    HTTP_BODY_MAX);
	if (x.oom)
		return err_set(e, LB_ERR, "%s: out of memory", c->name);
	if (cc == CURLE_SSL_CACERT_BADFILE)
		return err_set(e, LB_ECONFIG, "%s: cannot use ca_file %s: %s",
		    c->name, c->ca_file ? c->ca_file : "(system store)",
		    ebuf[0] ? ebuf : curl_easy_strerror(cc));
	*retry = !final_code(cc);
	return err_set(e, unreach_code(cc) && resp->status == 0 ? LB_EUNREACH :
	    LB_ERR, "%s: %s %s: %s", c->name, req->method, shown,
	    ebuf[0] ? ebuf : curl_easy_strerror(cc));
}

int
http_do(struct http_client *c, const struct http_req *req,
    struct http_resp *resp, struct err *e)
{
	struct curl_slist *hdrs = NULL;
	char *url = NULL, *shown = NULL;
	const char *proto;
	int rc, attempt;
	bool retry;
	long wait;

	memset(resp, 0, sizeof(*resp));
	if (c->has_pin && c->bad_pin)
		return err_set(e, LB_ECONFIG, "%s: pin_sha256 is not a SHA-256 "
		    "fingerprint (64 hex digits, optionally colon-separated) "
		    "or a comma-separated list of at most %d of them",
		    c->name, HTTP_PIN_MAX);
	if ((url = join_url(c->base_url, req->path ? req->path : "")) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", c->name);
		goto out;
	}
	if ((proto = url_protocols(url, e, c->name)) == NULL) {
		rc = e ? e->code : LB_ECONFIG;
		goto out;
	}
	/* Messages and the debug line show the URL as the trace does. */
	if ((shown = http_redact_trace(url, req->redact, req->nredact)) == NULL ||
	    (hdrs = build_headers(req)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", c->name);
		goto out;
	}
	trace_request(c, req, url);
	for (attempt = 1;; attempt++) {
		rc = perform(c, req, url, shown, proto, hdrs, resp, e, &retry);
		if (!req->idempotent || attempt >= c->attempts)
			break;
		wait = -1;
		if (rc == 0) {
			if (resp->status < 500 && resp->status != 429)
				break;
			wait = http_parse_retry_after(
			    http_resp_header(resp, "retry-after"), time(NULL));
			if (wait > RETRY_AFTER_MAX_S)
				break;
			if (wait >= 0)
				wait *= 1000;
		} else if (!retry)
			break;
		if (wait < 0)
			wait = http_backoff_ms(attempt, c->base_ms, c->cap_ms,
			    jitter());
		log_debug("http %s: %s %s: %s, attempt %d of %d, retrying in "
		    "%ld ms", c->name, req->method, shown, rc == 0 ?
		    "server busy" : (e ? e->msg : "failed"), attempt,
		    c->attempts, wait);
		http_sleep_ms(wait);
	}
	if (rc == 0)
		err_clear(e);
	else
		http_resp_free(resp);
out:
	free_headers(hdrs);
	free(url);
	free(shown);
	return rc;
}

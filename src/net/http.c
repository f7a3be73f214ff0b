/* HTTP client over one libcurl easy handle per http_client: the client,
 * its responses and the request loop. Trust and pinning are in
 * http_pin.c, when to send again in http_retry.c, the trace log in
 * http_trace.c and http_redact.c.
 *
 * Scheme policy: https only. Plain http is accepted only when the host of
 * the URL is a loopback literal (127.0.0.0/8, ::1) or "localhost", so that
 * tests and local stand-ins can use it; an http:// URL to any other host is
 * refused before a connection is made. Redirects are never followed.
 *
 * Reachability: a transfer that fails for want of a connection or an
 * answer is LB_EUNREACH only while the peer has answered nothing through
 * this client; once it has, the peer was reachable in this run and the
 * failure is LB_EUNKNOWN (the request may have been acted on). */
#include "net/http_int.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "util/log.h"
#include "util/mem.h"

#define HDR_MAX 256

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
			c->bad_pin = http_pins_parse(c, tls->pin_sha256) != 0;
		}
		c->insecure = tls->insecure;
	}
	/* run --jobs opens clients from several threads */
	if (c->has_pin && http_pin_init() != 0)
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
	http_tally_add(c->name, c->nreq);
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

unsigned long
http_client_answered(const struct http_client *c)
{
	return c->nanswered;
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

/* No connection or no answer: the peer is unreachable only when it has
 * answered nothing yet. After that, even a failure before the request
 * went out (a refused reconnect) is reported as an unknown outcome: a
 * request on a reused connection may have been taken, and callers keep
 * whatever they would keep for an unknown outcome. */
static int
fail_code(const struct http_client *c, CURLcode cc, long status)
{
	if (!unreach_code(cc) || status != 0)
		return LB_ERR;
	return c->nanswered == 0 ? LB_EUNREACH : LB_EUNKNOWN;
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
	http_set_tls(c);
	set_method(h, req);
	/* libcurl silently sends a request again when a reused connection
	 * dies without an answer; a fresh one is never retried that way. */
	curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, req->send_once ? 1L : 0L);
	/* A client sends one request at a time to one server, so an idle
	 * connection besides the last one is never used again; libcurl's
	 * default keeps five, each with its TLS buffers (a send_once
	 * request, an SCM enrollment for one, always adds one). */
	curl_easy_setopt(h, CURLOPT_MAXCONNECTS, 1L);
	/* Bodies are posted from memory in one piece and are a few KiB; the
	 * default 64 KiB send buffer is held per handle, once per --jobs
	 * worker and CA. 16 KiB is libcurl's smallest. */
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 16384L);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	cc = curl_easy_perform(h);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	c->nreq++;
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->status > 0)
		c->nanswered++;
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
		http_trace_response(c, req, resp);
		return 0;
	}
	log_debug("http %s: %s %s -> %s (%ld ms)", c->name, req->method, shown,
	    curl_easy_strerror(cc), ms);
	if (c->pin_mismatch) {
		http_pins_hex(c, pin_hex, sizeof(pin_hex));
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
	return err_set(e, fail_code(c, cc, resp->status), "%s: %s %s: %s", c->name,
	    req->method, shown, ebuf[0] ? ebuf : curl_easy_strerror(cc));
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
	http_trace_request(c, req, url);
	for (attempt = 1;; attempt++) {
		rc = perform(c, req, url, shown, proto, hdrs, resp, e, &retry);
		if ((wait = http_retry_wait(c, req, rc, resp, retry, attempt)) < 0)
			break;
		log_debug("http %s: %s %s: %s, attempt %d of %d, retrying in "
		    "%ld ms", c->name, req->method, shown, rc != 0 ?
		    (e ? e->msg : "failed") : resp->status == 429 ?
		    "too many requests" : "server error", attempt, c->attempts, wait);
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

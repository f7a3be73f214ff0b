/* HTTP over libcurl: one keep-alive handle per host, verification always
 * on (ca_file, or a SHA-256 pin of the peer certificate checked before any
 * byte of the request is sent), connect and total timeouts, a response
 * size cap, retries with backoff and jitter for requests that are safe to
 * repeat, and a trace log that redacts secrets. */
#ifndef LB_HTTP_H
#define LB_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/err.h"

#define HTTP_BODY_MAX (8u * 1024 * 1024)
/* Most pins one pin_sha256 may list. */
#define HTTP_PIN_MAX 16

struct http_tls {
	const char *ca_file;    /* NULL: system store */
	/* "AB:CD:.." or "abcd..": certificate SHA-256; several separated by
	 * "," (at most HTTP_PIN_MAX): the peer must match one of them. */
	const char *pin_sha256;
	bool insecure;          /* logs a warning on every http_client_new */
};

struct http_client;

/* base_url: "https://host[:port][/prefix]"; paths of requests are appended
 * to it unless they are absolute URLs. name is used in messages ("adc1").
 * The caller frees with http_client_free(). NULL on allocation failure. */
struct http_client *http_client_new(const char *name, const char *base_url,
    const struct http_tls *tls, long timeout_s);
void http_client_free(struct http_client *c);
/* Retry policy (defaults: 3 attempts, 500 ms base, 8 s cap). Tests and the
 * simulators' failure modes use small values. */
void http_client_set_retry(struct http_client *c, int attempts, long base_ms, long cap_ms);
/* Counts requests sent (each attempt counts), for benchmarks and tests. */
unsigned long http_client_requests(const struct http_client *c);
/* Counts attempts that got an answer (a status line, any status). */
unsigned long http_client_answered(const struct http_client *c);
/* Requests sent so far to peers called name (http_client_new's name) by
 * clients already freed, over the whole process; for the run's metrics.
 * http_tally_free() forgets them all (at exit, for leak checkers). */
unsigned long http_tally(const char *name);
void http_tally_free(void);

struct http_header {
	const char *name;
	const char *value;
};

struct http_req {
	const char *method;   /* "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD" */
	const char *path;     /* relative to base_url, or an absolute URL */
	const struct http_header *headers;
	size_t nheaders;
	const char *body;     /* may be NULL */
	size_t body_len;
	const char *content_type; /* default "application/json" when body != NULL */
	/* Retry on connection errors and 5xx. A 429 is retried for every
	 * request but a single_use one: the server did not act on it. */
	bool idempotent;
	/* Sent at most once, also below us: on a fresh connection, as libcurl
	 * re-sends a request whose reused connection died unanswered. For a
	 * request that buys something (SCM enroll, ACME newOrder). */
	bool send_once;
	/* The body is good for one delivery (a signed ACME request carries a
	 * one-time nonce): never sent again by this layer, not even after a
	 * 429; its caller signs a new one. */
	bool single_use;
	/* Extra header names and JSON field names to redact in the trace, on
	 * top of the built-in list (authorization, cookie, set-cookie,
	 * x-f5-auth-token, password, passphrase, token, ...). */
	const char *const *redact;
	size_t nredact;
};

struct http_resp {
	long status;
	char *body;          /* NUL-terminated, body_len bytes */
	size_t body_len;
	char **hdr_names;    /* lower-cased */
	char **hdr_values;
	size_t nhdr;
};

/* Sends req; 0 when a response arrived (any status). When no answer came
 * (DNS, connect, TLS, pin mismatch, reset, timeout) after the retries:
 * LB_EUNREACH while this client has had no answer at all from the peer,
 * LB_EUNKNOWN once it has (the peer is reachable; the request may have
 * been acted on). LB_ECONFIG for a refused URL, pin or ca_file, LB_ERR
 * otherwise (an answer that could not be read, such as one above
 * HTTP_BODY_MAX). resp is filled on 0 and must be released with
 * http_resp_free() (also safe after an error). */
int http_do(struct http_client *c, const struct http_req *req,
    struct http_resp *resp, struct err *e);
void http_resp_free(struct http_resp *r);
/* First header of that name (case-insensitive), or NULL. */
const char *http_resp_header(const struct http_resp *r, const char *name);
/* All headers of that name, for Link: several may come. Returns the count
 * and at most max values in out (pointers into r). */
size_t http_resp_headers(const struct http_resp *r, const char *name,
    const char **out, size_t max);

/* Exposed for unit tests and for pollers (ACME, SCM) that wait. */
/* Retry-After: delta-seconds or HTTP-date; returns seconds to wait from
 * now (>= 0), or -1 when absent/unparsable. */
long http_parse_retry_after(const char *value, time_t now);
/* Backoff for attempt n (1-based): min(cap, base * 2^(n-1)) with full
 * jitter drawn from rnd in [0,1). */
long http_backoff_ms(int attempt, long base_ms, long cap_ms, double rnd);
/* Sleeps ms milliseconds (nothing when ms <= 0), resuming after a signal. */
void http_sleep_ms(long ms);
/* Redacts header values and JSON string fields by name in a trace text;
 * returns a malloc'd string. */
char *http_redact_trace(const char *text, const char *const *extra, size_t nextra);
/* Percent-encodes s (RFC 3986 unreserved kept). Caller frees. */
char *http_escape(const char *s);
/* Parses one pin ("AB:CD:.." or plain hex, any case, 32 bytes) into out;
 * 0, or -1 when malformed (a comma-separated list is split first). For
 * config validation. */
int http_pin_parse(const char *pin, unsigned char out[32]);

#endif

/* Pure helpers of the ACME client (src/ca/acme_*.c), exported only for
 * tests/unit/test_acme.c and tests/fuzz. Not an interface for other modules. */
#ifndef LB_ACME_INTERNAL_H
#define LB_ACME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

/* Whether url has the scheme, host and port of base (the port a URL
 * leaves out is its scheme's default). False when either does not parse. */
bool acme_same_origin(const char *base, const char *url);

/* Collects the targets of the links in one Link header value (RFC 8288:
 * `<url>; rel="a b", <url2>; rel=c`) whose rel list contains rel.
 * Relative targets are resolved against base (the request URL). Stores
 * at most max malloc'd URLs in out (caller frees each) and returns how
 * many it stored. */
size_t acme_link_parse(const char *value, const char *rel, const char *base,
    char **out, size_t max);

/* Resolves ref against base: absolute URLs are kept, "/path" takes the
 * scheme and authority of base. Caller frees; NULL on failure. */
char *acme_url_resolve(const char *base, const char *ref);

/* One line for the user from an RFC 7807 problem document: type,
 * detail, HTTP status and every subproblem (identifier and detail).
 * Bodies that are not problems show their first bytes. Caller frees. */
char *acme_problem_format(const char *body, size_t len, long status);

/* The problem type of a body copied into buf (truncated to buflen), or
 * NULL when the body is not a problem document. Returns buf. */
const char *acme_problem_type(const char *body, size_t len, char *buf, size_t buflen);

/* LB_E* code for a problem: credentials refused → LB_EAUTH, rate
 * limits and server errors → LB_ERR, and so on. */
int acme_problem_code(const char *type, long status);

/* How long to wait before poll number attempt (1-based): Retry-After
 * (delta-seconds or HTTP-date, at most 1 h; 0 gives the short first
 * wait) when the server sent one, else 50 ms doubling up to cap_ms. */
long acme_poll_wait_ms(const char *retry_after, time_t now, int attempt, long cap_ms);

/* The order URLs of an account's orders list ({"orders": [url...]}),
 * at most max, malloc'd (caller frees each); returns how many. */
size_t acme_orders_parse(const char *body, size_t len, char **out, size_t max);

/* True when the order object is pending or ready (not finalized, so no
 * CSR is bound to it yet) and names exactly the DNS identifiers names
 * (case-insensitive, duplicates in names counted once). */
bool acme_order_matches(const char *body, size_t len, char *const *names, size_t nnames);

/* dns-01 (RFC 8555 §8.4): the TXT record's name for an identifier
 * ("_acme-challenge.example.com", also for "*.example.com") and its value,
 * base64url(SHA-256(keyauth)). Caller frees; NULL when out of memory. */
char *acme_dns01_name(const char *ident);
char *acme_dns01_value(const char *keyauth);

/* RFC 9773 §4.1 certID of a PEM certificate: base64url(AKI keyIdentifier)
 * "." base64url(DER content octets of the serial). Caller frees; NULL
 * when not a certificate or without an authority key identifier. */
char *acme_ari_cert_id(const char *cert_pem);

/* An RFC 3339 date-time ("2026-01-02T03:04:05.678Z", "+01:00" offsets)
 * as a time_t; -1 when it does not parse. */
time_t acme_rfc3339(const char *s);

/* The suggestedWindow of a renewalInfo body; 0, or -1 when it is missing
 * or invalid (end not after start). *explanation: explanationURL or
 * NULL, malloc'd. */
int acme_ari_parse(const char *body, size_t len, time_t *start, time_t *end,
    char **explanation);

/* Seconds until renewal information is asked again: Retry-After bounded
 * to a minute .. a day, six hours when absent or unparsable. */
long acme_ari_retry_s(const char *retry_after, time_t now);

#endif

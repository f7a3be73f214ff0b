/* Internals shared by the files of the HTTP client: http.c (client and
 * request loop), http_pin.c (TLS trust and pinning), http_retry.c (when
 * to send again), http_trace.c and http_redact.c (the trace log). Not for
 * other layers: they use http.h. */
#ifndef LB_HTTP_INT_H
#define LB_HTTP_INT_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#include "net/http.h"

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
	/* Attempts that got a status line back: a peer that answered once
	 * in this run was reachable, whatever fails later. */
	unsigned long nanswered;
	CURL *curl;
	/* Per transfer, written by the callbacks. */
	bool pin_mismatch;
	char pin_seen[32 * 3];
	bool too_big;
};

/* A growing NUL-terminated string. After an allocation failure oom is set
 * and further adds do nothing. The owner frees s. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

void sb_add(struct sbuf *b, const char *s, size_t n);
void sb_str(struct sbuf *b, const char *s);

/* http_pin.c */
/* Sets up the SSL_CTX slot the pin callback finds its client in, once per
 * process (clients are opened from several threads); -1 on failure. */
int http_pin_init(void);
/* "PIN[,PIN...]" into c->pins; -1 when an entry is malformed or empty, or
 * there are more than HTTP_PIN_MAX. */
int http_pins_parse(struct http_client *c, const char *list);
/* The expected pins for a mismatch message, cut to fit len. */
void http_pins_hex(const struct http_client *c, char *buf, size_t len);
/* Trust settings of c (pin, ca_file, or insecure) on its curl handle. */
void http_set_tls(struct http_client *c);

/* http_retry.c */
/* Milliseconds to wait before sending req again after attempt `attempt`
 * ended with rc (resp when rc == 0; retry: perform's verdict that another
 * attempt may help a failed one), or -1 when it is not sent again. */
long http_retry_wait(const struct http_client *c, const struct http_req *req,
    int rc, const struct http_resp *resp, bool retry, int attempt);

/* http_trace.c: at trace level, redacted. */
void http_trace_request(struct http_client *c, const struct http_req *req,
    const char *url);
void http_trace_response(struct http_client *c, const struct http_req *req,
    const struct http_resp *r);

/* http_tally.c: adds n requests to name's tally (at http_client_free). */
void http_tally_add(const char *name, unsigned long n);

#endif

/* The trace log (level trace): each request and response, redacted,
 * the unredacted text wiped after use. */
#include "net/http_int.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/log.h"

#define TRACE_BODY_MAX (64 * 1024)

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

void
http_trace_request(struct http_client *c, const struct http_req *req,
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

void
http_trace_response(struct http_client *c, const struct http_req *req,
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

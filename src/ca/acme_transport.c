/* ACME transport: the directory, nonces and signed requests (JWS over
 * POST) with the retries RFC 8555 allows. */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/jws.h"
#include "crypto/x509.h"
#include "util/log.h"
#include "util/mem.h"

/* badNonce retries of one POST. A CA may refuse any nonce at random (Pebble
 * refuses a set share, 20 % in our tests): five in a row happened in CI. */
#define NONCE_TRIES 10
#define READ_TRIES 3       /* tries of a read that got no usable answer */
#define READ_BACKOFF_MS 500L /* before the 2nd try of a read, doubling */
#define RATE_TRIES 3       /* tries of one request answered 429 */
#define RATE_WAIT_MAX_S 60L /* a longer Retry-After fails the request */

static void
take_nonce(struct ca *c, const struct http_resp *r)
{
	const char *n = http_resp_header(r, "replay-nonce");

	if (n == NULL || *n == '\0')
		return;
	free(c->nonce);
	c->nonce = xstrdup(n);
}

int
acme_request(struct ca *c, const char *method, const char *url, const char *body,
    const char *accept, bool idempotent, struct http_resp *resp, struct err *e)
{
	struct http_header h = { "Accept", accept };
	struct http_req req = {
		.method = method, .path = url, .headers = accept ? &h : NULL,
		.nheaders = accept ? 1 : 0, .body = body,
		.body_len = body ? strlen(body) : 0,
		.content_type = body ? "application/jose+json" : NULL,
		.idempotent = idempotent,
		.send_once = c->send_once && strcmp(method, "POST") == 0,
		.single_use = body != NULL,
	};
	int rc;

	http_resp_free(resp);
	memset(resp, 0, sizeof(*resp));
	if ((rc = http_do(c->http, &req, resp, e)) != 0)
		return err_prefix(e, "acme %s: %s %s", c->cfg->name, method, url);
	take_nonce(c, resp);
	return 0;
}

int
acme_directory(struct ca *c, struct err *e)
{
	struct http_resp r = { 0 };
	json_t *d;
	int rc;

	if (c->dir != NULL)
		return 0;
	if ((rc = acme_request(c, "GET", c->cfg->directory, NULL, NULL, true, &r, e)) != 0)
		goto out;
	d = r.status == 200 ? acme_json_object(r.body, r.body_len) : NULL;
	if (d == NULL || !acme_jstr(d, "newNonce") || !acme_jstr(d, "newAccount") ||
	    !acme_jstr(d, "newOrder")) {
		char *p = acme_problem_format(r.body, r.body_len, r.status);
		json_decref(d);
		rc = err_set(e, LB_ERR, "acme %s: %s is not an ACME directory: %s",
		    c->cfg->name, c->cfg->directory, p ? p : "?");
		free(p);
		goto out;
	}
	c->dir = d;
out:
	http_resp_free(&r);
	return rc;
}

bool
acme_eab_required(const struct ca *c)
{
	return json_is_true(json_object_get(json_object_get(c->dir, "meta"),
	    "externalAccountRequired"));
}

/* The CA names the URLs to follow; a CA (or whoever answers for it) that
 * points elsewhere would get signed requests and the traffic of the
 * account: only the directory's own origin is followed. */
int
acme_check_url(struct ca *c, const char *url, struct err *e)
{
	if (acme_same_origin(c->cfg->directory, url))
		return 0;
	for (size_t i = 0; i < c->cfg->nallow_origins; i++)
		if (acme_same_origin(c->cfg->allow_origins[i], url))
			return 0;
	return err_set(e, LB_ERR, "acme %s: refusing URL %s given by the CA: not on the "
	    "origin (scheme, host, port) of the directory %s%s", c->cfg->name,
	    url ? url : "(none)", c->cfg->directory,
	    c->cfg->nallow_origins > 0 ? " nor in allow_origins" : " (allow_origins can "
	    "name others)");
}

static int
new_nonce(struct ca *c, struct err *e)
{
	struct http_resp r = { 0 };
	const char *url = acme_jstr(c->dir, "newNonce");
	int rc;

	if ((rc = acme_check_url(c, url, e)) != 0)
		return rc;
	if ((rc = acme_request(c, "HEAD", url, NULL, NULL, true, &r, e)) == 0 && c->nonce == NULL)
		rc = err_set(e, LB_ERR, "acme %s: HEAD %s: HTTP %ld without Replay-Nonce",
		    c->cfg->name, url, r.status);
	http_resp_free(&r);
	return rc;
}

/* Sets e from an error response; what names the request for the user. */
int
acme_problem(struct ca *c, const char *what, const struct http_resp *r, struct err *e)
{
	char tbuf[256];
	const char *type = acme_problem_type(r->body, r->body_len, tbuf, sizeof(tbuf));
	char *p = acme_problem_format(r->body, r->body_len, r->status);
	int rc = err_set(e, acme_problem_code(type, r->status), "acme %s: %s: %s",
	    c->cfg->name, what, p ? p : "?");

	free(p);
	return rc;
}

bool
acme_is_problem(const struct http_resp *r, const char *short_type)
{
	char tbuf[256];
	const char *t;

	if (r->status < 400)
		return false;
	t = acme_problem_type(r->body, r->body_len, tbuf, sizeof(tbuf));
	return t != NULL && strncmp(t, ERR_PREFIX, strlen(ERR_PREFIX)) == 0 &&
	    strcmp(t + strlen(ERR_PREFIX), short_type) == 0;
}


/* A 429 (rateLimited): the CA did not act on the request, so it may be
 * sent again once the wait it asked for is over. Waits and returns 0 when
 * that wait is short and tries remain; else LB_EPENDING saying when to
 * try again. */
static int
rate_limited(struct ca *c, const char *url, const struct http_resp *r, int tries,
    struct err *e)
{
	time_t now = time(NULL);
	long ra = http_parse_retry_after(http_resp_header(r, "retry-after"), now);
	char when[32], *p;
	struct tm tm;

	if (ra > RETRY_AFTER_MAX_S)
		ra = RETRY_AFTER_MAX_S;
	if (ra < 0)
		ra = tries; /* no Retry-After: a short backoff */
	if (ra <= RATE_WAIT_MAX_S && tries < RATE_TRIES) {
		log_info("acme %s: rate limited on %s, sending again in %ld s", c->cfg->name,
		    url, ra);
		http_sleep_ms(ra * 1000L);
		return 0;
	}
	now += ra;
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(when, sizeof(when), "%ld s", ra);
	p = acme_problem_format(r->body, r->body_len, r->status);
	err_set(e, LB_EPENDING, "acme %s: POST %s: rate limited by the CA%s; try again "
	    "after %s (in %ld s): %s", c->cfg->name, url, tries >= RATE_TRIES ?
	    " again and again" : "", when, ra, p ? p : "?");
	free(p);
	return LB_EPENDING;
}

/* Whether a request that got no usable answer (no answer at all, a 5xx)
 * is sent again: only reads (POST-as-GET) and newAccount, which the CA
 * answers with the existing account when it took the first one. Sleeps
 * before the next try. */
static bool
read_again(struct ca *c, const char *url, bool repeatable, int *tries, const char *why)
{
	if (!repeatable || *tries >= READ_TRIES)
		return false;
	log_info("acme %s: %s: %s; reading again (%d of %d)", c->cfg->name, url, why,
	    *tries + 1, READ_TRIES);
	http_sleep_ms(READ_BACKOFF_MS << (*tries - 1));
	(*tries)++;
	return true;
}

/* Signed POST (payload NULL: POST-as-GET) with the account URL as kid,
 * or the JWK when use_jwk, each try signed anew with a fresh nonce.
 * Sends again on badNonce (with the nonce the error carried), on a 429
 * with a short Retry-After, and for reads on a 5xx or no answer; re-
 * registers once when the CA forgot the account. A read that got no
 * answer in the end fails with LB_EUNKNOWN (LB_EUNREACH when the CA could
 * not be reached). */
int
acme_post(struct ca *c, const char *url, const char *payload, bool use_jwk,
    const char *accept, struct http_resp *resp, struct err *e)
{
	bool reregistered = false, repeatable = payload == NULL || use_jwk;
	char *body = NULL, *nonce;
	int rc, nonces = 1, reads = 1, rates = 1;

	if ((rc = acme_check_url(c, url, e)) != 0)
		return rc;
	for (;;) {
		if (c->nonce == NULL && (rc = new_nonce(c, e)) != 0)
			return rc;
		nonce = c->nonce;
		c->nonce = NULL;
		rc = jws_sign(c->key, use_jwk ? NULL : c->kid, nonce, url, payload, &body, e);
		free(nonce);
		if (rc != 0)
			return err_prefix(e, "acme %s", c->cfg->name);
		/* Not idempotent for http: a replayed JWS is refused as
		 * badNonce anyway, so retrying is this loop's job. */
		rc = acme_request(c, "POST", url, body, accept, false, resp, e);
		free(body);
		body = NULL;
		if (rc != 0) {
			if (rc != LB_ECONFIG && read_again(c, url, repeatable, &reads, e->msg))
				continue;
			if (repeatable && rc == LB_ERR)
				e->code = rc = LB_EUNKNOWN;
			return rc;
		}
		if (resp->status >= 500 && read_again(c, url, repeatable, &reads,
		    "server error"))
			continue;
		if (resp->status == 429) {
			if ((rc = rate_limited(c, url, resp, rates++, e)) != 0)
				return rc;
			continue;
		}
		if (acme_is_problem(resp, "badNonce") && nonces++ < NONCE_TRIES) {
			log_debug("acme %s: badNonce on %s, retrying (%d)", c->cfg->name,
			    url, nonces - 1);
			continue;
		}
		if (!use_jwk && !reregistered && acme_is_problem(resp, "accountDoesNotExist")) {
			log_warn("acme %s: the CA does not know account %s; registering again",
			    c->cfg->name, c->kid);
			reregistered = true;
			free(c->kid);
			c->kid = NULL;
			unlink(c->acct_path);
			if ((rc = acme_account_register(c, e)) != 0)
				return rc;
			nonces = 1;
			continue;
		}
		return 0;
	}
}

/* POST-as-GET of an ACME object that must come back 200 with JSON; a
 * reply that does not parse is read again, then is LB_EUNKNOWN as is a
 * server error: the object's state is unknown, not bad. */
int
acme_get_object(struct ca *c, const char *url, const char *what, json_t **out,
    struct http_resp *resp, struct err *e)
{
	int rc;

	*out = NULL;
	for (int tries = 1;; tries++) {
		if ((rc = acme_post(c, url, NULL, false, NULL, resp, e)) != 0)
			return rc;
		if (resp->status >= 500) {
			acme_problem(c, what, resp, e);
			return e->code = LB_EUNKNOWN;
		}
		if (resp->status != 200)
			return acme_problem(c, what, resp, e);
		if ((*out = acme_json_object(resp->body, resp->body_len)) != NULL)
			return 0;
		if (tries >= READ_TRIES)
			return err_set(e, LB_EUNKNOWN, "acme %s: %s: the reply is not a "
			    "JSON object (%d tries)", c->cfg->name, what, tries);
		log_info("acme %s: %s: the reply is not a JSON object; reading again",
		    c->cfg->name, what);
		http_sleep_ms(READ_BACKOFF_MS << (tries - 1));
	}
}

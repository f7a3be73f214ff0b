/* ACME authorizations: http-01 answered through the device, dns-01
 * through the CA's DNS server, or triggered for CAs that validate out of
 * band; polled until valid. */
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
#include <unistd.h>

#include "crypto/jws.h"
#include "crypto/x509.h"
#include "util/log.h"
#include "util/mem.h"

#define AUTHZ_MAX 100      /* Sectigo's SAN limit */
#define POLL_CAP_MS 10000L
#define CHAL_TRIES 3       /* challenge POSTs whose answer was lost */

int
acme_wait_next(struct ca *c, struct acme_wait *w, const struct http_resp *r,
    const char *what, struct err *e)
{
	time_t now = time(NULL);
	long cap = c->cfg->poll_interval_s > 0 ? c->cfg->poll_interval_s * 1000L : POLL_CAP_MS;
	long ms = acme_poll_wait_ms(http_resp_header(r, "retry-after"), now, ++w->attempt, cap);

	if (now + (ms + 999) / 1000 > w->deadline)
		return err_set(e, LB_EPENDING, "acme %s: %s: not done within the wait "
		    "(poll timeout); collect again later", c->cfg->name, what);
	http_sleep_ms(ms);
	return 0;
}

/* The error of an invalid authorization: its challenges' problems. */
static int
authz_failed(struct ca *c, json_t *az, const char *status, struct err *e)
{
	const char *ident = acme_jstr(json_object_get(az, "identifier"), "value");
	json_t *chs = json_object_get(az, "challenges"), *ch;
	char *why = NULL;
	size_t i;

	json_array_foreach(chs, i, ch) {
		json_t *pe = json_object_get(ch, "error");
		if (pe != NULL && why == NULL)
			why = acme_problem_json(pe, 0);
	}
	err_set(e, LB_ERR, "acme %s: authorization for %s is %s%s%s", c->cfg->name,
	    ident ? ident : "?", status, why ? ": " : "", why ? why : "");
	free(why);
	return LB_ERR;
}

static int
poll_authz(struct ca *c, const char *url, const char *ident, struct acme_wait *w,
    struct err *e)
{
	struct http_resp r = { 0 };
	json_t *az = NULL;
	char what[300];
	int rc;

	/* polls start short again: this validation may be done at once */
	w->attempt = 0;
	snprintf(what, sizeof(what), "authorization for %s", ident);
	for (;;) {
		json_decref(az);
		if ((rc = acme_get_object(c, url, what, &az, &r, e)) != 0)
			break;
		const char *st = acme_jstr(az, "status");
		if (st != NULL && strcmp(st, "valid") == 0)
			break;
		if (st == NULL || (strcmp(st, "pending") != 0 && strcmp(st, "processing") != 0)) {
			rc = authz_failed(c, az, st ? st : "(no status)", e);
			break;
		}
		if ((rc = acme_wait_next(c, w, &r, what, e)) != 0)
			break;
	}
	json_decref(az);
	http_resp_free(&r);
	return rc;
}

static json_t *
find_challenge(json_t *az, const char *type)
{
	json_t *chs = json_object_get(az, "challenges"), *ch;
	size_t i;

	json_array_foreach(chs, i, ch)
		if (acme_jstr(ch, "type") != NULL && strcmp(acme_jstr(ch, "type"), type) == 0)
			return ch;
	return NULL;
}

static json_t *
challenge_by_url(json_t *az, const char *url)
{
	json_t *chs = json_object_get(az, "challenges"), *ch;
	size_t i;

	json_array_foreach(chs, i, ch)
		if (acme_jstr(ch, "url") != NULL && strcmp(acme_jstr(ch, "url"), url) == 0)
			return ch;
	return NULL;
}

/* Starts validation: POST {} to the challenge, unless it already runs.
 * When the answer is lost (none, or a server error) the authorization at
 * az_url says whether the CA took it: the POST is sent again only while
 * the challenge is still pending. */
static int
start_challenge(struct ca *c, const char *az_url, json_t *chal, const char *ident,
    struct err *e)
{
	struct http_resp r = { 0 };
	const char *url = acme_jstr(chal, "url"), *st = acme_jstr(chal, "status");
	json_t *az = NULL;
	char what[300];
	bool lost;
	int rc;

	if (st != NULL && strcmp(st, "pending") != 0)
		return 0;
	snprintf(what, sizeof(what), "challenge for %s", ident);
	for (int tries = 1;; tries++) {
		rc = acme_post(c, url, "{}", false, NULL, &r, e);
		if (rc == 0 && r.status == 200)
			break;
		lost = rc != 0 ? rc != LB_ECONFIG && rc != LB_EPENDING : r.status >= 500;
		if (rc == 0)
			rc = acme_problem(c, what, &r, e);
		if (lost && tries >= CHAL_TRIES)
			e->code = rc = LB_EUNKNOWN;
		if (!lost || tries >= CHAL_TRIES)
			break;
		log_warn("%s; reading the authorization for %s again", e->msg, ident);
		json_decref(az);
		snprintf(what, sizeof(what), "authorization for %s", ident);
		if ((rc = acme_get_object(c, az_url, what, &az, &r, e)) != 0)
			break;
		snprintf(what, sizeof(what), "challenge for %s", ident);
		st = acme_jstr(challenge_by_url(az, url), "status");
		if (st == NULL || strcmp(st, "pending") != 0) {
			rc = 0; /* taken (or gone): polling tells the outcome */
			break;
		}
	}
	json_decref(az);
	http_resp_free(&r);
	return rc;
}

/* dns-01: the TXT record is in every name server of the zone before the
 * CA is told to look, and deleted whatever the outcome. */
static int
answer_dns01(struct ca *c, const char *url, json_t *az, const char *ident,
    struct acme_wait *w, struct err *e)
{
	json_t *chal = find_challenge(az, "dns-01");
	const char *token = acme_jstr(chal, "token");
	struct acme_dns01 *rec = NULL;
	char *keyauth = NULL;
	int rc;

	if (chal == NULL || acme_jstr(chal, "url") == NULL)
		return err_set(e, LB_ERR, "acme %s: authorization for %s is pending and "
		    "offers no dns-01 challenge; cannot answer it", c->cfg->name, ident);
	if (token == NULL || (keyauth = xasprintf("%s.%s", token, c->thumb)) == NULL)
		return err_set(e, LB_ERR, "acme %s: dns-01 challenge for %s without token",
		    c->cfg->name, ident);
	rc = acme_dns01_publish(c, ident, keyauth, &rec, e);
	free(keyauth);
	if (rc != 0) {
		err_prefix(e, "acme %s: dns-01 for %s", c->cfg->name, ident);
		return rc;
	}
	rc = start_challenge(c, url, chal, ident, e);
	if (rc == 0)
		rc = poll_authz(c, url, ident, w, e);
	acme_dns01_withdraw(c, rec);
	return rc;
}

static int
answer_authz(struct ca *c, const char *url, json_t *az, const struct ca_challenge *ch,
    struct acme_wait *w, struct err *e)
{
	const char *ident = acme_jstr(json_object_get(az, "identifier"), "value");
	json_t *chal = find_challenge(az, "http-01");
	const char *token = acme_jstr(chal, "token");
	struct err werr = { 0 };
	char *keyauth = NULL;
	int rc;

	if (ident == NULL)
		ident = "?";
	if (c->cfg->challenge == CHALLENGE_NONE) {
		/* Sectigo issues no challenge for a pre-validated domain; a
		 * pending one means the CA still wants validation. Trigger it
		 * without serving anything: CAs that validate out of band
		 * (and Pebble with PEBBLE_VA_ALWAYS_VALID) then mark it valid.
		 * A wildcard's authorization offers dns-01 only: take the
		 * first challenge offered when there is no http-01. */
		json_t *any = chal;

		if (any == NULL || acme_jstr(any, "url") == NULL)
			any = json_array_get(json_object_get(az, "challenges"), 0);
		if (any == NULL || acme_jstr(any, "url") == NULL)
			return err_set(e, LB_ERR, "acme %s: authorization for %s is pending and "
			    "offers no challenge; with challenge: none the domain must be "
			    "validated at the CA beforehand", c->cfg->name, ident);
		log_info("acme %s: authorization for %s is pending although challenge: none; "
		    "triggering %s without serving anything", c->cfg->name, ident,
		    acme_jstr(any, "type") ? acme_jstr(any, "type") : "its challenge");
		if ((rc = start_challenge(c, url, any, ident, e)) != 0)
			return rc;
		return poll_authz(c, url, ident, w, e);
	}
	if (c->cfg->challenge == CHALLENGE_DNS01)
		return answer_dns01(c, url, az, ident, w, e);
	if (chal == NULL || acme_jstr(chal, "url") == NULL)
		return err_set(e, LB_ERR, "acme %s: authorization for %s is pending and "
		    "offers no http-01 challenge; cannot answer it", c->cfg->name, ident);
	if (ch == NULL || ch->publish == NULL)
		return err_set(e, LB_ERR, "acme %s: authorization for %s needs http-01 but "
		    "no challenge responder is wired", c->cfg->name, ident);
	if (token == NULL || (keyauth = xasprintf("%s.%s", token, c->thumb)) == NULL)
		return err_set(e, LB_ERR, "acme %s: http-01 challenge for %s without token",
		    c->cfg->name, ident);
	if ((rc = ch->publish(ch->ctx, token, keyauth, e)) != 0) {
		err_prefix(e, "acme %s: publishing the http-01 token for %s", c->cfg->name, ident);
		free(keyauth);
		return rc;
	}
	rc = start_challenge(c, url, chal, ident, e);
	if (rc == 0)
		rc = poll_authz(c, url, ident, w, e);
	if (ch->withdraw != NULL && ch->withdraw(ch->ctx, token, &werr) != 0)
		log_warn("acme %s: withdrawing the http-01 token for %s: %s", c->cfg->name,
		    ident, werr.msg);
	free(keyauth);
	return rc;
}

int
acme_authorize(struct ca *c, json_t *order, const struct ca_challenge *ch,
    struct acme_wait *w, struct err *e)
{
	json_t *urls = json_object_get(order, "authorizations"), *u;
	struct http_resp r = { 0 };
	size_t i;
	int rc = 0;

	if (json_array_size(urls) > AUTHZ_MAX)
		return err_set(e, LB_ERR, "acme %s: order with %zu authorizations",
		    c->cfg->name, json_array_size(urls));
	json_array_foreach(urls, i, u) {
		const char *url = json_string_value(u), *st;
		json_t *az = NULL;

		if (url == NULL)
			continue;
		if ((rc = acme_get_object(c, url, "authorization", &az, &r, e)) != 0)
			break;
		st = acme_jstr(az, "status");
		if (st != NULL && strcmp(st, "valid") == 0)
			rc = 0;
		else if (st != NULL && strcmp(st, "pending") == 0)
			rc = answer_authz(c, url, az, ch, w, e);
		else
			rc = authz_failed(c, az, st ? st : "(no status)", e);
		json_decref(az);
		if (rc != 0)
			break;
	}
	http_resp_free(&r);
	return rc;
}

/* Pure pieces of the ACME client (acme_internal.h): URLs and Link
 * headers, problem documents, poll waits. */
#include "ca/acme_client.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <curl/curl.h>
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

#define POLL_FIRST_MS 50L
#define SUBPROBLEMS_MAX 10 /* shown; a message ends up in a 1 KiB err anyway */

char *
acme_url_resolve(const char *base, const char *ref)
{
	const char *p;

	if (strstr(ref, "://") != NULL)
		return xstrdup(ref);
	if (ref[0] != '/' || base == NULL || (p = strstr(base, "://")) == NULL)
		return NULL;
	p = strchr(p + 3, '/');
	if (p == NULL)
		p = base + strlen(base);
	return xasprintf("%.*s%s", (int)(p - base), base, ref);
}

struct origin {
	char *scheme, *host, *port;
};

static void
origin_free(struct origin *o)
{
	curl_free(o->scheme);
	curl_free(o->host);
	curl_free(o->port);
}

/* Scheme, host and port (the default one when the URL names none) as
 * libcurl parses them, so that what is compared is what it connects to. */
static bool
origin_of(const char *url, struct origin *o)
{
	CURLU *u = curl_url();
	bool ok;

	memset(o, 0, sizeof(*o));
	ok = u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &o->scheme, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &o->host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &o->port, CURLU_DEFAULT_PORT) == CURLUE_OK;
	curl_url_cleanup(u);
	return ok;
}

bool
acme_same_origin(const char *base, const char *url)
{
	struct origin a, b;
	bool same, oka, okb;

	if (base == NULL || url == NULL)
		return false;
	/* both parsed, whatever the first gave: both are freed below */
	oka = origin_of(base, &a);
	okb = origin_of(url, &b);
	same = oka && okb && strcasecmp(a.scheme, b.scheme) == 0 &&
	    strcasecmp(a.host, b.host) == 0 && strcmp(a.port, b.port) == 0;
	origin_free(&a);
	origin_free(&b);
	return same;
}

static const char *
skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* Whether the space-separated list [v, v+n) holds rel. */
static int
rel_has(const char *v, size_t n, const char *rel)
{
	size_t rlen = strlen(rel), i = 0;

	while (i < n) {
		size_t j = i;
		while (j < n && v[j] != ' ')
			j++;
		if (j - i == rlen && strncasecmp(v + i, rel, rlen) == 0)
			return 1;
		i = j + 1;
	}
	return 0;
}

/* Parses the parameters after one link target up to the next top-level
 * comma; returns where it stopped and sets *match. */
static const char *
link_params(const char *p, const char *rel, int *match)
{
	*match = 0;
	while (*p != '\0' && *p != ',') {
		const char *name, *val;
		size_t nlen, vlen;

		p = skip_ws(p);
		/* blanks may end the value, or come before the comma that ends
		 * this link: stop there instead of stepping over it */
		if (*p == '\0' || *p == ',')
			break;
		if (*p != ';') {
			p++;
			continue;
		}
		p = skip_ws(p + 1);
		name = p;
		while (*p != '\0' && strchr("=;, \t", *p) == NULL)
			p++;
		nlen = (size_t)(p - name);
		p = skip_ws(p);
		if (*p != '=')
			continue;
		p = skip_ws(p + 1);
		if (*p == '"') {
			val = ++p;
			while (*p != '\0' && *p != '"')
				p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
			vlen = (size_t)(p - val);
			if (*p == '"')
				p++;
		} else {
			val = p;
			while (*p != '\0' && strchr(";, \t", *p) == NULL)
				p++;
			vlen = (size_t)(p - val);
		}
		if (nlen == 3 && strncasecmp(name, "rel", 3) == 0 && rel_has(val, vlen, rel))
			*match = 1;
	}
	return p;
}

size_t
acme_link_parse(const char *value, const char *rel, const char *base,
    char **out, size_t max)
{
	const char *p = value;
	size_t n = 0;

	while (p != NULL && *p != '\0') {
		const char *start, *end;
		char *target, *url;
		int match;

		p = skip_ws(p);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != '<' || (end = strchr(p, '>')) == NULL)
			break;
		start = p + 1;
		p = link_params(end + 1, rel, &match);
		if (!match || n >= max)
			continue;
		target = xasprintf("%.*s", (int)(end - start), start);
		url = target ? acme_url_resolve(base, target) : NULL;
		free(target);
		if (url != NULL)
			out[n++] = url;
	}
	return n;
}

json_t *
acme_json_object(const char *body, size_t len)
{
	json_t *j;

	if (body == NULL || len == 0)
		return NULL;
	j = json_loadb(body, len, 0, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

const char *
acme_jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *
acme_problem_type(const char *body, size_t len, char *buf, size_t buflen)
{
	json_t *j = acme_json_object(body, len);
	const char *t = acme_jstr(j, "type");

	if (t == NULL) {
		json_decref(j);
		return NULL;
	}
	snprintf(buf, buflen, "%s", t);
	json_decref(j);
	return buf;
}

/* Appends "; " and fmt to *s (a malloc'd string); keeps *s on failure. */
static void
append(char **s, const char *sep, const char *a, const char *b, const char *c)
{
	char *n = xasprintf("%s%s%s%s%s", *s, sep, a, b ? b : "", c ? c : "");

	if (n != NULL) {
		free(*s);
		*s = n;
	}
}

char *
acme_problem_json(json_t *j, long status)
{
	const char *type = acme_jstr(j, "type"), *detail = acme_jstr(j, "detail");
	json_t *subs = json_object_get(j, "subproblems"), *sub;
	char *s, st[32];
	size_t i;

	s = xasprintf("%s: %s", type != NULL ? type : "problem",
	    detail != NULL ? detail : "(no detail)");
	if (s == NULL)
		return NULL;
	if (status > 0) {
		snprintf(st, sizeof(st), " (HTTP %ld)", status);
		append(&s, "", st, NULL, NULL);
	}
	json_array_foreach(subs, i, sub) {
		json_t *id;
		if (i == SUBPROBLEMS_MAX) {
			/* the CA decides the count: each append copies the whole
			 * text, so an unbounded list costs quadratic time */
			snprintf(st, sizeof(st), "%zu more", json_array_size(subs) - i);
			append(&s, "; and ", st, NULL, NULL);
			break;
		}
		id = json_object_get(sub, "identifier");
		const char *it = acme_jstr(id, "type"), *iv = acme_jstr(id, "value");
		const char *stype = acme_jstr(sub, "type"), *sd = acme_jstr(sub, "detail");
		char ident[300];

		if (stype != NULL && strncmp(stype, ERR_PREFIX, strlen(ERR_PREFIX)) == 0)
			stype += strlen(ERR_PREFIX);
		snprintf(ident, sizeof(ident), "%s:%s: ", it ? it : "?", iv ? iv : "?");
		append(&s, "; ", ident, stype ? stype : "?", NULL);
		append(&s, ": ", sd ? sd : "(no detail)", NULL, NULL);
	}
	return s;
}

char *
acme_problem_format(const char *body, size_t len, long status)
{
	json_t *j = acme_json_object(body, len);
	char *s;

	if (acme_jstr(j, "type") != NULL) {
		s = acme_problem_json(j, status);
		json_decref(j);
		return s;
	}
	json_decref(j);
	if (body == NULL || len == 0)
		return xasprintf("HTTP %ld with an empty body", status);
	/* Not a problem document: the first bytes, printable only. */
	s = xasprintf("HTTP %ld: %.*s", status, (int)(len > 200 ? 200 : len), body);
	for (char *p = s; p != NULL && *p; p++)
		if (!isprint((unsigned char)*p))
			*p = ' ';
	return s;
}

int
acme_problem_code(const char *type, long status)
{
	static const char *auth[] = {
		"unauthorized", "externalAccountRequired", "accountDoesNotExist",
		"badPublicKey", "userActionRequired",
	};
	const char *t = type;

	if (t != NULL && strncmp(t, ERR_PREFIX, strlen(ERR_PREFIX)) == 0)
		t += strlen(ERR_PREFIX);
	for (size_t i = 0; t != NULL && i < sizeof(auth) / sizeof(auth[0]); i++)
		if (strcmp(t, auth[i]) == 0)
			return LB_EAUTH;
	if (t == NULL && (status == 401 || status == 403))
		return LB_EAUTH;
	if (status == 404)
		return LB_ENOTFOUND;
	return LB_ERR;
}

long
acme_poll_wait_ms(const char *retry_after, time_t now, int attempt, long cap_ms)
{
	long ra = retry_after ? http_parse_retry_after(retry_after, now) : -1;
	/* Short first wait: a CA may finish a pre-validated order or an
	 * http-01 check within tens of milliseconds; then back off. */
	long ms = POLL_FIRST_MS;

	/* Retry-After: 0 (or a date passed) is no hint: our own backoff
	 * applies, so a CA that says "now" every time is not polled 20
	 * times a second. */
	if (ra >= 1)
		return (ra > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : ra) * 1000;
	for (int i = 1; i < attempt && ms < cap_ms; i++)
		ms *= 2;
	return ms < cap_ms ? ms : cap_ms;
}

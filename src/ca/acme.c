/* ACME client (RFC 8555) with External Account Binding, for Sectigo ACME,
 * Let's Encrypt and enterprise ACME CAs. The account key and account URL
 * live in the state directory; an order URL is the resumable reference
 * that submit hands to the engine and collect continues from. */
#include "ca/ca.h"
#include "ca/acme_internal.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto/jws.h"
#include "crypto/x509.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

#define ERR_PREFIX "urn:ietf:params:acme:error:"
#define NONCE_TRIES 5      /* badNonce retries of one POST */
#define CERT_TRIES 5       /* 404 right after an order turned valid */
#define ORDER_STEPS 64     /* bound on the order state machine */
#define AUTHZ_MAX 100      /* Sectigo's SAN limit */
#define LINKS_MAX 8
#define SUBPROBLEMS_MAX 10 /* shown; a message ends up in a 1 KiB err anyway */
#define POLL_CAP_MS 10000L
#define POLL_TIMEOUT_S 600
#define RETRY_AFTER_MAX_S 3600L /* a CA's Retry-After beyond this is taken as this */

struct ca {
	const struct cfg_ca *cfg;
	struct http_client *http;
	char *key_path;  /* <state_dir>/acme-<name>.key */
	char *acct_path; /* <state_dir>/acme-<name>.json */
	EVP_PKEY *key;
	char *thumb;
	json_t *dir;
	char *nonce;
	char *kid;       /* account URL */
	bool send_once;  /* the POST now in hand must not be re-sent below us */
};

/* ---- pure helpers (acme_internal.h) ---- */

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

static json_t *
parse_object(const char *body, size_t len)
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

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *
acme_problem_type(const char *body, size_t len, char *buf, size_t buflen)
{
	json_t *j = parse_object(body, len);
	const char *t = jstr(j, "type");

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

static char *
problem_from_json(json_t *j, long status)
{
	const char *type = jstr(j, "type"), *detail = jstr(j, "detail");
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
		const char *it = jstr(id, "type"), *iv = jstr(id, "value");
		const char *stype = jstr(sub, "type"), *sd = jstr(sub, "detail");
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
	json_t *j = parse_object(body, len);
	char *s;

	if (jstr(j, "type") != NULL) {
		s = problem_from_json(j, status);
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
	/* Short first wait: most CAs finish a pre-validated order within a
	 * few hundred milliseconds; then back off. */
	long ms = 250;

	if (ra >= 0)
		return ra < 1 ? ms : (ra > RETRY_AFTER_MAX_S ? RETRY_AFTER_MAX_S : ra) * 1000;
	for (int i = 1; i < attempt && ms < cap_ms; i++)
		ms *= 2;
	return ms < cap_ms ? ms : cap_ms;
}

/* ---- transport ---- */

static void
take_nonce(struct ca *c, const struct http_resp *r)
{
	const char *n = http_resp_header(r, "replay-nonce");

	if (n == NULL || *n == '\0')
		return;
	free(c->nonce);
	c->nonce = xstrdup(n);
}

static int
request(struct ca *c, const char *method, const char *url, const char *body,
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

static int
fetch_directory(struct ca *c, struct err *e)
{
	struct http_resp r = { 0 };
	json_t *d;
	int rc;

	if (c->dir != NULL)
		return 0;
	if ((rc = request(c, "GET", c->cfg->directory, NULL, NULL, true, &r, e)) != 0)
		goto out;
	d = r.status == 200 ? parse_object(r.body, r.body_len) : NULL;
	if (d == NULL || !jstr(d, "newNonce") || !jstr(d, "newAccount") ||
	    !jstr(d, "newOrder")) {
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

static bool
eab_required(const struct ca *c)
{
	return json_is_true(json_object_get(json_object_get(c->dir, "meta"),
	    "externalAccountRequired"));
}

static int
new_nonce(struct ca *c, struct err *e)
{
	struct http_resp r = { 0 };
	const char *url = jstr(c->dir, "newNonce");
	int rc;

	if ((rc = request(c, "HEAD", url, NULL, NULL, true, &r, e)) == 0 && c->nonce == NULL)
		rc = err_set(e, LB_ERR, "acme %s: HEAD %s: HTTP %ld without Replay-Nonce",
		    c->cfg->name, url, r.status);
	http_resp_free(&r);
	return rc;
}

/* Sets e from an error response; what names the request for the user. */
static int
problem(struct ca *c, const char *what, const struct http_resp *r, struct err *e)
{
	char tbuf[256];
	const char *type = acme_problem_type(r->body, r->body_len, tbuf, sizeof(tbuf));
	char *p = acme_problem_format(r->body, r->body_len, r->status);
	int rc = err_set(e, acme_problem_code(type, r->status), "acme %s: %s: %s",
	    c->cfg->name, what, p ? p : "?");

	free(p);
	return rc;
}

static bool
is_problem(const struct http_resp *r, const char *short_type)
{
	char tbuf[256];
	const char *t;

	if (r->status < 400)
		return false;
	t = acme_problem_type(r->body, r->body_len, tbuf, sizeof(tbuf));
	return t != NULL && strncmp(t, ERR_PREFIX, strlen(ERR_PREFIX)) == 0 &&
	    strcmp(t + strlen(ERR_PREFIX), short_type) == 0;
}

static int account_register(struct ca *c, struct err *e);

/* Signed POST (payload NULL: POST-as-GET) with the account URL as kid,
 * or the JWK when use_jwk. Retries on badNonce with the fresh nonce the
 * error carried, and re-registers once when the CA forgot the account. */
static int
post(struct ca *c, const char *url, const char *payload, bool use_jwk,
    const char *accept, struct http_resp *resp, struct err *e)
{
	bool reregistered = false;
	char *body = NULL, *nonce;
	int rc;

	for (int attempt = 1;; attempt++) {
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
		rc = request(c, "POST", url, body, accept, false, resp, e);
		free(body);
		body = NULL;
		if (rc != 0)
			return rc;
		if (is_problem(resp, "badNonce") && attempt < NONCE_TRIES) {
			log_debug("acme %s: badNonce on %s, retrying (%d)", c->cfg->name,
			    url, attempt);
			continue;
		}
		if (!use_jwk && !reregistered && is_problem(resp, "accountDoesNotExist")) {
			log_warn("acme %s: the CA does not know account %s; registering again",
			    c->cfg->name, c->kid);
			reregistered = true;
			free(c->kid);
			c->kid = NULL;
			unlink(c->acct_path);
			if ((rc = account_register(c, e)) != 0)
				return rc;
			attempt = 0;
			continue;
		}
		return 0;
	}
}

/* POST-as-GET of an ACME object that must come back 200 with JSON. */
static int
get_object(struct ca *c, const char *url, const char *what, json_t **out,
    struct http_resp *resp, struct err *e)
{
	int rc;

	*out = NULL;
	if ((rc = post(c, url, NULL, false, NULL, resp, e)) != 0)
		return rc;
	if (resp->status != 200)
		return problem(c, what, resp, e);
	if ((*out = parse_object(resp->body, resp->body_len)) == NULL)
		return err_set(e, LB_ERR, "acme %s: %s: the reply is not a JSON object",
		    c->cfg->name, what);
	return 0;
}

/* ---- account ---- */

static int
write_private(const char *path, const char *text, struct err *e)
{
	/* one temporary name per call: run --jobs workers of the same CA may
	 * save the account at once (mkostemp makes the file 0600) */
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = -1, rc = LB_ERR;
	size_t len = strlen(text);
	ssize_t n;

	if (tmp == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", path);
	if ((fd = mkostemp(tmp, O_CLOEXEC)) < 0) {
		rc = err_set(e, LB_ERR, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return rc;
	}
	errno = 0;
	if ((n = write(fd, text, len)) != (ssize_t)len || fsync(fd) != 0) {
		rc = err_set(e, LB_ERR, "%s: %s", tmp, n >= 0 && errno == 0 ? "short write" :
		    strerror(errno));
		goto out;
	}
	if (rename(tmp, path) != 0) {
		rc = err_set(e, LB_ERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* The cached account URL, when it belongs to this directory. */
static void
account_load(struct ca *c)
{
	json_t *j = json_load_file(c->acct_path, 0, NULL);
	const char *d = jstr(j, "directory"), *a = jstr(j, "account");

	if (d != NULL && a != NULL && strcmp(d, c->cfg->directory) == 0)
		c->kid = xstrdup(a);
	json_decref(j);
}

static int
account_save(struct ca *c, struct err *e)
{
	json_t *j = json_pack("{s:s, s:s}", "directory", c->cfg->directory,
	    "account", c->kid);
	char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	int rc;

	json_decref(j);
	if (text == NULL)
		return err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
	rc = write_private(c->acct_path, text, e);
	free(text);
	if (rc != 0)
		err_prefix(e, "acme %s: account cache", c->cfg->name);
	return rc;
}

static int
account_payload(struct ca *c, const char *url, char **out, struct err *e)
{
	const struct cfg_ca *cfg = c->cfg;
	json_t *p = json_pack("{s:b}", "termsOfServiceAgreed", 1), *eab = NULL;
	json_t *contact = json_array();
	int rc = LB_ERR;

	*out = NULL;
	if (p == NULL || contact == NULL)
		goto oom;
	for (size_t i = 0; i < cfg->ncontact; i++)
		if (json_array_append_new(contact, json_string(cfg->contact[i])) != 0)
			goto oom;
	if (cfg->ncontact > 0 && json_object_set(p, "contact", contact) != 0)
		goto oom;
	if (cfg->eab_kid != NULL) {
		if (cfg->eab_hmac_key == NULL) {
			rc = err_set(e, LB_ECONFIG, "acme %s: eab_kid is set but eab_hmac_key "
			    "is not (credentials %s)", cfg->name,
			    cfg->credentials ? cfg->credentials : "?");
			goto out;
		}
		if ((rc = jws_eab(c->key, cfg->eab_kid, cfg->eab_hmac_key, url, &eab, e)) != 0) {
			err_prefix(e, "acme %s", cfg->name);
			goto out;
		}
		if (json_object_set(p, "externalAccountBinding", eab) != 0)
			goto oom;
	}
	if ((*out = json_dumps(p, JSON_COMPACT)) == NULL)
		goto oom;
	rc = 0;
	goto out;
oom:
	rc = err_set(e, LB_ERR, "acme %s: out of memory", cfg->name);
out:
	json_decref(eab);
	json_decref(contact);
	json_decref(p);
	return rc;
}

static int
account_register(struct ca *c, struct err *e)
{
	const struct cfg_ca *cfg = c->cfg;
	const char *url = jstr(c->dir, "newAccount"), *loc;
	struct http_resp r = { 0 };
	char *payload = NULL;
	int rc;

	if (eab_required(c) && cfg->eab_kid == NULL)
		return err_set(e, LB_ECONFIG, "acme %s: the CA requires External Account "
		    "Binding (meta.externalAccountRequired): set eab_kid and eab_hmac_key "
		    "in credentials entry '%s'", cfg->name,
		    cfg->credentials ? cfg->credentials : cfg->name);
	if ((rc = account_payload(c, url, &payload, e)) != 0)
		return rc;
	if ((rc = post(c, url, payload, true, NULL, &r, e)) != 0)
		goto out;
	if (r.status != 200 && r.status != 201) {
		rc = problem(c, "newAccount", &r, e);
		goto out;
	}
	if ((loc = http_resp_header(&r, "location")) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: newAccount: HTTP %ld without Location",
		    cfg->name, r.status);
		goto out;
	}
	c->kid = xstrdup(loc);
	log_info("acme %s: %s account %s", cfg->name,
	    r.status == 201 ? "registered" : "found existing", c->kid);
	rc = account_save(c, e);
out:
	free(payload);
	http_resp_free(&r);
	return rc;
}

static int
ensure_account(struct ca *c, struct err *e)
{
	int rc;

	if (c->kid != NULL)
		return 0;
	if ((rc = fetch_directory(c, e)) != 0)
		return rc;
	if (c->key == NULL) {
		if ((rc = jws_key_load_or_create(c->key_path, JWS_KEY_EC_P256, &c->key, e)) != 0)
			return err_prefix(e, "acme %s", c->cfg->name);
		if ((rc = jws_thumbprint(c->key, &c->thumb, e)) != 0)
			return err_prefix(e, "acme %s", c->cfg->name);
	}
	account_load(c);
	if (c->kid != NULL)
		return 0;
	return account_register(c, e);
}

/* ---- ca_ops ---- */

static void
acme_close(struct ca *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	free(c->key_path);
	free(c->acct_path);
	EVP_PKEY_free(c->key);
	free(c->thumb);
	json_decref(c->dir);
	free(c->nonce);
	free(c->kid);
	free(c);
}

static int
acme_open(const struct cfg_ca *cfg, const char *state_dir, struct ca **out,
    struct err *e)
{
	struct http_tls tls = { .ca_file = cfg->ca_file };
	struct ca *c;

	*out = NULL;
	if (cfg->directory == NULL)
		return err_set(e, LB_ECONFIG, "acme %s: no directory URL", cfg->name);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(e, LB_ERR, "acme %s: out of memory", cfg->name);
	c->cfg = cfg;
	c->key_path = xasprintf("%s/acme-%s.key", state_dir, cfg->name);
	c->acct_path = xasprintf("%s/acme-%s.json", state_dir, cfg->name);
	c->http = http_client_new(cfg->name, cfg->directory, &tls,
	    cfg->timeout_s > 0 ? cfg->timeout_s : 30);
	if (c->key_path == NULL || c->acct_path == NULL || c->http == NULL) {
		acme_close(c);
		return err_set(e, LB_ERR, "acme %s: out of memory", cfg->name);
	}
	*out = c;
	return 0;
}

static int
acme_ping(struct ca *c, struct err *e)
{
	int rc;

	json_decref(c->dir);
	c->dir = NULL;
	if ((rc = fetch_directory(c, e)) != 0)
		return rc;
	if (eab_required(c) && c->cfg->eab_kid == NULL)
		return err_set(e, LB_ECONFIG, "acme %s: the CA requires External Account "
		    "Binding but credentials entry '%s' has no eab_kid/eab_hmac_key",
		    c->cfg->name, c->cfg->credentials ? c->cfg->credentials : c->cfg->name);
	return 0;
}

static int
acme_submit(struct ca *c, const struct ca_request *req, char **order_ref,
    struct err *e)
{
	json_t *ids = json_array(), *p = NULL;
	struct http_resp r = { 0 };
	const char *loc;
	char *payload = NULL;
	int rc;

	*order_ref = NULL;
	if ((rc = ensure_account(c, e)) != 0)
		goto out;
	for (size_t i = 0; i < req->nnames; i++) {
		bool dup = false;
		for (size_t j = 0; j < i; j++)
			dup = dup || strcasecmp(req->names[i], req->names[j]) == 0;
		if (!dup && json_array_append_new(ids, json_pack("{s:s, s:s}", "type",
		    "dns", "value", req->names[i])) != 0)
			goto oom;
	}
	if (json_array_size(ids) == 0) {
		rc = err_set(e, LB_ERR, "acme %s: profile %s: no names to order",
		    c->cfg->name, req->profile);
		goto out;
	}
	if ((p = json_pack("{s:O}", "identifiers", ids)) == NULL ||
	    (payload = json_dumps(p, JSON_COMPACT)) == NULL)
		goto oom;
	/* A re-sent JWS is refused as badNonce and post() signs it anew: a
	 * dead connection that libcurl silently retried would order twice. */
	c->send_once = true;
	rc = post(c, jstr(c->dir, "newOrder"), payload, false, NULL, &r, e);
	c->send_once = false;
	if (rc != 0)
		goto out;
	if (r.status != 201 && r.status != 200) {
		rc = problem(c, "newOrder", &r, e);
		goto out;
	}
	if ((loc = http_resp_header(&r, "location")) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: newOrder: HTTP %ld without Location",
		    c->cfg->name, r.status);
		goto out;
	}
	if ((*order_ref = xstrdup(loc)) == NULL)
		goto oom;
	log_info("acme %s: profile %s: order %s for %zu name(s)", c->cfg->name,
	    req->profile, loc, json_array_size(ids));
	rc = 0;
	goto out;
oom:
	rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
out:
	free(payload);
	json_decref(p);
	json_decref(ids);
	http_resp_free(&r);
	return rc;
}

/* The collect run's clock: when to stop waiting and leave it pending. */
struct wait {
	time_t deadline;
	int attempt;
};

/* Sleeps before the next poll; LB_EPENDING when that would pass the
 * deadline. */
static int
wait_next(struct ca *c, struct wait *w, const struct http_resp *r, const char *what,
    struct err *e)
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
	const char *ident = jstr(json_object_get(az, "identifier"), "value");
	json_t *chs = json_object_get(az, "challenges"), *ch;
	char *why = NULL;
	size_t i;

	json_array_foreach(chs, i, ch) {
		json_t *pe = json_object_get(ch, "error");
		if (pe != NULL && why == NULL)
			why = problem_from_json(pe, 0);
	}
	err_set(e, LB_ERR, "acme %s: authorization for %s is %s%s%s", c->cfg->name,
	    ident ? ident : "?", status, why ? ": " : "", why ? why : "");
	free(why);
	return LB_ERR;
}

static int
poll_authz(struct ca *c, const char *url, const char *ident, struct wait *w,
    struct err *e)
{
	struct http_resp r = { 0 };
	json_t *az = NULL;
	char what[300];
	int rc;

	snprintf(what, sizeof(what), "authorization for %s", ident);
	for (;;) {
		json_decref(az);
		if ((rc = get_object(c, url, what, &az, &r, e)) != 0)
			break;
		const char *st = jstr(az, "status");
		if (st != NULL && strcmp(st, "valid") == 0)
			break;
		if (st == NULL || (strcmp(st, "pending") != 0 && strcmp(st, "processing") != 0)) {
			rc = authz_failed(c, az, st ? st : "(no status)", e);
			break;
		}
		if ((rc = wait_next(c, w, &r, what, e)) != 0)
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
		if (jstr(ch, "type") != NULL && strcmp(jstr(ch, "type"), type) == 0)
			return ch;
	return NULL;
}

/* Starts validation: POST {} to the challenge, unless it already runs. */
static int
start_challenge(struct ca *c, json_t *chal, const char *ident, struct err *e)
{
	struct http_resp r = { 0 };
	const char *url = jstr(chal, "url"), *st = jstr(chal, "status");
	char what[300];
	int rc;

	if (st != NULL && strcmp(st, "pending") != 0)
		return 0;
	snprintf(what, sizeof(what), "challenge for %s", ident);
	if ((rc = post(c, url, "{}", false, NULL, &r, e)) == 0 && r.status != 200)
		rc = problem(c, what, &r, e);
	http_resp_free(&r);
	return rc;
}

static int
answer_authz(struct ca *c, const char *url, json_t *az, const struct ca_challenge *ch,
    struct wait *w, struct err *e)
{
	const char *ident = jstr(json_object_get(az, "identifier"), "value");
	json_t *chal = find_challenge(az, "http-01");
	const char *token = jstr(chal, "token");
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

		if (any == NULL || jstr(any, "url") == NULL)
			any = json_array_get(json_object_get(az, "challenges"), 0);
		if (any == NULL || jstr(any, "url") == NULL)
			return err_set(e, LB_ERR, "acme %s: authorization for %s is pending and "
			    "offers no challenge; with challenge: none the domain must be "
			    "validated at the CA beforehand", c->cfg->name, ident);
		log_info("acme %s: authorization for %s is pending although challenge: none; "
		    "triggering %s without serving anything", c->cfg->name, ident,
		    jstr(any, "type") ? jstr(any, "type") : "its challenge");
		if ((rc = start_challenge(c, any, ident, e)) != 0)
			return rc;
		return poll_authz(c, url, ident, w, e);
	}
	if (chal == NULL || jstr(chal, "url") == NULL)
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
	rc = start_challenge(c, chal, ident, e);
	if (rc == 0)
		rc = poll_authz(c, url, ident, w, e);
	if (ch->withdraw != NULL && ch->withdraw(ch->ctx, token, &werr) != 0)
		log_warn("acme %s: withdrawing the http-01 token for %s: %s", c->cfg->name,
		    ident, werr.msg);
	free(keyauth);
	return rc;
}

static int
do_authorizations(struct ca *c, json_t *order, const struct ca_challenge *ch,
    struct wait *w, struct err *e)
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
		if ((rc = get_object(c, url, "authorization", &az, &r, e)) != 0)
			break;
		st = jstr(az, "status");
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

static int
finalize(struct ca *c, const struct ca_request *req, json_t *order, struct err *e)
{
	const char *url = jstr(order, "finalize");
	struct http_resp r = { 0 };
	char *csr = NULL, *payload = NULL;
	json_t *p = NULL;
	int rc;

	if (url == NULL)
		return err_set(e, LB_ERR, "acme %s: order without finalize URL", c->cfg->name);
	if ((rc = x509_csr_der_b64url(req->csr_pem, &csr, e)) != 0)
		return err_prefix(e, "acme %s: profile %s: CSR", c->cfg->name, req->profile);
	if ((p = json_pack("{s:s}", "csr", csr)) == NULL ||
	    (payload = json_dumps(p, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
		goto out;
	}
	if ((rc = post(c, url, payload, false, NULL, &r, e)) != 0)
		goto out;
	if (r.status != 200)
		rc = problem(c, "finalize", &r, e);
	else
		log_info("acme %s: profile %s: order finalized", c->cfg->name, req->profile);
out:
	free(payload);
	free(csr);
	json_decref(p);
	http_resp_free(&r);
	return rc;
}

/* Whether the topmost certificate of bundle was issued by CN want. */
static bool
chain_top_issuer_is(const char *bundle, const char *want)
{
	char **certs = NULL;
	size_t n = 0;
	struct cert_info ci;
	struct err e = { 0 };
	bool match = false;

	if (x509_split_pem(bundle, &certs, &n, &e) != 0 || n == 0)
		return false;
	memset(&ci, 0, sizeof(ci));
	if (x509_cert_info(certs[n - 1], &ci, &e) == 0) {
		match = ci.issuer_cn != NULL && strcmp(ci.issuer_cn, want) == 0;
		cert_info_free(&ci);
	}
	strv_free(certs, n);
	return match;
}

/* POST-as-GET of a certificate URL, retried while it is briefly 404. */
static int
fetch_cert(struct ca *c, const char *url, struct http_resp *r, struct err *e)
{
	int rc;

	for (int i = 1;; i++) {
		if ((rc = post(c, url, NULL, false, "application/pem-certificate-chain",
		    r, e)) != 0)
			return rc;
		if (r->status == 200 && r->body_len > 0)
			return 0;
		if (r->status != 404 || i >= CERT_TRIES)
			return problem(c, "certificate download", r, e);
		http_sleep_ms(1000L * i);
	}
}

/* The default chain, or the first alternate whose top issuer is the
 * preferred one. *bundle is malloc'd. */
static int
download(struct ca *c, json_t *order, char **bundle, struct err *e)
{
	const char *url = jstr(order, "certificate"), *links[LINKS_MAX];
	const char *want = c->cfg->preferred_chain;
	char *alts[LINKS_MAX];
	size_t nl, nalt = 0;
	struct http_resp r = { 0 }, ra = { 0 };
	int rc;

	*bundle = NULL;
	if (url == NULL)
		return err_set(e, LB_ERR, "acme %s: valid order without certificate URL",
		    c->cfg->name);
	if ((rc = fetch_cert(c, url, &r, e)) != 0)
		goto out;
	if (want != NULL && *want != '\0' && !chain_top_issuer_is(r.body, want)) {
		nl = http_resp_headers(&r, "link", links, LINKS_MAX);
		for (size_t i = 0; i < nl && i < LINKS_MAX && nalt < LINKS_MAX; i++)
			nalt += acme_link_parse(links[i], "alternate", url, alts + nalt,
			    LINKS_MAX - nalt);
		for (size_t i = 0; i < nalt && *bundle == NULL; i++) {
			if (fetch_cert(c, alts[i], &ra, e) != 0) {
				log_warn("acme %s: alternate chain %s: %s", c->cfg->name,
				    alts[i], e->msg);
				continue;
			}
			if (chain_top_issuer_is(ra.body, want))
				*bundle = xstrdup(ra.body);
		}
		if (*bundle == NULL)
			log_info("acme %s: no chain issued by '%s' among %zu alternate(s); "
			    "using the default chain", c->cfg->name, want, nalt);
	}
	if (*bundle == NULL)
		*bundle = xstrdup(r.body);
	rc = *bundle ? 0 : err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
out:
	for (size_t i = 0; i < nalt; i++)
		free(alts[i]);
	http_resp_free(&r);
	http_resp_free(&ra);
	return rc;
}

static int
split_bundle(struct ca *c, const char *bundle, char **cert_pem, char ***chain,
    size_t *nchain, struct err *e)
{
	char **certs = NULL;
	size_t n = 0;
	int rc;

	if ((rc = x509_split_pem(bundle, &certs, &n, e)) != 0)
		return err_prefix(e, "acme %s: certificate chain", c->cfg->name);
	if (n == 0) {
		strv_free(certs, n);
		return err_set(e, LB_ERR, "acme %s: the certificate download holds no "
		    "certificate", c->cfg->name);
	}
	/* RFC 8555 §9.1: end-entity first, then the issuers in order. */
	*cert_pem = certs[0];
	*nchain = n - 1;
	*chain = calloc(n, sizeof(**chain));
	if (*chain == NULL) {
		strv_free(certs, n);
		*cert_pem = NULL;
		return err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
	}
	for (size_t i = 1; i < n; i++)
		(*chain)[i - 1] = certs[i];
	free(certs);
	return 0;
}

static int
order_invalid(struct ca *c, const char *order_ref, json_t *order, struct err *e)
{
	json_t *pe = json_object_get(order, "error");
	char *why = pe ? problem_from_json(pe, 0) : NULL;

	err_set(e, LB_ERR, "acme %s: order %s is invalid%s%s", c->cfg->name, order_ref,
	    why ? ": " : "", why ? why : "");
	free(why);
	return LB_ERR;
}

static int
acme_collect(struct ca *c, const struct ca_request *req, const char *order_ref,
    const struct ca_challenge *ch, char **cert_pem, char ***chain, size_t *nchain,
    struct err *e)
{
	int timeout = c->cfg->poll_timeout_s > 0 ? c->cfg->poll_timeout_s : POLL_TIMEOUT_S;
	struct wait w = { time(NULL) + timeout, 0 };
	struct http_resp r = { 0 };
	json_t *order = NULL;
	char *bundle = NULL;
	bool finalized = false, authorized = false;
	int rc = LB_ERR;

	*cert_pem = NULL;
	*chain = NULL;
	*nchain = 0;
	if ((rc = ensure_account(c, e)) != 0)
		return rc;
	for (int step = 0; step < ORDER_STEPS; step++) {
		const char *st;

		json_decref(order);
		if ((rc = get_object(c, order_ref, "order", &order, &r, e)) != 0)
			goto out;
		st = jstr(order, "status");
		if (st == NULL) {
			rc = err_set(e, LB_ERR, "acme %s: order %s without status",
			    c->cfg->name, order_ref);
			goto out;
		}
		log_debug("acme %s: order %s is %s", c->cfg->name, order_ref, st);
		if (strcmp(st, "valid") == 0) {
			if ((rc = download(c, order, &bundle, e)) == 0)
				rc = split_bundle(c, bundle, cert_pem, chain, nchain, e);
			goto out;
		} else if (strcmp(st, "invalid") == 0) {
			rc = order_invalid(c, order_ref, order, e);
			goto out;
		} else if (strcmp(st, "pending") == 0 && !authorized) {
			if ((rc = do_authorizations(c, order, ch, &w, e)) != 0)
				goto out;
			authorized = true;
		} else if (strcmp(st, "ready") == 0 && !finalized) {
			if ((rc = finalize(c, req, order, e)) != 0)
				goto out;
			finalized = true;
		} else if (strcmp(st, "processing") == 0 || strcmp(st, "pending") == 0 ||
		    strcmp(st, "ready") == 0) {
			/* processing, or a CA slow to reflect what we did. */
			if ((rc = wait_next(c, &w, &r, "order", e)) != 0)
				goto out;
		} else {
			rc = err_set(e, LB_ERR, "acme %s: order %s has unknown status '%s'",
			    c->cfg->name, order_ref, st);
			goto out;
		}
	}
	rc = err_set(e, LB_EPENDING, "acme %s: order %s not done after %d steps",
	    c->cfg->name, order_ref, ORDER_STEPS);
out:
	if (rc == 0)
		log_info("acme %s: profile %s: certificate issued (%zu chain certificate(s))",
		    c->cfg->name, req->profile, *nchain);
	free(bundle);
	json_decref(order);
	http_resp_free(&r);
	return rc;
}

static char *
cert_der_b64url(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	unsigned char *der = NULL;
	int len = x ? i2d_X509(x, &der) : -1;
	char *out = len > 0 ? jws_b64url_encode(der, (size_t)len) : NULL;

	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	return out;
}

static int
acme_revoke(struct ca *c, const char *order_ref, const char *cert_pem, int reason,
    struct err *e)
{
	struct http_resp r = { 0 };
	char *der = NULL, *payload = NULL;
	json_t *p = NULL;
	int rc;

	(void)order_ref;
	if ((rc = ensure_account(c, e)) != 0)
		return rc;
	if ((der = cert_der_b64url(cert_pem)) == NULL)
		return err_set(e, LB_ERR, "acme %s: revoke: not a PEM certificate", c->cfg->name);
	p = json_pack("{s:s}", "certificate", der);
	if (p == NULL || (reason >= 0 && json_object_set_new(p, "reason",
	    json_integer(reason)) != 0) || (payload = json_dumps(p, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
		goto out;
	}
	if (jstr(c->dir, "revokeCert") == NULL) {
		rc = err_set(e, LB_ERR, "acme %s: the directory has no revokeCert",
		    c->cfg->name);
		goto out;
	}
	if ((rc = post(c, jstr(c->dir, "revokeCert"), payload, false, NULL, &r, e)) != 0)
		goto out;
	if (r.status == 200) {
		log_info("acme %s: certificate revoked (reason %d)", c->cfg->name, reason);
	} else if (is_problem(&r, "alreadyRevoked")) {
		/* A run that died after revoking tries again: same outcome. */
		log_warn("acme %s: certificate was already revoked", c->cfg->name);
	} else
		rc = problem(c, "revokeCert", &r, e);
out:
	free(payload);
	free(der);
	json_decref(p);
	http_resp_free(&r);
	return rc;
}

/* Pages of an orders list followed, and orders read, at most. */
#define ORDERS_PAGES_MAX 20
#define ORDERS_PER_PAGE_MAX 1000

/* One page of the account's orders: the newest order lbcert may take
 * over, or *next (malloc'd) to read after. */
static int
orders_page(struct ca *c, const struct ca_request *req, const char *url, char **found,
    char **next, struct err *e)
{
	struct http_resp r = { 0 }, o = { 0 };
	char **urls = calloc(ORDERS_PER_PAGE_MAX, sizeof(*urls)), *links[1];
	size_t n = 0;
	int rc;

	*found = *next = NULL;
	if (urls == NULL)
		return err_set(e, LB_ERR, "acme %s: out of memory", c->cfg->name);
	if ((rc = post(c, url, NULL, false, NULL, &r, e)) != 0)
		goto out;
	if (r.status != 200) {
		rc = problem(c, "orders list", &r, e);
		goto out;
	}
	n = acme_orders_parse(r.body, r.body_len, urls, ORDERS_PER_PAGE_MAX);
	/* the list is oldest first on the CAs seen; newest first here */
	for (size_t i = n; i-- > 0;) {
		if (req->used != NULL && req->used(req->used_ctx, urls[i]))
			continue;
		if ((rc = post(c, urls[i], NULL, false, NULL, &o, e)) != 0)
			goto out;
		if (o.status == 200 && acme_order_matches(o.body, o.body_len, req->names,
		    req->nnames)) {
			*found = xstrdup(urls[i]);
			rc = *found != NULL ? 0 : err_set(e, LB_ERR, "acme %s: out of memory",
			    c->cfg->name);
			goto out;
		}
		http_resp_free(&o);
	}
	for (size_t i = 0; i < http_resp_headers(&r, "link", (const char **)links, 1); i++)
		if (acme_link_parse(links[i], "next", url, next, 1) == 1)
			break;
out:
	http_resp_free(&o);
	http_resp_free(&r);
	strv_free(urls, n);
	return rc;
}

/* A newOrder whose answer was lost: the account's orders list (RFC 8555
 * 7.1.2.1) holds it, if the CA took it. An unfinalized order with the
 * same identifiers that no journal took is reused; no such order means
 * none was made (ordering again is safe). Without an orders list the CA
 * cannot tell (Pebble before 2.7, some CAs): LB_ENOTSUP. */
static int
acme_find(struct ca *c, const struct ca_request *req, char **order_ref, struct err *e)
{
	json_t *acct = NULL;
	struct http_resp r = { 0 };
	char *url = NULL, *next = NULL;
	int rc;

	*order_ref = NULL;
	if ((rc = ensure_account(c, e)) != 0)
		return rc;
	if ((rc = get_object(c, c->kid, "account", &acct, &r, e)) != 0)
		goto out;
	if (jstr(acct, "orders") == NULL) {
		rc = err_set(e, LB_ENOTSUP, "acme %s: the account has no orders list",
		    c->cfg->name);
		goto out;
	}
	url = xstrdup(jstr(acct, "orders"));
	for (int page = 0; url != NULL && page < ORDERS_PAGES_MAX; page++) {
		if ((rc = orders_page(c, req, url, order_ref, &next, e)) != 0 ||
		    *order_ref != NULL)
			goto out;
		free(url);
		url = next;
		next = NULL;
	}
	if (url != NULL)
		rc = err_set(e, LB_ERR, "acme %s: more than %d pages of orders", c->cfg->name,
		    ORDERS_PAGES_MAX);
	else
		rc = err_set(e, LB_ENOTFOUND, "acme %s: no unfinalized order for profile %s",
		    c->cfg->name, req->profile);
out:
	if (*order_ref != NULL)
		log_info("acme %s: profile %s: taking over order %s", c->cfg->name, req->profile,
		    *order_ref);
	free(url);
	free(next);
	json_decref(acct);
	http_resp_free(&r);
	return rc;
}

const struct ca_ops acme_ops = {
	.type = "acme",
	.open = acme_open,
	.close = acme_close,
	.ping = acme_ping,
	.submit = acme_submit,
	.find = acme_find,
	.collect = acme_collect,
	.revoke = acme_revoke,
};

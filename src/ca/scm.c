/* Sectigo Certificate Manager REST client (classic header authentication):
 * GET /ssl/v1/types, POST /ssl/v1/enroll, GET /ssl/v1/collect/{id}?format=x509
 * (or the older /collect/{id}/x509), POST /ssl/v1/revoke/{id}. Facts and
 * their sources: shared/reference/sectigo-scm-acme.md sections 1-3. */
#include "ca/ca.h"
#include "ca/scm_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto/x509.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

/* x509: certificate with its chain, PEM. The order inside varies between
 * formats and instances (root first is common), so it is re-ordered here. */
#define SCM_COLLECT_FORMAT "x509"
#define SCM_JSON "application/json;charset=utf-8"

struct ca {
	char *name;
	struct http_client *http;
	char *login;
	char *password;     /* secret: registered with the log redactor */
	char *customer_uri;
	long org_id;
	char *cert_type;    /* as configured */
	long cert_type_id;  /* 0 until resolved */
	int term;
	int poll_interval_s;
	int poll_timeout_s;
	bool collect_path_form; /* the instance serves only /collect/{id}/{format} */
	/* The tenant's answers, read once per run by prepare(). */
	char *types_json;
	size_t types_len;
	char *fields_json;
	size_t fields_len;
	bool reason_as_string; /* revoke takes reasonCode as a string */
};

static const char *const redact[] = { "password" };

/* ---- HTTP ---------------------------------------------------------- */

static int
scm_call_once(struct ca *c, const char *method, const char *path, const char *body,
    bool idempotent, bool once, struct http_resp *resp, struct err *e)
{
	struct http_header h[] = {
		{ "login", c->login },
		{ "password", c->password },
		{ "customerUri", c->customer_uri },
		{ "Accept", "application/json" },
	};
	struct http_req req = {
		.method = method,
		.path = path,
		.headers = h,
		.nheaders = sizeof(h) / sizeof(h[0]),
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.content_type = body ? SCM_JSON : NULL,
		.idempotent = idempotent,
		.send_once = once,
		.redact = redact,
		.nredact = sizeof(redact) / sizeof(redact[0]),
	};
	/* http.c names the CA (its client is named after it) and the URL */
	return http_do(c->http, &req, resp, e);
}

static int
scm_call(struct ca *c, const char *method, const char *path, const char *body,
    bool idempotent, struct http_resp *resp, struct err *e)
{
	return scm_call_once(c, method, path, body, idempotent, false, resp, e);
}

/* GET path once per run into *body (kept in the client). */
static int
fetch_cached(struct ca *c, const char *path, char **body, size_t *len, struct err *e)
{
	struct http_resp r = {0};
	int rc;

	if (*body != NULL)
		return 0;
	rc = scm_call(c, "GET", path, NULL, true, &r, e);
	if (rc == 0 && r.status != 200)
		rc = scm_http_error(c->name, r.status, r.body, r.body_len, e);
	if (rc == 0) {
		*body = r.body;
		*len = r.body_len;
		r.body = NULL;
	}
	http_resp_free(&r);
	return rc;
}

static int
resolve_type(struct ca *c, struct err *e)
{
	int rc;

	if (c->cert_type_id > 0)
		return 0;
	if (scm_is_id(c->cert_type) && c->types_json == NULL) {
		c->cert_type_id = strtol(c->cert_type, NULL, 10);
		return 0;
	}
	if ((rc = fetch_cached(c, "/ssl/v1/types", &c->types_json, &c->types_len, e)) == 0)
		rc = scm_type_lookup(c->name, c->types_json, c->types_len, c->cert_type,
		    &c->cert_type_id, e);
	return rc;
}

/* ---- ca_ops -------------------------------------------------------- */

static void
scm_close(struct ca *c)
{
	if (c == NULL)
		return;
	http_client_free(c->http);
	if (c->password != NULL) {
		log_secret_remove(c->password);
		secret_free(c->password);
	}
	free(c->name);
	free(c->login);
	free(c->customer_uri);
	free(c->cert_type);
	free(c->types_json);
	free(c->fields_json);
	free(c);
}

static int
scm_open(const struct cfg_ca *cfg, const char *state_dir, struct ca **out, struct err *e)
{
	struct http_tls tls = { .ca_file = cfg->ca_file };
	struct ca *c;
	char *base = NULL;
	size_t n;
	int rc = LB_ERR;

	(void)state_dir;
	*out = NULL;
	if (cfg->url == NULL || cfg->customer_uri == NULL || cfg->login == NULL ||
	    cfg->password == NULL || cfg->cert_type == NULL)
		return err_set(e, LB_ECONFIG,
		    "scm %s: url, customer_uri, login, password and cert_type are required",
		    cfg->name);
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return err_set(e, LB_ERR, "scm %s: out of memory", cfg->name);
	c->name = xstrdup(cfg->name);
	c->login = xstrdup(cfg->login);
	c->password = xstrdup(cfg->password);
	c->customer_uri = xstrdup(cfg->customer_uri);
	c->cert_type = xstrdup(cfg->cert_type);
	base = xstrdup(cfg->url);
	if (c->name == NULL || c->login == NULL || c->password == NULL ||
	    c->customer_uri == NULL || c->cert_type == NULL || base == NULL) {
		err_set(e, LB_ERR, "scm %s: out of memory", cfg->name);
		goto out;
	}
	log_secret_add(c->password);
	/* Paths start with "/ssl/v1": the configured base ends at ".../api". */
	for (n = strlen(base); n > 0 && base[n - 1] == '/'; n--)
		base[n - 1] = '\0';
	c->http = http_client_new(c->name, base, &tls, cfg->timeout_s > 0 ? cfg->timeout_s : 30);
	if (c->http == NULL) {
		err_set(e, LB_ERR, "scm %s: cannot set up HTTP for %s", c->name, base);
		goto out;
	}
	c->org_id = cfg->org_id;
	c->term = cfg->term;
	c->poll_interval_s = cfg->poll_interval_s > 0 ? cfg->poll_interval_s : 10;
	c->poll_timeout_s = cfg->poll_timeout_s >= 0 ? cfg->poll_timeout_s : 600;
	*out = c;
	c = NULL;
	rc = 0;
out:
	free(base);
	scm_close(c);
	return rc;
}

/* Credentials and reachability: the types list needs a valid login; it
 * also checks that the configured cert_type (id or name) is offered. */
static int
scm_ping(struct ca *c, struct err *e)
{
	long id;
	int rc;

	if ((rc = fetch_cached(c, "/ssl/v1/types", &c->types_json, &c->types_len, e)) != 0)
		return rc;
	if ((rc = scm_type_lookup(c->name, c->types_json, c->types_len, c->cert_type, &id,
	    e)) != 0)
		return rc;
	c->cert_type_id = id;
	return scm_term_check(c->name, c->types_json, c->types_len, id, c->term, e);
}

/* The tenant's rules, before any key is made: the certificate type and
 * its terms (also for a numeric cert_type), and the mandatory custom
 * fields, which only the tenant knows. */
static int
scm_prepare(struct ca *c, const struct cfg_profile *p, struct err *e)
{
	int rc;

	if ((rc = fetch_cached(c, "/ssl/v1/types", &c->types_json, &c->types_len, e)) != 0)
		return rc;
	if ((rc = resolve_type(c, e)) != 0)
		return rc;
	if ((rc = scm_term_check(c->name, c->types_json, c->types_len, c->cert_type_id,
	    c->term, e)) != 0)
		return rc;
	if ((rc = fetch_cached(c, "/ssl/v1/customFields", &c->fields_json, &c->fields_len,
	    e)) != 0)
		return rc;
	return scm_custom_fields_check(c->name, p->name, c->fields_json, c->fields_len,
	    &p->scm, e);
}

static int
parse_ssl_id(struct ca *c, const struct http_resp *r, char **order_ref, struct err *e)
{
	json_t *j = json_loadb(r->body, r->body_len, 0, NULL), *id;
	int rc = 0;

	id = json_object_get(j, "sslId");
	if (json_is_integer(id) && json_integer_value(id) > 0)
		*order_ref = xasprintf("%lld", (long long)json_integer_value(id));
	else if (json_is_string(id) && scm_is_id(json_string_value(id)))
		*order_ref = xstrdup(json_string_value(id));
	else
		rc = err_set(e, LB_ERR, "scm %s: enroll answered without an sslId (HTTP %ld)",
		    c->name, r->status);
	if (rc == 0 && *order_ref == NULL)
		rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
	json_decref(j);
	return rc;
}

/* Sent once and never retried: a second enroll would order a second
 * certificate, and an enroll that timed out may still have been taken. */
static int
scm_submit(struct ca *c, const struct ca_request *req, char **order_ref, struct err *e)
{
	struct scm_enroll en = {
		.org_id = c->org_id, .term = c->term, .csr_pem = req->csr_pem,
		.names = req->names, .nnames = req->nnames,
		.common_name = req->common_name, .profile = req->profile,
		.tag = req->tag, .extra = req->p != NULL ? &req->p->scm : NULL,
	};
	struct http_resp r = {0};
	char *body = NULL;
	int rc;

	*order_ref = NULL;
	if ((rc = resolve_type(c, e)) != 0)
		goto out;
	en.cert_type = c->cert_type_id;
	if ((body = scm_enroll_body(&en)) == NULL) {
		rc = err_set(e, LB_ERR, "scm %s: cannot build the enroll request", c->name);
		goto out;
	}
	if ((rc = scm_call_once(c, "POST", "/ssl/v1/enroll", body, false, true, &r, e)) != 0) {
		/* Sent, but no answer read (reset, timeout: LB_EUNKNOWN from
		 * http_do; an unreadable answer: LB_ERR): SCM may have taken
		 * it, and the next run looks it up by its tag. */
		if (rc == LB_ERR)
			rc = e != NULL ? (e->code = LB_EUNKNOWN) : LB_EUNKNOWN;
		goto out;
	}
	if (r.status != 200 && r.status != 201) {
		rc = scm_http_error(c->name, r.status, r.body, r.body_len, e);
		/* a server error says nothing about whether it was taken */
		if (r.status >= 500)
			rc = e != NULL ? (e->code = LB_EUNKNOWN) : LB_EUNKNOWN;
		goto out;
	}
	/* taken, whatever the body says: an unreadable answer is no refusal */
	if ((rc = parse_ssl_id(c, &r, order_ref, e)) != 0)
		rc = e != NULL ? (e->code = LB_EUNKNOWN) : LB_EUNKNOWN;
	else
		log_info("scm %s: enrolled %s for profile %s", c->name, *order_ref,
		    req->profile ? req->profile : "?");
out:
	free(body);
	http_resp_free(&r);
	return rc;
}

/* Pages of the listing (size 200: the most pycm found served) read
 * before giving up on a common name with a very long history. */
#define LIST_PAGE 200
#define LIST_PAGES_MAX 50

static int
list_ids(struct ca *c, const char *cn, long **ids, long *nids, struct err *e)
{
	struct http_resp r = {0};
	char *esc = http_escape(cn), *path = NULL;
	long pos = 0, n, *page = NULL, *all = NULL, total = -1;
	int rc = 0;

	*ids = NULL;
	*nids = 0;
	for (int pg = 0; pg < LIST_PAGES_MAX; pg++) {
		const char *tc;

		free(path);
		path = esc != NULL ? xasprintf("/ssl/v1?commonName=%s&size=%d&position=%ld", esc,
		    LIST_PAGE, pos) : NULL;
		if (path == NULL) {
			rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
			goto out;
		}
		http_resp_free(&r);
		if ((rc = scm_call(c, "GET", path, NULL, true, &r, e)) != 0)
			goto out;
		if (r.status != 200) {
			rc = scm_http_error(c->name, r.status, r.body, r.body_len, e);
			goto out;
		}
		if ((n = scm_list_ids(r.body, r.body_len, &page)) < 0) {
			rc = err_set(e, LB_ERR, "scm %s: the certificate listing for %s is not a "
			    "JSON array", c->name, cn);
			goto out;
		}
		if (n > 0) {
			long *t = realloc(all, (size_t)(*nids + n) * sizeof(*all));

			if (t == NULL) {
				rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
				goto out;
			}
			all = t;
			memcpy(all + *nids, page, (size_t)n * sizeof(*all));
			*nids += n;
		}
		free(page);
		page = NULL;
		if ((tc = http_resp_header(&r, "x-total-count")) != NULL)
			total = strtol(tc, NULL, 10);
		pos += LIST_PAGE;
		/* without X-Total-Count, a short page is the last one */
		if (total >= 0 ? pos >= total : n < LIST_PAGE)
			break;
	}
	if (total >= 0 && pos < total) {
		rc = err_set(e, LB_ERR, "scm %s: %ld requests for %s, too many to look through",
		    c->name, total, cn);
		goto out;
	}
	*ids = all;
	all = NULL;
out:
	free(all);
	free(page);
	free(path);
	free(esc);
	http_resp_free(&r);
	return rc;
}

/* The enroll whose answer was lost carries req->tag in its comments. The
 * listing does not show comments, so each request for the common name is
 * read, newest first. */
static int
scm_find(struct ca *c, const struct ca_request *req, char **order_ref, struct err *e)
{
	struct http_resp r = {0};
	long *ids = NULL, nids = 0;
	char *path = NULL;
	int rc;

	*order_ref = NULL;
	if (req->tag == NULL || req->common_name == NULL)
		return err_set(e, LB_ENOTSUP, "scm %s: an untagged request cannot be looked up",
		    c->name);
	if ((rc = list_ids(c, req->common_name, &ids, &nids, e)) != 0)
		goto out;
	for (long i = 0; i < nids; i++) {
		free(path);
		http_resp_free(&r);
		if ((path = xasprintf("/ssl/v1/%ld", ids[i])) == NULL) {
			rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
			goto out;
		}
		if ((rc = scm_call(c, "GET", path, NULL, true, &r, e)) != 0)
			goto out;
		if (r.status != 200) {
			rc = scm_http_error(c->name, r.status, r.body, r.body_len, e);
			goto out;
		}
		if (scm_details_tagged(r.body, r.body_len, req->tag)) {
			if ((*order_ref = xasprintf("%ld", ids[i])) == NULL)
				rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
			goto out;
		}
	}
	rc = err_set(e, LB_ENOTFOUND, "scm %s: none of the %ld requests for %s carries ref %s",
	    c->name, nids, req->common_name, req->tag);
out:
	free(ids);
	free(path);
	http_resp_free(&r);
	return rc;
}

static bool
self_signed(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	bool yes = x != NULL && X509_check_issued(x, x) == X509_V_OK;

	X509_free(x);
	BIO_free(b);
	return yes;
}

/* The certificates of a PKCS#7 PEM bundle (format "base64", the
 * documented default, served by an instance that ignores ?format=). */
int
scm_pkcs7_split(const char *bundle, char ***out, size_t *nout, struct err *e)
{
	BIO *in = BIO_new_mem_buf(bundle, -1), *mem = NULL;
	PKCS7 *p7 = in != NULL ? PEM_read_bio_PKCS7(in, NULL, NULL, NULL) : NULL;
	STACK_OF(X509) *certs = NULL;
	char *pem = NULL;
	long len;
	int rc = LB_ERR;

	if (p7 == NULL) {
		err_set(e, LB_ERR, "collect answered a PKCS#7 bundle that does not parse");
		goto out;
	}
	if (PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	if ((mem = BIO_new(BIO_s_mem())) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	for (int i = 0; i < sk_X509_num(certs); i++)
		if (!PEM_write_bio_X509(mem, sk_X509_value(certs, i))) {
			err_set(e, LB_ERR, "cannot re-encode the PKCS#7 certificates");
			goto out;
		}
	if ((len = BIO_get_mem_data(mem, &pem)) <= 0) {
		err_set(e, LB_ERR, "collect answered a PKCS#7 bundle without certificates");
		goto out;
	}
	if ((pem = strndup(pem, (size_t)len)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	rc = x509_split_pem(pem, out, nout, e);
	free(pem);
out:
	PKCS7_free(p7);
	BIO_free(mem);
	BIO_free(in);
	return rc;
}

/* Leaf first, then issuers; a trailing root is dropped when an
 * intermediate remains, as a server never needs to send its trust anchor. */
static int
split_chain(struct ca *c, const char *bundle, char **cert_pem, char ***chain,
    size_t *nchain, struct err *e)
{
	char **v = NULL;
	size_t n = 0;
	int rc;

	if (strstr(bundle, "-----BEGIN CERTIFICATE-----") == NULL &&
	    strstr(bundle, "-----BEGIN PKCS7-----") != NULL)
		rc = scm_pkcs7_split(bundle, &v, &n, e);
	else
		rc = x509_split_pem(bundle, &v, &n, e);
	if (rc != 0)
		goto fail;
	if (n == 0) {
		rc = err_set(e, LB_ERR, "scm %s: collect returned no certificate", c->name);
		goto fail;
	}
	if ((rc = x509_order_chain(v, n, e)) != 0)
		goto fail;
	if (n > 2 && self_signed(v[n - 1])) {
		free(v[n - 1]);
		v[--n] = NULL;
	}
	*cert_pem = v[0];
	memmove(v, v + 1, (n - 1) * sizeof(*v));
	*nchain = n - 1;
	*chain = v;
	return 0;
fail:
	err_prefix(e, "scm %s", c->name);
	strv_free(v, n);
	return rc;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
collect_path(const struct ca *c, const char *order_ref)
{
	if (c->collect_path_form)
		return xasprintf("/ssl/v1/collect/%s/%s", order_ref, SCM_COLLECT_FORMAT);
	return xasprintf("/ssl/v1/collect/%s?format=%s", order_ref, SCM_COLLECT_FORMAT);
}

/* Reads of an order whose answer could not be read (cut off, above the
 * size cap, a certificate that does not parse) before the run gives up. */
#define COLLECT_UNREADABLE_MAX 3

/* rc (from the collect request or the reading of its answer) as an
 * unreadable answer: another read may do. Returns whether to read again;
 * when not, e holds why and its code says "unknown", so that the order is
 * kept and collected on a later run instead of being taken for refused. */
static bool
collect_unreadable(struct ca *c, const char *order_ref, int *unreadable, struct err *e)
{
	if (++*unreadable < COLLECT_UNREADABLE_MAX) {
		log_info("scm %s: the answer for %s could not be read (%s); reading it again",
		    c->name, order_ref, e != NULL ? e->msg : "?");
		return true;
	}
	err_prefix(e, "scm %s: certificate %s: %d answers could not be read, the order is "
	    "collected on the next run", c->name, order_ref, *unreadable);
	if (e != NULL)
		e->code = LB_EUNKNOWN;
	return false;
}

static int
scm_collect(struct ca *c, const struct ca_request *req, const char *order_ref,
    const struct ca_challenge *ch, char **cert_pem, char ***chain, size_t *nchain,
    struct err *e)
{
	struct http_resp r = {0};
	double deadline = now_s() + c->poll_timeout_s;
	char *path = NULL;
	int rc, tries = 0, unreadable = 0;

	(void)req;
	(void)ch;
	*cert_pem = NULL;
	*chain = NULL;
	*nchain = 0;
	if (!scm_is_id(order_ref))
		return err_set(e, LB_ERR, "scm %s: \"%s\" is not an SCM sslId", c->name, order_ref);
	for (;;) {
		http_resp_free(&r);
		memset(&r, 0, sizeof(r));
		free(path);
		if ((path = collect_path(c, order_ref)) == NULL)
			return err_set(e, LB_ERR, "scm %s: out of memory", c->name);
		tries++;
		/* http_do retried transport failures; LB_ERR is an answer
		 * that came but could not be read. */
		if ((rc = scm_call(c, "GET", path, NULL, true, &r, e)) == LB_ERR) {
			if (collect_unreadable(c, order_ref, &unreadable, e))
				continue;
			rc = LB_EUNKNOWN;
			goto out;
		}
		if (rc != 0)
			goto out;
		if (!c->collect_path_form && scm_collect_unserved(r.status, r.body, r.body_len)) {
			/* The current doc's query form; older instances and most
			 * clients use the path form (reference 2.4): try that. */
			log_info("scm %s: %s answered HTTP %ld; using /collect/{id}/{format}",
			    c->name, path, r.status);
			c->collect_path_form = true;
			continue;
		}
		if (r.status == 200 && !scm_collect_pending(r.status, r.body, r.body_len)) {
			rc = split_chain(c, r.body, cert_pem, chain, nchain, e);
			if (rc == LB_ERR && collect_unreadable(c, order_ref, &unreadable, e))
				continue;
			if (rc == LB_ERR)
				rc = LB_EUNKNOWN;
			goto out;
		}
		if (!scm_collect_pending(r.status, r.body, r.body_len)) {
			rc = scm_http_error(c->name, r.status, r.body, r.body_len, e);
			goto out;
		}
		if (now_s() + c->poll_interval_s > deadline) {
			struct err last = {0};

			scm_http_error(c->name, r.status, r.body, r.body_len, &last);
			rc = err_set(e, LB_EPENDING,
			    "scm %s: certificate %s not issued yet after %d tries in %d s (%s)",
			    c->name, order_ref, tries, c->poll_timeout_s, last.msg);
			goto out;
		}
		log_debug("scm %s: %s not collectable yet, next try in %d s", c->name,
		    order_ref, c->poll_interval_s);
		http_sleep_ms(c->poll_interval_s * 1000L);
	}
out:
	free(path);
	http_resp_free(&r);
	return rc;
}

static const char *
reason_text(int reason)
{
	switch (reason) {
	case REVOKE_UNSPECIFIED: return "unspecified";
	case REVOKE_KEY_COMPROMISE: return "keyCompromise";
	case REVOKE_AFFILIATION_CHANGED: return "affiliationChanged";
	case REVOKE_SUPERSEDED: return "superseded";
	case REVOKE_CESSATION: return "cessationOfOperation";
	}
	return NULL; /* SCM accepts only reasonCode 0, 1, 3, 4, 5 */
}

static int
revoke_body(struct ca *c, int reason, const char *rt, char **body)
{
	char *text = xasprintf("lbcert: %s", rt), num[8];
	json_t *j = NULL;

	snprintf(num, sizeof(num), "%d", reason);
	if (text != NULL)
		j = c->reason_as_string ?
		    json_pack("{s:s, s:s}", "reasonCode", num, "reason", text) :
		    json_pack("{s:i, s:s}", "reasonCode", reason, "reason", text);
	*body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	free(text);
	return *body != NULL ? 0 : -1;
}

/* reasonCode is an integer in the 25.5 REST doc and a string enum of the
 * same codes in the newer OpenAPI; which one a tenant binds is not
 * documented. The integer goes first; a backend that wants the string
 * refuses the body as -1002 "Cannot parse message body" (nothing
 * revoked), and the string form is sent then, and kept for the run. */
static int
scm_revoke(struct ca *c, const char *order_ref, const char *cert_pem, int reason,
    struct err *e)
{
	const char *rt = reason_text(reason);
	struct http_resp r = {0};
	char *path = NULL, *body = NULL, *desc = NULL;
	long code = 0;
	int rc;

	(void)cert_pem;
	if (!scm_is_id(order_ref))
		return err_set(e, LB_ERR, "scm %s: \"%s\" is not an SCM sslId", c->name, order_ref);
	if (rt == NULL)
		return err_set(e, LB_ERR, "scm %s: SCM cannot revoke with reason code %d; it takes "
		    "unspecified, keyCompromise, affiliationChanged, superseded, "
		    "cessationOfOperation", c->name, reason);
	if ((path = xasprintf("/ssl/v1/revoke/%s", order_ref)) == NULL) {
		rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
		goto out;
	}
	for (int attempt = 0;; attempt++) {
		free(body);
		free(desc);
		desc = NULL;
		http_resp_free(&r);
		if (revoke_body(c, reason, rt, &body) != 0) {
			rc = err_set(e, LB_ERR, "scm %s: out of memory", c->name);
			goto out;
		}
		/* A repeat after a lost answer gets -159 "already revoked": fine. */
		if ((rc = scm_call(c, "POST", path, body, true, &r, e)) != 0)
			goto out;
		if (r.status == 200 || r.status == 204)
			goto out;
		if (r.status != 400 || scm_error_parse(r.body, r.body_len, &code, &desc) != 0)
			break;
		if (code == -159) {
			log_info("scm %s: certificate %s was already revoked", c->name, order_ref);
			goto out;
		}
		if (code != -1002 || attempt > 0)
			break;
		c->reason_as_string = !c->reason_as_string;
		log_info("scm %s: revoke refused reasonCode as %s; sending it as %s", c->name,
		    c->reason_as_string ? "a number" : "a string",
		    c->reason_as_string ? "a string" : "a number");
	}
	rc = scm_http_error(c->name, r.status, r.body, r.body_len, e);
out:
	free(desc);
	free(path);
	free(body);
	http_resp_free(&r);
	return rc;
}

const struct ca_ops scm_ops = {
	.type = "sectigo-scm",
	.open = scm_open,
	.close = scm_close,
	.ping = scm_ping,
	.prepare = scm_prepare,
	.submit = scm_submit,
	.find = scm_find,
	.collect = scm_collect,
	.revoke = scm_revoke,
};

/* ACME order lookup after a newOrder whose answer was lost (RFC 8555
 * 7.1.2.1 orders list). */
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
	if ((rc = acme_post(c, url, NULL, false, NULL, &r, e)) != 0)
		goto out;
	if (r.status != 200) {
		rc = acme_problem(c, "orders list", &r, e);
		goto out;
	}
	n = acme_orders_parse(r.body, r.body_len, urls, ORDERS_PER_PAGE_MAX);
	/* the list is oldest first on the CAs seen; newest first here */
	for (size_t i = n; i-- > 0;) {
		if (req->used != NULL && req->used(req->used_ctx, urls[i]))
			continue;
		if ((rc = acme_post(c, urls[i], NULL, false, NULL, &o, e)) != 0)
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
int
acme_find(struct ca *c, const struct ca_request *req, char **order_ref, struct err *e)
{
	json_t *acct = NULL;
	struct http_resp r = { 0 };
	char *url = NULL, *next = NULL;
	int rc;

	*order_ref = NULL;
	if ((rc = acme_ensure_account(c, e)) != 0)
		return rc;
	if ((rc = acme_get_object(c, c->kid, "account", &acct, &r, e)) != 0)
		goto out;
	if (acme_jstr(acct, "orders") == NULL) {
		rc = err_set(e, LB_ENOTSUP, "acme %s: the account has no orders list",
		    c->cfg->name);
		goto out;
	}
	url = xstrdup(acme_jstr(acct, "orders"));
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

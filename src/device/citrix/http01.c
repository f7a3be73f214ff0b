/* Citrix ADC driver: ACME http-01 through the responder (see session.c). */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"
#include "device/citrix/citrix.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"
#include "util/mem.h"

/* http-01 is answered by responder policies, which the appliance skips
 * while the RESPONDER feature is off: the CA would see 404s and the order
 * would fail after it was placed. */
int
cx_responder_ready(struct device *d, const struct cfg_profile *p, struct err *e)
{
	json_t *items = NULL, *f, *v;
	bool on;
	size_t i;
	int rc;

	if ((rc = cx_get_items(d, "nsfeature", NULL, NULL, "features", &items, e)) != 0)
		return rc;
	f = json_array_get(items, 0);
	on = cx_flag_on(json_object_get(f, "responder"));
	json_array_foreach(json_object_get(f, "feature"), i, v)
		if (json_is_string(v) && strcasecmp(json_string_value(v), "RESPONDER") == 0)
			on = true;
	json_decref(items);
	if (!on)
		return err_set(e, LB_ERR, "%s: profile %s validates http-01 through the "
		    "responder, but the RESPONDER feature is disabled on %s; enable it "
		    "(enable ns feature RESPONDER) or use another challenge", d->cfg->name,
		    p->name, citrix_active_url(d));
	return 0;
}

/* --- http-01 through the responder --- */

static bool
b64url_ok(const char *s, bool dot)
{
	if (cx_str_empty(s) || strlen(s) > 512)
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && !(dot && *s == '.'))
			return false;
	return true;
}

/* Short, deterministic object names for a token: "lbcert_acme_<hash>_pol" and
 * "..._act" (the token itself may be 43+ characters). */
static int
http01_names(const char *token, char *pol, char *act, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (!EVP_Digest(token, strlen(token), md, &mdlen, EVP_sha256(), NULL))
		return -1;
	snprintf(pol, len, "lbcert_acme_%02x%02x%02x%02x%02x_pol", md[0], md[1], md[2],
	    md[3], md[4]);
	snprintf(act, len, "lbcert_acme_%02x%02x%02x%02x%02x_act", md[0], md[1], md[2],
	    md[3], md[4]);
	return 0;
}

/* Lowest free priority at the bind point; *done when pol is bound already. */
static int
free_priority(json_t *items, const char *pol, long *prio, bool *done)
{
	json_t *it;
	size_t i;
	long p, cand = 1;
	bool used;

	*done = false;
	json_array_foreach(items, i, it)
		if (cx_str_eq(nitro_json_str(it, "policyname"), pol))
			*done = true;
	do {
		used = false;
		json_array_foreach(items, i, it) {
			if (nitro_json_long(json_object_get(it, "priority"), &p) == 0 && p == cand) {
				used = true;
				cand++;
				break;
			}
		}
	} while (used);
	*prio = cand;
	return 0;
}

static int
http01_bind(struct device *d, const struct cfg_profile *p, const char *pol, struct err *e)
{
	const char *vs = p->challenge_vserver;
	json_t *items = NULL, *body;
	char what[200];
	long prio;
	bool done;
	int rc;

	snprintf(what, sizeof(what), "responder bindings of %s%s", vs != NULL ? "vserver " :
	    "global REQ_OVERRIDE", vs != NULL ? vs : "");
	if (vs != NULL)
		rc = cx_get_bindings(d, "lbvserver_responderpolicy_binding", vs, NULL, what, &items, e);
	else
		rc = cx_get_bindings(d, "responderglobal_responderpolicy_binding", NULL,
		    "args=type:REQ_OVERRIDE", what, &items, e);
	if (rc != 0)
		return rc;
	free_priority(items, pol, &prio, &done);
	json_decref(items);
	if (done)
		return 0;
	snprintf(what, sizeof(what), "bind responder policy %s to %s%s", pol,
	    vs != NULL ? "vserver " : "global REQ_OVERRIDE", vs != NULL ? vs : "");
	if (vs != NULL)
		body = json_pack("{s:{s:s, s:s, s:I, s:s}}", "lbvserver_responderpolicy_binding",
		    "name", vs, "policyname", pol, "priority", (json_int_t)prio,
		    "gotopriorityexpression", "END");
	else
		body = json_pack("{s:{s:s, s:I, s:s, s:s}}",
		    "responderglobal_responderpolicy_binding", "policyname", pol, "priority",
		    (json_int_t)prio, "gotopriorityexpression", "END", "type", "REQ_OVERRIDE");
	rc = cx_write(d, "PUT", vs != NULL ? "lbvserver_responderpolicy_binding" :
	    "responderglobal_responderpolicy_binding", NULL, body, what, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		rc = 0;
	}
	return rc;
}

int
citrix_http01_publish(struct device *d, const struct cfg_profile *p, const char *token,
    const char *keyauth, struct err *e)
{
	char pol[64], act[64], what[128], *target = NULL, *url = NULL, *qurl = NULL,
	    *rule = NULL;
	int rc;

	if (!b64url_ok(token, false) || !b64url_ok(keyauth, true))
		return err_set(e, LB_ERR, "%s: http-01: token or key authorization has "
		    "characters outside base64url", d->cfg->name);
	if (http01_names(token, pol, act, sizeof(pol)) != 0)
		return err_set(e, LB_ERR, "%s: SHA-256 failed", d->cfg->name);
	/* keyauth is base64url plus '.', nothing to escape inside the literal */
	target = xasprintf("\"HTTP/1.1 200 OK\\r\\nContent-Type: text/plain\\r\\n"
	    "Content-Length: %zu\\r\\nConnection: close\\r\\n\\r\\n%s\"", strlen(keyauth),
	    keyauth);
	url = xasprintf(ACME_PATH "%s", token);
	qurl = url != NULL ? nitro_pi_quote(url) : NULL;
	rule = qurl != NULL ? xasprintf("HTTP.REQ.URL.EQ(%s)", qurl) : NULL;
	if (target == NULL || rule == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		goto out;
	}
	snprintf(what, sizeof(what), "responder action %s", act);
	rc = cx_ignore_exists(cx_write(d, "POST", "responderaction", NULL,
	    json_pack("{s:{s:s, s:s, s:s}}", "responderaction", "name", act, "type",
	    "respondwith", "target", target), what, e), e);
	if (rc != 0)
		goto out;
	snprintf(what, sizeof(what), "responder policy %s", pol);
	rc = cx_ignore_exists(cx_write(d, "POST", "responderpolicy", NULL,
	    json_pack("{s:{s:s, s:s, s:s}}", "responderpolicy", "name", pol, "rule", rule,
	    "action", act), what, e), e);
	if (rc != 0)
		goto out;
	rc = http01_bind(d, p, pol, e);
out:
	free(target);
	free(url);
	free(qurl);
	free(rule);
	return rc;
}

int
citrix_http01_withdraw(struct device *d, const struct cfg_profile *p, const char *token,
    struct err *e)
{
	const char *vs = p->challenge_vserver;
	char pol[64], act[64], what[160], *args, *q;
	int rc;

	if (!b64url_ok(token, false))
		return err_set(e, LB_ERR, "%s: http-01: token has characters outside base64url",
		    d->cfg->name);
	if (http01_names(token, pol, act, sizeof(pol)) != 0)
		return err_set(e, LB_ERR, "%s: SHA-256 failed", d->cfg->name);
	args = nitro_args("policyname", pol, "type", vs == NULL ? "REQ_OVERRIDE" : NULL, NULL);
	q = args != NULL ? xasprintf("args=%s", args) : NULL;
	free(args);
	if (q == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	snprintf(what, sizeof(what), "unbind responder policy %s", pol);
	rc = cx_ignore_absent(cx_call(d, "DELETE", vs != NULL ?
	    "lbvserver_responderpolicy_binding" : "responderglobal_responderpolicy_binding", vs,
	    q, NULL, what, NULL, e), e);
	free(q);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "responder policy %s", pol);
	rc = cx_ignore_absent(cx_call(d, "DELETE", "responderpolicy", pol, NULL, NULL, what, NULL,
	    e), e);
	if (rc != 0)
		return rc;
	snprintf(what, sizeof(what), "responder action %s", act);
	return cx_ignore_absent(cx_call(d, "DELETE", "responderaction", act, NULL, NULL, what,
	    NULL, e), e);
}

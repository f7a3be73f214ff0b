/* BIG-IP driver: ACME http-01 through an iRule and a data group. */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "device/bigip/internal.h"
#include "util/log.h"
#include "util/mem.h"


/* ---- http-01 --------------------------------------------------------------------- */

static void
acme_names(struct device *d, const struct cfg_profile *p, char **dg, char **rule)
{
	char *obj = icontrol_safe_name(p->object_name);

	*dg = obj != NULL ? xasprintf("/%s/%s_acme_dg", d->part, obj) : NULL;
	*rule = obj != NULL ? xasprintf("/%s/%s_acme_rule", d->part, obj) : NULL;
	free(obj);
}

/* Rules list of the challenge virtual, read-modify-write: PATCH rules
 * replaces the whole list, so every other rule is kept. */
static int
vs_rules(struct device *d, const char *vsname, const char *rule, bool add, struct err *e)
{
	json_t *v = NULL, *rules, *nr = NULL, *x, *b = NULL;
	bool present = false;
	char *path = NULL;
	size_t i;
	int rc;

	if ((rc = bip_get_obj(d, "ltm/virtual", vsname, NULL, &v, e)) != 0)
		return rc;
	rules = json_object_get(v, "rules");
	nr = json_array();
	json_array_foreach(rules, i, x) {
		if (json_is_string(x) && strcmp(json_string_value(x), rule) == 0) {
			present = true;
			if (!add)
				continue;
		}
		json_array_append(nr, x);
	}
	if (add == present)
		goto out;
	if (add)
		json_array_append_new(nr, json_string(rule));
	b = json_pack("{s:O}", "rules", nr);
	path = bip_obj_path(d, "ltm/virtual", vsname, NULL);
	rc = bip_call(d, "PATCH", path, b, NULL, vsname, NULL, e);
out:
	json_decref(v);
	json_decref(nr);
	json_decref(b);
	free(path);
	return rc;
}

/* The records of data group cur (NULL: none) other than token's. */
static json_t *
records_but(json_t *cur, const char *token)
{
	json_t *recs = json_array(), *x;
	size_t i;

	json_array_foreach(json_object_get(cur, "records"), i, x) {
		const char *nm = bip_jstr(x, "name");
		if (nm != NULL && strcmp(nm, token) != 0)
			json_array_append(recs, x);
	}
	return recs;
}

int
bigip_http01_publish(struct device *d, const struct cfg_profile *p, const char *token,
    const char *keyauth, struct err *e)
{
	char *dg = NULL, *rule = NULL, *text = NULL, *path = NULL;
	json_t *b = NULL, *cur = NULL, *recs = NULL;
	int rc;

	if (p->challenge_vserver == NULL)
		return err_set(e, LB_ERR, "profile %s: http-01 needs challenge_vserver", p->name);
	if (!icontrol_b64url_ok(token, false) || !icontrol_b64url_ok(keyauth, true))
		return err_set(e, LB_ERR, "%s: http-01: the CA's token or key authorization has "
		    "characters outside base64url", bip_dname(d));
	acme_names(d, p, &dg, &rule);
	text = dg != NULL ? xasprintf(
	    "when HTTP_REQUEST priority 2 {\n"
	    "    if { [HTTP::path] starts_with \"/.well-known/acme-challenge/\" } {\n"
	    "        set t [getfield [HTTP::path] \"/\" 4]\n"
	    "        if { [class match $t equals %s] } {\n"
	    "            HTTP::respond 200 content [class match -value $t equals %s] "
	    "\"Content-Type\" \"text/plain\" \"Cache-Control\" \"no-store\"\n"
	    "            event disable\n"
	    "        }\n"
	    "    }\n"
	    "}\n", dg, dg) : NULL;
	if (text == NULL || rule == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	b = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "name", strrchr(dg, '/') + 1,
	    "partition", d->part, "type", "string", "records", "name", token, "data", keyauth);
	rc = bip_call(d, "POST", "/mgmt/tm/ltm/data-group/internal", b, NULL, dg, NULL, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		if ((rc = bip_get_obj(d, "ltm/data-group/internal", dg, NULL, &cur, e)) != 0)
			goto out;
		recs = records_but(cur, token);
		json_array_append_new(recs, json_pack("{s:s, s:s}", "name", token, "data", keyauth));
		json_decref(b);
		b = json_pack("{s:O}", "records", recs);
		path = bip_obj_path(d, "ltm/data-group/internal", dg, NULL);
		rc = bip_call(d, "PATCH", path, b, NULL, dg, NULL, e);
	}
	if (rc != 0)
		goto out;
	json_decref(b);
	b = json_pack("{s:s, s:s, s:s}", "name", strrchr(rule, '/') + 1, "partition", d->part,
	    "apiAnonymous", text);
	rc = bip_call(d, "POST", "/mgmt/tm/ltm/rule", b, NULL, rule, NULL, e);
	if (rc == LB_EEXIST) {
		err_clear(e);
		rc = 0;
	}
	if (rc == 0)
		rc = vs_rules(d, p->challenge_vserver, rule, true, e);
out:
	json_decref(b);
	json_decref(cur);
	json_decref(recs);
	free(dg);
	free(rule);
	free(text);
	free(path);
	return rc;
}

int
bigip_http01_withdraw(struct device *d, const struct cfg_profile *p, const char *token,
    struct err *e)
{
	char *dg = NULL, *rule = NULL, *path = NULL;
	json_t *cur = NULL, *recs = NULL, *b = NULL;
	int rc;

	if (p->challenge_vserver == NULL)
		return 0;
	if (!icontrol_b64url_ok(token, false))
		return err_set(e, LB_ERR, "%s: http-01: token has characters outside base64url",
		    bip_dname(d));
	acme_names(d, p, &dg, &rule);
	if (dg == NULL || rule == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	rc = bip_get_obj(d, "ltm/data-group/internal", dg, NULL, &cur, e);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = 0;
	} else if (rc != 0)
		goto out;
	recs = records_but(cur, token);
	if (json_array_size(recs) > 0) {
		b = json_pack("{s:O}", "records", recs);
		path = bip_obj_path(d, "ltm/data-group/internal", dg, NULL);
		rc = bip_call(d, "PATCH", path, b, NULL, dg, NULL, e);
		goto out;
	}
	/* last token: detach the rule, then delete rule and data group */
	if ((rc = vs_rules(d, p->challenge_vserver, rule, false, e)) != 0 ||
	    (rc = bip_del_obj(d, "ltm/rule", rule, e)) != 0)
		goto out;
	rc = bip_del_obj(d, "ltm/data-group/internal", dg, e);
out:
	json_decref(cur);
	json_decref(recs);
	json_decref(b);
	free(dg);
	free(rule);
	free(path);
	return rc;
}

/* Citrix ADC driver: back to an earlier certificate (rollback). The
 * certkey is updated back in place, as a renewal updates it forward, so
 * every binding switches at once. */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>

#include "device/citrix/citrix.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"

/* Whether the file ref names is still on the device: a retired one
 * makes the rollback impossible, which the user is told as such. */
static int
need_file(struct device *d, const char *what, const char *ref, struct err *e)
{
	bool there = false;
	int rc;

	if (cx_str_empty(ref))
		return err_set(e, LB_ERR, "%s: the previous certificate's references name no "
		    "%s file", d->cfg->name, what);
	if ((rc = cx_file_exists(d, ref, &there, e)) != 0)
		return rc;
	return there ? 0 : err_set(e, LB_ENOTFOUND, "%s: %s file %s of the previous "
	    "certificate is gone", d->cfg->name, what, ref);
}

int
citrix_restore(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e)
{
	json_t *o = json_loads(refs != NULL ? refs : "", 0, NULL), *ref = NULL;
	const char *cert = nitro_json_str(o, "cert"), *key = nitro_json_str(o, "key");
	const char *ca = nitro_json_str(o, "ca");
	json_t *ck = NULL;
	char *install = NULL;
	int rc;

	if (o == NULL) {
		rc = err_set(e, LB_ERR, "%s: references '%s' are not JSON", d->cfg->name,
		    refs != NULL ? refs : "");
		goto out;
	}
	if ((rc = need_file(d, "certificate", cert, e)) != 0 ||
	    (rc = need_file(d, "key", key, e)) != 0)
		goto out;
	if (!cx_str_empty(ca) && (rc = cx_get_certkey(d, ca, &ck, e)) != 0) {
		if (rc == LB_ENOTFOUND)
			err_prefix(e, "%s: the previous certificate's CA certkey is gone",
			    d->cfg->name);
		goto out;
	}
	/* activate's own form of an install: the certificate file and CA */
	ref = json_pack("{s:s, s:s?}", "cert", cert, "ca", cx_str_empty(ca) ? NULL : ca);
	if (ref == NULL || (install = json_dumps(ref, JSON_COMPACT)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		goto out;
	}
	log_info("%s: putting %s (key %s) back into certkey %s", d->cfg->name, cert, key,
	    p->object_name);
	rc = citrix_activate(d, p, key, install, false, e);
out:
	json_decref(o);
	json_decref(ref);
	json_decref(ck);
	free(install);
	return rc;
}

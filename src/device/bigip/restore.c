/* BIG-IP driver: back to an earlier certificate (rollback). The profile's
 * certKeyChain entry is swapped back in one transaction, as a renewal
 * swaps it forward, with the passphrase in the encrypted form the box
 * showed while that entry was in service (internal.h). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/bigip/internal.h"
#include "util/log.h"
#include "util/mem.h"

/* The object must still be there: one that was retired makes the
 * rollback impossible, which the user is told as such. */
static int
need_obj(struct device *d, const char *coll, const char *name, struct err *e)
{
	json_t *o = NULL;
	int rc;

	if (name == NULL)
		return err_set(e, LB_ERR, "%s: the previous certificate's references are "
		    "incomplete", bip_dname(d));
	rc = bip_get_fresh(d, coll, name, &o, e);
	bip_decref_wiped(o);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		rc = err_set(e, LB_ENOTFOUND, "%s: %s of the previous certificate is gone",
		    bip_dname(d), name);
	}
	return rc;
}

int
bigip_restore(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e)
{
	json_t *r = json_loads(refs != NULL ? refs : "", 0, NULL), *ckc = NULL;
	const char *cert = bip_jstr(r, "cert"), *key = bip_jstr(r, "key");
	const char *chain = bip_jstr(r, "chain"), *pass = bip_jstr(r, "passphrase");
	const char *slash;
	char pbuf[256], *prof_fp = NULL;
	int rc;

	if (!json_is_object(r)) {
		rc = err_set(e, LB_ERR, "%s: bad refs", bip_dname(d));
		goto out;
	}
	if (pass == NULL) {
		/* recorded before refs carried it: the key cannot be opened */
		rc = err_set(e, LB_ERR, "%s: the passphrase of the previous key %s is not "
		    "recorded; it cannot be put back", bip_dname(d), key != NULL ? key : "-");
		goto out;
	}
	if ((rc = need_obj(d, "sys/file/ssl-key", key, e)) != 0 ||
	    (rc = need_obj(d, "sys/file/ssl-cert", cert, e)) != 0 ||
	    (chain != NULL && (rc = need_obj(d, "sys/file/ssl-cert", chain, e)) != 0))
		goto out;
	prof_fp = icontrol_fullpath(d->part, bip_profile_name(p, pbuf, sizeof(pbuf)));
	slash = strrchr(key, '/');
	if (prof_fp == NULL || (ckc = bip_ckc_entry(slash != NULL ? slash + 1 : key, key, cert,
	    chain, pass)) == NULL) {
		rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		goto out;
	}
	log_info("%s: putting %s (key %s) back into profile %s", bip_dname(d), cert, key,
	    prof_fp);
	rc = bip_swap_chain(d, p, prof_fp, ckc, e);
out:
	bip_decref_wiped(ckc);
	json_decref(r);
	free(prof_fp);
	return rc;
}

/* Citrix ADC driver: the session's snapshot of the device — every certkey
 * and every vserver's certificate bindings, one listing each, read on
 * first use. A run over many profiles then costs the same few requests
 * whatever their number (two listings instead of three reads per
 * profile). Any write drops the snapshot (cx_call), so what a profile
 * changed is read afresh, and a lost answer can never leave a stale
 * picture behind. */
#include <jansson.h>
#include <string.h>

#include "device/citrix/citrix.h"
#include "util/log.h"

void
cx_snap_drop(struct device *d)
{
	json_decref(d->snap_certkeys);
	json_decref(d->snap_binds);
	d->snap_certkeys = NULL;
	d->snap_binds = NULL;
}

int
cx_snap_certkeys(struct device *d, json_t **items, struct err *e)
{
	int rc;

	*items = NULL;
	if (d->snap_certkeys == NULL &&
	    (rc = cx_get_bindings(d, "sslcertkey", NULL, NULL, "certkeys", &d->snap_certkeys,
	    e)) != 0)
		return rc;
	*items = json_incref(d->snap_certkeys);
	return 0;
}

/* One bulk listing of every vserver's certificate bindings (reference
 * §1.5: bulkbindings on a binding GET-all). */
int
cx_snap_bindings(struct device *d, json_t **items, struct err *e)
{
	int rc;

	*items = NULL;
	if (d->snap_binds == NULL &&
	    (rc = cx_get_bindings(d, "sslvserver_sslcertkey_binding", NULL, "bulkbindings=yes",
	    "certificate bindings", &d->snap_binds, e)) != 0)
		return rc;
	*items = json_incref(d->snap_binds);
	return 0;
}

int
cx_get_certkey(struct device *d, const char *name, json_t **ck, struct err *e)
{
	json_t *items = NULL, *it;
	size_t i;
	int rc;

	*ck = NULL;
	if ((rc = cx_snap_certkeys(d, &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		if (cx_str_eq(nitro_json_str(it, "certkey"), name)) {
			*ck = json_incref(it);
			break;
		}
	}
	json_decref(items);
	if (*ck == NULL)
		return err_set(e, LB_ENOTFOUND, "%s: certkey %s not found", d->cfg->name, name);
	return 0;
}

/* The vserver a bulk binding entry belongs to: builds name it differently. */
const char *
cx_binding_vserver(const json_t *b)
{
	const char *s = nitro_json_str(b, "vservername");

	return s != NULL ? s : nitro_json_str(b, "servername");
}

int
cx_certkey_bound(struct device *d, const char *obj, char ***bound, size_t *n,
    struct err *e)
{
	json_t *items = NULL, *it;
	size_t i;
	int rc;

	if ((rc = cx_snap_bindings(d, &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		const char *vs = cx_binding_vserver(it), *ck = nitro_json_str(it, "certkeyname");

		if (ck == NULL)
			ck = nitro_json_str(it, "certkey");
		if (vs == NULL || !cx_str_eq(ck, obj))
			continue;
		if (cx_strv_push(bound, n, vs) != 0) {
			rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
			break;
		}
	}
	json_decref(items);
	return rc;
}

/* Citrix ADC driver: the session's snapshot of the device — every certkey
 * and every vserver's certificate bindings, one listing each, read on
 * first use. A run over many profiles then costs the same few requests
 * whatever their number (two listings instead of three reads per
 * profile). A write marks the certkey or vserver it names as stale before
 * it is sent (cx_call), so a lost answer cannot leave a stale picture
 * behind; the next use of the listing reads those again one by one. A
 * profile's change thus costs a read of its own objects, not of the
 * device's whole listings; a write this file cannot place drops the
 * snapshot whole. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "device/citrix/citrix.h"
#include "util/log.h"

static void
names_clear(char ***v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

void
cx_snap_drop(struct device *d)
{
	json_decref(d->snap_certkeys);
	json_decref(d->snap_binds);
	d->snap_certkeys = NULL;
	d->snap_binds = NULL;
	names_clear(&d->stale_certkeys, &d->nstale_certkeys);
	names_clear(&d->stale_vservers, &d->nstale_vservers);
}

/* Writes that change neither listing: files, keys and CSRs, the http-01
 * responder objects, SSL profiles, save and HA file sync. */
static bool
touches_nothing(const char *resource)
{
	static const char *const none[] = {
		"systemfile", "sslrsakey", "sslecdsakey", "sslcertreq", "responderaction",
		"responderpolicy", "lbvserver_responderpolicy_binding",
		"responderglobal_responderpolicy_binding", "sslprofile", "nsconfig", "hafiles",
	};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
		if (strcmp(resource, none[i]) == 0)
			return true;
	return false;
}

static int
mark(char ***v, size_t *n, const char *name)
{
	char **nv;

	if (name == NULL || name[0] == '\0')
		return -1;
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], name) == 0)
			return 0;
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL)
		return -1;
	*v = nv;
	if ((nv[*n] = strdup(name)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

void
cx_snap_touch(struct device *d, const char *resource, const char *name, json_t *body)
{
	json_t *o = json_object_get(body, resource);
	int rc = -1;

	if (touches_nothing(resource))
		return;
	if (strcmp(resource, "sslcertkey") == 0) {
		rc = mark(&d->stale_certkeys, &d->nstale_certkeys,
		    name != NULL ? name : nitro_json_str(o, "certkey"));
		/* a link is shown on the linked certificate only, but cheap */
		if (rc == 0 && nitro_json_str(o, "linkcertkeyname") != NULL)
			rc = mark(&d->stale_certkeys, &d->nstale_certkeys,
			    nitro_json_str(o, "linkcertkeyname"));
	} else if (strcmp(resource, "sslvserver_sslcertkey_binding") == 0 ||
	    strcmp(resource, "sslvserver") == 0)
		rc = mark(&d->stale_vservers, &d->nstale_vservers,
		    name != NULL ? name : nitro_json_str(o, "vservername"));
	if (rc != 0)
		cx_snap_drop(d);
}

/* Reads the stale certkeys again into a copy of the listing (a caller
 * may still be walking the old one). */
static int
refresh_certkeys(struct device *d, struct err *e)
{
	json_t *items, *fresh = NULL, *it;
	size_t i;
	int rc = 0;

	if (d->nstale_certkeys == 0)
		return 0;
	if ((items = json_copy(d->snap_certkeys)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	while (rc == 0 && d->nstale_certkeys > 0) {
		const char *name = d->stale_certkeys[d->nstale_certkeys - 1];

		rc = cx_get_items(d, "sslcertkey", name, NULL, "certkey", &fresh, e);
		if (rc == LB_ENOTFOUND) {
			err_clear(e);
			rc = 0;
		}
		if (rc != 0)
			break;
		json_array_foreach(items, i, it)
			if (cx_str_eq(nitro_json_str(it, "certkey"), name)) {
				json_array_remove(items, i);
				break;
			}
		if (fresh != NULL && json_array_extend(items, fresh) != 0)
			rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		json_decref(fresh);
		fresh = NULL;
		if (rc == 0)
			free(d->stale_certkeys[--d->nstale_certkeys]);
	}
	/* kept on a failure too: the names read so far lost their marks */
	json_decref(d->snap_certkeys);
	d->snap_certkeys = items;
	return rc;
}

/* Reads the bindings of the stale vservers again, as refresh_certkeys. */
static int
refresh_bindings(struct device *d, struct err *e)
{
	json_t *items, *fresh = NULL, *it;
	size_t i;
	int rc = 0;

	if (d->nstale_vservers == 0)
		return 0;
	if ((items = json_copy(d->snap_binds)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	while (rc == 0 && d->nstale_vservers > 0) {
		const char *vs = d->stale_vservers[d->nstale_vservers - 1];

		if ((rc = cx_get_bindings(d, "sslvserver_sslcertkey_binding", vs, NULL,
		    "certificate bindings", &fresh, e)) != 0)
			break;
		for (i = json_array_size(items); i-- > 0;)
			if (cx_str_eq(cx_binding_vserver(json_array_get(items, i)), vs))
				json_array_remove(items, i);
		/* one vserver's entries may leave out whose they are; the bulk
		 * listing's always say */
		json_array_foreach(fresh, i, it)
			if (cx_binding_vserver(it) == NULL && json_is_object(it))
				json_object_set_new(it, "vservername", json_string(vs));
		if (json_array_extend(items, fresh) != 0)
			rc = err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
		json_decref(fresh);
		fresh = NULL;
		if (rc == 0)
			free(d->stale_vservers[--d->nstale_vservers]);
	}
	/* kept on a failure too: the names read so far lost their marks */
	json_decref(d->snap_binds);
	d->snap_binds = items;
	return rc;
}

int
cx_snap_certkeys(struct device *d, json_t **items, struct err *e)
{
	int rc;

	*items = NULL;
	if (d->snap_certkeys != NULL && (rc = refresh_certkeys(d, e)) != 0)
		return rc;
	if (d->snap_certkeys == NULL) {
		if ((rc = cx_get_bindings(d, "sslcertkey", NULL, NULL, "certkeys",
		    &d->snap_certkeys, e)) != 0)
			return rc;
		names_clear(&d->stale_certkeys, &d->nstale_certkeys);
	}
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
	if (d->snap_binds != NULL && (rc = refresh_bindings(d, e)) != 0)
		return rc;
	if (d->snap_binds == NULL) {
		if ((rc = cx_get_bindings(d, "sslvserver_sslcertkey_binding", NULL,
		    "bulkbindings=yes", "certificate bindings", &d->snap_binds, e)) != 0)
			return rc;
		names_clear(&d->stale_vservers, &d->nstale_vservers);
	}
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

/* BIG-IP driver: the session's snapshot of the unit — client-ssl profiles,
 * ssl-cert objects and virtual servers, one listing each, read on first
 * use. Reads of single objects of those types are answered from it, so a
 * run over many profiles costs the same few requests whatever their
 * number. Any write drops it (bip_call): what a profile changed is read
 * afresh, and a lost answer never leaves a stale picture behind. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "device/bigip/internal.h"
#include "util/mem.h"

/* The listed types, in the order of enum bip_snap_type. */
static const struct {
	const char *coll;
	const char *path;
	const char *what;
} snap_types[BIP_SNAP_N] = {
	{ "ltm/profile/client-ssl", "/mgmt/tm/ltm/profile/client-ssl", "client-ssl profiles" },
	{ "sys/file/ssl-cert", "/mgmt/tm/sys/file/ssl-cert", "ssl-cert objects" },
	/* with each virtual's profiles, which tell where a profile serves */
	{ "ltm/virtual", "/mgmt/tm/ltm/virtual?expandSubcollections=true", "virtual servers" },
};

void
bip_snap_drop(struct device *d)
{
	for (int i = 0; i < BIP_SNAP_N; i++) {
		json_decref(d->snap[i]);
		d->snap[i] = NULL;
	}
}

int
bip_snap_list(struct device *d, enum bip_snap_type t, json_t **items, struct err *e)
{
	json_t *r = NULL;
	int rc;

	*items = NULL;
	if (d->snap[t] == NULL) {
		if ((rc = bip_call(d, "GET", snap_types[t].path, NULL, NULL, snap_types[t].what,
		    &r, e)) != 0)
			return rc;
		d->snap[t] = json_incref(json_object_get(r, "items"));
		json_decref(r);
		if (d->snap[t] == NULL && (d->snap[t] = json_array()) == NULL)
			return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	}
	*items = json_incref(d->snap[t]);
	return 0;
}

/* The listed type of coll, or -1. */
static int
snap_type_of(const char *coll)
{
	for (int i = 0; i < BIP_SNAP_N; i++)
		if (strcmp(snap_types[i].coll, coll) == 0)
			return i;
	return -1;
}

/* bip_get_obj for a listed type: the object named name (full path or a
 * name in the device's partition) from the listing, as a 404 would say
 * when it is not there. */
int
bip_snap_get(struct device *d, const char *coll, const char *name, json_t **out,
    struct err *e)
{
	int t = snap_type_of(coll), rc;
	json_t *items = NULL, *it;
	char *fp;
	size_t i;

	*out = NULL;
	if (t < 0)
		return err_set(e, LB_ERR, "%s: %s is not a listed type", bip_dname(d), coll);
	if ((fp = icontrol_fullpath(d->part, name)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	if ((rc = bip_snap_list(d, (enum bip_snap_type)t, &items, e)) == 0) {
		json_array_foreach(items, i, it) {
			const char *f = bip_jstr(it, "fullPath");

			if (f != NULL && strcmp(f, fp) == 0) {
				*out = json_incref(it);
				break;
			}
		}
		if (*out == NULL)
			rc = err_set(e, LB_ENOTFOUND, "%s: %s %s was not found", bip_dname(d), coll,
			    fp);
	}
	json_decref(items);
	free(fp);
	return rc;
}

bool
bip_snap_listed(const char *coll)
{
	return snap_type_of(coll) >= 0;
}

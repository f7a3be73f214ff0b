/* BIG-IP driver: the session's snapshot of the unit — client-ssl profiles,
 * ssl-cert objects and virtual servers, one listing each, read on first
 * use. Reads of single objects of those types are answered from it, so a
 * run over many profiles costs the same few requests whatever their
 * number. A write marks the listed object it names as stale before it is
 * sent (bip_call), so a lost answer cannot leave a stale picture behind;
 * the next use of that listing reads the marked objects again one by one.
 * A profile's change thus costs a read of its own objects, not of the
 * unit's whole listings, and a write this file cannot place drops the
 * snapshot whole. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "device/bigip/internal.h"
#include "device/icontrol.h"
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

static int refresh(struct device *d, enum bip_snap_type t, struct err *e);

static void
stale_clear(struct bip_stale **v, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*v)[i].fp);
	free(*v);
	*v = NULL;
	*n = 0;
}

void
bip_snap_drop(struct device *d)
{
	for (int i = 0; i < BIP_SNAP_N; i++) {
		json_decref(d->snap[i]);
		d->snap[i] = NULL;
	}
	stale_clear(&d->stale, &d->nstale);
}

void
bip_snap_free(struct device *d)
{
	bip_snap_drop(d);
	stale_clear(&d->txn, &d->ntxn);
}

/* Adds (t, fp) to a list unless there; fp is taken. */
static int
stale_add(struct bip_stale **v, size_t *n, enum bip_snap_type t, char *fp)
{
	struct bip_stale *nv;

	for (size_t i = 0; i < *n; i++)
		if ((*v)[i].t == t && strcmp((*v)[i].fp, fp) == 0) {
			free(fp);
			return 0;
		}
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		free(fp);
		return -1;
	}
	*v = nv;
	nv[(*n)++] = (struct bip_stale){ t, fp };
	return 0;
}

/* A fresh listing of t answers for its stale objects too. */
static void
drop_marks(struct device *d, enum bip_snap_type t)
{
	size_t i = 0;

	while (i < d->nstale)
		if (d->stale[i].t == t) {
			free(d->stale[i].fp);
			d->stale[i] = d->stale[--d->nstale];
		} else
			i++;
}

static int
mark(struct device *d, enum bip_snap_type t, const char *fp, bool in_txn)
{
	char *a = xstrdup(fp), *b = in_txn ? xstrdup(fp) : NULL;

	if (a == NULL || (in_txn && b == NULL)) {
		free(a);
		free(b);
		return -1;
	}
	if (stale_add(&d->stale, &d->nstale, t, a) != 0) {
		free(b);
		return -1;
	}
	return in_txn ? stale_add(&d->txn, &d->ntxn, t, b) : 0;
}

int
bip_snap_list(struct device *d, enum bip_snap_type t, json_t **items, struct err *e)
{
	json_t *r = NULL;
	int rc;

	*items = NULL;
	if (d->snap[t] != NULL && (rc = refresh(d, t, e)) != 0)
		return rc;
	if (d->snap[t] == NULL) {
		if ((rc = bip_call(d, "GET", snap_types[t].path, NULL, NULL, snap_types[t].what,
		    &r, e)) != 0)
			return rc;
		drop_marks(d, t);
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

/* Collections whose writes change no listed object: keys, CSRs and files
 * behind the ssl-cert objects, the http-01 rule and data group (a virtual
 * takes a rule by a write of its own), util commands, save, config-sync. */
static bool
touches_nothing(const char *rest)
{
	static const char *const none[] = {
		"sys/crypto/key", "sys/crypto/csr", "sys/file/ssl-key", "ltm/rule",
		"ltm/data-group/internal", "util/", "sys/config", "cm/", "cm",
	};

	for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
		size_t n = strlen(none[i]);

		if (strncmp(rest, none[i], n) == 0 &&
		    (none[i][n - 1] == '/' || rest[n] == '\0' || rest[n] == '/' || rest[n] == '?'))
			return true;
	}
	return false;
}

/* The full path an object URL segment ("~P~name", up to '/', '?' or the
 * end) names, malloc'd; NULL when it is not one this file can read back
 * exactly (an escaped character). */
static char *
segment_fullpath(const char *seg)
{
	size_t n = strcspn(seg, "/?");
	char *fp;

	if (n < 2 || seg[0] != '~' || memchr(seg, '%', n) != NULL)
		return NULL;
	if ((fp = strndup(seg, n)) == NULL)
		return NULL;
	for (char *c = fp; *c != '\0'; c++)
		if (*c == '~')
			*c = '/';
	return fp;
}

/* What a write to path may change in the snapshot, marked before it is
 * sent: the listed object it names (in the URL, or by name and partition
 * in the body of a creation). A transaction's writes are marked again at
 * its commit. Anything else drops the snapshot. */
void
bip_snap_touch(struct device *d, const char *path, json_t *body, const char *coord)
{
	const char *rest, *after;
	char *fp = NULL;
	int t;

	if (strncmp(path, "/mgmt/tm/", 9) != 0)
		goto drop;
	rest = path + 9;
	if (touches_nothing(rest))
		return;
	if (strcmp(rest, "transaction") == 0) {
		stale_clear(&d->txn, &d->ntxn);
		return;
	}
	if (strncmp(rest, "transaction/", 12) == 0) {
		for (size_t i = 0; i < d->ntxn; i++)
			if (mark(d, d->txn[i].t, d->txn[i].fp, false) != 0)
				goto drop;
		return;
	}
	for (t = 0; t < BIP_SNAP_N; t++) {
		size_t n = strlen(snap_types[t].coll);

		if (strncmp(rest, snap_types[t].coll, n) == 0 &&
		    (rest[n] == '\0' || rest[n] == '/' || rest[n] == '?'))
			break;
	}
	if (t == BIP_SNAP_N)
		goto drop;
	after = rest + strlen(snap_types[t].coll);
	if (*after == '/')
		fp = segment_fullpath(after + 1);
	else if (json_is_string(json_object_get(body, "name")))
		fp = icontrol_fullpath(bip_jstr(body, "partition") != NULL ?
		    bip_jstr(body, "partition") : d->part, bip_jstr(body, "name"));
	if (fp == NULL || mark(d, (enum bip_snap_type)t, fp, coord != NULL) != 0)
		goto drop;
	free(fp);
	return;
drop:
	free(fp);
	bip_snap_drop(d);
}

/* Replaces the entry of items whose fullPath is fp with o (NULL: removes
 * it), or appends o. */
static int
put_entry(json_t *items, const char *fp, json_t *o)
{
	json_t *it;
	size_t i;

	json_array_foreach(items, i, it) {
		const char *f = bip_jstr(it, "fullPath");

		if (f != NULL && strcmp(f, fp) == 0)
			return o != NULL ? json_array_set(items, i, o) : json_array_remove(items, i);
	}
	return o != NULL ? json_array_append(items, o) : 0;
}

/* Reads the stale objects of type t again into a copy of its listing
 * (a caller may still be walking the old one). An object whose read
 * fails keeps its mark. */
static int
refresh(struct device *d, enum bip_snap_type t, struct err *e)
{
	json_t *items = NULL, *o;
	size_t i = 0;
	int rc = 0;

	while (i < d->nstale) {
		struct bip_stale *s = &d->stale[i];
		char *p;

		if (s->t != t) {
			i++;
			continue;
		}
		if (items == NULL && (items = json_copy(d->snap[t])) == NULL)
			return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		p = bip_obj_path(d, snap_types[t].coll, s->fp,
		    t == BIP_SNAP_VIRTUAL ? "?expandSubcollections=true" : NULL);
		o = NULL;
		rc = bip_call(d, "GET", p, NULL, NULL, s->fp, &o, e);
		free(p);
		if (rc == LB_ENOTFOUND) {
			err_clear(e);
			rc = 0;
		}
		if (rc == 0 && put_entry(items, s->fp, o) != 0)
			rc = err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
		json_decref(o);
		if (rc != 0)
			break;
		free(s->fp);
		d->stale[i] = d->stale[--d->nstale];
	}
	/* kept on a failure too: the objects read so far lost their marks */
	if (items != NULL) {
		json_decref(d->snap[t]);
		d->snap[t] = items;
	}
	return rc;
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

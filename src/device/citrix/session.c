/* Citrix ADC / NetScaler 13.0+ driver over NITRO (reference: citrix-nitro.md,
 * minimum sequences (a) first enrollment and (b) renewal in place). Keys and
 * CSRs are made on the appliance; files are never overwritten (new names
 * from the object name plus a tag or serial); the certkey named
 * object_name is updated in place on renewal so its bindings never move. */
#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/x509.h"
#include "device/citrix/citrix.h"
#include "device/ha.h"
#include "device/device.h"
#include "device/nitro.h"
#include "util/log.h"
#include "util/mem.h"

/* --- request helpers --- */

int
cx_call(struct device *d, const char *method, const char *resource, const char *name,
    const char *query, json_t *body, const char *what, json_t **out, struct err *e)
{
	char *path;
	int rc;

	if ((path = nitro_path(resource, name, query)) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	/* saving and syncing files change nothing that needs saving */
	if (strcmp(method, "GET") != 0 && strcmp(resource, "nsconfig") != 0 &&
	    strcmp(resource, "hafiles") != 0) {
		d->dirty = true;
		cx_snap_touch(d, resource, name, body);
	}
	rc = nitro_call(d->n, method, path, body, what, out, NULL, e);
	free(path);
	return rc;
}

/* Writes: body is consumed (json_decref'd). */
int
cx_write(struct device *d, const char *method, const char *resource,
    const char *query, json_t *body, const char *what, struct err *e)
{
	int rc;

	if (body == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", d->cfg->name);
	rc = cx_call(d, method, resource, NULL, query, body, what, NULL, e);
	json_decref(body);
	return rc;
}

/* GET resource[/name][?query] → the array of resource objects (new
 * reference). LB_ENOTFOUND passes through. */
int
cx_get_items(struct device *d, const char *resource, const char *name,
    const char *query, const char *what, json_t **items, struct err *e)
{
	json_t *resp = NULL;
	int rc;

	*items = NULL;
	if ((rc = cx_call(d, "GET", resource, name, query, NULL, what, &resp, e)) != 0)
		return rc;
	*items = nitro_items(resp, resource);
	json_decref(resp);
	return 0;
}

/* Like cx_get_items for bindings: a missing object means no bindings. */
int
cx_get_bindings(struct device *d, const char *resource, const char *name,
    const char *query, const char *what, json_t **items, struct err *e)
{
	int rc = cx_get_items(d, resource, name, query, what, items, e);

	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		*items = json_array();
		return 0;
	}
	return rc;
}

bool
cx_str_eq(const char *a, const char *b)
{
	return a != NULL && b != NULL && strcmp(a, b) == 0;
}

bool
cx_str_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

int
cx_ha_sync(struct device *d, struct err *e)
{
	json_t *body;

	if (!d->ha_pair)
		return 0;
	body = json_pack("{s:{s:[s]}}", "hafiles", "mode", "ssl");
	return cx_write(d, "POST", "hafiles", "action=sync", body, "HA file sync (ssl)", e);
}

/* --- open / close --- */

/* The HA state of the unit we are logged in to ("Primary", "Secondary",
 * ...), from the hanode entry with id 0; *pair when the listing has any
 * other node (the peer). */
static int
local_state(struct device *d, char *buf, size_t len, bool *pair, struct err *e)
{
	json_t *items = NULL, *it, *local = NULL;
	const char *st;
	size_t i;
	long id;
	int rc;

	buf[0] = '\0';
	*pair = false;
	if ((rc = cx_get_items(d, "hanode", NULL, NULL, "HA nodes", &items, e)) != 0)
		return rc;
	json_array_foreach(items, i, it) {
		if (nitro_json_long(json_object_get(it, "id"), &id) != 0)
			continue;
		if (id == 0 && local == NULL)
			local = it;
		else if (id != 0)
			*pair = true;
	}
	if (local == NULL)
		local = json_array_get(items, 0);
	if ((st = nitro_json_str(local, "state")) != NULL)
		snprintf(buf, len, "%s", st);
	json_decref(items);
	return 0;
}

static void citrix_close(struct device *d);

static int
probe_open(void *ctx, const char *url, enum unit_role *role, char *state, size_t len,
    struct err *e)
{
	struct device *d = ctx;
	const struct cfg_device *cfg = d->cfg;
	struct http_tls tls = { cfg->tls.ca_file, cfg->tls.pin_sha256, cfg->tls.insecure };
	int rc;

	rc = nitro_open(cfg->name, url, &tls, cfg->timeout_s > 0 ? cfg->timeout_s : 30,
	    cfg->username, cfg->password, &d->n, e);
	if (rc == 0 && (rc = local_state(d, state, len, &d->ha_pair, e)) != 0) {
		nitro_close(d->n);
		d->n = NULL;
	}
	if (rc != 0)
		return rc;
	*role = strcasecmp(state, "Primary") == 0 ? UNIT_ACTIVE :
	    strcasecmp(state, "Secondary") == 0 ? UNIT_STANDBY : UNIT_NONE;
	return 0;
}

static void
probe_drop(void *ctx)
{
	struct device *d = ctx;

	nitro_close(d->n);
	d->n = NULL;
}

static int
citrix_open(const struct cfg_device *cfg, struct device **out, struct err *e)
{
	struct device *d;
	int rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", cfg->name);
	d->cfg = cfg;
	rc = ha_pick_unit(cfg, &(struct unit_probe){ probe_open, probe_drop, d }, e);
	if (rc != 0) {
		citrix_close(d);
		return rc;
	}
	if (d->ha_pair)
		log_debug("%s: the unit is one of an HA pair", cfg->name);
	*out = d;
	return 0;
}

static void
citrix_close(struct device *d)
{
	if (d == NULL)
		return;
	cx_snap_drop(d);
	nitro_close(d->n);
	free(d);
}

const char *
citrix_active_url(struct device *d)
{
	return d != NULL && d->n != NULL ? nitro_url(d->n) : "";
}

/* --- small shared helpers --- */

int
cx_strv_push(char ***v, size_t *n, const char *s)
{
	char **nv, *dup;

	if ((dup = xstrdup(s)) == NULL)
		return -1;
	if ((nv = realloc(*v, (*n + 1) * sizeof(**v))) == NULL) {
		free(dup);
		return -1;
	}
	nv[(*n)++] = dup;
	*v = nv;
	return 0;
}

/* NITRO flags come as JSON booleans or as strings, by build. */
bool
cx_flag_on(const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;

	if (json_is_true(v))
		return true;
	return s != NULL && (strcasecmp(s, "true") == 0 || strcasecmp(s, "ENABLED") == 0 ||
	    strcasecmp(s, "YES") == 0 || strcasecmp(s, "ON") == 0);
}

/* Whether default SSL profiles are on (sslparameter.defaultprofile), read
 * once per session. */
int
cx_default_profile(struct device *d, bool *on, struct err *e)
{
	json_t *items = NULL;
	int rc;

	if (d->defprofile == TRI_UNKNOWN) {
		if ((rc = cx_get_items(d, "sslparameter", NULL, NULL, "SSL parameters", &items,
		    e)) != 0)
			return rc;
		d->defprofile = cx_flag_on(json_object_get(json_array_get(items, 0),
		    "defaultprofile")) ? TRI_YES : TRI_NO;
		json_decref(items);
	}
	*on = d->defprofile == TRI_YES;
	return 0;
}

/* Saves, then brings the HA peer's files level with ours (the config
 * itself reaches the peer by command propagation): after a save both units
 * could serve from what is saved. */
static int
citrix_save(struct device *d, struct err *e)
{
	int rc = cx_write(d, "POST", "nsconfig", "action=save",
	    json_pack("{s:{}}", "nsconfig"), "save running configuration", e);

	if (rc == 0)
		rc = cx_ha_sync(d, e);
	if (rc == 0)
		d->dirty = false;
	return rc;
}

static bool
citrix_unsaved(struct device *d)
{
	return d != NULL && d->dirty;
}

int
cx_ignore_exists(int rc, struct err *e)
{
	if (rc == LB_EEXIST) {
		err_clear(e);
		return 0;
	}
	return rc;
}

int
cx_ignore_absent(int rc, struct err *e)
{
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		return 0;
	}
	return rc;
}

const struct device_ops citrix_ops = {
	.type = "citrix-adc",
	.open = citrix_open,
	.close = citrix_close,
	.active_url = citrix_active_url,
	.cert_get = citrix_cert_get,
	.check_ready = citrix_check_ready,
	.key_create = citrix_key_create,
	.key_ref_for = citrix_key_ref_for,
	.key_usable = citrix_key_usable,
	.key_discard = citrix_key_discard,
	.cert_install = citrix_cert_install,
	.activate = citrix_activate,
	.restore = citrix_restore,
	.save = citrix_save,
	.unsaved = citrix_unsaved,
	.retire = citrix_retire,
	.http01_publish = citrix_http01_publish,
	.http01_withdraw = citrix_http01_withdraw,
	.inventory = citrix_inventory,
	.remove = citrix_remove,
};

/* BIG-IP driver: shared helpers, session (open on the active unit, close), save + config-sync, the ops table. */
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
#include "device/ha.h"
#include "util/log.h"
#include "util/mem.h"

#define SYNC_WAIT_S 120

/* ---- small helpers ---------------------------------------------------- */

const char *
bip_dname(struct device *d)
{
	return d->cfg->name;
}

/* Wipes every "passphrase" string inside v, then releases it: jansson's
 * free does not clear memory. */
static void
wipe_json(json_t *v)
{
	const char *k;
	json_t *x;
	size_t i;

	if (json_is_object(v)) {
		json_object_foreach(v, k, x) {
			if (strcmp(k, "passphrase") == 0 && json_is_string(x))
				OPENSSL_cleanse((char *)json_string_value(x),
				    strlen(json_string_value(x)));
			else
				wipe_json(x);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			wipe_json(x);
	}
}

void
bip_decref_wiped(json_t *v)
{
	if (v == NULL)
		return;
	wipe_json(v);
	json_decref(v);
}

const char *
bip_jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* An integer property; some TMOS versions send numbers as strings. */
json_int_t
bip_jint(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_string(v))
		return strtoll(json_string_value(v), NULL, 10);
	return 0;
}

/* "/mgmt/tm/<coll>/~P~name<suffix>" for a full path or plain name. */
char *
bip_obj_path(struct device *d, const char *coll, const char *name, const char *suffix)
{
	char *u = icontrol_url_name(d->part, name), *p;

	if (u == NULL)
		return NULL;
	p = xasprintf("/mgmt/tm/%s/%s%s", coll, u, suffix != NULL ? suffix : "");
	free(u);
	return p;
}

/* Whether a request that succeeded changed the running configuration:
 * util commands move files, a new transaction is empty until committed,
 * save and config-sync are what clears the flag. */
static bool
changes_config(const char *method, const char *path)
{
	return strcmp(method, "GET") != 0 && strncmp(path, "/mgmt/tm/util/", 14) != 0 &&
	    strcmp(path, "/mgmt/tm/transaction") != 0 && strcmp(path, "/mgmt/tm/sys/config") != 0 &&
	    strcmp(path, "/mgmt/tm/cm") != 0;
}

int
bip_call(struct device *d, const char *method, const char *path, json_t *body,
    const char *coord, const char *what, json_t **out, struct err *e)
{
	return bip_call_st(d, method, path, body, coord, what, out, NULL, e);
}

int
bip_call_st(struct device *d, const char *method, const char *path, json_t *body,
    const char *coord, const char *what, json_t **out, long *status, struct err *e)
{
	int rc;

	if (path == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", bip_dname(d));
	if (strcmp(method, "GET") != 0)
		bip_snap_touch(d, path, body, coord);
	rc = icontrol_call(d->ic, method, path, body, coord, what, out, status, e);
	/* a refused request may still have changed something (a transaction
	 * commit that failed half-way is rolled back by the box, but a lost
	 * answer is not known): count every non-read as a change unless it
	 * provably did nothing (404) */
	if (changes_config(method, path) && coord == NULL && rc != LB_ENOTFOUND)
		d->dirty = true;
	return rc;
}

int
bip_get_obj(struct device *d, const char *coll, const char *name, const char *query,
    json_t **out, struct err *e)
{
	char *p;
	int rc;

	if (query == NULL && bip_snap_listed(coll))
		return bip_snap_get(d, coll, name, out, e);
	p = bip_obj_path(d, coll, name, query);
	rc = bip_call(d, "GET", p, NULL, NULL, name, out, e);
	free(p);
	return rc;
}

int
bip_get_fresh(struct device *d, const char *coll, const char *name, json_t **out,
    struct err *e)
{
	char *p = bip_obj_path(d, coll, name, NULL);
	int rc = bip_call(d, "GET", p, NULL, NULL, name, out, e);

	free(p);
	return rc;
}

/* DELETE that counts "already gone" as done. */
int
bip_del_obj(struct device *d, const char *coll, const char *name, struct err *e)
{
	char *p = bip_obj_path(d, coll, name, NULL);
	int rc = bip_call(d, "DELETE", p, NULL, NULL, name, NULL, e);

	free(p);
	if (rc == LB_ENOTFOUND) {
		err_clear(e);
		return 0;
	}
	return rc;
}

const char *
bip_profile_name(const struct cfg_profile *p, char *buf, size_t len)
{
	if (p->client_ssl.profile != NULL && p->client_ssl.profile[0] != '\0')
		return p->client_ssl.profile;
	snprintf(buf, len, "%s_clientssl", p->object_name);
	return buf;
}

/* key_ref "/P/<base>.key" → "/P/<base>" (malloc'd), NULL when not ours. */
char *
bip_key_base(const char *key_ref)
{
	size_t n = key_ref != NULL ? strlen(key_ref) : 0;

	if (n < 5 || key_ref[0] != '/' || strcmp(key_ref + n - 4, ".key") != 0)
		return NULL;
	return strndup(key_ref, n - 4);
}

/* Length of an object tag at s, 0 when s does not start with one. The
 * engine's tags are "20261201130000-a1f3" (UTC time, '-', random hex);
 * what matters here is that a tag starts with a digit, so that profile
 * "web" never claims the objects of profile "web_api". */
static size_t
tag_len(const char *s)
{
	if (*s < '0' || *s > '9')
		return 0;
	return strspn(s, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-");
}

/* Whether fp is an object lbcert names for p: "/P/<object>_<tag>" plus
 * one of the suffixes it uses (NULL: any of ".key", ".crt", "_chain.crt"
 * and none, the CSR). */
static bool
name_ours_as(struct device *d, const struct cfg_profile *p, const char *fp,
    const char *suffix)
{
	static const char *const any[] = { "", ".key", ".crt", "_chain.crt" };
	char *obj = icontrol_safe_name(p->object_name), *prefix;
	bool ours = false;
	size_t n, t;

	prefix = obj != NULL ? xasprintf("/%s/%s_", d->part, obj) : NULL;
	if (prefix != NULL && fp != NULL && strncmp(fp, prefix, (n = strlen(prefix))) == 0 &&
	    (t = tag_len(fp + n)) > 0) {
		if (suffix != NULL)
			ours = strcmp(fp + n + t, suffix) == 0;
		for (size_t i = 0; suffix == NULL && i < sizeof(any) / sizeof(any[0]); i++)
			ours = ours || strcmp(fp + n + t, any[i]) == 0;
	}
	free(obj);
	free(prefix);
	return ours;
}

bool
bip_name_ours(struct device *d, const struct cfg_profile *p, const char *fp)
{
	return name_ours_as(d, p, fp, NULL);
}

/* Whether a cert-key-chain entry is one lbcert made for p (its key is
 * "/P/<object>_<tag>.key"). Anything else in the profile (an
 * administrator's entry for another key type) is not lbcert's to replace
 * or delete. */
bool
bip_entry_ours(struct device *d, const struct cfg_profile *p, json_t *entry)
{
	return name_ours_as(d, p, bip_jstr(entry, "key"), ".key");
}

struct passkey *
bip_find_key(struct device *d, const char *ref)
{
	for (size_t i = 0; i < d->nkeys; i++)
		if (strcmp(d->keys[i].ref, ref) == 0)
			return &d->keys[i];
	return NULL;
}

void
bip_forget_key(struct device *d, const char *ref)
{
	struct passkey *k = bip_find_key(d, ref);

	if (k == NULL)
		return;
	log_secret_remove(k->pass);
	secret_free(k->pass);
	free(k->ref);
	*k = d->keys[--d->nkeys];
}

/* ---- open / close ---------------------------------------------------------- */

static int
unit_status(struct icontrol *ic, const char *name, char *buf, size_t len, struct err *e)
{
	json_t *st = NULL;
	const char *s;
	int rc;

	rc = icontrol_call(ic, "GET", "/mgmt/tm/cm/failover-status", NULL, NULL,
	    "failover-status", &st, NULL, e);
	if (rc != 0)
		return rc;
	if ((s = icontrol_stats_desc(st, "status")) == NULL) {
		json_decref(st);
		return err_set(e, LB_ERR, "%s (%s): failover-status without a status",
		    name, icontrol_url(ic));
	}
	snprintf(buf, len, "%s", s);
	json_decref(st);
	return 0;
}

static int
probe_open(void *ctx, const char *url, enum unit_role *role, char *state, size_t len,
    struct err *e)
{
	struct device *d = ctx;
	const struct cfg_device *cfg = d->cfg;
	struct http_tls tls = { cfg->tls.ca_file, cfg->tls.pin_sha256, cfg->tls.insecure };
	int rc;

	rc = icontrol_open(cfg->name, url, &tls, cfg->timeout_s > 0 ? cfg->timeout_s : 30,
	    cfg->username, cfg->password, &d->ic, e);
	if (rc == 0 && (rc = unit_status(d->ic, cfg->name, state, len, e)) != 0) {
		icontrol_close(d->ic);
		d->ic = NULL;
	}
	if (rc != 0)
		return rc;
	/* OFFLINE and FORCED OFFLINE units pass no traffic and take a sync
	 * from the active one when they return: as good as a standby. */
	*role = strcmp(state, "ACTIVE") == 0 ? UNIT_ACTIVE :
	    strcmp(state, "STANDBY") == 0 || strstr(state, "OFFLINE") != NULL ? UNIT_STANDBY :
	    UNIT_NONE;
	return 0;
}

static void
probe_drop(void *ctx)
{
	struct device *d = ctx;

	icontrol_close(d->ic);
	d->ic = NULL;
}

static int
bigip_open(const struct cfg_device *cfg, struct device **out, struct err *e)
{
	struct device *d;
	int rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return err_set(e, LB_ERR, "%s: out of memory", cfg->name);
	d->cfg = cfg;
	d->part = cfg->partition != NULL && cfg->partition[0] ? cfg->partition : "Common";
	if ((rc = ha_pick_unit(cfg, &(struct unit_probe){ probe_open, probe_drop, d }, e)) != 0) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

static void
bigip_close(struct device *d)
{
	if (d == NULL)
		return;
	while (d->nkeys > 0)
		bip_forget_key(d, d->keys[0].ref);
	free(d->keys);
	bip_snap_free(d);
	icontrol_close(d->ic);
	free(d);
}

static const char *
bigip_active_url(struct device *d)
{
	return icontrol_url(d->ic);
}

/* ---- save / sync ---------------------------------------------------------------- */

/* The group to config-sync to when sync_group is not configured: the
 * device's HA from the device, not from lbcert.yaml. A unit belongs to one
 * sync-failover group at most; the listing shows the trust domain's groups,
 * so one sync-failover group is the answer and several are a question for
 * the administrator (a warning: set sync_group). NULL when standalone or
 * unknown; caller frees. Best effort: a failed read syncs nothing. */
static char *
find_sync_group(struct device *d)
{
	struct err e = {0};
	json_t *st = NULL, *dgs = NULL, *it;
	const char *mode, *s, *name = NULL;
	size_t i, n = 0;
	char *out = NULL;

	if (bip_call(d, "GET", "/mgmt/tm/cm/sync-status", NULL, NULL, "sync-status", &st,
	    &e) != 0) {
		log_debug("%s: %s", bip_dname(d), e.msg);
		return NULL;
	}
	mode = icontrol_stats_desc(st, "mode");
	s = icontrol_stats_desc(st, "status");
	if ((mode != NULL && strcmp(mode, "standalone") == 0) ||
	    (s != NULL && strcmp(s, "Standalone") == 0))
		goto out;
	if (bip_call(d, "GET", "/mgmt/tm/cm/device-group", NULL, NULL, "device groups",
	    &dgs, &e) != 0) {
		log_warn("%s: saved; the device groups could not be read, so the peer may "
		    "differ until a config-sync (or set sync_group): %s", bip_dname(d), e.msg);
		goto out;
	}
	json_array_foreach(json_object_get(dgs, "items"), i, it) {
		const char *t = bip_jstr(it, "type");

		if (t != NULL && strcmp(t, "sync-failover") == 0) {
			n++;
			name = bip_jstr(it, "name"); /* device groups live in /Common */
		}
	}
	if (n == 1 && name != NULL) {
		out = xstrdup(name);
		log_info("%s: syncing to device group %s, the unit's sync-failover group "
		    "(sync_group chooses another)", bip_dname(d), out);
	} else if (n > 1)
		log_warn("%s: saved, but there are %zu sync-failover device groups and no "
		    "sync_group is configured: the peer differs until a config-sync",
		    bip_dname(d), n);
out:
	json_decref(st);
	json_decref(dgs);
	return out;
}

/* config-sync to group, then poll until In Sync. */
static int
sync_to(struct device *d, const char *group, struct err *e)
{
	json_t *b = NULL, *st = NULL;
	char *arg = NULL;
	const char *s = NULL;
	time_t deadline;
	long wait_ms = 250;
	int rc;

	arg = xasprintf("config-sync to-group %s", group);
	b = json_pack("{s:s, s:s}", "command", "run", "utilCmdArgs", arg);
	rc = bip_call(d, "POST", "/mgmt/tm/cm", b, NULL, group, NULL, e);
	json_decref(b);
	free(arg);
	if (rc != 0)
		return rc;
	deadline = time(NULL) + SYNC_WAIT_S;
	for (;;) {
		if ((rc = bip_call(d, "GET", "/mgmt/tm/cm/sync-status", NULL, NULL, "sync-status",
		    &st, e)) != 0)
			return rc;
		s = icontrol_stats_desc(st, "status");
		if (s != NULL && strcmp(s, "In Sync") == 0) {
			json_decref(st);
			return 0;
		}
		if (s != NULL && strcmp(s, "Disconnected") == 0) {
			json_decref(st);
			return err_set(e, LB_ERR, "%s: config-sync to %s: the group is Disconnected",
			    bip_dname(d), group);
		}
		if (time(NULL) >= deadline) {
			rc = err_set(e, LB_ERR, "%s: config-sync to %s still \"%s\" after %d s",
			    bip_dname(d), group, s != NULL ? s : "?", SYNC_WAIT_S);
			json_decref(st);
			return rc;
		}
		json_decref(st);
		st = NULL;
		struct timespec ts = { wait_ms / 1000, (wait_ms % 1000) * 1000000L };
		nanosleep(&ts, NULL);
		if (wait_ms < 3000)
			wait_ms *= 2;
	}
}

/* sys config save, then config-sync to the group (sync_group, or the
 * unit's one sync-failover group) until it reports In Sync. */
static int
save_sync(struct device *d, struct err *e)
{
	json_t *b;
	char *group;
	int rc;

	b = json_pack("{s:s}", "command", "save");
	rc = bip_call(d, "POST", "/mgmt/tm/sys/config", b, NULL, "sys config save", NULL, e);
	json_decref(b);
	if (rc != 0)
		return rc;
	if (d->cfg->sync_group != NULL && d->cfg->sync_group[0] != '\0')
		group = xstrdup(d->cfg->sync_group);
	else if ((group = find_sync_group(d)) == NULL)
		return 0;
	rc = sync_to(d, group, e);
	free(group);
	return rc;
}


static int
bigip_save(struct device *d, struct err *e)
{
	int rc = save_sync(d, e);

	/* a sync that did not finish leaves the peer behind: the engine's
	 * end-of-run check (unsaved) then tries again */
	d->dirty = rc != 0;
	return rc;
}

static bool
bigip_unsaved(struct device *d)
{
	return d->dirty;
}

const struct device_ops bigip_ops = {
	.type = "f5-bigip",
	.open = bigip_open,
	.close = bigip_close,
	.active_url = bigip_active_url,
	.cert_get = bigip_cert_get,
	.check_ready = bigip_check_ready,
	.key_create = bigip_key_create,
	.key_ref_for = bigip_key_ref_for,
	.key_usable = bigip_key_usable,
	.key_discard = bigip_key_discard,
	.cert_install = bigip_cert_install,
	.activate = bigip_activate,
	.restore = bigip_restore,
	.save = bigip_save,
	.unsaved = bigip_unsaved,
	.retire = bigip_retire,
	.http01_publish = bigip_http01_publish,
	.http01_withdraw = bigip_http01_withdraw,
	.inventory = bigip_inventory,
	.remove = bigip_remove,
};

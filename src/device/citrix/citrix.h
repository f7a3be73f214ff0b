/* Internal to the Citrix ADC driver: the device state and the helpers
 * its files share (prefix cx_). Nothing here is part of the device
 * interface, which is citrix_ops alone. */
#ifndef LB_CITRIX_INT_H
#define LB_CITRIX_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "device/device.h"
#include "device/nitro.h"

#define SSL_DIR "/nsconfig/ssl"
#define NOTIFY_DAYS 30
#define ACME_PATH "/.well-known/acme-challenge/"

enum tristate { TRI_UNKNOWN, TRI_NO, TRI_YES };

struct device {
	const struct cfg_device *cfg;
	struct nitro *n;
	/* From the unit's own hanode listing, not from the configured peers:
	 * a pair is often managed through one address (a floating management
	 * IP), and its secondary still needs the files. */
	bool ha_pair;
	/* A write since the last successful save (files included: a save also
	 * syncs them to the HA peer). Set before the request is sent, as a lost
	 * answer may still have changed the device. */
	bool dirty;
	/* `set ssl parameter -defaultProfile ENABLED`: SSL settings live on the
	 * vserver's SSL profile, not on the vserver. */
	enum tristate defprofile;
	/* The snapshot (snapshot.c): listings read once; what a write may
	 * have changed since is named here and read again on next use. */
	json_t *snap_certkeys;
	json_t *snap_binds;
	char **stale_certkeys;
	size_t nstale_certkeys;
	char **stale_vservers; /* whose certificate bindings */
	size_t nstale_vservers;
};

/* --- session.c: requests, login and HA, save --- */

int
cx_call(struct device *d, const char *method, const char *resource, const char *name,
    const char *query, json_t *body, const char *what, json_t **out, struct err *e);

/* Writes: body is consumed (json_decref'd). */
int
cx_write(struct device *d, const char *method, const char *resource,
    const char *query, json_t *body, const char *what, struct err *e);

/* GET resource[/name][?query] → the array of resource objects (new
 * reference). LB_ENOTFOUND passes through. */
int
cx_get_items(struct device *d, const char *resource, const char *name,
    const char *query, const char *what, json_t **items, struct err *e);

/* Like cx_get_items for bindings: a missing object means no bindings. */
int
cx_get_bindings(struct device *d, const char *resource, const char *name,
    const char *query, const char *what, json_t **items, struct err *e);

bool
cx_str_eq(const char *a, const char *b);

bool
cx_str_empty(const char *s);

int
cx_ha_sync(struct device *d, struct err *e);

const char *
citrix_active_url(struct device *d);

int
cx_strv_push(char ***v, size_t *n, const char *s);

/* NITRO flags come as JSON booleans or as strings, by build. */
bool
cx_flag_on(const json_t *v);

/* Whether default SSL profiles are on (sslparameter.defaultprofile), read
 * once per session. */
int
cx_default_profile(struct device *d, bool *on, struct err *e);

int
cx_ignore_exists(int rc, struct err *e);

int
cx_ignore_absent(int rc, struct err *e);

/* --- snapshot.c: one listing per object type, on first use --- */

/* Every certkey / every vserver certificate binding (new references). */
int
cx_snap_certkeys(struct device *d, json_t **items, struct err *e);

int
cx_snap_bindings(struct device *d, json_t **items, struct err *e);

/* Marks what a write to resource (name or body) may change, before it
 * is sent; a write the snapshot cannot place drops it. */
void
cx_snap_touch(struct device *d, const char *resource, const char *name, json_t *body);

/* Forgets the snapshot. */
void
cx_snap_drop(struct device *d);

/* The certkey object (new reference); LB_ENOTFOUND when absent. */
int
cx_get_certkey(struct device *d, const char *name, json_t **ck, struct err *e);

/* The vservers certkey obj is bound to (appended to *bound, malloc'd). */
int
cx_certkey_bound(struct device *d, const char *obj, char ***bound, size_t *n,
    struct err *e);

const char *
cx_binding_vserver(const json_t *b);

/* --- files.c: systemfile --- */

/* Whether two file references name the same file (bare names live in
 * /nsconfig/ssl, which is also /flash/nsconfig/ssl). */
bool
cx_file_same(const char *a, const char *b);

int
cx_file_get(struct device *d, const char *ref, char **content, size_t *len, struct err *e);

/* Whether a file exists, from the directory listing (which carries no
 * content: a private key is never downloaded just to see it is there). */
int
cx_file_exists(struct device *d, const char *ref, bool *exists, struct err *e);

/* Uploads name (in /nsconfig/ssl); a file of that name with the same
 * content counts as done, another content is an error (never overwrite). */
int
cx_file_put(struct device *d, const char *name, const char *content, struct err *e);

/* Deletes a file; an absent file is fine. */
int
cx_file_del(struct device *d, const char *ref, struct err *e);

/* The CSR made with a key file: same stem, ".csr". */
char *
cx_csr_of(const char *key_ref);

/* --- keys.c: readiness, keys and CSRs --- */

int
citrix_check_ready(struct device *d, const struct cfg_profile *p, struct err *e);

int
citrix_key_create(struct device *d, const struct cfg_profile *p, const char *tag,
    char **key_ref, char **csr_pem, struct err *e);

char *
citrix_key_ref_for(struct device *d, const struct cfg_profile *p, const char *tag);

bool
citrix_key_usable(struct device *d, const struct cfg_profile *p, const char *key_ref);

int
citrix_key_discard(struct device *d, const struct cfg_profile *p, const char *key_ref,
    struct err *e);

/* --- install.c: install and activate --- */

int
cx_certkey_unlink(struct device *d, const char *from, struct err *e);

int
citrix_cert_install(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *cert_pem, char *const *chain, size_t nchain, char **install_ref,
    struct err *e);

int
citrix_activate(struct device *d, const struct cfg_profile *p, const char *key_ref,
    const char *install_ref, bool first, struct err *e);

/* --- inventory.c: installed certificate, retire, remove, inventory --- */

int
citrix_cert_get(struct device *d, const struct cfg_profile *p,
    struct device_cert *out, struct err *e);

int
citrix_retire(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e);

int
citrix_remove(struct device *d, const struct cfg_profile *p, struct err *e);

int
citrix_inventory(struct device *d, struct device_inv **out, size_t *n, struct err *e);

/* --- restore.c: back to an earlier certificate --- */

int
citrix_restore(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e);

/* --- http01.c: ACME http-01 through the responder --- */

/* http-01 is answered by responder policies, which the appliance skips
 * while the RESPONDER feature is off: the CA would see 404s and the order
 * would fail after it was placed. */
int
cx_responder_ready(struct device *d, const struct cfg_profile *p, struct err *e);

int
citrix_http01_publish(struct device *d, const struct cfg_profile *p, const char *token,
    const char *keyauth, struct err *e);

int
citrix_http01_withdraw(struct device *d, const struct cfg_profile *p, const char *token,
    struct err *e);

#endif

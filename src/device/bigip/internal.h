/* F5 BIG-IP driver over iControl REST, internal header (TMOS 14+ object names).
 *
 * Objects per certificate, base = <object_name>_<tag>:
 *   key  /P/<base>.key        made on the box, security-type password
 *   csr  /P/<base>            made with the key (gen-csr)
 *   cert /P/<base>.crt        leaf
 *   cert /P/<base>_chain.crt  intermediates bundle (when there are any)
 * and one client-ssl profile per lbcert profile, attached clientside to
 * each listed virtual. Renewal repoints the profile's certKeyChain.
 *
 * The key passphrase (SPEC §1.3) lives only in this process: 32 bytes from
 * RAND_bytes, base64url, registered with the log redactor, wiped with
 * OPENSSL_cleanse at key_discard/close. A key made by another process has
 * no usable passphrase (key_usable is false).
 *
 * The refs of a certificate (device_cert.refs) carry its entry's passphrase
 * in the encrypted form the box shows ("$M$...", under the unit's master
 * key, as in its saved configuration), so that restore can put the entry
 * back after the passphrase itself is gone.
 *
 * Files: session.c (helpers, open/close, save + config-sync, the ops
 * table), snapshot.c (listings read once per session), keys.c (key +
 * CSR), install.c (install, activate, retire, remove), restore.c
 * (rollback), inventory.c (cert_get, inventory), http01.c. */
#ifndef LB_DEVICE_BIGIP_INTERNAL_H
#define LB_DEVICE_BIGIP_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "device/device.h"
#include "device/icontrol.h"
#include "util/err.h"

struct passkey {
	char *ref;
	char *pass;
};

/* The types snapshot.c lists once per session. */
enum bip_snap_type { BIP_SNAP_CLIENTSSL, BIP_SNAP_SSLCERT, BIP_SNAP_VIRTUAL, BIP_SNAP_N };

struct device {
	const struct cfg_device *cfg;
	struct icontrol *ic;
	const char *part;
	struct passkey *keys;
	size_t nkeys;
	bool dirty;        /* running config changed since the last save */
	json_t *snap[BIP_SNAP_N]; /* listings, NULL until read */
	/* Listed objects a write may have changed since (snapshot.c): read
	 * again one by one before their listing is next used. */
	struct bip_stale *stale;
	size_t nstale;
	/* Objects written inside the open transaction: stale again when it
	 * is committed. */
	struct bip_stale *txn;
	size_t ntxn;
};

struct bip_stale {
	enum bip_snap_type t;
	char *fp;
};

/* Helpers shared by the driver's files (session.c unless noted). */
const char *bip_dname(struct device *d);
void bip_decref_wiped(json_t *v);
const char *bip_jstr(json_t *o, const char *k);
json_int_t bip_jint(json_t *o, const char *k);
char *bip_obj_path(struct device *d, const char *coll, const char *name,
    const char *suffix);
int bip_call(struct device *d, const char *method, const char *path, json_t *body,
    const char *coord, const char *what, json_t **out, struct err *e);
/* bip_call that also gives the HTTP status (0 when none). */
int bip_call_st(struct device *d, const char *method, const char *path, json_t *body,
    const char *coord, const char *what, json_t **out, long *status, struct err *e);
int bip_get_obj(struct device *d, const char *coll, const char *name,
    const char *query, json_t **out, struct err *e);
/* bip_get_obj past the snapshot: what the unit says now (before deleting). */
int bip_get_fresh(struct device *d, const char *coll, const char *name, json_t **out,
    struct err *e);
int bip_del_obj(struct device *d, const char *coll, const char *name, struct err *e);
const char *bip_profile_name(const struct cfg_profile *p, char *buf, size_t len);
char *bip_key_base(const char *key_ref);
bool bip_name_ours(struct device *d, const struct cfg_profile *p, const char *fp);
bool bip_entry_ours(struct device *d, const struct cfg_profile *p, json_t *entry);
/* The upload that ssl-cert `name` (no partition) is made from: "<name>.pem",
 * malloc'd. */
char *bip_upload_name(const char *name);
/* Removes the uploads of "/P/<base>.crt" and "/P/<base>_chain.crt" from
 * the upload directory; a missing file counts as removed. */
int bip_drop_uploads(struct device *d, const char *base, struct err *e);
struct passkey *bip_find_key(struct device *d, const char *ref);
void bip_forget_key(struct device *d, const char *ref);

/* snapshot.c: one listing per type (new references). A write marks what
 * it may have changed (bip_snap_touch, from bip_call), and only that is
 * read again; a write the snapshot cannot place drops it whole. */
int bip_snap_list(struct device *d, enum bip_snap_type t, json_t **items, struct err *e);
int bip_snap_get(struct device *d, const char *coll, const char *name, json_t **out,
    struct err *e);
bool bip_snap_listed(const char *coll);
void bip_snap_drop(struct device *d);
/* bip_snap_drop, and the open transaction's marks: when the session ends. */
void bip_snap_free(struct device *d);
void bip_snap_touch(struct device *d, const char *path, json_t *body, const char *coord);

/* install.c: a certKeyChain entry (pass: the passphrase, or the encrypted
 * form the box shows, which it takes back as such); the renewal swap of
 * p's entry in profile prof_fp for ckc (NULL: p's entry only goes), one
 * transaction. */
json_t *bip_ckc_entry(const char *base_name, const char *key, const char *cert,
    const char *chain, const char *pass);
int bip_swap_chain(struct device *d, const struct cfg_profile *p, const char *prof_fp,
    json_t *ckc, struct err *e);

/* Device operations (bigip_ops in session.c). */
char *bigip_key_ref_for(struct device *d, const struct cfg_profile *p, const char *tag);
int bigip_key_create(struct device *d, const struct cfg_profile *p, const char *tag,
    char **key_ref, char **csr_pem, struct err *e);
bool bigip_key_usable(struct device *d, const struct cfg_profile *p, const char *key_ref);
/* Whether p's client-ssl profile names key_ref in its certKeyChain. */
int bip_profile_holds_key(struct device *d, const struct cfg_profile *p, const char *key_ref,
    bool *holds, struct err *e);
int bigip_key_discard(struct device *d, const struct cfg_profile *p,
    const char *key_ref, struct err *e);
int bigip_cert_install(struct device *d, const struct cfg_profile *p,
    const char *key_ref, const char *cert_pem, char *const *chain, size_t nchain,
    char **install_ref, struct err *e);
int bigip_check_ready(struct device *d, const struct cfg_profile *p, struct err *e);
int bigip_activate(struct device *d, const struct cfg_profile *p,
    const char *key_ref, const char *install_ref, bool first, struct err *e);
/* restore.c */
int bigip_restore(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e);
int bigip_retire(struct device *d, const struct cfg_profile *p, const char *refs,
    struct err *e);
int bigip_remove(struct device *d, const struct cfg_profile *p, struct err *e);
int bigip_cert_get(struct device *d, const struct cfg_profile *p,
    struct device_cert *out, struct err *e);
int bigip_inventory(struct device *d, struct device_inv **out, size_t *n, struct err *e);
int bigip_http01_publish(struct device *d, const struct cfg_profile *p,
    const char *token, const char *keyauth, struct err *e);
int bigip_http01_withdraw(struct device *d, const struct cfg_profile *p,
    const char *token, struct err *e);

#endif

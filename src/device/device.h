/* What the engine needs from an appliance, in the engine's words. A driver
 * is one struct device_ops plus its private state behind struct device.
 * Every operation that changes the device must be safe to repeat after a
 * crash (a resumed run calls it again with the same arguments): an object
 * that already exists with the same content counts as done. */
#ifndef LB_DEVICE_H
#define LB_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "util/err.h"

struct device;

/* The certificate installed for a profile, as the device reports it. */
struct device_cert {
	char *object;      /* certkey / ssl-cert name */
	char *cert_pem;    /* the leaf as installed */
	char *serial;      /* hex, lower case, no leading zeros */
	time_t not_before;
	time_t not_after;
	char **names;      /* DNS SANs */
	size_t nnames;
	char key_desc[24]; /* "rsa:2048", "ecdsa:P-256" */
	char **bound;      /* virtual servers it serves */
	size_t nbound;
	char *refs;        /* driver's opaque description of every object
			    * behind it (files, keys, chain), for retire()
			    * and restore() */
};
void device_cert_free(struct device_cert *c);

/* One certificate on the device, managed by lbcert or not (inventory). */
struct device_inv {
	char *name;
	char *serial;
	char *subject_cn;
	time_t not_after;
	char **bound;
	size_t nbound;
	bool is_ca;        /* an intermediate/root object */
};
void device_inv_free(struct device_inv *v, size_t n);

struct device_ops {
	const char *type;  /* "citrix-adc", "f5-bigip" */

	/* Logs in on the HA primary/active unit among url and peers. */
	int (*open)(const struct cfg_device *cfg, struct device **out, struct err *e);
	/* Logs out and frees; NULL is fine. */
	void (*close)(struct device *d);
	/* Which unit is in use ("https://..."), for messages. */
	const char *(*active_url)(struct device *d);

	/* The profile's installed certificate; LB_ENOTFOUND when none. */
	int (*cert_get)(struct device *d, const struct cfg_profile *p,
	    struct device_cert *out, struct err *e);

	/* Read-only: whether the profile can be put in service here (every
	 * listed virtual server exists, nothing of the administrator's stands
	 * in the way). The engine asks before it makes a key, so a profile that
	 * would fail at activation costs no certificate. */
	int (*check_ready)(struct device *d, const struct cfg_profile *p, struct err *e);

	/* Makes a new key pair and a CSR on the device. tag makes the object
	 * names unique (the engine passes a UTC timestamp and a random suffix,
	 * "20261201130000-a1f3"). *key_ref (journaled
	 * by the engine) names the key on the device; *csr_pem is the CSR. */
	int (*key_create)(struct device *d, const struct cfg_profile *p, const char *tag,
	    char **key_ref, char **csr_pem, struct err *e);
	/* The key_ref that key_create(d, p, tag) returns, computed without a
	 * request (malloc'd; NULL when out of memory). The engine journals it
	 * before the create request, so a key whose creation answer was lost
	 * is found and removed by the next run. */
	char *(*key_ref_for)(struct device *d, const struct cfg_profile *p, const char *tag);
	/* Whether this process can still use key_ref for p (BIG-IP: while the
	 * passphrase made for it is in memory, or once p's client-ssl profile
	 * holds it: the passphrase then lives in the profile). */
	bool (*key_usable)(struct device *d, const struct cfg_profile *p, const char *key_ref);
	/* Removes a key and everything made for it (CSR, transfer files) that
	 * will not be used. Objects that do not exist count as removed: the
	 * key may never have been made, or made only in part. */
	int (*key_discard)(struct device *d, const struct cfg_profile *p,
	    const char *key_ref, struct err *e);

	/* Uploads and installs certificate and chain (leaf excluded, issuer
	 * first) as objects on the device without changing what any virtual
	 * server serves. *install_ref is journaled by the engine. */
	int (*cert_install)(struct device *d, const struct cfg_profile *p,
	    const char *key_ref, const char *cert_pem, char *const *chain, size_t nchain,
	    char **install_ref, struct err *e);
	/* Puts the installed certificate in service, make-before-break:
	 * first: create the binding objects and bind every listed vserver;
	 * else: swap in place so every binding switches at once. */
	int (*activate)(struct device *d, const struct cfg_profile *p,
	    const char *key_ref, const char *install_ref, bool first, struct err *e);
	/* Puts the certificate whose objects refs describes (device_cert.refs,
	 * taken while it was in service) back in service in place of what p
	 * serves now, the way activate renews: in place, every binding at
	 * once, never a moment without a certificate. Safe to repeat;
	 * LB_ENOTFOUND when its objects are gone. */
	int (*restore)(struct device *d, const struct cfg_profile *p, const char *refs,
	    struct err *e);
	/* Saves the running configuration (and syncs the device group). */
	int (*save)(struct device *d, struct err *e);
	/* Whether this session changed the running configuration since its
	 * last save(); the engine saves before it closes a device that has
	 * (a failed profile, a discarded key, revoke --remove), so the saved
	 * configuration never names objects that are gone. NULL: never. */
	bool (*unsaved)(struct device *d);
	/* Removes objects of a replaced certificate (refs from device_cert)
	 * that nothing uses any more. */
	int (*retire)(struct device *d, const struct cfg_profile *p, const char *refs,
	    struct err *e);

	/* ACME http-01: serve keyauth at /.well-known/acme-challenge/token on
	 * the profile's challenge_vserver; withdraw removes every object made
	 * for it. NULL when unsupported. */
	int (*http01_publish)(struct device *d, const struct cfg_profile *p,
	    const char *token, const char *keyauth, struct err *e);
	int (*http01_withdraw)(struct device *d, const struct cfg_profile *p,
	    const char *token, struct err *e);

	/* Every certificate object on the device, one listing per type. */
	int (*inventory)(struct device *d, struct device_inv **out, size_t *n,
	    struct err *e);
	/* Takes the profile's certificate off the device (revoke --remove);
	 * refuses when a vserver would be left without any certificate. */
	int (*remove)(struct device *d, const struct cfg_profile *p, struct err *e);
};

extern const struct device_ops citrix_ops;
extern const struct device_ops bigip_ops;

/* What each appliance takes and requires of the configuration
 * (<driver>/config.c); device_kinds lists them all, NULL-terminated. */
extern const struct cfg_kind citrix_kind;
extern const struct cfg_kind bigip_kind;
extern const struct cfg_kind *const device_kinds[];

/* The driver for a device type (one line per driver in device.c). */
const struct device_ops *device_ops_for(enum dev_type t);

#endif

/* Configuration: lbcert.yaml, credentials.yaml and profiles/NAME.yaml parsed
 * with libyaml into plain structs. Every error is reported as
 * "FILE:LINE:COLUMN: message" (1-based) with code LB_ECONFIG, and nothing
 * is contacted before the whole configuration has loaded. */
#ifndef LB_CONFIG_H
#define LB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

enum key_type { KEY_RSA, KEY_ECDSA };
enum ec_curve { CURVE_NONE, CURVE_P256, CURVE_P384 };

struct cfg_key {
	enum key_type type;
	int size;            /* RSA: 2048|3072|4096; 0 for ECDSA */
	enum ec_curve curve; /* ECDSA: P-256|P-384 */
};

struct cfg_tls {
	char *ca_file;    /* NULL: the system trust store */
	/* "AB:CD:..." SHA-256 of the peer's certificate, or several joined
	 * with "," (a YAML list, at most HTTP_PIN_MAX: one per HA unit); the
	 * peer must match one. NULL: no pin. */
	char *pin_sha256;
	bool insecure;
};

enum dev_type { DEV_CITRIX_ADC, DEV_F5_BIGIP };

struct cfg_kind;

struct cfg_device {
	char *name;
	enum dev_type type;
	/* Its type's entry in the kinds config_load was given (NULL in
	 * structs filled by hand; only config reads it). */
	const struct cfg_kind *kind;
	char *url;
	char **peers;
	size_t npeers;
	char *credentials; /* key into credentials.yaml */
	struct cfg_tls tls;
	int timeout_s;     /* default 30 */
	char *partition;   /* BIG-IP; NULL: the driver's default */
	char *sync_group;  /* BIG-IP, optional */
	/* Resolved from credentials.yaml. password is a secret: wiped by
	 * config_free(), registered with the log redactor at load. */
	char *username;
	char *password;
};

enum ca_type { CA_SECTIGO_SCM, CA_ACME };

/* SCM: one custom field sent in enroll. */
struct cfg_field {
	char *name;
	char *value;
};

/* SCM DCV settings and custom fields, on a CA (defaults) or a profile. */
struct cfg_scm_extra {
	struct cfg_field *custom_fields;
	size_t ncustom_fields;
	char *dcv_mode;     /* CNAME|EMAIL|HTTP|HTTPS|TXT|AUTO, NULL: not sent */
	char *dcv_email;    /* with dcv_mode EMAIL */
};
enum challenge_type { CHALLENGE_NONE, CHALLENGE_HTTP01, CHALLENGE_DNS01 };

/* ACME dns-01: where the _acme-challenge TXT records are added by RFC 2136
 * dynamic update, signed with TSIG. */
struct cfg_dns {
	char *server;        /* host name or address taking the updates */
	int port;            /* default 53; also used to ask the zone's NS */
	char *zone;          /* NULL: found from the SOA */
	char *tsig_name;
	char *tsig_algorithm; /* "hmac-sha256" (default), ... */
	int timeout_s;       /* wait for the NS to answer the record; default 120 */
	char *tsig_secret;   /* base64, from credentials.yaml; a secret */
};

struct cfg_ca {
	char *name;
	enum ca_type type;
	const struct cfg_kind *kind; /* as cfg_device.kind */
	char *ca_file;      /* optional trust for the CA's API */
	int timeout_s;      /* default 30 */
	/* sectigo-scm */
	char *url;
	char *customer_uri;
	long org_id;
	char *cert_type;    /* numeric id or the type's name, as written */
	int term;
	int poll_interval_s; /* default 10 */
	int poll_timeout_s;  /* default 600 */
	struct cfg_scm_extra scm;
	/* acme */
	char *directory;
	char **contact;
	size_t ncontact;
	enum challenge_type challenge;
	struct cfg_dns dns;    /* challenge: dns-01 */
	char *preferred_chain; /* optional: issuer CN of the preferred alternate chain */
	char *acme_profile;    /* optional: newOrder "profile", one of meta.profiles */
	/* Origins besides the directory's that the CA's URLs may name
	 * ("https://host[:port]"), for a CA that serves orders elsewhere. */
	char **allow_origins;
	size_t nallow_origins;
	char *credentials;
	/* Resolved from credentials.yaml. login is an account name, like a
	 * device's username; the others are secrets (wiped by config_free,
	 * registered for redaction). */
	char *login;        /* scm */
	char *password;     /* scm */
	char *eab_kid;      /* acme, optional */
	char *eab_hmac_key; /* acme, optional, base64url as the CA gives it */
};

struct cfg_subject {
	char *organization, *organizational_unit, *locality, *state, *country, *email;
};

struct cfg_vserver {
	char *name;
	bool sni;
	char *check; /* "host:port" or NULL */
};

struct cfg_client_ssl {
	char *parent;      /* default "/Common/clientssl" */
	char *profile;     /* default "<object_name>_clientssl" */
	bool sni_default;
	char *server_name; /* NULL: none */
};

/* Commands run after a profile's run (engine/hooks.c): argv lists, never
 * a shell; argv[0] is an absolute path. An empty list is no hook. */
struct cfg_hooks {
	char **on_change;   /* after an enrollment or renewal */
	size_t non_change;
	char **on_failure;  /* after a failed profile */
	size_t non_failure;
	int timeout_s;      /* per hook; default 60 */
};
#define HOOK_TIMEOUT_DEFAULT 60
#define KEEP_PREVIOUS_DEFAULT 24
#define KEEP_PREVIOUS_MAX 8760 /* a year */

struct cfg_profile {
	char *name;       /* file stem */
	char *file;       /* path of the profile file */
	struct cfg_device *device;
	struct cfg_ca *ca;
	char *common_name;
	char **sans;      /* always contains common_name (added first when omitted) */
	size_t nsans;
	struct cfg_key key;
	struct cfg_subject subject;
	int renew_before_days; /* profile, else defaults; -1: one third of the lifetime */
	char *object_name;     /* default: the profile name */
	struct cfg_vserver *vservers;
	size_t nvservers;
	struct cfg_client_ssl client_ssl;
	char *challenge_vserver;
	/* ACME: the profile's acme_profile, else the CA's; NULL: none sent. */
	char *acme_profile;
	/* SCM: the CA's custom_fields with the profile's own on top (by
	 * name), dcv_mode/dcv_email from the profile, else the CA. */
	struct cfg_scm_extra scm;
	/* The defaults' hooks with the profile's own keys on top. */
	struct cfg_hooks hooks;
	/* A file with keys: of N entries loads as N profiles, one per key,
	 * renewed and journaled on their own: the first keeps the file's name
	 * and object_name, each further one is named "<name>.<type>" with
	 * object_name "<object_name>.<type>" ("web.ecdsa"). They share names,
	 * vservers and the client-ssl profile. group is the file's name (NULL
	 * in structs filled by hand: the profile's name); nkeys is N (0 or 1
	 * for a single key). */
	char *group;
	size_t nkeys;
};

struct config {
	char *dir;
	int renew_before_days; /* defaults; -1 when not set */
	struct cfg_key key;    /* defaults; rsa 2048 when not set */
	struct cfg_hooks hooks; /* defaults */
	char *metrics_file;    /* NULL: no metrics written */
	/* How long a replaced certificate's objects stay on the device, so
	 * that `lbcert rollback` can put it back (default 24). */
	int keep_previous_hours;
	struct cfg_device *devices;
	size_t ndevices;
	struct cfg_ca *cas;
	size_t ncas;
	struct cfg_profile *profiles; /* sorted by name */
	size_t nprofiles;
};

/* Where a kind's objection points. key: a key of the entry (devices.NAME,
 * cas.NAME) or of the profile; NULL: the whole. item: in a list value, the
 * item with this text (case-insensitive). on_key: the key itself (for "this
 * key does not belong here"), else its value; an absent key points at the
 * entry or the file's top. credentials: the entry's credentials.yaml entry,
 * key being one of its keys. */
struct cfg_at {
	const char *key;
	const char *item;
	bool on_key;
	bool credentials;
};

/* An appliance or CA kind, as the configuration sees it. Each driver
 * defines its own (src/device/<kind>/config.c, src/ca/<kind>_config.c) and
 * the program passes them all to config_load, so config/ names no kind:
 * the keys config reads, the rules are the kinds'. Key lists are
 * NULL-terminated; NULL is an empty list. */
struct cfg_kind {
	const char *type;	/* the type: value, "citrix-adc" */
	int id;			/* its enum dev_type / enum ca_type */
	/* Of the keys config reads on an entry that depend on its kind
	 * (partition, url, directory, ...), those this kind takes; required:
	 * those it must have (any entry key). */
	const char *const *keys;
	const char *const *required;
	/* A CA's credentials.yaml entry: the keys it takes and must have. */
	const char *const *cred_keys;
	const char *const *cred_required;
	/* Of a profile's kind-dependent keys (client_ssl, custom_fields, ...),
	 * those a profile naming this device or CA may have. */
	const char *const *profile_keys;
	/* The kind's own rules, run once the entry or profile has loaded
	 * (NULL: none). On an objection: LB_ECONFIG with a message that
	 * neither places it nor names the key, and *at; config adds
	 * "file:line:col: " and the key. */
	int (*check_device)(const struct cfg_device *d, struct cfg_at *at, struct err *e);
	int (*check_ca)(const struct cfg_ca *ca, struct cfg_at *at, struct err *e);
	int (*check_profile)(const struct cfg_profile *p, struct cfg_at *at,
	    struct err *e);
};

/* Every kind the program has, NULL-terminated lists. */
struct cfg_kinds {
	const struct cfg_kind *const *devices;
	const struct cfg_kind *const *cas;
};

/* Loads dir/lbcert.yaml, dir/credentials.yaml and dir/profiles/NAME.yaml,
 * with the devices and CAs of kinds (not copied: it must outlive the
 * config). On success *out is owned by the caller (config_free). */
int config_load(const char *dir, const struct cfg_kinds *kinds, struct config **out,
    struct err *e);
void config_free(struct config *c);
/* Free the strings one entry owns (not the entry itself, nor a profile's
 * device/ca, which point into the config). Secrets are unregistered from
 * the log redactor and wiped. config_free() uses them; so do the test tools
 * that fill these structs by hand. NULL fields are fine. */
void config_device_free(struct cfg_device *d);
void config_ca_free(struct cfg_ca *ca);
void config_profile_free(struct cfg_profile *p);
void config_hooks_free(struct cfg_hooks *h);

struct cfg_profile *config_profile(const struct config *c, const char *name);
/* The name of the profile file p was loaded from (see group). */
const char *config_profile_group(const struct cfg_profile *p);
/* "rsa" or "ecdsa": the suffix of a further key's profile name. */
const char *config_key_type_name(enum key_type t);
struct cfg_device *config_device(const struct config *c, const char *name);

/* "rsa:2048", "ecdsa:P-256": the form stored and compared with the device. */
const char *config_key_desc(const struct cfg_key *k, char *buf, size_t len);

#endif

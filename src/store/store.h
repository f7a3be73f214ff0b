/* State store on SQLite (state_dir/lbcert.db, dir 0700, file 0600): the
 * current certificate of each profile, a step journal per profile, the
 * last result of each profile, and a history of every device change.
 * Every write is its own committed transaction (synchronous=FULL), so
 * the journal is durable before the engine takes the next step. */
#ifndef LB_STORE_H
#define LB_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/err.h"

struct store;

/* Creates state_dir (0700) and the database (0600) when missing, refuses
 * a state_dir that group/others can access, runs migrations. */
int store_open(const char *state_dir, struct store **out, struct err *e);
void store_close(struct store *s);

/* Takes state_dir/lbcert.lock with flock(LOCK_EX|LOCK_NB); LB_ELOCKED when
 * another run holds it. Release with store_unlock(). */
int store_lock(const char *state_dir, int *fd_out, struct err *e);
void store_unlock(int fd);

/* The certificate a profile has in service. All strings malloc'd; release
 * with store_cert_free(). */
struct store_cert {
	char *profile;
	char *device;
	char *ca;
	char *serial;       /* hex, as x509.h gives it */
	time_t not_before;
	time_t not_after;
	char *names;        /* JSON array of the DNS names */
	char *key_desc;     /* "rsa:2048" ... */
	char *object;       /* device object base name */
	char *ca_ref;       /* SCM sslId or ACME order URL: for revoke */
	char *cert_pem;
	char *chain_pem;
	time_t updated;
};
int store_cert_get(struct store *s, const char *profile, struct store_cert *out, struct err *e); /* LB_ENOTFOUND */
int store_cert_put(struct store *s, const struct store_cert *c, struct err *e);
int store_cert_delete(struct store *s, const char *profile, struct err *e);
void store_cert_free(struct store_cert *c);

enum job_step {
	STEP_NONE = 0,
	STEP_KEY,        /* key + CSR made on the device: key_ref, csr_pem */
	STEP_ORDERED,    /* the CA knows the request: order_ref */
	STEP_ISSUED,     /* certificate + chain received and checked */
	STEP_INSTALLED,  /* cert/chain objects on the device: install_ref */
	STEP_ACTIVATED,  /* bound / swapped in */
	STEP_SAVED,      /* device config saved */
};
const char *store_step_name(int step);

/* The journal of the profile's run in progress. Strings malloc'd; release
 * with store_job_free(). */
struct store_job {
	char *profile;
	int step;
	bool first;         /* enrollment (true) or renewal (false) */
	char *reason;       /* why it is due */
	char *key_ref;
	char *csr_pem;
	char *order_ref;
	char *cert_pem;
	char *chain_pem;
	char *install_ref;
	char *old_refs;     /* device_cert.refs of the certificate being replaced */
	time_t started;
	time_t updated;
};
int store_job_get(struct store *s, const char *profile, struct store_job *out, struct err *e); /* LB_ENOTFOUND */
int store_job_put(struct store *s, const struct store_job *j, struct err *e);
int store_job_delete(struct store *s, const char *profile, struct err *e);
void store_job_free(struct store_job *j);

/* Retirements still to be done: the refs (device_cert.refs) of certificates
 * a profile replaced whose objects could not all be removed from the device
 * yet. Adding refs already listed is a no-op. */
int store_retire_add(struct store *s, const char *profile, const char *refs,
    struct err *e);
/* The profile's pending refs recorded at or before until (time(NULL)
 * clock), oldest first: *refs is a malloc'd vector of malloc'd strings
 * (free with strv_free), *n its length (0: none). */
int store_retire_list(struct store *s, const char *profile, time_t until, char ***refs,
    size_t *n, struct err *e);
/* Forgets one pending retirement (done); a missing one is fine. */
int store_retire_delete(struct store *s, const char *profile, const char *refs,
    struct err *e);

/* What the CA said of when to renew the profile's certificate (RFC 9773),
 * kept so that runs before retry_at do not ask again. cert_id NULL: the
 * CA offers no renewal information (start, end, pick 0). Strings
 * malloc'd; release with store_ari_free(). */
struct store_ari {
	char *serial;       /* the certificate it is about */
	char *cert_id;
	time_t start, end;  /* the suggested window */
	time_t pick;        /* the moment chosen in it to renew */
	time_t retry_at;    /* when to ask the CA again */
	char *explanation;  /* the CA's explanation URL, or NULL */
};
int store_ari_get(struct store *s, const char *profile, struct store_ari *out,
    struct err *e); /* LB_ENOTFOUND */
int store_ari_put(struct store *s, const char *profile, const struct store_ari *a,
    struct err *e);
void store_ari_free(struct store_ari *a);

/* The ACME profile the profile's recorded certificate was ordered with
 * (NULL: none), set after store_cert_put; *out malloc'd, NULL when none. */
int store_cert_acme_profile_set(struct store *s, const char *profile, const char *name,
    struct err *e);
int store_cert_acme_profile_get(struct store *s, const char *profile, char **out,
    struct err *e);

/* The certificate a renewal replaced (one per profile, the last): its
 * record as store_cert_get gave it while it was in service, and refs, the
 * device_cert.refs of its objects. A put replaces the earlier one. */
int store_prev_put(struct store *s, const struct store_cert *c, const char *refs,
    struct err *e);
/* *c (release with store_cert_free) and *refs (malloc'd); *replaced: when
 * the put was made. LB_ENOTFOUND when none. */
int store_prev_get(struct store *s, const char *profile, struct store_cert *c,
    char **refs, time_t *replaced, struct err *e);
int store_prev_delete(struct store *s, const char *profile, struct err *e);

/* Last outcome of a profile: "enrolled", "renewed", "unchanged", "pending",
 * "failed". error may be NULL. */
int store_result_set(struct store *s, const char *profile, const char *result,
    const char *error, struct err *e);
/* Several profiles' last outcomes in one transaction: a run that changed
 * nothing records its profiles with one write (one fsync) per device rather
 * than one per profile. Strings are borrowed. */
struct store_result {
	const char *profile;
	const char *result;
	const char *error;	/* may be NULL */
	time_t when;
};
int store_results_set(struct store *s, const struct store_result *r, size_t n,
    struct err *e);
/* *result and *error malloc'd (NULL when none); LB_ENOTFOUND when never run. */
int store_result_get(struct store *s, const char *profile, char **result,
    char **error, time_t *when, struct err *e);

/* Audit log of every change made to a device or asked of a CA. */
int store_history_add(struct store *s, const char *profile, const char *device,
    const char *action, const char *detail, struct err *e);
/* Number of history rows for profile (NULL: all) with that action and
 * detail (NULL: any). */
int store_history_count(struct store *s, const char *profile, const char *action,
    const char *detail, long *count, struct err *e);

#endif

/* What the engine needs from a CA: submit a CSR, then collect the
 * certificate, in resumable steps: submit returns a reference (SCM sslId,
 * ACME order URL) that the engine journals at once, and collect continues
 * from it in this run or a later one without ordering again. */
#ifndef LB_CA_H
#define LB_CA_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "util/err.h"

struct ca;

struct ca_request {
	const char *profile;
	const char *csr_pem;
	char *const *names;   /* DNS names, common name first */
	size_t nnames;
	const char *common_name;
	const struct cfg_profile *p; /* custom fields, DCV settings (SCM) */
	/* Unique per submission, journaled before it is sent: find() looks
	 * for it when the answer to submit() was lost. NULL: untagged. */
	const char *tag;
	/* find(): true when ref is an order lbcert already used (journaled
	 * or installed), so it is not taken again. May be NULL. */
	bool (*used)(void *ctx, const char *order_ref);
	void *used_ctx;
	/* The certificate this order replaces (PEM), NULL for an enrollment:
	 * an ACME CA with renewal information is told which one it is. */
	const char *replaces_pem;
};

/* A CA's suggested renewal window for one certificate (RFC 9773). */
struct ca_renewal {
	char *cert_id;     /* the certificate's ARI identifier, malloc'd */
	time_t start, end; /* the suggested window, start < end */
	time_t retry_at;   /* when to ask again (Retry-After, bounded) */
	char *explanation; /* explanationURL or NULL, malloc'd */
};
void ca_renewal_free(struct ca_renewal *r);

/* How a CA client gets an http-01 token served; the engine wires it to the
 * device driver. NULL when the CA is set to challenge: none. */
struct ca_challenge {
	int (*publish)(void *ctx, const char *token, const char *keyauth, struct err *e);
	int (*withdraw)(void *ctx, const char *token, struct err *e);
	void *ctx;
};

/* RFC 5280 CRLReason codes. */
enum revoke_reason {
	REVOKE_UNSPECIFIED = 0, REVOKE_KEY_COMPROMISE = 1, REVOKE_CA_COMPROMISE = 2,
	REVOKE_AFFILIATION_CHANGED = 3, REVOKE_SUPERSEDED = 4,
	REVOKE_CESSATION = 5, REVOKE_CERTIFICATE_HOLD = 6,
	REVOKE_PRIVILEGE_WITHDRAWN = 9,
};
/* "keyCompromise" → 1 ...; -1 when unknown. */
int ca_reason_parse(const char *s);

struct ca_ops {
	const char *type; /* "sectigo-scm", "acme" */

	/* state_dir holds what the client keeps (ACME account key, 0600). */
	int (*open)(const struct cfg_ca *cfg, const char *state_dir, struct ca **out,
	    struct err *e);
	void (*close)(struct ca *c);
	/* Read-only reachability and credentials check (lbcert check). */
	int (*ping)(struct ca *c, struct err *e);

	/* What the CA must accept for profile p, checked before a key is
	 * made (SCM: the tenant's mandatory custom fields, the term among the
	 * certificate type's terms): LB_ECONFIG naming the field and the
	 * profile. May be NULL. Read-only. */
	int (*prepare)(struct ca *c, const struct cfg_profile *p, struct err *e);
	/* Sends the request; *order_ref (malloc'd) identifies it. On failure,
	 * LB_EUNKNOWN means the request was sent and may have been taken (no
	 * answer, or a server error), LB_EUNREACH that the CA could not be
	 * reached (the engine treats both as unknown); any other code means
	 * the CA refused it and nothing was ordered. */
	int (*submit)(struct ca *c, const struct ca_request *req, char **order_ref,
	    struct err *e);
	/* After a submit whose answer was lost: looks the order of req->tag
	 * up at the CA. 0 with *order_ref (malloc'd) when found, LB_ENOTFOUND
	 * when the CA provably has no such order (submitting again is safe),
	 * LB_ENOTSUP when the CA cannot tell, any other error when the lookup
	 * failed (nothing may be concluded). */
	int (*find)(struct ca *c, const struct ca_request *req, char **order_ref,
	    struct err *e);
	/* Gets the certificate of order_ref: *cert_pem is the leaf, *chain the
	 * rest, issuer first (strv_free). LB_EPENDING when the CA has not
	 * issued within the configured wait: the engine keeps order_ref and
	 * collects on a later run. Any other error: the order is dead. */
	int (*collect)(struct ca *c, const struct ca_request *req, const char *order_ref,
	    const struct ca_challenge *ch, char **cert_pem, char ***chain, size_t *nchain,
	    struct err *e);
	int (*revoke)(struct ca *c, const char *order_ref, const char *cert_pem,
	    int reason, struct err *e);
	/* The CA's suggested renewal window for cert_pem, into *out (release
	 * with ca_renewal_free). LB_ENOTSUP when the CA offers none. May be
	 * NULL. Read-only. */
	int (*renewal_info)(struct ca *c, const char *cert_pem, struct ca_renewal *out,
	    struct err *e);
};

extern const struct ca_ops scm_ops;
extern const struct ca_ops acme_ops;

/* What each CA kind takes and requires of the configuration
 * (<kind>_config.c); ca_kinds lists them all, NULL-terminated. */
extern const struct cfg_kind scm_kind;
extern const struct cfg_kind acme_kind;
extern const struct cfg_kind *const ca_kinds[];

const struct ca_ops *ca_ops_for(enum ca_type t);

#endif

/* The engine's private state, shared by the engine's files only. */
#ifndef LB_ENGINE_INT_H
#define LB_ENGINE_INT_H

#include "engine/engine.h"
#include "engine/policy.h"

struct dev_slot {
	const struct cfg_device *cfg;
	const struct device_ops *ops;
	struct device *dev;
	int rc;               /* open result, kept so a dead device fails fast */
	char msg[1024];
};

struct ca_slot {
	const struct cfg_ca *cfg;
	const struct ca_ops *ops;
	struct ca *ca;
	int rc;
	char msg[1024];
};

struct engine {
	const struct config *cfg;
	struct store *st;
	char *state_dir;
	/* Indexed like cfg->devices, a slot allocated when its device is
	 * first used: a run --jobs worker has an engine per device, and a
	 * slot for every device of the fleet in each (1 KB apiece, mostly
	 * the message) grew with the fleet times the workers. */
	struct dev_slot **devs;
	struct ca_slot *cas;
	/* "unchanged" results not yet written (engine_note_unchanged);
	 * profile names are the configuration's. Grown as needed: one
	 * device's profiles, not room for every profile of the fleet. */
	struct store_result *later;
	size_t nlater, maxlater;
};

/* Records that p's run changed nothing. The row is written with the
 * others of the engine in one transaction when a device is released or
 * the engine freed: a fleet no-op costs a write per device, not per
 * profile. Written at once when memory is short. */
void engine_note_unchanged(struct engine *en, const struct cfg_profile *p);

/* The open session of a device, logging in on first use. A failed login is
 * remembered, so later profiles on that device fail at once. */
int engine_device(struct engine *en, const struct cfg_device *d, struct device **dev,
    const struct device_ops **ops, struct err *e);
int engine_ca(struct engine *en, const struct cfg_ca *c, struct ca **ca,
    const struct ca_ops **ops, struct err *e);

/* Copies msg into dst (cut at len) with every registered secret replaced:
 * error texts go to stdout and the state database, past the log's own
 * redaction, and a peer may echo a credential in its error message. */
void engine_redact_copy(char *dst, size_t len, const char *msg);

/* What the CA requires of p (ca_ops.prepare), before any key is made:
 * 0 when it has no requirement. Errors are prefixed with the profile. */
int engine_ca_prepare(struct engine *en, const struct cfg_profile *p, struct err *e);

/* ca_request.used for find(): true when order_ref was journaled by any
 * profile (its submission is in the history), so it is not taken twice.
 * ctx is the engine. */
bool engine_order_used(void *ctx, const char *order_ref);

/* A random tag for a CA request (hex, NUL-terminated). */
#define ENGINE_TAG_LEN 17
int engine_tag(char tag[ENGINE_TAG_LEN], struct err *e);

/* Removes the objects of p's replaced certificates from dev: old_refs
 * (may be NULL) and those earlier runs could not remove (store_retire_*).
 * Failures are logged and stay pending for the next run; returns how many
 * retirements are left. */
int engine_retire(struct engine *en, const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const char *old_refs);

/* The renewal decision for p (policy_decide) with what the store and the
 * CA add: the issue date lbcert recorded, a revocation lbcert made, the
 * CA's suggested window (RFC 9773, asked at most once per Retry-After and
 * kept in the store; failures are logged and leave the date rule).
 * cur: the installed certificate, NULL when none. */
void engine_decide(struct engine *en, const struct cfg_profile *p, struct device_cert *cur,
    bool force, struct policy_decision *d);
/* Asks the CA for the renewal window of the certificate just issued
 * (RFC 9773 §4.3: right after issuance) and keeps the answer, so that the
 * no-op runs that follow need not ask; failures are only logged. */
void engine_ari_issued(struct engine *en, const struct cfg_profile *p, const char *cert_pem,
    const char *serial);

/* Whether every vserver of p serves the certificate want (verify.c):
 * its check address over TLS, else what the device reports bound. */
struct cert_info;
int engine_verify_served(const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const struct cert_info *want, struct err *e);

/* Puts the certificate whose objects prev_refs describes back in service
 * on dev and saves (rollback.c); logged in the history. */
int engine_restore(struct engine *en, const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const char *prev_refs, struct err *e);

/* Automatic rollback of a renewal that failed with rc (e says why): the
 * certificate of old_refs goes back in service, saved. Returns rc, with e
 * telling what the rollback did. */
int engine_roll_back(struct engine *en, const struct cfg_profile *p, struct device *dev,
    const struct device_ops *dops, const char *old_refs, int rc, struct err *e);
/* Records the certificate the store holds for p (replaced by new_serial)
 * as the previous one, with the refs of its objects; failures are logged. */
void engine_remember_previous(struct engine *en, const struct cfg_profile *p,
    const char *old_refs, const char *new_serial);

#endif

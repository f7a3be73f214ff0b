/* One profile's walk through the steps of SPEC §1, shared by the files of
 * the step machine: lifecycle.c (the device's steps, the decision, the
 * walk itself) and order.c (the CA's: submit, find a lost submission,
 * collect). */
#ifndef LB_ENGINE_WALK_H
#define LB_ENGINE_WALK_H

#include "engine/engine_int.h"

/* order_ref of a submission in flight: "?TAG" (the tag sent), "" (untagged) */
#define IN_FLIGHT_MARK '?'
#define in_flight(ref) ((ref) != NULL && ((ref)[0] == '\0' || (ref)[0] == IN_FLIGHT_MARK))

struct walk {
	struct engine *en;
	const struct cfg_profile *p;
	struct device *dev;
	const struct device_ops *dops;
	struct store_job job;
	struct err e;
	bool rekeyed;	/* this run replaced the key of a journaled ACME order */
	enum fail_class side;	/* whom the step under way depends on */
};

/* Journals the job at step (w->job.step is set); e receives a store
 * failure, which makes the profile's failure local when e is w->e. */
int walk_journal_e(struct walk *w, int step, struct err *e);
int walk_journal(struct walk *w, int step);
/* Logs a failure to write the history; never fails the step. */
void walk_history(struct walk *w, const char *action, const char *detail);
/* 0, or -1 when src could not be copied (*dst is then NULL). */
int walk_set_str(char **dst, const char *src);
/* Throws the key away and starts the profile over from a fresh key. A
 * journal write that fails is described in je. */
int walk_restart(struct walk *w, const char *why, struct err *je);
/* walk_restart() for a caller whose w->e already holds the error the user
 * must see (the CA's): a failed journal write is logged instead. */
void walk_restart_keep_error(struct walk *w, const char *why);

/* order.c: the CA's steps. */
int walk_get_ca(struct walk *w, struct ca **ca, const struct ca_ops **ops);
/* STEP_KEY: sends the CSR, journaling a tag first (in_flight) */
int walk_submit(struct walk *w);
/* STEP_KEY with a submission in flight: looks it up at the CA by its tag */
int walk_resume_in_flight(struct walk *w);
/* STEP_ORDERED: waits for the certificate (answering http-01 through the
 * device) and checks it against the CSR and names */
int walk_collect(struct walk *w);
/* Revokes a certificate issued for a discarded key; failures are logged. */
void walk_revoke_orphan(struct walk *w, struct ca *ca, const struct ca_ops *ops,
    const char *cert);

#endif

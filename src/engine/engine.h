/* The engine is the one place that knows both devices and CAs: it keeps
 * the open device sessions and CA clients of a command (opened on first
 * use, so a run with nothing due never contacts a CA), and walks each due
 * profile through the journaled steps of SPEC §1. */
#ifndef LB_ENGINE_H
#define LB_ENGINE_H

#include <stdbool.h>

#include "ca/ca.h"
#include "config/config.h"
#include "device/device.h"
#include "store/store.h"
#include "util/err.h"

struct engine;

/* cfg and st stay owned by the caller and must outlive the engine. */
struct engine *engine_new(const struct config *cfg, struct store *st, const char *state_dir);
/* Closes every device session (logout) and CA client. */
void engine_free(struct engine *en);

/* The open session of a device, logging in on first use. A failed login is
 * remembered, so later profiles on that device fail at once. */
int engine_device(struct engine *en, const struct cfg_device *d, struct device **dev,
    const struct device_ops **ops, struct err *e);
int engine_ca(struct engine *en, const struct cfg_ca *c, struct ca **ca,
    const struct ca_ops **ops, struct err *e);

enum run_outcome { OUT_UNCHANGED, OUT_ENROLLED, OUT_RENEWED, OUT_PENDING, OUT_FAILED,
	OUT_PLANNED };

struct run_result {
	enum run_outcome outcome;
	bool unreachable;       /* failed because a device or CA was unreachable */
	char serial[130];
	char detail[1024];      /* reason, or the error */
};

/* Enrolls or renews p when due (or forced), resuming a journaled run.
 * dry_run decides and reports without any write; when p is due it reads
 * what the CA requires of it (ca_ops.prepare), as a run would. */
void engine_run_profile(struct engine *en, const struct cfg_profile *p, bool force,
    bool dry_run, struct run_result *res);

const char *engine_outcome_name(enum run_outcome o);

#endif

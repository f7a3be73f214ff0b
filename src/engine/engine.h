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
/* Done with d for now: saves what this engine changed on it, logs out and
 * drops its snapshot (a later use logs in again). A command walking many
 * devices calls it after each device's last profile, so it holds one
 * device's snapshot at a time and sessions end as early as they can. */
void engine_release_device(struct engine *en, const struct cfg_device *d);

/* lbcert check: logs in on d (*active_url: the unit in use, owned by the
 * engine); pings c; reads what c requires of p (0 when nothing). */
int engine_check_device(struct engine *en, const struct cfg_device *d,
    const char **active_url, struct err *e);
int engine_check_ca(struct engine *en, const struct cfg_ca *c, struct err *e);
int engine_check_profile(struct engine *en, const struct cfg_profile *p, struct err *e);

/* Every certificate object on d; *out is freed with device_inv_free(). */
int engine_inventory(struct engine *en, const struct cfg_device *d,
    struct device_inv **out, size_t *n, struct err *e);

/* Revokes p's recorded certificate at its CA (reason: enum in ca.h), when
 * remove first taking it off the device, and records both in the history
 * that the next run reads. serial receives the certificate's serial as
 * soon as it is known. */
int engine_revoke(struct engine *en, const struct cfg_profile *p, int reason, bool remove,
    char *serial, size_t serial_len, struct err *e);

/* lbcert rollback: puts p's previous certificate (the one its last
 * renewal replaced) back in service while its objects are still on the
 * device (keep_previous_hours), saves, and records it as current again;
 * the certificate it takes out of service becomes the previous one, kept
 * as long. from/to receive the serials (to: the one now served). */
int engine_rollback(struct engine *en, const struct cfg_profile *p, char *from,
    size_t from_len, char *to, size_t to_len, struct err *e);

enum run_outcome { OUT_UNCHANGED, OUT_ENROLLED, OUT_RENEWED, OUT_PENDING, OUT_FAILED,
	OUT_PLANNED };

/* What a failed profile ran into (lbcert_run_errors{class}): a peer out
 * of reach, credentials refused, the device or the CA (with its challenge
 * helpers: DNS) refusing or failing a step, the served certificate not the
 * one installed, or this host (state database, memory). */
enum fail_class { FAIL_NONE, FAIL_UNREACHABLE, FAIL_AUTH, FAIL_DEVICE, FAIL_CA, FAIL_VERIFY,
	FAIL_LOCAL };
#define FAIL_NCLASSES (FAIL_LOCAL + 1)

struct run_result {
	enum run_outcome outcome;
	bool unreachable;       /* failed because a device or CA was unreachable */
	enum fail_class fail;   /* FAIL_NONE unless outcome is OUT_FAILED */
	char serial[130];
	char detail[1024];      /* reason, or the error */
};

/* Enrolls or renews p when due (or forced), resuming a journaled run.
 * dry_run decides and reports without any write; when p is due it reads
 * what the CA requires of it (ca_ops.prepare), as a run would. */
void engine_run_profile(struct engine *en, const struct cfg_profile *p, bool force,
    bool dry_run, struct run_result *res);

const char *engine_outcome_name(enum run_outcome o);
/* "unreachable", "auth", "device", "ca", "verify", "local"; "" for FAIL_NONE. */
const char *engine_fail_name(enum fail_class c);

#endif

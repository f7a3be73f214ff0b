/* Which unit of an HA pair to work on: the same rule for every appliance.
 * Changes made on a standby are overwritten by the next sync from the
 * active unit, so lbcert writes only to the active one. */
#ifndef LB_DEVICE_HA_H
#define LB_DEVICE_HA_H

#include <stddef.h>

#include "config/config.h"
#include "util/err.h"

enum unit_role {
	UNIT_ACTIVE,   /* BIG-IP ACTIVE, Citrix Primary */
	UNIT_STANDBY,  /* BIG-IP STANDBY / OFFLINE, Citrix Secondary: never written to */
	UNIT_NONE,     /* in no HA pair, or a state that names no role */
};

/* A driver's way to ask one unit. */
struct unit_probe {
	/* Logs in on url and reads the unit's role; state receives the unit's
	 * own word for it (for messages). On 0 the session stays open for
	 * the driver until drop() or until ha_pick_unit returns it. */
	int (*open)(void *ctx, const char *url, enum unit_role *role, char *state,
	    size_t len, struct err *e);
	/* Closes the session of a unit that was not taken. */
	void (*drop)(void *ctx);
	void *ctx;
};

/* Asks cfg->url, then each of cfg->peers, and keeps the session of the
 * first ACTIVE unit; a unit in no HA role only when it is the one unit
 * configured; a standby never. On error no session is left open:
 * LB_EUNREACH when no unit answered, or when a standby answered and a unit
 * that may be the active one did not (a reachability problem, exit 4);
 * LB_ERR when every unit answered and none may be written to; a login
 * refused (or any other error of open) as open returned it. */
int ha_pick_unit(const struct cfg_device *cfg, const struct unit_probe *pr, struct err *e);

#endif

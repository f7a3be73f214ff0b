/* The active-unit rule of ha.h, for every driver. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "device/ha.h"
#include "util/log.h"

/* Appends "a" then "b" to buf, cut at its size. */
static void
note(char *buf, size_t len, const char *a, const char *b)
{
	size_t l = strlen(buf);

	for (const char *p = a; p != NULL; p = p == a ? b : NULL)
		for (const char *q = p; *q != '\0' && l + 1 < len; q++)
			buf[l++] = *q;
	buf[l] = '\0';
}

/* msg without a leading "name: ". */
static const char *
unprefixed(const char *msg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(msg, name, n) == 0 && strncmp(msg + n, ": ", 2) == 0 ? msg + n + 2 : msg;
}

static bool
takes(enum unit_role role, size_t nunits)
{
	return role == UNIT_ACTIVE || (role == UNIT_NONE && nunits == 1);
}

int
ha_pick_unit(const struct cfg_device *cfg, const struct unit_probe *pr, struct err *e)
{
	size_t nunits = 1 + cfg->npeers;
	char state[64], seen[640] = "", cause[sizeof(e->msg)] = "";
	bool answered = false, unreach = false;
	enum unit_role role;
	int rc;

	for (size_t i = 0; i < nunits; i++) {
		const char *url = i == 0 ? cfg->url : cfg->peers[i - 1];

		state[0] = '\0';
		rc = pr->open(pr->ctx, url, &role, state, sizeof(state), e);
		if (rc == LB_EUNREACH) {
			/* each cause names its unit (by URL) and how it failed;
			 * the device's name is said once, in front */
			note(cause, sizeof(cause), cause[0] != '\0' ? "; " : "",
			    unprefixed(e->msg, cfg->name));
			unreach = true;
			continue;
		}
		if (rc != 0)
			return rc;
		answered = true;
		if (takes(role, nunits)) {
			log_debug("%s: using %s (%s)", cfg->name, url,
			    state[0] != '\0' ? state : "no HA state");
			return 0;
		}
		pr->drop(pr->ctx);
		note(seen, sizeof(seen), seen[0] != '\0' ? "; " : "", url);
		note(seen, sizeof(seen), " is ", state[0] != '\0' ? state : "in no HA role");
	}
	if (!answered)
		return err_set(e, LB_EUNREACH, "%s: no unit reachable: %s", cfg->name, cause);
	if (unreach)
		return err_set(e, LB_EUNREACH, "%s: the active unit (HA primary) could not be "
		    "reached: %s; %s", cfg->name, seen, cause);
	return err_set(e, LB_ERR, "%s: no unit is the active one (HA primary), and a standby "
	    "is never written to: %s%s", cfg->name, seen, nunits == 1 ? " (give the pair's "
	    "floating management address, or list the other unit in peers)" : "");
}

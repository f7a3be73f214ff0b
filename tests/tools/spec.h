/* JSON test specs → the config structs the drivers and CA clients take.
 * Test tools only: the product reads YAML through config/. */
#ifndef LB_TOOLS_SPEC_H
#define LB_TOOLS_SPEC_H

#include <jansson.h>

#include "config/config.h"

/* Fill *d / *p / *c from JSON; strings are malloc'd copies, released by
 * config_device_free / config_profile_free / config_ca_free (config.h), the
 * same release the product uses. Return 0, or -1 with a message on stderr. */
int spec_device(json_t *j, struct cfg_device *d);
int spec_profile(json_t *j, struct cfg_device *d, struct cfg_profile *p);
int spec_ca(json_t *j, struct cfg_ca *c);

/* Reads a whole file into a malloc'd NUL-terminated string, or NULL. */
char *spec_slurp(const char *path);
/* Prints {"ok":true,...fields} or {"ok":false,...} on stdout, one line.
 * Steals the reference to fields (may be NULL). */
void spec_reply(json_t *fields, int rc, const char *error);

#endif

/* The engine's private state, shared by engine.c and lifecycle.c only. */
#ifndef LB_ENGINE_INT_H
#define LB_ENGINE_INT_H

#include "engine/engine.h"

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
	struct dev_slot *devs;
	struct ca_slot *cas;
};

/* Copies msg into dst (cut at len) with every registered secret replaced:
 * error texts go to stdout and the state database, past the log's own
 * redaction, and a peer may echo a credential in its error message. */
void engine_redact_copy(char *dst, size_t len, const char *msg);

#endif

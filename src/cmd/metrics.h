/* The run's metrics for Prometheus' node exporter (textfile collector). */
#ifndef LB_METRICS_H
#define LB_METRICS_H

#include <stddef.h>
#include <time.h>

#include "config/config.h"
#include "engine/engine.h"
#include "engine/hooks.h"
#include "store/store.h"
#include "util/err.h"

/* What one run did, counted over its profiles. */
struct metrics_run {
	unsigned outcomes[OUT_PLANNED + 1];	/* profiles by outcome */
	unsigned fails[FAIL_NCLASSES];		/* failed profiles by class */
	unsigned hooks[HOOK_TIMEOUT + 1];	/* profiles by hook status */
	double duration_s;
	time_t end;
};

/* Writes cfg->metrics_file atomically (a temporary file in its directory,
 * then rename) with the state of every profile of cfg, read from st, and
 * the figures of run. */
int metrics_write(const struct config *cfg, struct store *st, const struct metrics_run *run,
    struct err *e);

#endif

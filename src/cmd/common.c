#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ca/ca.h"
#include "cmd/cmd.h"
#include "device/device.h"
#include "util/err.h"
#include "util/log.h"

const struct cfg_kinds cmd_kinds = { device_kinds, ca_kinds };

/* Whether argument arg names p: its own name, its file's name (every key
 * of a keys: list), or for a keys: list "<file>.<type>" (the first key,
 * which keeps the file's name, by its type; the loader refuses a profile
 * file of that name). */
static bool
names_profile(const struct cfg_profile *p, const char *arg)
{
	const char *g = config_profile_group(p);
	size_t gl = strlen(g);

	if (strcmp(p->name, arg) == 0 || strcmp(g, arg) == 0)
		return true;
	return p->nkeys > 1 && strncmp(arg, g, gl) == 0 && arg[gl] == '.' &&
	    strcmp(arg + gl + 1, config_key_type_name(p->key.type)) == 0;
}

int
cmd_select_profiles(struct app *a, int argc, char **argv, struct cfg_profile ***out,
    size_t *n)
{
	size_t np = a->cfg->nprofiles;
	struct cfg_profile **v = calloc(np + 1, sizeof(*v));
	bool *sel = calloc(np + 1, sizeof(*sel));

	*n = 0;
	if (v == NULL || sel == NULL) {
		free(v);
		free(sel);
		return EXIT_FAILED;
	}
	for (int i = 0; i < argc; i++) {
		bool any = false;
		for (size_t j = 0; j < np; j++)
			if (names_profile(&a->cfg->profiles[j], argv[i]))
				any = sel[j] = true;
		if (!any) {
			fprintf(stderr, "lbcert: no profile named %s in %s/profiles\n",
			    argv[i], a->config_dir);
			free(v);
			free(sel);
			return EXIT_USAGE;
		}
	}
	/* in configuration order, each once */
	for (size_t j = 0; j < np; j++)
		if (argc == 0 || sel[j])
			v[(*n)++] = &a->cfg->profiles[j];
	free(sel);
	*out = v;
	return EXIT_OK;
}

int
cmd_open_store(struct app *a, struct store **st, int *lock_fd)
{
	struct err e = {0};
	int rc;

	if ((rc = store_open(a->state_dir, st, &e)) != 0) {
		log_error("%s", e.msg);
		return EXIT_FAILED;
	}
	if (lock_fd == NULL)
		return EXIT_OK;
	if ((rc = store_lock(a->state_dir, lock_fd, &e)) != 0) {
		log_error("%s", e.msg);
		store_close(*st);
		*st = NULL;
		return rc == LB_ELOCKED ? EXIT_LOCKED : EXIT_FAILED;
	}
	return EXIT_OK;
}

void
cmd_rfc3339(long t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

const char *
cmd_text(const char *s, char *buf, size_t len)
{
	if (s == NULL)
		return NULL;
	err_escape(buf, len, s, false);
	return buf;
}

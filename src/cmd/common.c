#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "util/err.h"
#include "util/log.h"

int
cmd_select_profiles(struct app *a, int argc, char **argv, struct cfg_profile ***out,
    size_t *n)
{
	size_t cap = argc > 0 ? (size_t)argc : a->cfg->nprofiles;
	struct cfg_profile **v = calloc(cap + 1, sizeof(*v));

	*n = 0;
	if (v == NULL)
		return EXIT_FAILED;
	if (argc == 0) {
		for (size_t i = 0; i < a->cfg->nprofiles; i++)
			v[(*n)++] = &a->cfg->profiles[i];
	} else
		for (int i = 0; i < argc; i++) {
			struct cfg_profile *p = config_profile(a->cfg, argv[i]);
			if (p == NULL) {
				fprintf(stderr, "lbcert: no profile named %s in %s/profiles\n",
				    argv[i], a->config_dir);
				free(v);
				return EXIT_USAGE;
			}
			v[(*n)++] = p;
		}
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

/* lbcert run: enroll or renew what is due. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "cmd/metrics.h"
#include "engine/engine.h"
#include "engine/hooks.h"
#include "util/log.h"

static void
usage(void)
{
	fprintf(stderr, "usage: lbcert run [--dry-run] [--force] [--jobs N] [PROFILE...]\n");
}

/* --jobs: one worker per device at a time. All profiles of a device stay
 * in one worker, in order, on that worker's own engine (its own device
 * sessions and CA clients), so no session is shared between threads. */
struct pool {
	struct app *a;
	struct store *st;
	struct cfg_profile **profiles;
	size_t n;
	struct run_result *results;
	enum hook_status *hooks;
	bool force, dry;
	pthread_mutex_t lock;
	size_t next_device;
};

static void
run_device(struct pool *pl, struct engine *en, const struct cfg_device *d)
{
	for (size_t i = 0; i < pl->n; i++)
		if (pl->profiles[i]->device == d) {
			engine_run_profile(en, pl->profiles[i], pl->force, pl->dry, &pl->results[i]);
			/* Right after the profile, while its device session
			 * is still open: a reload hook sees the change at
			 * once. */
			if (!pl->dry)
				pl->hooks[i] = hook_after(pl->st, pl->profiles[i], &pl->results[i]);
		}
}

static void *
worker(void *arg)
{
	struct pool *pl = arg;

	for (;;) {
		struct engine *en;
		size_t d;

		pthread_mutex_lock(&pl->lock);
		d = pl->next_device++;
		pthread_mutex_unlock(&pl->lock);
		if (d >= pl->a->cfg->ndevices)
			break;
		/* An engine per device: its sessions log out as soon as the
		 * device is done. */
		if ((en = engine_new(pl->a->cfg, pl->st, pl->a->state_dir)) != NULL) {
			run_device(pl, en, &pl->a->cfg->devices[d]);
			engine_free(en);
			continue;
		}
		for (size_t i = 0; i < pl->n; i++)
			if (pl->profiles[i]->device == &pl->a->cfg->devices[d]) {
				pl->results[i].outcome = OUT_FAILED;
				snprintf(pl->results[i].detail, sizeof(pl->results[i].detail),
				    "out of memory");
			}
	}
	return NULL;
}

static double
elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Written while the lock is held: two runs never interleave their
 * files. A failure is logged; the certificates are no less right. */
static void
write_metrics(struct pool *pl, const struct timespec *t0)
{
	struct metrics_run m = { .profiles = pl->profiles, .n = pl->n, .results = pl->results,
		.hooks = pl->hooks, .duration_s = elapsed(t0), .end = time(NULL) };
	struct err e = {0};

	if (pl->dry || pl->a->cfg->metrics_file == NULL)
		return;
	if (metrics_write(pl->a->cfg, pl->st, &m, &e) != 0)
		log_error("metrics_file: %s", e.msg);
}

static int
run_all(struct pool *pl, int jobs)
{
	pthread_t tids[64];
	int started = 0;

	if (jobs > (int)pl->a->cfg->ndevices)
		jobs = (int)pl->a->cfg->ndevices;
	for (; started < jobs; started++)
		if (pthread_create(&tids[started], NULL, worker, pl) != 0)
			break;
	if (started == 0)
		worker(pl);
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	return 0;
}

int
cmd_run(struct app *a, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "force", no_argument, NULL, 'f' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct pool pl = { .a = a, .lock = PTHREAD_MUTEX_INITIALIZER };
	int c, rc, lock = -1, jobs = 1;
	struct timespec t0;
	unsigned unreachable = 0, counts[OUT_PLANNED + 1] = {0}, hooks[HOOK_TIMEOUT + 1] = {0};

	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* 0, not 1: GNU getopt re-reads "+" or permutation from this
	 * optstring, so options may follow profile names. */
	optind = 0;
	while ((c = getopt_long(argc, argv, "nfj:h", opts, NULL)) != -1)
		switch (c) {
		case 'n':
			pl.dry = true;
			break;
		case 'f':
			pl.force = true;
			break;
		case 'j':
			jobs = atoi(optarg);
			if (jobs < 1 || jobs > 64) {
				fprintf(stderr, "lbcert run: --jobs takes 1 to 64\n");
				return EXIT_USAGE;
			}
			break;
		default:
			usage();
			return EXIT_USAGE;
		}
	if ((rc = cmd_select_profiles(a, argc - optind, argv + optind, &pl.profiles, &pl.n)) != 0)
		return rc;
	if ((rc = cmd_open_store(a, &pl.st, &lock)) != 0)
		goto out;
	if ((pl.results = calloc(pl.n + 1, sizeof(*pl.results))) == NULL ||
	    (pl.hooks = calloc(pl.n + 1, sizeof(*pl.hooks))) == NULL) {
		rc = EXIT_FAILED;
		goto out;
	}
	run_all(&pl, jobs);
	for (size_t i = 0; i < pl.n; i++) {
		const struct run_result *res = &pl.results[i];

		counts[res->outcome]++;
		hooks[pl.hooks[i]]++;
		unreachable += res->unreachable;
		printf("%s: %s%s%s%s%s\n", pl.profiles[i]->name, engine_outcome_name(res->outcome),
		    res->serial[0] ? " serial " : "", res->serial,
		    res->detail[0] ? ": " : "", res->detail);
		if (res->outcome == OUT_FAILED)
			log_error("%s: %s", pl.profiles[i]->name, res->detail);
	}
	/* A hook reports on a change, it is not part of it: a failed hook
	 * is counted here and logged, and leaves the exit code alone. */
	if (hooks[HOOK_OK] + hooks[HOOK_FAILED] + hooks[HOOK_TIMEOUT] > 0)
		printf("hooks: %u ran, %u failed, %u timed out\n",
		    hooks[HOOK_OK] + hooks[HOOK_FAILED] + hooks[HOOK_TIMEOUT],
		    hooks[HOOK_FAILED], hooks[HOOK_TIMEOUT]);
	printf("%u enrolled, %u renewed, %u unchanged, %u failed\n", counts[OUT_ENROLLED],
	    counts[OUT_RENEWED], counts[OUT_UNCHANGED] + counts[OUT_PENDING] + counts[OUT_PLANNED],
	    counts[OUT_FAILED]);
	/* 4 only when every failure was a peer out of reach: then nothing
	 * about the profiles themselves is known to be wrong. */
	rc = counts[OUT_FAILED] == 0 ? EXIT_OK :
	    unreachable == counts[OUT_FAILED] ? EXIT_UNREACHABLE : EXIT_FAILED;
	write_metrics(&pl, &t0);
out:
	if (lock >= 0)
		store_unlock(lock);
	store_close(pl.st);
	free(pl.results);
	free(pl.hooks);
	free(pl.profiles);
	return rc;
}

/* lbcert run: enroll or renew what is due. */
#include <getopt.h>
#include <malloc.h>
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
	struct done *done;
	bool force, dry;
	pthread_mutex_t lock;
	size_t next_device;
};

/* What the summary needs of a profile's result, kept from its end to the
 * end of the run. A struct run_result is 1.2 KB, nearly all of it room
 * for a message: one per profile was 1.2 MB of a 1,000-profile run's
 * peak. text holds the serial and the detail, each NUL-terminated. */
struct done {
	enum run_outcome outcome;
	enum fail_class fail;
	bool unreachable;
	enum hook_status hook;
	char *text;
};

static const char *
done_serial(const struct done *d)
{
	return d->text != NULL ? d->text : "";
}

static const char *
done_detail(const struct done *d)
{
	if (d->text == NULL)
		return "(detail withheld: out of memory)";
	return d->text + strlen(d->text) + 1;
}

/* Without memory for the text the outcome still counts (exit status,
 * metrics); the summary line says its detail was withheld. */
static void
keep(struct done *d, const struct run_result *res, enum hook_status hook)
{
	size_t ls = strlen(res->serial), ld = strlen(res->detail);

	d->outcome = res->outcome;
	d->fail = res->fail;
	d->unreachable = res->unreachable;
	d->hook = hook;
	if ((d->text = malloc(ls + ld + 2)) == NULL)
		return;
	memcpy(d->text, res->serial, ls + 1);
	memcpy(d->text + ls + 1, res->detail, ld + 1);
}

static void
run_device(struct pool *pl, struct engine *en, const struct cfg_device *d)
{
	struct run_result res;
	enum hook_status hook;

	for (size_t i = 0; i < pl->n; i++)
		if (pl->profiles[i]->device == d) {
			engine_run_profile(en, pl->profiles[i], pl->force, pl->dry, &res);
			/* Right after the profile, while its device session
			 * is still open: a reload hook sees the change at
			 * once. */
			hook = pl->dry ? HOOK_NONE : hook_after(pl->st, pl->profiles[i], &res);
			keep(&pl->done[i], &res, hook);
		}
}

static void
fail_device(struct pool *pl, const struct cfg_device *d)
{
	struct run_result res = { .outcome = OUT_FAILED, .detail = "out of memory" };

	for (size_t i = 0; i < pl->n; i++)
		if (pl->profiles[i]->device == d)
			keep(&pl->done[i], &res, HOOK_NONE);
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
		fail_device(pl, &pl->a->cfg->devices[d]);
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
write_metrics(struct pool *pl, struct metrics_run *m, const struct timespec *t0)
{
	struct err e = {0};

	if (pl->dry || pl->a->cfg->metrics_file == NULL)
		return;
	m->duration_s = elapsed(t0);
	m->end = time(NULL);
	if (metrics_write(pl->a->cfg, pl->st, m, &e) != 0)
		log_error("metrics_file: %s", e.msg);
}

/* glibc gives each new thread a malloc arena of its own (up to eight per
 * core), and an arena keeps much of what its thread freed: at 1,000
 * profiles each of eight workers' arenas held 1.1-1.5 MB at the end of
 * the enrollment. The workers spend their time waiting on appliances and
 * CAs, not in malloc, so two arenas serve them all. Without glibc, or if
 * it refuses, each worker keeps its own: more memory, the same run. */
static void
share_arenas(void)
{
#ifdef M_ARENA_MAX
	if (mallopt(M_ARENA_MAX, 2) != 1)
		log_debug("cannot limit malloc arenas: each worker has its own");
#endif
}

static int
run_all(struct pool *pl, int jobs)
{
	pthread_t tids[64];
	int started = 0;

	if (jobs > (int)pl->a->cfg->ndevices)
		jobs = (int)pl->a->cfg->ndevices;
	share_arenas();
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
	struct metrics_run m = {0};
	int c, rc, lock = -1, jobs = 1;
	struct timespec t0;
	unsigned unreachable = 0, *counts = m.outcomes, *hooks = m.hooks;

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
	if ((pl.done = calloc(pl.n + 1, sizeof(*pl.done))) == NULL) {
		rc = EXIT_FAILED;
		goto out;
	}
	run_all(&pl, jobs);
	for (size_t i = 0; i < pl.n; i++) {
		const struct done *d = &pl.done[i];
		const char *serial = done_serial(d), *detail = done_detail(d);

		counts[d->outcome]++;
		hooks[d->hook]++;
		if (d->outcome == OUT_FAILED)
			m.fails[d->fail]++;
		unreachable += d->unreachable;
		printf("%s: %s%s%s%s%s\n", pl.profiles[i]->name, engine_outcome_name(d->outcome),
		    serial[0] ? " serial " : "", serial, detail[0] ? ": " : "", detail);
		if (d->outcome == OUT_FAILED)
			log_error("%s: %s", pl.profiles[i]->name, detail);
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
	write_metrics(&pl, &m, &t0);
out:
	if (lock >= 0)
		store_unlock(lock);
	store_close(pl.st);
	for (size_t i = 0; pl.done != NULL && i < pl.n; i++)
		free(pl.done[i].text);
	free(pl.done);
	free(pl.profiles);
	return rc;
}

/*
 * Requests sent per peer name over the whole process: each client adds its
 * count when it is freed, so a device's HA probes, re-logins and logout are
 * all in, and run --jobs workers add from their own threads.
 */
#include "net/http_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	char *name;
	unsigned long n;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct tally *tallies;
static size_t ntallies;

void
http_tally_add(const char *name, unsigned long n)
{
	struct tally *t;

	if (name == NULL || n == 0)
		return;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ntallies; i++)
		if (strcmp(tallies[i].name, name) == 0) {
			tallies[i].n += n;
			pthread_mutex_unlock(&lock);
			return;
		}
	/* Out of memory loses a figure of a metric, nothing else. */
	if ((t = realloc(tallies, (ntallies + 1) * sizeof(*t))) != NULL) {
		tallies = t;
		if ((t[ntallies].name = strdup(name)) != NULL)
			t[ntallies++].n = n;
	}
	pthread_mutex_unlock(&lock);
}

unsigned long
http_tally(const char *name)
{
	unsigned long n = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ntallies; i++)
		if (strcmp(tallies[i].name, name) == 0)
			n = tallies[i].n;
	pthread_mutex_unlock(&lock);
	return n;
}

void
http_tally_free(void)
{
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ntallies; i++)
		free(tallies[i].name);
	free(tallies);
	tallies = NULL;
	ntallies = 0;
	pthread_mutex_unlock(&lock);
}

/*
 * The last few certificates parsed, by their PEM text. OpenSSL 3.0 builds
 * a decoder context for every public key it parses (a tenth of a
 * millisecond), and one enrollment reads its certificate and chain from
 * PEM half a dozen times: the CA client orders the chain, the engine checks
 * it, the driver installs it. Shared by the run's workers; an X509 is
 * reference-counted and only read once parsed.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "crypto/x509.h"
#include "crypto/x509_int.h"

/* A certificate and the chain above it, for a few workers at once: a
 * handful of kilobytes each. */
#define PARSED_MAX 8

static struct {
	char *pem;
	X509 *x;
	unsigned long used;
} parsed[PARSED_MAX];
static unsigned long parsed_clock;
static pthread_mutex_t parsed_lock = PTHREAD_MUTEX_INITIALIZER;

X509 *
x509_parsed_get(const char *pem)
{
	X509 *x = NULL;

	pthread_mutex_lock(&parsed_lock);
	for (size_t i = 0; i < PARSED_MAX; i++)
		if (parsed[i].pem != NULL && strcmp(parsed[i].pem, pem) == 0) {
			if (X509_up_ref(parsed[i].x) == 1) {
				x = parsed[i].x;
				parsed[i].used = ++parsed_clock;
			}
			break;
		}
	pthread_mutex_unlock(&parsed_lock);
	return x;
}

static void
slot_clear(size_t i)
{
	X509_free(parsed[i].x);
	free(parsed[i].pem);
	parsed[i].x = NULL;
	parsed[i].pem = NULL;
}

/* Keeps x (a reference of its own) for pem, in place of the least recently
 * used; without memory it is simply not kept. */
void
x509_parsed_put(const char *pem, X509 *x)
{
	char *copy = strdup(pem);
	size_t victim = 0;

	if (copy == NULL || X509_up_ref(x) != 1) {
		free(copy);
		return;
	}
	pthread_mutex_lock(&parsed_lock);
	for (size_t i = 0; i < PARSED_MAX; i++) {
		if (parsed[i].pem != NULL && strcmp(parsed[i].pem, pem) == 0) {
			victim = i;	/* another worker parsed it meanwhile */
			break;
		}
		if (parsed[i].pem == NULL || parsed[i].used < parsed[victim].used)
			victim = i;
		if (parsed[i].pem == NULL)
			break;
	}
	slot_clear(victim);
	parsed[victim].pem = copy;
	parsed[victim].x = x;
	parsed[victim].used = ++parsed_clock;
	pthread_mutex_unlock(&parsed_lock);
}

void
x509_parsed_free(void)
{
	pthread_mutex_lock(&parsed_lock);
	for (size_t i = 0; i < PARSED_MAX; i++)
		slot_clear(i);
	pthread_mutex_unlock(&parsed_lock);
}

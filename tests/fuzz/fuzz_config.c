/* The configuration loader on a directory holding the fuzzed files: the
 * input is lbcert.yaml, then credentials.yaml and up to two profiles,
 * separated by lines "#%%" (a YAML comment, so that the parts stay YAML).
 * A part that is absent leaves its file out. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "config/config.h"
#include "fuzz.h"

#define SEP "\n#%%\n"

static char dir[64];
static const char *const files[] = {
	"lbcert.yaml", "credentials.yaml", "profiles/a.yaml", "profiles/b.yaml",
};

static void
cleanup(void)
{
	char p[128];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/profiles", dir);
	rmdir(p);
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[128];

	(void)argc;
	(void)argv;
	log_init(LL_ERROR, false);
	snprintf(dir, sizeof(dir), "%s", "/tmp/lbcert-fuzz-config.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(p, sizeof(p), "%s/profiles", dir);
	if (mkdir(p, 0700) != 0)
		abort();
	atexit(cleanup);
	return 0;
}

static void
put(const char *name, const uint8_t *d, size_t n)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if ((fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		abort();
	if (n > 0 && write(fd, d, n) != (ssize_t)n)
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *part[4];
	size_t len[4], n, nf = sizeof(files) / sizeof(files[0]);
	struct config *c = NULL;
	struct err e = { 0 };
	char p[128];
	int rc;

	n = fz_split(data, size, SEP, part, len, nf);
	for (size_t i = 0; i < nf; i++) {
		if (i < n) {
			put(files[i], part[i], len[i]);
		} else {
			snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
			unlink(p);
		}
	}
	rc = config_load(dir, &cmd_kinds, &c, &e);
	if (rc == 0) {
		char buf[32];

		FZ_ASSERT(c != NULL);
		for (size_t i = 0; i < c->nprofiles; i++) {
			FZ_ASSERT(config_profile(c, c->profiles[i].name) != NULL);
			(void)config_key_desc(&c->profiles[i].key, buf, sizeof(buf));
		}
		for (size_t i = 0; i < c->ndevices; i++)
			FZ_ASSERT(config_device(c, c->devices[i].name) != NULL);
		config_free(c);
	} else {
		FZ_ASSERT(c == NULL && rc < 0 && e.msg[0] != '\0');
	}
	return 0;
}

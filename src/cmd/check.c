/* lbcert check: configuration (already loaded by main), then a read-only
 * login on every device and a read-only request to every CA. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "engine/engine.h"
#include "util/log.h"

/* stdout, not the log: redact what a peer may echo (a password). */
static void
print_failed(const char *what, const char *name, const struct err *e)
{
	char *m = log_redact(e->msg);
	const char *say = m;
	size_t n = strlen(name);

	/* the line names the device or CA already */
	if (say != NULL && strncmp(say, name, n) == 0 && strncmp(say + n, ": ", 2) == 0)
		say += n + 2;
	printf("%s %s: FAILED: %s\n", what, name, say != NULL ? say :
	    "(message withheld: out of memory)");
	free(m);
}

int
cmd_check(struct app *a, int argc, char **argv)
{
	struct store *st = NULL;
	struct engine *en;
	int bad = 0, unreachable = 0, rc;

	(void)argc;
	(void)argv;
	if ((rc = cmd_open_store(a, &st, NULL)) != 0)
		return rc;
	if ((en = engine_new(a->cfg, st, a->state_dir)) == NULL) {
		store_close(st);
		return EXIT_FAILED;
	}
	printf("config %s: ok (%zu devices, %zu CAs, %zu profiles)\n", a->config_dir,
	    a->cfg->ndevices, a->cfg->ncas, a->cfg->nprofiles);
	for (size_t i = 0; i < a->cfg->ndevices; i++) {
		const char *url;
		struct err e = {0};

		rc = engine_check_device(en, &a->cfg->devices[i], &url, &e);
		if (rc == 0)
			printf("device %s: ok (%s)\n", a->cfg->devices[i].name, url);
		else
			print_failed("device", a->cfg->devices[i].name, &e);
		bad += rc != 0;
		unreachable += rc == LB_EUNREACH;
	}
	for (size_t i = 0; i < a->cfg->ncas; i++) {
		struct err e = {0};

		rc = engine_check_ca(en, &a->cfg->cas[i], &e);
		if (rc == 0)
			printf("ca %s: ok\n", a->cfg->cas[i].name);
		else
			print_failed("ca", a->cfg->cas[i].name, &e);
		bad += rc != 0;
		unreachable += rc == LB_EUNREACH;
		if (rc != 0)
			continue;
		/* what the CA needs from each profile (SCM custom fields) */
		for (size_t k = 0; k < a->cfg->nprofiles; k++) {
			const struct cfg_profile *p = &a->cfg->profiles[k];

			if (p->ca != &a->cfg->cas[i])
				continue;
			if ((rc = engine_check_profile(en, p, &e)) != 0)
				print_failed("profile", p->name, &e);
			bad += rc != 0;
			unreachable += rc == LB_EUNREACH;
		}
	}
	engine_free(en);
	store_close(st);
	return bad == 0 ? EXIT_OK : unreachable == bad ? EXIT_UNREACHABLE : EXIT_FAILED;
}

/* cactl: drives one CA client step by step (see README.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ca/ca.h"
#include "spec.h"
#include "util/log.h"
#include "util/mem.h"

#define MAXARGS 32

static int
write_file(const char *path, const char *a, char *const *rest, size_t n)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		return -1;
	if (a != NULL)
		fputs(a, f);
	for (size_t i = 0; i < n; i++)
		fputs(rest[i], f);
	return fclose(f);
}

static int
cmd_collect(const struct ca_ops *ops, struct ca *ca, int ac, char **av, json_t *out,
    struct err *e)
{
	char *csr = spec_slurp(av[2]), *cert = NULL, **chain = NULL;
	char *cf = xasprintf("%s.crt", av[3]), *chf = xasprintf("%s.chain.pem", av[3]);
	size_t nchain = 0;
	struct ca_request req = { .profile = "cactl", .csr_pem = csr, .names = &av[4],
	    .nnames = (size_t)(ac - 4), .common_name = av[4] };
	int rc;

	if (csr == NULL) {
		rc = err_set(e, LB_ERR, "cannot read %s", av[2]);
		goto out;
	}
	rc = ops->collect(ca, &req, av[1], NULL, &cert, &chain, &nchain, e);
	if (rc != 0)
		goto out;
	if (write_file(cf, cert, NULL, 0) != 0 || write_file(chf, NULL, chain, nchain) != 0) {
		rc = err_set(e, LB_ERR, "cannot write %s", av[3]);
		goto out;
	}
	json_object_set_new(out, "cert_file", json_string(cf));
	json_object_set_new(out, "chain_file", json_string(chf));
	json_object_set_new(out, "nchain", json_integer((json_int_t)nchain));
out:
	free(csr);
	free(cert);
	strv_free(chain, nchain);
	free(cf);
	free(chf);
	return rc;
}

static int
dispatch(const struct ca_ops *ops, struct ca *ca, int ac, char **av, json_t *out,
    struct err *e)
{
	const char *c = av[0];
	char *s = NULL, *pem = NULL;
	int rc;

	if (strcmp(c, "ping") == 0)
		return ops->ping(ca, e);
	if (strcmp(c, "submit") == 0 && ac >= 3) {
		struct ca_request req = { .profile = "cactl", .names = &av[2],
		    .nnames = (size_t)(ac - 2), .common_name = av[2] };
		if ((pem = spec_slurp(av[1])) == NULL)
			return err_set(e, LB_ERR, "cannot read %s", av[1]);
		req.csr_pem = pem;
		rc = ops->submit(ca, &req, &s, e);
		if (rc == 0)
			json_object_set_new(out, "order_ref", json_string(s));
		free(s);
		free(pem);
		return rc;
	}
	if (strcmp(c, "collect") == 0 && ac >= 5)
		return cmd_collect(ops, ca, ac, av, out, e);
	if (strcmp(c, "revoke") == 0 && ac >= 4) {
		int reason = ca_reason_parse(av[3]);
		if (reason < 0)
			return err_set(e, LB_ERR, "unknown reason %s", av[3]);
		if ((pem = spec_slurp(av[2])) == NULL)
			return err_set(e, LB_ERR, "cannot read %s", av[2]);
		rc = ops->revoke(ca, av[1], pem, reason, e);
		free(pem);
		return rc;
	}
	return err_set(e, LB_ERR, "unknown command or missing arguments: %s", c);
}

int
main(int argc, char **argv)
{
	struct cfg_ca cfg;
	struct ca *ca = NULL;
	const struct ca_ops *ops;
	json_error_t jerr;
	json_t *spec;
	char line[8192];
	struct err e = {0};
	int opt, rc;

	log_init(LL_INFO, false);
	while ((opt = getopt(argc, argv, "l:")) != -1)
		if (opt == 'l')
			log_init((enum log_level)log_level_parse(optarg), false);
	if (optind >= argc) {
		fprintf(stderr, "usage: cactl [-l level] SPEC.json < commands\n");
		return 2;
	}
	spec = json_load_file(argv[optind], 0, &jerr);
	if (spec == NULL || spec_ca(json_object_get(spec, "ca"), &cfg) != 0) {
		fprintf(stderr, "cactl: bad spec %s: %s\n", argv[optind], jerr.text);
		return 2;
	}
	log_secret_add(cfg.password);
	log_secret_add(cfg.eab_hmac_key);
	ops = ca_ops_for(cfg.type);
	rc = ops->open(&cfg, json_string_value(json_object_get(spec, "state_dir")), &ca, &e);
	if (rc != 0) {
		spec_reply(NULL, rc, e.msg);
		goto out;
	}
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *av[MAXARGS + 1], *save = NULL;
		int ac = 0;
		json_t *out = json_object();

		err_clear(&e);
		for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL && ac < MAXARGS;
		    t = strtok_r(NULL, " \t\r\n", &save))
			av[ac++] = t;
		if (ac == 0) {
			json_decref(out);
			continue;
		}
		spec_reply(out, dispatch(ops, ca, ac, av, out, &e), e.msg);
	}
	ops->close(ca);
out:
	config_ca_free(&cfg); /* unregisters the secrets, then wipes them */
	json_decref(spec);
	return 0;
}

/* devctl: drives one device driver step by step (see README.md). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/x509.h"
#include "device/device.h"
#include "spec.h"
#include "util/log.h"
#include "util/mem.h"

#define MAXARGS 8

struct ctx {
	struct cfg_device dev;
	struct cfg_profile prof;
	const struct device_ops *ops;
	struct device *d;
};

static json_t *
strv_json(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static int
cmd_cert_get(struct ctx *x, json_t *out, struct err *e)
{
	struct device_cert c = {0};
	int rc = x->ops->cert_get(x->d, &x->prof, &c, e);

	if (rc != 0)
		return rc;
	json_object_set_new(out, "object", json_string(c.object));
	json_object_set_new(out, "serial", json_string(c.serial));
	json_object_set_new(out, "not_after", json_integer(c.not_after));
	json_object_set_new(out, "names", strv_json(c.names, c.nnames));
	json_object_set_new(out, "key_desc", json_string(c.key_desc));
	json_object_set_new(out, "bound", strv_json(c.bound, c.nbound));
	json_object_set_new(out, "refs", json_string(c.refs));
	json_object_set_new(out, "cert_pem", json_string(c.cert_pem));
	device_cert_free(&c);
	return 0;
}

static int
cmd_install(struct ctx *x, char **av, json_t *out, struct err *e)
{
	char *cert = spec_slurp(av[2]), **chain = NULL, *bundle = NULL, *ref = NULL;
	size_t n = 0;
	int rc = LB_ERR;

	if (cert == NULL) {
		err_set(e, LB_ERR, "cannot read %s", av[2]);
		goto out;
	}
	if (strcmp(av[3], "-") != 0) {
		bundle = spec_slurp(av[3]);
		if (bundle == NULL || (rc = x509_split_pem(bundle, &chain, &n, e)) != 0) {
			err_set(e, LB_ERR, "cannot read chain %s", av[3]);
			goto out;
		}
	}
	rc = x->ops->cert_install(x->d, &x->prof, av[1], cert, chain, n, &ref, e);
	if (rc == 0)
		json_object_set_new(out, "install_ref", json_string(ref));
out:
	free(cert);
	free(bundle);
	free(ref);
	strv_free(chain, n);
	return rc;
}

static int
cmd_inventory(struct ctx *x, json_t *out, struct err *e)
{
	struct device_inv *v = NULL;
	size_t n = 0;
	json_t *items = json_array();
	int rc = x->ops->inventory(x->d, &v, &n, e);

	for (size_t i = 0; rc == 0 && i < n; i++)
		json_array_append_new(items, json_pack("{s:s?, s:s?, s:s?, s:I, s:o, s:b}",
		    "name", v[i].name, "serial", v[i].serial, "subject_cn", v[i].subject_cn,
		    "not_after", (json_int_t)v[i].not_after,
		    "bound", strv_json(v[i].bound, v[i].nbound), "is_ca", v[i].is_ca));
	json_object_set_new(out, "items", items);
	device_inv_free(v, n);
	return rc;
}

static int
file_arg(const char *path, char **out, struct err *e)
{
	*out = spec_slurp(path);
	if (*out == NULL)
		return err_set(e, LB_ERR, "cannot read %s", path);
	/* refs and install_ref files come from the test with a trailing newline */
	(*out)[strcspn(*out, "\n")] = '\0';
	return 0;
}

static int
dispatch(struct ctx *x, int ac, char **av, json_t *out, struct err *e)
{
	const char *c = av[0];
	char *s = NULL, *csr = NULL;
	int rc;

#define NEED(n) do { if (ac < (n) + 1) return err_set(e, LB_ERR, "%s: needs %d args", c, n); } while (0)
	if (strcmp(c, "open") == 0) {
		rc = x->ops->open(&x->dev, &x->d, e);
		if (rc == 0)
			json_object_set_new(out, "active_url", json_string(x->ops->active_url(x->d)));
		return rc;
	}
	if (x->d == NULL)
		return err_set(e, LB_ERR, "not open");
	if (strcmp(c, "close") == 0) {
		x->ops->close(x->d);
		x->d = NULL;
		return 0;
	}
	if (strcmp(c, "cert-get") == 0)
		return cmd_cert_get(x, out, e);
	if (strcmp(c, "key-create") == 0) {
		NEED(1);
		rc = x->ops->key_create(x->d, &x->prof, av[1], &s, &csr, e);
		if (rc == 0) {
			json_object_set_new(out, "key_ref", json_string(s));
			json_object_set_new(out, "csr_pem", json_string(csr));
		}
		free(s);
		free(csr);
		return rc;
	}
	if (strcmp(c, "key-ref-for") == 0) {
		NEED(1);
		if (x->ops->key_ref_for == NULL)
			return err_set(e, LB_ERR, "%s: no key_ref_for", x->ops->type);
		if ((s = x->ops->key_ref_for(x->d, &x->prof, av[1])) == NULL)
			return err_set(e, LB_ERR, "out of memory");
		json_object_set_new(out, "key_ref", json_string(s));
		free(s);
		return 0;
	}
	if (strcmp(c, "unsaved") == 0) {
		json_object_set_new(out, "unsaved", json_boolean(x->ops->unsaved != NULL &&
		    x->ops->unsaved(x->d)));
		return 0;
	}
	if (strcmp(c, "key-usable") == 0) {
		NEED(1);
		json_object_set_new(out, "usable", json_boolean(x->ops->key_usable(x->d, &x->prof, av[1])));
		return 0;
	}
	if (strcmp(c, "key-discard") == 0) {
		NEED(1);
		return x->ops->key_discard(x->d, &x->prof, av[1], e);
	}
	if (strcmp(c, "install") == 0) {
		NEED(3);
		return cmd_install(x, av, out, e);
	}
	if (strcmp(c, "activate") == 0) {
		NEED(3);
		if ((rc = file_arg(av[2], &s, e)) != 0)
			return rc;
		rc = x->ops->activate(x->d, &x->prof, av[1], s, strcmp(av[3], "first") == 0, e);
		free(s);
		return rc;
	}
	if (strcmp(c, "save") == 0)
		return x->ops->save(x->d, e);
	if (strcmp(c, "retire") == 0) {
		NEED(1);
		if ((rc = file_arg(av[1], &s, e)) != 0)
			return rc;
		rc = x->ops->retire(x->d, &x->prof, s, e);
		free(s);
		return rc;
	}
	if (strcmp(c, "http01-publish") == 0) {
		NEED(2);
		return x->ops->http01_publish(x->d, &x->prof, av[1], av[2], e);
	}
	if (strcmp(c, "http01-withdraw") == 0) {
		NEED(1);
		return x->ops->http01_withdraw(x->d, &x->prof, av[1], e);
	}
	if (strcmp(c, "inventory") == 0)
		return cmd_inventory(x, out, e);
	if (strcmp(c, "remove") == 0)
		return x->ops->remove(x->d, &x->prof, e);
	return err_set(e, LB_ERR, "unknown command %s", c);
#undef NEED
}

int
main(int argc, char **argv)
{
	struct ctx x = {0};
	json_error_t jerr;
	json_t *spec;
	char line[8192];
	int opt;

	log_init(LL_INFO, false);
	while ((opt = getopt(argc, argv, "l:")) != -1)
		if (opt == 'l')
			log_init((enum log_level)log_level_parse(optarg), false);
	if (optind >= argc) {
		fprintf(stderr, "usage: devctl [-l level] SPEC.json < commands\n");
		return 2;
	}
	spec = json_load_file(argv[optind], 0, &jerr);
	if (spec == NULL || spec_device(json_object_get(spec, "device"), &x.dev) != 0 ||
	    spec_profile(json_object_get(spec, "profile"), &x.dev, &x.prof) != 0) {
		fprintf(stderr, "devctl: bad spec %s: %s\n", argv[optind], jerr.text);
		return 2;
	}
	log_secret_add(x.dev.password);
	x.ops = device_ops_for(x.dev.type);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		char *av[MAXARGS + 1], *save = NULL;
		int ac = 0;
		struct err e = {0};
		json_t *out = json_object();

		for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL && ac < MAXARGS;
		    t = strtok_r(NULL, " \t\r\n", &save))
			av[ac++] = t;
		if (ac == 0) {
			json_decref(out);
			continue;
		}
		int rc = dispatch(&x, ac, av, out, &e);
		spec_reply(out, rc, e.msg);
	}
	if (x.d != NULL)
		x.ops->close(x.d);
	config_profile_free(&x.prof);
	config_device_free(&x.dev); /* unregisters the password, then wipes it */
	json_decref(spec);
	return 0;
}

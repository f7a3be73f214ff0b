/* lbcert: option parsing and dispatch only. */
#include <curl/curl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "cmd/cmd.h"
#include "crypto/x509.h"
#include "net/http.h"
#include "util/log.h"

static const struct {
	const char *name;
	int (*fn)(struct app *, int, char **);
} commands[] = {
	{ "run", cmd_run },
	{ "plan", cmd_plan },
	{ "status", cmd_status },
	{ "inventory", cmd_inventory },
	{ "revoke", cmd_revoke },
	{ "rollback", cmd_rollback },
	{ "check", cmd_check },
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: lbcert [-c DIR] [--state-dir DIR] [-l error|warn|info|debug|trace]\n"
	    "              [--log-format text|json] [--version] [--help] COMMAND [ARGS]\n"
	    "\n"
	    "commands:\n"
	    "  run [--dry-run] [--force] [--jobs N] [PROFILE...]  enroll or renew what is due\n"
	    "  plan [PROFILE...]                                 what run would do and why\n"
	    "  status [--json] [PROFILE...]                      certificates and last results\n"
	    "  inventory [--json] [DEVICE...]                    every certificate on the devices\n"
	    "  revoke PROFILE [--reason R] [--remove]            revoke at the CA\n"
	    "  rollback PROFILE                                  back to the previous certificate\n"
	    "  check                                             validate config, reach devices and CAs\n"
	    "\n"
	    "exit codes: 0 ok, 1 a profile failed, 2 usage/config error, 3 locked, 4 unreachable\n");
}

static const char *
env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v != NULL && v[0] != '\0' ? v : def;
}

/* Passwords, tokens and BIG-IP key passphrases live in this process's
 * memory: it must never be written to a core file or read by ptrace from
 * another process of the same user. */
static int
no_core_dumps(void)
{
	struct rlimit none = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &none) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) {
		perror("lbcert: cannot disable core dumps");
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct app a = {
		.config_dir = env_or("LBCERT_CONFIG_DIR", "/etc/lbcert"),
		.state_dir = env_or("LBCERT_STATE_DIR", "/var/lib/lbcert"),
	};
	struct err e = {0};
	int c, level = LL_INFO, rc;
	bool json = false;

	if (no_core_dumps() != 0)
		return 1;
	while ((c = getopt_long(argc, argv, "+c:l:hV", opts, NULL)) != -1)
		switch (c) {
		case 'c':
			a.config_dir = optarg;
			break;
		case 's':
			a.state_dir = optarg;
			break;
		case 'l':
			if ((level = log_level_parse(optarg)) < 0) {
				fprintf(stderr, "lbcert: unknown log level %s\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'F':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0) {
				fprintf(stderr, "lbcert: --log-format is text or json\n");
				return EXIT_USAGE;
			}
			json = strcmp(optarg, "json") == 0;
			break;
		case 'V':
			printf("lbcert %s\n", LBCERT_VERSION);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	log_init((enum log_level)level, json);
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (config_load(a.config_dir, &cmd_kinds, &a.cfg, &e) != 0) {
			log_bare(LL_ERROR, "%s", e.msg);
			return EXIT_USAGE;
		}
		/* Once, before any thread or handle: curl's lazy init is not
		 * thread-safe. */
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "lbcert: cannot initialise libcurl\n");
			config_free(a.cfg);
			return EXIT_FAILED;
		}
		rc = commands[i].fn(&a, argc - optind, argv + optind);
		config_free(a.cfg);
		http_tally_free();
		x509_parsed_free();
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "lbcert: unknown command %s\n", argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}

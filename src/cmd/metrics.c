/* metrics_file: Prometheus text exposition format, for the node exporter's
 * textfile collector, which reads every *.prom file of its directory. The
 * file is replaced whole by rename, so a scrape never sees half a run. */
#include "cmd/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/policy.h"
#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

static const char *const results[] = { "enrolled", "renewed", "unchanged", "pending",
	"failed" };

/* A label value with \, " and newline escaped as the format requires;
 * other control characters cannot come from a validated configuration. */
static void
label(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n') {
			fputs("\\n", f);
			continue;
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void
head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
plabels(FILE *f, const char *name, const struct cfg_profile *p)
{
	fprintf(f, "%s{profile=", name);
	label(f, p->name);
	fputs(",device=", f);
	label(f, p->device->name);
	fputs(",ca=", f);
	label(f, p->ca->name);
}

/* What the store knows of one profile. */
struct pstate {
	bool have_cert, have_result;
	struct store_cert cert;
	char *result;
	time_t result_at;
};

static int
pstate_get(struct store *st, const struct cfg_profile *p, struct pstate *s, struct err *e)
{
	char *error = NULL;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = store_cert_get(st, p->name, &s->cert, e)) == 0)
		s->have_cert = true;
	else if (rc != LB_ENOTFOUND)
		return rc;
	if ((rc = store_result_get(st, p->name, &s->result, &error, &s->result_at, e)) == 0)
		s->have_result = true;
	else if (rc != LB_ENOTFOUND)
		return rc;
	free(error);
	err_clear(e);
	return 0;
}

static void
pstate_free(struct pstate *s)
{
	store_cert_free(&s->cert);
	free(s->result);
}

/* Due by the record: no certificate, inside the renewal window, or the
 * last attempt did not finish. A revocation or a changed key is only seen
 * by reading the device (plan). */
static bool
due(const struct cfg_profile *p, const struct pstate *s, time_t now)
{
	if (!s->have_cert)
		return true;
	if (s->have_result && (strcmp(s->result, "failed") == 0 ||
	    strcmp(s->result, "pending") == 0))
		return true;
	return now >= s->cert.not_after - policy_window(p, s->cert.not_before,
	    s->cert.not_after);
}

static int
profile_metrics(FILE *f, const struct config *cfg, struct store *st, time_t now,
    struct err *e)
{
	struct pstate *s = calloc(cfg->nprofiles + 1, sizeof(*s));
	int rc = 0;

	if (s == NULL)
		return err_set(e, LB_ERR, "out of memory");
	for (size_t i = 0; i < cfg->nprofiles && rc == 0; i++)
		rc = pstate_get(st, &cfg->profiles[i], &s[i], e);
	if (rc != 0)
		goto out;
	head(f, "lbcert_certificate_expiry_timestamp_seconds", "gauge",
	    "Expiry (notAfter) of the certificate in service, as Unix time.");
	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (s[i].have_cert) {
			plabels(f, "lbcert_certificate_expiry_timestamp_seconds", &cfg->profiles[i]);
			fprintf(f, "} %lld\n", (long long)s[i].cert.not_after);
		}
	head(f, "lbcert_certificate_last_change_timestamp_seconds", "gauge",
	    "When lbcert last enrolled or renewed the profile's certificate, as Unix time.");
	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (s[i].have_cert) {
			plabels(f, "lbcert_certificate_last_change_timestamp_seconds",
			    &cfg->profiles[i]);
			fprintf(f, "} %lld\n", (long long)s[i].cert.updated);
		}
	head(f, "lbcert_profile_last_run_timestamp_seconds", "gauge",
	    "When a run last worked on the profile, as Unix time.");
	for (size_t i = 0; i < cfg->nprofiles; i++)
		if (s[i].have_result) {
			plabels(f, "lbcert_profile_last_run_timestamp_seconds", &cfg->profiles[i]);
			fprintf(f, "} %lld\n", (long long)s[i].result_at);
		}
	head(f, "lbcert_profile_last_result", "gauge",
	    "1 for the result of the profile's last run, 0 for the others.");
	for (size_t i = 0; i < cfg->nprofiles; i++)
		for (size_t r = 0; s[i].have_result && r < sizeof(results) / sizeof(*results); r++) {
			plabels(f, "lbcert_profile_last_result", &cfg->profiles[i]);
			fprintf(f, ",result=\"%s\"} %d\n", results[r],
			    strcmp(s[i].result, results[r]) == 0);
		}
	head(f, "lbcert_profile_due", "gauge",
	    "1 when the profile needs a run: no certificate, inside its renewal window, "
	    "or its last run failed or is pending.");
	for (size_t i = 0; i < cfg->nprofiles; i++) {
		plabels(f, "lbcert_profile_due", &cfg->profiles[i]);
		fprintf(f, "} %d\n", due(&cfg->profiles[i], &s[i], now));
	}
out:
	for (size_t i = 0; i < cfg->nprofiles; i++)
		pstate_free(&s[i]);
	free(s);
	return rc;
}

static void
run_metrics(FILE *f, const struct metrics_run *run)
{
	static const enum run_outcome outs[] = { OUT_ENROLLED, OUT_RENEWED, OUT_UNCHANGED,
		OUT_PENDING, OUT_FAILED };

	head(f, "lbcert_run_timestamp_seconds", "gauge", "When the last run ended, as Unix time.");
	fprintf(f, "lbcert_run_timestamp_seconds %lld\n", (long long)run->end);
	head(f, "lbcert_run_duration_seconds", "gauge", "How long the last run took.");
	fprintf(f, "lbcert_run_duration_seconds %.3f\n", run->duration_s);
	head(f, "lbcert_run_profiles", "gauge", "Profiles of the last run by result.");
	for (size_t o = 0; o < sizeof(outs) / sizeof(*outs); o++)
		fprintf(f, "lbcert_run_profiles{result=\"%s\"} %u\n", engine_outcome_name(outs[o]),
		    run->outcomes[outs[o]]);
	head(f, "lbcert_run_errors", "gauge",
	    "Failed profiles of the last run by what they ran into: unreachable (a device or "
	    "CA out of reach), auth (credentials refused), device, ca (the device or the CA "
	    "refused or failed a step), verify (the served certificate was not the one "
	    "installed), local (this host); and failed or timed-out hooks.");
	for (int c = FAIL_UNREACHABLE; c < FAIL_NCLASSES; c++)
		fprintf(f, "lbcert_run_errors{class=\"%s\"} %u\n", engine_fail_name(c), run->fails[c]);
	fprintf(f, "lbcert_run_errors{class=\"hook\"} %u\n", run->hooks[HOOK_FAILED]);
	fprintf(f, "lbcert_run_errors{class=\"hook_timeout\"} %u\n", run->hooks[HOOK_TIMEOUT]);
}

/* Requests by peer name: a device and a CA of the same name share a line. */
static void
request_metrics(FILE *f, const struct config *cfg)
{
	head(f, "lbcert_run_requests", "gauge",
	    "HTTP requests the last run sent to each device (every unit) and CA, by name.");
	for (size_t i = 0; i < cfg->ndevices; i++) {
		fputs("lbcert_run_requests{peer=", f);
		label(f, cfg->devices[i].name);
		fprintf(f, "} %lu\n", http_tally(cfg->devices[i].name));
	}
	for (size_t i = 0; i < cfg->ncas; i++) {
		bool seen = false;

		for (size_t j = 0; j < cfg->ndevices; j++)
			seen |= strcmp(cfg->devices[j].name, cfg->cas[i].name) == 0;
		if (seen)
			continue;
		fputs("lbcert_run_requests{peer=", f);
		label(f, cfg->cas[i].name);
		fprintf(f, "} %lu\n", http_tally(cfg->cas[i].name));
	}
}

int
metrics_write(const struct config *cfg, struct store *st, const struct metrics_run *run,
    struct err *e)
{
	const char *path = cfg->metrics_file, *slash = strrchr(path, '/');
	char *tmp = NULL;
	FILE *f = NULL;
	int fd = -1, rc = LB_ERR;

	/* A dot name without .prom, next to the file (the rename stays in
	 * one file system): the collector skips it while it grows. The
	 * loader made the path absolute. */
	if (slash == NULL)
		return err_set(e, LB_ERR, "%s: not an absolute path", path);
	if ((tmp = xasprintf("%.*s/.%s.XXXXXX", (int)(slash - path), path, slash + 1)) == NULL) {
		err_set(e, LB_ERR, "out of memory");
		goto out;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		err_set(e, LB_ERR, "%s: %s", tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0644) == -1 || (f = fdopen(fd, "w")) == NULL) {
		err_set(e, LB_ERR, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if ((rc = profile_metrics(f, cfg, st, run->end, e)) != 0)
		goto out;
	run_metrics(f, run);
	request_metrics(f, cfg);
	rc = LB_ERR;
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
		err_set(e, LB_ERR, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		err_set(e, LB_ERR, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) == -1) {
		err_set(e, LB_ERR, "%s: %s", path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	rc = 0;
out:
	if (f != NULL)
		fclose(f);
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	return rc;
}

#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/rand.h>

#include "engine/engine_int.h"
#include "util/log.h"
#include "util/mem.h"

void
engine_redact_copy(char *dst, size_t len, const char *msg)
{
	char *r = log_redact(msg);

	/* no copy, no text: an unredacted message is worse than none */
	err_escape(dst, len, r != NULL ? r : "(message withheld: out of memory)", false);
	free(r);
}

struct engine *
engine_new(const struct config *cfg, struct store *st, const char *state_dir)
{
	struct engine *en = calloc(1, sizeof(*en));

	if (en == NULL)
		return NULL;
	en->cfg = cfg;
	en->st = st;
	en->state_dir = xstrdup(state_dir);
	en->devs = calloc(cfg->ndevices + 1, sizeof(*en->devs));
	en->cas = calloc(cfg->ncas + 1, sizeof(*en->cas));
	if (en->state_dir == NULL || en->devs == NULL || en->cas == NULL) {
		engine_free(en);
		return NULL;
	}
	return en;
}

/* Whatever a run left changed on a device (a failed profile's installed
 * objects, a discarded key, revoke --remove) is saved before the session
 * ends, so that the saved configuration and the HA peer match what runs. */
static void
save_if_changed(struct dev_slot *s)
{
	struct err e = {0};

	if (s->ops->unsaved == NULL || !s->ops->unsaved(s->dev))
		return;
	log_info("device %s: saving the configuration changed by this run", s->cfg->name);
	if (s->ops->save(s->dev, &e) != 0) {
		char msg[sizeof(e.msg)];

		engine_redact_copy(msg, sizeof(msg), e.msg);
		log_warn("device %s: running configuration left unsaved: %s", s->cfg->name, msg);
	}
}

static void
release_slot(struct engine *en, size_t i)
{
	struct dev_slot *s = en->devs[i];

	if (s == NULL)
		return;
	if (s->dev != NULL) {
		save_if_changed(s);
		s->ops->close(s->dev);
	}
	free(s);
	en->devs[i] = NULL;
}

static bool
later_room(struct engine *en)
{
	struct store_result *t;
	size_t n;

	if (en->nlater < en->maxlater)
		return true;
	n = en->maxlater > 0 ? 2 * en->maxlater : 16;
	if ((t = reallocarray(en->later, n, sizeof(*t))) == NULL)
		return false;
	en->later = t;
	en->maxlater = n;
	return true;
}

void
engine_note_unchanged(struct engine *en, const struct cfg_profile *p)
{
	struct store_result r = { p->name, "unchanged", NULL, time(NULL) };
	struct err e = {0};

	if (later_room(en)) {
		en->later[en->nlater++] = r;
		return;
	}
	if (store_results_set(en->st, &r, 1, &e) != 0)
		log_warn("%s: cannot record the result: %s", p->name, e.msg);
}

static void
flush_results(struct engine *en)
{
	struct err e = {0};

	if (en->nlater == 0)
		return;
	if (store_results_set(en->st, en->later, en->nlater, &e) != 0)
		log_warn("cannot record the results of %zu unchanged profiles: %s",
		    en->nlater, e.msg);
	en->nlater = 0;
}

void
engine_release_device(struct engine *en, const struct cfg_device *d)
{
	size_t i = (size_t)(d - en->cfg->devices);

	flush_results(en);
	if (i < en->cfg->ndevices)
		release_slot(en, i);
}

void
engine_free(struct engine *en)
{
	if (en == NULL)
		return;
	flush_results(en);
	free(en->later);
	for (size_t i = 0; en->devs != NULL && i < en->cfg->ndevices; i++)
		release_slot(en, i);
	for (size_t i = 0; en->cas != NULL && i < en->cfg->ncas; i++)
		if (en->cas[i].ca != NULL)
			en->cas[i].ops->close(en->cas[i].ca);
	free(en->devs);
	free(en->cas);
	free(en->state_dir);
	free(en);
}

int
engine_device(struct engine *en, const struct cfg_device *d, struct device **dev,
    const struct device_ops **ops, struct err *e)
{
	size_t i = (size_t)(d - en->cfg->devices);
	struct dev_slot *s;
	struct err oe = {0};

	if (i >= en->cfg->ndevices)
		return err_set(e, LB_ERR, "device %s is not in the configuration", d->name);
	if (en->devs[i] == NULL &&
	    (en->devs[i] = calloc(1, sizeof(*en->devs[i]))) == NULL)
		return err_set(e, LB_ERR, "device %s: out of memory", d->name);
	s = en->devs[i];
	if (s->cfg == NULL) {
		s->cfg = d;
		s->ops = device_ops_for(d->type);
		s->rc = s->ops->open(d, &s->dev, &oe);
		engine_redact_copy(s->msg, sizeof(s->msg), oe.msg);
		if (s->rc == 0)
			log_info("device %s: connected to %s", d->name, s->ops->active_url(s->dev));
	}
	if (s->rc != 0)
		return err_set(e, s->rc, "%s", s->msg);
	*dev = s->dev;
	*ops = s->ops;
	return 0;
}

int
engine_ca(struct engine *en, const struct cfg_ca *c, struct ca **ca,
    const struct ca_ops **ops, struct err *e)
{
	size_t i = (size_t)(c - en->cfg->cas);
	struct ca_slot *s;
	struct err oe = {0};

	if (i >= en->cfg->ncas)
		return err_set(e, LB_ERR, "ca %s is not in the configuration", c->name);
	s = &en->cas[i];
	if (s->cfg == NULL) {
		s->cfg = c;
		s->ops = ca_ops_for(c->type);
		/* Opening touches no file: the ACME account key is made (once,
		 * safely across run --jobs threads) when first needed. */
		s->rc = s->ops->open(c, en->state_dir, &s->ca, &oe);
		engine_redact_copy(s->msg, sizeof(s->msg), oe.msg);
	}
	if (s->rc != 0)
		return err_set(e, s->rc, "%s", s->msg);
	*ca = s->ca;
	*ops = s->ops;
	return 0;
}

int
engine_ca_prepare(struct engine *en, const struct cfg_profile *p, struct err *e)
{
	struct ca *ca;
	const struct ca_ops *ops;
	int rc;

	if ((rc = engine_ca(en, p->ca, &ca, &ops, e)) != 0)
		return rc;
	/* the caller says which profile: e is the CA's word alone */
	if (ops->prepare == NULL || (rc = ops->prepare(ca, p, e)) == 0)
		return 0;
	return rc;
}

bool
engine_order_used(void *ctx, const char *order_ref)
{
	struct engine *en = ctx;
	struct err e = {0};
	long n = 0;

	if (store_history_count(en->st, NULL, "ca_submit", order_ref, &n, &e) != 0) {
		log_warn("history: %s", e.msg);
		return true; /* unknown: the safe answer */
	}
	return n > 0;
}

/* The tag finds an order again when the answer to its request is lost:
 * 64 random bits keep it apart from every other request at the CA. */
int
engine_tag(char tag[ENGINE_TAG_LEN], struct err *e)
{
	unsigned char rnd[(ENGINE_TAG_LEN - 1) / 2];

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return err_set(e, LB_ERR, "no random bytes for a request tag");
	for (size_t i = 0; i < sizeof(rnd); i++)
		snprintf(tag + 2 * i, 3, "%02x", rnd[i]);
	return 0;
}

const char *
engine_outcome_name(enum run_outcome o)
{
	static const char *names[] = { "unchanged", "enrolled", "renewed", "pending",
		"failed", "planned" };
	return names[o];
}

const char *
engine_fail_name(enum fail_class c)
{
	static const char *names[FAIL_NCLASSES] = { "", "unreachable", "auth", "device", "ca",
		"verify", "local" };
	return names[c];
}

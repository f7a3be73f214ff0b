/* Where a dns-01 record goes (the zone, from its SOA) and when the CA can
 * see it: every name server of the zone answers it. */
#include "dns/dns.h"
#include "dns/dns_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "net/http.h"
#include "util/log.h"
#include "util/mem.h"

#define NS_MAX 16
#define POLL_MS 500

/* Whether name is zone or below it (both without the final dot). */
static bool
in_zone(const char *name, const char *zone)
{
	size_t n = strlen(name), z = strlen(zone);

	if (n == z)
		return strcasecmp(name, zone) == 0;
	return n > z && name[n - z - 1] == '.' && strcasecmp(name + n - z, zone) == 0;
}

/* One non-recursive query; NULL when no answer came. */
static ldns_pkt *
ask(ldns_resolver *r, const char *name, ldns_rr_type type)
{
	ldns_rdf *q = ldns_dname_new_frm_str(name);
	ldns_pkt *ans = NULL;

	if (q == NULL)
		return NULL;
	if (ldns_resolver_send(&ans, r, q, type, LDNS_RR_CLASS_IN, 0) != LDNS_STATUS_OK) {
		ldns_pkt_free(ans);
		ans = NULL;
	}
	ldns_rdf_deep_free(q);
	return ans;
}

/* The owner of the first SOA in the answer, else the authority section. */
static char *
soa_owner(const ldns_pkt *p)
{
	ldns_rr_list *sec[2] = { ldns_pkt_answer(p), ldns_pkt_authority(p) };

	for (int s = 0; s < 2; s++)
		for (size_t i = 0; i < ldns_rr_list_rr_count(sec[s]); i++) {
			ldns_rr *rr = ldns_rr_list_rr(sec[s], i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_SOA)
				return dns_name_text(ldns_rr_owner(rr));
		}
	return NULL;
}

int
dns_zone_of(struct dns *d, const char *name, char **zone, struct err *e)
{
	ldns_pkt *ans;
	char *z;

	*zone = NULL;
	if (d->cfg->zone != NULL) {
		if (!in_zone(name, d->cfg->zone))
			return err_set(e, LB_ECONFIG, "%s is not in the zone %s "
			    "(dns.zone)", name, d->cfg->zone);
		*zone = xstrdup(d->cfg->zone);
		return *zone == NULL ? err_set(e, LB_ERR, "out of memory") : 0;
	}
	if ((ans = ask(d->query, name, LDNS_RR_TYPE_SOA)) == NULL)
		return err_set(e, LB_EUNREACH, "dns server %s (%s port %d): no answer to the "
		    "SOA query for %s", d->cfg->server, d->addr, d->cfg->port, name);
	z = soa_owner(ans);
	ldns_pkt_free(ans);
	if (z == NULL || !in_zone(name, z)) {
		free(z);
		return err_set(e, LB_ERR, "dns server %s: no zone for %s (no SOA in its "
		    "answer); set dns.zone", d->cfg->server, name);
	}
	log_debug("dns: %s is in zone %s", name, z);
	*zone = z;
	return 0;
}

bool
dns_answer_has_txt(const ldns_pkt *p, const char *name, const char *value)
{
	ldns_rr_list *an = ldns_pkt_answer(p);
	size_t vlen = strlen(value);

	for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		ldns_rdf *s;
		char *owner;
		bool same;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_TXT || ldns_rr_rd_count(rr) != 1)
			continue;
		if ((owner = dns_name_text(ldns_rr_owner(rr))) == NULL)
			continue;
		same = strcasecmp(owner, name) == 0;
		free(owner);
		s = ldns_rr_rdf(rr, 0);
		if (same && ldns_rdf_size(s) == vlen + 1 && ldns_rdf_data(s)[0] == vlen &&
		    memcmp(ldns_rdf_data(s) + 1, value, vlen) == 0)
			return true;
	}
	return false;
}

/* One name server to check: its name and address. */
struct ns {
	char name[256];
	char addr[64];
};

/* Addresses of host: from the update server (glue and in-zone names),
 * else from the system's resolver. */
static int
ns_addr(struct dns *d, const char *host, char *out, size_t len)
{
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	struct addrinfo hints = { .ai_socktype = SOCK_DGRAM }, *res = NULL;
	const void *a;
	int rc;

	for (size_t t = 0; t < 2; t++) {
		ldns_pkt *ans = ask(d->query, host, types[t]);
		ldns_rr_list *an = ans != NULL ? ldns_pkt_answer(ans) : NULL;

		for (size_t i = 0; i < ldns_rr_list_rr_count(an); i++) {
			ldns_rr *rr = ldns_rr_list_rr(an, i);
			char *s;

			if (ldns_rr_get_type(rr) != types[t] ||
			    (s = ldns_rdf2str(ldns_rr_rdf(rr, 0))) == NULL)
				continue;
			snprintf(out, len, "%s", s);
			free(s);
			ldns_pkt_free(ans);
			return 0;
		}
		ldns_pkt_free(ans);
	}
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	if (res->ai_family == AF_INET6)
		a = &((struct sockaddr_in6 *)(void *)res->ai_addr)->sin6_addr;
	else
		a = &((struct sockaddr_in *)(void *)res->ai_addr)->sin_addr;
	rc = inet_ntop(res->ai_family, a, out, (socklen_t)len) == NULL ? -1 : 0;
	freeaddrinfo(res);
	return rc;
}

/* The zone's name servers with their addresses; the update server alone
 * when the zone names none. */
static int
zone_ns(struct dns *d, const char *zone, struct ns *out, size_t *n, struct err *e)
{
	ldns_pkt *ans = ask(d->query, zone, LDNS_RR_TYPE_NS);
	ldns_rr_list *an = ans != NULL ? ldns_pkt_answer(ans) : NULL;

	*n = 0;
	if (ans == NULL)
		return err_set(e, LB_EUNREACH, "dns server %s (%s port %d): no answer to the "
		    "NS query for %s", d->cfg->server, d->addr, d->cfg->port, zone);
	for (size_t i = 0; i < ldns_rr_list_rr_count(an) && *n < NS_MAX; i++) {
		ldns_rr *rr = ldns_rr_list_rr(an, i);
		char *host;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS ||
		    (host = dns_name_text(ldns_rr_rdf(rr, 0))) == NULL)
			continue;
		snprintf(out[*n].name, sizeof(out[*n].name), "%s", host);
		if (ns_addr(d, host, out[*n].addr, sizeof(out[*n].addr)) != 0) {
			err_set(e, LB_ERR, "name server %s of zone %s has no address",
			    host, zone);
			free(host);
			ldns_pkt_free(ans);
			return LB_ERR;
		}
		free(host);
		(*n)++;
	}
	ldns_pkt_free(ans);
	if (*n == 0) {
		snprintf(out[0].name, sizeof(out[0].name), "%s", d->cfg->server);
		snprintf(out[0].addr, sizeof(out[0].addr), "%s", d->addr);
		*n = 1;
	}
	return 0;
}

/* Whether the server at ns answers name → value. */
static bool
ns_has(const struct dns *d, const struct ns *ns, const char *name, const char *value)
{
	ldns_resolver *r = dns_resolver_for(ns->addr, d->cfg->port);
	ldns_pkt *ans;
	bool ok;

	if (r == NULL)
		return false;
	ans = ask(r, name, LDNS_RR_TYPE_TXT);
	ok = ans != NULL && ldns_pkt_get_rcode(ans) == LDNS_RCODE_NOERROR &&
	    dns_answer_has_txt(ans, name, value);
	ldns_pkt_free(ans);
	ldns_resolver_deep_free(r);
	return ok;
}

int
dns_txt_wait(struct dns *d, const char *zone, const char *name, const char *value,
    struct err *e)
{
	struct ns ns[NS_MAX];
	time_t deadline = time(NULL) + d->cfg->timeout_s;
	size_t n, done = 0;
	int rc;

	if ((rc = zone_ns(d, zone, ns, &n, e)) != 0)
		return rc;
	/* a server that answered once keeps the record: ask the next */
	while (done < n) {
		if (ns_has(d, &ns[done], name, value)) {
			log_debug("dns: %s (%s) answers TXT %s", ns[done].name, ns[done].addr,
			    name);
			done++;
			continue;
		}
		if (time(NULL) >= deadline)
			return err_set(e, LB_ERR, "name server %s (%s port %d) of zone "
			    "%s did not answer the TXT record %s within %d s (dns.timeout_s)",
			    ns[done].name, ns[done].addr, d->cfg->port, zone, name,
			    d->cfg->timeout_s);
		http_sleep_ms(POLL_MS);
	}
	return 0;
}

/* ACME dns-01 records through a DNS server: TXT records added and deleted
 * by RFC 2136 dynamic update signed with TSIG, and the wait until every
 * authoritative server of the zone answers them. DNS messages, TSIG and
 * queries are ldns's. */
#ifndef LB_DNS_H
#define LB_DNS_H

#include "config/config.h"
#include "util/err.h"

struct dns;

/* A session with the update server of cfg (not copied: it must outlive
 * the session). Resolves the server's name; LB_EUNREACH when it has no
 * address. *out is the caller's (dns_close). */
int dns_open(const struct cfg_dns *cfg, struct dns **out, struct err *e);
void dns_close(struct dns *d);

/* The zone that holds name: the configured zone when name is in it,
 * else the owner of the SOA the server gives for name. *zone is
 * malloc'd, without the final dot (caller frees). */
int dns_zone_of(struct dns *d, const char *name, char **zone, struct err *e);

/* Adds (add) or deletes (!add) the one TXT record name → value in zone;
 * a delete leaves other values of the same name alone. LB_EAUTH when the
 * server refuses the TSIG key, LB_EUNREACH when it does not answer and
 * LB_EUNKNOWN when its answer's TSIG does not verify (in both the update
 * may have been applied), LB_ERR for any other refusal (the DNS rcode is
 * in the message). */
int dns_txt_update(struct dns *d, const char *zone, const char *name, const char *value,
    bool add, struct err *e);

/* Whether the update server takes lbcert's TSIG key for zone: an update
 * that changes nothing, signed, so a wrong key name, algorithm or secret
 * (LB_EAUTH) or a server that is not the zone's master (LB_ERR) is known
 * before anything is ordered. */
int dns_check_key(struct dns *d, const char *zone, struct err *e);

/* Waits until every name server of zone (its NS records, asked at their
 * addresses on the configured port without recursion) answers the TXT
 * record name → value, at most cfg->timeout_s; LB_ERR naming the server
 * that did not when the wait is over. */
int dns_txt_wait(struct dns *d, const char *zone, const char *name, const char *value,
    struct err *e);

#endif

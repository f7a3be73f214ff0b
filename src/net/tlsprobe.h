/* Connects to a TLS service as a client would (with SNI) and returns the
 * certificate it serves, for the post-install check of SPEC §1 step 9. */
#ifndef LB_TLSPROBE_H
#define LB_TLSPROBE_H

#include "util/err.h"

/* hostport: "host:port" or "[v6]:port". sni may be NULL. *pem_out is the
 * served leaf in PEM, malloc'd, freed by the caller. No trust check: the
 * caller compares the leaf with the certificate it installed. */
int tlsprobe_leaf(const char *hostport, const char *sni, long timeout_s,
    char **pem_out, struct err *e);

#endif

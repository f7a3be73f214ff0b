#!/usr/bin/env python3
"""F5 BIG-IP iControl REST simulator (TMOS 14+ naming), for lbcert tests.

Python 3 standard library plus the `openssl` command. Strict where the real
box is strict (see ../shared/reference/f5-bigip.md): token auth, mcpd error
envelopes, unknown properties, duplicates (409), missing objects (404),
key/cert mismatch, wrong key passphrase, Content-Range upload rules,
all-or-nothing transactions, SNI-default rules.

  python3 sim/bigip.py --dir DIR [--pair] [--virtual NAME]... \
      [--http-virtual NAME]... [--http-port NAME=PORT]... \
      [--user admin --password PW] [--allow-bash] \
      [--partition Common] [--device-group dg-failover]

/mgmt/tm/util/bash is refused (401 "Authorization failed ... resource=
/mgmt/tm/util/bash") as on a hardened unit (no advanced shell for the
account, Appliance Mode, systemauth.disablebash) unless --allow-bash.

/_sim/state reports "unsaved" (the running configuration differs from the
one at the last `sys config save`), "sync_status" ("Changes Pending" after
a change on the active unit until config-sync), "bulk" (files in
/var/config/rest/bulk per unit) and "gaps": one record each time a change
left a virtual that served a certificate through a client-ssl profile with
none.

With --pair there are two units (0 active, 1 standby) sharing one
configuration, as config-sync would keep it; every write sent to the
standby is recorded in /_sim/state "standby_writes".

Secrets: passphrases are kept in memory only (the TLS listeners need them
to load the encrypted keys); nothing written under DIR holds one, except
that the keys themselves are stored encrypted with them.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from f5.server import main  # noqa: E402

if __name__ == "__main__":
    main()

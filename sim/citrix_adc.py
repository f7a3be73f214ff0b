#!/usr/bin/env python3
"""Simulated Citrix ADC / NetScaler (13.0+) NITRO REST API.

Follows ../shared/reference/citrix-nitro.md (cited as "ref §N"). Where the
reference leaves an error code open, the choice made here is marked
"SIM CHOICE" next to the code in the table of citrix/errors.py.

Usage:
  citrix_adc.py --dir DIR [--ha] [--vserver NAME[:lb|cs|vpn]]...
                [--http-vserver NAME]... [--http-port NAME=PORT]...
                [--user nsroot --password PW]
                [--session-timeout S] [--version 13.1]
                [--nitro-variant default|strings]
                [--default-profile] [--responder-off]

An HA pair (--ha) shares one running configuration (commands on the
primary propagate) but each unit has its own /nsconfig/ssl: files reach
the secondary only through `hafiles?action=sync` (ref §7.3). GET /_sim/state
reports "unsaved" (running config differs from the last `nsconfig save`),
"files_in_sync" (every SSL file of the primary is on the secondary with the
same content), "propagation_failures" (a propagated certkey command named a
file the secondary lacked) and "gaps" (an SSL vserver that served a
certificate stopped serving one because of a request).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from citrix.server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())

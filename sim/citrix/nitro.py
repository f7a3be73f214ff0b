"""The NITRO API: the resource mixins joined, and the table of one handler
per resource name."""

from .certkeys import CertkeysApi
from .files import FilesApi
from .keys import KeysApi
from .responder import ResponderApi
from .system import SystemApi
from .vservers import VserversApi


class Nitro(KeysApi, FilesApi, CertkeysApi, VserversApi, SystemApi, ResponderApi):
    """Resource handlers; every method runs with state.lock held."""

    def __init__(self, st):
        self.st = st

    def handlers(self):
        return {
            "sslrsakey": self.sslrsakey, "sslecdsakey": self.sslecdsakey,
            "sslcertreq": self.sslcertreq, "systemfile": self.systemfile,
            "sslcertkey": self.sslcertkey,
            "sslvserver_sslcertkey_binding": self.sslvserver_sslcertkey_binding,
            "sslcertkey_sslvserver_binding": self.sslcertkey_sslvserver_binding,
            "sslvserver": self.sslvserver, "sslprofile": self.sslprofile,
            "sslparameter": self.sslparameter, "nsfeature": self.nsfeature,
            "lbvserver": self._vs_get("lb"), "csvserver": self._vs_get("cs"),
            "vpnvserver": self._vs_get("vpn"),
            "nsversion": self.nsversion, "nsconfig": self.nsconfig,
            "hafiles": self.hafiles,
            "responderaction": self.responderaction,
            "responderpolicy": self.responderpolicy,
            "responderglobal_responderpolicy_binding":
                self.responderglobal_responderpolicy_binding,
            "lbvserver_responderpolicy_binding": self._vs_resp_binding("lb"),
            "csvserver_responderpolicy_binding": self._vs_resp_binding("cs"),
        }

"""systemfile (ref §4): upload, list and delete files per unit."""

import base64
import binascii
import os
import time

import simlib

from .errors import NitroError, ok_body
from .fields import as_enum, check_fields, list_result, need
from .state import SSL_DIR


class FilesApi:
    """systemfile; mixed into Nitro (state.lock held)."""

    # ---- systemfile (ref §4)
    def _loc(self, loc, required=True):
        if loc in (None, ""):
            if required:
                raise NitroError("missing", "filelocation")
            loc = SSL_DIR
        if not isinstance(loc, str) or len(loc) > 127:
            raise NitroError("invalid_arg", "filelocation")
        hp = self.st.host_path(loc)
        if not os.path.isdir(hp):
            raise NitroError("no_file", loc)
        return os.path.normpath(loc), hp

    @staticmethod
    def _check_filename(fn):
        if not isinstance(fn, str) or not fn or "/" in fn or fn in (".", ".."):
            raise NitroError("invalid_arg", "filename")
        if len(fn) > 63:
            raise NitroError("invalid_arg", "filename, value of length greater than 63")

    def systemfile(self, m, name, q, action, o, unit=0):
        args = simlib.parse_kv_list(q.get("args", ""))
        if m == "POST" and not action:
            check_fields(o, {"filename", "filecontent", "filelocation", "fileencoding"})
            need(o, "filename", "filecontent", "filelocation")
            self._check_filename(o["filename"])
            as_enum(o, "fileencoding", ("BASE64",), "BASE64")
            lv, lh = self._loc(o["filelocation"])
            try:
                data = base64.b64decode(o["filecontent"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise NitroError("invalid_arg", "filecontent")
            path = os.path.join(lh, o["filename"])
            if os.path.exists(path):
                raise NitroError("file_exists")
            with open(path, "wb") as f:
                f.write(data)
            self.st.changed()
            return 201, None
        if m == "GET":
            lv, lh = self._loc(args.get("filelocation"))
            if unit == 1 and lv == SSL_DIR:
                lh = self.st.sec_ssl  # the secondary's own files
            fn = args.get("filename") or name
            if fn:
                self._check_filename(fn)
                p = os.path.join(lh, fn)
                if not os.path.isfile(p):
                    raise NitroError("not_found", "filename, " + fn)
                with open(p, "rb") as f:
                    content = base64.b64encode(f.read()).decode()
                return 200, ok_body(systemfile=[dict(self._stat(lv, lh, fn),
                                                     filecontent=content,
                                                     fileencoding="BASE64")])
            items = [self._stat(lv, lh, e) for e in sorted(os.listdir(lh))
                     if not e.startswith(".")]
            return 200, list_result("systemfile", items, q)
        if m == "DELETE":
            fn = name or args.get("filename")
            if not fn:
                raise NitroError("missing", "filename")
            self._check_filename(fn)
            lv, lh = self._loc(args.get("filelocation"))
            p = os.path.join(lh, fn)
            if not os.path.isfile(p):
                raise NitroError("not_found", "filename, " + fn)
            os.unlink(p)
            self.st.changed()
            return 200, ok_body()
        raise NitroError("method")

    @staticmethod
    def _stat(lv, lh, fn):
        s = os.stat(os.path.join(lh, fn))
        d = {"filename": fn, "filelocation": lv,
             "filesize": str(s.st_size),
             "filemodifiedtime": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(s.st_mtime)),
             "fileaccesstime": time.strftime("%a %b %d %H:%M:%S %Y", time.gmtime(s.st_atime))}
        if os.path.isdir(os.path.join(lh, fn)):
            d["filemode"] = "DIRECTORY"
        return d

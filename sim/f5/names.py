"""Object names: /Partition/name full paths and their ~Partition~name URL form."""

import urllib.parse


def to_fullpath(name, partition, default_part):
    if name.startswith("/"):
        return name
    return "/%s/%s" % (partition or default_part, name)


def url_name(seg, default_part):
    seg = urllib.parse.unquote(seg)
    if seg.startswith("~"):
        return seg.replace("~", "/")
    return "/%s/%s" % (default_part, seg)


def split_fp(fp):
    parts = fp.split("/")
    return parts[1], "/".join(parts[2:])

#!/usr/bin/env python3
"""SHA-256 of the tensors of a safetensors file: every tensor in name order,
its name, dtype, shape and data bytes. The header's metadata (which may grow)
and the file's layout (offsets, padding) take no part.

Usage: tensor_digest.py FILE.safetensors"""
import hashlib
import json
import struct
import sys


def digest(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        body = f.read()
    h = hashlib.sha256()
    for name in sorted(k for k in header if k != "__metadata__"):
        t = header[name]
        begin, end = t["data_offsets"]
        h.update(("%s\0%s\0%s\0" % (name, t["dtype"], ",".join(str(d) for d in t["shape"]))).encode())
        h.update(body[begin:end])
    return h.hexdigest()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    print(digest(sys.argv[1]))

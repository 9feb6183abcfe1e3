"""Rewrites the __metadata__ of a safetensors file in place.

usage: edit_metadata.py FILE [KEY=VALUE ...] [--drop KEY ...] [--drop-all]
The tensors and their bytes stay the same; the header is re-padded with
spaces to a multiple of 8 bytes, as writers pad it.
"""
import json
import struct
import sys


def main():
    path, args = sys.argv[1], sys.argv[2:]
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.get("__metadata__", {})
    i = 0
    while i < len(args):
        a = args[i]
        if a == "--drop-all":
            meta = {}
        elif a == "--drop":
            i += 1
            meta.pop(args[i], None)
        else:
            k, v = a.split("=", 1)
            meta[k] = v
        i += 1
    header.pop("__metadata__", None)
    if meta:
        header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + body)


if __name__ == "__main__":
    main()

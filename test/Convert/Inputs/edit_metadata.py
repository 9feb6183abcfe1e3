"""Rewrites the __metadata__ of a safetensors file in place.

usage: edit_metadata.py FILE [KEY=VALUE ...] [--drop KEY ...] [--drop-all]
The tensors and their bytes stay the same; the header is re-padded with
spaces to a multiple of 8 bytes, as writers pad it.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Inputs"))
import safetensors_io  # noqa: E402


def main():
    path, args = sys.argv[1], sys.argv[2:]
    header, body = safetensors_io.read(path)
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
    safetensors_io.write(path, header, body)


if __name__ == "__main__":
    main()

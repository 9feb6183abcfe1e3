"""The .safetensors container for the tests' and benchmarks' Python helpers,
standard library only: 8 bytes of little-endian header length, the JSON
header padded with spaces to a multiple of 8 bytes (as writers pad it),
then the tensors' bytes.

Scripts in other folders import it after putting this folder on sys.path
(see `import_path`)."""
import json
import os
import struct

#: This folder, for sys.path.
import_path = os.path.dirname(os.path.abspath(__file__))


def pack(header, payload=b""):
    """A file's bytes: `header` (a dict, written compactly; or JSON text,
    kept as given, for files meant to be malformed), padded, then
    `payload`."""
    text = header if isinstance(header, str) else json.dumps(
        header, separators=(",", ":"))
    text = text.encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + payload


def unpack(raw):
    """(header dict, data bytes) of a file's bytes."""
    n = struct.unpack("<Q", raw[:8])[0]
    return json.loads(raw[8:8 + n]), raw[8 + n:]


def read(path):
    """(header dict, data bytes) of the file at `path`."""
    with open(path, "rb") as f:
        return unpack(f.read())


def read_header(path):
    """The header of the file at `path`, reading nothing else."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(n))


def write(path, header, payload=b""):
    with open(path, "wb") as f:
        f.write(pack(header, payload))

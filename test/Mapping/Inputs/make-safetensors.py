"""Writes a small .safetensors file: make-safetensors.py OUT NAME:DTYPE:D0,D1 ...
Element values encode their position (byte i of the data is i % 251)."""
import json
import struct
import sys

SIZES = {"BF16": 2, "F16": 2, "F32": 4, "F64": 8, "I8": 1, "U8": 1, "I32": 4}
out, specs = sys.argv[1], sys.argv[2:]
header, offset = {}, 0
for s in specs:
    name, dtype, dims = s.split(":")
    shape = [int(d) for d in dims.split(",")]
    n = SIZES[dtype]
    for d in shape:
        n *= d
    header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + n]}
    offset += n
h = json.dumps(header).encode()
h += b" " * (-len(h) % 8)
with open(out, "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    f.write(bytes(i % 251 for i in range(offset)))

"""Writes a small .safetensors file: make-safetensors.py OUT NAME:DTYPE:D0,D1 ...
Element values encode their position (byte i of the data is i % 251)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Inputs"))
import safetensors_io  # noqa: E402

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
safetensors_io.write(out, header, bytes(i % 251 for i in range(offset)))

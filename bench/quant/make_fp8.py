"""A block-FP8 checkpoint for the benchmarks, fast: the bf16 checkpoint DIR
(weight-layout-gen) with every Linear weight (a `.weight` of rank >= 2 whose
module's last name holds "proj") replaced by random F8_E4M3 codes (no NaN)
and an F32 `_scale_inv` grid of random positive scales, in blocks of B x B.
The values are not a quantization of the bf16 ones: the benchmarks time the
conversion, the tests check the formulas.

usage: make_fp8.py SRC DST [B]"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "Inputs"))
import safetensors_io  # noqa: E402

src, dst = sys.argv[1], sys.argv[2]
b = int(sys.argv[3]) if len(sys.argv) > 3 else 128
rng = np.random.default_rng(0)
os.makedirs(dst, exist_ok=True)
config = json.load(open(os.path.join(src, "config.json")))
config["quantization_config"] = {"activation_scheme": "dynamic", "fmt": "e4m3",
                                 "quant_method": "fp8", "weight_block_size": [b, b]}
json.dump(config, open(os.path.join(dst, "config.json"), "w"), indent=2)
weight_map = {}
for f in sorted(os.listdir(src)):
    if not f.endswith(".safetensors"):
        continue
    h, data = safetensors_io.read(os.path.join(src, f))
    out, blobs, off = {}, [], 0

    def add(name, dtype, shape, data):
        global off
        out[name] = {"dtype": dtype, "shape": shape, "data_offsets": [off, off + len(data)]}
        weight_map[name] = f
        blobs.append(data)
        off += len(data)

    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        shape = v["shape"]
        last = k[:-7].split(".")[-1] if k.endswith(".weight") else ""
        if "proj" in last and len(shape) >= 2:
            count = int(np.prod(shape))
            codes = rng.integers(0, 0x7F, count, dtype=np.uint8)  # 0..0x7e
            codes |= (rng.integers(0, 2, count, dtype=np.uint8) << 7)
            add(k, "F8_E4M3", shape, codes.tobytes())
            grid = shape[:-2] + [-(-shape[-2] // b), -(-shape[-1] // b)]
            scales = rng.uniform(1e-4, 1e-2, int(np.prod(grid))).astype(np.float32)
            add(k + "_scale_inv", "F32", grid, scales.tobytes())
        else:
            add(k, v["dtype"], shape, data[s:e])
    with open(os.path.join(dst, f), "wb") as fo:
        fo.write(safetensors_io.pack(out))  # the header; the data in pieces
        for x in blobs:
            fo.write(x)
index = os.path.join(src, "model.safetensors.index.json")
if os.path.exists(index):
    json.dump({"metadata": {}, "weight_map": weight_map},
              open(os.path.join(dst, "model.safetensors.index.json"), "w"), indent=2)

"""Writes broken variants of a good single-file checkpoint, one folder each,
for the bad-input tests of weight-layout-convert.

usage: make_bad.py GOOD_DIR OUT_DIR
Each OUT_DIR/<case>/ holds config.json and model.safetensors (or shards)."""
import json
import os
import shutil
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Inputs"))
import safetensors_io  # noqa: E402
from safetensors_io import pack  # noqa: E402

good, out = sys.argv[1], sys.argv[2]
raw = open(os.path.join(good, "model.safetensors"), "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header, data = safetensors_io.unpack(raw)
config = json.load(open(os.path.join(good, "config.json")))
names = [k for k in header if k != "__metadata__"]
names.sort(key=lambda k: header[k]["data_offsets"][0])


def case(name, file_bytes=None, cfg=None, files=None):
    d = os.path.join(out, name)
    os.makedirs(d)
    json.dump(cfg or config, open(os.path.join(d, "config.json"), "w"))
    if files is None:
        files = {"model.safetensors": file_bytes}
    for f, b in files.items():
        open(os.path.join(d, f), "wb").write(b if isinstance(b, bytes) else b.encode())


def rebuild(h, drop=(), extra=None):
    """A valid file of the tensors of h (minus drop, plus extra bytes)."""
    h2, payload, at = {}, b"", 0
    for k in names:
        if k in drop:
            continue
        b, e = header[k]["data_offsets"]
        h2[k] = dict(header[k], data_offsets=[at, at + e - b])
        payload += data[b:e]
        at += e - b
    if extra:
        k, t, b = extra
        h2[k] = dict(t, data_offsets=[at, at + len(b)])
        payload += b
    if "__metadata__" in header:
        h2["__metadata__"] = header["__metadata__"]
    return json.dumps(h2), payload


case("truncated", raw[:-100])
case("too-large-header", struct.pack("<Q", 200_000_000) + raw[8:])
case("header-beyond-file", struct.pack("<Q", len(raw)) + raw[8:])
case("not-json", raw[:8] + b"{" + b"!" * (n - 1) + raw[8 + n:])
# The first tensor listed twice (JSON parsers would keep the last silently).
first = names[0]
dup = json.dumps(header)
dup = dup[:-1] + ", " + json.dumps(first) + ": " + json.dumps(header[first]) + "}"
case("duplicate-name", pack(dup, data))
# The second tensor starts inside the first.
h = json.loads(json.dumps(header))
b, e = h[names[1]]["data_offsets"]
h[names[1]]["data_offsets"] = [b - 2, e - 2]
h[names[0]]["data_offsets"][1] -= 0
case("overlap", pack(json.dumps(h), data))
# A dtype that disagrees with the byte range.
h = json.loads(json.dumps(header))
h[names[0]]["dtype"] = "F32"
case("dtype-shape", pack(json.dumps(h), data))
# A tensor the mapping reads is missing; one it does not know is there.
text, payload = rebuild(header, drop=(names[-1],))
case("missing-tensor", pack(text, payload))
text, payload = rebuild(header, extra=("model.layers.0.mlp.extra.weight",
                                       {"dtype": "BF16", "shape": [4]}, b"\0" * 8))
case("unknown-tensor", pack(text, payload))
# The config says another hidden size than the tensors have.
cfg = dict(config, hidden_size=config["hidden_size"] * 2)
case("config-contradicts", raw, cfg=cfg)
# A sharded checkpoint whose index names a shard that is not there.
index = {"metadata": {"total_size": len(data)},
         "weight_map": {k: ("model-00001-of-00002.safetensors" if i % 2 else
                            "model-00002-of-00002.safetensors")
                        for i, k in enumerate(names)}}
case("missing-shard", files={"model.safetensors.index.json": json.dumps(index),
                             "model-00001-of-00002.safetensors": raw})

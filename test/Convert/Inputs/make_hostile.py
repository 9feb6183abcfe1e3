"""Writes hostile variants of a good single-file checkpoint for
test/Convert/hardening-inputs.test, one folder each (FIFOs are made by the
test itself).

usage: make_hostile.py GOOD_DIR OUT_DIR
"""
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
header, data = safetensors_io.unpack(raw)
config_text = open(os.path.join(good, "config.json")).read()
config = json.loads(config_text)


def case(name, cfg_text=None, weights=None):
    d = os.path.join(out, name)
    os.makedirs(d)
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(config_text if cfg_text is None else cfg_text)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(raw if weights is None else weights)
    return d


def with_config(**fields):
    c = dict(config)
    c.update(fields)
    return json.dumps(c, indent=2)


# config.json: every kind of wrong value, with where it is.
pretty = json.dumps(config, indent=2)
case("nan", pretty.replace('"rms_norm_eps": 1e-06', '"rms_norm_eps": NaN'))
case("syntax", pretty[:-2] + ",\n}")
case("float", with_config(hidden_size=128.0))
case("huge-int", with_config(num_attention_heads=2**64 - 128))
case("duplicate", pretty[:-2] + ',\n  "hidden_size": 64\n}')
case("not-object", "[1, 2]")
case("layers", with_config(num_hidden_layers=100000))
case("too-large", " " * (16 * 1024 * 1024 + 1) + "{}")

# Tensor names that would forge lines or make a 5 MB line.
extra = {"evil\nweight-layout-convert: done, all fine": {
    "dtype": "U8", "shape": [1], "data_offsets": [len(data), len(data) + 1]},
    "x" * 5_000_000: {"dtype": "U8", "shape": [1],
                      "data_offsets": [len(data) + 1, len(data) + 2]}}
h = dict(header)
h.update(extra)
case("names", weights=pack(h, data + b"\0\0"))

# An index past its cap (64 MiB), and one naming a shard the test turns into
# a FIFO.
d = case("big-index")
os.remove(os.path.join(d, "model.safetensors"))
shutil.copy(os.path.join(good, "model.safetensors"),
            os.path.join(d, "model-00001-of-00001.safetensors"))
with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
    f.write('{"weight_map": {"a": "model-00001-of-00001.safetensors"}}')
    f.write(" " * (64 * 1024 * 1024))
d = case("fifo-shard")
os.remove(os.path.join(d, "model.safetensors"))
names = [k for k in header if k != "__metadata__"]
json.dump({"weight_map": {k: "model-00001-of-00001.safetensors" for k in names}},
          open(os.path.join(d, "model.safetensors.index.json"), "w"))

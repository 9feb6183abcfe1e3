"""Splits a generated checkpoint in two, the way released checkpoints hold
an extra layer: model.safetensors becomes model-00001-of-00002.safetensors,
the tensors given that it lacks go, as zeros, to
model-00002-of-00002.safetensors, and model.safetensors.index.json maps
both (used by add_mtp_layer.py and add_deepseek_mtp_layer.py). Standard
library only."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Inputs"))
import safetensors_io  # noqa: E402

FIRST, SECOND = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"


def add_second_shard(d, shapes):
    """Adds the tensors of `shapes` (name: shape) that d/model.safetensors
    lacks; e_score_correction_bias is F32, the others BF16. Returns how many
    were added."""
    header = safetensors_io.read_header(os.path.join(d, "model.safetensors"))
    have = [k for k in header if k != "__metadata__"]
    added = {k: s for k, s in shapes.items() if k not in have}
    header, off = {}, 0
    for k, shape in added.items():
        dt = "F32" if k.endswith("e_score_correction_bias") else "BF16"
        size = 4 if dt == "F32" else 2
        for x in shape:
            size *= x
        header[k] = {"dtype": dt, "shape": shape, "data_offsets": [off, off + size]}
        off += size
    safetensors_io.write(os.path.join(d, SECOND), header, bytes(off))
    os.rename(os.path.join(d, "model.safetensors"), os.path.join(d, FIRST))
    weight_map = {k: FIRST for k in have}
    weight_map.update({k: SECOND for k in added})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=2)
    return len(added)

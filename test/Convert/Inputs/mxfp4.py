"""MXFP4 checkpoints (gpt-oss's experts) for the tests, written and checked
with NumPy alone (no part of weight-layout):

  mxfp4.py make SRC DST        SRC (a bf16 gpt-oss checkpoint) with each
      mlp.experts.gate_up_proj and down_proj replaced by a random MXFP4
      pair as the released checkpoints store it: X_blocks U8 [E, out,
      in / 32, 16] (two e2m1 codes a byte, low nibble first) and X_scales
      U8 [E, out, in / 32] (e8m0); config.json gains
      quantization_config {"quant_method": "mxfp4", ...}.
  mxfp4.py dequantize SRC DST  each pair as transformers'
      convert_moe_packed_tensors and gpt-oss's Checkpoint._get_mxfp4_tensor
      compute it: FP4_VALUES[code] in bf16, torch.ldexp by (scale - 127)
      (an f32 product rounded to bf16), [E, out, in] transposed to
      [E, in, out]; the rest copied, quantization_config dropped.
  mxfp4.py break SRC DST WHAT  a copy of SRC with one fault: scales (a
      scales tensor one group short), dtype (blocks as I8), drop (a scales
      tensor missing).
"""
import json
import os
import shutil
import sys

import numpy as np

from fp8 import read_folder, write_folder  # the same folder, NumPy alone

FP4_VALUES = [+0.0, +0.5, +1.0, +1.5, +2.0, +3.0, +4.0, +6.0,
              -0.0, -0.5, -1.0, -1.5, -2.0, -3.0, -4.0, -6.0]
EXPERTS = ("mlp.experts.gate_up_proj", "mlp.experts.down_proj")


def f32_to_bf16(f):
    u = f.astype(np.float32).view(np.uint32)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    r = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return np.where(nan, ((u >> 16) | 0x40).astype(np.uint16), r)


def dequantize_pair(blocks, scales):
    lut = np.array(FP4_VALUES, np.float32)
    lo, hi = lut[blocks & 0x0F], lut[blocks >> 4]
    *prefix, g, b = blocks.shape
    vals = np.empty(prefix + [g, b * 2], np.float32)
    vals[..., 0::2] = lo
    vals[..., 1::2] = hi
    with np.errstate(over="ignore"):
        exp = np.ldexp(np.float32(1.0), scales.astype(np.int32) - 127)
        out = vals * exp.astype(np.float32)[..., None]
    out = f32_to_bf16(out.reshape(prefix + [g * b * 2]))
    return out.swapaxes(-1, -2)


def main():
    cmd = sys.argv[1]
    src, dst = sys.argv[2], sys.argv[3]
    t = read_folder(src)
    config = json.load(open(os.path.join(src, "config.json")))
    out = {}
    if cmd == "make":
        rng = np.random.default_rng(5)
        for k, (dt, a) in t.items():
            if not k.endswith(EXPERTS):
                out[k] = (dt, a)
                continue
            e, inner, outer = a.shape  # [E, in, out]
            blocks = rng.integers(0, 256, (e, outer, inner // 32, 16),
                                  dtype=np.uint8)
            scales = rng.integers(118, 136, (e, outer, inner // 32),
                                  dtype=np.uint8)
            scales.flat[0], scales.flat[1] = 0, 254  # the extremes
            out[k + "_blocks"] = ("U8", blocks)
            out[k + "_scales"] = ("U8", scales)
        config["quantization_config"] = {
            "quant_method": "mxfp4",
            "modules_to_not_convert": ["model.layers.*.self_attn",
                                       "model.layers.*.mlp.router",
                                       "model.embed_tokens", "lm_head"]}
    elif cmd == "dequantize":
        for k, (dt, a) in t.items():
            if k.endswith("_scales"):
                continue
            if k.endswith("_blocks"):
                name = k[:-len("_blocks")]
                out[name] = ("BF16", dequantize_pair(a, t[name + "_scales"][1]))
            else:
                out[k] = (dt, a)
        config.pop("quantization_config", None)
    elif cmd == "break":
        what = sys.argv[4]
        out = dict(t)
        k = next(n for n in t if n.endswith("gate_up_proj_scales"))
        if what == "scales":
            out[k] = ("U8", t[k][1][..., :-1])
        elif what == "dtype":
            b = k.replace("_scales", "_blocks")
            out[b] = ("I8", t[b][1].view(np.int8))
        elif what == "drop":
            del out[k]
    else:
        sys.exit("usage: mxfp4.py make|dequantize|break SRC DST [WHAT]")
    write_folder(dst, out, config)
    for f in os.listdir(src):
        if f.endswith(".json") and f != "config.json":
            shutil.copy(os.path.join(src, f), dst)


if __name__ == "__main__":
    main()

"""Block-FP8 checkpoints for the tests, written and checked with NumPy alone
(no part of weight-layout):

  fp8.py quantize SRC DST ROWS COLS [SKIP...]   every Linear weight of the
      bf16 checkpoint SRC (a `.weight` of rank >= 2 whose module's last name
      holds "proj", experts included; not the router mlp.gate, norms,
      embeddings, lm_head, nor names holding a SKIP) as F8_E4M3 with its F32
      `_scale_inv` grid, quantized as DeepGEMM's per_block_cast_to_fp8
      (deep_gemm/utils/math.py) computes it: amax of each block in f32,
      clamped to 1e-4, sf = amax / 448, q = e4m3(x * (1 / sf)) in f32 with
      round-to-nearest-even; config.json gains quantization_config.
  fp8.py dequantize SRC DST           every F8 tensor with a grid as bf16:
      the f32 product of the value and its block's scale, rounded to bf16
      (DeepSeek-V3 inference/kernel.py weight_dequant); the rest copied.
  fp8.py check FP8 REF                every folder of REF (rank-*/ or
      itself): each tensor of FP8 that has a grid dequantizes to REF's
      bytes, the others equal them, and FP8 holds nothing else.
  fp8.py break SRC DST WHAT           a copy of SRC with one fault: nan (a
      scale), inf, drop (a grid missing), shape (a grid one column short).
"""
import json
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "Inputs"))
import safetensors_io  # noqa: E402

NP = {"BF16": np.uint16, "F32": np.float32, "F8_E4M3": np.uint8, "U8": np.uint8,
      "I8": np.int8}


def read_folder(d):
    tensors = {}
    for f in sorted(os.listdir(d)):
        if not f.endswith(".safetensors"):
            continue
        h, data = safetensors_io.read(os.path.join(d, f))
        for k, v in h.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            a = np.frombuffer(data[b:e], dtype=NP[v["dtype"]])
            tensors[k] = (v["dtype"], a.reshape(v["shape"]))
    return tensors


def write_folder(d, tensors, config):
    os.makedirs(d, exist_ok=True)
    header, blobs, off = {}, [], 0
    for k, (dt, a) in tensors.items():
        b = np.ascontiguousarray(a).tobytes()
        header[k] = {"dtype": dt, "shape": list(a.shape),
                     "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    safetensors_io.write(os.path.join(d, "model.safetensors"), header,
                         b"".join(blobs))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)


def bf16_to_f32(u):
    return (u.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(f):
    u = f.astype(np.float32).view(np.uint32)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def e4m3_values():
    v = np.zeros(256, np.float32)
    for c in range(256):
        s, e, m = c >> 7, (c >> 3) & 15, c & 7
        x = m / 8 * 2.0 ** -6 if e == 0 else (1 + m / 8) * 2.0 ** (e - 7)
        v[c] = -x if s else x
    v[0x7F] = v[0xFF] = np.nan
    return v


E4M3 = e4m3_values()


def f32_to_e4m3(x):
    """Nearest e4m3 code, ties to the even code (inputs |x| <= 448.1)."""
    pos = E4M3[:127]  # codes 0..126, increasing
    a = np.abs(x)
    hi = np.clip(np.searchsorted(pos, a), 1, 126)
    lo = hi - 1
    dl, dh = a - pos[lo], pos[hi] - a
    code = np.where(dl < dh, lo, np.where(dh < dl, hi, np.where(lo % 2 == 0, lo, hi)))
    code = np.where(a >= pos[126], 126, code)
    return (code | np.where(x < 0, 0x80, 0)).astype(np.uint8)


def quantized_name(k, a, skip):
    return (k.endswith(".weight") and "proj" in k[:-7].split(".")[-1]
            and a.ndim >= 2 and not any(s in k for s in skip))


def quantize(x, br, bc):
    """DeepGEMM per_block_cast_to_fp8 on the last two dims of bf16 x."""
    f = bf16_to_f32(x)
    lead, (R, C) = f.shape[:-2], f.shape[-2:]
    nr, nc = -(-R // br), -(-C // bc)
    q = np.zeros(f.shape, np.uint8)
    s = np.zeros(lead + (nr, nc), np.float32)
    for idx in np.ndindex(*lead) if lead else [()]:
        for i in range(nr):
            for j in range(nc):
                blk = f[idx + (slice(i * br, (i + 1) * br), slice(j * bc, (j + 1) * bc))]
                amax = np.maximum(np.abs(blk).max(), np.float32(1e-4))
                sf = np.float32(amax / np.float32(448.0))
                q[idx + (slice(i * br, (i + 1) * br), slice(j * bc, (j + 1) * bc))] = \
                    f32_to_e4m3(blk * (np.float32(1.0) / sf))
                s[idx + (i, j)] = sf
    return q, s


def dequantize(q, s, block=None):
    R, C = q.shape[-2:]
    nr, nc = s.shape[-2:]
    # The config's weight_block_size; without it, the block size from the
    # grid (exact for whole-block shapes only).
    br, bc = block or (-(-R // nr), -(-C // nc))
    scale = np.repeat(np.repeat(s, br, axis=-2), bc, axis=-1)[..., :R, :C]
    return f32_to_bf16(E4M3[q] * scale)


def main():
    cmd = sys.argv[1]
    if cmd == "quantize":
        src, dst, br, bc = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
        skip = sys.argv[6:]
        config = json.load(open(os.path.join(src, "config.json")))
        out = {}
        for k, (dt, a) in read_folder(src).items():
            if quantized_name(k, a, skip) and dt == "BF16":
                q, s = quantize(a, br, bc)
                out[k] = ("F8_E4M3", q)
                out[k + "_scale_inv"] = ("F32", s)
            else:
                out[k] = (dt, a)
        config["quantization_config"] = {
            "activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
            "weight_block_size": [br, bc]}
        write_folder(dst, out, config)
    elif cmd == "dequantize":
        src, dst = sys.argv[2], sys.argv[3]
        t = read_folder(src)
        config = json.load(open(os.path.join(src, "config.json")))
        block = config.pop("quantization_config", {}).get("weight_block_size")
        out = {}
        for k, (dt, a) in t.items():
            if k.endswith("_scale_inv") and k[:-10] in t:
                continue
            if dt == "F8_E4M3":
                out[k] = ("BF16", dequantize(a, t[k + "_scale_inv"][1], block))
            else:
                out[k] = (dt, a)
        write_folder(dst, out, config)
    elif cmd == "check":
        fp8, ref = sys.argv[2], sys.argv[3]
        ranks = sorted(d for d in os.listdir(ref) if d.startswith("rank-")) or [""]
        total = quantized = 0
        for r in ranks:
            a, b = read_folder(os.path.join(fp8, r)), read_folder(os.path.join(ref, r))
            config = json.load(open(os.path.join(fp8, r, "config.json")))
            block = config.get("quantization_config", {}).get("weight_block_size")
            for k, (dt, x) in b.items():
                got_dt, got = a[k]
                if got_dt == "F8_E4M3":
                    got = dequantize(got, a[k + "_scale_inv"][1], block)
                    quantized += 1
                assert got.shape == x.shape and got.tobytes() == x.tobytes(), f"{r}/{k} differs"
                total += 1
            extra = set(a) - set(b) - {k + "_scale_inv" for k in b}
            assert not extra, f"{r}: unexpected {sorted(extra)}"
        print(f"FP8 files OK: {total} tensors ({quantized} quantized) over {len(ranks)} rank(s)")
    elif cmd == "break":
        src, dst, what = sys.argv[2], sys.argv[3], sys.argv[4]
        t = read_folder(src)
        config = json.load(open(os.path.join(src, "config.json")))
        grid = sorted(k for k in t if k.endswith("_scale_inv"))[0]
        dt, s = t[grid]
        s = s.copy()
        if what in ("nan", "inf"):
            s.flat[-1] = np.nan if what == "nan" else np.inf
            t[grid] = (dt, s)
        elif what == "drop":
            del t[grid]
        elif what == "shape":
            t[grid] = (dt, s[..., :-1])
        write_folder(dst, t, config)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()

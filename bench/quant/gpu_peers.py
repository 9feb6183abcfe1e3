"""Block FP8 on one GPU the way the frameworks write it in PyTorch, for a
Qwen3-32B layer (hidden 5120, 64 query heads and 8 KV heads of 128,
intermediate 25600), beside a device copy of the same bytes, so that
cuda_bench's figures for weight-layout's plans of the same layer
(bench/quant/gpu.sh) compare with them:
  - dequantize: DeepSeek-V3's weight_dequant (inference/kernel.py) written
    in PyTorch: each 128x128 block's f32 product with its scale, stored as
    bf16; alone, and then fused into vLLM's qkv_proj and gate_up_proj
    (torch.cat) as a loader would;
  - quantize: vLLM's per_block_cast_to_fp8 (vllm/utils/deep_gemm.py, the
    same as DeepGEMM's): amax per block in f32 clamped to 1e-4, sf =
    amax / 448, (x * (1 / sf)).to(float8_e4m3fn); alone, and then fused.
Bytes: FP8 elements read or written (1 byte), bf16 ones (2 bytes) and the
scales. Median of 20 runs after 3 warm-ups, CUDA events.

usage: python3 gpu_peers.py"""
import statistics

import torch

dev = "cuda"
B = 128
H, Q, KV, I = 5120, 64 * 128, 8 * 128, 25600
shapes = {"q": (Q, H), "k": (KV, H), "v": (KV, H), "o": (H, Q),
          "gate": (I, H), "up": (I, H), "down": (H, I)}


def timed(f, runs=20):
    for _ in range(3):
        f()
    torch.cuda.synchronize()
    ts = []
    for _ in range(runs):
        a, b = torch.cuda.Event(True), torch.cuda.Event(True)
        a.record()
        f()
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    return statistics.median(ts)


g = torch.Generator(device=dev).manual_seed(0)
fp8 = {k: torch.randint(0, 0x7f, s, device=dev, dtype=torch.uint8, generator=g)
       .view(torch.float8_e4m3fn) for k, s in shapes.items()}
scale = {k: torch.rand((s[0] // B, s[1] // B), device=dev, generator=g) * 1e-2 + 1e-4
         for k, s in shapes.items()}
bf = {k: torch.randn(s, device=dev, generator=g).to(torch.bfloat16) for k, s in shapes.items()}
elements = sum(s[0] * s[1] for s in shapes.values())
scale_bytes = sum(v.numel() * 4 for v in scale.values())


def weight_dequant(x, s):
    m, n = x.shape
    y = x.to(torch.float32).view(m // B, B, n // B, B) * s[:, None, :, None]
    return y.view(m, n).to(torch.bfloat16)


def per_block_cast_to_fp8(x):
    m, n = x.shape
    xv = x.view(m // B, B, n // B, B)
    amax = xv.abs().float().amax(dim=(1, 3), keepdim=True).clamp(1e-4)
    sf = amax / 448.0
    q = (xv * (1.0 / sf)).to(torch.float8_e4m3fn)
    return q.view(m, n), sf.view(m // B, n // B)


def dequant_alone():
    return [weight_dequant(fp8[k], scale[k]) for k in shapes]


def dequant_fused():
    d = {k: weight_dequant(fp8[k], scale[k]) for k in shapes}
    return (torch.cat([d["q"], d["k"], d["v"]]), d["o"],
            torch.cat([d["gate"], d["up"]]), d["down"])


def quant_alone():
    return [per_block_cast_to_fp8(bf[k]) for k in shapes]


def quant_fused():
    d = {k: per_block_cast_to_fp8(bf[k]) for k in shapes}
    cat = lambda names, i: torch.cat([d[n][i] for n in names])
    return (cat("qkv", 0), cat("qkv", 1), d["o"], cat(["gate", "up"], 0),
            cat(["gate", "up"], 1), d["down"])


total = elements * 3 + scale_bytes
src = torch.empty(total // 2, dtype=torch.uint8, device=dev)
dst = torch.empty_like(src)
print(torch.cuda.get_device_name(), torch.__version__)
print(f"| case | ms | GB/s (read + written) | of the device copy |")
copy = timed(lambda: dst.copy_(src))
rows = [("device copy of the same bytes (torch copy_)", copy)]
rows += [("dequantize, weight_dequant in PyTorch", timed(dequant_alone)),
         ("dequantize + vLLM fusion (cat)", timed(dequant_fused)),
         ("quantize, per_block_cast_to_fp8", timed(quant_alone)),
         ("quantize + vLLM fusion (cat)", timed(quant_fused))]
for name, ms in rows:
    print(f"| {name} | {ms:.3f} | {total / ms / 1e6:.0f} | {copy / ms * 100:.0f}% |")

"""Writes the plans of the CUDA benchmark (docs/benchmarks.md) and of the
GPU correctness check, compiled here by weight-layout-opt from the mapping
specs for the models' real dimensions, so that the GPU machine (which has no
MLIR) only runs them.

usage: make_plans.py WEIGHT_LAYOUT_OPT SRC_DIR OUT_DIR [--check-only]
Writes OUT_DIR/bench/<case>.json, OUT_DIR/baselines/<case>.json (plain
copies, fills and read:write mixes through the executor, beside which the
cases read), OUT_DIR/attn/<part>.json (MaxText attention's qkv_proj and
o_proj apart) and OUT_DIR/check/<spec>-<degrees>.json."""
import json
import os
import re
import subprocess
import sys

opt, src, out = sys.argv[1], sys.argv[2], sys.argv[3]
check_only = "--check-only" in sys.argv[4:]
cfgdir = os.path.join(out, "configs")
for d in ("bench", "baselines", "attn", "check", "configs", "convert"):
    os.makedirs(os.path.join(out, d), exist_ok=True)


def config(name, base, **changes):
    c = json.load(open(os.path.join(src, base)))
    c.update(changes)
    if "layer_types" in changes or "num_hidden_layers" in changes:
        n = c["num_hidden_layers"]
        lt = changes.get("layer_types", c.get("layer_types"))
        if lt is not None:
            c["layer_types"] = [lt[i % len(lt)] for i in range(n)]
    path = os.path.join(cfgdir, name + ".json")
    json.dump(c, open(path, "w"), indent=1)
    return path


def plan(spec, cfg, *args):
    cmd = [opt, "--mapping", os.path.join(src, "mappings", spec), "--config", cfg,
           "--emit=plan", *args]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True,
                                     text=True).stdout)


def merge(plans, keep, prefix=True):
    """One plan of the targets matching `keep` of several plans (ranks),
    targets prefixed with rank-<r>/ and sources shared by name."""
    out = {"version": 1, "sources": [], "targets": [], "pieces": []}
    index = {}
    for r, p in enumerate(plans):
        tmap = {}
        for i, t in enumerate(p["targets"]):
            if re.search(keep, t["name"]):
                tmap[i] = len(out["targets"])
                t = {k: v for k, v in t.items() if k != "alias"}
                if prefix and len(plans) > 1:
                    t["name"] = f"rank-{r}/" + t["name"]
                out["targets"].append(t)
        for pc in p["pieces"]:
            if pc["target"] not in tmap:
                continue
            pc = dict(pc, target=tmap[pc["target"]])
            if "source" in pc:
                s = p["sources"][pc["source"]]
                if s["name"] not in index:
                    index[s["name"]] = len(out["sources"])
                    out["sources"].append(s)
                pc["source"] = index[s["name"]]
            out["pieces"].append(pc)
    return out


def write(kind, name, p):
    json.dump(p, open(os.path.join(out, kind, name + ".json"), "w"))


if not check_only:
    # Models at their real sizes.
    q32 = config("qwen3-32b-1layer", "bench/configs/qwen3-8b-config.json",
                 hidden_size=5120, intermediate_size=25600, num_attention_heads=64,
                 num_key_value_heads=8, head_dim=128, num_hidden_layers=1,
                 layer_types=["full_attention"])
    q32m = config("qwen3-32b-24layers", "bench/configs/qwen3-8b-config.json",
                  hidden_size=5120, intermediate_size=25600, num_attention_heads=64,
                  num_key_value_heads=8, head_dim=128, num_hidden_layers=24,
                  layer_types=["full_attention"])
    q35 = config("qwen3_5-27b-1layer", "test/Mapping/Inputs/qwen3_5-config.json",
                 hidden_size=5120, intermediate_size=17408, num_attention_heads=24,
                 num_key_value_heads=4, head_dim=256, linear_num_key_heads=16,
                 linear_num_value_heads=48, linear_key_head_dim=128,
                 linear_value_head_dim=128, linear_conv_kernel_dim=4,
                 vocab_size=248320, num_hidden_layers=1,
                 layer_types=["linear_attention"])
    A3B = dict(hidden_size=2048, num_attention_heads=32, num_key_value_heads=4,
               head_dim=128, num_experts=128, moe_intermediate_size=768,
               intermediate_size=6144, vocab_size=151936, mlp_only_layers=[],
               decoder_sparse_step=1)
    a3b = config("qwen3-30b-a3b-8layers", "test/Mapping/Inputs/qwen3_moe-config.json",
                 num_hidden_layers=8, **A3B)

    ranks8 = [plan("qwen3/hf-to-vllm.json", q32, "--tp", "8", "--rank", str(r)) for r in range(8)]
    write("bench", "vllm-qkv-tp8", merge(ranks8, r"qkv_proj"))
    write("bench", "vllm-gate-up-tp8", merge(ranks8, r"gate_up_proj"))
    write("bench", "vllm-model-rank0-tp8",
          merge([plan("qwen3/hf-to-vllm.json", q32m, "--tp", "8", "--rank", "0")], r"."))
    meg = plan("qwen3/hf-to-megatron.json", q32, "--tp", "1")
    write("bench", "megatron-merge-qkv", merge([meg], r"linear_qkv\.weight"))
    back = plan("qwen3/hf-to-megatron.json", q32, "--tp", "1", "--reverse")
    write("bench", "megatron-split-qkv", merge([back], r"self_attn\.[qkv]_proj"))
    gdn = [plan("qwen3_5/hf-to-megatron.json", q35, "--tp", "4", "--rank", str(r)) for r in range(4)]
    write("bench", "gdn-in-proj-tp4", merge(gdn, r"in_proj\.weight"))
    mt = plan("qwen3_moe/maxtext-to-vllm-tpu.json", a3b, "--set", "rollout_tp=4")
    write("bench", "maxtext-attn-tp4", merge([mt], r"(qkv_proj|o_proj)\.weight"))
    write("attn", "attn-qkv", merge([mt], r"qkv_proj\.weight"))
    write("attn", "attn-o", merge([mt], r"o_proj\.weight"))
    write("bench", "maxtext-w13-tp4", merge([mt], r"w13_weight"))

    # Many small tensors in one launch: the fused experts of one
    # Qwen3-30B-A3B layer, all 4 ranks of TP=4 (384 HF tensors of 3 MB
    # become w13 [128, 384, 2048] and w2 [128, 2048, 192] per rank: w2's rows
    # are 384-byte column blocks), and every norm of a 64-layer Qwen3-32B
    # (256 tensors of 256 B to 10 KB, 1.3 MB in all: launch-bound).
    a3b1 = config("qwen3-30b-a3b-1layer", "test/Mapping/Inputs/qwen3_moe-config.json",
                  num_hidden_layers=1, **A3B)
    moe4 = [plan("qwen3_moe/hf-to-vllm.json", a3b1, "--tp", "4", "--rank", str(r)) for r in range(4)]
    write("bench", "vllm-moe-experts-tp4", merge(moe4, r"experts\.w(13|2)_weight"))
    q32all = config("qwen3-32b-64layers", "bench/configs/qwen3-8b-config.json",
                    hidden_size=5120, intermediate_size=25600, num_attention_heads=64,
                    num_key_value_heads=8, head_dim=128, num_hidden_layers=64,
                    layer_types=["full_attention"])
    write("bench", "vllm-norms-64layers",
          merge([plan("qwen3/hf-to-vllm.json", q32all, "--tp", "8", "--rank", "0")], r"norm"))

    # A whole checkpoint conversion: Qwen3-8B-shaped, 8 layers, to vLLM
    # TP=2 (both ranks), and to MaxText-style [in, out] (FastDeploy's Paddle
    # orientation: transposes) for Qwen3.5 at TP=2.
    q8 = config("qwen3-8b-8layers", "bench/configs/qwen3-8b-config.json",
                num_hidden_layers=8, layer_types=["full_attention"])
    for r in range(2):
        write("convert", f"qwen3-8b-vllm-tp2-rank{r}",
              plan("qwen3/hf-to-vllm.json", q8, "--tp", "2", "--rank", str(r)))

    # The 5120 x 25600 transpose, as wl IR.
    ir = os.path.join(out, "configs", "transpose.mlir")
    open(ir, "w").write("""func.func @t() {
      %w = wl.source "w" : tensor<5120x25600xbf16>
      %t = wl.permute %w perm [1, 0] : tensor<5120x25600xbf16> -> tensor<25600x5120xbf16>
      wl.sink %t "t" : tensor<25600x5120xbf16>
      return
    }
    """)
    t = subprocess.run([opt, "--emit=plan", ir], check=True, capture_output=True, text=True)
    open(os.path.join(out, "bench", "transpose-5120x25600.json"), "w").write(t.stdout)

    # Casts of the same matrix (--dtype): bf16 and f16 to f32 and back.
    for name, a, b in (("cast-bf16-f32", "bf16", "f32"), ("cast-f32-bf16", "f32", "bf16"),
                       ("cast-f16-f32", "f16", "f32"), ("cast-f32-f16", "f32", "f16")):
        ir = os.path.join(out, "configs", name + ".mlir")
        open(ir, "w").write(f"""func.func @c() {{
          %w = wl.source "w" : tensor<5120x25600x{a}>
          %t = wl.cast %w : tensor<5120x25600x{a}> -> tensor<5120x25600x{b}>
          wl.sink %t "t" : tensor<5120x25600x{b}>
          return
        }}
        """)
        t = subprocess.run([opt, "--emit=plan", ir], check=True, capture_output=True, text=True)
        open(os.path.join(out, "bench", name + "-5120x25600.json"), "w").write(t.stdout)

    # Baselines through the executor itself (copyFlat: every row aligned to
    # 16 bytes): a contiguous 1 GiB copy and fill, padding alone (128 or 512
    # of every 1024 bytes), and targets whose rows are half copied, half
    # filled (one byte read for two written, as a cast from bf16 to f32):
    # rows of 1 KiB (run-on-gpu.sh also times them fused into one pass) and
    # of 4 KiB.
    def raw(name, targets, sources, pieces):
        write("baselines", name, {"version": 1, "sources": sources,
                                  "targets": targets, "pieces": pieces})

    def tensor(name, shape):
        return {"name": name, "dtype": "BF16", "shape": shape}

    def copy(shape, dst, src, dst_offset=0):
        return {"target": 0, "source": 0, "dst_offset": dst_offset, "src_offset": 0,
                "shape": shape, "dst_strides": dst, "src_strides": src}

    def fill(shape, dst, dst_offset=0):
        return {"target": 0, "fill": 0.0, "dst_offset": dst_offset, "shape": shape,
                "dst_strides": dst}

    g = [32768, 16384]
    raw("copy-contig-1GiB", [tensor("t", g)], [tensor("s", g)], [copy(g, [16384, 1], [16384, 1])])
    raw("fill-contig-1GiB", [tensor("t", g)], [], [fill(g, [16384, 1])])
    raw("fill-pad-128B-of-1KiB", [tensor("t", [1048576, 512])], [],
        [fill([1048576, 64], [512, 1], 192), fill([1048576, 64], [512, 1], 448)])
    raw("fill-rows-512B-of-1KiB", [tensor("t", [1048576, 512])], [],
        [fill([1048576, 256], [512, 1], 0)])
    for name, rows, half in (("mix12-rows-512B-each", 524288, 256),
                             ("mix12-rows-2KiB-each", 131072, 1024)):
        raw(name, [tensor("t", [rows, 2 * half])], [tensor("s", [rows, half])],
            [copy([rows, half], [2 * half, 1], [half, 1]), fill([rows, half], [2 * half, 1], half)])

# Correctness: every spec at its degrees, on the tiny configs.
inputs = os.path.join(src, "test", "Mapping", "Inputs")
checks = [
    ("qwen3/hf-to-vllm.json", "qwen3-config.json", ["--tp", "4"]),
    ("qwen3/hf-to-megatron.json", "qwen3-config.json", ["--tp", "2", "--pp", "2"]),
    ("qwen3_moe/hf-to-vllm.json", "qwen3_moe-config.json", ["--tp", "2", "--ep", "2"]),
    ("qwen3_moe/hf-to-megatron.json", "qwen3_moe-config.json", ["--tp", "2", "--dp", "2", "--ep", "2"]),
    ("qwen3_moe/hf-to-transformers.json", "qwen3_moe-config.json", []),
    ("qwen3_5/hf-to-vllm.json", "qwen3_5-config.json", ["--tp", "4"]),
    ("qwen3_5/hf-to-fastdeploy.json", "qwen3_5-config.json", ["--tp", "2"]),
    ("qwen3_5/hf-to-megatron.json", "qwen3_5-config.json", ["--tp", "2"]),
    ("qwen3_5_moe/hf-to-vllm.json", "qwen3_5_moe-config.json", ["--tp", "2", "--ep", "2"]),
    ("qwen3_5_moe/hf-to-megatron.json", "qwen3_5_moe-config.json", ["--tp", "2", "--dp", "2", "--ep", "2"]),
    ("qwen3_next/hf-to-vllm.json", "qwen3_next-config.json", ["--tp", "2"]),
    ("qwen3_next/hf-to-megatron.json", "qwen3_next-config.json", ["--tp", "2"]),
]
for spec, cfg, degrees in checks:
    name = spec.replace("/", "-").replace(".json", "") + "".join(degrees).replace("--", "-")
    back = plan(spec, os.path.join(inputs, cfg), *degrees, "--reverse")
    write("check", f"{name}-reverse", back)
    # The ranks as the spec's framework numbers them: the way back reads
    # rank-<r>/<name> from each (just <name> when there is one).
    n = 1 + max([int(m.group(1)) for s in back["sources"]
                 for m in [re.match(r"rank-(\d+)/", s["name"])] if m] or [0])
    for r in range(n):
        write("check", f"{name}-rank{r}", plan(spec, os.path.join(inputs, cfg), *degrees, "--rank", str(r)))
mt_tiny = os.path.join(inputs, "qwen3_moe-config.json")
write("check", "maxtext-rollout4", plan("qwen3_moe/maxtext-to-vllm-tpu.json", mt_tiny, "--set", "rollout_tp=4"))
# Long fills of four values beside copies (80 MiB, more units than the
# blocks of a persistent launch): written for the copy-engine kernel's
# stage reuse, kept as a check of long fills among copies in copyFlat.
rows, cols = 64, 655360
pieces = []
for k, r in enumerate(range(0, rows, 4)):
    base = {"target": 0, "dst_offset": r * cols, "shape": [4, cols], "dst_strides": [cols, 1]}
    if k % 2 == 0:
        pieces.append(dict(base, source=0, src_offset=r * cols, src_strides=[cols, 1]))
    else:
        pieces.append(dict(base, fill=[1.5, -2.25, 0.0, 3.0e38][(k // 2) % 4]))
write("check", "long-fills-and-copies", {
    "version": 1, "sources": [{"name": "s", "dtype": "BF16", "shape": [rows, cols]}],
    "targets": [{"name": "t", "dtype": "BF16", "shape": [rows, cols]}], "pieces": pieces})
print("plans in", out)

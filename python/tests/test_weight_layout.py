"""Tests of the weight_layout Python module (docs/embedding.md).

Element origins are asserted: every source element holds
(source id + 1) * 2**20 + its flat index (int32), and every target is compared
with the framework's own rule written independently in torch ops. Run by
ctest through pytest where installed, else through run_tests.py; the CUDA
tests skip where torch sees no GPU.
"""

import json
import os
import sys
import tempfile
import unittest

import torch

import weight_layout as wl

SRC = os.environ.get("WL_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SRC, "test", "Inputs"))
import safetensors_io  # noqa: E402
CONFIG = os.path.join(SRC, "examples", "qwen3-tiny-config.json")
VLLM = "qwen3/hf-to-vllm"
MEGATRON = "qwen3/hf-to-megatron"
SHARED = os.environ.get("WL_SHARED") or os.path.join(SRC, "..", "shared")
QWEN3_5_CONFIG = os.path.join(SHARED, "checkpoints", "hf", "qwen3_5",
                              "config.json")

H, NH, NKV, HD, I, V, L = 128, 8, 2, 32, 256, 512, 2


def origin_tensors(specs, device="cpu", shift=20):
    """{name: tensor} for plan sources, value = (id + 1) * 2**shift + index."""
    out = {}
    for i, s in enumerate(specs):
        n = 1
        for d in s.shape:
            n *= d
        t = torch.arange(n, dtype=torch.int32) + ((i + 1) << shift)
        out[s.name] = t.view(s.shape).to(device)
    return out


def hf_checkpoint(device="cpu"):
    plan = wl.compile(VLLM, CONFIG, tp=1, dtype=torch.int32)
    return origin_tensors(plan.sources, device)


def vllm_rule(hf, tp, r):
    """vLLM's QKVParallelLinear / MergedColumnParallelLinear /
    RowParallelLinear / VocabParallelEmbedding shards of rank r."""
    e = {}
    vp = (V + 63) // 64 * 64
    for n in ("model.embed_tokens.weight", "lm_head.weight"):
        w = torch.cat([hf[n], hf[n].new_zeros(vp - V, H)])
        e[n] = w.chunk(tp)[r]
    e["model.norm.weight"] = hf["model.norm.weight"]
    for l in range(L):
        p = "model.layers.%d." % l
        e[p + "self_attn.qkv_proj.weight"] = torch.cat([
            hf[p + "self_attn.q_proj.weight"].chunk(tp)[r],
            hf[p + "self_attn.k_proj.weight"].chunk(tp)[r],
            hf[p + "self_attn.v_proj.weight"].chunk(tp)[r]])
        e[p + "self_attn.o_proj.weight"] = \
            hf[p + "self_attn.o_proj.weight"].chunk(tp, 1)[r]
        for n in ("self_attn.q_norm.weight", "self_attn.k_norm.weight",
                  "input_layernorm.weight", "post_attention_layernorm.weight"):
            e[p + n] = hf[p + n]
        e[p + "mlp.gate_up_proj.weight"] = torch.cat([
            hf[p + "mlp.gate_proj.weight"].chunk(tp)[r],
            hf[p + "mlp.up_proj.weight"].chunk(tp)[r]])
        e[p + "mlp.down_proj.weight"] = \
            hf[p + "mlp.down_proj.weight"].chunk(tp, 1)[r]
    return e


def megatron_rule(hf, tp, r):
    """Megatron-Bridge: linear_qkv interleaved per query group, then rows
    sharded; fc1 = [gate_r; up_r]; row-parallel proj and fc2."""
    e = {"embedding.word_embeddings.weight":
         hf["model.embed_tokens.weight"].chunk(tp)[r],
         "output_layer.weight": hf["lm_head.weight"].chunk(tp)[r],
         "decoder.final_layernorm.weight": hf["model.norm.weight"]}
    for l in range(L):
        p, m = "model.layers.%d." % l, "decoder.layers.%d." % l
        q = hf[p + "self_attn.q_proj.weight"].view(NKV, NH // NKV * HD, H)
        k = hf[p + "self_attn.k_proj.weight"].view(NKV, HD, H)
        v = hf[p + "self_attn.v_proj.weight"].view(NKV, HD, H)
        e[m + "self_attention.linear_qkv.weight"] = \
            torch.cat([q, k, v], 1).reshape(-1, H).chunk(tp)[r]
        e[m + "self_attention.linear_qkv.layer_norm_weight"] = \
            hf[p + "input_layernorm.weight"]
        e[m + "self_attention.q_layernorm.weight"] = \
            hf[p + "self_attn.q_norm.weight"]
        e[m + "self_attention.k_layernorm.weight"] = \
            hf[p + "self_attn.k_norm.weight"]
        e[m + "self_attention.linear_proj.weight"] = \
            hf[p + "self_attn.o_proj.weight"].chunk(tp, 1)[r]
        e[m + "mlp.linear_fc1.weight"] = torch.cat([
            hf[p + "mlp.gate_proj.weight"].chunk(tp)[r],
            hf[p + "mlp.up_proj.weight"].chunk(tp)[r]])
        e[m + "mlp.linear_fc1.layer_norm_weight"] = \
            hf[p + "post_attention_layernorm.weight"]
        e[m + "mlp.linear_fc2.weight"] = \
            hf[p + "mlp.down_proj.weight"].chunk(tp, 1)[r]
    return e


def assert_same(got, want):
    assert sorted(got) == sorted(want), (
        sorted(set(got) ^ set(want))[:5])
    for n, w in want.items():
        g = got[n]
        assert g.shape == w.shape, (n, g.shape, w.shape)
        assert g.dtype == w.dtype, (n, g.dtype, w.dtype)
        assert torch.equal(g.cpu(), w.cpu()), "target %s differs" % n


def raises(exc, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except exc as e:
        return str(e)
    raise AssertionError("%s not raised" % exc.__name__)


def storage_of(t):
    """(data_ptr, nbytes) of the tensor's storage (untyped_storage on
    torch >= 2, storage() before)."""
    if hasattr(t, "untyped_storage"):
        s = t.untyped_storage()
        return s.data_ptr(), s.nbytes()
    s = t.storage()
    return s.data_ptr(), s.size() * t.element_size()


def shares_storage(view, base):
    lo, n = storage_of(base)
    return storage_of(view)[0] == lo and lo <= view.data_ptr() < lo + n


# --- compile --------------------------------------------------------------


def test_vllm_every_rank_matches_vllm_rule():
    hf = hf_checkpoint()
    for tp in (1, 2):
        for r in range(tp):
            plan = wl.compile(VLLM, CONFIG, tp=tp, rank=r, dtype=torch.int32)
            assert_same(plan.run(hf), vllm_rule(hf, tp, r))
            assert_same(plan.run(hf, views=False), vllm_rule(hf, tp, r))


def test_config_forms_and_spec_forms():
    with open(CONFIG) as f:
        cfg = json.load(f)

    class PretrainedConfigLike:  # transformers' configs have to_dict()
        def to_dict(self):
            return cfg

    spec_path = os.path.join(SRC, "mappings", "qwen3", "hf-to-vllm.json")
    with open(spec_path) as f:
        spec = json.load(f)
    hashes = {
        wl.compile(VLLM, CONFIG, tp=2, rank=1).hash,
        wl.compile(VLLM, os.path.dirname(CONFIG) + "/qwen3-tiny-config.json",
                   tp=2, rank=1).hash,
        wl.compile(VLLM, cfg, tp=2, rank=1).hash,
        wl.compile(VLLM, json.dumps(cfg), tp=2, rank=1).hash,
        wl.compile(VLLM, PretrainedConfigLike(), tp=2, rank=1).hash,
        wl.compile(spec_path, cfg, tp=2, rank=1).hash,
        wl.compile(spec, cfg, tp=2, rank=1,
                   spec_dir=os.path.dirname(spec_path)).hash,
    }
    assert len(hashes) == 1, hashes


def test_second_compile_is_a_cache_hit():
    wl.clear_cache()
    a = wl.compile(VLLM, CONFIG, tp=2, rank=0)
    b = wl.compile(VLLM, CONFIG, tp=2, rank=1)
    c = wl.compile(VLLM, CONFIG, tp=2, rank=0)
    s = wl.cache_stats()
    assert (s["misses"], s["hits"], s["entries"]) == (1, 2, 1), s
    assert a.hash == c.hash != b.hash
    wl.compile(VLLM, CONFIG, tp=4, rank=3)
    assert wl.cache_stats()["misses"] == 2


def test_errors_are_value_errors_naming_the_problem():
    e = raises(ValueError, wl.compile, VLLM, CONFIG, tp=3)
    assert "num_attention_heads must be divisible by tp" in e, e
    e = raises(ValueError, wl.compile, VLLM, CONFIG, tp=2, rank=2)
    assert e == ("rank 2 is out of range: the mapping has 2 rank(s) "
                 "(tp 2 x dp 1)"), e
    e = raises(ValueError, wl.compile, "qwen3/hf-to-nowhere", CONFIG)
    assert "mapping 'qwen3/hf-to-nowhere': no such spec file" in e, e
    e = raises(ValueError, wl.compile, VLLM, CONFIG, frobnicate=1)
    assert "frobnicate" in e, e
    raises(TypeError, wl.compile, VLLM, CONFIG, tp="2")
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    hf = hf_checkpoint()
    q = "model.layers.0.self_attn.q_proj.weight"
    bad = dict(hf)
    bad[q] = hf[q].float()
    e = raises(ValueError, plan.run, bad)
    assert e == ("source '%s' has dtype F32 but the plan has it as I32"
                 % q), e
    bad[q] = hf[q][:8]
    e = raises(ValueError, plan.run, bad)
    assert e == ("source '%s' has shape [8, 128] but the plan has it as "
                 "[256, 128]" % q), e
    del bad[q]
    e = raises(ValueError, plan.run, bad)
    assert e.startswith("1 source tensor(s) of the plan are missing: '%s'"
                        % q), e
    e = raises(ValueError, plan.inverse)
    assert "rank 1's plan has no inverse" in e, e


# --- views ----------------------------------------------------------------


def test_aliased_targets_are_views_sharing_storage():
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    d = plan.describe()
    assert len(d["aliases"]) == 3 + 4 * L
    out = plan.run(hf)
    assert wl.last_run_stats()["views"] == len(d["aliases"])
    for target, (source, offset) in d["aliases"].items():
        assert shares_storage(out[target], hf[source]), target
        assert out[target].data_ptr() == \
            hf[source].data_ptr() + offset * 4, target
    emb = out["model.embed_tokens.weight"]
    assert emb.data_ptr() == hf["model.embed_tokens.weight"][256].data_ptr()
    emb[0, 0] = -5  # a view: writes reach the source
    assert hf["model.embed_tokens.weight"][256, 0] == -5
    copies = plan.run(hf, views=False)
    for target, (source, _) in d["aliases"].items():
        assert not shares_storage(copies[target], hf[source]), target


def test_hf_views_into_vllm_merged_qwen3_5():
    """Seed 000's use case on generated tensors: HF-named parameters that
    are views into vLLM's merged Qwen3.5 tensors."""
    if not os.path.exists(QWEN3_5_CONFIG):
        raise unittest.SkipTest("no ../shared/checkpoints (Qwen3.5 config)")
    fwd = wl.compile("qwen3_5/hf-to-vllm", QWEN3_5_CONFIG, dtype=torch.int32)
    hf = origin_tensors(fwd.sources)
    vllm = fwd.run(hf, views=False)
    back = fwd.inverse()
    assert back.describe()["reverse"]
    views = back.run(vllm)
    assert_same(views, hf)
    d = back.describe()
    assert len(d["aliases"]) == len(hf), "every HF tensor is a view"
    for name, v in views.items():
        src, _ = d["aliases"][name]
        assert shares_storage(v, vllm[src]), name
    qkvz = "model.layers.0.linear_attn.in_proj_qkvz.weight"
    qkv = views["model.layers.0.linear_attn.in_proj_qkv.weight"]
    z = views["model.layers.0.linear_attn.in_proj_z.weight"]
    assert qkv.data_ptr() == vllm[qkvz].data_ptr()
    assert z.data_ptr() == vllm[qkvz][qkv.shape[0]].data_ptr()


# --- into existing tensors --------------------------------------------------


def test_run_into_slices_of_fused_parameters():
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    want = vllm_rule(hf, 2, 1)
    dst = {t.name: torch.zeros(t.shape, dtype=t.dtype) for t in plan.targets}
    # qkv into rows of one fused [qkv; spare] parameter (contiguous slice),
    # o_proj into the right half of a wider parameter (a column slice).
    qkv = "model.layers.0.self_attn.qkv_proj.weight"
    o = "model.layers.0.self_attn.o_proj.weight"
    fused = torch.full((192 + 10, H), 9, dtype=torch.int32)
    dst[qkv] = fused.narrow(0, 10, 192)
    wide = torch.full((H, 2 * H), 7, dtype=torch.int32)
    dst[o] = wide[:, H:]
    before = fused.data_ptr()
    plan.run_into(hf, dst)
    st = wl.last_run_stats()
    assert st["staged_targets"] == 1 and st["executor"] == "cpu", st
    assert fused.data_ptr() == before
    assert torch.equal(fused[10:], want[qkv])
    assert torch.equal(fused[:10], torch.full((10, H), 9, dtype=torch.int32))
    assert torch.equal(wide[:, H:], want[o])
    assert torch.equal(wide[:, :H], torch.full((H, H), 7, dtype=torch.int32))
    dst[qkv], dst[o] = fused[10:], wide[:, H:]
    assert_same(dst, want)


def test_bound_run_follows_its_tensors():
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    dst = {t.name: torch.full(t.shape, -1, dtype=t.dtype)
           for t in plan.targets}
    bound = plan.bind(hf, dst)
    bound.run()
    assert_same(dst, vllm_rule(hf, 2, 1))
    # The same storage with new values: the next run writes them.
    for t in hf.values():
        t.mul_(3).add_(1)
    for t in dst.values():
        t.fill_(-1)
    bound.run()
    assert_same(dst, vllm_rule(hf, 2, 1))
    assert wl.last_run_stats()["executor"] == "cpu"
    # What a bound run cannot keep up to date is refused.
    qkv = "model.layers.0.self_attn.qkv_proj.weight"
    wide = dict(dst)
    wide[qkv] = torch.zeros(dst[qkv].shape[1], dst[qkv].shape[0],
                            dtype=torch.int32).t()
    raises(ValueError, plan.bind, hf, wide)
    strided = dict(hf)
    name = next(s.name for s in plan.sources if len(s.shape) == 2)
    strided[name] = hf[name].t().contiguous().t()
    raises(ValueError, plan.bind, strided, dst)
    missing = dict(dst)
    del missing[qkv]
    raises(ValueError, plan.bind, hf, missing)
    raises(TypeError, plan.bind, 5, dst)


def test_run_into_parameters_requiring_grad():
    """nn.Parameters (requires_grad) are loaded in place, as vLLM's
    weight_loader does under no_grad; f32 values stay exact integers."""
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=0, dtype=torch.float32)
    hf = {n: t.to(torch.float32) for n, t in
          origin_tensors(plan.sources, shift=17).items()}
    params = {t.name: torch.nn.Parameter(torch.zeros(t.shape))
              for t in plan.targets}
    ptrs = {n: p.data_ptr() for n, p in params.items()}
    plan.run_into(hf, params)
    assert all(p.requires_grad and p.is_leaf for p in params.values())
    assert {n: p.data_ptr() for n, p in params.items()} == ptrs
    assert_same({n: p.detach() for n, p in params.items()},
                vllm_rule(hf, 2, 0))
    ints = wl.compile(VLLM, CONFIG, tp=2, rank=0, dtype=torch.int32)
    e = raises(ValueError, ints.run_into, hf_checkpoint(), params)
    assert "has dtype F32 but the plan has it as I32" in e, e


def test_load_streams_like_vllm_load_weights():
    hf = hf_checkpoint()
    for r in range(2):
        plan = wl.compile(VLLM, CONFIG, tp=2, rank=r, dtype=torch.int32)
        params = {t.name: torch.zeros(t.shape, dtype=t.dtype)
                  for t in plan.targets}
        params["some.other.buffer"] = torch.zeros(3)  # ignored
        weights = iter(sorted(hf.items(), reverse=True))
        loaded = plan.load(weights, params)
        assert loaded == {t.name for t in plan.targets}
        del params["some.other.buffer"]
        assert_same(params, vllm_rule(hf, 2, r))
    # A name the mapping does not know: strict raises, else it is reported.
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    params = {t.name: torch.zeros(t.shape, dtype=t.dtype) for t in plan.targets}
    extra = dict(hf, **{"model.rotary_emb.inv_freq": torch.zeros(4)})
    e = raises(ValueError, plan.load, extra, params)
    assert "unknown to the mapping" in e and "inv_freq" in e, e
    assert plan.load(extra, params, strict=False) == set(params)
    # A missing tensor is named.
    partial = dict(hf)
    del partial["model.layers.1.mlp.up_proj.weight"]
    e = raises(ValueError, plan.load, partial, params)
    assert "never fed: 'model.layers.1.mlp.up_proj.weight'" in e, e


# --- other frameworks, plans as data ----------------------------------------


def test_numpy_sources_enter_through_dlpack():
    import numpy as np
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=0, dtype=torch.int32)
    arrays = {n: t.numpy() for n, t in hf.items()}
    out = plan.run(arrays)
    assert_same(out, vllm_rule(hf, 2, 0))
    ro = {n: np.array(a) for n, a in arrays.items()}
    for a in ro.values():
        a.flags.writeable = False
    assert_same(plan.run(ro), vllm_rule(hf, 2, 0))
    raises(TypeError, plan.run, {"x": [1, 2, 3]})


def test_megatron_round_trip_every_rank():
    hf = hf_checkpoint()
    fwd = wl.compile(MEGATRON, CONFIG, tp=2, rank="all", dtype=torch.int32)
    out = fwd.run(hf)
    for r in range(2):
        pre = "rank-%d/" % r
        mine = {n[len(pre):]: t for n, t in out.items() if n.startswith(pre)}
        assert_same(mine, megatron_rule(hf, 2, r))
    back = fwd.inverse()
    assert_same(back.run(out, views=False), hf)
    assert back.inverse().hash == fwd.hash
    rev = wl.compile(MEGATRON, CONFIG, tp=2, dtype=torch.int32, reverse=True)
    assert rev.hash == back.hash


def test_plans_as_json():
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    again = wl.from_json(plan.to_json())
    assert again.hash == plan.hash
    assert "from JSON" in repr(again)
    assert_same(again.run(hf), vllm_rule(hf, 2, 1))
    e = raises(ValueError, wl.from_json, '{"version": 2}')
    assert e.startswith("plan JSON: version"), e


# --- reading only what a rank needs ----------------------------------------


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    names = {torch.int32: "I32", torch.bfloat16: "BF16"}
    for n, t in tensors.items():
        b = t.contiguous().view(-1).view(torch.uint8).numpy().tobytes()
        header[n] = {"dtype": names[t.dtype], "shape": list(t.shape),
                     "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    safetensors_io.write(path, header, b"".join(blobs))


def test_source_ranges_read_only_rank_bytes():
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    ranges = plan.source_ranges()
    o = ranges["model.layers.0.self_attn.o_proj.weight"]
    assert o == [(i * 256 + 128, i * 256 + 256) for i in range(H)]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.safetensors")
        write_safetensors(path, hf)
        got, stats = wl.read_safetensors(path, ranges=ranges)
        assert stats["bytes_read"] == plan.describe()["bytes_read"]
        assert stats["bytes_read"] < 0.6 * stats["bytes_total"], stats
        assert_same(plan.run(got, views=False), vllm_rule(hf, 2, 1))
        whole, s2 = wl.read_safetensors(d)
        assert s2["bytes_read"] == s2["bytes_total"]
        assert_same(whole, hf)


def checkpoint_folder(d, tensors, shards=2):
    """A checkpoint folder: config.json and `shards` files with an index."""
    import shutil
    shutil.copy(CONFIG, os.path.join(d, "config.json"))
    names = list(tensors)
    weight_map = {}
    for i in range(shards):
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        part = {n: tensors[n] for n in names[i::shards]}
        write_safetensors(os.path.join(d, fn), part)
        weight_map.update({n: fn for n in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {}, "weight_map": weight_map}, f)
    return d


def test_load_checkpoint_reads_only_the_rank_and_matches_vllm():
    hf = hf_checkpoint()
    with tempfile.TemporaryDirectory() as d:
        checkpoint_folder(d, hf)
        seen = []
        for tp, r in ((1, 0), (2, 1), (2, 0)):
            # Small buffers and batches: many reads, several batches.
            got = wl.load_checkpoint(d, VLLM, tp=tp, rank=r, device="cpu",
                                     dtype=torch.int32, buffer_bytes=8192,
                                     batch_bytes=100000, threads=3,
                                     progress=lambda a, b: seen.append(
                                         (a, b)))
            st = wl.last_load_stats()
            assert_same(got, vllm_rule(hf, tp, r))
            plan = wl.compile(VLLM, d, tp=tp, rank=r, dtype=torch.int32)
            assert st["bytes_needed"] == plan.describe()["bytes_read"], st
            assert st["bytes_written"] == plan.describe()["bytes_written"]
            assert st["batches"] > 1 and st["executor"] == "cpu", st
            if tp > 1:
                assert st["bytes_read"] < 0.7 * sum(
                    t.numel() * 4 for t in hf.values()), st
            assert seen[-1][0] == seen[-1][1] == st["bytes_read"], seen[-1]


def test_load_checkpoint_into_parameters_in_place():
    hf = hf_checkpoint()
    with tempfile.TemporaryDirectory() as d:
        checkpoint_folder(d, hf, shards=3)
        plan = wl.compile(VLLM, d, tp=2, rank=0, dtype=torch.int32)
        params = {t.name: torch.nn.Parameter(torch.zeros(t.shape,
                                                         dtype=t.dtype),
                                             requires_grad=False)
                  for t in plan.targets}
        o = "model.layers.1.self_attn.o_proj.weight"
        wide = torch.zeros(H, 2 * H, dtype=torch.int32)
        params[o] = wide[:, H:]  # a column slice: through a temporary
        params["not.a.target"] = torch.zeros(3)
        ptrs = {n: p.data_ptr() for n, p in params.items()}
        got = wl.load_checkpoint(d, VLLM, tp=2, rank=0, device="cpu",
                                 dtype=torch.int32, into=params)
        assert wl.last_load_stats()["staged_targets"] == 1
        assert {n: p.data_ptr() for n, p in params.items()} == ptrs
        assert got[o] is params[o] and "not.a.target" not in got
        assert_same({n: params[n] for n in got}, vllm_rule(hf, 2, 0))
        assert torch.equal(wide[:, :H], torch.zeros(H, H, dtype=torch.int32))
    # One file: the config beside it.
    with tempfile.TemporaryDirectory() as d:
        checkpoint_folder(d, hf, shards=1)
        got = wl.load_checkpoint(
            os.path.join(d, "model-00001-of-00001.safetensors"), VLLM,
            device="cpu", dtype=torch.int32)
        assert_same(got, vllm_rule(hf, 1, 0))


def test_load_checkpoint_checks_everything_before_writing():
    hf = hf_checkpoint()
    plan = wl.compile(VLLM, CONFIG, tp=2, rank=1, dtype=torch.int32)
    q = "model.layers.1.self_attn.q_proj.weight"
    cases = [
        ({n: t for n, t in hf.items() if n != q},
         "1 tensor(s) the plan reads are not in the checkpoint: '%s'" % q),
        (dict(hf, **{q: hf[q][:8]}),
         "checkpoint tensor '%s' in " % q),
        (dict(hf, **{q: hf[q].to(torch.bfloat16)}),
         "has dtype BF16 but the plan reads it as I32"),
    ]
    for tensors, message in cases:
        with tempfile.TemporaryDirectory() as d:
            checkpoint_folder(d, tensors)
            params = {t.name: torch.full(t.shape, -7, dtype=t.dtype)
                      for t in plan.targets}
            e = raises(ValueError, wl.load_checkpoint, d, VLLM, tp=2, rank=1,
                       device="cpu", dtype=torch.int32, into=params)
            assert message in e, e
            # Nothing was written.
            assert all(bool((t == -7).all()) for t in params.values())
    with tempfile.TemporaryDirectory() as d:
        checkpoint_folder(d, hf)
        e = raises(ValueError, wl.load_checkpoint, d, VLLM, tp=2, rank=1,
                   device="cpu", dtype=torch.int32,
                   into={"model.norm.weight": torch.zeros(H, dtype=torch.int32)})
        assert "target(s) of the plan have no destination" in e, e
        e = raises(ValueError, wl.load_checkpoint, d, VLLM, device="tpu")
        assert "device 'tpu'" in e, e
        e = raises(ValueError, wl.load_checkpoint, d, VLLM, device="cpu",
                   threads=5000)
        assert "readers and buffers are from 1 to 1024" in e, e
        e = raises(ValueError, wl.load_checkpoint, d, VLLM, device="cpu",
                   buffers=1025)
        assert "readers and buffers are from 1 to 1024" in e, e
        e = raises(ValueError, wl.load_checkpoint, d, VLLM, device="cpu",
                   buffer_bytes=2**70)
        assert "buffer_bytes=" in e and "out of range" in e, e
        e = raises(ValueError, wl.load_checkpoint, os.path.join(d, "nope"),
                   VLLM, config=CONFIG, device="cpu")
        assert "nope" in e, e


def test_read_safetensors_refuses_what_the_validated_reader_refuses():
    hf = {"a": torch.arange(6, dtype=torch.int32).reshape(2, 3)}
    with tempfile.TemporaryDirectory() as d:
        good = os.path.join(d, "good")
        os.mkdir(good)
        write_safetensors(os.path.join(good, "model.safetensors"), hf)
        # A shard that is a FIFO: refused at once, not waited on.
        fifo = os.path.join(d, "fifo")
        os.mkdir(fifo)
        os.mkfifo(os.path.join(fifo, "model-00001-of-00001.safetensors"))
        with open(os.path.join(fifo, "model.safetensors.index.json"), "w") as f:
            json.dump({"weight_map": {"a": "model-00001-of-00001.safetensors"}}, f)
        msg = raises(ValueError, wl.read_safetensors, fifo)
        assert "is a FIFO, not a regular file" in msg, msg
        # An index that names a file outside its folder.
        out = os.path.join(d, "outside")
        os.mkdir(out)
        with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
            json.dump({"weight_map": {"a": "../good/model.safetensors"}}, f)
        msg = raises(ValueError, wl.read_safetensors, out)
        assert "contains '..'" in msg, msg
        # A header whose shape claims more than its data holds: refused
        # before anything is allocated for it.
        bad = os.path.join(d, "bad.safetensors")
        safetensors_io.write(bad, {"a": {"dtype": "F32", "shape": [1 << 40],
                                         "data_offsets": [0, 8]}}, bytes(8))
        msg = raises(ValueError, wl.read_safetensors, bad)
        assert "tensor 'a'" in msg, msg
        got, _ = wl.read_safetensors(good)
        assert_same(got, hf)


# --- CUDA -------------------------------------------------------------------


def test_cuda_tensors():
    if not torch.cuda.is_available():
        raise unittest.SkipTest("no CUDA device for torch")
    dev = torch.device("cuda", 0)
    hf = hf_checkpoint(dev)
    for r in range(2):
        plan = wl.compile(VLLM, CONFIG, tp=2, rank=r, dtype=torch.int32)
        want = vllm_rule(hf, 2, r)
        out = plan.run(hf)
        assert all(t.is_cuda for t in out.values())
        assert_same(out, want)
        assert wl.last_run_stats()["executor"] in ("cuda", "cuda-via-host")
        dst = {t.name: torch.zeros(t.shape, dtype=t.dtype, device=dev)
               for t in plan.targets}
        plan.run_into(hf, dst)
        assert_same(dst, want)
        # A CPU checkpoint streamed into CUDA parameters.
        dst = {t.name: torch.zeros(t.shape, dtype=t.dtype, device=dev)
               for t in plan.targets}
        plan.load({n: t.cpu() for n, t in hf.items()}, dst)
        assert_same(dst, want)
        # A side stream.
        s = torch.cuda.Stream()
        with torch.cuda.stream(s):
            out = plan.run(hf, views=False)
        s.synchronize()
        assert_same(out, want)

"""The peers of the CUDA benchmark, as the frameworks write them, at the
sizes of scripts/make_plans.py's plans (docs/benchmarks.md).

usage: python3 peers.py torch|jax OURS.json
OURS.json (cuda_bench --json) gives the bytes each case moves (source
elements read plus target bytes written), so that the same numerator is
used for both. Prints one markdown row per case: name, ms, GB/s.
Written here from the frameworks' code as read (vLLM's chunk/cat loaders,
Megatron-Bridge's merge_qkv_weights / split_qkv_weights and GDN in_proj
merge, MaxText's torchax converter for Qwen3-MoE); timed with CUDA events
(torch) or block_until_ready (JAX), median of 20 after 3 warm-ups."""
import json
import statistics
import sys
import time

framework, ours = sys.argv[1], json.load(open(sys.argv[2]))
bytes_of = {c["name"]: c["bytes"] for c in ours["cases"]}
rows = []


def report(name, ms):
    gbs = bytes_of[name] / (ms * 1e-3) / 1e9
    rows.append(f"| {framework}: {name} | {ms:.3f} | {gbs:.0f} |")
    print(rows[-1], flush=True)


if framework == "torch":
    import torch

    dev = "cuda"
    bf = torch.bfloat16

    def rnd(*shape):
        return torch.randn(*shape, device=dev, dtype=torch.float32).to(bf)

    def timed(f, runs=20):
        for _ in range(3):
            f()
        torch.cuda.synchronize()
        ts = []
        for _ in range(runs):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            f()
            b.record()
            b.synchronize()
            ts.append(a.elapsed_time(b))
        return statistics.median(ts)

    # Roofline through torch.
    x = torch.empty(1 << 29, device=dev, dtype=bf).random_()
    y = torch.empty_like(x)
    report("d2d-copy-1GiB", timed(lambda: y.copy_(x)))
    del x, y

    w = rnd(5120, 25600)
    report("transpose-5120x25600", timed(lambda: w.t().contiguous()))
    del w

    # Qwen3-32B layer, HF -> vLLM at TP=8: every rank's merged tensor.
    H, nh, nkv, hd, I, tp = 5120, 64, 8, 128, 25600, 8
    q, k, v = rnd(nh * hd, H), rnd(nkv * hd, H), rnd(nkv * hd, H)
    report("vllm-qkv-tp8", timed(lambda: [torch.cat([q.chunk(tp)[r], k.chunk(tp)[r], v.chunk(tp)[r]]) for r in range(tp)]))
    g, u = rnd(I, H), rnd(I, H)
    report("vllm-gate-up-tp8", timed(lambda: [torch.cat([g.chunk(tp)[r], u.chunk(tp)[r]]) for r in range(tp)]))
    del g, u

    # Megatron-Bridge merge_qkv_weights and split_qkv_weights (Qwen3-32B).
    hpg = nh // nkv

    def merge_qkv():
        qr, kr, vr = q.view(nh, hd, H), k.view(nkv, hd, H), v.view(nkv, hd, H)
        parts = []
        for i in range(nkv):
            parts.extend([qr[i * hpg:(i + 1) * hpg], kr[i:i + 1], vr[i:i + 1]])
        return torch.cat(parts, dim=0).reshape(-1, H)

    report("megatron-merge-qkv", timed(merge_qkv))
    qkv = merge_qkv()
    total, per = nh + 2 * nkv, hpg + 2
    q_slice = torch.cat([torch.arange(per * i, per * i + hpg) for i in range(nkv)])
    k_slice = torch.arange(per - 2, total, per)
    v_slice = torch.arange(per - 1, total, per)

    def split_qkv():
        r = qkv.view(total, hd, H)
        return (r[q_slice].reshape(-1, H), r[k_slice].reshape(-1, H), r[v_slice].reshape(-1, H))

    report("megatron-split-qkv", timed(split_qkv))
    del q, k, v, qkv

    # Megatron-Bridge GDN: separate HF tensors -> grouped (qkvz, ba) ->
    # merged in_proj, then each TP=4 rank's chunk (Qwen3.5-27B layer).
    H, nk, nv, hk, hv, tp = 5120, 16, 48, 128, 128, 4
    kd, vd = nk * hk, nv * hv
    qkv_w, z_w, b_w, a_w = rnd(2 * kd + vd, H), rnd(vd, H), rnd(nv, H), rnd(nv, H)

    def gdn():
        qq, kk, vv = torch.split(qkv_w, [kd, kd, vd], dim=0)
        qkvz = torch.cat([qq.view(nk, hk, H), kk.view(nk, hk, H), vv.view(nk, nv // nk * hv, H),
                          z_w.view(nk, nv // nk * hv, H)], dim=1).reshape(-1, H)
        ba = torch.cat([b_w.view(nk, nv // nk, H), a_w.view(nk, nv // nk, H)], dim=1).reshape(-1, H)
        g = qkvz.reshape(nk, -1, H)
        q2, k2, v2, z2 = torch.split(g, [hk, hk, nv // nk * hv, nv // nk * hv], dim=1)
        b2, a2 = torch.split(ba.reshape(nk, -1, H), [nv // nk, nv // nk], dim=1)
        in_proj = torch.cat([t.reshape(-1, H) for t in (q2, k2, v2, z2, b2, a2)], dim=0)
        return [c.contiguous() for c in in_proj.chunk(tp)]

    report("gdn-in-proj-tp4", timed(gdn))
    del qkv_w, z_w, b_w, a_w

    # A Qwen3-32B-shaped model (24 layers, embeddings), HF -> vLLM, rank 0
    # of TP=8, the way vLLM's loaders do it: tensor by tensor.
    H, nh, nkv, hd, I, V, L, tp = 5120, 64, 8, 128, 25600, 151936, 24, 8
    model = {"embed": rnd(V, H), "head": rnd(V, H), "norm": rnd(H)}
    for l in range(L):
        model[l] = [rnd(nh * hd, H), rnd(nkv * hd, H), rnd(nkv * hd, H), rnd(H, nh * hd), rnd(I, H), rnd(I, H),
                    rnd(H, I), rnd(hd), rnd(hd), rnd(H), rnd(H)]

    def rank0():
        r = 0
        out = [model["embed"].chunk(tp)[r].clone(), model["head"].chunk(tp)[r].clone(), model["norm"].clone()]
        for l in range(L):
            q, k, v, o, g, u, d, qn, kn, n1, n2 = model[l]
            out.append(torch.cat([q.chunk(tp)[r], k.chunk(tp)[r], v.chunk(tp)[r]]))
            out.append(o.chunk(tp, 1)[r].contiguous())
            out.append(torch.cat([g.chunk(tp)[r], u.chunk(tp)[r]]))
            out.append(d.chunk(tp, 1)[r].contiguous())
            out.extend([qn.clone(), kn.clone(), n1.clone(), n2.clone()])
        return out

    report("vllm-model-rank0-tp8", timed(rank0, runs=10))
    del model

    # Qwen3-30B-A3B experts of one layer, HF -> vLLM FusedMoE at TP=4, all
    # ranks, as vLLM's FusedMoE.weight_loader does it: per expert and
    # shard, the rank's narrow of the HF tensor copied into the fused
    # parameter (gate rows, then up rows, of w13; a column block of down
    # into w2).
    E, D, Im, tp = 128, 2048, 768, 4
    sh = Im // tp
    gate = [rnd(Im, D) for _ in range(E)]
    up = [rnd(Im, D) for _ in range(E)]
    down = [rnd(D, Im) for _ in range(E)]
    w13 = [torch.empty(E, 2 * sh, D, device=dev, dtype=bf) for _ in range(tp)]
    w2 = [torch.empty(E, D, sh, device=dev, dtype=bf) for _ in range(tp)]

    def experts():
        for r in range(tp):
            for e in range(E):
                w13[r][e].narrow(0, 0, sh).copy_(gate[e].narrow(0, r * sh, sh))
                w13[r][e].narrow(0, sh, sh).copy_(up[e].narrow(0, r * sh, sh))
                w2[r][e].copy_(down[e].narrow(1, r * sh, sh))

    report("vllm-moe-experts-tp4", timed(experts, runs=10))
    del gate, up, down, w13, w2

    # Every norm of a 64-layer Qwen3-32B, one copy each (as a loader does).
    norms = [rnd(5120) for _ in range(2 * 64 + 1)] + [rnd(128) for _ in range(2 * 64)]
    report("vllm-norms-64layers", timed(lambda: [n.clone() for n in norms]))

    # Casts (--dtype) of the 5120 x 25600 matrix.
    w = rnd(5120, 25600)
    report("cast-bf16-f32-5120x25600", timed(lambda: w.to(torch.float32)))
    w = w.to(torch.float32)
    report("cast-f32-bf16-5120x25600", timed(lambda: w.to(bf)))
    report("cast-f32-f16-5120x25600", timed(lambda: w.to(torch.float16)))
    w = w.to(torch.float16)
    report("cast-f16-f32-5120x25600", timed(lambda: w.to(torch.float32)))
    del w
else:
    import jax
    import jax.numpy as jnp

    def timed(f, runs=20):
        for _ in range(3):
            jax.block_until_ready(f())
        ts = []
        for _ in range(runs):
            t0 = time.perf_counter()
            jax.block_until_ready(f())
            ts.append((time.perf_counter() - t0) * 1e3)
        return statistics.median(ts)

    key = jax.random.PRNGKey(0)

    def rnd(*shape):
        global key
        key, sub = jax.random.split(key)
        return jax.random.normal(sub, shape, dtype=jnp.float32).astype(jnp.bfloat16)

    # MaxText's Qwen3-MoE converter (Qwen3-30B-A3B, 8 scanned layers,
    # rollout TP=4): the attention JIT and the w13 fuse + pad JIT.
    D, L, nh, nkv, hd, E, Im, tp = 2048, 8, 32, 4, 128, 128, 768, 4
    attn = {"query": {"kernel": rnd(D, L, nh, hd)}, "key": {"kernel": rnd(D, L, nkv, hd)},
            "value": {"kernel": rnd(D, L, nkv, hd)}, "out": {"kernel": rnd(nh, L, hd, D)},
            "query_norm": {"scale": rnd(hd, L)}, "key_norm": {"scale": rnd(hd, L)}}
    tpa = min(tp, nkv)

    @jax.jit
    def attn_compute(attn):
        q = jnp.transpose(attn["query"]["kernel"], (1, 0, 2, 3))
        k = jnp.transpose(attn["key"]["kernel"], (1, 0, 2, 3))
        v = jnp.transpose(attn["value"]["kernel"], (1, 0, 2, 3))
        nq, nk_, hd_ = q.shape[2], k.shape[2], q.shape[3]
        nl, dm = q.shape[0], q.shape[1]
        qb = q.reshape(nl, dm, tpa, nq // tpa, hd_)
        kb = k.reshape(nl, dm, tpa, nk_ // tpa, hd_)
        vb = v.reshape(nl, dm, tpa, nk_ // tpa, hd_)
        qkv = jnp.concatenate([qb, kb, vb], axis=3).reshape(nl, dm, -1)
        qkv_proj = jnp.transpose(qkv, (0, 2, 1))
        o = jnp.transpose(attn["out"]["kernel"], (1, 3, 0, 2))
        o_proj = o.reshape(o.shape[0], o.shape[1], -1)
        return jnp.unstack(qkv_proj), jnp.unstack(o_proj)

    report("maxtext-attn-tp4", timed(lambda: attn_compute(attn)))
    del attn

    wi0, wi1 = rnd(E, L, D, Im), rnd(E, L, D, Im)

    @jax.jit
    def fuse_all(wi_0, wi_1):
        wi_0 = jnp.transpose(wi_0, (1, 0, 2, 3))
        wi_1 = jnp.transpose(wi_1, (1, 0, 2, 3))

        def fuse_single(w0, w1):
            w0 = jnp.transpose(w0, (0, 2, 1))
            w1 = jnp.transpose(w1, (0, 2, 1))
            ne, di, dm = w0.shape
            chunk = di // tp
            padded = (chunk + 127) // 128 * 128
            g = w0.reshape(ne, tp, chunk, dm)
            u = w1.reshape(ne, tp, chunk, dm)
            if padded > chunk:
                g = jnp.pad(g, ((0, 0), (0, 0), (0, padded - chunk), (0, 0)))
                u = jnp.pad(u, ((0, 0), (0, 0), (0, padded - chunk), (0, 0)))
            return jnp.stack([g, u], axis=2).reshape(ne, 2 * padded * tp, dm)

        return jax.vmap(fuse_single)(wi_0, wi_1)

    def w13():
        fused = fuse_all(wi0, wi1)
        return [jnp.transpose(l, (0, 2, 1)) for l in jnp.unstack(fused, axis=0)]

    report("maxtext-w13-tp4", timed(w13, runs=10))

print("peers done:", framework, flush=True)

"""vLLM's Qwen3 `load_weights`, written against weight_layout, in its two
forms: the streaming one vLLM calls with (name, tensor) pairs, and the one
that reads the checkpoint from disk itself (only this rank's bytes, onto
the GPU when there is one).

vLLM's Qwen3ForCausalLM fills its fused parameters shard by shard through
per-parameter weight_loaders (docs/embedding.md, "A load_weights, before
and after"). Here the model is a module with vLLM's parameter names and
shapes for rank RANK of TP (from vLLM's own rules below, not from the
plan), and both forms are compared, parameter by parameter and bit for bit,
with those rules (QKVParallelLinear, MergedColumnParallelLinear,
RowParallelLinear, VocabParallelEmbedding) applied to the whole checkpoint.
vLLM itself is not imported: its model class needs a distributed runtime.

  PYTHONPATH=build/python /usr/bin/python3 examples/vllm_qwen3_load_weights.py [CHECKPOINT]

Skips (exit 0, "SKIP: ...") when ../shared/checkpoints is absent.
"""
import json
import os
import sys

import torch
import weight_layout as wl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from embed_load_vllm_tp2_rank1 import CKPT, vllm_rule  # noqa: E402

TP, RANK = 2, 1


class Qwen3ForCausalLM(torch.nn.Module):
    """vLLM's parameters of one rank (names and shapes only)."""

    def __init__(self, config, tp, rank, shapes, device):
        super().__init__()
        self.config, self.tp, self.rank = config, tp, rank
        for name, shape in shapes.items():
            p = torch.nn.Parameter(torch.empty(shape, dtype=torch.bfloat16,
                                               device=device),
                                   requires_grad=False)
            self.register_parameter(name.replace(".", "__"), p)

    def params(self):
        return {n.replace("__", "."): p for n, p in self.named_parameters()}

    # vLLM calls this with an iterator of (name, tensor) from its reader.
    def load_weights(self, weights):
        plan = wl.compile("qwen3/hf-to-vllm", self.config, tp=self.tp,
                          rank=self.rank)
        return plan.load(weights, self.params())

    # Or the model reads the checkpoint itself: only this rank's bytes.
    def load_checkpoint(self, path):
        wl.load_checkpoint(path, "qwen3/hf-to-vllm", config=self.config,
                           tp=self.tp, rank=self.rank,
                           device=next(self.parameters()).device,
                           into=self.params())


def main():
    if not os.path.exists(os.path.join(CKPT, "model.safetensors")):
        print("SKIP: no checkpoint at %s (../shared/checkpoints is absent)"
              % CKPT)
        return 0
    with open(os.path.join(CKPT, "config.json")) as f:
        cfg = json.load(f)
    whole, _ = wl.read_safetensors(CKPT)
    want = vllm_rule(whole, cfg, TP, RANK)
    device = "cuda" if torch.cuda.is_available() else "cpu"

    streamed = Qwen3ForCausalLM(cfg, TP, RANK, {n: w.shape for n, w in
                                                want.items()}, device)
    loaded = streamed.load_weights(iter(sorted(whole.items())))
    assert loaded == set(want), sorted(set(want) ^ loaded)

    read = Qwen3ForCausalLM(cfg, TP, RANK, {n: w.shape for n, w in
                                            want.items()}, device)
    read.load_checkpoint(CKPT)
    st = wl.last_load_stats()

    for model in (streamed, read):
        got = model.params()
        for n, w in want.items():
            assert torch.equal(got[n].cpu().view(torch.int16),
                               w.view(torch.int16)), n
    print("rank %d of tp %d on %s: %d parameters match vLLM's rules bit for "
          "bit, streamed (load_weights) and read from disk (%d of %d bytes "
          "read, executor %s)" % (
              RANK, TP, device, len(want), st["bytes_read"],
              sum(t.numel() * t.element_size() for t in whole.values()),
              st["executor"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

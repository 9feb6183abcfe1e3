#!/usr/bin/env bash
# Every mapping of mappings/ on the real tiny checkpoints (../shared), through
# weight-layout-convert: forward at each degree with --verify, back with
# --reverse --verify, and weight-layout-diff against the original.
# usage: all-mappings.sh BINDIR SRCDIR CHECKPOINTS WORKDIR
set -u
bin=$1 src=$2 ck=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
n=0
check() { # spec checkpoint options...
  local spec=$1 from=$2; shift 2
  local tag="$spec $*"
  local out="$work/$n" back="$work/$n.back"
  n=$((n + 1))
  if ! "$bin/weight-layout-convert" --mapping "$src/mappings/$spec" --from "$from" --to "$out" --verify --quiet "$@" 2>"$work/err"; then
    echo "$tag: forward FAILED: $(head -3 "$work/err")"; return
  fi
  if ! "$bin/weight-layout-convert" --mapping "$src/mappings/$spec" --from "$out" --to "$back" --reverse --verify --quiet "$@" 2>"$work/err"; then
    echo "$tag: reverse FAILED: $(head -3 "$work/err")"; return
  fi
  if "$bin/weight-layout-diff" "$from" "$back" --quiet >"$work/err"; then
    echo "$tag: ok"
  else
    echo "$tag: round trip DIFFERS: $(head -3 "$work/err")"
  fi
  rm -rf "$out" "$back"
}
for tp in 1 2 4; do check qwen3/hf-to-vllm.json "$ck/hf/qwen3" --tp $tp; done
for d in "--tp 1" "--tp 2" "--tp 2 --pp 2"; do check qwen3/hf-to-megatron.json "$ck/hf/qwen3" $d; done
for d in "--tp 1" "--tp 2" "--tp 4" "--tp 2 --ep 2" "--tp 4 --ep 4" "--tp 2 --dp 2" "--tp 1 --dp 3 --ep 3"; do check qwen3_moe/hf-to-vllm.json "$ck/hf/qwen3_moe" $d; done
for d in "--tp 1" "--tp 2" "--tp 2 --dp 2 --ep 2 --pp 2" "--tp 2 --ep 2 --etp 1"; do check qwen3_moe/hf-to-megatron.json "$ck/hf/qwen3_moe" $d; done
check qwen3_moe/hf-to-transformers.json "$ck/hf/qwen3_moe"
check qwen3_moe/hf-to-maxtext.json "$ck/hf/qwen3_moe"
for r in 1 2 4; do check qwen3_moe/maxtext-to-vllm-tpu.json "$ck/maxtext" --set rollout_tp=$r; done
for tp in 1 2 4; do check qwen3_5/hf-to-vllm.json "$ck/hf/qwen3_5" --tp $tp; done
for d in "--tp 1" "--tp 2" "--tp 4" "--tp 2 --ep 2"; do check qwen3_5_moe/hf-to-vllm.json "$ck/hf/qwen3_5_moe" $d; done
for d in "--tp 1" "--tp 2" "--tp 4" "--tp 2 --set qkvz_form=1"; do check qwen3_next/hf-to-vllm.json "$ck/hf/qwen3_next" $d; done
for tp in 1 2 4; do check qwen3_5/hf-to-fastdeploy.json "$ck/hf/qwen3_5" --tp $tp --set norm_offset=0; done
for d in "--tp 1" "--tp 2 --dp 2 --ep 2"; do check qwen3_next/hf-to-megatron.json "$ck/hf/qwen3_next" $d --set out_norm_offset=0; done
for d in "--tp 1" "--tp 2 --pp 2"; do check qwen3_5/hf-to-megatron.json "$ck/hf/qwen3_5" $d --set out_norm_offset=0; done
check qwen3_5_moe/hf-to-megatron.json "$ck/hf/qwen3_5_moe" --tp 2 --dp 2 --ep 2 --set out_norm_offset=0
# The families written from transformers' code (../shared/README.md).
for tp in 1 2 4; do check llama/hf-to-vllm.json "$ck/hf/llama" --tp $tp; done
for d in "--tp 1" "--tp 2 --pp 2"; do check llama/hf-to-megatron.json "$ck/hf/llama" $d; done
for d in "--tp 1" "--tp 2" "--tp 2 --ep 2"; do check glm4_moe/hf-to-vllm.json "$ck/hf/glm4_moe" $d; done
for d in "--tp 1" "--tp 2 --dp 2 --ep 2"; do check glm4_moe/hf-to-megatron.json "$ck/hf/glm4_moe" $d; done
for d in "--tp 1" "--tp 2" "--tp 2 --ep 2" "--tp 2 --dp 2"; do check gpt_oss/hf-to-vllm.json "$ck/hf/gpt_oss" $d; done
for d in "--tp 1" "--tp 2 --etp 1" "--tp 2 --ep 2 --etp 1 --pp 2"; do check gpt_oss/hf-to-megatron.json "$ck/hf/gpt_oss" $d; done
check gpt_oss/hf-to-transformers.json "$ck/hf/gpt_oss"
echo "checked $n conversions"

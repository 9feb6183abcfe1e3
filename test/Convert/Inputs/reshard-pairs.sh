#!/usr/bin/env bash
# On-disk reshards between the library's mappings at several degree pairs:
# a checkpoint is converted with mapping A, the A folder is resharded to
# mapping B (weight-layout-convert --from A-folder --mapping B, --verify),
# and the result must be the same bytes, file for file, as the two-step
# route through Hugging Face (A --reverse, then B forward).
# usage: reshard-pairs.sh BINDIR SRCDIR CONFIGDIR WORKDIR
set -u
bin=$1 src=$2 configs=$3 work=$4
rm -rf "$work" && mkdir -p "$work"
conv="$bin/weight-layout-convert"
n=0
gen() { # model: a generated Hugging Face checkpoint of its test config
  "$bin/weight-layout-gen" --config "$configs/$1-config.json" --to "$work/$1" --quiet
}
pair() { # model specA "optionsA" specB "optionsB"
  local model=$1 a=$2 oa=$3 b=$4 ob=$5
  local tag="$model: $a $oa -> $b $ob" d="$work/$n"
  n=$((n + 1))
  mkdir -p "$d"
  # shellcheck disable=SC2086
  if ! "$conv" -q --mapping "$model/$a" --from "$work/$model" --to "$d/A" $oa 2>"$d/err"; then
    echo "$tag: A FAILED: $(head -3 "$d/err")"; return
  fi
  # shellcheck disable=SC2086
  if ! "$conv" -q --verify --mapping "$model/$b" --from "$d/A" --to "$d/B" $ob 2>"$d/err"; then
    echo "$tag: reshard FAILED: $(head -3 "$d/err")"; return
  fi
  # shellcheck disable=SC2086
  if ! "$conv" -q --reverse --mapping "$model/$a" --from "$d/A" --to "$d/hf" 2>"$d/err" ||
     ! "$conv" -q --mapping "$model/$b" --from "$d/hf" --to "$d/B2" $ob 2>"$d/err"; then
    echo "$tag: two-step FAILED: $(head -3 "$d/err")"; return
  fi
  if diff -r "$d/B" "$d/B2" >"$d/err"; then
    echo "$tag: ok"
  else
    echo "$tag: DIFFERS from the two-step route: $(head -3 "$d/err")"
  fi
  rm -rf "$d"
}
for m in qwen3 qwen3_moe qwen3_5; do gen $m || echo "$m: gen FAILED"; done
# Same framework, TP shrinks and grows; PP changes.
pair qwen3 hf-to-vllm.json "--tp 4" hf-to-vllm.json "--tp 2"
pair qwen3 hf-to-vllm.json "--tp 1" hf-to-vllm.json "--tp 4"
pair qwen3 hf-to-megatron.json "--tp 2" hf-to-megatron.json "--tp 1 --pp 2"
pair qwen3 hf-to-megatron.json "--tp 2 --pp 2" hf-to-megatron.json "--tp 1 --dp 2"
# Across frameworks, both ways.
pair qwen3 hf-to-megatron.json "--tp 2 --pp 2" hf-to-vllm.json "--tp 4"
pair qwen3 hf-to-vllm.json "--tp 4" hf-to-megatron.json "--tp 2 --pp 2"
# Experts: Megatron EP x ETP folds to vLLM's TP and EP groups and back.
pair qwen3_moe hf-to-megatron.json "--tp 2 --ep 2 --etp 1" hf-to-vllm.json "--tp 4"
pair qwen3_moe hf-to-megatron.json "--tp 2 --dp 2 --ep 2 --etp 2" hf-to-vllm.json "--tp 2 --ep 2"
pair qwen3_moe hf-to-megatron.json "--tp 2 --ep 2 --etp 1" hf-to-megatron.json "--tp 2 --dp 2 --ep 2 --etp 2"
pair qwen3_moe hf-to-vllm.json "--tp 4 --ep 4" hf-to-megatron.json "--tp 2 --dp 2 --ep 2 --pp 2"
pair qwen3_moe hf-to-vllm.json "--tp 2 --dp 2 --ep 4" hf-to-vllm.json "--tp 4"
pair qwen3_moe hf-to-vllm.json "--tp 4" hf-to-vllm.json "--tp 1 --dp 3 --ep 3"
# MaxText's scanned tree (stacked layers, [in, out] kernels) to vLLM.
pair qwen3_moe hf-to-maxtext.json "" hf-to-vllm.json "--tp 4 --ep 4"
pair qwen3_moe hf-to-vllm.json "--tp 2" hf-to-maxtext.json ""
# Qwen3.5: gated delta net in_proj splits, Megatron's w - 1 norms undone.
pair qwen3_5 hf-to-megatron.json "--tp 2 --pp 2" hf-to-vllm.json "--tp 4"
pair qwen3_5 hf-to-vllm.json "--tp 4" hf-to-megatron.json "--tp 2"
pair qwen3_5 hf-to-vllm.json "--tp 2" hf-to-fastdeploy.json "--tp 4"
pair qwen3_5 hf-to-fastdeploy.json "--tp 4 --set norm_offset=0" hf-to-vllm.json "--tp 1"
echo "checked $n reshards"

#!/usr/bin/env bash
# MXFP4 on the CPU, in one run beside cp: dequantizing gpt-oss-20b-shaped
# layers (32 experts, hidden 2880, intermediate 2880, 64 query heads and 8
# KV heads of 64, a 1024 vocabulary so that the experts are nearly all the
# bytes) from their MXFP4 pairs (random codes and scales,
# test/Convert/Inputs/mxfp4.py make) to bf16 with gpt_oss/hf-to-transformers
# (--dtype bf16: transformers' [E, in, out] from [E, out, in] blocks),
# against `cp -r` of the bf16 folder it writes; with the default fsync
# (against cp -r; sync) and with --no-fsync (against cp -r).
#
# usage: bench/quant/mxfp4_cpu.sh [LAYERS] [WORKDIR]  (default 2, /tmp/wl-mxfp4)
set -euo pipefail
layers=${1:-2}
work=${2:-/tmp/wl-mxfp4}
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${WL_BIN:-$src/build/bin}
py=${PYTHON:-/usr/bin/python3}
spec=$src/mappings/gpt_oss/hf-to-transformers.json
mkdir -p "$work"
types=$(for ((l = 0; l < layers; ++l)); do printf '"%s"' \
  "$([ $((l % 2)) = 0 ] && echo sliding_attention || echo full_attention)"; done | sed 's/""/", "/g')
cat > "$work/config.json" <<JSON
{"architectures": ["GptOssForCausalLM"], "model_type": "gpt_oss", "dtype": "bfloat16",
 "attention_bias": true, "hidden_size": 2880, "intermediate_size": 2880, "head_dim": 64,
 "num_attention_heads": 64, "num_key_value_heads": 8, "num_hidden_layers": $layers,
 "num_local_experts": 32, "num_experts_per_tok": 4, "layer_types": [$types],
 "rms_norm_eps": 1e-05, "sliding_window": 128, "tie_word_embeddings": false,
 "vocab_size": 1024}
JSON
if [ ! -d "$work/mx-$layers" ]; then
  "$bin/weight-layout-gen" --config "$work/config.json" --mapping "$spec" --to "$work/bf16-$layers" --quiet
  "$py" "$src/test/Convert/Inputs/mxfp4.py" make "$work/bf16-$layers" "$work/mx-$layers"
  rm -rf "$work/bf16-$layers"
fi
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
fresh() { rm -rf "$work/out" "$work/copy"; sync; }
gb() { du -sb "$1" | awk '{printf "%.2f", $1 / 1e9}'; }
lscpu | sed -n 's/^Model name: *//p'; nproc
echo "MXFP4 input: $(gb "$work/mx-$layers") GB"
for fsync in "" --no-fsync; do
  s=$([ -z "$fsync" ] && echo "; sync" || echo "")
  fresh; dq=$(secs "$bin/weight-layout-convert" --mapping "$spec" --from "$work/mx-$layers" --to "$work/out" --dtype bf16 --quiet $fsync)
  out=$(gb "$work/out")
  rm -rf "$work/copy"; sync; cpo=$(secs sh -c "cp -r '$work/out' '$work/copy'$s")
  echo "${fsync:-fsync}: dequantize $out GB written in $dq s, cp -r$s of it $cpo s: $(echo "scale=2; $cpo / $dq" | bc)x cp"
done
fresh

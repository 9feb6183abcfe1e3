#!/usr/bin/env bash
# Block FP8 on the CPU, in one run beside cp: dequantizing an FP8
# checkpoint to bf16 (--dtype bf16) against `cp -r` of the bf16 output it
# writes, and quantizing the bf16 checkpoint (--quantize fp8) against `cp -r`
# of its input; each with the default fsync (against cp -r; sync) and
# with --no-fsync (against cp -r). Qwen3-8B-sized layers (hidden 4096,
# 32 heads of 128, 8 KV heads, intermediate 12288), a small vocabulary so
# that the Linear weights are nearly all the bytes, blocks of 128x128.
# Mapping qwen3/hf-to-vllm at tp 1 (qkv and gate/up fused).
#
# usage: bench/quant/cpu.sh [LAYERS] [WORKDIR]    (default 8, /tmp/wl-quant)
set -euo pipefail
layers=${1:-8}
work=${2:-/tmp/wl-quant}
src=$(cd "$(dirname "$0")/../.." && pwd)
bin=${WL_BIN:-$src/build/bin}
py=${PYTHON:-/usr/bin/python3}
spec=$src/mappings/qwen3/hf-to-vllm.json
mkdir -p "$work"
cat > "$work/config.json" <<JSON
{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "dtype": "bfloat16",
 "hidden_size": 4096, "intermediate_size": 12288, "head_dim": 128,
 "num_attention_heads": 32, "num_key_value_heads": 8, "num_hidden_layers": $layers,
 "rms_norm_eps": 1e-06, "tie_word_embeddings": false, "vocab_size": 4096,
 "rope_parameters": {"rope_theta": 1000000.0, "rope_type": "default"}}
JSON
if [ ! -d "$work/bf16-$layers" ]; then
  "$bin/weight-layout-gen" --config "$work/config.json" --to "$work/bf16-$layers" --quiet
  "$py" "$src/bench/quant/make_fp8.py" "$work/bf16-$layers" "$work/fp8-$layers" 128
fi
secs() { local t0 t1; t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N); echo "$t1 - $t0" | bc; }
fresh() { rm -rf "$work/out" "$work/copy"; sync; }
gb() { du -sb "$1" | awk '{printf "%.2f", $1 / 1e9}'; }
lscpu | sed -n 's/^Model name: *//p'; nproc
for fsync in "" --no-fsync; do
  s=$([ -z "$fsync" ] && echo "; sync" || echo "")
  fresh; dq=$(secs "$bin/weight-layout-convert" --mapping "$spec" --from "$work/fp8-$layers" --to "$work/out" --dtype bf16 --quiet $fsync)
  out=$(gb "$work/out")
  rm -rf "$work/copy"; sync; cpo=$(secs sh -c "cp -r '$work/out' '$work/copy'$s")
  fresh; qt=$(secs "$bin/weight-layout-convert" --mapping "$spec" --from "$work/bf16-$layers" --to "$work/out" --quantize fp8 --quiet $fsync)
  fresh; cpi=$(secs sh -c "cp -r '$work/bf16-$layers' '$work/copy'$s")
  echo "${fsync:-fsync}: dequantize $out GB written in $dq s, cp -r$s of it $cpo s: $(echo "scale=2; $cpo / $dq" | bc)x cp"
  echo "${fsync:-fsync}: quantize $(gb "$work/bf16-$layers") GB read in $qt s, cp -r$s of it $cpi s: $(echo "scale=2; $cpi / $qt" | bc)x cp"
done
fresh

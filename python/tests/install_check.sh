#!/usr/bin/env bash
# The README's way to install the Python package, checked end to end: a
# wheel built from this checkout (reusing the CMake build BUILD), installed
# into a fresh virtual environment without the network, imported from
# outside the source tree, compiling a mapping by its library name from the
# mappings packed in the wheel, running it, and reporting the wheel's size.
#   python/tests/install_check.sh BUILD [PYTHON]
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$1" && pwd)
py=${2:-/usr/bin/python3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$src"
WL_BUILD_DIR=$build "$py" -m pip wheel -q --no-build-isolation --no-deps \
  -w "$work/dist" . >"$work/pip.log" 2>&1 || { cat "$work/pip.log"; exit 1; }
wheel=$(ls "$work"/dist/weight_layout-*-py3-none-*.whl)
"$py" -m venv --system-site-packages "$work/env"
"$work/env/bin/python" -m pip install -q --no-index --no-deps "$wheel"
cd "$work"
env -u WL_MAPPINGS_PATH -u PYTHONPATH -u WL_LIBRARY "$work/env/bin/python" - "$wheel" <<'PY'
import os, sys
import weight_layout as wl
pkg = os.path.dirname(wl.__file__)
assert pkg.startswith(os.path.dirname(os.path.dirname(sys.executable))), pkg
assert wl.mapping_search_path()[0] == os.path.join(pkg, "mappings"), \
    wl.mapping_search_path()
cfg = {"model_type": "qwen3", "hidden_size": 64, "num_attention_heads": 4,
       "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128,
       "vocab_size": 256, "num_hidden_layers": 1, "tie_word_embeddings": False,
       "torch_dtype": "bfloat16", "rms_norm_eps": 1e-6}
plan = wl.compile("qwen3/hf-to-vllm", cfg, tp=2, rank=1, dtype="I32")
import numpy as np
src = {s.name: np.full(s.shape, i, dtype=np.int32)
       for i, s in enumerate(plan.sources)}
out = plan.run(src)
assert len(out) == len(plan.targets)
so = os.path.join(pkg, "libweight-layout.so")
print("installed %s: weight_layout %s, libweight-layout.so %.1f MiB, "
      "wheel %.1f MiB; compiled and ran %r" % (
          os.path.basename(sys.argv[1]), wl.__version__,
          os.path.getsize(so) / 2**20, os.path.getsize(sys.argv[1]) / 2**20,
          plan))
PY

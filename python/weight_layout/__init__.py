"""weight_layout: model-weight layout mappings compiled and run in-process.

A loader names a mapping instead of hand-writing cat/chunk/narrow code::

    import weight_layout as wl
    plan = wl.compile("qwen3/hf-to-vllm", hf_config, tp=2, rank=1)
    plan.load(weights, dict(model.named_parameters()))   # vLLM load_weights
    hf = wl.compile("qwen3_5/hf-to-vllm", cfg, reverse=True).run(vllm_params)

See docs/embedding.md. The package is Python over libweight-layout's C API
(ctypes): no compiled extension, so one build serves every Python 3 and
every PyTorch (or NumPy alone). Errors in a mapping, a config, an option or
a tensor raise ValueError with one message naming it; failures of the work
itself (CUDA, I/O) raise RuntimeError.
"""

from . import _native as N
from ._checkpoint import (checkpoint_tensors, last_load_stats,
                          load_checkpoint, read_safetensors)
from ._plan import (ALL_RANKS, BoundRun, Loader, Plan, TensorSpec, cache_stats,
                    clear_cache, compile, cuda_executor, from_json,
                    last_run_stats, mapping_search_path)
from ._reshard import Reshard, reshard

__all__ = [
    "ALL_RANKS", "Plan", "BoundRun", "Loader", "TensorSpec", "compile", "from_json",
    "read_safetensors", "cache_stats", "clear_cache", "last_run_stats",
    "mapping_search_path", "cuda_executor", "checkpoint_tensors",
    "load_checkpoint", "last_load_stats", "reshard", "Reshard",
    "__version__",
]

__version__ = N.version

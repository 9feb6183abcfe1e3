"""weight_layout: model-weight layout mappings compiled and run in-process.

A loader names a mapping instead of hand-writing cat/chunk/narrow code::

    import weight_layout as wl
    plan = wl.compile("qwen3/hf-to-vllm", hf_config, tp=2, rank=1)
    plan.load(weights, dict(model.named_parameters()))   # vLLM load_weights
    hf = wl.compile("qwen3_5/hf-to-vllm", cfg, reverse=True).run(vllm_params)

See docs/embedding.md. Errors in a mapping, a config, an option or a tensor
raise ValueError with one message naming it; failures of the work itself
(CUDA) raise RuntimeError.
"""

import collections.abc
import json
import os
import warnings

import torch  # before _C: the extension links libtorch

from . import _C

__all__ = [
    "ALL_RANKS", "Plan", "Loader", "TensorSpec", "compile", "from_json",
    "read_safetensors", "cache_stats", "clear_cache", "last_run_stats",
    "mapping_search_path", "cuda_executor",
]

ALL_RANKS = "all"

# safetensors dtype names <-> torch dtypes (those this torch has).
_DTYPES = {}
for _name, _attr in [
    ("BF16", "bfloat16"), ("F16", "float16"), ("F32", "float32"),
    ("F64", "float64"), ("BOOL", "bool"), ("I8", "int8"), ("I16", "int16"),
    ("I32", "int32"), ("I64", "int64"), ("U8", "uint8"), ("U16", "uint16"),
    ("U32", "uint32"), ("U64", "uint64"), ("F8_E4M3", "float8_e4m3fn"),
    ("F8_E5M2", "float8_e5m2"),
]:
    if hasattr(torch, _attr):
        _DTYPES[_name] = getattr(torch, _attr)
_TORCH_TO_NAME = {v: k for k, v in _DTYPES.items()}


class TensorSpec(collections.namedtuple("TensorSpec", "name dtype shape")):
    """A plan tensor: name, dtype (a torch.dtype where torch has it, else the
    safetensors name), shape (a tuple)."""


def _spec(t):
    name, dtype, shape = t
    return TensorSpec(name, _DTYPES.get(dtype, dtype), tuple(shape))


def _config_arg(config):
    if isinstance(config, collections.abc.Mapping):
        return json.dumps(dict(config), default=str)
    if hasattr(config, "to_dict"):  # transformers.PretrainedConfig
        return json.dumps(config.to_dict(), default=str)
    if isinstance(config, (str, os.PathLike)):
        return os.fspath(config)
    raise TypeError("config: expected a path, a folder with config.json, "
                    "JSON text, a dict or a transformers config, not %s"
                    % type(config).__name__)


def _mapping_arg(mapping):
    if isinstance(mapping, collections.abc.Mapping):
        return json.dumps(dict(mapping))
    if isinstance(mapping, (str, os.PathLike)):
        return os.fspath(mapping)
    raise TypeError("mapping: expected a spec path, a library name such as "
                    "'qwen3/hf-to-vllm', spec JSON text or a dict, not %s"
                    % type(mapping).__name__)


def _dtype_arg(dtype):
    if dtype is None:
        return ""
    if isinstance(dtype, torch.dtype):
        if dtype not in _TORCH_TO_NAME:
            raise ValueError("dtype %s has no plan dtype" % dtype)
        return _TORCH_TO_NAME[dtype]
    return str(dtype)


def compile(mapping, config, *, rank=0, dtype=None, reverse=False,
            exact=False, spec_dir=None, **options):
    """Compiles a mapping to the plan of one rank (cached by a hash of the
    inputs: the second call with the same spec, config and options, for any
    rank, does no compiler work).

    mapping: a spec path, a library name ('qwen3/hf-to-vllm', searched in
        $WL_MAPPINGS_PATH, then the source tree's mappings/), spec JSON text
        or a dict (includes relative to spec_dir).
    config: a config.json path or its folder, JSON text, a dict, or a
        transformers config.
    rank: (pp_rank * ep + ep_rank) * tp + tp_rank, or "all" for every rank
        in one plan (targets 'rank-<r>/<name>' when there are several).
    dtype: the tensors' dtype (a torch.dtype or 'bf16', 'F32', ...); None:
        the config's.
    reverse: the way back, from every rank's tensors to the checkpoint's.
    exact: with reverse, refuse a way back that rounds.
    options: tp, ep, pp and the spec's own integer options.
    """
    opts = {}
    for k, v in options.items():
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int):
            raise TypeError("option %s=%r: expected an integer" % (k, v))
        opts[k] = v
    if rank == ALL_RANKS or rank is None:
        rank = _C.ALL_RANKS
    elif not isinstance(rank, int):
        raise TypeError("rank: expected an integer or 'all', not %r" % (rank,))
    c = _C.compile(_mapping_arg(mapping), _config_arg(config), opts,
                   rank=rank, dtype=_dtype_arg(dtype), reverse=bool(reverse),
                   exact=bool(exact),
                   spec_base_dir=os.fspath(spec_dir) if spec_dir else "")
    return Plan(c)


def from_json(text):
    """A plan in the JSON format of docs/plan-format.md."""
    return Plan(_C.Plan.from_json(text))


def _as_tensor(x, name):
    if isinstance(x, torch.Tensor):
        return x
    if hasattr(x, "__dlpack__") or type(x).__name__ == "PyCapsule":
        try:
            return torch.utils.dlpack.from_dlpack(x)
        except Exception as e:  # e.g. read-only numpy arrays
            if type(x).__module__ == "numpy":
                # Sources are only read: a read-only array is fine.
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    return torch.from_numpy(x)
            raise ValueError("tensor '%s': cannot take it through DLPack: %s"
                             % (name, e)) from e
    if type(x).__module__ == "numpy":
        return torch.from_numpy(x)
    raise TypeError("tensor '%s': expected a torch.Tensor or an object with "
                    "__dlpack__, not %s" % (name, type(x).__name__))


def _tensor_dict(tensors, what):
    if isinstance(tensors, collections.abc.Mapping):
        items = tensors.items()
    else:
        items = tensors
    out = {}
    for item in items:
        try:
            name, t = item
        except (TypeError, ValueError):
            raise TypeError("%s: expected a dict of name -> tensor or pairs "
                            "(name, tensor)" % what) from None
        out[name] = _as_tensor(t, name)
    return out


def _stream_of(tensors):
    """The current CUDA stream of the tensors' device (0: none)."""
    for t in tensors:
        if t.is_cuda:
            return torch.cuda.current_stream(t.device).cuda_stream
    return 0


class Loader:
    """A streaming load: feed(name, tensor) runs the pieces reading that
    tensor into the destinations; finish() checks that every source came."""

    def __init__(self, native, destinations):
        self._c = native
        self._dst = destinations  # kept alive

    def feed(self, name, tensor):
        """Returns False for a tensor this plan does not read (another
        rank's, or one the spec drops)."""
        return self._c.feed(name, _as_tensor(tensor, name))

    def missing(self):
        return self._c.missing()

    def finish(self, strict=True):
        """Returns {'loaded': set of targets, 'ignored': [...], 'unknown':
        [...], 'bytes_written': n}. Raises ValueError when a source never
        came, or (strict) when a fed name is unknown to the mapping."""
        report = self._c.finish()
        if strict and report["unknown"]:
            names = report["unknown"]
            raise ValueError(
                "%d fed tensor(s) are unknown to the mapping (read by no "
                "rank, not dropped by the spec): %s%s" % (
                    len(names), ", ".join("'%s'" % n for n in names[:5]),
                    " (and %d more)" % (len(names) - 5) if len(names) > 5
                    else ""))
        return report


class Plan:
    """A compiled plan (one rank's, every rank's, or the way back)."""

    def __init__(self, native):
        self._c = native

    @property
    def sources(self):
        """The tensors the plan reads: [TensorSpec(name, dtype, shape)]."""
        return [_spec(t) for t in self._c.sources()]

    @property
    def targets(self):
        """The tensors the plan writes."""
        return [_spec(t) for t in self._c.targets()]

    @property
    def hash(self):
        return self._c.hash()

    def describe(self):
        """Pieces, bytes, aliases (targets that run() returns as views:
        {target: (source, element offset)}), dropped tensors; 'text' is a
        readable summary."""
        return self._c.describe()

    def source_ranges(self):
        """{source: [(begin, end), ...]}: the flat element intervals the
        plan reads, sorted and merged (what a loader must fetch)."""
        return self._c.source_ranges()

    def to_json(self, indent=1):
        return self._c.to_json(indent)

    def inverse(self, *, exact=False):
        """The way back: for one rank of one (or rank='all') the mapping's
        reverse plan; for a reverse plan every rank's forward plan."""
        return Plan(self._c.inverse(exact))

    def run(self, tensors, *, views=True, threads=0):
        """Runs the plan on {name: tensor} (names it does not read are
        ignored) and returns {target: tensor}. Aliased targets are views of
        their source (views=False: copies); the others are new tensors on
        the sources' device."""
        src = _tensor_dict(tensors, "tensors")
        stream = _stream_of(src.values())
        return self._c.run(src, views=views, stream=stream,
                           stream_is_current=bool(stream), threads=threads)

    def run_into(self, sources, destinations, *, threads=0):
        """Writes every target into destinations[name] (existing tensors,
        e.g. parameters or slices of fused parameters), in place."""
        src = _tensor_dict(sources, "sources")
        dst = _tensor_dict(destinations, "destinations")
        stream = _stream_of(list(src.values()) + list(dst.values()))
        self._c.run_into(src, dst, stream=stream,
                         stream_is_current=bool(stream), threads=threads)

    def loader(self, destinations, *, threads=0):
        dst = _tensor_dict(destinations, "destinations")
        stream = _stream_of(dst.values())
        return Loader(self._c.loader(dst, stream=stream,
                                     stream_is_current=bool(stream),
                                     threads=threads), dst)

    def load(self, weights, destinations, *, strict=True, threads=0):
        """vLLM's load_weights in one call: streams (name, tensor) pairs (or
        a dict) into the destinations (a dict such as
        dict(model.named_parameters()) holding every target; extra entries
        are ignored) and returns the set of target names loaded. Tensors
        the plan does not read are skipped; with strict, a name the mapping
        does not know at all raises ValueError, as does a missing source."""
        targets = {t.name for t in self.targets}
        dst = {k: v for k, v in _tensor_dict(destinations, "destinations")
               .items() if k in targets}
        ld = self.loader(dst, threads=threads)
        items = weights.items() if isinstance(
            weights, collections.abc.Mapping) else weights
        for name, t in items:
            ld.feed(name, t)
        return ld.finish(strict=strict)["loaded"]

    def __repr__(self):
        d = self.describe()
        where = ("every rank" if d["rank"] == "all" else
                 "the way back" if d["reverse"] else "rank %s" % d["rank"])
        head = ("%s %s->%s tp=%d ep=%d pp=%d, %s" % (
            d["model_type"], d["from"], d["to"], d["tp"], d["ep"], d["pp"],
            where) if d["from"] else "from JSON")
        return "<weight_layout.Plan %s: %d sources, %d targets, %d pieces>" % (
            head, d["sources"], d["targets"], d["pieces"])


def last_run_stats():
    """What the last run on this thread did: executor ('cpu', 'cuda',
    'cuda-via-host'), pieces, bytes, views, copies."""
    return _C.last_run_stats()


def cache_stats():
    return _C.cache_stats()


def clear_cache():
    _C.clear_cache()


def mapping_search_path():
    return _C.mapping_search_path()


def cuda_executor():
    """(built, reason): whether this build has the CUDA executor."""
    return _C.cuda_executor()


# --- safetensors, read by ranges ------------------------------------------


def read_safetensors(path, names=None, ranges=None):
    """Reads tensors of a safetensors file (or a checkpoint folder) with
    pread, without mapping the file: every byte that comes back was read.

    names: the tensors to read (None: all). ranges: {name: [(begin, end)]}
    flat element intervals (Plan.source_ranges()): only those elements are
    read; the rest of each tensor is left uninitialized (a plan with those
    ranges never reads it). Returns (tensors, stats) with stats
    {'bytes_read', 'bytes_total', 'reads'}: bytes_total counts the bytes of
    the tensors asked for.
    """
    want = None
    if names is not None:
        want = set(names)
    elif ranges is not None:
        want = set(ranges)
    out, stats = {}, {"bytes_read": 0, "bytes_total": 0, "reads": 0}
    # Headers, index and files as the validated reader accepts them
    # (docs/safetensors.md): every offset and size checked, no FIFO waited
    # on, no file outside the checkpoint's folder.
    by_file = {}
    for file, name, dtype, shape, offset, nbytes in _C.checkpoint_tensors(
            os.fspath(path)):
        if want is None or name in want:
            by_file.setdefault(file, []).append(
                (name, dtype, shape, offset, nbytes))
    for file, entries in by_file.items():
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            for name, dtype_name, shape, offset, nbytes in entries:
                dtype = _DTYPES.get(dtype_name)
                if dtype is None:
                    raise ValueError("tensor %r: dtype %s has no torch dtype "
                                     "here" % (name, dtype_name))
                t = torch.empty(shape, dtype=dtype)
                es = t.element_size()
                stats["bytes_total"] += nbytes
                raw = t.view(-1).view(torch.uint8).numpy() if t.numel() else None
                spans = ([(0, t.numel())] if ranges is None
                         or name not in ranges else ranges[name])
                for lo, hi in spans:
                    lo, hi = max(0, lo), min(hi, t.numel())
                    if hi <= lo:
                        continue
                    view = memoryview(raw[lo * es:hi * es])
                    got = os.preadv(fd, [view], offset + lo * es)
                    if got != (hi - lo) * es:
                        raise ValueError("%s: tensor %r is truncated"
                                         % (file, name))
                    stats["bytes_read"] += got
                    stats["reads"] += 1
                out[name] = t
        finally:
            os.close(fd)
    if want is not None:
        missing = sorted(want - set(out))
        if missing:
            raise ValueError("%s: no tensor(s) %s" % (
                path, ", ".join("'%s'" % m for m in missing[:5])))
    return out, stats

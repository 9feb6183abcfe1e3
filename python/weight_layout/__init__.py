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

import collections.abc
import ctypes
import json
import os
import threading
import weakref

from . import _arrays as A
from . import _native as N

__all__ = [
    "ALL_RANKS", "Plan", "Loader", "TensorSpec", "compile", "from_json",
    "read_safetensors", "cache_stats", "clear_cache", "last_run_stats",
    "mapping_search_path", "cuda_executor", "checkpoint_tensors",
    "load_checkpoint", "last_load_stats",
    "__version__",
]

__version__ = N.version
ALL_RANKS = "all"


class TensorSpec(collections.namedtuple("TensorSpec", "name dtype shape")):
    """A plan tensor: name, dtype (a torch.dtype where torch has it, else the
    safetensors name), shape (a tuple)."""


def _spec(t):
    name, dtype, shape = t
    return TensorSpec(name, A.framework_dtype(dtype) or dtype, tuple(shape))


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
    return A.dtype_name(dtype)


def compile(mapping, config, *, rank=0, dtype=None, reverse=False,
            exact=False, spec_dir=None, **options):
    """Compiles a mapping to the plan of one rank (cached by a hash of the
    inputs: the second call with the same spec, config and options, for any
    rank, does no compiler work).

    mapping: a spec path, a library name ('qwen3/hf-to-vllm', searched in
        $WL_MAPPINGS_PATH, then the package's or source tree's mappings/),
        spec JSON text or a dict (includes relative to spec_dir).
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
        rank = "all"
    elif not isinstance(rank, int) or isinstance(rank, bool):
        raise TypeError("rank: expected an integer or 'all', not %r" % (rank,))
    request = {"options": opts, "rank": rank, "dtype": _dtype_arg(dtype),
               "reverse": bool(reverse), "exact": bool(exact)}
    if spec_dir:
        request["spec_dir"] = os.fspath(spec_dir)
    return Plan(N.new_handle(N.lib.wl_compile, N.enc(_mapping_arg(mapping)),
                             N.enc(_config_arg(config)),
                             N.enc(json.dumps(request))))


def from_json(text):
    """A plan in the JSON format of docs/plan-format.md."""
    return Plan(N.new_handle(N.lib.wl_plan_from_json, N.enc(text)))


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
        out[name] = A.as_array(t, name)
    return out


# What the Python layer did in the last run on this thread (views made,
# sources copied to contiguous memory, destinations staged).
_layer = threading.local()


def _layer_stats(**counts):
    _layer.stats = dict(views=0, contiguous_copies=0, staged_targets=0)
    _layer.stats.update(counts)


def _run_options(dev, threads, skip_aliases=False):
    o = N.RunOptions()
    stream = A.current_stream(dev) if dev else 0
    o.stream = stream or None
    o.stream_is_current = 1 if stream else 0
    o.threads = int(threads or 0)
    o.skip_aliases = 1 if skip_aliases else 0
    return o


def _contiguous_sources(src):
    """{name: contiguous tensor}, the count of copies made, the device."""
    out, copies, dev = {}, 0, None
    for name, t in src.items():
        if not A.is_contiguous(t):
            t = A.contiguous(t)
            copies += 1
        if dev is None:
            dev = A.device_of(t)
        out[name] = t
    return out, copies, dev


class _Staged:
    """Destinations made writable by the library: each contiguous one on
    the common device as it is, any other (a column slice, another device)
    through a temporary copied into it afterwards."""

    def __init__(self, dst, fallback_dev):
        devs = {A.device_of(t) for t in dst.values()}
        self.dev = devs.pop() if len(devs) == 1 else fallback_dev
        self.work, self.back = {}, []
        for name, t in dst.items():
            if A.is_contiguous(t) and A.device_of(t) == self.dev:
                self.work[name] = t
            else:
                tmp = A.empty(tuple(t.shape), A.name_of(
                    t, "destination '%s'" % name), self.dev)
                self.work[name] = tmp
                self.back.append((t, tmp))

    def copy_back(self):
        for t, tmp in self.back:
            A.copy_into(t, tmp)


class Loader:
    """A streaming load: feed(name, tensor) runs the pieces reading that
    tensor into the destinations; finish() checks that every source came."""

    def __init__(self, plan, destinations, threads):
        self._plan = plan  # keeps the plan alive
        self._staged = _Staged(destinations, (N.DEVICE_CPU, 0))
        self._opts = _run_options(self._staged.dev, threads)
        arr, self._keep = A.tensor_array(list(self._staged.work.items()),
                                         "destination")
        self._h = N.new_handle(N.lib.wl_loader_new, plan._h, arr,
                               len(self._staged.work), ctypes.byref(self._opts))
        self._free = weakref.finalize(self, N.lib.wl_loader_free, self._h)
        self._copies = 0

    def feed(self, name, tensor):
        """Returns False for a tensor this plan does not read (another
        rank's, or one the spec drops)."""
        t = A.as_array(tensor, name)
        if not A.is_contiguous(t):
            t = A.contiguous(t)
            self._copies += 1
        one = N.Tensor()
        keep = A.fill(one, name, t, "source '%s'" % name)
        used = ctypes.c_int(0)
        N.check(N.lib.wl_loader_feed(self._h, ctypes.byref(one),
                                     ctypes.byref(used)))
        del keep
        _layer_stats(contiguous_copies=self._copies,
                     staged_targets=len(self._staged.back))
        return bool(used.value)

    def missing(self):
        return N.call_json(N.lib.wl_loader_missing, self._h)

    def finish(self, strict=True):
        """Returns {'loaded': set of targets, 'ignored': [...], 'unknown':
        [...], 'bytes_written': n}. Raises ValueError when a source never
        came, or (strict) when a fed name is unknown to the mapping."""
        report = N.call_json(N.lib.wl_loader_finish, self._h)
        self._staged.copy_back()
        _layer_stats(contiguous_copies=self._copies,
                     staged_targets=len(self._staged.back))
        report["loaded"] = set(report["loaded"])
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

    def __init__(self, handle):
        self._h = handle
        self._free = weakref.finalize(self, N.lib.wl_plan_free, handle)
        self._info = N.call_json(N.lib.wl_plan_describe, handle)

    @property
    def sources(self):
        """The tensors the plan reads: [TensorSpec(name, dtype, shape)]."""
        return [_spec(t) for t in self._info["source_tensors"]]

    @property
    def targets(self):
        """The tensors the plan writes."""
        return [_spec(t) for t in self._info["target_tensors"]]

    @property
    def hash(self):
        return self._info["hash"]

    def describe(self):
        """Pieces, bytes, aliases (targets that run() returns as views:
        {target: (source, element offset)}), dropped tensors; 'text' is a
        readable summary."""
        d = {k: v for k, v in self._info.items()
             if k not in ("source_tensors", "target_tensors")}
        d["aliases"] = {t: (a[0], a[1]) for t, a in d["aliases"].items()}
        return d

    def source_ranges(self):
        """{source: [(begin, end), ...]}: the flat element intervals the
        plan reads, sorted and merged (what a loader must fetch)."""
        return {k: [tuple(r) for r in v] for k, v in
                N.call_json(N.lib.wl_plan_source_ranges, self._h).items()}

    def to_json(self, indent=1):
        return N.call_text(N.lib.wl_plan_to_json, self._h, int(indent))

    def inverse(self, *, exact=False):
        """The way back: for one rank of one (or rank='all') the mapping's
        reverse plan; for a reverse plan every rank's forward plan."""
        return Plan(N.new_handle(N.lib.wl_plan_inverse, self._h,
                                 1 if exact else 0))

    def _call_run(self, src, dst, dev, threads, skip_aliases, extra=()):
        # Names the plan does not read go along too: the library ignores
        # them, and suggests them when a source is missing.
        items = list(src.items()) + [
            (n, t) for n, t in extra if A.known_dtype(t)]
        sarr, skeep = A.tensor_array(items, "source")
        darr, dkeep = A.tensor_array(list(dst.items()), "destination")
        opts = _run_options(dev, threads, skip_aliases)
        N.check(N.lib.wl_run_into(self._h, sarr, len(items), darr, len(dst),
                                  ctypes.byref(opts)))
        del skeep, dkeep

    def _plan_sources(self, tensors, what):
        """The given tensors the plan reads (contiguous), copies, device."""
        given = _tensor_dict(tensors, what)
        names = {t[0] for t in self._info["source_tensors"]}
        ours = {k: v for k, v in given.items() if k in names}
        src, copies, dev = _contiguous_sources(ours)
        return src, copies, dev, [(k, v) for k, v in given.items()
                                  if k not in names]

    def run(self, tensors, *, views=True, threads=0):
        """Runs the plan on {name: tensor} (names it does not read are
        ignored) and returns {target: tensor}. Aliased targets are views of
        their source (views=False: copies); the others are new tensors on
        the sources' device."""
        src, copies, dev, extra = self._plan_sources(tensors, "tensors")
        dev = dev or (N.DEVICE_CPU, 0)
        aliases = self._info["aliases"] if views else {}
        out, work = {}, {}
        for name, dtype, shape in self._info["target_tensors"]:
            a = aliases.get(name)
            if a is not None and a[0] in src:
                out[name] = A.flat_view(src[a[0]], a[1], a[2], shape)
            else:
                out[name] = work[name] = A.empty(shape, dtype, dev)
        self._call_run(src, work, dev, threads, bool(aliases), extra)
        _layer_stats(views=len(out) - len(work), contiguous_copies=copies)
        return out

    def run_into(self, sources, destinations, *, threads=0):
        """Writes every target into destinations[name] (existing tensors,
        e.g. parameters or slices of fused parameters), in place."""
        src, copies, dev, extra = self._plan_sources(sources, "sources")
        dst = _tensor_dict(destinations, "destinations")
        staged = _Staged(dst, dev or (N.DEVICE_CPU, 0))
        self._call_run(src, staged.work, staged.dev, threads, False, extra)
        staged.copy_back()
        _layer_stats(contiguous_copies=copies,
                     staged_targets=len(staged.back))

    def loader(self, destinations, *, threads=0):
        return Loader(self, _tensor_dict(destinations, "destinations"),
                      threads)

    def load(self, weights, destinations, *, strict=True, threads=0):
        """vLLM's load_weights in one call: streams (name, tensor) pairs (or
        a dict) into the destinations (a dict such as
        dict(model.named_parameters()) holding every target; extra entries
        are ignored) and returns the set of target names loaded. Tensors
        the plan does not read are skipped; with strict, a name the mapping
        does not know at all raises ValueError, as does a missing source."""
        targets = {t[0] for t in self._info["target_tensors"]}
        dst = {k: v for k, v in _tensor_dict(destinations, "destinations")
               .items() if k in targets}
        ld = self.loader(dst, threads=threads)
        items = weights.items() if isinstance(
            weights, collections.abc.Mapping) else weights
        for name, t in items:
            ld.feed(name, t)
        return ld.finish(strict=strict)["loaded"]

    def __repr__(self):
        d = self._info
        where = ("every rank" if d["rank"] == "all" else
                 "the way back" if d["reverse"] else "rank %s" % d["rank"])
        head = ("%s %s->%s tp=%d ep=%d pp=%d, %s" % (
            d["model_type"], d["from"], d["to"], d["tp"], d["ep"], d["pp"],
            where) if d["from"] else "from JSON")
        return "<weight_layout.Plan %s: %d sources, %d targets, %d pieces>" % (
            head, d["sources"], d["targets"], d["pieces"])


def last_run_stats():
    """What the last run on this thread did: executor ('cpu', 'cuda',
    'cuda-via-host'), pieces, bytes, views, copies, staged destinations."""
    s = N.call_json(N.lib.wl_last_run_stats)
    s.update(getattr(_layer, "stats", None) or dict(
        views=0, contiguous_copies=0, staged_targets=0))
    return s


def cache_stats():
    return N.call_json(N.lib.wl_cache_stats)


def clear_cache():
    N.lib.wl_cache_clear()


def mapping_search_path():
    return N.call_json(N.lib.wl_mapping_search_path)


def cuda_executor():
    """(built, reason): whether this build has the CUDA executor."""
    return N.flag_with_reason(N.lib.wl_cuda_executor_built)


# --- safetensors, read by ranges ------------------------------------------


def checkpoint_tensors(path):
    """[(file, name, dtype, shape, file offset, bytes)] of a .safetensors
    file or checkpoint folder, as the validated reader sees them
    (docs/safetensors.md): every offset and size checked, no FIFO waited
    on, no file outside the checkpoint's folder."""
    h = N.new_handle(N.lib.wl_checkpoint_open, N.enc(os.fspath(path)))
    try:
        return [tuple(e[:3]) + (tuple(e[3]),) + tuple(e[4:])
                for e in N.call_json(N.lib.wl_checkpoint_tensors, h)]
    finally:
        N.lib.wl_checkpoint_free(h)


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
    by_file = {}
    for file, name, dtype, shape, offset, nbytes in checkpoint_tensors(path):
        if want is None or name in want:
            by_file.setdefault(file, []).append(
                (name, dtype, shape, offset, nbytes))
    for file, entries in by_file.items():
        fd = os.open(file, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            for name, dtype_name, shape, offset, nbytes in entries:
                t = A.empty(shape, dtype_name, (N.DEVICE_CPU, 0))
                numel = 1
                for d in shape:
                    numel *= d
                es = nbytes // numel if numel else 1
                stats["bytes_total"] += nbytes
                raw = A.bytes_of(t) if numel else None
                spans = ([(0, numel)] if ranges is None
                         or name not in ranges else ranges[name])
                for lo, hi in spans:
                    lo, hi = max(0, lo), min(hi, numel)
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


# --- checkpoints loaded onto the device -------------------------------------


def _device_arg(device):
    """(DLPack code, index) of "cuda", "cuda:1", "cpu" or a torch.device."""
    text = str(device)
    if text == "cpu":
        return (N.DEVICE_CPU, 0)
    if text == "cuda" or text.startswith("cuda:"):
        if not A.USE_TORCH:
            raise ValueError("device %s: CUDA needs torch here" % text)
        import torch
        index = (int(text.split(":", 1)[1]) if ":" in text
                 else torch.cuda.current_device())
        return (N.DEVICE_CUDA, index)
    raise ValueError("device %r: expected 'cpu', 'cuda' or 'cuda:<n>'"
                     % (device,))


class _Progress:
    """A one-line bar on stderr, or the caller's callable(done, total)."""

    def __init__(self, progress):
        import sys
        import time
        self.fn = progress if callable(progress) else None
        self.bar = bool(progress) and not callable(progress)
        self.t0 = time.perf_counter()
        self.time = time.perf_counter
        self.err = sys.stderr
        self.last = -1

    def __call__(self, _ctx, done, total):
        if self.fn:
            self.fn(done, total)
        elif self.bar:
            pct = int(100 * done / total) if total else 100
            if pct != self.last:
                self.last = pct
                dt = max(self.time() - self.t0, 1e-9)
                self.err.write("\rweight_layout: %3d%% %.2f/%.2f GB %.1f GB/s"
                               % (pct, done / 1e9, total / 1e9,
                                  done / dt / 1e9))
                if done >= total:
                    self.err.write("\n")
                self.err.flush()


def load_checkpoint(path, mapping, *, config=None, tp=1, rank=0, ep=1, pp=1,
                    device="cuda", into=None, threads=None, dtype=None,
                    progress=None, buffer_bytes=0, batch_bytes=0, **options):
    """Loads a safetensors checkpoint through a mapping into one rank's
    tensors on `device` and returns {target: tensor}.

    The plan is compiled (cached) for `config` (default: the checkpoint's
    config.json), tp, ep, pp and rank; only this rank's source ranges are
    read, by `threads` parallel preads into page-locked buffers, with the
    uploads and the plan's kernels overlapped. `into`: existing tensors to
    write in place (dict(model.named_parameters()), model.state_dict();
    entries that are not targets are ignored; every target must be there);
    otherwise new tensors are allocated on `device`. Every name, dtype and
    shape is checked against the checkpoint's headers before the first byte
    is written (ValueError naming the tensor and file). `progress`: True
    for a bar on stderr, or callable(bytes_done, bytes_total).
    wl.last_load_stats() says what the load did.
    """
    given = {"tp": tp, "ep": ep, "pp": pp}
    for k, v in given.items():
        if v != 1:
            options[k] = v
    plan = compile(mapping, config if config is not None else path,
                   rank=rank, dtype=dtype, **options)
    dev = _device_arg(device)
    targets = plan._info["target_tensors"]
    if into is not None:
        names = {t[0] for t in targets}
        dst = {k: v for k, v in _tensor_dict(into, "into").items()
               if k in names}
        staged = _Staged(dst, dev)
    else:
        dst = {name: A.empty(shape, dtype_name, dev)
               for name, dtype_name, shape in targets}
        staged = _Staged(dst, dev)
    arr, keep = A.tensor_array(list(staged.work.items()), "destination")
    o = N.LoadOptions()
    stream = A.current_stream(staged.dev)
    o.stream = stream or None
    o.threads = int(threads or 0)
    o.buffer_bytes = int(buffer_bytes)
    o.batch_bytes = int(batch_bytes)
    callback = None
    if progress:
        callback = N.PROGRESS(_Progress(progress))
        o.progress = callback
    ckpt = N.new_handle(N.lib.wl_checkpoint_open, N.enc(os.fspath(path)))
    try:
        report = N.call_json(N.lib.wl_load_checkpoint, plan._h, ckpt, arr,
                             len(staged.work), ctypes.byref(o))
    finally:
        N.lib.wl_checkpoint_free(ckpt)
    del keep, callback
    staged.copy_back()
    report["staged_targets"] = len(staged.back)
    _layer.load = report
    return dst


def last_load_stats():
    """What the last load_checkpoint on this thread did: sources, bytes
    needed and read, preads, batches, bytes written, seconds, executor."""
    return dict(getattr(_layer, "load", None) or {})

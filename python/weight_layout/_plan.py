"""Plans: compiled (cached) from a mapping or read from JSON, described,
inverted, and run on tensors (run, run_into, the streaming Loader)."""

import collections
import collections.abc
import ctypes
import json
import os
import weakref

from . import _arrays as A
from . import _bind as B
from . import _native as N

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
    rank: the rank as the spec's framework numbers it (docs/mapping-spec.md,
        "Ranks"), or "all" for every rank
        in one plan (targets 'rank-<r>/<name>' when there are several).
    dtype: the tensors' dtype (a torch.dtype or 'bf16', 'F32', ...); None:
        the config's.
    reverse: the way back, from every rank's tensors to the checkpoint's.
    exact: with reverse, refuse a way back that rounds.
    options: the degrees (tp, dp, ep, pp, cp, etp where the spec has them)
        and the spec's own integer options.
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


class Loader:
    """A streaming load: feed(name, tensor) runs the pieces reading that
    tensor into the destinations; finish() checks that every source came."""

    def __init__(self, plan, destinations, threads):
        self._plan = plan  # keeps the plan alive
        self._staged = B.Staged(destinations, (N.DEVICE_CPU, 0))
        self._opts = B.run_options(self._staged.dev, threads)
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
        B.layer_stats(contiguous_copies=self._copies,
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
        B.layer_stats(contiguous_copies=self._copies,
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

    def _call_run(self, src, dst, dev, threads, skip_aliases, extra=(),
                  partial=False):
        # Names the plan does not read go along too: the library ignores
        # them, and suggests them when a source is missing.
        items = list(src.items()) + [
            (n, t) for n, t in extra if A.known_dtype(t)]
        sarr, skeep = A.tensor_array(items, "source")
        darr, dkeep = A.tensor_array(list(dst.items()), "destination")
        opts = B.run_options(dev, threads, skip_aliases, partial)
        N.check(N.lib.wl_run_into(self._h, sarr, len(items), darr, len(dst),
                                  ctypes.byref(opts)))
        del skeep, dkeep

    def _plan_sources(self, tensors, what):
        """The given tensors the plan reads (contiguous), copies, device,
        and, only when one the plan reads is missing, the others (the
        library suggests names from them): each tensor handed over costs
        several microseconds, and a reshard's pack plan reads a few of
        a rank's thousand."""
        given = B.tensor_dict(tensors, what)
        names = self._source_names()
        ours = {k: v for k, v in given.items() if k in names}
        src, copies, dev = B.contiguous_sources(ours)
        extra = [] if len(ours) == len(names) else [
            (k, v) for k, v in given.items() if k not in names]
        return src, copies, dev, extra

    def _source_names(self):
        names = getattr(self, "_names", None)
        if names is None:
            names = self._names = {t[0] for t in self._info["source_tensors"]}
        return names

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
        B.layer_stats(views=len(out) - len(work), contiguous_copies=copies)
        return out

    def run_into(self, sources, destinations, *, threads=0, partial=False):
        """Writes every target into destinations[name] (existing tensors,
        e.g. parameters or slices of fused parameters), in place. Elements
        no piece writes are zeroed, or with `partial` left as they are (a
        plan that fills its targets over several runs)."""
        src, copies, dev, extra = self._plan_sources(sources, "sources")
        dst = B.tensor_dict(destinations, "destinations")
        staged = B.Staged(dst, dev or (N.DEVICE_CPU, 0), preserve=partial)
        self._call_run(src, staged.work, staged.dev, threads, False, extra,
                       partial)
        staged.copy_back()
        B.layer_stats(contiguous_copies=copies,
                     staged_targets=len(staged.back))

    def bind(self, sources, destinations, *, threads=0, partial=False):
        """run_into bound once to its tensors: the returned BoundRun's
        run() writes every target into `destinations` from `sources`
        without handing them to the library again (each tensor handed over
        costs microseconds; a reshard's pack or unpack hands over
        hundreds). For loops that run a plan on tensors that keep their
        storage: a trainer's parameters, a reshard's buffers. The tensors
        must stay where they are while the BoundRun is used; sources and
        destinations must be contiguous and each on one device (a run
        that would stage or copy them is refused: the copy would go stale).
        """
        return BoundRun(self, sources, destinations, threads, partial)

    def loader(self, destinations, *, threads=0):
        return Loader(self, B.tensor_dict(destinations, "destinations"),
                      threads)

    def load(self, weights, destinations, *, strict=True, threads=0):
        """vLLM's load_weights in one call: streams (name, tensor) pairs (or
        a dict) into the destinations (a dict such as
        dict(model.named_parameters()) holding every target; extra entries
        are ignored) and returns the set of target names loaded. Tensors
        the plan does not read are skipped; with strict, a name the mapping
        does not know at all raises ValueError, as does a missing source."""
        targets = {t[0] for t in self._info["target_tensors"]}
        dst = {k: v for k, v in B.tensor_dict(destinations, "destinations")
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
        degrees = " ".join("%s=%d" % (a, d["degrees"][a]) for a in d["mesh"])
        head = ("%s %s->%s %s, %s" % (
            d["model_type"], d["from"], d["to"], degrees, where)
            if d["from"] else "from JSON")
        return "<weight_layout.Plan %s: %d sources, %d targets, %d pieces>" % (
            head, d["sources"], d["targets"], d["pieces"])


class BoundRun:
    """A plan's run_into bound to its tensors (Plan.bind)."""

    def __init__(self, plan, sources, destinations, threads, partial):
        src, copies, dev, extra = plan._plan_sources(sources, "sources")
        if copies:
            raise ValueError(
                "bind: %d source(s) not contiguous (a bound run cannot "
                "copy them at each run); pass contiguous tensors" % copies)
        dst = B.tensor_dict(destinations, "destinations")
        targets = {t[0] for t in plan._info["target_tensors"]}
        dst = {k: v for k, v in dst.items() if k in targets}
        devs = {A.device_of(t) for t in dst.values()}
        for name, t in dst.items():
            if not A.is_contiguous(t):
                raise ValueError("bind: destination '%s' is not contiguous "
                                 "(run_into stages it; a bound run cannot)"
                                 % name)
        if len(devs) > 1:
            raise ValueError("bind: the destinations are on %d devices; a "
                             "bound run writes on one" % len(devs))
        items = list(src.items()) + [
            (n, t) for n, t in extra if A.known_dtype(t)]
        self._plan = plan  # keeps the plan alive
        self._dev = devs.pop() if devs else (dev or (N.DEVICE_CPU, 0))
        sarr, skeep = A.tensor_array(items, "source")
        darr, dkeep = A.tensor_array(list(dst.items()), "destination")
        self._threads = threads
        opts = B.run_options(self._dev, threads, False, partial)
        self._h = N.new_handle(N.lib.wl_bind, plan._h, sarr, len(items),
                               darr, len(dst), ctypes.byref(opts))
        self._free = weakref.finalize(self, N.lib.wl_bound_free, self._h)
        # The tensors stay alive as long as the bound run.
        self._keep = (skeep, dkeep)

    def run(self):
        """Runs the plan on the bound tensors (in the device's current
        stream, as run_into does)."""
        opts = B.run_options(self._dev, self._threads)
        N.check(N.lib.wl_bound_run(self._h, ctypes.byref(opts)))
        B.layer_stats()


def last_run_stats():
    """What the last run on this thread did: executor ('cpu', 'cuda',
    'cuda-via-host'), pieces, bytes, views, copies, staged destinations."""
    s = N.call_json(N.lib.wl_last_run_stats)
    s.update(getattr(B.layer, "stats", None) or dict(
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

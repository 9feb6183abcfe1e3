"""Checkpoints: their tensors as the validated reader sees them, read by
ranges (read_safetensors), and loaded through a plan onto a device
(load_checkpoint)."""

import ctypes
import os

from . import _arrays as A
from . import _bind as B
from . import _native as N
from ._plan import compile

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


def _count(name, value, below):
    """A non-negative integer that fits its C field (the library checks
    the range it accepts)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s=%r: expected an integer" % (name, value))
    if not 0 <= value < below:
        raise ValueError("%s=%d is out of range" % (name, value))
    return value


def _device_arg(device):
    """(DLPack code, index) of "cuda", "cuda:1", "cpu" or a torch.device."""
    text = str(device)
    if text == "cpu":
        return (N.DEVICE_CPU, 0)
    if text == "cuda" or text.startswith("cuda:"):
        if not A.USE_TORCH:
            raise ValueError("device %s: CUDA needs torch here" % text)
        import torch
        try:
            index = (int(text.split(":", 1)[1]) if ":" in text
                     else torch.cuda.current_device())
        except ValueError:
            raise ValueError("device %r: expected 'cpu', 'cuda' or "
                             "'cuda:<n>'" % (device,)) from None
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
                    progress=None, buffer_bytes=0, buffers=0, batch_bytes=0,
                    **options):
    """Loads a safetensors checkpoint through a mapping into one rank's
    tensors on `device` and returns {target: tensor}.

    The plan is compiled (cached) for `config` (default: the checkpoint's
    config.json, beside it when `path` is a file), tp, ep, pp, rank and
    the other degrees or options given (dp=..., etp=...);
    only this rank's source ranges are read, by `threads` parallel preads
    into page-locked buffers (`buffers` of `buffer_bytes`; 0: the
    defaults of docs/embedding.md), with the uploads and the plan's kernels
    overlapped. `into`: existing tensors to
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
    if not os.fspath(path):
        raise ValueError("load_checkpoint: the checkpoint path is empty")
    if config is None:  # the checkpoint's config.json
        config = (os.path.dirname(os.path.abspath(path))
                  if os.path.isfile(path) else path)
    plan = compile(mapping, config,
                   rank=rank, dtype=dtype, **options)
    dev = _device_arg(device)
    targets = plan._info["target_tensors"]
    if into is not None:
        names = {t[0] for t in targets}
        dst = {k: v for k, v in B.tensor_dict(into, "into").items()
               if k in names}
        staged = B.Staged(dst, dev)
    else:
        dst = {name: A.empty(shape, dtype_name, dev)
               for name, dtype_name, shape in targets}
        staged = B.Staged(dst, dev)
    arr, keep = A.tensor_array(list(staged.work.items()), "destination")
    o = N.LoadOptions()
    stream = A.current_stream(staged.dev)
    o.stream = stream or None
    o.threads = _count("threads", threads or 0, 2**31)
    o.buffer_bytes = _count("buffer_bytes", buffer_bytes, 2**62)
    o.buffers = _count("buffers", buffers, 2**31)
    o.batch_bytes = _count("batch_bytes", batch_bytes, 2**62)
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
    B.layer.load = report
    return dst


def last_load_stats():
    """What the last load_checkpoint on this thread did: sources, bytes
    needed and read, preads, batches, bytes written, seconds, executor."""
    return dict(getattr(B.layer, "load", None) or {})

"""Tensors bound for a call into the library: dicts of framework tensors,
the Python layer's own counts (views made, sources copied, destinations
staged), run options with the framework's stream, and destinations made
writable through temporaries where they are strided or elsewhere."""

import collections.abc
import threading

from . import _arrays as A
from . import _native as N

def tensor_dict(tensors, what):
    if isinstance(tensors, collections.abc.Mapping):
        items = tensors.items()
    elif isinstance(tensors, collections.abc.Iterable) and not isinstance(
            tensors, (str, bytes)):
        items = tensors
    else:
        raise TypeError("%s: expected a dict of name -> tensor or pairs "
                        "(name, tensor), not %s" % (what, type(tensors).__name__))
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
layer = threading.local()


def layer_stats(**counts):
    layer.stats = dict(views=0, contiguous_copies=0, staged_targets=0)
    layer.stats.update(counts)


def run_options(dev, threads, skip_aliases=False, partial=False):
    o = N.RunOptions()
    stream = A.current_stream(dev) if dev else 0
    o.stream = stream or None
    o.stream_is_current = 1 if stream else 0
    o.threads = int(threads or 0)
    o.skip_aliases = 1 if skip_aliases else 0
    o.partial = 1 if partial else 0
    return o


def contiguous_sources(src):
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


class Staged:
    """Destinations made writable by the library: each contiguous one on
    the common device as it is, any other (a column slice, another device)
    through a temporary copied into it afterwards (and, with `preserve`,
    from it before)."""

    def __init__(self, dst, fallback_dev, preserve=False):
        devs = {A.device_of(t) for t in dst.values()}
        self.dev = devs.pop() if len(devs) == 1 else fallback_dev
        self.work, self.back = {}, []
        for name, t in dst.items():
            if A.is_contiguous(t) and A.device_of(t) == self.dev:
                self.work[name] = t
            else:
                tmp = A.empty(tuple(t.shape), A.name_of(
                    t, "destination '%s'" % name), self.dev)
                if preserve:  # a partial run leaves the rest as it is
                    A.copy_into(tmp, t)
                self.work[name] = tmp
                self.back.append((t, tmp))

    def copy_back(self):
        for t, tmp in self.back:
            A.copy_into(t, tmp)

"""Resharding between running processes: one framework's ranks to another's
(docs/mapping-spec.md, "Resharding"; docs/embedding.md, "Resharding")."""

import json

from . import _arrays as A
from . import _native as N
from ._plan import _config_arg, _dtype_arg, _mapping_arg, from_json


def _options(what, options):
    out = {}
    for k, v in (options or {}).items():
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int):
            raise TypeError("%s: option %s=%r: expected an integer" %
                            (what, k, v))
        out[k] = v
    return out


DEFAULT_BUCKET = 256 << 20


class Round:
    """One round of a process's part: `send` {destination rank: Plan}
    packing (part of) what it sends that rank into flat buffers; `senders`
    the source ranks whose buffers it receives; `receive` (None when it is
    no destination rank) the Plan writing its tensors from what it holds
    ("<name>", round 0) and what came ("from-<p>/<i>")."""

    def __init__(self, info):
        self.send = {int(d): from_json(json.dumps(p))
                     for d, p in info["send"].items()}
        self.senders = list(info["from"])
        self.receive = (from_json(json.dumps(info["receive"]))
                        if info["receive"] is not None else None)


class Part:
    """One process's part of a reshard: its rounds, each moving at most the
    bucket's bytes through this process's buffers."""

    def __init__(self, info):
        self.rounds = [Round(r) for r in info["rounds"]]

class Reshard:
    """A compiled reshard from `from_mapping`'s ranks to `mapping`'s."""

    def __init__(self, handle):
        self._h = handle
        d = N.call_json(N.lib.wl_reshard_describe, handle)
        self.source_ranks = d["source_ranks"]
        self.dest_ranks = d["dest_ranks"]
        self.traffic = d["traffic"]
        self.moved_bytes = d["moved_bytes"]
        self.total_bytes = d["total_bytes"]
        self.rounded = d["rounded"]
        self._parts = {}  # (source rank, destination rank, bucket) -> Part

    def __del__(self):
        if getattr(self, "_h", None) and N.lib is not None:
            N.lib.wl_reshard_free(self._h)
            self._h = None

    def part(self, source_rank, dest_rank, bucket_bytes=DEFAULT_BUCKET):
        """The Part of the process that is `source_rank` of the source
        mapping and `dest_rank` of the destination one (None or -1: not
        that role), in rounds whose buffers hold at most `bucket_bytes` in
        this process (0: one round). Kept: the next call for the same
        ranks and bucket returns the same Part."""
        a = -1 if source_rank is None else source_rank
        b = -1 if dest_rank is None else dest_rank
        key = (a, b, int(bucket_bytes))
        if key not in self._parts:  # each sync of an RL loop asks again
            self._parts[key] = Part(N.call_json(N.lib.wl_reshard_part,
                                                self._h, a, b, key[2]))
        return self._parts[key]

    def execute(self, sources, destinations, *, group=None,
                source_rank=None, dest_rank=None, dest_offset=0,
                bucket_bytes=DEFAULT_BUCKET):
        """Runs this process's part over torch.distributed point-to-point.

        sources: {name: tensor} this process holds as a source rank (None
            when it holds none); destinations: {name: tensor} it fills in
            place as a destination rank (None when it is none).
        group: the process group (default: the world). Process i of it is
            source rank i, and destination rank i - dest_offset
            (dest_offset 0: colocated, each process both; dest_offset =
            source_ranks: disjoint, the senders first). source_rank and
            dest_rank override that for this process (-1: none).
        bucket_bytes: the most bytes of buffers this process holds at once
            (sent and received; 0: no bound, one round).
        In each round every rank packs what it sends each peer into one
        buffer per dtype, posts the sends and receives as one batch
        (batch_isend_irecv), waits, and unpacks into its destinations. Returns the bytes sent; `last_stats` says
        the rounds, bytes sent and received, and the most buffer bytes held.
        """
        import torch.distributed as dist
        me = dist.get_rank(group)

        def process(i):  # the global rank of group member i
            if group is None:
                return i
            get = getattr(dist, "get_global_rank", None)
            if get is None:
                from torch.distributed import distributed_c10d as c10d
                get = c10d._get_global_rank
            return get(group, i)

        if source_rank is None:
            source_rank = me if me < self.source_ranks else -1
        if dest_rank is None:
            b = me - dest_offset
            dest_rank = b if 0 <= b < self.dest_ranks else -1
        part = self.part(source_rank, dest_rank, bucket_bytes)
        if dist.get_backend(group) == "nccl":
            # A batch of point-to-point operations that is the group's
            # first collective needs every rank in it: one barrier first.
            dist.barrier(group)
        if any(r.send for r in part.rounds) and sources is None:
            raise ValueError("reshard: source rank %d sends, but sources is "
                             "None" % source_rank)
        receives = part.rounds[0].receive is not None
        if receives and destinations is None:
            raise ValueError("reshard: destination rank %d receives, but "
                             "destinations is None" % dest_rank)
        dev = (A.device_of(next(iter(destinations.values())))
               if receives and destinations else None)
        partial = len(part.rounds) > 1
        stats = {"rounds": len(part.rounds), "sent_bytes": 0,
                 "received_bytes": 0, "peak_buffer_bytes": 0}
        for k, rnd in enumerate(part.rounds):
            ops, held = [], 0
            for d, plan in sorted(rnd.send.items()):
                bufs = plan.run(sources, views=False)
                for i in range(len(bufs)):
                    t = bufs["to-%d/%d" % (d, i)]
                    held += t.numel() * t.element_size()
                    ops.append(dist.P2POp(dist.isend, t,
                                          process(d + dest_offset), group,
                                          k * 64 + i))
            stats["sent_bytes"] += held
            incoming = {}
            if rnd.receive is not None:
                for name, dtype, shape in rnd.receive._info["source_tensors"]:
                    if not name.startswith("from-"):
                        continue
                    p, i = name[5:].split("/")
                    t = A.empty(shape, dtype, dev)
                    incoming[name] = t
                    n = t.numel() * t.element_size()
                    held += n
                    stats["received_bytes"] += n
                    ops.append(dist.P2POp(dist.irecv, t, process(int(p)),
                                          group, k * 64 + int(i)))
            stats["peak_buffer_bytes"] = max(stats["peak_buffer_bytes"], held)
            # One batch per round: NCCL runs a pair's sends and receives
            # together (posted one by one on the pair's stream, A's send to
            # B and B's send to A would wait for each other).
            for w in dist.batch_isend_irecv(ops) if ops else []:
                w.wait()
            if rnd.receive is not None:
                src = dict(sources or {}) if k == 0 else {}
                src.update(incoming)
                rnd.receive.run_into(src, destinations, partial=partial)
            del ops, incoming
        self.last_stats = stats
        return stats["sent_bytes"]


def reshard(from_mapping, mapping, config, *, from_options=None, dtype=None,
            spec_dir=None, **options):
    """Compiles a reshard from the ranks of `from_mapping` (at
    `from_options`: its degrees and options) to the ranks of `mapping` (at
    `options`) for one model and config. Returns a Reshard: its traffic
    matrix, and per process the plans execute() runs."""
    request = {"from_options": _options("from_options", from_options),
               "options": _options("options", options),
               "dtype": _dtype_arg(dtype)}
    if spec_dir:
        request["spec_dir"] = str(spec_dir)
    return Reshard(N.new_handle(
        N.lib.wl_reshard_compile, N.enc(_mapping_arg(from_mapping)),
        N.enc(_mapping_arg(mapping)), N.enc(_config_arg(config)),
        N.enc(json.dumps(request))))

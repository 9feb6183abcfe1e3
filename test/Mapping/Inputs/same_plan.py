"""Exit 0 when two plan JSON files write the same (target element <- source
element, conversion) map, whatever the order of their tensors and pieces;
otherwise print the first difference and exit 1."""
import json
import sys


def triples(path):
    plan = json.load(open(path))
    src = [t["name"] for t in plan["sources"]]
    dst = [t["name"] for t in plan["targets"]]
    out = {}
    for p in plan["pieces"]:
        shape = p["shape"]
        n = 1
        for s in shape:
            n *= s
        for k in range(n):
            rest, d, s = k, p["dst_offset"], p.get("src_offset", 0)
            for j in reversed(range(len(shape))):
                c = rest % shape[j]
                rest //= shape[j]
                d += c * p["dst_strides"][j]
                s += c * p.get("src_strides", [0] * len(shape))[j]
            key = (dst[p["target"]], d)
            if key in out:
                sys.exit(f"{path}: {key} written twice")
            origin = (src[p["source"]], s) if "source" in p else ("fill", json.dumps(p.get("fill")))
            out[key] = (origin, json.dumps(p.get("convert")))
    shapes = sorted((t["name"], t["dtype"], tuple(t["shape"])) for t in plan["targets"])
    return out, shapes


a, sa = triples(sys.argv[1])
b, sb = triples(sys.argv[2])
if sa != sb:
    sys.exit(f"targets differ: {sa} vs {sb}")
for key in sorted(set(a) | set(b)):
    if a.get(key) != b.get(key):
        sys.exit(f"{key}: {a.get(key)} vs {b.get(key)}")
print(f"same plan: {len(a)} elements")

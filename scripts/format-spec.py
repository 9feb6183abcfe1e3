"""Rewrites mapping specs in the layout of mappings/: one rule per block,
short objects and lists on one line. Usage: format-spec.py FILE..."""
import collections
import json
import sys


def fmt(v, indent=0, width=100):
    one = json.dumps(v, ensure_ascii=False)
    if len(one) + indent <= width or not isinstance(v, (dict, list)) or not v:
        return one
    pad = " " * (indent + 2)
    if isinstance(v, list):
        items = [pad + fmt(x, indent + 2, width) for x in v]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    items = [pad + json.dumps(k) + ": " + fmt(x, indent + 2, width)
             for k, x in v.items()]
    return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"


for path in sys.argv[1:]:
    data = json.load(open(path), object_pairs_hook=collections.OrderedDict)
    open(path, "w").write(fmt(data) + "\n")

"""Writes hostile mapping specs and configs into a folder, one file each.

usage: hostile_specs.py DIR
Each spec is valid JSON whose content is meant to crash, hang or exhaust a
careless compiler (test/Mapping/hostile-specs.test says what each must do).
"""
import json
import os
import sys


def spec(rules, lets=None, **extra):
    s = {"format": "weight-layout-mapping/1", "model_type": "qwen3",
         "from": "hf", "to": "x"}
    if lets:
        s["let"] = lets
    s.update(extra)
    s["rules"] = rules
    return s


NORM = {"copy": "model.norm.weight", "shape": ["hidden_size"]}


def out(name, body, shape=("hidden_size",)):
    return {"inputs": {"x": {"name": "model.norm.weight", "shape": list(shape)}},
            "outputs": {name: body}}


def main():
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    files = {
        "int-min-div": spec([NORM], {"x": "(-9223372036854775807 - 1) / -1"}),
        "int-min-mod": spec([NORM], {"x": "(-9223372036854775807 - 1) % -1 + 1 / 0"}),
        "int-min-neg": spec([NORM], {"x": "-(-9223372036854775807 - 1)"}),
        "mul-overflow": spec([NORM], {"x": "4294967296 * 4294967296 * 4294967296"}),
        "parens": spec([NORM], {"x": "(" * 4000 + "1" + ")" * 4000}),
        "parens-10000": spec([NORM], {"x": "(" * 10000 + "1" + ")" * 10000}),
        "sum-20000": spec([NORM], {"x": "+".join(["1"] * 20000)}),
        "sum-3000": spec([NORM], {"x": "+".join(["1"] * 3000)}),
        "minus-300": spec([NORM], {"x": "-" * 300 + "1"}),
        "metadata-target": spec([out("__metadata__", "x")]),
        "pad-2-62": spec([out("big", "pad(x, 0, 0, 4611686018427387904)")]),
        "unstack-2-31": spec([out("u", "unstack(x, 0)[0]", (2147483648, 0))]),
        "interleave-2-31": spec([out("u", "interleave(x, x, 0, 2147483648)", (0,))]),
        "for-2-31": spec([{"for": {"L": "2147483648"}, "drop": "x.{L}"}]),
        "for-product": spec([{"for": {"L": "1000000", "E": "1000000"},
                              "when": "L < 0", "drop": "x.{L}.{E}"}]),
        "heavy-when": spec([{"for": {"L": "100000", "E": "10"},
                             "when": "min(" + ",".join(["L"] * 2000) + ") < 0",
                             "drop": "x.{L}.{E}"}]),
        "pad-int-300": spec([{"inputs": {"x": {"name": "w", "shape": [4],
                                               "dtype": "i8"}},
                              "outputs": {"y": "pad(x, 0, 1, 1, 300)"}}]),
        "pad-int-nan": spec([{"inputs": {"x": {"name": "w", "shape": [4],
                                               "dtype": "ui8"}},
                              "outputs": {"y": "pad(x, 0, 1, 1, 'nan')"}}]),
        "shape-2-62": spec([{"inputs": {"x": {"name": "w",
                                               "shape": [4611686018427387904]}},
                             "outputs": {"y": "x"}}]),
    }
    for name, s in files.items():
        with open(os.path.join(d, name + ".json"), "w") as f:
            json.dump(s, f)
    # JSON nested a million levels deep.
    with open(os.path.join(d, "json-deep.json"), "w") as f:
        f.write('{"format": ' + "[" * 1000000 + "]" * 1000000 + "}")
    with open(os.path.join(d, "config-deep.json"), "w") as f:
        f.write('{"hidden_size": 128, "x": ' + "[" * 1000000 + "]" * 1000000 + "}")
    # Includes: a cycle, and a fan-out (each of ten files includes the next
    # eight: 8^9 loads for a loader without a cap).
    inc = os.path.join(d, "inc")
    os.makedirs(inc, exist_ok=True)
    for i in range(10):
        part = {"format": "weight-layout-mapping/1",
                "include": ["p%d.json" % j for j in range(i + 1, min(10, i + 9))],
                "rules": []}
        with open(os.path.join(inc, "p%d.json" % i), "w") as f:
            json.dump(part, f)
    with open(os.path.join(d, "fan-out.json"), "w") as f:
        json.dump(spec([NORM], include=["inc/p0.json", "inc/p1.json",
                                        "inc/p2.json", "inc/p3.json"]), f)
    with open(os.path.join(inc, "self.json"), "w") as f:
        json.dump({"format": "weight-layout-mapping/1",
                   "include": ["self.json"], "rules": []}, f)
    with open(os.path.join(d, "cycle.json"), "w") as f:
        json.dump(spec([NORM], include=["inc/self.json"]), f)


if __name__ == "__main__":
    main()

"""A plain runner for the weight_layout tests where pytest is not installed:
runs every test_* function of the test_*.py files beside it, prints one line
per test and "N passed, N failed, N skipped", exits non-zero on a failure.
unittest.SkipTest skips (as under pytest)."""

import importlib.util
import os
import sys
import traceback
import unittest


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for file in sorted(os.listdir(here)):
        if not (file.startswith("test_") and file.endswith(".py")):
            continue
        spec = importlib.util.spec_from_file_location(file[:-3],
                                                      os.path.join(here, file))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        for name in sorted(n for n in dir(mod) if n.startswith("test_")):
            fn = getattr(mod, name)
            if not callable(fn) or (only and name not in only):
                continue
            label = "%s::%s" % (file, name)
            try:
                fn()
            except unittest.SkipTest as e:
                skipped += 1
                print("SKIPPED %s: %s" % (label, e))
            except Exception:
                failed += 1
                print("FAILED %s" % label)
                traceback.print_exc()
            else:
                passed += 1
                print("PASSED %s" % label)
            sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())

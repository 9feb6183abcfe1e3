# -*- Python -*-
# lit configuration of the weight-layout regression tests.

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "weight-layout"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.wl_obj_root, "test")
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py"]

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

# FileCheck, not, count and split-file come from Debian's LLVM 19.
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
tool_dirs = [config.wl_tools_dir, config.llvm_tools_dir]
llvm_config.add_tool_substitutions(
    ["weight-layout-opt", "weight-layout-convert", "weight-layout-gen",
     "weight-layout-diff", "weight-layout-cuda-check", "split-file", "not",
     "count", "fuzz-spec-replay", "fuzz-expr-replay", "fuzz-config-replay",
     "fuzz-index-replay", "fuzz-manifest-replay"], tool_dirs)

config.substitutions.append(("%wl_src", config.wl_src_root))
config.substitutions.append(("%wl_obj", config.wl_obj_root))
config.substitutions.append(("%python", config.python_executable))

# The real tiny checkpoints beside the checkout (../shared), when present.
shared = os.environ.get("WL_SHARED") or os.path.join(config.wl_src_root, "..", "shared")
if os.path.isdir(os.path.join(shared, "checkpoints")):
    config.available_features.add("shared-checkpoints")
    config.substitutions.append(("%shared", os.path.abspath(shared)))

#!/usr/bin/env bash
# Regenerates docs/dialect-ops.md from the op descriptions in
# include/wl/IR/WLOps.td (test/Docs checks that the copy is current).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake --build "$build" --target WLOpsDocGen
cp "$build/include/wl/IR/WLOpsDoc.md" docs/dialect-ops.md
echo "updated docs/dialect-ops.md"

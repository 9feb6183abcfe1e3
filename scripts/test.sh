#!/usr/bin/env bash
# Builds everything and runs every test (the lit suite and the gtest suites)
# through one ctest run. Installs missing Debian packages first.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
wl_build
cd "$WL_BUILD"
ctest --output-on-failure "$@"

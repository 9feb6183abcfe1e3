# Shared by scripts/run.sh and scripts/test.sh: install what is missing (Debian
# packages only), configure once, build. Source it; do not run it.

WL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WL_BUILD=${WL_BUILD:-$WL_ROOT/build}
# WL_SANITIZE=address,undefined (with its own WL_BUILD) builds the sanitizer
# mode: WL_BUILD=build-asan WL_SANITIZE=address,undefined ./scripts/test.sh

# Everything the build and the tests need, all from Debian bookworm.
WL_PACKAGES=(
  g++ cmake ninja-build python3
  llvm-19-dev llvm-19-tools libmlir-19-dev mlir-19-tools
  nlohmann-json3-dev libgtest-dev
  libtorch-dev python3-torch python3-numpy
  python3-pip python3-setuptools python3-wheel python3-venv
)

wl_log() { printf '[weight-layout] %s\n' "$*" >&2; }

wl_install_deps() {
  local missing=() p
  for p in "${WL_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    return 0
  fi
  wl_log "installing Debian packages: ${missing[*]}"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
      sudo=(sudo)
    else
      wl_log "not root and no sudo: run 'apt-get install ${missing[*]}' as root"
      return 1
    fi
  fi
  "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}"
}

# Configures once. CMake's output goes to $WL_BUILD/configure.log; one line
# is said (the project's own summary), or the whole log if it fails.
wl_configure() {
  if [ ! -f "$WL_BUILD/build.ninja" ]; then
    mkdir -p "$WL_BUILD"
    local log="$WL_BUILD/configure.log"
    wl_log "configuring in $WL_BUILD (log: $log)"
    if ! cmake -G Ninja -S "$WL_ROOT" -B "$WL_BUILD" \
      -DCMAKE_BUILD_TYPE=Release \
      -DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir \
      -DWL_SANITIZE="${WL_SANITIZE:-}" >"$log" 2>&1; then
      cat "$log" >&2
      wl_log "configure failed (log: $log)"
      return 1
    fi
    wl_log "$(grep -m1 -- '-- weight-layout ' "$log" | sed 's/^-- //')"
  fi
}

# wl_build [targets...]: builds the given targets (everything by default).
wl_build() {
  wl_install_deps
  wl_configure
  if [ $# -eq 0 ]; then
    cmake --build "$WL_BUILD"
  else
    cmake --build "$WL_BUILD" --target "$@"
  fi
}

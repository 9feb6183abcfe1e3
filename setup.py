"""pip install . (docs/embedding.md, "Installing").

Builds libweight-layout.so with CMake (the CMake build of this checkout:
MLIR, LLVM and the CUDA toolkit where present, from Debian's packages) and
packs it, with the mapping library, into the pure-Python package
weight_layout. The wheel works with any Python 3 and any PyTorch (or none):
the library is self-contained and loaded through ctypes, so the wheel is
tagged py3-none-<platform>.

  WL_BUILD_DIR=build   use (and update) that CMake build instead of
                       build-python/ (configured here when missing)
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

try:
    from wheel.bdist_wheel import bdist_wheel
except ImportError:  # no wheel: pip install still works through setuptools
    bdist_wheel = None

ROOT = os.path.dirname(os.path.abspath(__file__))
EGG_BASE = os.path.join("build-python", "egg-info")
os.makedirs(os.path.join(ROOT, EGG_BASE), exist_ok=True)


def version():
    with open(os.path.join(ROOT, "CMakeLists.txt")) as f:
        for line in f:
            if line.startswith("set(WL_VERSION "):
                return line.split('"')[1]
    raise RuntimeError("CMakeLists.txt: no WL_VERSION")


def build_library():
    build = os.path.abspath(os.environ.get("WL_BUILD_DIR")
                            or os.path.join(ROOT, "build-python"))
    if not os.path.isfile(os.path.join(build, "CMakeCache.txt")):
        subprocess.check_call([
            "cmake", "-G", "Ninja", "-S", ROOT, "-B", build,
            "-DCMAKE_BUILD_TYPE=Release", "-DWL_ENABLE_TORCH=OFF",
            "-DMLIR_DIR=/usr/lib/llvm-19/lib/cmake/mlir"])
    subprocess.check_call(["cmake", "--build", build, "--target",
                           "weight-layout"])
    return os.path.join(build, "lib", "libweight-layout.so")


class BuildWithLibrary(build_py):
    """Copies the library and the mapping library into the package."""

    def run(self):
        super().run()
        pkg = os.path.join(self.build_lib, "weight_layout")
        shutil.copy2(build_library(), pkg)
        maps = os.path.join(pkg, "mappings")
        if os.path.isdir(maps):
            shutil.rmtree(maps)
        shutil.copytree(os.path.join(ROOT, "mappings"), maps)


cmdclass = {"build_py": BuildWithLibrary}
if bdist_wheel is not None:
    class AnyPythonWheel(bdist_wheel):
        """py3-none-<platform>: no extension module, one native library."""

        def finalize_options(self):
            super().finalize_options()
            self.root_is_pure = False

        def get_tag(self):
            return "py3", "none", super().get_tag()[2]

    cmdclass["bdist_wheel"] = AnyPythonWheel

setup(
    name="weight_layout",
    version=version(),
    description="Model-weight layout mappings compiled and run in-process",
    packages=["weight_layout"],
    package_dir={"weight_layout": "python/weight_layout"},
    python_requires=">=3.8",
    cmdclass=cmdclass,
    # Not build/ (the CMake build's folder), and no egg-info in the tree.
    options={"build": {"build_base": os.path.join("build-python",
                                                  "setuptools")},
             "egg_info": {"egg_base": EGG_BASE}},
    zip_safe=False,
)

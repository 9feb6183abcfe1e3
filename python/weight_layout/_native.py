"""libweight-layout through ctypes: the library found and loaded, its C API
(include/wl/CApi/weight_layout.h) declared, and its errors raised as
ValueError (an argument is wrong) or RuntimeError (the work failed).

No compiled Python extension: one libweight-layout.so serves every Python
version and every PyTorch (or none). ctypes releases the GIL around each
call, so runs and compiles do not block other Python threads.

The library is looked up, in order: $WL_LIBRARY (a file path); the package's
own folder (an installed or bundled package); the build tree this package
was copied into by CMake (<build>/python/weight_layout -> <build>/lib).
"""

import ctypes
import json
import os

API_VERSION = 2
OK, ERR_INVALID, ERR_RUNTIME = 0, 1, 2
DEVICE_CPU, DEVICE_CUDA = 1, 2

_HERE = os.path.dirname(os.path.abspath(__file__))


class Tensor(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("data", ctypes.c_void_p),
        ("dtype", ctypes.c_char_p),
        ("ndim", ctypes.c_int32),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("device_type", ctypes.c_int32),
        ("device_index", ctypes.c_int32),
    ]


class RunOptions(ctypes.Structure):
    _fields_ = [
        ("stream", ctypes.c_void_p),
        ("stream_is_current", ctypes.c_int32),
        ("threads", ctypes.c_int32),
        ("skip_aliases", ctypes.c_int32),
        ("partial", ctypes.c_int32),
    ]


PROGRESS = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int64,
                            ctypes.c_int64)


class LoadOptions(ctypes.Structure):
    _fields_ = [
        ("stream", ctypes.c_void_p),
        ("threads", ctypes.c_int32),
        ("buffers", ctypes.c_int32),
        ("buffer_bytes", ctypes.c_int64),
        ("batch_bytes", ctypes.c_int64),
        ("progress", PROGRESS),
        ("progress_context", ctypes.c_void_p),
    ]


def _candidates():
    env = os.environ.get("WL_LIBRARY")
    if env:
        return [env]
    return [os.path.join(_HERE, "libweight-layout.so"),
            os.path.join(os.path.dirname(os.path.dirname(_HERE)), "lib",
                         "libweight-layout.so")]


def _load():
    tried = []
    for path in _candidates():
        if os.path.isfile(path):
            return ctypes.CDLL(path), path
        tried.append(path)
    raise ImportError("weight_layout: libweight-layout.so not found (looked "
                      "at %s; set WL_LIBRARY to its path)" % ", ".join(tried))


lib, path = _load()

_P = ctypes.c_void_p
_S = ctypes.c_char_p
_I = ctypes.c_int
_OUT = ctypes.POINTER(ctypes.c_void_p)
_SIG = {
    "wl_version": (_S, []),
    "wl_api_version": (_I, []),
    "wl_last_error": (_S, []),
    "wl_free": (None, [_P]),
    "wl_compile": (_I, [_S, _S, _S, _OUT]),
    "wl_plan_from_json": (_I, [_S, _OUT]),
    "wl_plan_inverse": (_I, [_P, _I, _OUT]),
    "wl_plan_free": (None, [_P]),
    "wl_plan_to_json": (_I, [_P, _I, _OUT]),
    "wl_plan_describe": (_I, [_P, _OUT]),
    "wl_plan_source_ranges": (_I, [_P, _OUT]),
    "wl_run_into": (_I, [_P, ctypes.POINTER(Tensor), ctypes.c_size_t,
                         ctypes.POINTER(Tensor), ctypes.c_size_t,
                         ctypes.POINTER(RunOptions)]),
    "wl_bind": (_I, [_P, ctypes.POINTER(Tensor), ctypes.c_size_t,
                     ctypes.POINTER(Tensor), ctypes.c_size_t,
                     ctypes.POINTER(RunOptions), _OUT]),
    "wl_bound_run": (_I, [_P, ctypes.POINTER(RunOptions)]),
    "wl_bound_free": (None, [_P]),
    "wl_loader_new": (_I, [_P, ctypes.POINTER(Tensor), ctypes.c_size_t,
                           ctypes.POINTER(RunOptions), _OUT]),
    "wl_loader_feed": (_I, [_P, ctypes.POINTER(Tensor),
                            ctypes.POINTER(ctypes.c_int)]),
    "wl_loader_missing": (_I, [_P, _OUT]),
    "wl_loader_finish": (_I, [_P, _OUT]),
    "wl_loader_free": (None, [_P]),
    "wl_last_run_stats": (_I, [_OUT]),
    "wl_load_checkpoint": (_I, [_P, _P, ctypes.POINTER(Tensor),
                                ctypes.c_size_t, ctypes.POINTER(LoadOptions),
                                _OUT]),
    "wl_checkpoint_open": (_I, [_S, _OUT]),
    "wl_checkpoint_tensors": (_I, [_P, _OUT]),
    "wl_checkpoint_free": (None, [_P]),
    "wl_cache_stats": (_I, [_OUT]),
    "wl_cache_clear": (None, []),
    "wl_mapping_search_path": (_I, [_OUT]),
    "wl_add_mapping_folder": (_I, [_S]),
    "wl_cuda_executor_built": (_I, [_OUT]),
    "wl_cuda_available": (_I, [_OUT]),
    "wl_reshard_compile": (_I, [_S, _S, _S, _S, _OUT]),
    "wl_reshard_describe": (_I, [_P, _OUT]),
    "wl_reshard_part": (_I, [_P, ctypes.c_int64, ctypes.c_int64,
                             ctypes.c_int64, _OUT]),
    "wl_reshard_free": (None, [_P]),
}
for _name, (_res, _args) in _SIG.items():
    _f = getattr(lib, _name)
    _f.restype = _res
    _f.argtypes = _args

if lib.wl_api_version() != API_VERSION:
    raise ImportError("weight_layout: %s has C API version %d, this package "
                      "needs %d" % (path, lib.wl_api_version(), API_VERSION))
version = lib.wl_version().decode()


def enc(s):
    return s.encode() if isinstance(s, str) else s


def check(rc):
    """Raises the library's error for a failing return code."""
    if rc == OK:
        return
    msg = lib.wl_last_error().decode(errors="replace")
    raise (ValueError if rc == ERR_INVALID else RuntimeError)(msg)


def take_string(p):
    """The text of a char * the library handed over, freed."""
    if not p:
        return ""
    try:
        return ctypes.string_at(p).decode()
    finally:
        lib.wl_free(p)


def call_json(fn, *args):
    """Calls fn(*args, &out) and returns the JSON it wrote, parsed."""
    out = ctypes.c_void_p()
    check(fn(*args, ctypes.byref(out)))
    return json.loads(take_string(out.value))


def call_text(fn, *args):
    out = ctypes.c_void_p()
    check(fn(*args, ctypes.byref(out)))
    return take_string(out.value)


def new_handle(fn, *args):
    out = ctypes.c_void_p()
    check(fn(*args, ctypes.byref(out)))
    return out.value


def flag_with_reason(fn):
    why = ctypes.c_void_p()
    ok = bool(fn(ctypes.byref(why)))
    return ok, take_string(why.value) if not ok else ""


# A packaged copy of the mapping library travels with the package.
_bundled = os.path.join(_HERE, "mappings")
if os.path.isdir(_bundled):
    check(lib.wl_add_mapping_folder(enc(_bundled)))

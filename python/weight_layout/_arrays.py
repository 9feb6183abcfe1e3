"""Tensors in and out of the C API, without compiling against any framework.

Where torch can be imported, every input becomes a torch.Tensor (NumPy,
JAX and CuPy arrays through DLPack, without a copy) and results are
torch.Tensors, as docs/embedding.md says. Without torch, NumPy arrays are
used directly (CPU only) and results are NumPy arrays; bfloat16 and 8-bit
floats then need ml_dtypes (which JAX installs).

A tensor crosses as a wl_tensor: its data pointer, safetensors dtype name,
shape and DLPack device code. The framework keeps the memory alive: every
array handed to the library is held by the caller's frame until the call
returns.
"""

import ctypes
import warnings

from . import _native as N

try:
    import torch
except ImportError:  # NumPy only
    torch = None
try:
    import numpy as np
except ImportError:
    np = None
try:
    import ml_dtypes
except ImportError:
    ml_dtypes = None

# safetensors dtype names -> the framework's dtypes (those it has).
TORCH_DTYPES = {}
if torch is not None:
    for _name, _attr in [
        ("BF16", "bfloat16"), ("F16", "float16"), ("F32", "float32"),
        ("F64", "float64"), ("BOOL", "bool"), ("I8", "int8"),
        ("I16", "int16"), ("I32", "int32"), ("I64", "int64"),
        ("U8", "uint8"), ("U16", "uint16"), ("U32", "uint32"),
        ("U64", "uint64"), ("F8_E4M3", "float8_e4m3fn"),
        ("F8_E5M2", "float8_e5m2"),
    ]:
        if hasattr(torch, _attr):
            TORCH_DTYPES[_name] = getattr(torch, _attr)
TORCH_NAMES = {v: k for k, v in TORCH_DTYPES.items()}

NUMPY_DTYPES = {}
if np is not None:
    for _name, _attr in [
        ("F16", "float16"), ("F32", "float32"), ("F64", "float64"),
        ("BOOL", "bool_"), ("I8", "int8"), ("I16", "int16"),
        ("I32", "int32"), ("I64", "int64"), ("U8", "uint8"),
        ("U16", "uint16"), ("U32", "uint32"), ("U64", "uint64"),
    ]:
        NUMPY_DTYPES[_name] = np.dtype(getattr(np, _attr))
    if ml_dtypes is not None:
        for _name, _attr in [("BF16", "bfloat16"),
                             ("F8_E4M3", "float8_e4m3fn"),
                             ("F8_E5M2", "float8_e5m2")]:
            NUMPY_DTYPES[_name] = np.dtype(getattr(ml_dtypes, _attr))
NUMPY_NAMES = {v: k for k, v in NUMPY_DTYPES.items()}

USE_TORCH = torch is not None


def framework_dtype(name):
    """The dtype results of this plan dtype get (None: there is none)."""
    return (TORCH_DTYPES if USE_TORCH else NUMPY_DTYPES).get(name)


def dtype_name(dtype):
    """A plan dtype name for a torch or NumPy dtype, or a name as given."""
    if torch is not None and isinstance(dtype, torch.dtype):
        if dtype not in TORCH_NAMES:
            raise ValueError("dtype %s has no plan dtype" % dtype)
        return TORCH_NAMES[dtype]
    if np is not None and not isinstance(dtype, str):
        try:
            d = np.dtype(dtype)
        except TypeError:
            d = None
        if d is not None:
            if d not in NUMPY_NAMES:
                raise ValueError("dtype %s has no plan dtype" % d)
            return NUMPY_NAMES[d]
    return str(dtype)


def as_array(x, name):
    """x as this package's array type (a torch.Tensor, else an ndarray)."""
    if USE_TORCH:
        if isinstance(x, torch.Tensor):
            return x
        if hasattr(x, "__dlpack__") or type(x).__name__ == "PyCapsule":
            try:
                return torch.utils.dlpack.from_dlpack(x)
            except Exception as e:  # e.g. read-only numpy arrays
                if type(x).__module__ == "numpy":
                    # Sources are only read: a read-only array is fine.
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", UserWarning)
                        return torch.from_numpy(x)
                raise ValueError("tensor '%s': cannot take it through "
                                 "DLPack: %s" % (name, e)) from e
        if type(x).__module__ == "numpy":
            return torch.from_numpy(x)
        raise TypeError("tensor '%s': expected a torch.Tensor or an object "
                        "with __dlpack__, not %s" % (name, type(x).__name__))
    if np is not None and isinstance(x, np.ndarray):
        return x
    if np is not None and hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except Exception as e:
            raise ValueError("tensor '%s': cannot take it through DLPack "
                             "into NumPy (without torch only CPU arrays "
                             "work): %s" % (name, e)) from e
    raise TypeError("tensor '%s': expected a NumPy array or an object with "
                    "__dlpack__, not %s" % (name, type(x).__name__))


def is_contiguous(t):
    if USE_TORCH:
        return t.is_contiguous()
    return t.flags["C_CONTIGUOUS"]


def contiguous(t):
    return t.contiguous() if USE_TORCH else np.ascontiguousarray(t)


def device_of(t):
    """(DLPack device code, index)."""
    if USE_TORCH:
        if t.is_cpu:
            return (N.DEVICE_CPU, 0)
        if t.is_cuda:
            return (N.DEVICE_CUDA, t.get_device())
        return (0, 0)
    return (N.DEVICE_CPU, 0)


def device_str(dev):
    return "cpu" if dev[0] == N.DEVICE_CPU else "cuda:%d" % dev[1]


def name_of(t, who):
    if USE_TORCH:
        n = TORCH_NAMES.get(t.dtype)
    else:
        n = NUMPY_NAMES.get(t.dtype)
    if n is None:
        raise ValueError("%s has dtype %s, which no plan has" % (who, t.dtype))
    return n


def known_dtype(t):
    """Whether t's dtype is one a plan can have (and its device usable)."""
    names = TORCH_NAMES if USE_TORCH else NUMPY_NAMES
    return t.dtype in names and device_of(t)[0] != 0


def data_ptr(t):
    if USE_TORCH:
        return t.data_ptr()
    return t.__array_interface__["data"][0]


_SHAPES = {}  # shape tuple -> its int64 array (read only by the library)


def _shape_array(shape):
    a = _SHAPES.get(shape)
    if a is None:
        if len(_SHAPES) > 4096:
            _SHAPES.clear()
        a = _SHAPES[shape] = (ctypes.c_int64 * max(1, len(shape)))(*shape)
    return a


def fill(struct, name, t, who):
    """Fills a wl_tensor with t (contiguous); returns what must stay alive."""
    shape = _shape_array(tuple(t.shape))
    dname = N.enc(name_of(t, who))
    bname = N.enc(name)
    dev = device_of(t)
    if dev[0] == 0:
        raise ValueError("%s is on device %s: only cpu and cuda tensors can "
                         "be used" % (who, t.device))
    struct.name = bname
    struct.data = data_ptr(t) or None
    struct.dtype = dname
    struct.ndim = t.ndim
    struct.shape = shape
    struct.device_type, struct.device_index = dev
    return (shape, dname, bname, t)


def tensor_array(items, role):
    """A ctypes array of wl_tensor over (name, contiguous tensor) pairs, and
    what keeps its strings alive."""
    arr = (N.Tensor * max(1, len(items)))()
    keep = []
    for i, (name, t) in enumerate(items):
        keep.append(fill(arr[i], name, t, "%s '%s'" % (role, name)))
    return arr, keep


def empty(shape, dtype_name, dev):
    """A new uninitialized tensor on device `dev` (DLPack code, index)."""
    dt = framework_dtype(dtype_name)
    if dt is None:
        raise ValueError("dtype %s has no %s dtype here" % (
            dtype_name, "torch" if USE_TORCH else "NumPy (install ml_dtypes)"))
    if USE_TORCH:
        device = "cpu" if dev[0] == N.DEVICE_CPU else "cuda:%d" % dev[1]
        return torch.empty(tuple(shape), dtype=dt, device=device)
    return np.empty(tuple(shape), dtype=dt)


def flat_view(src, offset, n, shape):
    """The elements [offset, offset + n) of contiguous `src` as `shape`: a
    view sharing its memory."""
    if USE_TORCH:
        return src.view(-1).narrow(0, offset, n).view(tuple(shape))
    return src.reshape(-1)[offset:offset + n].reshape(tuple(shape))


def copy_into(dst, src):
    if USE_TORCH:
        with torch.no_grad():
            dst.copy_(src)
    else:
        np.copyto(dst, src)


def current_stream(dev):
    """The framework's current CUDA stream of the device (0: none)."""
    if dev[0] == N.DEVICE_CUDA and USE_TORCH:
        return torch.cuda.current_stream(dev[1]).cuda_stream
    return 0


def bytes_of(t):
    """A writable NumPy uint8 view of contiguous CPU tensor t's memory."""
    if USE_TORCH:
        return t.view(-1).view(torch.uint8).numpy()
    return t.reshape(-1).view(np.uint8)

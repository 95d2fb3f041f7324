"""Checkpoints without pickle: ``save``/``load`` for nested training state, and
``save_file``/``load_file`` for flat tensor dicts, all in the safetensors format.

Note [Checkpoint format]
A checkpoint is one safetensors file. Tensors (and NumPy arrays) are its tensors; everything
else in the saved object (the nesting of dicts, lists and tuples, numbers, strings, None) is
JSON in the header's ``__metadata__`` under ``tapegrad.structure``, with each tensor replaced
by a reference to its name. ``tapegrad.sha256`` is a digest of every tensor's name, dtype,
shape and bytes and of the other metadata, so a flipped bit anywhere is caught on load
(safetensors itself has no checksum). Loading never unpickles and never evaluates anything:
the header is parsed as JSON after its size is checked against the file's, and each tensor's
byte range, dtype and shape are checked before anything is allocated, so a hostile or
damaged file gets a clear error naming the file and the problem. Writes go to a temporary
file in the same directory, flushed, fsynced and renamed over the target, so a crash
mid-save keeps the old checkpoint.
"""
import hashlib
import json
import math
import os
import secrets
import stat
import struct

import numpy as np

from ._core.errors import ArgumentError, DTypeError
from ._core.tensor import Tensor, wrap

__all__ = ["save", "load", "save_file", "load_file", "CheckpointError"]

_MAX_HEADER = 100 * 1024 * 1024     # safetensors' own limit on the JSON header
_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64, "I8": np.int8,
           "I16": np.int16, "I32": np.int32, "I64": np.int64, "U8": np.uint8, "BOOL": np.bool_}
_CODES = {np.dtype(v): k for k, v in _DTYPES.items()}
_STRUCTURE, _DIGEST = "tapegrad.structure", "tapegrad.sha256"


class CheckpointError(ArgumentError):
    """A file that is not a readable checkpoint: truncated, corrupted, the wrong format."""


# ---- writing ---------------------------------------------------------------------------
def _digest(arrays, metadata):
    """Covers every tensor's name, dtype, shape and bytes, and the other metadata."""
    h = hashlib.sha256()
    h.update(json.dumps(sorted((k, v) for k, v in metadata.items() if k != _DIGEST)).encode())
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\0".encode())
        h.update(a.reshape(-1).view(np.uint8).data)
    return h.hexdigest()


def _array_for_file(name, value):
    arr = value._data if isinstance(value, Tensor) else np.asarray(value)
    if arr.dtype.byteorder == ">" and arr.dtype.newbyteorder("=") in _CODES:
        arr = arr.astype(arr.dtype.newbyteorder("="))   # the file is little-endian anyway
    if arr.dtype not in _CODES:
        raise DTypeError(f"save: tensor {name!r} has dtype {arr.dtype}, which safetensors "
                         f"files in tapegrad do not hold; supported: {sorted(_CODES.values())}")
    # NOTE: not np.ascontiguousarray, which turns a 0-d array into a 1-d one.
    return arr if arr.flags.c_contiguous else arr.copy(order="C")


def _encode(tensors, metadata):
    """The bytes of a safetensors file (written by the ``safetensors`` package)."""
    try:
        from safetensors.numpy import save as st_save
    except ImportError:
        raise ImportError("saving checkpoints needs the safetensors package: "
                          "pip install safetensors") from None
    arrays = {name: _array_for_file(name, t) for name, t in tensors.items()}
    metadata = dict(metadata or {})
    metadata[_DIGEST] = _digest(arrays, metadata)
    return st_save(arrays, metadata=metadata)


def _create_temporary(directory, path):
    """(fd, name) of a new file next to ``path``, with the mode ``path`` has or, for a new
    file, the usual ``0o666 & ~umask`` (mkstemp's 0600 would survive the rename)."""
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = None
    while True:
        tmp = os.path.join(directory, f".tmp-{secrets.token_hex(8)}.safetensors")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
            fd = os.open(tmp, flags, 0o666)                  # the kernel applies the umask
        except FileExistsError:
            continue
        if mode is not None:
            try:
                os.chmod(tmp, mode)
            except OSError:
                pass
        return fd, tmp


def _write_atomic(data, f):
    """Write ``data`` to a path atomically (temporary file, fsync, rename), or to an open
    binary file object as is."""
    if hasattr(f, "write"):
        f.write(data)
        return
    path = os.fspath(f)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = _create_temporary(directory, path)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    try:                                # make the rename itself durable
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def save_file(tensors, path, metadata=None):
    """Write a flat dict of tensors to a safetensors file (atomically).

    The file opens with ``safetensors.torch.load_file`` in PyTorch and with any other
    safetensors reader.

    Args:
        tensors: a dict from string names to Tensors (or NumPy arrays).
        path: the file to write.
        metadata: optional dict of strings to strings stored in the header.

    Example:
        >>> import tapegrad as tg, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
        >>> tg.save_file({"w": tg.ones(2)}, path); tg.load_file(path)
        {'w': tensor([1., 1.])}
    """
    if not isinstance(tensors, dict) or not all(isinstance(k, str) for k in tensors):
        raise TypeError("save_file: tensors must be a dict from string names to tensors")
    if metadata is not None and not all(isinstance(k, str) and isinstance(v, str)
                                        for k, v in metadata.items()):
        raise TypeError("save_file: metadata must be a dict of strings to strings")
    _write_atomic(_encode(tensors, metadata), path)


def _flatten(obj, tensors, where):
    """The JSON form of ``obj``; its tensors go into ``tensors`` under fresh names."""
    if isinstance(obj, (Tensor, np.ndarray)):
        if isinstance(obj, Tensor) and obj.requires_grad and obj.grad_fn is not None:
            obj = obj.detach()
        name = str(len(tensors))
        tensors[name] = obj
        return {"__tensor__" if isinstance(obj, Tensor) else "__ndarray__": name}
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, np.bool_):        # not an np.integer, unlike the other scalars
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if isinstance(k, np.integer):
                k = int(k)
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise TypeError(f"save: dict keys must be strings or ints, got {k!r} at {where}")
            items.append([k, _flatten(v, tensors, f"{where}[{k!r}]")])
        return {"__dict__": items}
    if isinstance(obj, (list, tuple)):
        values = [_flatten(v, tensors, f"{where}[{i}]") for i, v in enumerate(obj)]
        return values if isinstance(obj, list) else {"__tuple__": values}
    raise TypeError(f"save: can't store {type(obj).__name__} at {where}; checkpoints hold "
                    "tensors, NumPy arrays, numbers, strings, None and dicts/lists/tuples of "
                    "them (no pickle)")


def save(obj, f):
    """Save a training checkpoint: state dicts and nested dicts/lists/tuples of tensors,
    numbers and strings, as one safetensors file (atomically; never pickle).

    Args:
        obj: what to save, e.g. ``{"model": model.state_dict(), "optim":
            opt.state_dict(), "epoch": 3}``.
        f: a path, or a binary file object open for writing.

    Example:
        >>> import tapegrad as tg, tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "ckpt.safetensors")
        >>> tg.save({"w": tg.ones(2), "step": 7, "tags": ("a", None)}, path); tg.load(path)
        {'w': tensor([1., 1.]), 'step': 7, 'tags': ('a', None)}
    """
    tensors = {}
    structure = _flatten(obj, tensors, "obj")
    _write_atomic(_encode(tensors, {_STRUCTURE: json.dumps(structure)}), f)


# ---- reading ---------------------------------------------------------------------------
def _source_name(f):
    return repr(os.fspath(f)) if not hasattr(f, "read") else repr(getattr(f, "name", f))


def _read_bytes(f):
    if hasattr(f, "read"):
        data = f.read()
        if isinstance(data, str):
            raise TypeError(f"load: {_source_name(f)} is open in text mode; open checkpoints "
                            "with open(path, 'rb')")
        return data
    with open(os.fspath(f), "rb") as fh:
        return fh.read()


def _refuse_foreign(data, name):
    # A safetensors file's 9th byte opens its JSON header; PyTorch's files are zip archives
    # (PK) or, in the legacy format, a pickle (protocol byte 0x80).
    if data[8:9] == b"{":
        return
    # PyTorch's zip names its first member <archive>/data.pkl (at offset 30 of the zip).
    if data[:4] == b"PK\x03\x04" and b"data.pkl" not in data[30:30 + 256]:
        raise CheckpointError(f"{name} is a zip archive (an .npz?), not a safetensors file")
    if data[:4] == b"PK\x03\x04" or data[:1] == b"\x80":
        raise CheckpointError(
            f"{name} looks like a PyTorch .pt/.pth (pickle) file; tapegrad never unpickles, "
            "because loading a pickle can run arbitrary code. Convert it once in PyTorch: "
            "`from safetensors.torch import save_file; save_file(torch.load(path, "
            "weights_only=True), 'model.safetensors')`, then load that file.")


def _parse(data, name):
    """(metadata, {tensor name: array}) from the bytes of a safetensors file, checked."""
    _refuse_foreign(data, name)
    if len(data) < 8:
        raise CheckpointError(f"{name} is truncated: {len(data)} bytes, shorter than a "
                              "safetensors header")
    (n,) = struct.unpack("<Q", data[:8])
    if n > _MAX_HEADER:
        raise CheckpointError(f"{name}: the safetensors header claims {n} bytes, over the "
                              f"{_MAX_HEADER}-byte limit; the file is corrupted, hostile or not "
                              "a safetensors file")
    if n > len(data) - 8:
        raise CheckpointError(f"{name} is truncated: its header claims {n} bytes but only "
                              f"{len(data) - 8} follow")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:   # deep nesting: Recursion
        raise CheckpointError(f"{name}: the safetensors header is not valid JSON ({e}); the "
                              "file is corrupted or not a safetensors file") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{name}: the safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    # The safetensors format says string to string; anything else would reach the checksum
    # and the structure decoding as types they don't expect.
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise CheckpointError(f"{name}: the safetensors __metadata__ is not a JSON object of "
                              "strings; the file is corrupted or not a safetensors file")
    body = memoryview(data)[8 + n:]
    arrays, spans = {}, []
    for key, info in header.items():
        try:
            code, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
            count = math.prod(shape)
            # NOTE: bools are ints to Python; NumPy also caps ndim (64) and the element
            # count, which a zero dim would otherwise let through to reshape.
            ok = (isinstance(code, str) and len(shape) <= 32
                  and all(type(s) is int and 0 <= s < 2 ** 62 for s in shape)
                  and math.prod(s for s in shape if s) < 2 ** 62
                  and type(begin) is int and type(end) is int)
        except (TypeError, KeyError, ValueError):
            ok = False
        if not ok:
            raise CheckpointError(f"{name}: tensor {key!r} has a malformed header entry {info!r}")
        if code == "BF16":
            itemsize = 2
        elif code in _DTYPES:
            itemsize = np.dtype(_DTYPES[code]).itemsize
        else:
            raise CheckpointError(f"{name}: tensor {key!r} has dtype {code}, which tapegrad "
                                  f"can't hold (it reads {', '.join(_DTYPES)} and BF16)")
        if not 0 <= begin <= end <= len(body) or end - begin != count * itemsize:
            raise CheckpointError(
                f"{name}: tensor {key!r} (dtype {code}, shape {shape}) claims bytes "
                f"[{begin}, {end}) of a {len(body)}-byte data section; the file is truncated "
                "or corrupted")
        spans.append((begin, end, key))
        raw = np.frombuffer(body[begin:end], dtype=np.uint16 if code == "BF16"
                            else _DTYPES[code]).reshape(shape)
        if code == "BF16":       # NumPy has no bfloat16: widen exactly to float32
            raw = (raw.astype(np.uint32) << 16).view(np.float32)
        arrays[key] = raw.copy()
    spans.sort()
    for (b0, e0, k0), (b1, _, k1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise CheckpointError(f"{name}: tensors {k0!r} and {k1!r} overlap in the file")
    digest = metadata.get(_DIGEST)
    if digest is None and _STRUCTURE in metadata:
        raise CheckpointError(f"{name}: the checkpoint's checksum is missing; the file is "
                              "corrupted")
    if digest is not None and _digest(arrays, metadata) != digest:
        raise CheckpointError(f"{name}: the data does not match the checksum written with "
                              "it; the file is corrupted")
    return metadata, arrays


def load_file(path):
    """Read a flat safetensors file (written by tapegrad, PyTorch or any other framework)
    into a dict of Tensors; BF16 tensors become float32.

    Use it to load weights into a module: ``model.load_state_dict(tg.load_file(path))``.
    Errors (a :class:`CheckpointError`) name the file and what is wrong with it.
    """
    name = _source_name(path)
    _, arrays = _parse(_read_bytes(path), name)
    return {k: wrap(v) for k, v in arrays.items()}


def _unflatten(node, arrays, name):
    if isinstance(node, list):
        return [_unflatten(v, arrays, name) for v in node]
    if not isinstance(node, dict):
        return node
    if len(node) != 1:
        raise CheckpointError(f"{name}: unexpected entry in the checkpoint structure: {node!r}")
    (tag, value), = node.items()
    if tag in ("__tensor__", "__ndarray__"):
        if value not in arrays:
            raise CheckpointError(f"{name}: the structure refers to tensor {value!r}, which "
                                  "the file does not hold")
        return wrap(arrays[value]) if tag == "__tensor__" else arrays[value]
    if tag == "__float__":
        return float(value)
    if tag == "__tuple__":
        return tuple(_unflatten(v, arrays, name) for v in value)
    if tag == "__dict__":
        return {k: _unflatten(v, arrays, name) for k, v in value}
    raise CheckpointError(f"{name}: unknown entry {tag!r} in the checkpoint structure")


def load(f, weights_only=True, map_location=None):
    """Load what :func:`save` wrote. Never unpickles: ``weights_only`` is accepted for
    PyTorch compatibility, and either value loads only tensors, numbers, strings and
    containers. A flat safetensors file from elsewhere loads as a dict of tensors.

    Args:
        f: a path, or a binary file object open for reading.
        weights_only: accepted and ignored (loading is always safe).
        map_location: accepted for PyTorch compatibility; only the CPU exists.
    """
    name = _source_name(f)
    metadata, arrays = _parse(_read_bytes(f), name)
    structure = metadata.get(_STRUCTURE)
    if structure is None:
        return {k: wrap(v) for k, v in arrays.items()}
    # NOTE: the checksum is no signature, so a hostile file can hold any structure with a
    # valid one: wrong types and deep nesting must come out as a CheckpointError too.
    try:
        return _unflatten(json.loads(structure), arrays, name)
    except (TypeError, ValueError, RecursionError) as e:
        if isinstance(e, CheckpointError):
            raise
        raise CheckpointError(f"{name}: the checkpoint structure is malformed "
                              f"({type(e).__name__}: {str(e)[:100]}); the file is corrupted "
                              "or was not written by tapegrad.save") from None

"""Restricted unpickler for NVIDIA "persistence" pickles (EDM ``.pkl``, format version 6).

Only the globals a legitimate EDM snapshot references resolve, each to a safe stand-in. Persistent objects become
inert records and the source code stored in them (``module_src``) is never read, let alone run. Storage blobs go
through torch's weights-only loader instead of the unrestricted nested unpickle of ``torch.storage._load_from_bytes``.
"""

from __future__ import annotations

import io
import os
import pickle
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import CheckpointError
from .messages import one_line

PERSISTENCE_VERSION = 6
_NUMPY_KINDS = "biufc"


class Refused(Exception):
    """Raised inside the unpickler; turned into a one-line CheckpointError by ``read_persistence_pickle``."""


@dataclass(eq=False)
class PersistentRecord:
    """An inert persistent object: its class name and pickled ``__dict__`` (``module_src`` is dropped unread)."""

    class_name: str
    state: dict

    def __setstate__(self, state: Any) -> None:
        raise Refused("BUILD applied to a persistent object")


class ModuleDictRecord:
    """Inert stand-in for ``torch.nn.ModuleDict``: keeps the pickled ``__dict__``, never becomes a module."""

    state: dict

    def __setstate__(self, state: Any) -> None:
        if not isinstance(state, dict):
            raise Refused(f"ModuleDict state is a {type(state).__name__}, not a dict")
        self.state = state


@dataclass(frozen=True)
class TensorShape:
    """A tensor's shape when storages are not decoded (inspection)."""

    shape: tuple[int, ...]


@dataclass(frozen=True)
class _UndecodedStorage:
    nbytes: int


def _reconstruct_persistent_obj(meta: Any) -> PersistentRecord:
    if not isinstance(meta, dict):
        raise Refused(f"persistent object metadata is a {type(meta).__name__}, not a dict")
    if meta.get("type") != "class":
        raise Refused(f"persistent object of type {meta.get('type')!r} (only 'class' is supported)")
    if meta.get("version") != PERSISTENCE_VERSION:
        raise Refused(f"persistence format version {meta.get('version')!r} (only {PERSISTENCE_VERSION} is supported)")
    name, state = meta.get("class_name"), meta.get("state")
    if not isinstance(name, str) or not isinstance(state, dict):
        raise Refused("persistent object without a class name or state dict")
    return PersistentRecord(name, state)


def _check_hooks(hooks: Any) -> None:
    if hooks is not None and (not isinstance(hooks, dict) or hooks):
        raise Refused("tensor with backward hooks")


def _storage_from_bytes(blob: Any):
    import torch

    if not isinstance(blob, bytes | bytearray):
        raise Refused(f"storage blob is a {type(blob).__name__}, not bytes")
    blob = bytes(blob)  # immutable: a bytearray freed while torch still views it raises an unraisable SystemError
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            storage = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
        except Exception as exc:  # torch raises many kinds for a bad blob; the user needs one line
            raise Refused(f"storage blob refused by torch's weights-only loader: {one_line(exc)}") from None
    if not isinstance(storage, torch.storage.TypedStorage):
        raise Refused(f"storage blob holds a {type(storage).__name__}, not a storage")
    return storage


def _undecoded_storage(blob: Any) -> _UndecodedStorage:
    if not isinstance(blob, bytes | bytearray):
        raise Refused(f"storage blob is a {type(blob).__name__}, not bytes")
    return _UndecodedStorage(len(blob))


def _int_tuple(value: Any, what: str) -> tuple[int, ...]:
    if not isinstance(value, tuple | list) or not all(type(v) is int and v >= 0 for v in value):
        raise Refused(f"tensor {what} is not a tuple of non-negative ints")
    return tuple(value)


def _rebuild_tensor(storage, offset, size, stride, requires_grad=False, backward_hooks=None, metadata=None):
    import torch

    _check_hooks(backward_hooks)
    if metadata:
        raise Refused("tensor with extra metadata")
    size, stride = _int_tuple(size, "size"), _int_tuple(stride, "stride")
    if type(offset) is not int or offset < 0 or len(size) != len(stride):
        raise Refused("tensor with an invalid offset or stride")
    if isinstance(storage, _UndecodedStorage):
        return TensorShape(size)
    if not isinstance(storage, torch.storage.TypedStorage):
        raise Refused(f"tensor storage is a {type(storage).__name__}")
    try:
        return torch._utils._rebuild_tensor_v2(storage, offset, size, stride, bool(requires_grad), OrderedDict())
    except RuntimeError as exc:
        raise Refused(f"tensor does not fit its storage: {one_line(exc)}") from None


def _rebuild_parameter(data, requires_grad, backward_hooks):
    import torch

    _check_hooks(backward_hooks)
    if isinstance(data, TensorShape):
        return data
    if type(data) is not torch.Tensor:
        raise Refused(f"parameter data is a {type(data).__name__}, not a tensor")
    return torch.nn.Parameter(data, requires_grad=bool(requires_grad))


def _rebuild_parameter_with_state(data, requires_grad, backward_hooks, state):
    if state:
        raise Refused("parameter with extra Python state")
    return _rebuild_parameter(data, requires_grad, backward_hooks)


def _numpy_dtype(spec: Any, align: Any = False, _copy: Any = True):
    import numpy as np

    if not isinstance(spec, str):
        raise Refused("numpy dtype given by a non-string")
    try:
        dtype = np.dtype(spec, align=bool(align), copy=True)  # a copy: the BUILD that follows mutates it
    except TypeError:
        raise Refused(f"numpy dtype {spec!r}") from None
    if dtype.kind not in _NUMPY_KINDS:
        raise Refused(f"numpy dtype {spec!r} (only numeric dtypes are allowed)")
    return dtype


def _numpy_scalar(dtype: Any, data: Any = None):
    import numpy as np

    if not isinstance(dtype, np.dtype) or dtype.kind not in _NUMPY_KINDS or dtype.fields or dtype.hasobject:
        raise Refused("numpy scalar of a non-numeric dtype")
    if not isinstance(data, bytes) or len(data) != dtype.itemsize:
        raise Refused("numpy scalar with malformed data")
    return np.frombuffer(data, dtype=dtype)[0].item()


class _StandIn:
    """A callable global that the BUILD opcode cannot modify (no ``__dict__``, ``__setstate__`` refuses)."""

    __slots__ = ("_func",)

    def __init__(self, func: Any) -> None:
        self._func = func

    def __call__(self, *args: Any) -> Any:
        return self._func(*args)

    def __setstate__(self, state: Any) -> None:
        raise Refused("BUILD applied to a global")


def _allowed_globals(decode_storages: bool) -> dict[tuple[str, str], Any]:
    """Stand-ins for every global a legitimate EDM pickle references; classes only where NEWOBJ needs one."""
    standin = {
        ("torch_utils.persistence", "_reconstruct_persistent_obj"): _reconstruct_persistent_obj,
        ("torch.storage", "_load_from_bytes"): _storage_from_bytes if decode_storages else _undecoded_storage,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
        ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter_with_state,
        ("numpy", "dtype"): _numpy_dtype,
        ("numpy.core.multiarray", "scalar"): _numpy_scalar,
        ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    }
    classes = {  # immutable built-in types, and a record class whose __setstate__ only works on instances
        ("torch.nn.modules.container", "ModuleDict"): ModuleDictRecord,
        ("collections", "OrderedDict"): OrderedDict,
        ("builtins", "set"): set,
        ("dnnlib.util", "EasyDict"): dict,
    }
    return {**{k: _StandIn(f) for k, f in standin.items()}, **classes}


class _BoundedFile:
    """A file whose reads never ask for more than it still holds, so a damaged length in a pickle is refused
    before anything of that size is allocated."""

    def __init__(self, fh, size: int) -> None:
        self.fh, self.left = fh, size

    def _claim(self, n: int) -> None:
        if n > self.left:
            raise Refused(f"truncated or corrupt pickle: a record of {n:,} bytes where only {self.left:,} remain")

    def read(self, n: int = -1) -> bytes:
        n = self.left if n is None or n < 0 else n
        self._claim(n)
        data = self.fh.read(n)
        self.left -= len(data)
        return data

    def readinto(self, buffer) -> int:
        self._claim(len(buffer))
        got = self.fh.readinto(buffer)
        self.left -= got
        return got

    def readline(self) -> bytes:
        line = self.fh.readline()
        self.left -= len(line)
        return line


def _refuse_opcode(self) -> None:
    raise Refused("bytearray or out-of-band buffer in a checkpoint pickle (EDM snapshots hold neither)")


class _RestrictedUnpickler(pickle._Unpickler):
    """The pure-Python unpickler over a bounded file: every length is checked against what the file holds (the C
    unpickler allocates first, and its error path for a corrupt bytearray length prints a SystemError)."""

    dispatch = dict(pickle._Unpickler.dispatch)
    for _op in (pickle.BYTEARRAY8, pickle.NEXT_BUFFER, pickle.READONLY_BUFFER):
        dispatch[_op[0]] = _refuse_opcode

    def __init__(self, file, decode_storages: bool) -> None:
        super().__init__(_BoundedFile(file, os.fstat(file.fileno()).st_size))
        self._globals = _allowed_globals(decode_storages)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._globals[(module, name)]
        except KeyError:
            raise Refused(f"refused global {module}.{name}") from None

    def persistent_load(self, pid: Any) -> Any:
        raise Refused(f"refused persistent id {str(pid)[:60]!r}")


def read_persistence_pickle(path: Path, decode_storages: bool = True) -> Any:
    """Unpickle an EDM snapshot into inert records and CPU tensors; nothing stored in the file is executed.

    With ``decode_storages=False`` tensors come back as ``TensorShape`` (for inspection without loading weights).
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            return _RestrictedUnpickler(f, decode_storages).load()
    except Refused as exc:
        raise CheckpointError(path, str(exc)) from None
    except (EOFError, pickle.UnpicklingError) as exc:
        raise CheckpointError(path, f"truncated or corrupt pickle ({one_line(exc)})") from None
    except OSError as exc:
        raise CheckpointError(path, f"cannot read file: {exc.strerror or exc}") from None
    except Exception as exc:  # a malformed pickle can make any stand-in raise; never show a pickle traceback
        raise CheckpointError(
            path, f"not a valid EDM persistence pickle ({type(exc).__name__}: {one_line(exc)})"
        ) from None

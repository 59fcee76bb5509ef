"""Write EDM checkpoints in NVIDIA's persistence pickle format (version 6) without NVIDIA's code.

A pure-Python pickler turns every network module into ``REDUCE(torch_utils.persistence._reconstruct_persistent_obj,
(meta,))`` as the real persistence decorator does, through ``reducer_override``; a fake ``torch_utils.persistence``
module is registered in ``sys.modules`` only while writing. Each object's ``module_src`` is a tripwire: running it
creates the tripwire file and exits, so a loader that executes it is caught. Used by tests and the load benchmark.
"""

from __future__ import annotations

import io
import pickle
import sys
import types
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from diffviews_core.networks import Conv2d, DhariwalUNet, EDMPrecond, GroupNorm, Linear, PositionalEmbedding, UNetBlock

PERSISTENT_CLASSES = (EDMPrecond, DhariwalUNet, UNetBlock, Conv2d, Linear, GroupNorm, PositionalEmbedding)


@dataclass(frozen=True)
class GlobalName:
    """Pickles as the global ``module.name``, whatever that is (a numpy path of another version, ``os.system``)."""

    module: str
    name: str

    def __call__(self, *args: Any) -> Any:
        raise RuntimeError("GlobalName only stands for a global while pickling")


@dataclass(eq=False)
class Reduce:
    """Pickles as ``REDUCE(func, args)``."""

    func: Any
    args: tuple


@dataclass(eq=False)
class Inert:
    """A persistent object of any class name (EDMLoss, or an unknown class)."""

    class_name: str
    state: dict = field(default_factory=dict)


class EasyDict(dict):
    """Pickles as ``dnnlib.util.EasyDict`` (the type of EDM's ``dataset_kwargs``)."""


class PersistentIdMarker:
    """Pickles as a persistent id, which a safe loader must refuse."""


def tripwire_source(tripwire: Path) -> str:
    """Module source that proves it ran: it creates ``tripwire`` and exits."""
    return f"open({str(tripwire)!r}, 'w').close()\nraise SystemExit('module_src was executed')\n"


def evil(tripwire: Path, how: str = "os.system") -> Reduce:
    """An object whose unpickling by a stock unpickler creates ``tripwire``."""
    if how == "os.system":
        return Reduce(GlobalName("os", "system"), (f"touch {tripwire}",))
    if how == "builtins.eval":
        return Reduce(GlobalName("builtins", "eval"), (f"open({str(tripwire)!r}, 'w').close()",))
    if how == "subprocess.run":
        return Reduce(GlobalName("subprocess", "run"), (["touch", str(tripwire)],))
    if how == "subprocess.Popen":
        return Reduce(GlobalName("subprocess", "Popen"), (["touch", str(tripwire)],))
    raise ValueError(how)


def evil_storage_tensor(tripwire: Path, shape: tuple[int, ...]) -> Reduce:
    """A tensor whose storage blob is itself a pickle that calls ``os.system``."""
    blob = io.BytesIO()
    _Pickler(blob, tripwire=tripwire, protocol=2).dump(evil(tripwire))  # protocol 2, as torch.save writes
    strides = tuple(int(np.prod(shape[i + 1 :])) for i in range(len(shape)))
    storage = Reduce(torch.storage._load_from_bytes, (blob.getvalue(),))
    return Reduce(torch._utils._rebuild_tensor_v2, (storage, 0, shape, strides, False, OrderedDict()))


def edm_snapshot(net: EDMPrecond, layout: str = "full") -> dict[str, Any]:
    """The top level of an EDM training snapshot (``full``) or of the original DiffViews' DMD2 file (``ema``)."""
    if layout == "ema":
        return {"ema": net}
    loss = Inert("EDMLoss", {"P_mean": -1.2, "P_std": 1.2, "sigma_data": 0.5, "_init_args": (), "_init_kwargs": {}})
    dataset = EasyDict(class_name="training.dataset.ImageFolderDataset", path="imagenet-64x64.zip", use_labels=True)
    return {"ema": net, "loss_fn": loss, "augment_pipe": None, "dataset_kwargs": dataset}


@contextmanager
def fake_persistence_module() -> Iterator[types.FunctionType]:
    """Register ``torch_utils.persistence`` in sys.modules while writing; restore sys.modules afterwards."""

    def _reconstruct_persistent_obj(meta):
        raise AssertionError("the fake persistence module must never be used for loading")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    package = types.ModuleType("torch_utils")
    module = types.ModuleType("torch_utils.persistence")
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    package.persistence = module
    saved = {name: sys.modules.get(name) for name in ("torch_utils", "torch_utils.persistence")}
    sys.modules.update({"torch_utils": package, "torch_utils.persistence": module})
    try:
        yield _reconstruct_persistent_obj
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


@contextmanager
def stock_persistence_module() -> Iterator[None]:
    """A ``torch_utils.persistence`` that loads as NVIDIA's does (it executes each object's ``module_src``): only for
    the tripwire's positive control, which shows what a loader that trusts the file would run."""

    def _reconstruct_persistent_obj(meta):
        module = types.ModuleType("_imported_module")
        exec(meta["module_src"], module.__dict__)  # noqa: S102 (the behaviour under test)
        return getattr(module, meta["class_name"])

    package = types.ModuleType("torch_utils")
    module = types.ModuleType("torch_utils.persistence")
    module._reconstruct_persistent_obj = _reconstruct_persistent_obj
    package.persistence = module
    saved = {name: sys.modules.get(name) for name in ("torch_utils", "torch_utils.persistence")}
    sys.modules.update({"torch_utils": package, "torch_utils.persistence": module})
    try:
        yield
    finally:
        for name, previous in saved.items():
            if previous is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = previous


class _Pickler(pickle._Pickler):
    """Python pickler (so ``save`` can write arbitrary globals) emitting persistence-format network modules."""

    def __init__(
        self,
        file,
        *,
        tripwire: Path,
        reconstruct: Any = None,
        init_kwargs: dict[int, dict] | None = None,
        prefixes: dict[int, str] | None = None,
        ordered: bool = False,
        version: int = 6,
        numpy_path: str | None = None,
        class_names: dict[str, str] | None = None,
        tensor_overrides: dict[str, Any] | None = None,
        ema_extra: dict[str, Any] | None = None,
        protocol: int = 4,
    ) -> None:
        super().__init__(file, protocol=protocol)
        self.source = tripwire_source(tripwire)
        self.reconstruct = reconstruct
        self.init_kwargs = init_kwargs or {}
        self.prefixes = prefixes or {}
        self.ordered = ordered
        self.version = version
        self.numpy_path = numpy_path
        self.class_names = class_names or {}
        self.tensor_overrides = tensor_overrides or {}
        self.ema_extra = ema_extra or {}

    def save(self, obj: Any, save_persistent_id: bool = True) -> None:
        if isinstance(obj, GlobalName):
            self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
            return
        super().save(obj, save_persistent_id)

    def persistent_id(self, obj: Any) -> Any:
        return "storage-0" if isinstance(obj, PersistentIdMarker) else None

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Reduce):
            return obj.func, obj.args
        if isinstance(obj, Inert):
            return self._persistent(obj.class_name, obj.state)
        if isinstance(obj, EasyDict):
            return GlobalName("dnnlib.util", "EasyDict"), (), None, None, iter(obj.items())
        if isinstance(obj, PERSISTENT_CLASSES):
            prefix = self.prefixes.get(id(obj), "")
            return self._persistent(self.class_names.get(prefix, type(obj).__name__), self._module_state(obj, prefix))
        if self.numpy_path and isinstance(obj, np.generic):
            return GlobalName(self.numpy_path, "scalar"), (obj.dtype, obj.tobytes())
        return NotImplemented

    def _persistent(self, class_name: str, state: dict) -> tuple:
        meta = dict(type="class", version=self.version, module_src=self.source, class_name=class_name, state=state)
        return self.reconstruct, (meta,)

    def _module_state(self, module: torch.nn.Module, prefix: str) -> dict:
        container = OrderedDict if self.ordered else dict
        state = dict(module.__dict__)
        for key in ("_parameters", "_buffers", "_modules"):
            state[key] = container(state[key])
        for name in state["_parameters"]:
            dotted = f"{prefix}.{name}" if prefix else name
            if dotted in self.tensor_overrides:
                state["_parameters"][name] = self.tensor_overrides[dotted]
        state["_init_args"] = ()
        state["_init_kwargs"] = self.init_kwargs.get(id(module), {})
        if not prefix and isinstance(module, EDMPrecond):
            state.update(self.ema_extra)
        return state


def write_edm_pickle(path: Path, top: dict[str, Any], config: dict, *, tripwire: Path, **options: Any) -> Path:
    """Write ``top`` (see ``edm_snapshot``) as an EDM ``.pkl``; ``config`` becomes the EDMPrecond's ``_init_kwargs``.

    Options: ``ordered`` (OrderedDict containers), ``version``, ``numpy_path`` (the global numpy scalars pickle
    through), ``class_names`` (dotted module name -> class_name), ``tensor_overrides`` (dotted parameter name ->
    object), ``ema_extra`` (extra attributes of the EDMPrecond).
    """
    net = top["ema"]
    prefixes = {id(m): name for name, m in net.named_modules()} if isinstance(net, torch.nn.Module) else {}
    path = Path(path)
    with fake_persistence_module() as reconstruct, open(path, "wb") as f:
        pickler = _Pickler(
            f, tripwire=tripwire, reconstruct=reconstruct, init_kwargs={id(net): config}, prefixes=prefixes, **options
        )
        pickler.dump(top)
    return path


def pickle_bytes(obj: Any, tripwire: Path) -> bytes:
    """``obj`` pickled by the same writer (for hand-made top levels such as a bare persistent id)."""
    buf = io.BytesIO()
    with fake_persistence_module() as reconstruct:
        _Pickler(buf, tripwire=tripwire, reconstruct=reconstruct).dump(obj)
    return buf.getvalue()

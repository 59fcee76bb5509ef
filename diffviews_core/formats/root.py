"""Open a data root (one folder per model) or a single model folder; broken models are listed, not fatal."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ..errors import DataError
from . import native
from .files import read_json_object
from .model import ModelData

log = logging.getLogger(__name__)

CLASS_INDEX = "imagenet_standard_class_index.json"
UNEXPECTED = "could not be read (unexpected"  # marks a reader bug in a problem message; tests look for it


def is_model_dir(path: Path) -> bool:
    """A config.json or manifest.json is present (of any file type: a bad one is reported when the model opens)."""
    return os.path.lexists(path / "config.json") or native.is_native(path)


def read_class_index(path: Path) -> dict[int, str]:
    """``{"0": ["n01440764", "tench"], ...}`` (or ``{"0": "tench"}``) -> {0: "tench"}."""
    data = read_json_object(path)
    out = {}
    for k, v in data.items():
        try:
            key = int(k)
        except ValueError:
            raise DataError(path, f"key {k!r} is not a class number") from None
        if isinstance(v, list) and v:
            out[key] = str(v[-1])
        elif isinstance(v, str):
            out[key] = v
        else:
            raise DataError(path, f"class {k}: expected [synset, name] or a name, found {v!r}")
    return out


class DataRoot:
    """Models that opened (sorted by name), problems of those that did not, shared class names."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.models: dict[str, ModelData] = {}
        self.problems: dict[str, str] = {}
        self.class_names: dict[int, str] | None = None
        if not self.path.exists():
            raise DataError(self.path, "no such folder")
        if not self.path.is_dir():
            raise DataError(self.path, "not a folder (give a data root or a model folder)")
        single = is_model_dir(self.path)
        root = self.path.parent if single else self.path
        index = root / CLASS_INDEX
        if os.path.lexists(index):
            try:
                self.class_names = read_class_index(index)
            except DataError as exc:
                self.problems[CLASS_INDEX] = str(exc)
        try:
            folders = (
                [self.path] if single else sorted(p for p in self.path.iterdir() if p.is_dir() and is_model_dir(p))
            )
        except OSError as exc:
            raise DataError(self.path, f"cannot list the folder: {exc.strerror or exc}") from None
        if not folders:
            raise DataError(self.path, "no model folders here (a model folder has config.json or manifest.json)")
        for folder in folders:
            try:
                self.models[folder.name] = ModelData(folder, root=root, class_names=self.class_names)
            except DataError as exc:
                log.info("model %s did not open: %s", folder.name, exc)
                self.problems[folder.name] = str(exc)
            except OSError as exc:
                self.problems[folder.name] = f"{exc.filename or folder}: {exc.strerror or exc}"
            except Exception as exc:  # a reader bug must cost this model only, and still name the folder
                log.debug("model %s did not open", folder.name, exc_info=True)
                detail = " ".join(str(exc).split())[:200]
                self.problems[folder.name] = f"{folder}: {UNEXPECTED} {type(exc).__name__}: {detail})"

    def __repr__(self) -> str:
        return f"DataRoot({str(self.path)!r}, models={list(self.models)}, problems={list(self.problems)})"


def open_data(path: Path | str) -> DataRoot:
    """Open ``path`` as a data root or a single model folder; raises DataError only if ``path`` itself is unusable."""
    try:
        path = Path(path).expanduser()
    except RuntimeError:  # "~someone" with no such user
        raise DataError(path, "no such folder") from None
    return DataRoot(path)

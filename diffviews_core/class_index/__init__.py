"""ImageNet-1k class names and synset ids shipped with the package (sources: NOTICE.md beside this file).

The standard order numbers the 1000 classes by sorted synset id; sources stored in another order (Downsampled
ImageNet's devkit order, or a user's own) are mapped to it through synset ids. Plain JSON, no engine imports.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ..errors import DataError

IMAGENET_NUM_CLASSES = 1000
# Adapters whose models are ImageNet-1k class-conditional (their labels are standard class numbers).
IMAGENET_ADAPTERS = frozenset({"edm-imagenet-64", "dmd2-imagenet-64"})


def _packaged(name: str):
    return json.loads(resources.files(__package__).joinpath(name).read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def imagenet_classes() -> tuple[tuple[str, str], ...]:
    """(synset id, name) of the 1000 ImageNet-1k classes, indexed by standard class number."""
    raw = _packaged("imagenet_class_index.json")
    return tuple((str(raw[str(i)][0]), str(raw[str(i)][1])) for i in range(IMAGENET_NUM_CLASSES))


def imagenet_names() -> dict[int, str]:
    """Standard class number -> name (``207 -> "golden retriever"``)."""
    return {i: name for i, (_synset, name) in enumerate(imagenet_classes())}


@lru_cache(maxsize=1)
def synset_to_class() -> dict[str, int]:
    """Synset id -> standard class number."""
    return {synset: i for i, (synset, _name) in enumerate(imagenet_classes())}


@lru_cache(maxsize=1)
def downsampled_imagenet_order() -> tuple[str, ...]:
    """Synset ids in Downsampled ImageNet's class order (its label k, 1-based, is entry k - 1)."""
    return tuple(str(s) for s in _packaged("downsampled_imagenet_synsets.json"))


def is_imagenet_model(adapter: str | None, num_classes: int | None) -> bool:
    """Whether a model's class labels are ImageNet-1k standard class numbers."""
    return adapter in IMAGENET_ADAPTERS or num_classes == IMAGENET_NUM_CLASSES


def to_standard(order: list[str] | tuple[str, ...], source: Path | str) -> list[int]:
    """Standard class number of each synset id in a source's class order; unknown ids are a DataError."""
    table = synset_to_class()
    unknown = [s for s in order if s not in table]
    if unknown:
        raise DataError(source, f"synset id {unknown[0]!r} is not one of the 1000 ImageNet-1k classes")
    return [table[s] for s in order]


def read_label_map(path: Path | str) -> list[int]:
    """A source's own class order, mapped to standard class numbers; entry i belongs to the source's class i.

    Accepted files: a JSON list of synset ids; a JSON object ``{"0": "n02119789"}`` or ``{"0": ["n02119789",
    "kit_fox"]}`` (the original DiffViews' ``imagenet64_class_labels.json``), keyed by the source's 0-based class
    index; or text with one synset id per line (optionally followed by other fields, as in ``map_clsloc.txt``).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "missing label map file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(path, f"unreadable label map ({exc})") from None
    order: list[str]
    if text.lstrip().startswith(("[", "{")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DataError(path, f"invalid JSON: {exc}") from None
        if isinstance(data, dict):
            try:
                keys = sorted(data, key=int)
            except ValueError:
                raise DataError(path, "keys must be class numbers (0, 1, ...)") from None
            if [int(k) for k in keys] != list(range(len(keys))):
                raise DataError(path, f"class numbers must run 0..{len(keys) - 1} without gaps")
            values = [data[k] for k in keys]
            order = [v[0] if isinstance(v, list) and v else v for v in values]
        else:
            order = data
        if not isinstance(order, list) or not all(isinstance(s, str) for s in order):
            raise DataError(path, "expected synset ids such as 'n01440764'")
    else:
        order = [line.split()[0] for line in text.splitlines() if line.strip()]
    if not order:
        raise DataError(path, "the label map lists no classes")
    if len(set(order)) != len(order):
        dup = next(s for s in order if order.count(s) > 1)
        raise DataError(path, f"synset id {dup!r} is listed twice")
    return to_standard(order, path)

"""Which image source reads a path given to ``diffviews build --images``: class folders, synset-named folders, an
``.npz`` of ``images``/``labels``, Downsampled ImageNet ``.npz`` batches (``data``/``labels``), or an LMDB."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import DataError
from ..formats.npyio import npz_headers
from .imagenet_sources import DownsampledNpzSource, LmdbSource, SynsetFolderSource, find_synset_root, is_lmdb
from .sources import FolderSource, ImageSource, array_file_source

KINDS = "a folder of <class>/*.png, a synset folder tree (n01440764/*.JPEG), an .npz with 'images' and 'labels', "
KINDS += "Downsampled ImageNet .npz batches ('data' and 'labels'), or an LMDB"


def _is_batch(path: Path) -> bool:
    members = npz_headers(path)
    return "data" in members and "labels" in members and "images" not in members


def source_from(
    value: ImageSource | str | Path,
    classes: Sequence[int] | None = None,
    label_map: Path | str | None = None,
) -> ImageSource:
    """The ImageSource that reads ``value`` (an ImageSource is returned as is). ``classes`` keeps only those labels;
    ``label_map`` gives the class order of a Downsampled ImageNet or LMDB source that is not the usual one."""
    if isinstance(value, ImageSource):
        return value
    path = Path(value)
    label_map = Path(label_map) if label_map is not None else None
    if not path.exists():
        raise DataError(path, "no such file or folder")
    if is_lmdb(path):
        return LmdbSource(path=path, label_map=label_map, classes=classes)
    if path.is_dir():
        if find_synset_root(path) is not None:
            return SynsetFolderSource(folder=path, classes=classes)
        batches = sorted(path.glob("*.npz"))
        if batches and not any(p.is_dir() for p in path.iterdir()):
            if not all(_is_batch(p) for p in batches):
                raise DataError(
                    path, "a folder of .npz files must hold Downsampled ImageNet batches ('data', 'labels')"
                )
            return DownsampledNpzSource(path=path, label_map=label_map, classes=classes)
        if label_map is not None:
            raise DataError(label_map, "a label map applies to Downsampled ImageNet .npz batches and LMDB sources only")
        return FolderSource(path, classes=classes)
    if path.suffix == ".npz":
        if _is_batch(path):
            return DownsampledNpzSource(path=path, label_map=label_map, classes=classes)
        return array_file_source(path, classes=classes)
    raise DataError(path, f"not an image source: expected {KINDS}")

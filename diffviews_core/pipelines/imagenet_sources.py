"""The ImageNet sources the original DiffViews builds from, read streaming: synset-named JPEG folders, Downsampled
ImageNet ``.npz`` batches and LMDB. Labels come out in the standard ImageNet-1k order with ImageNet names.

``catalogue`` scans labels only (class folders, the small ``labels`` arrays, LMDB label rows) and picks, in source
order, the first ``per_class`` images of each wanted class, stopping once every wanted class is full (the original's
``--per-class`` / ``--classes`` sampling). ``load`` then decodes just the picked images a batch needs: a JPEG at a
time, ``.npz`` rows through one forward-seeking handle per file, LMDB rows by key. The whole source is never in
memory. Each source is an independent reader: the builder (or a sharded build) asks it for positions.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

from ..class_index import downsampled_imagenet_order, imagenet_names, read_label_map, synset_to_class, to_standard
from ..errors import DataError
from .sources import IMAGE_SUFFIXES, ImageSource, fit_image

log = logging.getLogger(__name__)

SYNSET_RE = re.compile(r"^n\d{8}$")
NUM_CLASSES = 1000


def center_crop(img: np.ndarray) -> np.ndarray:
    """The centred square of an H x W [x C] image (as the original's extraction script crops before resizing)."""
    h, w = img.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return img[top : top + s, left : left + s]


class _Picker:
    """First ``per_class`` items of each wanted class, in the order offered; ``full`` once no more can be taken."""

    def __init__(self, per_class: int | None, classes: Sequence[int] | None) -> None:
        self.per_class = per_class
        self.wanted = set(int(c) for c in classes) if classes is not None else None
        self.counts: dict[int, int] = {}
        self.full_classes = 0
        self.limit = len(self.wanted) if self.wanted is not None else NUM_CLASSES

    def take(self, label: int) -> bool:
        if self.wanted is not None and label not in self.wanted:
            return False
        n = self.counts.get(label, 0)
        if self.per_class is not None and n >= self.per_class:
            return False
        self.counts[label] = n + 1
        if self.per_class is not None and n + 1 == self.per_class:
            self.full_classes += 1
        return True

    @property
    def full(self) -> bool:
        return self.per_class is not None and self.full_classes >= self.limit


def _check_classes(classes: Sequence[int] | None, where: str) -> None:
    bad = [c for c in classes or [] if not 0 <= int(c) < NUM_CLASSES]
    if bad:
        raise DataError(where, f"class {bad[0]} is not an ImageNet-1k class number (0..999)")


@dataclass(kw_only=True)
class _StreamingSource(ImageSource):
    """Shared catalogue: scan (position, standard label) pairs, keep the picked positions."""

    classes: Sequence[int] | None = None  # standard class numbers to take (None: every class)
    _positions: np.ndarray | None = field(default=None, init=False, repr=False)

    def _labels(self) -> Iterator[tuple[int, int]]:
        raise NotImplementedError

    def _images(self, positions: np.ndarray) -> Iterator[np.ndarray]:
        """H x W x 3 uint8 images of sorted ``positions``."""
        raise NotImplementedError

    def catalogue(self, per_class):
        _check_classes(self.classes, str(self.origin))
        picker = _Picker(per_class, self.classes)
        positions, labels = [], []
        for pos, label in self._labels():
            if picker.take(label):
                positions.append(pos)
                labels.append(label)
                if picker.full:
                    break
        self._positions = np.asarray(positions, dtype=np.int64)
        names = imagenet_names()
        return np.asarray(labels, dtype=np.int64), [names[c] for c in labels]

    def load(self, indices, adapter, chunk):
        positions = self._positions[np.asarray(indices, dtype=np.int64)]
        order = np.argsort(positions, kind="stable")
        out: list[np.ndarray | None] = [None] * len(positions)
        for k, img in zip(order.tolist(), self._images(positions[order])):
            out[k] = fit_image(center_crop(img), adapter.resolution, adapter.img_channels)
        return np.stack(out)

    @property
    def origin(self) -> Path:
        raise NotImplementedError


def _classes_record(classes: Sequence[int] | None) -> list[int] | None:
    return None if classes is None else [int(c) for c in classes]


# --- synset-named JPEG folders -----------------------------------------------------------------------------------
def _synset_dirs(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and SYNSET_RE.match(p.name))
    except OSError:
        return []


def find_synset_root(folder: Path) -> Path | None:
    """``folder`` if its subfolders are synset ids (``n01440764``), or its ``train/`` that is; else None."""
    for candidate in (folder, folder / "train"):
        if candidate.is_dir() and _synset_dirs(candidate):
            return candidate
    return None


@dataclass
class SynsetFolderSource(_StreamingSource):
    """``train/n01440764/*.JPEG``: labels from the synset folder names through the standard class index."""

    folder: Path
    _files: list[Path] = field(default_factory=list, init=False, repr=False)

    @property
    def origin(self) -> Path:
        return Path(self.folder)

    def _root(self) -> Path:
        root = find_synset_root(Path(self.folder))
        if root is None:
            raise DataError(self.folder, "no synset folders (expected n01440764/*.JPEG, ...)")
        return root

    def _wanted_dirs(self) -> list[tuple[Path, int]]:
        table = synset_to_class()
        wanted = None if self.classes is None else {int(c) for c in self.classes}
        dirs = []
        for d in _synset_dirs(self._root()):
            if d.name not in table:
                raise DataError(d, "folder name is not one of the 1000 ImageNet-1k synset ids")
            if wanted is None or table[d.name] in wanted:
                dirs.append((d, table[d.name]))
        return dirs

    def describe(self) -> dict:
        h = hashlib.sha256()
        dirs = self._wanted_dirs()
        for d, _label in dirs:  # a folder's mtime changes when files are added, removed or renamed in it
            h.update(f"{d.name}:{d.stat().st_mtime_ns}\n".encode())
        out = {"kind": "imagenet-folder", "path": str(self._root().resolve()), "count": len(dirs),
               "sha256": h.hexdigest()}  # fmt: skip
        if self.classes is not None:
            out["classes"] = _classes_record(self.classes)
        return out

    def _labels(self):
        self._files = []
        for d, label in self._wanted_dirs():
            for f in sorted(p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()):
                self._files.append(f)
                yield len(self._files) - 1, label

    def _images(self, positions):
        from PIL import Image, UnidentifiedImageError

        for pos in positions.tolist():
            path = self._files[pos]
            try:
                with Image.open(path) as im:
                    yield np.asarray(im.convert("RGB"))
            except (OSError, UnidentifiedImageError) as exc:
                raise DataError(path, f"unreadable image: {exc}") from None


# --- Downsampled ImageNet .npz batches -----------------------------------------------------------------------------
def _batch_number(path: Path) -> tuple[int, str]:
    tail = path.stem.rsplit("_", 1)[-1]
    return (int(tail) if tail.isdigit() else 0, path.name)


class _NpzRows:
    """Rows of one 2-D uint8 member of an ``.npz``, read in increasing order through one open handle (seeking
    forward decompresses and discards; going back reopens)."""

    def __init__(self, path: Path, member: str) -> None:
        self.path, self.member = path, member
        self._zip = zipfile.ZipFile(path)
        try:
            self._fh = self._zip.open(f"{member}.npy")
            if npf.read_magic(self._fh) == (1, 0):
                shape, fortran, dtype = npf.read_array_header_1_0(self._fh)
            else:
                shape, fortran, dtype = npf.read_array_header_2_0(self._fh)
        except BaseException:
            self._zip.close()
            raise
        if len(shape) != 2 or fortran or dtype != np.uint8:
            self.close()
            raise DataError(path, f"'{member}' must be a C-order (N, 3*S*S) uint8 array, found {shape} {dtype}")
        self.shape = shape
        self._start = self._fh.tell()

    def read(self, rows: Sequence[int]) -> Iterator[np.ndarray]:
        width = self.shape[1]
        for r in rows:
            self._fh.seek(self._start + int(r) * width)
            raw = self._fh.read(width)
            if len(raw) != width:
                raise DataError(self.path, f"'{self.member}' is truncated at row {r}")
            yield np.frombuffer(raw, dtype=np.uint8)

    def close(self) -> None:
        self._fh.close()
        self._zip.close()


@dataclass
class DownsampledNpzSource(_StreamingSource):
    """Downsampled ImageNet batches (``train_data_batch_1.npz`` ...): ``data`` N x 3*S*S uint8 in CHW order,
    ``labels`` 1-based in that dataset's class order, mapped to the standard order through synset ids (or through
    ``label_map``, a file giving the source's own order)."""

    path: Path
    label_map: Path | None = None
    _readers: dict[int, _NpzRows] = field(default_factory=dict, init=False, repr=False)
    _starts: list[int] = field(default_factory=list, init=False, repr=False)  # first position of each file

    @property
    def origin(self) -> Path:
        return Path(self.path)

    def files(self) -> list[Path]:
        p = Path(self.path)
        if p.is_file():
            return [p]
        files = sorted(p.glob("*.npz"), key=_batch_number) if p.is_dir() else []
        if not files:
            raise DataError(p, "no .npz batches here")
        return files

    def _to_standard(self) -> np.ndarray:
        order = read_label_map(self.label_map) if self.label_map else to_standard(downsampled_imagenet_order(), "")
        return np.asarray(order, dtype=np.int64)

    def describe(self) -> dict:
        h = hashlib.sha256()
        for f in self.files():
            st = f.stat()
            h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        if self.label_map:
            h.update(Path(self.label_map).read_bytes())
        out = {"kind": "downsampled-imagenet", "path": str(Path(self.path).resolve()), "count": len(self.files()),
               "sha256": h.hexdigest()}  # fmt: skip
        if self.classes is not None:
            out["classes"] = _classes_record(self.classes)
        return out

    def _labels(self):
        to_std = self._to_standard()
        self._starts = []
        total = 0
        for f in self.files():
            try:
                with np.load(f, allow_pickle=False) as z:
                    missing = [k for k in ("data", "labels") if k not in z.files]
                    if missing:
                        raise DataError(f, f"missing array(s) {', '.join(missing)} (a batch has 'data' and 'labels')")
                    labels = np.asarray(z["labels"]).reshape(-1).astype(np.int64)
            except (OSError, ValueError, zipfile.BadZipFile) as exc:
                raise DataError(f, f"not a readable .npz batch ({exc})") from None
            if labels.size and (labels.min() < 1 or labels.max() > len(to_std)):
                raise DataError(f, f"labels must be 1..{len(to_std)} (1-based), found {labels.min()}..{labels.max()}")
            self._starts.append(total)
            std = to_std[labels - 1]
            for i, label in enumerate(std.tolist()):
                yield total + i, label
            total += len(labels)
        self._starts.append(total)

    def _reader(self, j: int) -> _NpzRows:
        if j not in self._readers:
            for other in list(self._readers):  # one file open at a time: rows are read in file order
                self._readers.pop(other).close()
            f = self.files()[j]
            try:
                self._readers[j] = _NpzRows(f, "data")
            except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
                raise DataError(f, f"cannot read its 'data' array ({exc})") from None
        return self._readers[j]

    def _images(self, positions):
        starts = np.asarray(self._starts)
        files = np.searchsorted(starts, positions, side="right") - 1
        for j in np.unique(files).tolist():
            reader = self._reader(j)
            width = reader.shape[1]
            side = int(round((width / 3) ** 0.5))
            if 3 * side * side != width:
                raise DataError(reader.path, f"'data' rows hold {width} values, not 3 x S x S")
            for row in reader.read((positions[files == j] - starts[j]).tolist()):
                yield row.reshape(3, side, side).transpose(1, 2, 0)
        if len(positions) and positions[-1] == self._positions[-1]:
            self.close()

    def close(self) -> None:
        """Close the open batch file (reading again reopens it)."""
        for j in list(self._readers):
            self._readers.pop(j).close()


# --- LMDB ----------------------------------------------------------------------------------------------------------
def is_lmdb(path: Path) -> bool:
    path = Path(path)
    return (path.is_dir() and (path / "data.mdb").is_file()) or (path.is_file() and path.suffix in (".mdb", ".lmdb"))


@dataclass
class LmdbSource(_StreamingSource):
    """An LMDB of ``images_shape`` / ``labels_shape`` (space-separated shapes) and rows ``images_{i}_data`` (uint8,
    3 x S x S) and ``labels_{i}_data`` (int64), labels in the standard order (or ``label_map``'s)."""

    path: Path
    label_map: Path | None = None

    @property
    def origin(self) -> Path:
        return Path(self.path)

    @contextlib.contextmanager
    def _read(self) -> Iterator:
        """A read transaction on the LMDB, opened for one scan or one batch (opening maps the file: cheap)."""
        try:
            import lmdb
        except ImportError:
            raise DataError(
                self.path, "reading LMDB needs the optional 'lmdb' package: pip install 'diffviews-desktop[lmdb]'"
            ) from None
        p = Path(self.path)
        try:
            env = lmdb.open(str(p), readonly=True, lock=False, readahead=False, meminit=False, subdir=p.is_dir())
        except lmdb.Error as exc:
            raise DataError(p, f"not a readable LMDB ({exc})") from None
        try:
            with env.begin() as txn:
                yield txn
        finally:
            env.close()

    def _get(self, txn, key: str) -> bytes:
        value = txn.get(key.encode())
        if value is None:
            raise DataError(self.path, f"no key {key!r}")
        return bytes(value)

    def _shape(self, txn, name: str) -> tuple[int, ...]:
        text = self._get(txn, f"{name}_shape").decode("ascii", "replace")
        try:
            return tuple(int(x) for x in text.split())
        except ValueError:
            raise DataError(self.path, f"'{name}_shape' is {text!r}, not space-separated numbers") from None

    def _shapes(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        with self._read() as txn:
            images, labels = self._shape(txn, "images"), self._shape(txn, "labels")
        if len(images) != 4 or images[1] != 3 or images[2] != images[3]:
            raise DataError(self.path, f"images_shape {images}: expected N 3 S S")
        if not labels or labels[0] != images[0] or int(np.prod(labels[1:], dtype=np.int64)) != 1:
            raise DataError(self.path, f"labels_shape {labels} does not fit images_shape {images}")
        return images, labels

    def describe(self) -> dict:
        images, _labels = self._shapes()
        p = Path(self.path)
        data = p / "data.mdb" if p.is_dir() else p
        st = data.stat()
        h = hashlib.sha256(f"{images}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        if self.label_map:
            h.update(Path(self.label_map).read_bytes())
        out = {"kind": "lmdb", "path": str(p.resolve()), "count": int(images[0]), "sha256": h.hexdigest()}
        if self.classes is not None:
            out["classes"] = _classes_record(self.classes)
        return out

    def _labels(self):
        images, _ = self._shapes()
        to_std = np.asarray(read_label_map(self.label_map), dtype=np.int64) if self.label_map else None
        with self._read() as txn:
            for i in range(images[0]):
                raw = self._get(txn, f"labels_{i}_data")
                if len(raw) != 8:
                    raise DataError(self.path, f"'labels_{i}_data' holds {len(raw)} bytes, expected one int64")
                label = int(np.frombuffer(raw, dtype=np.int64)[0])
                limit = len(to_std) if to_std is not None else NUM_CLASSES
                if not 0 <= label < limit:
                    raise DataError(self.path, f"'labels_{i}_data' is {label}, outside 0..{limit - 1}")
                yield i, int(to_std[label]) if to_std is not None else label

    def _images(self, positions):
        images, _ = self._shapes()
        side = images[2]
        with self._read() as txn:
            for i in positions.tolist():
                raw = self._get(txn, f"images_{i}_data")
                if len(raw) != 3 * side * side:
                    raise DataError(
                        self.path, f"'images_{i}_data' holds {len(raw)} bytes, expected 3 x {side} x {side}"
                    )
                yield np.frombuffer(raw, dtype=np.uint8).reshape(3, side, side).transpose(1, 2, 0)

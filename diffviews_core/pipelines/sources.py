"""Where a dataset build gets its clean images: a folder of labelled images, an array file, arrays in memory, or
samples the model generates (the ImageNet sources are in ``imagenet_sources``; ``source_paths`` picks the reader
of a path). Every source is deterministic, so an interrupted build can resume byte for byte.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")


def fit_image(img: np.ndarray, resolution: int, channels: int) -> np.ndarray:
    """H x W [x C] image (uint8, or float in [0, 1]) -> resolution x resolution x channels uint8 (bicubic)."""
    from PIL import Image

    arr = np.asarray(img)
    if arr.dtype != np.uint8:
        arr = (np.clip(arr.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    im = Image.fromarray(arr)
    im = im.convert("L" if channels == 1 else "RGB")
    if im.size != (resolution, resolution):
        im = im.resize((resolution, resolution), Image.Resampling.BICUBIC)
    out = np.asarray(im)
    return out[:, :, None] if out.ndim == 2 else out


def _pick_per_class(labels: np.ndarray, per_class: int | None, classes: Sequence[int] | None = None) -> np.ndarray:
    """Indices of the first ``per_class`` images of every class (only ``classes`` when given), in source order."""
    wanted = None if classes is None else {int(c) for c in classes}
    if per_class is None and wanted is None:
        return np.arange(len(labels))
    keep, seen = [], {}
    for i, lab in enumerate(labels.tolist()):
        if wanted is not None and lab not in wanted:
            continue
        if per_class is None or seen.get(lab, 0) < per_class:
            seen[lab] = seen.get(lab, 0) + 1
            keep.append(i)
    return np.asarray(keep, dtype=np.int64)


class ImageSource:
    """``catalogue`` fixes the images (labels, names); ``load`` returns some of them fitted to the model."""

    def describe(self) -> dict:
        raise NotImplementedError

    def catalogue(self, per_class: int | None) -> tuple[np.ndarray, list[str]]:
        raise NotImplementedError

    def load(self, indices: np.ndarray, adapter, chunk: int) -> np.ndarray:
        raise NotImplementedError


@dataclass
class ArraySource(ImageSource):
    """Images already in memory: N x H x W [x C] uint8 (or float in [0, 1]), integer labels, optional names."""

    images: np.ndarray
    labels: np.ndarray
    class_names: Sequence[str] | None = None
    origin: str = "arrays"
    classes: Sequence[int] | None = None  # only these labels (None: all)
    _picked: np.ndarray | None = field(default=None, init=False, repr=False)

    def describe(self) -> dict:
        h = hashlib.sha256(np.ascontiguousarray(self.images).tobytes())
        h.update(np.asarray(self.labels, dtype=np.int64).tobytes())
        out = {"kind": "arrays", "origin": self.origin, "count": int(len(self.labels)), "sha256": h.hexdigest()}
        return out if self.classes is None else {**out, "classes": [int(c) for c in self.classes]}

    def catalogue(self, per_class):
        labels = np.asarray(self.labels, dtype=np.int64)
        if len(labels) != len(self.images):
            raise DataError(self.origin, f"{len(self.images)} images but {len(labels)} labels")
        self._picked = _pick_per_class(labels, per_class, self.classes)
        labels = labels[self._picked]
        names = [
            self.class_names[c] if self.class_names is not None and 0 <= c < len(self.class_names) else str(c)
            for c in labels.tolist()
        ]
        return labels, names

    def load(self, indices, adapter, chunk):
        src = self._picked[indices]
        return np.stack([fit_image(self.images[i], adapter.resolution, adapter.img_channels) for i in src])


def array_file_source(path: Path, classes: Sequence[int] | None = None) -> ArraySource:
    """An ``.npz`` with ``images`` (N x H x W [x C]) and ``labels`` (N,), optionally ``class_names``; no pickle."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("images", "labels") if k not in z.files]
            if missing:
                raise DataError(path, f"missing array(s) {', '.join(missing)} (needs 'images' and 'labels')")
            images, labels = z["images"], z["labels"]
            names = [str(x) for x in z["class_names"]] if "class_names" in z.files else None
    except (OSError, ValueError) as exc:
        raise DataError(path, f"not a readable .npz array file ({exc})") from None
    if images.ndim not in (3, 4) or len(images) != len(labels):
        raise DataError(path, f"images {images.shape} and labels {labels.shape} do not fit (N x H x W [x C], N)")
    return ArraySource(images, labels, names, origin=str(path), classes=classes)


@dataclass
class FolderSource(ImageSource):
    """``<folder>/<class>/*.png``: class folders sorted by name give labels 0..K-1 (or their numbers if numeric)."""

    folder: Path
    classes: Sequence[int] | None = None  # only these labels (None: all)
    _files: list[Path] = field(default_factory=list, init=False, repr=False)

    def _scan(self) -> tuple[list[Path], np.ndarray, list[str]]:
        folder = Path(self.folder)
        if not folder.is_dir():
            raise DataError(folder, "image folder not found")
        classes = sorted(p for p in folder.iterdir() if p.is_dir())
        if not classes:
            raise DataError(folder, "no class folders (expected <folder>/<class>/*.png)")
        numeric = all(c.name.isdigit() for c in classes)
        files, labels, names = [], [], []
        for k, cdir in enumerate(classes):
            label = int(cdir.name) if numeric else k
            for f in sorted(p for p in cdir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
                files.append(f)
                labels.append(label)
                names.append(cdir.name)
        if not files:
            raise DataError(folder, "no images found in the class folders")
        return files, np.asarray(labels, dtype=np.int64), names

    def describe(self) -> dict:
        files, _, _ = self._scan()
        h = hashlib.sha256()
        for f in files:
            st = f.stat()
            h.update(f"{f.relative_to(self.folder)}:{st.st_size}:{st.st_mtime_ns}\n".encode())
        out = {
            "kind": "folder",
            "path": str(Path(self.folder).resolve()),
            "count": len(files),
            "sha256": h.hexdigest(),
        }
        return out if self.classes is None else {**out, "classes": [int(c) for c in self.classes]}

    def catalogue(self, per_class):
        files, labels, names = self._scan()
        keep = _pick_per_class(labels, per_class, self.classes)
        self._files = [files[i] for i in keep]
        return labels[keep], [names[i] for i in keep]

    def load(self, indices, adapter, chunk):
        from PIL import Image, UnidentifiedImageError

        out = []
        for i in indices:
            path = self._files[int(i)]
            try:
                with Image.open(path) as im:
                    arr = np.asarray(im.convert("L" if adapter.img_channels == 1 else "RGB"))
            except (OSError, UnidentifiedImageError) as exc:
                raise DataError(path, f"unreadable image: {exc}") from None
            out.append(fit_image(arr, adapter.resolution, adapter.img_channels))
        return np.stack(out)


@dataclass
class GeneratedSource(ImageSource):
    """``per_class`` samples of each class generated by the model itself (seeded per chunk)."""

    per_class: int
    classes: Sequence[int] | None = None
    num_steps: int | None = None
    guidance_scale: float = 1.0
    seed: int = 0
    class_names: Sequence[str] | None = None
    _labels: np.ndarray | None = field(default=None, init=False, repr=False)

    def describe(self) -> dict:
        return {
            "kind": "generated",
            "per_class": self.per_class,
            "classes": list(self.classes or []),
            "num_steps": self.num_steps,
            "guidance_scale": self.guidance_scale,
            "seed": self.seed,
        }

    def catalogue(self, per_class):
        if self.classes is None:
            raise DataError("generated images", "set the classes to generate (the adapter knows how many exist)")
        self._labels = np.repeat(np.asarray(list(self.classes), dtype=np.int64), int(self.per_class))
        names = [
            self.class_names[c] if self.class_names is not None and 0 <= c < len(self.class_names) else str(c)
            for c in self._labels.tolist()
        ]
        return self._labels, names

    def load(self, indices, adapter, chunk):
        from ..core.generator import generate_with_mask_multistep

        chunk_seed = int(np.random.SeedSequence([self.seed, chunk]).generate_state(1)[0] % (2**31))
        res = generate_with_mask_multistep(
            adapter,
            None,
            class_label=[int(c) for c in self._labels[indices]],
            num_steps=self.num_steps,
            guidance_scale=self.guidance_scale,
            seed=chunk_seed,
            num_samples=len(indices),
        )
        return np.stack([fit_image(im, adapter.resolution, adapter.img_channels) for im in res.images])

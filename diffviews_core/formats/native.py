"""The project's own dataset format: ``manifest.json`` (format version, layers, file sizes and SHA-256),
``samples.csv``, one ``activations/<layer>.npy`` per layer, ``images/`` and ``embeddings/`` (original layout).

See docs/data-format.md. The manifest is written last, so its presence marks a complete dataset.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .. import validate as v
from ..atomic import atomic_write_json
from ..errors import DataError
from ..safe_io import is_regular, regular_file
from .files import read_json_object, sha256_file

MANIFEST = "manifest.json"
FORMAT = "diffviews-dataset"
FORMAT_VERSION = 1
SAMPLES = "samples.csv"


def is_native(folder: Path) -> bool:
    """A manifest is present (of any file type: a FIFO or broken link is reported when read, not skipped)."""
    return os.path.lexists(Path(folder) / MANIFEST)


def file_record(folder: Path, rel: str) -> dict:
    path = Path(folder) / rel
    return {"bytes": path.stat().st_size, "sha256": sha256_file(path)}


def write_manifest(folder: Path, num_samples: int, layers: Mapping[str, dict], files: list[str], extra: dict) -> dict:
    """Checksum ``files`` (relative paths) and write the manifest atomically; returns what was written."""
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "num_samples": int(num_samples),
        "layers": {k: dict(v) for k, v in sorted(layers.items())},
        "files": {rel: file_record(folder, rel) for rel in sorted(files)},
        **extra,
    }
    atomic_write_json(Path(folder) / MANIFEST, manifest)
    return manifest


def read_manifest(folder: Path) -> dict:
    """The manifest, checked for format, version, field types and paths (all inside ``folder``), and the sizes of
    the files it lists. Layer files and listed files come back as normalised relative paths."""
    path = Path(folder) / MANIFEST
    m = read_json_object(path)
    if m.get("format") != FORMAT:
        raise DataError(path, f"'format' is {str(m.get('format'))[:60]!r}, expected {FORMAT!r}")
    try:
        version = v.integer(m.get("format_version"), "'format_version'", 1)
    except v.Invalid as exc:
        raise DataError(path, str(exc)) from None
    if version > FORMAT_VERSION:
        raise DataError(
            path, f"format_version {version} is newer than this DiffViews reads ({FORMAT_VERSION}); update DiffViews"
        )
    try:
        m = {
            **m,
            "num_samples": v.integer(m.get("num_samples"), "'num_samples'", 0),
            "layers": _layers(m.get("layers")),
        }
        m["files"] = _files(m.get("files", {}))
    except v.Invalid as exc:
        raise DataError(path, str(exc)) from None
    for rel, rec in m["files"].items():
        target = Path(folder) / rel
        try:
            size = regular_file(target).st_size
        except DataError as exc:
            raise DataError(target, f"{exc.reason} (listed in {MANIFEST})") from None
        if "bytes" in rec and size != rec["bytes"]:
            raise DataError(target, f"{size:,} bytes, but {MANIFEST} records {rec['bytes']:,} (truncated or replaced)")
    return m


def _layers(raw) -> dict[str, dict]:
    layers = {}
    for name, entry in v.mapping(raw, "'layers'").items():
        entry = v.mapping(entry, f"layers[{name!r}]")
        checked = {**entry, "file": v.relative_path(entry.get("file"), f"layers[{name!r}].file")}
        if entry.get("shape") is not None:
            checked["shape"] = list(v.shape(entry["shape"], f"layers[{name!r}].shape"))
        layers[v.text(name, "a layer name", 255, empty=False)] = checked
    return layers


def _files(raw) -> dict[str, dict]:
    files = {}
    for rel, rec in v.mapping(raw, "'files'").items():
        what = f"files[{rel[:60]!r}]"
        rec = dict(v.mapping(rec, what))
        if "bytes" in rec:
            rec["bytes"] = v.integer(rec["bytes"], f"{what}.bytes", 0)
        if rec.get("sha256") is not None:
            rec["sha256"] = v.text(rec["sha256"], f"{what}.sha256", 64)
        files[v.relative_path(rel, "a path in 'files'")] = rec
    return files


def verify_checksums(folder: Path, manifest: dict) -> list[str]:
    """'file: problem' for each listed file whose SHA-256 differs from the manifest (reads every byte)."""
    problems = []
    for rel, rec in sorted(manifest.get("files", {}).items()):
        path = Path(folder) / rel
        if not is_regular(path):
            problems.append(f"{path}: missing or not a regular file")
        elif isinstance(rec, dict) and rec.get("sha256") and sha256_file(path) != rec["sha256"]:
            problems.append(f"{path}: SHA-256 differs from {MANIFEST}")
    return problems

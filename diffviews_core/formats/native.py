"""The project's own dataset format: ``manifest.json`` (format version, layers, file sizes and SHA-256),
``samples.csv``, one ``activations/<layer>.npy`` per layer, ``images/`` and ``embeddings/`` (original layout).

See docs/data-format.md. The manifest is written last, so its presence marks a complete dataset.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..atomic import atomic_write_json
from ..errors import DataError
from .files import read_json_object, sha256_file

MANIFEST = "manifest.json"
FORMAT = "diffviews-dataset"
FORMAT_VERSION = 1
SAMPLES = "samples.csv"


def is_native(folder: Path) -> bool:
    return (Path(folder) / MANIFEST).is_file()


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
    """The manifest, checked for format, version and the fields the reader relies on."""
    path = Path(folder) / MANIFEST
    m = read_json_object(path)
    if m.get("format") != FORMAT:
        raise DataError(path, f"'format' is {m.get('format')!r}, expected {FORMAT!r}")
    version = m.get("format_version")
    if not isinstance(version, int) or version < 1:
        raise DataError(path, f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise DataError(
            path, f"format_version {version} is newer than this DiffViews reads ({FORMAT_VERSION}); update DiffViews"
        )
    layers = m.get("layers")
    if not isinstance(layers, dict) or not all(isinstance(v, dict) and "file" in v for v in layers.values()):
        raise DataError(path, '\'layers\' must map each layer name to {"file": ..., "shape": [...]}')
    if not isinstance(m.get("num_samples"), int):
        raise DataError(path, "'num_samples' must be an integer")
    files = m.get("files", {})
    if not isinstance(files, dict):
        raise DataError(path, "'files' must map relative paths to {bytes, sha256}")
    for rel, rec in files.items():
        target = Path(folder) / rel
        if not target.is_file():
            raise DataError(target, f"missing file listed in {MANIFEST}")
        if isinstance(rec, dict) and "bytes" in rec and target.stat().st_size != rec["bytes"]:
            raise DataError(
                target,
                f"{target.stat().st_size:,} bytes, but {MANIFEST} records {rec['bytes']:,} (truncated or replaced)",
            )
    return m


def verify_checksums(folder: Path, manifest: dict) -> list[str]:
    """'file: problem' for each listed file whose SHA-256 differs from the manifest (reads every byte)."""
    problems = []
    for rel, rec in sorted(manifest.get("files", {}).items()):
        path = Path(folder) / rel
        if not path.is_file():
            problems.append(f"{path}: missing")
        elif isinstance(rec, dict) and rec.get("sha256") and sha256_file(path) != rec["sha256"]:
            problems.append(f"{path}: SHA-256 differs from {MANIFEST}")
    return problems

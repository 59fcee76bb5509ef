"""Downloads the user asks for: checksummed, resumable, atomic. Nothing else in DiffViews touches the network.

A manifest lists files as ``{"path", "sha256", "size", "group", "urls": {"r2": ..., "hf": ...}}``; the group is
``data`` or ``checkpoint:<model>``, so ``--checkpoints dmd2`` fetches the data plus that model's weights.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tarfile
import tempfile
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .atomic import atomic_write_text, replace_file
from .errors import CancelledError, DataError, DiffViewsError
from .formats.files import sha256_file
from .jobs import Progress, check_cancelled, report, stage_progress

log = logging.getLogger(__name__)
CHUNK = 1 << 20
SOURCES = ("r2", "hf")


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str
    size: int | None
    group: str
    urls: dict[str, str]


def read_manifest(location: str) -> list[ManifestEntry]:
    """Entries of a manifest JSON given as a file path or an http(s) URL."""
    try:
        if location.startswith(("http://", "https://")):
            with urllib.request.urlopen(location, timeout=30) as resp:  # noqa: S310 (the user's URL)
                raw = resp.read()
        else:
            raw = Path(location).read_bytes()
        data = json.loads(raw.decode("utf-8"))
        entries = [
            ManifestEntry(
                path=f["path"],
                sha256=f["sha256"].lower(),
                size=f.get("size"),
                group=f.get("group", "data"),
                urls=dict(f["urls"]),
            )
            for f in data["files"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(location, f"not a usable download manifest ({type(exc).__name__}: {exc})") from None
    for e in entries:
        if Path(e.path).is_absolute() or ".." in Path(e.path).parts:
            raise DataError(location, f"unsafe path in manifest: {e.path!r}")
    return entries


def select(entries: list[ManifestEntry], checkpoints: str) -> list[ManifestEntry]:
    """Data files plus the checkpoints asked for: ``all``, ``none`` or a model name (``dmd2``, ``edm``)."""
    out = []
    for e in entries:
        if e.group == "data" or checkpoints == "all" or (checkpoints != "none" and e.group == f"checkpoint:{checkpoints}"):
            out.append(e)
    return out


def download_file(
    url: str,
    dest: Path,
    sha256: str,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> Path:
    """Fetch ``url`` to ``dest``: resumes ``dest.part`` with an HTTP Range request, checks SHA-256, then renames.

    ``progress`` and ``cancel`` follow the ``diffviews_core.jobs`` contract (checked after every block)."""
    dest = Path(dest)
    if dest.is_file() and sha256_file(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:  # noqa: S310 (manifest URL the user chose)
            if have and resp.status != 206:  # the server ignored the range: start again
                have = 0
            length = resp.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            with open(part, "ab" if have else "wb") as out:
                done = have
                while block := resp.read(CHUNK):
                    check_cancelled(cancel, f"download of {dest.name} cancelled (resumes next time)")
                    out.write(block)
                    done += len(block)
                    report(progress, done / total if total else None, _bytes_message(dest.name, done, total))
    except OSError as exc:
        raise DiffViewsError(f"{url}: download failed ({exc}); run the command again to resume") from None
    got = sha256_file(part)
    if got != sha256:
        part.unlink()
        raise DataError(dest, f"checksum mismatch (expected {sha256[:12]}…, got {got[:12]}…); the partial file was removed")
    return replace_file(part, dest)


def _bytes_message(name: str, done: int, total: int | None) -> str:
    return f"{name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{name}: {done / 1e6:.1f} MB"


def download(
    entries: list[ManifestEntry],
    out_dir: Path,
    source: str = "auto",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
) -> list[Path]:
    """Download every entry into ``out_dir``; ``source`` auto tries R2 then Hugging Face per file.

    ``progress`` gives each file an equal share of the whole; its message names the file and the bytes so far."""
    order = SOURCES if source == "auto" else (source,)
    paths = []
    for i, e in enumerate(entries):
        urls = [e.urls[s] for s in order if s in e.urls]
        if not urls:
            raise DataError(e.path, f"no URL for source {source!r} in the manifest")
        last: Exception | None = None
        for url in urls:
            try:
                part = stage_progress(progress, i / len(entries), (i + 1) / len(entries))
                paths.append(download_file(url, out_dir / e.path, e.sha256, part, cancel))
                break
            except DiffViewsError as exc:
                if isinstance(exc, (CancelledError, DataError)):
                    raise
                last = exc
                log.warning("%s", exc)
        else:
            raise last  # type: ignore[misc]
    return paths


def _safe_members(names: list[str], archive: Path) -> None:
    for name in names:
        p = Path(name)
        if p.is_absolute() or ".." in p.parts:
            raise DataError(archive, f"refusing unsafe path in archive: {name!r}")


def _carry_checkpoint(model_dir: Path, staged_root: Path, original_dir: Path | None) -> None:
    """Keep a model's checkpoint reachable once its folder moves into the data root: a ``config.json`` path that
    leads outside the model folder (the shipped demo's ``../../model.safetensors``) is resolved from where the model
    was, the file (and its ``<name>.json`` network config) copied into the model folder, and the config repointed
    (and its record in ``manifest.json`` renewed)."""
    config = model_dir / "config.json"
    if not config.is_file():
        return
    try:
        raw = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return  # opening the model will report it
    value = raw.get("checkpoint") if isinstance(raw, dict) else None
    if not isinstance(value, str) or not value or Path(value).expanduser().is_absolute():
        return
    inside = (model_dir / value).resolve()
    if inside.is_file() and inside.is_relative_to(model_dir.resolve()):
        return
    found = [p for p in (inside, (staged_root / value).resolve(), original_dir and (original_dir / value).resolve())
             if p is not None and p.is_file()]  # fmt: skip
    if not found:
        log.warning("%s: checkpoint %s not found; generation will need --checkpoint-path", config, value)
        return
    weights = found[0]
    for extra in (weights, weights.with_suffix(".json")):
        if extra.is_file() and not (model_dir / extra.name).exists():
            shutil.copy2(extra, model_dir / extra.name)
    raw["checkpoint"] = weights.name
    atomic_write_text(config, json.dumps(raw, indent=2) + "\n")
    manifest = model_dir / "manifest.json"  # a native model records config.json's size and checksum: keep it true
    if manifest.is_file():
        from .formats.native import file_record

        data = json.loads(manifest.read_text(encoding="utf-8"))
        if isinstance(data.get("files"), dict) and "config.json" in data["files"]:
            data["files"]["config.json"] = file_record(model_dir, "config.json")
            atomic_write_text(manifest, json.dumps(data, indent=2) + "\n")


def import_data(source: Path, data_root: Path, overwrite: bool = False) -> list[Path]:
    """Copy a data folder, or unpack a .zip / .tar(.gz) archive, into ``data_root`` atomically; returns model folders.

    For offline machines: the archive is carried over by hand. Unpacking goes to a temporary folder first and is
    checked with the store before anything appears in ``data_root``.
    """
    from .formats import open_data

    source, data_root = Path(source), Path(data_root)
    data_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_root, prefix=".import-") as tmp:
        staged = Path(tmp) / "content"
        if source.is_dir():
            shutil.copytree(source, staged)
        elif zipfile.is_zipfile(source):
            with zipfile.ZipFile(source) as zf:
                _safe_members(zf.namelist(), source)
                zf.extractall(staged)
        elif tarfile.is_tarfile(source):
            with tarfile.open(source) as tf:
                _safe_members(tf.getnames(), source)
                tf.extractall(staged, filter="data")
        else:
            raise DataError(source, "not a folder, .zip or .tar archive")
        origin = source if source.is_dir() else None  # where relative checkpoint paths pointed from
        tops = [p for p in staged.iterdir() if not p.name.startswith(".")]
        if len(tops) == 1 and tops[0].is_dir() and not (tops[0] / "config.json").exists():
            staged = tops[0]  # an archive of a data root folder
            origin = origin / tops[0].name if origin is not None else None
        root = open_data(staged)
        if not root.models:
            problems = "; ".join(root.problems.values()) or "no model folders"
            raise DataError(source, f"nothing to import ({problems})")
        single = (staged / "config.json").is_file() or (staged / "manifest.json").is_file()
        moves = [(staged, data_root / source.stem.split(".")[0])] if single else [
            (staged / name, data_root / name) for name in root.models
        ]
        for src, _dst in moves:
            mirror = None if origin is None else origin if src == staged else origin / src.name
            _carry_checkpoint(src, staged, mirror)
        clashes = [str(dst) for _, dst in moves if dst.exists()]
        if clashes and not overwrite:
            raise DataError(clashes[0], "already exists (use --overwrite to replace it)")
        out = []
        for src, dst in moves:
            if dst.exists():
                shutil.rmtree(dst)
            os.replace(src, dst)
            out.append(dst)
    return out

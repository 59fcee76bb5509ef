"""``diffviews import``: install a data folder, or a .zip / .tar(.gz|.bz2|.xz) archive carried to an offline machine.

Everything is staged in a hidden folder inside the data root and opened with the store before anything appears
there. Archives are unpacked member by member: only regular files and folders, names that stay inside, sizes
bounded by the free disk and by a ratio to the archive's own size (no zip bombs). A model folder is replaced only
with ``overwrite``, only under a checked name directly inside the data root, and the old one is kept until the
new one is in place.
"""

from __future__ import annotations

import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path

from . import validate as v
from .errors import DataError, DiskFullError, brief
from .safe_io import disk_full_as_error, is_disk_full, open_regular

MAX_RATIO = 200  # unpacked bytes per archive byte; activation data compresses about 1.1x, CSV about 4x
MAX_MEMBERS = 2_000_000
FREE_MARGIN = 64 << 20  # left free on the data root's disk
STAGING_PREFIX = ".import-"
# What a corrupt archive raises while it is read.
ARCHIVE_ERRORS = (
    tarfile.TarError,
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,  # an encrypted zip member
)


class _Budget:
    """Bytes the import may still write: the free disk (less a margin) and, for archives, a ratio to their size."""

    def __init__(self, source: Path, data_root: Path, archive_bytes: int | None) -> None:
        self.source, self.data_root = source, data_root
        self.free = max(0, shutil.disk_usage(data_root).free - FREE_MARGIN)
        self.left = self.free
        self.by_ratio = archive_bytes is not None and MAX_RATIO * max(archive_bytes, 1 << 20) < self.free
        if self.by_ratio:
            self.left = MAX_RATIO * max(archive_bytes, 1 << 20)

    def refuse(self, what: str = "") -> DataError:
        if self.by_ratio:
            return DataError(self.source, f"{what}unpacks to more than {MAX_RATIO} times its own size (a zip bomb?)")
        return DiskFullError(self.data_root, f"{what}{self.source} needs more than the {self.free:,} bytes free")

    def claim(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise self.refuse()


def _member_path(name: str, source: Path) -> str:
    try:
        return v.relative_path(name.rstrip("/"), "archive member")
    except v.Invalid as exc:
        raise DataError(source, f"refusing unsafe path in archive: {name[:80]!r} ({exc})") from None


def _copy_stream(src, target: Path, budget: _Budget) -> None:
    with disk_full_as_error(target), open(target, "wb") as out:
        while block := src.read(1 << 20):
            budget.claim(len(block))
            out.write(block)


def _unpack_zip(source: Path, staged: Path, budget: _Budget) -> None:
    with zipfile.ZipFile(source) as zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise DataError(source, f"more than {MAX_MEMBERS:,} members")
        if sum(i.file_size for i in infos) > budget.left:
            raise budget.refuse()
        for info in infos:
            rel = _member_path(info.filename, source)
            kind = stat.S_IFMT(info.external_attr >> 16)  # 0 when the archiver recorded no file type
            if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
                raise DataError(
                    source, f"member {rel!r} is a link or special file; only files and folders are imported"
                )
            target = staged / rel
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src:
                _copy_stream(src, target, budget)


def _tar_kind(member: tarfile.TarInfo) -> str:
    for test, name in (("issym", "a symbolic link"), ("islnk", "a hard link"), ("isfifo", "a FIFO"),
                       ("ischr", "a character device"), ("isblk", "a block device")):  # fmt: skip
        if getattr(member, test)():
            return name
    return "a special file"


def _unpack_tar(source: Path, staged: Path, budget: _Budget) -> None:
    with tarfile.open(source) as tf:
        count = 0
        while (member := tf.next()) is not None:
            count += 1
            if count > MAX_MEMBERS:
                raise DataError(source, f"more than {MAX_MEMBERS:,} members")
            rel = _member_path(member.name, source)
            target = staged / rel
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            if not member.isreg():
                raise DataError(source, f"member {rel!r} is {_tar_kind(member)}; only files and folders are imported")
            if member.size > budget.left:
                raise budget.refuse(f"member {rel!r}: ")
            target.parent.mkdir(parents=True, exist_ok=True)
            src = tf.extractfile(member)
            with src:
                _copy_stream(src, target, budget)


def _copy_folder(source: Path, staged: Path, budget: _Budget) -> None:
    """Copy regular files and folders; a file link is copied as its (regular) target, folder links are refused."""
    staged.mkdir(exist_ok=True)
    for top, dirs, files in os.walk(source, followlinks=False, onerror=_raise):
        rel_top = Path(top).relative_to(source)
        for d in dirs:
            if os.path.islink(os.path.join(top, d)):
                raise DataError(Path(top) / d, "a link to a folder; links to folders are not followed")
            (staged / rel_top / d).mkdir(exist_ok=True)
        for name in files:
            path = Path(top) / name
            with open_regular(path) as src:
                _copy_stream(src, staged / rel_top / name, budget)


def _raise(exc: OSError) -> None:
    raise DataError(exc.filename or "?", f"cannot read: {exc.strerror or exc}")


def model_destination(data_root: Path, name: str, source: Path) -> Path:
    """``data_root/name`` for a plain folder name; never empty, '.', '..', hidden, a path, or the root itself."""
    bad = (
        not name
        or name in (".", "..")
        or name.startswith(".")
        or any(c in name for c in "/\\\x00:")
        or len(name.encode("utf-8", "surrogatepass")) > 255
    )
    dst = data_root / name
    if bad or dst.parent != data_root or dst == data_root:
        raise DataError(source, f"cannot make a model folder named {name[:60]!r}; rename the archive or folder")
    return dst


def _single_name(source: Path) -> str:
    """The model name of an archive or folder holding one model's files at its top: its name without suffixes."""
    name = source.name
    for suffix in (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _remove_stale_staging(data_root: Path) -> None:
    """Staging folders of an import that was killed (they are hidden and never a model)."""
    for entry in os.scandir(data_root):
        if entry.name.startswith(STAGING_PREFIX) and entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path, ignore_errors=True)


def _check_places(source: Path, data_root: Path) -> None:
    if not os.path.lexists(source):
        raise DataError(source, "no such file or folder")
    if os.path.lexists(data_root) and not data_root.is_dir():
        raise DataError(data_root, "the data root is not a folder")
    src, root = Path(os.path.realpath(source)), Path(os.path.realpath(data_root))
    if src == root or root in src.parents or src in root.parents:
        raise DataError(source, f"the source and the data root {data_root} overlap")


def _stage(source: Path, staged: Path, data_root: Path) -> None:
    if source.is_dir():
        _copy_folder(source, staged, _Budget(source, data_root, None))
        return
    size = open_regular_size(source)
    staged.mkdir()
    try:
        if zipfile.is_zipfile(source):
            _unpack_zip(source, staged, _Budget(source, data_root, size))
        elif tarfile.is_tarfile(source):
            _unpack_tar(source, staged, _Budget(source, data_root, size))
        else:
            raise DataError(source, "not a folder, .zip or .tar archive")
    except DataError:
        raise
    except ARCHIVE_ERRORS as exc:
        if is_disk_full(exc):
            raise DiskFullError(data_root, "while unpacking; nothing was imported") from None
        raise DataError(source, f"unreadable archive ({brief(exc)})") from None


def open_regular_size(path: Path) -> int:
    with open_regular(path) as fh:
        return os.fstat(fh.fileno()).st_size


def import_data(source: Path, data_root: Path, overwrite: bool = False) -> list[Path]:
    """Copy a data folder, or unpack an archive, into ``data_root`` atomically; returns the model folders."""
    from .formats import open_data
    from .formats.root import is_model_dir

    source, data_root = Path(source), Path(data_root)
    _check_places(source, data_root)
    with disk_full_as_error(data_root):
        data_root.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(data_root)
    with tempfile.TemporaryDirectory(dir=data_root, prefix=STAGING_PREFIX) as tmp:
        staged = Path(tmp) / "content"
        _stage(source, staged, data_root)
        tops = [p for p in staged.iterdir() if not p.name.startswith(".")]
        if not tops:
            raise DataError(source, "empty: nothing to import")
        name = _single_name(source)
        if len(tops) == 1 and tops[0].is_dir() and not is_model_dir(staged):
            staged = tops[0]  # an archive of a data root folder (or of one model folder)
            name = staged.name
        root = open_data(staged)
        if not root.models:
            problems = "; ".join(root.problems.values()) or "no model folders"
            raise DataError(source, f"nothing to import ({problems})")
        if is_model_dir(staged):
            moves = [(staged, model_destination(data_root, name, source))]
        else:
            moves = [(staged / name, model_destination(data_root, name, source)) for name in root.models]
        clashes = [dst for _, dst in moves if os.path.lexists(dst)]
        if clashes and not overwrite:
            raise DataError(clashes[0], "already exists (use --overwrite to replace it)")
        for dst in clashes:
            if dst.is_symlink() or not dst.is_dir():
                raise DataError(dst, "exists and is not a folder; remove it yourself to import over it")
        return [_replace(src, dst, Path(tmp)) for src, dst in moves]


def _replace(src: Path, dst: Path, tmp: Path) -> Path:
    """Move ``src`` to ``dst``; an existing ``dst`` moves into ``tmp`` first (deleted with it) and comes back if the
    move fails, so a failure never loses the old model."""
    old = None
    if os.path.lexists(dst):
        old = tmp / f"old-{dst.name}"
        os.replace(dst, old)
    try:
        os.replace(src, dst)
    except OSError:
        if old is not None:
            os.replace(old, dst)
        raise
    return dst

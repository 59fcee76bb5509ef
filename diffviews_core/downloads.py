"""Downloads the user asks for: checksummed, resumable, atomic. Nothing else in DiffViews touches the network.

A manifest lists files as ``{"path", "sha256", "size", "group", "urls": {"r2": ..., "hf": ...}}``; the group is
``data`` or ``checkpoint:<model>``, so ``--checkpoints dmd2`` fetches the data plus that model's weights.

Nothing a server says is trusted: a body is never read past the manifest's ``size``, redirects are followed only to
hosts the manifest names, and a transfer that stops early keeps its ``.part`` so the next run resumes it.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from . import validate as v
from .atomic import replace_file
from .errors import CancelledError, DataError, DiffViewsError, DiskFullError, brief
from .formats.files import sha256_file
from .jobs import Progress, check_cancelled, report, stage_progress
from .safe_io import disk_full_as_error, is_disk_full, parse_json, read_regular_bytes, regular_file

log = logging.getLogger(__name__)
CHUNK = 1 << 20
SOURCES = ("r2", "hf")
TIMEOUT = 60.0  # seconds without a byte before a transfer counts as stalled
MAX_MANIFEST_BYTES = 16 << 20
MAX_FILE_BYTES = 1 << 50
MAX_REDIRECTS = 5
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
# What a broken connection raises while a response is read (http.client's errors are not OSErrors).
TRANSFER_ERRORS = (OSError, http.client.HTTPException, ValueError)


@dataclass(frozen=True)
class ManifestEntry:
    path: str
    sha256: str
    size: int
    group: str
    urls: dict[str, str]


def _url(value, what: str) -> str:
    url = v.text(value, what, 2048, empty=False)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise v.Invalid(f"{what} {url[:80]!r} is not an http(s) URL")
    return url


def _entry(raw, i: int) -> ManifestEntry:
    what = f"files[{i}]"
    raw = v.mapping(raw, what)
    sha = v.text(raw.get("sha256"), f"{what}.sha256", 64)
    if not _SHA256.match(sha):
        raise v.Invalid(f"{what}.sha256 must be 64 hexadecimal digits")
    urls = v.mapping(raw.get("urls"), f"{what}.urls")
    if not urls:
        raise v.Invalid(f"{what}.urls names no mirror")
    return ManifestEntry(
        path=v.relative_path(raw.get("path"), f"{what}.path"),
        sha256=sha.lower(),
        size=v.integer(raw.get("size"), f"{what}.size", 0, MAX_FILE_BYTES),
        group=v.text(raw.get("group", "data"), f"{what}.group", 255),
        urls={v.text(k, f"{what}.urls key", 64): _url(u, f"{what}.urls[{k!r}]") for k, u in urls.items()},
    )


def parse_manifest(data, source: str) -> list[ManifestEntry]:
    """Checked entries of a parsed manifest: every field typed, paths relative and distinct, URLs http(s)."""
    try:
        files = v.sequence(v.mapping(data, "the manifest").get("files"), "'files'", 100_000)
        entries = [_entry(f, i) for i, f in enumerate(files)]
    except v.Invalid as exc:
        raise DataError(source, f"not a usable download manifest: {exc}") from None
    seen: set[str] = set()
    for e in sorted(entries, key=lambda e: e.path):
        parents = {"/".join(e.path.split("/")[:i]) for i in range(1, e.path.count("/") + 1)}
        if e.path in seen or parents & seen:
            raise DataError(source, f"unsafe path in manifest: {e.path!r} is listed twice or inside another file")
        seen.add(e.path)
    return entries


def read_manifest(location: str) -> list[ManifestEntry]:
    """Entries of a manifest JSON given as a file path or an http(s) URL (at most 16 MB either way)."""
    if location.startswith(("http://", "https://")):
        try:
            opener = _opener({urlsplit(location).hostname or ""})
            with opener.open(location, timeout=TIMEOUT) as resp:  # the user's URL
                raw = resp.read(MAX_MANIFEST_BYTES + 1)
        except TRANSFER_ERRORS as exc:
            raise DataError(location, f"cannot fetch the manifest ({brief(exc)})") from None
        if len(raw) > MAX_MANIFEST_BYTES:
            raise DataError(location, f"manifest larger than {MAX_MANIFEST_BYTES:,} bytes")
    else:
        raw = read_regular_bytes(location, MAX_MANIFEST_BYTES)
    return parse_manifest(parse_json(raw, location), location)


def select(entries: list[ManifestEntry], checkpoints: str) -> list[ManifestEntry]:
    """Data files plus the checkpoints asked for: ``all``, ``none`` or a model name (``dmd2``, ``edm``)."""
    out = []
    for e in entries:
        if (
            e.group == "data"
            or checkpoints == "all"
            or (checkpoints != "none" and e.group == f"checkpoint:{checkpoints}")
        ):
            out.append(e)
    return out


class _HostRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a few redirects, and only to http(s) URLs on hosts the manifest names."""

    max_redirections = MAX_REDIRECTS

    def __init__(self, hosts: Collection[str]) -> None:
        super().__init__()
        self.hosts = {h.lower() for h in hosts}

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        parts = urlsplit(newurl)
        if parts.scheme not in ("http", "https") or (parts.hostname or "").lower() not in self.hosts:
            raise urllib.error.HTTPError(
                newurl, code, f"redirect to {parts.hostname!r} refused (not a host the manifest names)", headers, fp
            )
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(hosts: Collection[str]) -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(_HostRedirects(hosts))


def _hosts(urls: Collection[str]) -> set[str]:
    return {(urlsplit(u).hostname or "").lower() for u in urls}


def _part_size(part: Path) -> int:
    if not os.path.lexists(part):
        return 0
    return regular_file(part).st_size


def _finish(part: Path, dest: Path, sha256: str) -> Path:
    got = sha256_file(part)
    if got != sha256:
        part.unlink()
        raise DataError(dest, f"checksum mismatch (expected {sha256}, got {got}); the partial file was removed")
    with disk_full_as_error(dest):
        return replace_file(part, dest)


def _resume_start(resp, dest: Path, have: int, size: int) -> int:
    """Where the response body starts: ``have`` for a matching 206, 0 when the server sends the whole file."""
    if not have or resp.status != 206:
        return 0
    match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", "").strip())
    if not match or int(match.group(1)) != have or (match.group(3) != "*" and int(match.group(3)) != size):
        raise DiffViewsError(f"{dest}: {resp.url} answered a resume with the wrong range; run the command again")
    return have


def download_file(
    url: str,
    dest: Path,
    sha256: str,
    size: int,
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    hosts: Collection[str] | None = None,
    timeout: float = TIMEOUT,
) -> Path:
    """Fetch ``url`` to ``dest`` (``size`` bytes, SHA-256 ``sha256``) through ``dest.part``, then rename.

    A partial ``.part`` is resumed with an HTTP Range request and a complete one is only verified. A body that
    stops early keeps its ``.part`` (run again to resume); one longer than ``size`` is refused as it arrives.
    Redirects go only to ``hosts`` (default: the URL's own host). ``progress`` and ``cancel`` follow the
    ``diffviews_core.jobs`` contract (checked after every block).
    """
    dest = Path(dest)
    if os.path.lexists(dest):
        if regular_file(dest).st_size == size and sha256_file(dest) == sha256:
            return dest
    with disk_full_as_error(dest):
        dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = _part_size(part)
    if have > size:
        part.unlink()
        have = 0
    if have == size:
        try:
            return _finish(part, dest, sha256)
        except DataError:
            have = 0  # a complete but wrong .part: fetch the file again
    opener = _opener(hosts or _hosts([url]))
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    done = have
    try:
        with opener.open(req, timeout=timeout) as resp:  # a manifest URL the user chose
            start = _resume_start(resp, dest, have, size)
            length = resp.headers.get("Content-Length")
            if length is not None and length.strip().isdigit() and start + int(length) > size:
                raise DataError(
                    dest, f"the server offers {start + int(length):,} bytes, the manifest says {size:,}; not downloaded"
                )
            done = start
            with disk_full_as_error(part), open(part, "ab" if start else "wb") as out:
                while block := resp.read(min(CHUNK, size - done + 1)):
                    check_cancelled(cancel, f"download of {dest.name} cancelled (resumes next time)")
                    if done + len(block) > size:
                        out.close()
                        part.unlink()
                        raise DataError(dest, f"the server sent more than the manifest's {size:,} bytes; not kept")
                    out.write(block)
                    done += len(block)
                    report(progress, done / size if size else None, _bytes_message(dest.name, done, size))
    except DiskFullError:
        raise
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # our .part is no prefix the server knows: start over
            part.unlink()
        raise DiffViewsError(f"{dest}: download from {url} failed ({brief(exc)}); run the command again") from None
    except TRANSFER_ERRORS as exc:
        if is_disk_full(exc):
            raise DiskFullError(part, f"{done:,} of {size:,} bytes kept for resuming") from None
        raise DiffViewsError(
            f"{dest}: download from {url} interrupted at {done:,} of {size:,} bytes ({brief(exc)}); "
            "run the command again to resume"
        ) from None
    if done < size:
        raise DiffViewsError(f"{dest}: {url} stopped at {done:,} of {size:,} bytes; run the command again to resume")
    return _finish(part, dest, sha256)


def _bytes_message(name: str, done: int, total: int | None) -> str:
    return f"{name}: {done / 1e6:.1f} of {total / 1e6:.1f} MB" if total else f"{name}: {done / 1e6:.1f} MB"


def _inside(out_dir: Path, dest: Path) -> None:
    """Refuse a destination that a link inside ``out_dir`` would carry elsewhere."""
    root = out_dir.resolve()
    where = dest.parent.resolve()
    if where != root and root not in where.parents:
        raise DataError(dest, f"refusing to write outside {out_dir} (a link leads to {where})")


def download(
    entries: list[ManifestEntry],
    out_dir: Path,
    source: str = "auto",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    timeout: float = TIMEOUT,
) -> list[Path]:
    """Download every entry into ``out_dir``; ``source`` auto tries R2 then Hugging Face per file.

    ``progress`` gives each file an equal share of the whole; its message names the file and the bytes so far."""
    out_dir = Path(out_dir)
    order = SOURCES if source == "auto" else (source,)
    hosts = _hosts([u for e in entries for u in e.urls.values()])
    paths = []
    for i, e in enumerate(entries):
        urls = [e.urls[s] for s in order if s in e.urls]
        if not urls:
            raise DataError(e.path, f"no URL for source {source!r} in the manifest")
        dest = out_dir / e.path
        with disk_full_as_error(dest):
            dest.parent.mkdir(parents=True, exist_ok=True)
        _inside(out_dir, dest)
        last: Exception | None = None
        for url in urls:
            try:
                part = stage_progress(progress, i / len(entries), (i + 1) / len(entries))
                paths.append(download_file(url, dest, e.sha256, e.size, part, cancel, hosts, timeout))
                break
            except DiffViewsError as exc:
                if isinstance(exc, (CancelledError, DataError)):
                    raise
                last = exc
                log.warning("%s", exc)
        else:
            raise last  # type: ignore[misc]
    return paths

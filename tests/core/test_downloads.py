"""Downloads (checksummed, resumable, atomic) against a loopback HTTP server, and offline import."""

from __future__ import annotations

import hashlib
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from data_fixtures import make_original_layout

from diffviews_core.cli.main import main
from diffviews_core.downloads import download, download_file, read_manifest, select
from diffviews_core.errors import CancelledError, DataError
from diffviews_core.importer import import_data

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


class _Handler(BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    served: list[tuple[str, int]] = []

    def do_GET(self):
        body = self.files.get(self.path)
        if body is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.served.append((self.path, len(body) - start))  # before the body: the client may finish first
        self.wfile.write(body[start:])

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    _Handler.files = {"/data.bin": PAYLOAD, "/ckpt.bin": b"weights" * 100}
    _Handler.served = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    thread.join(5)
    httpd.server_close()


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def test_download_verifies_and_renames(server, tmp_path):
    dest = tmp_path / "d" / "data.bin"
    download_file(f"{server}/data.bin", dest, sha(PAYLOAD), len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD and not (tmp_path / "d" / "data.bin.part").exists()
    download_file(f"{server}/data.bin", dest, sha(PAYLOAD), len(PAYLOAD))  # already there: nothing fetched
    assert len(_Handler.served) == 1


def test_download_resumes_a_partial_file(server, tmp_path):
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:300_000])
    download_file(f"{server}/data.bin", dest, sha(PAYLOAD), len(PAYLOAD))
    assert dest.read_bytes() == PAYLOAD
    assert _Handler.served == [("/data.bin", len(PAYLOAD) - 300_000)]


def test_download_reports_progress_and_stops_when_cancelled(server, tmp_path, monkeypatch):
    """The job contract: progress(fraction, message) per block; a set cancel event stops it, and it resumes."""
    monkeypatch.setattr("diffviews_core.downloads.CHUNK", 1 << 16)  # 16 blocks
    seen, cancel = [], threading.Event()

    def progress(fraction, message):
        seen.append((fraction, message))
        cancel.set()  # after the first block

    dest = tmp_path / "data.bin"
    with pytest.raises(CancelledError, match="resumes next time"):
        download_file(f"{server}/data.bin", dest, sha(PAYLOAD), len(PAYLOAD), progress, cancel)
    assert not dest.exists() and (tmp_path / "data.bin.part").stat().st_size < len(PAYLOAD)
    seen.clear()
    download_file(f"{server}/data.bin", dest, sha(PAYLOAD), len(PAYLOAD), lambda f, m: seen.append((f, m)))
    assert dest.read_bytes() == PAYLOAD
    assert seen[-1] == (1.0, "data.bin: 1.0 of 1.0 MB") and [f for f, _ in seen] == sorted(f for f, _ in seen)


def test_checksum_mismatch_removes_the_partial_file(server, tmp_path):
    dest = tmp_path / "data.bin"
    with pytest.raises(DataError, match="checksum mismatch"):
        download_file(f"{server}/data.bin", dest, "0" * 64, len(PAYLOAD))
    assert not dest.exists() and not (tmp_path / "data.bin.part").exists()


def test_manifest_groups_and_cli(server, tmp_path, capsys):
    manifest = {"files": [
        {"path": "dmd2/data.bin", "sha256": sha(PAYLOAD), "size": len(PAYLOAD), "group": "data",
         "urls": {"hf": f"{server}/data.bin"}},
        {"path": "dmd2/checkpoints/m.bin", "sha256": sha(b"weights" * 100), "size": 700, "group": "checkpoint:dmd2",
         "urls": {"r2": f"{server}/missing", "hf": f"{server}/ckpt.bin"}},
    ]}  # fmt: skip
    mpath = tmp_path / "manifest.json"
    mpath.write_text(json.dumps(manifest))
    entries = read_manifest(str(mpath))
    assert [e.path for e in select(entries, "none")] == ["dmd2/data.bin"]
    assert len(select(entries, "dmd2")) == 2 and len(select(entries, "edm")) == 1
    out = tmp_path / "root"
    download(select(entries, "all"), out)  # r2 answers 404 for the checkpoint: auto falls back to hf
    assert (out / "dmd2" / "checkpoints" / "m.bin").read_bytes() == b"weights" * 100
    assert main(["download", "--manifest", str(mpath), "--output-dir", str(out), "--checkpoints", "none"]) == 0
    assert "1 file(s) verified" in capsys.readouterr().out


def test_manifest_with_unsafe_path_is_refused(tmp_path):
    mpath = tmp_path / "m.json"
    mpath.write_text(json.dumps({"files": [{"path": "../evil", "sha256": "0" * 64, "size": 1, "urls": {"hf": "x"}}]}))
    with pytest.raises(DataError, match="leads outside its folder"):
        read_manifest(str(mpath))


def test_import_archive_of_a_data_root(tmp_path):
    src = make_original_layout(tmp_path / "src", n_per_model=6, broken=False)
    archive = tmp_path / "data.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(src, arcname="data")
    root = tmp_path / "root"
    models = import_data(archive, root)
    assert sorted(p.name for p in models) == ["dmd2", "edm"]
    assert (root / "dmd2" / "config.json").is_file()
    with pytest.raises(DataError, match="already exists"):
        import_data(archive, root)
    assert [p.name for p in root.iterdir() if p.name.startswith(".import")] == []


def test_import_refuses_path_traversal(tmp_path):
    archive = tmp_path / "evil.tar"
    payload = tmp_path / "x.txt"
    payload.write_text("x")
    with tarfile.open(archive, "w") as tf:
        tf.add(payload, arcname="../escape.txt")
    with pytest.raises(DataError, match="unsafe path"):
        import_data(archive, tmp_path / "root")
    assert not (tmp_path / "escape.txt").exists()

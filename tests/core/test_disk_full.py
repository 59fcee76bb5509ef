"""A full disk: every writer says "disk full" with the path and leaves every existing file as it was.

The real thing where the test may mount a small tmpfs (root on Linux); otherwise those tests skip with the reason,
and ENOSPC injected at the fsync every atomic write makes still checks the message and the untouched files."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from data_fixtures import make_original_layout, tree_checksums
from http_fixtures import Route, http_server

from diffviews_core.atomic import atomic_write_json
from diffviews_core.errors import DiskFullError
from diffviews_core.formats import open_data
from diffviews_core.lineage import GenerationSettings, Lineage
from diffviews_core.pipelines.convert import convert_model


class SmallDisk:
    """A 4 MiB tmpfs at ``path``; ``fill()`` takes all but ``leave`` bytes of it."""

    def __init__(self, path):
        self.path = path

    def fill(self, leave: int = 0) -> None:
        filler = self.path / "filler"
        with open(filler, "ab", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
        if leave:
            os.truncate(filler, max(0, filler.stat().st_size - leave))


@pytest.fixture
def small_disk(tmp_path):
    if not sys.platform.startswith("linux") or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux; the injected-ENOSPC tests still run")
    mnt = tmp_path / "small"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield SmallDisk(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _is_disk_full(exc: DiskFullError, path) -> None:
    assert "disk full" in str(exc) and str(path) in str(exc) and "\n" not in str(exc)


def test_atomic_writes_keep_the_old_file(small_disk):
    target = small_disk.path / "config.json"
    atomic_write_json(target, {"old": True})
    small_disk.fill()
    with pytest.raises(DiskFullError) as info:
        atomic_write_json(target, {"new": "x" * 100_000})
    _is_disk_full(info.value, target)
    assert json.loads(target.read_text()) == {"old": True}
    assert sorted(p.name for p in small_disk.path.iterdir()) == ["config.json", "filler"]


def test_embedding_lineage_and_session_writes(small_disk, tmp_path):
    root = make_original_layout(small_disk.path / "data", n_per_model=6, models=("dmd2",), broken=False)
    model = open_data(root).models["dmd2"]
    lineage_path = small_disk.path / "lineage.json"
    lineage = Lineage("dmd2", "edm", ["midblock"], [1], 0, GenerationSettings())
    lineage.save(lineage_path)
    before = tree_checksums(small_disk.path)
    small_disk.fill()
    coords = np.zeros((model.num_samples, 2), dtype=np.float32)
    with pytest.raises(DiskFullError) as info:
        model.write_embedding("demo_embeddings", coords + 1, None, {"x": "y" * 100_000}, overwrite=True)
    assert "disk full" in str(info.value) and "demo_embeddings" in str(info.value)
    with pytest.raises(DiskFullError) as info:
        lineage.image_sha256 = ["f" * 64] * 5000
        lineage.save(lineage_path)
    _is_disk_full(info.value, lineage_path)
    after = tree_checksums(small_disk.path)
    assert {k: v for k, v in after.items() if k != "filler"} == before


def test_convert_into_a_full_disk(small_disk):
    root = make_original_layout(small_disk.path / "data", n_per_model=4, models=("edm",), broken=False)
    folder = root / "edm" / "activations" / "imagenet_real"
    for npz in folder.glob("*.npz"):  # big enough that the .npy cannot fit
        np.savez_compressed(npz, **{"midblock": np.zeros((20_000, 24), np.float32),
                                    "encoder_bottleneck": np.zeros((20_000, 16), np.float32)})  # fmt: skip
    before = tree_checksums(root)
    small_disk.fill(leave=64 << 10)
    with pytest.raises(DiskFullError) as info:
        convert_model(root / "edm")
    assert "disk full" in str(info.value) and str(folder) in str(info.value)
    assert tree_checksums(root) == before and not list(folder.glob(".*"))


def test_download_into_a_full_disk_keeps_the_part_for_resuming(small_disk):
    from diffviews_core.downloads import download_file

    body = os.urandom(3 << 20)
    dest = small_disk.path / "out" / "data.bin"
    with http_server() as server:
        server.routes["/data.bin"] = Route(body)
        small_disk.fill(leave=1 << 20)
        with pytest.raises(DiskFullError) as info:
            download_file(server.url("/data.bin"), dest, hashlib.sha256(body).hexdigest(), len(body))
    assert "disk full" in str(info.value) and "data.bin.part" in str(info.value)
    assert not dest.exists() and 0 < dest.with_name("data.bin.part").stat().st_size < len(body)


def test_import_into_a_full_disk_leaves_the_data_root_as_it_was(small_disk, tmp_path):
    from diffviews_core.importer import import_data

    src = make_original_layout(tmp_path / "src", n_per_model=6, models=("dmd2",), broken=False)
    np.save(src / "dmd2" / "big.npy", np.random.default_rng(0).standard_normal(600_000).astype(np.float32))
    data_root = small_disk.path / "root"
    shutil.copytree(make_original_layout(tmp_path / "other", n_per_model=4, models=("edm",), broken=False) / "edm",
                    data_root / "edm")  # fmt: skip
    before = tree_checksums(data_root)
    small_disk.fill(leave=1 << 20)
    with pytest.raises(DiskFullError) as info:
        import_data(src / "dmd2", data_root)
    assert "disk full" in str(info.value)
    assert tree_checksums(data_root) == before and sorted(p.name for p in data_root.iterdir()) == ["edm"]


def test_checkpoint_convert_into_a_full_disk(small_disk, tmp_path, tiny_net):
    from diffviews_core.checkpoints import convert_checkpoint, save_network
    from diffviews_core.networks import TINY

    src = tmp_path / "tiny.safetensors"
    save_network(tiny_net, src, TINY)
    out = small_disk.path / "out.safetensors"
    out.write_bytes(b"previous")
    small_disk.fill(leave=100 << 10)
    with pytest.raises(DiskFullError) as info:
        convert_checkpoint(src, out)
    assert "disk full" in str(info.value) and str(small_disk.path) in str(info.value)
    assert out.read_bytes() == b"previous" and not list(small_disk.path.glob(".*"))


def test_injected_enospc_keeps_the_old_file_and_names_it(tmp_path, monkeypatch):
    """Where no tmpfs can be mounted: ENOSPC raised at the fsync of every atomic write."""
    target = tmp_path / "embeddings.json"
    atomic_write_json(target, {"old": True})

    def full(_fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DiskFullError) as info:
        atomic_write_json(target, {"new": True})
    _is_disk_full(info.value, target)
    assert json.loads(target.read_text()) == {"old": True} and [p.name for p in tmp_path.iterdir()] == [target.name]
    lineage = tmp_path / "lineage.json"
    with pytest.raises(DiskFullError) as info:
        Lineage("m", "edm", [], [], None, GenerationSettings()).save(lineage)
    _is_disk_full(info.value, lineage)
    assert not lineage.exists()

"""Sharded builds: any split into shards + merge gives the single-process dataset byte for byte; only missing
shards are built again; merge verifies every shard and refuses missing or damaged ones."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from data_fixtures import tree_checksums

from diffviews_core.errors import CancelledError, DataError
from diffviews_core.formats import open_data
from diffviews_core.formats.reduction import ReductionSpec
from diffviews_core.pipelines.builder import BuildSpec, build_dataset
from diffviews_core.pipelines.merge import merge_shards, merge_state
from diffviews_core.pipelines.shards import ShardedBuild, parse_shard, split_chunks
from diffviews_core.pipelines.sources import ArraySource

LAYERS = ["encoder_bottleneck", "midblock"]


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(4)
    return rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8), np.array([0, 1, 2, 3, 4] * 2)


def _spec(out, images, **kw):
    base = dict(output=out, source=ArraySource(*images, class_names=["a", "b, c", "d", "e", "f"]), sigmas=[9.0, 0.3],
                layers=LAYERS, batch_size=3, label_mode="both", seed=11)  # fmt: skip
    return BuildSpec(**{**base, **kw})


@pytest.fixture(scope="module")
def single(tmp_path_factory, images):
    """The single-process build, full size and reduced: the reference bytes."""
    from tiny_model import seed_like_spec

    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm

    net = build_edm(TINY).eval()
    seed_like_spec(net)
    adapter = EDMAdapter(net, device="cpu")
    root = tmp_path_factory.mktemp("single")
    full = build_dataset(_spec(root / "ds", images), adapter=adapter)
    red = {"midblock": ReductionSpec("pca", 5, float16=True), "encoder_bottleneck": ReductionSpec("mean_pool")}
    reduced = build_dataset(_spec(root / "red" / "ds", images, reductions=red, reduction_fit_rows=12), adapter=adapter)
    return adapter, full, reduced, red


def _sharded(out, images, adapter, count, **kw):
    build = ShardedBuild(_spec(out, images, **kw), count, adapter=adapter)
    for i in range(count):
        build.build_shard(i)
    return merge_shards(out)


def test_parse_and_split():
    assert parse_shard("0/4") == (0, 4) and parse_shard(" 3 / 4 ") == (3, 4)
    for bad in ("4/4", "1", "-1/2", "a/b", "0/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)
    assert split_chunks(4, 2) == [(0, 2), (2, 4)]
    assert split_chunks(4, 3) == [(0, 2), (2, 3), (3, 4)]
    assert split_chunks(2, 3) == [(0, 1), (1, 2), (2, 2)]


@pytest.mark.parametrize("count", [2, 5])  # 5 shards of 4 batches: one shard is empty
def test_shards_and_merge_give_the_single_process_bytes(tmp_path, images, single, count):
    adapter, full, _reduced, _red = single
    out = _sharded(tmp_path / "ds", images, adapter, count)
    assert tree_checksums(out) == tree_checksums(full)
    model = open_data(out).models["ds"]
    assert model.num_samples == 40 and model.verify() == [] and model.warnings == []


def test_reduced_shards_merge_to_the_single_process_bytes(tmp_path, images, single):
    adapter, _full, reduced, red = single
    out = _sharded(tmp_path / "red" / "ds", images, adapter, 2, reductions=red, reduction_fit_rows=12)
    assert tree_checksums(out) == tree_checksums(reduced)


def test_only_missing_shards_are_built_again(tmp_path, images, single, monkeypatch):
    adapter, full, _reduced, _red = single
    out = tmp_path / "ds"
    build = ShardedBuild(_spec(out, images), 3, adapter=adapter)
    build.build_shard(0)
    cancel = threading.Event()

    def stop_after_first(fraction, message):
        cancel.set()

    with pytest.raises(CancelledError):
        build.build_shard(1, progress=stop_after_first, cancel=cancel)
    assert merge_state(out) == {"count": 3, "done": 1, "missing": [1, 2]}
    assert not list((out / "shards").glob(".shard-*partial*"))  # the interrupted shard left nothing behind
    with pytest.raises(DataError, match="2 of 3 shards are not built yet"):
        merge_shards(out)

    import diffviews_core.pipelines.shards as shards_mod

    calls = []
    real = shards_mod.chunk_rows
    monkeypatch.setattr(shards_mod, "chunk_rows", lambda *a, **k: calls.append(a[4]) or real(*a, **k))
    again = ShardedBuild(_spec(out, images), 3, adapter=adapter)  # a new process resuming the build
    for i in range(3):
        again.build_shard(i)
    assert sorted(set(calls)) == [2, 3]  # batches of shards 1 and 2 only; shard 0 was kept
    merge_shards(out)
    assert tree_checksums(out) == tree_checksums(full)


def test_merge_refuses_a_damaged_shard(tmp_path, images, single):
    adapter, *_ = single
    out = tmp_path / "ds"
    build = ShardedBuild(_spec(out, images), 2, adapter=adapter)
    build.build_shard(0)
    build.build_shard(1)
    victim = out / "shards" / "shard-00001-of-00002" / "midblock.npy"
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF
    victim.write_bytes(bytes(data))
    with pytest.raises(DataError, match="shard-00001-of-00002/midblock.npy: SHA-256 differs"):
        merge_shards(out)
    assert not (out / "manifest.json").exists()


def test_a_different_build_in_the_same_folder_is_refused(tmp_path, images, single):
    adapter, *_ = single
    out = tmp_path / "ds"
    ShardedBuild(_spec(out, images), 2, adapter=adapter).build_shard(0)
    with pytest.raises(DataError, match="different settings"):
        ShardedBuild(_spec(out, images, seed=12), 2, adapter=adapter).build_shard(1)
    with pytest.raises(DataError, match="split into 2 shards, not 3"):
        ShardedBuild(_spec(out, images), 3, adapter=adapter).build_shard(1)


def test_a_tampered_plan_or_shard_record_is_refused_before_anything_moves(tmp_path, images, single):
    """The merge turns plan.json's layer names and file lists into paths: a bad type or a path leading out of the
    build folder is a DataError naming the file, and nothing is moved or written (issue 11's rule for readers)."""
    import json

    adapter, *_ = single
    out = tmp_path / "ds"
    build = ShardedBuild(_spec(out, images), 2, adapter=adapter)
    build.build_shard(0)
    build.build_shard(1)
    plan_path = out / "shards" / "plan.json"
    plan = json.loads(plan_path.read_text())
    (tmp_path / "outside.txt").write_text("keep me")
    before = tree_checksums(tmp_path)
    width = plan["widths"]["midblock"]
    for change in ({"extra_files": ["../../outside.txt"]}, {"checksums": {"/etc/passwd": "0" * 64}},
                   {"widths": {"../../evil": width}}, {"widths": {"midblock": [width[0], "object"]}},
                   {"count": "2"}, {"shard_images": [[0, 5]]}, {"blocks": None}, {"config": 3}):  # fmt: skip
        plan_path.write_text(json.dumps({**plan, **change}))
        with pytest.raises(DataError) as info:
            merge_shards(out)
        assert info.value.path == str(plan_path), change
    plan_path.write_text(json.dumps(plan, indent=2, sort_keys=True) + "\n")
    record_path = out / "shards" / "shard-00001-of-00002" / "shard.json"
    record = json.loads(record_path.read_text())
    for files in ({"../../../outside.txt": {"bytes": 7, "sha256": "0" * 64}}, {"midblock.npy": {"bytes": "1"}}, []):
        record_path.write_text(json.dumps({**record, "files": files}))
        with pytest.raises(DataError) as info:
            merge_shards(out)
        assert info.value.path == str(record_path), files
    after = tree_checksums(tmp_path)
    assert set(after) == set(before) and after["outside.txt"] == before["outside.txt"]
    assert not (out / "manifest.json").exists()

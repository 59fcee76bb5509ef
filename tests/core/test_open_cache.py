"""A warm open reads the parsed table, dataset_info.json's summary and the image check from the user cache, and
anything that changes on disk is seen again."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
from data_fixtures import make_original_layout

from diffviews_core.formats import dataset_info as dataset_info_module
from diffviews_core.formats import image_check, table, table_cache
from diffviews_core.formats.model import ModelData


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_original_layout(tmp_path_factory.mktemp("pristine"), n_per_model=12, models=("dmd2",), broken=False)


@pytest.fixture
def root(pristine, tmp_path, monkeypatch):
    monkeypatch.setattr(table_cache, "MIN_SOURCE_BYTES", 0)  # cache even the fixture's small files
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    root = tmp_path / "root"
    shutil.copytree(pristine, root)
    return root


def test_a_warm_open_parses_nothing_and_lists_no_folder(root, monkeypatch):
    cold = ModelData(root / "dmd2", root=root)
    fail = lambda *a, **k: pytest.fail("parsed or listed again on a warm open")  # noqa: E731
    monkeypatch.setattr(table, "read_source", fail)
    monkeypatch.setattr(dataset_info_module, "read_json_object", fail)
    monkeypatch.setattr(image_check, "find_missing", fail)
    warm = ModelData(root / "dmd2", root=root)
    assert list(warm.samples.columns) == list(cold.samples.columns)
    for name, col in cold.samples.columns.items():
        assert warm.samples.columns[name].tolist() == col.tolist()
    np.testing.assert_array_equal(warm.embedding().coords2d, cold.embedding().coords2d)
    assert warm.layer_shapes == cold.layer_shapes and warm.warnings == cold.warnings


def test_an_image_removed_after_a_warm_open_is_reported(root):
    ModelData(root / "dmd2", root=root)
    m = ModelData(root / "dmd2", root=root)
    assert not m.warnings
    victim = m.image_path(5)
    victim.unlink()
    warned = ModelData(root / "dmd2", root=root).warnings
    assert any(str(victim) in w and "missing image" in w for w in warned)
    shutil.copy(m.image_path(4), victim)
    assert not ModelData(root / "dmd2", root=root).warnings


def test_dataset_info_summary_follows_a_changed_file(root):
    path = root / "dmd2/metadata/imagenet_real/dataset_info.json"
    first = dataset_info_module.DatasetInfo(path)
    assert (first.num_samples, first.layer_shapes["midblock"]) == (12, (24,))
    info = json.loads(path.read_text())
    info["layer_shapes"]["midblock"] = [2, 3, 4]
    info["samples"] = info["samples"][:-1]
    stat = path.stat()
    path.write_text(json.dumps(info))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    again = dataset_info_module.DatasetInfo(path)
    assert (again.num_samples, again.layer_shapes["midblock"]) == (11, (2, 3, 4))
    assert len(again.table()) == 11 and len(dataset_info_module.DatasetInfo(path).table()) == 11


@pytest.mark.parametrize("vectorised", [False, True], ids=["loop", "pyarrow"])
def test_missing_images_are_named_as_before(tmp_path, monkeypatch, vectorised):
    if vectorised:
        monkeypatch.setattr(image_check, "PYARROW_MIN_PATHS", 0)
    model = tmp_path / "m"
    (model / "images/a").mkdir(parents=True)
    (model / "images/b").mkdir(parents=True)
    for rel in ("images/a/1.png", "images/b/2.png"):
        (model / rel).write_bytes(b"png")
    (model / "images/a/sub.png").mkdir()  # a folder is not an image
    paths = np.array(["images/a/1.png", "images/a/sub.png", "images\\b\\2.png", "images/b/3.png", "images/a/1.png",
                      "", "images/c/4.png"], dtype=object)  # fmt: skip
    found, folders = image_check.find_missing(model, paths)
    assert found == image_check.MissingImages("images/a/sub.png", 3)
    assert sorted(folders) == ["images/a", "images/b", "images/c"]


def test_map_points_come_before_the_rest_and_match_the_opened_model(root, monkeypatch):
    from diffviews_core.formats import open_data
    from diffviews_core.formats.points import read_map_points

    opened = open_data(root).models["dmd2"]
    with monkeypatch.context() as m:  # nothing but the embedding CSV is read
        fail = lambda *a, **k: pytest.fail("read more than the map's points")  # noqa: E731
        m.setattr(dataset_info_module, "read_json_object", fail)
        m.setattr(image_check, "find_missing", fail)
        m.setattr("diffviews_core.formats.model.ModelData.__init__", fail)
        points = read_map_points(root)  # a data root: its first model, as open_data shows it
    assert points.model_path == root / "dmd2" and points.embedding == opened.embedding_names[0]
    np.testing.assert_array_equal(points.coords2d, opened.embedding().coords2d)
    assert points.coords3d is None and points.num_points == opened.num_samples
    assert set(points.columns) == {"class_label", "conditioning_sigma"}
    np.testing.assert_array_equal(points.columns["class_label"], opened.samples.class_label)
    np.testing.assert_array_equal(points.columns["conditioning_sigma"], opened.samples.conditioning_sigma)
    assert read_map_points(root / "dmd2", columns=("class_name",)).columns["class_name"].tolist() == list(
        opened.samples.class_name
    )


def test_no_map_points_without_an_embedding(tmp_path):
    from diffviews_core.formats.points import read_map_points

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text("{}")
    assert read_map_points(tmp_path) is None and read_map_points(tmp_path / "nothing") is None

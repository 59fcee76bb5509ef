"""Bad input: each defect is a DataError naming the file and the problem, and nothing the user made changes."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from data_fixtures import make_original_layout, tree_checksums

from diffviews_core.errors import DataError
from diffviews_core.formats import open_data
from diffviews_core.formats.model import ModelData

ACT = "dmd2/activations/imagenet_real/batch_000000.npy"
CSV = "dmd2/embeddings/demo_embeddings.csv"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    return make_original_layout(tmp_path_factory.mktemp("pristine"), n_per_model=12, models=("dmd2",), broken=False)


def _truncate(root):
    p = root / ACT
    p.write_bytes(p.read_bytes()[:-7])


def _wrong_shapes(root):
    p = root / (ACT + ".json")
    info = json.loads(p.read_text())
    info["shapes"]["midblock"] = [6, 3, 3]
    p.write_text(json.dumps(info))


def _fewer_activation_rows(root):
    p = root / ACT
    np.save(p, np.load(p)[:10])
    info_path = root / (ACT + ".json")
    info = json.loads(info_path.read_text())
    info["num_samples"] = 10
    info_path.write_text(json.dumps(info))


def _nan_coordinates(root):
    p = root / CSV
    lines = p.read_text().splitlines()
    head = lines[0].split(",")
    cells = lines[3].rsplit(",", 2)
    lines[3] = ",".join([cells[0], "nan", cells[2]])
    assert head[-2] == "umap_x"
    p.write_text("\n".join(lines) + "\n")


def _non_utf8_csv(root):
    p = root / CSV
    p.write_bytes(p.read_bytes().replace(b"tench", b"t\xe9nch"))


def _non_utf8_config(root):
    (root / "dmd2/config.json").write_bytes(b'{"adapter": "dmd2-imagenet-64", "note": "caf\xe9"}')


def _invalid_json(root):
    (root / "dmd2/metadata/imagenet_real/dataset_info.json").write_text('{"samples": [', encoding="utf-8")


def _missing_umap_column(root):
    p = root / CSV
    lines = p.read_text().splitlines()
    p.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines) + "\n")


def _missing_sample_id(root):
    p = root / CSV
    p.write_text(p.read_text().replace("sample_id,", "sample_number,", 1))


def _bad_number(root):
    p = root / CSV
    lines = p.read_text().splitlines()
    first, rest = lines[2].split(",", 1)
    lines[2] = first + ",abc" + rest[rest.index(",") :]  # class_label
    p.write_text("\n".join(lines) + "\n")


def _mixed_ids(root):
    p = root / CSV
    lines = p.read_text().splitlines()
    lines[2] = "sample_000001_n82" + lines[2][lines[2].index(",") :]
    p.write_text("\n".join(lines) + "\n")


def _info_count_mismatch(root):
    p = root / "dmd2/metadata/imagenet_real/dataset_info.json"
    info = json.loads(p.read_text())
    info["samples"] = info["samples"][:-1]
    p.write_text(json.dumps(info))


CASES = {
    "truncated npy": (_truncate, "batch_000000.npy", "truncated"),
    "wrong shapes": (_wrong_shapes, "batch_000000.npy.json", "layer shapes add up to"),
    "activation rows != CSV rows": (_fewer_activation_rows, "batch_000000.npy", "activation rows"),
    "NaN coordinates": (_nan_coordinates, "demo_embeddings.csv", "non-finite value(s) in column 'umap_x'"),
    "non-UTF-8 CSV": (_non_utf8_csv, "demo_embeddings.csv", "not UTF-8"),
    "non-UTF-8 JSON": (_non_utf8_config, "config.json", "not UTF-8"),
    "invalid JSON": (_invalid_json, "dataset_info.json", "invalid JSON"),
    "missing umap column": (_missing_umap_column, "demo_embeddings.csv", "missing column(s) umap_y"),
    "missing sample_id column": (_missing_sample_id, "demo_embeddings.csv", "missing column(s) sample_id"),
    "not a number": (_bad_number, "demo_embeddings.csv", "column 'class_label', data row 2: 'abc' is not a number"),
    "mixed ids": (_mixed_ids, "demo_embeddings.csv", "mixes integer ids (data row 1: '0') and text ids (data row 2"),
    "dataset_info count": (_info_count_mismatch, "dataset_info.json", "lists 11 samples"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_a_named_data_error(pristine, tmp_path, case):
    mutate, filename, problem = CASES[case]
    root = tmp_path / "root"
    shutil.copytree(pristine, root)
    mutate(root)
    before = tree_checksums(root)

    with pytest.raises(DataError) as info:
        ModelData(root / "dmd2", root=root)
    assert info.value.path.endswith(filename), info.value.path
    assert problem in info.value.reason

    opened = open_data(root)  # the root still opens; the model is listed with its reason
    assert opened.models == {} and filename in opened.problems["dmd2"] and problem in opened.problems["dmd2"]
    assert tree_checksums(root) == before


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_found_past_warm_caches(pristine, tmp_path, monkeypatch, case):
    """With every parsed file kept in the cache (no size floor), a defect made after a good open is still found."""
    from diffviews_core.formats import table_cache

    monkeypatch.setattr(table_cache, "MIN_SOURCE_BYTES", 0)
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    mutate, filename, problem = CASES[case]
    root = tmp_path / "root"
    shutil.copytree(pristine, root)
    ModelData(root / "dmd2", root=root)
    assert list((tmp_path / "cache" / "tables").iterdir())
    mutate(root)
    for _ in range(2):  # the second open after the defect meets whatever the first one cached
        with pytest.raises(DataError) as info:
            ModelData(root / "dmd2", root=root)
        assert info.value.path.endswith(filename) and problem in info.value.reason


def test_missing_image_is_reported_and_named(pristine, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(pristine, root)
    m0 = open_data(root).models["dmd2"]
    victim = m0.image_path(2)
    victim.unlink()
    before = tree_checksums(root)
    m = open_data(root).models["dmd2"]
    assert any(str(victim) in w and "missing image" in w for w in m.warnings)
    with pytest.raises(DataError) as info:
        m.image(2)
    assert info.value.path == str(victim) and "missing image" in info.value.reason
    assert m.image(1).shape == (8, 8, 3)
    assert tree_checksums(root) == before


def test_bad_layer_cache_is_a_warning_not_fatal(pristine, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(pristine, root)
    np.save(root / "dmd2/embeddings/layer_cache/encoder_block_0.npy", np.zeros((5, 8), np.float32))
    m = open_data(root).models["dmd2"]
    assert "encoder_block_0" not in m.layers
    assert any("encoder_block_0.npy" in w and "ignored" in w for w in m.warnings)


def test_nan_in_secondary_embedding_fails_when_used(pristine, tmp_path):
    root = tmp_path / "root"
    shutil.copytree(pristine, root)
    p = root / "dmd2/embeddings/layer_cache/encoder_block_0.csv"
    lines = p.read_text().splitlines()
    cells = lines[1].rsplit(",", 2)
    lines[1] = ",".join([cells[0], cells[1], "inf"])
    p.write_text("\n".join(lines) + "\n")
    m = open_data(root).models["dmd2"]
    with pytest.raises(DataError, match="non-finite value.*umap_y") as info:
        m.embedding("layer_cache/encoder_block_0")
    assert info.value.path.endswith("encoder_block_0.csv")

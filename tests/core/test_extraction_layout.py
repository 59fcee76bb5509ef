"""The original's current extraction layout opens unchanged: string ids, percent noise levels with a clean 0 % level,
one layer stored as .npz and .npy side by side, sigma config keys, and the text-conditioned (caption) variant."""

from __future__ import annotations

import json

import numpy as np
import pytest
from data_fixtures import tree_checksums
from extraction_fixtures import CAPTIONS, NOISE_LEVELS, sigma_of, write_extraction_layout

from diffviews_core.cli.main import main
from diffviews_core.errors import DataError
from diffviews_core.formats import ModelData, open_data
from diffviews_core.neighbours import ActivationIndex


@pytest.fixture
def root(tmp_path):
    write_extraction_layout(tmp_path / "data" / "dmd2", num_images=6)
    return tmp_path / "data"


def test_opens_unchanged_with_string_ids_and_the_memory_mapped_npy(root):
    before = tree_checksums(root)
    data = open_data(root)
    assert data.problems == {}
    m = data.models["dmd2"]
    s = m.samples
    assert m.num_samples == 6 * 5 and s.ids_are_text
    assert s.sample_id[0] == "sample_000000_n100" and s.sample_id[4] == "sample_000000_n0"
    assert s.row_of("sample_000002_n54") == 2 * 5 + 2
    assert s.sample_key(7) == "sample_000001_n54" and s.id_text(7) == "sample_000001_n54"
    with pytest.raises(KeyError):
        s.row_of(12)  # an integer is not a text id
    # percent noise levels, a clean level at 0 %, the original path: kept as metadata columns
    assert s.columns["noise_level"][:5].tolist() == NOISE_LEVELS
    assert s.columns["original_path"][0] == "n00000000_0.JPEG"
    np.testing.assert_allclose(s.conditioning_sigma[:5], [sigma_of(v) for v in NOISE_LEVELS])
    assert s.conditioning_sigma[4] == pytest.approx(0.002)
    assert list(s.class_label[:5]) == [207] * 5 and s.class_name[0] == "golden_retriever"
    # one layer, the .npy (no dtype in its .npy.json) wins over the .npz beside it: memory-mapped, no warning
    assert m.layers == ["midblock"] and m.layer_shapes == {"midblock": (8, 2, 2)}
    assert m.memory_mapped and m.warnings == []
    acts = m.activations()
    assert isinstance(acts, np.memmap)
    npz = np.load(root / "dmd2/activations/imagenet_real/batch_000000.npz")
    np.testing.assert_array_equal(acts, npz["midblock"])
    # config: sigma keys as percent, the script's 20 steps, the relative checkpoint it does not copy
    cfg = m.config
    assert cfg["noise_max"] == pytest.approx(100.0) and cfg["noise_min"] == pytest.approx(0.0)
    assert cfg["default_steps"] == 20 and cfg["conditioning_type"] == "class"
    assert cfg["checkpoint_raw"] == "checkpoints/dmd2-imagenet-64-10step.pkl" and cfg["checkpoint"] is None
    assert tree_checksums(root) == before


def test_the_npz_alone_opens_with_the_same_rows(root):
    folder = root / "dmd2/activations/imagenet_real"
    expected = np.load(folder / "batch_000000.npy")
    (folder / "batch_000000.npy").unlink()
    (folder / "batch_000000.npy.json").unlink()
    m = ModelData(root / "dmd2", root=root)
    assert not m.memory_mapped and "diffviews convert" in m.warnings[0]
    np.testing.assert_array_equal(m.activations(), expected)


def test_neighbors_takes_and_prints_string_ids(root, capsys):
    assert main(["neighbours", str(root), "-m", "dmd2", "--sample", "sample_000003_n35", "-k", "3", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["sample_id"] == "sample_000003_n35"
    acts = np.load(root / "dmd2/activations/imagenet_real/batch_000000.npy")
    q = 3 * 5 + 3
    dist = np.linalg.norm(acts - acts[q], axis=1)
    dist[q] = np.inf
    ids = json.loads((root / "dmd2/metadata/imagenet_real/dataset_info.json").read_text())["samples"]
    assert [h["sample_id"] for h in report["neighbors"]] == [ids[i]["sample_id"] for i in np.argsort(dist)[:3]]
    assert all(isinstance(h["sample_id"], str) and h["class_name"] for h in report["neighbors"])

    assert main(["neighbours", str(root), "-m", "dmd2", "--sample", "sample_000003_n35", "-k", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 nearest neighbours of sample sample_000003_n35" in out
    assert main(["neighbours", str(root), "-m", "dmd2", "--sample", "sample_999999_n0"]) == 4
    assert "no sample with id sample_999999_n0" in capsys.readouterr().err


def test_info_reports_the_layout(root, capsys):
    assert main(["info", str(root), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["models"]["dmd2"]
    assert report["num_samples"] == 30 and report["num_classes"] == 3 and report["labels"] == "class"
    assert report["layers"] == {"midblock": [8, 2, 2]} and report["activations_memory_mapped"]
    assert report["noise_levels"][-1] == pytest.approx(0.002)
    assert report["warnings"] == []


def test_an_embedding_written_beside_it_keeps_the_text_ids(root):
    m = ModelData(root / "dmd2", root=root)
    rng = np.random.default_rng(0)
    m.write_embedding("midblock_umap", rng.standard_normal((30, 2)), None, {"layers": ["midblock"]})
    again = ModelData(root / "dmd2", root=root)  # the table now comes from the embedding CSV
    assert again.embedding_names == ["midblock_umap"]
    assert again.samples.sample_id.tolist() == m.samples.sample_id.tolist() and again.samples.ids_are_text
    assert again.samples.columns["noise_level"].tolist() == m.samples.columns["noise_level"].tolist()
    assert again.default_layers == ["midblock"] and again.memory_mapped


def test_activation_neighbours_by_string_id(root):
    m = ModelData(root / "dmd2", root=root)
    rows, _ = ActivationIndex(m.activations(["midblock"])).query_rows(m.samples.row_of("sample_000001_n82"), 4)
    assert all(m.samples.id_text(r).startswith("sample_") for r in rows.tolist())


def _edit_info(root, edit) -> None:
    p = root / "dmd2/metadata/imagenet_real/dataset_info.json"
    info = json.loads(p.read_text())
    edit(info["samples"])
    p.write_text(json.dumps(info, indent=2))


def test_duplicate_string_ids_name_the_file_and_rows(root):
    _edit_info(root, lambda s: s[3].update(sample_id=s[1]["sample_id"]))
    with pytest.raises(DataError) as info:
        ModelData(root / "dmd2", root=root)
    assert info.value.path.endswith("dataset_info.json")
    assert info.value.reason == "sample_id 'sample_000000_n82' appears more than once (data rows 2, 4)"


def test_mixed_integer_and_string_ids_name_the_file_and_rows(root):
    _edit_info(root, lambda s: s[2].update(sample_id=20002))
    with pytest.raises(DataError) as info:
        ModelData(root / "dmd2", root=root)
    assert info.value.path.endswith("dataset_info.json")
    assert "mixes integer ids (data row 3: '20002') and text ids (data row 1: 'sample_000000_n100')" in str(info.value)


def test_empty_ids_are_named(root):
    _edit_info(root, lambda s: s[5].update(sample_id=""))
    with pytest.raises(DataError, match="data row 6: empty sample id"):
        ModelData(root / "dmd2", root=root)


def test_integer_ids_still_work_and_accept_their_digits(tmp_path):
    from data_fixtures import make_original_layout

    root = make_original_layout(tmp_path / "orig", broken=False)
    s = open_data(root).models["dmd2"].samples
    assert not s.ids_are_text and s.sample_id.dtype == np.int64
    assert s.row_of(10001) == s.row_of("10001") == s.row_of(np.int64(10001))
    assert s.sample_key(s.row_of(10001)) == 10001 and s.id_text(s.row_of(10001)) == "sample_010001"
    with pytest.raises(KeyError):
        s.row_of("sample_x")


def test_text_conditioned_variant_opens_with_captions(tmp_path, capsys):
    d = write_extraction_layout(tmp_path / "data" / "mscoco", num_images=3, text=True, layer="mid_block")
    m = open_data(tmp_path / "data").models["mscoco"]
    s = m.samples
    assert m.config["conditioning_type"] == "text" and m.config["dataset_type"] == "train2017"
    assert not s.has_classes and "class_label" not in s.columns
    assert s.caption[0] == CAPTIONS[0] and s.caption[5] == CAPTIONS[1]
    assert (s.class_label == -1).all() and s.ids_are_text and m.layers == ["mid_block"]
    assert main(["info", str(d), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["models"]["mscoco"]
    assert report["labels"] == "caption" and report["num_classes"] == 0
    assert main(["neighbours", str(d), "--sample", "sample_000001_n54", "-k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["neighbors"]
    assert all("caption" in h and "class_label" not in h for h in hits)
    # an embedding written beside it keeps captions with commas, quotes and angle brackets
    m.write_embedding("umap", np.zeros((15, 2)) + np.arange(15)[:, None], None, {"layers": ["mid_block"]})
    again = ModelData(d)
    assert again.samples.caption.tolist() == s.caption.tolist() and not again.samples.has_classes


def test_rows_without_class_or_caption_are_refused(root):
    _edit_info(root, lambda s: [r.pop("class_label") for r in s])
    with pytest.raises(DataError, match=r"missing column\(s\) class_label or caption"):
        ModelData(root / "dmd2", root=root)


def test_id_kinds():
    from diffviews_core.formats.table import parse_ids

    assert parse_ids("t.csv", ["3", "1.0", "-2"]).tolist() == [3, 1, -2]
    big = parse_ids("t.csv", ["99999999999999999999999", "sample_1"])  # beyond int64: an opaque text id
    assert big.dtype == object and big.tolist() == ["99999999999999999999999", "sample_1"]
    with pytest.raises(DataError, match="t.csv: column 'sample_id' mixes integer ids"):
        parse_ids("t.csv", ["3", "1.5"])

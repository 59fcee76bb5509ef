"""Opening original-layout data roots: counts, names with commas, shapes, memory mapping, broken models."""

from __future__ import annotations

import math

import numpy as np
import pytest
from data_fixtures import CLASS_NAMES, LAYERS, expected_activations, make_original_layout, tree_checksums
from PIL import Image

from diffviews_core.errors import DataError
from diffviews_core.formats import DataRoot, Embedding, ModelData, SampleTable, open_data


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return make_original_layout(tmp_path_factory.mktemp("data"), n_per_model=24)


@pytest.fixture(scope="module")
def opened(root):
    return open_data(root)


def test_models_and_broken_model(opened):
    assert isinstance(opened, DataRoot)
    assert list(opened.models) == ["dmd2", "edm"]
    assert set(opened.problems) == {"broken"}
    msg = opened.problems["broken"]
    assert "batch_000000.npy" in msg and "truncated" in msg


def test_counts_and_sample_table(opened):
    m = opened.models["dmd2"]
    assert isinstance(m, ModelData) and isinstance(m.samples, SampleTable)
    assert m.num_samples == len(m.samples) == 24
    assert m.samples.sample_id.dtype == np.int64 and m.samples.class_label.dtype == np.int64
    assert m.samples.conditioning_sigma.dtype == np.float64
    assert sorted(set(m.samples.conditioning_sigma)) == [0.62, 1.9, 14.0, 80.0]
    assert m.samples.sample_id[6] == 10000  # 6 images per level, ids offset by 10000 per level
    assert m.samples.row_of(10000) == 6
    assert "synset_id" not in m.samples.columns  # extra dataset_info keys are not forced into the table
    assert {"umap_x", "umap_y"}.isdisjoint(m.samples.columns)


def test_class_names_with_commas(opened):
    assert opened.class_names == CLASS_NAMES
    names = set(opened.models["dmd2"].samples.class_name)
    assert "great white shark, white shark, man-eater" in names
    assert 'tiger shark, "Galeocerdo cuvieri"' in names | set(opened.models["edm"].samples.class_name)
    m = opened.models["dmd2"]
    for label, name in zip(m.samples.class_label, m.samples.class_name):
        assert CLASS_NAMES[int(label)] == name


def test_layers_shapes_and_memory_mapping(root, opened):
    m = opened.models["dmd2"]
    assert m.layers == ["encoder_block_0", "encoder_bottleneck", "midblock"]
    assert m.layer_shapes == {"encoder_block_0": (8,), "encoder_bottleneck": (4, 2, 2), "midblock": (6, 2, 2)}
    acts = m.activations()
    assert isinstance(acts, np.memmap)
    assert acts.shape == (24, 40) and acts.dtype == np.float32
    np.testing.assert_array_equal(acts, expected_activations(root, "dmd2"))
    one = m.activations(["midblock"])
    assert isinstance(one, np.memmap) and one.shape == (24, 24)
    np.testing.assert_array_equal(one, acts[:, 16:])
    mixed = m.activations(["midblock", "encoder_block_0"])  # layer cache + main file, sorted order
    assert mixed.shape == (24, 32)
    np.testing.assert_array_equal(mixed[:, 8:], acts[:, 16:])
    with pytest.raises(KeyError, match="not stored"):
        m.activations(["decoder_block_3"])


def test_npz_model_reads_lazily_with_row_map(root, opened):
    m = opened.models["edm"]
    assert m.layer_shapes == {k: (int(np.prod(s)),) for k, s in LAYERS.items()}
    acts = m.activations()
    assert not isinstance(acts, np.memmap)
    np.testing.assert_array_equal(acts, expected_activations(root, "edm"))
    assert any("diffviews convert" in w for w in m.warnings)
    assert m.activations(["encoder_bottleneck"]).shape == (24, 16)


def test_config_normalised(root, opened):
    dmd2 = opened.models["dmd2"].config
    assert dmd2["adapter"] == "dmd2-imagenet-64" and dmd2["noise_max"] == 100.0
    sigma_pct = 100 * math.log(0.5 / 0.002) / math.log(80 / 0.002)
    assert dmd2["noise_min"] == pytest.approx(sigma_pct)
    assert dmd2["checkpoint"] == (root / "dmd2" / "checkpoints" / "dmd2.pkl").resolve()
    assert dmd2["default_steps"] == 5 and dmd2["dataset_type"] == "imagenet_real"
    edm = opened.models["edm"].config
    assert (edm["noise_max"], edm["noise_min"], edm["default_steps"]) == (90.0, 1.0, 50)
    assert edm["checkpoint"] is None and edm["checkpoint_raw"] == "checkpoints/edm.pkl"
    assert edm["conditioning_type"] == "class" and edm["default_guidance"] == 1.0


def test_embeddings(opened):
    m = opened.models["dmd2"]
    assert m.embedding_names == ["demo_embeddings", "layer_cache/encoder_block_0", "aligned_3d/default"]
    e = m.embedding()
    assert isinstance(e, Embedding) and e.name == "demo_embeddings"
    assert e.coords2d.shape == (24, 2) and e.coords2d.dtype == np.float32 and e.coords3d is None
    assert e.layers == ["encoder_bottleneck", "midblock"] and e.params["n_neighbors"] == 15
    assert m.default_layers == ["encoder_bottleneck", "midblock"]
    aligned = m.embedding("aligned_3d/default")
    np.testing.assert_allclose(aligned.coords2d, e.coords2d)  # rows put back in sample order via original_idx
    np.testing.assert_allclose(aligned.coords3d[:, 2], np.log10(m.samples.conditioning_sigma), rtol=1e-6)
    assert m.embedding("layer_cache/encoder_block_0").layers == ["encoder_block_0"]
    with pytest.raises(KeyError):
        m.embedding("nope")


def test_images(root, opened):
    m = opened.models["dmd2"]
    img = m.image(3)
    assert img.shape == (8, 8, 3) and img.dtype == np.uint8
    assert m.image_path(3) == root / "dmd2" / m.samples.image_path[3]
    np.testing.assert_array_equal(img, np.asarray(Image.open(m.image_path(3))))


def test_preloaded_images_are_handed_out_once_then_read_again(tmp_path):
    root = make_original_layout(tmp_path, n_per_model=6)
    m = open_data(root).models["dmd2"]
    want = m.image(2)
    m.preload_images([2, 4])  # a worker decodes them ahead of the gallery that shows them
    m.image_path(2).unlink()
    np.testing.assert_array_equal(m.image(2), want)  # decoded before the file went: a lookup
    with pytest.raises(DataError, match="missing image"):
        m.image(2)  # handed out once: the next call reads the folder as it is now
    m.image_path(4).unlink()
    m.image_path(5).unlink()
    m.preload_images([5])  # an unreadable image is skipped here and reported when asked for
    with pytest.raises(DataError, match="missing image"):
        m.image(5)
    assert m.image(4).shape == want.shape


def test_single_model_folder(root):
    r = open_data(root / "dmd2")
    assert list(r.models) == ["dmd2"] and r.problems == {}
    assert r.class_names == CLASS_NAMES


def test_unusable_paths(tmp_path):
    with pytest.raises(DataError, match="no such folder"):
        open_data(tmp_path / "missing")
    with pytest.raises(DataError, match="no model folders"):
        open_data(tmp_path)


def test_reading_modifies_nothing_and_never_unpickles(tmp_path):
    root = make_original_layout(tmp_path / "d", n_per_model=12)
    before = tree_checksums(root)
    r = open_data(root)
    for m in r.models.values():
        m.activations()
        for name in m.embedding_names:
            m.embedding(name)
        m.image(0)
    assert tree_checksums(root) == before
    assert not (tmp_path / "diffviews_pwned").exists()


def test_write_embedding_beside_original(tmp_path):
    root = make_original_layout(tmp_path / "d", n_per_model=12, models=("dmd2",), broken=False)
    before = tree_checksums(root)
    m = open_data(root).models["dmd2"]
    xy = np.arange(24, dtype=np.float32).reshape(12, 2)
    xyz = np.arange(36, dtype=np.float32).reshape(12, 3)
    path = m.write_embedding("mine", xy, xyz, {"n_neighbors": 10, "layers": ["midblock"]})
    after = tree_checksums(root)
    assert {k: v for k, v in after.items() if k in before} == before  # existing files untouched
    assert set(after) - set(before) == {"dmd2/embeddings/mine.csv", "dmd2/embeddings/mine.json"}
    reopened = open_data(root).models["dmd2"]
    e = reopened.embedding("mine")
    np.testing.assert_array_equal(e.coords2d, xy)
    np.testing.assert_array_equal(e.coords3d, xyz)
    assert e.layers == ["midblock"] and path.name == "mine.csv"
    assert list(reopened.samples.class_name) == list(m.samples.class_name)
    with pytest.raises(DataError, match="already exists"):
        m.write_embedding("mine", xy, None, {})

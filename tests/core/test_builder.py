"""Dataset builder: noised inputs, label modes, sources, cancel + resume giving byte-identical files."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from data_fixtures import tree_checksums
from PIL import Image

from diffviews_core.adapters.edm import EDMAdapter
from diffviews_core.errors import CancelledError, DataError
from diffviews_core.formats import open_data
from diffviews_core.networks import TINY, build_edm
from diffviews_core.pipelines.builder import BuildSpec, build_dataset
from diffviews_core.pipelines.sources import ArraySource, GeneratedSource, fit_image

LAYERS = ["encoder_bottleneck", "midblock"]
NAMES = ["shirt, long", "shoe", "bag"]


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # identical float results in every process and run
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (7, 12, 12, 3), dtype=np.uint8), np.array([0, 1, 2, 0, 1, 2, 0])


def _spec(out, images, **kw):
    imgs, labels = images
    base = dict(
        output=out,
        source=ArraySource(imgs, labels, NAMES),
        sigmas=[20.0, 0.5],
        layers=LAYERS,
        batch_size=3,
        label_mode="both",
        seed=5,
    )
    return BuildSpec(**{**base, **kw})


def test_rows_labels_and_properly_noised_inputs(tmp_path, tiny_adapter, images):
    path = build_dataset(_spec(tmp_path / "ds", images), adapter=tiny_adapter)
    m = open_data(path).models["ds"]
    assert m.is_native and m.num_samples == 7 * 2 * 2 and m.warnings == [] and m.verify() == []
    s = m.samples
    assert list(s.columns["label_mode"][:14]) == ["true"] * 7 + ["null"] * 7
    assert list(s.conditioning_sigma[::7]) == [20.0, 20.0, 0.5, 0.5]
    assert list(s.sample_id[:2]) == [0, 1] and s.sample_id[7] == 10000 and s.sample_id[27] == 30006
    assert list(s.class_label[:7]) == [0, 1, 2, 0, 1, 2, 0] and s.class_name[0] == "shirt, long"
    assert m.layer_shapes == {k: tiny_adapter.get_layer_shapes()[k] for k in LAYERS}
    assert isinstance(m.activations(["midblock"]), np.memmap)

    # Row of image 4 at level 1 (sigma 0.5), true and null label: recompute x = image + sigma * eps directly.
    clean = fit_image(images[0][4], 16, 3).astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0
    np.testing.assert_array_equal(m.image(4), fit_image(images[0][4], 16, 3))
    eps = np.random.default_rng([5, 1, 4]).standard_normal(clean.shape, dtype=np.float32)
    x = torch.from_numpy(clean + np.float32(0.5) * eps)[None]
    acts = m.activations(LAYERS)
    for mode, row in (("true", 14 + 4), ("null", 21 + 4)):
        from diffviews_core.core import ActivationExtractor, class_label_tensor

        label = class_label_tensor([1 if mode == "true" else None], 10, 1, "cpu")
        with ActivationExtractor(tiny_adapter, LAYERS) as ext:
            tiny_adapter.forward(x, torch.tensor([0.5]), label)
            expected = ext.flatten()[0]
        np.testing.assert_allclose(acts[row], expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(acts[18], acts[25])  # the label changes the activations


def test_cancel_then_resume_gives_identical_files(tmp_path, tiny_adapter, images):
    ref = build_dataset(_spec(tmp_path / "ref" / "ds", images), adapter=tiny_adapter)
    cancel, seen = threading.Event(), []

    def progress(fraction, message):
        seen.append(message)
        if message == "4 of 15 batches":
            cancel.set()

    out = tmp_path / "resumed" / "ds"
    with pytest.raises(CancelledError, match="resume"):
        build_dataset(_spec(out, images), adapter=tiny_adapter, progress=progress, cancel=cancel)
    assert seen[-1] == "4 of 15 batches" and (out / ".build" / "progress.json").is_file()
    assert not (out / "manifest.json").exists()
    with pytest.raises(DataError, match="different settings"):
        build_dataset(_spec(out, images, seed=6), adapter=tiny_adapter)
    seen.clear()
    fractions = []
    build_dataset(_spec(out, images), adapter=tiny_adapter, progress=lambda f, m: (seen.append(m), fractions.append(f)))
    assert seen[0] == "4 of 15 batches" and seen[-1] == "15 of 15 batches"
    assert fractions[0] == 4 / 15 and fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert tree_checksums(out) == tree_checksums(ref)
    assert build_dataset(_spec(out, images), adapter=tiny_adapter) == out  # finished: returned as is
    with pytest.raises(DataError, match="different dataset"):
        build_dataset(_spec(out, images, sigmas=[3.0]), adapter=tiny_adapter)


def test_folder_source_grayscale_resized(tmp_path):
    rng = np.random.default_rng(2)
    src = tmp_path / "imgs"
    for cls in ("boot", "coat"):
        (src / cls).mkdir(parents=True)
        for k in range(3):
            Image.fromarray(rng.integers(0, 256, (28, 28), dtype=np.uint8)).save(src / cls / f"{k}.png")
    net = build_edm({**TINY, "img_channels": 1, "label_dim": 2}).eval()
    adapter = EDMAdapter(net)
    path = build_dataset(
        BuildSpec(tmp_path / "gray", src, [1.0], ["midblock"], per_class=2, label_mode="true", batch_size=4),
        adapter=adapter,
    )
    m = open_data(path).models["gray"]
    assert m.num_samples == 4 and list(m.samples.class_name) == ["boot", "boot", "coat", "coat"]
    assert list(m.samples.class_label) == [0, 0, 1, 1]
    img = m.image(2)
    assert img.shape == (16, 16, 1)
    expected = np.asarray(Image.open(src / "coat" / "0.png").resize((16, 16), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(img[:, :, 0], expected)


def test_array_file_and_generated_sources(tmp_path, tiny_adapter, images):
    npz = tmp_path / "arr.npz"
    np.savez(npz, images=images[0], labels=images[1], class_names=np.array(NAMES))
    path = build_dataset(BuildSpec(tmp_path / "a", npz, [2.0], ["midblock"], per_class=1), adapter=tiny_adapter)
    m = open_data(path).models["a"]
    assert list(m.samples.class_name) == NAMES and list(m.samples.columns["label_mode"]) == ["null"] * 3

    gen = GeneratedSource(per_class=1, classes=[3, 4], num_steps=2, seed=1)
    path = build_dataset(BuildSpec(tmp_path / "g", gen, [2.0], ["midblock"]), adapter=tiny_adapter)
    g = open_data(path).models["g"]
    assert list(g.samples.class_label) == [3, 4] and g.image(0).shape == (16, 16, 3)


def test_bad_specs(tmp_path, tiny_adapter, images):
    with pytest.raises(ValueError, match="label_mode"):
        build_dataset(_spec(tmp_path / "x", images, label_mode="maybe"), adapter=tiny_adapter)
    with pytest.raises(ValueError, match="unknown layer"):
        build_dataset(_spec(tmp_path / "x", images, layers=["nope"]), adapter=tiny_adapter)
    with pytest.raises(ValueError, match="sigmas"):
        build_dataset(_spec(tmp_path / "x", images, sigmas=[-1.0]), adapter=tiny_adapter)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "mine.txt").write_text("user file")
    with pytest.raises(DataError, match="not empty"):
        build_dataset(_spec(tmp_path / "full", images), adapter=tiny_adapter)
    assert (tmp_path / "full" / "mine.txt").read_text() == "user file"


def test_damaged_project_dataset_is_reported(tmp_path, tiny_adapter, images):
    path = build_dataset(_spec(tmp_path / "ds", images, sigmas=[1.0]), adapter=tiny_adapter)
    csv_path = path / "samples.csv"
    csv_path.write_bytes(csv_path.read_bytes().replace(b"shoe", b"shoo", 1))  # same size, different content
    m = open_data(path).models["ds"]
    assert any("samples.csv" in p and "SHA-256" in p for p in m.verify())
    layer = path / "activations" / "midblock.npy"
    layer.write_bytes(layer.read_bytes()[:-4])
    opened = open_data(path)
    assert "midblock.npy" in opened.problems["ds"] and "truncated or replaced" in opened.problems["ds"]


def test_large_multi_layer_reads_stay_memory_mapped(tmp_path, tiny_adapter, images, monkeypatch):
    from diffviews_core.formats import activations

    path = build_dataset(_spec(tmp_path / "ds", images, sigmas=[1.0]), adapter=tiny_adapter)
    m = open_data(path).models["ds"]
    small = m.activations(LAYERS)
    assert not isinstance(small, np.memmap)
    monkeypatch.setattr(activations, "CONCAT_IN_MEMORY_BYTES", 0)
    monkeypatch.setenv("DIFFVIEWS_CACHE_DIR", str(tmp_path / "cache"))
    big = m.activations(LAYERS)
    assert isinstance(big, np.memmap) and str(tmp_path / "cache") in big.filename
    np.testing.assert_array_equal(big, small)
    assert isinstance(m.activations(LAYERS), np.memmap)  # second read maps the same cache file
    assert len(list((tmp_path / "cache" / "activations").iterdir())) == 1

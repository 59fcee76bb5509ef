"""The shipped demo: weights load and generate, ``diffviews generate`` is byte-reproducible, the data opens."""

from __future__ import annotations

import io

import numpy as np
import pytest

from diffviews_core.cli.main import main
from diffviews_core.demo import DEMO_GENERATION, DEMO_MODEL_NAME, demo_paths

PATHS = demo_paths()
pytestmark = pytest.mark.skipif(not PATHS.exists(), reason="demo not built (diffviews demo rebuild)")


def png_pixels(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        assert im.format == "PNG" and not im.text  # no timestamp or other text chunks
        return np.asarray(im)


def generate(tmp_path, name: str, *extra: str) -> bytes:
    out = tmp_path / name
    assert main(["generate", *extra, "--class", "7", "--steps", "4", "--seed", "5", "--out", str(out)]) == 0
    return out.read_bytes()


def test_same_seed_same_png_bytes(tmp_path):
    a = generate(tmp_path, "a.png", "--demo")
    b = generate(tmp_path, "b.png", "--demo")
    assert a == b
    img = png_pixels(a)
    assert img.shape == (32, 32) and img.dtype == np.uint8 and img.std() > 10
    other = tmp_path / "c.png"
    main(["generate", "--demo", "--class", "7", "--steps", "4", "--seed", "6", "--out", str(other)])
    assert other.read_bytes() != a


def test_checkpoint_and_data_dir_routes_match_demo(tmp_path):
    demo = generate(tmp_path, "demo.png", "--demo")
    settings = ["--guidance", str(DEMO_GENERATION["guidance_scale"]), "--sampler", DEMO_GENERATION["sampler"]]
    ckpt = generate(tmp_path, "ckpt.png", "--checkpoint", str(PATHS.model), "--adapter", "edm", *settings)
    data = generate(tmp_path, "data.png", "--data-dir", str(PATHS.data_dir), "--model", DEMO_MODEL_NAME)
    assert demo == ckpt == data


def test_shipped_weights_load_and_generate():
    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.core import generate_with_mask_multistep
    from diffviews_core.demo.train import DEMO_NETWORK

    adapter = EDMAdapter.from_checkpoint(PATHS.model)
    assert adapter.checkpoint_info["config"] == DEMO_NETWORK
    assert PATHS.model.stat().st_size < 10e6
    images, labels = generate_with_mask_multistep(
        adapter, None, class_label=[1, 9], num_steps=6, seed=0, num_samples=2, guidance_scale=2.0, sampler="heun"
    )
    assert images.shape == (2, 32, 32, 1) and list(labels) == [1, 9]
    # a trouser is a tall narrow shape, an ankle boot is wide: the classes must show in the pixels
    ink = images[..., 0] > 60
    width = ink.any(axis=1).sum(axis=1)
    assert width[0] < width[1]


def test_shipped_data_opens_with_embeddings():
    from diffviews_core.formats import open_data

    root = open_data(PATHS.data_dir)
    assert root.problems == {}
    model = root.models[DEMO_MODEL_NAME]
    assert model.config["checkpoint"] == PATHS.model.resolve()
    assert model.layers == ["encoder_bottleneck", "midblock"]
    assert sorted(set(model.samples.columns["label_mode"])) == ["null", "true"]
    assert len(np.unique(model.samples.conditioning_sigma)) == 4
    assert np.array_equal(np.bincount(model.samples.class_label), [model.num_samples // 10] * 10)
    emb = model.embedding()
    assert emb.coords2d.shape == (model.num_samples, 2) and emb.coords3d.shape == (model.num_samples, 3)


def test_resources_stay_small():
    total = sum(p.stat().st_size for p in PATHS.root.parent.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert total < 30e6
    assert "Zalando" in PATHS.license.read_text(encoding="utf-8")


def test_missing_data_dir_is_a_named_error(tmp_path, capsys):
    code = main(["generate", "--data-dir", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.png")])
    assert code == 4 and "nowhere" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()

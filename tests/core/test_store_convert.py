"""``convert``: .npz batches become memory-mappable .npy + .npy.json, atomically, keeping the npz on request."""

from __future__ import annotations

import numpy as np
import pytest
from data_fixtures import expected_activations, make_original_layout

from diffviews_core.cli.main import main
from diffviews_core.formats import open_data
from diffviews_core.pipelines import convert as convert_mod
from diffviews_core.pipelines.convert import convert_model


@pytest.fixture
def root(tmp_path):
    return make_original_layout(tmp_path / "d", n_per_model=16, models=("edm",), broken=False)


def _files(folder):
    return sorted(p.name for p in folder.iterdir())


def test_convert_keep_npz_then_memory_mapped(root):
    expected = expected_activations(root, "edm")
    folder = root / "edm/activations/imagenet_real"
    out = convert_model(root / "edm", keep_npz=True)
    assert [p.name for p in out] == ["batch_000000.npy", "batch_000001.npy"]
    assert _files(folder) == [
        "batch_000000.npy",
        "batch_000000.npy.json",
        "batch_000000.npz",
        "batch_000001.npy",
        "batch_000001.npy.json",
        "batch_000001.npz",
    ]
    mm = np.load(folder / "batch_000000.npy", mmap_mode="r")
    np.testing.assert_array_equal(mm, expected[:8])
    m = open_data(root).models["edm"]
    assert not any("diffviews convert" in w for w in m.warnings)
    np.testing.assert_array_equal(m.activations(), expected)
    assert convert_model(root / "edm", keep_npz=True) == []  # already converted: skipped


def test_convert_deletes_npz_like_the_original(root):
    expected = expected_activations(root, "edm")
    convert_model(root / "edm")
    folder = root / "edm/activations/imagenet_real"
    assert not list(folder.glob("*.npz"))
    np.testing.assert_array_equal(open_data(root).models["edm"].activations(), expected)


def test_interrupted_convert_leaves_old_state(root, monkeypatch):
    folder = root / "edm/activations/imagenet_real"
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real = convert_mod.iter_npz_rows

    def failing(path, name, chunk_bytes=convert_mod.iter_npz_rows.__defaults__[0]):
        yield from real(path, name, chunk_bytes=64)  # many small chunks...
        raise KeyboardInterrupt  # ...then the user presses Ctrl-C

    monkeypatch.setattr(convert_mod, "iter_npz_rows", failing)
    with pytest.raises(KeyboardInterrupt):
        convert_model(root / "edm")
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no partial .npy, no temp file, npz kept


def test_cli_convert_single_model_and_root(root, capsys):
    assert main(["convert", str(root / "edm"), "--keep-npz"]) == 0
    assert "converted" in capsys.readouterr().out
    assert main(["convert", str(root)]) == 0
    assert "skipped" in capsys.readouterr().out

"""``diffviews info`` and ``diffviews build`` from the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from data_fixtures import make_original_layout
from PIL import Image

from diffviews_core.checkpoints import save_network
from diffviews_core.cli.main import main
from diffviews_core.formats import open_data
from diffviews_core.networks import TINY


def test_info_json_lists_models_and_problems(tmp_path, capsys):
    root = make_original_layout(tmp_path / "d", n_per_model=8)
    assert main(["info", str(root), "--json"]) == 4  # the broken model makes the exit status non-zero
    report = json.loads(capsys.readouterr().out)
    assert sorted(report["models"]) == ["dmd2", "edm"]
    dmd2 = report["models"]["dmd2"]
    assert dmd2["num_samples"] == 8 and dmd2["layers"]["midblock"] == [6, 2, 2]
    assert dmd2["activations_memory_mapped"] is True and dmd2["embeddings"][0] == "demo_embeddings"
    assert "truncated" in report["problems"]["broken"]
    assert main(["info", str(root / "dmd2")]) == 0
    text = capsys.readouterr().out
    assert "dmd2  [original]  8 points" in text and "midblock" in text


def test_info_on_a_missing_folder(tmp_path, capsys):
    assert main(["info", str(tmp_path / "nope")]) == 4
    assert "no such folder" in capsys.readouterr().err


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow  # loading the checkpoint through the CLI costs a few seconds
def test_build_from_an_image_folder(tmp_path, tiny_net, capsys, one_thread):
    ckpt = tmp_path / "tiny.safetensors"
    save_network(tiny_net, ckpt, TINY)
    rng = np.random.default_rng(0)
    for cls in ("3", "7"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for k in range(2):
            Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{k}.png"
            )
    out = tmp_path / "data" / "tiny"
    argv = [
        "build",
        str(out),
        "--adapter",
        "edm",
        "--checkpoint",
        str(ckpt),
        "--images",
        str(tmp_path / "imgs"),
        "--sigmas",
        "5,0.5",
        "--layers",
        "midblock",
        "--label-mode",
        "both",
        "--batch-size",
        "3",
        "--device",
        "cpu",
    ]
    assert main(argv) == 0
    assert "dataset written to" in capsys.readouterr().out
    m = open_data(tmp_path / "data").models["tiny"]
    assert m.num_samples == 16 and sorted(set(m.samples.class_label)) == [3, 7]
    assert m.config["adapter"] == "edm" and m.config["checkpoint"] == ckpt.resolve()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["build"]["seed"] == 0 and manifest["build"]["label_mode"] == "both"


@pytest.mark.parametrize("cmd", ["info", "convert", "build"])
def test_help(cmd, capsys):
    with pytest.raises(SystemExit) as exc:
        main([cmd, "--help"])
    assert exc.value.code == 0 and "usage: diffviews " + cmd in capsys.readouterr().out

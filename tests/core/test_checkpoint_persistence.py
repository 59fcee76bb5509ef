"""EDM persistence pickles (format 6) written like the real ones load safely and give identical outputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch
from checkpoint_fixtures import edm_snapshot, tripwire_source, write_edm_pickle

from diffviews_core.adapters import get_adapter
from diffviews_core.checkpoints import inspect_checkpoint, load_network
from diffviews_core.checkpoints.persistence import ModuleDictRecord, read_persistence_pickle
from diffviews_core.networks import TINY, TINY_KEY_HASH

X = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
SIGMA = torch.tensor([0.7, 12.0])
LABELS = torch.eye(10)[[3, 7]]


@pytest.fixture
def tripwire(tmp_path):
    path = tmp_path / "TRIPWIRE"
    yield path
    assert not path.exists(), "code stored in the checkpoint was executed"


@torch.no_grad()
def outputs(net) -> tuple[torch.Tensor, torch.Tensor]:
    return net(X, SIGMA, LABELS), net(X, SIGMA, None)


@pytest.mark.parametrize(("layout", "ordered"), [("full", False), ("ema", True)])
def test_round_trip_gives_identical_outputs(tiny_net, tmp_path, tripwire, layout, ordered):
    path = write_edm_pickle(
        tmp_path / "net.pkl", edm_snapshot(tiny_net, layout), TINY, tripwire=tripwire, ordered=ordered
    )
    net, info = load_network(path)
    assert info["format"] == "persistence"
    assert info["config"] == TINY
    assert set(info["top_level"]) == (
        {"ema"} if layout == "ema" else {"ema", "loss_fn", "augment_pipe", "dataset_kwargs"}
    )
    for got, want in zip(outputs(net), outputs(tiny_net), strict=True):
        assert torch.equal(got, want)
    cond = outputs(net)[0]
    assert cond.sum().item() == pytest.approx(-35.172264, rel=1e-4)  # the spec's reference number
    assert not any(t.is_meta for t in net.state_dict().values())


def test_pickle_holds_none_weights_and_stays_inert(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(tmp_path / "net.pkl", edm_snapshot(tiny_net), TINY, tripwire=tripwire, ordered=True)
    top = read_persistence_pickle(path)
    assert top["loss_fn"].class_name == "EDMLoss" and top["augment_pipe"] is None
    assert type(top["dataset_kwargs"]) is dict and top["dataset_kwargs"]["use_labels"] is True  # EasyDict -> dict
    assert b"dnnlib.util\nEasyDict\n" in path.read_bytes()
    unet = top["ema"].state["_modules"]["model"]
    assert unet.class_name == "DhariwalUNet"
    assert unet.state["map_augment"] is None and unet.state["_modules"]["map_label"].state["bias"] is None
    enc = unet.state["_modules"]["enc"]
    assert isinstance(enc, ModuleDictRecord)
    down = enc.state["_modules"]["8x8_down"].state["_modules"]
    assert down["skip"].state["weight"] is None and "weight" not in down["skip"].state["_parameters"]
    assert down["skip"].state["_buffers"]["resample_filter"].shape == (1, 1, 2, 2)
    assert enc.state["_modules"]["8x8_block0"].state["_modules"]["conv1"].state["_buffers"]["resample_filter"] is None
    assert "module_src" not in vars(top["ema"])


@pytest.mark.parametrize("numpy_path", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_numpy_scalars_through_either_numpy_path(tiny_net, tmp_path, tripwire, numpy_path):
    config = {**TINY, "label_dim": np.int64(10), "sigma_data": np.float64(0.5), "dropout": np.float32(0.0)}
    path = write_edm_pickle(
        tmp_path / "net.pkl", edm_snapshot(tiny_net, "ema"), config, tripwire=tripwire, numpy_path=numpy_path
    )
    assert f"{numpy_path}\nscalar\n".encode() in path.read_bytes()
    net, info = load_network(path)
    assert info["config"]["sigma_data"] == 0.5 and type(info["config"]["sigma_data"]) is float
    assert info["config"]["label_dim"] == 10 and type(info["config"]["label_dim"]) is int
    assert torch.equal(outputs(net)[0], outputs(tiny_net)[0])


def test_adapter_reads_the_architecture_from_the_pickle(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(tmp_path / "dmd2.pkl", edm_snapshot(tiny_net, "ema"), TINY, tripwire=tripwire)
    adapter = get_adapter("dmd2-imagenet-64").from_checkpoint(path, device="cpu")
    assert adapter.resolution == 16 and adapter.num_classes == 10
    assert adapter.checkpoint_info["format"] == "persistence"
    assert torch.equal(adapter.forward(X, SIGMA, LABELS), outputs(tiny_net)[0])


def test_inspect_needs_no_weights(tiny_net, tmp_path, tripwire):
    path = write_edm_pickle(tmp_path / "net.pkl", edm_snapshot(tiny_net), TINY, tripwire=tripwire)
    summary = inspect_checkpoint(path)
    assert summary["format"] == "persistence"
    assert (summary["tensors"], summary["parameters"]) == (227, 3_213_539)
    assert summary["key_hash"] == TINY_KEY_HASH and summary["imagenet64"] is False
    assert summary["architecture"] == "tiny test configuration"
    assert summary["class_tree"][:2] == ["ema: EDMPrecond", "  model: DhariwalUNet"]
    assert summary["class_counts"]["UNetBlock"] == 15 and summary["top_level"]["loss_fn"] == "EDMLoss"


def test_the_tripwire_is_live(tmp_path):
    """Running ``module_src`` really would create the tripwire: its absence elsewhere means it never ran."""
    wire = tmp_path / "WIRE"
    result = subprocess.run([sys.executable, "-c", tripwire_source(wire)], capture_output=True, text=True)
    assert result.returncode == 1 and "module_src was executed" in result.stderr
    assert wire.exists()

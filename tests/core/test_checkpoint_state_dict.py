"""State-dict checkpoints (DMD2's torch.save .bin, safetensors), conversion and the ``checkpoint`` CLI."""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from checkpoint_fixtures import edm_snapshot, evil, pickle_bytes, write_edm_pickle

from diffviews_core.adapters import get_adapter
from diffviews_core.checkpoints import convert_checkpoint, inspect_checkpoint, load_network, save_network
from diffviews_core.cli.main import main
from diffviews_core.errors import CheckpointError
from diffviews_core.networks import TINY, TINY_KEY_HASH

X = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))
SIGMA = torch.tensor([0.7, 12.0])
LABELS = torch.eye(10)[[3, 7]]


@torch.no_grad()
def output(net) -> torch.Tensor:
    return net(X, SIGMA, LABELS)


def write_config(path, config=TINY) -> None:
    path.with_suffix(".json").write_text(json.dumps({"network": config}), encoding="utf-8")


@pytest.mark.parametrize("prefix", ["", "model."])
@pytest.mark.parametrize("zipped", [True, False])
def test_dmd2_state_dict_loads_weights_only(tiny_net, tmp_path, prefix, zipped):
    path = tmp_path / "pytorch_model.bin"
    sd = {prefix + k: v for k, v in tiny_net.state_dict().items()}
    torch.save(sd, path, _use_new_zipfile_serialization=zipped)
    net, info = load_network(path, default_config=TINY)
    assert info == {"format": "torch", "config": TINY}
    assert torch.equal(output(net), output(tiny_net))
    assert len(net.state_dict()) == 227


def test_adapter_takes_the_architecture_from_json_beside_the_bin(tiny_net, tmp_path):
    path = tmp_path / "tiny.bin"
    torch.save(tiny_net.state_dict(), path)
    write_config(path)
    adapter = get_adapter("dmd2-imagenet-64").from_checkpoint(path, device="cpu")
    assert adapter.resolution == 16 and len(adapter.hookable_layers) == 16
    assert torch.equal(adapter.forward(X, SIGMA, LABELS), output(tiny_net))


def test_safetensors_round_trip_is_atomic(tiny_net, tmp_path):
    path = tmp_path / "out" / "tiny.safetensors"
    save_network(tiny_net, path, TINY)
    assert sorted(os.listdir(path.parent)) == ["tiny.json", "tiny.safetensors"]  # no temporary files left
    net, info = load_network(path)
    assert info == {"format": "safetensors", "config": TINY}
    assert torch.equal(output(net), output(tiny_net))


def test_pickled_state_dict_with_code_is_refused(tmp_path):
    wire = tmp_path / "TRIPWIRE"
    path = tmp_path / "evil.bin"
    path.write_bytes(pickle_bytes({"model.x": evil(wire)}, wire))
    with pytest.raises(CheckpointError, match="not a loadable weights-only torch file") as info:
        load_network(path, default_config=TINY)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    assert not wire.exists()


@pytest.mark.parametrize("suffix", [".bin", ".safetensors"])
def test_truncated_state_dict_is_refused(tiny_net, tmp_path, suffix):
    path = tmp_path / f"cut{suffix}"
    if suffix == ".bin":
        torch.save(tiny_net.state_dict(), path)
    else:
        save_network(tiny_net, path, TINY)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(CheckpointError) as info:
        load_network(path, default_config=TINY)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (lambda sd: sd.pop("model.out_conv.bias"), "1 missing keys (e.g. model.out_conv.bias)"),
        (lambda sd: sd.update(stray=torch.zeros(1)), "1 unexpected keys (e.g. stray)"),
        (lambda sd: sd.update({"model.out_conv.bias": torch.zeros(4)}), "shape mismatch at model.out_conv.bias"),
        (lambda sd: sd.update({"model.out_conv.bias": torch.zeros(3, dtype=torch.long)}), "not floating point"),
    ],
)
def test_state_dict_that_does_not_fit_is_refused(tiny_net, tmp_path, edit, reason):
    sd = dict(tiny_net.state_dict())
    edit(sd)
    path = tmp_path / "bad.pt"
    torch.save(sd, path)
    with pytest.raises(CheckpointError) as info:
        load_network(path, default_config=TINY)
    assert reason in info.value.reason


def test_missing_config_and_unknown_suffix_are_reported(tiny_net, tmp_path):
    path = tmp_path / "w.pt"
    torch.save(tiny_net.state_dict(), path)
    with pytest.raises(CheckpointError, match="no network config"):
        load_network(path)
    other = tmp_path / "w.ckpt"
    other.write_bytes(b"x")
    with pytest.raises(CheckpointError, match="unsupported checkpoint type"):
        load_network(other)


def test_convert_pickle_to_safetensors_then_load_without_pickle(tiny_net, tmp_path, monkeypatch):
    wire = tmp_path / "TRIPWIRE"
    src = write_edm_pickle(tmp_path / "edm.pkl", edm_snapshot(tiny_net), TINY, tripwire=wire)
    info = convert_checkpoint(src, tmp_path)
    out = tmp_path / "edm.safetensors"
    assert info["output"] == str(out)
    assert json.loads(out.with_suffix(".json").read_text())["network"] == TINY

    def no_pickle(*_args, **_kwargs):
        raise AssertionError("a safetensors load must not unpickle anything")

    monkeypatch.setattr(pickle, "Unpickler", no_pickle)
    monkeypatch.setattr(torch, "load", no_pickle)
    net, load_info = load_network(out)
    assert load_info["format"] == "safetensors"
    assert torch.equal(output(net), output(tiny_net))
    assert not wire.exists()


def test_inspect_state_dicts_reads_shapes_only(tiny_net, tmp_path):
    st = tmp_path / "tiny.safetensors"
    save_network(tiny_net, st, TINY)
    bin_path = tmp_path / "dmd2" / "pytorch_model.bin"
    bin_path.parent.mkdir()
    torch.save({"model." + k: v for k, v in tiny_net.state_dict().items()}, bin_path)
    for path, config in ((st, TINY), (bin_path, None)):
        summary = inspect_checkpoint(path)
        assert (summary["tensors"], summary["parameters"]) == (227, 3_213_539)
        assert summary["key_hash"] == TINY_KEY_HASH and summary["imagenet64"] is False
        assert summary["config"] == config


def test_cli_inspect_and_convert(tiny_net, tmp_path, capsys):
    src = tmp_path / "tiny.bin"
    torch.save(tiny_net.state_dict(), src)
    write_config(src)
    assert main(["checkpoint", "inspect", str(src), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "torch" and summary["key_hash"] == TINY_KEY_HASH
    assert main(["checkpoint", "inspect", str(src)]) == 0
    text = capsys.readouterr().out
    assert "parameters    3,213,539" in text and "ImageNet-64   no" in text
    out = tmp_path / "converted.safetensors"
    assert main(["checkpoint", "convert", str(src), str(out)]) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    net, _ = load_network(out)
    assert torch.equal(output(net), output(tiny_net))
    assert main(["checkpoint", "convert", str(src), str(tmp_path / "x.pt")]) == CheckpointError.exit_code
    assert "must end in .safetensors" in capsys.readouterr().err

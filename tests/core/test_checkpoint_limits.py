"""Architecture arguments from a checkpoint are checked, and its size computed, before anything is allocated."""

from __future__ import annotations

import os
import random
import time

import pytest
from checkpoint_fixtures import edm_snapshot, write_edm_pickle

from diffviews_core.checkpoints import load_network
from diffviews_core.cli.main import main
from diffviews_core.errors import CheckpointError
from diffviews_core.networks import IMAGENET64_DMD2, TINY, build_edm, check_network_config, count_parameters


def _random_configs(n: int, seed: int = 0) -> list[dict]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        levels = rnd.randint(1, 4)
        out.append(
            dict(
                img_resolution=2 ** rnd.randint(levels - 1, 5),
                img_channels=rnd.randint(1, 4),
                label_dim=rnd.choice([0, 3]),
                model_channels=rnd.choice([4, 8, 64, 96]),
                channel_mult=[rnd.randint(1, 3) for _ in range(levels)],
                channel_mult_emb=rnd.randint(1, 3),
                num_blocks=rnd.randint(1, 3),
                attn_resolutions=[rnd.choice([1, 2, 4, 8, 16])],
                augment_dim=rnd.choice([0, 9]),
            )
        )
    return out


@pytest.mark.parametrize("config", [TINY, IMAGENET64_DMD2, *_random_configs(20)])
def test_parameter_count_from_the_config_matches_the_built_network(config):
    net = build_edm(config, device="meta")
    assert count_parameters(check_network_config(config)) == sum(p.numel() for p in net.parameters())


def test_imagenet_size_is_the_published_one():
    assert count_parameters(check_network_config(IMAGENET64_DMD2)) == 295_899_267


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"num_blocks": 1_000_000}, "num_blocks must be in 1..64"),
        ({"channel_mult": [1] * 60}, "channel_mult has 60 entries"),
        ({"img_resolution": 0}, "img_resolution must be in"),
        ({"img_resolution": -1}, "img_resolution must be in"),
        ({"img_resolution": 12, "channel_mult": [1, 2, 2, 2]}, "cannot be halved 3 times"),
        ({"model_channels": 4096, "channel_mult": [4, 4, 4, 4], "num_blocks": 8}, "parameters, more than"),
        ({"num_blocks": True}, "num_blocks must be an integer"),
        ({"dropout": float("nan")}, "dropout must be a finite number"),
        ({"model_type": "SongUNet"}, "unsupported model_type"),
        ({"sneaky": 1}, "'sneaky'"),
    ],
)
def test_bad_architectures_are_refused_before_building(tiny_net, tmp_path, change, fragment):
    path = write_edm_pickle(tmp_path / "bad.pkl", edm_snapshot(tiny_net), {**TINY, **change}, tripwire=tmp_path / "t")
    start = time.perf_counter()
    with pytest.raises(CheckpointError) as info:
        load_network(path)
    assert time.perf_counter() - start < 30  # generous: a shared CI box; the hang this guards against took minutes
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)
    assert fragment in info.value.reason


def test_checkpoint_convert_refuses_a_million_blocks_with_one_line(tiny_net, tmp_path, capsys):
    path = write_edm_pickle(
        tmp_path / "big.pkl", edm_snapshot(tiny_net), {**TINY, "num_blocks": 1_000_000}, tripwire=tmp_path / "t"
    )
    assert main(["checkpoint", "convert", str(path), str(tmp_path / "out.safetensors")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(path) in err[0] and "num_blocks" in err[0]
    assert not (tmp_path / "out.safetensors").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_a_fifo_in_place_of_a_checkpoint_is_refused_at_once(tmp_path):
    fifo = tmp_path / "model.pkl"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="not a regular file"):
        load_network(fifo)

"""Acceptance of the distributed build: the same small dataset built in one process, as two ``--shard`` runs +
``merge`` (through the CLI), and by Ray Data on two local workers gives byte-identical files; an interrupted Ray
build resumes with only the missing batches. One local Ray instance for the module (its start takes seconds)."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from data_fixtures import tree_checksums

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'diffviews-desktop[cluster]')")

from diffviews_core.cli.main import main as cli  # noqa: E402
from diffviews_core.errors import CancelledError  # noqa: E402
from diffviews_core.formats import open_data  # noqa: E402
from diffviews_core.pipelines.builder import BuildSpec, build_dataset  # noqa: E402
from diffviews_core.pipelines.ray_build import build_with_ray  # noqa: E402

pytestmark = pytest.mark.slow
LAYERS = ["encoder_bottleneck", "midblock"]


@pytest.fixture(scope="module")
def local_ray():
    """Two single-threaded actors plus the read stage, a small object store; shut down after the module."""
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False, configure_logging=False,
             object_store_memory=150 << 20)  # fmt: skip
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    """The tiny network saved as a checkpoint (every Ray actor loads it), its adapter, and 12 images as an .npz."""
    from tiny_model import seed_like_spec

    from diffviews_core import get_adapter
    from diffviews_core.checkpoints import save_network
    from diffviews_core.networks import TINY, build_edm

    root = tmp_path_factory.mktemp("ray")
    net = build_edm(TINY).eval()
    seed_like_spec(net)
    checkpoint = root / "tiny.safetensors"
    save_network(net, checkpoint, TINY)
    rng = np.random.default_rng(6)
    images = root / "images.npz"
    np.savez(images, images=rng.integers(0, 256, (12, 16, 16, 3), dtype=np.uint8), labels=np.arange(12) % 5)
    return checkpoint, get_adapter("edm").from_checkpoint(checkpoint, device="cpu"), images


def _spec(out, model):
    checkpoint, _adapter, images = model
    return BuildSpec(output=out, source=images, sigmas=[7.0, 0.4], layers=LAYERS, batch_size=4, label_mode="both",
                     seed=9, adapter="edm", checkpoint=checkpoint)  # fmt: skip


def test_one_process_shards_and_ray_give_identical_datasets(tmp_path, model, local_ray):
    checkpoint, adapter, images = model
    single = build_dataset(_spec(tmp_path / "single" / "ds", model), adapter=adapter)

    sharded = tmp_path / "sharded" / "ds"
    args = [str(sharded), "--adapter", "edm", "--checkpoint", str(checkpoint), "--images", str(images),
            "--sigmas", "7,0.4", "--layers", ",".join(LAYERS), "--label-mode", "both", "--batch-size", "4",
            "--seed", "9", "--threads", "1"]  # fmt: skip
    assert cli(["build", *args, "--shard", "1/2"]) == 0
    assert cli(["build", *args, "--shard", "0/2"]) == 0
    assert cli(["merge", str(sharded)]) == 0

    report = build_with_ray(_spec(tmp_path / "ray" / "ds", model), workers=2, shard_batches=2, adapter=adapter)
    assert report.shards == 2 and report.batches_run == 3 * 4 and report.worker_pids >= 1

    reference = tree_checksums(single)
    assert tree_checksums(sharded) == reference
    assert tree_checksums(report.path) == reference
    rows = open_data(report.path).models["ds"].activations(LAYERS)
    assert rows.shape == (48, 4096)
    np.testing.assert_array_equal(rows, open_data(single).models["ds"].activations(LAYERS))


def test_an_interrupted_ray_build_resumes_only_what_is_missing(tmp_path, model, local_ray, capsys):
    checkpoint, adapter, images = model
    out = tmp_path / "ds"
    cancel = threading.Event()

    def stop_soon(fraction, message):
        if fraction >= 0.25:
            cancel.set()

    with pytest.raises(CancelledError):
        build_with_ray(_spec(out, model), workers=2, shard_batches=1, adapter=adapter, progress=stop_soon,
                       cancel=cancel)  # fmt: skip
    assert (out / "shards" / "plan.json").is_file() and not (out / "manifest.json").exists()
    capsys.readouterr()
    args = [str(out), "--adapter", "edm", "--checkpoint", str(checkpoint), "--images", str(images), "--sigmas",
            "7,0.4", "--layers", ",".join(LAYERS), "--label-mode", "both", "--batch-size", "4", "--seed", "9"]  # fmt: skip
    assert cli(["build", *args, "--engine", "ray", "--workers", "2", "--shard-batches", "1"]) == 0
    ran = int(capsys.readouterr().out.split("batches in")[0].split()[-1])
    assert ran < 12  # only the batches without a result yet (those in flight at the cancel may have finished)
    reference = build_dataset(_spec(tmp_path / "single" / "ds", model), adapter=adapter)
    assert tree_checksums(out) == tree_checksums(reference)

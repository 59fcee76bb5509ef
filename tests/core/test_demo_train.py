"""The demo's Fashion-MNIST reader and trainer: idx parsing, a few training steps, exact resume."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from diffviews_core.demo.fashion_mnist import (
    DEFAULT_DIR,
    balanced_subset,
    load_fashion_mnist,
    read_idx,
    to_model_range,
)
from diffviews_core.errors import CheckpointError, DataError

TINY_NET = dict(
    img_resolution=32,
    img_channels=1,
    label_dim=10,
    model_channels=16,
    channel_mult=[1, 2],
    num_blocks=1,
    attn_resolutions=[],
    dropout=0.0,
    label_dropout=0.1,
)


def write_idx(path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def idx_dir(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 4).astype(np.uint8)
    images = rng.integers(0, 256, size=(len(labels), 28, 28)).astype(np.uint8)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


def test_reads_idx_files(idx_dir):
    folder, images, labels = idx_dir
    got_images, got_labels = load_fashion_mnist("train", folder)
    assert np.array_equal(got_images, images)
    assert got_labels.dtype == np.int64 and np.array_equal(got_labels, labels)


def test_bad_idx_files_name_the_file(tmp_path, idx_dir):
    bad = tmp_path / "bad.gz"
    with gzip.open(bad, "wb") as f:
        f.write(b"\x00\x00\x08\x03" + struct.pack(">3I", 5, 28, 28) + b"\x00" * 10)
    with pytest.raises(DataError, match="bad.gz.*does not match"):
        read_idx(bad)
    with pytest.raises(DataError, match="t10k-images"):
        load_fashion_mnist("test", idx_dir[0])


def test_balanced_subset_and_padding():
    labels = np.repeat(np.arange(10), 7)
    idx = balanced_subset(labels, 3, seed=1)
    assert np.array_equal(np.bincount(labels[idx]), [3] * 10)
    assert np.array_equal(idx, balanced_subset(labels, 3, seed=1))
    x = to_model_range(np.full((2, 28, 28), 255, np.uint8), 32)
    assert x.shape == (2, 1, 32, 32)
    assert x[0, 0, 2:30, 2:30].min() == 1.0 and x[0, 0, 0].max() == -1.0


def test_training_is_seeded_and_resumes_exactly(tmp_path, idx_dir):
    from safetensors.torch import load_file

    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.demo.train import Progress, TrainSettings, train_demo

    _folder, images, labels = idx_dir
    seen: list[Progress] = []
    full = TrainSettings(steps=4, batch_size=8, checkpoint_every=2, warmup_steps=2)
    out_a = train_demo(
        tmp_path / "a" / "m.safetensors", full, TINY_NET, images=images, labels=labels, callback=seen.append
    )
    assert [p.step for p in seen] == [1, 2, 3, 4] and all(np.isfinite(p.loss) for p in seen)

    half = TrainSettings(steps=2, batch_size=8, checkpoint_every=2, warmup_steps=2)
    out_b = tmp_path / "b" / "m.safetensors"
    state = tmp_path / "state" / "run.safetensors"
    train_demo(out_b, half, TINY_NET, images=images, labels=labels, state_path=state)
    train_demo(out_b, full, TINY_NET, images=images, labels=labels, state_path=state, resume=True)
    a, b = load_file(str(out_a)), load_file(str(out_b))
    assert a.keys() == b.keys() and all(np.array_equal(a[k].numpy(), b[k].numpy()) for k in a)

    adapter = EDMAdapter.from_checkpoint(out_a)
    assert adapter.num_classes == 10 and adapter.img_channels == 1 and adapter.resolution == 32

    other = TrainSettings(steps=4, batch_size=4, checkpoint_every=2, warmup_steps=2)
    with pytest.raises(CheckpointError, match="batch_size"):
        train_demo(out_b, other, TINY_NET, images=images, labels=labels, state_path=state, resume=True)


@pytest.mark.skipif(not DEFAULT_DIR.is_dir(), reason="dataset-fashion-mnist not installed")
def test_real_fashion_mnist_is_balanced():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10000, 28, 28) and np.array_equal(np.bincount(labels), [1000] * 10)

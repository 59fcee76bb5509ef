"""The original's three ImageNet sources, written by the test with their exact key names and shapes, read streaming
with per-class / class sampling, and built from: synset JPEG folders, Downsampled ImageNet .npz batches, LMDB."""

from __future__ import annotations

import json
import tracemalloc
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from diffviews_core.class_index import downsampled_imagenet_order, imagenet_names, synset_to_class
from diffviews_core.errors import DataError
from diffviews_core.pipelines.imagenet_sources import DownsampledNpzSource, LmdbSource, SynsetFolderSource
from diffviews_core.pipelines.source_paths import source_from
from diffviews_core.pipelines.sources import FolderSource

FULL = SimpleNamespace(resolution=64, img_channels=3)  # load() only asks the adapter for these
SYNSETS = {"n01440764": 0, "n02099601": 207, "n02123045": 281}


def _ds_label(standard: int) -> int:
    """Downsampled ImageNet's 1-based label of a standard class."""
    order = downsampled_imagenet_order()
    return order.index([s for s, i in synset_to_class().items() if i == standard][0]) + 1


# --- synset JPEG folders --------------------------------------------------------------------------------------------
@pytest.fixture
def jpeg_tree(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "imagenet"
    for k, synset in enumerate(SYNSETS):
        d = root / "train" / synset
        d.mkdir(parents=True)
        for j in range(3):
            img = rng.integers(0, 256, (40 + 10 * j, 60, 3), dtype=np.uint8)  # not square: centre-cropped
            img[:, :10] = 255 * (k % 2)
            Image.fromarray(img).save(d / f"{synset}_{100 + j}.JPEG", quality=95)
    return root


def test_synset_folders_give_standard_labels_and_names(jpeg_tree):
    src = source_from(jpeg_tree)  # the parent of train/ is accepted, as the original's imagenet_dir/split
    assert isinstance(src, SynsetFolderSource)
    labels, names = src.catalogue(per_class=2)
    assert labels.tolist() == [0, 0, 207, 207, 281, 281]
    assert names[2] == "golden retriever" and names[0] == imagenet_names()[0]
    imgs = src.load(np.array([1, 4]), FULL, 0)
    assert imgs.shape == (2, 64, 64, 3) and imgs.dtype == np.uint8
    with Image.open(jpeg_tree / "train/n01440764/n01440764_101.JPEG") as im:
        raw = np.asarray(im.convert("RGB"))
    crop = raw[(50 - 50) // 2 :, 5:55]  # 50 x 60 -> the centred 50 x 50
    ref = np.asarray(Image.fromarray(crop).resize((64, 64), Image.Resampling.BICUBIC))
    np.testing.assert_array_equal(imgs[0], ref)

    only = source_from(jpeg_tree / "train", classes=[281])
    assert only.catalogue(per_class=None)[0].tolist() == [281, 281, 281]
    assert only.describe()["classes"] == [281] and only.describe()["count"] == 1


def test_unknown_synset_folders_are_named(jpeg_tree):
    (jpeg_tree / "train" / "n99999999").mkdir()
    with pytest.raises(DataError, match="n99999999: folder name is not one of the 1000 ImageNet-1k synset ids"):
        source_from(jpeg_tree).catalogue(None)


def test_plain_class_folders_still_read_as_before(tmp_path):
    d = tmp_path / "plain" / "shoe"
    d.mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(d / "a.png")
    assert isinstance(source_from(tmp_path / "plain"), FolderSource)


# --- Downsampled ImageNet .npz batches ------------------------------------------------------------------------------
def _write_batch(path: Path, standard_labels, rng, compressed=True) -> np.ndarray:
    n = len(standard_labels)
    data = rng.integers(0, 256, (n, 3 * 64 * 64), dtype=np.uint8)  # CHW rows, 12288 values
    labels = [_ds_label(c) for c in standard_labels]  # a list of ints, 1-based, its own class order
    save = np.savez_compressed if compressed else np.savez
    save(path, data=data, labels=labels, mean=data.mean(0))
    return data


@pytest.fixture
def npz_batches(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "Imagenet64_train"
    folder.mkdir()
    first = _write_batch(folder / "train_data_batch_1.npz", [207, 0, 207, 281, 0], rng)
    second = _write_batch(folder / "train_data_batch_2.npz", [281, 207, 0, 409], rng, compressed=False)
    return folder, np.concatenate([first, second])


def test_downsampled_batches_are_remapped_to_the_standard_order(npz_batches):
    folder, data = npz_batches
    src = source_from(folder)
    assert isinstance(src, DownsampledNpzSource)
    labels, names = src.catalogue(per_class=None)
    assert labels.tolist() == [207, 0, 207, 281, 0, 281, 207, 0, 409]
    assert names[-1] == "analog clock"
    imgs = src.load(np.array([8, 0, 5]), FULL, 0)  # any order, across both files
    for k, pos in enumerate([8, 0, 5]):
        np.testing.assert_array_equal(imgs[k], data[pos].reshape(3, 64, 64).transpose(1, 2, 0))


def test_per_class_and_classes_sample_as_the_original_and_stop_early(npz_batches):
    folder, data = npz_batches
    (folder / "train_data_batch_3.npz").write_bytes(b"not read: every wanted class is full before it")
    src = DownsampledNpzSource(path=folder, classes=[0, 281])
    labels, _ = src.catalogue(per_class=1)
    assert labels.tolist() == [0, 281]
    np.testing.assert_array_equal(src.load(np.array([1]), FULL, 0)[0], data[3].reshape(3, 64, 64).transpose(1, 2, 0))
    assert source_from(folder / "train_data_batch_1.npz").catalogue(per_class=1)[0].tolist() == [207, 0, 281]


def test_a_label_map_gives_a_sources_own_order(tmp_path):
    rng = np.random.default_rng(2)
    path = tmp_path / "mine.npz"
    np.savez(path, data=rng.integers(0, 256, (3, 12288), dtype=np.uint8), labels=np.array([1, 2, 1]))
    order = tmp_path / "order.txt"
    order.write_text("n02123045\nn02099601\n")
    labels, _ = source_from(path, label_map=order).catalogue(None)
    assert labels.tolist() == [281, 207, 281]


def test_bad_batches_are_named(tmp_path):
    path = tmp_path / "b.npz"
    np.savez(path, data=np.zeros((2, 12288), np.uint8), labels=np.array([1, 1001]))
    with pytest.raises(DataError, match=r"b.npz: labels must be 1..1000 \(1-based\)"):
        source_from(path).catalogue(None)
    np.savez(path, data=np.zeros((2, 100), np.uint8), labels=np.array([1, 1]))
    src = source_from(path)
    src.catalogue(None)
    with pytest.raises(DataError, match="not 3 x S x S"):
        src.load(np.array([0]), FULL, 0)


def test_reading_rows_streams_the_batch(tmp_path):
    """A few rows of a 37 MB batch are read with far less memory than the batch (seek, not load)."""
    rng = np.random.default_rng(3)
    n = 3000
    path = tmp_path / "train_data_batch_1.npz"
    data = rng.integers(0, 256, (n, 12288), dtype=np.uint8)
    np.savez(path, data=data, labels=np.ones(n, dtype=np.int64))
    src = source_from(path)
    src.catalogue(None)
    tracemalloc.start()
    try:
        imgs = src.load(np.array([5, n - 1]), FULL, 0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(imgs[1], data[-1].reshape(3, 64, 64).transpose(1, 2, 0))
    assert peak < data.nbytes / 2, f"peak {peak / 1e6:.1f} MB for a {data.nbytes / 1e6:.1f} MB batch"
    assert zipfile.ZipFile(path).getinfo("data.npy").compress_type == zipfile.ZIP_STORED


# --- LMDB -----------------------------------------------------------------------------------------------------------
def _write_lmdb(path: Path, standard_labels, rng, label_shape: str | None = None, skip_label: int | None = None):
    lmdb = pytest.importorskip("lmdb")
    n = len(standard_labels)
    images = rng.integers(0, 256, (n, 3, 64, 64), dtype=np.uint8)
    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        txn.put(b"images_shape", f"{n} 3 64 64".encode())
        txn.put(b"labels_shape", (label_shape or f"{n}").encode())
        for i in range(n):
            txn.put(f"images_{i}_data".encode(), images[i].tobytes())
            if i != skip_label:
                txn.put(f"labels_{i}_data".encode(), np.int64(standard_labels[i]).tobytes())
    env.close()
    return images


def test_lmdb_rows_in_the_standard_order(tmp_path):
    path = tmp_path / "imagenet_lmdb"
    images = _write_lmdb(path, [409, 0, 409, 207], np.random.default_rng(4))
    src = source_from(path)
    assert isinstance(src, LmdbSource) and src.describe()["count"] == 4
    labels, names = src.catalogue(per_class=None)
    assert labels.tolist() == [409, 0, 409, 207] and names[3] == "golden retriever"
    imgs = src.load(np.array([3, 0]), FULL, 0)
    np.testing.assert_array_equal(imgs[0], images[3].transpose(1, 2, 0))
    np.testing.assert_array_equal(imgs[1], images[0].transpose(1, 2, 0))


def test_lmdb_sampling_stops_once_the_classes_are_full(tmp_path):
    path = tmp_path / "db"
    _write_lmdb(path, [409, 0, 409, 207, 5], np.random.default_rng(5), label_shape="5 1", skip_label=4)
    src = LmdbSource(path=path, classes=[409, 0])
    assert src.catalogue(per_class=1)[0].tolist() == [409, 0]  # row 4 (no label) is never read
    with pytest.raises(DataError, match="no key 'labels_4_data'"):
        LmdbSource(path=path).catalogue(per_class=None)


def test_lmdb_with_bad_shapes_is_named(tmp_path):
    lmdb = pytest.importorskip("lmdb")
    env = lmdb.open(str(tmp_path / "bad"), map_size=1 << 20)
    with env.begin(write=True) as txn:
        txn.put(b"images_shape", b"2 64 64 3")
        txn.put(b"labels_shape", b"2")
    env.close()
    with pytest.raises(DataError, match=r"images_shape \(2, 64, 64, 3\): expected N 3 S S"):
        source_from(tmp_path / "bad").catalogue(None)


# --- building from them ---------------------------------------------------------------------------------------------
def test_diffviews_build_from_each_source(tmp_path, tiny_net, jpeg_tree, npz_batches, capsys):
    from diffviews_core.checkpoints import save_network
    from diffviews_core.cli.main import main
    from diffviews_core.formats import open_data
    from diffviews_core.networks import TINY

    ckpt = tmp_path / "tiny.safetensors"
    save_network(tiny_net, ckpt, TINY)
    lmdb_path = tmp_path / "lmdb"
    _write_lmdb(lmdb_path, [281, 207, 281, 0], np.random.default_rng(6))
    common = ["--adapter", "edm", "--checkpoint", str(ckpt), "--sigmas", "2,0.5", "--layers", "midblock",
              "--device", "cpu", "--batch-size", "2"]  # fmt: skip
    cases = {
        "jpeg": ([str(jpeg_tree), "--per-class", "1"], [0, 207, 281]),
        "npz": ([str(npz_batches[0]), "--per-class", "2", "--classes", "207,409"], [207, 207, 409]),
        "lmdb": ([str(lmdb_path), "--classes", "281"], [281, 281]),
    }
    for name, (args, expected) in cases.items():
        out = tmp_path / "built" / name
        assert main(["build", str(out), "--images", *args, *common]) == 0, capsys.readouterr().err
        s = open_data(out).models[name].samples
        assert s.class_label[: len(expected)].tolist() == expected, name
        assert s.class_name[0] == imagenet_names()[expected[0]]
        assert len(s) == 2 * len(expected)
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["build"]["source"]["kind"] in ("imagenet-folder", "downsampled-imagenet", "lmdb")
    err = main(["build", str(tmp_path / "x"), "--images", str(npz_batches[0]), "--classes", "1000", *common])
    assert err == 4 and "class 1000 is not an ImageNet-1k class number" in capsys.readouterr().err

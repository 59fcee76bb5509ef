"""The shipped ImageNet class index, label maps for sources in another class order, and ImageNet names for
ImageNet-class models whose data carries none (not "207: 207")."""

from __future__ import annotations

import json

import numpy as np
import pytest
from extraction_fixtures import write_extraction_layout

from diffviews_core.class_index import (
    downsampled_imagenet_order,
    imagenet_classes,
    imagenet_names,
    read_label_map,
    synset_to_class,
    to_standard,
)
from diffviews_core.errors import DataError
from diffviews_core.formats import open_data


def test_the_standard_index_is_sorted_synsets_with_names():
    classes = imagenet_classes()
    synsets = [s for s, _ in classes]
    assert len(classes) == 1000 and synsets == sorted(set(synsets))
    assert classes[0] == ("n01440764", "tench") and classes[207] == ("n02099601", "golden retriever")
    assert classes[999] == ("n15075141", "toilet tissue") and all(name for _, name in classes)
    assert synset_to_class()["n02123045"] == 281 and imagenet_names()[409] == "analog clock"


def test_downsampled_order_is_a_permutation_starting_with_the_devkit_ids():
    order = downsampled_imagenet_order()
    assert sorted(order) == [s for s, _ in imagenet_classes()]
    assert order[:3] == ("n02119789", "n02100735", "n02110185")  # kit fox, English setter, Siberian husky
    std = to_standard(order, "test")
    assert std[0] == 278 and imagenet_names()[std[0]] == "kit fox"


def test_label_map_files(tmp_path):
    order = ["n02099601", "n01440764", "n02123045"]
    as_list = tmp_path / "list.json"
    as_list.write_text(json.dumps(order))
    as_dict = tmp_path / "original.json"
    as_dict.write_text(json.dumps({str(i): [s, f"name{i}"] for i, s in enumerate(order)}))
    as_text = tmp_path / "map_clsloc.txt"
    as_text.write_text("".join(f"{s} {i + 1} name_{i}\n" for i, s in enumerate(order)))
    for path in (as_list, as_dict, as_text):
        assert read_label_map(path) == [207, 0, 281], path
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(["n02099601", "n99999999"]))
    with pytest.raises(DataError, match="'n99999999' is not one of the 1000 ImageNet-1k classes"):
        read_label_map(bad)
    bad.write_text(json.dumps(["n02099601", "n02099601"]))
    with pytest.raises(DataError, match="listed twice"):
        read_label_map(bad)
    bad.write_text(json.dumps({"0": "n02099601", "2": "n01440764"}))
    with pytest.raises(DataError, match="without gaps"):
        read_label_map(bad)
    with pytest.raises(DataError, match="missing label map"):
        read_label_map(tmp_path / "nothing.txt")


def _strip_names(model_dir, value=None):
    p = model_dir / "metadata" / "imagenet_real" / "dataset_info.json"
    info = json.loads(p.read_text())
    for s in info["samples"]:
        if value is None:
            s.pop("class_name")
        else:
            s["class_name"] = str(s["class_label"]) if value == "number" else value
    p.write_text(json.dumps(info, indent=2))


@pytest.mark.parametrize("names", [None, "number", ""])
def test_imagenet_models_get_imagenet_names_when_the_data_has_none(tmp_path, names):
    d = write_extraction_layout(tmp_path / "data" / "dmd2", num_images=3)
    _strip_names(d, names)
    s = open_data(tmp_path / "data").models["dmd2"].samples
    assert [s.class_name[i] for i in (0, 5, 10)] == ["golden retriever", "tabby", "analog clock"]


def test_num_classes_1000_in_the_config_counts_as_imagenet(tmp_path):
    d = write_extraction_layout(tmp_path / "data" / "m", num_images=3, adapter="edm")
    _strip_names(d)
    assert open_data(d).models["m"].samples.class_name[0] == ""  # a generic EDM model: no guess
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "num_classes": 1000}))
    assert open_data(d).models["m"].samples.class_name[0] == "golden retriever"


def test_the_data_roots_class_index_and_the_datas_own_names_come_first(tmp_path):
    d = write_extraction_layout(tmp_path / "data" / "dmd2", num_images=3)
    s = open_data(tmp_path / "data").models["dmd2"].samples
    assert s.class_name[0] == "golden_retriever"  # the data's own name is kept
    _strip_names(d)
    (tmp_path / "data" / "imagenet_standard_class_index.json").write_text(json.dumps({"207": ["n02099601", "goldie"]}))
    s = open_data(tmp_path / "data").models["dmd2"].samples
    assert s.class_name[0] == "goldie" and s.class_name[5] == "tabby"


def test_a_1000_class_build_without_names_gets_imagenet_names(tmp_path):
    from diffviews_core.adapters.edm import EDMAdapter
    from diffviews_core.networks import TINY, build_edm
    from diffviews_core.pipelines.builder import BuildSpec, build_dataset
    from diffviews_core.pipelines.sources import ArraySource

    adapter = EDMAdapter(build_edm({**TINY, "label_dim": 1000}).eval(), device="cpu")
    images = np.random.default_rng(0).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    spec = BuildSpec(tmp_path / "ds", ArraySource(images, np.array([207, 409])), sigmas=[1.0], layers=["midblock"])
    s = open_data(build_dataset(spec, adapter=adapter)).models["ds"].samples
    assert s.class_name.tolist() == ["golden retriever", "analog clock"]

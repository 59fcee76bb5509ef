"""The ImageNet-64 architecture the real checkpoints load into, and its 37 DiffViews layers (built on meta)."""

from __future__ import annotations

import pytest

from diffviews_core.adapters import get_adapter
from diffviews_core.networks import IMAGENET64_DMD2, IMAGENET64_EDM, IMAGENET64_KEY_HASH, build_edm, key_hash

C64, C32, C16, C8 = (192, 64, 64), (384, 32, 32), (576, 16, 16), (768, 8, 8)
EXPECTED_LAYERS = {
    **{f"encoder_block_{i}": C64 for i in range(4)},
    "encoder_block_4": (192, 32, 32),
    **{f"encoder_block_{i}": C32 for i in range(5, 8)},
    "encoder_block_8": (384, 16, 16),
    **{f"encoder_block_{i}": C16 for i in range(9, 12)},
    "encoder_block_12": (576, 8, 8),
    "encoder_block_13": C8,
    "encoder_block_14": C8,
    "encoder_bottleneck": C8,
    "midblock": C8,
    **{f"decoder_block_{i}": C8 for i in range(1, 6)},
    "decoder_block_6": (768, 16, 16),
    **{f"decoder_block_{i}": C16 for i in range(7, 11)},
    "decoder_block_11": (576, 32, 32),
    **{f"decoder_block_{i}": C32 for i in range(12, 16)},
    "decoder_block_16": (384, 64, 64),
    **{f"decoder_block_{i}": C64 for i in range(17, 21)},
}


@pytest.mark.parametrize("config", [IMAGENET64_DMD2, IMAGENET64_EDM])
def test_imagenet64_state_dict_matches_the_real_checkpoints(config):
    sd = build_edm(config, device="meta").state_dict()
    assert len(sd) == 553
    assert sum(v.numel() for k, v in sd.items() if not k.endswith("resample_filter")) == 295_899_267
    assert key_hash({k: tuple(v.shape) for k, v in sd.items()}) == IMAGENET64_KEY_HASH


@pytest.mark.parametrize(
    ("name", "config"), [("dmd2-imagenet-64", IMAGENET64_DMD2), ("edm-imagenet-64", IMAGENET64_EDM)]
)
def test_imagenet64_adapters_expose_the_37_layers(name, config):
    cls = get_adapter(name)
    assert cls.get_default_config()["network"] == config
    adapter = cls(build_edm(config, device="meta"), device="meta")
    assert len(EXPECTED_LAYERS) == 37
    assert adapter.hookable_layers == list(EXPECTED_LAYERS)
    assert adapter.get_layer_shapes() == EXPECTED_LAYERS
    assert adapter.layer_modules["encoder_bottleneck"] == "model.enc.8x8_block2"
    assert adapter.layer_modules["midblock"] == "model.dec.8x8_in0"
    assert adapter.layer_modules["decoder_block_1"] == "model.dec.8x8_in1"

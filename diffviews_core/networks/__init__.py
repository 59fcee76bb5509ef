"""The EDM network (EDMPrecond wrapping DhariwalUNet), re-implemented from the published architecture."""

from __future__ import annotations

import torch

from .configs import IMAGENET64_DMD2, IMAGENET64_EDM, IMAGENET64_KEY_HASH, TINY, TINY_KEY_HASH, key_hash
from .layers import Conv2d, GroupNorm, Linear, PositionalEmbedding, UNetBlock
from .limits import check_network_config, count_parameters
from .unet import DhariwalUNet, EDMPrecond

__all__ = [
    "Conv2d",
    "DhariwalUNet",
    "EDMPrecond",
    "GroupNorm",
    "IMAGENET64_DMD2",
    "IMAGENET64_EDM",
    "IMAGENET64_KEY_HASH",
    "Linear",
    "PositionalEmbedding",
    "TINY",
    "TINY_KEY_HASH",
    "UNetBlock",
    "build_edm",
    "check_network_config",
    "count_parameters",
    "key_hash",
    "state_dict_key_hash",
]


def build_edm(config: dict, device: str | torch.device = "cpu") -> EDMPrecond:
    """Build an EDMPrecond from constructor kwargs; ``device='meta'`` builds the shape without memory.

    The kwargs are checked first (types, ranges, parameter count): a bad config is a ValueError, never a hang.
    """
    check_network_config(config)
    with torch.device(device):
        return EDMPrecond(**config)


def state_dict_key_hash(module: torch.nn.Module) -> str:
    return key_hash({k: tuple(v.shape) for k, v in module.state_dict().items()})

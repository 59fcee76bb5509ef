"""Checks on EDMPrecond constructor arguments before anything is built, and the parameter count they imply.

Checkpoints carry their own architecture (a pickle's ``_init_kwargs``, a JSON beside the weights), so a hostile or
broken file could ask for a million blocks or a zero-sized image. ``check_network_config`` refuses such configs with
one line, and ``count_parameters`` computes the size from the config alone (no allocation), so a network past
``MAX_PARAMETERS`` is refused before a single module exists. Pure Python: no torch.
"""

from __future__ import annotations

import math
from typing import Any

from .. import validate as v

MAX_PARAMETERS = 2_000_000_000  # 8 GB of float32 weights; the ImageNet-64 ADM has 296 M
MAX_LEVELS = 8
MAX_BLOCKS = 64
MAX_RESOLUTION = 4096
# key -> (check, default) for every argument EDMPrecond and DhariwalUNet take.
_INT, _FLOAT, _BOOL, _LIST, _STR = "int", "float", "bool", "list", "str"
ARGUMENTS: dict[str, tuple[str, Any, tuple]] = {
    "img_resolution": (_INT, None, (1, MAX_RESOLUTION)),
    "img_channels": (_INT, None, (1, 64)),
    "label_dim": (_INT, 0, (0, 1_000_000)),
    "use_fp16": (_BOOL, False, ()),
    "sigma_min": (_FLOAT, 0.0, (0.0, math.inf)),
    "sigma_max": (_FLOAT, math.inf, (0.0, math.inf)),
    "sigma_data": (_FLOAT, 0.5, (1e-12, 1e12)),
    "model_type": (_STR, "DhariwalUNet", ()),
    "model_channels": (_INT, 192, (1, 16384)),
    "channel_mult": (_LIST, [1, 2, 3, 4], (1, 64, MAX_LEVELS)),
    "channel_mult_emb": (_INT, 4, (1, 64)),
    "num_blocks": (_INT, 3, (1, MAX_BLOCKS)),
    "attn_resolutions": (_LIST, [32, 16, 8], (1, MAX_RESOLUTION, 64)),
    "dropout": (_FLOAT, 0.10, (0.0, 1.0)),
    "augment_dim": (_INT, 0, (0, 4096)),
    "label_dropout": (_FLOAT, 0.0, (0.0, 1.0)),
}


def check_network_config(config: Any) -> dict[str, Any]:
    """The config with defaults filled in; ``validate.Invalid`` (a ValueError) saying what is wrong otherwise."""
    config = v.mapping(config, "the network config")
    unknown = sorted(str(k) for k in config if k not in ARGUMENTS)
    if unknown:
        raise v.Invalid(f"unknown network argument(s) {', '.join(repr(k[:40]) for k in unknown[:5])}")
    out: dict[str, Any] = {}
    for key, (kind, default, limits) in ARGUMENTS.items():
        if key not in config:
            if default is None:
                raise v.Invalid(f"network argument {key!r} missing")
            out[key] = list(default) if isinstance(default, list) else default
            continue
        value = config[key]
        if kind == _INT:
            out[key] = v.integer(value, key, *limits)
        elif kind == _FLOAT:
            out[key] = v.number(value, key, *limits, finite=key != "sigma_max")
        elif kind == _BOOL:
            out[key] = v.boolean(value, key)
        elif kind == _STR:
            out[key] = v.text(value, key, 64)
        else:
            lo, hi, max_len = limits
            out[key] = v.integers(value, key, lo, hi, max_len)
    if out["model_type"] != "DhariwalUNet":
        raise v.Invalid(f"unsupported model_type {out['model_type']!r} (only DhariwalUNet)")
    if not out["channel_mult"]:
        raise v.Invalid("channel_mult must list at least one level")
    if out["sigma_min"] > out["sigma_max"]:
        raise v.Invalid(f"sigma_min {out['sigma_min']} is above sigma_max {out['sigma_max']}")
    levels = len(out["channel_mult"])
    step = 2 ** (levels - 1)
    if out["img_resolution"] % step:
        raise v.Invalid(f"img_resolution {out['img_resolution']} cannot be halved {levels - 1} times ({levels} levels)")
    if out["model_channels"] * min(out["channel_mult"]) < 4:
        raise v.Invalid("model_channels x channel_mult must be at least 4 (group normalisation)")
    params = count_parameters(out)
    if params > MAX_PARAMETERS:
        raise v.Invalid(f"the network would have {params:,} parameters, more than the {MAX_PARAMETERS:,} allowed")
    return out


def _linear(cin: int, cout: int, bias: bool = True) -> int:
    return cin * cout + (cout if bias else 0)


def _conv(cin: int, cout: int, kernel: int) -> int:
    return cout * cin * kernel * kernel + cout if kernel else 0


def _block(cin: int, cout: int, emb: int, attention: bool, resample: bool) -> int:
    """UNetBlock: norm0, conv0, affine, norm1, conv1, the 1x1 skip when channels change, attention when heads."""
    n = 2 * cin + _conv(cin, cout, 3) + _linear(emb, 2 * cout) + 2 * cout + _conv(cout, cout, 3)
    if cout != cin or resample:
        n += _conv(cin, cout, 1 if cout != cin else 0)
    if attention and cout // 64:
        n += 2 * cout + _conv(cout, 3 * cout, 1) + _conv(cout, cout, 1)
    return n


def count_parameters(config: dict[str, Any]) -> int:
    """Trainable parameters of the EDMPrecond a checked config builds, computed without building it."""
    mc, mult, nb = config["model_channels"], config["channel_mult"], config["num_blocks"]
    emb = mc * config["channel_mult_emb"]
    attn = set(config["attn_resolutions"])
    res0, channels = config["img_resolution"], config["img_channels"]
    n = _linear(mc, emb) + _linear(emb, emb)
    n += config["augment_dim"] * mc + config["label_dim"] * emb
    skips, cout = [], channels
    for level, m in enumerate(mult):
        res = res0 >> level
        if level == 0:
            n += _conv(cout, mc * m, 3)
            cout = mc * m
        else:
            n += _block(cout, cout, emb, False, True)
        skips.append(cout)
        for _ in range(nb):
            n += _block(cout, mc * m, emb, res in attn, False)
            cout = mc * m
            skips.append(cout)
    for level in reversed(range(len(mult))):
        res, m = res0 >> level, mult[level]
        if level == len(mult) - 1:
            n += _block(cout, cout, emb, True, False) + _block(cout, cout, emb, False, False)
        else:
            n += _block(cout, cout, emb, False, True)
        for _ in range(nb + 1):
            cin = cout + skips.pop()
            n += _block(cin, mc * m, emb, res in attn, False)
            cout = mc * m
    return n + 2 * cout + _conv(cout, channels, 3)

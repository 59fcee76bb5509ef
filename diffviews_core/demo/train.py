"""Train the demo model: a small class-conditional EDMPrecond on Fashion-MNIST with the EDM loss.

Seeded and resumable: every ``checkpoint_every`` steps the network, its EMA, Adam's moments and the RNG state go to
one safetensors file (written atomically), so a resumed run continues exactly where the interrupted one stopped.
"""

from __future__ import annotations

import copy
import json
import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import CheckpointError
from .fashion_mnist import load_fashion_mnist, to_model_range

log = logging.getLogger(__name__)

DEMO_NETWORK: dict = dict(
    img_resolution=32,
    img_channels=1,
    label_dim=10,
    use_fp16=False,
    sigma_data=0.5,
    model_type="DhariwalUNet",
    model_channels=32,
    channel_mult=[1, 2, 2],
    channel_mult_emb=4,
    num_blocks=1,
    attn_resolutions=[8],
    dropout=0.0,
    augment_dim=0,
    label_dropout=0.1,  # the network zeroes 10% of labels while training, so CFG has an unconditional model
)


@dataclass
class TrainSettings:
    """Hyper-parameters of a run; stored in its checkpoint so a resume continues the same run."""

    steps: int = 1000
    batch_size: int = 64
    lr: float = 1e-3
    warmup_steps: int = 100
    ema_decay: float = 0.999
    p_mean: float = -1.2
    p_std: float = 1.2
    seed: int = 0
    checkpoint_every: int = 200


@dataclass
class Progress:
    step: int
    total: int
    loss: float
    seconds: float


def training_checkpoint_path(out: Path) -> Path:
    """Where the resumable state of a run whose weights end in ``out`` lives."""
    out = Path(out)
    return out.with_name(out.stem + ".train.safetensors")


def edm_loss(net, images, labels, p_mean: float, p_std: float):
    """EDM loss: sigma ~ lognormal(P_mean, P_std), weight (s^2 + sd^2) / (s * sd)^2; the batch mean."""
    import torch

    sd = net.sigma_data
    sigma = (torch.randn([images.shape[0], 1, 1, 1]) * p_std + p_mean).exp()
    weight = (sigma**2 + sd**2) / (sigma * sd) ** 2
    noised = images + torch.randn_like(images) * sigma
    return (weight * (net(noised, sigma, labels) - images) ** 2).mean()


def _save_state(path: Path, net, ema, opt, step: int, settings: TrainSettings, network: dict, losses: list) -> None:
    import torch
    from safetensors.torch import save_file

    tensors = {f"net.{k}": v.detach().contiguous() for k, v in net.state_dict().items()}
    tensors.update({f"ema.{k}": v.detach().contiguous() for k, v in ema.state_dict().items()})
    for i, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            tensors[f"opt.{i}.{key}"] = torch.as_tensor(value).detach().contiguous()
    tensors["rng"] = torch.get_rng_state()
    tensors["losses"] = torch.tensor(losses, dtype=torch.float32)
    meta = {"step": str(step), "settings": json.dumps(asdict(settings)), "network": json.dumps(network)}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _load_state(path: Path, net, ema, opt, settings: TrainSettings, network: dict) -> tuple[int, list]:
    import torch
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError) as exc:
        raise CheckpointError(path, f"unreadable training checkpoint: {exc}") from None
    if "step" not in meta or "rng" not in tensors:
        raise CheckpointError(path, "not a demo training checkpoint (no step or RNG state)")
    if json.loads(meta.get("network", "null")) != network:
        raise CheckpointError(path, "the checkpoint was trained with a different network configuration")
    saved = json.loads(meta.get("settings", "{}"))
    for key in ("batch_size", "lr", "warmup_steps", "ema_decay", "p_mean", "p_std", "seed"):
        if saved.get(key) != getattr(settings, key):
            raise CheckpointError(
                path, f"the checkpoint used {key}={saved.get(key)}, this run {getattr(settings, key)}"
            )
    net.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("net.")}, strict=True)
    ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")}, strict=True)
    opt_state: dict = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, i, key = k.split(".", 2)
            opt_state.setdefault(int(i), {})[key] = v
    opt.load_state_dict({"state": opt_state, "param_groups": opt.state_dict()["param_groups"]})
    torch.set_rng_state(tensors["rng"])
    return int(meta["step"]), tensors["losses"].tolist()


def train_demo(
    out: Path,
    settings: TrainSettings | None = None,
    network: dict | None = None,
    *,
    resume: bool = False,
    state_path: Path | None = None,
    images: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    callback: Callable[[Progress], None] | None = None,
) -> Path:
    """Train and write the EMA weights to ``out`` (safetensors + ``<stem>.json``); returns ``out``.

    ``images``/``labels`` default to the Fashion-MNIST training split; the resumable state goes to ``state_path``
    (default: beside ``out``) and ``resume`` continues from it when it exists. Same settings and seed give the same weights on the same machine.
    """
    import torch

    from ..checkpoints import save_network
    from ..networks import build_edm

    settings = settings or TrainSettings()
    network = copy.deepcopy(network or DEMO_NETWORK)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ckpt = Path(state_path) if state_path is not None else training_checkpoint_path(out)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    if images is None or labels is None:
        images, labels = load_fashion_mnist("train")
    data = torch.from_numpy(to_model_range(images, network["img_resolution"]))
    onehot = torch.eye(network["label_dim"])[torch.from_numpy(np.asarray(labels, dtype=np.int64))]

    torch.manual_seed(settings.seed)
    net = build_edm(network).train()
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr, betas=(0.9, 0.999), eps=1e-8)
    start, losses = 0, []
    if resume and ckpt.is_file():
        start, losses = _load_state(ckpt, net, ema, opt, settings, network)
        log.info("resuming %s at step %d", ckpt, start)

    t0 = time.perf_counter()
    for step in range(start, settings.steps):
        idx = torch.randint(0, len(data), (settings.batch_size,))
        for group in opt.param_groups:
            group["lr"] = settings.lr * min(1.0, (step + 1) / max(1, settings.warmup_steps))
        loss = edm_loss(net, data[idx], onehot[idx], settings.p_mean, settings.p_std)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        decay = min(settings.ema_decay, (1 + step) / (10 + step))
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), net.parameters(), strict=True):
                p_ema.lerp_(p, 1 - decay)
        losses.append(loss.item())
        done = step + 1
        if callback is not None:
            callback(Progress(done, settings.steps, losses[-1], time.perf_counter() - t0))
        if done % settings.checkpoint_every == 0 or done == settings.steps:
            _save_state(ckpt, net, ema, opt, done, settings, network, losses)
    save_network(ema, out, network)
    return out


def settings_from_kwargs(**kwargs) -> TrainSettings:
    """TrainSettings from the keyword arguments that are not None (CLI options)."""
    names = {f.name for f in fields(TrainSettings)}
    return TrainSettings(**{k: v for k, v in kwargs.items() if k in names and v is not None})

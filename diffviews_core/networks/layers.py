"""Building blocks of the ADM ("DhariwalUNet") network, re-implemented from the published architecture.

Parameter names, shapes and the order of operations match the EDM checkpoints exactly, so their
state dicts load strictly. Weights that do not exist (a kernel-0 skip) are plain ``None`` attributes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def _init_weight(shape: Sequence[int], fan_in: int, mode: str, scale: float) -> torch.Tensor:
    if mode not in ("kaiming_uniform", "kaiming_normal"):
        raise ValueError(f"unknown init mode {mode!r}")
    t = torch.rand(*shape) if mode == "kaiming_uniform" else torch.randn(*shape)
    if t.is_meta:  # shape-only builds: arithmetic on meta tensors costs seconds (it loads torch._dynamo)
        return t
    if mode == "kaiming_uniform":
        return (t * 2 - 1) * (scale * math.sqrt(3 / fan_in))
    return t * (scale * math.sqrt(1 / fan_in))


class Linear(nn.Module):
    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init_mode: str = "kaiming_uniform",
        init_weight: float = math.sqrt(1 / 3),
        init_bias: float = math.sqrt(1 / 3),
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = nn.Parameter(_init_weight([out_features, in_features], in_features, init_mode, init_weight))
        self.bias = (
            nn.Parameter(_init_weight([out_features], in_features, init_mode, init_bias)) if bias else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x @ self.weight.to(x.dtype).t()
        if self.bias is not None:
            x = x + self.bias.to(x.dtype)
        return x


class Conv2d(nn.Module):
    """Convolution with optional 2x resampling by a fixed [1, 1] filter applied before the kernel."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        bias: bool = True,
        up: bool = False,
        down: bool = False,
        resample_filter: Sequence[int] = (1, 1),
        init_mode: str = "kaiming_uniform",
        init_weight: float = math.sqrt(1 / 3),
        init_bias: float = math.sqrt(1 / 3),
    ) -> None:
        assert not (up and down)
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.up = up
        self.down = down
        fan_in = in_channels * kernel * kernel
        self.weight = (
            nn.Parameter(_init_weight([out_channels, in_channels, kernel, kernel], fan_in, init_mode, init_weight))
            if kernel
            else None
        )
        self.bias = (
            nn.Parameter(_init_weight([out_channels], fan_in, init_mode, init_bias)) if kernel and bias else None
        )
        f = torch.as_tensor(list(resample_filter), dtype=torch.float32, device="cpu")
        f = (torch.outer(f, f).unsqueeze(0).unsqueeze(1) / f.sum().square()).to(torch.empty(0).device)
        self.register_buffer("resample_filter", f if up or down else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight.to(x.dtype) if self.weight is not None else None
        b = self.bias.to(x.dtype) if self.bias is not None else None
        f = self.resample_filter.to(x.dtype) if self.resample_filter is not None else None
        f_pad = (f.shape[-1] - 1) // 2 if f is not None else 0
        if self.up:
            x = F.conv_transpose2d(
                x, f.mul(4).tile([self.in_channels, 1, 1, 1]), groups=self.in_channels, stride=2, padding=f_pad
            )
        if self.down:
            x = F.conv2d(x, f.tile([self.in_channels, 1, 1, 1]), groups=self.in_channels, stride=2, padding=f_pad)
        if w is not None:
            x = F.conv2d(x, w, padding=w.shape[-1] // 2)
        if b is not None:
            x = x + b.reshape(1, -1, 1, 1)
        return x


class GroupNorm(nn.Module):
    def __init__(self, num_channels: int, num_groups: int = 32, min_channels_per_group: int = 4, eps: float = 1e-5):
        super().__init__()
        self.num_groups = min(num_groups, num_channels // min_channels_per_group)
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.group_norm(x, self.num_groups, self.weight.to(x.dtype), self.bias.to(x.dtype), self.eps)


class PositionalEmbedding(nn.Module):
    """Sinusoidal embedding of the noise level, [cos, sin] order."""

    def __init__(self, num_channels: int, max_positions: int = 10000, endpoint: bool = False) -> None:
        super().__init__()
        self.num_channels = num_channels
        self.max_positions = max_positions
        self.endpoint = endpoint

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        half = self.num_channels // 2
        freqs = torch.arange(0, half, dtype=torch.float32, device=x.device)
        freqs = freqs / (half - (1 if self.endpoint else 0))
        freqs = (1 / self.max_positions) ** freqs
        x = torch.outer(x, freqs.to(x.dtype))
        return torch.cat([x.cos(), x.sin()], dim=1)


class UNetBlock(nn.Module):
    """Residual block with adaptive group-norm scale/shift and optional self-attention."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        emb_channels: int,
        up: bool = False,
        down: bool = False,
        attention: bool = False,
        num_heads: int | None = None,
        channels_per_head: int = 64,
        dropout: float = 0.0,
        skip_scale: float = 1.0,
        eps: float = 1e-5,
        resample_filter: Sequence[int] = (1, 1),
        resample_proj: bool = False,
        adaptive_scale: bool = True,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.emb_channels = emb_channels
        self.num_heads = 0 if not attention else num_heads if num_heads is not None else out_channels // channels_per_head
        self.dropout = dropout
        self.skip_scale = skip_scale
        self.adaptive_scale = adaptive_scale

        zero = dict(init_weight=0.0, init_bias=0.0)
        self.norm0 = GroupNorm(in_channels, eps=eps)
        self.conv0 = Conv2d(in_channels, out_channels, 3, up=up, down=down, resample_filter=resample_filter)
        self.affine = Linear(emb_channels, out_channels * (2 if adaptive_scale else 1))
        self.norm1 = GroupNorm(out_channels, eps=eps)
        self.conv1 = Conv2d(out_channels, out_channels, 3, **zero)
        self.skip = None
        if out_channels != in_channels or up or down:
            kernel = 1 if resample_proj or out_channels != in_channels else 0
            self.skip = Conv2d(in_channels, out_channels, kernel, up=up, down=down, resample_filter=resample_filter)
        if self.num_heads:
            self.norm2 = GroupNorm(out_channels, eps=eps)
            self.qkv = Conv2d(out_channels, out_channels * 3, 1)
            self.proj = Conv2d(out_channels, out_channels, 1, **zero)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        orig = x
        x = self.conv0(F.silu(self.norm0(x)))
        params = self.affine(emb).unsqueeze(2).unsqueeze(3).to(x.dtype)
        if self.adaptive_scale:
            scale, shift = params.chunk(chunks=2, dim=1)
            x = F.silu(torch.addcmul(shift, self.norm1(x), scale + 1))
        else:
            x = F.silu(self.norm1(x.add(params)))
        x = self.conv1(F.dropout(x, p=self.dropout, training=self.training))
        x = x + (self.skip(orig) if self.skip is not None else orig)
        x = x * self.skip_scale
        if self.num_heads:
            b, c = x.shape[0], x.shape[1]
            q, k, v = self.qkv(self.norm2(x)).reshape(b * self.num_heads, c // self.num_heads, 3, -1).unbind(2)
            scale = 1 / math.sqrt(k.shape[1])
            w = torch.einsum("ncq,nck->nqk", q.to(torch.float32), (k * scale).to(torch.float32))
            w = w.softmax(dim=2).to(q.dtype)
            a = torch.einsum("nqk,nck->ncq", w, v)
            x = self.proj(a.reshape(*x.shape)) + x
            x = x * self.skip_scale
        return x

"""Sinusoidal timestep features and the two-layer MLP that embeds them."""
import math

import torch
from torch import nn
from torch.nn import functional as F


def sinusoid(positions: torch.Tensor, dim: int, dtype: torch.dtype = torch.float32,
             flip_sin_to_cos: bool = True, freq_shift: float = 0.0,
             max_period: float = 10000.0) -> torch.Tensor:
    """Features of 1-D ``positions``: (N,) -> (N, dim) in ``dtype``, computed in float32 (as
    diffusers does) unless ``dtype`` is float64.

    Frequency i of dim/2 is max_period^(-i / (dim/2 - freq_shift)); the layout is [cos | sin] when
    ``flip_sin_to_cos`` (what SVD and AudioLDM2 use), else [sin | cos]; an odd dim is padded with
    one zero column.
    """
    work = torch.float64 if dtype == torch.float64 else torch.float32
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=work, device=positions.device)
    freqs = torch.exp(exponent / (half - freq_shift))
    angles = positions[:, None].to(work) * freqs[None, :]
    sin, cos = torch.sin(angles), torch.cos(angles)
    emb = torch.cat([cos, sin] if flip_sin_to_cos else [sin, cos], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1))
    return emb.to(dtype)


class TimestepEmbedding(nn.Module):
    """linear_1 -> SiLU -> linear_2."""

    def __init__(self, in_features: int, hidden: int, out_features: int | None = None):
        super().__init__()
        self.linear_1 = nn.Linear(in_features, hidden)
        self.linear_2 = nn.Linear(hidden, out_features or hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear_2(F.silu(self.linear_1(x)))

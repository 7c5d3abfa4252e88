"""Rotary position embedding with one clock for both modalities (DESIGN.md section 3).

Convention (the engine's): a head of d dims is cut into runs, one per axis, axis 0 (time) first.
Within an axis's run of n dims, pair j = dims (2j, 2j+1) of the run turns by the angle
position * base^(-2j/n):  (x0, x1) -> (x0 cos - x1 sin, x0 sin + x1 cos).
Time takes the first d/2 dims of each head in both modalities (same frequencies), the rest is
split evenly between the spatial axes: (h, w) = (d/4, d/4) for video, f = d/2 for audio.
"""
import torch


def axis_runs(head_dim: int, spatial_axes: int) -> list[int]:
    """Dims per axis, time first: [d/2, d/(2*spatial_axes), ...]; each run must be even."""
    if head_dim % (4 * spatial_axes) != 0:
        raise ValueError(f"RoPE: head dim {head_dim} must be a multiple of {4 * spatial_axes} "
                         f"to give time and {spatial_axes} spatial axis(es) even runs")
    return [head_dim // 2] + [head_dim // (2 * spatial_axes)] * spatial_axes


def angles(positions: list[torch.Tensor], runs: list[int], base: float) -> torch.Tensor:
    """positions: one (N,) float64 tensor per axis -> (N, d/2) rotation angles, pair-ordered."""
    parts = []
    for pos, n in zip(positions, runs):
        j = torch.arange(n // 2, dtype=torch.float64)
        parts.append(pos.to(torch.float64)[:, None] * base ** (-2.0 * j / n)[None, :])
    return torch.cat(parts, dim=1)


def apply(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """x (B, N, heads, d); theta (N, d/2) -> x rotated pairwise."""
    cos = torch.cos(theta).to(x.dtype)[None, :, None, :]
    sin = torch.sin(theta).to(x.dtype)[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)


def video_positions(frames: int, height: int, width: int, fps: float,
                    clock_hz: float) -> list[torch.Tensor]:
    """Tokens ordered (t, h, w).  Time: clock_hz * (k + 1/2) / fps for frame k; h, w: the
    row/column index on the grid of this level."""
    t, h, w = torch.meshgrid(torch.arange(frames, dtype=torch.float64),
                             torch.arange(height, dtype=torch.float64),
                             torch.arange(width, dtype=torch.float64), indexing="ij")
    return [clock_hz * (t.flatten() + 0.5) / fps, h.flatten(), w.flatten()]


def audio_positions(columns: int, bins: int, column_seconds: float,
                    clock_hz: float) -> list[torch.Tensor]:
    """Tokens ordered (t, f).  Time: clock_hz * (j + 1/2) * column_seconds for column j, where
    column_seconds is one column's duration at this level; f: the bin index at this level."""
    t, f = torch.meshgrid(torch.arange(columns, dtype=torch.float64),
                          torch.arange(bins, dtype=torch.float64), indexing="ij")
    return [clock_hz * (t.flatten() + 0.5) * column_seconds, f.flatten()]

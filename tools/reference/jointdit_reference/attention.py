"""Attention layers and transformer blocks of the SVD and AudioLDM2 UNets and their VAEs."""
import torch
from torch import nn
from torch.nn import functional as F


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
           mask: torch.Tensor | None = None) -> torch.Tensor:
    """Multi-head softmax attention on (B, N, heads*d) tensors; ``mask`` is boolean (N_q, N_k),
    True where a query may attend to a key.  Scale 1/sqrt(d_qk)."""
    b, nq, _ = q.shape
    nk = k.shape[1]
    q = q.reshape(b, nq, heads, -1).transpose(1, 2)
    k = k.reshape(b, nk, heads, -1).transpose(1, 2)
    v = v.reshape(b, nk, heads, -1).transpose(1, 2)
    scores = torch.matmul(q, k.transpose(-1, -2)) * q.shape[-1] ** -0.5
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    out = torch.matmul(scores.softmax(dim=-1), v)
    return out.transpose(1, 2).reshape(b, nq, -1)


class Attention(nn.Module):
    """to_q/to_k/to_v/to_out.0; self-attention when no context is given.

    ``group_norm`` with ``residual`` is the VAE mid-block form: it works on (B, C, H, W) maps,
    normalises them first and adds the input back.
    """

    def __init__(self, dim: int, heads: int, head_dim: int, context_dim: int | None = None,
                 qkv_bias: bool = False, norm_groups: int | None = None, norm_eps: float = 1e-6,
                 residual: bool = False):
        super().__init__()
        inner = heads * head_dim
        self.heads = heads
        self.residual = residual
        if norm_groups is not None:
            self.group_norm = nn.GroupNorm(norm_groups, dim, eps=norm_eps)
        else:
            self.group_norm = None
        self.to_q = nn.Linear(dim, inner, bias=qkv_bias)
        self.to_k = nn.Linear(context_dim or dim, inner, bias=qkv_bias)
        self.to_v = nn.Linear(context_dim or dim, inner, bias=qkv_bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, dim)])

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        spatial_shape = None
        if x.dim() == 4:
            spatial_shape = x.shape
            x = x.flatten(2).transpose(1, 2)
        residual = x
        if self.group_norm is not None:
            x = self.group_norm(x.transpose(1, 2)).transpose(1, 2)
        src = x if context is None else context
        out = self.to_out[0](attend(self.to_q(x), self.to_k(src), self.to_v(src), self.heads))
        if self.residual:
            out = out + residual
        if spatial_shape is not None:
            out = out.transpose(1, 2).reshape(spatial_shape)
        return out


class GEGLU(nn.Module):
    """proj -> (value, gate) halves -> value * GELU(gate)."""

    def __init__(self, dim: int, inner: int):
        super().__init__()
        self.proj = nn.Linear(dim, inner * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.gelu(gate)


class FeedForward(nn.Module):
    """net.0 (GEGLU to 4*dim) and net.2 (back to dim_out); net.1 is the (inactive) dropout slot."""

    def __init__(self, dim: int, dim_out: int | None = None, mult: int = 4):
        super().__init__()
        inner = dim * mult
        self.net = nn.ModuleList([GEGLU(dim, inner), nn.Identity(), nn.Linear(inner, dim_out or dim)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.net:
            x = layer(x)
        return x


class BasicTransformerBlock(nn.Module):
    """Pre-LayerNorm block: attn1 (self), attn2 (cross, or a second self-attention when
    ``double_self_attention``), GEGLU feed-forward; LayerNorm eps 1e-5."""

    def __init__(self, dim: int, heads: int, head_dim: int, context_dim: int | None,
                 double_self_attention: bool = False):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads, head_dim)
        if context_dim is not None or double_self_attention:
            self.norm2 = nn.LayerNorm(dim)
            self.attn2 = Attention(dim, heads, head_dim, context_dim=context_dim)
        else:
            self.norm2 = None
            self.attn2 = None
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn1(self.norm1(x))
        if self.attn2 is not None:
            x = x + self.attn2(self.norm2(x), context)
        return x + self.ff(self.norm3(x))


class TemporalBasicTransformerBlock(nn.Module):
    """SVD's attention along frames: ff_in (residual), attn1 over frames, attn2 to the context,
    ff; every pixel of every sample is its own sequence of length num_frames."""

    def __init__(self, dim: int, heads: int, head_dim: int, context_dim: int | None):
        super().__init__()
        self.norm_in = nn.LayerNorm(dim)
        self.ff_in = FeedForward(dim, dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn1 = Attention(dim, heads, head_dim)
        if context_dim is not None:
            self.norm2 = nn.LayerNorm(dim)
            self.attn2 = Attention(dim, heads, head_dim, context_dim=context_dim)
        else:
            self.norm2 = None
            self.attn2 = None
        self.norm3 = nn.LayerNorm(dim)
        self.ff = FeedForward(dim)

    def forward(self, x: torch.Tensor, num_frames: int,
                context: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B*F, S, C); context: (B*S, L, D), one row per pixel sequence."""
        bf, s, c = x.shape
        b = bf // num_frames
        x = x.reshape(b, num_frames, s, c).permute(0, 2, 1, 3).reshape(b * s, num_frames, c)
        x = x + self.ff_in(self.norm_in(x))
        x = x + self.attn1(self.norm1(x))
        if self.attn2 is not None:
            x = x + self.attn2(self.norm2(x), context)
        x = x + self.ff(self.norm3(x))
        return x.reshape(b, s, num_frames, c).permute(0, 2, 1, 3).reshape(bf, s, c)


class Transformer2D(nn.Module):
    """AudioLDM2's spatial transformer: GroupNorm (eps 1e-6), 1x1-conv proj_in, blocks, 1x1-conv
    proj_out, residual."""

    def __init__(self, channels: int, heads: int, context_dim: int | None, num_layers: int = 1,
                 groups: int = 32):
        super().__init__()
        self.norm = nn.GroupNorm(groups, channels, eps=1e-6)
        self.proj_in = nn.Conv2d(channels, channels, 1)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(channels, heads, channels // heads, context_dim,
                                  double_self_attention=context_dim is None)
            for _ in range(num_layers)])
        self.proj_out = nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        t = self.proj_in(self.norm(x)).permute(0, 2, 3, 1).reshape(b, h * w, c)
        for block in self.transformer_blocks:
            t = block(t, context)
        t = t.reshape(b, h, w, c).permute(0, 3, 1, 2)
        return self.proj_out(t) + x

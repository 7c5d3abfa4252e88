"""Residual blocks, resamplers and the learned spatial/temporal blend shared by the UNets and VAEs."""
import torch
from torch import nn
from torch.nn import functional as F


class ResnetBlock2D(nn.Module):
    """norm1-SiLU-conv1 (+ time_emb_proj(SiLU(temb))) - norm2-SiLU-conv2, plus a 1x1
    conv_shortcut when the channel count changes; 32 groups."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int | None, eps: float,
                 groups: int = 32):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_ch, eps=eps)
        self.conv1 = nn.Conv2d(in_ch, out_ch, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_ch, out_ch) if temb_ch is not None else None
        self.norm2 = nn.GroupNorm(groups, out_ch, eps=eps)
        self.conv2 = nn.Conv2d(out_ch, out_ch, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = self.conv_shortcut(x)
        return x + h


class TemporalResnetBlock(nn.Module):
    """ResnetBlock2D's shape on (B, C, F, H, W) with Conv3d kernels (3, 1, 1): it mixes frames
    only.  GroupNorm statistics span all frames.  temb: (B, F, temb_ch)."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int | None, eps: float):
        super().__init__()
        self.norm1 = nn.GroupNorm(32, in_ch, eps=eps)
        self.conv1 = nn.Conv3d(in_ch, out_ch, (3, 1, 1), padding=(1, 0, 0))
        self.time_emb_proj = nn.Linear(temb_ch, out_ch) if temb_ch is not None else None
        self.norm2 = nn.GroupNorm(32, out_ch, eps=eps)
        self.conv2 = nn.Conv3d(out_ch, out_ch, (3, 1, 1), padding=(1, 0, 0))
        self.conv_shortcut = nn.Conv3d(in_ch, out_ch, 1) if in_ch != out_ch else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None = None) -> torch.Tensor:
        h = temporal_conv(self.conv1, F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb)).permute(0, 2, 1)[:, :, :, None, None]
        h = temporal_conv(self.conv2, F.silu(self.norm2(h)))
        if self.conv_shortcut is not None:
            x = temporal_conv(self.conv_shortcut, x)
        return x + h


def temporal_conv(conv: nn.Conv3d, x: torch.Tensor) -> torch.Tensor:
    """A Conv3d whose kernel spans frames only ((k, 1, 1)) on (B, C, F, H, W), computed as a 2-D
    convolution over (F, H*W): the same arithmetic, but PyTorch's CPU Conv3d takes a slow
    im2col path that made the temporal layers most of a training step."""
    b, c, f, h, w = x.shape
    weight = conv.weight.flatten(3)                    # (O, I, k, 1)
    y = F.conv2d(x.reshape(b, c, f, h * w), weight, conv.bias, padding=(conv.padding[0], 0))
    return y.reshape(b, -1, f, h, w)


class AlphaBlender(nn.Module):
    """time_mixer: one learned scalar ``mix_factor``, alpha = sigmoid(mix_factor).

    UNet: alpha*spatial + (1-alpha)*temporal.  With ``switch`` (SVD's VAE decoder) the roles
    swap: (1-alpha)*spatial + alpha*temporal.  (The image-only indicator of the published
    pipelines is all zeros, so alpha never collapses to 1 there and is not modelled.)
    """

    def __init__(self, init: float, switch: bool = False):
        super().__init__()
        self.mix_factor = nn.Parameter(torch.tensor([init]))
        self.switch = switch

    def forward(self, spatial: torch.Tensor, temporal: torch.Tensor) -> torch.Tensor:
        alpha = torch.sigmoid(self.mix_factor)
        if self.switch:
            alpha = 1.0 - alpha
        return alpha * spatial + (1.0 - alpha) * temporal


class SpatioTemporalResBlock(nn.Module):
    """spatial_res_block per frame, temporal_res_block across frames, blended by time_mixer.
    Works on (B*F, C, H, W) frame batches; temb is (B*F, temb_ch) or None."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int | None, eps: float,
                 temporal_eps: float | None = None, mix_init: float = 0.5,
                 switch_mix: bool = False):
        super().__init__()
        self.spatial_res_block = ResnetBlock2D(in_ch, out_ch, temb_ch, eps)
        self.temporal_res_block = TemporalResnetBlock(
            out_ch, out_ch, temb_ch, temporal_eps if temporal_eps is not None else eps)
        self.time_mixer = AlphaBlender(mix_init, switch_mix)

    def forward(self, x: torch.Tensor, temb: torch.Tensor | None, num_frames: int) -> torch.Tensor:
        x = self.spatial_res_block(x, temb)
        bf, c, h, w = x.shape
        b = bf // num_frames
        spatial = x.reshape(b, num_frames, c, h, w).permute(0, 2, 1, 3, 4)
        temb_frames = temb.reshape(b, num_frames, -1) if temb is not None else None
        temporal = self.temporal_res_block(spatial, temb_frames)
        x = self.time_mixer(spatial, temporal)
        return x.permute(0, 2, 1, 3, 4).reshape(bf, c, h, w)


class Downsample2D(nn.Module):
    """conv with stride 2.  padding=0 pads one zero row/column on the bottom/right first
    (the VAE encoders); padding=1 is symmetric (the UNets)."""

    def __init__(self, channels: int, padding: int = 1):
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    """nearest-neighbour x2 (or to ``size``), then a 3x3 conv."""

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: tuple[int, int] | None = None) -> torch.Tensor:
        if size is None:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:
            x = F.interpolate(x, size=size, mode="nearest")
        return self.conv(x)


def set_norm_groups(module: nn.Module, groups: int) -> None:
    """Give every GroupNorm inside ``module`` ``groups`` groups.  SVD's video UNet and temporal
    decoder build theirs with 32 groups whatever their config says; a compact model whose levels
    have 32 channels would then normalise one channel per group, which erases the per-channel
    offsets a ResnetBlock adds from the timestep embedding (and the mean colour in a decoder).
    The group count holds no weights, so checkpoints are the same either way."""
    for m in module.modules():
        if isinstance(m, nn.GroupNorm):
            if m.num_channels % groups:
                raise ValueError(f"{m.num_channels} channels do not divide into {groups} groups")
            m.num_groups = groups

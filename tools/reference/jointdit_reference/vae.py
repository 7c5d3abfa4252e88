"""The two VAEs: SVD's AutoencoderKLTemporalDecoder (image encoder, spatio-temporal decoder) and
AudioLDM2's mel AutoencoderKL.  Config keys follow diffusers' ``config.json`` of each."""
import torch
from torch import nn
from torch.nn import functional as F

from .attention import Attention
from .blocks import (Downsample2D, ResnetBlock2D, SpatioTemporalResBlock, Upsample2D,
                     set_norm_groups, temporal_conv)

SVD_VAE_CONFIG: dict = {
    "in_channels": 3,
    "out_channels": 3,
    "block_out_channels": [128, 256, 512, 512],
    "layers_per_block": 2,
    "latent_channels": 4,
    "norm_num_groups": 32,
    "scaling_factor": 0.18215,
}

AUDIOLDM2_VAE_CONFIG: dict = {
    "in_channels": 1,
    "out_channels": 1,
    "block_out_channels": [128, 256, 512],
    "layers_per_block": 2,
    "latent_channels": 8,
    "norm_num_groups": 32,
    "scaling_factor": 0.4110932946205139,
}

VAE_EPS = 1e-6


def _mid_attention(ch: int, groups: int) -> Attention:
    """One head over all channels, GroupNorm first, residual, biased projections."""
    return Attention(ch, 1, ch, qkv_bias=True, norm_groups=groups, norm_eps=VAE_EPS, residual=True)


class MidBlock2D(nn.Module):
    def __init__(self, ch: int, groups: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, None, VAE_EPS, groups)
                                      for _ in range(2)])
        self.attentions = nn.ModuleList([_mid_attention(ch, groups)])

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](h)))


class EncoderBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, num_layers: int, groups: int, add_downsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(in_ch if i == 0 else out_ch, out_ch, None,
                                                    VAE_EPS, groups) for i in range(num_layers)])
        self.downsamplers = (nn.ModuleList([Downsample2D(out_ch, padding=0)])
                             if add_downsample else None)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            h = resnet(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
        return h


class Encoder(nn.Module):
    """conv_in, down blocks (asymmetric-padded stride-2 downsamplers), mid block, norm, conv_out
    to 2*latent channels (mean and log-variance)."""

    def __init__(self, config: dict):
        super().__init__()
        ch = config["block_out_channels"]
        groups = config.get("norm_num_groups", 32)
        layers = config["layers_per_block"]
        self.conv_in = nn.Conv2d(config["in_channels"], ch[0], 3, padding=1)
        self.down_blocks = nn.ModuleList([
            EncoderBlock(ch[i - 1] if i > 0 else ch[0], ch[i], layers, groups, i < len(ch) - 1)
            for i in range(len(ch))])
        self.mid_block = MidBlock2D(ch[-1], groups)
        self.conv_norm_out = nn.GroupNorm(groups, ch[-1], eps=VAE_EPS)
        self.conv_out = nn.Conv2d(ch[-1], 2 * config["latent_channels"], 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv_in(x)
        for block in self.down_blocks:
            h = block(h)
        h = self.mid_block(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class DecoderBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, num_layers: int, groups: int, add_upsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(in_ch if i == 0 else out_ch, out_ch, None,
                                                    VAE_EPS, groups) for i in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch)]) if add_upsample else None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        for resnet in self.resnets:
            h = resnet(h)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class Decoder(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        rch = config["block_out_channels"][::-1]
        groups = config.get("norm_num_groups", 32)
        layers = config["layers_per_block"] + 1
        self.conv_in = nn.Conv2d(config["latent_channels"], rch[0], 3, padding=1)
        self.mid_block = MidBlock2D(rch[0], groups)
        self.up_blocks = nn.ModuleList([
            DecoderBlock(rch[i - 1] if i > 0 else rch[0], rch[i], layers, groups, i < len(rch) - 1)
            for i in range(len(rch))])
        self.conv_norm_out = nn.GroupNorm(groups, rch[-1], eps=VAE_EPS)
        self.conv_out = nn.Conv2d(rch[-1], config["out_channels"], 3, padding=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.mid_block(self.conv_in(z))
        for block in self.up_blocks:
            h = block(h)
        return self.conv_out(F.silu(self.conv_norm_out(h)))


def _temporal_res(in_ch: int, out_ch: int) -> SpatioTemporalResBlock:
    # Spatial GroupNorms 1e-6, temporal 1e-5; the blend is reversed (alpha weighs temporal).
    return SpatioTemporalResBlock(in_ch, out_ch, None, VAE_EPS, temporal_eps=1e-5, mix_init=0.0,
                                  switch_mix=True)


class TemporalMidBlock(nn.Module):
    def __init__(self, ch: int, num_layers: int):
        super().__init__()
        self.resnets = nn.ModuleList([_temporal_res(ch, ch) for _ in range(num_layers)])
        self.attentions = nn.ModuleList([_mid_attention(ch, 32)])

    def forward(self, h: torch.Tensor, num_frames: int) -> torch.Tensor:
        h = self.resnets[0](h, None, num_frames)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            h = resnet(attn(h), None, num_frames)
        return h


class TemporalUpBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, num_layers: int, add_upsample: bool):
        super().__init__()
        self.resnets = nn.ModuleList([_temporal_res(in_ch if i == 0 else out_ch, out_ch)
                                      for i in range(num_layers)])
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch)]) if add_upsample else None

    def forward(self, h: torch.Tensor, num_frames: int) -> torch.Tensor:
        for resnet in self.resnets:
            h = resnet(h, None, num_frames)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class TemporalDecoder(nn.Module):
    """SVD's decoder: spatio-temporal res blocks everywhere, 1-head mid attention, and a final
    Conv3d (3,1,1) ``time_conv_out`` after conv_out.  All frames must be decoded together."""

    def __init__(self, config: dict):
        super().__init__()
        ch = config["block_out_channels"]
        rch = ch[::-1]
        layers = config["layers_per_block"]
        out_ch = config["out_channels"]
        self.conv_in = nn.Conv2d(config["latent_channels"], rch[0], 3, padding=1)
        self.mid_block = TemporalMidBlock(rch[0], layers)
        self.up_blocks = nn.ModuleList([
            TemporalUpBlock(rch[i - 1] if i > 0 else rch[0], rch[i], layers + 1, i < len(ch) - 1)
            for i in range(len(ch))])
        self.conv_norm_out = nn.GroupNorm(32, ch[0], eps=VAE_EPS)
        self.conv_out = nn.Conv2d(ch[0], out_ch, 3, padding=1)
        self.time_conv_out = nn.Conv3d(out_ch, out_ch, (3, 1, 1), padding=(1, 0, 0))

    def forward(self, z: torch.Tensor, num_frames: int) -> torch.Tensor:
        h = self.mid_block(self.conv_in(z), num_frames)
        for block in self.up_blocks:
            h = block(h, num_frames)
        h = self.conv_out(F.silu(self.conv_norm_out(h)))
        bf, c, hh, ww = h.shape
        h = h.reshape(bf // num_frames, num_frames, c, hh, ww).permute(0, 2, 1, 3, 4)
        h = temporal_conv(self.time_conv_out, h)
        return h.permute(0, 2, 1, 3, 4).reshape(bf, c, hh, ww)


def _posterior_mean(moments: torch.Tensor) -> torch.Tensor:
    return moments.chunk(2, dim=1)[0]


class VideoVAE(nn.Module):
    """encode: frames (N, 3, H, W) in [-1, 1] -> posterior mode (N, 4, H/8, W/8), unscaled.
    decode: latents (B*F, 4, h, w) divided by the scaling factor already -> (B*F, 3, H, W)."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.encoder = Encoder(config)
        self.decoder = TemporalDecoder(config)
        # SVD's temporal decoder: 32 groups whatever norm_num_groups (the encoder's) says;
        # "decoder_norm_num_groups" is this project's extension for compact models.
        set_norm_groups(self.decoder, config.get("decoder_norm_num_groups", 32))
        lat = config["latent_channels"]
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return _posterior_mean(self.quant_conv(self.encoder(x)))

    def decode(self, z: torch.Tensor, num_frames: int) -> torch.Tensor:
        return self.decoder(z, num_frames)


class AudioVAE(nn.Module):
    """encode: log-mel (B, 1, T, 64) -> posterior mode (B, 8, T/4, 16); decode the reverse."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        self.encoder = Encoder(config)
        self.decoder = Decoder(config)
        lat = config["latent_channels"]
        self.quant_conv = nn.Conv2d(2 * lat, 2 * lat, 1)
        self.post_quant_conv = nn.Conv2d(lat, lat, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return _posterior_mean(self.quant_conv(self.encoder(x)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.post_quant_conv(z))

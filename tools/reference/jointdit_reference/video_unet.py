"""SVD-family spatio-temporal UNet (the structure of diffusers' UNetSpatioTemporalConditionModel).

The config dict uses the keys of that model's published ``config.json``.  Tensors inside the
network are frame batches (B*F, C, H, W); the public interface takes (B, F, C, H, W).
"""
import torch
from torch import nn
from torch.nn import functional as F

from .attention import BasicTransformerBlock, TemporalBasicTransformerBlock
from .blocks import (AlphaBlender, Downsample2D, SpatioTemporalResBlock, Upsample2D,
                     set_norm_groups)
from .embeddings import TimestepEmbedding, sinusoid

SVD_XT_CONFIG: dict = {
    "in_channels": 8,
    "out_channels": 4,
    "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
    "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
    "block_out_channels": [320, 640, 1280, 1280],
    "layers_per_block": 2,
    "num_attention_heads": [5, 10, 20, 20],
    "cross_attention_dim": 1024,
    "transformer_layers_per_block": 1,
    "addition_time_embed_dim": 256,
    "projection_class_embeddings_input_dim": 768,
    "num_frames": 25,
}


class TransformerSpatioTemporal(nn.Module):
    """GroupNorm (eps 1e-6) -> proj_in -> per layer: spatial block, then a temporal block on the
    same tokens plus a learned frame-index embedding (time_pos_embed), blended by time_mixer ->
    proj_out -> residual."""

    def __init__(self, channels: int, heads: int, context_dim: int, num_layers: int):
        super().__init__()
        head_dim = channels // heads
        self.norm = nn.GroupNorm(32, channels, eps=1e-6)
        self.proj_in = nn.Linear(channels, channels)
        self.transformer_blocks = nn.ModuleList([
            BasicTransformerBlock(channels, heads, head_dim, context_dim) for _ in range(num_layers)])
        self.temporal_transformer_blocks = nn.ModuleList([
            TemporalBasicTransformerBlock(channels, heads, head_dim, context_dim)
            for _ in range(num_layers)])
        self.time_pos_embed = TimestepEmbedding(channels, channels * 4, channels)
        self.time_mixer = AlphaBlender(0.5)
        self.proj_out = nn.Linear(channels, channels)

    def forward(self, x: torch.Tensor, context: torch.Tensor, num_frames: int) -> torch.Tensor:
        """x: (B*F, C, H, W); context: (B*F, L, D)."""
        bf, c, h, w = x.shape
        b = bf // num_frames
        # The temporal blocks see each sample's first-frame context, once per pixel sequence,
        # ordered (sample, pixel) like the sequences themselves.
        time_context = context.reshape(b, num_frames, *context.shape[1:])[:, 0]
        time_context = time_context.repeat_interleave(h * w, dim=0)
        frame_ids = torch.arange(num_frames, device=x.device).repeat(b)
        frame_emb = self.time_pos_embed(sinusoid(frame_ids, c, x.dtype))[:, None, :]

        t = self.norm(x).permute(0, 2, 3, 1).reshape(bf, h * w, c)
        t = self.proj_in(t)
        for block, temporal in zip(self.transformer_blocks, self.temporal_transformer_blocks):
            t = block(t, context)
            mixed = temporal(t + frame_emb, num_frames, time_context)
            t = self.time_mixer(t, mixed)
        t = self.proj_out(t)
        return t.reshape(bf, h, w, c).permute(0, 3, 1, 2) + x


class DownBlockSpatioTemporal(nn.Module):
    """resnets (+ attentions when cross-attention) and an optional stride-2 downsampler; returns
    the output and the skips it saves (after every layer, and after the downsampler)."""

    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, num_layers: int, eps: float,
                 add_downsample: bool, heads: int | None = None, context_dim: int | None = None,
                 transformer_layers: int = 1):
        super().__init__()
        self.resnets = nn.ModuleList([
            SpatioTemporalResBlock(in_ch if i == 0 else out_ch, out_ch, temb_ch, eps)
            for i in range(num_layers)])
        if heads is not None:
            self.attentions = nn.ModuleList([
                TransformerSpatioTemporal(out_ch, heads, context_dim, transformer_layers)
                for _ in range(num_layers)])
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(out_ch)]) if add_downsample else None

    def forward(self, h: torch.Tensor, temb: torch.Tensor, context: torch.Tensor,
                num_frames: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, temb, num_frames)
            if self.attentions is not None:
                h = self.attentions[i](h, context, num_frames)
            skips.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            skips.append(h)
        return h, skips


class UpBlockSpatioTemporal(nn.Module):
    """Each layer concatenates the newest unused skip on channels first; optional x2 upsampler."""

    def __init__(self, in_ch: int, prev_ch: int, out_ch: int, temb_ch: int, num_layers: int,
                 eps: float, add_upsample: bool, heads: int | None = None,
                 context_dim: int | None = None, transformer_layers: int = 1):
        super().__init__()
        resnets = []
        for i in range(num_layers):
            skip_ch = in_ch if i == num_layers - 1 else out_ch
            resnets.append(SpatioTemporalResBlock((prev_ch if i == 0 else out_ch) + skip_ch,
                                                  out_ch, temb_ch, eps))
        self.resnets = nn.ModuleList(resnets)
        if heads is not None:
            self.attentions = nn.ModuleList([
                TransformerSpatioTemporal(out_ch, heads, context_dim, transformer_layers)
                for _ in range(num_layers)])
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch)]) if add_upsample else None

    def forward(self, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor,
                context: torch.Tensor, num_frames: int) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), temb, num_frames)
            if self.attentions is not None:
                h = self.attentions[i](h, context, num_frames)
        if self.upsamplers is not None:
            h = self.upsamplers[0](h)
        return h


class MidBlockSpatioTemporal(nn.Module):
    """resnet, then (attention, resnet) per transformer layer group; GroupNorm eps 1e-5."""

    def __init__(self, ch: int, temb_ch: int, heads: int, context_dim: int,
                 transformer_layers: int = 1):
        super().__init__()
        self.resnets = nn.ModuleList([SpatioTemporalResBlock(ch, ch, temb_ch, 1e-5)
                                      for _ in range(2)])
        self.attentions = nn.ModuleList([
            TransformerSpatioTemporal(ch, heads, context_dim, transformer_layers)])

    def forward(self, h: torch.Tensor, temb: torch.Tensor, context: torch.Tensor,
                num_frames: int) -> torch.Tensor:
        h = self.resnets[0](h, temb, num_frames)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            h = resnet(attn(h, context, num_frames), temb, num_frames)
        return h


def _per_block(value, n: int) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


class VideoUNet(nn.Module):
    """The SVD UNet.  Stages of the encoder path, in order: ``conv_in``, ``down_blocks.{i}``,
    ``mid_block`` (JointDiT cuts the network between them); the decoder path is ``decode``."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        ch = config["block_out_channels"]
        n = len(ch)
        layers = _per_block(config["layers_per_block"], n)
        heads = _per_block(config["num_attention_heads"], n)
        context = _per_block(config["cross_attention_dim"], n)
        tlayers = _per_block(config.get("transformer_layers_per_block", 1), n)
        temb = ch[0] * 4
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        self.add_embedding = TimestepEmbedding(config["projection_class_embeddings_input_dim"], temb)
        self.conv_in = nn.Conv2d(config["in_channels"], ch[0], 3, padding=1)

        self.down_blocks = nn.ModuleList()
        for i, kind in enumerate(config["down_block_types"]):
            cross = kind == "CrossAttnDownBlockSpatioTemporal"
            if not cross and kind != "DownBlockSpatioTemporal":
                raise ValueError(f"video UNet: unknown down block type {kind!r}")
            self.down_blocks.append(DownBlockSpatioTemporal(
                ch[i - 1] if i > 0 else ch[0], ch[i], temb, layers[i],
                eps=1e-6 if cross else 1e-5, add_downsample=i < n - 1,
                heads=heads[i] if cross else None, context_dim=context[i],
                transformer_layers=tlayers[i]))
        self.mid_block = MidBlockSpatioTemporal(ch[-1], temb, heads[-1], context[-1], tlayers[-1])

        self.up_blocks = nn.ModuleList()
        rch, rlayers, rheads = ch[::-1], layers[::-1], heads[::-1]
        rcontext, rtlayers = context[::-1], tlayers[::-1]
        for i, kind in enumerate(config["up_block_types"]):
            cross = kind == "CrossAttnUpBlockSpatioTemporal"
            if not cross and kind != "UpBlockSpatioTemporal":
                raise ValueError(f"video UNet: unknown up block type {kind!r}")
            self.up_blocks.append(UpBlockSpatioTemporal(
                rch[min(i + 1, n - 1)], rch[i - 1] if i > 0 else rch[0], rch[i], temb,
                rlayers[i] + 1, eps=1e-6, add_upsample=i < n - 1,
                heads=rheads[i] if cross else None, context_dim=rcontext[i],
                transformer_layers=rtlayers[i]))
        self.conv_norm_out = nn.GroupNorm(32, ch[0], eps=1e-5)
        self.conv_out = nn.Conv2d(ch[0], config["out_channels"], 3, padding=1)
        # SVD: 32 everywhere; "norm_num_groups" is this project's extension for compact models.
        set_norm_groups(self, config.get("norm_num_groups", 32))

    def stage_names(self) -> list[str]:
        return ["conv_in"] + [f"down_blocks.{i}" for i in range(len(self.down_blocks))] + ["mid_block"]

    def embed(self, timestep: torch.Tensor, added_time_ids: torch.Tensor,
              num_frames: int) -> torch.Tensor:
        """timestep (B,) = c_noise; added_time_ids (B, 3) = [fps-1, motion bucket, noise aug].
        Returns the per-frame embedding (B*F, temb)."""
        b = added_time_ids.shape[0]
        dtype = self.conv_in.weight.dtype
        emb = self.time_embedding(sinusoid(timestep.expand(b), self.conv_in.out_channels, dtype))
        dim = self.config["addition_time_embed_dim"]
        added = sinusoid(added_time_ids.flatten(), dim, dtype).reshape(b, -1)
        emb = emb + self.add_embedding(added)
        return emb.repeat_interleave(num_frames, dim=0)

    def run_stage(self, name: str, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor,
                  context: torch.Tensor, num_frames: int) -> torch.Tensor:
        """Runs one encoder stage on frame batches, appending the skips it saves."""
        if name == "conv_in":
            h = self.conv_in(h)
            skips.append(h)
            return h
        if name == "mid_block":
            return self.mid_block(h, temb, context, num_frames)
        block = self.down_blocks[int(name.split(".")[1])]
        h, saved = block(h, temb, context, num_frames)
        skips.extend(saved)
        return h

    def decode(self, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor,
               context: torch.Tensor, num_frames: int) -> torch.Tensor:
        """The up path, norm_out and conv_out; consumes ``skips``."""
        for block in self.up_blocks:
            h = block(h, skips, temb, context, num_frames)
        return self.conv_out(F.silu(self.conv_norm_out(h)))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor, context: torch.Tensor,
                added_time_ids: torch.Tensor) -> torch.Tensor:
        """sample (B, F, C, H, W), timestep (B,) or scalar, context (B, L, D) -> (B, F, C_out, H, W)."""
        b, f = sample.shape[:2]
        temb = self.embed(timestep, added_time_ids, f)
        ctx = context.repeat_interleave(f, dim=0)
        h = sample.flatten(0, 1)
        skips: list[torch.Tensor] = []
        for name in self.stage_names():
            h = self.run_stage(name, h, skips, temb, ctx, f)
        out = self.decode(h, skips, temb, ctx, f)
        return out.reshape(b, f, *out.shape[1:])

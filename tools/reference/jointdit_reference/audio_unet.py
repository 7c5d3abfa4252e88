"""AudioLDM2-family UNet (the structure of diffusers' AudioLDM2UNet2DConditionModel).

Config keys follow that model's ``config.json``, plus:
- ``num_attention_heads``: heads per level (diffusers reads ``attention_head_dim: 8`` as 8 heads;
  the original AudioLDM2 code uses head dim 32; the weights cannot tell, so the config says);
- ``text_transformers``: build the text-context transformers (``cross_attention_dim`` entries that
  are not null) or not.  Without them only the self-attention transformer of each group remains,
  and it keeps its published index ``attentions.{g*P}`` (P = len(cross_attention_dim)), so a
  public checkpoint loads by prefix with the text branches left out;
- ``image_embed_dim``: when set, ``image_proj`` = Linear(image_embed_dim, time_embed_dim) adds the
  image embedding to the timestep embedding (paper section 4.1).
Latents are (B, C, T, F): time along height, mel frequency along width.
"""
import torch
from torch import nn
from torch.nn import functional as F

from .attention import Transformer2D
from .blocks import Downsample2D, ResnetBlock2D, Upsample2D
from .embeddings import TimestepEmbedding, sinusoid

AUDIOLDM2_CONFIG: dict = {
    "in_channels": 8,
    "out_channels": 8,
    "down_block_types": ["DownBlock2D"] + ["CrossAttnDownBlock2D"] * 3,
    "up_block_types": ["CrossAttnUpBlock2D"] * 3 + ["UpBlock2D"],
    "block_out_channels": [128, 256, 384, 640],
    "layers_per_block": 2,
    "num_attention_heads": [8, 8, 8, 8],
    "cross_attention_dim": [[None, 768, 1024]] * 4,
    "transformer_layers_per_block": 1,
    "norm_num_groups": 32,
    "norm_eps": 1e-5,
    "text_transformers": True,
    "image_embed_dim": None,
}


class AttentionGroup:
    """Runs the P transformers that follow one resnet (self, then one per text context); they
    live in the owning block's ``attentions`` dict under their published indices."""

    def __init__(self, attentions: nn.ModuleDict, group: int, context_dims: list,
                 include_text: bool):
        self.attentions = attentions
        self.keys = [str(group * len(context_dims) + k) for k, d in enumerate(context_dims)
                     if d is None or include_text]
        self.context_slots = [k for k, d in enumerate(context_dims) if d is None or include_text]
        self.context_dims = context_dims

    def __call__(self, h: torch.Tensor, contexts: tuple) -> torch.Tensor:
        for key, slot in zip(self.keys, self.context_slots):
            if self.context_dims[slot] is None:
                ctx = None
            else:
                # AudioLDM2 feeds its first text context to positions 0 and 1, the second to 2.
                ctx = contexts[0] if slot <= 1 else contexts[1]
            h = self.attentions[key](h, ctx)
        return h


def _attention_dict(ch: int, heads: int, groups: int, context_dims: list, include_text: bool,
                    norm_groups: int, tlayers: int) -> nn.ModuleDict:
    p = len(context_dims)
    return nn.ModuleDict({
        str(g * p + k): Transformer2D(ch, heads, d, tlayers, norm_groups)
        for g in range(groups) for k, d in enumerate(context_dims) if d is None or include_text})


class DownBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, temb_ch: int, num_layers: int, eps: float,
                 groups: int, add_downsample: bool, cross: bool, heads: int, context_dims: list,
                 include_text: bool, tlayers: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(in_ch if i == 0 else out_ch, out_ch, temb_ch,
                                                    eps, groups) for i in range(num_layers)])
        if cross:
            self.attentions = _attention_dict(out_ch, heads, num_layers, context_dims,
                                              include_text, groups, tlayers)
            self.groups = [AttentionGroup(self.attentions, g, context_dims, include_text)
                           for g in range(num_layers)]
        else:
            self.attentions = None
        self.downsamplers = nn.ModuleList([Downsample2D(out_ch)]) if add_downsample else None

    def forward(self, h: torch.Tensor, temb: torch.Tensor,
                contexts: tuple) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            h = resnet(h, temb)
            if self.attentions is not None:
                h = self.groups[i](h, contexts)
            skips.append(h)
        if self.downsamplers is not None:
            h = self.downsamplers[0](h)
            skips.append(h)
        return h, skips


class UpBlock(nn.Module):
    def __init__(self, in_ch: int, prev_ch: int, out_ch: int, temb_ch: int, num_layers: int,
                 eps: float, groups: int, add_upsample: bool, cross: bool, heads: int,
                 context_dims: list, include_text: bool, tlayers: int):
        super().__init__()
        resnets = []
        for i in range(num_layers):
            skip_ch = in_ch if i == num_layers - 1 else out_ch
            resnets.append(ResnetBlock2D((prev_ch if i == 0 else out_ch) + skip_ch, out_ch,
                                         temb_ch, eps, groups))
        self.resnets = nn.ModuleList(resnets)
        if cross:
            self.attentions = _attention_dict(out_ch, heads, num_layers, context_dims,
                                              include_text, groups, tlayers)
            self.groups = [AttentionGroup(self.attentions, g, context_dims, include_text)
                           for g in range(num_layers)]
        else:
            self.attentions = None
        self.upsamplers = nn.ModuleList([Upsample2D(out_ch)]) if add_upsample else None

    def forward(self, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor,
                contexts: tuple) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            h = resnet(torch.cat([h, skips.pop()], dim=1), temb)
            if self.attentions is not None:
                h = self.groups[i](h, contexts)
        if self.upsamplers is not None:
            # Upsample to the next skip's size, so odd latent sizes still line up.
            h = self.upsamplers[0](h, tuple(skips[-1].shape[-2:]))
        return h


class MidBlock(nn.Module):
    def __init__(self, ch: int, temb_ch: int, eps: float, groups: int, heads: int,
                 context_dims: list, include_text: bool, tlayers: int):
        super().__init__()
        self.resnets = nn.ModuleList([ResnetBlock2D(ch, ch, temb_ch, eps, groups)
                                      for _ in range(2)])
        self.attentions = _attention_dict(ch, heads, 1, context_dims, include_text, groups,
                                          tlayers)
        self.group = AttentionGroup(self.attentions, 0, context_dims, include_text)

    def forward(self, h: torch.Tensor, temb: torch.Tensor, contexts: tuple) -> torch.Tensor:
        h = self.resnets[0](h, temb)
        return self.resnets[1](self.group(h, contexts), temb)


def _per_block(value, n: int) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


def _context_dims_per_block(value, n: int) -> list[list]:
    """``cross_attention_dim``: one list of per-position dims for every block (diffusers' form),
    or one list shared by all blocks."""
    if value and all(isinstance(v, (list, tuple)) for v in value):
        if len(value) != n:
            raise ValueError(f"audio UNet: cross_attention_dim has {len(value)} entries for "
                             f"{n} blocks")
        return [list(v) for v in value]
    return [list(value)] * n


class AudioUNet(nn.Module):
    """Stages of the encoder path: ``conv_in``, ``down_blocks.{i}``, ``mid_block``; then ``decode``."""

    def __init__(self, config: dict):
        super().__init__()
        self.config = dict(config)
        ch = config["block_out_channels"]
        n = len(ch)
        layers = _per_block(config["layers_per_block"], n)
        heads = _per_block(config.get("num_attention_heads") or config["attention_head_dim"], n)
        context_dims = _context_dims_per_block(config["cross_attention_dim"], n)
        include_text = bool(config.get("text_transformers", True))
        tlayers = _per_block(config.get("transformer_layers_per_block", 1), n)
        groups = config.get("norm_num_groups", 32)
        eps = config.get("norm_eps", 1e-5)
        temb = ch[0] * 4
        self.time_embedding = TimestepEmbedding(ch[0], temb)
        image_dim = config.get("image_embed_dim")
        self.image_proj = nn.Linear(image_dim, temb) if image_dim else None
        self.conv_in = nn.Conv2d(config["in_channels"], ch[0], 3, padding=1)

        self.down_blocks = nn.ModuleList()
        for i, kind in enumerate(config["down_block_types"]):
            if kind not in ("DownBlock2D", "CrossAttnDownBlock2D"):
                raise ValueError(f"audio UNet: unknown down block type {kind!r}")
            self.down_blocks.append(DownBlock(
                ch[i - 1] if i > 0 else ch[0], ch[i], temb, layers[i], eps, groups, i < n - 1,
                kind == "CrossAttnDownBlock2D", heads[i], context_dims[i], include_text,
                tlayers[i]))
        self.mid_block = MidBlock(ch[-1], temb, eps, groups, heads[-1], context_dims[-1],
                                  include_text, tlayers[-1])
        self.up_blocks = nn.ModuleList()
        rch, rlayers, rheads, rtlayers = ch[::-1], layers[::-1], heads[::-1], tlayers[::-1]
        rcontext = context_dims[::-1]
        for i, kind in enumerate(config["up_block_types"]):
            if kind not in ("UpBlock2D", "CrossAttnUpBlock2D"):
                raise ValueError(f"audio UNet: unknown up block type {kind!r}")
            self.up_blocks.append(UpBlock(
                rch[min(i + 1, n - 1)], rch[i - 1] if i > 0 else rch[0], rch[i], temb,
                rlayers[i] + 1, eps, groups, i < n - 1, kind == "CrossAttnUpBlock2D", rheads[i],
                rcontext[i], include_text, rtlayers[i]))
        self.conv_norm_out = nn.GroupNorm(groups, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], config["out_channels"], 3, padding=1)

    def stage_names(self) -> list[str]:
        return ["conv_in"] + [f"down_blocks.{i}" for i in range(len(self.down_blocks))] + ["mid_block"]

    def embed(self, timestep: torch.Tensor, batch: int,
              image_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """timestep: DDPM index (B,) or scalar.  ``image_embeds`` None is the null condition: the
        projection is skipped, not fed zeros (its bias would still condition)."""
        emb = self.time_embedding(sinusoid(timestep.expand(batch), self.conv_in.out_channels,
                                           self.conv_in.weight.dtype))
        if image_embeds is not None:
            if self.image_proj is None:
                raise ValueError("audio UNet: image embeddings given but the config has no "
                                 "image_embed_dim")
            emb = emb + self.image_proj(image_embeds)
        return emb

    def run_stage(self, name: str, h: torch.Tensor, skips: list[torch.Tensor],
                  temb: torch.Tensor, contexts: tuple) -> torch.Tensor:
        if name == "conv_in":
            h = self.conv_in(h)
            skips.append(h)
            return h
        if name == "mid_block":
            return self.mid_block(h, temb, contexts)
        h, saved = self.down_blocks[int(name.split(".")[1])](h, temb, contexts)
        skips.extend(saved)
        return h

    def decode(self, h: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor,
               contexts: tuple) -> torch.Tensor:
        for block in self.up_blocks:
            h = block(h, skips, temb, contexts)
        return self.conv_out(F.silu(self.conv_norm_out(h)))

    def forward(self, sample: torch.Tensor, timestep: torch.Tensor,
                context: torch.Tensor | None = None, context_1: torch.Tensor | None = None,
                image_embeds: torch.Tensor | None = None) -> torch.Tensor:
        """sample (B, C, T, F); context/context_1: the two text contexts (only with text
        transformers); image_embeds (B, image_embed_dim) or None."""
        temb = self.embed(timestep, sample.shape[0], image_embeds)
        contexts = (context, context_1)
        h = sample
        skips: list[torch.Tensor] = []
        for name in self.stage_names():
            h = self.run_stage(name, h, skips, temb, contexts)
        return self.decode(h, skips, temb, contexts)

"""A video VAE that starts as a working codec: 8x8 average colours in, the same colours out.

A conv autoencoder of SVD's shape learns slowly from random weights: after the 1221 steps the
90-minute CPU budget allows, it reconstructed held-out frames at 15.7 dB with wrong hues, while
plain 8x average pooling gives 22.6 dB.  Two things hold it back: every path from the pixels to
the latent and back is a deep stack of random convolutions, and the one place where no residual
path goes around a GroupNorm (conv_norm_out before conv_out, in the encoder and the decoder)
normalises each image's statistics away, so absolute colour has to be rediscovered.

``pooled_colour_init`` sets the weights so that the untrained VAE already is a simple codec:

* every residual branch (spatial and temporal resnets, mid attention) adds exactly zero at first
  (its last layer zeroed, the rest random, so it learns from the first step), and the temporal
  decoder's last layer (time_conv_out) passes each frame through: the first steps train a
  per-frame codec instead of fighting random mixing across frames;
* the encoder carries R, G, B through conv_in, identity shortcuts and 2x2-averaging
  downsamplers to the 8x8 level, so latent channels 0-2 hold each 8x8 block's mean colour; the
  remaining latent channels start near zero with small random weights and learn the detail;
* the decoder carries latent channels 0-2 up through the upsamplers (nearest x2, then a conv
  that starts as the identity: a [1/4, 1/2, 1/4] bilinear kernel at each level blurred three
  times and measured 1.5 dB worse than plain repetition);
* at each conv_norm_out the colour travels as a pair (+s, -s) beside a constant "carrier"
  channel of value K in the same group, which the last residual branch adds as a bias.  The
  pair cancels in the group mean, so the mean is K / group size whatever the image, and the
  carrier dominates the variance, so the GroupNorm becomes a fixed affine map that its own
  scale and shift undo; they also lift the values to about +B, where SiLU(y) is y to within
  B e^-B, and conv_out takes (SiLU(s + B) - SiLU(-s + B)) / 2 = s.

Nothing in the architecture changes: the engine runs these weights like any others, and
training moves them from there.  Measured on the default config (held-out world frames): the
untrained VAE reconstructs held-out frames at 22.6 dB, exactly 8x average pooling, instead of
about 10 dB.
"""
import math

import torch
from torch import nn

CARRIER = 16.0   # K: the carrier channel's constant
LIFT = 8.0       # B: where the colour pair sits for SiLU


def pooled_colour_init(vae: nn.Module, generator: torch.Generator | None = None) -> None:
    """Overwrites ``vae``'s weights as the module docstring says.  ``vae`` is a reference
    VideoVAE whose conv_norm_outs have at least 3 groups of at least 3 channels (the default
    and tiny training configs; SVD's own 32 groups of 4 would do too) and more latent channels
    than colours."""
    enc, dec = vae.encoder, vae.decoder
    signals = vae.config["in_channels"]
    lat = vae.config["latent_channels"]
    if lat <= signals:
        raise ValueError(f"pooled_colour_init needs more than {signals} latent channels")
    with torch.no_grad():
        _zero_residual_branches(vae)
        enc_norm, dec_norm = enc.conv_norm_out, dec.conv_norm_out
        enc_pairs = _pair_layout(enc_norm, signals)
        dec_pairs = _pair_layout(dec_norm, signals)
        narrowest = min(vae.config["block_out_channels"])
        if max(c for pair in enc_pairs + dec_pairs for c in pair) >= narrowest:
            raise ValueError(f"pooled_colour_init: the colour channels do not fit the "
                             f"narrowest level ({narrowest} channels)")

        # Both halves carry colour k as the pair (+s, -s) at the channels their own
        # conv_norm_out layout gives it, from conv_in on: the indices are below every level's
        # width, so 1x1 shortcuts pass them through unchanged.
        _write_pairs(enc.conv_in, enc_pairs, range(signals), generator)
        carried = [c for pair in enc_pairs for c in pair]
        for block in enc.down_blocks:
            for resnet in block.resnets:
                if resnet.conv_shortcut is not None:
                    _identity_shortcut(resnet.conv_shortcut, carried, generator)
            if block.downsamplers is not None:
                _average_2x2(block.downsamplers[0].conv)
        _carrier(enc.mid_block.resnets[-1].conv2, enc_pairs)
        _lift(enc_norm, enc_pairs)
        _read_pairs(enc.conv_out, enc_pairs, generator, keep_random=range(signals, lat))
        vae.quant_conv.weight.zero_()
        vae.quant_conv.bias.zero_()
        for c in range(2 * lat):
            vae.quant_conv.weight[c, c, 0, 0] = 1.0

        # Decoder: latent channel k (k < 3) is colour k; the other latent channels start with
        # small random weights into the channels the colour does not use.
        _write_pairs(dec.conv_in, dec_pairs, range(signals), generator)
        carried = [c for pair in dec_pairs for c in pair]
        for block in dec.up_blocks:
            for resnet in block.resnets:
                shortcut = resnet.spatial_res_block.conv_shortcut
                if shortcut is not None:
                    _identity_shortcut(shortcut, carried, generator)
            if block.upsamplers is not None:
                _centre_tap(block.upsamplers[0].conv)
        _carrier(dec.up_blocks[-1].resnets[-1].spatial_res_block.conv2, dec_pairs)
        _lift(dec_norm, dec_pairs)
        _read_pairs(dec.conv_out, dec_pairs, None, keep_random=())
        # SVD's last layer mixes neighbouring frames: it starts by passing each frame through.
        dec.time_conv_out.weight.zero_()
        dec.time_conv_out.bias.zero_()
        for c in range(dec.time_conv_out.out_channels):
            dec.time_conv_out.weight[c, c, 1, 0, 0] = 1.0


def _zero_residual_branches(vae: nn.Module) -> None:
    for name, m in vae.named_modules():
        if name.endswith(("spatial_res_block", "temporal_res_block")) or \
                type(m).__name__ == "ResnetBlock2D":
            m.conv2.weight.zero_()
            m.conv2.bias.zero_()
        if type(m).__name__ == "Attention":
            m.to_out[0].weight.zero_()
            m.to_out[0].bias.zero_()


def _pair_layout(norm: nn.GroupNorm, signals: int) -> list[tuple[int, int]]:
    """Signal k's (+, -) channels: the 2nd and 3rd channel of group k (the 1st is the
    carrier)."""
    size = norm.num_channels // norm.num_groups
    if size < 3 or norm.num_groups < signals:
        raise ValueError(f"pooled_colour_init needs {signals} GroupNorm groups of at least 3 "
                         f"channels at conv_norm_out ({norm.num_groups} of {size})")
    return [(k * size + 1, k * size + 2) for k in range(signals)]


def _carrier(conv: nn.Conv2d, pairs) -> None:
    """The (zeroed) last conv of the last residual branch adds K to the 1st channel of each
    group that holds a pair (_pair_layout); the other groups normalise their (learned) features
    as usual."""
    for plus, _ in pairs:
        conv.bias[plus - 1] = CARRIER


def _lift(norm: nn.GroupNorm, pairs: list[tuple[int, int]]) -> None:
    """Undo the normalisation of a pair: mean K/g, std ~ K sqrt(g - 1)/g; then add B."""
    g = norm.num_channels // norm.num_groups
    mean = CARRIER / g
    std = CARRIER * math.sqrt(g - 1) / g
    for plus, minus in pairs:
        norm.weight[[plus, minus]] = std
        norm.bias[[plus, minus]] = mean + LIFT


def _read_pairs(conv: nn.Conv2d, pairs, generator, keep_random) -> None:
    """conv_out: output k = (SiLU(+s_k + B) - SiLU(-s_k + B)) / 2 from the centre tap; the
    outputs in keep_random start small and random, reading only the channels that are neither
    a pair nor a carrier (those hold the detail the codec will learn; the pairs sit near +B and
    would give them large offsets)."""
    keep = list(keep_random)
    fixed = [c for plus, minus in pairs for c in (plus - 1, plus, minus)]
    conv.weight.zero_()
    conv.bias.zero_()
    if keep:
        _small_rows(conv, keep, generator)
        for row in keep:
            conv.weight[row, fixed] = 0.0
    for k, (plus, minus) in enumerate(pairs):
        conv.weight[k, plus, 1, 1] = 0.5
        conv.weight[k, minus, 1, 1] = -0.5


def _write_pairs(conv: nn.Conv2d, pairs, sources, generator) -> None:
    """conv_in: +source k and -source k at pair k's channels (centre tap); every other output
    channel starts small and random from the inputs that are not sources (the decoder's detail
    latents; the encoder has none, so its other channels start at zero and fill through the
    residual branches, which read the pairs)."""
    sources = list(sources)
    _small(conv, generator)
    carried = [c for pair in pairs for c in pair]
    conv.weight[carried] = 0.0
    conv.weight[:, sources] = 0.0
    for k, (plus, minus) in zip(sources, pairs):
        conv.weight[plus, k, 1, 1] = 1.0
        conv.weight[minus, k, 1, 1] = -1.0


def _identity_shortcut(conv: nn.Conv2d, carried: list[int], generator) -> None:
    """A 1x1 channel-changing shortcut that passes the carried channels through unchanged and
    maps the others with small random weights."""
    _small(conv, generator)
    conv.weight[carried] = 0.0
    conv.weight[:, carried] = 0.0
    conv.bias[carried] = 0.0
    for c in carried:
        conv.weight[c, c, 0, 0] = 1.0


def _average_2x2(conv: nn.Conv2d) -> None:
    """A stride-2 3x3 conv after bottom/right padding: taps (0..1, 0..1) are the 2x2 block."""
    conv.weight.zero_()
    conv.bias.zero_()
    for c in range(conv.out_channels):
        conv.weight[c, c, :2, :2] = 0.25


def _centre_tap(conv: nn.Conv2d) -> None:
    """A 3x3 conv that passes each channel through unchanged."""
    conv.weight.zero_()
    conv.bias.zero_()
    for c in range(conv.out_channels):
        conv.weight[c, c, 1, 1] = 1.0


def _small(conv: nn.Conv2d, generator, std: float = 0.02) -> None:
    conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * std)
    conv.bias.zero_()


def _small_rows(conv: nn.Conv2d, rows: list[int], generator, std: float = 0.02) -> None:
    conv.weight[rows] = torch.randn((len(rows),) + tuple(conv.weight.shape[1:]),
                                    generator=generator) * std
    conv.bias[rows] = 0.0

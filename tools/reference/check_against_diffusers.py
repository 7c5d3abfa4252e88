#!/usr/bin/env python3
"""Check the reference against diffusers and transformers on shared random weights.

Needs diffusers and transformers (not part of CI):
  python3 -m venv --system-site-packages tools/reference/.venv
  tools/reference/.venv/bin/pip install diffusers==0.25.1 'huggingface_hub<0.26' transformers==4.36.2
  tools/reference/.venv/bin/python tools/reference/check_against_diffusers.py

Each upstream model is built from a small config (nothing is downloaded), the reference is built
from the same config and randomised, its state dict is loaded into the upstream model with
strict=True (so the names and shapes agree too), and both run the same random inputs in float64
and float32.  Prints a table; exits 1 when err = |a-b|/|b| exceeds 1e-5 in float64 or 1e-4 in
float32.  The float32 limit is looser because the random-weight UNets amplify float32 rounding:
the reference against itself, float32 vs float64, differs by about as much (column "f32 self").
diffusers computes its sinusoids in float32 even for float64 models, which bounds the float64
agreement of the UNets near 1e-6.

diffusers' attention (torch < 2.0 path) feeds torch.baddbmm an uninitialised torch.empty tensor
with beta=0; on this torch that intermittently turned into NaN, so torch.empty is replaced by
torch.zeros while the upstream models run (same semantics: beta=0 ignores that input).  The
AudioLDM2 UNet of diffusers still produced NaN in float64 on Debian's torch 1.13 here (its float32
run is finite); such upstream outputs are shown as nan and not compared.
"""
import contextlib
import pathlib
import sys
from typing import Callable

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle  # noqa: E402
from jointdit_reference.audio_unet import AudioUNet  # noqa: E402
from jointdit_reference.image_encoder import CLIP_VIT_H14_CONFIG, ImageEncoder  # noqa: E402
from jointdit_reference.vae import AudioVAE, VideoVAE  # noqa: E402
from jointdit_reference.video_unet import VideoUNet  # noqa: E402
from jointdit_reference.vocoder import AUDIOLDM2_VOCODER_CONFIG, Vocoder  # noqa: E402

LIMITS = {torch.float64: 1e-5, torch.float32: 1e-4}


@contextlib.contextmanager
def initialised_empty():
    empty = torch.empty
    torch.empty = torch.zeros
    try:
        yield
    finally:
        torch.empty = empty


def err(a: torch.Tensor, b: torch.Tensor) -> float:
    """Relative error; +inf when the reference output is not finite, NaN when only the
    upstream output is not (reported, not counted)."""
    if not bool(a.isfinite().all()):
        return float("inf")
    if not bool(b.isfinite().all()):
        return float("nan")
    return float((a.double() - b.double()).norm() / b.double().norm())


def compare(ref: torch.nn.Module, up: torch.nn.Module, dtype: torch.dtype, against_self: bool,
            run: Callable, inputs: list[torch.Tensor]) -> list[float]:
    """``run(model, is_upstream, *inputs)`` gives a list of outputs.  Errors of the reference
    against the upstream model, or (``against_self``) against the reference itself in float64,
    on the same random weights and inputs."""
    bundle.randomize(ref, torch.Generator().manual_seed(0))
    ref.to(dtype).eval()
    up.to(dtype).eval()
    up.load_state_dict(ref.state_dict(), strict=True)

    def cast(target: torch.dtype) -> list[torch.Tensor]:
        return [x.to(target) if x.is_floating_point() else x for x in inputs]

    with torch.no_grad():
        a = run(ref, False, *cast(dtype))
        if against_self:
            b = run(ref.double(), False, *cast(torch.float64))
        else:
            with initialised_empty():
                b = run(up, True, *cast(dtype))
    return [err(x, y) for x, y in zip(a, b)]


def video_unet(dtype: torch.dtype, against_self: bool) -> list[tuple[str, float]]:
    from diffusers import UNetSpatioTemporalConditionModel
    cfg = {
        "in_channels": 8, "out_channels": 4,
        "down_block_types": ["CrossAttnDownBlockSpatioTemporal"] * 3 + ["DownBlockSpatioTemporal"],
        "up_block_types": ["UpBlockSpatioTemporal"] + ["CrossAttnUpBlockSpatioTemporal"] * 3,
        "block_out_channels": [32, 64, 64, 64], "layers_per_block": 2,
        "num_attention_heads": [1, 2, 2, 2], "cross_attention_dim": 48,
        "transformer_layers_per_block": 1, "addition_time_embed_dim": 16,
        "projection_class_embeddings_input_dim": 48,
    }

    def run(model, upstream, x, t, ctx, ids):
        return [model(x, t, ctx, ids, return_dict=False)[0] if upstream else model(x, t, ctx, ids)]

    g = torch.Generator().manual_seed(1)
    inputs = [torch.randn(1, 5, 8, 8, 8, generator=g), torch.tensor([0.7]),
              torch.randn(1, 1, 48, generator=g), torch.tensor([[6.0, 127.0, 0.02]])]
    up = UNetSpatioTemporalConditionModel(sample_size=8, num_frames=5, **cfg)
    return list(zip(["UNetSpatioTemporalConditionModel"],
                    compare(VideoUNet(cfg), up, dtype, against_self, run, inputs)))


def audio_unet(dtype: torch.dtype, against_self: bool) -> list[tuple[str, float]]:
    from diffusers.pipelines.audioldm2.modeling_audioldm2 import AudioLDM2UNet2DConditionModel
    common = {
        "in_channels": 8, "out_channels": 8,
        "down_block_types": ["DownBlock2D"] + ["CrossAttnDownBlock2D"] * 3,
        "up_block_types": ["CrossAttnUpBlock2D"] * 3 + ["UpBlock2D"],
        "block_out_channels": [32, 64, 64, 96], "layers_per_block": 2,
        "cross_attention_dim": [[None, 16, 24]] * 4,
    }

    def run(model, upstream, x, t, c0, c1):
        if upstream:
            return [model(x, t, encoder_hidden_states=c0, encoder_hidden_states_1=c1,
                          return_dict=False)[0]]
        return [model(x, t, c0, c1)]

    g = torch.Generator().manual_seed(2)
    # Odd latent sizes: the up path must upsample to the skips' sizes.
    inputs = [torch.randn(2, 8, 12, 5, generator=g), torch.tensor([10, 700]),
              torch.randn(2, 3, 16, generator=g), torch.randn(2, 4, 24, generator=g)]
    ref = AudioUNet({**common, "num_attention_heads": [1, 2, 2, 3], "text_transformers": True})
    up = AudioLDM2UNet2DConditionModel(sample_size=16, attention_head_dim=[1, 2, 2, 3], **common)
    return list(zip(["AudioLDM2UNet2DConditionModel"],
                    compare(ref, up, dtype, against_self, run, inputs)))


def video_vae(dtype: torch.dtype, against_self: bool) -> list[tuple[str, float]]:
    from diffusers import AutoencoderKLTemporalDecoder
    cfg = {"in_channels": 3, "out_channels": 3, "block_out_channels": [32, 64],
           "layers_per_block": 2, "latent_channels": 4}

    def run(model, upstream, img, z):
        if upstream:
            return [model.encode(img).latent_dist.mode(), model.decode(z, num_frames=5).sample]
        return [model.encode(img), model.decode(z, 5)]

    g = torch.Generator().manual_seed(3)
    inputs = [torch.rand(2, 3, 16, 16, generator=g) * 2 - 1, torch.randn(5, 4, 8, 8, generator=g)]
    up = AutoencoderKLTemporalDecoder(down_block_types=["DownEncoderBlock2D"] * 2, **cfg)
    return list(zip(["AutoencoderKLTemporalDecoder.encode", "AutoencoderKLTemporalDecoder.decode"],
                    compare(VideoVAE(cfg), up, dtype, against_self, run, inputs)))


def audio_vae(dtype: torch.dtype, against_self: bool) -> list[tuple[str, float]]:
    from diffusers import AutoencoderKL
    cfg = {"in_channels": 1, "out_channels": 1, "block_out_channels": [32, 64, 64],
           "layers_per_block": 2, "latent_channels": 8, "norm_num_groups": 32}

    def run(model, upstream, mel, z):
        if upstream:
            return [model.encode(mel).latent_dist.mode(), model.decode(z).sample]
        return [model.encode(mel), model.decode(z)]

    g = torch.Generator().manual_seed(4)
    inputs = [torch.randn(1, 1, 32, 16, generator=g), torch.randn(1, 8, 8, 4, generator=g)]
    up = AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * 3,
                       up_block_types=["UpDecoderBlock2D"] * 3, **cfg)
    return list(zip(["AutoencoderKL.encode", "AutoencoderKL.decode"],
                    compare(AudioVAE(cfg), up, dtype, against_self, run, inputs)))


def vocoder(dtype: torch.dtype, against_self: bool) -> list[tuple[str, float]]:
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig
    cfg = dict(AUDIOLDM2_VOCODER_CONFIG, upsample_initial_channel=64)

    def run(model, upstream, mel):
        return [model(mel)]

    g = torch.Generator().manual_seed(5)
    up = SpeechT5HifiGan(SpeechT5HifiGanConfig(**cfg))
    return list(zip(["SpeechT5HifiGan"],
                    compare(Vocoder(cfg), up, dtype, against_self, run,
                            [torch.randn(2, 9, 64, generator=g)])))


def image_encoder(dtype: torch.dtype, against_self: bool) -> list[tuple[str, float]]:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection
    cfg = dict(CLIP_VIT_H14_CONFIG, hidden_size=64, intermediate_size=256, num_hidden_layers=3,
               num_attention_heads=4, image_size=28, projection_dim=32)

    def run(model, upstream, pixels):
        return [model(pixel_values=pixels).image_embeds if upstream else model(pixels)]

    g = torch.Generator().manual_seed(6)
    up = CLIPVisionModelWithProjection(CLIPVisionConfig(**cfg))
    return list(zip(["CLIPVisionModelWithProjection"],
                    compare(ImageEncoder(cfg), up, dtype, against_self, run,
                            [torch.randn(2, 3, 28, 28, generator=g)])))


CHECKS = [video_unet, audio_unet, video_vae, audio_vae, vocoder, image_encoder]


def main() -> int:
    failed = upstream_nan = 0
    print(f"{'model':38} {'f64 err':>10} {'f32 err':>10} {'f32 self':>10}")
    for check in CHECKS:
        errs = {dtype: check(dtype, False) for dtype in LIMITS}
        selfs = check(torch.float32, True)
        for i, (name, _) in enumerate(errs[torch.float64]):
            e64, e32, eself = errs[torch.float64][i][1], errs[torch.float32][i][1], selfs[i][1]
            upstream_nan += (e64 != e64) + (e32 != e32)
            bad = e64 > LIMITS[torch.float64] or e32 > LIMITS[torch.float32] or eself != eself
            failed += bad
            print(f"{name:38} {e64:10.2e} {e32:10.2e} {eself:10.2e}{'  FAIL' if bad else ''}")
    print(f"limits: float64 {LIMITS[torch.float64]:.0e}, float32 {LIMITS[torch.float32]:.0e}; "
          f"{failed} failed; {upstream_nan} upstream outputs not finite (nan: not compared)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

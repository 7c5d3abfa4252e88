#!/usr/bin/env python3
"""Extra goldens for the engine's decoder/encoder tests, beside the parity fixtures.

  python3 tools/reference/make_decoder_fixtures.py [-o tests/fixtures/reference]

Writes ``decoders.safetensors``: a video VAE with two layers per block (so the temporal
decoder's mid-block attention runs, which it does not at one layer), F16 weights under
``video.vae.`` with its config in ``__metadata__["jointdit.config"]`` (``video_vae``), and
``decoders-golden.safetensors`` (F32, computed in float64):
  video_vae.encode.in/out, video_vae.decode.in/out (3 frames)
  preprocess.down.in (1,3,37,53) / .out (1,3,16,16)   CLIP preprocessing, shrinking
  preprocess.up.in (1,3,5,7) / .out (1,3,16,16)       and enlarging
  mel.in (3200,) / mel.out (20, 64)                    AudioLDM's log-mel (torch.stft)
"""
import argparse
import json
import math
import pathlib
import sys

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle  # noqa: E402
from jointdit_reference.mel import log_mel  # noqa: E402
from jointdit_reference.preprocess import clip_preprocess  # noqa: E402
from jointdit_reference.vae import VideoVAE  # noqa: E402

SEED = 20251128
REPO = pathlib.Path(__file__).resolve().parents[2]
VIDEO_VAE = {"in_channels": 3, "out_channels": 3, "block_out_channels": [32, 32],
             "layers_per_block": 2, "latent_channels": 4, "norm_num_groups": 32,
             "scaling_factor": 0.18215}


@torch.no_grad()
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", type=pathlib.Path,
                        default=REPO / "tests" / "fixtures" / "reference")
    args = parser.parse_args()
    gen = torch.Generator().manual_seed(SEED)
    vae = VideoVAE(VIDEO_VAE)
    bundle.randomize(vae, gen)
    weights = {f"video.vae.{n}": t.to(torch.float16) for n, t in vae.state_dict().items()}
    vae.load_state_dict({n[len("video.vae."):]: t.to(torch.float64) for n, t in weights.items()})
    vae.double()
    out = {}

    def f32(t: torch.Tensor) -> torch.Tensor:
        # Inputs are stored as F32, and the engine reads them so: compute from the rounded value.
        return t.to(torch.float32).to(torch.float64)

    image = torch.rand((1, 3, 12, 10), generator=gen, dtype=torch.float64) * 2 - 1
    image = f32(image)
    out["video_vae.encode.in"], out["video_vae.encode.out"] = image, vae.encode(image)
    latents = f32(torch.randn((3, 4, 4, 6), generator=gen, dtype=torch.float64))
    out["video_vae.decode.in"], out["video_vae.decode.out"] = latents, vae.decode(latents, 3)
    for name, shape in (("down", (1, 3, 37, 53)), ("up", (1, 3, 5, 7))):
        rgb = f32(torch.rand(shape, generator=gen, dtype=torch.float64))
        out[f"preprocess.{name}.in"], out[f"preprocess.{name}.out"] = rgb, clip_preprocess(rgb, 16)
    t = torch.arange(3200, dtype=torch.float64) / 16000
    wave = f32(0.4 * torch.sin(2 * math.pi * (300 * t + 4000 * t * t))
               + 0.05 * torch.randn(3200, generator=gen, dtype=torch.float64))
    out["mel.in"], out["mel.out"] = wave, log_mel(wave)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    bundle.write_safetensors(args.output_dir / "decoders.safetensors", weights,
                             {"jointdit.config": json.dumps({"video_vae": VIDEO_VAE}),
                              "generator": "tools/reference/make_decoder_fixtures.py",
                              "seed": str(SEED)})
    bundle.write_safetensors(args.output_dir / "decoders-golden.safetensors",
                             {n: t.to(torch.float32) for n, t in out.items()},
                             {"generator": "tools/reference/make_decoder_fixtures.py",
                              "seed": str(SEED), "computed_in": "float64"})
    for name in ("decoders.safetensors", "decoders-golden.safetensors"):
        print(f"{args.output_dir / name}: {(args.output_dir / name).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

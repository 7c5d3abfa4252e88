#!/usr/bin/env python3
"""Write the sampling golden the engine's end-to-end parity test compares against.

  /usr/bin/python3 tools/reference/make_sampling_fixtures.py [-o tests/fixtures/reference]

Samples the parity bundle (``parity.safetensors``) from a fixed 16×16 picture (a gradient with
a disc and a bar, made here) with tools/reference/jointdit_reference/sampling.py in float64, for
each case below, and writes ``sampling-golden.safetensors``:
  image (H, W, 3)                                 the picture's bytes 0…255 (exact in F32; the
                                                  engine's reader takes float tensors only)
  {case}.video (F, C, h, w), {case}.audio (C, T, F_mel)   final latents (the last step's x̂₀)
  {case}.frames (F, 3, H, W)                      video VAE decode, before byte conversion
  {case}.mel (frames, bins)                       audio VAE decode (the log-mel)
  {case}.pcm (samples,)                           the sound: the vocoder when it takes this mel,
                                                  else the engine's Griffin-Lim (the parity
                                                  bundle's case: 32 bins, a 64-bin vocoder)
All F32 (computed in float64).  Cases (seed, steps, noise augmentation, motion bucket as the
metadata says): "none" (no guidance) and "joint_star" (JointCFG*, ω = 1.5 for both).
"""
import argparse
import json
import pathlib
import sys

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle, sampling  # noqa: E402

REPO = pathlib.Path(__file__).resolve().parents[2]
SEED = 20251127
STEPS = 4
CASES = {"none": sampling.Guidance("none"),
         "joint_star": sampling.Guidance("joint-star", 1.5, 1.5, 1.5)}


def test_image(h: int = 16, w: int = 16) -> np.ndarray:
    """A deterministic picture: RGB gradients, a bright disc, a dark bar."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * x / (w - 1)
    g = 255 * y / (h - 1)
    b = 255 * (1 - (x + y) / (w + h - 2))
    img = np.stack([r, g, b], axis=-1)
    disc = (x - w * 0.6) ** 2 + (y - h * 0.35) ** 2 <= (min(h, w) * 0.22) ** 2
    img[disc] = [250, 230, 40]
    img[int(h * 0.7):int(h * 0.7) + 2, 2:w - 3] = [20, 30, 60]
    return np.round(img).astype(np.uint8)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output-dir", type=pathlib.Path,
                        default=REPO / "tests" / "fixtures" / "reference")
    args = parser.parse_args()
    pipe = sampling.Pipeline(args.output_dir / "parity.safetensors", torch.float64)
    image = test_image()
    out = {"image": torch.from_numpy(image.astype(np.float64))}
    cond = pipe.condition(image, SEED)
    for name, guidance in CASES.items():
        video, audio = pipe.sample(cond, SEED, STEPS, guidance)
        mel = pipe.decode_mel(audio)
        out[f"{name}.video"], out[f"{name}.audio"] = video, audio
        out[f"{name}.frames"], out[f"{name}.mel"] = pipe.decode_video(video), mel
        out[f"{name}.pcm"] = torch.from_numpy(pipe.decode_pcm(mel))
    settings = {"seed": SEED, "steps": STEPS,
                "noise_aug_strength": sampling.DEFAULT_NOISE_AUG_STRENGTH,
                "motion_bucket_id": sampling.DEFAULT_MOTION_BUCKET_ID,
                "cases": {n: vars(g) for n, g in CASES.items()}}
    path = args.output_dir / "sampling-golden.safetensors"
    bundle.write_safetensors(path, {n: t.to(torch.float32) for n, t in out.items()},
                             {"generator": "tools/reference/make_sampling_fixtures.py",
                              "computed_in": "float64", "settings": json.dumps(settings)})
    print(f"{path}: {path.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

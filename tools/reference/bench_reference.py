#!/usr/bin/env python3
"""Time the reference's denoiser call (the engine's baseline), printing a table.

  python3 tools/reference/bench_reference.py [--threads 1 2] [--repeats 3]
"""
import argparse
import pathlib
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from jointdit_reference import bundle, configs  # noqa: E402
from jointdit_reference.joint import ATTENTION_MODES, JointDiT  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1)
    args = parser.parse_args()
    config = configs.default_config()
    model = JointDiT(config).eval()
    bundle.randomize(model, torch.Generator().manual_seed(1))
    s, b = config["shapes"], args.batch
    _, h, w = s["video_latent"]
    inputs = dict(
        video_sample=torch.randn(b, s["frames"], config["video_unet"]["in_channels"], h, w),
        video_timestep=torch.full((b,), 0.3),
        video_context=torch.randn(b, 1, config["video_unet"]["cross_attention_dim"]),
        added_time_ids=torch.tensor([[11.5, 127.0, 0.02]] * b),
        audio_sample=torch.randn(b, *s["audio_latent"]),
        audio_timestep=torch.full((b,), 500),
        image_embeds=torch.randn(b, config["audio_unet"]["image_embed_dim"]))
    print(f"torch {torch.__version__}, default model, batch {b}, best of {args.repeats}")
    print(f"{'threads':>7} {'mode':>15} {'ms/call':>10}")
    with torch.no_grad():
        for threads in args.threads:
            torch.set_num_threads(threads)
            for mode in ATTENTION_MODES:
                model(**inputs, attention=mode)  # warm-up
                best = float("inf")
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    model(**inputs, attention=mode)
                    best = min(best, time.perf_counter() - start)
                print(f"{threads:>7} {mode:>15} {best * 1e3:10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
